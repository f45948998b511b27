"""`arc-top dump`, `check --from <dump>` and `sandbox --from <dump>` on every sandbox scenario.

Each scenario's sandbox runs in this process; once its failures have shown it is paused (nothing simulated changes),
then the live check (`arc-top check -o json`: log tails read, the GitHub credentials probed against the sandbox's
fake GitHub), `arc-top dump` (which records the probes' verdicts) and `arc-top check --from` run as real commands
against it over HTTPS. The replay loads the dump (and the verdicts) into a second sandbox and checks it until its
findings are the dump's.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap

import pytest
from kubernetes import client

from arc_top.cli.sandbox_cmd import replay_objects
from arc_top.kube import offline
from arc_top.kube.fields import epoch
from arc_top.sandbox.run import start_sandbox
from arc_top.sandbox.scenario import backdate, list_scenarios
from tests.conftest import api_client
from tests.waiting import wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIOS = [name for name, _ in list_scenarios()]
PARAMS = {"large": {"scale_sets": 2, "runners_per_set": 5, "churn_events_per_second": 5}}
SETTLE_S = 8.0               # the scenarios' failures (churning runners, failing listeners) have shown by then
# Named by the simulated controller (random suffixes): a replay makes others, so only their code, kind and namespace
# compare.
DERIVED = {"Pod", "EphemeralRunner", "EphemeralRunnerSet", "AutoscalingListener", "PersistentVolumeClaim"}


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "arc_top.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def _check(*args: str) -> dict:
    proc = _cli("check", "-o", "json", "--fail-on", "never", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _findings(report: dict) -> set[tuple]:
    return {(f["code"], f["severity"], f["subject"]["kind"], f["subject"]["namespace"], f["subject"]["name"])
            for f in report["findings"]}


AGE_S = 900.0
# Scenarios whose every scale set with ARC501 (no fsGroup) churns runners that log the denied work directory. A set
# whose failed pods were all just replaced, by pods that have not logged yet, shows ARC501 as a warning ("no runner
# log confirms it yet"); a dump taken then is replayed into a sandbox whose runners soon log it (an error, and
# ARC404): the dump waits until each is confirmed. (In `incident` and `scaled-to-zero` the warning is the steady
# state: those runners never start.)
LOGGED_ARC501 = {"jobs-waiting", "kube-permissions"}


def _created_before(raw: dict, seconds: float) -> bool:
    import time

    return epoch(raw["metadata"].get("creationTimestamp")) <= time.time() - seconds


def _settled(sb, name: str = "") -> None:
    """Wait SETTLE_S seconds of simulation (a scenario shows its failures by then) and, on a loaded machine, until
    the live check shows the codes the scenario is built for (tests/test_check_scenarios.py); then pause it, and
    check again that the paused sandbox shows them (a dump taken before the runners failed would miss what its
    replay then shows)."""
    import time

    from tests.test_check_scenarios import EXPECTED

    # A real cluster's scale sets are rarely seconds old: past every warm-up and grace period of the checks (a
    # listener missing for a minute, …), its findings hold still, and so do its replay's (which keeps the ages).
    # A dump taken seconds before such a threshold would be replayed just past it.
    backdate(sb.cluster, [{"namespace": ars["metadata"]["namespace"], "name": ars["metadata"]["name"],
                           "created_seconds_ago": AGE_S}
                          for ars in sb.cluster.list("autoscalingrunnersets.actions.github.com")
                          if not _created_before(ars, AGE_S)])
    start = time.monotonic()
    wait_for(lambda: time.monotonic() - start >= SETTLE_S, timeout=SETTLE_S + 5, step=0.5)
    wanted = EXPECTED.get(name)

    def shown() -> bool:
        findings = _check("--kubeconfig", sb.kubeconfig_path, "-A")["findings"]
        if name in LOGGED_ARC501 and any(f["code"] == "ARC501" and f["severity"] != "error" for f in findings):
            return False
        return wanted <= {f["code"] for f in findings}

    def paused_showing() -> bool:
        # The pause comes a check after what the check saw (runners churn meanwhile): what the dump records is the
        # paused sandbox, so it is that which must show them; if not, the simulation goes on and the wait too.
        if not shown():
            return False
        sb.pause()
        if shown():
            return True
        sb.resume()
        return False
    if wanted:
        wait_for(paused_showing, timeout=90, step=1.0, what=f"{name} showing its failures, paused")
    else:
        sb.pause()


def _secret_values(sb) -> list[str]:
    core = client.CoreV1Api(api_client(sb))
    values = []
    for secret in core.list_secret_for_all_namespaces().items:
        for encoded in (secret.data or {}).values():
            value = base64.b64decode(encoded).decode("utf-8", "replace")
            if len(value.strip()) >= 8:
                values.append(value)
    return values


def _dump_scenario(name: str, tmp) -> tuple:
    """(live report, dump path, from-dump report, the sandbox's Secret values) of one scenario."""
    sb = start_sandbox(name, kubeconfig_path=str(tmp / "kubeconfig"), params=PARAMS.get(name))
    try:
        _settled(sb, name)
        live = _check("--kubeconfig", sb.kubeconfig_path, "-A")
        path = str(tmp / "dump.yaml")
        proc = _cli("dump", "--kubeconfig", sb.kubeconfig_path, "-A", "-o", path)
        assert proc.returncode == 0, proc.stderr
        return live, path, _check("--from", path), _secret_values(sb)
    finally:
        sb.stop()


class _Dumps(dict):
    """scenario -> _dump_scenario(scenario), made when a test first asks for it: each test pays for its own
    scenario only (all of them at once would outlast one test's time limit on a loaded machine)."""

    def __init__(self, factory):
        super().__init__()
        self.factory = factory

    def __missing__(self, name: str) -> tuple:
        self[name] = value = _dump_scenario(name, self.factory.mktemp(name))
        return value


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    return _Dumps(tmp_path_factory)


@pytest.mark.parametrize("name", SCENARIOS)
def test_check_from_the_dump_equals_the_live_check(dumps, name):
    live, _path, from_dump, _values = dumps[name]
    assert _findings(live), f"{name}: the live check found nothing to compare"
    assert _findings(from_dump) == _findings(live)


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_secret_value_of_the_sandbox_is_in_its_dump(dumps, name):
    _live, path, _from, values = dumps[name]
    text = open(path, encoding="utf-8").read()
    assert values, f"{name}: the sandbox has no Secret value to look for"
    # A JIT Secret also holds its runner's name: a name is no secret (it is the name of objects in the dump).
    names = {o["metadata"].get("name") for o in offline.load_files([path], keep_raw=True).raw}
    values = [v for v in values if v.strip() not in names]
    assert any(v.strip().startswith(("ghp_", "github_pat_", "-----BEGIN")) for v in values), name
    for value in values:
        for form in {value, value.strip(), base64.b64encode(value.encode()).decode(),
                     base64.b64encode(value.strip().encode()).decode()}:
            assert form not in text, f"{name}: a Secret value ({len(value)} characters) is in the dump"
    assert text.startswith("# arc-top dump: ")
    assert "# REDACTED: every Secret value is a placeholder" in text.split("apiVersion:", 1)[0]


def test_bad_credentials_dump_still_shows_the_trailing_newline(dumps):
    _live, path, from_dump, _values = dumps["bad-credentials"]
    arc103 = [f for f in from_dump["findings"] if f["code"] == "ARC103"]
    assert {f["subject"]["name"] for f in arc103} == {"newline-token"}
    assert any("trailing" in line for line in arc103[0]["evidence"])
    codes = {f["code"] for f in from_dump["findings"]}
    assert "ARC109" in codes                                # a classic PAT still reads as one
    assert {"ARC104", "ARC105"} <= codes                    # GitHub's verdicts, recorded by the dump


def test_no_redact_keeps_the_values_and_says_so(tmp_path):
    sb = start_sandbox("healthy", kubeconfig_path=str(tmp_path / "kubeconfig"))
    try:
        sb.pause()
        path = str(tmp_path / "raw.yaml")
        proc = _cli("dump", "--kubeconfig", sb.kubeconfig_path, "-A", "-o", path, "--no-redact")
        assert proc.returncode == 0, proc.stderr
        text = open(path, encoding="utf-8").read()
        token = next(v for v in _secret_values(sb) if v.startswith("ghp_"))
        assert base64.b64encode(token.encode()).decode() in text
        assert "# NOT REDACTED" in text.split("apiVersion:", 1)[0]
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    finally:
        sb.stop()


def _replayable(report: dict) -> set[tuple]:
    return {(code, sev, kind, ns, "" if kind in DERIVED else subject)
            for code, sev, kind, ns, subject in _findings(report)}


@pytest.mark.parametrize("name", SCENARIOS)
def test_sandbox_from_the_dump_reproduces_the_findings(dumps, name, tmp_path):
    _live, path, from_dump, _values = dumps[name]
    expected = _replayable(from_dump)
    raw, facts = replay_objects([path])
    sb = start_sandbox(kubeconfig_path=str(tmp_path / "kubeconfig"), replay=raw, facts=facts)
    try:
        assert any(line.startswith("controller: ") for line in sb.completions)
        last: list = []

        def reproduced():
            got = _replayable(_check("--kubeconfig", sb.kubeconfig_path, "-A"))
            last[:] = [sorted(expected - got), sorted(got - expected)]
            return got == expected
        try:
            wait_for(reproduced, timeout=90, step=1.0, what=f"{name} replayed")
        except AssertionError:
            raise AssertionError(f"{name}: replay missing {last[0]}, extra {last[1]}") from None
    finally:
        sb.stop()


KUBECTL_STYLE = textwrap.dedent("""\
    apiVersion: v1
    kind: List
    items:
    - apiVersion: v1
      kind: Namespace
      metadata: {name: ci-runners, uid: 11111111-2222-3333-4444-555555555555, resourceVersion: "12"}
      status: {phase: Active}
    - apiVersion: v1
      kind: Secret
      metadata: {name: gh-pat, namespace: ci-runners, resourceVersion: "345"}
      type: Opaque
      data: {github_token: Z2hwX0FBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQQ==}
    - apiVersion: storage.k8s.io/v1
      kind: StorageClass
      metadata: {name: fast-ssd}
      provisioner: pd.csi.storage.gke.io
      volumeBindingMode: WaitForFirstConsumer
    - apiVersion: v1
      kind: ServiceAccount
      metadata: {name: build-kube-mode, namespace: ci-runners}
    - apiVersion: rbac.authorization.k8s.io/v1
      kind: Role
      metadata: {name: build-kube-mode, namespace: ci-runners}
      rules:
      - {apiGroups: [""], resources: [pods], verbs: [get, list, create, delete]}
      - {apiGroups: [""], resources: [pods/exec], verbs: [get, create]}
      - {apiGroups: [""], resources: [pods/log], verbs: [get, list, watch]}
      - {apiGroups: [batch], resources: [jobs], verbs: [get, list, create, delete]}
      - {apiGroups: [""], resources: [secrets], verbs: [get, list, create, delete]}
    - apiVersion: rbac.authorization.k8s.io/v1
      kind: RoleBinding
      metadata: {name: build-kube-mode, namespace: ci-runners}
      roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: build-kube-mode}
      subjects: [{kind: ServiceAccount, name: build-kube-mode, namespace: ci-runners}]
    - apiVersion: actions.github.com/v1alpha1
      kind: AutoscalingRunnerSet
      metadata:
        name: build
        namespace: ci-runners
        uid: 99999999-2222-3333-4444-555555555555
        resourceVersion: "9876"
        generation: 3
      spec:
        githubConfigUrl: https://github.com/my-org
        githubConfigSecret: gh-pat
        minRunners: 1
        maxRunners: 3
        template:
          spec:
            serviceAccountName: build-kube-mode
            restartPolicy: Never
            containers:
            - name: runner
              image: ghcr.io/actions/actions-runner:2.321.0
              command: [/home/runner/run.sh]
              env:
              - {name: ACTIONS_RUNNER_CONTAINER_HOOKS, value: /home/runner/k8s/index.js}
              - {name: ACTIONS_RUNNER_POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
              - {name: ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER, value: "true"}
              volumeMounts: [{name: work, mountPath: /home/runner/_work}]
            volumes:
            - name: work
              ephemeral:
                volumeClaimTemplate:
                  spec:
                    accessModes: [ReadWriteOnce]
                    storageClassName: fast-ssd
                    resources: {requests: {storage: 1Gi}}
      status: {currentRunners: 0, state: ""}
    metadata: {resourceVersion: ""}
""")


def test_a_hand_written_kubectl_file_of_kube_mode_without_fsgroup_replays_to_runners_denied_on_work(tmp_path):
    path = tmp_path / "cluster.yaml"
    path.write_text(KUBECTL_STYLE)
    raw = offline.load_files([str(path)], keep_raw=True).raw
    sb = start_sandbox(kubeconfig_path=str(tmp_path / "kubeconfig"), replay=raw, speed=4.0)
    try:
        assert any(line.startswith("nodes: ") for line in sb.completions)
        assert any("GitHub: 1 scale set" in line for line in sb.completions)
        core = client.CoreV1Api(api_client(sb))

        def denied():
            for pod in core.list_namespaced_pod("ci-runners").items:
                if not pod.metadata.name.startswith("build-"):
                    continue
                try:
                    log = core.read_namespaced_pod_log(pod.metadata.name, "ci-runners", container="runner")
                except client.ApiException:
                    continue
                if "Access to the path '/home/runner/_work/_tool' is denied" in log:
                    return pod.metadata.name
            return None
        wait_for(denied, timeout=60, step=0.5, what="a runner denied on _work")
        ars = client.CustomObjectsApi(api_client(sb)).get_namespaced_custom_object(
            "actions.github.com", "v1alpha1", "ci-runners", "autoscalingrunnersets", "build")
        assert ars["metadata"]["uid"] != "99999999-2222-3333-4444-555555555555"
        assert ars["spec"]["githubConfigUrl"] == sb.url + "/my-org"
        secret = core.read_namespaced_secret("gh-pat", "ci-runners")
        token = base64.b64decode(secret.data["github_token"]).decode()
        assert token.startswith("ghp_") and len(token) == 40 and token != "ghp_" + "A" * 36
    finally:
        sb.stop()


def _hostile_files(tmp_path) -> dict[str, str]:
    files = {}
    huge = tmp_path / "huge.yaml"
    with open(huge, "wb") as f:                     # sparse: 65 MiB long, nothing written
        f.truncate(65 * 1024 * 1024)
    files["huge"] = str(huge)
    (tmp_path / "deep.yaml").write_text("items:\n" + "".join("  " * i + "- \n" for i in range(1, 3000)))
    files["deep"] = str(tmp_path / "deep.yaml")
    (tmp_path / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    files["deep-json"] = str(tmp_path / "deep.json")
    (tmp_path / "alias.yaml").write_text("kind: List\napiVersion: v1\nitems:\n- &a {kind: Pod, apiVersion: v1, "
                                         "metadata: {name: a}}\n- *a\n- *a\n")
    files["alias"] = str(tmp_path / "alias.yaml")
    (tmp_path / "garbage.yaml").write_bytes(bytes(range(256)) * 64)
    files["garbage"] = str(tmp_path / "garbage.yaml")
    (tmp_path / "markup.yaml").write_text(textwrap.dedent("""\
        kind: List
        apiVersion: v1
        items:
        - apiVersion: actions.github.com/v1alpha1
          kind: AutoscalingRunnerSet
          metadata: {name: "[red]boom[/red]\\x1b]0;pwned\\x07", namespace: "[bold]ns"}
          spec: {githubConfigUrl: "https://github.com/org", githubConfigSecret: s}
    """))
    files["markup"] = str(tmp_path / "markup.yaml")
    (tmp_path / "empty.yaml").write_text("kind: List\napiVersion: v1\nitems: []\n")
    files["no scale set"] = str(tmp_path / "empty.yaml")
    return files


@pytest.mark.parametrize("command", ["sandbox", "demo"])
def test_hostile_files_end_in_one_line_quickly(tmp_path, command):
    for what, path in _hostile_files(tmp_path).items():
        args = [command, "--from", path] + (["--kubeconfig", str(tmp_path / "kc")] if command == "sandbox" else [])
        proc = _cli(*args, timeout=60)
        assert proc.returncode == 2, f"{what}: {proc.returncode} {proc.stderr[-500:]}"
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, f"{what}: {proc.stderr[-500:]}"
        assert "\x1b" not in proc.stderr and "[red]boom" not in proc.stdout, what


def test_sandbox_from_several_kubectl_files_reports_each_default_it_adds(tmp_path):
    """Two files make one cluster; the StorageClass the claims name is not in them (no StorageClass at all), so the
    replay adds it and says so, one line per default, as `arc-top sandbox` starts."""
    import yaml

    items = yaml.safe_load(KUBECTL_STYLE)["items"]
    namespaced = [o for o in items if o["kind"] not in ("StorageClass", "Namespace")]
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": namespaced[:3]}))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump_all(namespaced[3:]))
    proc = subprocess.Popen([sys.executable, "-m", "arc_top.cli.main", "sandbox", "--from", str(tmp_path / "a.yaml"),
                             str(tmp_path / "b.yaml"), "--kubeconfig", str(tmp_path / "kc")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if "Press Ctrl-C" in line:
                break
        else:
            raise AssertionError(f"sandbox --from did not start: {proc.stderr.read()}")
        added = [line.removeprefix("  added: ") for line in lines if line.startswith("  added: ")]
        assert [a.split(":")[0].split(" ")[0] for a in added] == ["nodes", "controller", "GitHub", "credentials",
                                                                   "StorageClass", "namespaces"], added
        assert any(a.startswith("StorageClass fast-ssd:") for a in added)
        assert any(a == "namespaces: ci-runners (objects live there, the files do not hold them)" for a in added)
        kubectl = subprocess.run(["kubectl", "--kubeconfig", str(tmp_path / "kc"), "get", "storageclass", "fast-ssd",
                                  "-o", "jsonpath={.provisioner}"], capture_output=True, text=True, timeout=30)
        assert kubectl.stdout == "sandbox.arc-top.dev/hostpath", kubectl.stderr
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_namespaced_dump_gives_the_namespaced_live_findings(tmp_path):
    """-n: the scale sets' namespace only; the controller namespace's listeners and pods come as the monitor's
    controller watches bring them."""
    sb = start_sandbox("incident", kubeconfig_path=str(tmp_path / "kubeconfig"))
    try:
        _settled(sb)
        live = _check("--kubeconfig", sb.kubeconfig_path, "-n", "arc-runners")
        path = str(tmp_path / "dump.yaml")
        proc = _cli("dump", "--kubeconfig", sb.kubeconfig_path, "-n", "arc-runners", "-o", path)
        assert proc.returncode == 0, proc.stderr
        assert "namespaces: arc-runners" in open(path, encoding="utf-8").read(2000)
        assert _findings(live) and _findings(_check("--from", path)) == _findings(live)
    finally:
        sb.stop()

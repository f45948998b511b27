"""The real kubectl against a running sandbox: our proof that the sandbox speaks Kubernetes."""

from __future__ import annotations

import json
import queue
import threading
import time
from contextlib import AbstractContextManager

import pytest

from tests.conftest import Kubectl
from tests.waiting import held


@pytest.fixture(scope="module")
def kubectl(healthy, tmp_path_factory) -> Kubectl:
    return Kubectl(healthy, str(tmp_path_factory.mktemp("kubectl-cache")))


@pytest.fixture(scope="module")
def ns(healthy) -> str:
    return healthy.scenario.namespace


@pytest.fixture(scope="module")
def ars_name(healthy, ns) -> str:
    items = healthy.cluster.list("autoscalingrunnersets", ns)
    return sorted(o["metadata"]["name"] for o in items)[0]


def held_runner(healthy, ns, logged: str | None = None) -> AbstractContextManager[str]:
    """A Running runner pod (whose runner log has `logged`, if given) that cannot go away while the test
    uses it: the simulation is paused until the block ends (the API keeps serving kubectl)."""
    def find() -> str | None:
        for pod in healthy.cluster.list("pods", ns):
            labels = pod["metadata"].get("labels") or {}
            name = pod["metadata"]["name"]
            if labels.get("app.kubernetes.io/component") == "runner" and \
                    (pod.get("status") or {}).get("phase") == "Running" and \
                    (logged is None or any(logged in text for _, text in
                                           healthy.cluster.logs.snapshot(ns, name, "runner")[0])):
                return name
        return None

    return held(healthy.cluster, find, what="a Running runner pod")


def lines_of(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def test_get_pods_shows_server_side_columns(kubectl, healthy, ns):
    with held_runner(healthy, ns):
        out = kubectl("get", "pods", "-n", ns).stdout
    assert lines_of(out)[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert any(row[1] == "1/1" and row[2] == "Running" for row in lines_of(out)[1:])
    wide = kubectl("get", "pods", "-n", ns, "-o", "wide").stdout
    assert "NODE" in wide.splitlines()[0] and "IP" in wide.splitlines()[0]


def test_get_all_namespaces_pvc_and_events(kubectl, healthy, ns):
    def bound() -> bool:
        return any((p.get("status") or {}).get("phase") == "Bound"
                   for p in healthy.cluster.list("persistentvolumeclaims", ns))

    with held(healthy.cluster, bound, what="a Bound work volume"):     # a runner's claim goes with its runner
        pvc = kubectl("get", "pvc", "-A").stdout
    assert lines_of(pvc)[0][:3] == ["NAMESPACE", "NAME", "STATUS"]
    assert any("Bound" in row for row in lines_of(pvc)[1:])
    events = kubectl("get", "events", "-A").stdout
    assert lines_of(events)[0][:4] == ["NAMESPACE", "LAST", "SEEN", "TYPE"]
    assert "Scheduled" in events or "Started" in events


def test_get_arc_kinds_use_the_crd_printer_columns(kubectl, ns, ars_name):
    ars = kubectl("get", "autoscalingrunnersets", "-A").stdout
    header = ars.splitlines()[0]
    for col in ("MINIMUM RUNNERS", "MAXIMUM RUNNERS", "CURRENT RUNNERS", "PENDING RUNNERS",
                "RUNNING RUNNERS"):
        assert col in header
    assert ars_name in ars
    wide = kubectl("get", "ephemeralrunners", "-n", ns, "-o", "wide").stdout
    assert "GITHUB CONFIG URL" in wide.splitlines()[0] and "STATUS" in wide.splitlines()[0]
    as_yaml = kubectl("get", "ephemeralrunners", "-n", ns, "-o", "yaml").stdout
    assert "kind: EphemeralRunner" in as_yaml and "kind: List" in as_yaml
    selected = kubectl("get", "ephemeralrunners", "-n", ns, "-o", "json",
                       "-l", f"actions.github.com/scale-set-name={ars_name}").stdout
    items = json.loads(selected)["items"]
    assert items and all(i["metadata"]["labels"]["actions.github.com/scale-set-name"] == ars_name
                         for i in items)
    crds = kubectl("get", "crd").stdout
    assert "autoscalingrunnersets.actions.github.com" in crds
    assert "autoscalingrunnersets" in kubectl("api-resources").stdout


def _reader(proc) -> queue.Queue:
    q: queue.Queue = queue.Queue()

    def pump():
        for line in proc.stdout:
            q.put(line)
    threading.Thread(target=pump, daemon=True).start()
    return q


def _wait_for(q: queue.Queue, needle: str, timeout: float = 30) -> str:
    """The first line from kubectl's output queue that holds `needle` (a blocking read, not a poll)."""
    end = time.monotonic() + timeout
    seen = []
    while time.monotonic() < end:
        try:
            line = q.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"{needle!r} not seen in: {''.join(seen)[-2000:]}")


def test_get_watch_sees_a_change(kubectl, healthy, ns, ars_name):
    # A named watch: kubectl drops the first event, so the server must send a synthetic ADDED first.
    proc = kubectl.popen("get", "autoscalingrunnersets", ars_name, "-n", ns, "-w", "--output-watch-events")
    try:
        q = _reader(proc)
        _wait_for(q, ars_name)
        kubectl("label", "autoscalingrunnersets", ars_name, "-n", ns, "arc-top.test/watched=yes",
                "--overwrite")
        assert _wait_for(q, "MODIFIED").split()[1] == ars_name
    finally:
        proc.kill()
        proc.wait()


def test_logs_tail_and_follow(kubectl, healthy, ns):
    with held_runner(healthy, ns, logged="Listening for Jobs") as pod:
        assert "Listening for Jobs" in kubectl("logs", pod, "-n", ns).stdout
        assert len(kubectl("logs", pod, "-n", ns, "--tail=1").stdout.splitlines()) == 1
        stamped = kubectl("logs", pod, "-n", ns, "--timestamps", "--tail=1").stdout
        assert stamped[:4].isdigit() and "T" in stamped.split()[0]
        proc = kubectl.popen("logs", "-f", pod, "-n", ns)
        try:
            q = _reader(proc)
            _wait_for(q, "Listening for Jobs", timeout=30)
            healthy.cluster.logs.write(ns, pod, "runner", "arc-top follow marker 42")
            _wait_for(q, "arc-top follow marker 42", timeout=30)
        finally:
            proc.kill()
            proc.wait()


def test_describe_pod(kubectl, healthy, ns):
    with held_runner(healthy, ns) as pod:
        out = kubectl("describe", "pod", pod, "-n", ns).stdout
    assert "Name:" in out and pod in out
    assert "Status:" in out and "Running" in out
    assert "Events:" in out


def test_patch_merge_json_and_server_dry_run(kubectl, healthy, ns, ars_name):
    def max_runners() -> str:
        return kubectl("get", "autoscalingrunnersets", ars_name, "-n", ns,
                       "-o", "jsonpath={.spec.maxRunners}").stdout

    out = kubectl("patch", "autoscalingrunnersets", ars_name, "-n", ns, "--type", "merge",
                  "-p", '{"spec":{"maxRunners":9}}').stdout
    assert "patched" in out and max_runners() == "9"
    kubectl("patch", "autoscalingrunnersets", ars_name, "-n", ns, "--type", "json",
            "-p", '[{"op":"test","path":"/spec/maxRunners","value":9},'
                  '{"op":"replace","path":"/spec/maxRunners","value":8}]')
    assert max_runners() == "8"
    generation = kubectl("get", "autoscalingrunnersets", ars_name, "-n", ns,
                         "-o", "jsonpath={.metadata.generation}").stdout
    kubectl("patch", "autoscalingrunnersets", ars_name, "-n", ns, "--type", "merge", "--dry-run=server",
            "-p", '{"spec":{"maxRunners":99}}')
    assert max_runners() == "8"
    assert kubectl("get", "autoscalingrunnersets", ars_name, "-n", ns,   # the controller writes status
                   "-o", "jsonpath={.metadata.generation}").stdout == generation
    failed = kubectl("patch", "autoscalingrunnersets", ars_name, "-n", ns, "-p", '{"spec":{"maxRunners":5}}',
                     check=False)
    assert failed.returncode == 1
    assert "application/strategic-merge-patch+json is not supported" in failed.stderr


def test_auth_can_i_and_viewer_forbidden(kubectl, ns):
    assert kubectl("auth", "can-i", "list", "pods", "-n", ns).stdout.strip() == "yes"
    assert kubectl("auth", "can-i", "patch", "autoscalingrunnersets", "-n", ns).stdout.strip() == "yes"
    viewer = "arc-sandbox-viewer"
    denied = kubectl("auth", "can-i", "get", "secrets", "-n", ns, context=viewer, check=False)
    assert denied.returncode == 1 and denied.stdout.strip().startswith("no")
    assert kubectl("auth", "can-i", "list", "pods", "-n", ns, context=viewer).stdout.strip() == "yes"
    forbidden = kubectl("get", "secrets", "-n", ns, context=viewer, check=False)
    assert forbidden.returncode == 1
    assert ('Error from server (Forbidden): secrets is forbidden: '
            'User "viewer" cannot list resource "secrets"') in forbidden.stderr


def test_apply_and_delete_use_openapi_and_wait_for_deletion(kubectl, ns, tmp_path):
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  namespace: {ns}\n"
                        "data:\n  a: '1'\n")
    assert "created" in kubectl("apply", "-f", str(manifest)).stdout
    manifest.write_text(manifest.read_text().replace("'1'", "'2'"))
    assert "configured" in kubectl("apply", "-f", str(manifest)).stdout
    assert kubectl("get", "configmap", "applied", "-n", ns, "-o", "jsonpath={.data.a}").stdout == "2"
    assert "deleted" in kubectl("delete", "configmap", "applied", "-n", ns, timeout=20).stdout

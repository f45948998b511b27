"""`arc-top fix`, `arc-top undo` and `arc-top audit` as an operator runs them: against real sandbox clusters over
HTTPS, in a subprocess without a terminal, the audit file in a temporary $XDG_STATE_HOME.

What must hold: a dry-run writes nothing; no terminal and no --yes writes nothing; --read-only sends not one
mutating request (no dry-run, no access review); a viewer is refused before any write or dry-run; an applied fix
clears its finding, is audited (0600) and undone from the audit; no Secret value ever reaches the output or the
audit file, only its masked form.

The sandboxes whose objects are compared before/after are paused (sb.paused()): the simulated controller rewrites
a busy scale set's status several times a second, which would change its resourceVersion whatever arc-top does.
Nothing here asserts wall-clock limits.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys

import pytest

from arc_top.checks import remedies
from arc_top.sandbox.run import start_sandbox
from tests.conftest import api_client

ARC_TOP = [sys.executable, "-m", "arc_top.cli.main"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARC = ("actions.github.com", "v1alpha1")
SET = "arc-runners/arc-runner-set"
REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


# ---- helpers -------------------------------------------------------------------------------------------------
def run(state: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    """arc-top in a subprocess: no terminal (stdin /dev/null, output captured), the audit under `state`."""
    env = dict(os.environ, XDG_STATE_HOME=state, NO_COLOR="1")
    return subprocess.run(ARC_TOP + list(args), capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env=env, stdin=subprocess.DEVNULL)


def assert_refused(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit 2, one line on stderr naming why, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr)
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("arc-top: "), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def read_ars(sb, name: str = "arc-runner-set", namespace: str = "arc-runners") -> dict:
    from kubernetes import client

    api = client.CustomObjectsApi(api_client(sb))
    return api.get_namespaced_custom_object(*ARC, namespace, "autoscalingrunnersets", name)


def fs_group(ars: dict):
    return ((ars.get("spec", {}).get("template", {}).get("spec", {}) or {}).get("securityContext") or {}).get(
        "fsGroup")


def audit_path(state) -> str:
    return os.path.join(str(state), "arc-top", "audit.jsonl")


def secret_values(sb) -> set[str]:
    """Every value of every Secret in the sandbox, decoded (and its stripped form)."""
    from kubernetes import client

    out: set[str] = set()
    for secret in client.CoreV1Api(api_client(sb)).list_secret_for_all_namespaces().items:
        for raw in (secret.data or {}).values():
            value = base64.b64decode(raw).decode("utf-8", "replace")
            out |= {value, value.strip()}
    return {v for v in out if len(v) >= 8}


# ---- sandboxes -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def still(tmp_path_factory):
    """kube-permissions, paused: ARC501 (a spec finding) shows, and nothing but arc-top changes the objects."""
    sb = start_sandbox("kube-permissions", kubeconfig_path=str(tmp_path_factory.mktemp("still") / "config"))
    sb.pause()
    yield sb
    sb.stop()


@pytest.fixture
def busy(tmp_path):
    """kube-permissions, running: runners churn until the work volume is fixed."""
    sb = start_sandbox("kube-permissions", kubeconfig_path=str(tmp_path / "busy.config"))
    yield sb
    sb.stop()


@pytest.fixture
def state(tmp_path):
    path = tmp_path / "state"
    path.mkdir()
    return str(path)


# ---- the catalogue and usage ---------------------------------------------------------------------------------
def test_list_names_every_fixable_code(state):
    proc = run(state, "fix", "--list")
    assert proc.returncode == 0, proc.stderr
    for code in remedies.REMEDIES:
        assert code in proc.stdout
    doc = json.loads(run(state, "fix", "--list", "-o", "json").stdout)
    assert {e["code"] for e in doc["fixes"]} == set(remedies.REMEDIES)
    assert all(e["variants"] and e["fix"] for e in doc["fixes"])


def test_unknown_code_and_unknown_scale_set_are_one_line(state, still):
    assert_refused(run(state, "fix", "ARC999", "--scale-set", SET, "--kubeconfig", still.kubeconfig_path),
                   "unknown code ARC999", "ARC501")
    assert_refused(run(state, "fix", "ARC101", "--scale-set", SET), "no fix for ARC101")
    assert_refused(run(state, "fix", "ARC501", "--target", "deployment/a/b"), "unknown kind")
    assert_refused(run(state, "fix", "ARC501"), "--scale-set")
    assert_refused(run(state, "fix", "ARC501", "--scale-set", "arc-runners/nope",
                       "--kubeconfig", still.kubeconfig_path), "no scale set arc-runners/nope")
    assert_refused(run(state, "fix", "ARC508", "--scale-set", SET, "--settle", "3", "--no-github",
                       "--kubeconfig", still.kubeconfig_path), f"no ARC508 finding for {SET}", "ARC501")
    assert_refused(run(state, "undo", "--last"), "no applied fix left to undo")
    assert not os.path.exists(audit_path(state))


def test_the_monitor_is_told_read_only(monkeypatch):
    """`arc-top --read-only` hands read_only=True to the monitor (whose fix screen then sends nothing)."""
    from arc_top.cli import main as cli_main
    from arc_top.cli import monitor_cmd
    from arc_top.tui import app as tui_app

    seen: list[bool] = []

    class App:
        return_code = 0

        def __init__(self, factory, *, title, github, github_timeout, read_only=False):
            seen.append(read_only)

        def run(self):
            pass
    monkeypatch.setattr(tui_app, "ArcTopApp", App)
    monkeypatch.setattr(monitor_cmd, "connect_checked", lambda args, kubeconfig: object())
    assert cli_main.main(["--read-only"]) == 0 and cli_main.main([]) == 0
    assert seen == [True, False]


# ---- nothing written -----------------------------------------------------------------------------------------
def test_dry_run_writes_nothing(state, still):
    before = read_ars(still)
    mark = still.mark()
    proc = run(state, "fix", "ARC501", "--scale-set", SET, "--dry-run", "--kubeconfig", still.kubeconfig_path)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr)
    assert "dry-run: accepted" in proc.stdout
    assert "fsGroup: 123" in proc.stdout and "kubectl patch autoscalingrunnersets" in proc.stdout
    assert "helm upgrade" in proc.stdout and "\x1b[" not in proc.stdout      # no colour without a terminal
    after = read_ars(still)
    assert after == before
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    writes = [r for r in still.mutating_since(mark) if r.path != REVIEWS]
    assert writes and all(r.dry_run and r.method == "PATCH" for r in writes), writes
    assert not os.path.exists(audit_path(state))


def test_no_terminal_and_no_yes_writes_nothing(state, still):
    before = read_ars(still)
    mark = still.mark()
    proc = run(state, "fix", "ARC501", "--scale-set", SET, "--kubeconfig", still.kubeconfig_path)
    assert_refused(proc, "not applied: no terminal to confirm; pass --yes")
    assert "dry-run: accepted" in proc.stdout           # the plan was shown
    after = read_ars(still)
    assert (after["metadata"]["resourceVersion"], after["metadata"]["generation"]) == \
        (before["metadata"]["resourceVersion"], before["metadata"]["generation"])
    assert all(r.dry_run or r.path == REVIEWS for r in still.mutating_since(mark))
    assert not os.path.exists(audit_path(state))


def test_read_only_sends_no_mutating_request(state, still):
    before = read_ars(still)
    mark = still.mark()
    proc = run(state, "--read-only", "fix", "ARC501", "--scale-set", SET, "--yes",
               "--kubeconfig", still.kubeconfig_path)
    assert_refused(proc, "read-only")
    assert "dry-run: not sent (read-only)" in proc.stdout
    assert still.mutating_since(mark) == []
    assert still.requests_since(mark)                  # it did talk to the cluster (reads)
    assert read_ars(still)["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    mark = still.mark()                                # the flag after the subcommand too, as JSON
    proc = run(state, "fix", "ARC501", "--scale-set", SET, "--dry-run", "--read-only", "-o", "json",
               "--kubeconfig", still.kubeconfig_path)
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert doc["read_only"] is True and doc["dry_run"]["sent"] is False
    assert still.mutating_since(mark) == []
    assert not os.path.exists(audit_path(state))


def test_a_viewer_is_refused_before_any_write(state, still):
    before = read_ars(still)
    mark = still.mark()
    proc = run(state, "fix", "ARC501", "--scale-set", SET, "--yes", "--kubeconfig", still.kubeconfig_path,
               "--context", "arc-sandbox-viewer")
    assert_refused(proc, "cannot patch")
    assert "dry-run: not sent" in proc.stdout
    sent = still.mutating_since(mark)
    assert all(r.method == "POST" and r.path == REVIEWS for r in sent), sent   # access reviews only
    assert not any(r.dry_run for r in sent)
    assert read_ars(still)["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert not os.path.exists(audit_path(state))


# ---- applied, verified, audited, undone ----------------------------------------------------------------------
def test_fix_clears_the_finding_then_undo_restores(state, busy):
    kubeconfig = busy.kubeconfig_path
    assert fs_group(read_ars(busy)) is None
    proc = run(state, "fix", "ARC501", "--scale-set", SET, "--yes", "--wait", "120", "--kubeconfig", kubeconfig)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr)
    assert "ARC501 cleared" in proc.stdout and "Traceback" not in proc.stderr
    assert fs_group(read_ars(busy)) == 123
    path = audit_path(state)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    records = json.loads(run(state, "audit", "-o", "json").stdout)["fixes"]
    assert len(records) == 1, records
    applied = records
    fix = applied[0]
    assert fix["code"] == "ARC501" and fix["variant"] == "fs-group" and fix["undo_available"] is True
    assert fix["verification"]["state"] == "cleared"

    mark = busy.mark()                                  # read-only undo: refused, nothing sent
    assert_refused(run(state, "undo", "--last", "--yes", "--read-only", "--kubeconfig", kubeconfig), "read-only")
    assert busy.mutating_since(mark) == []

    proc = run(state, "undo", "--last", "--yes", "--kubeconfig", kubeconfig)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr)
    assert f"fix {fix['id']} undone" in proc.stdout
    assert fs_group(read_ars(busy)) is None
    doc = json.loads(run(state, "audit", "-o", "json").stdout)
    undone = next(r for r in doc["fixes"] if r["id"] == fix["id"])
    assert undone.get("undone")
    assert "undone" not in [r.get("undone") for r in doc["fixes"] if r["id"] != fix["id"]]
    text = run(state, "audit")
    assert text.returncode == 0 and fix["id"] in text.stdout and undone["undone"] in text.stdout
    assert_refused(run(state, "undo", fix["id"], "--yes", "--kubeconfig", kubeconfig), "undone already")


def test_undo_refuses_another_cluster(state, busy, still):
    proc = run(state, "fix", "ARC501", "--scale-set", SET, "--yes", "--no-wait", "--kubeconfig",
               busy.kubeconfig_path)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr)
    mark = still.mark()
    assert_refused(run(state, "undo", "--yes", "--kubeconfig", still.kubeconfig_path), busy.url, "nothing was sent")
    assert still.mutating_since(mark) == []
    assert fs_group(read_ars(busy)) == 123


# ---- secrets -------------------------------------------------------------------------------------------------
def test_arc103_never_shows_a_secret_value(state, tmp_path):
    sb = start_sandbox("bad-credentials", kubeconfig_path=str(tmp_path / "creds.config"))
    try:
        old = secret_values(sb)
        newline = next(v for v in old if v.endswith("\n"))
        proc = run(state, "fix", "ARC103", "--target", "secret/arc-runners/newline-token", "--yes", "-o", "json",
                   "--kubeconfig", sb.kubeconfig_path)
        assert proc.returncode in (0, 1), (proc.stdout[-3000:], proc.stderr)
        doc = json.loads(proc.stdout)
        assert doc["outcome"] in ("applied", "partial") and doc["audit_id"]
        values = old | secret_values(sb)
    finally:
        sb.stop()
    audit = open(audit_path(state), encoding="utf-8").read()
    for value in values:
        for where, text in (("stdout", proc.stdout), ("stderr", proc.stderr), ("audit", audit)):
            assert value not in text, f"a Secret value is in {where}"
            assert json.dumps(value)[1:-1] not in text, f"a Secret value (JSON-escaped) is in {where}"
    masked = "…" + newline.strip()[-4:]
    assert masked in proc.stdout and masked in audit
    assert masked + "⏎" in proc.stdout                   # the old value: its newline is shown as a mark


def test_a_guidance_fix_shows_the_helm_change_and_writes_nothing(state, still):
    mark = still.mark()
    proc = run(state, "fix", "ARC602", "--scale-set", SET, "--yes", "--kubeconfig", still.kubeconfig_path)
    assert_refused(proc, "guidance only")                       # --yes cannot apply what has nothing to write
    assert "helm upgrade" in proc.stdout and "ghcr.io/actions/actions-runner:RUNNER_VERSION" in proc.stdout
    assert "dry-run: nothing to send (guidance only)" in proc.stdout
    assert still.mutating_since(mark) == []                     # no dry-run, no access review, no write
    assert not os.path.exists(audit_path(state))

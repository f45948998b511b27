"""Findings resting on the log of a gone pod do not flicker: the evidence of a scale set stays until a newer pod of
that set has shown the opposite (its log read, without the failure), and then goes.

The rule, split between the layers: the tailer (kube/logtail.py) keeps a gone pod's tail until a newer pod of the
set has a tail read after its container ended, and drops empty tails of gone pods (they used to push the evidence
out of the per-set cap); the checks (checks/context.py) drop a failure line once a newer pod's tail answers it (an
ended tail without it; for start-up failures, a runner that logged "Listening for Jobs")."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import MappingProxyType

import pytest

from arc_top.kube import model
from arc_top.kube.logtail import LogTailer
from arc_top.kube.model import LogTail, Snapshot
from arc_top.kube.projections import project
from tests.checks_fixtures import fleet, of
from tests.waiting import wait_for

NOW = 1_800_000_000.0              # the checks fixtures' clock: their fleet is this old
ERS = "arc-runner-set-h8ff4"
SET = "arc-runners/arc-runner-set"
CONNECTED = ["", "√ Connected to GitHub", "", "Current runner version: '2.329.0'"]
DENIED = [*CONNECTED,
          "[RUNNER 2026-01-01 00:00:00Z ERR  Runner] Fail to create and validate runner's work directory "
          "'/home/runner/_work'.",
          "[RUNNER 2026-01-01 00:00:00Z ERR  Runner] System.UnauthorizedAccessException: Access to the path "
          "'/home/runner/_work/_tool' is denied.",
          "Runner listener exit with terminated error, stop the service, no retry needed."]
LISTENING = [*CONNECTED, "2026-01-01 00:00:05Z: Listening for Jobs"]
JOB_DONE = [*LISTENING, "2026-01-01 00:01:00Z: Running job: build", "2026-01-01 00:02:00Z: Job build completed "
            "with result: Succeeded", "√ Removed .credentials", "√ Removed .runner"]
NO_JOB_CONTAINER = [*LISTENING, "2026-01-01 00:01:00Z: Running job: build",
                    "##[error]Jobs without a job container are forbidden on this runner, please add a 'container:' "
                    "to your job or contact your self-hosted runner administrator."]


# ---- hand-made pods and logs ------------------------------------------------------------------------------------
def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def runner_pod(name: str, created: float, state: str = "running") -> model.Pod:
    container = {"running": {"running": {}}, "ended": {"terminated": {"exitCode": 0, "reason": "Completed"}}}[state]
    raw = {"metadata": {"name": f"{ERS}-runner-{name}", "namespace": "arc-runners", "uid": f"uid-{name}",
                        "creationTimestamp": stamp(created),
                        "labels": {"actions.github.com/scale-set-name": "arc-runner-set",
                                   "actions.github.com/scale-set-namespace": "arc-runners",
                                   "app.kubernetes.io/component": "runner", "actions-ephemeral-runner": "True"}},
           "spec": {"containers": [{"name": "runner", "image": "ghcr.io/actions/actions-runner:2.329.0"}]},
           "status": {"phase": "Succeeded" if state == "ended" else "Running",
                      "containerStatuses": [{"name": "runner", "restartCount": 0, "ready": state == "running",
                                             "state": container}]}}
    return project(model.PODS, raw)


def pods_snapshot(*pods: model.Pod) -> Snapshot:
    objects = {k: MappingProxyType({}) for k in model.KINDS}
    objects[model.PODS] = MappingProxyType({p.uid: p for p in pods})
    return Snapshot(objects=MappingProxyType(objects), kinds=MappingProxyType({}), version=1)


class Response:
    def __init__(self, data: bytes):
        self.data = data

    def read(self, amt: int | None = None) -> bytes:
        return self.data[:amt]

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        pass


class Logs:
    """read_namespaced_pod_log from a dict: pod name → lines (a pod not in it has printed nothing yet)."""

    def __init__(self):
        self.lines: dict[str, list[str]] = {}
        self.reads: list[str] = []

    def read_namespaced_pod_log(self, name, namespace, **kw):
        self.reads.append(name)
        return Response("".join(f"{line}\n" for line in self.lines.get(name, ())).encode())


class Cluster:
    """Runner pods of arc-runner-set coming and going over time, a tailer reading them, the checks reading it."""

    def __init__(self, **tailer_options):
        self.logs = Logs()
        self.tailer = LogTailer(self.logs, budget_pods_per_min=1000, **tailer_options)
        self.pods: dict[str, model.Pod] = {}
        self.clock = NOW

    def start(self, name: str, lines: list[str] | None = None) -> None:
        self.clock += 5
        self.pods[name] = runner_pod(name, self.clock)
        if lines is not None:
            self.logs.lines[self.pods[name].name] = lines

    def end(self, name: str) -> None:
        pod = self.pods[name]
        self.pods[name] = runner_pod(name, pod.created, "ended")

    def delete(self, name: str) -> None:
        del self.pods[name]

    def fetch(self) -> list[LogTail]:
        self.clock += 1
        return self.tailer.fetch(pods_snapshot(*self.pods.values()), self.clock)

    def findings(self, code: str = "ARC502") -> list:
        """One check run: the tails the tailer hands over now, on the fleet whose work volume lacks fsGroup."""
        return [f for f in of(fleet(fs_group=None), code, logs=self.fetch()) if f.scale_set == SET]

    def held(self) -> set[str]:
        return {t.pod.rsplit("-", 1)[-1] for t in self.tailer.fetch(pods_snapshot(*self.pods.values()), self.clock)}


def churn_with_one_failure(c: Cluster, empties: int = 12) -> None:
    """One runner prints the failure and is gone; then many newer ones come and go before printing anything."""
    c.start("failed", DENIED)
    assert c.findings()
    c.end("failed")
    assert c.findings()
    c.delete("failed")
    for i in range(empties):
        c.start(f"new{i}")                    # read while its log is still empty (again and again), then gone
        for _ in range(3):
            assert c.findings(), f"ARC502 vanished while newer pod new{i} was unread"
        c.delete(f"new{i}")
        assert c.findings(), f"ARC502 vanished when newer pod new{i} went unread"


# ---- pure-ish: the tailer and the checks over time ---------------------------------------------------------------
def test_evidence_of_a_gone_pod_stays_while_newer_pods_are_unread_or_read_empty():
    c = Cluster()
    churn_with_one_failure(c)
    assert "failed" in c.held()
    [f] = c.findings()
    assert f.subject.name == f"{ERS}-runner-failed" and any("is denied" in e for e in f.evidence)


def test_a_newer_runner_listening_for_jobs_clears_it_and_its_ended_log_lets_the_tailer_forget_the_old_one():
    c = Cluster()
    churn_with_one_failure(c, empties=3)
    c.start("fixed", CONNECTED)               # read in mid-start: says nothing yet either way
    assert c.findings()
    c.delete("fixed")
    assert c.findings()
    c.start("healthy", LISTENING)             # got past creating its work directory
    assert c.findings() == []
    assert "failed" in c.held()               # still held: only an ended log settles every failure
    c.logs.lines[c.pods["healthy"].name] = JOB_DONE
    c.end("healthy")
    assert c.findings() == []
    c.delete("healthy")
    assert c.findings() == [] and c.held() == {"healthy"}


def test_a_newer_pod_that_fails_the_same_way_carries_the_evidence_on():
    c = Cluster()
    churn_with_one_failure(c, empties=2)
    c.start("again", DENIED)
    c.end("again")
    [f] = c.findings()
    assert f.subject.name == f"{ERS}-runner-again"   # the older pod's tail is superseded by the newer ended one
    assert "failed" not in c.held()
    c.delete("again")
    c.start("later")                                 # unread
    assert [f.subject.name for f in c.findings()] == [f"{ERS}-runner-again"]


def test_an_older_pod_still_running_does_not_bring_the_evidence_back_after_a_fix():
    c = Cluster()
    c.start("old", DENIED)                    # still up (run.sh exits a moment after printing)
    c.start("healthy", LISTENING)
    assert c.findings() == []


def test_a_job_time_failure_is_not_answered_by_a_runner_that_has_not_run_a_job_yet():
    c = Cluster()
    c.start("failed", NO_JOB_CONTAINER)
    c.end("failed")
    assert c.findings("ARC504")
    c.delete("failed")
    c.start("listening", LISTENING)           # listening says nothing about jobs
    for _ in range(3):
        assert c.findings("ARC504")
    c.logs.lines[c.pods["listening"].name] = JOB_DONE
    c.end("listening")                        # its job ran with a job container: the opposite, shown
    assert c.findings("ARC504") == []


def test_evidence_still_expires_retain_seconds_after_the_pod_went():
    c = Cluster(retain_seconds=60)
    churn_with_one_failure(c, empties=1)
    c.clock += 61
    assert c.findings() == []


# ---- against the sandbox: kube-permissions ---------------------------------------------------------------------------
STEADY_RUNS = 15


class Runs:
    """Every check run's answer to "is ARC502 shown for arc-runner-set?", in order."""

    def __init__(self):
        self.lock = threading.Lock()
        self.shown: list[bool] = []

    def deliver(self, findings: list, version: int, error: str) -> None:
        if error:
            return
        with self.lock:
            self.shown.append(any(f.code == "ARC502" and f.scale_set == SET for f in findings))

    def since(self, start: int) -> list[bool]:
        with self.lock:
            return self.shown[start:]

    def first(self, value: bool, start: int = 0) -> int | None:
        with self.lock:
            return next((i for i in range(start, len(self.shown)) if self.shown[i] is value), None)


@pytest.fixture
def permissions(tmp_path):
    from arc_top.sandbox.run import start_sandbox

    sb = start_sandbox("kube-permissions", kubeconfig_path=str(tmp_path / "config"), speed=3.0)
    yield sb
    sb.stop()


# Its own waits (ARC502 shown, steady runs, cleared after the fix, runs after) are bounded and say what did not
# come; the suite's 120 s guard cut them short on a slow machine (66 s usually, over 120 s three times in a row on
# 2026-12-07) with no message but a timeout. (A first run that already shows ARC502 is index 0 of the runs: the
# waits test `is not None`, else a falsy 0 kept them waiting until they failed.)
@pytest.mark.timeout(600)
def test_arc502_stays_across_check_runs_under_churn_and_clears_after_the_fs_group_fix(permissions):
    from kubernetes import client

    from arc_top.kube.config import connect
    from arc_top.kube.monitor import Monitor
    from arc_top.tui.findings import ChecksLoop
    from tests.conftest import api_client

    runs = Runs()
    monitor = Monitor(connect(permissions.kubeconfig_path, all_namespaces=True))
    monitor.start()
    loop = ChecksLoop(monitor, runs.deliver, github=False, recheck=2.0)
    loop.start()
    try:
        # (`first` is an index: the first run may show it, and 0 is an answer, not "not yet")
        wait_for(lambda: runs.first(True) is not None, 120, 0.1, "ARC502 for arc-runner-set")
        shown_at = runs.first(True)
        wait_for(lambda: len(runs.since(shown_at)) >= STEADY_RUNS, 180, 0.1, f"{STEADY_RUNS} check runs")
        steady = runs.since(shown_at)
        assert all(steady), f"ARC502 flickered: {''.join('X' if s else '.' for s in steady)} " \
                            f"(tailer {loop._tailer.stats.as_dict()})"

        patched_from = len(runs.since(0))
        client.CustomObjectsApi(api_client(permissions)).patch_namespaced_custom_object(
            "actions.github.com", "v1alpha1", "arc-runners", "autoscalingrunnersets", "arc-runner-set",
            {"spec": {"template": {"spec": {"securityContext": {"fsGroup": 123}}}}})
        wait_for(lambda: runs.first(False, patched_from) is not None, 240, 0.1, "ARC502 to clear after the fix")
        cleared_at = runs.first(False, patched_from)
        wait_for(lambda: len(runs.since(cleared_at)) >= 5, 120, 0.1, "5 more check runs")
        after = runs.since(cleared_at)
        assert not any(after), f"ARC502 came back: {''.join('X' if s else '.' for s in after)}"
    finally:
        loop.stop()
        monitor.stop()

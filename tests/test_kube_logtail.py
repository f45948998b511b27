"""kube.logtail: which pods get their log tails read, the per-minute budget, the cache, errors; and against the
sandbox, the `_work` access-denied line of churning kube-mode runners and previous-container logs."""

from __future__ import annotations

import time
from types import MappingProxyType

import pytest

from arc_top.kube import model
from arc_top.kube.logtail import LogTailer
from arc_top.kube.model import Snapshot
from arc_top.kube.projections import project
from tests.waiting import wait_for

NOW = 1_750_000_000.0
SELECTOR_LABELS = {"app.kubernetes.io/component": "runner", "actions-ephemeral-runner": "True"}


def stamp(age: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - age))


def raw_pod(name: str, *, ns: str = "arc-runners", role: str = "runner", scale_set: str = "set-a", age: float = 30,
            phase: str = "Running", state: dict | None = None, restarts: int = 0, container: str = "runner",
            owner_uid: str = "", runner_pod: str = "") -> dict:
    labels = {"actions.github.com/scale-set-name": scale_set, "actions.github.com/scale-set-namespace": ns}
    if role == "runner":
        labels.update(SELECTOR_LABELS)
    elif role == "listener":
        labels["app.kubernetes.io/component"] = "runner-scale-set-listener"
    elif role == "workflow":
        labels = {"runner-pod": runner_pod}
    elif role == "controller":
        labels = {"app.kubernetes.io/part-of": "gha-rs-controller"}
    elif role == "other":
        labels = {"app": "web"}
    meta = {"name": name, "namespace": ns, "uid": f"uid-{ns}-{name}", "creationTimestamp": stamp(age),
            "labels": labels}
    if owner_uid:
        meta["ownerReferences"] = [{"kind": "EphemeralRunner", "name": name, "uid": owner_uid, "controller": True}]
    return {"metadata": meta, "spec": {"containers": [{"name": container, "image": "img"}]},
            "status": {"phase": phase, "containerStatuses": [
                {"name": container, "restartCount": restarts, "ready": phase == "Running",
                 "state": state if state is not None else {"running": {}}}]}}


def snapshot(*pods: dict, runners: tuple[dict, ...] = ()) -> Snapshot:
    objects = {k: {} for k in model.KINDS}
    for raw in pods:
        obj = project(model.PODS, raw)
        objects[model.PODS][obj.uid] = obj
    for raw in runners:
        obj = project(model.RUNNERS, raw)
        objects[model.RUNNERS][obj.uid] = obj
    return Snapshot(objects=MappingProxyType({k: MappingProxyType(v) for k, v in objects.items()}),
                    kinds=MappingProxyType({}), version=1)


class ApiError(Exception):
    def __init__(self, status: int):
        super().__init__(f"({status})")
        self.status = status


class Response:
    def __init__(self, data: bytes):
        self.data, self.closed, self.released = data, False, False

    def read(self, amt: int | None = None) -> bytes:
        out, self.data = (self.data, b"") if amt is None else (self.data[:amt], self.data[amt:])
        return out

    def close(self) -> None:
        self.closed = True

    def release_conn(self) -> None:
        self.released = True


class FakeCore:
    """read_namespaced_pod_log as the official client offers it, from a dict (int value = HTTP error)."""

    def __init__(self, logs: dict | None = None, honour_limit: bool = True):
        self.logs = logs or {}
        self.calls: list[dict] = []
        self.honour_limit = honour_limit

    def read_namespaced_pod_log(self, name, namespace, **kw):
        assert kw["_preload_content"] is False and kw["tail_lines"] and kw["limit_bytes"] > 0
        self.calls.append(dict(kw, name=name, namespace=namespace))
        value = self.logs.get((namespace, name, kw["container"], kw["previous"]), b"line\n")
        if isinstance(value, int):
            raise ApiError(value)
        return Response(value[:kw["limit_bytes"]] if self.honour_limit else value)

    def read(self) -> list[tuple[str, str, bool]]:
        return [(c["name"], c["container"], c["previous"]) for c in self.calls]


TERMINATED_ERROR = {"terminated": {"exitCode": 1, "reason": "Error"}}
TERMINATED_OK = {"terminated": {"exitCode": 0, "reason": "Completed"}}


def test_selects_the_pods_that_hold_a_cause_and_skips_healthy_ones():
    runner_with_job = {"metadata": {"name": "done", "namespace": "arc-runners", "uid": "er-done"},
                       "status": {"jobRepositoryName": "org/repo"}}
    snap = snapshot(
        raw_pod("old-healthy", age=3600),
        raw_pod("failed", age=300, phase="Failed", state=TERMINATED_ERROR),
        raw_pod("restarted-listener", ns="arc-systems", role="listener", age=3600, restarts=3,
                container="listener"),
        raw_pod("young", age=3),
        raw_pod("pending", age=3, phase="Pending", state={"waiting": {"reason": "ContainerCreating"}}),
        raw_pod("done", age=60, phase="Succeeded", state=TERMINATED_OK, owner_uid="er-done"),
        raw_pod("churned", age=40, phase="Succeeded", state=TERMINATED_OK),
        raw_pod("controller", ns="arc-systems", role="controller", age=86400, container="manager"),
        raw_pod("other", ns="default", role="other", age=5, phase="Failed", state=TERMINATED_ERROR),
        raw_pod("wf", role="workflow", runner_pod="failed", age=200, phase="Failed", state=TERMINATED_ERROR,
                container="job"),
        runners=(runner_with_job,))
    names = [p.name for p in LogTailer(FakeCore()).select(snap, NOW)]
    assert set(names) == {"failed", "restarted-listener", "young", "churned", "wf", "controller"}
    assert names.index("churned") > names.index("failed") and names.index("young") > names.index("churned")


def test_restarted_containers_get_their_previous_log_read_too():
    core = FakeCore({("arc-runners", "crashy", "runner", True): b"panic: before the restart\n",
                     ("arc-runners", "crashy", "runner", False): b"starting again\n"})
    tails = LogTailer(core).fetch(snapshot(raw_pod("crashy", restarts=2)), NOW)
    assert {(t.previous, t.lines) for t in tails} == {(True, ("panic: before the restart",)),
                                                      (False, ("starting again",))}
    assert all(t.pod_uid == "uid-arc-runners-crashy" and t.container == "runner" for t in tails)


def test_an_unchanged_pod_is_never_read_twice_a_changed_one_is():
    core = FakeCore()
    tailer = LogTailer(core)
    tailer.fetch(snapshot(raw_pod("p", phase="Failed", state=TERMINATED_ERROR)), NOW)
    tails = tailer.fetch(snapshot(raw_pod("p", phase="Failed", state=TERMINATED_ERROR)), NOW + 5)
    assert core.read() == [("p", "runner", False)] and len(tails) == 1
    tailer.fetch(snapshot(raw_pod("p", restarts=1)), NOW + 10)           # restarted: a new instance
    assert core.read()[1:] == [("p", "runner", True), ("p", "runner", False)]
    assert tailer.select(snapshot(raw_pod("p", restarts=1)), NOW + 11) == []


def _objects_snapshot(pods: list, runners: list) -> Snapshot:
    """A snapshot of already projected objects (the same pod object in two snapshots, as a monitor keeps it)."""
    objects = {k: {} for k in model.KINDS}
    objects[model.PODS] = {p.uid: p for p in pods}
    objects[model.RUNNERS] = {r.uid: r for r in runners}
    return Snapshot(objects=MappingProxyType({k: MappingProxyType(v) for k, v in objects.items()}),
                    kinds=MappingProxyType({}), version=1)


def test_the_same_pod_object_still_ages_and_follows_its_runner():
    """Each pod object is scored once and remembered: the remembered score must still let a young runner pod
    age out of the young ones, and a new EphemeralRunner object (failures recorded) make the same pod worth
    reading again."""
    pod = project(model.PODS, raw_pod("r1", age=30, owner_uid="er-r1"))
    healthy = project(model.RUNNERS, {"metadata": {"name": "r1", "namespace": "arc-runners", "uid": "er-r1"},
                                      "status": {}})
    failing = project(model.RUNNERS, {"metadata": {"name": "r1", "namespace": "arc-runners", "uid": "er-r1"},
                                      "status": {"failures": {"uid-old": True}}})
    tailer = LogTailer(FakeCore(), young_seconds=600)
    assert [p.name for p in tailer.select(_objects_snapshot([pod], [healthy]), NOW)] == ["r1"]    # young, running
    assert tailer.select(_objects_snapshot([pod], [healthy]), NOW + 700) == []                    # no longer young
    assert [p.name for p in tailer.select(_objects_snapshot([pod], [failing]), NOW + 701)] == ["r1"]
    assert tailer.select(_objects_snapshot([pod], [healthy]), NOW + 702) == []


def test_an_unchanged_snapshot_is_ranked_once_until_a_pod_stops_being_young():
    """The ranking of every pod is kept while the snapshot's pods, runners and listeners are the same objects
    (an idle cluster: each minute's tail read walked 20,000 pods again), but not past the moment a young runner
    pod stops being young, nor for new objects, nor for an earlier time."""
    young = project(model.PODS, raw_pod("young", age=30))
    failed = project(model.PODS, raw_pod("failed", age=3000, phase="Failed", state=TERMINATED_ERROR))
    snap = _objects_snapshot([young, failed], [])
    tailer = LogTailer(FakeCore(), young_seconds=600)
    first = tailer._candidates(snap, NOW)
    assert [p.name for p, _ in first] == ["failed", "young"]
    assert tailer._candidates(snap, NOW + 60) is first                  # the same objects: not ranked again
    assert [p.name for p, _ in tailer._candidates(snap, NOW + 571)] == ["failed"]     # young until NOW + 570
    assert [p.name for p, _ in tailer._candidates(snap, NOW + 10)] == ["failed", "young"]    # (an earlier time)
    kept = tailer._candidates(snap, NOW + 11)
    assert tailer._candidates(_objects_snapshot([young, failed], []), NOW + 12) is not kept     # new maps


def test_the_running_controllers_log_is_read_again_every_refresh_period():
    core = FakeCore()
    tailer = LogTailer(core, controller_refresh_seconds=300)
    snap = snapshot(raw_pod("ctl", ns="arc-systems", role="controller", age=86400, container="manager"))
    start = (NOW // 300) * 300
    for offset in (0, 100, 299, 300, 450, 600):
        tailer.fetch(snap, start + offset)
    assert len(core.calls) == 3 and {c["container"] for c in core.calls} == {"manager"}


def test_an_empty_running_log_is_read_again_a_little_later():
    core = FakeCore({("arc-runners", "young", "runner", False): b""})
    tailer = LogTailer(core, retry_empty_seconds=2, max_empty_reads=3)
    snap = snapshot(raw_pod("young", age=1))
    tailer.fetch(snap, NOW)
    tailer.fetch(snap, NOW + 1)
    assert len(core.calls) == 1
    core.logs[("arc-runners", "young", "runner", False)] = b"Access to the path '/home/runner/_work/_tool' is denied.\n"
    tails = tailer.fetch(snap, NOW + 2.5)
    assert len(core.calls) == 2 and "is denied" in tails[0].lines[0]
    tailer.fetch(snap, NOW + 10)
    assert len(core.calls) == 2


def test_a_log_that_stays_empty_is_given_up_on():
    core = FakeCore({("arc-runners", "quiet", "runner", False): b""})
    tailer = LogTailer(core, retry_empty_seconds=1, max_empty_reads=3)
    for i in range(10):
        tailer.fetch(snapshot(raw_pod("quiet", age=1 + i * 2)), NOW + i * 2)
    assert len(core.calls) == 3


def test_the_budget_caps_pods_per_minute():
    pods = [raw_pod(f"failed-{i}", age=100 + i, phase="Failed", state=TERMINATED_ERROR) for i in range(10)]
    core = FakeCore()
    tailer = LogTailer(core, budget_pods_per_min=3)
    assert len(tailer.fetch(snapshot(*pods), NOW)) == 3
    assert tailer.stats.pods == 3 and tailer.stats.skipped_budget == 7
    tailer.fetch(snapshot(*pods), NOW + 30)
    assert len(core.calls) == 3
    assert [c["name"] for c in core.calls] == ["failed-0", "failed-1", "failed-2"]      # newest first
    tails = tailer.fetch(snapshot(*pods), NOW + 61)
    assert len(core.calls) == 6 and len(tails) == 6


def test_failing_runners_leave_a_fifth_of_the_budget_to_the_listener_and_the_controller():
    """Newer failed runners come first, but they may not spend the last two units of ten: the listener that
    died (its pod Failed, then recreated) and the controller are read; a third runner waits for the next minute."""
    pods = [raw_pod(f"failed-{i}", scale_set=f"set-{i}", age=10 + i, phase="Failed", state=TERMINATED_ERROR)
            for i in range(12)]
    pods += [raw_pod("listener", ns="arc-systems", role="listener", scale_set="set-x", age=100, phase="Failed",
                     state=TERMINATED_ERROR, container="listener"),
             raw_pod("controller", ns="arc-systems", role="controller", age=200, container="manager")]
    core = FakeCore()
    tailer = LogTailer(core, budget_pods_per_min=10)
    tailer.fetch(snapshot(*pods), NOW)
    read = [c["name"] for c in core.calls]
    assert read[:8] == [f"failed-{i}" for i in range(8)] and set(read[8:]) == {"listener", "controller"}
    assert tailer.stats.skipped_budget == 4


def test_the_budget_caps_bytes_per_minute_and_per_pod():
    big = b"x" * 100 + b"\n" + b"y" * 5000
    pods = [raw_pod(f"failed-{i}", phase="Failed", state=TERMINATED_ERROR) for i in range(5)]
    core = FakeCore({("arc-runners", f"failed-{i}", "runner", False): big for i in range(5)}, honour_limit=False)
    tailer = LogTailer(core, bytes_per_pod=1024, budget_bytes_per_min=2048)
    tails = tailer.fetch(snapshot(*pods), NOW)
    assert len(core.calls) == 2 and all(c["limit_bytes"] == 1024 for c in core.calls)
    assert tailer.stats.bytes == 2048
    assert all(t.lines == ("x" * 100,) for t in tails)          # cut at the limit: the partial line is dropped


def test_every_scale_set_gets_a_pod_before_any_gets_a_second():
    pods = [raw_pod(f"a-{i}", scale_set="set-a", age=10 + i, phase="Failed", state=TERMINATED_ERROR)
            for i in range(5)]
    pods += [raw_pod("b-0", scale_set="set-b", age=500, phase="Failed", state=TERMINATED_ERROR),
             raw_pod("listener-c", ns="arc-systems", role="listener", scale_set="set-c", age=900, restarts=1,
                     container="listener")]
    core = FakeCore()
    LogTailer(core, budget_pods_per_min=3).fetch(snapshot(*pods), NOW)
    assert {c["name"] for c in core.calls} == {"a-0", "b-0", "listener-c"}


def test_errors_are_counted_not_raised_and_403_pauses_the_namespace():
    core = FakeCore({("arc-runners", "gone", "runner", False): 404,
                     ("arc-runners", "no-previous", "runner", True): 400,
                     ("team-a", "secret-ns", "runner", False): 403})
    pods = [raw_pod("gone", phase="Failed", state=TERMINATED_ERROR, age=10),
            raw_pod("no-previous", restarts=1, age=20),
            raw_pod("secret-ns", ns="team-a", scale_set="t", phase="Failed", state=TERMINATED_ERROR, age=30),
            raw_pod("secret-ns-2", ns="team-a", scale_set="t", phase="Failed", state=TERMINATED_ERROR, age=40)]
    tailer = LogTailer(core)
    tails = tailer.fetch(snapshot(*pods), NOW)
    assert tailer.stats.errors == {"404": 1, "400": 1, "403": 1}
    assert [(t.pod, t.previous) for t in tails] == [("no-previous", False)]
    assert ("secret-ns-2", "runner", False) not in core.read()
    tailer.fetch(snapshot(*pods), NOW + 120)
    assert len(core.calls) == 4                               # failed reads of unchanged pods are not retried


def test_transport_errors_are_retried_later():
    class Flaky(FakeCore):
        def read_namespaced_pod_log(self, name, namespace, **kw):
            self.calls.append(dict(kw, name=name, namespace=namespace))
            raise TimeoutError("read timed out")

    core = Flaky()
    tailer = LogTailer(core)
    snap = snapshot(raw_pod("p", phase="Failed", state=TERMINATED_ERROR))
    assert tailer.fetch(snap, NOW) == [] and tailer.stats.errors == {"other": 1}
    tailer.fetch(snap, NOW + 61)
    assert len(core.calls) == 2


def test_tails_of_gone_pods_are_kept_for_a_while_then_forgotten():
    tailer = LogTailer(FakeCore(), retain_seconds=300, retain_gone_per_set=2)
    pods = [raw_pod(f"churn-{i}", phase="Succeeded", state=TERMINATED_OK) for i in range(4)]
    for i, pod in enumerate(pods):
        tailer.fetch(snapshot(pod), NOW + i)
    tails = tailer.fetch(snapshot(), NOW + 10)
    assert [t.pod for t in tails] == ["churn-2", "churn-3"]            # the newest two of the set
    assert tailer.fetch(snapshot(), NOW + 400) == []


# ---- against the sandbox ------------------------------------------------------------------------------------
DENIED = "Access to the path '/home/runner/_work/_tool' is denied."


@pytest.fixture(scope="module")
def kube_permissions(tmp_path_factory):
    from arc_top.sandbox.run import start_sandbox

    sb = start_sandbox("kube-permissions", kubeconfig_path=str(tmp_path_factory.mktemp("kc") / "config"))
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def monitor(kube_permissions):
    from arc_top.kube.config import connect
    from arc_top.kube.monitor import Monitor

    m = Monitor(connect(kube_permissions.kubeconfig_path, all_namespaces=True))
    m.start()
    assert m.wait_synced(30)
    yield m
    m.stop()


def test_churning_kube_mode_runners_show_the_work_dir_denied_line(monitor):
    tailer = LogTailer(monitor.conn.api_client)
    reads: list[tuple[float, int, int]] = []          # (now given to fetch, pods read before it, after it)

    def denied_tails():
        now, before = time.time(), tailer.stats.pods
        tails = tailer.fetch(monitor.snapshot(), now)
        reads.append((now, before, tailer.stats.pods))
        return [t for t in tails if any(DENIED in line for line in t.lines)]

    try:
        found = wait_for(denied_tails, timeout=60, step=0.5, what="a runner's tail with the denied line")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {tailer.stats.as_dict()}") from None
    tail = found[0]
    assert tail.namespace == "arc-runners" and tail.container == "runner" and not tail.previous
    assert tail.pod.startswith(("arc-runner-set-", "arc-local-path-")) and tail.fetched_at > 0
    # The budget (30 pods a minute) on the tailer's own clock: no 60 s span of fetches read more than 30 pods.
    assert all(last[2] - first[1] <= 30 for i, first in enumerate(reads) for last in reads[i:]
               if last[0] - first[0] < 60), reads


def test_the_budget_holds_against_a_churning_cluster(monitor):
    tailer = LogTailer(monitor.conn.api_client, budget_pods_per_min=2)
    now = time.time()
    end = time.monotonic() + 6
    while time.monotonic() < end:                 # runners churn every few seconds: plenty of candidates
        tailer.fetch(monitor.snapshot(), now)     # … all inside one budget minute
        time.sleep(0.3)
    assert tailer.stats.pods == 2
    assert tailer.stats.skipped_budget > 0 or not tailer.select(monitor.snapshot(), now)


def test_the_previous_containers_log_is_read(tmp_path):
    from arc_top.kube.config import connect
    from arc_top.kube.monitor import Monitor
    from arc_top.sandbox.run import start_sandbox

    sb = start_sandbox("healthy", kubeconfig_path=str(tmp_path / "config"), speed=4.0)
    m = Monitor(connect(sb.kubeconfig_path, all_namespaces=True))
    try:
        def listener():
            return next((p for p in sb.cluster.list("pods", None)
                         if (p["metadata"].get("labels") or {}).get("app.kubernetes.io/component")
                         == "runner-scale-set-listener" and p["status"].get("phase") == "Running"), None)
        wait_for(listener, what="a Running listener pod")
        sb.pause()                                # hold the cluster still; play the kubelet by hand
        pod = listener()                          # (a listener is not churned away: still there)
        assert pod is not None
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        sb.cluster.logs.write(ns, name, "listener", "Application returned an error: 401 Bad credentials")
        sb.cluster.logs.restart(ns, name, "listener")
        sb.cluster.logs.write(ns, name, "listener", "refreshing token")

        def restarted(obj: dict) -> None:
            obj["status"]["containerStatuses"][0]["restartCount"] = 1
        sb.cluster.mutate("pods", ns, name, restarted)
        m.start()
        assert m.wait_synced(30)
        uid = pod["metadata"]["uid"]
        wait_for(lambda: getattr(m.snapshot().of(model.PODS).get(uid), "restarts", 0) == 1, what="the restart seen")
        tailer = LogTailer(m.conn.api_client)
        tails = {t.previous: t.lines for t in tailer.fetch(m.snapshot(), time.time()) if t.pod_uid == uid}
        assert "401 Bad credentials" in tails[True][-1] and tails[False] == ("refreshing token",)
    finally:
        m.stop()
        sb.stop()

"""Projections: kubectl's pod STATUS, ARC fields, secrets without values, and never an exception on junk."""

from __future__ import annotations

import copy
import random

import pytest

from arc_top.kube import model
from arc_top.kube.projections import project
from arc_top.sandbox.resources import lookup
from arc_top.sandbox.run import start_sandbox
from arc_top.sandbox.tables import table
from tests.waiting import wait_for

RAW_KINDS = {  # sandbox resource key → (model kind, API kind)
    "autoscalingrunnersets.actions.github.com": (model.SCALE_SETS, "AutoscalingRunnerSet"),
    "ephemeralrunnersets.actions.github.com": (model.RUNNER_SETS, "EphemeralRunnerSet"),
    "ephemeralrunners.actions.github.com": (model.RUNNERS, "EphemeralRunner"),
    "autoscalinglisteners.actions.github.com": (model.LISTENERS, "AutoscalingListener"),
    "pods": (model.PODS, "Pod"), "persistentvolumeclaims": (model.VOLUMES, "PersistentVolumeClaim"),
    "events": (model.EVENTS, "Event"), "storageclasses.storage.k8s.io": (model.STORAGE_CLASSES, "StorageClass"),
    "secrets": (model.SECRETS, "Secret"), "serviceaccounts": (model.SERVICE_ACCOUNTS, "ServiceAccount"),
    "roles.rbac.authorization.k8s.io": (model.ROLES, "Role"),
    "clusterroles.rbac.authorization.k8s.io": (model.ROLES, "ClusterRole"),
    "rolebindings.rbac.authorization.k8s.io": (model.ROLE_BINDINGS, "RoleBinding"),
    "namespaces": (model.NAMESPACES, "Namespace"),
}


@pytest.fixture(scope="module")
def incident(tmp_path_factory):
    sb = start_sandbox("incident", kubeconfig_path=str(tmp_path_factory.mktemp("kc") / "config"), speed=10.0)
    # Let the simulation produce failing, churning and pending pods.
    wait_for(lambda: len(sb.cluster.list("pods")) >= 12 and sb.cluster.list("events")
             and len({kubectl_status(p)[1] for p in sb.cluster.list("pods")}) >= 2, what="a varied incident")
    yield sb
    sb.stop()


def kubectl_status(pod: dict) -> tuple[str, str]:
    cells = table(lookup("pods"), [pod], "1")["rows"][0]["cells"]
    return cells[1], cells[2]          # READY, STATUS


def test_pod_status_matches_kubectl_for_every_pod_of_the_incident(incident):
    pods = incident.cluster.list("pods")
    statuses = set()
    for raw in pods:
        p = project(model.PODS, raw)
        assert (f"{p.ready}/{p.total}", p.status) == kubectl_status(raw), raw["metadata"]["name"]
        statuses.add(p.status)
    assert len(statuses) >= 2, statuses


def _pod(**status) -> dict:
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u1", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"initContainers": [{"name": "init", "image": "busybox"},
                                        {"name": "side", "image": "envoy", "restartPolicy": "Always"}],
                     "containers": [{"name": "runner", "image": "runner:1"}, {"name": "dind", "image": "docker"}]},
            "status": {"phase": "Pending", **status}}


@pytest.mark.parametrize("status", [
    {},
    {"initContainerStatuses": [{"name": "init", "state": {"waiting": {"reason": "PodInitializing"}}}]},
    {"initContainerStatuses": [{"name": "init", "restartCount": 3,
                                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                                "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]},
    {"initContainerStatuses": [{"name": "init", "state": {"terminated": {"exitCode": 2}}}]},
    {"initContainerStatuses": [{"name": "init", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                               {"name": "side", "started": True, "ready": True, "state": {"running": {}}}],
     "containerStatuses": [{"name": "runner", "ready": True, "state": {"running": {}}},
                           {"name": "dind", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
     "phase": "Running"},
    {"containerStatuses": [{"name": "runner", "state": {"terminated": {"exitCode": 137, "signal": 9}}}],
     "phase": "Failed"},
    {"containerStatuses": [{"name": "runner", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]},
    {"conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]},
    {"reason": "Evicted", "phase": "Failed"},
])
def test_pod_status_matches_kubectl_in_the_corner_cases(status):
    raw = _pod(**status)
    p = project(model.PODS, raw)
    assert (f"{p.ready}/{p.total}", p.status) == kubectl_status(raw)
    deleting = copy.deepcopy(raw)
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    p = project(model.PODS, deleting)
    assert p.deleting and p.status == kubectl_status(deleting)[1]


def test_container_states_restarts_and_exit_codes():
    raw = _pod(initContainerStatuses=[{"name": "init", "restartCount": 3,
                                       "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                                       "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}])
    p = project(model.PODS, raw)
    init = p.containers[0]
    assert (init.name, init.init, init.state, init.reason, init.exit_code, init.restarts) == \
        ("init", True, "waiting", "CrashLoopBackOff", 1, 3)
    assert [c.name for c in p.containers] == ["init", "side", "runner", "dind"]
    assert p.containers[2].state == "" and p.containers[2].image == "runner:1"
    assert p.created == 1767225600.0


def test_arc_objects_are_projected(incident):
    sets = {s.name: s for s in (project(model.SCALE_SETS, o) for o in
                                incident.cluster.list("autoscalingrunnersets.actions.github.com"))}
    assert sets["team-b-dind"].mode == "dind" and sets["legacy-set"].mode == "default"
    assert sets["arc-runner-set"].mode == "kubernetes" and sets["arc-runner-set"].min_runners == 2
    assert sets["arc-runner-set"].max_runners == 10 and sets["arc-runner-set"].version == "0.14.2"
    assert sets["arc-runner-set"].template["spec"]["securityContext"] == {"fsGroup": 123}
    roles = {p.role for p in (project(model.PODS, o) for o in incident.cluster.list("pods"))}
    assert {"runner", "listener", "controller"} <= roles
    for raw in incident.cluster.list("events"):
        ev = project(model.EVENTS, raw)
        assert ev.first_seen > 1.7e9 and ev.last_seen >= ev.first_seen and ev.count >= 1 and ev.object_name
    runners = [project(model.RUNNERS, o) for o in incident.cluster.list("ephemeralrunners.actions.github.com")]
    assert runners and all(r.owner_uid and r.scale_set for r in runners)


def test_event_times_from_event_time_and_series():
    raw = {"metadata": {"uid": "e", "name": "e", "namespace": "ns"}, "type": "Warning", "reason": "BackOff",
           "eventTime": "2026-01-01T00:00:00.123456789Z", "series": {"count": 4,
                                                                     "lastObservedTime": "2026-01-01T00:05:00.5Z"},
           "regarding": {"kind": "Pod", "name": "p"}, "reportingController": "kubelet"}
    ev = project(model.EVENTS, raw)
    assert ev.first_seen == pytest.approx(1767225600.123456) and ev.last_seen == pytest.approx(1767225900.5)
    assert (ev.count, ev.object_kind, ev.source) == (4, "Pod", "kubelet")


def test_secrets_keep_key_names_only(incident):
    for raw in incident.cluster.list("secrets"):
        s = project(model.SECRETS, raw, "Secret")
        assert {"type", "keys"} <= set(s.body) and s.body["keys"] == tuple(sorted(raw.get("data") or {}))
        for value in (raw.get("data") or {}).values():
            assert value not in repr(s)
    leaky = {"metadata": {"name": "s", "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": '{"data":{"token":"c2VjcmV0"}}', "team": "a"}},
        "data": {"token": "c2VjcmV0"}, "stringData": {"other": "plain-secret"}, "type": "Opaque"}
    s = project(model.SECRETS, leaky, "Secret")
    assert "c2VjcmV0" not in repr(s) and "plain-secret" not in repr(s) and s.body["keys"] == ("other", "token")
    assert dict(s.annotations) == {"team": "a"}


JUNK = [None, 0, -1, 1.5, True, "", "x", [], [None], {}, {"a": None}, [{"name": 1}], 10**30]


def _paths(obj, prefix=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


def _set(obj, path, value):
    for step in path[:-1]:
        obj = obj[step]
    obj[path[-1]] = value


def test_projections_never_raise_on_junk(incident):
    rng = random.Random(7)
    classes = {model.SCALE_SETS: model.ScaleSet, model.RUNNER_SETS: model.RunnerSet, model.RUNNERS: model.Runner,
               model.LISTENERS: model.Listener, model.PODS: model.Pod, model.VOLUMES: model.Volume,
               model.EVENTS: model.Event}
    tried = 0
    for key, (kind, api_kind) in RAW_KINDS.items():
        expected = classes.get(kind, model.Named)
        for junk in JUNK + [{"metadata": junk} for junk in JUNK] + [{"metadata": {"labels": junk}} for junk in JUNK]:
            assert isinstance(project(kind, junk, api_kind), expected)
        for raw in incident.cluster.list(key)[:3]:
            paths = list(_paths(raw))
            for path in rng.sample(paths, min(len(paths), 60)):
                broken = copy.deepcopy(raw)
                _set(broken, path, rng.choice(JUNK))
                out = project(kind, broken, api_kind)
                assert isinstance(out, expected) and isinstance(out.uid, str) and isinstance(out.name, str)
                tried += 1
    assert tried > 500


def test_projection_takes_the_direct_path_to_a_slim_row(incident, monkeypatch):
    """What keeps projection cheap (a figure: bench/kube_layer.py's project_pod_us, a few µs per pod): every pod
    of the incident takes the direct path (no exception, no fallback) to a slots row that keeps no raw dict."""
    from arc_top.kube import projections as kube_projections

    def no_fallback(*args):
        raise AssertionError(f"fell back on {args[0]}")

    monkeypatch.setattr(kube_projections, "_fallback", no_fallback)
    pods = incident.cluster.list("pods")
    assert len(pods) >= 12
    for raw in pods:
        row = project(model.PODS, raw)
        assert not hasattr(row, "__dict__") and row.uid == raw["metadata"]["uid"]
        assert not any(value is raw or value is raw.get("status") for value in _fields(row))


def _fields(row) -> list:
    return [getattr(row, name) for cls in type(row).__mro__ for name in getattr(cls, "__slots__", ())]

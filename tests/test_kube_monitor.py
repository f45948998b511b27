"""The Monitor against a real sandbox over HTTPS: it syncs, equals the server, follows changes, degrades per kind
when forbidden, never holds a secret value, and stops fast."""

from __future__ import annotations

import base64
import json
import re
import threading

import pytest

from arc_top.kube import model
from arc_top.kube.config import connect
from arc_top.kube.monitor import Monitor
from arc_top.sandbox import streams
from arc_top.sandbox.rbac import UserInfo
from arc_top.sandbox.resources import BY_KEY, REVIEWS
from arc_top.sandbox.run import start_sandbox
from tests.test_kube_helpers import converges, frozen
from tests.waiting import wait_for


@pytest.fixture(scope="module")
def incident(tmp_path_factory):
    sb = start_sandbox("incident", kubeconfig_path=str(tmp_path_factory.mktemp("kc") / "config"), speed=6.0)
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def everything(incident):
    """A monitor of all namespaces, shared by the tests that only read."""
    calls: list[float] = []
    m = Monitor(connect(incident.kubeconfig_path, all_namespaces=True), on_change=lambda: calls.append(1))
    m.calls = calls
    m.start()
    assert m.wait_synced(30)
    yield m
    m.stop()


def test_monitor_starts_without_blocking_and_syncs_every_kind(incident, monkeypatch):
    # The server holds every request until the gate opens: start() must return while nothing is listed yet.
    # (How long start() and stop() take: bench/kube_layer.py, start_call_s and stop_s.)
    api, gate = incident.server.api, threading.Event()
    handle = api.handle

    def gated(req):
        gate.wait(60)
        return handle(req)

    api.handle = gated
    m = Monitor(connect(incident.kubeconfig_path, all_namespaces=True))
    try:
        m.start()
        assert not m.synced() and not any(s.synced for s in m.snapshot().kinds.values())
    finally:
        gate.set()
        del api.handle
    try:
        assert m.wait_synced(30)
        snap = m.snapshot()
        assert {k: s.state for k, s in snap.kinds.items()} == dict.fromkeys(model.KINDS, "live")
        assert len(snap.of(model.SCALE_SETS)) == 6 and len(snap.of(model.LISTENERS)) == 6
        assert {p.role for p in snap.of(model.PODS).values()} >= {"runner", "listener", "controller"}
        assert snap.arc is m.info and m.info.arc_version == "0.14.2"
        assert m.info.controller_namespaces == ("arc-systems",)
        assert m.threads()[model.PODS] == 2 and len(m.watchers) == 18
    finally:
        # stop() cuts the watch streams: it does not wait for an event. With the simulation paused and bookmarks
        # 10 minutes apart, the streams stay silent, so only a cut ends the threads before the wait gives up.
        monkeypatch.setattr(streams, "BOOKMARK_EVERY_S", 600.0)
        with incident.paused():
            m.stop()
            wait_for(lambda: not any(w.is_alive() for w in m.watchers), what="every watch thread to end")


def test_snapshot_equals_the_server(incident, everything):
    with frozen(incident):
        assert converges(everything) == {}


def test_selected_namespace_with_the_controller_namespace_found_by_discovery(incident):
    m = Monitor(connect(incident.kubeconfig_path, namespaces=["team-a"]))
    m.start()
    try:
        assert m.wait_synced(30)
        snap = m.snapshot()
        assert {s.name for s in snap.of(model.SCALE_SETS).values()} == {"team-a-kube", "team-a-custom-sa"}
        assert {x.scale_set_namespace for x in snap.of(model.LISTENERS).values()} == {"team-a"}
        pods = snap.of(model.PODS).values()
        assert {p.namespace for p in pods if p.role == "listener"} == {"arc-systems"}
        assert {p.scale_set_namespace for p in pods if p.role == "listener"} == {"team-a"}
        assert any(p.role == "controller" for p in pods)
        assert all(p.namespace == "team-a" for p in pods if p.role == "runner")
        with frozen(incident):
            assert converges(m) == {}
    finally:
        m.stop()


def test_a_pod_appears_changes_and_disappears(incident, everything):
    everything.drain()
    pod = incident.cluster.create("pods", {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "probe-workflow", "namespace": "arc-runners", "labels": {"runner-pod": "probe"}},
        "spec": {"containers": [{"name": "job", "image": "alpine:3"}]}})
    uid = pod["metadata"]["uid"]
    seen: list[object] = []

    def changes_for_probe():
        changes = everything.drain().changed.get(model.PODS, {})
        if uid in changes:
            seen.append(changes[uid])
        return seen

    assert wait_for(lambda: changes_for_probe() and seen[-1] is not None)
    assert everything.snapshot().of(model.PODS)[uid].role == "workflow"
    incident.cluster.mutate("pods", "arc-runners", "probe-workflow",
                            lambda o: o["metadata"]["labels"].update({"stage": "two"}))
    assert wait_for(lambda: everything.snapshot().of(model.PODS)[uid].labels.get("stage") == "two")
    incident.cluster.delete("pods", "arc-runners", "probe-workflow")
    assert wait_for(lambda: uid not in everything.snapshot().of(model.PODS))
    assert wait_for(lambda: changes_for_probe() and seen[-1] is None)


def test_one_notification_per_drain(incident, everything):
    """Many changes between two drains wake the app once; a drain re-arms the wake-up. The simulation is paused
    and the monitor has caught up with the server, so the only changes are the test's own."""
    ns = "arc-runners"
    names = [f"wake-{i}" for i in range(5)]

    def uids() -> set[str]:
        return {s.uid for s in everything.snapshot().of(model.SECRETS).values() if s.name in names}

    with incident.paused():
        version = incident.cluster.store.resource_version     # every event below it reaches the monitor…
        wait_for(lambda: all(int(w.resource_version or 0) >= version for w in everything.watchers),
                 what="the monitor to catch up")             # …at the latest with the next bookmark
        everything.drain()
        before = len(everything.calls)
        for name in names:
            incident.cluster.create("secrets", {"metadata": {"name": name, "namespace": ns}, "type": "Opaque"})
        wait_for(lambda: len(uids()) == len(names), what="the five secrets")
        assert len(everything.calls) == before + 1                      # many events, one wake-up
        everything.drain()
        incident.cluster.delete("secrets", ns, names[0])
        wait_for(lambda: len(uids()) == len(names) - 1, what="the deletion")
        assert len(everything.calls) == before + 2                      # the drain re-armed it
        for name in names[1:]:
            incident.cluster.delete("secrets", ns, name)
    wait_for(lambda: not uids(), what="the secrets gone")


REVIEW_KEYS = {key for key in BY_KEY if key.split(".")[0] in REVIEWS}


def _secret_values(secret: dict) -> set[str]:
    """The stored (base64) values and every token-like string inside the decoded values."""
    out = set()
    for encoded in (secret.get("data") or {}).values():
        out.add(encoded)
        decoded = base64.b64decode(encoded).decode(errors="replace")
        try:
            doc = json.loads(decoded)
            leaves = [v for v in doc.values() if isinstance(v, str)] if isinstance(doc, dict) else [decoded]
        except ValueError:
            leaves = [decoded]
        out.update(v for v in leaves if re.fullmatch(r"[A-Za-z0-9_+/=-]{16,}", v))
    return out


def test_no_secret_value_ever_reaches_a_snapshot(incident, everything):
    with frozen(incident):
        secrets = incident.cluster.list("secrets")
        names = {o["metadata"]["name"] for key in BY_KEY if key not in REVIEW_KEYS
                 for o in incident.cluster.list(key)}     # names are no secrets (config.json holds some)
        assert wait_for(lambda: len(everything.snapshot().of(model.SECRETS)) == len(secrets))
    values = set().union(*(_secret_values(s) for s in secrets)) - names
    assert sum(v.startswith("ghp_") for v in values) >= 2 and len(values) > 10
    text = repr(everything.snapshot())
    leaked = [v[:8] for v in values if v in text]
    assert not leaked


def test_viewer_sees_everything_but_secrets_and_cluster_rbac(incident):
    m = Monitor(connect(incident.kubeconfig_path, context="arc-sandbox-viewer", all_namespaces=True))
    m.start()
    try:
        assert m.wait_synced(30)
        kinds = m.snapshot().kinds
        forbidden = {k for k, s in kinds.items() if s.state == "forbidden"}
        # the "view" role reads no secrets, no storage classes and no RBAC objects
        assert forbidden == {model.SECRETS, model.STORAGE_CLASSES, model.ROLES, model.ROLE_BINDINGS}
        assert "secrets" in kinds[model.SECRETS].message and "\n" not in kinds[model.SECRETS].message
        assert all(s.state == "live" for k, s in kinds.items() if k not in forbidden)
        assert len(m.snapshot().of(model.PODS)) >= 10 and not m.snapshot().of(model.SECRETS)
        with frozen(incident):
            assert converges(m) == {}
    finally:
        m.stop()


def test_namespace_reader_learns_the_controller_namespace_and_says_listeners_are_forbidden(incident, tmp_path):
    token = "team-a-reader-token"
    incident.cluster.tokens[token] = UserInfo("team-a-reader", ("team-a-readers", "system:authenticated"))
    incident.cluster.create("rolebindings.rbac.authorization.k8s.io", {
        "metadata": {"name": "team-a-readers", "namespace": "team-a"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "team-a-readers"}]})
    config = incident.kubeconfig_dict()
    config["users"].append({"name": "reader", "user": {"token": token}})
    config["contexts"].append({"name": "reader", "context": {"cluster": "arc-sandbox", "user": "reader",
                                                             "namespace": "team-a"}})
    path = tmp_path / "reader"
    path.write_text(__import__("yaml").safe_dump(config))
    m = Monitor(connect(str(path), context="reader"))
    m.start()
    try:
        assert m.wait_synced(30)
        assert m.info.controller_namespaces == ("arc-systems",)       # from the scale sets' annotation
        assert not m.info.controllers_listed and any("403" in p for p in m.info.problems)
        kinds = m.snapshot().kinds
        assert kinds[model.LISTENERS].state == "forbidden" and "arc-systems" in kinds[model.LISTENERS].message
        assert kinds[model.SCALE_SETS].state == "live" and len(m.snapshot().of(model.SCALE_SETS)) == 2
    finally:
        m.stop()

"""Watches survive the API server: a restart (reconnect and resume, or relist after 410), compaction, and changes
made while arc-top could not see them - with no ghost rows and nothing missing afterwards."""

from __future__ import annotations

import pytest

from arc_top.kube import model
from arc_top.kube.config import connect
from arc_top.kube.monitor import Monitor
from arc_top.sandbox.run import start_sandbox
from tests.test_kube_helpers import converges, frozen
from tests.waiting import wait_for

LONG_BACKOFF_S = 600.0


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    sb = start_sandbox("healthy", kubeconfig_path=str(tmp_path_factory.mktemp("kc") / "config"), speed=6.0)
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def monitor(healthy):
    m = Monitor(connect(healthy.kubeconfig_path, all_namespaces=True))
    m.start()
    assert m.wait_synced(30)
    yield m
    m.stop()


def secret(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "arc-runners"},
            "type": "Opaque", "data": {"k": "dmFsdWU="}}


def account(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "arc-runners"}}


def uid_of(healthy, key: str, name: str) -> str:
    return healthy.cluster.get(key, "arc-runners", name)["metadata"]["uid"]


def outage(healthy, monitor, down: float, during) -> list[str]:
    """Restart the API server, run `during` while it is down, and record the pod kind's states until live.

    The states are recorded as the watch threads publish them (not by polling, which a loaded machine can make
    miss a short "reconnecting")."""
    states: list[str] = []
    state = monitor.state
    publish = state.set_state

    def recording(kind, *args, **kwargs):
        publish(kind, *args, **kwargs)
        if kind == model.PODS:
            shown = monitor.snapshot().kinds[model.PODS].state
            if not states or states[-1] != shown:
                states.append(shown)

    def back():
        return "reconnecting" in states and all(k.state == "live" for k in monitor.snapshot().kinds.values())

    state.set_state = recording
    try:
        healthy.cluster.restart(down_seconds=down)
        during()
        try:
            wait_for(back, timeout=60, step=0.01, what="the pods kind to reconnect and every kind to be live")
        except AssertionError as exc:     # reconnect backoff reaches 10 s per attempt
            not_live = {k: (s.state, s.message) for k, s in monitor.snapshot().kinds.items() if s.state != "live"}
            raise AssertionError(f"{exc}: {states}, {not_live}") from None
    finally:
        del state.set_state
    return states


def test_restart_reconnects_and_replays_what_happened_meanwhile(healthy, monitor):
    healthy.cluster.create("secrets", secret("doomed-1"))
    healthy.cluster.create("serviceaccounts", account("doomed-1"))
    assert wait_for(lambda: uid_of(healthy, "secrets", "doomed-1") in monitor.snapshot().of(model.SECRETS))
    doomed = uid_of(healthy, "secrets", "doomed-1")

    def meanwhile():
        healthy.cluster.delete("secrets", "arc-runners", "doomed-1")
        healthy.cluster.delete("serviceaccounts", "arc-runners", "doomed-1")
        healthy.cluster.create("secrets", secret("born-1"))

    states = outage(healthy, monitor, 1.0, meanwhile)
    assert states[-2:] == ["reconnecting", "live"] and monitor.snapshot().kinds[model.PODS].attempt == 0
    assert wait_for(lambda: doomed not in monitor.snapshot().of(model.SECRETS))
    assert wait_for(lambda: uid_of(healthy, "secrets", "born-1") in monitor.snapshot().of(model.SECRETS))
    with frozen(healthy):
        assert converges(monitor) == {}
    assert all(s.state == "live" for s in monitor.snapshot().kinds.values())


def test_compaction_during_an_outage_forces_an_exact_relist(healthy, monitor):
    healthy.cluster.create("secrets", secret("doomed-2"))
    assert wait_for(lambda: uid_of(healthy, "secrets", "doomed-2") in monitor.snapshot().of(model.SECRETS))
    doomed = uid_of(healthy, "secrets", "doomed-2")
    lists_before = sum(w.lists for w in monitor.watchers)
    monitor.drain()

    def meanwhile():
        healthy.cluster.delete("secrets", "arc-runners", "doomed-2")   # missed: only a relist can notice
        healthy.cluster.create("secrets", secret("born-2"))
        healthy.cluster.compact()

    outage(healthy, monitor, 0.5, meanwhile)
    assert wait_for(lambda: sum(w.lists for w in monitor.watchers) > lists_before)
    assert wait_for(lambda: doomed not in monitor.snapshot().of(model.SECRETS))
    assert uid_of(healthy, "secrets", "born-2") in monitor.snapshot().of(model.SECRETS)
    changes = monitor.drain()
    assert model.SECRETS in changes.relisted and changes.changed[model.SECRETS].get(doomed, "absent") is None
    with frozen(healthy):
        assert converges(monitor) == {}


def test_compaction_while_watching_changes_nothing_visible(healthy, monitor):
    healthy.cluster.compact()
    healthy.cluster.create("serviceaccounts", account("after-compaction"))
    assert wait_for(lambda: uid_of(healthy, "serviceaccounts", "after-compaction")
                    in monitor.snapshot().of(model.SERVICE_ACCOUNTS))
    with frozen(healthy):
        assert converges(monitor) == {}


def test_a_stopped_monitor_does_not_reconnect(healthy):
    """stop() ends every watch thread at once, even one waiting out its reconnect backoff. This monitor's
    watchers back off for 10 minutes (far beyond the wait below), so only an interrupted backoff lets them end;
    a thread that has ended cannot reconnect."""
    m = Monitor(connect(healthy.kubeconfig_path, namespaces=["arc-runners"]))
    m.start()
    assert m.wait_synced(30)
    for w in m.watchers:                      # this monitor's watchers only: the module's monitor is untouched
        w._backoff = lambda attempt, w=w: w._stopping.wait(LONG_BACKOFF_S)
    healthy.cluster.restart(down_seconds=1.0)
    wait_for(lambda: any(s.state == "reconnecting" for s in m.snapshot().kinds.values()),
             what="a watcher backing off after the restart")
    m.stop()
    wait_for(lambda: not any(w.is_alive() for w in m.watchers), what="every watch thread to end")


def test_a_tls_stream_cut_is_not_mistaken_for_a_broken_watcher():
    """A server restart can cut a watch's TLS stream mid-read: ssl.SSLError's `reason` is a string (it stopped
    the watcher with an AttributeError once). Only a real read timeout counts as a quiet stream."""
    import ssl

    import urllib3
    from kubernetes.client.exceptions import ApiException

    from arc_top.kube.watch import is_read_timeout

    cut = ssl.SSLError(1, "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol")
    cut.reason = "UNEXPECTED_EOF_WHILE_READING"
    assert not is_read_timeout(cut)
    assert not is_read_timeout(ApiException(status=503, reason="Service Unavailable"))
    wrapped = urllib3.exceptions.ProtocolError("Connection broken")
    wrapped.__context__ = cut
    assert not is_read_timeout(wrapped)
    timeout = urllib3.exceptions.ReadTimeoutError(None, "/api/v1/pods", "Read timed out.")
    assert is_read_timeout(urllib3.exceptions.MaxRetryError(None, "/api/v1/pods", timeout))
    assert is_read_timeout(TimeoutError())

"""ClusterState: sources, exact relists, coalesced change sets, one notification per drain, immutable snapshots."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from arc_top.kube import model
from arc_top.kube.model import KindState, Volume
from arc_top.kube.state import ClusterState


def vol(uid: str, phase: str = "Bound") -> Volume:
    return Volume(uid=uid, namespace="ns", name=uid, created=0.0, phase=phase, storage_class="gp3", access_modes=(),
                  requested="1Gi", capacity="", volume_name="", owner_pod="")


def test_changes_are_coalesced_latest_wins_and_notify_once_per_drain():
    calls = []
    st = ClusterState(on_change=lambda: calls.append(1))
    st.apply(model.VOLUMES, "ADDED", vol("a", "Pending"))
    st.apply(model.VOLUMES, "MODIFIED", vol("a", "Bound"))
    st.apply(model.VOLUMES, "ADDED", vol("b"))
    st.apply(model.VOLUMES, "DELETED", "b")
    assert calls == [1]
    changes = st.drain()
    assert changes.changed[model.VOLUMES]["a"].phase == "Bound"
    assert changes.changed[model.VOLUMES]["b"] is None
    assert not st.drain()                      # nothing new: an empty (falsy) change set
    st.apply(model.VOLUMES, "DELETED", "never-seen")
    assert calls == [1]                         # a no-op does not wake the UI
    st.apply(model.VOLUMES, "MODIFIED", vol("a", "Lost"))
    assert calls == [1, 1]


def test_a_kinds_first_list_ending_notifies_even_while_changes_wait_to_be_drained():
    """One call per drain, and one more when a kind becomes synced meanwhile (a UI may flush the full list at
    once); a later state change while dirty does not call again."""
    calls = []
    st = ClusterState(on_change=lambda: calls.append(1))
    st.apply(model.VOLUMES, "ADDED", vol("a"), source="s")
    assert calls == [1]
    st.set_state(model.VOLUMES, KindState(model.VOLUMES, "listing"), "s")
    assert calls == [1]                         # dirty already, not synced: no call
    st.set_state(model.VOLUMES, KindState(model.VOLUMES, "live", synced=True), "s")
    assert calls == [1, 1]                      # its first list ended
    st.set_state(model.VOLUMES, KindState(model.VOLUMES, "error", synced=True, message="x"), "s")
    assert calls == [1, 1]
    st.drain()
    st.set_state(model.VOLUMES, KindState(model.VOLUMES, "live", synced=True), "s")
    assert calls == [1, 1, 1]                   # clean again: a state change calls as before


def test_snapshots_are_immutable_and_copy_on_write():
    st = ClusterState()
    st.apply(model.VOLUMES, "ADDED", vol("a"))
    first = st.snapshot()
    assert st.snapshot() is first               # nothing changed: the same object, no copying
    st.apply(model.VOLUMES, "ADDED", vol("b"))
    second = st.snapshot()
    assert set(first.of(model.VOLUMES)) == {"a"}
    assert set(second.of(model.VOLUMES)) == {"a", "b"}
    assert second.version > first.version
    assert second.of(model.PODS) is first.of(model.PODS)      # unchanged kinds are shared
    with pytest.raises(TypeError):
        second.objects[model.VOLUMES]["c"] = vol("c")      # type: ignore[index]


def test_replace_is_exact_per_source_and_shared_objects_survive():
    st = ClusterState()
    st.replace(model.PODS, {"a": vol("a"), "b": vol("b")}, source="runner-pods")
    st.replace(model.PODS, {"b": vol("b"), "c": vol("c")}, source="workflow-pods")
    st.drain()
    st.replace(model.PODS, {"a": vol("a"), "d": vol("d")}, source="runner-pods")
    assert set(st.snapshot().of(model.PODS)) == {"a", "b", "c", "d"}   # b is still held by workflow-pods
    st.apply(model.PODS, "DELETED", "b", source="workflow-pods")
    assert set(st.snapshot().of(model.PODS)) == {"a", "c", "d"}
    changes = st.drain()
    assert model.PODS in changes.relisted and changes.changed[model.PODS]["b"] is None
    st.drop_source(model.PODS, "workflow-pods")
    assert set(st.snapshot().of(model.PODS)) == {"a", "d"}


def test_kind_state_is_the_worst_of_its_sources():
    st = ClusterState()
    st.set_state(model.ROLES, KindState(model.ROLES, "live", synced=True), "roles")
    st.set_state(model.ROLES, KindState(model.ROLES, "forbidden", message="no access to clusterroles",
                                        synced=True), "clusterroles")
    state = st.snapshot().kinds[model.ROLES]
    assert (state.state, state.message, state.synced) == ("forbidden", "no access to clusterroles", True)
    assert st.drain().states_changed
    st.set_state(model.ROLES, KindState(model.ROLES, "reconnecting", attempt=3), "roles")
    state = st.snapshot().kinds[model.ROLES]
    assert (state.state, state.attempt, state.synced) == ("forbidden", 3, False)
    assert st.snapshot().kinds[model.PODS].state == "starting"


def test_concurrent_writers_and_a_reader_agree():
    st = ClusterState()

    def writer(prefix: str) -> None:
        for i in range(2000):
            st.apply(model.VOLUMES, "ADDED", vol(f"{prefix}{i}"))
            if i % 2:
                st.apply(model.VOLUMES, "DELETED", f"{prefix}{i}")

    threads = [threading.Thread(target=writer, args=(p,)) for p in "xyz"]
    for t in threads:
        t.start()
    seen = 0
    while any(t.is_alive() for t in threads):
        snap = st.snapshot()
        seen = max(seen, len(snap.of(model.VOLUMES)))
        list(snap.of(model.VOLUMES).values())       # iterating a snapshot never races a writer
    for t in threads:
        t.join()
    assert len(st.snapshot().of(model.VOLUMES)) == 3000


def test_kube_modules_do_not_import_the_kubernetes_client():
    names = ("model", "state", "projections", "fields", "pods", "apis", "watch", "discovery", "monitor", "config")
    modules = ", ".join(f"arc_top.kube.{m}" for m in names)
    code = (f"import sys, {modules}; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('kubernetes', 'textual', 'urllib3')]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(__import__("pathlib").Path(__file__).parents[1]))

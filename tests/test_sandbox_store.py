"""The store's API-server semantics, in-process (the HTTP path is covered by test_sandbox_api)."""

from __future__ import annotations

import pytest

from arc_top.sandbox.errors import ApiError
from arc_top.sandbox.resources import lookup
from arc_top.sandbox.store import Store, bookmark_rv

NS, CM, POD = lookup("namespaces"), lookup("configmaps"), lookup("pods")


@pytest.fixture()
def store() -> Store:
    s = Store(history=100)
    s.create(NS, {"metadata": {"name": "ns"}})
    return s


def cm(name: str, **labels) -> dict:
    return {"metadata": {"name": name, "namespace": "ns", "labels": labels}, "data": {"k": "v"}}


def test_create_sets_identity_and_bumps_resource_version(store):
    a = store.create(CM, cm("a"))
    b = store.create(CM, {"metadata": {"generateName": "gen-", "namespace": "ns"}})
    assert a["metadata"]["uid"] and a["metadata"]["creationTimestamp"]
    assert int(b["metadata"]["resourceVersion"]) == int(a["metadata"]["resourceVersion"]) + 1
    assert b["metadata"]["name"].startswith("gen-") and len(b["metadata"]["name"]) == len("gen-") + 5
    with pytest.raises(ApiError) as info:
        store.create(CM, {"metadata": {"name": "x", "namespace": "missing"}})
    assert info.value.code == 404 and info.value.message == 'namespaces "missing" not found'


def test_no_op_update_keeps_resource_version(store):
    a = store.create(CM, cm("a"))
    same = store.update(CM, a)
    assert same["metadata"]["resourceVersion"] == a["metadata"]["resourceVersion"]
    assert store.resource_version == int(a["metadata"]["resourceVersion"])


def test_status_subresource_split(store):
    pod = store.create(POD, {"metadata": {"name": "p", "namespace": "ns"},
                             "spec": {"containers": [{"name": "c", "image": "i"}]}})
    with_status = dict(pod, status={"phase": "Running"})
    assert "status" not in store.update(POD, with_status)      # the main resource ignores status
    out = store.update(POD, dict(store.get("pods", "ns", "p"), status={"phase": "Running"}), subresource="status")
    assert out["status"] == {"phase": "Running"}


def test_watch_reports_selector_transitions_as_added_and_deleted(store):
    store.create(CM, cm("a", tier="x"))
    rv = str(store.resource_version)
    w = store.watch("configmaps", "ns", lambda o: o["metadata"]["labels"].get("tier") == "y", rv)
    store.mutate(CM, "ns", "a", lambda o: o["metadata"]["labels"].update(tier="y"))
    store.mutate(CM, "ns", "a", lambda o: o["data"].update(k="w"))
    store.mutate(CM, "ns", "a", lambda o: o["metadata"]["labels"].update(tier="z"))
    assert [kind for kind, _ in w.take(0)] == ["ADDED", "MODIFIED", "DELETED"]


def test_watch_from_zero_sends_current_state_then_changes(store):
    store.create(CM, cm("a"))
    w = store.watch("configmaps", None, lambda o: True, "0")
    store.create(CM, cm("b"))
    assert [(k, o["metadata"]["name"]) for k, o in w.take(0)] == [("ADDED", "a"), ("ADDED", "b")]


def test_history_limit_and_compaction_give_410(store):
    start = str(store.resource_version)
    for i in range(150):
        store.create(CM, cm(f"c{i}"))
    with pytest.raises(ApiError) as info:
        store.watch("configmaps", None, lambda o: True, start)
    assert info.value.code == 410
    recent = str(store.resource_version)
    store.create(CM, cm("late"))
    store.compact()
    with pytest.raises(ApiError):
        store.watch("configmaps", None, lambda o: True, recent)
    store.watch("configmaps", None, lambda o: True, str(store.resource_version))   # current RV is fine


def test_bookmark_only_when_nothing_is_queued(store):
    w = store.watch("configmaps", None, lambda o: True, str(store.resource_version))
    store.create(CM, cm("a"))
    assert bookmark_rv(store, w) is None
    w.take(0)
    assert bookmark_rv(store, w) == store.resource_version


def test_finalizers_and_owner_cascade(store):
    owner = store.create(CM, cm("owner"))
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
    store.create(CM, {"metadata": {"name": "child", "namespace": "ns", "ownerReferences": [ref]}})
    store.create(CM, {"metadata": {"name": "held", "namespace": "ns", "ownerReferences": [ref],
                                   "finalizers": ["x/y"]}})
    store.delete(CM, "ns", "owner")
    assert store.get("configmaps", "ns", "child") is None
    held = store.get("configmaps", "ns", "held")
    assert held["metadata"]["deletionTimestamp"]
    store.mutate(CM, "ns", "held", lambda o: o["metadata"].update(finalizers=[]))
    assert store.get("configmaps", "ns", "held") is None


def test_conflict_on_stale_resource_version(store):
    a = store.create(CM, cm("a"))
    store.mutate(CM, "ns", "a", lambda o: o["data"].update(k="new"))
    with pytest.raises(ApiError) as info:
        store.update(CM, a)
    assert info.value.code == 409 and info.value.reason == "Conflict"


def test_paging_is_sorted_and_complete(store):
    for name in "edcba":
        store.create(CM, cm(name))
    items, rv, token, remaining = store.list_page("configmaps", "ns", None, 2, None)
    names = [o["metadata"]["name"] for o in items]
    while token:
        items, _, token, remaining = store.list_page("configmaps", "ns", None, 2, token)
        names += [o["metadata"]["name"] for o in items]
    assert names == list("abcde") and remaining == 0


def test_paging_with_a_selector_returns_every_match_once_and_no_remaining_count(store):
    for i in range(30):
        store.create(CM, cm(f"c{i:02}"))
    odd = lambda o: int(o["metadata"]["name"][1:]) % 2 == 1  # noqa: E731
    items, _, token, remaining = store.list_page("configmaps", "ns", None, 4, None)
    assert remaining == 26                           # without a selector the count is known
    names, token = [], None
    while True:
        items, _, token, remaining = store.list_page("configmaps", "ns", odd, 4, token)
        names += [o["metadata"]["name"] for o in items]
        if not token:
            break
        assert remaining is None                      # with one, like the real API server: not given
    assert names == [f"c{i:02}" for i in range(1, 30, 2)]


def test_pages_follow_namespace_and_name_order_while_objects_come_and_go(store):
    """Pages walk (namespace, name) order from the continue token; a namespace's list stays inside it even next to
    a namespace whose name extends it; created and deleted objects are found or skipped by the next page."""
    import random

    for ns in ("ns-b", "ns-a", "ns-"):
        store.create(NS, {"metadata": {"name": ns}})
    names = {ns: [f"c{i:02}" for i in random.Random(ns).sample(range(40), 12)] for ns in ("ns", "ns-", "ns-a", "ns-b")}
    for ns, ns_names in names.items():
        for name in ns_names:
            store.create(CM, dict(cm(name), metadata={"name": name, "namespace": ns}))

    def walk(namespace, limit, between=None):
        got, token = [], None
        while True:
            items, _rv, token, remaining = store.list_page("configmaps", namespace, None, limit, token)
            got += [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in items]
            if token is None:
                return got
            if between is None:
                assert remaining == len(store.list("configmaps", namespace)) - len(got)
            else:
                between(len(got))

    everything = sorted((ns, n) for ns, ns_names in names.items() for n in ns_names)
    assert walk(None, 5) == everything
    assert walk("ns-", 5) == sorted(("ns-", n) for n in names["ns-"])        # not ns-a's nor ns-b's
    assert walk("ns", 100) == sorted(("ns", n) for n in names["ns"])

    def churn(done: int) -> None:      # after the first page: one new name ahead, one seen and one ahead deleted
        if done == 5:
            store.create(CM, dict(cm("c99"), metadata={"name": "c99", "namespace": "ns-a"}))
            seen, ahead = sorted(names["ns-a"])[0], sorted(names["ns-a"])[-1]
            store.delete(CM, "ns-a", seen)
            store.delete(CM, "ns-a", ahead)
    expected = sorted(names["ns-a"])
    assert [name for _, name in walk("ns-a", 5, churn)] == expected[:5] + expected[5:-1] + ["c99"]

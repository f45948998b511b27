"""A first list publishes each page as it lands (the first screen need not wait for the last of 5,000 pods), and
its end settles the share exactly: no ghost of an interrupted list, no relist of what the pages already showed.
A later relist stays one replace."""

from __future__ import annotations

import threading

import pytest

from arc_top.kube import apis, model
from arc_top.kube.config import connect
from arc_top.kube.model import Volume
from arc_top.kube.state import ClusterState
from arc_top.kube.watch import FIRST_PAGE_SIZE, KindWatcher, WatchSpec, continue_hint
from arc_top.sandbox.run import start_sandbox
from tests.waiting import wait_for


def vol(uid: str, phase: str = "Bound") -> Volume:
    return Volume(uid=uid, namespace="ns", name=f"claim-{uid}", created=0.0, phase=phase, storage_class="gp3",
                  access_modes=(), requested="1Gi", capacity="", volume_name="", owner_pod="")


def test_pages_show_at_once_and_the_lists_end_reports_only_what_differs():
    state = ClusterState()
    a, b, c = vol("a"), vol("b"), vol("c")
    state.add_page(model.VOLUMES, {"a": a, "b": b}, "volumes/*")
    changes = state.drain()
    assert set(changes.changed[model.VOLUMES]) == {"a", "b"} and not changes.relisted
    assert set(state.snapshot().of(model.VOLUMES)) == {"a", "b"}

    state.add_page(model.VOLUMES, {"c": c}, "volumes/*")
    state.drain()
    # The list's end: the same objects as the pages (and one changed): only that one is reported, not a relist.
    b2 = vol("b", "Pending")
    state.replace(model.VOLUMES, {"a": a, "b": b2, "c": c}, "volumes/*")
    changes = state.drain()
    assert not changes.relisted
    assert dict(changes.changed[model.VOLUMES]) == {"b": b2}
    assert state.snapshot().of(model.VOLUMES)["b"] is b2


def test_what_an_interrupted_list_published_but_the_final_list_lacks_is_removed():
    state = ClusterState()
    state.add_page(model.VOLUMES, {"a": vol("a"), "gone": vol("gone")}, "volumes/*")
    state.drain()
    state.replace(model.VOLUMES, {"a": state.snapshot().of(model.VOLUMES)["a"], "new": vol("new")}, "volumes/*")
    changes = state.drain()
    assert set(state.snapshot().of(model.VOLUMES)) == {"a", "new"}
    assert changes.changed[model.VOLUMES]["gone"] is None and "new" in changes.changed[model.VOLUMES]
    assert "a" not in changes.changed[model.VOLUMES]


def test_a_relist_without_pages_is_still_a_relist():
    state = ClusterState()
    state.add_page(model.VOLUMES, {"a": vol("a")}, "volumes/*")
    state.replace(model.VOLUMES, {"a": vol("a")}, "volumes/*")     # the first list's end
    state.drain()
    state.replace(model.VOLUMES, {"a": vol("a")}, "volumes/*")     # a relist (after 410, say)
    changes = state.drain()
    assert model.VOLUMES in changes.relisted and "a" in changes.changed[model.VOLUMES]


def test_pages_of_one_source_leave_another_sources_objects_alone():
    state = ClusterState()
    shared = vol("s")
    state.replace(model.VOLUMES, {"s": shared}, "volumes/ns-a")
    state.add_page(model.VOLUMES, {"s": shared, "b": vol("b")}, "volumes/ns-b")
    state.replace(model.VOLUMES, {"b": state.snapshot().of(model.VOLUMES)["b"]}, "volumes/ns-b")
    assert set(state.snapshot().of(model.VOLUMES)) == {"s", "b"}


class Recording(ClusterState):
    """Records the list calls a watcher makes (what was published when), and otherwise is the real store."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[str, int, int]] = []     # (call, objects in the call, objects in the store after)

    def add_page(self, kind, objs, source=""):
        super().add_page(kind, objs, source)
        self.calls.append(("add_page", len(objs), len(self.snapshot().of(kind))))

    def replace(self, kind, objs, source=""):
        super().replace(kind, objs, source)
        self.calls.append(("replace", len(objs), len(self.snapshot().of(kind))))


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    sb = start_sandbox("healthy", kubeconfig_path=str(tmp_path_factory.mktemp("kc") / "config"), speed=6.0)
    yield sb
    sb.stop()


def test_a_first_list_against_the_sandbox_publishes_its_pages_then_settles(healthy):
    conn = connect(healthy.kubeconfig_path, all_namespaces=True)
    truth = {item["metadata"]["uid"] for item in apis.list_raw(conn.api_client, apis.SERVICE_ACCOUNTS)["items"]}
    assert len(truth) > 4
    state = Recording()
    watcher = KindWatcher(conn.api_client, WatchSpec(apis.SERVICE_ACCOUNTS), state, page_size=2)
    watcher.start()
    try:
        wait_for(lambda: watcher.lists >= 1, what="the first list")
    finally:
        watcher.stop()
    pages = [call for call in state.calls if call[0] == "add_page"]
    final = state.calls[len(pages)]
    # Pages of min(page size, FIRST_PAGE_SIZE) = 2, each visible in the store as it landed, before the end.
    assert pages and [n for _, n, _ in pages] == [2] * len(pages) and min(2, FIRST_PAGE_SIZE) == 2
    assert [stored for _, _, stored in pages] == list(range(2, 2 * len(pages) + 1, 2))
    stored = set(state.snapshot().of(model.SERVICE_ACCOUNTS))
    # The list's end settled the store to exactly what it listed (the store right after it); every account listed
    # before it is there (accounts are not deleted by the simulation; one made meanwhile may be there too).
    assert final[0] == "replace" and final[1] == final[2] and watcher.pages == len(pages)
    assert truth <= stored


def test_a_pages_continue_token_is_read_before_the_page_is_decoded():
    # As the API server writes a list: the metadata, then the items.
    assert continue_hint(b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7",'
                         b'"continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ==","remainingItemCount":3},"items":[]}') \
        == "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ=="
    assert continue_hint(b'{"metadata" : {"continue" : "a-b_c.d/e+f"}, "items": []}') == "a-b_c.d/e+f"
    # None, or none before the items (an item's own "continue" key is not the list's), or not a plain token.
    assert continue_hint(b'{"metadata":{"resourceVersion":"7"},"items":[]}') == ""
    assert continue_hint(b'{"items":[{"continue":"x"}],"metadata":{"continue":"y"}}') == ""
    assert continue_hint(b'{"metadata":{"continue":"a\\u0041"},"items":[]}') == ""
    assert continue_hint(b'') == ""


def test_the_next_page_is_asked_for_while_a_page_is_decoded(healthy):
    """The server makes page n+1 while page n is decoded: the first object of the first page is held until the
    second page has been asked for (which, listing one page after the other, never happens)."""
    conn = connect(healthy.kubeconfig_path, all_namespaces=True)
    truth = {item["metadata"]["uid"] for item in apis.list_raw(conn.api_client, apis.SERVICE_ACCOUNTS)["items"]}
    asked: list[str] = []
    second = threading.Event()

    class Watcher(KindWatcher):
        def _page(self, token: str) -> bytes:
            asked.append(token)
            if token:
                second.set()
            return super()._page(token)

    held: list[bool] = []

    def accept(obj) -> bool:
        if not held:
            held.append(second.wait(60))
        return True

    state = Recording()
    watcher = Watcher(conn.api_client, WatchSpec(apis.SERVICE_ACCOUNTS, accept=accept), state, page_size=2)
    watcher.start()
    try:
        wait_for(lambda: watcher.lists >= 1, what="the first list", timeout=120)
    finally:
        watcher.stop()
    assert held == [True]
    # Every page asked for once, in order, and the list whole.
    assert asked[0] == "" and len(asked) == len(set(asked)) == watcher.pages + 1
    assert truth <= set(state.snapshot().of(model.SERVICE_ACCOUNTS))

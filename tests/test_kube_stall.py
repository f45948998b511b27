"""A stalled watch (open, silent: no event, no bookmark) is dropped and resumed, and shows as "reconnecting";
how old each kind's data is reaches the header. Against the sandbox's `stall` fault (POST /sandbox/stall), a fake
stream (a trickle that never makes an event; a server that never sends bookmarks), the store, and the header's
words from hand-made KindStates."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace

import pytest
import urllib3

from arc_top.kube import model
from arc_top.kube.apis import SECRETS as SECRETS_API
from arc_top.kube.config import connect
from arc_top.kube.model import SERVICE_ACCOUNTS, KindState
from arc_top.kube.monitor import Monitor
from arc_top.kube.state import ClusterState
from arc_top.kube.watch import STALL_AFTER_S, STALL_ENV, KindWatcher, WatchSpec, stall_after_default, stall_line
from arc_top.sandbox.run import start_sandbox
from arc_top.tui.status import STALE_AFTER_S, connection_state, header_text, stale_kinds
from tests.conftest import api_client
from tests.test_kube_helpers import converges, frozen
from tests.tui_fixtures import MONO, live_kinds
from tests.waiting import until, wait_for

# The sandbox sends a bookmark after 3 s without an event (checked every 0.5 s): a bound well above that, so a
# healthy quiet watch never counts as stalled even on a loaded machine.
STALL_S = 8.0
HEADER_STALE_S = 10.0      # the header's threshold in the app test: bookmarks (3 s) plus a redraw (~1 s), doubled
NO_DATA = re.compile(r"^no data for \d+ s: reconnecting$")


# ---- the bound ---------------------------------------------------------------------------------------------
def test_the_stall_bound_defaults_to_90_s_and_the_environment_can_shorten_it(monkeypatch):
    monkeypatch.delenv(STALL_ENV, raising=False)
    assert stall_after_default() == STALL_AFTER_S == 90.0
    monkeypatch.setenv(STALL_ENV, "2.5")
    assert stall_after_default() == 2.5
    for bad in ("", "soon", "0", "-3"):
        monkeypatch.setenv(STALL_ENV, bad)
        assert stall_after_default() == STALL_AFTER_S
    assert stall_line(94.6) == "no data for 95 s: reconnecting"


# ---- the store: how old each kind's data is ----------------------------------------------------------------
def test_bookmarks_stamp_the_kind_and_the_quietest_source_is_the_kinds_age(monkeypatch):
    from arc_top.kube import state as kube_state

    now = [100.0]
    monkeypatch.setattr(kube_state.time, "monotonic", lambda: now[0])
    state = ClusterState()
    state.apply(model.PODS, "ADDED", model.Named("Pod", "u1", "ns", "p", 0.0), "pods/a")
    now[0] = 102.0
    state.touch(model.PODS, "pods/b")                          # a bookmark from the other pods watch
    pods = state.snapshot().kinds[model.PODS]
    assert (pods.last_event, pods.oldest_event) == (102.0, 100.0)
    now[0] = 104.0
    state.touch(model.PODS, "pods/a")
    pods = state.snapshot().kinds[model.PODS]
    assert (pods.last_event, pods.oldest_event) == (104.0, 102.0)
    now[0] = 110.0
    state.drop_source(model.PODS, "pods/b")                    # forbidden now: it has no data of its own to age
    assert state.snapshot().kinds[model.PODS].oldest_event == 104.0


def test_a_bookmark_wakes_a_ui_that_has_not_drained_for_a_while_without_a_new_version(monkeypatch):
    from arc_top.kube import state as kube_state

    woken = []
    state = ClusterState(lambda: woken.append(1))
    version = state.version
    state.touch(model.SECRETS, "secrets/*")
    assert woken == []                                         # drained (made) just now: nothing to wake for
    monkeypatch.setattr(kube_state, "REFRESH_AFTER_S", 0.0)
    state.touch(model.SECRETS, "secrets/*")
    state.touch(model.NAMESPACES, "namespaces/*")
    assert woken == [1]                                        # once per drain, like any change
    changes = state.drain()
    assert changes and changes.refreshed == {model.SECRETS, model.NAMESPACES}
    assert not changes.changed and not changes.relisted and not changes.states_changed
    assert state.version == version                            # nothing changed: the checks need not run again
    assert not state.drain()


# ---- the watcher against a fake stream ---------------------------------------------------------------------
class FakeResponse:
    """Enough of urllib3's HTTPResponse for KindWatcher: a list body, or a chunked stream from a generator."""

    chunked = True

    def __init__(self, data: bytes = b"", chunks=None):
        self.data = data
        self._chunks = chunks
        self.closed = False

    def stream(self, amt=None, decode_content=True):
        return self._chunks

    def close(self):
        self.closed = True

    def release_conn(self):
        pass


def event(kind: str, name: str, rv: int) -> bytes:
    obj = {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "resourceVersion": str(rv)},
           "type": "Opaque"}
    return json.dumps({"type": kind, "object": obj}).encode() + b"\n"


def bookmark(rv: int) -> bytes:
    return json.dumps({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": str(rv)}}}).encode() + b"\n"


class Script:
    """What successive watch requests get: each item a list of chunks, or an exception raised after them."""

    def __init__(self, *streams):
        self.streams = list(streams)
        self.watches: list[dict] = []
        self.release = threading.Event()        # the last stream blocks here until the test ends

    def call(self, **kwargs):
        if not kwargs.get("watch"):
            return FakeResponse(b'{"metadata": {"resourceVersion": "10"}, "items": []}')
        self.watches.append(kwargs)
        steps = self.streams.pop(0) if self.streams else None

        def chunks():
            if steps is None:
                self.release.wait(30)
                return
            for step in steps:
                if isinstance(step, BaseException):
                    raise step
                yield step
        return FakeResponse(chunks=chunks())


def watcher_on(script: Script, stall_after: float = 0.2) -> tuple[KindWatcher, ClusterState]:
    state = ClusterState()
    w = KindWatcher(None, WatchSpec(SECRETS_API, "ns"), state, stall_after=stall_after)
    w._call = script.call            # the transport; everything else is the real watcher
    return w, state


def timeout_error() -> Exception:
    return urllib3.exceptions.ReadTimeoutError(None, "/api/v1/secrets", "Read timed out.")


def run_until(w: KindWatcher, script: Script, done) -> None:
    w.start()
    try:
        wait_for(done, 20, 0.01, "the watcher to get there")
    finally:
        script.release.set()
        w.stop()
        w.join(5)


def test_silence_after_bookmarks_is_a_stall_resumed_from_the_last_version_and_live_once_data_comes():
    states = []
    script = Script([bookmark(11), event("ADDED", "a", 12), timeout_error()],   # silent: the read timed out
                    [timeout_error()],                                         # still silent
                    [bookmark(13)])                                            # data again
    w, state = watcher_on(script)
    publish = state.set_state
    state.set_state = lambda kind, new, source="": (states.append((new.state, new.attempt, new.message)),
                                                    publish(kind, new, source))
    run_until(w, script, lambda: len(script.watches) >= 4)
    stalls = [s for s in states if s[0] == "reconnecting"]
    assert [a for _, a, _ in stalls] == [1, 2] and all(NO_DATA.match(m) for _, _, m in stalls)
    assert states[-1] == ("live", 0, "")                                       # the bookmark after the stalls
    assert [c["resource_version"] for c in script.watches[1:3]] == ["12", "12"]   # resumed, never re-listed
    assert w.lists == 1 and w.stalls == 2
    assert "uid-a" in state.snapshot().of(model.SECRETS)


def test_a_trickle_that_never_makes_an_event_is_a_stall_too():
    def trickle():
        yield bookmark(11)
        while True:                  # bytes, but never a whole line (a proxy's keep-alive, a half-written event)
            yield b" "
    script = Script([], [bookmark(12)])
    script.streams[0] = trickle()
    w, state = watcher_on(script)
    run_until(w, script, lambda: w.stalls >= 1 and len(script.watches) >= 2)
    assert w.resource_version in ("11", "12")


def test_a_server_that_never_sent_a_bookmark_gets_a_quiet_rewatch_not_a_reconnecting_state():
    states = []
    script = Script([event("ADDED", "a", 11), timeout_error()], [timeout_error()])
    w, state = watcher_on(script)
    publish = state.set_state
    state.set_state = lambda kind, new, source="": (states.append(new.state), publish(kind, new, source))
    run_until(w, script, lambda: len(script.watches) >= 3)
    assert "reconnecting" not in states and not w.bookmarks_seen and w.stalls == 0


# ---- against the sandbox -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    sb = start_sandbox("healthy", kubeconfig_path=str(tmp_path_factory.mktemp("kc") / "config"), speed=4.0)
    yield sb
    sb.server.api.stall(0)
    sb.stop()


@pytest.fixture(scope="module")
def monitor(sandbox):
    m = Monitor(connect(sandbox.kubeconfig_path, all_namespaces=True), stall_after=STALL_S)
    m.start()
    assert m.wait_synced(30)
    yield m
    m.stop()


def post(sandbox, path: str, query: list, user: str = "admin") -> tuple[int, dict]:
    api = api_client(sandbox, user)
    resp = api.call_api(*api.param_serialize("POST", path, query_params=query, auth_settings=["BearerToken"]))
    resp.read()
    return resp.status, json.loads(resp.data or b"{}")


def account(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "arc-runners"}}


def accounts_watchers(monitor) -> list[KindWatcher]:
    return [w for w in monitor.watchers if w.kind == SERVICE_ACCOUNTS]


def recording(monitor, kind: str) -> list[KindState]:
    """The kind's states as its watch threads publish them (polling can miss a short one on a loaded machine)."""
    seen: list[KindState] = []
    state = monitor.state
    publish = state.set_state

    def record(k, new, source=""):
        publish(k, new, source)
        if k == kind:
            seen.append(state.snapshot().kinds[kind])
    state.set_state = record
    return seen


def test_the_stall_fault_is_for_admins_and_says_what_it_does(sandbox):
    try:
        status, body = post(sandbox, "/sandbox/stall", [("seconds", "30")])
        assert status == 200 and body["stalled"] and 0 < body["remainingSeconds"] <= 30
        assert post(sandbox, "/sandbox/stall", [("on", "0")]) == (200, {"stalled": False, "remainingSeconds": 0.0})
        assert post(sandbox, "/sandbox/stall", [])[1] == {"stalled": True, "remainingSeconds": None}   # until off
        assert post(sandbox, "/sandbox/stall", [("seconds", "0")])[1]["stalled"] is False
    finally:
        sandbox.server.api.stall(0)
    assert post(sandbox, "/sandbox/stall", [("on", "1")], user="viewer")[0] == 403
    assert sandbox.server.api.stall_remaining() == 0


def test_a_stalled_api_server_is_detected_and_once_it_recovers_the_store_equals_the_server(sandbox, monitor):
    from kubernetes import client

    core = client.CoreV1Api(api_client(sandbox))
    # Service accounts rarely change: their watches hear bookmarks, so silence is a stall (see kube/watch.py).
    wait_for(lambda: all(w.bookmarks_seen for w in accounts_watchers(monitor)), 30, 0.1, "bookmarks")
    stalls_before = sum(w.stalls for w in accounts_watchers(monitor))
    seen = recording(monitor, SERVICE_ACCOUNTS)
    try:
        assert post(sandbox, "/sandbox/stall", [("on", "1")])[0] == 200
        made = core.create_namespaced_service_account("arc-runners", account("made-during-stall"))  # writes work
        stalled = wait_for(lambda: next((s for s in seen if s.state == "reconnecting"), None), 60, 0.05,
                           "service accounts to show the stall")
        assert NO_DATA.match(stalled.message) and stalled.attempt >= 1, stalled
        assert made.metadata.uid not in monitor.snapshot().of(SERVICE_ACCOUNTS)      # nothing arrives meanwhile
        header = header_text(context="c", server="s", namespaces=None, arc_version="0.14.2",
                             kinds=dict(monitor.snapshot().kinds), snapshot=None, mono_now=MONO).plain
        assert "reconnecting… attempt" in header and "no data for" in header
    finally:
        post(sandbox, "/sandbox/stall", [("on", "0")])
        del monitor.state.set_state
    wait_for(lambda: monitor.snapshot().kinds[SERVICE_ACCOUNTS].state == "live", 60, 0.05, "live again")
    assert wait_for(lambda: made.metadata.uid in monitor.snapshot().of(SERVICE_ACCOUNTS), 30)
    assert sum(w.stalls for w in accounts_watchers(monitor)) > stalls_before
    with frozen(sandbox):
        assert converges(monitor, 60) == {}
        wait_for(lambda: all(s.state == "live" for s in monitor.snapshot().kinds.values()), 60, 0.05, "all live")


def test_a_stall_of_n_seconds_ends_by_itself(sandbox, monitor):
    wait_for(lambda: all(w.bookmarks_seen for w in accounts_watchers(monitor)), 30, 0.1, "bookmarks")
    seen = recording(monitor, SERVICE_ACCOUNTS)
    try:
        assert post(sandbox, "/sandbox/stall", [("seconds", str(STALL_S * 2.5))])[1]["stalled"]
        wait_for(lambda: any(s.state == "reconnecting" for s in seen), 60, 0.05, "the stall to be seen")
        wait_for(lambda: seen[-1].state == "live" and any(s.state == "reconnecting" for s in seen), 90, 0.05,
                 "live again once the stall has ended")
    finally:
        del monitor.state.set_state
        sandbox.server.api.stall(0)
    assert sandbox.server.api.stall_remaining() == 0
    assert monitor.snapshot().kinds[SERVICE_ACCOUNTS].attempt == 0


@pytest.mark.asyncio
async def test_a_running_apps_header_says_when_data_is_old_and_not_when_the_cluster_is_only_quiet(sandbox,
                                                                                                 monkeypatch):
    """The screen redraws on changes; a quiet cluster sends only bookmarks, which change nothing. The store wakes
    the screen for them now and then (ChangeSet.refreshed), so the header never calls quiet data old; a stall
    (here with a stall bound far away, so only the age speaks) makes it old until the stall ends."""
    from arc_top.kube import state as kube_state
    from arc_top.tui import status as tui_status
    from arc_top.tui.app import ArcTopApp

    monkeypatch.setattr(tui_status, "STALE_AFTER_S", HEADER_STALE_S)
    monkeypatch.setattr(kube_state, "REFRESH_AFTER_S", 1.0)
    conn = connect(sandbox.kubeconfig_path, all_namespaces=True)
    app = ArcTopApp(lambda on_change: Monitor(conn, on_change, stall_after=600.0))
    async with app.run_test(size=(200, 48)) as pilot:
        def header() -> str:
            return str(app.main_screen.query_one("#header").render())

        await until(pilot, lambda: app.monitor is not None and app.monitor.synced(), 60, "synced")
        with sandbox.paused():                      # nothing changes now: only bookmarks arrive
            await until(pilot, lambda: app.monitor.snapshot().version == app.main_screen.snapshot.version, 30,
                        "the screen to show the last change")
            shown = await watch_header(pilot, header, 2.5 * HEADER_STALE_S)
            assert not [h for h in shown if "old (" in h], shown[-1]
        try:
            sandbox.server.api.stall(float("inf"))
            old = await until(pilot, lambda: re.search(r"⚠ data \d+ s old \([a-z, +\d]+\)", header()), 60,
                              "the header to say the data is old")
            assert "live" in header() and old
        finally:
            sandbox.server.api.stall(0)
        await until(pilot, lambda: "old (" not in header(), 60, "fresh data again")
        await pilot.press("q")


async def watch_header(pilot, header, seconds: float) -> list[str]:
    """The header as shown, every few tenths of a second for `seconds` (an observation, not a time limit)."""
    import time

    shown, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        shown.append(header())
        await pilot.pause(0.2)
    return shown


# ---- the header ---------------------------------------------------------------------------------------------
def first_line(kinds, **kw) -> str:
    return header_text(context="ctx", server="https://k:6443", namespaces=["arc-runners"], arc_version="0.14.2",
                       kinds=kinds, snapshot=None, mono_now=MONO, **kw).plain.split("\n")[0]


def test_the_header_says_how_old_the_data_is_only_when_it_is_old():
    kinds = live_kinds(last_event=MONO - 3)
    assert "old" not in first_line(kinds) and stale_kinds(kinds, MONO) == []
    kinds[model.PODS] = replace(kinds[model.PODS], oldest_event=MONO - 125)   # one of the pods watches is quiet
    line = first_line(kinds)
    assert "live · last event <10 s ago │ ⚠ data 125 s old (pods) │ ctx ctx" in line
    assert STALE_AFTER_S == 120.0 and "old" not in first_line(kinds, stale_after=130)
    kinds[model.EVENTS] = replace(kinds[model.EVENTS], last_event=MONO - 600, oldest_event=MONO - 600)
    assert "⚠ data 10 min old (events, pods)" in first_line(kinds)
    for kind in (model.SECRETS, model.ROLES, model.NAMESPACES):
        kinds[kind] = replace(kinds[kind], last_event=MONO - 300)
    assert "(events, namespaces, roles +2)" in first_line(kinds)


def test_the_header_makes_its_second_line_again_only_when_what_it_shows_changed():
    """The header is made every second; its second line (counts, findings, what we may not see) is kept while
    those are the same, and made again the moment one of them changes."""
    from arc_top.tui import status
    from arc_top.tui.findings import FindingsView

    kinds = live_kinds(last_event=MONO - 3)
    view = FindingsView(())

    def second(kinds, view, now=MONO):
        return header_text(context="ctx", server="s", namespaces=None, arc_version="0.14.2", kinds=kinds,
                           snapshot=None, mono_now=now, findings=view).plain.split("\n")[1]

    assert second(kinds, view) == " │ ✔ no findings"
    kept = status._last_second[3]
    assert second(kinds, view, MONO + 30) == " │ ✔ no findings" and status._last_second[3] is kept
    kinds[model.SECRETS] = replace(kinds[model.SECRETS], state="forbidden")
    assert second(kinds, view, MONO + 31) == " │ ✔ no findings │ ⚠ no access: secrets"
    assert second(kinds, FindingsView((), ready=False), MONO + 32) == " │ ⚠ no access: secrets"    # another view


def test_what_is_not_watched_is_never_old_data():
    kinds = live_kinds(forbidden=(model.SECRETS,), last_event=MONO - 3)
    kinds[model.SECRETS] = replace(kinds[model.SECRETS], last_event=MONO - 900)     # forbidden: "no access" says it
    kinds[model.EVENTS] = KindState(model.EVENTS, "syncing", last_event=MONO - 900)  # still listing
    kinds[model.ROLES] = replace(kinds[model.ROLES], state="error", message="boom", last_event=MONO - 900)
    assert stale_kinds(kinds, MONO) == []
    kinds[model.PODS] = replace(kinds[model.PODS], state="reconnecting", attempt=3, last_event=MONO - 200)
    assert stale_kinds(kinds, MONO) == [(model.PODS, 200.0)]


def test_the_header_shows_why_it_is_reconnecting_on_one_line_and_safely():
    kinds = live_kinds(last_event=MONO - 3)
    kinds[model.PODS] = replace(kinds[model.PODS], state="reconnecting", attempt=2,
                                message="no data for 95 s: reconnecting", last_event=MONO - 96)
    assert connection_state(kinds, MONO) == ("reconnecting… attempt 2 · pods: no data for 95 s", "warn")
    kinds[model.PODS] = replace(kinds[model.PODS], message="connection lost (\x1b]0;pwned\x07[red]x[/] \x1b[2J"
                                                           "\nboom): reconnecting", last_event=MONO - 130)
    text = header_text(context="ctx", server="s", namespaces=None, arc_version="0.14.2", kinds=kinds,
                       snapshot=None, mono_now=MONO)
    line = text.plain.split("\n")[0]
    assert "pods: connection lost ([red]x[/]  boom)" in line and "⚠ data 130 s old (pods)" in line
    assert "\x1b" not in text.plain and "\x07" not in text.plain and text.plain.count("\n") == 1
    warn_spans = [s for s in text.spans if line[s.start:s.end].startswith("⚠")]
    assert len(warn_spans) == 2 and all(s.style == warn_spans[0].style for s in warn_spans)
    kinds[model.PODS] = replace(kinds[model.PODS], message="x" * 300 + ": reconnecting")
    state = connection_state(kinds, MONO)[0]                   # a long reason leaves room for the rest of the line
    assert state.endswith("pods: " + "x" * 59 + "…") and len(state) < 100

"""With nothing changing, the monitor does next to nothing: the header is painted again only when its text changes
(how fresh the data is, shown coarse), nothing per tick walks every pod or runner, and job figures that move where
no check looks cause no check run (the rows still show them). Counted on fake clocks, never timed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from arc_top.kube.model import LISTENERS, PODS, RUNNERS, SCALE_SETS, JobFigures, Snapshot
from arc_top.kube.state import ClusterState
from arc_top.tui.app import QUIET_TIDY_S, ArcTopApp
from arc_top.tui.findings import ChecksLoop
from arc_top.tui.screens.main import MainScreen
from arc_top.tui.status import ago_text, connection_state, counts
from arc_top.tui.trends import TrendSampler
from tests.test_tui_app import loaded, shown
from tests.tui_fixtures import MONO, NOW, incident_monitor, live_kinds, pod, runner, scale_set
from tests.waiting import until


def test_the_last_event_is_shown_coarse_so_a_live_header_does_not_change_every_second():
    assert [ago_text(s) for s in (0, 3, 9.9, 10, 59, 60, 119, 7199, 7200)] == \
        ["<10 s", "<10 s", "<10 s", "10 s", "50 s", "1 min", "1 min", "119 min", "2 h"]
    # A live watch hears something (an event or a bookmark) every few seconds: the words stay the same.
    seen = {connection_state(live_kinds(last_event=MONO + t - t % 3), MONO + t)[0] for t in range(60)}
    assert seen == {"live · last event <10 s ago"}
    # A quiet one moves on once in ten seconds, then once a minute.
    quiet = {connection_state(live_kinds(last_event=MONO), MONO + t)[0] for t in range(180)}
    assert len(quiet) == 1 + 5 + 2                # "<10 s", 10 … 50 s, 1 min, 2 min


@pytest.mark.asyncio
async def test_header_ticks_with_nothing_changed_paint_nothing():
    clock = [MONO]
    app = ArcTopApp(incident_monitor().factory, clock=lambda: NOW, monotonic=lambda: clock[0], sample_interval=3600,
                    header_interval=3600, flush_interval=0.05)
    async with app.run_test(size=(120, 30)) as pilot:
        main = await loaded(pilot)
        header = main.query_one("#header")
        painted = header.content
        assert "live · last event <10 s ago" in shown(header)
        for _ in range(6):                       # the fake kinds last heard at MONO - 3: under 10 s until MONO + 7
            clock[0] += 1
            app._tick_header()
            await pilot.pause()
        assert header.content is painted         # no update, so no repaint and no layout
        clock[0] += 4
        app._tick_header()
        await pilot.pause()
        assert "live · last event 10 s ago" in shown(header)


class CountingMap(Mapping):
    """A kind's map that counts the walks over it."""

    def __init__(self, objects: dict) -> None:
        self.objects, self.walks = objects, 0

    def __getitem__(self, key):
        return self.objects[key]

    def __iter__(self) -> Iterator:
        self.walks += 1
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self.objects)

    def values(self):
        self.walks += 1
        return self.objects.values()

    def items(self):
        self.walks += 1
        return self.objects.items()


def test_a_bookmark_makes_a_new_snapshot_but_the_header_does_not_count_the_runners_again():
    state = ClusterState()
    ss = scale_set("ns", "a")
    state.replace(SCALE_SETS, {ss.uid: ss})
    state.replace(RUNNERS, {r.uid: r for r in (runner("ns", "a", f"r{i}") for i in range(50))})
    first = state.snapshot()
    state.touch(PODS)                            # a bookmark: nothing changed
    second = state.snapshot()
    assert second is not first and second.version == first.version
    assert counts(second) is counts(first) and counts(first).runners == 50
    state.replace(RUNNERS, {})                   # a change: counted again
    assert counts(state.snapshot()).runners == 0


def test_the_listener_age_check_walks_the_pods_only_when_they_changed():
    screen = MainScreen(TrendSampler())
    pods = CountingMap({p.uid: p for p in [pod("ns", "l", role="listener", age=30),
                                            *(pod("ns", f"r{i}") for i in range(100))]})
    screen.snapshot = Snapshot({PODS: pods}, {}, 1)
    for _ in range(20):                          # twenty age ticks with nothing changed
        assert screen._newest_listener() == NOW - 30
        screen.snapshot = Snapshot({PODS: pods}, {}, 1)    # a new snapshot sharing the same pods map
    assert pods.walks == 1
    changed = CountingMap({p.uid: p for p in [pod("ns", "l", role="listener", age=500)]})
    screen.snapshot = Snapshot({PODS: changed}, {}, 2)
    assert screen._newest_listener() == NOW - 500 and changed.walks == 1


def test_job_figures_that_move_while_no_job_waits_cause_no_check_run_but_are_delivered():
    snap = Snapshot({}, {}, 7)

    class Still:
        def snapshot(self):
            return snap

    class Jobs:
        figures: dict = {}

        def read(self, snapshot, now):
            return dict(self.figures)

    runs: list[float] = []
    delivered: list[tuple] = []
    clock = [NOW]

    def run(snapshot, *, now, logs, **kw):
        runs.append(now)
        return ["a finding"]

    def figures(assigned, running, since=None):
        return {("ns", "a"): JobFigures("ns", "a", source="log", assigned=assigned, running=running, busy=running,
                                        idle=0, waiting_since=since)}

    loop = ChecksLoop(Still(), lambda *args: delivered.append(args), clock=lambda: clock[0], poll=0.0, run=run,
                      recheck=3600)
    loop._jobs_reader = jobs = Jobs()
    jobs.figures = figures(1, 1)
    last, when = loop.step(None, float("-inf"))
    assert len(runs) == 1 and delivered == [(["a finding"], 7, "")]
    for n in (2, 3, 0, 5):                       # runners take jobs and finish them: nothing waits
        jobs.figures = figures(n, n)
        clock[0] += 10
        last, when = loop.step(last, when)
    assert len(runs) == 1                        # no check run over every pod…
    assert len(delivered) == 5 and delivered[-1] == (["a finding"], 7, "") and loop.jobs == figures(5, 5)
    clock[0] += 10
    last, when = loop.step(last, when)           # …and the same figures again are not delivered again
    assert len(delivered) == 5
    jobs.figures = figures(5, 2, since=clock[0] - 30)       # jobs wait (ARC408 reads that): the checks run
    clock[0] += 10
    loop.step(last, when)
    assert len(runs) == 2 and len(delivered) == 6


@pytest.mark.asyncio
async def test_the_minutely_full_collection_waits_for_a_change():
    monitor = incident_monitor()
    app = ArcTopApp(monitor.factory, clock=lambda: NOW, monotonic=lambda: MONO, sample_interval=3600,
                    header_interval=3600, flush_interval=0.05)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: app._fill_shown, what="the first lists on screen")
        app.tidy_memory()
        assert app._frozen_at and app.memory_tidied
        app._frozen_at -= 61                     # a minute on, nothing changed: no full collection
        stamp = app._frozen_at
        app.tidy_memory()
        assert app._frozen_at == stamp
        monitor.version += 1                     # something changed: collected and frozen again
        assert not app.memory_tidied
        app.tidy_memory()
        assert app._frozen_at > stamp and app.memory_tidied
        monitor.version += 1                     # a change, then quiet: collected before the minute is up…
        stamp = app._frozen_at
        app.tidy_memory()                        # (…but not as soon as it is seen)
        assert app._frozen_at == stamp and not app.memory_tidied
        app._version_at -= QUIET_TIDY_S
        app.tidy_memory()
        assert app._frozen_at > stamp and app.memory_tidied


def test_the_scale_set_rows_context_walks_the_pods_only_when_they_changed():
    screen = MainScreen(TrendSampler())
    screen._age_now = NOW
    listener = pod("ns", "a-listener", role="listener", ss="a")
    pods = CountingMap({p.uid: p for p in [listener, *(pod("ns", f"r{i}") for i in range(100))]})
    listeners: dict = {}
    for _ in range(5):                           # five age ticks, each with a new snapshot of the same maps
        screen.snapshot = Snapshot({PODS: pods, LISTENERS: listeners}, {}, 1)
        assert screen._row_context().listener_pods == {("ns", "a"): [listener]}
    assert pods.walks == 1
    screen.snapshot = Snapshot({PODS: CountingMap(dict(pods.objects)), LISTENERS: listeners}, {}, 2)
    assert screen._row_context().listener_pods == {("ns", "a"): [listener]}     # pods changed: walked again

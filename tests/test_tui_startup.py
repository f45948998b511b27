"""What the monitor does before its panels are full: the modules its first screen imports (the drill-down, help and
fix screens, the checks and the HTTP, YAML and metrics libraries wait for their first use), and the cyclic garbage
collector, off while the first lists land and back on after."""

from __future__ import annotations

import gc
import pathlib
import subprocess
import sys
from dataclasses import dataclass

import pytest

from arc_top.core import gcpause
from arc_top.tui.app import FILL_GC_LIMIT_S, FULL_GC_AFTER, YOUNG_GC_MIN, YOUNG_GC_SAFETY, ArcTopApp
from tests.test_tui_app import loaded, make_app
from tests.tui_fixtures import FakeMonitor, incident_monitor
from tests.waiting import until

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Loaded at their first use, never for the first screen (`arc-top`, `arc-top demo`, the bench's monitor).
NOT_BEFORE_FIRST_SCREEN = (
    "arc_top.checks.engine", "arc_top.checks.catalogue", "arc_top.checks.auth", "arc_top.fixes",
    "arc_top.tui.screens.help", "arc_top.tui.screens.finding", "arc_top.tui.screens.fix", "arc_top.tui.fixing",
    "arc_top.kube.logtail", "arc_top.kube.jobs", "arc_top.kube.credentials", "arc_top.sandbox",
    "kubernetes", "httpx", "yaml", "prometheus_client",
)


def test_the_first_screen_imports_no_check_fix_or_drill_down_module():
    code = ("import sys; import arc_top.cli.main, arc_top.kube.config, arc_top.kube.monitor, arc_top.tui.app; "
            f"print(sorted(m for m in sys.modules if m in {NOT_BEFORE_FIRST_SCREEN!r} "
            "or m.split('.')[0] in ('kubernetes', 'httpx', 'yaml', 'prometheus_client') "
            "or m.startswith('arc_top.fixes.')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_checks_package_loads_its_checks_at_the_first_use_of_one_of_its_names():
    code = ("import sys; from arc_top.checks.silence import Silence; "
            "print('arc_top.checks.engine' in sys.modules); "
            "from arc_top.checks import CODES, Finding, match_log_line, run; "
            "from arc_top.checks.logpatterns import match; "
            "print('arc_top.checks.engine' in sys.modules, match_log_line is match, callable(run), 'ARC501' in CODES)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True", "True", "True", "True"]


@dataclass
class FillingMonitor(FakeMonitor):
    """A FakeMonitor whose panels' first lists have not all landed until the test says so."""
    filled: bool = False

    def panels_synced(self) -> bool:
        return self.filled


async def filled(pilot, monitor: FillingMonitor) -> None:
    """The last first list lands (the monitor calls the app, as a watch thread does) and the app's flush puts it on
    screen."""
    monitor.filled = True
    monitor._notify()
    await until(pilot, lambda: pilot.app._fill_shown, what="the panels' first lists on screen")


@pytest.fixture
def collector_restored():
    """The collector is process-wide: whatever a failing test leaves, the next test finds it as it was."""
    enabled, thresholds = gc.isenabled(), gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    if enabled:
        gc.enable()


def filling_app() -> tuple[ArcTopApp, FillingMonitor]:
    base = incident_monitor()
    monitor = FillingMonitor(objects=base.objects, kinds=base.kinds)
    return make_app(monitor), monitor


async def monitor_ready(pilot) -> None:
    """The app has its monitor (its first lists are landing): the collector is off from here."""
    await until(pilot, lambda: pilot.app.monitor is not None, what="monitor ready")
    assert not gc.isenabled()


@pytest.mark.asyncio
async def test_the_collector_is_off_while_the_panels_fill_and_on_once_they_are_full(collector_restored):
    assert gc.isenabled()
    app, monitor = filling_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await monitor_ready(pilot)
        app.tidy_memory()                          # the panels are not full yet: it stays off
        assert not gc.isenabled()
        monitor.filled = True
        app.tidy_memory()                          # the monitor has them, the screen not yet: still off
        assert not gc.isenabled() and not app._frozen_at
        await filled(pilot, monitor)
        app.tidy_memory()                          # on screen: one collection, the survivors frozen, the collector on
        assert gc.isenabled()
        assert gc.get_threshold()[2] == FULL_GC_AFTER     # automatic full collections rare: the minute's is it
    assert gc.isenabled()


@pytest.mark.asyncio
async def test_young_collections_run_at_the_header_tick_once_the_panels_are_full(collector_restored):
    """Python's young collections (every 700 new objects: 130 a second under churn at 20,000 runners, each walking
    the flush's big lists) give way to one at the header tick; an idle tick collects nothing."""
    import weakref

    base = incident_monitor()
    monitor = FillingMonitor(objects=base.objects, kinds=base.kinds)
    app = make_app(monitor, header_interval=3600)     # (the test calls the tick itself)
    async with app.run_test(size=(120, 40)) as pilot:
        await monitor_ready(pilot)
        await filled(pilot, monitor)
        app.tidy_memory()
        assert gc.isenabled() and gc.get_threshold()[0] == YOUNG_GC_SAFETY     # automatic ones: a safety net

        class Cycle:
            pass

        cycle = Cycle()
        cycle.me = cycle                               # garbage only the cyclic collector frees
        gone = weakref.ref(cycle)
        del cycle
        made = [[] for _ in range(YOUNG_GC_MIN)]      # what a busy second makes
        ran: list[int] = []

        def note(phase: str, info: dict) -> None:
            if phase == "start":
                ran.append(info["generation"])

        gc.callbacks.append(note)
        try:
            assert gone() is not None
            app.collect_young()                        # the header tick's
            assert gone() is None and ran == [1]
            app.collect_young()                        # a tick with (nearly) nothing new: no collection
            assert ran == [1]
            # Keys pressed: the tick leaves the collection to the one after a key's paint, in the gap before the
            # next key (and a second after the last collection at the soonest).
            more = [[] for _ in range(YOUNG_GC_MIN)]
            app._young_collected_at = float("inf")     # (as if one had just run: none after this key)
            await pilot.press("down")
            app.collect_young()                        # the tick, right after a key: nothing
            await pilot.pause(0.1)                     # (the key's own, 50 ms after it: not due)
            assert ran == [1]
            app._young_collected_at = 0.0              # the last one long ago: the next key's is due
            await pilot.press("down")
            await until(pilot, lambda: ran == [1, 1], what="the collection after the key's paint")
        finally:
            gc.callbacks.remove(note)
        assert len(made) == len(more) == YOUNG_GC_MIN


@pytest.mark.asyncio
async def test_a_fill_that_never_ends_turns_the_collector_back_on_after_a_while(collector_restored):
    app, _ = filling_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await monitor_ready(pilot)
        app._gc_paused_at -= FILL_GC_LIMIT_S + 1   # as if the collector had been off that long
        app.tidy_memory()
        assert gc.isenabled()


@pytest.mark.asyncio
async def test_quitting_during_the_fill_turns_the_collector_back_on(collector_restored):
    app, _ = filling_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await monitor_ready(pilot)
        await pilot.press("q")
    assert gc.isenabled()


@pytest.mark.asyncio
async def test_the_commands_start_up_pause_is_taken_over_by_the_app_and_ended_after_the_fill(collector_restored):
    """`arc-top` turns the collector off before it connects (its imports run without collections,
    core/gcpause.py); the app takes that pause over as its fill's and turns the collector on once the panels are
    full; nothing is left for the command to release."""
    gcpause.pause()
    assert not gc.isenabled()
    app, monitor = filling_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await monitor_ready(pilot)
        assert not gcpause.adopt()                 # the app's now
        await filled(pilot, monitor)
        app.tidy_memory()
        assert gc.isenabled()
    gcpause.release()
    assert gc.isenabled()


def test_a_command_that_fails_before_the_monitor_starts_turns_the_collector_back_on(collector_restored, tmp_path,
                                                                                     monkeypatch):
    from arc_top.cli import main as cli_main
    from arc_top.cli import monitor_cmd

    seen = []
    real = monitor_cmd.run_monitor

    def run_monitor(args):
        seen.append(gc.isenabled())                 # during the command: off
        return real(args)

    monkeypatch.setattr(monitor_cmd, "run_monitor", run_monitor)
    assert gc.isenabled()
    assert cli_main.main(["--kubeconfig", str(tmp_path / "nope")]) == 2      # one line: no such kubeconfig
    assert seen == [False]
    assert gc.isenabled()

"""ArcTopApp: paints at once, builds the monitor on a worker thread, and drains it on a timer.

Watch threads only set a flag (`on_change`); a timer checks it every half `flush_interval` and the app
drains the monitor and hands the change set to the main screen, which rebuilds only the panels whose
kinds changed, one step at a time, yielding to keys in between. Flushes start at least `flush_interval`
apart, and further apart when they are expensive (twice their own work), so a change shows within about 0.1 s
on a quiet cluster and a churning one cannot take more than about a third of the interpreter; a key
pressed meanwhile is handled between two steps of a flush, and the flush waits for it (KEY_FIRST_S).

The checks run on a thread of their own (tui.findings.ChecksLoop, about once a second when something changed);
their results arrive as a `FindingsReady` message, are kept, and are applied by the next flush like a change set.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

from arc_top.core import gcpause
from arc_top.kube.model import PODS
from arc_top.tui.findings import ChecksLoop
from arc_top.tui.palette import ObjectsProvider
from arc_top.tui.protocol import MonitorFactory, MonitorLike, connection_of
from arc_top.tui.screens.main import MainScreen
from arc_top.tui.trends import TrendSampler
from arc_top.widgets.text import clean_line

if TYPE_CHECKING:
    from arc_top.tui.fixing import FixSession


class MonitorReady(Message):
    def __init__(self, monitor: MonitorLike) -> None:
        super().__init__()
        self.monitor = monitor


class FindingsReady(Message):
    """A check run's findings (posted from the checks thread), of the snapshot `version`; `error`: it failed."""

    def __init__(self, findings: list, version: int, error: str = "") -> None:
        super().__init__()
        self.findings = findings
        self.version = version
        self.error = error


class ChangesPending(Message):
    """Posted by a watch thread when the cluster changed and no flush was pending (see mark_changed)."""


class MonitorFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


def _stop_quietly(monitor: MonitorLike) -> None:
    try:
        monitor.stop()
    except Exception:  # stopping must never turn an exit into a traceback
        pass


def one_line(error: BaseException) -> str:
    text = clean_line(str(error)).strip() or type(error).__name__
    return text if len(text) <= 300 else text[:299] + "…"


FIRST_TIDY_DELAY_S = 0.5
# A flush starts at least this many times the last one's work after it ended: at most about a third of the
# interpreter for the panels under churn, the rest for the watches, the checks and keys. (1.0 put changes on screen
# sooner at 20,000 runners, p95 250-440 ms against 300-470, but made the first fill 2-4 s longer there and the
# keys' p95 worse at 5,000 and 20,000: bench/monitor.py, 2026-12-06.)
FLUSH_PACE = 2.0
# Keys first: a key reaches the widget it is for through a few hops of the event loop, and then the screen paints;
# a flush step between each hop made a key wait for several steps. After a key the flush waits this long between
# its steps, at most KEY_FIRST_MAX_S per flush (a held arrow key must not starve the panels).
KEY_FIRST_S = 0.03
KEY_FIRST_MAX_S = 0.25
# After a key, the checks thread steps aside this long (ChecksLoop.hold): the key's handling and its paint get
# the interpreter to themselves (a round of the checks at 20,000 runners held it a third of a second).
KEY_HOLDS_CHECKS_S = 0.15
# Search texts are made ahead of a filter, once the panels have their rows and whenever rows changed: in chunks
# of WARM_CHUNK_S, WARM_PAUSE_S apart, never within WARM_AFTER_KEY_S of a key nor during a flush.
WARM_CHUNK_S = 0.01
WARM_PAUSE_S = 0.02
WARM_AFTER_KEY_S = 0.05     # (after a key: see _collect_after_key, which resumes a pass a key held up)
FULL_GC_AFTER = 1000        # once the panels are filled: a full collection after this many middle ones (tidy_memory)
# Once the panels are filled, young collections run at the header tick, or KEY_GC_AFTER_S after the last key while
# keys are pressed, at most every YOUNG_GC_EVERY_S (collect_young), not whenever allocations cross Python's
# threshold: automatic ones only after YOUNG_GC_SAFETY, and none when fewer than YOUNG_GC_MIN objects are new.
YOUNG_GC_SAFETY = 200_000
YOUNG_GC_EVERY_S = 1.0
KEY_GC_AFTER_S = 0.05
YOUNG_GC_MIN = 5_000
FILL_GC_LIMIT_S = 30.0      # the cyclic collector stays off for the first fill at most this long (see _start_monitor)
VERIFY_RECHECK_S = 10.0     # while a fix is verified, the checks re-run at least this often (log tails show it)
# With nothing changing, the checks read the log tails again every minute (their loop's `recheck`) but run again
# only when a tail changed, an age crosses a threshold (checks.deadlines), or CHECKS_RERUN_S passed: at 20,000
# runners a round with its tails is ~0.25 s; every minute, 0.4 % of a core on a screen where nothing happens.
CHECKS_RERUN_S = 600.0
QUIET_TIDY_S = 10.0         # a cluster quiet this long after changes: the minute's full collection now (tidy_memory)


def _panels_filled(monitor: MonitorLike) -> bool:
    """The kinds the panels show have their first lists (a monitor that cannot tell: always)."""
    panels_synced = getattr(monitor, "panels_synced", None)
    return panels_synced is None or panels_synced()


class ArcTopApp(App):
    """The arc-top monitor.

    monitor_factory: called on a worker thread with the `on_change` callback; returns a monitor that
        is then started (see tui.protocol.MonitorLike). What it raises is shown in one line.
    clock / monotonic: wall-clock seconds (ages) and monotonic seconds (KindState.last_event);
        inject frozen ones for deterministic snapshots.
    read_only: fixes are planned and shown but no mutating request is sent (no dry-run, no access review).
    verify_wait: how long an applied fix is watched before "still present" (fixes.verify).
    silence: the config file's silence: rules (checks.silence.Silence): their findings are counted in the header
        and not shown, until `s` shows them.
    log_lines: the lines a log view keeps (the config file's log_lines / ARC_TOP_LOG_LINES).
    """

    CSS_PATH = "arc_top.tcss"
    TITLE = "arc-top"
    COMMANDS = App.COMMANDS | {ObjectsProvider}
    COMMAND_PALETTE_DISPLAY = "^p"

    BINDINGS = [
        Binding("q", "quit", "Quit", priority=True, id="arc-top.quit", tooltip="Quit arc-top"),
        Binding("question_mark", "help", "Help", priority=True, id="arc-top.help",
                tooltip="Show every key (this screen)"),
        Binding("ctrl+p", "command_palette", "Jump to", show=False, priority=True, id="arc-top.palette",
                tooltip="Jump to a scale set, runner, pod or volume claim by name"),
        Binding("ctrl+q", "force_quit", "Quit", show=False, priority=True, id="arc-top.force-quit",
                tooltip="Quit arc-top, even from a text field"),
    ]

    def __init__(self, monitor_factory: MonitorFactory, *, title: str = "arc-top",
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic,
                 flush_interval: float = 0.1, sample_interval: float = 5.0, header_interval: float = 1.0,
                 theme: str | None = None, keymap: Mapping[str, str] | None = None,
                 sampler: TrendSampler | None = None, github: bool = True, github_timeout: float = 5.0,
                 read_only: bool = False, verify_wait: float = 60.0, silence: Sequence = (),
                 log_lines: int | None = None) -> None:
        super().__init__()
        self.silence = tuple(silence)         # checks.silence.Silence rules: findings counted, not shown (`s`)
        self.log_lines = log_lines            # lines a log view keeps (None: tui/screens/logs.py's default)
        self.read_only = read_only
        self.verify_wait = verify_wait
        self._fix_session: FixSession | None = None     # made at the first `f` (fix_session)
        self.title = title
        self.monitor_factory = monitor_factory
        self.clock = clock
        self.monotonic = monotonic
        self.flush_interval = flush_interval
        self.sample_interval = sample_interval
        self.header_interval = header_interval
        self.sampler = sampler or TrendSampler()
        self.keymap: dict[str, str] = dict(keymap or {})
        self.monitor: MonitorLike | None = None
        self.main_screen: MainScreen | None = None
        self._changes_pending = threading.Event()
        self._flush_ended = 0.0              # time.monotonic() at the end of the last flush…
        self._flush_cost = 0.0               # …and how long it took
        self._filled = False                  # the panels' first lists, all of them, are being applied (_pause)…
        self._fill_shown = False              # …and have been: every step of that flush ended (tidy_memory)
        self._frozen_at = 0.0                # time.monotonic() of the last gc.freeze (see tidy_memory)
        self._tidy_scheduled = False
        self._gc_paused_at = 0.0             # time.monotonic() the collector was turned off for the fill (0: on)
        self._frozen_version: int | None = None   # the snapshot version at the last gc.freeze
        self._version_seen: int | None = None     # the snapshot version tidy_memory saw last…
        self._version_at = 0.0                    # …first seen then (time.monotonic())
        self._stopping = threading.Event()
        self._monitor_lock = threading.Lock()
        self.checks: ChecksLoop | None = None
        self._idle_recheck = 60.0             # the checks loop's own `recheck` and `rerun` (see _tick_fixes)
        self._idle_rerun: float | None = CHECKS_RERUN_S
        self.github = github                  # probe the scale sets' GitHub credentials (issue: --no-github)
        self.github_timeout = github_timeout
        self._findings: FindingsReady | None = None    # results not applied yet (the next flush does)
        self._flush_timer = None              # the one flush scheduled (a Timer), None when none is
        self._flush_task: asyncio.Task | None = None    # the flush running (see _scheduled_flush)
        self._key_at = 0.0                    # time.monotonic() of the last key (see KEY_FIRST_S)
        self._young_collected_at = 0.0        # time.monotonic() of the last collect_young collection
        self._key_gc_timer = None             # …and the timer of the one after the last key
        self._warm_timer = None               # the next chunk of search texts made ahead (see _warm_search)
        self.key_first = (KEY_FIRST_S, KEY_FIRST_MAX_S)
        self._deferred = 0.0                  # how long the running flush has waited for keys
        self._flush_work = 0.0                # …and how long its steps took so far (see flush)
        self._resumed_at = 0.0                # time.monotonic() the flush last resumed (after a step's yield)
        if theme:
            self.theme = theme

    # ---------------------------------------------------------------- keymap
    def set_keymap(self, keymap: Mapping[str, str]) -> None:
        self.keymap = dict(keymap)
        super().set_keymap(dict(keymap))

    def update_keymap(self, keymap: Mapping[str, str]) -> None:
        self.keymap.update(keymap)
        super().update_keymap(dict(keymap))

    # ---------------------------------------------------------------- lifecycle
    def get_default_screen(self) -> MainScreen:
        self.main_screen = MainScreen(self.sampler)
        return self.main_screen

    def on_mount(self) -> None:
        if self.keymap:
            super().set_keymap(self.keymap)
        # Flushes are scheduled when something changed (mark_changed, findings), not polled: a 20 Hz timer
        # alone cost 0.6 % of a core with nothing happening.
        self.set_interval(self.header_interval, self._tick_header)
        self.set_interval(self.sample_interval, self.sample)
        self._start_monitor()           # at once: the first lists are on their way while the screen first paints

    def on_unmount(self) -> None:
        self._stopping.set()
        self._resume_gc()
        if self._flush_task is not None:
            self._flush_task.cancel()
        if self.checks is not None:
            self.checks.stop()
        with self._monitor_lock:
            monitor, self.monitor = self.monitor, None
        if monitor is not None:
            # Watch threads notice a stop only after their next event or timeout: stop them in the
            # background and wait briefly, so `q` exits at once (they are daemon threads).
            stopper = threading.Thread(target=_stop_quietly, args=(monitor,), name="arc-top-stop", daemon=True)
            stopper.start()
            stopper.join(0.3)

    @work(thread=True, exit_on_error=False, exclusive=True, group="monitor")
    def _start_monitor(self) -> None:
        # The first lists allocate millions of objects (5,000 pods decoded, projected, made into rows): with
        # Python's default thresholds a full collection walked the growing heap every ten young ones, seven times
        # before the panels had their rows (a quarter of the time to sync at 5,000 runners). Full collections
        # wait for 100 young ones from the start, as tidy_memory keeps them afterwards.
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, 100)
        # Even young collections cost ~8 % of the CPU to the first full screen (~80 of them over the surviving
        # lists, rows and cells): the cyclic collector is off until the panels are filled. The first tidy_memory
        # collects and turns it back on; so does FILL_GC_LIMIT_S, a failed start and the app's end.
        self._pause_gc()
        try:
            monitor = self.monitor_factory(self.mark_changed)
            monitor.start()
        except Exception as error:  # ConnectError and friends: one line, no traceback
            self._resume_gc()
            self.post_message(MonitorFailed(one_line(error)))
            return
        if self._stopping.is_set():
            self._resume_gc()
            monitor.stop()
            return
        self.post_message(MonitorReady(monitor))

    def on_monitor_ready(self, message: MonitorReady) -> None:
        if not self.main_screen.is_mounted:     # the monitor started with the app: the panels are not there yet
            self.call_after_refresh(self.on_monitor_ready, message)
            return
        with self._monitor_lock:
            if self._stopping.is_set():
                message.monitor.stop()
                return
            self.monitor = message.monitor
        self.main_screen.set_connection(connection_of(message.monitor), getattr(message.monitor, "info", None))
        self._changes_pending.clear()
        filled = _panels_filled(message.monitor)    # (before the drain: in it)
        message.monitor.drain()                 # drain first: the snapshot taken next includes it all
        snapshot = message.monitor.snapshot()
        self.sampler.watch_pods(snapshot)
        self.sampler.sample(snapshot)
        self.main_screen.apply(snapshot, None)
        if filled:                              # (a small cluster's lists can all end before the app is ready)
            self._filled = True
            self._fill_on_screen()
        self.checks = ChecksLoop(message.monitor, self._deliver_findings, self.clock, github=self.github,
                                 github_timeout=self.github_timeout, rerun=CHECKS_RERUN_S)
        self._idle_recheck, self._idle_rerun = self.checks.recheck, self.checks.rerun
        self.checks.start()

    def on_monitor_failed(self, message: MonitorFailed) -> None:
        self.main_screen.set_error(message.error)
        self.notify(message.error, title="cannot start the monitor", severity="error", markup=False, timeout=10)

    # ---------------------------------------------------------------- data flow
    def mark_changed(self) -> None:
        """The monitor's `on_change`, called from watch threads: raise a flag, and schedule a flush (which
        drains and repaints) if the flag was down. A change set while a flush runs lands in that flush's drain
        (the flush lowers the flag first) or raises the flag again. Until the panels are filled, every call is
        posted: the monitor also calls when a kind's first list ends, and the flush that completes the first fill
        runs at once (see _pause), not at the paced turn a flush requested by an earlier page was given."""
        if self._changes_pending.is_set() and self._filled:
            return
        self._changes_pending.set()
        self.post_message(ChangesPending())     # thread-safe; handled in the app's context

    def on_changes_pending(self, message: ChangesPending) -> None:
        self._request_flush()

    def _request_flush(self) -> None:
        """Schedule one flush, as soon as the pacing allows: at least `flush_interval` after the last one ended,
        and FLUSH_PACE times the last one's work (a slow flush under heavy churn leaves room for keys)."""
        if self._flush_task is not None or not self.is_running:
            return
        pause = self._pause()
        if self._flush_timer is not None:
            if pause:
                return
            self._flush_timer.stop()        # the first fill's last lists landed: sooner than the paced timer
        delay = max(0.001, self._flush_ended + pause - time.monotonic())   # (Textual: a 0 s timer divides by 0)
        self._flush_timer = self.set_timer(delay, self._scheduled_flush)

    def _pause(self) -> float:
        """How long after the last flush the next may start: FLUSH_PACE times its work (at least `flush_interval`),
        except for the flush that completes the first fill. Once the panels' last first list has landed, its rows
        go on screen at once: the pace (twice the last page's flush, ~0.4 s at 5,000 runners) only made the full
        screen later. One flush; the pace applies again after it."""
        if not self._filled and self.monitor is not None and _panels_filled(self.monitor):
            return 0.0
        return max(self.flush_interval, FLUSH_PACE * self._flush_cost)

    def _scheduled_flush(self) -> None:
        """The flush timer fired: run the flush as a task of its own. A timer's callback runs inside the app's
        message loop, so a flush awaited there would hold every key until its last step; as a task, the app
        handles a key between two steps (MainScreen.apply_steps)."""
        self._flush_timer = None
        if self._flush_task is not None or not self.is_running:
            return
        self._flush_task = asyncio.create_task(self._flush_in_task())

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self._key_at = time.monotonic()
            if self.checks is not None:
                self.checks.hold(KEY_HOLDS_CHECKS_S)
            await super().on_event(event)
            # The young collection, if one is due, in the gap before the next key (see collect_young).
            if self._key_gc_timer is not None:
                self._key_gc_timer.stop()
            self._key_gc_timer = self.set_timer(KEY_GC_AFTER_S, self._collect_after_key)
            return
        await super().on_event(event)

    async def _between_steps(self) -> None:
        """Between two steps of a flush: let the loop run once, and while a key was just pressed, let it reach its
        widget and be painted first (KEY_FIRST_S)."""
        self._flush_work += time.monotonic() - self._resumed_at
        try:
            await asyncio.sleep(0)
            after_key, most = self.key_first
            while self._deferred < most:
                wait = self._key_at + after_key - time.monotonic()
                if wait <= 0:
                    return
                wait = min(wait, most - self._deferred)
                self._deferred += wait
                await asyncio.sleep(wait)
        finally:
            self._resumed_at = time.monotonic()

    async def _flush_in_task(self) -> None:
        try:
            await self.flush()
        except Exception as error:      # as Textual does for a callback: shown, the app exits cleanly
            self._handle_exception(error)
        finally:
            self._flush_task = None
        # Still something to apply (it came during the flush, or the timer fired a hair early): schedule again.
        # Before the monitor is ready there is nothing to flush: its first full apply takes everything.
        if self.monitor is not None and (self._changes_pending.is_set() or self._findings is not None):
            self._request_flush()

    def _tick_header(self) -> None:
        if not self.is_running:
            return                      # exiting: Textual takes the widgets down while the timers can still fire
        self.collect_young()
        self.main_screen.refresh_header()
        if self._changes_pending.is_set() or self._findings is not None:
            self._request_flush()       # a safety net: a flush is never more than a second away
        if self._warm_timer is None:
            self._warm_search()

    def _warm_search(self) -> None:
        """A chunk of search texts made ahead of a filter (ResourceTable.warm_search): the first key typed after
        `/` then only searches (at 20,000 runners it waited ~270 ms for every row's text). Only once the panels
        have their rows, between flushes and away from keys; nothing at all while no row changed."""
        self._warm_timer = None
        monitor = self.monitor
        if monitor is None or not self.is_running or not _panels_filled(monitor) or self._flush_task is not None \
                or time.monotonic() - self._key_at < WARM_AFTER_KEY_S or not self.main_screen.is_mounted:
            return                  # (the next header tick tries again)
        if self.main_screen.warm_search(WARM_CHUNK_S):
            self._warm_timer = self.set_timer(WARM_PAUSE_S, self._warm_search)

    def _deliver_findings(self, findings: list, version: int, error: str) -> None:
        """ChecksLoop's callback, on its thread."""
        self.post_message(FindingsReady(findings, version, error))

    def on_findings_ready(self, message: FindingsReady) -> None:
        self._findings = message        # latest wins; applied by the flush, never in the middle of one
        jobs = getattr(self.checks, "jobs", None)
        if jobs is not None:            # the listeners' job figures of the same run (the JOBS column, the trend)
            self.sampler.set_jobs(jobs)
        self._request_flush()
        session = self._fix_session
        if session is not None and not message.error and self.monitor is not None and session.waiting():
            # Every check run feeds the verifications of applied fixes (a failed run is no verdict).
            ended = session.check_run(message.findings, self.monitor.snapshot())
            self._deliver_verdicts(ended)

    # ---------------------------------------------------------------- fixes
    def fix_session(self) -> FixSession | None:
        """The app's one Fixer (and its verifications), made at the first use from the monitor's connection;
        None without one (a fake monitor has no ApiClient)."""
        if self._fix_session is None:
            api_client = getattr(connection_of(self.monitor), "api_client", None) if self.monitor else None
            if api_client is None:
                return None
            from arc_top.fixes.session import Fixer
            from arc_top.tui.fixing import FixSession

            fixer = Fixer.for_connection(connection_of(self.monitor), read_only=self.read_only,
                                         github_timeout=self.github_timeout)
            self.set_fix_session(FixSession(fixer, self.verify_wait))
        return self._fix_session

    def set_fix_session(self, session: FixSession) -> None:
        """Use `session` for fixes (fix_session makes one; tests give one with a fake Fixer)."""
        if self._fix_session is None:
            self.set_interval(1.0, self._tick_fixes)     # verdicts come even when no check run does
        self._fix_session = session

    def _tick_fixes(self) -> None:
        session = self._fix_session
        waiting = session is not None and session.waiting()
        if self.checks is not None:
            # With nothing changing the checks read the tails again each minute and run again only when something
            # they read changed (or after CHECKS_RERUN_S); a fix being verified needs both sooner.
            self.checks.recheck = VERIFY_RECHECK_S if waiting else self._idle_recheck
            self.checks.rerun = VERIFY_RECHECK_S if waiting else self._idle_rerun
        if waiting:
            self._deliver_verdicts(session.tick())

    def _deliver_verdicts(self, ended: list) -> None:
        """The fix screens show the new state; a verdict nobody is looking at is announced (tui/screens/fix.py,
        loaded at the first fix: the verifications live in tui/fixing.py, which imports no screen)."""
        from arc_top.tui.screens.fix import deliver

        deliver(self, ended)

    async def flush(self) -> None:
        monitor = self.monitor
        if monitor is None or not (self._changes_pending.is_set() or self._findings is not None):
            return
        started = time.monotonic()
        if started - self._flush_ended < self._pause():
            return
        self._deferred = 0.0
        self._flush_work, self._resumed_at = 0.0, started
        try:
            if self._changes_pending.is_set():
                await self._apply_changes(monitor)
            await self._apply_findings()
        finally:
            self._flush_ended = time.monotonic()
            # What the flush itself took: its steps, not what the loop did between them (paints, keys; a flush
            # is a task of its own) nor its waits for keys. Its wall time counted those, and at 20,000 runners
            # spaced the flushes, and so the changes on screen, further apart than their work asked for.
            self._flush_cost = self._flush_work + (self._flush_ended - self._resumed_at)

    async def _apply_changes(self, monitor: MonitorLike) -> None:
        self._changes_pending.clear()
        filling = not self._filled and _panels_filled(monitor)    # (before the drain: in it)
        changes = monitor.drain()
        if filling:
            self._filled = True
        if not changes:
            if self._filled:
                self._fill_on_screen()
            return
        snapshot = monitor.snapshot()
        if PODS in changes.relisted:
            self.sampler.watch_pods(snapshot)
        else:
            self.sampler.watch_pods(snapshot, changes.changed.get(PODS, {}).values())
        self.main_screen.set_connection(connection_of(monitor), getattr(monitor, "info", None))
        for _ in self.main_screen.apply_steps(snapshot, changes):
            await self._between_steps()     # keys pressed meanwhile are handled between two steps
        if self._filled:
            self._fill_on_screen()

    def _fill_on_screen(self) -> None:
        """What applied the panels' first lists has ended (every step of its flush, or the first apply): the
        first full collection (150 ms at 5,000 runners, 500 ms at 20,000) follows once that has been painted."""
        self._fill_shown = True
        if not self._frozen_at and not self._tidy_scheduled:
            self._tidy_scheduled = True
            self.set_timer(FIRST_TIDY_DELAY_S, self._first_tidy)

    def _first_tidy(self) -> None:
        self._tidy_scheduled = False
        self.tidy_memory()

    @property
    def memory_tidied(self) -> bool:
        """Memory was collected and frozen since the cluster last changed: tidy_memory's next full collection
        waits for a change (bench/monitor.py starts its idle window after it)."""
        monitor = self.monitor
        return bool(self._frozen_at) and monitor is not None and \
            getattr(monitor.snapshot(), "version", None) == self._frozen_version

    def tidy_memory(self) -> None:
        """Keep full garbage collections short and rare. At 5,000 runners the rows, cells and model objects are
        over half a million objects the cyclic collector tracks; a full collection walked them all (60-220 ms,
        the longest stalls of the screen) every second or two under churn. Once the panels have their first
        rows, a full collection runs and the survivors are moved out of its way (gc.freeze), and automatic
        full collections wait for 100 young ones instead of 10. Every minute (only while no other screen is
        open, and only when the cluster changed since: an idle screen makes nothing to collect), or sooner once the
        cluster has been quiet for QUIET_TIDY_S, the same again: a full collection first, so no garbage cycle is
        ever frozen. (Called at every trend sample.)"""
        monitor = self.monitor
        if monitor is None:
            return
        now = time.monotonic()
        version = getattr(monitor.snapshot(), "version", None)
        if version != self._version_seen:
            self._version_seen, self._version_at = version, now
        if not self._frozen_at:
            # Not before the flush that applies the first lists has ended: the monitor has them a flush earlier,
            # and a trend sample's tidy in between ran the first full collection (0.5 s at 20,000 runners) before
            # the last rows were on screen.
            if not self._fill_shown:
                if self._gc_paused_at and now - self._gc_paused_at > FILL_GC_LIMIT_S:
                    self._resume_gc()       # a fill that never ends must not keep garbage cycles forever
                return
            gc.collect()
            gc.freeze()
            self._resume_gc()
            # Automatic full collections only after FULL_GC_AFTER middle-generation ones, not 10: churn promotes
            # thousands of short-lived rows a minute, and a full collection every second or two (60-220 ms each)
            # was the screen's main stall; at 100, every 9 s at 20,000 runners (110-180 ms each, a key caught in
            # one waited that long). The minute's collection below is the full one, at a known time. Rows are
            # freed by reference counting; garbage cycles (messages, events) wait longer. Young collections are
            # collect_young's, once a second (see there).
            _, middle, _ = gc.get_threshold()
            gc.set_threshold(YOUNG_GC_SAFETY, middle, FULL_GC_AFTER)
            self._frozen_at = now
        elif len(self.screen_stack) == 1 and version != self._frozen_version and \
                (now - self._frozen_at >= 60 or now - self._version_at >= QUIET_TIDY_S):
            # (Not while nothing changed since the last one: an idle screen made nothing new to collect or freeze.
            # Once the cluster has been quiet for QUIET_TIDY_S, not a minute after the last: the churn's garbage
            # goes while nothing happens, not in the middle of the next burst.)
            gc.collect()          # a full collection first: no garbage cycle is ever frozen (leaked)
            gc.freeze()
            self._frozen_at = now
        else:
            return
        self._frozen_version = getattr(monitor.snapshot(), "version", None)

    def _collect_after_key(self) -> None:
        """KEY_GC_AFTER_S after the last key: the young collection if one is due, and a pass of search texts that
        the keys held up resumes (under churn while keys move the cursor, thousands of rows changed, and the first
        key typed after `/` made all their texts: 130 ms at 20,000 runners)."""
        self._key_gc_timer = None
        self.collect_young(after_key=True)
        if self._warm_timer is None:
            self._warm_search()

    def collect_young(self, after_key: bool = False) -> None:
        """The young and middle generations collected, at the header tick, once the panels are filled. Python
        collects them whenever allocations outrun deallocations by 700: under churn at 20,000 runners that was
        130 young and 12 middle collections a second, each walking the lists, rows and snapshot maps a flush had
        just made (25,000 entries each): 2.1 s of every 20 (a tenth of the time), and a key typed often waited
        for one (up to 38 ms). Once a second, the same garbage cycles go in one collection: 0.5 s of every 20.
        A tick after nothing new (fewer than YOUNG_GC_MIN objects: an idle screen) collects nothing. While keys are
        pressed, the collection waits until KEY_GC_AFTER_S after the last key (`after_key`: called then), so that
        it falls in the gap before the next key rather than on a key and what it sets off (a filter applied on the
        input's message, a paint): a collection takes 15-30 ms there. Still at most once a second."""
        if not self._frozen_at or self._gc_paused_at or not gc.isenabled():
            return
        now = time.monotonic()
        if after_key:
            if now - self._young_collected_at < YOUNG_GC_EVERY_S:
                return
        elif now - self._key_at < YOUNG_GC_EVERY_S:
            return                              # (keys have their own: KEY_GC_AFTER_S after the last one)
        if gc.get_count()[0] >= YOUNG_GC_MIN:
            gc.collect(1)
            self._young_collected_at = now

    def _pause_gc(self) -> None:
        """The cyclic collector off for the first fill (see _start_monitor), unless it is off already (and not
        by the command's start-up pause, core/gcpause.py: that one the app takes over)."""
        if gc.isenabled() or gcpause.adopt():
            gc.disable()
            self._gc_paused_at = time.monotonic()

    def _resume_gc(self) -> None:
        """The collector back on, if _pause_gc turned it off."""
        if self._gc_paused_at:
            self._gc_paused_at = 0.0
            gc.enable()

    async def _apply_findings(self) -> None:
        message, self._findings = self._findings, None
        if message is None or not self.is_running:
            return
        for _ in self.main_screen.findings_steps(message.findings, message.error):
            await self._between_steps()

    def sample(self) -> None:
        """Every few seconds: a sparkline sample, and ages move on."""
        monitor = self.monitor
        if monitor is None or not self.is_running:
            return                      # (exiting: see _tick_header)
        snapshot = monitor.snapshot()
        changed = self.sampler.sample(snapshot)
        self.main_screen.tick(snapshot, trends_changed=changed)
        self.tidy_memory()

    # ---------------------------------------------------------------- actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`q` and `?` are priority bindings (see MainScreen); they step aside for text fields and for
        screens on top (help, the palette), which handle those keys themselves."""
        if action in ("quit", "help"):
            return self.screen is self.main_screen and not isinstance(self.focused, Input)
        return True

    def action_force_quit(self) -> None:
        self.exit()

    def action_help(self) -> None:
        """`?` here, and on the drill-down and fix screens (which the help screen lists, so they do not import it)."""
        from arc_top.tui.screens.help import HelpScreen  # (not before the first screen)

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def open_view_of(self, screen, view: str, ref) -> None:
        """A drill-down screen's `l`, `d`, `y`: another view of `ref` (tui/screens/navigation.py, which imports the
        screens; drill.py, their base, cannot)."""
        from arc_top.tui.screens.navigation import open_view_of

        open_view_of(screen, view, ref)


def known_binding_ids() -> set[str]:
    """Every binding id a keymap can name (the `?` screen's)."""
    from arc_top.tui.screens.help import binding_groups

    return {b.id for _, group in binding_groups(ArcTopApp) for b in group if b.id}

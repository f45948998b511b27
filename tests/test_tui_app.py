"""The app driven by Pilot with a FakeMonitor: live updates keep the cursor, keys, filter, scope,
help, hostile strings, no-access and loading states, the palette, keymaps, quitting."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import replace

import pytest
from rich.console import Console
from textual.command import CommandPalette
from textual.widgets import Input

from arc_top.kube.model import EVENTS, RUNNERS, SCALE_SETS, VOLUMES, KindState
from arc_top.tui.app import ArcTopApp
from arc_top.tui.screens.help import HelpScreen, help_table
from arc_top.tui.screens.main import MainScreen
from arc_top.widgets.footer import KeysFooter
from arc_top.widgets.resource_table import ResourceTable
from tests.tui_fixtures import MONO, NOW, FakeMonitor, event, incident_monitor, kube_runner, runner, scale_set
from tests.waiting import until  # (test_tui_findings and test_tui_fix_units import it from here)

pytestmark = pytest.mark.asyncio


def make_app(monitor: FakeMonitor, **kw) -> ArcTopApp:
    kw.setdefault("flush_interval", 0.05)
    app = ArcTopApp(monitor.factory, clock=lambda: NOW, monotonic=lambda: MONO, sample_interval=3600, **kw)
    app.animation_level = "none"
    return app


async def loaded(pilot) -> MainScreen:
    app = pilot.app
    await until(pilot, lambda: app.main_screen is not None and app.main_screen.snapshot is not None, what="data")
    await pilot.pause()
    return app.main_screen


def table(app, panel: str) -> ResourceTable:
    return app.main_screen.panel(panel).table


def shown(widget) -> str:
    """The plain text a Static shows."""
    content = widget.content
    return content.plain if hasattr(content, "plain") else str(content)


def cells(app, panel: str, key: str) -> list[str]:
    return [cell.plain for cell in table(app, panel).get_row(key)]


async def test_runner_appears_changes_and_disappears_while_the_cursor_stays():
    monitor = incident_monitor()
    app = make_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        runners = table(app, "runners")
        assert app.focused is runners
        for _ in range(3):
            await pilot.press("down")
        key = runners.cursor_key
        assert key is not None

        # appears: a new runner of the first scale set sorts above the cursor row
        new_items = kube_runner("arc-runners", "arc-runner-set", "arc-runner-set-h8ff4-runner-aaaaa", age=5000)
        monitor.put(*new_items)
        await until(pilot, lambda: runners.has_row("er-arc-runners-arc-runner-set-h8ff4-runner-aaaaa"), what="add")
        assert runners.cursor_key == key

        # changes: the new runner fails
        failed = replace(new_items[0], phase="Failed", reason="InvalidPod", message="nope")
        monitor.put(failed)
        await until(pilot, lambda: cells(app, "runners", failed.uid)[0] == "h8ff4-runner-aaaaa"     # under its set
                    and "Failed" in " ".join(cells(app, "runners", failed.uid)), what="change")
        assert runners.cursor_key == key

        # disappears
        monitor.delete(RUNNERS, failed.uid)
        await until(pilot, lambda: not runners.has_row(failed.uid), what="remove")
        assert runners.cursor_key == key


async def test_number_keys_and_tab_focus_panels():
    app = make_app(incident_monitor())
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        assert app.focused is table(app, "runners")
        await pilot.press("4")
        assert app.focused is table(app, "events")
        await pilot.press("tab")
        assert app.focused is table(app, "findings")
        await pilot.press("tab")
        assert app.focused is table(app, "scalesets")
        await pilot.press("shift+tab")
        assert app.focused is table(app, "findings")
        await pilot.press("5")
        assert app.focused is table(app, "findings")
        await pilot.press("3")
        assert app.focused is table(app, "volumes")


async def test_the_panels_are_in_screen_order_across_a_resize_to_the_grid_and_back():
    app = make_app(incident_monitor())
    async with app.run_test(size=(80, 24)) as pilot:
        main = await loaded(pilot)
        stacked = [p.spec.id for p in main.panels]
        assert stacked == [p.spec.id for p in main.query("Panel")] and stacked[0] == "scalesets"
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        assert [p.spec.id for p in main.panels] == list(main.GRID_ORDER) != stacked
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert [p.spec.id for p in main.panels] == stacked


async def test_search_texts_are_made_ahead_once_the_panels_have_their_rows():
    """No `/` pressed: the header's tick makes every table's search texts, in chunks, once the panels have their
    rows (the first key of a filter then only searches)."""
    monitor = incident_monitor()
    app = make_app(monitor)
    async with app.run_test(size=(160, 48)) as pilot:
        main = await loaded(pilot)
        await until(pilot, lambda: all(p.table.search_ready for p in main.panels), what="search texts made ahead")
        assert all(p.table.total_count for p in main.panels)


async def test_the_timers_at_exit_are_quiet_when_a_panel_table_is_already_gone():
    """At exit Textual takes the widgets down while the app's timers can still fire: the search warm-up then
    found a panel without its table and raised NoMatches, which failed the app's exit. They do nothing."""
    monitor = incident_monitor()
    app = make_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        main = await loaded(pilot)
        await main.panel("findings").table.remove()
        main._tables = None                 # (looked up once: as before the first warm-up)
        assert main.warm_search(0.01) is False
        app._warm_search()                  # the timer's own path, panels filled or not
    # Once the app is down (its panels gone), the timers' callbacks do nothing.
    assert not app.is_running
    app._tick_header()
    app.sample()
    app._warm_search()


async def test_slash_filters_the_focused_panel_and_escape_clears():
    app = make_app(incident_monitor())
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        runners = table(app, "runners")
        total = runners.row_count
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"DIND")
        await until(pilot, lambda: runners.row_count == 4, what="filter")     # team-b-dind's row + its 3 runners
        assert all("dind" in runners.row_text(k).lower() for k in runners.visible_keys())
        assert "/DIND" in app.main_screen.panel("runners").border_title
        assert "3/12" in app.main_screen.panel("runners").border_title        # runners, not the set's row
        await pilot.press("enter")                   # keep the filter, back to the table
        assert app.focused is runners and runners.row_count == 4
        await pilot.press("escape")                  # clears it
        await until(pilot, lambda: runners.row_count == total, what="unfiltered")
        await pilot.press("slash", *"zzz-nothing-q")     # "q" is typed, not quit
        await until(pilot, lambda: runners.row_count == 0)
        assert app.is_running and app.focused.value == "zzz-nothing-q"
        # Said in the table's first line: the table stays (no layout of the screen at that keystroke).
        panel = app.main_screen.panel("runners")
        assert not panel.query_one(".panel-state").display and runners.display and not panel.has_class("-empty")
        await pilot.pause()
        assert "no rows match /zzz-nothing-q" in app.export_screenshot().replace("&#160;", " ")
        assert "no rows match" in "".join(segment.text for segment in runners.render_line(1))
        await pilot.press("escape")
        assert app.focused is runners and runners.row_count == total


async def test_enter_on_a_scale_set_scopes_the_other_panels_and_escape_clears():
    app = make_app(incident_monitor())
    async with app.run_test(size=(80, 24)) as pilot:
        main = await loaded(pilot)
        sets = table(app, "scalesets")
        assert app.focused is sets
        sets.select_key("ars-team-b-team-b-dind")
        await pilot.press("enter")
        await until(pilot, lambda: main.scope is not None, what="scope")
        assert main.scope.label == "team-b/team-b-dind"
        runners = table(app, "runners")
        assert app.focused is runners
        assert set(runners.visible_keys()) == {"rg-team-b/team-b-dind"} | {f"er-team-b-team-b-dind-x7k2p-runner-{s}"
                                                                           for s in ("4vx8n", "c2lq7", "rz6hd")}
        assert "team-b/team-b-dind" in shown(main.query_one("#header"))
        assert "scope team-b/team-b-dind" in app.main_screen.panel("events").border_title
        assert all("team-b-dind" in table(app, "events").row_text(k) for k in table(app, "events").visible_keys())
        await pilot.press("escape")
        await until(pilot, lambda: main.scope is None, what="unscoped")
        assert runners.row_count > 3


async def test_question_mark_lists_every_binding():
    app = make_app(incident_monitor(), keymap={"arc-top.panel-runners": "r"})
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("r")                       # the keymap moved "2" to "r"
        assert app.focused is table(app, "runners")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        console = Console(width=140, record=True, file=io.StringIO())
        console.print(help_table(app.screen.groups))
        text = console.export_text()
        ids = [b.id for b in (*ArcTopApp.BINDINGS, *MainScreen.BINDINGS, *ResourceTable.BINDINGS,
                              *HelpScreen.BINDINGS)]
        assert all(ids)
        for binding_id in ids:
            assert binding_id in text, binding_id
        line = next(line for line in text.splitlines() if "arc-top.panel-runners" in line)
        assert line.strip().startswith("r ")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), what="help closed")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help again")
        await pilot.press("q")                            # closes help, does not quit
        await until(pilot, lambda: isinstance(app.screen, MainScreen), what="help closed by q")
        assert app.is_running


async def test_keys_typed_fast_reach_the_new_focus():
    """`2/dind` typed in one burst: the keys after `2` and `/` must land in the filter."""
    from textual import events

    app = make_app(incident_monitor())
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        for char in "2/dind":
            app.post_message(events.Key("slash" if char == "/" else char, char))
        runners = table(app, "runners")
        await until(pilot, lambda: isinstance(app.focused, Input) and app.focused.value == "dind", what="typed")
        await until(pilot, lambda: runners.row_count == 4, what="filtered")     # team-b-dind's row + its 3 runners


HOSTILE_NAME = "evil-[red]x[/]-\x1b[31mpod\x1b[0m\x1b]0;pwned\x07"
HOSTILE_MESSAGE = "boom [link=https://evil.example]click[/link] [/x] \x1b]8;;http://e\x1b\\x\x1b]8;;\x1b\\ \x1b[2J"


async def test_hostile_strings_render_literally():
    ss = scale_set("ns-[b]", "set-[bold]b[/]", current=1, running=1)
    items = [ss, *kube_runner(ss.namespace, ss.name, HOSTILE_NAME, node="node-\x1b[7m[i]"),
             event(ss.namespace, "Pod", HOSTILE_NAME, "Bad[/]Reason", HOSTILE_MESSAGE, "Warning")]
    monitor = FakeMonitor.with_objects(items)
    monitor.conn.context = "ctx-[red]\x1b]0;t\x07"
    app = make_app(monitor)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot)
        runner_key = f"er-{ss.namespace}-{HOSTILE_NAME}"
        assert cells(app, "runners", runner_key)[0] == "evil-[red]x[/]-pod"
        assert "node-[i]" in cells(app, "runners", runner_key)
        assert {"ns-[b]", "set-[bold]b[/]"} <= set(cells(app, "scalesets", ss.uid))    # full width: wide columns
        event_row = " | ".join(cells(app, "events", table(app, "events").visible_keys()[0]))
        assert "Bad[/]Reason" in event_row
        assert "boom [link=https://evil.example]click[/link] [/x] x " in event_row
        for panel in ("scalesets", "runners", "volumes", "events", "findings"):
            t = table(app, panel)
            for key in t.visible_keys():
                for cell in t.get_row(key):
                    assert "\x1b" not in cell.plain and "\x07" not in cell.plain
        header = shown(app.main_screen.query_one("#header"))
        assert "ctx-[red]" in header and "\x1b" not in header
        assert "\x1b" not in app.export_screenshot().replace("&#x1b;", "")


async def test_forbidden_kind_shows_no_access():
    monitor = incident_monitor(forbidden=("secrets", EVENTS))
    app = make_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        main = await loaded(pilot)
        state = shown(main.panel("events").query_one(".panel-state"))
        assert "no access: events" in state
        assert "no access: events, secrets" in shown(main.query_one("#header"))
        monitor.set_state(VOLUMES, state="forbidden", message="volumes is forbidden", synced=False)
        await until(pilot, lambda: "no access: volumes" in shown(
            main.panel("volumes").query_one(".panel-state")), what="volumes forbidden")


async def test_events_fold_repeats():
    items = [scale_set("ns", "set"),
             *[event("ns", "Pod", "p1", "BackOff", "back-off restarting", "Warning", count=2, ago=10 + i,
                     uid=f"e{i}") for i in range(4)],
             event("ns", "Pod", "p1", "Started", "started", ago=1, uid="n1")]
    app = make_app(FakeMonitor.with_objects(items))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        events = table(app, "events")
        assert events.row_count == 2
        newest, folded = events.visible_keys()
        assert "started" in events.row_text(newest)
        row = cells(app, "events", folded)
        assert "×8" in row and "⚠" in row


async def test_loading_state_paints_before_the_monitor_exists_then_syncs():
    release = threading.Event()
    monitor = incident_monitor()
    monitor.kinds = {k: replace(v, synced=False, state="syncing") for k, v in monitor.kinds.items()}

    def slow_factory(on_change):
        release.wait(10)
        return monitor.factory(on_change)

    app = ArcTopApp(slow_factory, clock=lambda: NOW, monotonic=lambda: MONO, flush_interval=0.05,
                    sample_interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        main = app.main_screen
        assert "connecting" in shown(main.query_one("#header"))
        assert "syncing…" in shown(main.panel("scalesets").query_one(".panel-state"))
        release.set()
        await until(pilot, lambda: main.snapshot is not None, what="monitor")
        assert "syncing…" in shown(main.query_one("#header"))
        for kind in list(monitor.kinds):
            monitor.kinds[kind] = KindState(kind, "live", last_event=MONO - 1, synced=True)
        monitor.set_state(SCALE_SETS, state="live", synced=True, last_event=MONO - 1)
        await until(pilot, lambda: "live · last event <10 s ago" in shown(main.query_one("#header")),
                    what="live")
        assert not main.panel("scalesets").query_one(".panel-state").display


async def test_empty_state_says_what_to_check():
    app = make_app(FakeMonitor.with_objects([]))
    async with app.run_test(size=(80, 24)) as pilot:
        main = await loaded(pilot)
        text = shown(main.panel("scalesets").query_one(".panel-state"))
        assert "no runner scale sets found in arc-runners, team-a, team-b; is ARC installed?" in text


async def test_monitor_start_failure_is_one_line_not_a_traceback():
    def failing(on_change):
        raise RuntimeError("cannot load kubeconfig: no context named [prod]\nsecond line")

    app = ArcTopApp(failing, clock=lambda: NOW, monotonic=lambda: MONO)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.main_screen.error != "", what="error")
        assert app.main_screen.error == "cannot load kubeconfig: no context named [prod] second line"
        assert "no context named [prod]" in shown(app.main_screen.query_one("#header"))
        assert app.is_running


async def test_command_palette_jumps_to_a_pvc():
    app = make_app(incident_monitor())
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: CommandPalette.is_open(app), what="palette")
        await pilot.press(*"pvc team-b/team-b-ssd-n5m7p-runner-t8wbn-work")
        palette = app.screen
        await until(pilot, lambda: palette.query_one("CommandList").option_count > 0, what="hits")
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), what="palette closed")
        volumes = table(app, "volumes")
        await until(pilot, lambda: app.focused is volumes, what="volumes focused")
        assert volumes.cursor_key == "pvc-team-b-team-b-ssd-n5m7p-runner-t8wbn-work"


async def test_many_changes_are_coalesced_into_few_flushes():
    """A storm of 2,000 changes from a watch thread is applied in flushes that start at least `flush_interval`
    apart (latest wins in between), never one per change."""
    monitor = incident_monitor()
    app = make_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        main = await loaded(pilot)
        applied: list[float] = []       # time.monotonic() at each flush's apply_steps (the app paces on that clock)
        original = main.apply_steps
        main.apply_steps = lambda snapshot, changes: (applied.append(time.monotonic()),
                                                      original(snapshot, changes))[1]
        base = runner("arc-runners", "arc-runner-set", "arc-runner-set-h8ff4-runner-storm", age=10)

        def storm():
            for i in range(2000):
                monitor.put(replace(base, message=f"event {i}"))

        thread = threading.Thread(target=storm)
        thread.start()
        while thread.is_alive():
            await pilot.pause()
        thread.join()
        await until(pilot, lambda: table(app, "runners").has_row(base.uid)
                    and "event 1999" in table(app, "runners").row_text(base.uid), what="last event")
        gaps = [b - a for a, b in zip(applied, applied[1:], strict=False)]
        assert 1 <= len(applied) < 2000
        assert all(gap >= app.flush_interval for gap in gaps), gaps     # a lower bound: the pacing


async def test_q_quits_and_stops_the_monitor():
    monitor = incident_monitor()
    app = make_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, what="exit")
    assert monitor.stopped


async def test_a_scope_set_while_a_flush_is_midway_is_not_undone_by_the_rest_of_the_flush():
    """The flush applies a change set in steps and yields to keys in between; a key that rebuilds everything
    (enter scopes the panels) supersedes the steps still to come."""
    monitor = incident_monitor()
    app = make_app(monitor, flush_interval=60)        # no timer flush: this test drives the steps
    async with app.run_test(size=(120, 40)) as pilot:
        main = await loaded(pilot)
        monitor.put(*kube_runner("team-b", "team-b-ssd", "team-b-ssd-n5m7p-runner-new01", age=5))
        changes, snapshot = monitor.drain(), monitor.snapshot()
        steps = main.apply_steps(snapshot, changes)
        next(steps)                                    # the first panel's rows are built, not shown yet
        scope_to = next(s for s in snapshot.of(SCALE_SETS).values() if s.name == "team-a-kube")
        table(app, "scalesets").select_key(scope_to.uid)
        await pilot.press("enter")                     # scope: a full apply, in between two steps
        await pilot.pause()
        for _ in steps:
            pass
        await pilot.pause()
        runners = table(app, "runners")
        assert main.scope is not None and main.scope.name == "team-a-kube"
        assert runners.total_count > 0
        assert all("team-a-kube" in runners.row_text(key) or runners._rows[key].parent for key in runners._rows)
        assert not runners.has_row("er-team-b-team-b-ssd-n5m7p-runner-new01")


async def test_a_new_count_repaints_the_title_line_not_the_whole_panel():
    """Under churn the Runners count changes at nearly every flush; Textual's border_title setter repainted the
    whole panel (its table too). Only the top border line is refreshed, and it shows the new count."""
    monitor = incident_monitor()
    app = make_app(monitor)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await loaded(pilot)
        panel = main.panel("runners")
        before = panel._title.plain
        regions = []
        original = panel.refresh

        def spy(*args, **kwargs):
            regions.append(args)
            return original(*args, **kwargs)
        panel.refresh = spy
        monitor.put(*kube_runner("team-b", "team-b-ssd", "team-b-ssd-n5m7p-runner-new01", age=5))
        await until(pilot, lambda: panel._title.plain != before, what="new title")
        assert regions and all(len(r) == 1 and r[0].height == 1 for r in regions), regions
        count = int(before.split("Runners")[1].split()[0])
        assert f"Runners {count + 1}" in panel._title.plain and f"{count + 1}" in panel.border_title


async def test_a_key_pressed_during_a_flush_reaches_its_widget_before_the_flushs_next_step():
    """Keys first: a key goes from the app to the screen to the focused table in a few turns of the event loop; a
    flush must not run a step (a panel's rows) in each of those turns."""
    monitor = incident_monitor()
    app = make_app(monitor)
    app.key_first = (1.0, 2.0)        # generous: a loaded machine must not turn this into a race
    async with app.run_test(size=(80, 24)) as pilot:
        main = await loaded(pilot)
        await pilot.press("2")
        runners = table(app, "runners")
        start = runners.cursor_row
        moved: list[bool] = []
        original = main.apply_steps

        def spying(snapshot, changes, only=None):
            for i, step in enumerate(original(snapshot, changes, only)):
                if i == 0:
                    app.simulate_key("down")      # as a terminal would, in the middle of the flush
                else:
                    moved.append(runners.cursor_row != start)
                yield step

        main.apply_steps = spying
        monitor.set_state(RUNNERS, state="live", synced=True, last_event=MONO - 2)   # every panel: many steps
        await until(pilot, lambda: len(moved) >= 3, what="the flush's steps")
        assert moved[0] and runners.cursor_row == start + 1


async def test_the_scale_sets_table_gets_the_focus_back_when_its_rows_come():
    """The Scale sets table, focused at mount, is hidden while its panel is empty (Textual then blurs it); when
    the first scale set is listed after that, the table shows and has the focus again, its keys in the footer."""
    monitor = FakeMonitor.with_objects([])
    app = make_app(monitor)
    async with app.run_test(size=(100, 30)) as pilot:
        main = await loaded(pilot)
        scale_sets = table(app, "scalesets")
        await until(pilot, lambda: main.panel("scalesets").has_class("-empty") and main.focused is None,
                    what="the empty Scale sets panel hid its table, and the focus went with it")
        monitor.put(scale_set("arc-runners", "arc-runner-set"))
        await until(pilot, lambda: main.focused is scale_sets, what="the focus back on the Scale sets table")
        await until(pilot, lambda: "Scope" in main.query_one(KeysFooter).render().plain, what="its keys")


async def test_moving_the_focus_repaints_two_title_lines_and_two_cursor_lines(monkeypatch):
    """Textual repaints every line of a screen when its focus moves (a full update of its compositor), and a widget
    whose styles follow the focus whole. On the main screen the focus shows in the panel's title (a marker and its
    name in the primary colour) and in the table's cursor line: a move between two panels repaints those four
    lines, not the screen, not the panels (at 200x60 that was two tables, their scrollbars and every line under
    them at each `tab`)."""
    from textual._compositor import Compositor
    from textual.widget import Widget

    full: list[int] = []
    original = Compositor.render_full_update

    def counting(self, *args, **kwargs):
        full.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Compositor, "render_full_update", counting)     # Textual's own name: the test says so
    app = make_app(incident_monitor())
    async with app.run_test(size=(200, 60)) as pilot:
        main = await loaded(pilot)
        await until(pilot, lambda: main.findings.ready, what="the first check run")   # (its rows come, then none)
        await pilot.press("3")
        await pilot.pause()
        runners, volumes = main.panel("runners"), main.panel("volumes")
        assert volumes._title.plain.startswith("▶") and not runners._title.plain.startswith("▶")
        await pilot.pause(0.3)
        monitor_refresh = Widget.refresh
        whole: list[str] = []

        def refresh(self, *regions, **kwargs):
            if not regions and not isinstance(self, KeysFooter):      # (the footer shows the new panel's keys)
                whole.append(f"{type(self).__name__}#{self.id}")
            return monitor_refresh(self, *regions, **kwargs)

        monkeypatch.setattr(Widget, "refresh", refresh)
        full.clear()
        await pilot.press("4", "5", "2")                 # Volumes → Events → Findings → Runners
        await pilot.pause()
        assert main.focused is table(app, "runners") and full == []
        assert whole == []
        assert runners._title.plain.startswith("▶") and not volumes._title.plain.startswith("▶")
        for name, cursor in (("runners", "resource-table--cursor-focused"), ("volumes", "resource-table--cursor")):
            shown = table(app, name)
            line = list(shown.render_line(1 + shown.cursor_row - round(shown.scroll_y)))
            assert line[0].style.bgcolor == shown.get_component_rich_style(cursor).bgcolor, name


async def test_runner_pods_coming_and_going_leave_the_scale_set_rows_but_a_listener_pod_does_not(monkeypatch):
    """A Scale sets row shows its set's listener pod (and events about it), not its runner pods: under churn, a
    runner's pod and events coming and going do not build the rows again; a listener pod's change does."""
    from arc_top.kube.model import PODS
    from arc_top.tui.rows import scale_sets as module

    built: list[str] = []
    original = module._status_cells    # (what builds a row whose inputs but its trend changed: scale_set_rows)

    def counting(ctx, ss, *pieces):
        built.append(ss.name)
        return original(ctx, ss, *pieces)

    monkeypatch.setattr(module, "_status_cells", counting)
    monitor = incident_monitor()
    app = make_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        main = await loaded(pilot)
        await until(pilot, lambda: main.findings.ready, what="the first check run")
        await pilot.pause(0.3)
        built.clear()
        name = "team-b-ssd-n5m7p-runner-new01"
        monitor.put(*kube_runner("team-b", "team-b-ssd", name, age=5),
                    event("team-b", "Pod", name, "Scheduled", "Successfully assigned"))
        await until(pilot, lambda: table(app, "runners").has_row(f"er-team-b-{name}"), what="the new runner")
        await pilot.pause(0.3)
        assert built == []
        listener = next(p for p in monitor.objects[PODS].values() if p.role == "listener")
        monitor.put(replace(listener, status="Error"))
        await until(pilot, lambda: built, what="the Scale sets rows built again")


async def test_the_flush_that_completes_the_first_fill_is_not_paced():
    """While the panels' first lists arrive, flushes are paced by their work (FLUSH_PACE); the one after the last
    list has landed goes at once (a paced timer already set is replaced), and the pace applies again after it. The
    monitor's call for that last list comes while changes are still pending (the earlier page's): it is posted all
    the same (no header tick here to request a flush every second, and no findings: the checks are stopped)."""
    monitor = incident_monitor()
    synced = [False]
    monitor.panels_synced = lambda: synced[0]
    app = make_app(monitor, header_interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        app.checks.stop()
        await until(pilot, lambda: app._flush_task is None and app._flush_timer is None, what="the first flushes")
        app._flush_cost, app._flush_ended = 1000.0, time.monotonic()    # the next flush paced 2,000 s away
        first = "team-b-ssd-n5m7p-runner-page1"
        monitor.put(*kube_runner("team-b", "team-b-ssd", first, age=5))
        await until(pilot, lambda: app._flush_timer is not None, what="a paced flush")
        await pilot.pause(0.2)
        assert not table(app, "runners").has_row(f"er-team-b-{first}")     # still waiting for its pace
        synced[0] = True                         # the last list landed
        last = "team-b-ssd-n5m7p-runner-page2"
        monitor.put(*kube_runner("team-b", "team-b-ssd", last, age=5))
        await until(pilot, lambda: table(app, "runners").has_row(f"er-team-b-{last}")
                    and table(app, "runners").has_row(f"er-team-b-{first}"), what="the fill's last flush")
        await until(pilot, lambda: app._flush_task is None, what="its end")
        app._flush_cost, app._flush_ended = 1000.0, time.monotonic()
        later = "team-b-ssd-n5m7p-runner-later"
        monitor.put(*kube_runner("team-b", "team-b-ssd", later, age=5))
        await until(pilot, lambda: app._flush_timer is not None, what="a paced flush again")
        await pilot.pause(0.2)
        assert not table(app, "runners").has_row(f"er-team-b-{later}")


async def test_a_flush_is_paced_by_its_own_work_not_by_what_the_loop_did_between_its_steps():
    """Flushes are spaced by twice their cost; the cost is their steps' work. A paint or a key handled between two
    steps (the flush is a task of its own) is not the flush's: counted, it spaced changes on screen further apart."""
    import asyncio

    monitor = incident_monitor()
    app = make_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        main = await loaded(pilot)
        original = main.apply_steps
        seen: list[int] = []

        def hogging(snapshot, changes, only=None):
            for i, step in enumerate(original(snapshot, changes, only)):
                if i == 0:
                    asyncio.get_running_loop().call_soon(time.sleep, 1.5)   # the loop busy between two steps
                seen.append(i)
                yield step

        main.apply_steps = hogging
        monitor.set_state(RUNNERS, state="live", synced=True, last_event=MONO - 2)
        await until(pilot, lambda: len(seen) > 2 and app._flush_task is None, what="the flush")
        assert 0 < app._flush_cost < 1.5       # the steps' own work: tens of ms (far below, even on a loaded machine)

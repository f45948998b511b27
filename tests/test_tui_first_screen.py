"""The first screen does not wait for the last page: while the first lists are still landing, the Scale sets panel
shows its rows once the scale sets have listed, and the Runners panel the runners that have arrived (marked
"syncing…"), page by page: a page builds its own runners' rows, never every runner's again."""

from __future__ import annotations

import pytest

from arc_top.kube.model import EVENTS, PODS, RUNNERS, VOLUMES, KindState
from tests.test_tui_app import make_app, shown, table
from tests.tui_fixtures import MONO, FakeMonitor, kube_runner, live_kinds, scale_set
from tests.waiting import until

pytestmark = pytest.mark.asyncio

LISTING = (RUNNERS, PODS, VOLUMES, EVENTS)


def runners(first: int, last: int) -> list[object]:
    items: list[object] = []
    for i in range(first, last):
        items += kube_runner("arc-runners", "arc-runner-set", f"arc-runner-set-abcde-r{i:04d}", age=600 - i)
    return items


async def test_scale_sets_and_a_screenful_of_runners_show_before_the_lists_end():
    kinds = live_kinds()
    for kind in LISTING:
        kinds[kind] = KindState(kind, "syncing", synced=False)
    sets = [scale_set("arc-runners", "arc-runner-set", hi=None, current=300)]
    monitor = FakeMonitor.with_objects(sets + runners(0, 3), kinds=kinds)
    app = make_app(monitor)
    async with app.run_test(size=(200, 60)) as pilot:
        main = app.main_screen
        await until(pilot, lambda: table(app, "scalesets").row_count == 1, what="the scale set, pods still listing")
        runner_table = table(app, "runners")
        # The set's row, and each runner's row with its work volume's under it.
        await until(pilot, lambda: runner_table.row_count == 1 + 2 * 3, what="the three runners that arrived")
        assert "syncing…" in shown(main.panel("runners").query_one(".panel-state"))

        monitor.put(*runners(3, 60))            # a page: more than a screenful now
        await until(pilot, lambda: runner_table.row_count > 7, what="a screenful")
        height = runner_table.size.height
        assert runner_table.row_count >= height > 7
        early = runner_table.row_count

        before = {key: runner_table._rows[key] for key in runner_table.visible_keys()}
        monitor.put(*runners(60, 200))          # more pages: their runners are added, the others not rebuilt
        await until(pilot, lambda: runner_table.row_count == 1 + 2 * 200, what="the next pages' runners")
        assert early < runner_table.row_count
        assert "syncing…" in shown(main.panel("runners").query_one(".panel-state"))
        kept = [key for key, row in before.items() if runner_table._rows.get(key) is row]
        assert len(kept) == len(before) - 1     # every row but the scale set's (its count moved) is the same object

        for kind in LISTING:                    # the lists end
            monitor.set_state(kind, state="live", synced=True, last_event=MONO - 1)
        state_line = main.panel("runners").query_one(".panel-state")
        await until(pilot, lambda: not state_line.display, what="no longer syncing")
        assert runner_table.row_count == 1 + 2 * 200


async def test_a_panel_whose_scale_sets_have_not_listed_shows_no_rows_yet():
    kinds = live_kinds()
    for kind in (*LISTING, "scalesets"):
        kinds[kind] = KindState(kind, "syncing", synced=False)
    monitor = FakeMonitor.with_objects([scale_set("arc-runners", "arc-runner-set")], kinds=kinds)
    app = make_app(monitor)
    async with app.run_test(size=(80, 24)) as pilot:
        main = app.main_screen
        await until(pilot, lambda: main.snapshot is not None, what="the monitor")
        await pilot.pause()
        assert table(app, "scalesets").row_count == 0
        assert "syncing…" in shown(main.panel("scalesets").query_one(".panel-state"))
        monitor.set_state("scalesets", state="live", synced=True, last_event=MONO - 1)
        await until(pilot, lambda: table(app, "scalesets").row_count == 1, what="the scale set")

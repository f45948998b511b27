"""The Runners panel grouped by scale set (issue 15): a row per scale set (its name, how many runners), then its
runners named without the repeated scale-set prefix (`h8ff4-runner-9t6kr`, not `arc-runn…ner-9t6kr`); the full
name stays in the filter, describe, the palette and `c`. Rows (pure), the live panel (FakeMonitor + Pilot), and
snapshots at 80x24 and 160 columns with the Runners panel focused. Update the snapshots with
`pytest tests/test_tui_runner_groups.py --snapshot-update` and look at them."""

from __future__ import annotations

import re

import pytest

from arc_top.tui.rows import RowContext, Scope, runner_rows
from arc_top.tui.rows.runners import group_key, group_of, short_name
from arc_top.tui.screens.drill import resolve
from tests.test_tui_app import loaded, make_app, table
from tests.test_tui_settings import notifications
from tests.test_tui_snapshots import incident_app
from tests.test_tui_snapshots import loaded as snapshot_loaded
from tests.tui_fixtures import NOW, FakeMonitor, incident_monitor, incident_objects, kube_runner, pod, runner, scale_set
from tests.waiting import until


def title(panel) -> str:
    """The panel's title line as shown (its markup taken out)."""
    return " ".join(re.sub(r"\[[^\]]*\]", "", str(panel.border_title)).split()) + " "


def _ctx(objects, scope: Scope | None = None) -> RowContext:
    return RowContext(FakeMonitor.with_objects(objects).snapshot(), NOW, scope=scope)


# ---- rows --------------------------------------------------------------------------------------------------------
def test_runners_follow_their_scale_set_row_named_without_its_prefix():
    rows = runner_rows(_ctx(incident_objects()))
    groups = [row for row in rows if row.parent is None]
    assert [group_of(row.key) for row in groups] == [
        ("arc-runners", "arc-runner-set"), ("team-a", "team-a-custom-sa"), ("team-a", "team-a-kube"),
        ("team-b", "team-b-dind"), ("team-b", "team-b-ssd")]
    assert [row.cells[0].plain for row in groups] == [
        "arc-runner-set", "team-a-custom-sa", "team-a-kube", "team-b-dind", "team-b-ssd"]
    assert [row.cells[1].plain for row in groups] == ["4 runners", "1 runner", "2 runners", "3 runners", "2 runners"]
    assert all(row.cells[0].style and "bold" in str(row.cells[0].style) for row in groups)
    current = None
    runners = 0
    for row in rows:
        if row.parent is None:
            current = row.key
        elif row.parent.startswith("rg-"):              # a runner: under the scale set row just above it
            runners += 1
            assert row.parent == current
            namespace, scale_set = group_of(current)
            assert row.search.startswith(f"{scale_set}-") and row.cells[0].plain == row.search[len(scale_set) + 1:]
        else:                                          # a workflow pod or work volume: under its runner
            assert row.parent in {r.key for r in rows if r.parent == current}
    assert runners == 12                               # every runner, once
    first = next(row for row in rows if row.key == "er-arc-runners-arc-runner-set-h8ff4-runner-668fh")
    assert first.cells[0].plain == "h8ff4-runner-668fh" and first.search == "arc-runner-set-h8ff4-runner-668fh"


def test_names_not_shaped_like_the_sets_and_sets_of_one_name_in_two_namespaces():
    items = [scale_set("ns-a", "set"), scale_set("ns-b", "set"),
             *kube_runner("ns-a", "set", "set-abcde-runner-x1"),
             runner("ns-b", "set", "custom-name", phase="Pending"),
             pod("ns-b", "set-zz-runner-orphan", ss="set", status="Running")]
    rows = runner_rows(_ctx(items))
    by_key = {row.key: row for row in rows}
    assert by_key[group_key("ns-a", "set")].cells[0].plain == "ns-a/set"     # the name alone would be ambiguous
    assert by_key[group_key("ns-b", "set")].cells[0].plain == "ns-b/set"
    assert by_key[group_key("ns-b", "set")].cells[1].plain == "2 runners"
    names = {row.search: row.cells[0].plain for row in rows if row.parent and row.parent.startswith("rg-")}
    assert names == {"set-abcde-runner-x1": "abcde-runner-x1", "custom-name": "custom-name",
                     "set-zz-runner-orphan": "zz-runner-orphan"}
    assert short_name("set-", "set") == "set-" and short_name("settle-x", "set") == "settle-x"
    assert short_name("anything", "") == "anything"
    assert group_of("er-ns-name") is None and group_of(None) is None


def test_a_group_row_resolves_to_its_scale_set():
    snapshot = incident_monitor().snapshot()
    ref = resolve(group_key("team-b", "team-b-ssd"), snapshot)
    assert (ref.kind, ref.namespace, ref.name, ref.uid) == ("AutoscalingRunnerSet", "team-b", "team-b-ssd",
                                                            "ars-team-b-team-b-ssd")
    assert resolve(group_key("team-b", "gone"), snapshot) is None


# ---- the live panel ----------------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_counts_filter_and_keys_on_the_grouped_panel():
    monitor = incident_monitor()
    app = make_app(monitor)
    async with app.run_test(size=(160, 48)) as pilot:
        main = await loaded(pilot)
        panel = main.panel("runners")
        runners = table(app, "runners")
        assert "Runners 12 " in title(panel)                  # runners, not their scale set rows
        monitor.put(*kube_runner("team-a", "team-a-kube", "team-a-kube-q7r2x-runner-new01", age=1))
        group = group_key("team-a", "team-a-kube")
        await until(pilot, lambda: runners.has_row("er-team-a-team-a-kube-q7r2x-runner-new01")
                    and runners.get_row(group)[1].plain == "3 runners", what="a third team-a-kube runner")
        assert "Runners 13 " in title(panel)

        await pilot.press("2", "slash", *"arc-runner-set-h8ff4-runner-668fh")   # the full name, as copied
        await until(pilot, lambda: runners.filter_text == "arc-runner-set-h8ff4-runner-668fh", what="filtered")
        visible = runners.visible_keys()
        assert visible[0] == group_key("arc-runners", "arc-runner-set")        # the runner brings its set's row
        assert visible[1] == "er-arc-runners-arc-runner-set-h8ff4-runner-668fh" and len(visible) == 4   # + children
        assert "1/13" in title(panel)
        await pilot.press("enter")
        await pilot.press("c")                                                  # on the scale set's row
        await pilot.pause()
        assert app.clipboard == "arc-runner-set"
        await pilot.press("down", "c")
        await pilot.pause()
        assert app.clipboard == "arc-runner-set-h8ff4-runner-668fh"
        assert "copied EphemeralRunner name arc-runner-set-h8ff4-runner-668fh" in notifications(app)
        await pilot.press("escape", "up", "i")                                  # a set's row: the set's findings
        await pilot.pause()
        screen = app.screen
        assert type(screen).__name__ == "FindingScreen"
        assert all(f.scale_set == "arc-runners/arc-runner-set" for f in screen.findings) and screen.findings


# ---- snapshots ---------------------------------------------------------------------------------------------------
async def _runners_focused(pilot) -> None:
    await snapshot_loaded(pilot)
    await pilot.press("2", "down")
    await pilot.pause()


def test_runners_grouped_80x24(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(80, 24), run_before=_runners_focused)


def test_runners_grouped_160x40(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(160, 40), run_before=_runners_focused)

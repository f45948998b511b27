"""Nothing is rebuilt or painted again when nothing changes: a trend sample that shows nothing new rebuilds no scale
set row, and an age tick re-renders only the age cell of a line (the line is the one a full render gives)."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App

from arc_top.kube.model import SCALE_SETS, Snapshot
from arc_top.tui.trends import SHOWN, TrendSampler
from arc_top.widgets.resource_table import ColumnSpec, ResourceTable, TableRow
from arc_top.widgets.text import ERROR, OK, Palette, status_text
from tests.tui_fixtures import scale_set


def snap(*sets) -> Snapshot:
    return Snapshot({SCALE_SETS: {s.uid: s for s in sets}}, {}, 1)


def test_a_trend_sample_says_whether_a_trend_cell_shows_something_new():
    sampler = TrendSampler()
    steady = snap(scale_set("ns", "a", running=3))
    # A trend shorter than its cell grows with every sample: each one is new.
    assert all(sampler.sample(steady) for _ in range(SHOWN))
    # Full and flat: the same value again shows the same cell.
    assert not any(sampler.sample(steady) for _ in range(5))
    assert sampler.sample(snap(scale_set("ns", "a", running=4)))        # a new value shows
    assert sampler.sample(snap(scale_set("ns", "a", running=4)))        # …and moves along the cell
    assert sampler.sample(snap(scale_set("ns", "a", running=4), scale_set("ns", "b")))   # a new scale set
    for _ in range(SHOWN):
        sampler.sample(snap(scale_set("ns", "a", running=4), scale_set("ns", "b")))
    assert not sampler.sample(snap(scale_set("ns", "a", running=4), scale_set("ns", "b")))
    assert sampler.sample(snap(scale_set("ns", "a", running=4)))        # one went
    assert list(sampler.running) == ["ars-ns-a"]


class AgeApp(App):
    def compose(self):
        yield ResourceTable([ColumnSpec("name", "NAME"), ColumnSpec("age", "AGE", age=True),
                             ColumnSpec("status", "STATUS")], id="t")


@pytest.mark.asyncio
async def test_a_line_repainted_for_its_age_is_the_line_a_full_render_gives():
    palette = Palette()
    app = AgeApp()
    async with app.run_test(size=(50, 10)) as pilot:
        table = app.query_one(ResourceTable)
        now = 100_000.0
        table.set_now(now)
        table.sync([TableRow(f"r{i}", [Text(f"runner-[red]{i}"), Text(""),
                                       status_text("Failed" if i % 2 else "Running", ERROR if i % 2 else OK, palette)],
                             created=now - 30 - i) for i in range(5)])
        table.focus()
        await pilot.pause()
        table.move_cursor(row=1)
        await pilot.pause()
        for tick in (5, 10, 95):                           # "3xs" -> "4xs", then minutes ("2m")
            table.set_now(now + tick)
            await pilot.pause()
            lines = [table.render_line(y) for y in range(6)]
            table._lines.clear()
            table._parts.clear()
            fresh = [table.render_line(y) for y in range(6)]
            assert [list(s) for s in lines] == [list(s) for s in fresh], tick
            assert "runner-[red]1" in "".join(seg.text for seg in lines[2])


@pytest.mark.asyncio
async def test_rows_rebuilt_with_the_same_texts_style_only_their_new_ages():
    """The Scale sets rows are built again at every age tick (their trends): a line whose cells read the same is put
    together from the cells already styled for it; only the age cells, which moved on, are styled anew."""
    def rows(created):
        return [TableRow(f"r{i}", [Text(f"runner-{i}"), Text(""), Text("Running", style="green")],
                         created=created - i) for i in range(5)]

    app = AgeApp()
    async with app.run_test(size=(50, 10)) as pilot:
        table = app.query_one(ResourceTable)
        now = 100_000.0
        table.set_now(now)
        table.sync(rows(now - 30))
        await pilot.pause()
        assert table.renders == 5 and table.cell_renders > 5
        before = table.cell_renders
        for tick in (5, 10, 15):
            table.set_now(now + tick)
            table.sync(rows(now - 30))               # new row objects, the same texts
            await pilot.pause()
        assert table.renders == 5 + 3 * 5            # every line painted again…
        assert table.cell_renders - before == 3 * 5  # …styling only its age cell

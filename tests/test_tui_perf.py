"""What keeps flushes cheap: partial repaints, batched row changes, column widths kept by counting, ages
that move on only when their string changes."""

from __future__ import annotations

import random

import pytest
from rich.text import Text
from textual.app import App

from tui.rows.context import age, age_changes_at
from widgets.resource_table import ColumnSpec, ResourceTable, TableRow

COLUMNS = [ColumnSpec("name", "NAME"), ColumnSpec("value", "VALUE")]


def rows(values: list[str], prefix: str = "k") -> list[TableRow]:
    return [TableRow(f"{prefix}{i:03}", [Text(f"row{i}"), Text(v)]) for i, v in enumerate(values)]


class TableApp(App):
    def compose(self):
        yield ResourceTable(COLUMNS, id="t")


def screen_text(app: App) -> str:
    return app.export_screenshot()


@pytest.mark.asyncio
async def test_updates_repaint_changed_rows_on_and_off_screen():
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ResourceTable)
        values = [f"v{i}" for i in range(50)]
        table.sync(rows(values))
        await pilot.pause()
        for step in range(3):
            values[3], values[40] = f"CHANGED{step}", f"FAR{step}"
            table.sync(rows(values))
            await pilot.pause()
            shown = screen_text(app)
            assert f"CHANGED{step}" in shown and f"CHANGED{step - 1}" not in shown
        await pilot.press("end")
        await pilot.pause()
        assert "FAR2" in screen_text(app)
        await pilot.press("home")
        values[3] = "A_MUCH_LONGER_VALUE_THAN_BEFORE"
        table.sync(rows(values))
        await pilot.pause()
        assert "A_MUCH_LONGER_VALUE_THAN_BEFORE" in screen_text(app)     # the column grew


@pytest.mark.asyncio
async def test_batched_adds_and_removes_keep_order_cursor_and_widths():
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ResourceTable)
        wanted = rows([f"v{i}" for i in range(40)])
        table.sync(wanted)
        await pilot.pause()
        table.select_key("k020")
        rng = random.Random(7)
        for step in range(10):
            wanted = [r for r in wanted if r.key == "k020" or rng.random() > 0.1]
            extra = rows([("x" * rng.randint(1, 30)) for _ in range(3)], prefix=f"n{step}-")
            for new in extra:
                wanted.insert(rng.randint(0, len(wanted)), new)
            table.sync(wanted)
            await pilot.pause()
            assert table.visible_keys() == [r.key for r in wanted]
            assert table.cursor_key == "k020"
            widest = max(len(r.cells[1].plain) for r in wanted)
            assert list(table.columns.values())[1].content_width == max(widest, len("VALUE"))
            assert table.virtual_size.height == len(wanted) + 1


def test_age_changes_at_is_the_next_change_of_the_age_string():
    rng = random.Random(3)
    for _ in range(20000):
        created = 1000.0
        now = created + rng.uniform(0, 400000)
        at = age_changes_at(created, now)
        assert at > now
        assert age(at - created - 1e-6) == age(now - created) != age(at - created)

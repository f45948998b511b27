"""ResourceTable is virtual: only the rows on screen are rendered. What an operator does with it still works at
20,000 rows — scrolling, the cursor following its row, the filter, a resize, hostile strings shown literally,
the severity markers and theme colours — at 80x24."""

from __future__ import annotations

from itertools import accumulate

import pytest
from rich.text import Text
from textual.app import App

from arc_top.widgets.resource_table import ColumnSpec, ResourceTable, TableRow
from arc_top.widgets.text import ERROR, OK, Palette, safe_text, status_text
from tests.waiting import until

pytestmark = pytest.mark.asyncio

COLUMNS = [ColumnSpec("name", "RUNNER", flex=True, min_width=12), ColumnSpec("phase", "PHASE"),
           ColumnSpec("node", "NODE", min_table_width=100), ColumnSpec("problem", "PROBLEM", tail=True)]
PALETTE = Palette()


def row(i: int, phase: str = "Running", problem: str = "") -> TableRow:
    severity = ERROR if phase == "Failed" else OK
    return TableRow(f"k{i:05}", [Text(f"arc-runner-set-{i:05}"), status_text(phase, severity, PALETTE),
                                 Text(f"node-{i % 7}"), Text(problem)])


class TableApp(App):
    def compose(self):
        yield ResourceTable(COLUMNS, id="t")


def lines(app: App) -> list[str]:
    """The table's lines as painted (the header first)."""
    table = app.query_one(ResourceTable)
    return ["".join(segment.text for segment in table.render_line(y)).rstrip() for y in range(table.size.height)]


def cursor_line(table: ResourceTable) -> str:
    y = table.cursor_row - round(table.scroll_y) + 1
    return "".join(segment.text for segment in table.render_line(y)).strip()


async def test_only_the_rows_on_screen_are_rendered_at_20000_rows():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(ResourceTable)
        wanted = [row(i) for i in range(20_000)]
        table.sync(wanted)
        await pilot.pause()
        assert table.row_count == 20_000 and table.virtual_size.height == 20_001
        assert 0 < table.renders <= 23                   # 23 body lines on a 24-line screen, nothing else
        assert lines(app)[1].split()[0] == "arc-runner-set-00000"
        # Thousands of rows changing off screen: nothing is rendered again.
        before = table.renders
        changed = [*wanted[:100], *(row(i, "Failed") for i in range(100, 20_000, 2)), row(99_999)]
        table.sync(changed)
        await pilot.pause()
        assert table.renders == before and table.row_count == 100 + 9_950 + 1
        # One row changed on screen: that line alone is rendered again.
        table.apply({"k00003": row(3, "Failed")})
        await pilot.pause()
        assert table.renders == before + 1 and "Failed" in lines(app)[4]
        # …and kept: painted again (the whole table), it comes from the line cache like the others.
        table.refresh()
        await pilot.pause()
        assert table.renders == before + 1
        before = table.renders
        # A page down renders one page.
        await pilot.press("pagedown")
        await pilot.pause()
        assert before < table.renders <= before + 2 * 23


async def test_the_cursor_moves_and_the_view_follows_it():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(ResourceTable)
        table.sync([row(i) for i in range(5_000)])
        await pilot.pause()
        table.focus()
        for _ in range(30):
            await pilot.press("down")
        await pilot.pause()
        assert table.cursor_key == "k00030" and round(table.scroll_y) == 30 - 22    # the last line on screen
        assert cursor_line(table).startswith("arc-runner-set-00030")
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_key == "k04999" and cursor_line(table).startswith("arc-runner-set-04999")
        assert lines(app)[-1].startswith(" arc-runner-set-04999")
        await pilot.press("pageup")
        await pilot.pause()
        assert table.cursor_row == 4999 - 23 and cursor_line(table).startswith(f"arc-runner-set-{4999 - 23:05}")
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_key == "k00000" and table.scroll_y == 0
        await pilot.press("j", "j", "k")
        assert table.cursor_key == "k00001"
        # Rows come above a cursor moved down: it stays on its row, and the row stays where it is on screen.
        table.select_key("k02500")
        await pilot.pause()
        on_screen = table.cursor_row - round(table.scroll_y)
        table.sync([row(i) for i in range(-300, 5_000)])
        await pilot.pause()
        assert table.cursor_key == "k02500" and table.cursor_row - round(table.scroll_y) == on_screen
        # Its row gone, the cursor stays at the same position, on the row now there.
        table.apply({"k02500": None})
        await pilot.pause()
        assert table.cursor_key == "k02501"


async def test_a_filter_shows_only_matching_rows_and_clearing_it_brings_the_rest_back():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(ResourceTable)
        table.sync([row(i, "Failed" if i % 1000 == 7 else "Running") for i in range(20_000)])
        await pilot.pause()
        table.set_filter("FAILED")
        await pilot.pause()
        assert table.visible_count == 20 and table.total_count == 20_000
        shown = [line for line in lines(app)[1:] if line.strip()]
        assert len(shown) == 20 and all("Failed" in line for line in shown)
        assert shown[0].split()[0] == "arc-runner-set-00007"
        table.select_key("k05007")
        assert table.cursor_key == "k05007"
        table.set_filter("")
        await pilot.pause()
        assert table.visible_count == 20_000 and table.cursor_key == "k05007"
        assert cursor_line(table).startswith("arc-runner-set-05007")
        table.set_filter("no such runner")
        await pilot.pause()
        assert table.visible_count == 0 and table.cursor_key is None and lines(app)[1].strip() == ""


async def test_a_resize_shows_the_columns_that_fit_and_keeps_the_cursor_in_view():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(ResourceTable)
        table.sync([row(i, problem="ARC405 workflow pod stuck") for i in range(2_000)])
        await pilot.pause()
        assert [c.key for c in table.ordered_columns] == ["name", "phase", "problem"]
        table.select_key("k00020")
        await pilot.pause()
        await pilot.resize_terminal(140, 12)
        await until(pilot, lambda: [c.key for c in table.ordered_columns] == ["name", "phase", "node", "problem"])
        await pilot.pause()
        assert table.cursor_key == "k00020"
        top = round(table.scroll_y)
        assert top <= table.cursor_row < top + table.size.height - 1          # still on screen, 11 rows high
        assert "node-6" in cursor_line(table) and "ARC405 workflow pod stuck" in cursor_line(table)
        await pilot.resize_terminal(30, 24)
        await until(pilot, lambda: table.ordered_columns[0].content_width < 20)     # the name column squeezed
        name = cursor_line(table).split()[0]
        assert name.startswith("arc-r") and "…" in name and name.endswith("00020") and len(name) < 20


async def test_hostile_strings_are_shown_literally():
    app = TableApp()
    hostile = "evil-[red]x[/]-[link=https://evil.example]y[/link]-\x1b[31mred\x1b]0;title\x07"
    async with app.run_test(size=(120, 24)) as pilot:
        table = app.query_one(ResourceTable)
        table.sync([TableRow("h", [safe_text(hostile), Text("[bold]Running"), Text(""), safe_text("[/x] boom")])])
        await pilot.pause()
        shown = lines(app)[1]
        assert "evil-[red]x[/]-[link=https://evil.example]y[/link]-" in shown
        assert "[bold]Running" in shown and "[/x] boom" in shown
        assert "\x1b" not in "".join(lines(app)) and "\x07" not in "".join(lines(app))


async def test_severity_markers_and_theme_colours_and_the_cursor_at_80x24():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(ResourceTable)
        table.sync([row(0, "Failed"), row(1)])
        table.focus()
        await pilot.pause()
        header, failed, running = (list(table.render_line(y)) for y in range(3))
        assert "".join(s.text for s in header).split()[:3] == ["RUNNER", "PHASE", "PROBLEM"]
        assert all(s.style.bold for s in header if s.text.strip())
        marker = next(s for s in failed if "✖ Failed" in s.text)
        assert marker.style.color.name == PALETTE.error.lower() and marker.style.bold       # $error, with its marker
        ok = next(s for s in running if "✔ Running" in s.text)
        assert ok.style.color.name == PALETTE.success.lower()
        cursor_bg = {s.style.bgcolor for s in failed}
        assert len(cursor_bg) == 1                                                  # the whole line, filled
        assert cursor_bg != {s.style.bgcolor for s in running}
        assert sum(s.cell_length for s in failed) == table.size.width
        await pilot.press("down")
        await pilot.pause()
        assert {s.style.bgcolor for s in table.render_line(2)} == cursor_bg         # the cursor moved down


async def test_a_cell_renders_as_rich_renders_it_styled_and_padded():
    """_render_cell applies the line's styles to a cached render of the cell, as Styled does: the same segments
    Rich gives for Styled(Padding(cell, (0, 1)), pre, post), for every kind of cell and line style."""
    from rich.padding import Padding
    from rich.style import Style
    from textual.renderables.styled import Styled

    cells = [Text(""), Text("plain"), status_text("Failed", ERROR, PALETTE, "OOMKilled"), Text("x" * 40),
             Text("名前-ランナー-✔"), Text.assemble(("bold", "bold"), " and ", ("[red]", "italic #ff0000")),
             Text("styled whole", style="underline")]
    styles = [(Style(), Style()), (Style(bgcolor="#0178d4", color="#e0e0e0", bold=True), Style(bgcolor="#0178d4")),
              (Style(color="#e0e0e0", bgcolor="#121212"), Style.from_color(bgcolor=None))]
    app = TableApp()
    async with app.run_test(size=(80, 24)):
        table = app.query_one(ResourceTable)
        for cell in cells:
            for width in (3, 12, 30):
                for pre, post in styles:
                    options = app.console_options.update_dimensions(width, 1).update(no_wrap=True)
                    want = app.console.render_lines(Styled(Padding(cell, (0, 1)), pre_style=pre, post_style=post),
                                                    options)[0]
                    for _ in range(2):                                   # rendered, then from the cache
                        assert table._render_cell(cell, width, pre, post) == want, (cell.plain, width, pre)


async def test_an_age_tick_paints_only_the_lines_whose_age_reads_differently():
    columns = [ColumnSpec("name", "NAME"), ColumnSpec("age", "AGE", age=True)]

    class AgeApp(App):
        def compose(self):
            yield ResourceTable(columns, id="t")

    app = AgeApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(ResourceTable)
        now = 100_000.0
        table.set_now(now)
        table.sync([TableRow("young", [Text("young"), Text("")], created=now - 30),
                    *(TableRow(f"old{i}", [Text(f"old{i}"), Text("")], created=now - 7200 - i) for i in range(8))])
        await pilot.pause()
        before = table.renders
        table.set_now(now + 5)                      # "30s" -> "35s"; the others still read "2h"
        await pilot.pause()
        assert table.renders == before + 1 and "35s" in lines(app)[1]


async def test_an_age_tick_repaints_the_age_column_and_nothing_when_it_is_out_of_view():
    """An age tick marks only the age column's cells for repainting (ResourceTable._age_span: where the header shows
    AGE); scrolled out of view, a tick paints nothing, and the ages read anew once it is back."""
    columns = [ColumnSpec("name", "NAME"), ColumnSpec("age", "AGE", age=True), ColumnSpec("msg", "MESSAGE")]

    class AgeApp(App):
        def compose(self):
            yield ResourceTable(columns, id="t")

    now = 100_000.0
    app = AgeApp()
    async with app.run_test(size=(30, 8)) as pilot:
        table = app.query_one(ResourceTable)
        table.set_now(now)
        table.sync([TableRow(f"k{i}", [Text(f"runner-{i}"), Text(""), Text("m" * 60)], created=now - 10 - i)
                    for i in range(4)])
        await pilot.pause()
        header = lines(app)[0]
        x, width = table._age_span()
        assert header[x:x + width].strip() == "AGE" and header[x + width:].lstrip().startswith("MESSAGE")
        table.set_now(now + 5)
        await pilot.pause()
        assert [line[x:x + width].strip() for line in lines(app)[1:5]] == ["15s", "16s", "17s", "18s"]
        table.scroll_to(x=x + width + 2, animate=False, immediate=True, force=True)
        await pilot.pause()
        assert table._age_span()[1] == 0
        before = table.renders
        table.set_now(now + 10)                     # every age moves on, none of them on screen
        await pilot.pause()
        assert table.renders == before
        table.scroll_to(x=0, animate=False, immediate=True, force=True)
        await pilot.pause()
        assert [line[x:x + width].strip() for line in lines(app)[1:5]] == ["20s", "21s", "22s", "23s"]


class TickedAndFresh(App):
    """Two tables of the same columns: one lives through the changes, the other renders them afresh."""

    def __init__(self, columns: list[ColumnSpec]) -> None:
        super().__init__()
        self.columns = columns

    def compose(self):
        yield ResourceTable(self.columns, id="ticked")
        yield ResourceTable(self.columns, id="fresh")


async def _started(pilot, rows: list[TableRow], now: float) -> tuple[ResourceTable, ResourceTable]:
    """The tables of a TickedAndFresh, the ticked one showing `rows` at `now`, its lines and their parts made."""
    app = pilot.app
    ticked, fresh = app.query_one("#ticked", ResourceTable), app.query_one("#fresh", ResourceTable)
    app.set_focus(None)                         # (both draw their cursor line alike: unfocused)
    ticked.set_now(now)
    ticked.sync(rows)
    await pilot.pause()
    for y in range(1, 5):
        ticked.render_line(y)
    return ticked, fresh


def _assert_as_fresh(ticked: ResourceTable, fresh: ResourceTable, label: tuple) -> None:
    """The ticked table's four lines are, segment for segment, those the fresh one renders from nothing."""
    fresh._lines.clear()
    fresh._parts.clear()
    for y in range(1, 5):
        assert list(ticked.render_line(y)) == list(fresh.render_line(y)), (*label, y)


@pytest.mark.parametrize("size", [(14, 8), (30, 8), (44, 8), (60, 8)])
async def test_a_line_whose_age_moved_on_is_the_line_a_fresh_render_makes(size):
    """An age tick joins a line from its parts before and after the age (ResourceTable._splice); at every width
    (filled, cropped after the age, cropped within it) and on the cursor line, it must be the line a table that
    never saw the earlier age renders."""
    columns = [ColumnSpec("name", "NAME"), ColumnSpec("age", "AGE", age=True), ColumnSpec("msg", "MESSAGE")]
    now = 100_000.0
    wanted = [TableRow(f"k{i}", [Text(f"runner-{i}", "bold" if i % 2 else ""), Text(""),
                                 Text(f"message {i} [b]x[/b]", "red")], created=now - 10 - 7 * i) for i in range(4)]
    app = TickedAndFresh(columns)
    async with app.run_test(size=size) as pilot:
        ticked, fresh = await _started(pilot, wanted, now)
        for tick in (5, 10, 65):
            ticked.set_now(now + tick)
            fresh.set_now(now + tick)
            fresh.sync(wanted)
            await pilot.pause()
            _assert_as_fresh(ticked, fresh, (size, tick))
        assert ticked.renders > 4                   # (the ticks rendered lines anew, not from the line cache)


@pytest.mark.parametrize("size", [(16, 8), (24, 8), (34, 8), (41, 8), (70, 8)])
async def test_a_row_rebuilt_with_a_few_new_cells_is_the_line_a_fresh_render_makes(size):
    """A row rebuilt with most cells the very same objects (a Scale sets row at a trend sample) is joined from its
    kept stretches and its new cells (ResourceTable._splice), with its age moving on too; at every width (filled,
    cropped within or after a new cell) and on the cursor line it must be the line a table that never saw the
    earlier rows renders, and the kept cells must not be rendered again."""
    columns = [ColumnSpec("name", "NAME"), ColumnSpec("trend", "TREND"), ColumnSpec("phase", "PHASE"),
               ColumnSpec("age", "AGE", age=True), ColumnSpec("msg", "MESSAGE")]
    now = 100_000.0
    kept = [[Text(f"set-{i}", "bold" if i % 2 else ""), Text("Running", "green"), Text(""), Text(f"msg {i} 00", "red")]
            for i in range(4)]

    def rows(tick: int, msg_moves: bool) -> list[TableRow]:
        out = []
        for i, (name, phase, no_age, msg) in enumerate(kept):
            trend = Text("▁▂▃▄▅▆▇█"[(tick + i) % 8] * 4, "yellow" if (tick + i) % 3 else "green")
            message = Text(f"msg {i} {tick:02d}", "red") if msg_moves else msg      # (as wide: the same layout)
            out.append(TableRow(f"k{i}", [name, trend, phase, no_age, message], created=now - 10 - 7 * i))
        return out

    app = TickedAndFresh(columns)
    async with app.run_test(size=size) as pilot:
        ticked, fresh = await _started(pilot, rows(0, False), now)
        moved_before = False
        for tick, msg_moves in ((5, False), (10, False), (15, True), (65, True), (70, False), (75, False)):
            wanted = rows(tick, msg_moves)
            styled, spliced = ticked.cell_renders, ticked.spliced      # (the paint renders the lines in view too)
            for table in (ticked, fresh):
                table.set_now(now + tick)
                table.sync(wanted)
            await pilot.pause()
            _assert_as_fresh(ticked, fresh, (size, tick))
            # Joined from the kept stretches whenever every moving cell (trend, age, message) is wholly in view.
            ends = list(accumulate(w + 2 for w in ticked._column_widths))
            fits = ends[4 if msg_moves or moved_before else 3] <= ticked.size.width    # (back to the kept: moved)
            assert ticked.spliced - spliced == (4 if fits else 0), (size, tick)
            moved_before = msg_moves
            # Only the new cells (a trend, the messages when they moved) and ages were styled again.
            assert ticked.cell_renders - styled <= 4 * (3 if msg_moves else 2), (size, tick)


async def test_rows_rebuilt_with_a_new_cell_repaint_that_column_and_a_moved_row_its_whole_line():
    """A trend sample rebuilds every row with a new cell: the changed column is repainted over those lines, not
    the lines' whole width; the screen shows the new cells. A row that came or moved repaints whole lines."""
    painted: list = []

    class Recording(ResourceTable):
        def refresh(self, *regions, **kwargs):
            painted.append(regions)
            return super().refresh(*regions, **kwargs)

    class RecordingApp(App):
        def compose(self):
            yield Recording(COLUMNS, id="t")

    app = RecordingApp()
    async with app.run_test(size=(120, 24)) as pilot:
        table = app.query_one(ResourceTable)
        wanted = [row(i) for i in range(40)]
        table.sync(wanted)
        await pilot.pause()
        rebuilt = [TableRow(r.key, [r.cells[0], r.cells[1], Text(f"node+{i % 7}"), r.cells[3]]) for i, r in
                   enumerate(wanted)]
        painted.clear()
        table.sync(rebuilt)
        await pilot.pause()
        header = lines(app)[0]
        x = header.index("NODE") - 1                          # (the cell padding)
        regions = [region for call in painted for region in call]
        assert regions and all(region.x == x and region.width == len("node-0") + 2 for region in regions)
        assert lines(app)[1][x:].split()[0] == "node+0" and lines(app)[5][x:].split()[0] == "node+4"
        painted.clear()
        table.sync([row(99), *rebuilt])                      # a row came first: every line moved down
        await pilot.pause()
        assert painted and all(call == () or call[0].width == table.size.width for call in painted)
        assert lines(app)[1].split()[0] == "arc-runner-set-00099"


async def test_typing_a_filter_on_matches_what_a_fresh_filter_would_and_a_changed_row_is_searched_again():
    """A longer filter searches only what the shorter one matched (the rows unchanged); the result must be what a
    fresh search of every row gives, also after rows change between two keystrokes and after a backspace."""
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(ResourceTable)
        wanted = [row(i, problem="disk" if i % 3 == 0 else "") for i in range(3_000)]
        table.sync(wanted)
        await pilot.pause()

        def fresh(needle: str) -> list[str]:
            return [r.key for r in table_rows if needle in "  ".join(c.plain for c in r.cells).casefold()]

        table_rows = wanted
        for typed in ("n", "no", "nod", "node", "node-", "node-3"):
            table.set_filter(typed)
            assert table.visible_keys() == fresh(typed)
        # A row changes between two keystrokes: the next keystroke searches every row again.
        table_rows = [*wanted[:10], TableRow("k99999", [Text("new-runner"), Text("Running"), Text("node-31"),
                                                        Text("")]), *wanted[10:]]
        table.sync(table_rows)
        table.set_filter("node-31")
        assert table.visible_keys() == fresh("node-31") and "k99999" in table.visible_keys()
        table.set_filter("node-3")                       # a backspace: a wider search, not a narrower one
        assert table.visible_keys() == fresh("node-3")
        table.set_filter("disk")
        assert table.visible_keys() == fresh("disk") and len(fresh("disk")) == 1_000


async def test_a_filter_keystroke_repaints_only_the_lines_whose_row_it_changed():
    """Typing a name every row on screen shares hides none of them: no line of the table is painted again (a
    whole repaint was a third of such a keystroke at 20,000 runners). A keystroke that hides rows on screen
    repaints, and the screen shows the filter's rows."""
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(ResourceTable)
        table.sync([row(i) for i in range(2_000)] + [TableRow("other", [Text("other-thing"), Text("x")])])
        table.set_filter("arc")
        await pilot.pause()
        shown = lines(app)
        painted: list[tuple] = []
        real = table.refresh

        def refresh(*regions, **kwargs):
            painted.append((regions, kwargs))
            return real(*regions, **kwargs)

        table.refresh = refresh
        table.set_filter("arc-")                    # every row on screen still matches (only "other" goes)
        await pilot.pause()
        assert painted == [] and lines(app) == shown and table.visible_count == 2_000
        table.set_filter("arc-runner-set-0199")     # rows on screen hidden: painted, and the screen shows the 10
        await pilot.pause()
        assert painted
        assert [line.split()[0] for line in lines(app)[1:11]] == [f"arc-runner-set-{i:05}" for i in range(1990, 2000)]

"""ResourceTable: keyed reconcile keeps the cursor on its row key and the scroll where it was."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App

from arc_top.widgets.resource_table import ColumnSpec, ResourceTable, RowList, RowsDelta, TableRow
from tests.waiting import until

pytestmark = pytest.mark.asyncio

COLUMNS = [ColumnSpec("name", "NAME", flex=True, min_width=10), ColumnSpec("phase", "PHASE"),
           ColumnSpec("wide", "WIDE ONLY", min_table_width=100), ColumnSpec("msg", "MESSAGE", tail=True)]


def row(key: str, phase: str = "Running", parent: str | None = None) -> TableRow:
    return TableRow(key, [Text(f"name-{key}"), Text(phase), Text("w"), Text(f"message of {key}")], parent)


class TableApp(App):
    def compose(self):
        yield ResourceTable(COLUMNS, id="t")


async def test_update_insert_remove_keep_cursor_key():
    app = TableApp()
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(ResourceTable)
        table.sync([row(f"k{i:03}") for i in range(50)])
        await pilot.pause()
        table.move_cursor(row=30)
        await pilot.pause()
        assert table.cursor_key == "k030"
        scroll_before = table.scroll_y
        assert scroll_before > 0
        screen_offset = table.cursor_row - scroll_before
        # insert above, change the cursor row, remove others
        wanted = [row("a-new"), *[row(f"k{i:03}", "Failed" if i == 30 else "Running") for i in range(50) if i != 5]]
        table.sync(wanted)
        await pilot.pause()
        await pilot.pause()
        assert table.cursor_key == "k030"
        assert table.get_row("k030")[1].plain == "Failed"
        assert table.cursor_row - table.scroll_y == screen_offset          # the row did not move on screen
        assert table.visible_keys()[0] == "a-new"
        table.apply({"k030": None})
        await pilot.pause()
        assert not table.has_row("k030") and table.cursor_key is not None


async def test_relist_rebuild_restores_cursor_and_scroll():
    app = TableApp()
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(ResourceTable)
        table.sync([row(f"k{i:03}") for i in range(100)])
        await pilot.pause()
        table.move_cursor(row=60)
        await pilot.pause()
        offset = table.cursor_row - table.scroll_y
        # most rows replaced: a rebuild, but k060 survives
        table.sync([row(f"n{i:03}") for i in range(80)] + [row("k060")])
        await until(pilot, lambda: table.cursor_key == "k060" and table.cursor_row - table.scroll_y == offset)
        assert table.row_count == 81


async def test_filter_is_case_insensitive_substring_and_keeps_children_with_parents():
    app = TableApp()
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(ResourceTable)
        table.sync([row("alpha"), row("alpha-child", parent="alpha"), row("beta"), row("gamma")])
        await pilot.pause()
        table.set_filter("ALPHA")
        await pilot.pause()
        assert table.visible_keys() == ["alpha", "alpha-child"]
        table.set_filter("message of beta")
        assert table.visible_keys() == ["beta"]
        table.set_filter("")
        assert table.visible_keys() == ["alpha", "alpha-child", "beta", "gamma"]
        assert table.select_key("gamma") and table.cursor_key == "gamma"


def _grouped(runners: dict[str, str]) -> RowList:
    """Group rows g0..g3; each runner under its group, each runner with a pod under it. runners: key -> phase."""
    rows = RowList(row(f"g{g}", "group") for g in range(4))
    for key, phase in runners.items():
        rows += [row(key, phase, parent=f"g{int(key[1]) % 4}"), row(f"{key}-pod", phase, parent=key)]
    return rows


def _expected(rows: list[TableRow], needle: str) -> tuple[list[str], int]:
    """What the filter must show, worked out the slow way: a matching row brings its parent and its children;
    and how many of the shown rows sit under a group row (the runners, as a grouped panel's title counts)."""
    def text(r: TableRow) -> str:
        return "  ".join(cell.plain for cell in r.cells).casefold()
    hits = {r.key for r in rows if needle.casefold() in text(r)}
    parents = {r.parent for r in rows if r.key in hits}
    shown = [r.key for r in rows if r.key in hits or r.key in parents or r.parent in hits]
    by_key = {r.key: r for r in rows}
    return shown, sum(1 for key in shown if (by_key[key].parent or "").startswith("g"))


def _shown_under_groups(table: ResourceTable, total: int) -> int:
    """What Panel._grouped_counts works out: from the few hidden rows when the table names them, else counted."""
    hidden = table.hidden_rows()
    if hidden is not None:
        return total - sum(1 for r in hidden if (r.parent or "").startswith("g"))
    return sum(n for parent, n in table.visible_per_parent().items() if (parent or "").startswith("g"))


async def test_a_filter_most_rows_match_shows_and_counts_what_a_slow_search_does_while_rows_change():
    """Typing a name most rows share: the table works out the few rows it hides (a row that does not match still
    shows as a matching row's parent or child); what it shows, and the runners counted from the hidden rows, must
    be what a search of every row gives, also when rows changed by delta syncs between two keystrokes."""
    app = TableApp()
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(ResourceTable)
        runners = {f"r{i}-{n:03}": "Running" for i in range(4) for n in range(60)}
        runners["r1-900"] = "Failed"                 # a runner that does not match "name-r" pods do…
        rows = _grouped(runners)
        table.sync(rows)
        await pilot.pause()
        assert table.rows_per_parent()["g1"] == 61 and table.rows_per_parent()["r1-900"] == 1

        def check(needle: str) -> None:
            table.set_filter(needle)
            shown, under = _expected(current, needle)
            assert table.visible_keys() == shown, needle
            assert _shown_under_groups(table, sum(1 for r in current if (r.parent or "").startswith("g"))) == under

        current = rows
        for needle in ("n", "na", "name-", "name-r", "running"):     # most rows match
            check(needle)
        assert {r.key for r in table.hidden_rows() or ()} == {"r1-900", "r1-900-pod"}
        # Rows change between keystrokes (a delta sync, as the builders send under churn): a runner goes, one
        # comes, one fails; the per-parent counts follow the change without a recount.
        for step in range(3):
            changed = dict(runners)
            del changed[f"r{step}-{step:03}"]
            changed[f"r{step}-5{step:02}"] = "Running"
            changed[f"r{(step + 1) % 4}-010"] = "Failed"
            new = _grouped(changed)
            keys = {r.key for r in new} ^ {r.key for r in current} | {f"r{(step + 1) % 4}-010",
                                                                      f"r{(step + 1) % 4}-010-pod"}
            new.delta = RowsDelta(current, frozenset(keys))
            needle = table.filter_text                  # (most rows match it: "running", then "name-r")
            table.sync(new)
            current, runners = new, changed
            # The same filter over the changed rows: the changed ones searched again, the others as they were.
            assert table.visible_keys() == _expected(current, needle)[0], needle
            counted = {}
            for r in current:
                counted[r.parent] = counted.get(r.parent, 0) + 1
            assert {k: v for k, v in table.rows_per_parent().items() if v} == counted
            check("running")                        # the failed runners are hidden, their group rows are not
            check("name-r")
        check("failed")                             # few rows match: counted over the shown rows
        assert table.hidden_rows() is None


async def test_a_filter_few_rows_match_keeps_their_children_while_rows_change():
    """Typing a name few rows share: a matching runner shows with its group (parent) and its pods (children, which
    do not match themselves), also when delta syncs add, move and remove children between keystrokes (the
    children index follows each change)."""
    app = TableApp()
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(ResourceTable)

        def rows_of(failed: set[str], pods: dict[str, str]) -> RowList:
            rows = RowList(row(f"g{g}", "group") for g in range(4))
            for n in range(80):
                key = f"r{n % 4}-{n:03}"
                rows.append(row(key, "Failed" if key in failed else "Running", parent=f"g{n % 4}"))
            rows += [row(pod, "Pending", parent=owner) for pod, owner in pods.items()]
            return rows

        failed, pods = {"r1-001", "r2-002"}, {"p-a": "r1-001", "p-b": "r1-001", "p-c": "r3-003"}
        current = rows_of(failed, pods)
        table.sync(current)
        await pilot.pause()

        def check(needle: str) -> None:
            table.set_filter(needle)
            assert table.visible_keys() == _expected(current, needle)[0], needle
            assert table.hidden_rows() is None                   # few rows match: the shown ones are counted

        check("fail")
        check("failed")
        assert table.visible_keys() == ["g1", "g2", "r1-001", "r2-002", "p-a", "p-b"]
        table.set_filter("r")                                   # most rows match…
        assert table.visible_keys() == _expected(current, "r")[0] and table.hidden_rows() is not None
        for needle in ("r1-", "r1-00", "r1-001"):               # …then few, typing on
            check(needle)
        table.set_filter("failed")
        steps = [({"r1-001", "r2-002", "r3-003"}, {"p-a": "r1-001", "p-c": "r3-003", "p-d": "r2-002"}),
                 ({"r3-003"}, {"p-a": "r1-001", "p-c": "r2-002", "p-d": "r2-002"}),    # p-c moves to r2-002
                 ({"r2-002", "r3-003"}, {"p-c": "r2-002"})]
        for failed, pods in steps:
            new = rows_of(failed, pods)
            before = {r.key: r for r in current}
            keys = {r.key for r in new if before.get(r.key) != r} | (before.keys() - {r.key for r in new})
            new.delta = RowsDelta(current, frozenset(keys))
            table.sync(new)
            current = new
            assert table.visible_keys() == _expected(current, "failed")[0]
            check("failed")
        assert table.visible_keys() == ["g2", "g3", "r2-002", "r3-003", "p-c"]


async def test_columns_follow_width_and_names_shrink_in_the_middle():
    app = TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(ResourceTable)
        long = "x" * 60 + "-runner-668fh"
        table.sync([TableRow("r", [Text(long), Text("Running"), Text("w"), Text("m" * 80)])])
        await pilot.pause()
        assert [c.key for c in table.ordered_columns] == ["name", "phase", "msg"]
        shown = table.get_row("r")[0].plain
        assert shown.endswith("runner-668fh") and "…" in shown
        await pilot.resize_terminal(140, 10)
        await until(pilot, lambda: [c.key for c in table.ordered_columns] == ["name", "phase", "wide", "msg"])
        await until(pilot, lambda: table.get_row("r")[0].plain == long)


async def test_untouched_cursor_stays_on_the_first_row_when_rows_come_above():
    """The demo's first fill lists one namespace before another: the panel must not scroll to follow row 0."""
    app = TableApp()
    async with app.run_test(size=(80, 8)) as pilot:
        table = app.query_one(ResourceTable)
        table.sync([row(f"z{i:02}") for i in range(3)])
        await pilot.pause()
        assert table.cursor_key == "z00"
        table.sync([row(f"a{i:02}") for i in range(10)] + [row(f"z{i:02}") for i in range(3)])
        await pilot.pause()
        await pilot.pause()
        assert table.cursor_row == 0 and table.cursor_key == "a00" and table.scroll_y == 0
        # moved down, the cursor follows its row
        table.move_cursor(row=1)
        await pilot.pause()
        table.sync([row("0-first")] + [row(f"a{i:02}") for i in range(10)] + [row(f"z{i:02}") for i in range(3)])
        await pilot.pause()
        await pilot.pause()
        assert table.cursor_key == "a01" and table.cursor_row == 2


async def test_name_column_keeps_its_width_when_the_widest_name_leaves(monkeypatch):
    """Churn: the longest runner name comes and goes; narrowing the column re-truncated every row each time."""
    monkeypatch.setattr("arc_top.widgets.resource_table.STICKY_ROWS", 10)       # a big table, in small
    app = TableApp()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(ResourceTable)
        rows = [row(f"k{i:03}") for i in range(20)]
        table.sync([*rows, row("a-much-longer-runner-name-k999")])
        await pilot.pause()
        wide = table._flex_width
        table.sync(rows)                                  # the widest row is gone
        await pilot.pause()
        assert table._flex_width == wide
        assert table.get_row("k001")[0].plain == "name-k001"
        table.set_filter("k00")                           # a new layout: the width follows the rows again
        await pilot.pause()
        assert table._flex_width < wide


async def test_a_wide_value_in_another_column_coming_and_going_leaves_the_name_column_alone(monkeypatch):
    monkeypatch.setattr("arc_top.widgets.resource_table.STICKY_ROWS", 10)
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ResourceTable)
        rows = [row(f"runner-with-a-long-name-{i:03}") for i in range(20)]
        table.sync(rows)
        await pilot.pause()
        table.sync([*rows[:-1], row(rows[-1].key, "CrashLoopBackOff-and-more")])   # squeezes the name column
        await pilot.pause()
        squeezed = table._flex_width
        table.sync(rows)                                                           # the wide phase is gone
        await pilot.pause()
        assert table._flex_width == squeezed
        truncated = table.get_row(rows[0].key)[0]
        assert truncated is table.get_row(rows[0].key)[0] and "…" in truncated.plain


async def test_a_small_table_fits_its_rows_exactly():
    """Below STICKY_ROWS rows (scale sets, volumes of a small cluster) a column narrows when its widest value goes."""
    app = TableApp()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(ResourceTable)
        rows = [row(f"k{i:03}") for i in range(20)]
        table.sync([*rows, row("a-much-longer-runner-name-k999")])
        await pilot.pause()
        wide = table._flex_width
        table.sync(rows)
        await pilot.pause()
        assert table._flex_width < wide


@pytest.mark.filterwarnings("ignore::pytest.PytestWarning")      # (the module's asyncio mark: a plain test here)
def test_cells_are_put_together_as_rich_renders_them():
    """cell_segments builds most cells itself (the fast path) and leaves the rest to Rich: for every kind of cell
    a table shows (styles, spans, marks, wide and combining characters, hostile text, cells too wide, tabs,
    other justifications) the segments must be exactly Rich's for Padding(cell, (0, 1)) at that width."""
    from rich.console import Console
    from rich.padding import Padding
    from rich.style import Style
    from rich.text import Span

    from arc_top.widgets.resource_table import cell_segments

    console = Console(width=200, color_system="truecolor")
    options = console.options
    link = Style(link="https://example.com/x", bold=True)
    cells = [
        Text(""), Text("", style="red"), Text("Running"), Text("Running", style="green"),
        Text("✔ Running", style="green", spans=[Span(0, 1, "bold")]),
        Text("✖ Failed InvalidPod", style="bold red", spans=[Span(0, 1, "reverse"), Span(2, 8, "italic"),
                                                            Span(1, 12, "underline")]),
        Text("fleet-01-fkmtj-runner-8gbpt", spans=[Span(20, 40, "dim")]),      # a span past the end
        Text("日本語のランナー", style="blue"), Text("cafe\u0301 ⚠ ×2"), Text("[bold]not markup[/]"),
        Text("ghp_…mQmS", style=link), Text("a\tb"), Text("\x1b[31mred\x1b[0m"), Text("line\nbreak"),
        Text("right", justify="right"), Text("centre", justify="center", style="bold"),
        Text("overflow that is far too long for its column", style="yellow"),
        Text("x" * 30, overflow="ellipsis"), Text("end", end="\n"),
    ]
    fast = 0
    for cell in cells:
        for width in (2, 5, 12, cell.cell_len + 2, cell.cell_len + 9):
            expected = console.render_lines(Padding(cell, (0, 1)), options.update_dimensions(width, 1).update(
                no_wrap=True))[0]
            got = cell_segments(cell, width, console, options)
            assert got == expected, (cell, width)
            assert [s.style for s in got] == [s.style for s in expected], (cell, width)
            fast += cell.cell_len + 2 <= width and cell.plain.isprintable() and cell.justify in (None, "left")
    assert fast >= 30            # the fast path was exercised, not only Rich's


async def test_search_texts_are_made_ahead_in_chunks_and_a_filter_then_only_searches(monkeypatch):
    """warm_search makes the rows' search texts a chunk at a time; once ready, typing a filter makes none (it
    only searches) and finds what a fresh search finds. Rows that change later are made again in a new pass."""
    from arc_top.widgets import resource_table as module

    monkeypatch.setattr(module, "WARM_AGAIN_S", 3600.0)      # (no pass again by the clock until the test says so)
    app = TableApp()
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(ResourceTable)
        table.sync([row(f"k{i:04}", "Failed" if i % 7 == 0 else "Running") for i in range(3000)])
        await pilot.pause()
        made = []
        row_text = table.row_text

        def counted(key):
            made.append(key)
            return row_text(key)

        table.row_text = counted
        assert not table.search_ready
        calls = 0
        while table.warm_search(0.0):              # no time at all: one chunk per call
            calls += 1
        assert calls >= 3 and len(made) == 3000 and len(set(made)) == 3000 and table.search_ready
        assert not table.warm_search(0.0)           # nothing changed: nothing to do
        table.set_filter("failed")
        assert len(made) == 3000                    # the filter made no text: it only searched
        assert table.visible_keys() == [f"k{i:04}" for i in range(3000) if i % 7 == 0]
        table.set_filter("")
        table.apply({"k0001": row("k0001", "Failed")})
        assert not table.search_ready and not table.warm_search(1.0)   # changed, but the last pass is too recent
        monkeypatch.setattr(module, "WARM_AGAIN_S", 0.0)
        while table.warm_search(1.0):
            pass
        assert made[3000:] == ["k0001"] and table.search_ready           # only the changed row made again
        table.set_filter("failed")
        assert "k0001" in table.visible_keys() and len(made) == 3001


async def test_the_warm_pass_builds_the_children_index_in_a_call_of_its_own():
    """A filter few rows match shows their children, from an index of every row's children: the warm pass builds
    it (in a call after the texts' last chunk), so that the first key of such a filter does not."""
    app = TableApp()
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(ResourceTable)
        rows = [row(f"r{i:04}", "Failed" if i % 50 == 0 else "Running") for i in range(2000)]
        rows += [row(f"r{i:04}-pod", "Pending", parent=f"r{i:04}") for i in range(0, 2000, 10)]
        table.sync(rows)
        await pilot.pause()
        built = []
        index = table._children_index

        def counted():
            built.append(table._children[0] != table._rows_version)
            return index()

        table._children_index = counted
        calls = 0
        while table.warm_search(0.0):
            calls += 1
        assert built == [True] and calls >= 2         # built once, in the last call (no text made in it)
        table.set_filter("failed")                     # few match: their pods shown from the index, not rebuilt
        assert table.visible_keys() == _expected(rows, "failed")[0]
        assert "r0000-pod" in table.visible_keys() and built == [True, False]


async def test_rows_rebuilt_in_place_are_counted_as_a_fresh_table_counts_them():
    """Widths are counted from what changed: a row rebuilt as wide as it was (new cells or the same ones) is not
    counted again, a wider or narrower one is, a row gone is uncounted. After every sync the counts are those of a
    table that saw only the last list."""
    class Two(App):
        def compose(self):
            yield ResourceTable(COLUMNS, id="kept")
            yield ResourceTable(COLUMNS, id="fresh")

    def rebuilt(old: TableRow, phase: str | None = None, message: str | None = None) -> TableRow:
        cells = list(old.cells)                      # the same cell objects…
        if phase is not None:
            cells[1] = Text(phase)                   # …but these
        if message is not None:
            cells[3] = Text(message)
        return TableRow(old.key, cells, old.parent)

    app = Two()
    async with app.run_test(size=(120, 30)) as pilot:
        kept = app.query_one("#kept", ResourceTable)
        rows = [row(f"k{i:02}") for i in range(30)]
        steps = [
            lambda rs: [rebuilt(r) for r in rs],                                        # every row, same cells
            lambda rs: [rebuilt(r, phase="Pending") for r in rs[:10]] + rs[10:],       # as wide ("Running")
            lambda rs: [rebuilt(rs[0], phase="CrashLoopBackOff")] + rs[1:],            # wider
            lambda rs: [rebuilt(rs[0], phase="Failed")] + rs[1:],                      # narrower again
            lambda rs: [rebuilt(r, message="m" * (i % 7)) for i, r in enumerate(rs)],  # widths up and down
            lambda rs: rs[5:] + [row("k99", "ContainerCreating")],                     # gone and new
            lambda rs: [rebuilt(r, phase="Running") for r in rs],
        ]
        kept.sync(rows)
        await pilot.pause()
        for n, step in enumerate(steps * 2):
            before, rows = rows, step(rows)
            if n >= len(steps):                     # the second time round, as a builder that knows what changed
                by_key = {r.key: r for r in before}
                rows = RowList(rows)
                rows.delta = RowsDelta(before, frozenset(r.key for r in rows if by_key.get(r.key) is not r)
                                       | (by_key.keys() - {r.key for r in rows}))
            kept.sync(rows)
            await pilot.pause()
            fresh = app.query_one("#fresh", ResourceTable)
            await fresh.remove()
            fresh = ResourceTable(COLUMNS, id="fresh")
            await app.mount(fresh)
            fresh.sync(rows)
            await pilot.pause()
            assert kept._shown_columns == fresh._shown_columns, n
            assert {i: +c for i, c in kept._width_counts.items()} == \
                {i: +c for i, c in fresh._width_counts.items()}, n
            assert {key: widths for key, (_, widths) in kept._counted.items()} == \
                {key: widths for key, (_, widths) in fresh._counted.items()}, n


async def test_a_delta_carrying_its_rows_updates_the_table_in_place_and_one_that_does_not_add_up_is_not_trusted():
    """A builder's delta may carry the rows now at its keys (RowsDelta.rows) and the rows' keys (RowList.row_keys):
    the table takes the change key by key, in the list's order. A delta whose rows leave out a key still listed
    (a builder's slip) is not trusted: the table shows exactly the list all the same."""
    app = TableApp()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(ResourceTable)
        first = RowList([row(f"k{i}") for i in range(8)])
        table.sync(first)
        await pilot.pause()
        # k2 changed, k5 gone, n1 new (between k3 and k4): the delta carries k2's and n1's rows.
        second = RowList([row("k0"), row("k1"), row("k2", "Failed"), row("k3"), row("n1"), row("k4"), row("k6"),
                          row("k7")])
        second[0:2], second[3], second[6:] = first[0:2], first[3], first[6:]
        second[5] = first[4]
        second.delta = RowsDelta(first, frozenset({"k2", "k5", "n1"}), {"k2": second[2], "n1": second[4]})
        second.row_keys = [r.key for r in second]
        table.sync(second)
        await pilot.pause()
        assert table.visible_keys() == ["k0", "k1", "k2", "k3", "n1", "k4", "k6", "k7"]
        assert table.get_row("k2")[1].plain == "Failed" and not table.has_row("k5")
        assert table.total_count == 8
        # A slip: k3 rebuilt and named in the delta, but its row left out of the delta's rows.
        third = RowList(list(second))
        third[3] = row("k3", "Pending")
        third.delta = RowsDelta(second, frozenset({"k3"}), {})
        table.sync(third)
        await pilot.pause()
        assert table.visible_keys() == ["k0", "k1", "k2", "k3", "n1", "k4", "k6", "k7"]
        assert table.get_row("k3")[1].plain == "Pending"

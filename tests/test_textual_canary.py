"""The Textual internals arc-top relies on still exist, and arc-top still works without them.

widgets/textual_internals.py fences every private part of Textual that arc-top uses (PRIVATES). After a Textual
upgrade, the canaries here name what was renamed and which function of the fence needs it: fix the fence, then
move the pin in pyproject.toml. The fallback tests pretend each private is gone (as a renamed one would be) and
check the tables and the panel titles still show the right thing, the slower way. The footer (widgets/footer.py)
uses Textual's public API only; the last test here checks it still follows the focus.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import html
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from rich.text import Text
from textual.app import App
from textual.containers import Vertical
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.widget import Widget
from textual.widgets import Input, Static

from arc_top.widgets import textual_internals as internals
from arc_top.widgets.footer import KeysFooter
from arc_top.widgets.resource_table import ColumnSpec, ResourceTable, TableRow
from tests.waiting import until

TEXTUAL = version("textual")
ROOT = Path(__file__).resolve().parent.parent
FENCED_FILES = ("widgets/resource_table.py", "widgets/footer.py", "tui/panels.py")


def _why(private: internals.Private) -> str:
    return (f"Textual {TEXTUAL} has no {private.owner.__name__}.{private.name}: widgets/textual_internals.py "
            f"needs it in {private.needed_by} (without it: {private.fallback}). Update the fence, then the pin.")


# ---------------------------------------------------------------- a real Widget, mounted
class Probe(App):
    CSS = "#bordered { border: round $primary; height: 5; }"

    def compose(self):
        yield Static("body", id="bordered")


async def _probe() -> dict:
    """Instances of the owners, after mount and a first paint (some internals exist only then)."""
    app = Probe()
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        await pilot.pause()
        return {Widget: app.query_one("#bordered")}


@functools.cache
def probe() -> dict:
    return asyncio.run(_probe())


def _walk(obj: object, path: str) -> bool:
    for name in path.split("."):
        if not hasattr(obj, name):
            return False
        obj = getattr(obj, name)
    return True


@pytest.mark.parametrize("private", internals.PRIVATES, ids=lambda p: f"{p.owner.__name__}.{p.name}")
def test_textual_still_has_each_private_arc_top_uses(private: internals.Private):
    if private.kind == internals.MEMBER:
        assert hasattr(private.owner, private.name), _why(private)
    else:
        instance = probe()[private.owner]
        assert _walk(instance, private.name), _why(private)


def test_no_textual_private_is_used_outside_the_fence():
    """In the fenced files, a name starting with `_` that Textual's ScrollView or Widget also has is a mistake: a
    private used directly, or one of arc-top's own names shadowing Textual's (ResourceTable._render once shadowed
    Widget._render)."""
    facts = probe()
    names = set()
    for owner in (ScrollView, Widget, Vertical):
        names |= set(dir(owner))
    names |= set(vars(facts[Widget]))
    names |= set(vars(ScrollView()))
    textual_names = {name for name in names if name.startswith("_") and not name.startswith("__")}
    found = []
    for relative in FENCED_FILES:
        tree = ast.parse((ROOT / relative).read_text(), relative)
        for node in ast.walk(tree):
            name = node.attr if isinstance(node, ast.Attribute) else \
                node.name if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else None
            if name in textual_names:
                found.append(f"{relative}:{node.lineno}: {name}")
    assert not found, "Textual names used outside widgets/textual_internals.py:\n" + "\n".join(found)


def test_every_name_the_fence_checks_is_listed_for_the_canary():
    listed = {private.name for private in internals.PRIVATES}
    for group, paths in internals.GROUPS.items():
        assert set(paths) <= listed, f"GROUPS[{group!r}] checks names PRIVATES does not list"


# ---------------------------------------------------------------- fallbacks: as if each private were gone
COLUMNS = [ColumnSpec("name", "NAME", flex=True, min_width=10), ColumnSpec("phase", "PHASE"),
           ColumnSpec("age", "AGE", age=True)]


def row(i: int, phase: str = "Running") -> TableRow:
    return TableRow(f"k{i:02}", [Text(f"runner-{i:02}"), Text(phase), Text("")], created=1000.0 - 10 * i)


class TableApp(App):
    def __init__(self, table_class: type[ResourceTable] = ResourceTable) -> None:
        super().__init__()
        self.table_class = table_class

    def compose(self):
        yield self.table_class(COLUMNS, id="t")


async def _settle(pilot) -> None:
    for _ in range(4):
        await pilot.pause()


def painted(svg: str) -> list[str]:
    """The text of each line of a screenshot."""
    lines: dict[int, list[str]] = {}
    for match in re.finditer(r'<text [^>]*clip-path="url\(#terminal-\d+-line-(\d+)\)">(.*?)</text>', svg):
        lines.setdefault(int(match[1]), []).append(html.unescape(match[2]).replace("\xa0", " "))
    return ["".join(parts).rstrip() for _, parts in sorted(lines.items())]


def _state(app: App, table: ResourceTable) -> dict:
    screen = app.export_screenshot()
    return {
        "keys": table.visible_keys(),
        "cells": {key: [cell.plain for cell in table.get_row(key)] for key in table.visible_keys()},
        "cursor": (table.cursor_key, table.cursor_row, round(table.scroll_y)),
        "virtual_height": table.virtual_size.height,
        "painted": painted(screen),
        "screen": screen,                  # every colour too: the cursor and the header
    }


async def _exercise(table_class: type[ResourceTable] = ResourceTable) -> list[dict]:
    """A ResourceTable filled, reconciled twice (a cell, a new row at the top, a gone row, two swapped, then a
    partial change with the ages moving on), rebuilt, filtered: what it holds and paints after each step."""
    app = TableApp(table_class)
    states = []
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ResourceTable)
        table.set_now(1000.0)
        table.sync([row(i) for i in range(30)])
        await until(pilot, lambda: table.row_count == 30)
        table.move_cursor(row=12)
        await _settle(pilot)
        states.append(_state(app, table))
        order = [0, 1, 2, 3, 5, 4, *range(6, 30)]
        table.sync([row(99), *(row(i, "Failed" if i in (3, 12) else "Running") for i in order if i != 7)])
        await _settle(pilot)
        states.append(_state(app, table))
        table.set_now(1000.0 + 3600)
        table.apply({"k01": None, "k02": row(2, "Pending"), "k13": None, "k50": row(50)})
        await _settle(pilot)
        states.append(_state(app, table))
        table.sync([row(i) for i in range(60, 90)] + [row(12, "Failed")])
        await _settle(pilot)
        states.append(_state(app, table))
        table.set_filter("runner-6")
        await _settle(pilot)
        states.append(_state(app, table))
    return states


@functools.cache
def reference() -> tuple:
    """What the table shows with every internal there."""
    return tuple(asyncio.run(_exercise()))


def _line(state: dict, name: str) -> str:
    return next((line for line in state["painted"] if f" {name} " in f"{line} "), "")


def test_the_reference_run_shows_what_was_asked():
    first, moved, applied, rebuilt, filtered = reference()
    assert first["keys"] == [f"k{i:02}" for i in range(30)] and first["cursor"] == ("k12", 12, 2)
    assert _line(first, "runner-02").split() == ["runner-02", "Running", "20s"]
    assert moved["keys"][:7] == ["k99", "k00", "k01", "k02", "k03", "k05", "k04"] and "k07" not in moved["keys"]
    assert moved["cells"]["k03"][1] == "Failed" and moved["cursor"][0] == "k12"
    assert _line(moved, "runner-03").split() == ["runner-03", "Failed", "30s"] and not _line(moved, "runner-07")
    assert moved["painted"].index(_line(moved, "runner-05")) < moved["painted"].index(_line(moved, "runner-04"))
    assert applied["keys"][-1] == "k50" and {"k01", "k13"}.isdisjoint(applied["keys"])
    assert _line(applied, "runner-02").split() == ["runner-02", "Pending", "60m"]     # the ages moved on
    assert applied["virtual_height"] == len(applied["keys"]) + 1      # rows and the header
    assert rebuilt["cursor"] == ("k12", 30, 20) and len(rebuilt["keys"]) == 31    # the cursor kept its line
    assert _line(rebuilt, "runner-12").split() == ["runner-12", "Failed", "62m"]
    assert filtered["keys"] == [f"k{i}" for i in range(60, 70)]


FALLBACK_CASES = ["_scroll_update"]


@pytest.mark.parametrize("missing", FALLBACK_CASES)
def test_a_resource_table_without_a_private_shows_the_same(monkeypatch, missing: str):
    unavailable = frozenset([missing])
    monkeypatch.setattr(internals, "UNAVAILABLE", unavailable)
    assert not all(internals.supports(ResourceTable(COLUMNS), group) for group in internals.GROUPS)
    got = asyncio.run(_exercise())
    for step, (ours, theirs) in enumerate(zip(got, reference(), strict=True)):
        for what in theirs:
            assert ours[what] == theirs[what], f"without {missing}: step {step} differs in {what}"


def _scrollbar_run(monkeypatch, missing: frozenset) -> tuple[int, int, str, int]:
    """A table of 2,000 rows gains 3 rows at its end; then, at 20 rows, one more row at its end (off screen):
    (bar repaints after the first change, after the last one, the screen, the bar's virtual size)."""
    monkeypatch.setattr(internals, "UNAVAILABLE", missing)

    async def run():
        app = TableApp()
        async with app.run_test(size=(60, 12)) as pilot:
            table = app.query_one(ResourceTable)
            table.set_now(1000.0)
            table.sync([row(i) for i in range(2000)])
            await _settle(pilot)
            bar = table.vertical_scrollbar
            repaints = []
            refresh = bar.refresh

            def counted(*regions, **options):
                repaints.append(1)
                return refresh(*regions, **options)

            bar.refresh = counted
            table.apply({f"k{i}": row(i) for i in range(2000, 2003)})        # the thumb stays put
            await _settle(pilot)
            small = len(repaints)
            table.sync([row(i) for i in range(20)])
            await _settle(pilot)
            repaints.clear()
            table.apply({"k20": row(20)})                                     # 20 -> 21 rows: the thumb shrinks
            await _settle(pilot)
            return small, len(repaints), app.export_screenshot(), table.vertical_scrollbar.window_virtual_size

    return asyncio.run(run())


def test_the_scrollbar_is_repainted_only_when_its_thumb_moves(monkeypatch):
    """Rows coming and going at the end of a long table leave the thumb where it is drawn (it moves by less than
    an eighth of a cell): the bar is not painted again, as Textual's own scroll update does at every change. Enough
    rows to move the thumb, and it is; it is then drawn exactly as Textual's own update draws it."""
    small, moved, quiet_screen, virtual = _scrollbar_run(monkeypatch, frozenset())
    assert virtual == 22 and small == 0 and moved >= 1
    small, _, textual_screen, virtual = _scrollbar_run(monkeypatch, frozenset({"_scroll_update"}))
    assert virtual == 22 and small >= 1
    assert quiet_screen == textual_screen


class TitledApp(App):
    CSS = "#titled { border: round $primary; height: 5; }"

    def compose(self):
        yield Static("body", id="titled")


@pytest.mark.parametrize("missing", [frozenset(), frozenset({"_border_title"})], ids=["fast", "setter"])
def test_a_border_title_is_shown_with_or_without_the_private(monkeypatch, missing):
    monkeypatch.setattr(internals, "UNAVAILABLE", missing)

    async def run():
        app = TitledApp()
        async with app.run_test(size=(40, 8)) as pilot:
            widget = app.query_one("#titled")
            internals.set_border_title_text(widget, Text(" 2  Runners 17 "))
            await pilot.pause()
            first = app.export_screenshot()
            internals.set_border_title_text(widget, Text(" 2  Runners 18 "))
            await pilot.pause()
            return widget.border_title, first, app.export_screenshot()

    title, first, second = asyncio.run(run())
    assert title == " 2  Runners 18 "
    assert "╭─  2  Runners 17  ─" in painted(first)[0] and "╭─  2  Runners 18  ─" in painted(second)[0]


class FilterApp(App):
    CSS = "#filter { dock: bottom; height: 1; width: 16; border: none; }"

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[str] = []

    def compose(self):
        yield Static("rows", id="rows")
        yield internals.QuietInput(id="filter", compact=True)

    def on_input_changed(self, event) -> None:
        self.changes.append(event.value)


@pytest.mark.parametrize("missing", [frozenset(), frozenset({"_watch_value"})], ids=["quiet", "watcher"])
def test_a_filter_input_takes_keys_without_a_layout_of_the_screen(monkeypatch, missing):
    """QuietInput sets its width before Input's value watcher does: typing asks for no layout of the screen
    (Input's own watcher asked for one at every key). Either way the keys reach the app, the text is painted
    and a text wider than the input scrolls to its end."""
    monkeypatch.setattr(internals, "UNAVAILABLE", missing)

    async def run():
        app = FilterApp()
        async with app.run_test(size=(40, 6)) as pilot:
            field = app.query_one(internals.QuietInput)
            field.focus()
            await _settle(pilot)
            layouts = []
            refresh = field.refresh

            def counted(*regions, **options):
                layouts.append(bool(options.get("layout")))
                return refresh(*regions, **options)

            field.refresh = counted
            await pilot.press(*"runner-x")
            await _settle(pilot)
            short, typing = painted(app.export_screenshot())[-1], sum(layouts)
            await pilot.press(*"-long-name-typed")
            await _settle(pilot)
            return app.changes, typing, sum(layouts), short, painted(app.export_screenshot())[-1], field

    changes, layouts, overall, short, long, field = asyncio.run(run())
    assert changes[-1] == "runner-x-long-name-typed" and len(changes) == 24
    assert short.startswith("runner-x")
    assert "typed" in long and "runner-x" not in long             # scrolled to the end of the text
    assert field.virtual_size.width == len("runner-x-long-name-typed") + 1
    if missing:
        assert layouts == 8, "Input's own watcher: a layout at each key"
    else:
        # (One when the text first outgrows the input: its horizontal scrollbar state changes, as in Textual.)
        assert layouts == 0 and overall <= 1, f"{layouts}, {overall} layouts asked for while typing"


class FocusScreen(internals.FocusRestyle, Screen):
    """Two panes as the main screen's panels: a border that follows `:focus-within`, a note inside one pane that
    follows it too (as #scalesets:focus-within ResourceTable does), and children that do not."""
    CSS = """
    .pane { height: 1fr; border-top: solid gray; }
    .pane:focus-within { border-top: solid red; }
    #left:focus-within .note { color: green; }
    """

    def compose(self):
        for side in ("left", "right"):
            with Vertical(classes="pane", id=side):
                yield Static("note", classes="note")
                yield Static("plain")
                yield Static("plain too")
                yield Input(id=f"{side}-input")


class FocusApp(App):
    CSS = FocusScreen.CSS

    def get_default_screen(self) -> Screen:
        return FocusScreen()


@pytest.mark.parametrize("missing", [frozenset(), frozenset({"_has_focus_within"})], ids=["few", "textual"])
def test_a_focus_change_restyles_what_follows_it(monkeypatch, missing):
    """FocusRestyle restyles only the nodes a `:focus-within` rule may style (the panes and the note), not every
    node under them; either way each pane's border and the note follow the focus."""
    monkeypatch.setattr(internals, "UNAVAILABLE", missing)

    async def run():
        app = FocusApp()
        looks, restyled = [], []
        async with app.run_test(size=(40, 16)) as pilot:
            update_nodes = app.stylesheet.update_nodes

            def counted(nodes, animate=False):
                nodes = list(nodes)
                restyled.append(len(nodes))
                return update_nodes(nodes, animate=animate)

            app.stylesheet.update_nodes = counted
            for target in ("#left-input", "#right-input", "#left-input"):
                app.screen.set_focus(app.query_one(target))
                await _settle(pilot)
                looks.append((app.query_one("#left").styles.border_top[1].hex,
                              app.query_one("#right").styles.border_top[1].hex,
                              app.query_one("#left .note").styles.color.hex))
        return looks, restyled

    looks, restyled = asyncio.run(run())
    red, gray, green = "#FF0000", "#808080", "#008000"
    assert [look[:2] for look in looks] == [(red, gray), (gray, red), (red, gray)]
    assert looks[0][2] == green and looks[1][2] != green and looks[2][2] == green
    if missing:
        assert max(restyled) >= 8               # Textual's: each pane and every node under it
    else:
        assert max(restyled) <= 4               # the panes and the note


class TwoTables(App):
    """Two ResourceTables, each in a container that notes its descendants' focus messages."""

    def compose(self):
        for side in ("left", "right"):
            with Vertical(id=side):
                yield ResourceTable(COLUMNS, id=f"{side}-table")

    def on_mount(self) -> None:
        self.messages: list[tuple[str, str]] = []
        for table in self.query(ResourceTable):
            table.sync([row(i) for i in range(8)])

    def on_descendant_focus(self, event) -> None:
        self.messages.append(("focus", event.widget.id))

    def on_descendant_blur(self, event) -> None:
        self.messages.append(("blur", event.widget.id))


def test_a_table_gaining_or_losing_the_focus_repaints_its_cursor_line(monkeypatch):
    """QuietFocus: a table gaining or losing the focus does what Textual's handlers do (has_focus, a message up
    the DOM) but repaints its cursor line, not the whole table; the screen looks the same as with Textual's own
    handlers (the run without the privates)."""

    async def run():
        app = TwoTables()
        shots, whole = [], []
        async with app.run_test(size=(60, 24)) as pilot:
            await _settle(pilot)
            refresh = Widget.refresh

            def counted(self, *regions, **kwargs):
                if isinstance(self, ResourceTable) and not regions:
                    whole.append(self.id)
                return refresh(self, *regions, **kwargs)

            monkeypatch.setattr(Widget, "refresh", counted)
            for target in ("#right-table", "#left-table"):
                app.set_focus(app.query_one(target))
                await _settle(pilot)
                shots.append((app.query_one("#left-table").has_focus, app.query_one("#right-table").has_focus,
                              app.export_screenshot()))
            monkeypatch.setattr(Widget, "refresh", refresh)
        return shots, whole, app.messages

    runs = {}
    for name, missing in (("quiet", frozenset()), ("textual", frozenset({"_on_focus", "_on_blur"}))):
        monkeypatch.setattr(internals, "UNAVAILABLE", missing)
        runs[name] = asyncio.run(run())
    for shots, _, messages in runs.values():
        assert [shot[:2] for shot in shots] == [(False, True), (True, False)]
        assert {("blur", "left-table"), ("focus", "right-table"), ("blur", "right-table"),
                ("focus", "left-table")} <= set(messages)
        assert shots[0][2] != shots[1][2]       # the cursor's colours moved with the focus
    assert runs["quiet"][1] == [] and runs["textual"][1]      # Textual's handlers repaint the whole table
    assert [shot[2] for shot in runs["quiet"][0]] == [shot[2] for shot in runs["textual"][0]]


class Pane(Static, can_focus=True):
    BINDINGS = [("l", "logs", "Logs")]


class Other(Static, can_focus=True):
    BINDINGS = [("y", "yaml", "YAML")]


class FooterApp(App):
    def compose(self):
        yield Pane("a", id="a")
        yield Pane("b", id="b")
        yield Other("c", id="c")
        yield KeysFooter()


def test_the_footer_follows_focus():
    """KeysFooter listens to the screen's bindings updates (Screen.bindings_updated_signal): if Textual renamed
    or stopped publishing it, the footer would keep the keys of the first focused widget."""
    async def run():
        app = FooterApp()
        shown = []
        async with app.run_test(size=(60, 10)) as pilot:
            footer = app.query_one(KeysFooter)
            for target in ("#a", "#b", "#c", "#a"):
                app.set_focus(app.query_one(target))
                await _settle(pilot)
                shown.append(footer.render().plain)
        return shown

    shown = asyncio.run(run())
    assert ["Logs" in keys and "YAML" not in keys for keys in shown] == [True, True, False, True]
    assert "YAML" in shown[2]

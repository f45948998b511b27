"""KeysFooter: one line of keys drawn as Textual's Footer draws them, repainted in place when the keys change.

Textual's Footer recomposed (new widgets, a layout and a repaint of the whole screen) whenever the keys changed,
and a focus change between arc-top's panels changes them almost every time.
"""

from __future__ import annotations

import html
import re

import pytest
from textual.app import App
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Footer, Static

from arc_top.widgets.footer import KeysFooter

pytestmark = pytest.mark.asyncio


class Pane(Static, can_focus=True):
    BINDINGS = [Binding("l", "app.logs", "Logs", tooltip="Follow the pod's log")]


class Other(Static, can_focus=True):
    BINDINGS = [Binding("y", "app.yaml", "YAML")]


class FooterApp(App):
    def __init__(self, footer: type[Widget] = KeysFooter) -> None:
        super().__init__()
        self.footer_class = footer
        self.ran: list[str] = []

    def compose(self):
        yield Pane("a", id="a")
        yield Pane("b", id="b")
        yield Other("c", id="c")
        yield self.footer_class()

    def action_logs(self) -> None:
        self.ran.append("logs")

    def action_yaml(self) -> None:
        self.ran.append("yaml")


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.pause()


def cells(svg: str) -> list[tuple[str, str, str]]:
    """The last line of a screenshot, cell by cell: (character, text style, background)."""
    styles = dict(re.findall(r"\.(terminal-(?:\d+-)?r\d+) \{ ([^}]*) \}", svg))
    rects = [(float(x), float(y), float(w), fill) for fill, x, y, w in re.findall(
        r'<rect fill="([^"]+)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="[\d.]+" shape-rendering', svg)]
    texts = [(m[1], float(m[2]), int(m[3]), html.unescape(m[4]).replace("\xa0", " ")) for m in re.finditer(
        r'<text class="([^"]*)" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
        r'clip-path="url\(#terminal-(?:\d+-)?line-(\d+)\)">(.*?)</text>', svg)]
    width = 12.2
    last_y = max(y for _, y, _, _ in rects)
    grid: dict[int, list[str]] = {}
    for x, y, w, fill in rects:
        if y == last_y:
            for column in range(round(x / width), round((x + w) / width)):
                grid[column] = [" ", "", fill]
    last_line = max(line for _, _, line, _ in texts)
    for cls, x, line, text in texts:
        if line == last_line:
            for i, char in enumerate(text):
                cell = grid.setdefault(round(x / width) + i, [" ", "", ""])
                cell[0], cell[1] = char, styles.get(cls, "")
    return [(char, style if char != " " else "", fill) for char, style, fill in
            (grid[column] for column in sorted(grid))]


async def focus(app: App, pilot, target: str) -> KeysFooter:
    """Focus `target`, let the footer follow; the footer."""
    app.set_focus(app.query_one(target))
    await settle(pilot)
    return app.query_one(KeysFooter)


def line_of(svg: str) -> str:
    return "".join(char for char, _, _ in cells(svg))


# ---------------------------------------------------------------- what it shows: as Textual's Footer
class Keys(Static, can_focus=True):
    move = Binding.Group("Move")
    zoom = Binding.Group("Zoom", compact=True)
    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("o", "open", "Open (again: one key per action)"),
        Binding("x", "off", "Off"),
        Binding("h", "hidden", "Hidden", show=False),
        Binding("left", "previous", "Previous", group=move),
        Binding("right", "next", "Next", group=move),
        Binding("plus", "zoom_in", "In", group=zoom),
        Binding("minus", "zoom_out", "Out", group=zoom),
        Binding("k", "kept", "Kept", group=Binding.Group("Alone")),   # one action in its group: a plain key
    ]

    def check_action(self, action: str, parameters) -> bool | None:
        return None if action == "off" else True      # None: shown, disabled

    def action_open(self) -> None:
        self.app.ran.append("open")

    def action_off(self) -> None:
        self.app.ran.append("off")


class KeysApp(App):
    COMMAND_PALETTE_DISPLAY = "^p"

    def __init__(self, footer: type[Widget]) -> None:
        super().__init__()
        self.footer_class = footer
        self.ran: list[str] = []

    def compose(self):
        yield Keys("keys", id="keys")
        yield self.footer_class()

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#keys"))


async def footer_cells(footer: type[Widget], width: int) -> list[tuple[str, str, str]]:
    app = KeysApp(footer)
    async with app.run_test(size=(width, 6)) as pilot:
        await settle(pilot)
        return cells(app.export_screenshot())


async def test_the_line_is_textual_footers_cell_for_cell():
    """Keys, descriptions, paddings, a disabled key, grouped keys (plain and compact), the palette key at the
    right after its separator: same characters, colours and backgrounds as Textual's Footer."""
    theirs = await footer_cells(Footer, 120)
    ours = await footer_cells(KeysFooter, 120)
    text = "".join(char for char, _, _ in ours)
    assert text.startswith(" ⏎ Open  x Off  ← → Move  +- Zoom  k Kept ") and text.endswith("▏^p palette ")
    assert "Hidden" not in text and "again" not in text
    assert ours == theirs


async def test_a_disabled_key_is_dim():
    app = KeysApp(KeysFooter)
    async with app.run_test(size=(120, 6)) as pilot:
        await settle(pilot)
        footer = app.query_one(KeysFooter)
        line = footer.render()
        off = line.plain.index("Off")
        assert line.get_style_at_offset(app.console, off).dim
        assert line.get_style_at_offset(app.console, off - 2).dim                    # its key too
        assert not line.get_style_at_offset(app.console, line.plain.index("Open")).dim
        painted = cells(app.export_screenshot())
        enabled, disabled = painted[line.plain.index("Open")], painted[off]
        assert disabled[1] != enabled[1]        # dim is painted: another colour than an enabled description


# ---------------------------------------------------------------- a focus change: a repaint of one line only
async def test_a_focus_change_repaints_the_footer_line_and_lays_out_nothing(monkeypatch):
    app = FooterApp()
    async with app.run_test(size=(60, 10)) as pilot:
        footer = await focus(app, pilot, "#a")
        assert "l Logs" in footer.render().plain and not footer.children
        calls: list[tuple[str, str]] = []
        refresh, mount = Widget.refresh, Widget.mount

        def counting_refresh(self, *regions, layout=False, recompose=False, **kwargs):
            calls.append((type(self).__name__, "layout" if layout or recompose else "repaint"))
            return refresh(self, *regions, layout=layout, recompose=recompose, **kwargs)

        def counting_mount(self, *widgets, **kwargs):
            calls.append((type(self).__name__, "mount"))
            return mount(self, *widgets, **kwargs)

        monkeypatch.setattr(Widget, "refresh", counting_refresh)
        monkeypatch.setattr(Widget, "mount", counting_mount)
        app.set_focus(app.query_one("#b"))               # the same keys: the footer does nothing
        await settle(pilot)
        assert ("KeysFooter", "repaint") not in calls
        app.set_focus(app.query_one("#c"))               # other keys: one repaint of the footer
        await settle(pilot)
        assert "y YAML" in footer.render().plain and "Logs" not in footer.render().plain
        assert "y YAML" in line_of(app.export_screenshot())
        assert calls.count(("KeysFooter", "repaint")) == 1
        assert [call for call in calls if call[1] != "repaint"] == []
        assert not footer.children


async def test_keys_that_come_back_reuse_their_line_and_a_theme_change_draws_it_again():
    """`tab` between two panels swaps their keys back and forth: each line is drawn once (render is not called
    again), shown as it was; a new theme draws it again in the theme's colours."""
    app = FooterApp()
    async with app.run_test(size=(60, 10)) as pilot:
        footer = await focus(app, pilot, "#a")
        first = cells(app.export_screenshot())
        await focus(app, pilot, "#c")
        drawn: list[str] = []
        render = footer.render

        def counting_render():
            drawn.append("render")
            return render()

        footer.render = counting_render
        await focus(app, pilot, "#a")
        assert cells(app.export_screenshot()) == first and drawn == []
        await focus(app, pilot, "#c")
        assert "y YAML" in line_of(app.export_screenshot()) and drawn == []
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await settle(pilot)
        assert drawn
        await focus(app, pilot, "#a")
        themed = cells(app.export_screenshot())
        assert [char for char, _, _ in themed] == [char for char, _, _ in first]
        assert [fill for _, _, fill in themed] != [fill for _, _, fill in first]


async def test_no_keys_change_while_the_terminal_has_no_focus():
    """As Textual's Footer: the focused widget is blurred when the terminal loses focus; its keys stay."""
    app = FooterApp()
    async with app.run_test(size=(60, 10)) as pilot:
        footer = await focus(app, pilot, "#a")
        app.app_focus = False
        app.set_focus(app.query_one("#c"))
        await settle(pilot)
        assert "l Logs" in footer.render().plain
        app.app_focus = True
        app.screen.refresh_bindings()
        await settle(pilot)
        assert "y YAML" in footer.render().plain


# ---------------------------------------------------------------- strings, the mouse, a narrow terminal
class Hostile(Static, can_focus=True):
    BINDINGS = [Binding("x", "x", "[bold red]not bold[/] \x1b[31mred\x1b[0m"),
                Binding("z", "z", "[link=https://example.com]link[/link]", key_display="[b]Z[/b]")]


class HostileApp(App):
    def compose(self):
        yield Hostile("h", id="h")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#h"))


async def test_a_hostile_key_description_is_shown_literally():
    app = HostileApp()
    async with app.run_test(size=(100, 6)) as pilot:
        await settle(pilot)
        painted = line_of(app.export_screenshot())
        assert "[bold red]not bold[/] " in painted and "[link=https://example.com]link[/link]" in painted
        assert " [b]Z[/b] " in painted
        assert "\x1b" not in app.query_one(KeysFooter).render().plain


async def test_a_click_on_a_key_runs_its_action():
    app = FooterApp()
    async with app.run_test(size=(60, 10)) as pilot:
        footer = await focus(app, pilot, "#a")
        column = footer.render().plain.index("Logs")
        await pilot.click(KeysFooter, offset=(column, 0))
        await settle(pilot)
        assert app.ran == ["logs"]
        await pilot.click(KeysFooter, offset=(59, 0))     # past the keys: nothing
        await settle(pilot)
        assert app.ran == ["logs"]


async def test_a_click_on_a_disabled_key_runs_nothing():
    app = KeysApp(KeysFooter)
    async with app.run_test(size=(120, 6)) as pilot:
        await settle(pilot)
        footer = app.query_one(KeysFooter)
        await pilot.click(KeysFooter, offset=(footer.render().plain.index("Off"), 0))
        await pilot.click(KeysFooter, offset=(footer.render().plain.index("Open"), 0))
        await settle(pilot)
        assert footer.key_at(footer.render().plain.index("Off")).key == "x"
        assert app.ran == ["open"]


async def test_the_key_under_the_pointer_is_highlighted_with_its_tooltip():
    app = FooterApp()
    async with app.run_test(size=(60, 10)) as pilot:
        footer = await focus(app, pilot, "#a")
        column = footer.render().plain.index("Logs")
        before = cells(app.export_screenshot())[column]
        await pilot.hover(KeysFooter, offset=(column, 0))
        await settle(pilot)
        assert cells(app.export_screenshot())[column][2] != before[2]     # the hover background
        assert footer.tooltip == "Follow the pod's log"


class Many(Static, can_focus=True):
    BINDINGS = [Binding(key, f"k{key}", f"Key {key} description") for key in "abcdefghij"]


class ManyApp(App):
    COMMAND_PALETTE_DISPLAY = "^p"
    BINDINGS = [Binding("ctrl+p", "command_palette", "Jump to", show=False)]

    def compose(self):
        yield Many("m", id="m")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#m"))


TWO = " a Key a description  b Key b description "


@pytest.mark.parametrize(("width", "left"), [
    (80, TWO + " c Key c description  d K…"),      # the first key that does not fit: cut in its description
    (66, TWO + " c Key c de…"),
    (56, TWO + "… "),                                # no room for one character of it: an ellipsis instead
    (54, TWO[:-1] + "…"),
    (12, ""),                                        # the palette key alone
], ids=["80", "66", "56", "54", "12"])
async def test_keys_that_do_not_fit_end_in_an_ellipsis_on_one_line(width, left):
    """Keys that fit are whole; the palette key stays at the right; one line, never wrapped."""
    app = ManyApp()
    async with app.run_test(size=(width, 8)) as pilot:
        await settle(pilot)
        footer = app.query_one(KeysFooter)
        assert footer.size.height == 1 and footer.region.bottom == 8
        assert line_of(app.export_screenshot()) == left + "▏^p Jump to "
        if left:
            assert footer.key_at(left.index(" b ") + 1).key == "b"
            assert footer.key_at(left.index("…")) is None or footer.key_at(left.index("…")).key != "j"
        assert footer.key_at(width - 3).key == "ctrl+p"


class Rebindable(Static, can_focus=True):
    BINDINGS = [Binding("l", "app.logs", "Logs", id="test.logs")]


class KeymapApp(FooterApp):
    def compose(self):
        yield Rebindable("r", id="r")
        yield KeysFooter()


async def test_a_rebound_key_is_shown_and_clicked_as_its_new_key():
    app = KeymapApp()
    app.set_keymap({"test.logs": "ctrl+g"})
    async with app.run_test(size=(60, 10)) as pilot:
        footer = await focus(app, pilot, "#r")
        assert footer.render().plain.startswith(" ^g Logs ")
        await pilot.click(KeysFooter, offset=(footer.render().plain.index("Logs"), 0))
        await settle(pilot)
        assert app.ran == ["logs"]


class Wide(Static, can_focus=True):
    BINDINGS = [Binding(key, f"app.k{key}", "日本語の説明") for key in "abcde"]


class WideApp(App):
    def compose(self):
        yield Wide("w", id="w")
        yield KeysFooter(show_command_palette=False)


async def test_wide_characters_are_counted_in_cells():
    app = WideApp()
    async with app.run_test(size=(40, 6)) as pilot:
        footer = await focus(app, pilot, "#w")
        line = footer.render()
        assert line.cell_len == 40 and line.plain.startswith(" a 日本語の説明  b 日本語の説明 ")
        assert line.plain.rstrip().endswith("…")
        assert footer.key_at(17).key == "b" and footer.key_at(30).key == "b"   # " b " starts at column 16

"""The keys line at the bottom of every screen: one widget, repainted in place when the keys change.

Textual's Footer is a container of one FooterKey widget per key and recomposes at every bindings update. A focus
change is one, and moving between the five panels changes the keys shown almost every time (`enter Scope` only on
Scale sets, `i Details` on Findings, `f Fix` not on Events), so each `tab` or `1`-`5` mounted new widgets: a layout
of the screen and a repaint of all of it (15-30 ms at 200x60 with 5,000 runners, on top of the key's own work).

KeysFooter draws the same line as one `Text`: each key in the `footer-key--key` style with its padding, its
description after it, disabled keys dim, bindings of a group as their keys and the group's description, and the
command palette key at the right, after a thin separator, as Textual's Footer lays them out (its DEFAULT_CSS is
mirrored below with the same theme variables). When the screen's bindings change it works out the keys it would
show; if they differ from those shown it repaints its one line (`refresh()`: no layout, nothing mounted), else it
does nothing. A click on a key presses that key (a disabled one rings the bell), the key under the pointer is
highlighted and its tooltip shown. The line never wraps: keys that do not fit end in an ellipsis, the palette key
staying at the right.

(A focus change still repaints the whole screen once: Textual's `Screen.focused` is a reactive that repaints the
screen. That is Textual's, not the footer's.)
"""

from __future__ import annotations

from itertools import groupby
from typing import NamedTuple

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

from arc_top.widgets.text import clean_line

SEPARATOR = "▏"   # the palette key's left border (Textual's Footer: `border-left: vkey`)
DRAWN_KEPT = 16   # lines drawn kept for reuse (KeysFooter.render_lines)


class ShownKey(NamedTuple):
    """One key the footer shows."""
    key: str              # what a click presses
    display: str          # how the key is shown (App.get_key_display: a keymap's key, `^p`, `⏎`)
    description: str
    enabled: bool
    tooltip: str


class ShownGroup(NamedTuple):
    """Bindings of one group (Binding.group, two actions or more): their keys, then the group's description."""
    keys: tuple[ShownKey, ...]
    description: str
    compact: bool


class Span(NamedTuple):
    """Where a key is drawn: columns start to end; `least`: the columns from start it needs to show its key and
    one character of its description (its whole width when it has none)."""
    start: int
    end: int
    key: ShownKey
    least: int


class KeysFooter(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {
        "footer-key--key",
        "footer-key--description",
        "footer-key--item",
        "footer-key--hover",
        "footer-key--disabled",
        "footer-key--separator",
        "footer--group-description",
    }
    DEFAULT_CSS = """
    KeysFooter {
        dock: bottom;
        width: 1fr;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        text-wrap: nowrap;
        text-overflow: clip;
        .footer-key--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
            padding: 0 1;
        }
        .footer-key--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
            padding: 0 1 0 0;
        }
        .footer-key--item {
            background: $footer-item-background;
        }
        .footer-key--hover {
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
        .footer-key--disabled {
            text-style: dim;
        }
        .footer-key--separator {
            color: $foreground 20%;
        }
        .footer--group-description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, *, show_command_palette: bool = True, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.show_command_palette = show_command_palette
        self.shown: tuple[ShownKey | ShownGroup, ...] = ()  # the keys, left to right
        self.palette_key: ShownKey | None = None            # docked at the right
        self._spans: list[Span] = []                        # each key's columns in the last line drawn
        self._hover_x: int | None = None
        # The lines drawn for (keys, palette key, hover, size, crop): `tab` between two panels swaps their keys back
        # and forth, and drawing the line (component styles, a Text made into a line) cost 1-2 ms each time.
        self._drawn: dict[tuple, tuple[list[Strip], list[Span]]] = {}

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        """The screen's bindings changed (a focus change, a binding refreshed): repaint if the keys did."""
        # As Textual's Footer: while the terminal has no focus the focused widget is blurred, its keys gone from
        # the bindings; keep showing them.
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        shown, palette_key = self.keys_of(screen)
        if shown == self.shown and palette_key == self.palette_key:
            return
        self.shown, self.palette_key = shown, palette_key
        self.refresh()

    def keys_of(self, screen: Screen) -> tuple[tuple[ShownKey | ShownGroup, ...], ShownKey | None]:
        """What Textual's Footer would show for `screen`: the first shown binding of each action, in order, the
        bindings of a group of two actions or more together, and the command palette's binding."""
        app = self.app
        active = screen.active_bindings
        by_action: dict[str, list] = {}
        for _, binding, enabled, tooltip in active.values():
            if binding.show:
                by_action.setdefault(binding.action, []).append((binding, enabled, tooltip))

        def key(binding, enabled: bool, tooltip: str, description: str) -> ShownKey:
            return ShownKey(binding.key, clean_line(app.get_key_display(binding)), clean_line(description),
                             enabled, tooltip)

        shown: list[ShownKey | ShownGroup] = []
        for group, run in groupby(by_action.values(), lambda bindings: bindings[0][0].group):
            firsts = [bindings[0] for bindings in run]
            if group is not None and len(firsts) > 1:
                keys = tuple(key(binding, enabled, tooltip or binding.description, "")
                             for binding, enabled, tooltip in firsts)
                shown.append(ShownGroup(keys, clean_line(group.description), group.compact))
            else:
                shown.extend(key(binding, enabled, tooltip, binding.description)
                             for binding, enabled, tooltip in firsts)
        palette_key = None
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE:
            entry = active.get(app.COMMAND_PALETTE_BINDING)
            if entry is not None:
                _, binding, enabled, _ = entry
                palette_key = key(binding, enabled, binding.tooltip or binding.description, binding.description)
        return tuple(shown), palette_key

    # ---------------------------------------------------------------- drawing
    def render_lines(self, crop: Region) -> list[Strip]:
        key = (self.shown, self.palette_key, self._hover_x, self.size, crop)
        drawn = self._drawn.get(key)
        if drawn is not None:
            self._spans = drawn[1]
            return list(drawn[0])
        lines = super().render_lines(crop)
        if len(self._drawn) >= DRAWN_KEPT:
            self._drawn.clear()
        self._drawn[key] = (list(lines), self._spans)
        return lines

    def notify_style_update(self) -> None:
        """A theme or style change: every line is drawn again."""
        super().notify_style_update()
        self._drawn.clear()

    def _style(self, component: str) -> Style:
        """A component's colours and text style, with no background where the component's is transparent (the
        key's item or hover background then shows through, as it does under a FooterKey's label)."""
        full = self.get_component_rich_style(component)
        partial = self.get_component_rich_style(component, partial=True)
        return partial.without_color + Style(color=full.color if partial.color is not None else None,
                                             bgcolor=full.bgcolor if partial.bgcolor is not None else None)

    def render(self) -> Text:
        width = self.size.width
        styles = {name: self._style(name) for name in self.COMPONENT_CLASSES}
        key_padding = self.get_component_styles("footer-key--key").padding
        description_padding = self.get_component_styles("footer-key--description").padding

        left, left_spans = Text(end="", no_wrap=True), []
        for item in self.shown:
            if isinstance(item, ShownGroup):   # Textual's KeyGroup: the keys bare, with margins, then a label
                if item.compact:
                    left.append(" ")
                for key in item.keys:
                    if not item.compact:
                        left.append(" ")
                    left_spans.append(self._append_key(left, 0, styles, key, [(key.display, "footer-key--key")]))
                left.append(" ")
                left.append(item.description, styles["footer--group-description"])
                left.append(" ")
            elif item.description:
                key_text = " " * key_padding.left + item.display + " " * key_padding.right
                left_spans.append(self._append_key(left, 0, styles, item, [
                    (key_text, "footer-key--key"),
                    (" " * description_padding.left + item.description + " " * description_padding.right,
                     "footer-key--description")], least=cell_len(key_text) + description_padding.left + 1))
            else:
                left_spans.append(self._append_key(left, 0, styles, item, [(item.display, "footer-key--key")]))

        right, right_spans = Text(end="", no_wrap=True), []
        key = self.palette_key
        if key is not None:     # compact, as Textual's Footer draws it: no padding around the key
            parts = [(SEPARATOR, "footer-key--separator"), (key.display, "footer-key--key")]
            if key.description:
                parts.append((" " + key.description, "footer-key--description"))
            parts.append((" ", ""))
            right_offset = width - sum(cell_len(text) for text, _ in parts)
            right_spans.append(self._append_key(right, right_offset, styles, key, parts))
            if right.cell_len > width:     # narrower than the palette key alone: the other keys only
                right, right_spans = Text(end="", no_wrap=True), []

        room = width - right.cell_len
        if left.cell_len > room:
            left_spans = self._truncate(left, left_spans, room, styles["footer-key--description"])
        left.pad_right(room - left.cell_len)
        self._spans = left_spans + right_spans
        line = Text.assemble(left, right, end="", no_wrap=True)
        line.stylize_before(self.rich_style)
        return line

    @staticmethod
    def _truncate(left: Text, spans: list[Span], room: int, ellipsis_style: Style) -> list[Span]:
        """Cut the keys to `room` columns, never inside a key's own text: the first key that does not fit keeps
        its key and the start of its description, cut with an ellipsis (`? He…`), or, with no room for one
        character of it, goes, an ellipsis in its place (`f Fix …`). Only padding cut: no ellipsis. Returns the
        spans still shown."""
        if room <= 0:
            left.truncate(0)
            return []
        if cell_len(left.plain.rstrip()) <= room:
            left.truncate(room)
            return [span._replace(end=min(span.end, room)) for span in spans if span.start < room]
        cut = next((span for span in spans if span.end > room), None)
        if cut is None or cut.start + cut.least + 1 <= room:   # cut in a group's description, or in this one's
            left.truncate(room, overflow="ellipsis")
            return [span._replace(end=min(span.end, room - 1)) for span in spans if span.start < room - 1]
        end = min(cut.start, room - 1)
        left.truncate(end)
        left.append("…", ellipsis_style)
        return [span._replace(end=min(span.end, end)) for span in spans if span.start < end]

    def _append_key(self, line: Text, offset: int, styles: dict[str, Style], key: ShownKey,
                    parts: list[tuple[str, str]], least: int | None = None) -> Span:
        """Append a key's parts (text, component) to `line`, over its item background (or the hover one if the
        pointer is on it; dim if disabled). `offset`: the column `line` starts at."""
        start = offset + line.cell_len
        end = start + sum(cell_len(text) for text, _ in parts)
        hovered = self._hover_x is not None and start <= self._hover_x < end
        under = styles["footer-key--hover" if hovered else "footer-key--item"]
        if not key.enabled:
            under = under + styles["footer-key--disabled"]
        for text, component in parts:
            line.append(text, under + styles[component] if component else under)
        return Span(start, end, key, end - start if least is None else least)

    # ---------------------------------------------------------------- the mouse
    def key_at(self, x: int) -> ShownKey | None:
        """The key drawn at column `x` (in the last line drawn)."""
        return next((span.key for span in self._spans if span.start <= x < span.end), None)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        key = self.key_at(event.x)
        if key is None:
            return
        event.stop()
        if key.enabled:
            self.app.simulate_key(key.key)
        else:
            self.app.bell()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._hover(event.x)

    def on_leave(self, event: events.Leave) -> None:
        self._hover(None)

    def _hover(self, x: int | None) -> None:
        """Highlight the key under the pointer and show its tooltip; repaint only when that key changes."""
        before = self.key_at(self._hover_x) if self._hover_x is not None else None
        after = self.key_at(x) if x is not None else None
        self._hover_x = x
        if after is not before:
            self.tooltip = after.tooltip or None if after is not None else None
            self.refresh()

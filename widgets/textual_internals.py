"""Every private part of Textual that arc-top uses, behind one fence.

Panel repaints only its title line, ResourceTable grows its row count and a filter's input takes a key without
a layout pass of the whole screen, and a focus change restyles only what its focus can restyle and repaints a
table's cursor line, not the table. Each needs an internal of Textual (Widget's stored border title, scroll
update and focus handlers, Input's value watcher, Screen's focus restyle and the nodes' focus-within flag), and
a Textual release may rename any of them. So they are read and
written here only, and each function falls back to Textual's public API when its private is gone: slower (the
whole screen laid out again, a panel repainted or restyled whole), never an exception. `PRIVATES` lists them as
data, and tests/test_textual_canary.py checks each still exists in the installed Textual, so an upgrade fails
one clear test instead of quietly getting slower.

(ResourceTable used to be a DataTable and needed a dozen of its internals; it is a Line API widget now and
needs none. KeysFooter used to subclass Footer and needed its readiness flag and its `bindings_changed` hook; it
is one widget drawing its line now, on Textual's public API only.)
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from rich.text import Text
from textual import events
from textual.content import Content
from textual.dom import DOMNode
from textual.geometry import Region, Size
from textual.screen import Screen
from textual.scrollbar import ScrollBar
from textual.widget import Widget
from textual.widgets import Input

ATTRIBUTE = "attribute"   # set in __init__: checked on an instance
MEMBER = "member"         # a method, property or reactive: checked on the class


@dataclass(frozen=True)
class Private:
    owner: type
    name: str
    kind: str
    needed_by: str    # the functions here that use it
    fallback: str     # what they do when it is gone


PRIVATES: tuple[Private, ...] = (
    Private(Widget, "_scroll_update", MEMBER, "set_virtual_size_quietly",
            "the virtual_size setter (a layout of the screen when rows come or go)"),
    Private(Widget, "_border_title", ATTRIBUTE, "set_border_title_text",
            "the border_title setter (repaints the whole widget)"),
    Private(Input, "_watch_value", MEMBER, "QuietInput",
            "Input's own value watcher alone (a layout of the screen at every key typed in a filter)"),
    Private(Screen, "_update_focus_styles", MEMBER, "FocusRestyle",
            "Screen's own focus restyle (every node of the panels losing and gaining the focus)"),
    Private(Widget, "_has_focus_within", ATTRIBUTE, "FocusRestyle",
            "Screen's own focus restyle (every node of the panels losing and gaining the focus)"),
    Private(Widget, "_on_focus", MEMBER, "QuietFocus",
            "Widget's own focus handler (the whole widget repainted when it gains the focus)"),
    Private(Widget, "_on_blur", MEMBER, "QuietFocus",
            "Widget's own blur handler (the whole widget repainted when it loses the focus)"),
)

# Names the functions below need together; a group is used only when all of its names are there.
GROUPS: dict[str, tuple[str, ...]] = {
    "scroll_update": ("_scroll_update",),
    "border_title": ("_border_title",),
    "input_value": ("_watch_value",),
    "focus_styles": ("_update_focus_styles", "_has_focus_within"),
    "focus_handlers": ("_on_focus", "_on_blur"),
}

# Tests put names here to check the fallbacks (as if this Textual had renamed them).
UNAVAILABLE: frozenset[str] = frozenset()

_MEMBERS = {private.name for private in PRIVATES if private.kind == MEMBER}
_ABSENT = object()
_supported: dict[tuple, bool] = {}


def _present(obj: object, path: str) -> bool:
    """`obj` has `path` (an attribute, or a dotted path of them), and no test pretends it has not."""
    if path in UNAVAILABLE:
        return False
    for name in path.split("."):
        if name in UNAVAILABLE:
            return False
        if name in _MEMBERS:
            if not hasattr(type(obj), name):   # on the class: a property is not evaluated
                return False
            continue
        obj = getattr(obj, name, _ABSENT)
        if obj is _ABSENT:
            return False
    return True


def supports(obj: object, group: str) -> bool:
    """All the internals of `group` are there (checked once per class: instances share their attributes)."""
    key = (type(obj), group, UNAVAILABLE)
    ok = _supported.get(key)
    if ok is None:
        ok = _supported[key] = all(_present(obj, path) for path in GROUPS[group])
    return ok


# ---------------------------------------------------------------- Widget
def set_virtual_size_quietly(widget: Widget, size: Size) -> bool:
    """Set the virtual size without a layout pass of the whole screen (the setter does one), only the scrollbars
    following. False when that is not possible: set it as usual then."""
    if not supports(widget, "scroll_update"):
        return False
    widget.set_reactive(type(widget).virtual_size, size)
    if not _follow_vertical_scrollbar(widget, size):
        widget._scroll_update(size)
    return True


def _follow_vertical_scrollbar(widget: Widget, size: Size) -> bool:
    """A widget with a vertical scrollbar alone: the bar's sizes set, and the bar repainted only if its thumb is
    drawn differently. (Textual's scroll update repaints the bar at each change: a table of 20,000 runners gains
    and loses rows at every flush under churn, and the bar's 55 lines at 200x60 were painted again each time for a
    thumb that moved by less than an eighth of a cell: 8-20 ms around each key pressed.) False: not that case, or
    the bar may come or go (Textual's scroll update decides that)."""
    if widget.show_horizontal_scrollbar or not widget.show_vertical_scrollbar or \
            size.height <= widget.container_size.height:
        return False
    bar = widget.vertical_scrollbar
    before = _thumb(bar)
    bar.set_reactive(ScrollBar.window_virtual_size, size.height)
    bar.set_reactive(ScrollBar.window_size, widget.container_size.height - widget.scrollbar_size_horizontal)
    if _thumb(bar) != before:
        bar.refresh()
    widget.scroll_y = widget.validate_scroll_y(widget.scroll_y)     # (fewer rows may end the scroll sooner)
    return True


def _thumb(bar: ScrollBar) -> tuple:
    """What a vertical scrollbar draws: its height and its thumb's ends in eighths of a cell, as Textual's
    ScrollBarRender works them out (the bar's glyphs are eighths); the raw sizes when it draws no thumb."""
    height = bar.size.height
    virtual = ceil(bar.window_virtual_size)
    window = ceil(bar.window_size) if bar.window_size < bar.window_virtual_size else 0
    if not (window and height and virtual and height != virtual and virtual > window):
        return (height, virtual, window, bar.position)
    thumb = max(1.0, window / (virtual / height))
    start = int((height - thumb) * (bar.position / (virtual - window)) * 8)
    return (height, start, start + ceil(thumb * 8))


class QuietInput(Input):
    """An Input that takes a key without a layout pass of the whole screen. Input's value watcher sets the
    virtual size to the text's width, and that setter lays out the screen: typing a filter at 200x60 with
    20,000 runners, each key cost a layout and a repaint of every panel (10-35 ms). Here the width is set
    first, quietly (the scrollbars and the horizontal scroll follow it), so Input's watcher finds it unchanged;
    the value's own repaint is Input's. An input whose width follows its text (auto) is laid out as before."""

    def _watch_value(self, value: str) -> None:
        if not self.styles.auto_dimensions and supports(self, "input_value"):
            set_virtual_size_quietly(self, Size(self.content_width, 1))
        watch = getattr(super(), "_watch_value", None)
        if watch is not None:
            watch(value)


class FocusRestyle:
    """A Screen mixin: a focus change restyles only the nodes whose styles can follow it. Textual restyles every
    node under the outermost `:focus-within` ancestor of the widgets gaining and losing the focus: at each `tab`
    both panels whole (their state line, table, scrollbars, filter input and the component classes of each,
    some 34 nodes, 5-7 ms at 200x60). A node's style can follow an ancestor's `:focus-within` only through a rule
    naming `:focus-within`, and Textual flags a node that any such rule may apply to (`_has_focus_within`): those
    are the nodes restyled here. (`:focus` itself is Textual's: the widget restyles when its has_focus changes.)"""

    def _update_focus_styles(self, focused: Widget | None = None, blurred: Widget | None = None) -> None:
        if not supports(self, "focus_styles"):
            restyle = getattr(super(), "_update_focus_styles", None)
            if restyle is not None:
                restyle(focused, blurred)
            return
        nodes: set[DOMNode] = set()
        for widget in (focused, blurred):
            if widget is None:
                continue
            for node in reversed(widget.ancestors_with_self):
                if node._has_focus_within:
                    nodes.update(child for child in node.walk_children(with_self=True) if child._has_focus_within)
                    break
        if nodes:
            self.app.stylesheet.update_nodes(nodes, animate=True)


class QuietFocus:
    """A Widget mixin: gaining or losing the focus repaints what the widget's `has_focus` watcher repaints (the
    widget draws its focused look itself: a table its cursor line), not the whole widget. Textual's handlers
    (`Widget._on_focus`, `_on_blur`) set `has_focus`, repaint the whole widget and tell the parent; at each `tab`
    that was two whole tables and the lines under them (a third of a focus change's paint at 200x60). Here they
    do the same but the repaint. (Textual calls these handlers by name, most derived class first: when it no
    longer has them, it calls neither, and its own focus handling is unchanged.)"""

    def _on_focus(self, event: events.Focus) -> None:
        if not supports(self, "focus_handlers"):
            return                              # Textual's own handler runs next
        event.prevent_default()
        self.has_focus = True
        if self.parent is not None:
            self.parent.post_message(events.DescendantFocus(self))

    def _on_blur(self, event: events.Blur) -> None:
        if not supports(self, "focus_handlers"):
            return
        event.prevent_default()
        self.has_focus = False
        if self.parent is not None:
            self.parent.post_message(events.DescendantBlur(self))


def set_border_title_text(widget: Widget, title: Text) -> None:
    """What `widget.border_title = title` does, repainting the top border line only: the setter repaints the
    whole widget (a panel's table included, 40 lines at 200x60). The title is kept in `_border_title`; refresh
    regions are relative to the content, so the border line is at -content_offset."""
    if not widget.is_mounted or not supports(widget, "border_title"):
        widget.border_title = title
        return
    widget._border_title = widget.render_str(Content.from_rich_text(title)).expand_tabs(4).split()[0]
    offset = widget.content_offset
    widget.refresh(Region(-offset.x, -offset.y, widget.outer_size.width, 1))


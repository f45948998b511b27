"""Every private part of Textual that arc-top uses, behind one fence.

Panel repaints only its title line, ResourceTable grows its row count and a filter's input takes a key without
a layout pass of the whole screen. Each needs an internal of Textual (Widget's stored border title and scroll
update, Input's value watcher), and a Textual release may rename any of them. So they are read and written here
only, and each function falls back to Textual's public API when its private is gone: slower (the whole screen is
laid out again, a panel repainted whole), never an exception. `PRIVATES` lists them as data, and
tests/test_textual_canary.py checks each still exists in the installed Textual, so an upgrade fails one clear
test instead of quietly getting slower.

(ResourceTable used to be a DataTable and needed a dozen of its internals; it is a Line API widget now and
needs none. KeysFooter used to subclass Footer and needed its readiness flag and its `bindings_changed` hook; it
is one widget drawing its line now, on Textual's public API only.)
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.content import Content
from textual.geometry import Region, Size
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
)

# Names the functions below need together; a group is used only when all of its names are there.
GROUPS: dict[str, tuple[str, ...]] = {
    "scroll_update": ("_scroll_update",),
    "border_title": ("_border_title",),
    "input_value": ("_watch_value",),
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
    widget._scroll_update(size)
    return True


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


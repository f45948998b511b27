"""Every private part of Textual that arc-top uses, behind one fence.

ResourceTable reconciles thousands of rows a few times a second, KeysFooter skips recomposes that would show
the same keys and Panel repaints only its title line. Each needs a few internals of Textual 8.2 (DataTable's
row index and render caches, Widget's stored border title, Footer's readiness flag), and a Textual release may
rename any of them. So they are read and written here only, and each function falls back to Textual's public
API when its private is gone: slower (a cell update re-renders every visible line, rows are re-added, the whole
screen is laid out again), never an exception at a focus change. `PRIVATES` lists them as data, and
tests/test_textual_canary.py checks each still exists in the installed Textual, so an upgrade fails one clear
test instead of quietly getting slower.

Hooks arc-top *overrides* (`HOOKS`) have no fallback: a renamed hook is simply no longer called, and Textual's
own method runs instead. What that costs is said in `HOOKS` and beside each override.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rich.padding import Padding
from rich.style import Style
from rich.text import Text
from textual.content import Content
from textual.geometry import Region, Size
from textual.widget import Widget
from textual.widgets import DataTable, Footer
from textual.widgets.data_table import DuplicateKey, Row, RowDoesNotExist, RowKey

try:  # not a private name, but a helper of DataTable's own rendering rather than an API
    from textual.renderables.styled import Styled
except ImportError:  # then DataTable renders every cell itself
    Styled = None

ATTRIBUTE = "attribute"   # set in __init__: checked on an instance
MEMBER = "member"         # a method, property or reactive: checked on the class


@dataclass(frozen=True)
class Private:
    owner: type
    name: str
    kind: str
    needed_by: str    # the functions here that use it
    fallback: str     # what they do when it is gone


@dataclass(frozen=True)
class Hook:
    owner: type
    name: str
    overridden_in: str
    if_renamed: str   # what happens when Textual renames it (the override is then never called)


PRIVATES: tuple[Private, ...] = (
    Private(DataTable, "_data", ATTRIBUTE, "row_cells, update_cells, set_rows",
            "get_row / update_cell / add_row (+ clear() when rows move)"),
    Private(DataTable, "_row_locations", ATTRIBUTE, "row_index, row_key_at, ordered_row_keys, update_cells, set_rows, "
            "ordered_rows_cached, y_offsets_cached, cell_render_context",
            "get_row_index / ordered_rows / add_row (rows are re-added when they move)"),
    Private(DataTable, "_update_count", ATTRIBUTE, "invalidate_rendering, set_rows, ordered_rows_cached, "
            "y_offsets_cached", "notify_style_update() (drops DataTable's render caches) / the public row API"),
    Private(DataTable, "_require_update_dimensions", ATTRIBUTE, "request_dimensions_update, set_rows",
            "virtual_size set at once (a layout pass) / the public row API"),
    Private(DataTable, "_cell_render_cache", ATTRIBUTE, "update_cells", "invalidate_rendering (every visible line)"),
    Private(DataTable, "_row_render_cache", ATTRIBUTE, "update_cells", "invalidate_rendering (every visible line)"),
    Private(DataTable, "_row_renderable_cache", ATTRIBUTE, "update_cells",
            "invalidate_rendering (every visible line)"),
    Private(DataTable, "_line_cache", ATTRIBUTE, "update_cells", "invalidate_rendering (every visible line)"),
    Private(DataTable, "_ordered_row_cache", ATTRIBUTE, "ordered_rows_cached",
            "DataTable.ordered_rows (a method call per row)"),
    Private(DataTable, "_offset_cache", ATTRIBUTE, "y_offsets_cached", "DataTable._y_offsets (a loop per row)"),
    Private(DataTable, "_show_hover_cursor", ATTRIBUTE, "cell_render_context, render_cell_lines",
            "DataTable._render_cell (each cell rendered again after every row change)"),
    Private(DataTable, "_pseudo_class_state", ATTRIBUTE, "cell_render_context",
            "DataTable._render_cell (each cell rendered again after every row change)"),
    Private(DataTable, "_get_row_renderables", MEMBER, "cell_render_context",
            "DataTable._render_cell (each cell rendered again after every row change)"),
    Private(DataTable, "_get_styles_to_render_cell", MEMBER, "render_cell_lines",
            "DataTable._render_cell (each cell rendered again after every row change)"),
    Private(DataTable, "_highlight_cursor", MEMBER, "highlight_cursor",
            "refresh_row + post DataTable.RowHighlighted"),
    Private(DataTable, "_total_row_height", MEMBER, "virtual_size_of", "the sum of the rows' heights"),
    Private(DataTable, "_row_label_column_width", MEMBER, "virtual_size_of",
            "0 (arc-top's tables have no row labels)"),
    Private(Widget, "_scroll_update", MEMBER, "set_virtual_size_quietly",
            "the virtual_size setter (a layout of the screen when rows come or go)"),
    Private(Widget, "_border_title", ATTRIBUTE, "set_border_title_text",
            "the border_title setter (repaints the whole widget)"),
    Private(Footer, "_bindings_ready", MEMBER, "footer_ready",
            "False: the footer recomposes at every bindings change, as Textual's Footer does"),
    # The row index's positions -> keys (_row_locations is a textual._two_way_dict.TwoWayDict).
    Private(DataTable, "_row_locations._reverse", ATTRIBUTE, "ordered_row_keys, ordered_rows_cached, "
            "y_offsets_cached", "DataTable.ordered_rows / DataTable._y_offsets"),
)

HOOKS: tuple[Hook, ...] = (
    Hook(DataTable, "_render_cell", "ResourceTable._render_cell",
         "DataTable renders each cell again whenever any row is added or removed (slower flushes under churn)"),
    Hook(DataTable, "_compute_row_renderables", "ResourceTable._compute_row_renderables",
         "age columns show the age written when the row was last built, until it is built again"),
    Hook(DataTable, "_update_dimensions", "ResourceTable._update_dimensions",
         "DataTable sets virtual_size: a layout of the whole screen at every flush that adds or removes rows"),
    Hook(DataTable, "_y_offsets", "ResourceTable._y_offsets",
         "DataTable builds the line offsets with a loop per row after every change (slower)"),
    Hook(Footer, "bindings_changed", "KeysFooter.bindings_changed",
         "a public method, but if Textual stops calling it the footer recomposes at every focus change"),
)

# Names the functions below need together; a group is used only when all of its names are there.
GROUPS: dict[str, tuple[str, ...]] = {
    "rows": ("_data", "_row_locations", "_update_count", "_require_update_dimensions"),
    "cells": ("_data", "_row_locations"),
    "row_caches": ("_cell_render_cache", "_row_render_cache", "_row_renderable_cache", "_line_cache"),
    "row_index": ("_row_locations",),
    "row_order": ("_row_locations._reverse",),
    "ordered_rows": ("_row_locations._reverse", "_update_count", "_ordered_row_cache"),
    "y_offsets": ("_row_locations._reverse", "_update_count", "_offset_cache"),
    "update_count": ("_update_count",),
    "dimensions": ("_require_update_dimensions",),
    "cell_cache": ("_row_locations", "_get_row_renderables", "_show_hover_cursor", "_pseudo_class_state",
                   "_get_styles_to_render_cell", "Styled"),
    "highlight": ("_highlight_cursor",),
    "virtual_size": ("_total_row_height", "_row_label_column_width"),
    "scroll_update": ("_scroll_update",),
    "border_title": ("_border_title",),
    "bindings_ready": ("_bindings_ready",),
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
    if path == "Styled":
        return Styled is not None
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


# ---------------------------------------------------------------- DataTable: reading rows
def row_index(table: DataTable, key: str | RowKey) -> int | None:
    """The row's position, or None (DataTable.get_row_index raises)."""
    if supports(table, "row_index"):
        return table._row_locations.get(key)
    try:
        return table.get_row_index(key)
    except RowDoesNotExist:
        return None


def row_key_at(table: DataTable, index: int) -> RowKey | None:
    if supports(table, "row_index"):
        return table._row_locations.get_key(index)
    rows = table.ordered_rows
    return rows[index].key if 0 <= index < len(rows) else None


def ordered_row_keys(table: DataTable) -> Mapping[int, RowKey] | Sequence[RowKey]:
    """The row keys by position: index it with 0..len-1 (it may be a mapping, do not iterate it)."""
    if supports(table, "row_order"):
        return table._row_locations._reverse
    return [row.key for row in DataTable.ordered_rows.fget(table)]


def row_cells(table: DataTable, key: str) -> Mapping:
    """The row's cells by column key."""
    if supports(table, "cells"):
        return table._data[key]
    return dict(zip([column.key for column in table.ordered_columns], table.get_row(key), strict=False))


def ordered_rows_cached(table: DataTable) -> list[Row] | None:
    """DataTable.ordered_rows for one-line rows, from the row index in one go (DataTable asks for each row
    through a method call, after every change). None without the internals: use DataTable's."""
    if not supports(table, "ordered_rows"):
        return None
    cache_key = (table.row_count, table._update_count)
    ordered = table._ordered_row_cache.get(cache_key)
    if ordered is None:
        reverse, rows = table._row_locations._reverse, table.rows
        ordered = [rows[reverse[index]] for index in range(len(reverse))]
        table._ordered_row_cache[cache_key] = ordered
    return ordered


def y_offsets_cached(table: DataTable) -> list[tuple[RowKey, int]] | None:
    """DataTable._y_offsets for one-line rows; None without the internals: use DataTable's."""
    if not supports(table, "y_offsets"):
        return None
    offsets = table._offset_cache.get(table._update_count)
    if offsets is None:
        reverse = table._row_locations._reverse
        offsets = [(reverse[index], 0) for index in range(len(reverse))]
        table._offset_cache[table._update_count] = offsets
    return offsets


# ---------------------------------------------------------------- DataTable: writing rows
def update_cells(table: DataTable, updates: Sequence[tuple[str, str, Text]]) -> None:
    """Like update_cell for each, without invalidating every rendered row: DataTable keys its render caches on
    one update counter, so one changed cell re-renders every visible line. Here only the changed rows' cache
    entries are dropped and only their lines are repainted (when on screen)."""
    if not supports(table, "cells"):
        for key, column_key, cell in updates:
            table.update_cell(key, column_key, cell)
        return
    data = table._data
    for key, column_key, cell in updates:
        data[key][column_key] = cell
    changed = {key for key, _, _ in updates}
    locations = table._row_locations
    header = table.header_height if table.show_header else 0
    indexes = {locations.get(key) for key in changed} - {None}
    lines = {index + header for index in indexes}
    if not supports(table, "row_caches"):
        invalidate_rendering(table)
        table.refresh()
        return
    for cache, test in ((table._cell_render_cache, lambda k: k[0] in changed),
                        (table._row_render_cache, lambda k: k[0] in changed),
                        (table._row_renderable_cache, lambda k: k[1] in indexes),
                        (table._line_cache, lambda k: k[0] in lines)):
        for cache_key in [k for k in cache.keys() if test(k)]:
            cache.discard(cache_key)
    top = round(table.scroll_y)
    bottom = top + table.scrollable_content_region.height
    width = max(table.size.width, table.virtual_size.width)
    window = table.window_region
    for line in sorted(lines):
        region = Region(0, line, width, 1)
        if top <= line - header < bottom and window.overlaps(region):   # what DataTable.refresh_row does
            table.refresh(region.translate(-table.scroll_offset))


def set_rows(table: DataTable, wanted: Sequence[str], gone: Iterable[str], added: Sequence[tuple[str, list]],
             key_of: dict[str, RowKey], was_empty: bool) -> None:
    """Make the rows `wanted`, in that order: `gone` ones dropped, `added` ones (key, cells) put in, the others
    kept with their cells. `key_of` holds the RowKey of each row and is kept up to date.

    DataTable's add_row and remove_row each cost O(rows) (they re-index and re-check the cursor and the hover
    cell, which walk the ordered rows), so a flush adding or removing k rows cost k × n and a first fill of 10k
    rows n². Here the rows' data is dropped and put first, then the row index is made once, in the wanted order
    (what DataTable.sort does, without comparing cells). Rows are one line high."""
    if not supports(table, "rows"):
        _set_rows_public(table, wanted, gone, added, key_of)
        return
    data, table_rows = table._data, table.rows
    for key in gone:
        row_key = key_of.pop(key, None) or RowKey(key)
        table_rows.pop(row_key, None)
        data.pop(row_key, None)
    column_keys = [column.key for column in table.ordered_columns]
    for key, cells in added:
        if key in key_of:
            raise DuplicateKey(f"The row key {key!r} already exists.")
        row_key = key_of[key] = RowKey(key)
        data[row_key] = dict(zip(column_keys, cells, strict=False))
        table_rows[row_key] = Row(row_key, 1, None, False)
    # A new index of the same type (textual._two_way_dict.TwoWayDict, not imported: a private module).
    table._row_locations = type(table._row_locations)({key_of[key]: index for index, key in enumerate(wanted)})
    table._require_update_dimensions = True     # the virtual size follows at idle
    table._update_count += 1                    # rendered rows, the ordered rows and the line offsets are stale
    # Clamp the cursor and the hover cell only when rows went from under them: setting the hover cell refreshes
    # its region, which walks every row (4 ms at 6,000 rows), at every sync.
    if table.cursor_row >= table.row_count:
        table.cursor_coordinate = table.cursor_coordinate
    if table.hover_coordinate.row >= table.row_count:
        table.hover_coordinate = table.hover_coordinate
    if was_empty and table.row_count and table.columns and table.show_cursor and table.cursor_type != "none":
        highlight_cursor(table)
    table.check_idle()


def _set_rows_public(table: DataTable, wanted: Sequence[str], gone: Iterable[str],
                     added: Sequence[tuple[str, list]], key_of: dict[str, RowKey]) -> None:
    """set_rows through add_row: appended when only rows were added at the end, else cleared and added again."""
    gone = set(gone)
    current = [row.key.value for row in table.ordered_rows]
    if not gone and current + [key for key, _ in added] == list(wanted):
        for key, cells in added:
            key_of[key] = table.add_row(*cells, key=key, height=1)
        return
    new_cells = dict(added)
    cells = {key: new_cells[key] if key in new_cells else table.get_row(key) for key in wanted}
    table.clear()
    key_of.clear()
    for key in wanted:
        key_of[key] = table.add_row(*cells[key], key=key, height=1)


def highlight_cursor(table: DataTable) -> None:
    """Highlight the cursor's row and post RowHighlighted (when rows appear in an empty table)."""
    if supports(table, "highlight"):
        table._highlight_cursor()
        return
    row = table.cursor_row
    table.refresh_row(row)
    key = row_key_at(table, row)
    if table.cursor_type == "row" and key is not None:
        table.post_message(DataTable.RowHighlighted(table, row, key))


def invalidate_rendering(table: DataTable) -> None:
    """Every rendered row is stale (ages moved on, columns changed width); the caller refreshes."""
    if supports(table, "update_count"):
        table._update_count += 1
    else:
        table.notify_style_update()


def request_dimensions_update(table: DataTable) -> None:
    """Recompute the virtual size when idle (DataTable's _update_dimensions), once for many changes."""
    if supports(table, "dimensions"):
        table._require_update_dimensions = True
        table.check_idle()
    else:
        table.virtual_size = virtual_size_of(table)


def virtual_size_of(table: DataTable) -> Size:
    """The scrollable size: the columns' widths, the rows' heights and the header."""
    header = table.header_height if table.show_header else 0
    width = sum(column.get_render_width(table) for column in table.columns.values())
    if supports(table, "virtual_size"):
        return Size(width + table._row_label_column_width, table._total_row_height + header)
    return Size(width, sum(row.height for row in table.rows.values()) + header)


def set_virtual_size_quietly(table: DataTable, size: Size) -> bool:
    """Set the virtual size without a layout pass of the whole screen (the setter does one), only the scrollbars
    following. False when that is not possible: set it as usual then."""
    if not supports(table, "scroll_update"):
        return False
    table.set_reactive(type(table).virtual_size, size)
    table._scroll_update(size)
    return True


# ---------------------------------------------------------------- DataTable: rendering cells
def cell_render_context(table: DataTable, row_index: int) -> tuple[RowKey | None, list, bool, object] | None:
    """(row key, the row's cells as rendered, the hover state a render depends on) for ResourceTable's cell
    cache, or None without the internals it needs: then DataTable renders the cell itself."""
    if not supports(table, "cell_cache"):
        return None
    return (table._row_locations.get_key(row_index), table._get_row_renderables(row_index).cells,
            table._show_hover_cursor, table._pseudo_class_state)


def render_cell_lines(table: DataTable, cell: object, base_style: Style, width: int, cursor: bool, hover: bool,
                      fixed: bool) -> list:
    """A one-line body cell rendered as DataTable._render_cell does, without the row/column metadata. Call only
    after cell_render_context returned a context."""
    component_style, post_style = table._get_styles_to_render_cell(
        False, False, fixed, hover, cursor, table.show_cursor, table._show_hover_cursor,
        table.cursor_foreground_priority == "css", table.cursor_background_priority == "css")
    options = table.app.console_options.update_dimensions(width, 1).update(no_wrap=True)
    return table.app.console.render_lines(
        Styled(Padding(cell, (0, table.cell_padding)), pre_style=base_style + component_style,
               post_style=post_style), options)


# ---------------------------------------------------------------- Widget, Footer
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


def footer_ready(footer: Footer) -> bool:
    """The footer has shown its keys once (before that, it must recompose even for the same keys)."""
    return supports(footer, "bindings_ready") and bool(footer._bindings_ready)

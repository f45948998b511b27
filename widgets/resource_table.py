"""A DataTable that is reconciled, never refilled.

Rows are keyed (a uid). `sync` takes the complete wanted list, `apply` a partial change; both touch
only cells that differ, add new rows, remove gone ones and reorder once, so the cursor stays on its
row key and the viewport does not jump. When most rows change (a re-list) the table is rebuilt in
one go, and the cursor key and its position on screen are restored afterwards.

The table also owns presentation that depends on its own width: which columns fit, and how much of
a long name to keep (middle ellipsis: runner names share a prefix and differ at the end), plus a
case-insensitive substring filter over each row's full text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, Row, RowDoesNotExist, RowKey

from arc_top.widgets import textual_internals as internals
from arc_top.widgets.text import age, is_shared, shared_text, truncate_middle

AGE_WIDTH = 4                     # "119s", "119m", "47h": an age column is never narrower

# Above this share of rows added or removed, rebuild instead of reconciling row by row
# (remove_row is O(n) in the DataTable).
REBUILD_SHARE = 0.5
STICKY_ROWS = 500          # from this many rows, column widths only widen under churn (see _reconcile)


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    key: str
    label: str
    min_table_width: int = 0      # shown only when the table is at least this wide…
    max_table_width: int | None = None  # …and at most this wide (a compact variant of a wide column)
    flex: bool = False            # takes the width the other columns leave; truncated in the middle
    min_width: int = 8            # a flex column never gets narrower than this…
    max_width: int | None = None  # …nor wider than this
    tail: bool = False            # last column, may run past the edge: not counted when fitting the flex one
    age: bool = False             # shows the age of the row's `created` time, live (see ResourceTable.set_now)


class TableRow(NamedTuple):
    key: str
    cells: Sequence[Text]         # one per ColumnSpec, in spec order
    parent: str | None = None     # child rows (a runner's workflow pod) follow their parent in filters
    search: str = ""              # extra text the filter matches (a full name the cells abbreviate)
    created: float = 0.0          # epoch seconds the age column counts from (0: the cell as given)


def _same_text(old: object, new: object) -> bool:
    """Equal text, spans and style (Text's own == ignores the style)."""
    return type(new) is Text and type(old) is Text and old == new and old.style == new.style


def _signature(cell: Text) -> tuple:
    return cell.plain, str(cell.style), tuple(cell.spans)


class ResourceTable(DataTable):
    """Keyed, reconciled table of cluster objects with width-aware columns and a row filter."""

    DEFAULT_CSS = """
    ResourceTable {
        height: 1fr;
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 0;
    }
    """

    # DataTable's keys again, with ids (so a keymap can move them), plus vi-style ones.
    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False, id="resource-table.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="resource-table.down"),
        Binding("left", "cursor_left", "Scroll left", show=False, id="resource-table.left"),
        Binding("right", "cursor_right", "Scroll right", show=False, id="resource-table.right"),
        Binding("pageup", "page_up", "Page up", show=False, id="resource-table.page-up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="resource-table.page-down"),
        Binding("home,g", "scroll_top", "First row", show=False, id="resource-table.top"),
        Binding("end,G", "scroll_bottom", "Last row", show=False, id="resource-table.bottom"),
        Binding("enter", "select_cursor", "Select", show=False, id="resource-table.select"),
    ]

    def __init__(self, columns: Sequence[ColumnSpec], *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes, cursor_type="row", zebra_stripes=False,
                         cursor_foreground_priority="renderable")
        self.specs = list(columns)
        self._rows: dict[str, TableRow] = {}
        self._children: dict[str, list[str]] = {}
        self._filter = ""
        self._shown_columns: list[int] = []
        self._flex_width: int | None = None
        self._last_width = 0                     # the content width when last laid out (hidden tables have none)
        self._flex_layout: tuple = ()            # (columns, width, filter) the flex width was set for
        self._sticky_widths: dict[int, int] = {}  # the widest each column has been in that layout
        self._search_cache: dict[str, tuple[TableRow, str]] = {}
        self._rendered: dict[str, TableRow] = {}          # what each displayed row was made from
        self._widths: dict[str, tuple[TableRow, tuple[int, ...]]] = {}
        self._column_widths: list[int] = []
        self._row_key_of: dict[str, RowKey] = {}        # the RowKey object of each row shown
        self._truncated: dict[str, tuple[Text, int, Text]] = {}  # key -> (cell, width, truncated cell)
        # How many displayed rows have each cell width, per shown column: the widest is then known
        # without measuring every row on every update.
        self._width_counts: dict[int, Counter[int]] = {}
        self._counted: dict[str, tuple[TableRow, tuple[int, ...]]] = {}
        self._counted_layout: tuple = ()            # content width per shown column, set by _render
        # Age columns are rendered from each row's `created` at `now` when a line is painted: ages moving
        # on cost a repaint of the visible lines, never a rebuild of thousands of rows.
        self.now: float | None = None
        self._cell_lines: LRUCache[tuple, tuple[object, list]] = LRUCache(4096)
        # The same with the row/column metadata applied, for a cell that has not moved: when only the ages
        # changed (every few seconds), a line is rebuilt from these without touching a Style.
        self._placed_lines: LRUCache[tuple, tuple[object, list]] = LRUCache(4096)

    # ---------------------------------------------------------------- public API
    @property
    def filter_text(self) -> str:
        return self._filter

    @property
    def total_count(self) -> int:
        return len(self._rows)

    @property
    def visible_count(self) -> int:
        return self.row_count

    @property
    def root_count(self) -> int:
        """Rows that are not children (runners, not their workflow pods and volumes)."""
        return sum(1 for row in self._rows.values() if row.parent is None)

    @property
    def visible_root_count(self) -> int:
        return sum(1 for key in self.visible_keys() if self._rows[key].parent is None)

    @property
    def cursor_key(self) -> str | None:
        """The row key under the cursor, or None for an empty table."""
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:  # the cursor is outside the rows while a rebuild settles
            return None

    def visible_keys(self) -> list[str]:
        return [row.key.value for row in self.ordered_rows]

    def has_row(self, key: str) -> bool:
        return key in self._rows

    def row_text(self, key: str) -> str:
        """The plain text of a row: what the filter searches."""
        row = self._rows.get(key)
        if row is None:
            return ""
        text = "  ".join(cell.plain for cell in row.cells)
        return f"{text}  {row.search}" if row.search else text

    def sync(self, rows: Iterable[TableRow | tuple]) -> None:
        """Make the table show exactly `rows`, in that order."""
        wanted: dict[str, TableRow] = {}
        for row in rows:
            row = row if isinstance(row, TableRow) else TableRow(*row)
            wanted[row.key] = row
        self._rows = wanted
        for cache in (self._widths, self._truncated):
            for key in [key for key in cache if key not in wanted]:
                del cache[key]
        self._index_children()
        self._reconcile()

    def apply(self, changed: Mapping[str, TableRow | tuple | Sequence[Text] | None]) -> None:
        """Merge a partial change: key -> row (or cells), None = gone. New keys go to the end."""
        for key, row in changed.items():
            if row is None:
                self._rows.pop(key, None)
            elif isinstance(row, TableRow):
                self._rows[key] = row
            elif isinstance(row, tuple) and len(row) in (2, 3, 4) and isinstance(row[0], str):
                self._rows[key] = TableRow(*row)
            else:
                self._rows[key] = TableRow(key, list(row))
        self._index_children()
        self._reconcile()

    def set_now(self, now: float) -> None:
        """Move ages on: visible lines are painted again with the ages at `now`."""
        before, self.now = self.now, now
        if now == before or not self.row_count or not any(self.specs[i].age for i in self._shown_columns):
            return
        if before is not None:
            # Only when an age on screen reads differently: rows minutes old change once a minute.
            top = max(0, round(self.scroll_y))
            keys = internals.ordered_row_keys(self)
            shown = (self._rows.get(keys[i].value) for i in range(top, min(len(keys), top + self.size.height)))
            if all(row is None or not row.created or age(before - row.created) == age(now - row.created)
                   for row in shown):
                return
        internals.invalidate_rendering(self)
        self.refresh()

    def set_filter(self, text: str) -> None:
        text = text.strip()
        if text == self._filter:
            return
        self._filter = text
        self._reconcile()

    def select_key(self, key: str) -> bool:
        """Move the cursor to a row; clears a filter that hides it. False if there is no such row."""
        if key not in self._rows:
            return False
        if key not in self._visible_set():
            self._filter = ""
            self._reconcile()
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return False
        self.move_cursor(row=index, animate=False)
        return True

    # ---------------------------------------------------------------- layout
    def on_mount(self) -> None:
        self._reconcile()

    def on_resize(self, event: events.Resize) -> None:
        if self._layout_changed():
            self._reconcile()

    def _available_width(self) -> int:
        """The content width; while the table is hidden (an empty panel shows its state line instead), the width
        it had when last shown: rows filled in while hidden then need no second build when it appears."""
        width = self.scrollable_content_region.width or self.size.width
        if width > 0:
            self._last_width = width
            return width
        return self._last_width

    def _columns_for_width(self) -> list[int]:
        width = self._available_width()
        if width <= 0:
            width = 80
        return [i for i, spec in enumerate(self.specs)
                if spec.min_table_width <= width and (spec.max_table_width is None or width <= spec.max_table_width)]

    def _natural_widths(self, shown: list[int], rows: Iterable[TableRow]) -> dict[int, int]:
        """The widest cell (or label) of each shown column, before the flex column is truncated."""
        widths = {i: max(len(self.specs[i].label), AGE_WIDTH if self.specs[i].age else 0) for i in shown}
        row_widths = self._row_widths
        for row in rows:
            row_w = row_widths(row)
            for i in shown:
                if i < len(row_w) and row_w[i] > widths[i]:
                    widths[i] = row_w[i]
        return widths

    def _count_widths(self, shown: list[int], wanted: list[TableRow]) -> dict[int, int]:
        """The widest cell (or label) of each shown column over `wanted`, updated from what changed."""
        layout = (tuple(shown), self._filter)
        counts, counted = self._width_counts, self._counted
        if layout != self._counted_layout:
            self._counted_layout = layout
            counts = self._width_counts = {i: Counter() for i in shown}
            counted = self._counted = {}
        row_widths = self._row_widths
        wanted_keys = set()
        for row in wanted:
            key = row.key
            wanted_keys.add(key)
            entry = counted.get(key)
            if entry is not None and entry[0] is row:
                continue
            widths = row_widths(row)
            if entry is not None:
                self._uncount(entry[1])
            for i in shown:
                counts[i][widths[i] if i < len(widths) else 0] += 1
            counted[key] = (row, widths)
        if len(counted) != len(wanted_keys):
            for key in [key for key in counted if key not in wanted_keys]:
                self._uncount(counted.pop(key)[1])
        return {i: max(len(self.specs[i].label), max(counts[i], default=0), AGE_WIDTH if self.specs[i].age else 0)
                for i in shown}

    def _uncount(self, widths: tuple[int, ...]) -> None:
        for i, counter in self._width_counts.items():
            width = widths[i] if i < len(widths) else 0
            left = counter[width] - 1
            if left > 0:
                counter[width] = left
            else:
                del counter[width]

    def _flex_for(self, shown: list[int], rows: Iterable[TableRow],
                  widths: dict[int, int] | None = None) -> int | None:
        flex = [i for i in shown if self.specs[i].flex]
        width = self._available_width()
        if not flex or width <= 0:
            return None
        index = flex[0]
        if widths is None:
            widths = self._natural_widths(shown, rows)
        room = self._flex_room(shown, widths)
        spec = self.specs[index]
        natural = widths[index] if spec.max_width is None else min(widths[index], spec.max_width)
        return max(spec.min_width, min(natural, room))

    def _flex_room(self, shown: list[int], widths: dict[int, int]) -> int:
        """The width the flex column may take beside the others (tail columns take what is left)."""
        index = next((i for i in shown if self.specs[i].flex), None)
        pad = 2 * self.cell_padding
        others = sum(widths[i] + pad for i in shown if i != index and not self.specs[i].tail)
        return self._available_width() - others - pad

    def _row_widths(self, row: TableRow) -> tuple[int, ...]:
        cached = self._widths.get(row.key)
        if cached is not None and cached[0] is row:
            return cached[1]
        # Cluster strings are nearly always ASCII: one cell per character, no need to ask Rich.
        widths = tuple([len(p) if p.isascii() else cell_len(p) for p in [cell.plain for cell in row.cells]])
        self._widths[row.key] = (row, widths)
        return widths

    def _layout_changed(self) -> bool:
        shown = self._columns_for_width()
        flex = self._flex_for(shown, self._rows.values())
        return shown != self._shown_columns or flex != self._flex_width

    # ---------------------------------------------------------------- filtering
    def _index_children(self) -> None:
        children: dict[str, list[str]] = {}
        for row in self._rows.values():
            if row.parent is not None:
                children.setdefault(row.parent, []).append(row.key)
        self._children = children

    def _search_text(self, key: str) -> str:
        row = self._rows[key]
        cached = self._search_cache.get(key)
        if cached is not None and cached[0] is row:
            return cached[1]
        text = self.row_text(key).casefold()
        self._search_cache[key] = (row, text)
        return text

    def _visible_set(self) -> set[str]:
        if not self._filter:
            self._search_cache.clear()
            return set(self._rows)
        needle = self._filter.casefold()
        matched = {key for key in self._rows if needle in self._search_text(key)}
        shown = set(matched)
        for key in matched:
            row = self._rows[key]
            if row.parent is not None and row.parent in self._rows:
                shown.add(row.parent)           # a matching workflow pod brings its runner
            shown.update(self._children.get(key, ()))  # a matching runner brings its children
        return shown

    # ---------------------------------------------------------------- reconcile
    def _display_cells(self, row: TableRow) -> list[Text]:
        cells = []
        for i in self._shown_columns:
            cell = row.cells[i] if i < len(row.cells) else Text("", end="")
            if self._flex_width is not None and self.specs[i].flex and cell.cell_len > self._flex_width:
                cached = self._truncated.get(row.key)
                if cached is not None and cached[0] is cell and cached[1] == self._flex_width:
                    cell = cached[2]
                else:
                    short = truncate_middle(cell, self._flex_width)
                    self._truncated[row.key] = (cell, self._flex_width, short)
                    cell = short
            cells.append(cell)
        return cells

    def _reconcile(self) -> None:
        shown = self._columns_for_width()
        visible = self._visible_set()
        wanted = [row for key, row in self._rows.items() if key in visible]
        current = self.visible_keys()
        wanted_keys = [row.key for row in wanted]
        wanted_set = set(wanted_keys)
        current_set = set(current)
        gone = current_set - wanted_set
        new = wanted_set - current_set
        churn = len(gone) + len(new)
        replaced = bool(current) and churn > REBUILD_SHARE * max(len(current), 1) and churn > 8

        natural = self._count_widths(shown, wanted)
        layout = (tuple(shown), self._available_width(), self._filter)
        sticky_ok = layout == self._flex_layout and not replaced and len(wanted) >= STICKY_ROWS
        if sticky_ok:
            # Under churn in a big table, columns only widen (until the width, the columns shown, the filter or
            # most rows change): a widest value that comes and goes used to move the name column's width, and
            # every row's name was truncated again, 6,000 of them, a few times a second. Small tables fit their
            # rows exactly.
            sticky = self._sticky_widths
            natural = {i: max(w, sticky.get(i, 0)) for i, w in natural.items()}
        self._sticky_widths = natural
        flex = self._flex_for(shown, wanted, natural)
        if (sticky_ok and flex is not None and self._flex_width is not None and flex < self._flex_width
                and self._flex_width <= self._flex_room(shown, natural)):
            flex = self._flex_width     # the widest name left: keep the column as wide while it fits
        self._flex_layout = layout
        columns_changed = shown != self._shown_columns or not self.columns
        self._shown_columns = shown
        flex_changed = flex != self._flex_width
        self._flex_width = flex
        if not self.is_mounted:
            return

        cursor_key = self.cursor_key
        cursor_row = self.cursor_row
        scroll_y = round(self.scroll_y)
        page = self._page_height()
        before = current[scroll_y:scroll_y + page]           # the keys on screen now

        structural = False                                   # a rebuild repaints everything by itself
        with self.app.batch_update():
            if columns_changed or replaced:
                self._rebuild(wanted)
            else:
                for key in gone:
                    self._rendered.pop(key, None)
                structural = bool(gone)
                added: list[tuple[str, list[Text]]] = []
                keys = [spec.key for spec in (self.specs[i] for i in shown)]
                rendered = self._rendered
                updates: list[tuple[str, str, Text]] = []
                for row in wanted:
                    if not flex_changed and rendered.get(row.key) is row:
                        continue                       # built from the same objects: nothing to compare
                    rendered[row.key] = row
                    cells = self._display_cells(row)
                    if row.key in new:
                        added.append((row.key, cells))
                        structural = True
                        continue
                    old = internals.row_cells(self, row.key)
                    for column_key, cell in zip(keys, cells, strict=False):
                        old_cell = old.get(column_key)
                        if old_cell is cell:
                            continue
                        if old_cell is None or _signature(old_cell) != _signature(cell):
                            updates.append((row.key, column_key, cell))
                if structural or current != wanted_keys:
                    # Rows came, went or moved: the row index is made once, in the wanted order (each of
                    # removing, appending and reordering used to walk every row).
                    internals.set_rows(self, wanted_keys, gone, added, self._row_key_of, was_empty=not current)
                    structural = True
                if updates:
                    internals.update_cells(self, updates)
            self._set_column_widths(natural, flex)
            target = self._restore_cursor(cursor_key, cursor_row, scroll_y)
            if structural and wanted_keys[target:target + page] != before:
                # Rows came or went where they are seen (or moved what is seen). Thousands of churning runners
                # mostly come and go off screen: then nothing on screen is painted again.
                self.refresh()

    def _page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - (self.header_height if self.show_header else 0))

    def _set_column_widths(self, natural: dict[int, int], flex: int | None) -> None:
        """Column widths from the widths we already know (cells are one-line Text): DataTable would
        otherwise measure every new cell and, when a cell shrinks, the whole column again."""
        widths = [natural[i] if flex is None or not self.specs[i].flex else min(natural[i], max(flex, 0))
                  for i in self._shown_columns]
        widths = [max(w, len(self.specs[i].label)) for w, i in zip(widths, self._shown_columns, strict=True)]
        columns = list(self.columns.values())
        if len(columns) == len(widths):
            for column, width in zip(columns, widths, strict=True):
                column.content_width = width
        if widths != self._column_widths:
            self._column_widths = widths
            internals.request_dimensions_update(self)
            internals.invalidate_rendering(self)    # rendered rows were laid out for the old widths
            self.refresh()

    # DataTable keys its cell renders on a counter bumped by every structural change (a row added or
    # removed anywhere), so at thousands of churning rows every flush re-rendered every visible cell through
    # Rich (the bulk of a flush). Here a cell's render is kept while the same cell object is shown at the same
    # width and style, wherever its row moved; only the row/column metadata (mouse clicks) is put back on.
    # A Textual hook (textual_internals.HOOKS): if Textual renames it, this is no longer called and DataTable
    # renders the cells itself again (correct, slower under churn).
    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False):
        context = internals.cell_render_context(self, row_index) if row_index >= 0 and column_index >= 0 else None
        if context is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key, cells, show_hover_cursor, pseudo_class_state = context
        if row_key is None or column_index >= len(cells):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cell = cells[column_index]
        # A shared cell ("", "0", "1/1", a node, an age) is the same text in every row that shows it: so is
        # its render.
        owner = "shared" if is_shared(cell) else row_key
        key = (owner, column_index, base_style, width, cursor, hover, show_hover_cursor, pseudo_class_state)
        placed_key = (key, row_index)
        placed = self._placed_lines.get(placed_key)
        if placed is not None and (placed[0] is cell or _same_text(placed[0], cell)):
            return placed[1]
        entry = self._cell_lines.get(key)
        if entry is not None and (entry[0] is cell or _same_text(entry[0], cell)):
            lines = entry[1]
        else:
            # DataTable renders with the metadata baked in; render without (keyed without the row index)…
            fixed = row_index < self.fixed_rows or column_index < self.fixed_columns
            lines = internals.render_cell_lines(self, cell, base_style, width, cursor, hover, fixed)
            self._cell_lines[key] = (cell, lines)
        meta = Style.from_meta({"row": row_index, "column": column_index})
        # …and put the metadata back for this position.
        placed_lines = [[Segment(text, style + meta if style is not None else meta, control)
                         for text, style, control in line] for line in lines]
        self._placed_lines[placed_key] = (cell, placed_lines)
        return placed_lines

    # Ages are put in when a row is rendered. A Textual hook (textual_internals.HOOKS): if Textual renames it,
    # an age column shows the age the row was built with, until the row is built again.
    def _compute_row_renderables(self, row_index: int):
        renderables = super()._compute_row_renderables(row_index)
        now = self.now
        if now is None or row_index < 0:
            return renderables
        row_key = internals.row_key_at(self, row_index)
        row = self._rows.get(row_key.value) if row_key is not None else None
        if row is None or not row.created:
            return renderables
        cells = renderables.cells
        for position, i in enumerate(self._shown_columns):
            if self.specs[i].age and position < len(cells):
                cells[position] = shared_text(age(now - row.created))
        return renderables

    # DataTable rebuilds these lists (one entry per row) after every change, through a method call per row;
    # every row here is one line high, so they come straight from the row index. (`_y_offsets` is a Textual
    # hook, textual_internals.HOOKS: if renamed, DataTable's own loop runs again; `ordered_rows` is public.)
    @property
    def ordered_rows(self) -> list[Row]:
        ordered = internals.ordered_rows_cached(self)
        return ordered if ordered is not None else super().ordered_rows

    @property
    def _y_offsets(self) -> list[tuple[RowKey, int]]:
        offsets = internals.y_offsets_cached(self)
        return offsets if offsets is not None else super()._y_offsets

    # Called by DataTable when idle after rows or widths changed. A Textual hook (textual_internals.HOOKS): if
    # Textual renames it, DataTable's own sets virtual_size, a layout of the whole screen at every flush that
    # adds or removes rows (slower, same picture).
    def _update_dimensions(self, new_rows: Iterable) -> None:
        # Widths are set by _set_column_widths; only the virtual size needs computing (rows are one line).
        if len(self._column_widths) == len(self.columns):
            for column, width in zip(self.columns.values(), self._column_widths, strict=True):
                column.content_width = width
        size = internals.virtual_size_of(self)
        # Only the row count changed: no layout pass of the whole screen (setting virtual_size does one, at every
        # flush that adds or removes a row); the scrollbar follows.
        if not (size.width == self.virtual_size.width and self.columns
                and internals.set_virtual_size_quietly(self, size)):
            super()._update_dimensions(())

    def _rebuild(self, wanted: list[TableRow]) -> None:
        self.clear(columns=True)
        self._row_key_of = {}
        self._rendered = {row.key: row for row in wanted}
        for key in set(self._widths) - set(self._rows):
            del self._widths[key]
        for i in self._shown_columns:
            spec = self.specs[i]
            self.add_column(Text(spec.label, style="bold", end=""), key=spec.key)
        internals.set_rows(self, [row.key for row in wanted], (),
                           [(row.key, self._display_cells(row)) for row in wanted], self._row_key_of, was_empty=True)

    def _restore_cursor(self, cursor_key: str | None, cursor_row: int, scroll_y: int) -> int:
        """Keep the cursor on its row key (or on the first row, if it is there at the top). Scrolled to the top,
        stay at the top (new rows above are seen, e.g. the newest event); scrolled down, keep the cursor row
        where it is on screen.
        Returns the first row shown afterwards."""
        if not self.row_count:
            return 0
        if cursor_row == 0 and scroll_y == 0:
            # The cursor on the first row at the top (where it starts, or where `g` puts it) stays there, like
            # k9s: rows listed later above it (another namespace's runners, the newest event) do not scroll the
            # panel away from its top. A cursor moved down follows its row.
            if self.cursor_row != 0:
                self.move_cursor(row=0, animate=False, scroll=False)
            self.call_after_refresh(lambda: self.scroll_y and self.scroll_to(y=0, animate=False, immediate=True))
            return 0
        if cursor_key is not None and cursor_key in self.rows:
            index = self.get_row_index(cursor_key)
        else:
            index = min(cursor_row, self.row_count - 1)
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False, scroll=False)
        if scroll_y == 0:
            target = 0
        else:
            target = max(0, index - max(cursor_row - scroll_y, 0))
        page = self._page_height()
        if index < target:
            target = index
        elif index >= target + page:
            target = index - page + 1

        def restore() -> None:
            if round(self.scroll_y) != target:
                self.scroll_to(y=target, animate=False, immediate=True)

        self.call_after_refresh(restore)
        return target

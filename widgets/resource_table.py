"""A virtual table of cluster objects: the model is every row, only the rows on screen are ever rendered.

Rows are keyed (a uid). `sync` takes the complete wanted list, `apply` a partial change; the table keeps the
rows, the filtered order and the column widths, and renders a line only when Textual paints it (the Line API,
as widgets/log_view.py does): a flush that changes thousands of rows off screen costs a walk over the row list
and nothing else, and 20,000 runners cost what 1,000 do to scroll, move the cursor or type a filter into.

The cursor stays on its row key and the viewport does not jump when rows come and go; the table also owns
presentation that depends on its own width: which columns fit, and how much of a long name to keep (middle
ellipsis: runner names share a prefix and differ at the end), plus a case-insensitive substring filter over
each row's full text. It looks like Textual's DataTable did (row cursor, bold header, the same theme colours).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, compress, filterfalse, repeat, zip_longest
from operator import contains, itemgetter, not_
from typing import ClassVar, NamedTuple

from rich.cells import cell_len
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from arc_top.widgets.text import age, shared_text, truncate_middle
from arc_top.widgets.textual_internals import QuietFocus, set_virtual_size_quietly

AGE_WIDTH = 4                     # "119s", "119m", "47h": an age column is never narrower
WARM_AGAIN_S = 2.0                 # a new pass of warm_search at most this often
CELL_PADDING = 1                  # a space either side of every cell
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


class RowsDelta(NamedTuple):
    """How a list of rows differs from another: `keys` are the rows that came, went or were replaced since `base`
    (the list it was made from); every other row is the very same object at its key. `rows`, when the builder
    knows them: the rows now at those keys (a key missing from it is gone), so that a table showing `base` takes
    the change without looking every row of the new list up (a 22,000-entry map made again at each flush was
    most of a flush's time in the Runners table at 20,000 runners)."""
    base: list
    keys: frozenset[str]
    rows: Mapping[str, TableRow] | None = None


class RowList(list):
    """Rows for `ResourceTable.sync`, with what their builder knows of them. `delta`: how they differ from the
    builder's previous list; a table that shows that very list then counts the changed rows' widths alone, not
    every row's (20,000 runners under churn). Builders set more attributes for their panels (`grouped_total`)."""

    delta: RowsDelta | None = None
    row_keys: list[str] | None = None      # the rows' keys in order, when the builder keeps them (no walk of the rows)
    grouped_total: int | None = None


class Column(NamedTuple):
    """A column shown now: its spec's key and label, and its content width (without the cell padding)."""
    key: str
    label: str
    content_width: int


_EMPTY = Text("", end="")
_KEY = itemgetter(0)              # a TableRow's key
_PARENT = itemgetter(2)           # …and its parent's
_plain = Text.plain.fget          # a cell's text, without the attribute lookup of the property (~100,000 a fill)


def _cell_width(plain: str) -> int:
    return len(plain) if plain.isascii() else cell_len(plain)


_NULL_STYLE = Style()
_LEFT = (None, "default", "left")


def _put(cache: LRUCache, key: tuple, value: tuple) -> None:
    """`cache[key] = value`, replacing what the key held: Textual's LRUCache.set keeps a key's first value, and a
    line or a line's parts kept under a key whose row has changed since (a new row object, the same key, ages and
    styles) would be rendered again at every paint, never kept."""
    cache.discard(key)
    cache[key] = value


def cell_segments(cell: Text, width: int, console, options) -> list[Segment]:
    """The segments of `cell` padded by CELL_PADDING on each side, in a line `width` cells wide: what Rich renders
    for Padding(cell, (0, CELL_PADDING)) at that width. A non-empty, one-line, printable, left-justified cell that
    fits (nearly every cell: columns are as wide as their widest cell, names are shortened beforehand) is put
    together here, its text rendered as Rich renders a line of it (its style as a span under its own spans): 2-9 µs,
    where Rich's padding, wrapping and cropping took 40-50 µs a cell, and a page of new rows (a filter narrowed, a
    page down, the first fill) renders some 500 cells. Anything else is Rich's."""
    text = cell.plain
    inner = width - 2 * CELL_PADDING
    fill = inner - cell.cell_len
    if fill >= 0 and text and cell.justify in _LEFT and text.isprintable():
        spans = cell.spans
        style = cell.style
        if style or spans:
            line = Text(text, spans=[Span(0, len(text), style), *spans] if style else list(spans))
            body = list(line.render(console))
        else:
            body = [Segment(text)]
        pad = Segment(" " * CELL_PADDING, _NULL_STYLE)
        return [pad, *body, Segment(" " * fill, _NULL_STYLE), pad] if fill else [pad, *body, pad]
    lines = console.render_lines(Padding(cell, (0, CELL_PADDING)), options.update_dimensions(width, 1).update(
        no_wrap=True))
    return lines[0] if lines else [Segment(" " * width)]


class ResourceTable(QuietFocus, ScrollView, can_focus=True):
    """Keyed table of cluster objects with width-aware columns, a row cursor and a row filter."""

    ALLOW_SELECT = False           # a click selects a row, as in DataTable, not text
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "resource-table--header", "resource-table--cursor", "resource-table--cursor-focused",
        "resource-table--hover",
    }

    # DataTable's look (Textual 8), which these tables had before they were virtual, but for the focus: no rule
    # here depends on it (no `:focus`, no tint of the focused table), so that a focus change repaints the cursor
    # line alone. The cursor is drawn in `--cursor-focused` while the table has the focus (render_line); the
    # focused panel shows it in its title too (tui/panels.py).
    DEFAULT_CSS = """
    ResourceTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        max-height: 100%;
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 0;
        & > .resource-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .resource-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .resource-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .resource-table--cursor-focused {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .resource-table--hover {
            background: $block-hover-background;
        }
    }
    """

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

    class RowSelected(Message):
        """Enter (or a click on the cursor's row) on a row."""

        def __init__(self, table: ResourceTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> ResourceTable:
            return self.table

    def __init__(self, columns: Sequence[ColumnSpec], *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.specs = list(columns)
        self._rows: dict[str, TableRow] = {}    # key -> row (in no particular order: see _keys)
        self._keys: list[str] = []               # the rows' keys, in the rows' order
        self._synced: RowList | None = None     # the list last given to sync (a RowList's delta may be based on it)
        self._order: list[str] = []              # the keys shown, in order (the filtered row index)
        self._position: dict[str, int] | None = None   # key -> index in _order (made when asked for)
        self._roots: int | None = None           # root_count, until the rows change
        self._filter = ""
        self._shown_columns: list[int] = []
        self._flex_width: int | None = None
        self._last_width = 0                     # the content width when last laid out (hidden tables have none)
        self._flex_layout: tuple = ()            # (columns, width, filter) the flex width was set for
        self._sticky_widths: dict[int, int] = {}  # the widest each column has been in that layout
        self._search_cache: dict[str, tuple[TableRow, str]] = {}     # key -> (row, its casefolded text)
        self._warm_keys: list[str] | None = None      # the keys of a warm_search pass under way…
        self._warm_at = 0                             # …how far it got
        self._warm_version = -1                       # the rows' version when the last pass ended…
        self._warm_ended = float("-inf")              # …and when (time.monotonic())
        self._cold: set[str] | None = None            # rows changed since the pass began (None: not known)
        # What the filter searches, for exactly the rows of the table: key -> casefolded text. The keys a sync
        # or apply changed since it was made (None: every row is checked against _search_cache).
        self._texts: dict[str, str] = {}
        self._texts_stale: set[str] | None = None
        self._widths: dict[str, tuple[TableRow, tuple[int, ...]]] = {}
        self._column_widths: list[int] = []      # content width per shown column
        self._layout_key: tuple = ()             # (shown columns, flex width, widths): rendered lines depend on it
        self._truncated: dict[str, tuple[Text, int, Text]] = {}  # key -> (cell, width, truncated cell)
        # How many shown rows have each cell width, per shown column: the widest is then known without measuring
        # every row on every update.
        self._width_counts: dict[int, Counter[int]] = {}
        self._counted: dict[str, tuple[TableRow, tuple[int, ...]]] = {}
        self._counted_layout: tuple = ()
        # The rows change (sync, apply) → a new version. A filter keystroke changes no row: the widths counted
        # over every row are kept, and a longer filter searches only what the shorter one matched.
        self._rows_version = 0
        self._all_widths: tuple[tuple, dict[int, int]] = ((), {})     # ((version, columns), widths over every row)
        # (version, needle, keys it did not match, or None, keys it matched, or None): see _match
        self._matched: tuple[int, str, set[str] | None, list[str] | None] | None = None
        self._delta_keys: tuple[int, frozenset[str]] | None = None      # (version before, keys) of a delta sync
        self._children: tuple[int, dict[str, set[str]]] = (-1, {})   # (version, parent key -> its rows' keys)
        self._per_parent: tuple[int, Counter[str | None]] = (-1, Counter())   # (version, rows per parent key)
        # (the order the filter last worked out, the rows it hides) when it hides few of them, else None
        self._hidden: tuple[list[str], Collection[str]] | None = None
        self.cursor_row = 0
        self._hover_row = -1                     # the row under the mouse (-1: none, or the keyboard moved)
        # Age columns are rendered from each row's `created` at `now` when a line is painted: ages moving on cost
        # a repaint of the visible lines, never a rebuild of thousands of rows.
        self.now: float | None = None
        self._cells: LRUCache[tuple, list[Segment]] = LRUCache(4096)
        self._styled: LRUCache[tuple, list[Segment]] = LRUCache(4096)    # …and in a line's styles (_render_cell)
        self._lines: LRUCache[tuple, Strip] = LRUCache(512)
        # Each line's cells as styled segments, without its ages: when only an age moved on (the age tick), or the
        # row was rebuilt with a few new cells (a trend sample), the line is put together again from them and only
        # the age and the new cells rendered. (With one age column, also the line's stretches between its moving
        # cells, made at the line's first age tick or rebuild: the next ones join a few lists — see _splice.)
        self._parts: LRUCache[tuple, tuple[TableRow, list[list[Segment]], tuple | None]] = LRUCache(512)
        self._age_slot: int | None = None        # the position of the one age column shown (None: none, or several)
        self.renders = 0                         # lines rendered (not served from the cache): tests, diagnostics
        self.cell_renders = 0                    # …and cells styled for a line anew (not served from _styled)
        self.spliced = 0                         # …and lines joined from their kept stretches (see _splice)
        self._paint_style: Style | None = None  # self.rich_style during a paint (see render_lines)
        self._placeholder: Text | None = None

    # ---------------------------------------------------------------- public API
    @property
    def filter_text(self) -> str:
        return self._filter

    @property
    def total_count(self) -> int:
        return len(self._rows)

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def visible_count(self) -> int:
        return len(self._order)

    @property
    def root_count(self) -> int:
        """Rows that are not children (runners, not their workflow pods and volumes)."""
        if self._roots is None:
            self._roots = sum(1 for row in self._rows.values() if row.parent is None)
        return self._roots

    @property
    def visible_root_count(self) -> int:
        rows = self._rows
        return sum(1 for key in self._order if rows[key].parent is None)

    def rows_per_parent(self) -> Counter[str | None]:
        """How many rows each parent key has (None: rows without a parent), over every row: counted in C once,
        then kept up to date from each delta sync's changed rows. (Shared: not to be changed by the caller; a
        parent whose rows are all gone may stay, at 0.)"""
        if self._per_parent[0] != self._rows_version:
            self._per_parent = (self._rows_version, Counter(map(_PARENT, self._rows.values())))
        return self._per_parent[1]

    def visible_per_parent(self) -> Counter[str | None]:
        """How many shown rows each parent key has (None: rows without a parent); counted in C."""
        return Counter(map(_PARENT, map(self._rows.__getitem__, self._order)))

    def hidden_rows(self) -> list[TableRow] | None:
        """The rows the filter hides, when they are few (typing a name most rows share): the shown rows are then
        counted as every row less these (a count of 20,000 shown rows at each keystroke). None: the filter
        hides most rows; count the shown ones."""
        hidden = self._hidden
        if hidden is None or hidden[0] is not self._order:
            return None
        return list(map(self._rows.__getitem__, hidden[1]))

    @property
    def cursor_key(self) -> str | None:
        """The row key under the cursor, or None for an empty table."""
        order = self._order
        return order[self.cursor_row] if 0 <= self.cursor_row < len(order) else None

    @property
    def ordered_columns(self) -> list[Column]:
        """The columns shown now, left to right."""
        return [Column(self.specs[i].key, self.specs[i].label, width)
                for i, width in zip(self._shown_columns, self._column_widths, strict=False)]

    def visible_keys(self) -> list[str]:
        return list(self._order)

    def has_row(self, key: str) -> bool:
        return key in self._rows

    def get_row_index(self, key: str) -> int | None:
        """The row's position among the rows shown, or None."""
        if self._position is None:
            self._position = {key: index for index, key in enumerate(self._order)}
        return self._position.get(key)

    def get_row(self, key: str) -> list[Text]:
        """The cells of a shown row as they are displayed (the columns shown now, a long name shortened)."""
        row = self._rows.get(key)
        return [] if row is None else self._display_cells(row)

    def row_text(self, key: str) -> str:
        """The plain text of a row: what the filter searches."""
        row = self._rows.get(key)
        if row is None:
            return ""
        text = "  ".join(map(_plain, row.cells))
        return f"{text}  {row.search}" if row.search else text

    def sync(self, rows: Iterable[TableRow | tuple]) -> None:
        """Make the table show exactly `rows`, in that order. A RowList whose `delta` is based on the very list
        shown now is taken as that change: only its rows are measured (and, when the delta has them, only they
        are put in the key map)."""
        before = self._window_rows()
        delta = getattr(rows, "delta", None)
        change = None
        if delta is not None and delta.base is self._synced:
            old = self._rows
            keys = delta.keys
            fresh = delta.rows
            if fresh is None:
                wanted = dict(zip(map(_KEY, rows), rows, strict=True))
                order = list(wanted)
            else:
                wanted = None
                known = rows.row_keys if isinstance(rows, RowList) else None
                order = list(known) if known is not None and len(known) == len(rows) else list(map(_KEY, rows))
                fresh = {key: row for key in keys if (row := fresh.get(key)) is not None}
            new = wanted if wanted is not None else fresh
            came = sum(1 for key in keys if key in new and key not in old)
            went = sum(1 for key in keys if key in old and key not in new)
            change = ([old[key] for key in keys if key in old], [new[key] for key in keys if key in new],
                      came + went)
            if wanted is None:
                # The map changed in place, key by key; the order is the list's. (A delta that does not add up —
                # not as many keys as rows — is not trusted: the map is made again from the list.)
                for key in keys:
                    row = fresh.get(key)
                    if row is None:
                        old.pop(key, None)
                    else:
                        old[key] = row
                wanted = old
                if len(wanted) != len(order):
                    wanted = dict(zip(order, rows, strict=True))
                    order = list(wanted)
                    change = None
            if change is not None:
                roots = self._roots
                if roots is not None:          # (the rows without a parent, for the title: counted from the change)
                    roots += sum(1 for row in change[1] if row.parent is None) - \
                        sum(1 for row in change[0] if row.parent is None)
            else:
                roots = None
        else:
            roots = None
            wanted = {}
            for row in rows:
                row = row if isinstance(row, TableRow) else TableRow(*row)
                wanted[row.key] = row
            order = list(wanted)
        self._synced = rows if isinstance(rows, RowList) else None
        self._delta_keys = None if change is None else (self._rows_version, delta.keys)
        per_parent = self._per_parent[1]
        if change is not None and self._per_parent[0] == self._rows_version and \
                len(per_parent) <= 2 * len(wanted) + 64:     # (else counted again: gone parents' zeros dropped)
            per_parent.subtract(map(_PARENT, change[0]))
            per_parent.update(map(_PARENT, change[1]))
            self._per_parent = (self._rows_version + 1, per_parent)
        if change is not None and self._children[0] == self._rows_version:
            children = self._children[1]
            for row in change[0]:
                siblings = children.get(row.parent) if row.parent is not None else None
                if siblings is not None:
                    siblings.discard(row.key)
                    if not siblings:
                        del children[row.parent]
            for row in change[1]:
                if row.parent is not None:
                    children.setdefault(row.parent, set()).add(row.key)
            self._children = (self._rows_version + 1, children)
        self._stale_texts(None if change is None else delta.keys, len(wanted))
        self._rows = wanted
        self._keys = order
        self._rows_version += 1
        self._roots = roots
        if len(self._widths) > len(wanted) + len(wanted) // 4 + 64:     # gone rows' entries, dropped now and then
            for cache in (self._widths, self._truncated, self._search_cache):
                for key in [key for key in cache if key not in wanted]:
                    del cache[key]
        self._reconcile(before, change)

    def apply(self, changed: Mapping[str, TableRow | tuple | Sequence[Text] | None]) -> None:
        """Merge a partial change: key -> row (or cells), None = gone. New keys go to the end."""
        before = self._window_rows()
        rows = self._rows
        gone = False
        for key, row in changed.items():
            if row is None:
                gone = rows.pop(key, None) is not None or gone
                continue
            if key not in rows:
                self._keys.append(key)
            if isinstance(row, TableRow):
                rows[key] = row
            elif isinstance(row, tuple) and len(row) in (2, 3, 4) and isinstance(row[0], str):
                rows[key] = TableRow(*row)
            else:
                rows[key] = TableRow(key, list(row))
        if gone:
            self._keys = [key for key in self._keys if key in rows]
        self._roots = None
        self._rows_version += 1
        self._delta_keys = None
        self._stale_texts(changed, len(self._rows))
        self._synced = None               # the rows are no longer that list's
        self._reconcile(before)

    def set_now(self, now: float) -> None:
        """Move ages on: visible lines are painted again with the ages at `now`."""
        before, self.now = self.now, now
        if now == before or not self._order or not any(self.specs[i].age for i in self._shown_columns):
            return
        if before is None or not self.is_mounted:
            self.refresh()
            return
        # Only the lines whose age reads differently are painted again: rows minutes old change once a minute.
        rows = self._rows
        window = self._window()
        moved = [y for y, key in enumerate(window, 1)
                 if rows[key].created and age(before - rows[key].created) != age(now - rows[key].created)]
        if not moved:
            return
        span = self._age_span()
        if span is None:
            x, width = 0, self.size.width
        elif span[1] <= 0:
            return                  # the age column is scrolled or cropped out of view: nothing on screen moved
        else:
            x, width = span
        # Only the age cells are repainted: the lines are rendered again (their age spliced in, see _splice), but
        # the compositor cuts, filters and writes the age column's cells alone, not the whole width of each line.
        if len(moved) > len(window) // 2:
            self.refresh(Region(x, moved[0], width, moved[-1] - moved[0] + 1))
        else:
            for y in moved:
                self.refresh(Region(x, y, width, 1))

    def _age_span(self) -> tuple[int, int] | None:
        """Where the one age column is on screen: (x, width), the width 0 when it is out of view; None when there
        is no single age column (then whole lines are repainted)."""
        slot = self._age_slot
        if slot is None or slot >= len(self._column_widths):
            return None
        widths = [w + 2 * CELL_PADDING for w in self._column_widths]
        start = sum(widths[:slot]) - round(self.scroll_x)
        left, right = max(0, start), min(self.size.width, start + widths[slot])
        return left, max(0, right - left)

    @property
    def placeholder(self) -> Text | None:
        """A line shown under the header while no row is shown (a filter that matches nothing)."""
        return self._placeholder

    @placeholder.setter
    def placeholder(self, text: Text | None) -> None:
        if text != self._placeholder:
            self._placeholder = text
            if not self._order and self.is_mounted:
                self.refresh(Region(0, 1, self.size.width, 1))

    def warm_search(self, seconds: float) -> bool:
        """Make search texts for rows that have none (or an old row's), for about `seconds`: a pass spread over
        several calls, so the first key of a filter finds them made (at 20,000 runners making them all took
        ~270 ms, and the first key typed after `/` waited for it). A pass goes over the rows changed since the
        last one (every row when that is not known), WARM_AGAIN_S after it at the soonest (under churn the rows
        change at every flush: a pass makes the texts of a couple of seconds' changed rows, a few milliseconds at
        20,000 runners; the last changes' texts are made soon after the cluster goes quiet, not while it is), and
        only when rows changed. True: more to do."""
        rows = self._rows
        if self._warm_keys is None:
            if self._warm_version == self._rows_version or time.monotonic() - self._warm_ended < WARM_AGAIN_S:
                return False
            self._warm_keys, self._warm_at = list(rows) if self._cold is None else list(self._cold), 0
            self._cold = set()
        keys, at = self._warm_keys, self._warm_at
        started = at
        stop = time.monotonic() + seconds
        while at < len(keys):
            end = min(at + 256, len(keys))
            for key in keys[at:end]:
                row = rows.get(key)
                if row is not None:
                    self._search_text(key, row)
            at = end
            if time.monotonic() >= stop:
                break
        if at < len(keys):
            self._warm_at = at
            return True
        # The children index too (a filter few rows match shows their children: built at its first key, 10 ms at
        # 20,000 runners), in a call of its own; delta syncs keep it up to date after that.
        if self._children[0] != self._rows_version:
            if at > started:
                self._warm_at = at
                return True
            self._children_index()
        self._warm_keys, self._warm_version, self._warm_ended = None, self._rows_version, time.monotonic()
        return False

    @property
    def search_ready(self) -> bool:
        """Every row's search text is made (a warm_search pass ended since the rows last changed)."""
        return self._warm_keys is None and self._warm_version == self._rows_version

    def prepare_filter(self) -> None:
        """Make the search texts of every row now (a filter is about to be typed): the first keystroke then only
        searches (20,000 rows: ~300 ms of making texts, done while the operator reaches for the key)."""
        self._search_texts()

    def set_filter(self, text: str) -> None:
        text = text.strip()
        if text == self._filter:
            return
        before = self._window_rows()
        self._filter = text
        # Only the lines whose row changed are painted again: typing a name every row shares hides none of the
        # rows on screen, and a whole repaint of the table was a third of such a keystroke at 20,000 runners.
        self._reconcile(before)

    def select_key(self, key: str) -> bool:
        """Move the cursor to a row; clears a filter that hides it. False if there is no such row."""
        if key not in self._rows:
            return False
        if self.get_row_index(key) is None:
            self._filter = ""
            self._reconcile()
        index = self.get_row_index(key)
        if index is None:
            return False
        self.move_cursor(row=index, animate=False)
        return True

    def move_cursor(self, *, row: int | None = None, column: int | None = None, animate: bool = False,
                    scroll: bool = True) -> None:
        """Put the cursor on row `row` (clamped); scroll so it is seen unless `scroll` is False. (`column` and
        `animate` are accepted for DataTable's signature; the cursor is a row cursor and never animates.)"""
        if row is None:
            return
        row = max(0, min(row, len(self._order) - 1))
        if row != self.cursor_row:
            self._refresh_row(self.cursor_row)
            self.cursor_row = row
            self._refresh_row(row)
        if scroll:
            self._scroll_cursor_into_view()

    # ---------------------------------------------------------------- keys and mouse
    def action_cursor_up(self) -> None:
        self._hover_row = -1
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self._hover_row = -1
        self.move_cursor(row=self.cursor_row + 1)

    def action_cursor_left(self) -> None:
        self.scroll_left(animate=False)

    def action_cursor_right(self) -> None:
        self.scroll_right(animate=False)

    def action_page_up(self) -> None:
        self._hover_row = -1
        page = self._page_height()
        self.scroll_to(y=max(0, round(self.scroll_y) - page), animate=False, immediate=True, force=True)
        self.move_cursor(row=self.cursor_row - page)

    def action_page_down(self) -> None:
        self._hover_row = -1
        page = self._page_height()
        self.scroll_to(y=round(self.scroll_y) + page, animate=False, immediate=True, force=True)
        self.move_cursor(row=self.cursor_row + page)

    def action_scroll_top(self) -> None:
        self._hover_row = -1
        self.move_cursor(row=0)
        self.scroll_to(y=0, animate=False, immediate=True, force=True)

    def action_scroll_bottom(self) -> None:
        self._hover_row = -1
        self.move_cursor(row=len(self._order) - 1)

    def action_select_cursor(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def _row_at(self, y: int) -> int:
        """The row index at line `y` of the widget (header excluded), or -1."""
        index = y - 1 + round(self.scroll_y)
        return index if y >= 1 and 0 <= index < len(self._order) else -1

    def on_click(self, event: events.Click) -> None:
        index = self._row_at(event.y)
        if index < 0:
            return
        if index == self.cursor_row:
            self.action_select_cursor()
        else:
            self.move_cursor(row=index)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        index = self._row_at(event.y)
        if index != self._hover_row:
            self._refresh_row(self._hover_row)
            self._hover_row = index
            self._refresh_row(index)

    def on_leave(self, event: events.Leave) -> None:
        if self._hover_row >= 0:
            self._refresh_row(self._hover_row)
            self._hover_row = -1

    # ---------------------------------------------------------------- layout
    def on_mount(self) -> None:      # (ScrollView's own on_mount runs too: Textual calls each class's handler)
        self._reconcile()

    def watch_has_focus(self, has_focus: bool) -> None:
        """The focused look is the cursor line's alone, drawn here (render_line): only that line is repainted.
        (Textual's watcher restyles the widget for `:focus` rules, and a restyle repaints it whole and its
        scrollbars: a ResourceTable's styles do not depend on its focus.)"""
        self._refresh_row(self.cursor_row)

    def on_resize(self, event: events.Resize) -> None:
        if self._layout_changed():
            self._reconcile()
        else:
            self._scroll_cursor_into_view()

    def _available_width(self) -> int:
        """The content width; while the table is hidden (an empty panel shows its state line instead), the width
        it had when last shown: rows filled in while hidden then need no second layout when it appears."""
        width = self.scrollable_content_region.width or self.size.width
        if width > 0:
            self._last_width = width
            return width
        return self._last_width

    def _page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _window(self) -> list[str]:
        """The keys of the rows on screen now."""
        top = max(0, round(self.scroll_y))
        return self._order[top:top + self._page_height()]

    def _columns_for_width(self) -> list[int]:
        width = self._available_width()
        if width <= 0:
            width = 80
        return [i for i, spec in enumerate(self.specs)
                if spec.min_table_width <= width and (spec.max_table_width is None or width <= spec.max_table_width)]

    def _count_widths(self, shown: list[int], wanted: Iterable[TableRow],
                      change: tuple[list[TableRow], list[TableRow], int] | None = None) -> tuple[dict[int, int], int]:
        """The widest cell (or label) of each shown column over `wanted`, updated from what changed; and how many
        rows came or went since the last count. With `change` (see _reconcile) and the same columns as the last
        count, only the changed rows are looked at."""
        layout = tuple(shown)
        counts, counted = self._width_counts, self._counted
        row_widths = self._row_widths
        added = []
        if change is not None and layout == self._counted_layout:
            replaced, rows, new = change
            for row in rows:
                entry = counted.get(row.key)
                if entry is not None:
                    if entry[0] is row:
                        continue
                    widths = row_widths(row)
                    if widths == entry[1]:              # (a row rebuilt as wide as it was: nothing to count again)
                        counted[row.key] = (row, widths)
                        continue
                    self._uncount(entry[1])
                else:
                    widths = row_widths(row)
                added.append(widths)
                counted[row.key] = (row, widths)
            for row in replaced:        # (what is still counted as a replaced row is gone: its key is not in rows)
                entry = counted.get(row.key)
                if entry is not None and entry[0] is row:
                    self._uncount(entry[1])
                    del counted[row.key]
            seen = len(counted)     # (every row is counted: the loop below finds nothing gone)
        else:
            if layout != self._counted_layout:
                self._counted_layout = layout
                counts = self._width_counts = {i: Counter() for i in shown}
                counted = self._counted = {}
            seen = new = 0
            for row in wanted:
                seen += 1
                entry = counted.get(row.key)
                if entry is not None and entry[0] is row:
                    continue
                widths = row_widths(row)
                if entry is not None:
                    if widths == entry[1]:              # (as wide as it was: nothing to count again)
                        counted[row.key] = (row, widths)
                        continue
                    self._uncount(entry[1])
                else:
                    new += 1
                added.append(widths)
                counted[row.key] = (row, widths)
        if added:
            # Counted column by column, in C (a first fill adds thousands of rows of a dozen cells each).
            columns = list(zip_longest(*added, fillvalue=0))
            for i in shown:
                counts[i].update(columns[i] if i < len(columns) else (0,) * len(added))
        gone = len(counted) - seen
        if gone:
            shown_keys = self._rows
            for key in [key for key in counted if key not in shown_keys]:
                self._uncount(counted.pop(key)[1])
        return ({i: max(len(self.specs[i].label), max(counts[i], default=0), AGE_WIDTH if self.specs[i].age else 0)
                 for i in shown}, new + gone)

    def _filtered_widths(self, shown: list[int], order: list[str]) -> dict[int, int]:
        """The widest cell (or label) of each shown column over the rows `order` (their widths are cached)."""
        widths = self._widths
        columns = list(zip(*(widths[key][1] for key in order), strict=False)) if order else []
        return {i: max(len(self.specs[i].label), AGE_WIDTH if self.specs[i].age else 0,
                       max(columns[i]) if i < len(columns) else 0) for i in shown}

    def _uncount(self, widths: tuple[int, ...]) -> None:
        for i, counter in self._width_counts.items():
            width = widths[i] if i < len(widths) else 0
            left = counter[width] - 1
            if left > 0:
                counter[width] = left
            else:
                del counter[width]

    def _flex_for(self, shown: list[int], widths: dict[int, int]) -> int | None:
        """The flex column's width beside the others (`widths`: the widest cell of each shown column)."""
        flex = [i for i in shown if self.specs[i].flex]
        width = self._available_width()
        if not flex or width <= 0:
            return None
        index = flex[0]
        room = self._flex_room(shown, widths)
        spec = self.specs[index]
        natural = widths[index] if spec.max_width is None else min(widths[index], spec.max_width)
        return max(spec.min_width, min(natural, room))

    def _flex_room(self, shown: list[int], widths: dict[int, int]) -> int:
        """The width the flex column may take beside the others (tail columns take what is left)."""
        index = next((i for i in shown if self.specs[i].flex), None)
        pad = 2 * CELL_PADDING
        others = sum(widths[i] + pad for i in shown if i != index and not self.specs[i].tail)
        return self._available_width() - others - pad

    def _row_widths(self, row: TableRow) -> tuple[int, ...]:
        cached = self._widths.get(row.key)
        if cached is not None:
            before, known = cached
            if before is row:
                return known
            if len(before.cells) == len(row.cells) == len(known):
                # A row built again shares most cells with the one it replaces (a scale set's row at a trend sample:
                # all but its trend cells): their widths are known.
                widths = tuple([width if old is cell else _cell_width(_plain(cell))
                                for old, cell, width in zip(before.cells, row.cells, known, strict=True)])
                self._widths[row.key] = (row, widths)
                return widths
        # Cluster strings are nearly always ASCII: one cell per character, no need to ask Rich. (_cell_width, inlined:
        # a first fill measures ~100,000 cells.)
        widths = tuple([len(p) if p.isascii() else cell_len(p) for p in map(_plain, row.cells)])
        self._widths[row.key] = (row, widths)
        return widths

    def _layout_changed(self) -> bool:
        """The columns shown or the width they share changed (not just the height: a focused panel grows, and
        measuring every row at each focus change cost 10-60 ms at 5,000-20,000 rows)."""
        return self._columns_for_width() != self._shown_columns or \
            (self._flex_layout[1:2] != (self._available_width(),))

    # ---------------------------------------------------------------- filtering
    def _stale_texts(self, keys: Iterable[str] | None, rows: int) -> None:
        """Note the rows whose search text may have changed (None: any of them), for the next search and for the
        next warm_search pass."""
        cold = self._cold
        if cold is not None and keys is not None and len(cold) <= rows:
            cold.update(keys)
        else:
            self._cold = None
        stale = self._texts_stale
        if stale is not None and keys is not None:
            stale.update(keys)
            if len(stale) <= rows:
                return
        self._texts_stale = None          # (many changes while nobody filters: the next search checks every row)

    def _search_texts(self) -> dict[str, str]:
        """key -> casefolded search text of every row: only the rows changed since the last search are looked
        at (a keystroke at 20,000 rows looked up and checked every row's cached text)."""
        rows, stale = self._rows, self._texts_stale
        if stale is None:
            self._texts = {}
        texts = self._texts
        for key in rows if stale is None else stale:
            row = rows.get(key)
            if row is None:
                texts.pop(key, None)
                continue
            texts[key] = self._search_text(key, row)
        self._texts_stale = set()
        return texts

    def _search_text(self, key: str, row: TableRow) -> str:
        """The casefolded search text of `row` (at `key`), made once per row object."""
        entry = self._search_cache.get(key)
        if entry is None or entry[0] is not row:
            entry = self._search_cache[key] = (row, self.row_text(key).casefold())
        return entry[1]

    def _filtered_order(self) -> list[str]:
        rows, keys = self._rows, self._keys
        if not self._filter:
            order = list(keys)
            self._hidden = (order, ())
            return order
        excluded, matched = self._match(self._filter.casefold())
        if matched is None and not excluded:
            order = list(keys)
            self._hidden = (order, ())
            return order
        per_parent = self.rows_per_parent()
        if matched is None:
            # Most rows match (typing a name all rows share). A row that did not match still shows under a matching
            # parent, or as the parent of a matching row: a parent all of whose rows are among the unmatched ones
            # has none (counted per parent, in C). Only the few unmatched rows are looked at one by one.
            unmatched_per_parent = Counter(map(_PARENT, map(rows.__getitem__, excluded)))
            hidden = set()
            for key in excluded:
                parent = rows[key].parent
                if (parent not in rows or parent in excluded) and \
                        unmatched_per_parent.get(key, 0) == per_parent.get(key, 0):
                    hidden.add(key)
            order = list(filterfalse(hidden.__contains__, keys)) if hidden else list(keys)
            self._hidden = (order, hidden)
            return order
        # Few rows match: those, their parents and their children (from the children index, for the matches that
        # have any), in the rows' order (one pass in C).
        shown = set(matched)
        shown.update(rows.keys() & set(map(_PARENT, map(rows.__getitem__, matched))))
        with_children = [key for key in matched if per_parent.get(key)]
        if with_children:
            children = self._children_index()
            for key in with_children:
                shown.update(children.get(key, ()))
        self._hidden = None
        return list(filter(shown.__contains__, keys))

    def _match(self, needle: str) -> tuple[set[str] | None, list[str] | None]:
        """Which rows' search texts contain `needle` (casefolded): (the keys of the rows that do not, None) when
        most rows do, else (None, the keys of the rows that do, in no particular order). Whichever is fewer is
        kept: a name most rows share costs one pass and a set of the few that differ, not a set of every match.
        Typing on once few match, only those are searched (only what the shorter filter matched can match the
        longer one), with the rows the same (a keystroke) or changed by a known delta since (a flush while
        filtered). When many match, a keystroke searches every row again (looking up each in the set of the few
        excluded cost more than searching those few); a flush under the same filter searches its changed rows."""
        rows = self._rows
        texts = self._search_texts()
        version = self._rows_version
        previous = self._matched
        candidates: list[str] | None = None
        if previous is not None and previous[1] in needle:
            before, shorter, excluded, matched = previous
            delta = self._delta_keys
            if before == version:
                if shorter == needle:
                    return excluded, matched
                candidates = matched
            elif delta is not None and delta[0] == before and version == before + 1:
                changed = delta[1]
                if matched is not None:
                    candidates = [key for key in matched if key not in changed]
                    candidates += [key for key in changed if key in rows]
                elif shorter == needle:
                    # The same filter after a flush, most rows matching: the rows not matching are those that did
                    # not before and did not change, and the changed ones that do not now (at 20,000 runners under
                    # churn a pass over every row made each flush ~10 ms longer while a filter was typed).
                    still = {key for key in excluded if key not in changed}
                    still.update(key for key in changed if key in rows and needle not in texts[key])
                    if 2 * len(still) < len(rows):
                        self._matched = (version, needle, still, None)
                        return still, None
        if candidates is not None:              # few matched the shorter filter: only those are searched
            found = [key for key in candidates if needle in texts[key]]
            if 2 * len(found) <= len(rows):
                self._matched = (version, needle, None, found)
                return None, found
            excluded = rows.keys() - set(found)
        else:                                   # many did (or nothing is known): one pass over every row
            # One call in C over the texts (which have exactly the rows' keys; the order does not matter here): no
            # bytecode per row, and no switch to a watch thread midway. Counted before either set is made.
            flags = list(map(contains, texts.values(), repeat(needle)))
            matches = flags.count(True)
            if 2 * matches <= len(rows):  # …few match: no set of the many that do not
                found = list(compress(texts, flags))
                self._matched = (version, needle, None, found)
                return None, found
            misses = len(flags) - matches
            if not misses:              # (every row: a name they all share, typed letter by letter)
                excluded = set()
            elif misses * 16 < len(flags):      # the few that do not match, found by position in C
                keys, at, where = list(texts), -1, flags.index
                excluded = set()
                for _ in range(misses):
                    at = where(False, at + 1)
                    excluded.add(keys[at])
            else:
                excluded = set(compress(texts, map(not_, flags)))
        self._matched = (version, needle, excluded, None)
        return excluded, None

    def _children_index(self) -> dict[str, set[str]]:
        """parent key -> the keys of its rows: built over every row once, then kept up to date from each delta
        sync's changed rows (see sync)."""
        if self._children[0] != self._rows_version:
            index: dict[str, set[str]] = {}
            for key, row in self._rows.items():
                if row.parent is not None:
                    index.setdefault(row.parent, set()).add(key)
            self._children = (self._rows_version, index)
        return self._children[1]

    # ---------------------------------------------------------------- reconcile
    def _display_cells(self, row: TableRow) -> list[Text]:
        """The cells of `row` for the columns shown: the flex one shortened to its width, ages at `now`."""
        return [self._display_cell(row, j) for j in range(len(self._shown_columns))]

    def _display_cell(self, row: TableRow, j: int) -> Text:
        """The cell of `row` shown at position `j` (see _display_cells)."""
        i = self._shown_columns[j]
        spec = self.specs[i]
        cell = row.cells[i] if i < len(row.cells) else _EMPTY
        flex_width = self._flex_width
        if spec.age and self.now is not None and row.created:
            cell = shared_text(age(self.now - row.created))
        elif flex_width is not None and spec.flex and cell.cell_len > flex_width:
            cached = self._truncated.get(row.key)
            if cached is not None and cached[0] is cell and cached[1] == flex_width:
                cell = cached[2]
            else:
                short = truncate_middle(cell, flex_width)
                self._truncated[row.key] = (cell, flex_width, short)
                cell = short
        return cell

    def _window_rows(self) -> list[tuple[str, TableRow]]:
        rows = self._rows
        return [(key, rows[key]) for key in self._window()] if self.is_mounted else []

    def _reconcile(self, before: list[tuple[str, TableRow]] | None = None,
                   change: tuple[list[TableRow], list[TableRow], int] | None = None) -> None:
        """Work out the rows shown, the columns and their widths from `_rows`; keep the cursor on its row and the
        viewport where it was; repaint only when what is on screen changed (`before`: the rows on screen before
        the change; None: repaint). `change`: (the rows replaced or gone, the rows new or replacing them, how many
        keys came or went) when sync knows it: the widths are counted from those rows alone."""
        cursor_key, cursor_row = self.cursor_key, self.cursor_row
        scroll_y = round(self.scroll_y)
        old_order = self._order
        order = self._filtered_order()
        self._order = order
        self._position = None
        shown = self._columns_for_width()
        rows = self._rows
        # Widths are counted over every row, change by change; a filter's rows are measured from the widths kept
        # per row (one pass in C over them: typing a filter at 20,000 rows recounted every row per keystroke).
        counted = (self._rows_version, tuple(shown))
        if self._all_widths[0] == counted:       # no row changed (a filter keystroke, a resize): counted already
            natural, churn = dict(self._all_widths[1]), 0
        else:
            natural, churn = self._count_widths(shown, rows.values(), change)
            self._all_widths = (counted, dict(natural))
        if self._filter and len(order) != len(rows):
            natural = self._filtered_widths(shown, order)
        layout = (tuple(shown), self._available_width(), self._filter)
        replaced = bool(old_order) and churn > len(old_order) // 2
        sticky_ok = layout == self._flex_layout and not replaced and len(order) >= STICKY_ROWS
        if sticky_ok:
            # Under churn in a big table, columns only widen (until the width, the columns shown, the filter or
            # most rows change): a widest value that comes and goes used to move the name column's width, and
            # every row's name was truncated again. Small tables fit their rows exactly.
            sticky = self._sticky_widths
            natural = {i: max(w, sticky.get(i, 0)) for i, w in natural.items()}
        self._sticky_widths = natural
        flex = self._flex_for(shown, natural)
        if (sticky_ok and flex is not None and self._flex_width is not None and flex < self._flex_width
                and self._flex_width <= self._flex_room(shown, natural)):
            flex = self._flex_width     # the widest name left: keep the column as wide while it fits
        self._flex_layout = layout
        widths = [natural[i] if flex is None or not self.specs[i].flex else min(natural[i], max(flex, 0))
                  for i in shown]
        widths = [max(w, len(self.specs[i].label)) for w, i in zip(widths, shown, strict=True)]
        layout_changed = shown != self._shown_columns or flex != self._flex_width or widths != self._column_widths
        self._shown_columns = shown
        self._flex_width = flex
        self._column_widths = widths
        self._layout_key = (tuple(shown), flex, tuple(widths))
        slots = [j for j, i in enumerate(shown) if self.specs[i].age]
        self._age_slot = slots[0] if len(slots) == 1 else None
        if not self.is_mounted:
            return
        self._set_virtual_size()
        target = self._restore_cursor(cursor_key, cursor_row, scroll_y)
        if layout_changed or before is None or target != scroll_y:
            self.refresh()
            return
        # Only the lines whose row came, went, moved or was rebuilt are painted again (a whole-widget refresh
        # makes Textual compose every line of the panel again). Thousands of churning runners mostly come and go
        # off screen: then nothing is painted.
        after = order[target:target + self._page_height()]
        changed = [y for y in range(max(len(before), len(after)))
                   if y >= len(before) or y >= len(after) or before[y][0] != after[y]
                   or before[y][1] is not rows[after[y]]]
        if self.cursor_row != cursor_row:
            changed += [cursor_row - target, self.cursor_row - target]
        elif changed and self._refresh_cells(before, after, changed):
            return
        if len(changed) > len(after) // 2:
            self.refresh()
        else:
            width = self.size.width
            for y in set(changed):
                if 0 <= y < len(after) + 1:
                    self.refresh(Region(0, y + 1, width, 1))

    def _refresh_cells(self, before: list[tuple[str, TableRow]], after: list[str], changed: list[int]) -> bool:
        """When every changed line is a row rebuilt in place with a few new cells (the Scale sets rows at a trend
        sample), repaint those cells' columns over those lines, not the lines' whole width (the compositor cuts,
        filters and writes every cell it is given). False, nothing done: a row came, went, moved or changed most
        of its cells."""
        rows, slots = self._rows, set()
        for y in changed:
            if y >= len(before) or y >= len(after) or before[y][0] != after[y]:
                return False
            moved = self._moved_slots(before[y][1], rows[after[y]])
            if moved is None:
                return False
            slots.update(moved)
        ends = list(accumulate(w + 2 * CELL_PADDING for w in self._column_widths))
        scroll_x, width = round(self.scroll_x), self.size.width
        top, bottom = min(changed) + 1, max(changed) + 1
        for slot in slots:
            left = max(0, (ends[slot - 1] if slot else 0) - scroll_x)
            right = min(width, ends[slot] - scroll_x)
            if right > left:
                self.refresh(Region(left, top, right - left, bottom - top + 1))
        return True

    def _set_virtual_size(self) -> None:
        width = sum(w + 2 * CELL_PADDING for w in self._column_widths)
        size = Size(width, len(self._order) + 1)
        old = self.virtual_size
        if size == old:
            return
        # Only the row count changed and the table's height cannot follow it (a fixed height, or more rows than
        # fit either way): no layout pass of the whole screen (setting virtual_size does one), the scrollbar
        # follows. An auto-height table (Scale sets) that grows or shrinks is laid out again.
        height = self.size.height
        auto = self.styles.height is not None and self.styles.height.is_auto
        quiet = size.width == old.width and (not auto or (old.height > height and size.height > height))
        if not (quiet and set_virtual_size_quietly(self, size)):
            self.virtual_size = size

    def _restore_cursor(self, cursor_key: str | None, cursor_row: int, scroll_y: int) -> int:
        """Keep the cursor on its row key (or on the first row, if it is there at the top). Scrolled to the top,
        stay at the top (new rows above are seen, e.g. the newest event); scrolled down, keep the cursor row
        where it is on screen. Returns the first row shown afterwards."""
        count = len(self._order)
        if not count:
            self.cursor_row = 0
            return 0
        if cursor_row == 0 and scroll_y == 0:
            # The cursor on the first row at the top (where it starts, or where `g` puts it) stays there, like
            # k9s: rows listed later above it (another namespace's runners, the newest event) do not scroll the
            # panel away from its top. A cursor moved down follows its row.
            self.cursor_row = 0
            if self.scroll_y:
                self.scroll_to(y=0, animate=False, immediate=True, force=True)
            return 0
        index = None
        if cursor_key is not None and cursor_key in self._rows:
            order = self._order
            if cursor_row < count and order[cursor_row] == cursor_key:
                index = cursor_row
            else:
                try:
                    index = order.index(cursor_key)     # a C loop: no key -> position map of every row
                except ValueError:
                    index = None
        if index is None:
            index = min(cursor_row, count - 1)
        self.cursor_row = index
        if scroll_y == 0:
            target = 0
        else:
            target = max(0, index - max(cursor_row - scroll_y, 0))
        page = self._page_height()
        if index < target:
            target = index
        elif index >= target + page:
            target = index - page + 1
        target = min(target, max(0, count + 1 - self.scrollable_content_region.height))
        if round(self.scroll_y) != target:
            self.scroll_to(y=target, animate=False, immediate=True, force=True)
        return target

    def _scroll_cursor_into_view(self) -> None:
        top, page = round(self.scroll_y), self._page_height()
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True, force=True)
        elif self.cursor_row >= top + page:
            self.scroll_to(y=self.cursor_row - page + 1, animate=False, immediate=True, force=True)

    def _refresh_row(self, index: int) -> None:
        if index < 0 or not self.is_mounted:
            return
        y = index + 1 - round(self.scroll_y)
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    # ---------------------------------------------------------------- rendering (the Line API)
    def render_lines(self, crop: Region) -> list[Strip]:
        # The widget's style (a walk up the DOM for the background) once per paint, not once per line.
        self._paint_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._paint_style = None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self._paint_style or self.rich_style
        scroll_x = round(self.scroll_x)
        if y == 0:
            return self._header_line(base, scroll_x, width)
        index = y - 1 + round(self.scroll_y)
        order = self._order
        if not 0 <= index < len(order):
            if y == 1 and not order and self._placeholder is not None:
                return self._placeholder_line(base, width)
            return Strip.blank(width, base)
        key = order[index]
        row = self._rows[key]
        component = Style()
        if index == self._hover_row:
            component += self.get_component_rich_style("resource-table--hover")
        if index == self.cursor_row:
            component += self.get_component_rich_style(
                "resource-table--cursor-focused" if self.has_focus else "resource-table--cursor")
        ages = age(self.now - row.created) if self.now is not None and row.created else None
        cache_key = (key, base, component, scroll_x, width, ages, self._layout_key)
        cached = self._lines.get(cache_key)
        if cached is not None and cached[0] is row:
            return cached[1]
        self.renders += 1
        # A click anywhere on the line is on this row (on_click finds it from the line's y, not from metadata).
        pre, post = base + component, Style.from_color(bgcolor=component.bgcolor)
        parts_key = (key, base, component, self._layout_key)
        parts = self._parts.get(parts_key)
        # The row rendered before at this key (same styles, same layout), or rebuilt with most of its cells the
        # very same objects (a Scale sets row at each trend sample: new trend cells, the rest kept): the cells
        # that moved on (its age, its changed cells) are rendered, every other cell's segments reused.
        moved = None if parts is None else () if parts[0] is row else self._moved_slots(parts[0], row)
        if moved is not None and (moved or ages is not None):
            cells, splice = parts[1], parts[2]
            if moved:
                cells = cells[:]
                widths = self._column_widths
                for j in moved:
                    cells[j] = self._render_cell(self._display_cell(row, j), widths[j] + 2 * CELL_PADDING, pre, post)
            slot = self._age_slot
            slots = moved if ages is None or slot is None else tuple(sorted({*moved, slot}))
            if scroll_x == 0 and (ages is None or slot is not None):
                if splice is None or splice[0] != width or splice[1] != slots:
                    # (made at the line's first age tick or first rebuild, not before)
                    splice = self._splice(cells, pre, width, slots)
                _put(self._parts, parts_key, (row, cells, splice))
                if splice[2] is not None:
                    self.spliced += 1
                    strip = self._spliced_line(splice, cells, ages, pre, post, width)
                    _put(self._lines, cache_key, (row, strip))
                    return strip
            else:
                _put(self._parts, parts_key, (row, cells, splice))
            if ages is not None:
                cells = cells[:]
                now = self.now
                for j, i in enumerate(self._shown_columns):
                    if self.specs[i].age and j < len(cells):
                        cells[j] = self._render_cell(shared_text(age(now - row.created)),
                                                     self._column_widths[j] + 2 * CELL_PADDING, pre, post)
        else:
            cells = [self._render_cell(cell, content_width + 2 * CELL_PADDING, pre, post)
                     for cell, content_width in zip(self._display_cells(row), self._column_widths, strict=False)]
            _put(self._parts, parts_key, (row, cells, None))
        strip = self._join_cells(cells, pre, base, scroll_x, width)
        _put(self._lines, cache_key, (row, strip))
        return strip

    def _moved_slots(self, before: TableRow, row: TableRow) -> tuple[int, ...] | None:
        """The positions of the shown columns whose cell in `row` is not the very object it was in `before` (the
        same row's earlier build), or None when the two cannot be compared cell by cell or most cells changed."""
        old, new = before.cells, row.cells
        if len(old) != len(new) or before.created != row.created:
            return None
        moved = tuple(j for j, i in enumerate(self._shown_columns) if i < len(new) and new[i] is not old[i])
        return moved if 2 * len(moved) <= len(self._shown_columns) else None

    def _splice(self, cells: list[list[Segment]], pre: Style, width: int, slots: tuple[int, ...]) -> tuple:
        """A line's segments between its moving cells (`slots`: positions of the shown columns, ascending), the
        line filled or cropped to `width`, each stretch simplified: (width, slots, stretches); stretches is None
        when a moving cell is not wholly within `width` (or not there)."""
        if not slots or slots[-1] >= len(cells):
            return width, slots, None
        widths = [w + 2 * CELL_PADDING for w in self._column_widths]
        through, table_width = sum(widths[:slots[-1] + 1]), sum(widths)     # the line up to the last; all of it
        if through > width:
            return width, slots, None
        stretches, start = [], 0
        for slot in slots:
            stretches.append([segment for cell in cells[start:slot] for segment in cell])
            start = slot + 1
        after = [segment for cell in cells[start:] for segment in cell]
        if table_width < width:
            after.append(Segment(" " * (width - table_width), pre))
        elif table_width > width:
            after = list(Strip(after, table_width - through).crop(0, width - through))
        stretches.append(after)
        return width, slots, [list(Segment.simplify(stretch)) for stretch in stretches]

    def _spliced_line(self, splice: tuple, cells: list[list[Segment]], ages: str | None, pre: Style, post: Style,
                      width: int) -> Strip:
        """A line from its splice (see _splice): the moving cells (the age rendered at `ages`, the others as in
        `cells`) between the stretches as they were. At each age tick every visible line of a young cluster's
        tables is painted again, and at each trend sample every Scale sets line; joining, cropping and simplifying
        each whole line was most of what an idle screen cost."""
        _, slots, stretches = splice
        out = list(stretches[0])
        age_slot = self._age_slot if ages is not None else None
        for slot, stretch in zip(slots, stretches[1:], strict=True):
            if slot == age_slot:
                cell = self._render_cell(shared_text(ages), self._column_widths[slot] + 2 * CELL_PADDING, pre,
                                         post)
            else:
                cell = cells[slot]
            # (The segments where the parts meet merged as a whole line's simplify would: the same line, segment
            # for segment, as a full render.)
            tail = out[-1:]
            del out[-1:]
            out.extend(Segment.simplify([*tail, *cell, *stretch[:1]]))
            out.extend(stretch[1:])
        return Strip(out, width)

    def _placeholder_line(self, base: Style, width: int) -> Strip:
        cells = self._render_cell(self._placeholder, width, base, Style())
        return Strip(cells, width).adjust_cell_length(width, base).simplify()

    def _header_line(self, base: Style, scroll_x: int, width: int) -> Strip:
        header = self.get_component_rich_style("resource-table--header")
        cache_key = ("header", base, header, scroll_x, width, self._layout_key)
        cached = self._lines.get(cache_key)
        if cached is not None:
            return cached[1]
        labels = [shared_text(self.specs[i].label, "bold") for i in self._shown_columns]
        strip = self._compose_line(labels, header, Style(), base, scroll_x, width)
        self._lines[cache_key] = (None, strip)
        return strip

    def _compose_line(self, cells: list[Text], pre: Style, post: Style, base: Style, scroll_x: int,
                      width: int) -> Strip:
        """One line of cells, each padded to its column, then filled to the widget's width in `pre`'s colours,
        cropped at the horizontal scroll (what DataTable's row rendering did)."""
        return self._join_cells([self._render_cell(cell, content_width + 2 * CELL_PADDING, pre, post)
                                 for cell, content_width in zip(cells, self._column_widths, strict=False)],
                                pre, base, scroll_x, width)

    def _join_cells(self, cells: list[list[Segment]], pre: Style, base: Style, scroll_x: int, width: int) -> Strip:
        """A line from its cells' styled segments (see _compose_line)."""
        segments: list[Segment] = []
        for cell in cells:
            segments.extend(cell)
        table_width = sum(w + 2 * CELL_PADDING for w in self._column_widths)
        if width > table_width:
            segments.append(Segment(" " * (width - table_width), pre))
        strip = Strip(segments, max(width, table_width))
        if scroll_x:
            strip = strip.crop(scroll_x, scroll_x + width)
        return strip.adjust_cell_length(width, base).simplify()

    def _render_cell(self, cell: Text, width: int, pre: Style, post: Style) -> list[Segment]:
        """What Rich renders for Styled(Padding(cell, (0, 1)), pre, post) at `width`: the padded cell is rendered
        once (per text, spans and width) and the line's styles (the cursor, focus, hover) applied to its
        segments as Styled does, so moving the cursor or the focus never renders a cell's text again."""
        # Keyed by what the render depends on, not by the object: a row rebuilt with the same text (a scale set's
        # row at every trend sample, an age that many rows read) is not rendered again.
        key = (cell.plain, cell.style, tuple(cell.spans), cell.justify, cell.overflow, cell.no_wrap, cell.tab_size,
               width)
        # The cell in the line's styles: rows rebuilt with the same text (the Scale sets rows at every age tick) and
        # lines painted again for their ages reuse it; only a new text or a new cursor/focus style makes it again.
        styled = self._styled.get((key, pre, post))
        if styled is not None:
            return styled
        segments = self._cells.get(key)
        if segments is None:
            segments = self._cells[key] = cell_segments(cell, width, self.app.console, self.app.console_options)
        out = []
        for text, style, control in segments:
            if control:
                out.append(Segment(text, None, control))
                continue
            style = pre + style if pre else style       # Segment.apply_style: pre + style, then + post
            out.append(Segment(text, (style + post if style else post) if post else style))
        self._styled[(key, pre, post)] = out
        self.cell_renders += 1
        return out

"""A line viewer for logs and other long text: renders only the rows on screen (Textual's line API).

At thousands of lines a second a `Log`/`RichLog` re-measures or re-renders too much; here appending is a
list extend plus a little arithmetic, and a frame renders only the visible rows (cached per line). Lines are
kept up to `cap` (the oldest go first), so memory is bounded whatever the rate.

It offers what reading a runner's log needs:
- follow: pinned to the end while new lines arrive; scrolling up pauses (`new_lines` counts what arrived
  since), scrolling to the end (or `end`) resumes — `FollowChanged` tells the screen;
- search (case-insensitive substring) with every match highlighted and `next_match` for n/N, and a filter
  that shows only matching lines;
- lines marked by a pattern (an ARC failure) get a ✖ marker and the error colour; arc-top's own notes
  (stream ended, reconnecting…) are set apart;
- optional timestamps and soft wrap.

Text given to it must already be one sanitised line (widgets.text.log_line); it is never parsed as markup.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from typing import Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from arc_top.widgets.text import ERROR, INFO, MARKERS, OK, WARN, Palette, strip_escapes

MARK_PREFIX = 2            # "✖ " before a marked line, "⚠ " before arc-top's own notes
NOTE = WARN                # LogLine.meta of arc-top's own lines: their severity (ok, info, warn, error)
NOTE_SEVERITIES = (OK, INFO, WARN, ERROR)
COMPACT_AFTER = 1024       # evicted lines kept in the list before it is compacted
MAX_LINE_CHARS = 10_000    # a longer line is cut here (with a note of how much was left out)


def short_stamp(stamp: str) -> str:
    """`2025-10-09T08:51:42.123Z`: an RFC 3339 (nano) timestamp cut to milliseconds for display."""
    if len(stamp) > 20 and stamp[19] == "." and stamp.endswith("Z"):
        return stamp[:20] + stamp[20:-1][:3].ljust(3, "0") + "Z"
    return stamp


def log_text(raw: str, max_chars: int = MAX_LINE_CHARS) -> str:
    """One log line made safe to show: escape sequences and controls removed, tabs expanded, stray line
    breaks folded to spaces, cut at `max_chars`. Never parsed as markup afterwards."""
    text = strip_escapes(raw)
    if "\n" in text:
        text = text.replace("\n", " ")
    if "\t" in text:
        text = text.expandtabs(8)
    if len(text) > max_chars:
        text = f"{text[:max_chars]} … [{len(text) - max_chars:,} more characters]"
    return text


class LogLine:
    """One line: a position, the server's timestamp, sanitised text, an optional pattern match."""

    __slots__ = ("seq", "stamp", "text", "mark", "meta", "width", "_folded")

    def __init__(self, seq: int, stamp: str, text: str | Text, mark: Any = None, meta: str = "",
                 width: int | None = None) -> None:
        self.seq = seq
        self.stamp = stamp
        self.text = text
        self.mark = mark
        self.meta = meta
        if width is None:
            if isinstance(text, Text):
                width = text.cell_len
            else:
                width = len(text) if text.isascii() else cell_len(text)
        self.width = width
        self._folded: str | None = None

    @property
    def plain(self) -> str:
        return self.text.plain if isinstance(self.text, Text) else self.text

    def folded(self) -> str:
        if self._folded is None:
            self._folded = self.plain.casefold()
        return self._folded


class LogView(ScrollView, can_focus=True):
    """Keyed by nothing: an append-only, capped list of lines, rendered row by row."""

    ALLOW_SELECT = False
    DEFAULT_CSS = """
    LogView {
        background: $surface;
        color: $text;
        overflow-y: scroll;
        overflow-x: auto;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 1;
        &:focus { background-tint: $foreground 4%; }
    }
    """

    BINDINGS = [
        Binding("up,k", "scroll_up", "Up", show=False, id="log-view.up"),
        Binding("down,j", "scroll_down", "Down", show=False, id="log-view.down"),
        Binding("left", "scroll_left", "Left", show=False, id="log-view.left"),
        Binding("right", "scroll_right", "Right", show=False, id="log-view.right"),
        Binding("pageup,b", "page_up", "Page up", show=False, id="log-view.page-up"),
        Binding("pagedown,space", "page_down", "Page down", show=False, id="log-view.page-down"),
        Binding("home,g", "scroll_home", "Top", show=False, id="log-view.top"),
        Binding("end,G", "scroll_end", "End (follow again)", show=False, id="log-view.end"),
    ]

    class FollowChanged(Message):
        """Following started or stopped (the user scrolled away from or back to the end)."""

        def __init__(self, view: LogView, follow: bool) -> None:
            super().__init__()
            self.view = view
            self.follow = follow

    def __init__(self, cap: int = 50_000, *, follow: bool = True, wrap: bool = False, timestamps: bool = False,
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.cap = max(1, cap)
        self.follow = follow
        self._wrap = wrap
        self._timestamps = timestamps
        self.palette = Palette()
        self.new_lines = 0                   # lines that arrived in the view while not following
        self.appended = 0                    # every line ever appended (seq of the next one)
        self.evicted = 0                     # lines dropped at the cap
        self._buf: list[LogLine] = []
        self._head = 0
        self._view: list[LogLine] | None = None     # the filtered lines (None: all of _buf)
        self._vhead = 0
        self._cum: list[int] | None = None          # wrap: rows before each view item (absolute)
        self._cum_width = 0
        self._max_width = 0
        self._search = ""
        self._filter = ""
        self._current: int | None = None            # seq of the current search match
        self._gen = 0                               # bumped when every rendered line must change
        self._cache: LRUCache[tuple[int, int], Strip] = LRUCache(2048)
        self._programmatic = 0
        self._base_style: Style | None = None

    # ---------------------------------------------------------------- options
    @property
    def wrap(self) -> bool:
        return self._wrap

    @wrap.setter
    def wrap(self, value: bool) -> None:
        if value != self._wrap:
            anchor = self._anchor()
            self._wrap = value
            self._relayout(anchor)

    @property
    def timestamps(self) -> bool:
        return self._timestamps

    @timestamps.setter
    def timestamps(self, value: bool) -> None:
        if value != self._timestamps:
            anchor = self._anchor()
            self._timestamps = value
            self._max_width = max((self._line_width(ln) for ln in self._live()), default=0)
            self._relayout(anchor)

    @property
    def search(self) -> str:
        return self._search

    @property
    def filter(self) -> str:
        return self._filter

    def set_palette(self, palette: Palette) -> None:
        self.palette = palette
        self._invalidate()

    # ---------------------------------------------------------------- content
    @property
    def line_count(self) -> int:
        """Lines held (all of them, filtered or not)."""
        return len(self._buf) - self._head

    @property
    def view_count(self) -> int:
        items, head = self._items()
        return len(items) - head

    def lines(self) -> Iterator[LogLine]:
        """Every line held, oldest first."""
        return self._live()

    def _live(self) -> Iterator[LogLine]:
        buf = self._buf
        return (buf[i] for i in range(self._head, len(buf)))

    def clear(self) -> None:
        self._buf, self._head, self._view, self._vhead, self._cum = [], 0, None, 0, None
        self._max_width = 0
        self._current = None
        self.new_lines = 0
        self.evicted = 0
        if self._filter:
            self._view = []
        self._invalidate()
        self._update_size()
        self.scroll_to(0, 0, animate=False, immediate=True)

    def append(self, items: Iterable[tuple[str, str | Text, Any, str]]) -> int:
        """Add (stamp, text, mark, meta) lines at the end; returns how many."""
        start = self.appended
        new = [LogLine(start + i, stamp, text, mark, meta) for i, (stamp, text, mark, meta) in enumerate(items)]
        if not new:
            return 0
        self.appended += len(new)
        self._buf.extend(new)
        if self._timestamps or any(ln.mark is not None or ln.meta for ln in new):
            widest = max(self._line_width(ln) for ln in new)
        else:
            widest = max(ln.width for ln in new)          # no prefixes: the common case, kept cheap
        if widest > self._max_width:
            self._max_width = widest
        if self._view is not None:
            shown = [ln for ln in new if self._keeps(ln)]
            self._view.extend(shown)
        else:
            shown = new
        if self._cum is not None:
            self._extend_cum(shown)
        if not self.follow:
            self.new_lines += len(shown)
        removed_rows = self._evict()
        self._update_size()
        if self.follow:
            self._scroll_end()
        elif removed_rows:
            self._scroll_by(-removed_rows)
        self.refresh()
        return len(new)

    def set_lines(self, items: Iterable[tuple[str, str | Text, Any, str]]) -> None:
        """Replace the content (static text such as YAML), keeping the scroll position where it can."""
        y = self.scroll_y
        self._buf, self._head = [], 0
        self.appended = 0
        self._view = [] if self._filter else None
        self._vhead, self._cum, self._max_width = 0, None, 0
        follow, self.follow = self.follow, False
        self.append(items)
        self.follow = follow
        self.new_lines = 0
        self._invalidate()
        self._scroll_to_row(min(int(y), self.max_scroll_y))

    def _evict(self) -> int:
        """Drop lines over the cap; returns how many view rows went."""
        excess = len(self._buf) - self._head - self.cap
        if excess <= 0:
            return 0
        first = self._buf[self._head + excess].seq
        items, head = self._items()
        if self._view is None:
            new_head = head + excess
        else:
            new_head = head
            while new_head < len(items) and items[new_head].seq < first:
                new_head += 1
        removed = self._row_of(new_head) - self._row_of(head)
        self._head += excess
        self.evicted += excess
        if self._view is not None:
            self._vhead = new_head
        if self._current is not None and self._current < first:
            self._current = None
        self._compact()
        return removed

    def _compact(self) -> None:
        """Let evicted lines go: the list keeps at most `COMPACT_AFTER` of them (a memmove of the rest's
        pointers, a few µs), so memory stays at the cap, not twice it."""
        if self._head >= COMPACT_AFTER:
            del self._buf[:self._head]
            if self._view is None and self._cum is not None:
                del self._cum[:self._head]
            self._head = 0
        if self._view is not None and self._vhead >= COMPACT_AFTER:
            del self._view[:self._vhead]
            if self._cum is not None:
                del self._cum[:self._vhead]
            self._vhead = 0

    # ---------------------------------------------------------------- geometry
    def _items(self) -> tuple[list[LogLine], int]:
        if self._view is not None:
            return self._view, self._vhead
        return self._buf, self._head

    def _prefix_width(self, line: LogLine) -> int:
        width = MARK_PREFIX if line.mark is not None or line.meta else 0
        if self._timestamps and line.stamp:
            width += len(short_stamp(line.stamp)) + 1
        return width

    def _line_width(self, line: LogLine) -> int:
        return self._prefix_width(line) + line.width

    def _content_width(self) -> int:
        return max(1, self.scrollable_content_region.width or self.size.width or 80)

    def _height(self, line: LogLine, width: int) -> int:
        total = self._line_width(line)
        return max(1, -(-total // width))

    def _ensure_cum(self) -> list[int] | None:
        if not self._wrap:
            self._cum = None
            return None
        width = self._content_width()
        if self._cum is None or width != self._cum_width:
            self._cum_width = width
            items, head = self._items()
            cum = [0] * (len(items) + 1)
            total = 0
            height = self._height
            for i in range(head, len(items)):
                cum[i] = total
                total += height(items[i], width)
            cum[len(items)] = total
            self._cum = cum
        return self._cum

    def _extend_cum(self, lines: list[LogLine]) -> None:
        cum = self._cum
        if cum is None:
            return
        total = cum[-1]
        width = self._cum_width
        cum.pop()
        for line in lines:
            cum.append(total)
            total += self._height(line, width)
        cum.append(total)

    def _total_rows(self) -> int:
        items, head = self._items()
        cum = self._ensure_cum()
        if cum is None:
            return len(items) - head
        return cum[len(items)] - cum[head]

    def _row_of(self, index: int) -> int:
        """The first row of view item `index` (an absolute list index)."""
        items, head = self._items()
        cum = self._ensure_cum()
        if cum is None:
            return index - head
        return cum[min(index, len(items))] - cum[head]

    def _locate(self, row: int) -> tuple[int, int] | None:
        """(list index, row within the line) of a view row."""
        items, head = self._items()
        if row < 0:
            return None
        cum = self._ensure_cum()
        if cum is None:
            index = head + row
            return (index, 0) if index < len(items) else None
        target = row + cum[head]
        if target >= cum[len(items)]:
            return None
        index = bisect_right(cum, target, head, len(items)) - 1
        return index, target - cum[index]

    def _update_size(self) -> None:
        width = self._content_width() if self._wrap else self._max_width
        self.virtual_size = Size(width, self._total_rows())

    def _anchor(self) -> int | None:
        """The seq of the line at the top of the view (kept in place across a relayout)."""
        found = self._locate(int(self.scroll_y))
        if found is None:
            return None
        items, _ = self._items()
        return items[found[0]].seq

    def _index_of_seq(self, seq: int) -> int | None:
        items, head = self._items()
        lo, hi = head, len(items)
        while lo < hi:
            mid = (lo + hi) // 2
            if items[mid].seq < seq:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(items) else None

    def _relayout(self, anchor: int | None) -> None:
        self._cum = None
        self._invalidate()
        self._update_size()
        if self.follow:
            self._scroll_end()
        elif anchor is not None:
            index = self._index_of_seq(anchor)
            if index is not None:
                self._scroll_to_row(self._row_of(index))

    def on_resize(self) -> None:
        if self._wrap:
            anchor = self._anchor()
            self._relayout(anchor)
        elif self.follow:
            self._scroll_end()

    # ---------------------------------------------------------------- scrolling and follow
    def _scroll_to_row(self, row: int) -> None:
        self._programmatic += 1
        try:
            self.scroll_to(y=max(0, row), animate=False, immediate=True)
        finally:
            self._programmatic -= 1

    def _scroll_by(self, rows: int) -> None:
        self._scroll_to_row(int(self.scroll_y) + rows)

    def _scroll_end(self) -> None:
        self._programmatic += 1
        try:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        finally:
            self._programmatic -= 1

    def set_follow(self, follow: bool) -> None:
        if follow == self.follow:
            if follow:
                self._scroll_end()
            return
        self.follow = follow
        if follow:
            self.new_lines = 0
            self._scroll_end()
        self.post_message(self.FollowChanged(self, follow))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._programmatic:
            return
        at_end = round(new_value) >= self.max_scroll_y
        if self.follow and not at_end and new_value < old_value:
            self.set_follow(False)
        elif not self.follow and at_end and new_value > old_value:
            self.set_follow(True)

    def action_scroll_end(self) -> None:
        self.set_follow(True)

    def action_scroll_home(self) -> None:
        if self.follow and self.max_scroll_y > 0:
            self.set_follow(False)
        self._scroll_to_row(0)

    # ---------------------------------------------------------------- search and filter
    def _keeps(self, line: LogLine) -> bool:
        return bool(line.meta) or self._filter.casefold() in line.folded()

    def set_search(self, text: str) -> int:
        """Highlight `text` everywhere (case-insensitive); returns how many lines match."""
        self._search = text
        self._current = None
        self._invalidate()
        return self.match_count()

    def match_count(self) -> int:
        if not self._search:
            return 0
        needle = self._search.casefold()
        items, head = self._items()
        return sum(1 for i in range(head, len(items)) if not items[i].meta and needle in items[i].folded())

    def set_filter(self, text: str) -> None:
        """Show only lines containing `text` (any case; arc-top's notes stay); "" shows everything."""
        anchor = self._current if self._current is not None else self._anchor()
        self._filter = text
        self._vhead = 0
        if text:
            self._view = [ln for ln in self._live() if self._keeps(ln)]
        else:
            self._view = None
        self._relayout(None)
        if not self.follow and anchor is not None:
            index = self._index_of_seq(anchor)
            if index is not None:
                self._scroll_to_row(self._row_of(index))

    def next_match(self, direction: int = 1) -> LogLine | None:
        """Move to the next (1) or previous (-1) line matching the search; wraps around. Pauses following."""
        if not self._search:
            return None
        needle = self._search.casefold()
        items, head = self._items()
        count = len(items) - head
        if not count:
            return None
        if self._current is not None:
            start = self._index_of_seq(self._current)
            if start is None:
                start = len(items) - 1
        else:
            found = self._locate(int(self.scroll_y) if direction > 0 else int(self.scroll_y) + self.size.height)
            start = found[0] - direction if found else (head - 1 if direction > 0 else len(items))
        for step in range(1, count + 1):
            index = head + (start - head + direction * step) % count
            line = items[index]
            if not line.meta and needle in line.folded():
                self._current = line.seq
                self._invalidate()
                if self.follow:
                    self.set_follow(False)
                row = self._row_of(index)
                top = int(self.scroll_y)
                height = self.scrollable_content_region.height or self.size.height
                if not top <= row < top + height:
                    self._scroll_to_row(row - height // 3)
                return line
        return None

    @property
    def current_match(self) -> int | None:
        return self._current

    # ---------------------------------------------------------------- rendering
    def _invalidate(self) -> None:
        self._gen += 1
        self._cache.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        self._base_style = None

    def _style(self) -> Style:
        """The widget's rich style (working it out walks the DOM: ~100 µs, once per style change, not per row)."""
        if self._base_style is None:
            self._base_style = self.rich_style
        return self._base_style

    def line_text(self, line: LogLine) -> Text:
        """The line as displayed (without wrapping): marker, timestamp, text, highlights."""
        palette = self.palette
        out = Text(no_wrap=True, end="")
        note = line.meta if line.meta in NOTE_SEVERITIES else WARN
        if line.meta:
            out.append(f"{MARKERS[note]} ", palette.style(note))
        elif line.mark is not None:
            out.append(f"{MARKERS[ERROR]} ", palette.style(ERROR))
        if self._timestamps and line.stamp:
            out.append(short_stamp(line.stamp), "dim")
            out.append(" ")
        start = len(out)
        if isinstance(line.text, Text):
            out.append_text(line.text)
        else:
            style: Style | str = ""
            if line.meta:
                style = Style(italic=True) + palette.style(note)
            elif line.mark is not None:
                style = palette.style(ERROR)
            out.append(line.text, style)
        if self._search and not line.meta:
            needle = self._search.casefold()
            folded = line.folded()
            current = line.seq == self._current
            highlight = Style(reverse=True, bold=current, underline=current)
            at = folded.find(needle)
            while at >= 0 and needle:
                out.stylize(highlight, start + at, start + at + len(needle))
                at = folded.find(needle, at + len(needle))
        return out

    def _strip(self, line: LogLine) -> Strip:
        key = (line.seq, self._gen)
        strip = self._cache.get(key)
        if strip is None:
            text = self.line_text(line)
            text.stylize_before(self._style())        # the widget's colours under the line's own
            strip = Strip(text.render(self.app.console), text.cell_len)
            self._cache[key] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width or self.size.width
        style = self._style()
        found = self._locate(scroll_y + y)
        if found is None:
            return Strip.blank(width, style)
        items, _ = self._items()
        index, sub = found
        strip = self._strip(items[index])
        if self._wrap:
            wrap_width = self._cum_width or width
            if strip.cell_length > wrap_width:
                cuts = list(range(wrap_width, strip.cell_length, wrap_width)) + [strip.cell_length]
                parts = strip.divide(cuts)
                strip = parts[sub] if sub < len(parts) else Strip.blank(0)
            return strip.crop_extend(0, width, style)
        return strip.crop_extend(scroll_x, scroll_x + width, style)

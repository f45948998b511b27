"""Text sparklines for table cells: unicode blocks in a `Text`, no widget of their own, so a trend
can sit in a table row and be reconciled like any other cell."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import islice

from rich.style import Style
from rich.text import Span, Text

BLOCKS = " ▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int, maximum: float | None = None) -> str:
    """The last `width` values as blocks, left-padded with spaces; 0 is a blank, any non-zero value
    at least "▁" so a single runner stays visible next to a peak of fifty."""
    if width <= 0:
        return ""
    tail = tuple(islice(values, max(0, len(values) - width), None))
    return _blocks(tail, width, maximum)


class _Scale(dict):
    """value → its block, for one top (filled as values come: runner counts are few distinct small numbers)."""

    def __init__(self, top: float) -> None:
        super().__init__()
        self.top = top

    def __missing__(self, value: float) -> str:
        last = len(BLOCKS) - 1
        block = BLOCKS[max(1, min(round(value / self.top * last), last))] if value > 0 else BLOCKS[0]
        if len(self) < 4096:
            self[value] = block
        return block


@lru_cache(maxsize=256)
def _scale(top: float) -> _Scale:
    return _Scale(top)


@lru_cache(maxsize=4096)
def _blocks(tail: tuple, width: int, maximum: float | None) -> str:
    """(Memoised: every few seconds each scale set's trend cells are made again, mostly from the same samples as
    another's or as a moment ago — a flat series, an idle set's zeros. A series that moves gives a new tail at
    every sample: its blocks are looked up per value in the table of its top, not computed slot by slot.)"""
    peak = max(tail, default=0)
    top = peak if maximum is None else max(maximum, peak)
    if top <= 0:
        return " " * width
    return " " * (width - len(tail)) + "".join(map(_scale(top).__getitem__, tail))


def trend_text(running: Sequence[int], pending: Sequence[int], width: int,
               running_style: Style | str = "", pending_style: Style | str = "",
               maximum: float | None = None) -> Text:
    """One cell for two series: block height is running + pending; a slot where runners were pending
    takes `pending_style`, so waiting shows up as a colour change *and* a taller bar than `running`
    alone would give. Use `sparkline` twice when there is room for two columns."""
    count = min(len(running), len(pending))           # (paired from the start, as zip pairs them)
    totals = [r + p for r, p in islice(zip(running, pending, strict=False), max(0, count - width), None)]
    line = sparkline(totals, width, maximum)
    pad = width - min(width, len(totals))
    shown = list(islice(pending, len(pending) - (width - pad), None)) if width > pad else []
    # One span per run of slots alike (the segments a span per slot would give, once simplified).
    spans: list[Span] = []
    start = pad
    flags = [value > 0 for value in shown]
    flags.append(None)                                  # (ends the last run)
    for i in range(len(shown)):
        if flags[i + 1] is not flags[i]:
            style = pending_style if flags[i] else running_style
            if style:
                spans.append(Span(start, pad + i + 1, style))
            start = pad + i + 1
    return Text(line, end="", spans=spans)

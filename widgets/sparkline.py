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


@lru_cache(maxsize=4096)
def _blocks(tail: tuple, width: int, maximum: float | None) -> str:
    """(Memoised: every few seconds each scale set's trend cells are made again, mostly from the same samples as
    another's or as a moment ago — a flat series, an idle set's zeros.)"""
    peak = max(tail, default=0)
    top = peak if maximum is None else max(maximum, peak)
    last = len(BLOCKS) - 1
    if top <= 0:
        return " " * width
    chars = [BLOCKS[max(1, min(round(value / top * last), last))] if value > 0 else BLOCKS[0] for value in tail]
    return " " * (width - len(chars)) + "".join(chars)


def trend_text(running: Sequence[int], pending: Sequence[int], width: int,
               running_style: Style | str = "", pending_style: Style | str = "",
               maximum: float | None = None) -> Text:
    """One cell for two series: block height is running + pending; a slot where runners were pending
    takes `pending_style`, so waiting shows up as a colour change *and* a taller bar than `running`
    alone would give. Use `sparkline` twice when there is room for two columns."""
    totals = [r + p for r, p in zip(running, pending, strict=False)]
    line = sparkline(totals, width, maximum)
    pad = width - min(width, len(totals))
    shown = list(pending)[len(pending) - (width - pad):] if width > pad else []
    # One span per run of slots alike (the segments a span per slot would give, once simplified).
    spans: list[Span] = []
    start = pad
    for i in range(pad, len(line)):
        style = pending_style if shown[i - pad] > 0 else running_style
        if i + 1 == len(line) or (pending_style if shown[i + 1 - pad] > 0 else running_style) != style:
            if style:
                spans.append(Span(start, i + 1, style))
            start = i + 1
    return Text(line, end="", spans=spans)

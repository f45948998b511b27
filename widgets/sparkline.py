"""Text sparklines for table cells: unicode blocks in a `Text`, no widget of their own, so a trend
can sit in a table row and be reconciled like any other cell."""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text

BLOCKS = " ▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int, maximum: float | None = None) -> str:
    """The last `width` values as blocks, left-padded with spaces; 0 is a blank, any non-zero value
    at least "▁" so a single runner stays visible next to a peak of fifty."""
    if width <= 0:
        return ""
    tail = list(values)[-width:]
    top = maximum if maximum is not None else max(tail, default=0)
    top = max(top, max(tail, default=0))
    chars = []
    for value in tail:
        if value <= 0 or top <= 0:
            chars.append(BLOCKS[0])
            continue
        level = round(value / top * (len(BLOCKS) - 1))
        chars.append(BLOCKS[max(1, min(level, len(BLOCKS) - 1))])
    return " " * (width - len(chars)) + "".join(chars)


def trend_text(running: Sequence[int], pending: Sequence[int], width: int,
               running_style: Style | str = "", pending_style: Style | str = "",
               maximum: float | None = None) -> Text:
    """One cell for two series: block height is running + pending; a slot where runners were pending
    takes `pending_style`, so waiting shows up as a colour change *and* a taller bar than `running`
    alone would give. Use `sparkline` twice when there is room for two columns."""
    totals = [r + p for r, p in zip(running, pending, strict=False)]
    line = sparkline(totals, width, maximum)
    text = Text(end="")
    pad = width - min(width, len(totals))
    text.append(line[:pad])
    for i, char in enumerate(line[pad:]):
        waiting = pending[len(pending) - (width - pad) + i] > 0
        text.append(char, pending_style if waiting else running_style)
    return text

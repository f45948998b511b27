"""Cluster strings are untrusted: every name, message and label goes through `safe_text` before it
reaches a cell, so Rich markup renders literally and no escape sequence reaches the terminal.

Status texts always carry a marker ("✖ Failed", "⚠ Pending", "✔ Running") so meaning never rests
on colour alone. Colours come from the running theme's variables via `Palette.from_app`.

`strip_escapes`, `clean_line` and `age` are core.text's (one escape set, one age rule), named here for the widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rich.style import Style
from rich.text import Text

from arc_top.core.text import age, clean_line, strip_escapes  # noqa: F401 (age: the widgets import it here)


def safe_text(value: object, style: str | Style = "", *, single_line: bool = True, **kwargs: Any) -> Text:
    """A `Text` (never markup) holding a sanitised cluster string."""
    plain = clean_line(value) if single_line else strip_escapes(value)
    if kwargs:
        return Text(plain, style=style, end="", **kwargs)
    return plain_text(plain, style)


_new_text = Text.__new__


def plain_text(plain: str, style: str | Style = "") -> Text:
    """`Text(plain, style=style, end="")` for a string already free of control characters (from clean_line, or
    our own): Text's constructor strips control codes again, which is most of the cost of a table row at
    thousands of rows. tests/test_tui_rows.py checks it builds what the constructor builds."""
    text = _new_text(Text)
    text._text = [plain]
    text.style = style
    text.justify = None
    text.overflow = None
    text.no_wrap = None
    text.end = ""
    text.tab_size = None
    text._spans = []
    text._length = len(plain)
    return text


_SHARED: dict[tuple[str, str | Style], Text] = {}


def shared_text(plain: str, style: str | Style = "") -> Text:
    """`plain_text`, one object for every cell with the same short text and style ("", "0", "1/1", a node
    name, an age): a first fill of 5,000 runners made 60,000 Texts, most of them equal. Cells are never changed
    in place (a table copies what it truncates), so sharing is safe. Keep it for values that repeat."""
    key = (plain, style)
    text = _SHARED.get(key)
    if text is None:
        if len(_SHARED) > 4096:
            _SHARED.clear()
        text = _SHARED[key] = plain_text(plain, style)
    return text


def is_shared(text: Text) -> bool:
    """Made by `shared_text`: the same object for every cell with this text and style."""
    return _SHARED.get((text.plain, text.style)) is text


# Severity of a status; the marker is part of the text so colour is never the only signal.
OK = "ok"
WARN = "warn"
ERROR = "error"
INFO = "info"
MUTED = "muted"
NONE = "none"

MARKERS = {OK: "✔", WARN: "⚠", ERROR: "✖", INFO: "●", MUTED: "·", NONE: " "}
SEVERITY_RANK = {NONE: 0, MUTED: 0, OK: 1, INFO: 1, WARN: 2, ERROR: 3}


@dataclass(frozen=True, slots=True)
class Palette:
    """Rich colours resolved from the running theme's CSS variables ($error, $warning, …)."""

    error: str = "#B93C5B"
    warning: str = "#FEA62B"
    success: str = "#4EBF71"
    primary: str = "#0178D4"
    accent: str = "#FEA62B"

    @classmethod
    def from_variables(cls, variables: dict[str, str]) -> Palette:
        def colour(name: str, default: str) -> str:
            value = variables.get(name, "")
            if value.startswith("#") and len(value) in (7, 9):
                return value[:7]
            return default

        base = cls()
        return cls(error=colour("error", base.error), warning=colour("warning", base.warning),
                   success=colour("success", base.success), primary=colour("primary", base.primary),
                   accent=colour("accent", base.accent))

    @classmethod
    def from_app(cls, app: Any) -> Palette:
        return cls.from_variables(app.get_css_variables())

    def style(self, severity: str) -> Style:
        return _style(self, severity)


@lru_cache(maxsize=64)
def _style(palette: Palette, severity: str) -> Style:
    if severity == ERROR:
        return Style(color=palette.error, bold=True)
    if severity == WARN:
        return Style(color=palette.warning)
    if severity == OK:
        return Style(color=palette.success)
    if severity == INFO:
        return Style(color=palette.primary)
    if severity == MUTED:
        return Style(dim=True)
    return Style()


DEFAULT_PALETTE = Palette()


def status_cell(label: str, severity: str, palette: Palette = DEFAULT_PALETTE, detail: str = "") -> Text:
    """`status_text` shared between rows: thousands of runners say "✔ Running". The same object is returned
    for the same arguments, so it must never be modified (table cells are not)."""
    return _status_cell(label, severity, palette, detail)


@lru_cache(maxsize=4096)
def _status_cell(label: str, severity: str, palette: Palette, detail: str) -> Text:
    return status_text(label, severity, palette, detail)


def status_text(label: object, severity: str, palette: Palette = DEFAULT_PALETTE, detail: object = "") -> Text:
    """`✖ Failed InvalidPod`: marker + label (+ detail), coloured by severity, literal text."""
    text = Text(end="")
    text.append(f"{MARKERS.get(severity, ' ')} ", palette.style(severity))
    text.append(clean_line(label), palette.style(severity))
    extra = clean_line(detail)
    if extra:
        text.append(" " + extra, palette.style(severity) if severity == ERROR else Style())
    return text


def worst(*severities: str) -> str:
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, 0), default=NONE)


def truncate_middle(text: Text, width: int) -> Text:
    """Shorten to `width` cells keeping both ends ("arc-runner…runner-668fh"): runner names differ
    at the end and share their prefix, so an end ellipsis would hide what tells them apart."""
    if width <= 0:
        return Text("", end="")
    if text.cell_len <= width:
        return text
    if width == 1:
        return Text("…", end="")
    keep = width - 1
    head = keep // 2
    tail = keep - head
    plain = text.plain
    if not text.spans and plain.isascii():
        # The usual cell (a name, no spans): string slices, not Text slicing (10x the cost; churn truncates
        # thousands of names when the column's width moves).
        short = plain_text(plain[:head] + "…" + (plain[len(plain) - tail:] if tail else ""), text.style)
        short.justify, short.overflow, short.no_wrap = text.justify, text.overflow, text.no_wrap
        return short
    result = text[:head]
    result.append("…")
    result.append_text(text[len(plain) - tail:] if tail else Text(""))
    result.end = ""
    return result

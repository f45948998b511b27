"""Evidence text: cluster strings and log lines made safe to quote (no escapes, no secrets, bounded length).

Every string a finding quotes comes from the cluster and is untrusted: terminal escape sequences and control
characters go, anything that looks like a credential is masked to its prefix and last four characters, and long
lines are cut. The rules live in core.text; `age`, `plural` and `redact` are its own, named here for the checks.
"""

from __future__ import annotations

from arc_top.core.text import age, clean_line, plural, redact

LIMIT = 240

__all__ = ["LIMIT", "age", "clean", "plural", "quote", "redact"]


def clean(value: object, limit: int = LIMIT) -> str:
    """One quotable line: escapes and control characters out, credentials masked, at most `limit` characters
    (a long line loses its middle)."""
    text = redact(clean_line(value).strip())
    if len(text) > limit:       # keep both ends: Go error chains put the root cause last
        head = (limit - 1) * 2 // 5
        text = text[:head].rstrip() + "…" + text[len(text) - (limit - 1 - head):].lstrip()
    return text


def quote(value: object, limit: int = 120) -> str:
    """A field value in double quotes, cleaned (for `field: "value"` evidence)."""
    return '"' + clean(value, limit).replace('"', "'") + '"'

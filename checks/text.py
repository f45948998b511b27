"""Evidence text: cluster strings and log lines made safe to quote (no escapes, no secrets, bounded length).

Every string a finding quotes comes from the cluster and is untrusted: terminal escape sequences and control
characters go, anything that looks like a credential is masked to its prefix and last four characters, and long
lines are cut.
"""

from __future__ import annotations

import re

LIMIT = 240

_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]"            # CSI (colours, cursor)
                      r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC (titles, hyperlinks)
                      r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"       # DCS/SOS/PM/APC
                      r"|\x1b[@-Z\\-_]?")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_TOKEN = re.compile(r"\b(gh[pousr]_|github_pat_)([A-Za-z0-9_]{6,})")
_BEARER = re.compile(r"\b(Bearer|Basic)(\s+)(?!gh[pousr]_|github_pat_)([A-Za-z0-9._~+/=-]{8,})")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*")
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S)


def mask(value: str, prefix: str = "") -> str:
    """`ghp_…a1b2`: the prefix, an ellipsis and the last four characters (only the ellipsis when short)."""
    tail = value[-4:] if len(value) >= 12 else ""
    return f"{prefix}…{tail}"


def redact(text: str) -> str:
    """Mask tokens, bearer credentials, JWTs and private keys inside a line."""
    if "-----BEGIN" in text:
        text = _PEM.sub("[private key redacted]", text)
    if "_" in text:
        text = _TOKEN.sub(lambda m: mask(m.group(2), m.group(1)), text)
    if "eyJ" in text:
        text = _JWT.sub("eyJ…[jwt redacted]", text)
    return _BEARER.sub(lambda m: m.group(1) + m.group(2) + mask(m.group(3)), text)


def clean(value: object, limit: int = LIMIT) -> str:
    """One quotable line: escapes and control characters out, credentials masked, at most `limit` characters
    (a long line loses its middle)."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if "\x1b" in text:
        text = _ESCAPES.sub("", text)
    text = _CONTROLS.sub(" ", text).strip()
    text = redact(text)
    if len(text) > limit:       # keep both ends: Go error chains put the root cause last
        head = (limit - 1) * 2 // 5
        text = text[:head].rstrip() + "…" + text[len(text) - (limit - 1 - head):].lstrip()
    return text


def quote(value: object, limit: int = 120) -> str:
    """A field value in double quotes, cleaned (for `field: "value"` evidence)."""
    return '"' + clean(value, limit).replace('"', "'") + '"'


def plural(count: int, word: str, many: str = "") -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def age(seconds: float | None) -> str:
    """kubectl-style age: 45s, 3m, 2h, 5d."""
    if seconds is None or seconds < 0:
        return "?"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"

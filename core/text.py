"""Untrusted text made safe to show, and the small text helpers the layers share.

Every cluster string (names, messages, log lines, Secret values) is untrusted. The one masking rule: a credential
is shown as at most its known token prefix, an ellipsis and its last four characters, the last four only when the
value without its prefix is at least 12 characters long (`ghp_…a1b2`, `ghp_…` for a short one). The one escape
set: OSC, DCS/SOS/PM/APC strings, CSI and any other ESC sequence, C0 controls but tab and newline, DEL, C1,
bidirectional overrides, and what XML 1.0 cannot carry (surrogates, U+FFFE/U+FFFF).
"""

from __future__ import annotations

import re

TOKEN_PREFIXES = ("github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_")
TAIL_FROM = 12                      # characters after the prefix before the last four may be shown
PRIVATE_KEY = "[private key]"
WHITESPACE_MARKS = {"\n": "⏎", "\r": "␍", "\t": "⇥"}     # any other whitespace: ␠

# ---- masking --------------------------------------------------------------------------------------------------
_TOKEN = re.compile(r"\b(?:gh[pousr]_|github_pat_)[A-Za-z0-9_]{6,}")
_BEARER = re.compile(r"\b(Bearer|Basic)(\s+)(?!gh[pousr]_|github_pat_)([A-Za-z0-9._~+/=-]{8,})")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*")
_URL_PASSWORD = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*):([^\s/@]+)@")
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S)


def token_prefix(value: str) -> str:
    """The known GitHub token prefix `value` starts with ("" for none)."""
    return next((p for p in TOKEN_PREFIXES if value.startswith(p)), "")


def mask_token(value: str) -> str:
    """`ghp_…a1b2`: the known prefix, an ellipsis and the last four characters (only `prefix…` when the value
    without its prefix is shorter than 12 characters)."""
    prefix = token_prefix(value)
    tail = value[-4:] if len(value) - len(prefix) >= TAIL_FROM else ""
    return f"{prefix}…{tail}"


def mask_secret_value(raw: str) -> str:
    """A Secret value as an operator may see it: `ghp_…a1b2⏎` (masked by `mask_token`, with a mark for each
    leading or trailing whitespace character: ⏎ ␍ ⇥ ␠), `[private key]` for a PEM key, "" for an empty value."""
    core = raw.strip()
    if not core:                        # only whitespace (or nothing): each character marked once
        return _marks(raw)
    lead, trail = _marks(raw[:len(raw) - len(raw.lstrip())]), _marks(raw[len(raw.rstrip()):])
    return lead + (PRIVATE_KEY if "PRIVATE KEY" in core else mask_token(core)) + trail


def _marks(whitespace: str) -> str:
    return "".join(WHITESPACE_MARKS.get(c, "␠") for c in whitespace)


def redact(text: str) -> str:
    """Mask what looks like a credential inside a line: GitHub tokens, Bearer/Basic credentials (`mask_token`),
    JWTs, PEM private keys and the password of a URL (`https://user:…@host`)."""
    if "-----BEGIN" in text:
        text = _PEM.sub("[private key redacted]", text)
    if "_" in text:
        text = _TOKEN.sub(lambda m: mask_token(m.group(0)), text)
    if "eyJ" in text:
        text = _JWT.sub("eyJ…[jwt redacted]", text)
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: m.group(1) + ":…@", text)
    return _BEARER.sub(lambda m: m.group(1) + m.group(2) + mask_token(m.group(3)), text)


# ---- escapes and control characters ---------------------------------------------------------------------------
# OSC (title, hyperlink, clipboard…): ESC ] … BEL | ST; unterminated runs to the next ESC or the end.
_OSC = r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\|(?=\x1b)|$)"
# DCS / SOS / PM / APC strings: ESC P|X|^|_ … ST.
_STRING = r"\x1b[PX^_][^\x1b]*(?:\x1b\\|$)"
# CSI: ESC [ parameters intermediates final (colours, cursor moves, erase…).
_CSI = r"\x1b\[[0-?]*[ -/]*[@-~]?"
# Any other escape: ESC, optional intermediates, one final byte (or a lone ESC).
_OTHER_ESC = r"\x1b[ -/]*[0-~]?"
# C0 controls but tab and newline, DEL, 8-bit C1 introducers and controls, bidi overrides and isolates, and what
# XML 1.0 cannot carry (lone surrogates, U+FFFE/U+FFFF).
_CONTROLS = r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
_ESCAPES = re.compile("|".join((_OSC, _STRING, _CSI, _OTHER_ESC, _CONTROLS)))
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\t]")


def strip_escapes(value: object) -> str:
    """`value` as text without escape sequences and control characters (tab and newline kept, CR and CRLF
    become a newline). None is ""."""
    text = "" if value is None else str(value)
    if not text or text.isprintable():        # no control character, so no escape sequence either: the usual case
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _ESCAPES.sub("", text)


def clean_line(value: object) -> str:
    """`strip_escapes` plus line breaks and tabs folded to spaces: one line."""
    text = strip_escapes(value)
    return text if text.isprintable() else _LINE_BREAKS.sub(" ", text)


# ---- small words ----------------------------------------------------------------------------------------------
def age(seconds: float | None) -> str:
    """kubectl-style age: 45s, 3m, 2h, 5d; "?" when unknown, "0s" for a time in the future (clock skew)."""
    if seconds is None:
        return "?"
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def plural(count: int, word: str, many: str = "") -> str:
    """`1 runner`, `3 runners` (`many` when the plural is not `word` + s)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"

"""Defensive readers for untrusted documents (API objects, scenario files): each returns a value of the expected
type whatever it is given, so a wrongly typed field reads as empty instead of raising."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence


def d(value: object) -> Mapping:
    """`value` if it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def lst(value: object) -> Sequence:
    """`value` if it is a list or tuple, else an empty sequence."""
    return value if isinstance(value, (list, tuple)) else ()


def s(value: object) -> str:
    """`value` as text: itself if a string, "" for None, else `str(value)`."""
    return value if isinstance(value, str) else ("" if value is None else str(value))


def dicts(value: object) -> Iterator[Mapping]:
    """The mappings among the items of `value` (a list or tuple; anything else has none)."""
    return (v for v in lst(value) if isinstance(v, Mapping))

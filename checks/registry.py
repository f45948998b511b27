"""The list of checks. A check is a small pure function `(ctx) -> Iterable[Finding]`, registered with the codes it
may emit; the engine runs them all. A new check is one decorated function in one family module."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from arc_top.checks.finding import Finding

CheckFn = Callable[..., Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Check:
    name: str                       # module.function, named in the ARC000 of a check that raised
    codes: tuple[str, ...]
    fn: CheckFn
    after: bool = False             # runs once the others have: fn(ctx, findings) (a finding about findings)


CHECKS: list[Check] = []


def check(*codes: str, after: bool = False) -> Callable[[CheckFn], CheckFn]:
    def register(fn: CheckFn) -> CheckFn:
        module = fn.__module__.rsplit(".", 1)[-1]
        CHECKS.append(Check(f"{module}.{fn.__name__}", codes, fn, after))
        return fn
    return register


CAP = 10   # per code and scale set, for checks that report single objects (pods, claims, runners)


def capped(findings: list[Finding], limit: int = CAP, what: str = "") -> list[Finding]:
    """At most `limit` findings; the last one says how many more there were (a 5,000-pod fleet must not make
    5,000 rows of one problem)."""
    if len(findings) <= limit:
        return findings
    extra = len(findings) - limit
    last = findings[limit - 1]
    note = f"and {extra} more like this" + (f" ({what})" if what else "")
    return findings[: limit - 1] + [dataclasses.replace(last, evidence=last.evidence + (note,))]

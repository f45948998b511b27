"""The suite's one way to wait: poll a condition until it holds and return what it returned.

Never a fixed sleep, never a wall-clock assertion: `timeout` is a bound for a loaded 2-core machine, not a
budget (figures belong in bench/). The message names what was awaited, and the last value seen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, step: float = 0.05, what: str = "") -> T:
    """The first truthy value `predicate()` returns within `timeout` seconds; AssertionError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or predicate!r} "
                                 f"(last: {value!r:.300})")
        time.sleep(step)


async def until(pilot, predicate: Callable[[], T], timeout: float = 20.0, what: str = "") -> T:
    """`wait_for` for Pilot tests: lets the app run between polls."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or predicate!r} "
                                 f"(last: {value!r:.300})")
        await pilot.pause(0.05)
        await asyncio.sleep(0)

"""The suite's one way to wait: poll a condition until it holds and return what it returned.

Never a fixed sleep, never a wall-clock assertion: `timeout` is a bound for a loaded 2-core machine, not a
budget (figures belong in bench/). The message names what was awaited, and the last value seen.

`held` / `held_in_app` are the one way to act on an object of a churning sandbox: wait until something is
there, pause the simulation, look again (it may have gone between the two), and keep it paused while the test
acts, so that the object cannot be churned away under the test (the API keeps serving while paused)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TypeVar

T = TypeVar("T")

HOLD_ATTEMPTS = 20


class _Poll:
    """One condition polled against one deadline: call it; True once the predicate gave a truthy value (kept in
    `value`); AssertionError, naming what was awaited and the last value, once the deadline has passed."""

    def __init__(self, predicate: Callable[[], object], timeout: float, what: str) -> None:
        self.predicate, self.timeout, self.what = predicate, timeout, what
        self.deadline = time.monotonic() + timeout
        self.value: object = None

    def __call__(self) -> bool:
        self.value = self.predicate()
        if self.value:
            return True
        if time.monotonic() >= self.deadline:
            raise AssertionError(f"timed out after {self.timeout:g} s waiting for {self.what or self.predicate!r} "
                                 f"(last: {self.value!r:.300})")
        return False


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, step: float = 0.05, what: str = "") -> T:
    """The first truthy value `predicate()` returns within `timeout` seconds; AssertionError otherwise."""
    poll = _Poll(predicate, timeout, what)
    while not poll():
        time.sleep(step)
    return poll.value


async def until(pilot, predicate: Callable[[], T], timeout: float = 20.0, what: str = "") -> T:
    """`wait_for` for Pilot tests: lets the app run between polls."""
    poll = _Poll(predicate, timeout, what)
    while not poll():
        await pilot.pause(0.05)
        await asyncio.sleep(0)
    return poll.value


def _pause(cluster) -> bool:
    """Pause `cluster` (a sandbox.cluster.Cluster); True when it was running (so we resume it after)."""
    was_running = not cluster.paused
    if not cluster.pause(timeout=60):
        raise AssertionError("the sandbox simulation did not come to rest within 60 s")
    return was_running


@contextmanager
def held(cluster, find: Callable[[], T], timeout: float = 30.0, what: str = "") -> Iterator[T]:
    """`with held(sandbox.cluster, find) as found:` — wait until `find()` returns something, then pause the
    simulation and call `find()` again; inside the block nothing simulated changes, so what it found stays.
    A cluster that was already paused stays paused after the block."""
    for _ in range(HOLD_ATTEMPTS):
        wait_for(find, timeout, what=what)
        resume = _pause(cluster)
        found = find()
        if found:
            break
        if resume:                      # it was there at the wait, gone by the pause: try again
            cluster.resume()
    else:
        raise AssertionError(f"{what or find!r} never stayed long enough to be held")
    try:
        yield found
    finally:
        if resume:
            cluster.resume()


@asynccontextmanager
async def held_in_app(pilot, cluster, find: Callable[[], T], timeout: float = 30.0,
                      what: str = "") -> AsyncIterator[T]:
    """`held` for Pilot tests: the app runs while we wait (`find` may look at the screen as well)."""
    for _ in range(HOLD_ATTEMPTS):
        await until(pilot, find, timeout, what=what)
        resume = _pause(cluster)
        found = find()
        if found:
            break
        if resume:
            cluster.resume()
    else:
        raise AssertionError(f"{what or find!r} never stayed long enough to be held")
    try:
        yield found
    finally:
        if resume:
            cluster.resume()

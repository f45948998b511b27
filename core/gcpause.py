"""The cyclic garbage collector, off from the start of a command that opens the monitor until the monitor's
first fill.

The monitor's start-up imports Textual and the Kubernetes client (~100,000 objects, all long-lived): with the
collector on, its young collections walked them over and over, ~0.1 s of the ~0.6 s those imports take. The
commands that open the monitor (`arc-top`, `arc-top demo`) call `pause` first; the monitor app takes the pause
over (`adopt`) and turns the collector back on after its first fill, as it does for the fill itself
(tui/app.py: _pause_gc, _resume_gc). `release` turns it back on if no app took it over (a command that failed
before the monitor started)."""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """The collector off, unless it is off already (then it is left as it is)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def adopt() -> bool:
    """True (once) if the collector is off because of `pause`: the caller now owns turning it back on."""
    global _paused
    adopted, _paused = _paused, False
    return adopted


def release() -> None:
    """The collector back on if `pause` turned it off and nobody adopted the pause."""
    global _paused
    if _paused:
        _paused = False
        gc.enable()

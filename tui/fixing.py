"""The fix flow in the monitor, beyond any one screen: the app's one Fixer (fixes.session), which findings a row
can fix, and the verification of every fix applied in this session.

Verifications live here, not in the fix screen: they are fed by the app's check runs (`FindingsReady`) and a
one-second tick, so a fix keeps being verified, and its outcome audited and announced, after the operator has left
the fix screen. Nothing here imports textual, nor a screen (tui/screens/fix.py opens the fix screen and tells it of
new verdicts); `fixes` and `checks` are imported at the first use (the first frame paints before them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from arc_top.tui.findings import worst_first

NO_CONNECTION = "fixes need a cluster connection"
NOTHING_TO_UNDO = "nothing to undo in this session"
NOT_CHECKED = "the checks have not run yet: no finding to fix"
WAITING, CLEARED, PRESENT = "waiting", "cleared", "present"


@dataclass
class Watch:
    """One applied fix being verified (fixes.verify.Verification) — until it clears, times out, or is undone."""
    applied: Any                  # fixes.session.Applied
    verification: Any             # fixes.verify.Verification
    recorded: bool = False        # the outcome is in the audit
    undone: bool = False          # undone before the verdict: no verdict, nothing recorded

    @property
    def ended(self) -> bool:
        return self.recorded or self.undone

    @property
    def state(self) -> str:
        return self.verification.state


class FixSession:
    """The app's Fixer and this session's verifications. `watch` is called on the apply worker's thread; the
    rest on the UI thread."""

    def __init__(self, fixer: Any, verify_wait: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        # Imported here, on the UI thread: `watch` runs on the apply worker's.
        from arc_top.fixes.verify import Verification

        self._verification = Verification
        self.fixer = fixer
        self.verify_wait = verify_wait
        self.clock = clock                  # wall clock, as Applied.at (tests inject one)
        self._watches: list[Watch] = []
        self._lock = threading.Lock()

    @property
    def read_only(self) -> bool:
        return bool(getattr(self.fixer, "read_only", False))

    # ---- verifying ------------------------------------------------------------------------------------------
    def watch(self, applied: Any) -> Watch | None:
        """Start verifying `applied` (not an undo, nor a fix that wrote nothing). An undo ends the verification
        of the fix it undoes: its finding is meant to come back."""
        preview = applied.preview
        with self._lock:
            if preview.undo_of:
                for w in self._watches:
                    if w.applied.id == preview.undo_of and not w.ended and applied.done:
                        w.undone = True
                return None
            if not applied.done:
                return None
            w = Watch(applied, self._verification.of(preview.plan.finding, started=applied.at,
                                                     wait=self.verify_wait))
            self._watches.append(w)
            return w

    def watch_of(self, applied: Any) -> Watch | None:
        with self._lock:
            return next((w for w in self._watches if w.applied is applied), None)

    def waiting(self) -> bool:
        with self._lock:
            return any(not w.ended for w in self._watches)

    def check_run(self, findings: Sequence, snapshot: Any, now: float | None = None) -> list[Watch]:
        """One check run of the app (its findings and the snapshot they were made from, at wall clock `now`):
        the watches that ended with it, their outcomes written to the audit."""
        now = self.clock() if now is None else now
        ended = []
        for w in self._open():
            if w.verification.update(findings, snapshot, now) != WAITING:
                ended.append(self._record(w))
        return ended

    def tick(self, now: float | None = None) -> list[Watch]:
        """No check run for a while: the waits that are over all the same."""
        now = self.clock() if now is None else now
        return [self._record(w) for w in self._open() if w.verification.timed_out(now)]

    def _open(self) -> list[Watch]:
        with self._lock:
            return [w for w in self._watches if not w.ended]

    def _record(self, w: Watch) -> Watch:
        w.recorded = True
        self.fixer.record_verification(w.applied, w.verification.as_json())
        return w

    # ---- undo -----------------------------------------------------------------------------------------------
    def last_undoable(self) -> Any | None:
        """The newest fix of this session not undone yet (fixes.session.Fixer.last_undoable)."""
        return self.fixer.last_undoable()


def fixable(findings: Iterable) -> list:
    """The findings arc-top can fix, worst first, each once."""
    from arc_top.checks import remedies

    out, seen = [], set()
    for f in worst_first(findings):
        key = (f.code, f.scale_set, f.subject.kind, f.subject.namespace, f.subject.name, f.title)
        if key not in seen and remedies.fixable(f):
            seen.add(key)
            out.append(f)
    return out


def session_of(app: Any) -> FixSession | None:
    getter = getattr(app, "fix_session", None)
    return getter() if callable(getter) else None


def verdict_line(w: Watch, now: float | None = None) -> str:
    """`ARC501 cleared in 14 s` / `ARC501 still present after 60 s` / `watching ARC501 (5 s): …`."""
    if w.undone:
        return f"{w.verification.code}: verification stopped (the fix was undone)"
    return w.verification.message(now)


# ---- the main screen's `u` ----------------------------------------------------------------------------------
def can_undo(app: Any) -> bool:
    """Something of this session to undo (without making the Fixer: no session, nothing applied)."""
    session = getattr(app, "_fix_session", None)
    return session is not None and session.last_undoable() is not None

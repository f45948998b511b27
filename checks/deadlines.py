"""When a finding that depends on time alone can next appear or clear, with nothing in the cluster changing.

Some checks compare ages with a threshold (a runner pod Pending for more than PENDING_GRACE, a scale set still
unregistered REGISTER_GRACE after its last spec change, jobs waiting longer than the jobs wait, start-up churn
within CHURN_WINDOW…). When the snapshot, the log tails and the listeners' figures are unchanged, the checks' result
can only change when one of those ages crosses one of those thresholds: `next_change` says when that is, so the
monitor's checks thread sleeps until then instead of re-running over every pod every few seconds.

It is deliberately generous: every threshold is tried against every timestamp a check may age (an object's
creation, a scale set's last spec change, the time jobs started waiting), so a deadline is never missed; a
spurious early re-run costs one run. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from arc_top.checks import practices, registration, scaling, storage
from arc_top.checks.context import DEFAULT_JOBS_WAIT
from arc_top.kube import model

# Every age threshold a check compares with (seconds), and the multiples the checks use.
THRESHOLDS: tuple[float, ...] = tuple(sorted({
    practices.PHASE_GRACE, registration.REGISTER_GRACE, scaling.WARMUP, scaling.PENDING_GRACE,
    scaling.LISTENER_GRACE, 2 * scaling.LISTENER_GRACE, scaling.CHURN_WINDOW, storage.PENDING_GRACE, 60.0}))
AGED_KINDS = (model.SCALE_SETS, model.RUNNER_SETS, model.LISTENERS, model.PODS, model.VOLUMES)


def _ages_matter(kind: str, obj: object) -> bool:
    """Whether a check compares this object's age with a threshold. Not for the many that are simply fine: a
    runner or workflow pod whose containers all run (ages count while Pending, and for start-up churn once it
    ended: both come with a change of the pod), a bound volume claim (ages count while Pending)."""
    if kind == model.PODS:
        running = getattr(obj, "phase", "") == "Running" and getattr(obj, "role", "") in ("runner", "workflow")
        return not running or any(c.state != "running" for c in getattr(obj, "containers", ()))
    if kind == model.VOLUMES:
        return getattr(obj, "phase", "") != "Bound"
    return True


MARGIN = 1.0       # seconds past a threshold: checks compare with > or >=, either has flipped by then


def _after(stamp: float, now: float, thresholds: tuple[float, ...]) -> float | None:
    """The first `stamp + threshold` (+ MARGIN) later than `now` (thresholds ascending)."""
    if not stamp or stamp + thresholds[-1] + MARGIN <= now:
        return None
    for seconds in thresholds:
        if stamp + seconds + MARGIN > now:
            return stamp + seconds + MARGIN
    return None


COALESCE = 5.0     # seconds: deadlines this close to the first are met by one run (objects made together)


def next_change(snapshot: model.Snapshot, now: float, jobs: Mapping | None = None,
                jobs_wait: float = DEFAULT_JOBS_WAIT) -> float | None:
    """The time (the checks' clock) after `now` at which an age crosses a check's threshold — the earliest such
    time, or the last one within COALESCE seconds of it (a scale set's objects are made within a few seconds of
    each other: one run, not one per object); None: no age will cross one."""
    times: list[float] = []
    for kind in AGED_KINDS:
        for obj in snapshot.of(kind).values():
            if not _ages_matter(kind, obj):
                continue
            for stamp in (getattr(obj, "created", 0.0), getattr(obj, "spec_changed", 0.0)):
                when = _after(stamp or 0.0, now, THRESHOLDS)
                if when is not None:
                    times.append(when)
    for fig in (jobs or {}).values():
        since = getattr(fig, "waiting_since", None)
        when = since + jobs_wait + MARGIN if since else None
        if when is not None and when > now:
            times.append(when)
    if not times:
        return None
    first = min(times)
    return max(t for t in times if t <= first + COALESCE)

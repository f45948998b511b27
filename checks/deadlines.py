"""When a finding that depends on time alone can next appear or clear, with nothing in the cluster changing.

Some checks compare ages with a threshold (a runner pod Pending for more than PENDING_GRACE, a scale set still
unregistered REGISTER_GRACE after its last spec change, jobs waiting longer than the jobs wait, start-up churn
within CHURN_WINDOW…). When the snapshot, the log tails and the listeners' figures are unchanged, the checks' result
can only change when one of those ages crosses one of those thresholds: `next_change` says when that is, so the
monitor's checks thread sleeps until then instead of re-running over every pod every few seconds.

It errs on the generous side, so a deadline is never missed: each kind's thresholds are those its checks compare
its age with (see _stamps), tried even where the check would find nothing for other reasons, except a few that
only count in a state the snapshot itself shows (WARMUP: a scale set with fewer live runner pods than minRunners;
REGISTER_GRACE: a set not registered; a listener whose pod was recreated). A spurious re-run costs one run over
every pod (half a second at 20,000 runners), which is why objects no check ages (runner sets, controller pods,
running runner pods, bound claims) set no deadline. Pure: no I/O.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator, Mapping

from arc_top.checks import practices, registration, scaling, storage
from arc_top.checks.context import DEFAULT_JOBS_WAIT
from arc_top.kube import model

# Every age threshold a check compares with (seconds), and the multiples the checks use.
THRESHOLDS: tuple[float, ...] = tuple(sorted({
    practices.PHASE_GRACE, registration.REGISTER_GRACE, scaling.WARMUP, scaling.PENDING_GRACE,
    scaling.LISTENER_GRACE, 2 * scaling.LISTENER_GRACE, scaling.CHURN_WINDOW, storage.PENDING_GRACE, 60.0}))
AGED_KINDS = (model.SCALE_SETS, model.LISTENERS, model.PODS, model.VOLUMES)

# Which thresholds are compared with which objects' ages (checks/scaling.py, practices.py, registration.py,
# storage.py): a scale set's and a listener's creation with LISTENER_GRACE (a scale set's only while it has no
# listener, or no status.phase: PHASE_GRACE; a listener's only while it has no pod, or its set's runner set has
# fewer replicas than minRunners); a listener pod's with 60 s (recreated: younger than that, beside an
# older listener); a runner or workflow pod's with
# PENDING_GRACE (Pending) and CHURN_WINDOW (exited without a job); a volume claim's with storage's PENDING_GRACE.
# The thresholds below that only matter in a state the object's snapshot shows are tried only in that state.
_SET_CREATED = (scaling.LISTENER_GRACE, practices.PHASE_GRACE)
_LISTENER_CREATED = (scaling.LISTENER_GRACE,)
_LISTENER_POD_CREATED = (60.0,)
_RUNNER_POD_CREATED = (scaling.PENDING_GRACE, scaling.CHURN_WINDOW)
_VOLUME_CREATED = (storage.PENDING_GRACE,)


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


def _live_runner_pods(snapshot: model.Snapshot) -> Counter:
    """Runner pods that count toward minRunners (not deleting, not ended), by (namespace, scale set)."""
    return Counter((p.scale_set_namespace or p.namespace, p.scale_set) for p in snapshot.of(model.PODS).values()
                   if getattr(p, "role", "") == "runner" and not p.deleting and p.phase not in ("Succeeded", "Failed"))


def _newest_listener_pods(snapshot: model.Snapshot) -> dict[tuple[str, str], float]:
    """The creation time of each scale set's newest listener pod that is not being deleted."""
    out: dict[tuple[str, str], float] = {}
    for p in snapshot.of(model.PODS).values():
        if getattr(p, "role", "") == "listener" and not p.deleting:    # (the checks look at the others only)
            key = (p.scale_set_namespace, p.scale_set)          # as checks.context.listener_pods_by_set
            out[key] = max(out.get(key, 0.0), p.created or 0.0)
    return out


def _below_min_runner_sets(snapshot: model.Snapshot) -> set[tuple[str, str]]:
    """Scale sets (namespace, name) with an EphemeralRunnerSet of fewer replicas than their minRunners (the
    listener has not scaled), matched to their set as checks.context.runner_sets_by_set does."""
    sets = {ars.uid: ars for ars in snapshot.of(model.SCALE_SETS).values()}
    minimum = {(ars.namespace, ars.name): ars.min_runners for ars in sets.values()}
    out = set()
    for rs in snapshot.of(model.RUNNER_SETS).values():
        ars = sets.get(rs.owner_uid)
        key = (ars.namespace, ars.name) if ars else (rs.namespace, rs.scale_set)
        if rs.replicas < minimum.get(key, 0):
            out.add(key)
    return out


def _stamps(snapshot: model.Snapshot) -> Iterator[tuple[float, tuple[float, ...]]]:
    """(a time an age counts from, the thresholds a check compares that age with) for every object that has one."""
    live: Counter | None = None
    listener_pods: dict | None = None
    listeners: dict[tuple[str, str], float] = {}        # each scale set's oldest listener's creation
    for lis in snapshot.of(model.LISTENERS).values():
        key = (lis.scale_set_namespace, lis.scale_set_name)
        listeners[key] = min(listeners.get(key, lis.created), lis.created)
    for ars in snapshot.of(model.SCALE_SETS).values():
        if not ars.phase or (ars.namespace, ars.name) not in listeners:
            yield ars.created, _SET_CREATED          # no phase yet (PHASE_GRACE), no listener (LISTENER_GRACE)
        if ars.min_runners > 0:
            # ARC401 waits WARMUP before a new set below minRunners with no cause found is reported; with as many
            # live runner pods as minRunners it is not below (a pod ending or failing is a change: a run anyway).
            live = _live_runner_pods(snapshot) if live is None else live
            if live[(ars.namespace, ars.name)] < ars.min_runners:
                yield ars.created, (scaling.WARMUP,)
        if registration.set_id(ars.annotations) is None:          # ARC409: only a set not registered yet
            yield max(ars.created or 0.0, ars.spec_changed or 0.0), (registration.REGISTER_GRACE,)
    below = _below_min_runner_sets(snapshot)
    for lis in snapshot.of(model.LISTENERS).values():
        key = (lis.scale_set_namespace, lis.scale_set_name)
        listener_pods = _newest_listener_pods(snapshot) if listener_pods is None else listener_pods
        if key not in listener_pods or key in below:
            yield lis.created, _LISTENER_CREATED     # LISTENER_GRACE: no listener pod, or replicas below minRunners
        # "the pod is being recreated": a listener older than 2 x LISTENER_GRACE whose pod is younger than 60 s.
        newest = listener_pods.get(key, 0.0)
        if newest and newest + 60.0 + MARGIN >= lis.created + 2 * scaling.LISTENER_GRACE:
            yield lis.created, (2 * scaling.LISTENER_GRACE,)
    for pod in snapshot.of(model.PODS).values():
        if not _ages_matter(model.PODS, pod):
            continue
        role = getattr(pod, "role", "")
        if role == "listener":
            # Younger than 60 s counts only beside a listener older than 2 x LISTENER_GRACE: a recreated pod.
            since = listeners.get((pod.scale_set_namespace, pod.scale_set))
            if since is None or pod.created + 60.0 + MARGIN >= since + 2 * scaling.LISTENER_GRACE:
                yield pod.created, _LISTENER_POD_CREATED
        elif role in ("runner", "workflow"):
            yield pod.created, _RUNNER_POD_CREATED
    for vol in snapshot.of(model.VOLUMES).values():
        if _ages_matter(model.VOLUMES, vol):
            yield vol.created, _VOLUME_CREATED


MARGIN = 1.0       # seconds past a threshold: checks compare with > or >=, either has flipped by then


COALESCE = 5.0     # seconds: deadlines this close to the first are met by one run (objects made together)


class ChangeTimes:
    """Every time at which an age of `snapshot`'s objects crosses a threshold: `stamp + threshold + MARGIN` for
    each stamp and each of its thresholds, sorted, each with the one before it of the same stamp. Made once per
    snapshot (a walk over every pod: ~35 ms at 20,000 runners); next_change then looks the next one up. An idle
    cluster keeps one snapshot for minutes while the checks run again at each of its deadlines."""

    __slots__ = ("_inputs", "_times", "_before", "since")

    # What _stamps reads: a snapshot that shares these maps with this one has the same times.
    INPUTS = (model.SCALE_SETS, model.RUNNER_SETS, model.LISTENERS, model.PODS, model.VOLUMES)

    def __init__(self, snapshot: model.Snapshot, since: float = float("-inf")) -> None:
        """`since`: only the times after it are kept (most ages crossed their last threshold long ago); the
        answers then hold for any `now` from `since` on."""
        self._inputs = tuple(snapshot.of(kind) for kind in self.INPUTS)
        self.since = since
        entries: list[tuple[float, float]] = []
        for stamp, thresholds in _stamps(snapshot):
            if not stamp:
                continue
            before = float("-inf")
            for seconds in sorted(thresholds):
                when = stamp + seconds + MARGIN
                if when > since:
                    entries.append((when, before))
                before = when
        entries.sort()
        self._times = [when for when, _ in entries]
        self._before = [before for _, before in entries]

    def holds_for(self, snapshot: model.Snapshot, now: float | None = None) -> bool:
        """These are `snapshot`'s times too, at `now`: it has the same objects (unchanged kinds keep their maps),
        and `now` is not before `since`."""
        return (now is None or now >= self.since) and \
            all(snapshot.of(kind) is mine for kind, mine in zip(self.INPUTS, self._inputs, strict=True))

    def after(self, now: float, jobs: list[float]) -> float | None:
        """next_change's answer for `now`, with `jobs`: the jobs' own times later than `now`."""
        times, before = self._times, self._before
        i = bisect_right(times, now)
        # Each stamp's first time later than `now` (the one whose predecessor is not): the first overall is one.
        first = min(times[i] if i < len(times) else float("inf"), min(jobs, default=float("inf")))
        if first == float("inf"):
            return None
        last = max((t for t in jobs if t <= first + COALESCE), default=first)
        end = first + COALESCE
        while i < len(times) and times[i] <= end:
            if before[i] <= now:
                last = max(last, times[i])
            i += 1
        return last


def next_change(snapshot: model.Snapshot, now: float, jobs: Mapping | None = None,
                jobs_wait: float = DEFAULT_JOBS_WAIT, times: ChangeTimes | None = None) -> float | None:
    """The time (the checks' clock) after `now` at which an age crosses a check's threshold — the earliest such
    time, or the last one within COALESCE seconds of it (a scale set's objects are made within a few seconds of
    each other: one run, not one per object); None: no age will cross one. `times`: ChangeTimes(snapshot), if
    the caller kept it (made at or before `now`)."""
    waits: list[float] = []
    for fig in (jobs or {}).values():
        since = getattr(fig, "waiting_since", None)
        when = since + jobs_wait + MARGIN if since else None
        if when is not None and when > now:
            waits.append(when)
    if times is None or now < times.since:
        times = ChangeTimes(snapshot, now)
    return times.after(now, waits)

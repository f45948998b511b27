"""checks.deadlines: when a finding that depends on time alone can next change, so the monitor's checks thread can
sleep until then (tui/findings.ChecksLoop) without showing a time-based finding late."""

from __future__ import annotations

import pytest

from arc_top import checks
from arc_top.checks.deadlines import ChangeTimes, next_change
from arc_top.kube import model
from tests.checks_fixtures import NOW, fleet, runner, runner_template, snapshot, ts, without

TMPL = runner_template("kubernetes", "arc-runner-set")
ERS = "arc-runner-set-h8ff4"


def _runner(name, **kw):
    return runner("arc-runner-set", "arc-runners", f"{ERS}-runner-{name}", TMPL, ERS, **kw)


def shown(snap, now) -> set[tuple[str, str]]:
    return {(f.code, f.title) for f in checks.run(snap, now=now)}


def test_a_pending_pod_is_reported_at_a_deadline_and_nothing_changes_between_deadlines():
    snap = snapshot(fleet() + _runner("s3", phase="Pending", pod_phase="Pending", age=20, node=""))
    assert "ARC405" not in {code for code, _ in shown(snap, NOW)}
    t, before = NOW, shown(snap, NOW)
    for _ in range(10):
        due = next_change(snap, t)
        assert due is not None and due > t
        # Between two deadlines the findings are those of the last run: a thread sleeping until `due` misses nothing
        # (deadlines within COALESCE seconds of each other are met by one run, at the last of them).
        for probe in (t + (due - t) / 2, due - 1.01):
            assert shown(snap, probe) == before, probe
        t, before = due, shown(snap, due)
        if "ARC405" in {code for code, _ in before}:
            break
    else:
        raise AssertionError("ARC405 never appeared at a deadline")
    pod = next(p for p in snap.of(model.PODS).values() if p.name.endswith("-s3"))
    assert t - pod.created - 1 == 180          # PENDING_GRACE, at the first deadline past it


def test_a_settled_fleet_has_no_deadline_and_running_runner_pods_add_none():
    old = snapshot(fleet())
    assert next_change(old, NOW + 3600) is None
    # Young runner pods that run are many and no check ages them: they set no deadline of their own.
    young = snapshot(fleet() + _runner("r1", age=5) + _runner("r2", age=7))
    assert next_change(young, NOW + 3600) is None


def test_jobs_waiting_set_a_deadline_at_the_jobs_wait():
    snap = snapshot(fleet())
    later = NOW + 3600                                       # every object old: only the jobs set a deadline
    fig = model.JobFigures("arc-runners", "arc-runner-set", source="metrics", assigned=3, running=0,
                           waiting_since=later - 100)
    jobs = {("arc-runners", "arc-runner-set"): fig}
    due = next_change(snap, later, jobs)
    assert due == later - 100 + checks.context.DEFAULT_JOBS_WAIT + 1
    assert next_change(snap, due, jobs) is None


def test_deadlines_a_few_seconds_apart_are_met_by_one_run():
    def pending(name, age):
        return _runner(name, phase="Pending", pod_phase="Pending", age=age, node="")

    together = snapshot(fleet() + pending("a", 100) + pending("b", 97))
    assert next_change(together, NOW) == NOW + 180 - 97 + 1          # b's, 3 s after a's: one run for both
    apart = snapshot(fleet() + pending("a", 100) + pending("b", 90))
    assert next_change(apart, NOW) == NOW + 180 - 100 + 1            # a's: b's is 10 s later


def test_the_times_of_one_set_of_objects_are_worked_out_once_and_answer_for_any_time():
    """ChangeTimes walks the objects once (ChecksLoop keeps it while the snapshot has the same objects) and then
    gives next_change's answer for each `now`, the deadline chain of a pending pod included."""
    snap = snapshot(fleet() + _runner("s3", phase="Pending", pod_phase="Pending", age=20, node=""))
    times = ChangeTimes(snap)
    t = NOW
    for _ in range(6):
        due = next_change(snap, t)
        assert next_change(snap, t, times=times) == due
        if due is None:
            break
        t = due
    assert t > NOW + 160                                     # (the chain reached PENDING_GRACE and beyond)
    same = model.Snapshot(objects=snap.objects, kinds=snap.kinds, version=snap.version + 1)
    assert times.holds_for(same)                             # a new snapshot of the same objects (a bookmark)
    other = snapshot(fleet() + _runner("s3", phase="Pending", pod_phase="Pending", age=30, node=""))
    assert not times.holds_for(other) and ChangeTimes(other).after(NOW, []) != times.after(NOW, [])
    # Made at a time, only the later times are kept: the same answers from then on, none before it.
    later = ChangeTimes(snap, NOW + 170)                     # (past the pod's PENDING_GRACE deadline)
    assert later.after(NOW + 200, []) == next_change(snap, NOW + 200) and later.holds_for(snap, NOW + 200)
    assert not later.holds_for(snap, NOW + 50) and len(later._times) < len(times._times)


def _unregistered(raws):
    ars = next(r for r in raws if r.get("kind") == "AutoscalingRunnerSet")
    ars["metadata"]["annotations"].pop("runner-scale-set-id", None)
    return without(raws, "EphemeralRunnerSet")          # (ARC makes one right after registering)


def _no_listener_pod(raws):
    return [r for r in raws if not (r.get("kind") == "Pod" and "listener" in r["metadata"]["name"])]


def _not_scaled(raws):
    ers = next(r for r in raws if r.get("kind") == "EphemeralRunnerSet")
    ers["spec"]["replicas"] = 1                                # minRunners 2: the listener has not scaled
    return raws


def _young_listener_pod(raws):
    pod = next(r for r in raws if r.get("kind") == "Pod" and "listener" in r["metadata"]["name"])
    pod["metadata"]["creationTimestamp"] = ts(3600 - 100)       # recreated 100 s after everything else
    return raws


@pytest.mark.parametrize("raws", [
    fleet(), fleet(min_runners=5), fleet(phase=None), _unregistered(fleet()), _young_listener_pod(fleet()),
    fleet() + _runner("p1", phase="Pending", pod_phase="Pending", age=3600 - 30, node=""),
    without(fleet(), "AutoscalingListener"), _no_listener_pod(fleet()), _not_scaled(fleet()),
], ids=["healthy", "below-min", "no-phase", "unregistered", "listener-recreated", "pending-pod", "no-listener",
        "no-listener-pod", "not-scaled"])
def test_no_finding_changes_between_two_deadlines_of_a_young_fleet(raws):
    """Seen from just after the fleet was made (every object an hour old at NOW is seconds old at NOW - 3600 + x):
    from each deadline to the next, the checks find the same, so a thread sleeping until the next misses nothing.
    (Deadlines are kept to the thresholds each kind's checks compare with: a spurious one costs a run over every
    pod.)"""
    snap = snapshot(raws)
    t, end = NOW - 3600 + 1, NOW - 3600 + 420
    before = shown(snap, t)
    while True:
        due = next_change(snap, t)
        stop = end if due is None else min(due, end)
        for k in range(1, 9):
            probe = t + (stop - 1.01 - t) * k / 8
            if probe > t:
                assert shown(snap, probe) == before, (probe - (NOW - 3600), due and due - (NOW - 3600))
        if due is None or due >= end:
            break
        t, before = due, shown(snap, due)

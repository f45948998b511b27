"""checks.deadlines: when a finding that depends on time alone can next change, so the monitor's checks thread can
sleep until then (tui/findings.ChecksLoop) without showing a time-based finding late."""

from __future__ import annotations

from arc_top import checks
from arc_top.checks.deadlines import next_change
from arc_top.kube import model
from tests.checks_fixtures import NOW, fleet, runner, runner_template, snapshot

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
    assert next_change(together, NOW) == NOW + 120 - 97 + 1          # b's, 3 s after a's: one run for both
    apart = snapshot(fleet() + pending("a", 100) + pending("b", 90))
    assert next_change(apart, NOW) == NOW + 120 - 100 + 1            # a's: b's is 10 s later

"""ARC408 (checks/jobs.py), pure: jobs waiting past `jobs_wait` with no idle runner and room below maxRunners,
naming the scale set's blocking findings; nothing without figures, when a runner is idle, at capacity, or
before the wait is over."""

from __future__ import annotations

from arc_top import checks
from arc_top.kube.model import JobFigures
from tests.checks_fixtures import NOW, fleet, snapshot

KEY = ("arc-runners", "arc-runner-set")


def fig(**kw) -> JobFigures:
    base = {"source": "log", "assigned": 3, "running": 0, "busy": 0, "idle": 0, "waiting_since": NOW - 720}
    return JobFigures(*KEY, **{**base, **kw})


def arc408(raws, figures, **kw):
    return [f for f in checks.run(snapshot(raws), now=NOW, jobs=figures, **kw) if f.code == "ARC408"]


def test_jobs_waiting_behind_a_broken_template_name_its_finding():
    broken = fleet(fs_group=None)                   # kube mode, no fsGroup: ARC501
    [found] = arc408(broken, {KEY: fig()})
    assert found.severity == "error" and found.scale_set == "arc-runners/arc-runner-set"
    assert found.title.startswith("3 jobs waiting 12m — runners fail: ") and "ARC501" in found.title
    assert found.subject.kind == "AutoscalingRunnerSet" and found.subject.name == "arc-runner-set"
    assert found.evidence[0].startswith("listener (log): 3 assigned, 0 running, 0 idle runners, 0 busy")
    assert any(e.startswith("ARC501 ") for e in found.evidence)
    assert found.related


def test_without_a_blocking_finding_it_still_says_that_nothing_takes_them():
    [found] = arc408(fleet(), {KEY: fig(assigned=1)})
    assert found.title == "1 job waiting 12m — no runner takes them (no cause found yet)"


def test_no_arc408_when_the_jobs_can_or_will_be_taken():
    broken = fleet(fs_group=None)
    assert not arc408(broken, {KEY: fig(idle=1)})                            # an idle runner takes them
    assert not arc408(broken, {KEY: fig(busy=10, running=10, assigned=13)})  # at maxRunners (10): capacity
    assert not arc408(broken, {KEY: fig(waiting_since=NOW - 60)})            # not long enough yet
    assert arc408(broken, {KEY: fig(waiting_since=NOW - 60)}, jobs_wait=30)  # …unless told a shorter wait
    assert not arc408(broken, {KEY: fig(assigned=2, running=2)})             # none waiting
    assert not arc408(broken, {KEY: fig(waiting_since=None)})                # since when: unknown
    assert not arc408(broken, {KEY: JobFigures(*KEY, why="no pods/log right in arc-systems")})
    assert not arc408(broken, {("arc-runners", "other-set"): fig()})        # another set's figures
    assert not arc408(broken, None)                                          # saved files: not read
    assert not arc408(broken, {KEY: "not figures"})                          # hostile input is ignored

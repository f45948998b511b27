"""After a fix: follow what happens — new runner pods of the scale set, their phase, and the finding — and end
with "ARC501 cleared in 14 s" or "ARC501 still present after 60 s" plus the current evidence.

Fed by whoever runs the checks (the monitor's ChecksLoop, or `arc-top fix`'s own): `update()` takes each check
run's findings and the snapshot. A finding counts as cleared once it is absent from `CONFIRM_RUNS` check runs in a
row spanning at least `CONFIRM_SECONDS`: log-based evidence can lapse for a run while newer pods are read, and a
one-run absence is not a verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from arc_top.checks.finding import Finding
from arc_top.kube import model

CONFIRM_RUNS = 2
CONFIRM_SECONDS = 2.0
DEFAULT_WAIT = 60.0

WAITING, CLEARED, PRESENT = "waiting", "cleared", "present"


@dataclass
class Verification:
    code: str
    scale_set: str                   # "namespace/name" ("" = match the subject instead)
    subject: tuple[str, str, str]    # kind, namespace, name
    started: float                   # wall clock of the apply
    wait: float = DEFAULT_WAIT
    state: str = WAITING
    cleared_after: float = 0.0       # seconds from the apply to the first absence that held
    evidence: tuple[str, ...] = ()
    progress: str = ""
    _absent_since: float | None = field(default=None, repr=False)
    _absent_runs: int = field(default=0, repr=False)
    runs: int = 0

    @classmethod
    def of(cls, finding: Finding, started: float, wait: float = DEFAULT_WAIT) -> Verification:
        s = finding.subject
        return cls(finding.code, finding.scale_set, (s.kind, s.namespace, s.name), started, wait)

    def matches(self, f: Finding) -> bool:
        if f.code != self.code:
            return False
        if self.scale_set:
            return f.scale_set == self.scale_set
        return (f.subject.kind, f.subject.namespace, f.subject.name) == self.subject

    def update(self, findings: Sequence[Finding], snapshot: model.Snapshot | None, now: float) -> str:
        """Take one check run (made at wall clock `now`); the state after it."""
        if self.state != WAITING:
            return self.state
        self.runs += 1
        if snapshot is not None:
            self.progress = runner_progress(snapshot, self.scale_set, self.started)
        present = [f for f in findings if self.matches(f)]
        if present:
            self._absent_since, self._absent_runs = None, 0
            self.evidence = present[0].evidence
        else:
            if self._absent_since is None:
                self._absent_since = now
            self._absent_runs += 1
            if self._absent_runs >= CONFIRM_RUNS and now - self._absent_since >= CONFIRM_SECONDS:
                self.state = CLEARED
                self.cleared_after = max(0.0, self._absent_since - self.started)
                return self.state
        if now - self.started >= self.wait:
            self.state = PRESENT
        return self.state

    def timed_out(self, now: float) -> bool:
        """Called when no check run came: the wait is over all the same."""
        if self.state == WAITING and now - self.started >= self.wait:
            self.state = PRESENT
        return self.state == PRESENT

    def message(self, now: float | None = None) -> str:
        if self.state == CLEARED:
            return f"{self.code} cleared in {self.cleared_after:.0f} s"
        if self.state == PRESENT:
            return f"{self.code} still present after {self.wait:.0f} s"
        waited = f" ({now - self.started:.0f} s)" if now is not None else ""
        return f"watching {self.code}{waited}: " + (self.progress or "waiting for the next check run")

    def as_json(self) -> dict:
        return {"code": self.code, "state": self.state, "cleared_after_s": round(self.cleared_after, 1)
                if self.state == CLEARED else None, "waited_s": self.wait if self.state == PRESENT else None,
                "check_runs": self.runs, "progress": self.progress, "evidence": list(self.evidence)}


def runner_progress(snapshot: model.Snapshot, scale_set: str, since: float) -> str:
    """"3 new runner pods: 2 Running, 1 Pending" for the scale set's runner pods created after `since`."""
    if not scale_set or "/" not in scale_set:
        return ""
    ns, name = scale_set.split("/", 1)
    phases: dict[str, int] = {}
    for pod in snapshot.of(model.PODS).values():
        if (isinstance(pod, model.Pod) and pod.role == "runner" and pod.namespace == ns and pod.scale_set == name
                and pod.created >= since - 1):
            phases[pod.status or pod.phase or "?"] = phases.get(pod.status or pod.phase or "?", 0) + 1
    total = sum(phases.values())
    if not total:
        return "no new runner pod yet"
    parts = ", ".join(f"{n} {phase}" for phase, n in sorted(phases.items(), key=lambda kv: -kv[1]))
    return f"{total} new runner pod{'s' if total != 1 else ''}: {parts}"

"""Runs every check of the catalogue over one snapshot: findings deduplicated and sorted worst first.

A check that raises does not stop the run: it becomes one ARC000 info finding naming the check (never a
traceback). Checks are registered by the family modules imported below (checks/registry.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from arc_top.checks import (  # noqa: F401  (they register)
    auth,
    context,
    controllerlog,
    credentials,
    network,
    permissions,
    practices,
    registration,
    scaling,
    storage,
)
from arc_top.checks import jobs as waiting_jobs  # noqa: F401  (registers ARC408, run after the others)
from arc_top.checks.catalogue import finding
from arc_top.checks.context import Context
from arc_top.checks.finding import Finding, LogTail, Subject
from arc_top.checks.registry import CHECKS, Check
from arc_top.kube.model import Snapshot


def _crashed(check: Check, exc: BaseException) -> Finding:
    return finding("ARC000", Subject("Check", "", check.name),
                   title=f"not evaluated: {', '.join(check.codes)} (check {check.name} failed)",
                   evidence=[f"{type(exc).__name__}: {exc}"])


def _key(f: Finding) -> tuple:
    s = f.subject
    return (f.code, f.scale_set, s.kind, s.namespace, s.name, s.uid, f.title)


def run(snapshot: Snapshot, *, now: float, logs: Sequence[LogTail] = (),
        probes: Sequence[credentials.ProbeResult] | None = None, jobs: Mapping | None = None,
        jobs_wait: float | None = None, missing_logs: str = "",
        pause: Callable[[], None] | None = None) -> list[Finding]:
    """All findings for `snapshot` at wall-clock `now` (epoch seconds), sorted worst first. `logs` are the log
    tails the kube layer fetched (runner, listener, controller pods); without them no finding claims log
    evidence. `probes` are the GitHub credential probe results (kube.credentials.CredentialProber): ARC104–ARC107,
    linked to the failing listeners (ARC403) of the same scale sets; None = not probed, no such findings. `jobs`:
    the listeners' job figures per scale set (kube.model.JobFigures by (namespace, name); None = not read, no
    ARC408); `jobs_wait`: seconds jobs may wait before ARC408 (None: checks.context.DEFAULT_JOBS_WAIT).
    `missing_logs`: why no log tails were read ("" = they were, or nobody knows): ARC410 is then not evaluated
    (ARC000). The controller's error lines become evidence on the findings they explain (controllerlog.settle), and
    an unregistered scale set (ARC409) names the credential and network findings of its set. `pause`, when given,
    is called before each check: a caller sharing the interpreter with a screen may wait there while keys are
    handled (it decides nothing here)."""
    ctx = Context(snapshot, now, logs, probes, jobs=jobs,
                  jobs_wait=context.DEFAULT_JOBS_WAIT if jobs_wait is None else jobs_wait)
    found: dict[tuple, Finding] = {}
    for check in sorted(CHECKS, key=lambda c: c.after):
        if pause is not None:
            pause()
        try:
            results = list(check.fn(ctx, tuple(found.values())) if check.after else check.fn(ctx))
        except Exception as exc:  # a broken check must not hide the others' findings
            results = [_crashed(check, exc)]
        for f in results:
            found.setdefault(_key(f), f)
    out = list(found.values())
    if ctx.probes:
        out = credentials.link_listener_findings(out)
    try:
        out = registration.link_causes(controllerlog.settle(out, ctx)) + controllerlog.not_read(ctx, missing_logs)
    except Exception as exc:  # as for a check: one ARC000, the other findings stay
        out.append(finding("ARC000", Subject("Check", "", "controllerlog.settle"),
                           title="not evaluated: ARC410 (attributing the controller's log failed)",
                           evidence=[f"{type(exc).__name__}: {exc}"]))
    return sorted(out, key=Finding.sort_key)


def log_facts(snapshot: Snapshot, logs: Sequence[LogTail]) -> tuple:
    """What the checks read of `logs`, as one comparable value: the failure lines that stand (Context.log_hits, each
    with its tail's pod and container, the pod's role and scale set) and the controller's tails, whole. The checks
    read the tails through these two only, so tails with equal facts give equal findings: a tail read again that
    grew by ordinary lines, or a new pod's tail without a failure line, need not run every check again (at 20,000
    runners a run costs ~0.1 s of the interpreter the screen shares)."""
    ctx = Context(snapshot, 0.0, logs)
    hits = tuple((h.tail.pod_uid, h.tail.namespace, h.tail.pod, h.tail.container, h.tail.previous, h.key, h.role,
                  h.pod, tuple((line, pattern.id) for line, pattern in h.matches)) for h in ctx.log_hits)
    controller = tuple((t.pod_uid, t.namespace, t.pod, t.container, t.previous, t.ended, tuple(t.lines))
                       for t in controllerlog.controller_tails(ctx))
    return hits, controller


def codes() -> dict[str, tuple[str, ...]]:
    """Check name → the codes it may emit (for docs and `arc-top check --list`)."""
    return {c.name: c.codes for c in CHECKS}

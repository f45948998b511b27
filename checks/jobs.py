"""Jobs waiting behind a blocking finding (ARC408): the listener's figures (Context.jobs, read by kube/jobs.py) tie
the impact — jobs assigned to the scale set that no runner has started — to its cause, the findings that keep the
scale set's runners from starting.

ARC408 when, for `ctx.jobs_wait` seconds or more, jobs have waited without a break (JobFigures.waiting_since),
no runner is idle to take them, and the scale set is below maxRunners (at maxRunners with every runner busy, jobs
wait for capacity: no fault). Without figures (saved files, no listener, no access) nothing is said.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from arc_top.checks.catalogue import finding
from arc_top.checks.context import Context, set_key
from arc_top.checks.finding import ERROR, WARNING, Finding
from arc_top.checks.registry import check
from arc_top.core.text import age, plural

NOT_BLOCKERS = frozenset({"ARC000", "ARC408"})
MAX_NAMED = 4


def blockers(findings: Iterable[Finding], key: str) -> list[str]:
    """The codes of the scale set's errors (then warnings) that can keep its runners from taking jobs, worst
    first, each once."""
    own = [f for f in findings if f.scale_set == key and f.code not in NOT_BLOCKERS
           and f.severity in (ERROR, WARNING)]
    codes: list[str] = []
    for f in sorted(own, key=lambda f: (f.severity != ERROR, f.code)):
        if f.code not in codes:
            codes.append(f.code)
    return codes


@check("ARC408", after=True)
def jobs_waiting(ctx: Context, findings: Sequence[Finding] = ()) -> Iterable[Finding]:
    if not ctx.jobs:
        return
    for ars in ctx.scale_sets:
        fig = ctx.jobs.get((ars.namespace, ars.name))
        if fig is None or not fig.source:
            continue
        waiting = fig.waiting
        if not waiting or fig.waiting_since is None:
            continue
        waited = ctx.now - fig.waiting_since
        if waited < ctx.jobs_wait:
            continue
        if fig.idle:                      # an idle runner will take them
            continue
        busy = fig.busy if fig.busy is not None else fig.running
        if ars.max_runners is not None and busy is not None and busy >= ars.max_runners:
            continue                      # at capacity: they wait for a busy runner, not for a fault
        key = set_key(ars)
        codes = blockers(findings, key)
        shown = ", ".join(codes[:MAX_NAMED]) + (f" +{len(codes) - MAX_NAMED}" if len(codes) > MAX_NAMED else "")
        cause = f"runners fail: {shown}" if codes else "no runner takes them (no cause found yet)"
        title = f"{plural(waiting, 'job')} waiting {age(waited)} — {cause}"
        evidence = [f"listener ({fig.source}): {fig.assigned} assigned, {fig.running} running, "
                    f"{fig.idle if fig.idle is not None else '?'} idle runners, "
                    f"{fig.busy if fig.busy is not None else '?'} busy; waiting since {age(waited)} ago"]
        for f in findings:
            if f.scale_set == key and f.code in codes[:MAX_NAMED]:
                evidence.append(f"{f.code} {f.subject.kind} {f.subject.namespace}/{f.subject.name}: {f.title}")
                if len(evidence) > 1 + MAX_NAMED:
                    break
        related = tuple(dict.fromkeys(f.subject for f in findings if f.scale_set == key and f.code in codes))
        yield finding("ARC408", ctx.ars_subject(ars), scale_set=key, evidence=evidence, title=title,
                      related=related[:10])

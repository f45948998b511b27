"""Scaling and the runner life cycle: too few runners (ARC401), Failed runners (ARC402, ARC407), the listener
(ARC403), start-up churn (ARC404), Pending runner pods (ARC405) and the controller (ARC406)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from arc_top.checks.catalogue import finding, not_evaluated
from arc_top.checks.context import Context, set_key, subject_of
from arc_top.checks.finding import Finding, Subject
from arc_top.checks.registry import capped, check
from arc_top.checks.text import age, plural
from arc_top.kube import model

WARMUP = 120.0              # a new scale set may have fewer runners than minRunners this long
PENDING_GRACE = 180.0       # a runner pod may be Pending this long without a failure sign
LISTENER_GRACE = 60.0       # the controller makes the listener (and its pod) within this
CHURN_WINDOW = 300.0        # a runner that exits 0 younger than this without a job is start-up churn
BAD_WAITING = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
                         "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
                         "CrashLoopBackOff", "PreCreateHookError", "PostStartHookError"})
POD_FAILURE_EVENTS = frozenset({"FailedScheduling", "FailedCreatePodSandBox", "FailedMount", "FailedAttachVolume",
                                "Failed", "InspectFailed", "ErrImageNeverPull", "FailedCreatePodContainer"})
LISTENER_FAILURES = frozenset({"F12", "F13", "F14", "F15", "F16", "F17", "F18", "F19", "F20"})
CONTROLLER_LABELS = "app.kubernetes.io/part-of=gha-rs-controller (or gha-runner-scale-set-controller)"


def _runner_key(ctx: Context, key: tuple[str, str]) -> str:
    ars = ctx.scale_set_by_key.get(key)
    return set_key(ars) if ars else (f"{key[0]}/{key[1]}" if key[1] else "")


# ---- Failed EphemeralRunners ------------------------------------------------------------------------------
@check("ARC402", "ARC407")
def failed_runners(ctx: Context) -> Iterator[Finding]:
    for key, runners in ctx.runners_by_set.items():
        failed = sorted((er for er in runners if er.phase == "Failed" and not er.deleting),
                        key=lambda er: (er.created, er.name))
        invalid = [er for er in failed if er.reason == "InvalidPod"]
        other = [er for er in failed if er.reason != "InvalidPod"]
        scale_set = _runner_key(ctx, key)
        for code, items in (("ARC407", invalid), ("ARC402", other)):
            found = []
            for er in items:
                evidence = [f"EphemeralRunner {er.name}: phase Failed, reason {er.reason or '(none)'}"]
                if er.message:
                    evidence.append(f"message: {er.message}")
                if er.failures:
                    evidence.append(f"pod failures: {er.failures}")
                found.append(finding(code, subject_of("EphemeralRunner", er), scale_set=scale_set,
                                     evidence=evidence))
            yield from capped(found, what=f"Failed EphemeralRunners in {scale_set}")


# ---- Pending runner pods ----------------------------------------------------------------------------------------
def pending_problem(ctx: Context, pod: model.Pod) -> list[str]:
    """Why a runner pod is not starting (evidence lines), or [] while it may still be starting normally."""
    if pod.deleting or pod.phase not in ("Pending", ""):
        return []
    lines = []
    for c in pod.containers:
        if c.state == "waiting" and c.reason in BAD_WAITING:
            lines.append(f"container {c.name}: {c.reason}" + (f": {c.message}" if c.message else ""))
    events = [e for e in ctx.events_for("Pod", pod) if e.type == "Warning" and e.reason in POD_FAILURE_EVENTS]
    lines += [f"{e.reason}: {e.message}" + (f" (x{e.count})" if e.count > 1 else "") for e in events[:2]]
    if not lines and not ctx.older_than(pod, PENDING_GRACE):
        return []
    return [f"pod {pod.name}: {pod.status or 'Pending'} for {age(ctx.age(pod))}", *lines]


@check("ARC405")
def pending_pods(ctx: Context) -> Iterator[Finding]:
    for key, pods in sorted(ctx.runner_pods_by_set.items()):
        scale_set = _runner_key(ctx, key)
        found = []
        for pod in sorted(pods, key=lambda p: (p.created, p.name)):
            evidence = pending_problem(ctx, pod)
            if evidence:
                found.append(finding("ARC405", subject_of("Pod", pod), scale_set=scale_set, evidence=evidence))
        yield from capped(found, what=f"Pending runner pods in {scale_set}")


# ---- the controller ---------------------------------------------------------------------------------------------
@check("ARC406")
def controller_running(ctx: Context) -> Iterator[Finding]:
    if not ctx.scale_sets:
        return
    pods = ctx.controller_pods
    if any(p.phase == "Running" and not p.deleting for p in pods):
        return
    arc = ctx.arc
    found = tuple(getattr(arc, "controllers", ()) or ())
    if pods:
        evidence = [f"controller pod {p.namespace}/{p.name}: {p.status}" for p in pods[:3]]
    elif found:
        if any(getattr(c, "phase", "") == "Running" for c in found):
            return                     # discovery saw it running; this snapshot just does not watch its pods
        evidence = [f"controller pod {c.namespace}/{c.name}: {c.phase or 'unknown'}" for c in found[:3]]
    elif arc is None:
        yield not_evaluated("ARC406", "waits for ARC discovery", Subject("Deployment", "", "gha-rs-controller"))
        return
    elif not getattr(arc, "controllers_listed", True):
        namespaces = ", ".join(getattr(arc, "controller_namespaces", ()) or ()) or "unknown"
        yield not_evaluated("ARC406", f"needs to list pods cluster-wide to find the controller (controller "
                            f"namespace: {namespaces})", Subject("Deployment", "", "gha-rs-controller"))
        return
    else:
        evidence = [f"no pod labelled {CONTROLLER_LABELS} in the cluster"]
    for ars in ctx.scale_sets:
        yield finding("ARC406", ctx.ars_subject(ars), scale_set=set_key(ars), evidence=evidence)


# ---- the listener -----------------------------------------------------------------------------------------------
def _listener_log(ctx: Context, ars: model.ScaleSet) -> list[str]:
    out: list[str] = []
    for hits in ctx.log_hits:
        if hits.scale_set is ars and hits.role == "listener":
            out += [line for line in hits.lines(ids=LISTENER_FAILURES) if line not in out]
    return out[-3:]


def _pod_failure(pod: model.Pod) -> str:
    """What is wrong with a listener pod ("" when nothing shows)."""
    if pod.phase == "Failed" or pod.status in ("Error", "CrashLoopBackOff", "ContainerStatusUnknown"):
        detail = next((c for c in pod.containers if c.exit_code not in (None, 0)), None)
        code = f", exit code {detail.exit_code}" if detail else ""
        message = f": {detail.message}" if detail and detail.message else ""
        return f"listener pod {pod.name}: {pod.status or pod.phase}{code}{message}"
    for c in pod.containers:
        if c.state == "terminated" and c.exit_code not in (None, 0):
            return f"listener pod {pod.name}: container {c.name} exited {c.exit_code} ({c.reason or 'Error'})"
        if c.state == "waiting" and c.reason in BAD_WAITING:
            return f"listener pod {pod.name}: {c.reason}" + (f": {c.message}" if c.message else "")
        if c.restarts:
            return f"listener pod {pod.name}: {plural(c.restarts, 'restart')}"
    return ""


def listener_problems(ctx: Context, ars: model.ScaleSet) -> tuple[Subject, list[str]]:
    """The object to blame and what shows this scale set's listener is missing or failing ([] = nothing seen):
    no listener, no pod, a pod in Error or restarting, the listener's own log lines, Warning events on the ARS,
    and an EphemeralRunnerSet the listener never scaled to minRunners."""
    key = (ars.namespace, ars.name)
    logged = _listener_log(ctx, ars)
    events = [f"event {e.reason}: {e.message}" for e in ctx.events_for("AutoscalingRunnerSet", ars)
              if e.type == "Warning"][:2]
    listeners = ctx.listeners_by_set.get(key, ())
    if not listeners:
        if ctx.older_than(ars, LISTENER_GRACE) or events or logged:
            return ctx.ars_subject(ars), ["no AutoscalingListener exists for this scale set", *events, *logged]
        return ctx.ars_subject(ars), []
    lis = listeners[0]
    pods = sorted((p for p in ctx.listener_pods_by_set.get(key, ()) if not p.deleting),
                  key=lambda p: p.created, reverse=True)
    evidence: list[str] = []
    subject = subject_of("Pod", pods[0]) if pods else subject_of("AutoscalingListener", lis)
    if not pods:
        if ctx.older_than(lis, LISTENER_GRACE) or logged:
            evidence.append(f"AutoscalingListener {lis.name} has no running pod")
    else:
        problem = _pod_failure(pods[0])
        if problem:
            evidence.append(problem)
    replicas = [rs.replicas for rs in ctx.runner_sets_by_set.get(key, ())]
    if ars.min_runners > 0 and replicas and max(replicas) < ars.min_runners and ctx.older_than(lis, LISTENER_GRACE):
        evidence.append(f"EphemeralRunnerSet replicas {max(replicas)} < minRunners {ars.min_runners}: the "
                        "listener has not scaled")
    if not evidence and not logged:
        return subject, []
    if pods and not ctx.older_than(pods[0], 60) and ctx.older_than(lis, 2 * LISTENER_GRACE):
        evidence.append(f"listener pod is {age(ctx.age(pods[0]))} old, its AutoscalingListener "
                        f"{age(ctx.age(lis))}: the pod is being recreated")
    return subject, [*evidence, *logged, *events]


@check("ARC403")
def listener(ctx: Context) -> Iterator[Finding]:
    if not any(p.phase == "Running" for p in ctx.controller_pods) and not getattr(ctx.arc, "controllers", ()):
        return                         # no controller: ARC406 says so, and nobody would make a listener
    why = ctx.blocked(model.LISTENERS)
    if why:
        for ns in sorted({a.namespace for a in ctx.scale_sets}):
            yield not_evaluated("ARC403", why, ctx.namespace_subject(ns))
        return
    for ars in ctx.scale_sets:
        subject, evidence = listener_problems(ctx, ars)
        if evidence:
            related = tuple(subject_of("AutoscalingListener", lis)
                            for lis in ctx.listeners_by_set.get((ars.namespace, ars.name), ())[:1]
                            if subject.kind != "AutoscalingListener")
            yield finding("ARC403", subject, scale_set=set_key(ars), evidence=evidence, related=related)


# ---- start-up churn -------------------------------------------------------------------------------------------
def _exited_without_job(ctx: Context, pod: model.Pod) -> bool:
    runner = next((c for c in pod.containers if c.name == "runner"), None)
    if runner is None or runner.state != "terminated" or runner.exit_code != 0:
        if pod.phase != "Succeeded":
            return False
    if not ctx.age(pod) or ctx.age(pod) > CHURN_WINDOW:
        return False
    er = ctx.runner_by_name.get((pod.namespace, pod.name))
    return er is not None and not (er.job_repository or er.job_display_name or er.job_workflow_ref)


STARTUP_FAILURES = frozenset({"F1", "F25"})


@check("ARC404")
def startup_churn(ctx: Context) -> Iterator[Finding]:
    logged: dict[tuple[str, str], list[str]] = {}
    for hits in ctx.log_hits:
        if hits.scale_set is None or hits.role != "runner":
            continue
        gave_up = hits.lines(ids=("S1",))[:1]      # the runner gave up at start-up: quote why
        lines = hits.lines(ids=STARTUP_FAILURES)[:2] + gave_up if gave_up else hits.lines(ids=("F25",))[:1]
        if lines:
            logged.setdefault((hits.scale_set.namespace, hits.scale_set.name), []).extend(lines)
    for key in sorted(set(ctx.runner_pods_by_set) | set(logged)):
        exited = [p for p in ctx.runner_pods_by_set.get(key, ()) if _exited_without_job(ctx, p)]
        if not exited and not logged.get(key):
            continue
        ars = ctx.scale_set_by_key.get(key)
        evidence = []
        if exited:
            examples = ", ".join(f"{p.name} ({age(ctx.age(p))})" for p in exited[:3])
            evidence.append(f"{plural(len(exited), 'runner pod')} exited 0 without a job: {examples}")
        else:
            evidence.append("runner log: start-up failed (run.sh then exits 0 and ARC replaces the runner)")
        evidence += logged.get(key, [])[:3]
        if ars is None and not exited:
            continue
        subject = ctx.ars_subject(ars) if ars else subject_of("Pod", exited[0])
        yield finding("ARC404", subject, scale_set=_runner_key(ctx, key), evidence=evidence,
                      related=tuple(subject_of("Pod", p) for p in exited[:3]))


# ---- fewer runners than minRunners --------------------------------------------------------------------------
@check("ARC401")
def below_min(ctx: Context) -> Iterator[Finding]:
    told: set[str] = set()
    for ars in ctx.scale_sets:
        if ars.min_runners <= 0:
            continue
        why = ctx.blocked(model.PODS, ars.namespace)
        if why:
            if ars.namespace not in told:
                told.add(ars.namespace)
                yield not_evaluated("ARC401", why, ctx.namespace_subject(ars.namespace))
            continue
        key = (ars.namespace, ars.name)
        pods = [p for p in ctx.runner_pods_by_set.get(key, ())
                if not p.deleting and p.phase not in ("Succeeded", "Failed")]
        running = sum(1 for p in pods if p.phase == "Running")
        pending = [p for p in pods if p.phase != "Running" and pending_problem(ctx, p)]
        starting = len(pods) - running - len(pending)       # Pending without a problem yet: still coming up
        if running + starting >= ars.min_runners:
            continue
        chain = []
        failed = [er for er in ctx.runners_by_set.get(key, ()) if er.phase == "Failed" and not er.deleting]
        if failed:
            reasons = Counter(er.reason or "no reason" for er in failed)
            chain.append(f"{plural(len(failed), 'Failed EphemeralRunner')} count toward the replicas ("
                         + ", ".join(f"{r} x{n}" for r, n in reasons.most_common(3)) + ")")
        if not ctx.blocked(model.LISTENERS):
            chain += listener_problems(ctx, ars)[1][:2]
        if pending:
            statuses = Counter(p.status or "Pending" for p in pending)
            chain.append(f"{plural(len(pending), 'runner pod')} stuck Pending ("
                         + ", ".join(f"{st} x{n}" for st, n in statuses.most_common(3)) + ")")
        churn = [p for p in ctx.runner_pods_by_set.get(key, ()) if _exited_without_job(ctx, p)]
        if churn:
            chain.append(f"{plural(len(churn), 'runner pod')} exited without taking a job (start-up failure)")
        if not chain and not ctx.older_than(ars, WARMUP):
            continue
        sets = ctx.runner_sets_by_set.get(key, ())
        head = [f"{running} running runner pods" + (f" ({starting} starting)" if starting else "")
                + f", minRunners {ars.min_runners}"]
        for rs in sets[:1]:
            head.append(f"EphemeralRunnerSet {rs.name}: replicas {rs.replicas} (pending {rs.pending}, running "
                        f"{rs.running}, failed {rs.failed})")
        if not chain:
            chain.append("no cause seen in the cluster: the controller has not created the missing runners")
        yield finding("ARC401", ctx.ars_subject(ars), scale_set=set_key(ars), evidence=head + chain)

"""Good practice and version skew: runner resources (ARC601), the runner image tag (ARC602), chart/controller
versions (ARC603), listener images (ARC604), stale CRDs (ARC605) and PodSecurity labels (ARC606)."""

from __future__ import annotations

from collections.abc import Iterator

from arc_top.checks import crd_facts
from arc_top.checks import template as tpl
from arc_top.checks.catalogue import finding, not_evaluated
from arc_top.checks.context import Context, d, image_tag, s, set_key, subject_of, version_tuple
from arc_top.checks.finding import Finding, Subject
from arc_top.checks.registry import check
from arc_top.checks.text import quote
from arc_top.kube import model

PSA_PREFIX = "pod-security.kubernetes.io/"
ARC_GROUP = "actions.github.com"
PHASE_GRACE = 60.0            # seconds a ≥0.14 controller has to write status.phase


@check("ARC601")
def runner_resources(ctx: Context) -> Iterator[Finding]:
    for ars in ctx.scale_sets:
        runner = tpl.runner_container(tpl.pod_spec(ars))
        if runner is None:
            continue
        resources = d(runner.get("resources"))
        named = {k for part in ("requests", "limits") for k in d(resources.get(part)) if k in ("cpu", "memory")}
        if named:
            continue
        yield finding("ARC601", ctx.ars_subject(ars), scale_set=set_key(ars),
                      evidence=["runner container: no cpu/memory requests or limits"])


@check("ARC602")
def runner_image(ctx: Context) -> Iterator[Finding]:
    for ars in ctx.scale_sets:
        runner = tpl.runner_container(tpl.pod_spec(ars))
        if runner is None:
            continue
        image = s(runner.get("image"))
        if not image or "@" in image or image_tag(image) not in ("", "latest"):
            continue
        yield finding("ARC602", ctx.ars_subject(ars), scale_set=set_key(ars),
                      evidence=[f"runner image: {quote(image)}"])


def versions_match(chart: str, controller: str) -> bool:
    a, b = version_tuple(chart), version_tuple(controller)
    if a is None or b is None:
        return True                      # not versions we can compare: say nothing
    if b[:2] >= (0, 12):
        return a[:2] == b[:2]
    return a == b


def _controller_lines(ctx: Context, fid: str) -> list[str]:
    out = []
    for hits in ctx.log_hits:
        if hits.role in ("controller", "other"):
            out += hits.lines(ids=(fid,))
    return out[-2:]


@check("ARC603")
def version_skew(ctx: Context) -> Iterator[Finding]:
    controllers = ctx.controller_versions
    if not controllers:
        return
    logged = _controller_lines(ctx, "F22")
    for ars in ctx.scale_sets:
        if not ars.version or any(versions_match(ars.version, c) for c in controllers):
            continue
        yield finding("ARC603", ctx.ars_subject(ars), scale_set=set_key(ars),
                      evidence=[f"scale set label app.kubernetes.io/version={ars.version}",
                                f"controller version {', '.join(controllers)}", *logged])


def _strip_digest(image: str) -> str:
    return s(image).split("@", 1)[0]


@check("ARC604")
def listener_image(ctx: Context) -> Iterator[Finding]:
    images = {_strip_digest(i) for i in ctx.controller_images}
    if not images:
        return
    for key, listeners in sorted(ctx.listeners_by_set.items()):
        for lis in listeners:
            if not lis.image or _strip_digest(lis.image) in images:
                continue
            yield finding("ARC604", subject_of("AutoscalingListener", lis), scale_set=f"{key[0]}/{key[1]}",
                          evidence=[f"listener image: {quote(lis.image)}",
                                    f"controller image: {', '.join(sorted(images))}"])


def _reconciled(ctx: Context, ars: model.ScaleSet) -> bool:
    """The controller has handled this ARS (so it would have written status.phase)."""
    return bool(ars.current or ars.pending or ars.running or ars.failed
                or ctx.runner_sets_by_set.get((ars.namespace, ars.name)))


def schema_gaps(arc, version: tuple[int, ...]) -> list[str]:
    """What the served ARC CRD schemas lack that a controller of `version` relies on, first gap first:
    "EphemeralRunner status.jobId is missing (served since 0.13)" or "… has type map[boolean], 0.12+ needs
    map[string]". [] when they have it all or were not read."""
    kinds = set(getattr(arc, "crd_kinds", ()) or ())
    if not kinds:
        return []
    served = {(k, p): t for k, p, t in getattr(arc, "crd_fields", ()) or ()}
    gaps = []
    for field in crd_facts.expected(version):
        if field.kind not in kinds:
            continue
        got = served.get((field.kind, field.path))
        if got is None:
            gaps.append(f"{field.kind} {field.path} is missing (served since {crd_facts.introduced_by(field)})")
        elif got != field.type and not (field.type == "object" and got.startswith("map[")):
            gaps.append(f"{field.kind} {field.path} has type {got}, {crd_facts.introduced_by(field)}+ needs "
                        f"{field.type}")
    return gaps


def _schema_finding(ctx: Context, version: tuple[int, ...], label: str, logged: list[str]) -> list[Finding]:
    arc = ctx.arc
    problem = s(getattr(arc, "crd_schema_problem", ""))
    if problem:
        if any(a for a in ctx.scale_sets):
            return [not_evaluated("ARC605", f"(CRD schemas) {problem}",
                                  Subject("CustomResourceDefinition", "", f"autoscalingrunnersets.{ARC_GROUP}"))]
        return []
    gaps = schema_gaps(arc, version)
    if not gaps:
        return []
    kind = gaps[0].split(" ", 1)[0]
    subject = Subject("CustomResourceDefinition", "", f"{crd_facts.PLURALS.get(kind, kind.lower())}.{ARC_GROUP}")
    evidence = [f"first gap: {gaps[0]} (controller {label})"]
    if len(gaps) > 1:
        evidence.append(f"and {len(gaps) - 1} more, e.g. " + "; ".join(gaps[1:3]))
    return [finding("ARC605", subject, evidence=[*evidence, *logged],
                    more="The served schema was compared field by field with what this controller version writes "
                         "(checks/crd_facts.py).")]


@check("ARC605")
def stale_crds(ctx: Context) -> Iterator[Finding]:
    logged = _controller_lines(ctx, "F21")
    versions = [v for v in (version_tuple(c) for c in ctx.controller_versions) if v is not None]
    if versions:
        newest = max(versions)
        label = next((c for c in ctx.controller_versions if version_tuple(c) == newest), "")
        found = _schema_finding(ctx, newest, label, logged) if newest[:2] >= crd_facts.OLDEST else []
        if found and found[0].code == "ARC605":
            yield from found
            return
        yield from found
    suspects = [a for a in ctx.scale_sets if not a.phase and ctx.older_than(a, PHASE_GRACE) and _reconciled(ctx, a)]
    if not versions:
        if suspects and not logged:
            yield not_evaluated("ARC605", "needs the controller's version", ctx.ars_subject(suspects[0]),
                                set_key(suspects[0]))
    elif max(versions)[:2] >= (0, 14):
        for ars in suspects:
            yield finding("ARC605", ctx.ars_subject(ars), scale_set=set_key(ars),
                          evidence=[f"status.phase is missing although the controller is {ctx.controller_versions[0]} "
                                    "(the API server dropped it: the CRD schema predates 0.14)", *logged])
        if suspects:
            return
    if logged:
        pod = ctx.controller_pods[0] if ctx.controller_pods else None
        subject = subject_of("Pod", pod) if pod else Subject("Deployment", "", "gha-rs-controller")
        yield finding("ARC605", subject, evidence=logged)


@check("ARC606")
def psa_labels(ctx: Context) -> Iterator[Finding]:
    why = ctx.blocked(model.NAMESPACES)
    for name in sorted({a.namespace for a in ctx.scale_sets}):
        if why:
            yield not_evaluated("ARC506 and ARC606", why, ctx.namespace_subject(name))
            continue
        ns = ctx.namespaces.get(name)
        if ns is None or any(k.startswith(PSA_PREFIX + "enforce") for k in ns.labels):
            continue
        yield finding("ARC606", ctx.namespace_subject(name),
                      evidence=[f"namespace {name}: no {PSA_PREFIX}enforce label"])

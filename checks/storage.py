"""Kubernetes-mode work volumes: the claim template (ARC204), its storage class (ARC201, ARC202, ARC206), claims
stuck Pending (ARC203) and ReadWriteOnce volumes the workflow pod cannot attach (ARC205)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from arc_top.checks import template as tpl
from arc_top.checks.catalogue import finding, not_evaluated
from arc_top.checks.context import Context, d, lst, s, set_key, subject_of
from arc_top.checks.finding import Finding
from arc_top.checks.registry import capped, check
from arc_top.checks.text import age, quote
from arc_top.kube import model

PENDING_GRACE = 120.0           # seconds a work claim may stay Pending without a failure event
FAILURE_REASONS = frozenset({"ProvisioningFailed", "FailedBinding", "ClaimLost", "VolumeMismatch"})
CLASS_CODES = "ARC201, ARC202 and ARC206"


def _work_claims(ctx: Context) -> Iterator[tuple[model.ScaleSet, Mapping | None, Mapping | None]]:
    """(ARS, work volume, claim spec) of every kubernetes-mode (PVC) scale set."""
    for ars in ctx.scale_sets:
        if tpl.kube_mode(ars) != tpl.KUBE:
            continue
        volume = tpl.work_volume(tpl.pod_spec(ars))
        yield ars, volume, tpl.claim_spec(volume)


def claim_class(claim: Mapping) -> str | None:
    """storageClassName of a claim spec: None when unset (the default class applies), "" for "no class"."""
    if "storageClassName" not in claim or claim.get("storageClassName") is None:
        return None
    return s(claim.get("storageClassName"))


def _class_events(ctx: Context, ars: model.ScaleSet) -> list[str]:
    """The latest failure events of this scale set's work claims (at most two distinct messages)."""
    out: list[str] = []
    for pod in ctx.runner_pods_by_set.get((ars.namespace, ars.name), ()):
        for vol in ctx.volumes_by_owner.get((pod.namespace, pod.name), ()):
            for e in ctx.events_for("PersistentVolumeClaim", vol):
                line = f"{vol.name}: {e.reason}: {e.message}"
                if e.reason in FAILURE_REASONS and all(e.message not in seen for seen in out):
                    out.append(line)
                if len(out) >= 2:
                    return out
    return out


@check("ARC204")
def claim_template(ctx: Context) -> Iterator[Finding]:
    for ars, volume, claim in _work_claims(ctx):
        path = "spec.template.spec.volumes[work]"
        if volume is None:
            problem = "the pod template has no `work` volume"
        elif claim is None:
            if isinstance(volume.get("persistentVolumeClaim"), Mapping):
                continue                  # a shared, pre-made claim: not ARC's template, nothing to check
            kind = next((k for k in volume if k != "name"), "no source")
            problem = f"{path} is {kind}, not an ephemeral volume claim template"
        else:
            missing = []
            if not [m for m in lst(claim.get("accessModes")) if s(m)]:
                missing.append("accessModes")
            if not s(d(d(claim.get("resources")).get("requests")).get("storage")):
                missing.append("resources.requests.storage")
            if not missing:
                continue
            problem = f"the work volume claim template has no {' and no '.join(missing)}"
        yield finding("ARC204", ctx.ars_subject(ars), scale_set=set_key(ars), evidence=[problem])


def _class_blocked(ctx: Context, ars: model.ScaleSet) -> Finding | None:
    why = ctx.blocked(model.STORAGE_CLASSES)
    return not_evaluated(CLASS_CODES, why, ctx.ars_subject(ars), set_key(ars)) if why else None


@check("ARC201", "ARC202", "ARC206")
def storage_class(ctx: Context) -> Iterator[Finding]:
    for ars, _, claim in _work_claims(ctx):
        if claim is None:
            continue
        blocked = _class_blocked(ctx, ars)
        if blocked is not None:
            yield blocked
            continue
        name = claim_class(claim)
        defaults = [c.name for c in ctx.default_classes]
        known = ", ".join(sorted(ctx.storage_classes)) or "none"
        if name:
            if name not in ctx.storage_classes:
                fix = (f"Set the work volume claim's storageClassName to an existing class"
                       f"{' such as ' + repr(defaults[0]) if defaults else ''} (classes: {known}).")
                events = _class_events(ctx, ars)
                yield finding("ARC201", ctx.ars_subject(ars), scale_set=set_key(ars), fix=fix,
                              evidence=[*ctx.predicted_evidence(ars, live_evidence=bool(events)),
                                        f"storageClassName: {quote(name)}", f"storage classes: {known}", *events])
            elif name in defaults:
                yield finding("ARC206", ctx.ars_subject(ars), scale_set=set_key(ars),
                              evidence=[f"storageClassName: {quote(name)} (the default class)"])
            continue
        if name == "":
            continue                      # "" asks for pre-provisioned volumes without a class
        if not defaults:
            events = _class_events(ctx, ars)
            yield finding("ARC202", ctx.ars_subject(ars), scale_set=set_key(ars),
                          evidence=[*ctx.predicted_evidence(ars, live_evidence=bool(events)),
                                    "the work volume claim template sets no storageClassName",
                                    f"storage classes: {known}; none is marked default", *events])
        else:
            yield finding("ARC206", ctx.ars_subject(ars), scale_set=set_key(ars),
                          evidence=[f"no storageClassName: claims get the default class {defaults[0]!r}"])


def _binding_mode(ctx: Context, vol: model.Volume) -> str:
    sc = ctx.storage_classes.get(vol.storage_class)
    return s(sc.body.get("volumeBindingMode")) if sc is not None else ""


@check("ARC203")
def pending_claims(ctx: Context) -> Iterator[Finding]:
    for ars, _, _ in _work_claims(ctx):
        why = ctx.blocked(model.VOLUMES, ars.namespace)
        if why:
            yield not_evaluated("ARC203", why, ctx.namespace_subject(ars.namespace))
    classes_known = not ctx.blocked(model.STORAGE_CLASSES)
    by_set: dict[str, list[Finding]] = {}
    for vol in ctx.volumes:
        if vol.phase != "Pending" or not vol.owner_pod:
            continue
        pod = ctx.pod_by_name.get((vol.namespace, vol.owner_pod))
        if pod is None or pod.role != "runner" or pod.deleting:
            continue
        events = ctx.events_for("PersistentVolumeClaim", vol)
        failures = [e for e in events if e.reason in FAILURE_REASONS or e.type == "Warning"]
        # WaitForFirstConsumer claims wait for their pod's node (and when the class is unknown, so do we)
        waiting = not pod.node and (not classes_known or _binding_mode(ctx, vol) == "WaitForFirstConsumer")
        if not failures and (waiting or not ctx.older_than(vol, PENDING_GRACE)):
            continue
        ars = ctx.scale_set_of_pod(pod)
        key = set_key(ars) if ars else ""
        class_name = f"storageClassName {quote(vol.storage_class)}" if vol.storage_class else "no storageClassName"
        evidence = [f"PVC {vol.name} Pending for {age(ctx.age(vol))} ({class_name})"]
        evidence += [f"{e.reason}: {e.message}" + (f" (x{e.count})" if e.count > 1 else "") for e in
                     (failures or events)[:3]]
        by_set.setdefault(key, []).append(finding(
            "ARC203", subject_of("PersistentVolumeClaim", vol), scale_set=key, evidence=evidence,
            related=(subject_of("Pod", pod),)))
    for key, items in by_set.items():
        yield from capped(items, what=f"Pending work claims in {key or 'unknown scale sets'}")


@check("ARC205")
def rwo_work_volume(ctx: Context) -> Iterator[Finding]:
    for ars, _, claim in _work_claims(ctx):
        if claim is None:
            continue
        modes = {s(m) for m in lst(claim.get("accessModes"))}
        runner_env = tpl.env(tpl.runner_container(tpl.pod_spec(ars)))
        if runner_env.get(tpl.KUBE_SCHEDULER_ENV, "").lower() == "true" and "ReadWriteMany" not in modes:
            yield finding("ARC205", ctx.ars_subject(ars), scale_set=set_key(ars),
                          evidence=[f"{tpl.KUBE_SCHEDULER_ENV}=true on the runner container",
                                    f"work volume accessModes: {', '.join(sorted(modes)) or 'none'}"])
    by_set: dict[str, list[Finding]] = {}
    for pod in ctx.workflow_pods:
        attach = [e for e in ctx.events_for("Pod", pod)
                  if e.reason == "FailedAttachVolume" and "Multi-Attach" in e.message]
        if not attach:
            continue
        ars = ctx.scale_set_of_pod(pod)
        key = set_key(ars) if ars else ""
        by_set.setdefault(key, []).append(finding(
            "ARC205", subject_of("Pod", pod), scale_set=key,
            evidence=[f"{e.reason}: {e.message}" for e in attach[:2]]))
    for key, items in by_set.items():
        yield from capped(items, what=f"workflow pods in {key or 'unknown scale sets'}")

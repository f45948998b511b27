"""Fixes for the kubernetes-mode work volume (ARC201, ARC202, ARC204; ARC203, a work claim stuck Pending).

Two steps, shown as such: (1) change the scale set's runner template so that its `work` volume claim template
names an existing StorageClass and is complete (accessModes, size); (2) replace the stuck runners — delete the
EphemeralRunners that are not running, made from the old template: their claims never bind, so they never heal
on their own, and the runner set makes new ones from the new template.

The class is picked from the cluster's classes, one variant each (`class=NAME`), in this order: the cluster's
default class, the classes other kubernetes-mode scale sets use without a storage finding, then the rest by name.
Each says its provisioner, binding mode and whether its volumes honour fsGroup (the runner, UID 1001, needs
that or a chown init container to write `_work`).

ARC203 (one claim stuck Pending) is guidance from the claim's latest events, with the likely cause named (the class
does not exist: ARC201's fix; no class and no default: ARC202's; a provisioner failing; WaitForFirstConsumer, normal
until the pod is scheduled). When the scale set's claim template now names an existing class other than the stuck
claim's (the template was fixed, the runners made from the old one remain), replacing those runners is the fix.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from arc_top.checks import template as tpl
from arc_top.checks.context import d, lst, s
from arc_top.checks.finding import Finding
from arc_top.checks.fixplan import Facts, FixPlan, PlanError, Variant, pointer
from arc_top.checks.permissions import HOSTPATH_PROVISIONERS
from arc_top.checks.remedy_kit import (
    ARC_API,
    Listing,
    Needs,
    delete_op,
    helm_values,
    kubectl_delete,
    kubectl_patch,
    meta_of,
    patch_op,
    pod_spec_of,
    register,
    release_of,
    runner_target,
    scale_set_key,
    scale_set_target,
    staged,
    target_of,
)
from arc_top.checks.storage import FAILURE_REASONS
from arc_top.kube.operations import Target

DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
DEFAULT_SIZE = "1Gi"
ACCESS_MODES = ["ReadWriteOnce"]
TEMPLATE_STEP = "change the template"
REPLACE_STEP = "replace the stuck runners"
STORAGE_CODES = frozenset({"ARC201", "ARC202", "ARC203", "ARC204"})


def storage_class_target(name: str = "") -> Target:
    return Target("storage.k8s.io/v1", "StorageClass", "storageclasses", "", name)


def _needs(f: Finding) -> Needs:
    key = scale_set_key(f)
    return Needs(scale_set_target(*key), runners=True,
                 lists=(Listing("storage_classes", storage_class_target()),
                        Listing("scale_sets", Target(ARC_API, "AutoscalingRunnerSet", "autoscalingrunnersets", "",
                                                     ""))))


def is_default(sc: Mapping) -> bool:
    return s(d(meta_of(sc).get("annotations")).get(DEFAULT_CLASS)).lower() == "true"


def honours_fs_group(sc: Mapping) -> bool:
    return s(sc.get("provisioner")) not in HOSTPATH_PROVISIONERS


def describe_class(sc: Mapping) -> str:
    """`gp3 (default) · honours fsGroup · WaitForFirstConsumer · ebs.csi.aws.com` (what matters most first: a
    narrow screen cuts the end)."""
    name = s(meta_of(sc).get("name"))
    mode = s(sc.get("volumeBindingMode")) or "Immediate"
    fs = "honours fsGroup" if honours_fs_group(sc) else "ignores fsGroup (needs a chown init container)"
    return f"{name}{' (default)' if is_default(sc) else ''} · {fs} · {mode} · {s(sc.get('provisioner')) or '?'}"


def _claim_of(ars: Mapping) -> Mapping | None:
    return tpl.claim_spec(tpl.work_volume(pod_spec_of(ars)))


def _classes_in_use(facts: Facts, ars: Mapping, classes: set[str]) -> list[str]:
    """Classes that other scale sets' work claims name and that exist (the sets without a storage finding
    first)."""
    flagged = {f.scale_set for f in facts.findings if f.code in STORAGE_CODES}
    me = (s(meta_of(ars).get("namespace")), s(meta_of(ars).get("name")))
    healthy, other = [], []
    for x in facts.lists.get("scale_sets", ()):
        key = (s(meta_of(x).get("namespace")), s(meta_of(x).get("name")))
        claim = _claim_of(x)
        name = s(d(claim).get("storageClassName"))
        if key == me or not name or name not in classes:
            continue
        (other if f"{key[0]}/{key[1]}" in flagged else healthy).append(name)
    return list(dict.fromkeys([*healthy, *other]))


def ordered_classes(facts: Facts, ars: Mapping) -> list[Mapping]:
    """The cluster's classes in the picker's order: the default, those healthy sets use, the rest by name."""
    classes = {s(meta_of(sc).get("name")): sc for sc in facts.lists.get("storage_classes", ())
               if s(meta_of(sc).get("name"))}
    order = [n for n, sc in sorted(classes.items()) if is_default(sc)]
    order += _classes_in_use(facts, ars, set(classes))
    order += sorted(classes)
    return [classes[n] for n in dict.fromkeys(order)]


def template_ops(ars: Mapping, class_name: str) -> list[dict]:
    """JSON patch ops that give the runner template a complete `work` ephemeral claim template naming
    `class_name` (each replaced value tested)."""
    spec = pod_spec_of(ars)
    base = pointer("spec", "template", "spec")
    volumes = spec.get("volumes")
    claim = {"accessModes": list(ACCESS_MODES), "storageClassName": class_name,
             "resources": {"requests": {"storage": DEFAULT_SIZE}}}
    whole = {"name": "work", "ephemeral": {"volumeClaimTemplate": {"spec": claim}}}
    if not isinstance(volumes, list):
        return [{"op": "add", "path": base + "/volumes", "value": [whole]}]
    index = next((i for i, v in enumerate(volumes) if isinstance(v, Mapping) and v.get("name") == "work"), None)
    if index is None:
        return [{"op": "add", "path": base + f"/volumes/{len(volumes)}", "value": whole}]
    vol = pointer("spec", "template", "spec", "volumes", index)
    current = tpl.claim_spec(volumes[index])
    if current is None:              # another volume type under the name `work`: the claim template replaces it
        return [{"op": "test", "path": vol, "value": volumes[index]}, {"op": "replace", "path": vol, "value": whole}]
    ops: list[dict] = [{"op": "test", "path": vol + "/name", "value": "work"}]
    at = vol + "/ephemeral/volumeClaimTemplate/spec"
    ephemeral = d(volumes[index]).get("ephemeral")
    if not isinstance(d(d(ephemeral).get("volumeClaimTemplate")).get("spec"), Mapping):    # no claim spec at all
        return [*ops, {"op": "test", "path": vol + "/ephemeral", "value": ephemeral},
                {"op": "replace", "path": vol + "/ephemeral", "value": whole["ephemeral"]}]
    if "storageClassName" in current:
        if current.get("storageClassName") != class_name:
            ops += [{"op": "test", "path": at + "/storageClassName", "value": current.get("storageClassName")},
                    {"op": "replace", "path": at + "/storageClassName", "value": class_name}]
    else:
        ops.append({"op": "add", "path": at + "/storageClassName", "value": class_name})
    if not [m for m in lst(current.get("accessModes")) if s(m)]:
        ops.append({"op": "add", "path": at + "/accessModes", "value": list(ACCESS_MODES)})
    if not s(d(d(current.get("resources")).get("requests")).get("storage")):
        resources = current.get("resources")
        if isinstance(resources, Mapping) and isinstance(resources.get("requests"), Mapping):
            ops.append({"op": "add", "path": at + "/resources/requests/storage", "value": DEFAULT_SIZE})
        elif isinstance(resources, Mapping):
            ops.append({"op": "add", "path": at + "/resources/requests", "value": {"storage": DEFAULT_SIZE}})
        else:
            ops.append({"op": "add", "path": at + "/resources", "value": {"requests": {"storage": DEFAULT_SIZE}}})
    return ops


def stuck_runners(runners: list[dict]) -> list[dict]:
    """EphemeralRunners that are not running (nor finished, nor going): made from the old template, they wait
    for a claim that never binds."""
    return [r for r in runners if s(d(r.get("status")).get("phase")) in ("", "Pending")
            and not meta_of(r).get("deletionTimestamp")]


def _helm(release: str, class_name: str, claim: Mapping | None) -> str:
    size = s(d(d(d(claim).get("resources")).get("requests")).get("storage")) or DEFAULT_SIZE
    return helm_values(release, "containerMode:\n  type: kubernetes\n  kubernetesModeWorkVolumeClaim:\n"
                                "    accessModes: [\"ReadWriteOnce\"]\n"
                                f"    storageClassName: {class_name}\n"
                                f"    resources:\n      requests:\n        storage: {size}")


@register("ARC201", "ARC202", "ARC204",
          summary="point the work volume claim template at an existing StorageClass (a picker of the cluster's "
                  "classes) and complete it, then replace the stuck runners",
          variants=("class=<default class>", "class=<name>"), needs=_needs)
def work_volume_class(f: Finding, facts: Facts) -> FixPlan:
    ars = facts.target
    target = target_of(ars, scale_set_target("", ""))
    release = release_of(ars)
    if not pod_spec_of(ars):
        raise PlanError(f"{target.label()} has no spec.template.spec")
    if "storage_classes" in facts.unreadable:
        raise PlanError(f"cannot list the StorageClasses to choose from: {facts.unreadable['storage_classes']}")
    classes = ordered_classes(facts, ars)
    if not classes:
        raise PlanError("the cluster has no StorageClass: create one (or mark one default) first")
    claim = _claim_of(ars)
    current = s(d(claim).get("storageClassName"))
    stuck = stuck_runners(facts.runners)
    replace = [staged(delete_op(r, runner_target("", ""), "made from the old template: its claim never binds"),
                      REPLACE_STEP) for r in stuck]
    variants = []
    for sc in classes:
        name = s(meta_of(sc).get("name"))
        ops = template_ops(ars, name)
        if not [o for o in ops if o["op"] != "test"]:
            continue                          # this class is already set and the template is complete
        change = staged(patch_op(ars, target, ops, f"new runner pods' work claims use StorageClass {name}"),
                        TEMPLATE_STEP)
        summary = (f"set the work volume claim template's storageClassName to {name}"
                   + (f" (was {current})" if current and current != name else "")
                   + (f", then delete {len(replace)} stuck runner{'s' if len(replace) != 1 else ''}" if replace
                      else ""))
        risks = ["Runners that are running keep their volume; only the ones listed are deleted (they never "
                 "started).",
                 "Deleted EphemeralRunners cannot be restored; undo restores the template only."]
        if not honours_fs_group(sc):
            risks.insert(0, f"{name}'s provisioner ({s(sc.get('provisioner'))}) ignores fsGroup: the runner "
                            "(UID 1001) cannot write a root-owned volume without a chown init container (ARC508).")
        variants.append(Variant(
            f"class={name}", summary, (change, *replace), detail=describe_class(sc),
            kubectl=(kubectl_patch(target, ops), *kubectl_delete(replace)),
            helm=_helm(release, name, claim), risks=tuple(risks)))
    if not variants:
        raise PlanError(f"{target.label()}: the work volume claim template already names an existing class and "
                        "is complete")
    return FixPlan(f.code, f, target, tuple(variants), release,
                   notes=(f"classes: {', '.join(describe_class(sc) for sc in classes)}",))


# ---- ARC203: a work claim stuck Pending ---------------------------------------------------------------------------
GUIDANCE = "guidance"
REPLACE_STUCK = "replace-stuck"
WAIT_FOR_CONSUMER = "WaitForFirstConsumer"
_CLAIM_LINE = re.compile(r'^PVC (?P<name>.+) Pending for .+ '
                         r'\((?:storageClassName "(?P<cls>.*)"|no storageClassName)\)$')


def claim_target(namespace: str, name: str = "") -> Target:
    return Target("v1", "PersistentVolumeClaim", "persistentvolumeclaims", namespace, name)


def _stuck_needs(f: Finding) -> Needs:
    key = scale_set_key(f)
    return Needs(scale_set_target(*key), runners=True,
                 lists=(Listing("storage_classes", storage_class_target()), Listing("claims", claim_target(key[0]))))


def stuck_claim_name(f: Finding) -> str:
    """The stuck claim the finding is about: its subject, or the work claim of its pod (`<pod>-work`)."""
    if f.subject.kind == "PersistentVolumeClaim":
        return f.subject.name
    if f.subject.kind == "Pod":
        return f"{f.subject.name}-work"
    match = _CLAIM_LINE.match(f.evidence[0]) if f.evidence else None
    return match.group("name") if match else ""


def claim_events(f: Finding) -> list[str]:
    """The claim's latest events, as the finding quotes them (`Reason: message (xN)`, newest first)."""
    return [line for line in f.evidence[1:] if re.match(r"^[A-Za-z]+: ", line)]


def _evidence_class(f: Finding) -> str | None:
    match = _CLAIM_LINE.match(f.evidence[0]) if f.evidence else None
    return match.group("cls") if match else None


def _runner_class(runner: Mapping) -> str | None:
    """storageClassName of the work claim in the template an EphemeralRunner was made from (None: unset)."""
    claim = tpl.claim_spec(tpl.work_volume(d(d(runner.get("spec")).get("spec"))))
    value = d(claim).get("storageClassName")
    return None if value is None else s(value)


def stuck_cause(claim_class: str | None, classes: Mapping[str, Mapping], events: list[str], where: str,
                fixed_to: str = "") -> tuple[str, str]:
    """(kind, the likely cause and what to do, one sentence) of a stuck claim asking for `claim_class`; `fixed_to`:
    the existing class the template names now, when it differs. Kinds: class-missing, no-class, provisioner,
    wait-for-consumer."""
    if fixed_to and (not claim_class or claim_class not in classes):
        was = f"StorageClass {claim_class!r} does not exist" if claim_class else "the claim names no StorageClass"
        return "class-missing" if claim_class else "no-class", (
            f"{was}; the template now names {fixed_to!r}: replace the runners made from the old template")
    if claim_class and claim_class not in classes:
        return "class-missing", (f"StorageClass {claim_class!r} does not exist: point the work volume claim template "
                                 f"at an existing class (arc-top fix ARC201 --scale-set {where}), then replace the "
                                 "stuck runners")
    defaults = sorted(n for n, sc in classes.items() if is_default(sc))
    name = claim_class or (defaults[0] if defaults else "")
    if not name:
        return "no-class", ("the claim names no StorageClass and none is marked default: name a class in the "
                            f"template or mark one default (arc-top fix ARC202 --scale-set {where})")
    sc = classes[name]
    provisioner = s(sc.get("provisioner")) or "?"
    reasons = {line.split(":", 1)[0] for line in events}
    if reasons & FAILURE_REASONS:
        return "provisioner", (f"the provisioner of StorageClass {name!r} ({provisioner}) fails: check that it runs "
                               "(its pods and logs), its credentials and quota; the claim binds once it provisions")
    if (s(sc.get("volumeBindingMode")) or "Immediate") == WAIT_FOR_CONSUMER:
        return "wait-for-consumer", (f"StorageClass {name!r} is WaitForFirstConsumer: the claim is Pending until its "
                                     "runner pod is scheduled, which is normal; if the pod has a node already, its "
                                     f"provisioner ({provisioner}) has not acted: check it")
    return "provisioner", (f"the provisioner of StorageClass {name!r} ({provisioner}) has not provisioned the claim: "
                           "check that it runs (its pods and logs)")


def _guidance(f: Finding, facts: Facts, claim: str, claim_class: str | None, cause: tuple[str, str],
              classes: Mapping[str, Mapping], where: str, fixed: bool) -> Variant:
    """The no-write variant: the claim's latest events, the likely cause, the commands that look further."""
    ns = shlex.quote(f.subject.namespace or where.split("/", 1)[0])
    events = claim_events(f)
    latest = f" — latest event: {events[0]}" if events else " — no event about the claim yet"
    commands = [f"kubectl describe pvc {shlex.quote(claim)} -n {ns}",
                f"kubectl get events -n {ns} --field-selector "
                + shlex.quote(f"involvedObject.kind=PersistentVolumeClaim,involvedObject.name={claim}")]
    kind, sentence = cause
    helm = ""
    if fixed:
        set_name = where.split("/", 1)[1]
        commands.append(f"kubectl get ephemeralrunners -n {ns} -l "
                        + shlex.quote(f"actions.github.com/scale-set-name={set_name}")
                        + "   # delete the Pending ones made from the old template")
    elif kind in ("class-missing", "no-class"):
        commands.append("kubectl get storageclass")
        commands.append(f"arc-top fix {'ARC201' if kind == 'class-missing' else 'ARC202'} --scale-set "
                        + shlex.quote(where))
        pick = ordered_classes(facts, facts.target)
        if pick:
            helm = _helm(release_of(facts.target), s(meta_of(pick[0]).get("name")), _claim_of(facts.target))
    else:
        name = claim_class or next((n for n, sc in sorted(classes.items()) if is_default(sc)), "")
        commands.append(f"kubectl get storageclass {shlex.quote(name)} -o yaml")
        provisioner = s(classes.get(name, {}).get("provisioner"))
        if provisioner:
            commands.append(f"kubectl get csidriver {shlex.quote(provisioner)}   # a CSI provisioner is registered")
            commands.append("kubectl get pods -A | grep -i " + shlex.quote(provisioner.split(".")[0].split("/")[-1]))
        pod = claim[:-len("-work")] if claim.endswith("-work") else claim
        if kind == "wait-for-consumer":
            commands.append(f"kubectl get pod {shlex.quote(pod)} -n {ns} -o wide   # NODE set: it was scheduled")
    return Variant(GUIDANCE, f"claim {claim} is Pending: {sentence}{latest}", (), kubectl=tuple(commands), helm=helm,
                   detail=f"read the claim's events: {kind.replace('-', ' ')}")


@register("ARC203", summary="guidance from the stuck claim's events (the likely cause named); once the claim template "
                            "names an existing class, replace the runners made from the old one",
          variants=(REPLACE_STUCK, GUIDANCE), needs=_stuck_needs)
def stuck_claim(f: Finding, facts: Facts) -> FixPlan:
    ars = facts.target
    target = target_of(ars, scale_set_target("", ""))
    where = f"{target.namespace}/{target.name}"
    claim = stuck_claim_name(f)
    live = next((c for c in facts.lists.get("claims", ()) if s(meta_of(c).get("name")) == claim), None)
    if live is not None:
        value = d(live.get("spec")).get("storageClassName")
        claim_class = None if value is None else s(value)
    else:
        claim_class = _evidence_class(f)
    if "storage_classes" in facts.unreadable:
        raise PlanError(f"cannot list the StorageClasses to tell why the claim is stuck: "
                        f"{facts.unreadable['storage_classes']}")
    classes = {s(meta_of(sc).get("name")): sc for sc in facts.lists.get("storage_classes", ())
               if s(meta_of(sc).get("name"))}
    now = s(d(_claim_of(ars)).get("storageClassName"))
    fixed = now and now in classes and now != (claim_class or "")
    cause = stuck_cause(claim_class, classes, claim_events(f), where, now if fixed else "")
    variants = [_guidance(f, facts, claim, claim_class, cause, classes, where, bool(fixed))]
    notes = [f"the claim's latest events: {' | '.join(claim_events(f)) or 'none'}", f"likely cause: {cause[1]}"]
    if live is None and "claims" not in facts.unreadable:
        notes.append(f"claim {claim} is gone (its runner was replaced?)")
    if fixed:
        old = [r for r in stuck_runners(facts.runners) if _runner_class(r) != now]
        replace = [staged(delete_op(r, runner_target("", ""), f"made for class {claim_class or '(none)'}: its "
                                    "claim never binds"), REPLACE_STEP) for r in old]
        if replace:
            sc = classes[now]
            count = f"{len(replace)} stuck runner{'s' if len(replace) != 1 else ''}"
            risks = ["Deleted EphemeralRunners cannot be restored (there is nothing to undo); the runner set makes "
                     f"new ones from the current template, whose work claims use {now}.",
                     "Only runners that have not started are deleted; running runners keep their volume."]
            if not honours_fs_group(sc):
                risks.insert(0, f"{now}'s provisioner ({s(sc.get('provisioner'))}) ignores fsGroup: the runner "
                                "(UID 1001) cannot write a root-owned volume without a chown init container "
                                "(ARC508).")
            variants.insert(0, Variant(
                REPLACE_STUCK, f"delete {count}: their claims ask for {claim_class or 'no class'}, the template now "
                               f"names {now} (the runner set makes new ones)",
                tuple(replace), kubectl=tuple(kubectl_delete(replace)), risks=tuple(risks),
                detail=f"replace {count} made from the old template; new claims: {describe_class(sc)}"))
            notes.append(f"the template was fixed ({claim_class or 'no class'} → {now}); the runners made from the "
                         "old template remain")
    return FixPlan(f.code, f, target, tuple(variants), release_of(ars), notes=tuple(notes))

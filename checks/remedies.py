"""The fix catalogue: for a finding and the live objects it is about, a `FixPlan` (checks/fixplan.py).

Pure, like every check: the caller reads the objects `needs()` names, then `plan()` turns them into writes.
Every patch is RFC 6902 and starts with a `test` of the object's resourceVersion; every value it replaces is
tested too, and a delete carries uid + resourceVersion preconditions: a write against an object that changed since
the operator saw the diff fails, and the plan is made again from the live object.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from arc_top.checks import (  # noqa: F401  (each registers its remedies)
    remedy_credentials,
    remedy_guidance,
    remedy_network,
    remedy_rbac,
    remedy_resources,
    remedy_storage,
)
from arc_top.checks.context import d, dicts, lst, s
from arc_top.checks.finding import Finding
from arc_top.checks.fixplan import Facts, FixPlan, PlanError, Variant, decode, encode, pointer
from arc_top.checks.remedy_kit import (
    CREDENTIAL_KEYS,
    FS_GROUP,
    INIT_NAME,
    PSA_ENFORCE,
    REMEDIES,
    TRIM_JQ,
    Needs,
    ars_needs,
    delete_op,
    helm_values,
    kubectl_delete,
    kubectl_patch,
    listener_target,
    meta_of,
    namespace_target,
    other_causes,
    patch_op,
    pod_spec_of,
    register,
    release_of,
    restart_listener_ops,
    runner_image,
    runner_target,
    scale_set_key,
    scale_set_of,
    scale_set_target,
    secret_needs,
    secret_target,
    target_of,
)
from arc_top.checks.template import WORK_PATH
from arc_top.kube.operations import Target


# ---- ARC501 / ARC502 / ARC508: the work directory -------------------------------------------------------------
def _fs_group_variant(ars: Mapping, target: Target, release: str) -> Variant:
    spec = pod_spec_of(ars)
    base = pointer("spec", "template", "spec")
    if isinstance(spec.get("securityContext"), Mapping):
        ops = [{"op": "add", "path": base + "/securityContext/fsGroup", "value": FS_GROUP}]
    else:
        ops = [{"op": "add", "path": base + "/securityContext", "value": {"fsGroup": FS_GROUP}}]
    return Variant(
        "fs-group", f"set securityContext.fsGroup: {FS_GROUP} on the runner pod template (new runners get a "
                    "work volume group-writable by the runner)",
        (patch_op(ars, target, ops, "new runner pods mount the work volume with group 123"),),
        kubectl=(kubectl_patch(target, ops),),
        helm=helm_values(release, f"template:\n  spec:\n    securityContext:\n      fsGroup: {FS_GROUP}"),
        risks=("Existing runner pods keep their volume; the controller replaces them with new ones.",
               "Volume types that ignore fsGroup (hostPath, local-path) need the init-container variant."))


def chown_init_container(image: str) -> dict:
    """An init container that makes the work volume the runner's: root, the `work` volume mounted where the
    runner uses it (GitHub's own example mis-indents that mount and so mounts nothing)."""
    return {"name": INIT_NAME, "image": image,
            "command": ["sh", "-c", f"chown -R 1001:{FS_GROUP} {WORK_PATH}"],
            "securityContext": {"runAsUser": 0},
            "volumeMounts": [{"name": "work", "mountPath": WORK_PATH}]}


def _chown_variant(ars: Mapping, target: Target, release: str) -> Variant:
    spec = pod_spec_of(ars)
    base = pointer("spec", "template", "spec")
    init = chown_init_container(runner_image(spec))
    inits = spec.get("initContainers")
    if isinstance(inits, list):
        ops = [{"op": "add", "path": base + f"/initContainers/{len(inits)}", "value": init}]
    else:
        ops = [{"op": "add", "path": base + "/initContainers", "value": [init]}]
    snippet = ("template:\n  spec:\n    initContainers:\n"
               f"      - name: {INIT_NAME}\n        image: {init['image']}\n"
               f"        command: [\"sh\", \"-c\", \"chown -R 1001:{FS_GROUP} {WORK_PATH}\"]\n"
               "        securityContext:\n          runAsUser: 0\n"
               f"        volumeMounts:\n          - name: work\n            mountPath: {WORK_PATH}")
    return Variant(
        "chown-init", f"add an init container that runs `chown -R 1001:{FS_GROUP} {WORK_PATH}` as root with the "
                      "work volume mounted",
        (patch_op(ars, target, ops, "new runner pods chown their work volume before the runner starts"),),
        kubectl=(kubectl_patch(target, ops),),
        helm=helm_values(release, snippet + "\n# keep any initContainers you already have in this list"),
        risks=("The init container runs as root (runAsUser: 0); a namespace enforcing the `restricted` "
               "PodSecurity level rejects it.",
               "A Helm values list replaces the chart's whole initContainers list: keep the ones you have."))


def _work_dir_plan(f: Finding, facts: Facts, order: tuple[str, ...]) -> FixPlan:
    ars = facts.target
    target = target_of(ars, scale_set_target("", ""))
    release = release_of(ars)
    spec = pod_spec_of(ars)
    if not spec:
        raise PlanError(f"{target.label()} has no spec.template.spec")
    makers = {"fs-group": _fs_group_variant, "chown-init": _chown_variant}
    if d(spec.get("securityContext")).get("fsGroup") is not None:
        order = tuple(v for v in order if v != "fs-group")      # set already: it is ignored here
    variants = tuple(makers[name](ars, target, release) for name in order)
    return FixPlan(f.code, f, target, variants, release)


@register("ARC501", "ARC502", summary="make the work volume writable by the runner (fsGroup 123, or a chown init "
                                     "container)", variants=("fs-group", "chown-init"), needs=ars_needs)
def _work_dir(f: Finding, facts: Facts) -> FixPlan:
    return _work_dir_plan(f, facts, ("fs-group", "chown-init"))


@register("ARC508", summary="chown the work volume in an init container (this volume type ignores fsGroup)",
         variants=("chown-init",), needs=ars_needs)
def _fs_group_ignored(f: Finding, facts: Facts) -> FixPlan:
    return _work_dir_plan(f, facts, ("chown-init", "fs-group"))


# ---- ARC507: repair the chown init container ----------------------------------------------------------------
@register("ARC507", summary="repair the chown init container (mount the work volume, run as root)",
         variants=("repair-init",), needs=ars_needs)
def _repair_init(f: Finding, facts: Facts) -> FixPlan:
    ars = facts.target
    target = target_of(ars, scale_set_target("", ""))
    release = release_of(ars)
    spec = pod_spec_of(ars)
    ops: list[dict] = []
    fixed = []
    for i, c in enumerate(lst(spec.get("initContainers"))):
        if not isinstance(c, Mapping) or "chown" not in " ".join(s(x) for x in [*lst(c.get("command")),
                                                                             *lst(c.get("args"))]):
            continue
        base = pointer("spec", "template", "spec", "initContainers", i)
        ops.append({"op": "test", "path": base + "/name", "value": c.get("name")})
        mounts = c.get("volumeMounts")
        if not any(m.get("name") == "work" for m in dicts(mounts)):
            mount = {"name": "work", "mountPath": WORK_PATH}
            ops.append({"op": "add", "path": base + (f"/volumeMounts/{len(mounts)}" if isinstance(mounts, list)
                                                     else "/volumeMounts"),
                        "value": mount if isinstance(mounts, list) else [mount]})
        sc = c.get("securityContext")
        if not isinstance(sc, Mapping):
            ops.append({"op": "add", "path": base + "/securityContext", "value": {"runAsUser": 0}})
        else:
            if sc.get("runAsUser") != 0:
                if "runAsUser" in sc:
                    ops.append({"op": "test", "path": base + "/securityContext/runAsUser", "value": sc["runAsUser"]})
                    ops.append({"op": "replace", "path": base + "/securityContext/runAsUser", "value": 0})
                else:
                    ops.append({"op": "add", "path": base + "/securityContext/runAsUser", "value": 0})
            if sc.get("runAsNonRoot") is True:
                ops.append({"op": "test", "path": base + "/securityContext/runAsNonRoot", "value": True})
                ops.append({"op": "replace", "path": base + "/securityContext/runAsNonRoot", "value": False})
        fixed.append(s(c.get("name")))
    if not [o for o in ops if o["op"] != "test"]:
        raise PlanError(f"{target.label()}: no chown init container left to repair")
    names = ", ".join(fixed)
    snippet = ("template:\n  spec:\n    initContainers:\n"
               f"      - name: {fixed[0]}\n        # … as today, plus:\n"
               "        securityContext:\n          runAsUser: 0\n"
               f"        volumeMounts:\n          - name: work\n            mountPath: {WORK_PATH}")
    variant = Variant(
        "repair-init", f"repair init container {names}: mount the `work` volume at {WORK_PATH}, run as root",
        (patch_op(ars, target, ops, "the chown then reaches the volume the runner uses"),),
        kubectl=(kubectl_patch(target, ops),), helm=helm_values(release, snippet),
        risks=("The init container runs as root (runAsUser: 0); a namespace enforcing the `restricted` "
               "PodSecurity level rejects it.",))
    return FixPlan(f.code, f, target, (variant,), release)


# ---- ARC103: a credential with whitespace -----------------------------------------------------------------------
def trimmed(key: str, value: str) -> str:
    """The value ARC needs: no surrounding whitespace (a PEM key keeps one final newline)."""
    if key == "github_app_private_key":
        return value.strip() + "\n" if value.strip() else value
    return value.strip()


@register("ARC103", summary="rewrite the credentials Secret with trimmed values, then restart the listener",
         variants=("trim",), needs=secret_needs)
def _trim_secret(f: Finding, facts: Facts) -> FixPlan:
    secret = facts.target
    target = target_of(secret, secret_target("", ""))
    data = d(secret.get("data"))
    ops: list[dict] = []
    keys = []
    for key in CREDENTIAL_KEYS:
        if key not in data:
            continue
        raw = decode(data[key])
        new = trimmed(key, raw)
        if new != raw:
            path = pointer("data", key)
            ops += [{"op": "test", "path": path, "value": data[key]},
                    {"op": "replace", "path": path, "value": encode(new)}]
            keys.append(key)
    if not ops:
        raise PlanError(f"{target.label()}: no credential value has surrounding whitespace any more")
    write = patch_op(secret, target, ops, f"trim {', '.join(keys)}", secret=True)
    restarts = restart_listener_ops(facts, "the listener reads the credentials when it starts")
    ns = shlex.quote(target.namespace)
    jq = " | ".join(TRIM_JQ.format(key=k) for k in keys if k != "github_app_private_key")
    commands = []
    if jq:
        commands.append(f"kubectl get secret {shlex.quote(target.name)} -n {ns} -o json | jq {shlex.quote(jq)} "
                        "| kubectl replace -f -")
    if "github_app_private_key" in keys:
        commands.append("# github_app_private_key: recreate it from the .pem file: kubectl create secret generic … "
                        "--from-file=github_app_private_key=key.pem --dry-run=client -o yaml | kubectl apply -f -")
    commands += kubectl_delete(restarts)
    release = release_of(facts.scale_set)
    helm = ("# githubConfigSecret is a Secret you created: recreate it without the newline, e.g.\n"
            "#   kubectl create secret generic NAME --from-literal=github_token=\"$(tr -d '\\n' < token.txt)\"\n"
            "# values passed inline (githubConfigSecret.github_token) must not end with a newline either:\n"
            "#   helm upgrade … --set-file is kept as-is; use --set githubConfigSecret.github_token=… instead")
    variant = Variant(
        "trim", f"rewrite {', '.join(keys)} without the surrounding whitespace"
                + (", then restart the listener (delete its pod; the AutoscalingListener makes a new one)"
                   if restarts else ""),
        (write, *restarts), kubectl=tuple(commands), helm=helm,
        risks=("The values are written as they are now, minus the whitespace: a wrong token stays wrong "
               "(ARC104 then says so).",
               "Runners registered with the old value keep running; the listener picks up the new value when "
               "it restarts."))
    return FixPlan(f.code, f, target, (variant,), release)


# ---- ARC402 / ARC407: Failed EphemeralRunners -------------------------------------------------------------------
def _runners_needs(f: Finding) -> Needs:
    key = scale_set_key(f)
    return Needs(scale_set_target(*key), runners=True)


def failed_runners(runners: list[dict]) -> list[dict]:
    return [r for r in runners if d(r.get("status")).get("phase") == "Failed"
            and not meta_of(r).get("deletionTimestamp")]


@register("ARC402", "ARC407", summary="delete the Failed EphemeralRunners (the runner set makes new ones)",
         variants=("delete-failed", "delete-this"), needs=_runners_needs)
def _delete_failed(f: Finding, facts: Facts) -> FixPlan:
    ars = facts.target
    target = target_of(ars, scale_set_target("", ""))
    failed = failed_runners(facts.runners)
    if not failed:
        raise PlanError(f"{target.label()} has no Failed EphemeralRunners any more")
    why = "a Failed EphemeralRunner holds a replica slot until deleted"
    every = [delete_op(r, runner_target("", ""), why) for r in failed]
    this = [op for op in every if op.target.name == f.subject.name]
    causes = other_causes(f, facts)
    warning = ""
    if causes:
        warning = ("the cause is still present (" + ", ".join(sorted({c.code + " " + c.title for c in causes}))
                   + "): new runners will fail the same way")
    elif f.code == "ARC407":
        # A PodSecurity rejection is ARC506's business: with ARC506 gone, the level was fixed. Any other rejection
        # (a webhook, an invalid template) is seen by no check: say so.
        messages = sorted({s(d(r.get("status")).get("message")) for r in failed
                           if d(r.get("status")).get("reason") == "InvalidPod"} - {""})
        unknown = [m for m in messages if "PodSecurity" not in m]
        if unknown:
            warning = ("nothing shows the cause was fixed; new runner pods may be rejected the same way: "
                       + unknown[0][:160])
    risks = ("Deleted EphemeralRunners cannot be restored; the EphemeralRunnerSet creates new ones "
             "(undo is not possible).",)
    variants = [Variant("delete-failed", f"delete {len(every)} Failed EphemeralRunner"
                                         f"{'' if len(every) == 1 else 's'} of {target.namespace}/{target.name}",
                        tuple(every), kubectl=tuple(kubectl_delete(every)), risks=risks, warning=warning)]
    if this and len(every) > 1:
        variants.append(Variant("delete-this", f"delete only {f.subject.name}", tuple(this),
                                kubectl=tuple(kubectl_delete(this)), risks=risks, warning=warning))
    return FixPlan(f.code, f, target, tuple(variants), release_of(ars))


# ---- ARC403: the listener ---------------------------------------------------------------------------------------
def _listener_needs(f: Finding) -> Needs:
    key = scale_set_key(f)
    return Needs(scale_set_target(*key), listener_pods=True, listeners=True)


@register("ARC403", summary="restart the listener (delete its pod), or recreate the AutoscalingListener",
         variants=("restart-listener", "recreate-listener"), needs=_listener_needs)
def _restart_listener(f: Finding, facts: Facts) -> FixPlan:
    ars = facts.target
    target = target_of(ars, scale_set_target("", ""))
    restarts = restart_listener_ops(facts, "the AutoscalingListener makes a new listener pod")
    recreate = [delete_op(x, listener_target("", ""), "the controller recreates it, with the current Secret")
                for x in facts.listeners if not meta_of(x).get("deletionTimestamp")]
    causes = other_causes(f, facts)
    warning = ("the cause is still present (" + ", ".join(sorted({c.code for c in causes}))
               + "): a restarted listener fails the same way") if causes else ""
    variants = []
    if restarts:
        variants.append(Variant("restart-listener", "delete the listener pod; the AutoscalingListener makes a new "
                                                    "one, which reads its configuration again",
                                tuple(restarts), kubectl=tuple(kubectl_delete(restarts)), warning=warning,
                                risks=("Scaling pauses for the seconds the new listener takes to start; running "
                                       "jobs are not affected.",)))
    if recreate:
        variants.append(Variant("recreate-listener", "delete the AutoscalingListener; the controller recreates it "
                                                     "and its config Secret from the scale set's current Secret",
                                tuple(recreate), kubectl=tuple(kubectl_delete(recreate)), warning=warning,
                                risks=("Scaling pauses until the controller has made the new listener.",)))
    if not variants:
        raise PlanError(f"{target.label()} has no listener to restart (is the controller running? see ARC406)")
    return FixPlan(f.code, f, target, tuple(variants), release_of(ars))


# ---- ARC506: the namespace's PodSecurity level ------------------------------------------------------------------
def _namespace_needs(f: Finding) -> Needs:
    key = scale_set_of(f)
    if f.subject.kind != "Namespace" or key is None:
        raise PlanError(f"{f.code} on {f.subject.kind} {f.subject.name}: expected a Namespace")
    return Needs(namespace_target(f.subject.name), scale_set=scale_set_target(*key), runners=True)


def _needed_level(ars: Mapping | None) -> str:
    spec = pod_spec_of(ars or {})
    names = {s(c.get("name")) for c in [*dicts(spec.get("containers")), *dicts(spec.get("initContainers"))]}
    privileged = any(d(c.get("securityContext")).get("privileged") is True
                     for c in [*dicts(spec.get("containers")), *dicts(spec.get("initContainers"))])
    return "privileged" if "dind" in names or privileged else "baseline"


@register("ARC506", summary="label the namespace with the PodSecurity level the container mode needs",
         variants=("label", "label-and-retry"), needs=_namespace_needs)
def _pod_security(f: Finding, facts: Facts) -> FixPlan:
    ns = facts.target
    target = target_of(ns, namespace_target(""))
    level = _needed_level(facts.scale_set)
    labels = meta_of(ns).get("labels")
    path = pointer("metadata", "labels", PSA_ENFORCE)
    if isinstance(labels, Mapping) and PSA_ENFORCE in labels:
        if labels[PSA_ENFORCE] == level:
            raise PlanError(f"{target.label()} already enforces {level}")
        ops = [{"op": "test", "path": path, "value": labels[PSA_ENFORCE]},
               {"op": "replace", "path": path, "value": level}]
    elif isinstance(labels, Mapping):
        ops = [{"op": "add", "path": path, "value": level}]
    else:
        ops = [{"op": "add", "path": "/metadata/labels", "value": {PSA_ENFORCE: level}}]
    label = patch_op(ns, target, ops, f"pods in {target.name} are admitted at the {level} level")
    risks = (f"This loosens a security boundary: every pod in namespace {target.name} may now do what the "
             f"{level} level allows" + (" (privileged containers, host access)." if level == "privileged" else
                                        " (root users, any volume type)."),
             "Namespace labels are not part of the gha-runner-scale-set chart: keep the label where the namespace "
             "is managed (GitOps, Terraform), or the next sync reverts it.")
    helm = ("# not a chart value: the namespace's labels, wherever it is defined\n"
            f"metadata:\n  labels:\n    {PSA_ENFORCE}: {level}\n")
    variants = [Variant("label", f"label namespace {target.name} {PSA_ENFORCE}={level}", (label,),
                        kubectl=(f"kubectl label namespace {shlex.quote(target.name)} {PSA_ENFORCE}={level} "
                                 "--overwrite",), helm=helm, risks=risks)]
    retry = [delete_op(r, runner_target("", ""), "rejected under the old level; the runner set makes a new one")
             for r in failed_runners(facts.runners) if d(r.get("status")).get("reason") == "InvalidPod"]
    if retry:
        variants.append(Variant("label-and-retry", f"label the namespace, then delete the {len(retry)} runner"
                                                   f"{'' if len(retry) == 1 else 's'} it rejected (InvalidPod)",
                                (label, *retry), kubectl=(variants[0].kubectl[0], *kubectl_delete(retry)),
                                helm=helm, risks=(*risks, "Deleted EphemeralRunners cannot be restored.")))
    return FixPlan(f.code, f, target, tuple(variants), release_of(facts.scale_set))


def fixable(finding: Finding) -> bool:
    return finding.code in REMEDIES and scale_set_of(finding) is not None


def needs(finding: Finding) -> Needs:
    remedy = REMEDIES.get(finding.code)
    if remedy is None:
        raise PlanError(f"arc-top has no fix for {finding.code}")
    return remedy.needs(finding)


def plan(finding: Finding, facts: Facts) -> FixPlan:
    """The plan for `finding` from the live objects in `facts`. Raises PlanError (one line) when none fits."""
    remedy = REMEDIES.get(finding.code)
    if remedy is None:
        raise PlanError(f"arc-top has no fix for {finding.code}")
    if not isinstance(facts.target, Mapping) or not facts.target.get("metadata"):
        raise PlanError(f"{needs(finding).target.label()} is gone")
    return remedy.plan(finding, facts)




def catalogue() -> list[dict]:
    """`arc-top fix --list`: code, summary, variants (default first)."""
    seen, out = set(), []
    for code, r in sorted(REMEDIES.items()):
        out.append({"code": code, "fix": r.summary, "variants": list(r.variants)})
        seen.add(id(r))
    return out

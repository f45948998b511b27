"""The fix catalogue: for a finding and the live objects it is about, a `FixPlan` (checks/fixplan.py).

Pure, like every check: the caller reads the objects `needs()` names, then `plan()` turns them into writes.
Every patch is RFC 6902 and starts with a `test` of the object's resourceVersion; every value it replaces is
tested too, and a delete carries uid + resourceVersion preconditions: a write against an object that changed since
the operator saw the diff fails, and the plan is made again from the live object.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from arc_top.checks.context import d, dicts, lst, s
from arc_top.checks.finding import ERROR, Finding
from arc_top.checks.fixplan import Facts, FixPlan, PlanError, Variant, decode, encode, pointer
from arc_top.checks.template import WORK_PATH
from arc_top.kube.operations import DELETE, PATCH, Operation, Target

ARC_API = "actions.github.com/v1alpha1"
RUNNER_IMAGE = "ghcr.io/actions/actions-runner:latest"
FS_GROUP = 123                        # the runner image's `docker` group; the runner (1001) is a member
INIT_NAME = "fix-work-permissions"
HELM_RELEASE = "meta.helm.sh/release-name"
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
LISTENER_COMPONENT = "runner-scale-set-listener"
# Findings that are symptoms, not causes: their presence does not mean a Failed runner's cause is still there.
SYMPTOMS = frozenset({"ARC401", "ARC402", "ARC403", "ARC404", "ARC405", "ARC407", "ARC000"})
TRIM_JQ = '.data.{key} |= (@base64d | gsub("^\\\\s+|\\\\s+$"; "") | @base64)'
CREDENTIAL_KEYS = ("github_token", "github_app_id", "github_app_installation_id", "github_app_private_key")


PLURALS = {"AutoscalingRunnerSet": "autoscalingrunnersets", "EphemeralRunner": "ephemeralrunners",
           "AutoscalingListener": "autoscalinglisteners", "Pod": "pods", "Secret": "secrets",
           "Namespace": "namespaces"}


def scale_set_target(namespace: str, name: str) -> Target:
    return Target(ARC_API, "AutoscalingRunnerSet", "autoscalingrunnersets", namespace, name)


def runner_target(namespace: str, name: str) -> Target:
    return Target(ARC_API, "EphemeralRunner", "ephemeralrunners", namespace, name)


def listener_target(namespace: str, name: str) -> Target:
    return Target(ARC_API, "AutoscalingListener", "autoscalinglisteners", namespace, name)


def pod_target(namespace: str, name: str) -> Target:
    return Target("v1", "Pod", "pods", namespace, name)


def secret_target(namespace: str, name: str) -> Target:
    return Target("v1", "Secret", "secrets", namespace, name)


def namespace_target(name: str) -> Target:
    return Target("v1", "Namespace", "namespaces", "", name)


@dataclass(frozen=True)
class Needs:
    """What to read before planning: the target, and which related objects."""
    target: Target
    scale_set: Target | None = None     # read too when the target is not the scale set
    listener_pods: bool = False
    listeners: bool = False
    runners: bool = False


@dataclass(frozen=True)
class Remedy:
    codes: tuple[str, ...]
    summary: str                          # for `arc-top fix --list`
    variants: tuple[str, ...]             # names, default first (for --list; plans may offer fewer)
    needs: Callable[[Finding], Needs]
    plan: Callable[[Finding, Facts], FixPlan]


REMEDIES: dict[str, Remedy] = {}


def _remedy(*codes: str, summary: str, variants: tuple[str, ...], needs: Callable[[Finding], Needs]):
    def register(fn: Callable[[Finding, Facts], FixPlan]) -> Callable[[Finding, Facts], FixPlan]:
        r = Remedy(codes, summary, variants, needs, fn)
        for code in codes:
            REMEDIES[code] = r
        return fn
    return register


def fixable(finding: Finding) -> bool:
    return finding.code in REMEDIES and _scale_set_of(finding) is not None


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


# ---- shared pieces ----------------------------------------------------------------------------------------------
def _scale_set_of(f: Finding) -> tuple[str, str] | None:
    if f.scale_set and "/" in f.scale_set:
        ns, name = f.scale_set.split("/", 1)
        return ns, name
    if f.subject.kind == "AutoscalingRunnerSet":
        return f.subject.namespace, f.subject.name
    return None


def _ars_needs(f: Finding) -> Needs:
    key = _scale_set_of(f)
    if key is None:
        raise PlanError(f"{f.code} on {f.subject.kind} {f.subject.name} names no scale set")
    return Needs(scale_set_target(*key))


def _meta(obj: Mapping) -> Mapping:
    return d(obj.get("metadata"))


def _rv_test(obj: Mapping) -> dict:
    return {"op": "test", "path": "/metadata/resourceVersion", "value": s(_meta(obj).get("resourceVersion"))}


def _target_of(obj: Mapping, target: Target) -> Target:
    meta = _meta(obj)
    return Target(target.api_version, target.kind, target.plural, s(meta.get("namespace")), s(meta.get("name")))


def _patch(obj: Mapping, target: Target, ops: list[dict], note: str = "", secret: bool = False) -> Operation:
    meta = _meta(obj)
    return Operation(PATCH, target, tuple([_rv_test(obj), *ops]), uid=s(meta.get("uid")),
                     resource_version=s(meta.get("resourceVersion")), secret=secret, note=note)


def _delete(obj: Mapping, target: Target, note: str = "") -> Operation:
    meta = _meta(obj)
    return Operation(DELETE, _target_of(obj, target), uid=s(meta.get("uid")),
                     resource_version=s(meta.get("resourceVersion")), note=note)


def kubectl_patch(target: Target, ops: list[dict]) -> str:
    where = f" -n {shlex.quote(target.namespace)}" if target.namespace else ""
    return (f"kubectl patch {target.resource()} {shlex.quote(target.name)}{where} --type json -p "
            + shlex.quote(json.dumps(ops, separators=(",", ":"))))


def _kubectl_delete(ops: list[Operation]) -> list[str]:
    out = []
    by_ns: dict[tuple[str, str], list[str]] = {}
    for op in ops:
        by_ns.setdefault((op.target.resource(), op.target.namespace), []).append(op.target.name)
    for (resource, ns), names in by_ns.items():
        out.append(f"kubectl delete {resource} -n {shlex.quote(ns)} " + " ".join(shlex.quote(n) for n in names))
    return out


def _release(obj: Mapping | None) -> str:
    return s(d(_meta(obj or {}).get("annotations")).get(HELM_RELEASE))


def _helm(release: str, snippet: str) -> str:
    where = f"the values of Helm release {release}" if release else "the gha-runner-scale-set chart's values"
    return (f"# {where} (a live patch alone is reverted by the next helm upgrade)\n{snippet.rstrip()}\n")


def _pod_spec(ars: Mapping) -> Mapping:
    return d(d(d(ars.get("spec")).get("template")).get("spec"))


def _runner_image(spec: Mapping) -> str:
    runner = next((c for c in dicts(spec.get("containers")) if c.get("name") == "runner"), None)
    return s(d(runner).get("image")) or RUNNER_IMAGE


def _other_causes(f: Finding, facts: Facts) -> list[Finding]:
    return [x for x in facts.findings if x.scale_set == f.scale_set and x.code not in SYMPTOMS
            and x.severity == ERROR and x.code != f.code]


# ---- ARC501 / ARC502 / ARC508: the work directory -------------------------------------------------------------
def _fs_group_variant(ars: Mapping, target: Target, release: str) -> Variant:
    spec = _pod_spec(ars)
    base = pointer("spec", "template", "spec")
    if isinstance(spec.get("securityContext"), Mapping):
        ops = [{"op": "add", "path": base + "/securityContext/fsGroup", "value": FS_GROUP}]
    else:
        ops = [{"op": "add", "path": base + "/securityContext", "value": {"fsGroup": FS_GROUP}}]
    return Variant(
        "fs-group", f"set securityContext.fsGroup: {FS_GROUP} on the runner pod template (new runners get a "
                    "work volume group-writable by the runner)",
        (_patch(ars, target, ops, "new runner pods mount the work volume with group 123"),),
        kubectl=(kubectl_patch(target, ops),),
        helm=_helm(release, f"template:\n  spec:\n    securityContext:\n      fsGroup: {FS_GROUP}"),
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
    spec = _pod_spec(ars)
    base = pointer("spec", "template", "spec")
    init = chown_init_container(_runner_image(spec))
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
        (_patch(ars, target, ops, "new runner pods chown their work volume before the runner starts"),),
        kubectl=(kubectl_patch(target, ops),),
        helm=_helm(release, snippet + "\n# keep any initContainers you already have in this list"),
        risks=("The init container runs as root (runAsUser: 0); a namespace enforcing the `restricted` "
               "PodSecurity level rejects it.",
               "A Helm values list replaces the chart's whole initContainers list: keep the ones you have."))


def _work_dir_plan(f: Finding, facts: Facts, order: tuple[str, ...]) -> FixPlan:
    ars = facts.target
    target = _target_of(ars, scale_set_target("", ""))
    release = _release(ars)
    spec = _pod_spec(ars)
    if not spec:
        raise PlanError(f"{target.label()} has no spec.template.spec")
    makers = {"fs-group": _fs_group_variant, "chown-init": _chown_variant}
    if d(spec.get("securityContext")).get("fsGroup") is not None:
        order = tuple(v for v in order if v != "fs-group")      # set already: it is ignored here
    variants = tuple(makers[name](ars, target, release) for name in order)
    return FixPlan(f.code, f, target, variants, release)


@_remedy("ARC501", "ARC502", summary="make the work volume writable by the runner (fsGroup 123, or a chown init "
                                     "container)", variants=("fs-group", "chown-init"), needs=_ars_needs)
def _work_dir(f: Finding, facts: Facts) -> FixPlan:
    return _work_dir_plan(f, facts, ("fs-group", "chown-init"))


@_remedy("ARC508", summary="chown the work volume in an init container (this volume type ignores fsGroup)",
         variants=("chown-init",), needs=_ars_needs)
def _fs_group_ignored(f: Finding, facts: Facts) -> FixPlan:
    return _work_dir_plan(f, facts, ("chown-init", "fs-group"))


# ---- ARC507: repair the chown init container ----------------------------------------------------------------
@_remedy("ARC507", summary="repair the chown init container (mount the work volume, run as root)",
         variants=("repair-init",), needs=_ars_needs)
def _repair_init(f: Finding, facts: Facts) -> FixPlan:
    ars = facts.target
    target = _target_of(ars, scale_set_target("", ""))
    release = _release(ars)
    spec = _pod_spec(ars)
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
        (_patch(ars, target, ops, "the chown then reaches the volume the runner uses"),),
        kubectl=(kubectl_patch(target, ops),), helm=_helm(release, snippet),
        risks=("The init container runs as root (runAsUser: 0); a namespace enforcing the `restricted` "
               "PodSecurity level rejects it.",))
    return FixPlan(f.code, f, target, (variant,), release)


# ---- ARC103: a credential with whitespace -----------------------------------------------------------------------
def _secret_needs(f: Finding) -> Needs:
    key = _scale_set_of(f)
    if f.subject.kind != "Secret" or key is None:
        raise PlanError(f"{f.code} on {f.subject.kind} {f.subject.name}: arc-top cannot read that Secret")
    return Needs(secret_target(f.subject.namespace, f.subject.name), scale_set=scale_set_target(*key),
                 listener_pods=True)


def trimmed(key: str, value: str) -> str:
    """The value ARC needs: no surrounding whitespace (a PEM key keeps one final newline)."""
    if key == "github_app_private_key":
        return value.strip() + "\n" if value.strip() else value
    return value.strip()


def _restart_listener_ops(facts: Facts, why: str) -> list[Operation]:
    return [_delete(p, pod_target("", ""), why) for p in facts.listener_pods
            if not _meta(p).get("deletionTimestamp")]


@_remedy("ARC103", summary="rewrite the credentials Secret with trimmed values, then restart the listener",
         variants=("trim",), needs=_secret_needs)
def _trim_secret(f: Finding, facts: Facts) -> FixPlan:
    secret = facts.target
    target = _target_of(secret, secret_target("", ""))
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
    write = _patch(secret, target, ops, f"trim {', '.join(keys)}", secret=True)
    restarts = _restart_listener_ops(facts, "the listener reads the credentials when it starts")
    ns = shlex.quote(target.namespace)
    jq = " | ".join(TRIM_JQ.format(key=k) for k in keys if k != "github_app_private_key")
    commands = []
    if jq:
        commands.append(f"kubectl get secret {shlex.quote(target.name)} -n {ns} -o json | jq {shlex.quote(jq)} "
                        "| kubectl replace -f -")
    if "github_app_private_key" in keys:
        commands.append("# github_app_private_key: recreate it from the .pem file: kubectl create secret generic … "
                        "--from-file=github_app_private_key=key.pem --dry-run=client -o yaml | kubectl apply -f -")
    commands += _kubectl_delete(restarts)
    release = _release(facts.scale_set)
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
    key = _scale_set_of(f)
    if key is None:
        raise PlanError(f"{f.code} on {f.subject.kind} {f.subject.name} names no scale set")
    return Needs(scale_set_target(*key), runners=True)


def _failed(runners: list[dict]) -> list[dict]:
    return [r for r in runners if d(r.get("status")).get("phase") == "Failed"
            and not _meta(r).get("deletionTimestamp")]


@_remedy("ARC402", "ARC407", summary="delete the Failed EphemeralRunners (the runner set makes new ones)",
         variants=("delete-failed", "delete-this"), needs=_runners_needs)
def _delete_failed(f: Finding, facts: Facts) -> FixPlan:
    ars = facts.target
    target = _target_of(ars, scale_set_target("", ""))
    failed = _failed(facts.runners)
    if not failed:
        raise PlanError(f"{target.label()} has no Failed EphemeralRunners any more")
    why = "a Failed EphemeralRunner holds a replica slot until deleted"
    every = [_delete(r, runner_target("", ""), why) for r in failed]
    this = [op for op in every if op.target.name == f.subject.name]
    causes = _other_causes(f, facts)
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
                        tuple(every), kubectl=tuple(_kubectl_delete(every)), risks=risks, warning=warning)]
    if this and len(every) > 1:
        variants.append(Variant("delete-this", f"delete only {f.subject.name}", tuple(this),
                                kubectl=tuple(_kubectl_delete(this)), risks=risks, warning=warning))
    return FixPlan(f.code, f, target, tuple(variants), _release(ars))


# ---- ARC403: the listener ---------------------------------------------------------------------------------------
def _listener_needs(f: Finding) -> Needs:
    key = _scale_set_of(f)
    if key is None:
        raise PlanError(f"{f.code} on {f.subject.kind} {f.subject.name} names no scale set")
    return Needs(scale_set_target(*key), listener_pods=True, listeners=True)


@_remedy("ARC403", summary="restart the listener (delete its pod), or recreate the AutoscalingListener",
         variants=("restart-listener", "recreate-listener"), needs=_listener_needs)
def _restart_listener(f: Finding, facts: Facts) -> FixPlan:
    ars = facts.target
    target = _target_of(ars, scale_set_target("", ""))
    restarts = _restart_listener_ops(facts, "the AutoscalingListener makes a new listener pod")
    recreate = [_delete(x, listener_target("", ""), "the controller recreates it, with the current Secret")
                for x in facts.listeners if not _meta(x).get("deletionTimestamp")]
    causes = _other_causes(f, facts)
    warning = ("the cause is still present (" + ", ".join(sorted({c.code for c in causes}))
               + "): a restarted listener fails the same way") if causes else ""
    variants = []
    if restarts:
        variants.append(Variant("restart-listener", "delete the listener pod; the AutoscalingListener makes a new "
                                                    "one, which reads its configuration again",
                                tuple(restarts), kubectl=tuple(_kubectl_delete(restarts)), warning=warning,
                                risks=("Scaling pauses for the seconds the new listener takes to start; running "
                                       "jobs are not affected.",)))
    if recreate:
        variants.append(Variant("recreate-listener", "delete the AutoscalingListener; the controller recreates it "
                                                     "and its config Secret from the scale set's current Secret",
                                tuple(recreate), kubectl=tuple(_kubectl_delete(recreate)), warning=warning,
                                risks=("Scaling pauses until the controller has made the new listener.",)))
    if not variants:
        raise PlanError(f"{target.label()} has no listener to restart (is the controller running? see ARC406)")
    return FixPlan(f.code, f, target, tuple(variants), _release(ars))


# ---- ARC506: the namespace's PodSecurity level ------------------------------------------------------------------
def _namespace_needs(f: Finding) -> Needs:
    key = _scale_set_of(f)
    if f.subject.kind != "Namespace" or key is None:
        raise PlanError(f"{f.code} on {f.subject.kind} {f.subject.name}: expected a Namespace")
    return Needs(namespace_target(f.subject.name), scale_set=scale_set_target(*key), runners=True)


def _needed_level(ars: Mapping | None) -> str:
    spec = _pod_spec(ars or {})
    names = {s(c.get("name")) for c in [*dicts(spec.get("containers")), *dicts(spec.get("initContainers"))]}
    privileged = any(d(c.get("securityContext")).get("privileged") is True
                     for c in [*dicts(spec.get("containers")), *dicts(spec.get("initContainers"))])
    return "privileged" if "dind" in names or privileged else "baseline"


@_remedy("ARC506", summary="label the namespace with the PodSecurity level the container mode needs",
         variants=("label", "label-and-retry"), needs=_namespace_needs)
def _pod_security(f: Finding, facts: Facts) -> FixPlan:
    ns = facts.target
    target = _target_of(ns, namespace_target(""))
    level = _needed_level(facts.scale_set)
    labels = _meta(ns).get("labels")
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
    label = _patch(ns, target, ops, f"pods in {target.name} are admitted at the {level} level")
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
    retry = [_delete(r, runner_target("", ""), "rejected under the old level; the runner set makes a new one")
             for r in _failed(facts.runners) if d(r.get("status")).get("reason") == "InvalidPod"]
    if retry:
        variants.append(Variant("label-and-retry", f"label the namespace, then delete the {len(retry)} runner"
                                                   f"{'' if len(retry) == 1 else 's'} it rejected (InvalidPod)",
                                (label, *retry), kubectl=(variants[0].kubectl[0], *_kubectl_delete(retry)),
                                helm=helm, risks=(*risks, "Deleted EphemeralRunners cannot be restored.")))
    return FixPlan(f.code, f, target, tuple(variants), _release(facts.scale_set))


def catalogue() -> list[dict]:
    """`arc-top fix --list`: code, summary, variants (default first)."""
    seen, out = set(), []
    for code, r in sorted(REMEDIES.items()):
        out.append({"code": code, "fix": r.summary, "variants": list(r.variants)})
        seen.add(id(r))
    return out

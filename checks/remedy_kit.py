"""The pieces every remedy of the fix catalogue is made of: the targets, what a remedy needs read (`Needs`), the
registry (`register`) and the write builders (`patch_op`, `delete_op`) that carry the preconditions.

Pure, like every check. Every patch is RFC 6902 and starts with a `test` of the object's resourceVersion; every
value it replaces is tested too, and a delete carries uid + resourceVersion preconditions.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from arc_top.checks.context import d, dicts, s
from arc_top.checks.finding import ERROR, Finding
from arc_top.checks.fixplan import Facts, FixPlan, PlanError
from arc_top.kube.operations import CREATE, DELETE, PATCH, Operation, Target

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
           "Namespace": "namespaces", "StorageClass": "storageclasses", "Role": "roles",
           "RoleBinding": "rolebindings", "NetworkPolicy": "networkpolicies", "ServiceAccount": "serviceaccounts"}


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
class Listing:
    """A list to read before planning: `target` names the collection (its namespace, "" for all or for a
    cluster-scoped kind; its name is ignored); the objects land in `Facts.lists[key]`."""
    key: str
    target: Target
    label_selector: str = ""


@dataclass(frozen=True)
class Needs:
    """What to read before planning: the target, and which related objects."""
    target: Target
    scale_set: Target | None = None     # read too when the target is not the scale set
    listener_pods: bool = False
    listeners: bool = False
    runners: bool = False
    lists: tuple[Listing, ...] = ()


@dataclass(frozen=True)
class Remedy:
    codes: tuple[str, ...]
    summary: str                          # for `arc-top fix --list`
    variants: tuple[str, ...]             # names, default first (for --list; plans may offer fewer)
    needs: Callable[[Finding], Needs]
    plan: Callable[[Finding, Facts], FixPlan]


REMEDIES: dict[str, Remedy] = {}


def register(*codes: str, summary: str, variants: tuple[str, ...], needs: Callable[[Finding], Needs]):
    def register(fn: Callable[[Finding, Facts], FixPlan]) -> Callable[[Finding, Facts], FixPlan]:
        r = Remedy(codes, summary, variants, needs, fn)
        for code in codes:
            REMEDIES[code] = r
        return fn
    return register


# ---- shared pieces ----------------------------------------------------------------------------------------------
def scale_set_of(f: Finding) -> tuple[str, str] | None:
    if f.scale_set and "/" in f.scale_set:
        ns, name = f.scale_set.split("/", 1)
        return ns, name
    if f.subject.kind == "AutoscalingRunnerSet":
        return f.subject.namespace, f.subject.name
    return None


def scale_set_key(f: Finding) -> tuple[str, str]:
    """(namespace, name) of the finding's scale set; PlanError when it names none."""
    key = scale_set_of(f)
    if key is None:
        raise PlanError(f"{f.code} on {f.subject.kind} {f.subject.name} names no scale set")
    return key


def ars_needs(f: Finding) -> Needs:
    return Needs(scale_set_target(*scale_set_key(f)))


def meta_of(obj: Mapping) -> Mapping:
    return d(obj.get("metadata"))


def rv_test(obj: Mapping) -> dict:
    return {"op": "test", "path": "/metadata/resourceVersion", "value": s(meta_of(obj).get("resourceVersion"))}


def target_of(obj: Mapping, target: Target) -> Target:
    meta = meta_of(obj)
    return Target(target.api_version, target.kind, target.plural, s(meta.get("namespace")), s(meta.get("name")))


def patch_op(obj: Mapping, target: Target, ops: list[dict], note: str = "", secret: bool = False) -> Operation:
    meta = meta_of(obj)
    return Operation(PATCH, target, tuple([rv_test(obj), *ops]), uid=s(meta.get("uid")),
                     resource_version=s(meta.get("resourceVersion")), secret=secret, note=note)


def delete_op(obj: Mapping, target: Target, note: str = "") -> Operation:
    meta = meta_of(obj)
    return Operation(DELETE, target_of(obj, target), uid=s(meta.get("uid")),
                     resource_version=s(meta.get("resourceVersion")), note=note)


def create_op(target: Target, body: dict, note: str = "", secret: bool = False) -> Operation:
    """Create `body` (a whole object: apiVersion, kind, metadata.name/namespace as `target` says). Undo deletes it
    again, by the uid the server gave it."""
    return Operation(CREATE, target, body=body, secret=secret, note=note)


def staged(op: Operation, step: str) -> Operation:
    """`op` as a write of the step called `step` (a multi-step fix shows and runs its steps in order)."""
    return dataclasses.replace(op, step=step)


def kubectl_patch(target: Target, ops: list[dict]) -> str:
    where = f" -n {shlex.quote(target.namespace)}" if target.namespace else ""
    return (f"kubectl patch {target.resource()} {shlex.quote(target.name)}{where} --type json -p "
            + shlex.quote(json.dumps(ops, separators=(",", ":"))))


def kubectl_delete(ops: list[Operation]) -> list[str]:
    out = []
    by_ns: dict[tuple[str, str], list[str]] = {}
    for op in ops:
        by_ns.setdefault((op.target.resource(), op.target.namespace), []).append(op.target.name)
    for (resource, ns), names in by_ns.items():
        out.append(f"kubectl delete {resource} -n {shlex.quote(ns)} " + " ".join(shlex.quote(n) for n in names))
    return out


def release_of(obj: Mapping | None) -> str:
    return s(d(meta_of(obj or {}).get("annotations")).get(HELM_RELEASE))


def helm_values(release: str, snippet: str) -> str:
    where = f"the values of Helm release {release}" if release else "the gha-runner-scale-set chart's values"
    return (f"# {where} (a live patch alone is reverted by the next helm upgrade)\n{snippet.rstrip()}\n")


def pod_spec_of(ars: Mapping) -> Mapping:
    return d(d(d(ars.get("spec")).get("template")).get("spec"))


def runner_image(spec: Mapping) -> str:
    runner = next((c for c in dicts(spec.get("containers")) if c.get("name") == "runner"), None)
    return s(d(runner).get("image")) or RUNNER_IMAGE


def other_causes(f: Finding, facts: Facts) -> list[Finding]:
    return [x for x in facts.findings if x.scale_set == f.scale_set and x.code not in SYMPTOMS
            and x.severity == ERROR and x.code != f.code]


def secret_needs(f: Finding) -> Needs:
    """The Secret the finding is about, its scale set and the listener pods (restarted after a credential change)."""
    key = scale_set_of(f)
    if f.subject.kind != "Secret" or key is None:
        raise PlanError(f"{f.code} on {f.subject.kind} {f.subject.name}: arc-top cannot read that Secret")
    return Needs(secret_target(f.subject.namespace, f.subject.name), scale_set=scale_set_target(*key),
                 listener_pods=True)


def restart_listener_ops(facts: Facts, why: str) -> list[Operation]:
    return [delete_op(p, pod_target("", ""), why) for p in facts.listener_pods
            if not meta_of(p).get("deletionTimestamp")]

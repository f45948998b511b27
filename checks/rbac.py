"""RBAC evaluation over the snapshot's Roles, ClusterRoles and their bindings: what a service account may do in
its namespace. Follows Kubernetes' rule matching (`*` wildcards, `*/subresource`); rules restricted by
resourceNames grant nothing here (the kube-mode hook needs every pod and secret). Aggregated ClusterRoles need no
special care: the API server fills their `rules`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from arc_top.checks.context import Context, d, dicts, lst, s
from arc_top.kube import model

# ARC_REFERENCE §3: the Role the chart gives the kube-mode runner (0.4 … 0.14.2). novolume mode drops batch/jobs.
KUBE_MODE_RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("", "pods", ("get", "list", "create", "delete")),
    ("", "pods/exec", ("get", "create")),
    ("", "pods/log", ("get", "list", "watch")),
    ("batch", "jobs", ("get", "list", "create", "delete")),
    ("", "secrets", ("get", "list", "create", "delete")),
)
NOVOLUME_RULES = tuple(r for r in KUBE_MODE_RULES if r[0] != "batch")


@dataclass
class Grants:
    rules: list[Mapping] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)          # "RoleBinding x → Role y"
    unresolved: list[str] = field(default_factory=list)       # bindings whose role is not in the snapshot


def subject_matches(subject: Mapping, namespace: str, account: str, binding_ns: str) -> bool:
    kind, name = s(subject.get("kind")), s(subject.get("name"))
    if kind == "ServiceAccount":
        return name == account and (s(subject.get("namespace")) or binding_ns) == namespace
    if kind == "User":
        return name == f"system:serviceaccount:{namespace}:{account}"
    if kind == "Group":
        return name in ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated")
    return False


def grants_for(ctx: Context, namespace: str, account: str) -> Grants:
    """The rules bound to `namespace`/`account` by RoleBindings in its namespace and by ClusterRoleBindings."""
    out = Grants()
    bindings: Iterable[model.Named] = [*ctx.bindings_by_ns.get(namespace, ()), *ctx.bindings_by_ns.get("", ())]
    for b in bindings:
        if b.kind == "RoleBinding" and b.namespace != namespace:
            continue
        if not any(subject_matches(sub, namespace, account, b.namespace) for sub in dicts(b.body.get("subjects"))):
            continue
        ref = d(b.body.get("roleRef"))
        ref_kind, ref_name = s(ref.get("kind")), s(ref.get("name"))
        if ref_kind == "Role" and b.kind == "RoleBinding":
            role = ctx.roles.get(("Role", namespace, ref_name))
        elif ref_kind == "ClusterRole":
            role = ctx.roles.get(("ClusterRole", "", ref_name))
        else:
            continue
        label = f"{b.kind} {b.name} → {ref_kind} {ref_name}"
        if role is None:
            out.unresolved.append(label)
            continue
        out.sources.append(label)
        out.rules.extend(dicts(role.body.get("rules")))
    return out


def _resource_matches(rule_resource: str, resource: str) -> bool:
    if rule_resource in ("*", resource):
        return True
    _, _, sub = resource.partition("/")
    return bool(sub) and rule_resource == f"*/{sub}"


def allowed(rules: Iterable[Mapping], group: str, resource: str, verb: str) -> bool:
    for rule in rules:
        if lst(rule.get("resourceNames")):
            continue
        groups = [s(g) for g in lst(rule.get("apiGroups"))]
        if "*" not in groups and group not in groups:
            continue
        if not any(_resource_matches(s(r), resource) for r in lst(rule.get("resources"))):
            continue
        verbs = [s(v) for v in lst(rule.get("verbs"))]
        if "*" in verbs or verb in verbs:
            return True
    return False


def missing(rules: list[Mapping], required=KUBE_MODE_RULES) -> list[tuple[str, str, tuple[str, ...]]]:
    """(group, resource, verbs) of the required rules the granted ones do not cover."""
    out = []
    for group, resource, verbs in required:
        lacking = tuple(v for v in verbs if not allowed(rules, group, resource, v))
        if lacking:
            out.append((group, resource, lacking))
    return out


def describe(lacking: list[tuple[str, str, tuple[str, ...]]]) -> str:
    return "; ".join(f"{(group + '/') if group else ''}{resource}: {', '.join(verbs)}"
                     for group, resource, verbs in lacking)

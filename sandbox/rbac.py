"""Kubernetes RBAC evaluated over the sandbox's stored Roles and bindings.

authorize() runs on every request, so bindings are compiled into an index keyed by subject once
per RBAC generation, and the grants that apply to a (user, namespace) pair are memoised.
Matching, reasons and messages follow k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field

RBAC_GROUP = "rbac.authorization.k8s.io"
ROLES = f"roles.{RBAC_GROUP}"
CLUSTER_ROLES = f"clusterroles.{RBAC_GROUP}"
ROLE_BINDINGS = f"rolebindings.{RBAC_GROUP}"
CLUSTER_ROLE_BINDINGS = f"clusterrolebindings.{RBAC_GROUP}"
MASTERS = "system:masters"
_MEMO_LIMIT = 4096  # distinct (user, namespace) pairs kept between RBAC changes


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""


def service_account_user(namespace: str, name: str) -> UserInfo:
    """The identity the apiserver gives a ServiceAccount token."""
    return UserInfo(f"system:serviceaccount:{namespace}:{name}",
                    ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"))


@dataclass(frozen=True)
class Attributes:
    verb: str
    resource: str = ""
    api_group: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""
    resource_request: bool = True


def _strings(value: object) -> tuple[str, ...]:
    """A rule's string list; anything malformed counts as empty, so a bad object never crashes a request."""
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


class _Rule:
    """One PolicyRule split into sets, so matching is a handful of membership tests."""

    __slots__ = ("verbs", "groups", "resources", "names", "urls", "_verbs", "_groups", "_resources",
                 "_sub_wild", "_names", "_urls", "_url_prefixes")

    def __init__(self, raw: dict):
        self.verbs = _strings(raw.get("verbs"))
        self.groups = _strings(raw.get("apiGroups"))
        self.resources = _strings(raw.get("resources"))
        self.names = _strings(raw.get("resourceNames"))
        self.urls = _strings(raw.get("nonResourceURLs"))
        self._verbs = frozenset(self.verbs)
        self._groups = frozenset(self.groups)
        self._resources = frozenset(self.resources)
        self._sub_wild = frozenset(r[2:] for r in self.resources if r.startswith("*/"))
        self._names = frozenset(self.names)
        self._urls = frozenset(self.urls)
        self._url_prefixes = tuple(u.rstrip("*") for u in self.urls if u.endswith("*"))

    def allows(self, a: Attributes, combined: str) -> bool:
        if "*" not in self._verbs and a.verb not in self._verbs:
            return False
        if not a.resource_request:
            return a.path in self._urls or any(a.path.startswith(p) for p in self._url_prefixes)
        if "*" not in self._groups and a.api_group not in self._groups:
            return False
        if "*" not in self._resources and combined not in self._resources and not (
                a.subresource and a.subresource in self._sub_wild):
            return False
        return not self._names or a.name in self._names


@dataclass(frozen=True)
class _Grant:
    """A binding as seen by one subject: its rules, or why its role could not be resolved."""
    source: str
    rules: tuple[_Rule, ...]
    error: str = ""


SubjectKey = tuple[str, str]  # ("user" | "group", name)


@dataclass
class _State:
    generation: int
    cluster: dict[SubjectKey, list[tuple[int, int, _Grant]]]
    namespaced: dict[tuple[str, str, str], list[tuple[int, int, _Grant]]]
    memo: dict[tuple[UserInfo, str], tuple[_Grant, ...]] = field(default_factory=dict)


def _q(text: str) -> str:
    """Go's %q, close enough for names."""
    return json.dumps(text, ensure_ascii=False)


def _subject_key(subject: dict, binding_ns: str) -> SubjectKey | None:
    kind, name = subject.get("kind"), subject.get("name")
    if not isinstance(name, str):
        return None
    if kind == "User":
        return ("user", name)
    if kind == "Group":
        return ("group", name)
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_ns
        return ("user", f"system:serviceaccount:{ns}:{name}") if isinstance(ns, str) and ns else None
    return None


def _describe_subject(subject: dict, binding_ns: str) -> str:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "ServiceAccount":
        return f'{kind} {_q(name + "/" + (subject.get("namespace") or binding_ns))}'
    return f"{kind} {_q(name)}"


def _meta(obj: dict) -> tuple[str, str]:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name, ns = meta.get("name"), meta.get("namespace")
    return (name if isinstance(name, str) else "", ns if isinstance(ns, str) else "")


def _compile_rules(obj: dict) -> tuple[_Rule, ...]:
    rules = obj.get("rules")
    return tuple(_Rule(r) for r in rules if isinstance(r, dict)) if isinstance(rules, list) else ()


class Authorizer:
    """RBAC over stored objects; `generation()` must change whenever any Role or binding changes."""

    def __init__(self, list_objects: Callable[[str, str | None], list[dict]], generation: Callable[[], int]):
        self._list = list_objects
        self._generation = generation
        self._state: _State | None = None

    def authorize(self, user: UserInfo, attrs: Attributes) -> tuple[bool, str]:
        """(allowed, reason) with the apiserver's reasons: `RBAC: allowed by ...` or missing-role errors."""
        if MASTERS in user.groups:
            return True, ""
        combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        errors: list[str] = []
        for grant in self._grants(user, attrs.namespace if attrs.resource_request else ""):
            if grant.error:
                errors.append(grant.error)
            for rule in grant.rules:
                if rule.allows(attrs, combined):
                    return True, f"RBAC: allowed by {grant.source}"
        return False, _aggregate(errors)

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[dict], list[dict]]:
        """SelfSubjectRulesReview status rules; empty lists are omitted like the real JSON."""
        resource_rules: list[dict] = []
        non_resource_rules: list[dict] = []
        for grant in self._grants(user, namespace):
            for rule in grant.rules:
                if rule.resources:
                    out = {"verbs": list(rule.verbs)}
                    for key, values in (("apiGroups", rule.groups), ("resources", rule.resources),
                                        ("resourceNames", rule.names)):
                        if values:
                            out[key] = list(values)
                    resource_rules.append(out)
                if rule.urls:
                    non_resource_rules.append({"verbs": list(rule.verbs), "nonResourceURLs": list(rule.urls)})
        return resource_rules, non_resource_rules

    def forbidden_message(self, user: UserInfo, attrs: Attributes, reason: str = "") -> str:
        """The 403 Status message; pass authorize()'s reason to get its `: RBAC: ...` suffix too."""
        if not attrs.resource_request:
            text = f"User {_q(user.name)} cannot {attrs.verb} path {_q(attrs.path)}"
        else:
            resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
            scope = f"in the namespace {_q(attrs.namespace)}" if attrs.namespace else "at the cluster scope"
            text = (f"User {_q(user.name)} cannot {attrs.verb} resource {_q(resource)} "
                    f"in API group {_q(attrs.api_group)} {scope}")
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if reason:
            text = f"{text}: {reason}"
        if not attrs.resource_request or not (attrs.resource or attrs.api_group):
            return f"forbidden: {text}"
        qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
        if attrs.name:
            return f"{qualified} {_q(attrs.name)} is forbidden: {text}"
        return f"{qualified} is forbidden: {text}"

    def _grants(self, user: UserInfo, namespace: str) -> tuple[_Grant, ...]:
        state = self._current()
        key = (user, namespace)
        grants = state.memo.get(key)
        if grants is None:
            grants = _collect(state, user, namespace)
            if len(state.memo) >= _MEMO_LIMIT:
                state.memo.clear()
            state.memo[key] = grants
        return grants

    def _current(self) -> _State:
        generation = self._generation()
        state = self._state
        if state is None or state.generation != generation:
            state = self._state = self._build(generation)
        return state

    def _build(self, generation: int) -> _State:
        roles: dict[tuple[str, str], tuple[_Rule, ...]] = {}
        for obj in self._list(ROLES, None):
            name, ns = _meta(obj)
            roles[(ns, name)] = _compile_rules(obj)
        cluster_roles = {_meta(obj)[0]: _compile_rules(obj) for obj in self._list(CLUSTER_ROLES, None)}

        def resolve(ref: object, binding_ns: str) -> tuple[tuple[_Rule, ...], str]:
            ref = ref if isinstance(ref, dict) else {}
            kind, name = ref.get("kind"), ref.get("name")
            name = name if isinstance(name, str) else ""
            if kind in ("ClusterRole", "Role"):
                found = cluster_roles.get(name) if kind == "ClusterRole" else roles.get((binding_ns, name))
                if found is None:  # the lister's NotFound, singular resource name and all
                    return (), f"{kind.lower()}.{RBAC_GROUP} {_q(name)} not found"
                return found, ""
            return (), f"unsupported role reference kind: {_q(str(kind))}"

        state = _State(generation, {}, {})
        crbs = sorted(self._list(CLUSTER_ROLE_BINDINGS, None), key=_meta)
        rbs = sorted(self._list(ROLE_BINDINGS, None), key=lambda o: _meta(o)[::-1])
        for seq, binding in enumerate(crbs + rbs):
            name, ns = _meta(binding)
            namespaced = seq >= len(crbs)
            ref = binding.get("roleRef") if isinstance(binding.get("roleRef"), dict) else {}
            rules, error = resolve(ref, ns if namespaced else "")
            label = f'RoleBinding {_q(name + "/" + ns)}' if namespaced else f"ClusterRoleBinding {_q(name)}"
            subjects = binding.get("subjects") if isinstance(binding.get("subjects"), list) else []
            for pos, subject in enumerate(s for s in subjects if isinstance(s, dict)):
                key = _subject_key(subject, ns if namespaced else "")
                if key is None:
                    continue
                source = (f"{label} of {ref.get('kind')} {_q(str(ref.get('name')))} "
                          f"to {_describe_subject(subject, ns)}")
                entry = (seq, pos, _Grant(source, rules, error))
                if namespaced:
                    state.namespaced.setdefault((ns, *key), []).append(entry)
                else:
                    state.cluster.setdefault(key, []).append(entry)
        return state


def _collect(state: _State, user: UserInfo, namespace: str) -> tuple[_Grant, ...]:
    """The user's bindings in evaluation order (cluster bindings first), each once, as its first
    matching subject."""
    keys = [("user", user.name), *(("group", g) for g in user.groups)]
    found: dict[int, tuple[int, _Grant]] = {}
    for key in keys:
        entries = list(state.cluster.get(key, ()))
        if namespace:
            entries += state.namespaced.get((namespace, *key), ())
        for seq, pos, grant in entries:
            if seq not in found or pos < found[seq][0]:
                found[seq] = (pos, grant)
    return tuple(grant for _, (_, grant) in sorted(found.items()))


def _aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate wording, prefixed the way the RBAC authorizer reports it."""
    unique = list(dict.fromkeys(errors))
    if not unique:
        return ""
    return "RBAC: " + (unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]")


# --- Objects ---------------------------------------------------------------------------------------------

READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete", "deletecollection"]
READ_WRITE = READ + WRITE


def _rule(verbs: list[str], groups: list[str] | None = None, resources: list[str] | None = None,
          urls: list[str] | None = None) -> dict:
    rule: dict = {"verbs": list(verbs)}
    if groups is not None:
        rule["apiGroups"] = list(groups)
    if resources is not None:
        rule["resources"] = list(resources)
    if urls is not None:
        rule["nonResourceURLs"] = list(urls)
    return rule


_VIEW_RULES = [
    _rule(READ, [""], ["pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                       "services", "services/status", "endpoints", "persistentvolumeclaims",
                       "persistentvolumeclaims/status", "configmaps"]),
    _rule(READ, [""], ["limitranges", "resourcequotas", "bindings", "events", "pods/status",
                       "resourcequotas/status", "namespaces/status", "replicationcontrollers/status",
                       "pods/log"]),
    _rule(READ, [""], ["namespaces"]),
    _rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
    _rule(READ, ["apps"], ["controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale",
                           "daemonsets", "daemonsets/status", "deployments", "deployments/status",
                           "deployments/scale", "replicasets", "replicasets/status", "replicasets/scale"]),
    _rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
    _rule(READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
    _rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    _rule(READ, ["networking.k8s.io"], ["networkpolicies", "ingresses", "ingresses/status"]),
    # As if the ARC CRDs shipped `aggregate-to-view` roles: a viewer can watch the scale sets.
    _rule(READ, ["actions.github.com"], ["*"]),
]

_EDIT_RULES = [
    _rule(READ, [""], ["pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets",
                       "services/proxy"]),
    _rule(["impersonate"], [""], ["serviceaccounts"]),
    _rule(WRITE, [""], ["pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"]),
    _rule(["create"], [""], ["pods/eviction"]),
    _rule(WRITE, [""], ["replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                        "services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets"]),
    _rule(["create"], [""], ["serviceaccounts/token"]),
    _rule(WRITE, ["apps"], ["statefulsets", "statefulsets/scale", "daemonsets", "deployments",
                            "deployments/scale", "deployments/rollback", "replicasets", "replicasets/scale"]),
    _rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
    _rule(WRITE, ["batch"], ["jobs", "cronjobs"]),
    _rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
    _rule(WRITE, ["networking.k8s.io"], ["networkpolicies", "ingresses"]),
    _rule(WRITE, ["actions.github.com"], ["*"]),
    *_VIEW_RULES,
]

_ADMIN_RULES = [
    _rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
    _rule(READ_WRITE, [RBAC_GROUP], ["roles", "rolebindings"]),
    *_EDIT_RULES,
]

_PUBLIC_URLS = ["/livez", "/readyz", "/healthz", "/version", "/version/"]
_CLUSTER_ROLES: dict[str, list[dict]] = {
    "cluster-admin": [_rule(["*"], ["*"], ["*"]), _rule(["*"], urls=["*"])],
    "admin": _ADMIN_RULES,
    "edit": _EDIT_RULES,
    "view": _VIEW_RULES,
    "system:discovery": [_rule(["get"], urls=[*_PUBLIC_URLS, "/openapi", "/openapi/*", "/api", "/api/*",
                                              "/apis", "/apis/*"])],
    "system:basic-user": [_rule(["create"], ["authorization.k8s.io"],
                                ["selfsubjectaccessreviews", "selfsubjectrulesreviews"])],
    "system:public-info-viewer": [_rule(["get"], urls=_PUBLIC_URLS)],
}

_CLUSTER_ROLE_BINDINGS: dict[str, list[str]] = {  # binding (and role) name → groups bound
    "cluster-admin": [MASTERS],
    "system:discovery": ["system:authenticated"],
    "system:basic-user": ["system:authenticated"],
    "system:public-info-viewer": ["system:authenticated", "system:unauthenticated"],
}


def _bootstrap_meta(name: str) -> dict:
    return {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}


def bootstrap_objects() -> list[dict]:
    """The default ClusterRoles and ClusterRoleBindings every cluster starts with (fresh copies)."""
    api_version = f"{RBAC_GROUP}/v1"
    objects: list[dict] = [
        {"apiVersion": api_version, "kind": "ClusterRole", "metadata": _bootstrap_meta(name),
         "rules": copy.deepcopy(rules)}
        for name, rules in _CLUSTER_ROLES.items()]
    objects += [
        {"apiVersion": api_version, "kind": "ClusterRoleBinding", "metadata": _bootstrap_meta(name),
         "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
         "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": group} for group in groups]}
        for name, groups in _CLUSTER_ROLE_BINDINGS.items()]
    return objects


# The Role the gha-runner-scale-set chart renders as `<fullname>-kube-mode` (ARC_REFERENCE §3).
# Deep-copy before embedding these in an object.
KUBE_MODE_RULES: list[dict] = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "create", "delete"]},
    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get", "create"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "create", "delete"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "create", "delete"]},
]
NOVOLUME_RULES: list[dict] = [copy.deepcopy(r) for r in KUBE_MODE_RULES if r["apiGroups"] != ["batch"]]

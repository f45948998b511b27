"""RBAC over stored objects: Kubernetes semantics, real reasons and messages, generation-based caching."""

from __future__ import annotations

import pytest

from arc_top.sandbox import rbac
from arc_top.sandbox.rbac import (
    CLUSTER_ROLE_BINDINGS,
    CLUSTER_ROLES,
    KUBE_MODE_RULES,
    NOVOLUME_RULES,
    ROLE_BINDINGS,
    ROLES,
    Attributes,
    Authorizer,
    UserInfo,
    bootstrap_objects,
    service_account_user,
)

NS = "arc-runners"
VIEWER = UserInfo("viewer", ("system:authenticated",))
ANONYMOUS = UserInfo("system:anonymous", ("system:unauthenticated",))
KINDS = {"Role": ROLES, "ClusterRole": CLUSTER_ROLES, "RoleBinding": ROLE_BINDINGS,
         "ClusterRoleBinding": CLUSTER_ROLE_BINDINGS}


class FakeStore:
    """Just enough of the sandbox store: objects by resource key plus an RBAC generation counter."""

    def __init__(self, objects: list[dict]):
        self.objects: list[dict] = []
        self.generation = 0
        self.calls = 0
        for obj in objects:
            self.add(obj, bump=False)

    def add(self, obj: dict, bump: bool = True) -> None:
        self.objects.append(obj)
        if bump:
            self.generation += 1

    def list(self, key: str, namespace: str | None) -> list[dict]:
        self.calls += 1
        return [o for o in self.objects if KINDS[o["kind"]] == key
                and (namespace is None or o["metadata"].get("namespace") == namespace)]

    def authorizer(self) -> Authorizer:
        return Authorizer(self.list, lambda: self.generation)


def role(name: str, rules: list[dict], namespace: str | None = None) -> dict:
    kind = "Role" if namespace else "ClusterRole"
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta, "rules": rules}


def binding(name: str, role_kind: str, role_name: str, subjects: list[dict],
            namespace: str | None = None) -> dict:
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
            "subjects": subjects}


def user(name: str) -> dict:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}


@pytest.fixture
def store() -> FakeStore:
    return FakeStore([*bootstrap_objects(),
                      binding("viewer-view", "ClusterRole", "view", [user("viewer")], NS)])


def can(authz: Authorizer, who: UserInfo, verb: str, resource: str = "", group: str = "", namespace: str = NS,
        sub: str = "", name: str = "") -> bool:
    return authz.authorize(who, Attributes(verb, resource, group, sub, namespace, name))[0]


def can_path(authz: Authorizer, who: UserInfo, path: str, verb: str = "get") -> bool:
    return authz.authorize(who, Attributes(verb, path=path, resource_request=False))[0]


def test_viewer_reads_but_never_writes_and_never_reads_secrets(store):
    authz = store.authorizer()
    for resource, group in [("pods", ""), ("events", ""), ("persistentvolumeclaims", ""), ("configmaps", ""),
                            ("jobs", "batch"), ("autoscalingrunnersets", "actions.github.com"),
                            ("ephemeralrunners", "actions.github.com")]:
        for verb in ("get", "list", "watch"):
            assert can(authz, VIEWER, verb, resource, group), (verb, resource)
    assert can(authz, VIEWER, "get", "pods", sub="log", name="r1")
    for resource, group in [("secrets", ""), ("roles", "rbac.authorization.k8s.io"),
                            ("rolebindings", "rbac.authorization.k8s.io")]:
        assert not can(authz, VIEWER, "list", resource, group), resource
    for verb in ("create", "update", "patch", "delete", "deletecollection"):
        assert not can(authz, VIEWER, verb, "pods"), verb
        assert not can(authz, VIEWER, verb, "autoscalingrunnersets", "actions.github.com"), verb
    assert not can(authz, VIEWER, "create", "pods", sub="exec", name="r1")


def test_role_binding_to_cluster_role_grants_only_in_its_namespace(store):
    authz = store.authorizer()
    assert can(authz, VIEWER, "list", "pods", namespace=NS)
    assert not can(authz, VIEWER, "list", "pods", namespace="arc-systems")
    assert not can(authz, VIEWER, "list", "pods", namespace="")  # -A needs a ClusterRoleBinding
    assert not can(authz, VIEWER, "list", "nodes", namespace="")


def test_cluster_role_binding_grants_everywhere(store):
    store.add(binding("ops-view", "ClusterRole", "view", [{"kind": "Group", "name": "ops"}]))
    authz, ops = store.authorizer(), UserInfo("olga", ("ops", "system:authenticated"))
    assert can(authz, ops, "list", "pods", namespace="")
    assert can(authz, ops, "watch", "pods", namespace="kube-system")
    assert not can(authz, ops, "get", "secrets", namespace="kube-system")


def test_service_account_subject_and_kube_mode_role():
    store = FakeStore([role("runner-gha-rs-kube-mode", KUBE_MODE_RULES, NS),
                       binding("runner-gha-rs-kube-mode", "Role", "runner-gha-rs-kube-mode",
                               [{"kind": "ServiceAccount", "name": "runner-gha-rs-kube-mode"}], NS)])
    authz = store.authorizer()
    sa = service_account_user(NS, "runner-gha-rs-kube-mode")
    assert sa.name == "system:serviceaccount:arc-runners:runner-gha-rs-kube-mode"
    assert sa.groups == ("system:serviceaccounts", "system:serviceaccounts:arc-runners",
                         "system:authenticated")
    assert can(authz, sa, "create", "pods") and can(authz, sa, "delete", "pods", name="wf")
    assert can(authz, sa, "create", "pods", sub="exec", name="wf")
    assert can(authz, sa, "watch", "pods", sub="log", name="wf")
    assert can(authz, sa, "create", "jobs", "batch") and can(authz, sa, "create", "secrets")
    assert not can(authz, sa, "watch", "pods")            # the chart's Role has no watch on pods
    assert not can(authz, sa, "create", "pods", sub="attach", name="wf")
    assert not can(authz, sa, "create", "pods", namespace="default")
    assert not can(authz, service_account_user("other", "runner-gha-rs-kube-mode"), "create", "pods")
    assert [r for r in NOVOLUME_RULES if "jobs" in r["resources"]] == []
    assert len(NOVOLUME_RULES) == len(KUBE_MODE_RULES) - 1


def test_service_account_subject_with_explicit_namespace_in_cluster_binding():
    store = FakeStore([*bootstrap_objects(),
                       binding("ctrl", "ClusterRole", "edit",
                               [{"kind": "ServiceAccount", "name": "ctrl", "namespace": "arc-systems"}])])
    authz = store.authorizer()
    assert can(authz, service_account_user("arc-systems", "ctrl"), "create", "pods", namespace="any")
    assert not can(authz, service_account_user("default", "ctrl"), "create", "pods", namespace="any")


def test_resource_names_restrict_only_named_requests():
    rule = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"], "resourceNames": ["s1"]}
    store = FakeStore([role("one-secret", [rule], NS),
                       binding("one-secret", "Role", "one-secret", [user("viewer")], NS)])
    authz = store.authorizer()
    assert can(authz, VIEWER, "get", "secrets", name="s1")
    assert not can(authz, VIEWER, "get", "secrets", name="s2")
    assert not can(authz, VIEWER, "list", "secrets")      # a list carries no name
    assert not can(authz, VIEWER, "create", "secrets")


def test_wildcards_and_star_subresource():
    store = FakeStore([role("scaler", [{"apiGroups": ["*"], "resources": ["*/scale"], "verbs": ["*"]}], NS),
                       binding("scaler", "Role", "scaler", [user("viewer")], NS)])
    authz = store.authorizer()
    assert can(authz, VIEWER, "patch", "deployments", "apps", sub="scale", name="d")
    assert not can(authz, VIEWER, "patch", "deployments", "apps", name="d")
    assert not can(authz, VIEWER, "get", "pods", sub="log", name="p")


def test_non_resource_urls(store):
    authz = store.authorizer()
    assert can_path(authz, VIEWER, "/version")
    assert can_path(authz, VIEWER, "/api")
    assert can_path(authz, VIEWER, "/api/v1")                      # "/api/*" is a prefix rule
    assert can_path(authz, VIEWER, "/apis/actions.github.com/v1alpha1")
    assert not can_path(authz, VIEWER, "/logs")
    assert not can_path(authz, VIEWER, "/version", verb="post")
    assert can_path(authz, ANONYMOUS, "/healthz")                  # public-info-viewer
    assert not can_path(authz, ANONYMOUS, "/api")


def test_system_masters_always_allowed_even_without_objects():
    authz = FakeStore([]).authorizer()
    admin = UserInfo("kubernetes-admin", ("system:masters", "system:authenticated"))
    attrs = Attributes("delete", "secrets", namespace="kube-system", name="x")
    assert authz.authorize(admin, attrs) == (True, "")
    assert can_path(authz, admin, "/logs")


def test_allowed_reason_names_the_binding(store):
    authz = store.authorizer()
    assert authz.authorize(VIEWER, Attributes("list", "pods", namespace=NS)) == (
        True, 'RBAC: allowed by RoleBinding "viewer-view/arc-runners" of ClusterRole "view" to User "viewer"')
    assert authz.authorize(VIEWER, Attributes("get", path="/version", resource_request=False)) == (
        True, 'RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" '
              'to Group "system:authenticated"')
    sa = service_account_user(NS, "runner")
    store.add(binding("sa-view", "ClusterRole", "view", [{"kind": "ServiceAccount", "name": "runner"}], NS))
    assert authz.authorize(sa, Attributes("get", "pods", namespace=NS, name="x"))[1] == (
        'RBAC: allowed by RoleBinding "sa-view/arc-runners" of ClusterRole "view" '
        'to ServiceAccount "runner/arc-runners"')


def test_missing_role_is_reported_in_the_denial(store):
    store.add(binding("broken", "ClusterRole", "does-not-exist", [user("viewer")], NS))
    store.add(binding("broken2", "Role", "gone", [user("viewer")], NS))
    authz = store.authorizer()
    attrs = Attributes("create", "pods", namespace=NS)
    allowed, reason = authz.authorize(VIEWER, attrs)
    assert not allowed
    assert reason == ('RBAC: [clusterrole.rbac.authorization.k8s.io "does-not-exist" not found, '
                      'role.rbac.authorization.k8s.io "gone" not found]')
    assert authz.forbidden_message(VIEWER, attrs, reason) == (
        'pods is forbidden: User "viewer" cannot create resource "pods" in API group "" in the namespace '
        '"arc-runners": ' + reason)
    assert authz.authorize(VIEWER, Attributes("list", "pods", namespace=NS))[0]  # view still applies


@pytest.mark.parametrize("attrs, expected", [
    (Attributes("list", "pods", namespace=NS),
     'pods is forbidden: User "viewer" cannot list resource "pods" in API group "" '
     'in the namespace "arc-runners"'),
    (Attributes("get", "secrets", namespace=NS, name="s1"),
     'secrets "s1" is forbidden: User "viewer" cannot get resource "secrets" in API group "" '
     'in the namespace "arc-runners"'),
    (Attributes("list", "nodes"),
     'nodes is forbidden: User "viewer" cannot list resource "nodes" in API group "" at the cluster scope'),
    (Attributes("get", "pods", subresource="log", namespace="kube-system", name="r1"),
     'pods "r1" is forbidden: User "viewer" cannot get resource "pods/log" in API group "" '
     'in the namespace "kube-system"'),
    (Attributes("patch", "autoscalingrunnersets", "actions.github.com", namespace=NS, name="arc"),
     'autoscalingrunnersets.actions.github.com "arc" is forbidden: User "viewer" cannot patch resource '
     '"autoscalingrunnersets" in API group "actions.github.com" in the namespace "arc-runners"'),
    (Attributes("list", "autoscalingrunnersets", "actions.github.com"),
     'autoscalingrunnersets.actions.github.com is forbidden: User "viewer" cannot list resource '
     '"autoscalingrunnersets" in API group "actions.github.com" at the cluster scope'),
    (Attributes("get", path="/logs", resource_request=False),
     'forbidden: User "viewer" cannot get path "/logs"'),
])
def test_forbidden_message_wording(attrs, expected):
    authz = FakeStore(bootstrap_objects()).authorizer()  # viewer holds no bindings here
    assert not authz.authorize(VIEWER, attrs)[0]
    assert authz.forbidden_message(VIEWER, attrs) == expected


def test_forbidden_message_escapes_html_like_the_apiserver(store):
    attrs = Attributes("get", path="/x", resource_request=False)
    msg = store.authorizer().forbidden_message(UserInfo("a<b>&c"), attrs)
    assert msg == 'forbidden: User "a&lt;b&gt;&amp;c" cannot get path "/x"'


def test_rules_for_lists_cluster_and_namespace_rules(store):
    authz = store.authorizer()
    resource_rules, non_resource = authz.rules_for(VIEWER, NS)
    assert {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]} in resource_rules
    assert {"verbs": ["get", "list", "watch"], "apiGroups": ["actions.github.com"], "resources": ["*"]} \
        in resource_rules
    assert all("secrets" not in r.get("resources", []) for r in resource_rules)
    assert all(set(r) <= {"verbs", "apiGroups", "resources", "resourceNames"} for r in resource_rules)
    assert {"verbs": ["get"], "nonResourceURLs": ["/livez", "/readyz", "/healthz", "/version", "/version/"]} \
        in non_resource
    assert any("/api/*" in r["nonResourceURLs"] for r in non_resource)
    elsewhere, _ = authz.rules_for(VIEWER, "default")
    assert all("pods" not in r.get("resources", []) for r in elsewhere)
    assert len(elsewhere) == 1  # only system:basic-user


def test_rules_for_keeps_resource_names():
    store = FakeStore([role("r", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"],
                                   "resourceNames": ["s1"]}], NS),
                       binding("r", "Role", "r", [user("viewer")], NS)])
    assert store.authorizer().rules_for(VIEWER, NS) == (
        [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["s1"]}], [])


def test_new_binding_takes_effect_only_after_generation_bump(store):
    authz = store.authorizer()
    attrs = Attributes("create", "pods", namespace=NS)
    assert not authz.authorize(VIEWER, attrs)[0]
    calls = store.calls
    store.objects.append(binding("viewer-edit", "ClusterRole", "edit", [user("viewer")], NS))
    assert not authz.authorize(VIEWER, attrs)[0]   # cached: nothing said RBAC changed
    assert store.calls == calls                     # and nothing was re-listed
    store.generation += 1
    assert authz.authorize(VIEWER, attrs)[0]
    assert store.calls > calls
    store.objects.pop()
    store.generation += 1
    assert not authz.authorize(VIEWER, attrs)[0]


def test_malformed_objects_never_crash():
    junk = [
        {"kind": "ClusterRole", "metadata": {"name": "weird"}, "rules": "all"},
        {"kind": "ClusterRole", "metadata": {"name": "weird2"},
         "rules": [{"verbs": "get", "resources": 5}, 3]},
        {"kind": "ClusterRoleBinding", "metadata": {"name": "b1"}, "roleRef": "view",
         "subjects": {"kind": "User"}},
        {"kind": "ClusterRoleBinding", "metadata": {"name": "b2"},
         "roleRef": {"kind": "ClusterRole", "name": []},
         "subjects": [{"kind": "User", "name": "viewer"}, "x", {"kind": "ServiceAccount", "name": "sa"}]},
        {"kind": "RoleBinding", "metadata": {"name": "b3", "namespace": NS},
         "roleRef": {"kind": "Banana", "name": "x"},
         "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": 7},
                      {"kind": "Group", "name": None}]},
        {"kind": "RoleBinding", "metadata": {"name": "b4", "namespace": NS},
         "roleRef": {"kind": "ClusterRole", "name": "weird2"}, "subjects": [user("viewer")]},
    ]
    authz = FakeStore(junk).authorizer()
    allowed, reason = authz.authorize(VIEWER, Attributes("get", "pods", namespace=NS))
    assert not allowed
    assert reason == 'RBAC: clusterrole.rbac.authorization.k8s.io "" not found'
    assert authz.rules_for(VIEWER, NS) == ([], [])


def test_bootstrap_objects_look_like_a_real_cluster():
    objects = bootstrap_objects()
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for name in ("cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user",
                 "system:public-info-viewer"):
        assert ("ClusterRole", name) in names
    for name in ("cluster-admin", "system:discovery", "system:basic-user", "system:public-info-viewer"):
        assert ("ClusterRoleBinding", name) in names
    for obj in objects:
        assert obj["apiVersion"] == "rbac.authorization.k8s.io/v1"
        assert obj["metadata"]["labels"] == {"kubernetes.io/bootstrapping": "rbac-defaults"}
        assert obj["metadata"]["annotations"] == {"rbac.authorization.kubernetes.io/autoupdate": "true"}
    public = next(o for o in objects if o["kind"] == "ClusterRoleBinding"
                  and o["metadata"]["name"] == "system:public-info-viewer")
    assert [s["name"] for s in public["subjects"]] == ["system:authenticated", "system:unauthenticated"]
    objects[0]["rules"].clear()                       # callers get copies
    assert bootstrap_objects()[0]["rules"]


def test_admin_and_edit_differ_like_the_real_roles():
    store = FakeStore([*bootstrap_objects(),
                       binding("e", "ClusterRole", "edit", [user("ed")], NS),
                       binding("a", "ClusterRole", "admin", [user("ad")], NS)])
    authz = store.authorizer()
    ed, ad = UserInfo("ed"), UserInfo("ad")
    assert can(authz, ed, "create", "pods") and can(authz, ed, "get", "secrets")
    assert can(authz, ed, "patch", "autoscalingrunnersets", "actions.github.com")
    assert not can(authz, ed, "create", "rolebindings", "rbac.authorization.k8s.io")
    assert can(authz, ad, "create", "rolebindings", "rbac.authorization.k8s.io")


def test_authorize_is_fast_with_fifty_roles_and_bindings(monkeypatch):
    """What keeps authorize() fast with many roles (a figure: it was bounded at 20 µs a call here; bench/sandbox.py
    times the requests the server answers): the rules are compiled once per RBAC generation and each (user,
    namespace)'s grants collected once, so a repeated request lists nothing, collects nothing, same answer."""
    objects = bootstrap_objects()
    for i in range(25):
        ns = f"team-{i}"
        objects.append(role(f"r{i}", [dict(r) for r in KUBE_MODE_RULES], ns))
        objects.append(binding(f"b{i}", "Role", f"r{i}", [{"kind": "ServiceAccount", "name": "runner"}], ns))
    objects.append(binding("viewer-view", "ClusterRole", "view", [user("viewer")], NS))
    store = FakeStore(objects)
    authz = store.authorizer()
    sa = service_account_user("team-7", "runner")
    requests = [(VIEWER, Attributes("list", "pods", namespace=NS)),
                (VIEWER, Attributes("get", "secrets", namespace=NS, name="s")),  # denied: walks all rules
                (sa, Attributes("create", "pods", namespace="team-7")),
                (sa, Attributes("get", path="/apis", resource_request=False))]
    first = [authz.authorize(who, attrs) for who, attrs in requests]
    assert [allowed for allowed, _ in first] == [True, False, True, True]
    collected = []
    collect = rbac._collect
    monkeypatch.setattr(rbac, "_collect", lambda *args: collected.append(args) or collect(*args))
    listed = store.calls
    for _ in range(100):
        assert [authz.authorize(who, attrs) for who, attrs in requests] == first
    assert store.calls == listed and collected == []


def test_module_exports():
    assert rbac.MASTERS == "system:masters"

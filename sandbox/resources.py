"""The kinds the sandbox serves: one registry shared by discovery, routing, RBAC and tables."""

from __future__ import annotations

from dataclasses import dataclass, field

ARC_GROUP = "actions.github.com"
ARC_VERSION = "v1alpha1"

READ_VERBS = ["get", "list", "watch"]
ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    group: str            # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = tuple(ALL_VERBS)
    subresources: tuple[str, ...] = ()
    custom: bool = False  # served from a CRD: strategic merge patch is refused with 415
    singular: str = field(default="")

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def key(self) -> str:
        """Stable identifier: `pods`, `autoscalingrunnersets.actions.github.com`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()


def _r(group, version, plural, kind, namespaced, short=(), verbs=ALL_VERBS, sub=(), custom=False):
    return Resource(group, version, plural, kind, namespaced, tuple(short), tuple(verbs), tuple(sub), custom)


REVIEW_VERBS = ["create"]

RESOURCES: list[Resource] = [
    _r("", "v1", "namespaces", "Namespace", False, ["ns"], sub=["status"]),
    _r("", "v1", "pods", "Pod", True, ["po"], sub=["log", "status"]),
    _r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"], sub=["status"]),
    _r("", "v1", "persistentvolumes", "PersistentVolume", False, ["pv"], sub=["status"]),
    _r("", "v1", "events", "Event", True, ["ev"]),
    _r("", "v1", "secrets", "Secret", True),
    _r("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
    _r("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
    _r("", "v1", "nodes", "Node", False, ["no"], sub=["status"]),
    _r("", "v1", "services", "Service", True, ["svc"], sub=["status"]),
    _r("", "v1", "endpoints", "Endpoints", True, ["ep"]),
    _r("apps", "v1", "deployments", "Deployment", True, ["deploy"], sub=["status"]),
    _r("batch", "v1", "jobs", "Job", True, sub=["status"]),
    _r("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ["sc"]),
    _r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ["netpol"]),
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _r("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
       ["crd", "crds"], sub=["status"]),
    _r("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
       verbs=REVIEW_VERBS),
    _r("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False,
       verbs=REVIEW_VERBS),
    _r("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", False,
       verbs=REVIEW_VERBS),
    _r(ARC_GROUP, ARC_VERSION, "autoscalingrunnersets", "AutoscalingRunnerSet", True, sub=["status"],
       custom=True),
    _r(ARC_GROUP, ARC_VERSION, "ephemeralrunnersets", "EphemeralRunnerSet", True, sub=["status"],
       custom=True),
    _r(ARC_GROUP, ARC_VERSION, "ephemeralrunners", "EphemeralRunner", True, sub=["status"], custom=True),
    _r(ARC_GROUP, ARC_VERSION, "autoscalinglisteners", "AutoscalingListener", True, sub=["status"],
       custom=True),
]

BY_KEY: dict[str, Resource] = {r.key: r for r in RESOURCES}
BY_PATH: dict[tuple[str, str, str], Resource] = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND: dict[tuple[str, str], Resource] = {(r.group, r.kind): r for r in RESOURCES}
REVIEWS = {"selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews"}


def resource_for(api_version: str, kind: str) -> Resource | None:
    """Look up by an object's apiVersion/kind (`v1`/`Pod`, `actions.github.com/v1alpha1`/`EphemeralRunner`)."""
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return BY_KIND.get((group, kind))


def lookup(key: str) -> Resource:
    """By key (`pods`) or kind (`Pod`) — convenience for the controller and tests."""
    if key in BY_KEY:
        return BY_KEY[key]
    for r in RESOURCES:
        if r.kind == key or r.plural == key:
            return r
    raise KeyError(key)


def groups() -> dict[str, list[Resource]]:
    """group-version → resources, core as `v1`."""
    out: dict[str, list[Resource]] = {}
    for r in RESOURCES:
        out.setdefault(r.group_version, []).append(r)
    return out

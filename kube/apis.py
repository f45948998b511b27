"""The API resources arc-top reads, and raw (dict, not model) list/watch calls through the official client.

Calls go through the typed API functions with `_preload_content=False`: the client still does auth (exec
plugins, token refresh), TLS and proxies, but we parse the JSON ourselves (a `V1Pod` model costs ~20x the
time and ~100x the memory of the slim projection we keep). Nothing here imports kubernetes at module import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from kube import model

ARC_GROUP = "actions.github.com"
ARC_VERSION = "v1alpha1"
LEGACY_GROUP = "actions.summerwind.dev"


@dataclass(frozen=True)
class Resource:
    key: str                    # the model kind key the objects land in
    kind: str                   # API kind, e.g. ClusterRole
    plural: str
    api: str = "CoreV1Api"      # client class; "" = custom objects
    namespaced: bool = True
    group: str = ""
    version: str = "v1"
    snake: str = ""             # the typed function's resource part: list_namespaced_<snake>

    def list_function(self, api_client, namespace: str | None):
        """A callable(**kwargs) listing (or, with watch=True, watching) this resource in `namespace`
        (None = all namespaces, or the whole cluster for cluster-scoped kinds)."""
        from kubernetes import client

        if not self.api:
            api = client.CustomObjectsApi(api_client)
            if self.namespaced and namespace:
                return lambda **kw: api.list_namespaced_custom_object(self.group, self.version, namespace,
                                                                     self.plural, **kw)
            return lambda **kw: api.list_cluster_custom_object(self.group, self.version, self.plural, **kw)
        api = getattr(client, self.api)(api_client)
        if not self.namespaced:
            return getattr(api, f"list_{self.snake}")
        if namespace:
            fn = getattr(api, f"list_namespaced_{self.snake}")
            return lambda **kw: fn(namespace, **kw)
        return getattr(api, f"list_{self.snake}_for_all_namespaces")


def _custom(key: str, kind: str, plural: str) -> Resource:
    return Resource(key, kind, plural, api="", group=ARC_GROUP, version=ARC_VERSION)


SCALE_SETS = _custom(model.SCALE_SETS, "AutoscalingRunnerSet", "autoscalingrunnersets")
RUNNER_SETS = _custom(model.RUNNER_SETS, "EphemeralRunnerSet", "ephemeralrunnersets")
RUNNERS = _custom(model.RUNNERS, "EphemeralRunner", "ephemeralrunners")
LISTENERS = _custom(model.LISTENERS, "AutoscalingListener", "autoscalinglisteners")
PODS = Resource(model.PODS, "Pod", "pods", snake="pod")
VOLUMES = Resource(model.VOLUMES, "PersistentVolumeClaim", "persistentvolumeclaims",
                   snake="persistent_volume_claim")
EVENTS = Resource(model.EVENTS, "Event", "events", snake="event")
SECRETS = Resource(model.SECRETS, "Secret", "secrets", snake="secret")
SERVICE_ACCOUNTS = Resource(model.SERVICE_ACCOUNTS, "ServiceAccount", "serviceaccounts", snake="service_account")
NAMESPACES = Resource(model.NAMESPACES, "Namespace", "namespaces", namespaced=False, snake="namespace")
STORAGE_CLASSES = Resource(model.STORAGE_CLASSES, "StorageClass", "storageclasses", api="StorageV1Api",
                           namespaced=False, group="storage.k8s.io", snake="storage_class")
NETWORK_POLICIES = Resource(model.NETWORK_POLICIES, "NetworkPolicy", "networkpolicies", api="NetworkingV1Api",
                            group="networking.k8s.io", snake="network_policy")
_RBAC = dict(api="RbacAuthorizationV1Api", group="rbac.authorization.k8s.io")
ROLES = Resource(model.ROLES, "Role", "roles", snake="role", **_RBAC)
CLUSTER_ROLES = Resource(model.ROLES, "ClusterRole", "clusterroles", namespaced=False, snake="cluster_role", **_RBAC)
ROLE_BINDINGS = Resource(model.ROLE_BINDINGS, "RoleBinding", "rolebindings", snake="role_binding", **_RBAC)
CLUSTER_ROLE_BINDINGS = Resource(model.ROLE_BINDINGS, "ClusterRoleBinding", "clusterrolebindings",
                                 namespaced=False, snake="cluster_role_binding", **_RBAC)


def read_json(resp) -> dict:
    """The body of a `_preload_content=False` answer as a dict ({} when it is not a JSON object)."""
    try:
        data = json.loads(resp.data)
    except ValueError:
        return {}
    finally:
        resp.release_conn()
    return data if isinstance(data, dict) else {}


def list_raw(api_client, res: Resource, namespace: str | None = None, label_selector: str = "",
             field_selector: str = "", limit: int | None = None, timeout: float = 30.0) -> dict:
    """One list request as a dict (raises the client's ApiException on an HTTP error)."""
    kwargs: dict = {"_preload_content": False, "_request_timeout": (min(timeout, 10.0), timeout)}
    if label_selector:
        kwargs["label_selector"] = label_selector
    if field_selector:
        kwargs["field_selector"] = field_selector
    if limit:
        kwargs["limit"] = limit
    return read_json(res.list_function(api_client, namespace)(**kwargs))


def status_message(exc: BaseException) -> str:
    """The one-line message of an ApiException (the Status `message` the server sent, else its reason)."""
    body = getattr(exc, "body", None)
    message = ""
    if body:
        try:
            doc = json.loads(body)
            message = str(doc.get("message", "")) if isinstance(doc, dict) else ""
        except (ValueError, TypeError):
            message = ""
    if not message:
        message = str(getattr(exc, "reason", "") or exc)
    return " ".join(message.split())

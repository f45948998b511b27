"""The API resources arc-top reads, and raw (dict, not model) requests through the official client.

Requests go through the official client's ApiClient (`param_serialize` + `call_api`): it still does auth (exec
plugins, token refresh), TLS, proxies and its retries, and we parse the JSON ourselves (a `V1Pod` model costs
~20x the time and ~100x the memory of the slim projection we keep). The typed API classes are not used: importing
`CoreV1Api` alone costs 0.4 s (0.9 s while the watch threads list), as each of its hundreds of functions builds
a pydantic validator — time the first screen was waiting for. Nothing here imports kubernetes at module import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

from arc_top.kube import model

ARC_GROUP = "actions.github.com"
ARC_VERSION = "v1alpha1"
LEGACY_GROUP = "actions.summerwind.dev"


@dataclass(frozen=True)
class Resource:
    key: str                    # the model kind key the objects land in
    kind: str                   # API kind, e.g. ClusterRole
    plural: str
    namespaced: bool = True
    group: str = ""
    version: str = "v1"

    def path(self, namespace: str | None = None, name: str = "") -> str:
        """The API path of the collection (in `namespace`, or across all of them) or of one object."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        return f"{base}/{quote(name, safe='')}" if name else base

    def list_function(self, api_client, namespace: str | None):
        """A callable(**kwargs) listing (or, with watch=True, watching) this resource in `namespace`
        (None = all namespaces, or the whole cluster for cluster-scoped kinds). The keyword arguments are the
        typed client's (limit, _continue, label_selector, watch, resource_version, _request_timeout, ...);
        it returns the raw response (raises the client's ApiException on an HTTP error)."""
        path = self.path(namespace)

        def call(_request_timeout=None, _preload_content=False, **params):
            return request(api_client, "GET", path, params, timeout=_request_timeout)
        return call


_QUERY_NAMES = {"_continue": "continue"}


def _query_name(name: str) -> str:
    if name in _QUERY_NAMES:
        return _QUERY_NAMES[name]
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def request(api_client, method: str, path: str, params: dict | None = None, *, body=None,
            headers: dict | None = None, timeout=None, accept: str = "application/json"):
    """One request through the official client; the raw urllib3 response (read it, then `release_conn`).
    `params` use the typed client's names (label_selector, tail_lines, _continue, ...); None values are left
    out. Raises the client's ApiException (with status, reason and body) when the answer is not 2xx."""
    from kubernetes.client.exceptions import ApiException

    query = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        query.append((_query_name(key), str(value)))
    header_params = {"Accept": accept}
    if body is not None:
        header_params["Content-Type"] = "application/json"
    header_params.update(headers or {})
    serialized = api_client.param_serialize(method, path, query_params=query, header_params=header_params,
                                            body=body, auth_settings=["BearerToken"])
    resp = api_client.call_api(*serialized, _request_timeout=timeout)
    if not 200 <= resp.status <= 299:
        resp.read()
        raise ApiException.from_response(http_resp=resp, body=None, data=None)
    return resp.response


def _custom(key: str, kind: str, plural: str) -> Resource:
    return Resource(key, kind, plural, group=ARC_GROUP, version=ARC_VERSION)


SCALE_SETS = _custom(model.SCALE_SETS, "AutoscalingRunnerSet", "autoscalingrunnersets")
RUNNER_SETS = _custom(model.RUNNER_SETS, "EphemeralRunnerSet", "ephemeralrunnersets")
RUNNERS = _custom(model.RUNNERS, "EphemeralRunner", "ephemeralrunners")
LISTENERS = _custom(model.LISTENERS, "AutoscalingListener", "autoscalinglisteners")
PODS = Resource(model.PODS, "Pod", "pods")
VOLUMES = Resource(model.VOLUMES, "PersistentVolumeClaim", "persistentvolumeclaims")
CONFIG_MAPS = Resource("configmaps", "ConfigMap", "configmaps")
EVENTS = Resource(model.EVENTS, "Event", "events")
SECRETS = Resource(model.SECRETS, "Secret", "secrets")
SERVICE_ACCOUNTS = Resource(model.SERVICE_ACCOUNTS, "ServiceAccount", "serviceaccounts")
NAMESPACES = Resource(model.NAMESPACES, "Namespace", "namespaces", namespaced=False)
STORAGE_CLASSES = Resource(model.STORAGE_CLASSES, "StorageClass", "storageclasses",
                           namespaced=False, group="storage.k8s.io")
NETWORK_POLICIES = Resource(model.NETWORK_POLICIES, "NetworkPolicy", "networkpolicies",
                            group="networking.k8s.io")
_RBAC = dict(group="rbac.authorization.k8s.io")
ROLES = Resource(model.ROLES, "Role", "roles", **_RBAC)
CLUSTER_ROLES = Resource(model.ROLES, "ClusterRole", "clusterroles", namespaced=False, **_RBAC)
ROLE_BINDINGS = Resource(model.ROLE_BINDINGS, "RoleBinding", "rolebindings", **_RBAC)
CLUSTER_ROLE_BINDINGS = Resource(model.ROLE_BINDINGS, "ClusterRoleBinding", "clusterrolebindings",
                                 namespaced=False, **_RBAC)


try:  # a C decoder: list and watch bodies decode 2-3x faster, and with the interpreter lock held for less
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the standard library still works
    _orjson = None


def loads(data: bytes | str):
    """json.loads, through orjson when it is installed. What orjson refuses and the standard library accepts
    (NaN, Infinity) is decoded by the standard library. One difference stays: an integer beyond 64 bits (nothing
    Kubernetes sends; its big numbers are quantity strings) comes back as a float from orjson."""
    if _orjson is not None:
        try:
            return _orjson.loads(data)
        except ValueError:
            pass
    return json.loads(data)


def read_json(resp) -> dict:
    """The body of a `_preload_content=False` answer as a dict ({} when it is not a JSON object)."""
    try:
        data = loads(resp.data)
    except ValueError:
        return {}
    finally:
        resp.release_conn()
    return data if isinstance(data, dict) else {}


def pod_log(api_client, namespace: str, name: str, params: dict, timeout=None):
    """GET a pod's log (params as the typed client names them: container, previous, tail_lines, limit_bytes,
    since_seconds, timestamps, follow); the raw response to read or stream."""
    return request(api_client, "GET", PODS.path(namespace, name) + "/log", params, timeout=timeout, accept="*/*")


def pod_proxy(api_client, namespace: str, name: str, port: int, path: str, timeout=None):
    """GET through the API server's proxy to a pod's port (RBAC: get pods/proxy): the request the typed client's
    `connect_get_namespaced_pod_proxy_with_path(f"{name}:{port}", namespace, path)` makes; the raw response."""
    target = PODS.path(namespace, name) + f":{int(port)}/proxy/" + quote(path.lstrip("/"), safe="/")
    return request(api_client, "GET", target, timeout=timeout, accept="text/plain, */*")


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

"""Minimal OpenAPI v3 (`/openapi/v3`, `/openapi/v3/<gv>`): what kubectl apply/create/edit/diff/explain need.

kubectl needs, per group-version, a PATCH operation tagged with `x-kubernetes-group-version-kind` that
declares a `fieldValidation` query parameter (else it falls back to protobuf /openapi/v2 and fails), and
one schema per kind carrying the GVK list (what `explain` walks). Built-in PATCH operations deliberately
omit the strategic-merge content type: kubectl then computes strategic patches from its compiled-in Go
types instead of from these shallow schemas. ARC kinds take their schema from the installed CRDs.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence

from .crds import crd_schema
from .resources import RESOURCES, Resource

KUBE_VERSION = "v1.32.4"
_META_PREFIX = "io.k8s.apimachinery.pkg.apis.meta.v1."
_CRD_PREFIX = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."
_JSON_TYPES = ("application/json", "application/yaml")
_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")

_FREE = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_OBJECT_META = {
    "type": "object",
    "description": "Standard object's metadata.",
    "properties": {
        "name": {"type": "string", "description": "Name must be unique within a namespace."},
        "generateName": {"type": "string", "description": "Prefix used to generate a unique name."},
        "namespace": {"type": "string", "description": "Namespace defines the space within which each name "
                                                       "must be unique."},
        "labels": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Map of string keys and values that can be used to organize objects."},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"},
                        "description": "Unstructured key value map stored with a resource."},
        "uid": {"type": "string"}, "resourceVersion": {"type": "string"}, "generation": {"type": "integer"},
        "creationTimestamp": {"type": "string", "format": "date-time"},
        "deletionTimestamp": {"type": "string", "format": "date-time"},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": _FREE},
        "managedFields": {"type": "array", "items": _FREE},
    },
}

# Top-level fields of the built-in kinds besides apiVersion/kind/metadata: "o" object, "a" array,
# "m" string map, "s" string, "b" boolean. Their content is kept as-is (x-kubernetes-preserve-unknown-fields).
_SPEC_STATUS = {"spec": "o", "status": "o"}
_BUILTIN_FIELDS: dict[str, dict[str, str]] = {
    "Secret": {"data": "m", "stringData": "m", "type": "s", "immutable": "b"},
    "ConfigMap": {"data": "m", "binaryData": "m", "immutable": "b"},
    "ServiceAccount": {"secrets": "a", "imagePullSecrets": "a", "automountServiceAccountToken": "b"},
    "Endpoints": {"subsets": "a"},
    "Event": {"involvedObject": "o", "reason": "s", "message": "s", "source": "o", "firstTimestamp": "s",
              "lastTimestamp": "s", "count": "o", "type": "s", "eventTime": "s", "series": "o", "action": "s",
              "related": "o", "reportingComponent": "s", "reportingInstance": "s"},
    "StorageClass": {"provisioner": "s", "parameters": "m", "reclaimPolicy": "s", "mountOptions": "a",
                     "allowVolumeExpansion": "b", "volumeBindingMode": "s", "allowedTopologies": "a"},
    "NetworkPolicy": {"spec": "o"},
    "Role": {"rules": "a"},
    "ClusterRole": {"rules": "a", "aggregationRule": "o"},
    "RoleBinding": {"subjects": "a", "roleRef": "o"},
    "ClusterRoleBinding": {"subjects": "a", "roleRef": "o"},
}


def _field(code: str) -> dict:
    if code == "s":
        return {"type": "string"}
    if code == "b":
        return {"type": "boolean"}
    if code == "m":
        return {"type": "object", "additionalProperties": {"type": "string"}}
    if code == "a":
        return {"type": "array", "items": dict(_FREE)}
    return dict(_FREE)


def _gvk(r: Resource, kind: str | None = None) -> dict:
    return {"group": r.group, "version": r.version, "kind": kind or r.kind}


def _schema_name(r: Resource, kind: str | None = None) -> str:
    kind = kind or r.kind
    if r.custom:
        return ".".join(reversed(r.group.split("."))) + f".{r.version}.{kind}"
    if r.group == "apiextensions.k8s.io":
        return _CRD_PREFIX + kind
    return f"io.k8s.api.{r.group.split('.')[0] or 'core'}.{r.version}.{kind}"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _kind_schema(r: Resource, crds: list[dict]) -> dict:
    crd = next((c for c in crds if c.get("metadata", {}).get("name") == r.key), None)
    schema = crd_schema(crd, r.version) if crd else None
    if schema:
        out = copy.deepcopy(schema)
    else:
        fields = _BUILTIN_FIELDS.get(r.kind, _SPEC_STATUS)
        out = {"type": "object", "description": f"{r.kind} ({r.group_version}).",
               "properties": {name: _field(code) for name, code in fields.items()}}
    out.setdefault("type", "object")
    out.setdefault("description", f"{r.kind} is the Schema for the {r.plural} API")
    props = out.setdefault("properties", {})
    props["apiVersion"] = {"type": "string", "description": "APIVersion defines the versioned schema of this "
                                                            "representation of an object."}
    props["kind"] = {"type": "string", "description": "Kind is a string value representing the REST resource "
                                                      "this object represents."}
    props["metadata"] = {"allOf": [_ref(_META_PREFIX + "ObjectMeta")], "default": {},
                         "description": "Standard object's metadata."}
    out["x-kubernetes-group-version-kind"] = [_gvk(r)]
    return out


def _list_schema(r: Resource) -> dict:
    return {"type": "object", "description": f"{r.list_kind} is a list of {r.kind}.", "required": ["items"],
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "metadata": dict(_FREE),
                           "items": {"type": "array", "items": _ref(_schema_name(r))}},
            "x-kubernetes-group-version-kind": [_gvk(r, r.list_kind)]}


def _param(name: str, where: str = "query", type_: str = "string") -> dict:
    out = {"name": name, "in": where, "schema": {"type": type_, "uniqueItems": True}}
    if where == "path":
        out["required"] = True
    return out


def _op(r: Resource, action: str, verb: str, schema: str, params: list[dict],
        body: tuple[str, ...] = ()) -> dict:
    op = {
        "tags": [r.group.replace(".", "") + "_" + r.version if r.group else "core_v1"],
        "description": f"{action} {r.kind}",
        "operationId": f"{action}{r.kind}",
        "parameters": params,
        "responses": {"200": {"description": "OK",
                              "content": {t: {"schema": _ref(schema)} for t in _JSON_TYPES}}},
        "x-kubernetes-action": verb,
        "x-kubernetes-group-version-kind": _gvk(r),
    }
    if body:
        body_schema = _ref(_META_PREFIX + "Patch") if verb == "patch" else _ref(_schema_name(r))
        op["requestBody"] = {"content": {t: {"schema": body_schema} for t in body}, "required": True}
    return op


def _write_params(extra: tuple[str, ...] = ()) -> list[dict]:
    return [_param(n) for n in ("dryRun", "fieldManager", "fieldValidation", *extra)]


def _paths(r: Resource) -> dict:
    prefix = f"/apis/{r.group_version}" if r.group else "/api/v1"
    ns = "/namespaces/{namespace}" if r.namespaced else ""
    collection, item = f"{prefix}{ns}/{r.plural}", f"{prefix}{ns}/{r.plural}/{{name}}"
    path_params = [_param("namespace", "path")] if r.namespaced else []
    kind_ref, list_ref = _schema_name(r), _schema_name(r, r.list_kind)
    read = [_param(n) for n in ("labelSelector", "fieldSelector", "limit", "continue", "resourceVersion",
                                "watch")]
    coll: dict = {"parameters": path_params}
    if "list" in r.verbs:
        coll["get"] = _op(r, "list", "list", list_ref, read)
    if "create" in r.verbs:
        coll["post"] = _op(r, "create", "post", kind_ref, _write_params(), _JSON_TYPES)
    if "deletecollection" in r.verbs:
        coll["delete"] = _op(r, "deletecollection", "deletecollection", _META_PREFIX + "Status", read)
    out = {collection: coll}
    if r.namespaced and "list" in r.verbs:
        out[f"{prefix}/{r.plural}"] = {"get": _op(r, "listForAllNamespaces", "list", list_ref, read)}
    it: dict = {"parameters": [_param("name", "path"), *path_params]}
    if "get" in r.verbs:
        it["get"] = _op(r, "read", "get", kind_ref, [])
    if "update" in r.verbs:
        it["put"] = _op(r, "replace", "put", kind_ref, _write_params(), _JSON_TYPES)
    if "patch" in r.verbs:
        it["patch"] = _op(r, "patch", "patch", kind_ref, _write_params(("force",)), _PATCH_TYPES)
    if "delete" in r.verbs:
        it["delete"] = _op(r, "delete", "delete", _META_PREFIX + "Status", [_param("dryRun")])
    if len(it) > 1:
        out[item] = it
    return out


def _gv_path(r: Resource) -> str:
    return f"apis/{r.group_version}" if r.group else "api/v1"


def _build(gv_path: str, crds: list[dict]) -> dict | None:
    members = [r for r in RESOURCES if _gv_path(r) == gv_path]
    if not members:
        return None
    paths: dict = {}
    schemas: dict = {
        _META_PREFIX + "ObjectMeta": _OBJECT_META,
        _META_PREFIX + "Patch": {"type": "object", "description": "The body of a PATCH request."},
        _META_PREFIX + "Status": {**_FREE, "description": "Status is a return value for calls that don't "
                                                          "return other objects."},
    }
    for r in members:
        paths.update(_paths(r))
        schemas[_schema_name(r)] = _kind_schema(r, crds)
        schemas[_schema_name(r, r.list_kind)] = _list_schema(r)
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": KUBE_VERSION},
            "paths": paths, "components": {"schemas": schemas}}


_CACHE: dict[str, dict[str, tuple[dict, str]]] = {}


def _documents(crds: Sequence[dict]) -> dict[str, tuple[dict, str]]:
    """Every group-version document with its hash; rebuilt only when the CRD specs change."""
    key = hashlib.sha256(json.dumps([c.get("spec") for c in crds], sort_keys=True).encode()).hexdigest()
    docs = _CACHE.get(key)
    if docs is None:
        docs = {}
        for gv in dict.fromkeys(_gv_path(r) for r in RESOURCES):
            doc = _build(gv, crds)
            digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest().upper()
            docs[gv] = (doc, digest)
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = docs
    return docs


def openapi_index(crds: Sequence[dict] = ()) -> dict:
    """The `/openapi/v3` index; a hash changes whenever its document does (kubectl caches documents by it)."""
    return {"paths": {gv: {"serverRelativeURL": f"/openapi/v3/{gv}?hash={digest}"}
                      for gv, (_, digest) in _documents(crds).items()}}


def openapi_document(group_version_path: str, crds: Sequence[dict]) -> dict | None:
    """`api/v1` or `apis/<g>/<v>` → its document (cached and shared: do not mutate); None if unknown."""
    entry = _documents(crds).get(group_version_path.strip("/"))
    return entry[0] if entry else None

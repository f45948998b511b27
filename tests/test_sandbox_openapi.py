"""OpenAPI v3 shape that kubectl apply/create/edit/explain rely on."""

from __future__ import annotations

from arc_top.sandbox.crds import arc_crds
from arc_top.sandbox.openapi import openapi_document, openapi_index

ARC_GV = "apis/actions.github.com/v1alpha1"
ARS_ITEM = "/apis/actions.github.com/v1alpha1/namespaces/{namespace}/autoscalingrunnersets/{name}"


def test_index_lists_every_group_version_with_a_hash():
    index = openapi_index(arc_crds())["paths"]
    assert {"api/v1", ARC_GV, "apis/apps/v1", "apis/rbac.authorization.k8s.io/v1"} <= set(index)
    url = index[ARC_GV]["serverRelativeURL"]
    assert url.startswith(f"/openapi/v3/{ARC_GV}?hash=") and len(url.split("hash=")[1]) >= 32
    assert openapi_index(arc_crds()) == openapi_index(arc_crds())


def test_hash_follows_the_crds():
    fresh = openapi_index(arc_crds())["paths"]
    stale = openapi_index(arc_crds(with_status_phase=False))["paths"]
    assert fresh[ARC_GV] != stale[ARC_GV]
    assert fresh["api/v1"] == stale["api/v1"]


def test_ars_patch_operation_carries_gvk_and_field_validation():
    doc = openapi_document(ARC_GV, arc_crds())
    assert doc["openapi"].startswith("3.")
    patch = doc["paths"][ARS_ITEM]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "actions.github.com",
        "version": "v1alpha1",
        "kind": "AutoscalingRunnerSet",
    }
    assert any(p["name"] == "fieldValidation" and p["in"] == "query" for p in patch["parameters"])
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    post = doc["paths"]["/apis/actions.github.com/v1alpha1/namespaces/{namespace}/autoscalingrunnersets"][
        "post"
    ]
    assert any(p["name"] == "fieldValidation" for p in post["parameters"])


def test_ars_schema_comes_from_the_crd():
    schemas = openapi_document(ARC_GV, arc_crds())["components"]["schemas"]
    ars = schemas["com.github.actions.v1alpha1.AutoscalingRunnerSet"]
    assert ars["x-kubernetes-group-version-kind"] == [
        {"group": "actions.github.com", "version": "v1alpha1", "kind": "AutoscalingRunnerSet"}
    ]
    assert ars["type"] == "object" and ars["description"]
    assert {"apiVersion", "kind", "metadata", "spec", "status"} <= set(ars["properties"])
    assert ars["properties"]["spec"]["properties"]["minRunners"]["type"] == "integer"
    assert ars["properties"]["metadata"]["allOf"][0]["$ref"].split("/")[-1] in schemas


def test_core_document_paths_and_schemas():
    doc = openapi_document("api/v1", arc_crds())
    paths = doc["paths"]
    assert "/api/v1/namespaces/{namespace}/pods/{name}" in paths and "/api/v1/pods" in paths
    assert "/api/v1/namespaces/{name}" in paths and "/api/v1/nodes/{name}" in paths
    pod = doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "version": "v1", "kind": "Pod"}]
    assert pod["properties"]["spec"]["x-kubernetes-preserve-unknown-fields"] is True
    patch = paths["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "ConfigMap"


def test_review_kinds_have_only_create_and_unknown_paths_are_none():
    doc = openapi_document("apis/authorization.k8s.io/v1", [])
    ssar = doc["paths"]["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"]
    assert set(ssar) == {"parameters", "post"}
    assert "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/{name}" not in doc["paths"]
    assert openapi_document("apis/nope.example.com/v1", []) is None


def test_documents_are_cached():
    crds = arc_crds()
    assert openapi_document(ARC_GV, crds) is openapi_document(ARC_GV, arc_crds())

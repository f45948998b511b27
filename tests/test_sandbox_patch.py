"""Merge, JSON, strategic and apply patches: results, immutability of inputs, and error statuses."""

from __future__ import annotations

import copy
import json

import pytest

from arc_top.sandbox.errors import ApiError
from arc_top.sandbox.patch import (
    JSON_PATCH_REJECTED,
    PatchRejected,
    json_patch,
    merge_patch,
    patch_for_content_type,
    strategic_merge_patch,
)

ARS = {"apiVersion": "actions.github.com/v1alpha1", "kind": "AutoscalingRunnerSet",
       "metadata": {"name": "arc", "labels": {"app": "arc", "team": "ci"}, "finalizers": ["a"]},
       "spec": {"minRunners": 1, "maxRunners": 5, "list": [1, 2, 3]}}

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "r1", "finalizers": ["x", "y"]},
       "spec": {"containers": [
           {"name": "runner", "image": "r:1",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "ports": [{"containerPort": 80, "protocol": "TCP"}]},
           {"name": "dind", "image": "d:1", "volumeMounts": [{"mountPath": "/w", "name": "work"}]}],
                "tolerations": [{"key": "a"}], "volumes": [{"name": "work", "emptyDir": {}}]}}


def unchanged(fn, target, patch):
    """Apply `fn` and check that neither input was touched."""
    before_t, before_p = copy.deepcopy(target), copy.deepcopy(patch)
    result = fn(target, patch)
    assert target == before_t and patch == before_p
    return result


# --- merge patch ---------------------------------------------------------------------------------------

def test_merge_patch_rfc7386():
    out = unchanged(merge_patch, ARS, {"metadata": {"labels": {"app": None, "new": "x"}},
                                       "spec": {"minRunners": 3, "list": [9], "extra": {"a": None, "b": 1}}})
    assert out["metadata"]["labels"] == {"team": "ci", "new": "x"}
    assert out["spec"] == {"minRunners": 3, "maxRunners": 5, "list": [9], "extra": {"b": 1}}
    assert merge_patch({"a": 1}, [1, 2]) == [1, 2]
    assert merge_patch("scalar", {"a": {"b": None}}) == {"a": {}}


def test_merge_patch_result_does_not_share_structure():
    out = merge_patch(ARS, {"spec": {"minRunners": 2}})
    out["metadata"]["labels"]["mutated"] = "yes"
    assert "mutated" not in ARS["metadata"]["labels"]


# --- JSON patch ----------------------------------------------------------------------------------------

def test_json_patch_operations():
    ops = [{"op": "test", "path": "/spec/minRunners", "value": 1.0},
           {"op": "replace", "path": "/spec/minRunners", "value": 2},
           {"op": "add", "path": "/spec/list/1", "value": 7},
           {"op": "add", "path": "/spec/list/-", "value": 8},
           {"op": "remove", "path": "/spec/list/0"},
           {"op": "add", "path": "/metadata/labels/actions.github.com~1scale-set", "value": "s"},
           {"op": "add", "path": "/metadata/annotations", "value": {"a~b": "1"}},
           {"op": "test", "path": "/metadata/annotations/a~0b", "value": "1"},
           {"op": "copy", "from": "/metadata/labels/team", "path": "/metadata/labels/owner"},
           {"op": "move", "from": "/spec/maxRunners", "path": "/spec/max"}]
    out = unchanged(json_patch, ARS, ops)
    assert out["spec"] == {"minRunners": 2, "list": [7, 2, 3, 8], "max": 5}
    assert out["metadata"]["labels"] == {"app": "arc", "team": "ci", "actions.github.com/scale-set": "s",
                                         "owner": "ci"}
    assert out["metadata"]["annotations"] == {"a~b": "1"}


def test_json_patch_copy_is_independent_and_root_replace():
    out = json_patch({"a": {"x": 1}}, [{"op": "copy", "from": "/a", "path": "/b"},
                                      {"op": "replace", "path": "/b/x", "value": 2}])
    assert out == {"a": {"x": 1}, "b": {"x": 2}}
    assert json_patch({"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}]) == {"b": 2}


def test_json_patch_test_is_type_exact():
    with pytest.raises(ApiError):
        json_patch({"v": True}, [{"op": "test", "path": "/v", "value": 1}])
    with pytest.raises(ApiError):
        json_patch({"v": 1}, [{"op": "test", "path": "/v", "value": "1"}])
    assert json_patch({"v": [1, {"a": None}]}, [{"op": "test", "path": "/v", "value": [1.0, {"a": None}]}])
    assert json_patch({}, [{"op": "test", "path": "/missing", "value": None}]) == {}


@pytest.mark.parametrize("ops, message", [
    ([{"op": "test", "path": "/spec/minRunners", "value": 2}],
     "testing value /spec/minRunners failed: test failed"),
    ([{"op": "remove", "path": "/spec/x/y"}],
     'remove operation does not apply: doc is missing path: "/spec/x/y": missing value'),
    ([{"op": "remove", "path": "/spec/x"}],
     "error in remove for path: '/spec/x': unable to remove nonexistent key: x: missing value"),
    ([{"op": "add", "path": "/nope/x", "value": 1}],
     'add operation does not apply: doc is missing path: "/nope/x": missing value'),
    ([{"op": "replace", "path": "/spec/x", "value": 1}],
     "replace operation does not apply: doc is missing key: /spec/x: missing value"),
    ([{"op": "add", "path": "/spec/list/9", "value": 1}],
     "error in add for path: '/spec/list/9': Unable to access invalid index: 9: invalid index referenced"),
    ([{"op": "move", "from": "/spec/nope", "path": "/spec/x"}],
     "move operation does not apply: doc is missing from path: /spec/nope: missing value"),
    ([{"op": "frobnicate", "path": "/spec"}], "Unexpected kind: frobnicate"),
])
def test_json_patch_failures_are_422(ops, message):
    """The client sees the API server's fixed text; the sandbox keeps evanphx/json-patch's words."""
    with pytest.raises(PatchRejected) as err:
        json_patch(ARS, ops)
    assert (err.value.code, err.value.reason, err.value.message) == (422, "Invalid", JSON_PATCH_REJECTED)
    assert err.value.detail == message
    assert err.value.status() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                  "message": "the server rejected our request due to an error in our request",
                                  "reason": "Invalid", "details": {}, "code": 422}


@pytest.mark.parametrize("patch", [{"op": "add"}, [1, 2], "x"])
def test_json_patch_that_is_not_a_list_of_ops_is_400(patch):
    with pytest.raises(ApiError) as err:
        json_patch(ARS, patch)
    assert (err.value.code, err.value.reason) == (400, "BadRequest")


def test_failed_json_patch_leaves_target_alone():
    before = copy.deepcopy(ARS)
    with pytest.raises(ApiError):
        json_patch(ARS, [{"op": "replace", "path": "/spec/minRunners", "value": 9},
                         {"op": "test", "path": "/spec/minRunners", "value": 1}])
    assert ARS == before


# --- strategic merge patch -----------------------------------------------------------------------------

def containers(obj):
    return {c["name"]: c for c in obj["spec"]["containers"]}


def test_strategic_merges_lists_by_merge_key():
    patch = {"spec": {"containers": [
        {"name": "runner", "image": "r:2", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
         "ports": [{"containerPort": 80, "name": "http"}]},
        {"name": "sidecar", "image": "s:1"}],
        "tolerations": [{"key": "b"}]}}
    out = unchanged(strategic_merge_patch, POD, patch)
    runner = containers(out)["runner"]
    assert runner["image"] == "r:2"
    assert [(e["name"], e["value"]) for e in runner["env"]] == [("A", "1"), ("B", "3"), ("C", "4")]
    assert runner["ports"] == [{"containerPort": 80, "protocol": "TCP", "name": "http"}]
    assert list(containers(out)) == ["runner", "dind", "sidecar"]
    assert containers(out)["dind"] == POD["spec"]["containers"][1]
    assert out["spec"]["tolerations"] == [{"key": "b"}]  # no patch strategy: replaced


def test_strategic_delete_and_replace_directives():
    patch = {"spec": {"containers": [{"name": "dind", "$patch": "delete"}],
                      "volumes": [{"name": "cache", "emptyDir": {}}, {"$patch": "replace"}]}}
    out = unchanged(strategic_merge_patch, POD, patch)
    assert list(containers(out)) == ["runner"]
    assert out["spec"]["volumes"] == [{"name": "cache", "emptyDir": {}}]
    out = strategic_merge_patch(POD, {"spec": {"$patch": "replace", "nodeName": "n1"}})
    assert out["spec"] == {"nodeName": "n1"}
    out = strategic_merge_patch(POD, {"metadata": {"finalizers": None}, "spec": {"$patch": "delete"}})
    assert "spec" not in out and "finalizers" not in out["metadata"]


def test_strategic_finalizers_are_a_set_union_and_other_primitive_lists_replace():
    out = strategic_merge_patch(POD, {"metadata": {"finalizers": ["y", "z", "z"]}, "spec": {"args": ["a"]}})
    assert out["metadata"]["finalizers"] == ["x", "y", "z"]
    out = strategic_merge_patch(POD, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]}})
    assert out["metadata"]["finalizers"] == ["y"]


def test_strategic_set_element_order_and_retain_keys():
    patch = {"spec": {"$setElementOrder/containers": [{"name": "dind"}, {"name": "runner"}],
                      "containers": [{"name": "dind", "image": "d:2"}]}}
    out = strategic_merge_patch(POD, patch)
    assert [c["name"] for c in out["spec"]["containers"]] == ["dind", "runner"]
    out = strategic_merge_patch({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}},
                                {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}})
    assert out == {"strategy": {"type": "Recreate"}}
    with pytest.raises(ApiError) as err:
        strategic_merge_patch({}, {"strategy": {"$retainKeys": ["type"], "other": 1}})
    assert err.value.code == 422


def test_strategic_result_never_contains_directives():
    patch = {"metadata": {"$patch": "replace", "name": "r1", "labels": {"$patch": "replace", "a": "b"}},
             "spec": {"containers": [{"name": "new", "env": [{"name": "X", "$patch": "delete"}],
                                      "resources": {"$retainKeys": ["limits"], "limits": {"cpu": "1"}}}],
                      "$setElementOrder/containers": [{"name": "new"}]}}
    text = json.dumps(strategic_merge_patch(POD, patch))
    assert "$" not in text
    assert strategic_merge_patch(POD, patch)["metadata"] == {"name": "r1", "labels": {"a": "b"}}


def test_strategic_errors():
    with pytest.raises(ApiError) as err:
        strategic_merge_patch(POD, {"spec": {"containers": [{"image": "no-name"}]}})
    assert err.value.code == 400 and "does not contain declared merge key: name" in err.value.message
    with pytest.raises(ApiError) as err:
        strategic_merge_patch(POD, {"spec": {"$patch": "merge-ish"}})
    assert err.value.code == 400


# --- dispatch ------------------------------------------------------------------------------------------

def body(obj) -> bytes:
    return json.dumps(obj).encode()


def test_dispatch_by_content_type():
    label = "v1, Kind=Pod"
    out = patch_for_content_type("application/merge-patch+json; charset=utf-8", POD,
                                 body({"metadata": {"labels": {"a": "b"}}}), False, label)
    assert out["metadata"]["labels"] == {"a": "b"}
    out = patch_for_content_type("application/json-patch+json", POD,
                                 body([{"op": "add", "path": "/metadata/labels", "value": {}}]), False, label)
    assert out["metadata"]["labels"] == {}
    smp = body({"spec": {"containers": [{"name": "dind", "image": "d:9"}]}})
    out = patch_for_content_type("application/strategic-merge-patch+json", POD, smp, False, label)
    assert containers(out)["dind"]["image"] == "d:9" and "runner" in containers(out)


def test_apply_patch_accepts_json_and_yaml():
    label = "actions.github.com/v1alpha1, Kind=AutoscalingRunnerSet"
    json_body = body({"spec": {"minRunners": 4}})
    out = patch_for_content_type("application/apply-patch+yaml", ARS, json_body, True, label)
    assert out["spec"]["minRunners"] == 4 and out["spec"]["maxRunners"] == 5
    yaml_body = b"spec:\n  maxRunners: 10\nmetadata:\n  labels:\n    team: ops\n"
    out = patch_for_content_type("application/apply-patch+yaml", ARS, yaml_body, True, label)
    assert out["spec"]["maxRunners"] == 10 and out["metadata"]["labels"] == {"app": "arc", "team": "ops"}


def test_strategic_on_custom_resource_is_415():
    with pytest.raises(ApiError) as err:
        patch_for_content_type("application/strategic-merge-patch+json", ARS, b"{}", True, "x")
    assert (err.value.code, err.value.reason) == (415, "UnsupportedMediaType")
    assert err.value.message == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")


def test_unknown_content_type_is_415_and_lists_strategic_for_builtins():
    with pytest.raises(ApiError) as err:
        patch_for_content_type("text/plain", POD, b"{}", False, "v1, Kind=Pod")
    assert err.value.code == 415 and "application/strategic-merge-patch+json" in err.value.message


@pytest.mark.parametrize("ctype", ["application/merge-patch+json", "application/json-patch+json",
                                   "application/strategic-merge-patch+json"])
def test_invalid_json_body_is_400(ctype):
    with pytest.raises(ApiError) as err:
        patch_for_content_type(ctype, POD, b"{not json", False, "v1, Kind=Pod")
    assert (err.value.code, err.value.reason) == (400, "BadRequest")


def test_patch_that_turns_the_object_into_a_non_object_is_400():
    with pytest.raises(ApiError) as err:
        patch_for_content_type("application/merge-patch+json", POD, b"[1]", False, "v1, Kind=Pod")
    assert err.value.code == 400 and "v1, Kind=Pod" in err.value.message


def test_invalid_apply_yaml_is_400():
    with pytest.raises(ApiError) as err:
        patch_for_content_type("application/apply-patch+yaml", ARS, b"spec: [unclosed", True, "x")
    assert err.value.code == 400 and err.value.message.startswith("error decoding YAML")

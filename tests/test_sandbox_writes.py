"""Conditional and dry-run writes as the real API server answers them: DELETE preconditions (uid and
resourceVersion, dry run or not), a JSON patch whose `test` op fails, and PATCH ?dryRun=All."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from arc_top.sandbox.controller.common import ARS
from arc_top.sandbox.store import Store
from tests.conftest import Kubectl, api_client

GROUP, VERSION, PLURAL = "actions.github.com", "v1alpha1", "autoscalingrunnersets"
REJECTED = "the server rejected our request due to an error in our request"


@pytest.fixture(scope="module")
def core(healthy):
    return client.CoreV1Api(api_client(healthy))


@pytest.fixture(scope="module")
def custom(healthy):
    return client.CustomObjectsApi(api_client(healthy))


@pytest.fixture(scope="module")
def kubectl(healthy, tmp_path_factory) -> Kubectl:
    return Kubectl(healthy, str(tmp_path_factory.mktemp("kubectl-cache")))


@pytest.fixture()
def cm(core):
    """A ConfigMap in a namespace of its own: nothing but the test touches it."""
    ns = "writes-" + uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": ns}})
    made = core.create_namespaced_config_map(ns, {"metadata": {"name": "target"}, "data": {"k": "v"}})
    return ns, made.metadata.uid, made.metadata.resource_version


def status_of(info) -> dict:
    return json.loads(info.value.body)


def delete_options(uid=None, rv=None, dry_run=False) -> client.V1DeleteOptions:
    return client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=uid, resource_version=rv),
                                  dry_run=["All"] if dry_run else None)


# ---- DELETE preconditions -----------------------------------------------------------------------------------
def test_delete_with_a_wrong_uid_is_a_conflict_and_deletes_nothing(core, cm):
    ns, uid, rv = cm
    with pytest.raises(ApiException) as info:
        core.delete_namespaced_config_map("target", ns, body=delete_options(uid="0000-stale"))
    assert info.value.status == 409
    body = status_of(info)
    assert (body["kind"], body["status"], body["reason"], body["code"]) == ("Status", "Failure", "Conflict", 409)
    assert body["message"] == (
        f'Operation cannot be fulfilled on ConfigMap "target": the UID in the precondition (0000-stale) does not '
        f"match the UID in record ({uid}). The object might have been deleted and then recreated")
    assert body["details"] == {"name": "target", "kind": "ConfigMap"}
    assert core.read_namespaced_config_map("target", ns).metadata.resource_version == rv


def test_delete_with_a_stale_resource_version_is_a_conflict(core, cm):
    ns, uid, rv = cm
    core.patch_namespaced_config_map("target", ns, {"data": {"k": "changed"}})
    now = core.read_namespaced_config_map("target", ns).metadata.resource_version
    with pytest.raises(ApiException) as info:
        core.delete_namespaced_config_map("target", ns, body=delete_options(uid=uid, rv=rv))
    assert info.value.status == 409 and status_of(info)["reason"] == "Conflict"
    assert status_of(info)["message"] == (
        f'Operation cannot be fulfilled on ConfigMap "target": the ResourceVersion in the precondition ({rv}) '
        f"does not match the ResourceVersion in record ({now}). The object might have been modified")
    core.delete_namespaced_config_map("target", ns, body=delete_options(uid=uid, rv=now))
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("target", ns)
    assert gone.value.status == 404


def test_dry_run_delete_checks_preconditions_and_changes_nothing(core, cm):
    ns, uid, rv = cm
    for dry in ({"dry_run": "All"}, {}):          # ?dryRun=All, or dryRun: ["All"] in the DeleteOptions body
        options = delete_options(uid=uid, rv="1", dry_run=not dry)
        with pytest.raises(ApiException) as info:
            core.delete_namespaced_config_map("target", ns, body=options, **dry)
        assert info.value.status == 409 and "ResourceVersion in the precondition (1)" in status_of(info)["message"]
        with pytest.raises(ApiException) as info:
            core.delete_namespaced_config_map("target", ns, body=delete_options(uid="x", dry_run=not dry), **dry)
        assert info.value.status == 409 and "UID in the precondition (x)" in status_of(info)["message"]
        core.delete_namespaced_config_map("target", ns, body=delete_options(uid=uid, rv=rv, dry_run=not dry),
                                          **dry)
        after = core.read_namespaced_config_map("target", ns)
        assert (after.metadata.uid, after.metadata.resource_version, after.data) == (uid, rv, {"k": "v"})


def test_custom_resource_precondition_names_the_kind_and_group(healthy, custom):
    ns = healthy.scenario.namespace
    with healthy.paused():                           # the controller writes the ARS status: hold its version
        ars = custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)["items"][0]
        name, rv = ars["metadata"]["name"], ars["metadata"]["resourceVersion"]
        with pytest.raises(ApiException) as info:
            custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name,
                                                   body=delete_options(rv="1", dry_run=True))
        assert status_of(info)["message"] == (
            f'Operation cannot be fulfilled on AutoscalingRunnerSet.actions.github.com "{name}": the '
            f"ResourceVersion in the precondition (1) does not match the ResourceVersion in record ({rv}). "
            "The object might have been modified")
        assert status_of(info)["details"] == {"name": name, "group": GROUP, "kind": "AutoscalingRunnerSet"}
        custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name,
                                               body=delete_options(rv=rv, dry_run=True))
        kept = healthy.cluster.get(ARS, ns, name)
        assert kept["metadata"]["resourceVersion"] == rv and not kept["metadata"].get("deletionTimestamp")


def test_store_checks_uid_before_resource_version_and_an_empty_precondition_counts():
    from arc_top.sandbox.errors import ApiError
    from arc_top.sandbox.resources import lookup

    store, res = Store(), lookup("namespaces")
    made = store.create(res, {"metadata": {"name": "a"}})
    with pytest.raises(ApiError) as info:
        store.delete(res, None, "a", precondition_uid="u", precondition_rv="0")
    assert "the UID in the precondition (u)" in info.value.message
    with pytest.raises(ApiError) as info:
        store.delete(res, None, "a", precondition_uid="")
    assert info.value.code == 409
    store.delete(res, None, "a", precondition_uid=made["metadata"]["uid"],
                 precondition_rv=made["metadata"]["resourceVersion"])
    assert store.get("namespaces", None, "a") is None


def test_string_data_is_folded_into_data_as_the_api_server_stores_secrets(core, cm):
    ns, _, _ = cm
    core.create_namespaced_secret(ns, {"metadata": {"name": "tok"}, "data": {"a": "eA==", "b": "eA=="},
                                       "stringData": {"b": "token\n"}})
    stored = core.read_namespaced_secret("tok", ns)
    assert stored.type == "Opaque" and stored.string_data is None
    assert stored.data == {"a": "eA==", "b": base64.b64encode(b"token\n").decode()}
    core.patch_namespaced_secret("tok", ns, {"stringData": {"a": "y"}})
    assert core.read_namespaced_secret("tok", ns).data["a"] == base64.b64encode(b"y").decode()


# ---- PATCH ---------------------------------------------------------------------------------------------------
def test_a_failed_json_patch_test_op_is_the_servers_generic_422(core, cm):
    ns, _, rv = cm
    with pytest.raises(ApiException) as info:
        core.patch_namespaced_config_map("target", ns, [{"op": "test", "path": "/data/k", "value": "other"},
                                                        {"op": "replace", "path": "/data/k", "value": "x"}])
    assert info.value.status == 422
    assert status_of(info) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": REJECTED, "reason": "Invalid", "details": {}, "code": 422}
    with pytest.raises(ApiException) as info:     # a path that is not there: the very same answer
        core.patch_namespaced_config_map("target", ns, [{"op": "replace", "path": "/data/nope", "value": "x"}])
    assert info.value.status == 422 and status_of(info)["message"] == REJECTED
    after = core.read_namespaced_config_map("target", ns)
    assert (after.metadata.resource_version, after.data) == (rv, {"k": "v"})


def test_kubectl_prints_the_request_is_invalid_for_a_failed_test_op(kubectl, cm):
    ns, _, _ = cm
    failed = kubectl("patch", "configmap", "target", "-n", ns, "--type", "json", "-p",
                     '[{"op":"test","path":"/data/k","value":"other"},{"op":"replace","path":"/data/k","value":"x"}]',
                     check=False)
    assert failed.returncode == 1
    assert f"The request is invalid: {REJECTED}" in failed.stderr
    ok = kubectl("patch", "configmap", "target", "-n", ns, "--type", "json", "-p",
                 '[{"op":"test","path":"/data/k","value":"v"},{"op":"replace","path":"/data/k","value":"x"}]')
    assert "patched" in ok.stdout


def test_dry_run_patch_returns_the_would_be_object_and_stores_nothing(healthy, custom):
    ns = healthy.scenario.namespace
    with healthy.paused():                           # the controller writes the ARS status: hold its version
        stored = custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)["items"][0]
        name, meta = stored["metadata"]["name"], stored["metadata"]
        wanted = (stored["spec"].get("maxRunners") or 0) + 7
        mark = healthy.mark()
        out = custom.patch_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL, name, [{"op": "replace", "path": "/spec/maxRunners", "value": wanted}],
            dry_run="All", _content_type="application/json-patch+json")
        assert out["spec"]["maxRunners"] == wanted
        assert out["metadata"]["generation"] == meta["generation"] + 1       # as the update would make it
        assert out["metadata"]["resourceVersion"] == meta["resourceVersion"]
        after = healthy.cluster.get(ARS, ns, name)
        assert after["spec"] == stored["spec"]
        assert after["metadata"]["resourceVersion"] == meta["resourceVersion"]
        assert after["metadata"]["generation"] == meta["generation"]
        assert [(r.method, r.dry_run) for r in healthy.mutating_since(mark)] == [("PATCH", True)]
        merged = custom.patch_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name,
                                                       {"metadata": {"labels": {"dry": "run"}}}, dry_run="All")
        assert merged["metadata"]["labels"]["dry"] == "run"
        assert "dry" not in (healthy.cluster.get(ARS, ns, name)["metadata"].get("labels") or {})
        assert healthy.cluster.get(ARS, ns, name)["metadata"]["resourceVersion"] == meta["resourceVersion"]

"""`sandbox --from` keeps what saved files show beyond their objects (cli/replay_facts.py → sandbox.replay.DumpFacts):
the ARC CRDs of the version their schemas match, scale sets unregistered for the reason the controller's log gives
(untrusted certificate, rejected credential), and the scale sets' ages."""

from __future__ import annotations

import calendar
import json
import time

import pytest
import yaml
from kubernetes import client

from arc_top.cli.replay_facts import crds_version
from arc_top.cli.sandbox_cmd import completion_lines, replay_objects
from arc_top.sandbox import crds
from arc_top.sandbox.replay import DumpFacts, replay_document
from arc_top.sandbox.run import start_sandbox
from tests.conftest import api_client
from tests.waiting import wait_for

RUNNER_IMAGE = "ghcr.io/actions/actions-runner:2.321.0"
ARS_PLURAL = ("actions.github.com", "v1alpha1", "ci", "autoscalingrunnersets")


def _served(version: str) -> list[dict]:
    phase = tuple(int(p) for p in version.split(".")[:2]) >= (0, 14)
    return crds.arc_crds(with_status_phase=phase, controller_version=version)


def _outline(crd: dict) -> dict:
    """The CRD as `arc-top dump` keeps it: versions with the types of spec's and status's top-level fields only."""
    out = json.loads(json.dumps(crd))
    for version in out["spec"]["versions"]:
        props = version["schema"]["openAPIV3Schema"]["properties"]
        for part in ("spec", "status"):
            fields = props.get(part, {}).get("properties", {})
            props[part] = {"type": "object", "properties": {
                name: {k: v for k, v in sub.items() if k in ("type", "x-kubernetes-preserve-unknown-fields")}
                | ({"additionalProperties": {"type": sub["additionalProperties"]["type"]}}
                   if isinstance(sub.get("additionalProperties"), dict) else {})
                for name, sub in fields.items()}}
    out.pop("status", None)
    return out


@pytest.mark.parametrize(("served", "inferred"), [("0.6.0", "0.6.0"), ("0.9.0", "0.9.0"), ("0.10.0", "0.9.0"),
                                                  ("0.11.0", "0.11.0"), ("0.12.0", "0.12.0"), ("0.13.0", "0.13.0"),
                                                  ("0.14.2", "0.14.0")])
def test_the_crds_version_is_the_one_whose_fields_match_the_saved_schemas(served, inferred):
    """0.10 changed no CRD field: its CRDs are 0.9's. A dump keeps only the outline of the schemas: same answer."""
    version, why = crds_version(_served(served))
    assert version == inferred and "match exactly" in why
    assert crds_version([_outline(c) for c in _served(served)])[0] == inferred


def test_the_crds_version_from_some_crds_or_none():
    only_ars = [c for c in _served("0.11.0") if c["spec"]["names"]["kind"] == "AutoscalingRunnerSet"]
    assert crds_version(only_ars) == ("0.11.0", "the schemas of the files' 1 ARC CRD match exactly")
    assert crds_version([]) == ("", "")
    other = json.loads(json.dumps(_served("0.11.0")[0]))
    other["spec"]["group"] = "example.com"
    no_schema = {"kind": "CustomResourceDefinition", "spec": {"group": "actions.github.com", "names": {
        "kind": "AutoscalingRunnerSet"}, "versions": [{"name": "v1alpha1", "served": True, "schema": "[red]x"}]}}
    assert crds_version([other, no_schema, {"kind": "CustomResourceDefinition", "spec": []}]) == ("", "")
    # one field off (a hand-edited or patched CRD): still the nearest version, said to differ
    edited = json.loads(json.dumps(_served("0.12.0")))
    del edited[0]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"][
        "vaultConfig"]
    version, why = crds_version(edited)
    assert version in ("0.11.0", "0.12.0") and "1 field differ" in why


def test_the_replay_document_serves_the_inferred_crds_and_says_so():
    ars = {"apiVersion": "actions.github.com/v1alpha1", "kind": "AutoscalingRunnerSet",
           "metadata": {"name": "a", "namespace": "ci"}, "spec": {"githubConfigUrl": "https://github.com/o"}}
    doc, b = replay_document([ars], "https://127.0.0.1:1", facts=DumpFacts(crds_version="0.11.0", crds_why="w"))
    assert doc["crds_version"] == "0.11.0"
    assert b.reproduced == ["CRDs: the ARC CRDs of chart 0.11.0 are served (w)"]
    doc, b = replay_document([ars], "https://127.0.0.1:1", facts=DumpFacts(crds_version="0.11; rm -rf"))
    assert "crds_version" not in doc and not b.reproduced
    doc, b = replay_document([ars], "https://127.0.0.1:1")
    assert "crds_version" not in doc and not b.reproduced


def _stamp(seconds_ago: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - seconds_ago))


def _set(name: str, secret: str) -> dict:
    return {"apiVersion": "actions.github.com/v1alpha1", "kind": "AutoscalingRunnerSet",
            "metadata": {"name": name, "namespace": "ci", "creationTimestamp": _stamp(900),
                         "uid": f"00000000-0000-0000-0000-00000000000{len(name)}"},
            "spec": {"githubConfigUrl": "https://ghe.example.com/my-org", "githubConfigSecret": secret,
                     "minRunners": 0, "maxRunners": 2,
                     "template": {"spec": {"containers": [{"name": "runner", "image": RUNNER_IMAGE,
                                                           "command": ["/home/runner/run.sh"]}]}}}}


def _line(seconds_ago: float, name: str, error: str) -> str:
    fields = json.dumps({"autoscalingrunnerset": {"name": name, "namespace": "ci"}, "error": error})
    return (f"{_stamp(seconds_ago)}\tERROR\tAutoscalingRunnerSet\tFailed to get runner scale set from Actions "
            f"service\t{fields}")


def _cluster_file(tmp_path, with_log: bool) -> str:
    token = "ghp_" + "Zx9" * 12
    items = [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": s, "namespace": "ci"}, "type": "Opaque",
              "stringData": {"github_token": token}} for s in ("pat", "old-pat")]
    items += [_set("works", "pat"), _set("untrusted", "pat"), _set("revoked", "old-pat")]
    items[2]["metadata"]["managedFields"] = [       # `works`: its spec last changed 300 s ago (kubectl edit)
        {"manager": "kubectl-edit", "operation": "Update", "time": _stamp(300), "fieldsType": "FieldsV1",
         "fieldsV1": {"f:spec": {"f:maxRunners": {}}}}]
    log = "\n".join([
        _line(120, "untrusted", 'failed to get runner registration token on refresh: Post "https://ghe.example.com/api'
                                '/v3/orgs/my-org/actions/runners/registration-token": tls: failed to verify '
                                "certificate: x509: certificate signed by unknown authority"),
        _line(60, "revoked", "failed to get runner registration token on refresh: actions error: StatusCode 401, "
                             "Bad credentials"),
    ])
    if with_log:
        items.append({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "arc-gha-rs-controller-6d4f9-x2x7p", "namespace": "arc-systems", "creationTimestamp": _stamp(7200),
            "labels": {"app.kubernetes.io/part-of": "gha-rs-controller", "app.kubernetes.io/name": "gha-rs-controller",
                       "app.kubernetes.io/component": "controller-manager"},
            "annotations": {"arc-top.io/log.manager": log}},
            "spec": {"containers": [{"name": "manager",
                                     "image": "ghcr.io/actions/gha-runner-scale-set-controller:0.14.2"}]},
            "status": {"phase": "Running"}})
    path = tmp_path / ("with-log.yaml" if with_log else "no-log.yaml")
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    return str(path)


def _annotations(api, name: str) -> dict:
    return api.get_namespaced_custom_object(*ARS_PLURAL, name)["metadata"].get("annotations") or {}


def test_sets_the_controller_log_shows_failing_to_register_stay_unregistered_for_that_reason(tmp_path):
    """A kubectl-style file: three scale sets, none registered, created 15 minutes ago; the controller's log (a
    hand-written tail on its pod) shows `untrusted` failing on GitHub's certificate and `revoked` on a 401. The
    replay registers `works`, and the other two keep failing for the same reasons, as old as in the file."""
    loaded = replay_objects([_cluster_file(tmp_path, with_log=True)])
    assert not isinstance(loaded, str), loaded
    raw, facts = loaded
    assert {k: v[0] for k, v in facts.unregistered.items()} == {("ci", "untrusted"): "tls",
                                                                ("ci", "revoked"): "credentials"}
    # saved about when the newest thing in the file happened (the log line of 60 s ago): created 840 s before that
    assert all(780 < created < 900 for created, _changed in facts.ages.values()) and len(facts.ages) == 3
    assert 200 < facts.ages[("ci", "works")][1] < 260 and facts.ages[("ci", "untrusted")][1] == 0.0
    sb = start_sandbox(kubeconfig_path=str(tmp_path / "kubeconfig"), replay=raw, facts=facts)
    try:
        lines = completion_lines(sb)
        assert any(line.startswith("  kept: registration: 2 scale sets stay unregistered") and "ci/untrusted" in line
                   and "ci/revoked" in line for line in lines), lines
        assert any(line.startswith("  kept: ages: 3 scale sets") for line in lines), lines
        api = client.CustomObjectsApi(api_client(sb))
        wait_for(lambda: "runner-scale-set-id" in _annotations(api, "works"), timeout=60, step=0.5,
                 what="the set without evidence registered")
        core = client.CoreV1Api(api_client(sb))

        def failures() -> dict:
            pods = core.list_namespaced_pod("arc-systems",
                                            label_selector="app.kubernetes.io/component=controller-manager").items
            found = {}
            for pod in pods:
                for line in core.read_namespaced_pod_log(pod.metadata.name, "arc-systems").splitlines():
                    for name in ("untrusted", "revoked"):
                        if f'"name": "{name}"' in line or f'"name":"{name}"' in line:
                            if "x509: certificate signed by unknown authority" in line:
                                found.setdefault(name, set()).add("tls")
                            if "Bad credentials" in line:      # not "401": epoch times hold it by chance
                                found.setdefault(name, set()).add("credentials")
            return found if {"untrusted", "revoked"} <= set(found) else None
        found = wait_for(failures, timeout=60, step=0.5, what="the controller's registration errors")
        assert found == {"untrusted": {"tls"}, "revoked": {"credentials"}}
        for name in ("untrusted", "revoked"):
            assert "runner-scale-set-id" not in _annotations(api, name)
        created = api.get_namespaced_custom_object(*ARS_PLURAL, "untrusted")["metadata"]["creationTimestamp"]
        assert time.time() - calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ")) > 780
        [changed] = api.get_namespaced_custom_object(*ARS_PLURAL, "works")["metadata"]["managedFields"]
        assert "f:spec" in changed["fieldsV1"]
        assert 200 < time.time() - calendar.timegm(time.strptime(changed["time"], "%Y-%m-%dT%H:%M:%SZ")) < 600
    finally:
        sb.stop()


def test_without_the_controllers_word_every_set_registers(tmp_path):
    """The same file without the controller's log: nothing says why the sets were unregistered, so the replay
    registers them all (as it always did)."""
    raw, facts = replay_objects([_cluster_file(tmp_path, with_log=False)])
    assert facts.unregistered == {}
    sb = start_sandbox(kubeconfig_path=str(tmp_path / "kubeconfig"), replay=raw, facts=facts)
    try:
        assert not any("registration:" in line for line in completion_lines(sb))
        api = client.CustomObjectsApi(api_client(sb))
        wait_for(lambda: all("runner-scale-set-id" in _annotations(api, n) for n in ("works", "untrusted", "revoked")),
                 timeout=60, step=0.5, what="every set registered")
    finally:
        sb.stop()

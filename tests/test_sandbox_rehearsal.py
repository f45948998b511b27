"""Rehearsing the documented fixes end to end with the operator's own tools: kubectl patches the
ARS over HTTPS, the simulation reacts, and the official client reads the outcome back."""

from __future__ import annotations

import json

from kubernetes import client

from tests.waiting import wait_for

NS = "arc-runners"


def runner_pods(core, ars: str) -> list:
    pods = core.list_namespaced_pod(NS, label_selector=f"actions.github.com/scale-set-name={ars},"
                                                       "app.kubernetes.io/component=runner").items
    return [p for p in pods if not p.metadata.name.endswith("-workflow")]


def test_kube_permissions_fs_group_patch_heals_new_runners(sandbox_for):
    # Slower than the default: a failing runner lives only a few simulated seconds after its error,
    # and the test reads logs over HTTPS like an operator would.
    sb, kubectl, core = sandbox_for("kube-permissions", speed=3.0)
    ars = "arc-runner-set"

    def denied_log_seen() -> bool:
        for pod in runner_pods(core, ars):
            try:
                if "is denied" in core.read_namespaced_pod_log(pod.metadata.name, NS, container="runner"):
                    return True
            except client.ApiException:
                pass
        return False
    wait_for(denied_log_seen, what="a runner logging the _work permission error")
    before = {p.metadata.name for p in runner_pods(core, ars)}
    kubectl("patch", "autoscalingrunnerset", ars, "-n", NS, "--type", "merge",
            "-p", json.dumps({"spec": {"template": {"spec": {"securityContext": {"fsGroup": 123}}}}}))

    def healed() -> bool:
        for pod in runner_pods(core, ars):
            if pod.metadata.name in before or pod.status is None or pod.status.phase != "Running":
                continue
            if pod.spec.security_context and pod.spec.security_context.fs_group == 123:
                try:
                    log = core.read_namespaced_pod_log(pod.metadata.name, NS, container="runner")
                except client.ApiException:
                    continue          # listed, then gone (a runner that finished its job): look at the others
                if "Listening for Jobs" in log and "is denied" not in log:
                    return True
        return False
    wait_for(healed, timeout=60, what="a new runner healthy after the fsGroup patch")


def test_pvc_pending_storage_class_patch_binds_new_claims(sandbox_for):
    sb, kubectl, core = sandbox_for("pvc-pending")
    ars = "arc-runner-set"

    def pending_with_event() -> bool:
        claims = core.list_namespaced_persistent_volume_claim(NS).items
        events = core.list_namespaced_event(NS, field_selector="reason=ProvisioningFailed").items
        return any(c.status is not None and c.status.phase == "Pending" for c in claims) and any(
            'storageclass.storage.k8s.io "fast-ssd" not found' in e.message for e in events)
    wait_for(pending_with_event, what="a Pending claim and its ProvisioningFailed event")
    template = kubectl("get", "autoscalingrunnerset", ars, "-n", NS, "-o", "json").stdout
    volumes = json.loads(template)["spec"]["template"]["spec"]["volumes"]
    index = next(i for i, v in enumerate(volumes) if v["name"] == "work")
    path = f"/spec/template/spec/volumes/{index}/ephemeral/volumeClaimTemplate/spec/storageClassName"
    kubectl("patch", "autoscalingrunnerset", ars, "-n", NS, "--type", "json",
            "-p", json.dumps([{"op": "test", "path": path, "value": "fast-ssd"},
                              {"op": "replace", "path": path, "value": "gp3"}]))

    def bound_and_running() -> bool:
        claims = {c.metadata.name: c for c in core.list_namespaced_persistent_volume_claim(NS).items}
        for p in runner_pods(core, ars):
            claim = claims.get(f"{p.metadata.name}-work")
            if p.status is None or claim is None or claim.status is None:     # just created: no status yet
                continue
            if p.status.phase == "Running" and claim.status.phase == "Bound" and claim.spec.storage_class_name == "gp3":
                return True
        return False
    wait_for(bound_and_running, what="new work volumes bound after the storage class fix")

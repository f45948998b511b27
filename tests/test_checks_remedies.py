"""The fix catalogue (checks/remedies.py) and the plan helpers (checks/fixplan.py), pure: live objects in,
writes out. The sandbox rehearsals (tests/test_fixes_rehearsal.py) send these plans to an API server."""

from __future__ import annotations

import base64
import copy

import pytest

from arc_top.checks import remedies
from arc_top.checks.finding import ERROR, Finding, Subject
from arc_top.checks.fixplan import (
    Facts,
    PatchFailed,
    PlanError,
    apply_patch,
    diff,
    inverse_patch,
    mask_ops,
    mask_secret_value,
    masked_object,
)
from arc_top.kube.operations import DELETE, PATCH

TOKEN = "ghp_" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXyZ0a1b2"


def ars(spec: dict | None = None, rv: str = "41", **meta) -> dict:
    template_spec = spec if spec is not None else {
        "containers": [{"name": "runner", "image": "ghcr.io/actions/actions-runner:2.321.0",
                        "volumeMounts": [{"name": "work", "mountPath": "/home/runner/_work"}]}],
        "volumes": [{"name": "work", "ephemeral": {"volumeClaimTemplate": {"spec": {
            "accessModes": ["ReadWriteOnce"], "storageClassName": "gp3",
            "resources": {"requests": {"storage": "1Gi"}}}}}}]}
    return {"apiVersion": "actions.github.com/v1alpha1", "kind": "AutoscalingRunnerSet",
            "metadata": {"name": "arc-runner-set", "namespace": "arc-runners", "uid": "u-ars", "resourceVersion": rv,
                         "generation": 3, **meta},
            "spec": {"githubConfigUrl": "https://github.com/arc-org", "template": {"spec": template_spec}},
            "status": {"currentRunners": 2}}


def finding(code: str, kind: str = "AutoscalingRunnerSet", ns: str = "arc-runners", name: str = "arc-runner-set",
            scale_set: str = "arc-runners/arc-runner-set", severity: str = ERROR, title: str = "t") -> Finding:
    return Finding(code, severity, title, Subject(kind, ns, name, "u"), scale_set=scale_set)


def writes(op) -> list[dict]:
    return [o for o in op.patch if o["op"] != "test"]


# ---- ARC501 / ARC502 / ARC508 ------------------------------------------------------------------------------------
def test_fs_group_is_the_default_for_arc501_and_is_guarded_by_the_resource_version():
    plan = remedies.plan(finding("ARC501"), Facts(ars()))
    assert [v.name for v in plan.variants] == ["fs-group", "chown-init"]
    op = plan.variants[0].operations[0]
    assert op.verb == PATCH and op.target.kind == "AutoscalingRunnerSet" and op.target.name == "arc-runner-set"
    assert op.patch[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "41"}
    assert writes(op) == [{"op": "add", "path": "/spec/template/spec/securityContext", "value": {"fsGroup": 123}}]
    result = apply_patch(ars(), op.patch)
    assert result["spec"]["template"]["spec"]["securityContext"] == {"fsGroup": 123}
    assert plan.title == "Fix ARC501 · AutoscalingRunnerSet arc-runners/arc-runner-set"


def test_fs_group_joins_an_existing_security_context():
    spec = ars()["spec"]["template"]["spec"]
    spec["securityContext"] = {"runAsNonRoot": True}
    op = remedies.plan(finding("ARC501"), Facts(ars(spec))).variants[0].operations[0]
    assert writes(op) == [{"op": "add", "path": "/spec/template/spec/securityContext/fsGroup", "value": 123}]


def test_arc502_on_a_pod_fixes_its_scale_set():
    f = finding("ARC502", kind="Pod", name="arc-runner-set-abc-runner-x")
    assert remedies.needs(f).target.label() == "AutoscalingRunnerSet arc-runners/arc-runner-set"


def test_chown_init_container_mounts_the_work_volume_and_runs_as_root():
    plan = remedies.plan(finding("ARC508"), Facts(ars()))
    assert plan.variants[0].name == "chown-init"
    op = plan.variants[0].operations[0]
    (add,) = writes(op)
    init = add["value"][0]
    assert add["path"] == "/spec/template/spec/initContainers"
    assert init["volumeMounts"] == [{"name": "work", "mountPath": "/home/runner/_work"}]
    assert init["securityContext"] == {"runAsUser": 0}
    assert init["image"] == "ghcr.io/actions/actions-runner:2.321.0"      # the runner's own image
    assert "chown -R 1001:123 /home/runner/_work" in " ".join(init["command"])


def test_arc508_offers_no_fs_group_when_it_is_set_already():
    spec = ars()["spec"]["template"]["spec"]
    spec["securityContext"] = {"fsGroup": 123}
    spec["initContainers"] = [{"name": "other", "image": "busybox"}]
    plan = remedies.plan(finding("ARC508"), Facts(ars(spec)))
    assert [v.name for v in plan.variants] == ["chown-init"]
    (add,) = writes(plan.variants[0].operations[0])
    assert add["path"] == "/spec/template/spec/initContainers/1"       # appended, the existing one kept


def test_arc507_mounts_the_work_volume_in_the_existing_init_container():
    spec = ars()["spec"]["template"]["spec"]
    spec["initContainers"] = [{"name": "init-work", "image": "ghcr.io/actions/actions-runner:latest",
                               "command": ["sudo", "chown", "-R", "1001:123", "/home/runner/_work"]}]
    plan = remedies.plan(finding("ARC507"), Facts(ars(spec)))
    op = plan.variants[0].operations[0]
    assert {"op": "test", "path": "/spec/template/spec/initContainers/0/name", "value": "init-work"} in op.patch
    result = apply_patch(ars(spec), op.patch)["spec"]["template"]["spec"]["initContainers"][0]
    assert result["volumeMounts"] == [{"name": "work", "mountPath": "/home/runner/_work"}]
    assert result["securityContext"]["runAsUser"] == 0


def test_a_plan_made_against_an_old_object_fails_its_resource_version_test():
    op = remedies.plan(finding("ARC501"), Facts(ars(rv="41"))).variants[0].operations[0]
    with pytest.raises(PatchFailed):
        apply_patch(ars(rv="42"), op.patch)


def test_helm_snippet_names_the_release_and_says_a_live_patch_is_reverted():
    plan = remedies.plan(finding("ARC501"), Facts(ars(annotations={"meta.helm.sh/release-name": "arc-set"})))
    helm = plan.variants[0].helm
    assert "Helm release arc-set" in helm and "reverted by the next helm upgrade" in helm
    assert "fsGroup: 123" in helm
    assert plan.helm_release == "arc-set"


# ---- undo -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", ["ARC501", "ARC508"])
def test_the_inverse_patch_restores_exactly_the_changed_fields(code):
    before = ars()
    op = remedies.plan(finding(code), Facts(before)).variants[0].operations[0]
    after = apply_patch(before, op.patch)
    assert after != before
    assert apply_patch(after, inverse_patch(before, op.patch)) == before


def test_the_inverse_patch_refuses_when_the_fixed_field_changed_since():
    before = ars()
    op = remedies.plan(finding("ARC501"), Facts(before)).variants[0].operations[0]
    after = apply_patch(before, op.patch)
    after["spec"]["template"]["spec"]["securityContext"]["fsGroup"] = 1001      # someone else's change
    with pytest.raises(PatchFailed):
        apply_patch(after, inverse_patch(before, op.patch))


# ---- ARC103 ------------------------------------------------------------------------------------------------------
def secret(values: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "gh", "namespace": "arc-runners", "uid": "u-s", "resourceVersion": "7",
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                                         '{"stringData":{"github_token":"' + TOKEN + '"}}'}},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}}


def listener_pod() -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "arc-runner-set-1a2b3c4d-listener", "namespace": "arc-systems", "uid": "u-l",
                         "resourceVersion": "9"}}


def test_arc103_trims_the_token_and_restarts_the_listener():
    f = finding("ARC103", kind="Secret", name="gh")
    live = secret({"github_token": TOKEN + "\n"})
    plan = remedies.plan(f, Facts(live, ars(), listener_pods=[listener_pod()]))
    (variant,) = plan.variants
    patch, restart = variant.operations
    assert patch.secret and patch.verb == PATCH
    assert base64.b64decode(apply_patch(live, patch.patch)["data"]["github_token"]).decode() == TOKEN
    assert restart.verb == DELETE and restart.target.label() == "Pod arc-systems/arc-runner-set-1a2b3c4d-listener"
    assert (restart.uid, restart.resource_version) == ("u-l", "9")


def test_no_secret_value_in_what_a_plan_shows():
    f = finding("ARC103", kind="Secret", name="gh")
    live = secret({"github_token": TOKEN + "\n"})
    variant = remedies.plan(f, Facts(live, ars(), listener_pods=[listener_pod()])).variants[0]
    op = variant.operations[0]
    shown = "\n".join([*diff(live, apply_patch(live, op.patch), op), str(mask_ops(op)), *variant.kubectl,
                       variant.helm, variant.summary, *variant.risks])
    encoded = base64.b64encode(TOKEN.encode()).decode()
    for raw in (TOKEN, TOKEN[4:], encoded, base64.b64encode((TOKEN + "\n").encode()).decode()):
        assert raw not in shown
    assert "ghp_…a1b2⏎" in shown and "ghp_…a1b2" in shown       # the diff says what changes, masked


def test_masks():
    assert mask_secret_value(TOKEN + "\n") == "ghp_…a1b2⏎"
    assert mask_secret_value(" 12345 ") == "␠…␠"
    assert mask_secret_value("-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n") \
        == "[private key]⏎"
    shown = masked_object(secret({"github_token": TOKEN}), secret=True)
    assert shown["data"] == {"github_token": "ghp_…a1b2"}
    assert shown["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] == "[masked]"
    assert "resourceVersion" not in shown["metadata"]


def test_arc103_a_pem_key_keeps_its_final_newline():
    pem = "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----"
    live = secret({"github_app_id": "123\n", "github_app_installation_id": "456",
                   "github_app_private_key": "\n" + pem + "\n\n"})
    op = remedies.plan(finding("ARC103", kind="Secret", name="gh"), Facts(live, ars())).variants[0].operations[0]
    data = apply_patch(live, op.patch)["data"]
    assert base64.b64decode(data["github_app_id"]).decode() == "123"
    assert base64.b64decode(data["github_app_private_key"]).decode() == pem + "\n"
    assert "github_app_installation_id" not in " ".join(o["path"] for o in op.patch)


def test_arc103_without_whitespace_left_is_no_plan():
    with pytest.raises(PlanError, match="no credential value"):
        remedies.plan(finding("ARC103", kind="Secret", name="gh"), Facts(secret({"github_token": TOKEN}), ars()))


# ---- ARC402 / ARC407 ---------------------------------------------------------------------------------------------
def runner(name: str, phase: str, reason: str = "", message: str = "") -> dict:
    return {"apiVersion": "actions.github.com/v1alpha1", "kind": "EphemeralRunner",
            "metadata": {"name": name, "namespace": "arc-runners", "uid": "u-" + name, "resourceVersion": "3"},
            "status": {"phase": phase, "reason": reason, "message": message}}


def test_failed_runners_are_deleted_with_preconditions_and_the_running_ones_kept():
    f = finding("ARC407", kind="EphemeralRunner", name="r-1")
    runners = [runner("r-1", "Failed", "InvalidPod", "Failed to create the pod: admission webhook denied it"),
               runner("r-2", "Failed", "InvalidPod"), runner("r-3", "Running")]
    plan = remedies.plan(f, Facts(ars(), runners=runners))
    every, this = plan.variants
    assert [(o.verb, o.target.name, o.uid, o.resource_version) for o in every.operations] == [
        (DELETE, "r-1", "u-r-1", "3"), (DELETE, "r-2", "u-r-2", "3")]
    assert [o.target.name for o in this.operations] == ["r-1"]
    assert not every.undoable
    assert "admission webhook denied it" in every.warning      # no check sees that cause: it may remain
    psa = [runner("r-1", "Failed", "InvalidPod", 'Failed to create the pod: violates PodSecurity "baseline:latest"')]
    assert remedies.plan(f, Facts(ars(), runners=psa)).variants[0].warning == ""      # ARC506 is gone: fixed
    cause = finding("ARC506", kind="Namespace", ns="", name="arc-runners", title="PodSecurity level")
    assert "ARC506" in remedies.plan(f, Facts(ars(), runners=psa, findings=(cause,))).variants[0].warning


def test_failed_runners_warn_while_another_cause_is_present():
    f = finding("ARC402", kind="EphemeralRunner", name="r-1")
    cause = finding("ARC501", title="Kube mode work volume is not writable by the runner")
    plan = remedies.plan(f, Facts(ars(), runners=[runner("r-1", "Failed")], findings=(f, cause)))
    assert "ARC501" in plan.variants[0].warning
    calm = remedies.plan(f, Facts(ars(), runners=[runner("r-1", "Failed")], findings=(f,)))
    assert calm.variants[0].warning == ""


# ---- ARC403 / ARC506 ---------------------------------------------------------------------------------------------
def test_listener_restart_deletes_its_pod_or_recreates_the_listener():
    f = finding("ARC403", kind="Pod", ns="arc-systems", name="arc-runner-set-1a2b3c4d-listener")
    lis = {"metadata": {"name": "arc-runner-set-1a2b3c4d-listener", "namespace": "arc-systems", "uid": "u-al",
                        "resourceVersion": "5"}}
    plan = remedies.plan(f, Facts(ars(), listener_pods=[listener_pod()], listeners=[lis]))
    assert [v.name for v in plan.variants] == ["restart-listener", "recreate-listener"]
    assert plan.variants[0].operations[0].target.kind == "Pod"
    assert plan.variants[1].operations[0].target.kind == "AutoscalingListener"
    assert plan.variants[0].kubectl == ("kubectl delete pods -n arc-systems arc-runner-set-1a2b3c4d-listener",)


def namespace(labels: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "team-a", "uid": "u-ns", "resourceVersion": "2", "labels": labels}}


def test_pod_security_label_for_dind_is_privileged_with_a_risk_note():
    dind = ars({"containers": [{"name": "runner"}, {"name": "dind", "securityContext": {"privileged": True}}]})
    f = finding("ARC506", kind="Namespace", ns="", name="team-a", scale_set="team-a/dind-set")
    live = namespace({"pod-security.kubernetes.io/enforce": "baseline"})
    plan = remedies.plan(f, Facts(live, dind, runners=[runner("r-1", "Failed", "InvalidPod")]))
    label, retry = plan.variants
    assert apply_patch(live, label.operations[0].patch)["metadata"]["labels"][
        "pod-security.kubernetes.io/enforce"] == "privileged"
    assert {"op": "test", "path": "/metadata/labels/pod-security.kubernetes.io~1enforce",
            "value": "baseline"} in label.operations[0].patch
    assert any("loosens a security boundary" in r for r in label.risks)
    assert [o.verb for o in retry.operations] == [PATCH, DELETE]


def test_pod_security_label_for_kube_mode_is_baseline():
    f = finding("ARC506", kind="Namespace", ns="", name="team-a", scale_set="team-a/kube-set")
    live = namespace({"pod-security.kubernetes.io/enforce": "restricted"})
    plan = remedies.plan(f, Facts(live, ars()))
    assert [v.name for v in plan.variants] == ["label"]
    assert "enforce=baseline" in plan.variants[0].kubectl[0]


def test_every_listed_code_has_a_remedy_and_unknown_codes_have_none():
    listed = {row["code"] for row in remedies.catalogue()}
    assert listed >= {"ARC103", "ARC104", "ARC105", "ARC106", "ARC107", "ARC201", "ARC202", "ARC204", "ARC402",
                      "ARC301", "ARC302", "ARC303", "ARC403", "ARC406", "ARC407", "ARC501", "ARC502", "ARC503",
                      "ARC506", "ARC507", "ARC508", "ARC601", "ARC602", "ARC603", "ARC604", "ARC605"}
    with pytest.raises(PlanError):
        remedies.needs(finding("ARC999"))
    assert not remedies.fixable(finding("ARC401"))


def test_planning_never_changes_the_live_objects():
    live = ars()
    kept = copy.deepcopy(live)
    for code in ("ARC501", "ARC508"):
        remedies.plan(finding(code), Facts(live))
    assert live == kept

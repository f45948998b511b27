"""The work volume fixes (ARC201/ARC202/ARC204), a two-step plan: change the template's claim to a StorageClass
picked from the cluster's classes, then replace the stuck runners. Rehearsed in the sandbox (`pvc-pending`: the
template names `fast-ssd`, which does not exist): dry-run writes nothing, apply heals (claims Bound, runners
Running), the finding clears, undo restores the template. A plan whose second step fails stops there, says what was
done, and its undo reverses the step that was done."""

from __future__ import annotations

import shlex

import pytest
from kubernetes import client

from arc_top.checks.finding import Finding, Subject
from arc_top.checks.fixplan import Facts, PlanError, apply_patch
from arc_top.checks.remedies import needs as make_needs
from arc_top.checks.remedies import plan as make_plan
from arc_top.checks.remedy_storage import GUIDANCE, REPLACE_STEP, REPLACE_STUCK, TEMPLATE_STEP, template_ops
from arc_top.fixes.audit import AuditLog
from arc_top.fixes.session import Fixer
from arc_top.kube.config import connect
from tests.conftest import api_client
from tests.fix_fixtures import diagnosed
from tests.waiting import wait_for

GROUP, VERSION = "actions.github.com", "v1alpha1"
NS, SET = "arc-runners", "arc-runner-set"
WORK = "/spec/template/spec/volumes"


@pytest.fixture()
def pvc_pending(tmp_path):
    with diagnosed("pvc-pending", tmp_path) as running:
        yield running


def read_ars(sb) -> dict:
    return client.CustomObjectsApi(api_client(sb)).get_namespaced_custom_object(GROUP, VERSION, NS,
                                                                                 "autoscalingrunnersets", SET)


def claim_of(ars: dict) -> dict:
    work = next(v for v in ars["spec"]["template"]["spec"]["volumes"] if v["name"] == "work")
    return work["ephemeral"]["volumeClaimTemplate"]["spec"]


def healed(sb, since: float) -> str:
    """A runner pod made after `since` that is Running with its work claim Bound ("" while none is)."""
    api = client.CoreV1Api(api_client(sb))
    claims = {c.metadata.name: c for c in api.list_namespaced_persistent_volume_claim(NS).items}
    for pod in api.list_namespaced_pod(NS, label_selector=f"actions.github.com/scale-set-name={SET},"
                                                          "app.kubernetes.io/component=runner").items:
        if pod.metadata.creation_timestamp.timestamp() < since - 1 or pod.status.phase != "Running":
            continue
        claim = claims.get(f"{pod.metadata.name}-work")
        if claim is not None and claim.status.phase == "Bound" and claim.spec.storage_class_name == "gp3":
            return pod.metadata.name
    return ""


def test_arc201_two_steps_dry_run_apply_heal_clear_and_undo(pvc_pending, tmp_path):
    sb, diag = pvc_pending
    f = diag.find("ARC201", f"{NS}/{SET}")
    fixer = diag.fixer(tmp_path)
    plan = fixer.plan(f, diag.latest()[0])
    assert plan.variants[0].name == "class=gp3"                       # the cluster's default class first
    assert "ebs.csi.aws.com" in plan.variants[0].detail and "WaitForFirstConsumer" in plan.variants[0].detail
    before = read_ars(sb)
    with sb.paused():                   # the stuck runners listed in the plan stay the ones the preview names
        preview = fixer.preview(plan, None)
    assert preview.dry_run_verdict == "dry-run: accepted", preview.dry_run_verdict
    stages = preview.variant.stages()
    assert [label for label, _ops in stages] == [TEMPLATE_STEP, REPLACE_STEP]
    assert all(op.verb == "delete" and op.target.kind == "EphemeralRunner" for op in stages[1][1])
    lines = preview.diff_lines()
    assert f"## step 1 of 2: {TEMPLATE_STEP}" in lines and f"## step 2 of 2: {REPLACE_STEP}" in lines
    assert any(line.strip() == "+              storageClassName: gp3" for line in lines), lines
    assert read_ars(sb)["spec"] == before["spec"]                     # the dry-run wrote nothing

    heard = []
    applied = fixer.apply(preview, progress=lambda i, step, state: heard.append((i, state)))
    assert applied.outcome == "applied", applied.message()
    assert [state for _i, state in heard if state != "sending"] == ["done"] * len(preview.steps)
    assert claim_of(read_ars(sb))["storageClassName"] == "gp3"
    wait_for(lambda: healed(sb, applied.at), 90, 0.5, "a new runner Running on a Bound gp3 claim")
    diag.cleared(f, applied.at)

    undo = fixer.undo_preview(applied)
    assert [op.verb for op in undo.variant.operations] == ["patch"]  # the deleted runners are not restored
    assert fixer.apply(undo).outcome == "applied"
    assert claim_of(read_ars(sb)) == claim_of(before)                  # the template as it was
    records = fixer.audit.records()
    assert records[0]["operations"][1]["step"] == REPLACE_STEP and records[0]["undone"]


def _grant(sb, user: str, *, delete_runners: bool) -> None:
    """`user` may read what the plan needs and patch scale sets; delete EphemeralRunners when asked."""
    rbac = client.RbacAuthorizationV1Api(api_client(sb))
    rbac.create_cluster_role({"metadata": {"name": "read-classes"},
                              "rules": [{"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"],
                                         "verbs": ["get", "list", "watch"]}]})
    rbac.create_cluster_role_binding({"metadata": {"name": "read-classes"},
                                      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                  "name": "read-classes"},
                                      "subjects": [{"kind": "User", "name": user}]})
    rules = [{"apiGroups": [GROUP], "resources": ["autoscalingrunnersets"], "verbs": ["patch"]}]
    if delete_runners:
        rules.append({"apiGroups": [GROUP], "resources": ["ephemeralrunners"], "verbs": ["delete"]})
    rbac.create_namespaced_role(NS, {"metadata": {"name": "fixer"}, "rules": rules})
    rbac.create_namespaced_role_binding(NS, {"metadata": {"name": "fixer"},
                                             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                         "name": "fixer"},
                                             "subjects": [{"kind": "User", "name": user}]})


def test_a_plan_whose_second_step_fails_stops_there_and_its_undo_reverses_the_first(pvc_pending, tmp_path):
    sb, diag = pvc_pending
    f = diag.find("ARC201", f"{NS}/{SET}")
    _grant(sb, "viewer", delete_runners=True)
    fixer = Fixer.for_connection(connect(sb.kubeconfig_path, "arc-sandbox-viewer", (), True),
                                 audit=AuditLog(str(tmp_path / "audit.jsonl")))
    before = read_ars(sb)
    with sb.paused():
        preview = fixer.preview(fixer.plan(f, diag.latest()[0]), None)
        assert preview.can_apply, preview.why_not()
        assert len(preview.variant.stages()) == 2
        # the right to delete runners is taken away between the preview and the apply
        client.RbacAuthorizationV1Api(api_client(sb)).patch_namespaced_role(
            "fixer", NS, [{"op": "remove", "path": "/rules/1"}])
        applied = fixer.apply(preview)
    assert applied.outcome == "partial"
    assert f"step 1 ({TEMPLATE_STEP}) done" in applied.message()
    assert f"step 2 ({REPLACE_STEP}) not done" in applied.message() and "forbidden" in applied.message().lower()
    assert claim_of(read_ars(sb))["storageClassName"] == "gp3"        # step 1 stays done
    assert fixer.audit.records()[0]["outcome"] == "partial"

    undo = fixer.undo_preview(applied)
    assert fixer.apply(undo).outcome == "applied"
    assert claim_of(read_ars(sb)) == claim_of(before)


# ---- the template ops, pure ---------------------------------------------------------------------------------
def _ars(volumes) -> dict:
    spec = {"containers": [{"name": "runner"}]}
    if volumes is not None:
        spec["volumes"] = volumes
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "AutoscalingRunnerSet",
            "metadata": {"name": SET, "namespace": NS, "uid": "u1", "resourceVersion": "7"},
            "spec": {"template": {"spec": spec}}}


@pytest.mark.parametrize("volumes", [
    None,                                                                   # no volumes at all
    [{"name": "other", "emptyDir": {}}],                                    # no `work` volume
    [{"name": "work", "emptyDir": {}}],                                     # `work` is not a claim template
    [{"name": "work", "ephemeral": {}}],                                    # an empty ephemeral volume
    [{"name": "work", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}],  # the chart's empty claim (ARC204)
    [{"name": "work", "ephemeral": {"volumeClaimTemplate": {"spec": {"storageClassName": "fast-ssd",
                                                                     "accessModes": ["ReadWriteOnce"],
                                                                     "resources": {"requests": {"storage": "4Gi"}}}}}}],
])
def test_template_ops_leave_a_complete_claim_naming_the_class(volumes):
    ars = _ars(volumes)
    after = apply_patch(ars, template_ops(ars, "gp3"))
    work = [v for v in after["spec"]["template"]["spec"]["volumes"] if v["name"] == "work"]
    assert len(work) == 1
    claim = work[0]["ephemeral"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3" and claim["accessModes"] == ["ReadWriteOnce"]
    assert claim["resources"]["requests"]["storage"] == ("4Gi" if volumes and "fast-ssd" in str(volumes) else "1Gi")
    others = [v for v in after["spec"]["template"]["spec"]["volumes"] if v["name"] != "work"]
    assert others == [v for v in (volumes or []) if v["name"] != "work"]   # other volumes untouched


def _class(name: str, provisioner: str, default: bool = False) -> dict:
    meta = {"name": name}
    if default:
        meta["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": meta,
            "provisioner": provisioner, "volumeBindingMode": "WaitForFirstConsumer"}


def _finding(code: str) -> Finding:
    return Finding(code, "error", "t", Subject("AutoscalingRunnerSet", NS, SET, "u1"), scale_set=f"{NS}/{SET}")


def test_the_picker_puts_the_default_first_then_what_healthy_sets_use_and_says_which_ignore_fs_group():
    ars = _ars([{"name": "work", "ephemeral": {"volumeClaimTemplate": {"spec": {"storageClassName": "nope"}}}}])
    other = _ars([{"name": "work", "ephemeral": {"volumeClaimTemplate": {"spec": {"storageClassName": "local"}}}}])
    other["metadata"] = {"name": "other-set", "namespace": NS}
    classes = [_class("zz-ssd", "ebs.csi.aws.com"), _class("local", "rancher.io/local-path"),
               _class("std", "pd.csi.storage.gke.io", default=True)]
    facts = Facts(ars, runners=[], lists={"storage_classes": classes, "scale_sets": [ars, other]})
    plan = make_plan(_finding("ARC201"), facts)
    assert [v.name for v in plan.variants] == ["class=std", "class=local", "class=zz-ssd"]
    local = plan.variant("class=local")
    assert "ignores fsGroup" in local.detail and any("ARC508" in r for r in local.risks)
    assert "honours fsGroup" in plan.variants[0].detail
    assert len(plan.variants[0].stages()) == 1                         # no stuck runner: one step


def test_no_class_in_the_cluster_or_no_right_to_list_them_is_a_one_line_plan_error():
    ars = _ars(None)
    with pytest.raises(PlanError, match="no StorageClass"):
        make_plan(_finding("ARC204"), Facts(ars, lists={"storage_classes": [], "scale_sets": []}))
    with pytest.raises(PlanError, match="cannot list the StorageClasses to choose from: forbidden"):
        make_plan(_finding("ARC202"), Facts(ars, lists={"storage_classes": []},
                                            unreadable={"storage_classes": "forbidden"}))


# ---- ARC203: a work claim stuck Pending ------------------------------------------------------------------------
OLD_CLAIM = "arc-runner-set-abc12-runner-x1y2z-work"


def _claim_finding(claim: str = OLD_CLAIM, kind: str = "PersistentVolumeClaim", cls: str | None = "fast-ssd",
                   events: tuple[str, ...] = ('ProvisioningFailed: storageclass.storage.k8s.io "fast-ssd" not found '
                                              "(x7)",)) -> Finding:
    named = f'storageClassName "{cls}"' if cls is not None else "no storageClassName"
    return Finding("ARC203", "error", "Work volume claim stuck Pending", Subject(kind, NS, claim, "u-claim"),
                   scale_set=f"{NS}/{SET}", evidence=(f"PVC {claim} Pending for 6m ({named})", *events))


def _pvc(name: str, cls: str | None) -> dict:
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if cls is not None:
        spec["storageClassName"] = cls
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": NS},
            "spec": spec, "status": {"phase": "Pending"}}


def _work(cls: str | None) -> list[dict]:
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if cls is not None:
        spec["storageClassName"] = cls
    return [{"name": "work", "ephemeral": {"volumeClaimTemplate": {"spec": spec}}}]


def _er(name: str, cls: str | None, phase: str = "Pending") -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "EphemeralRunner",
            "metadata": {"name": name, "namespace": NS, "uid": f"u-{name}", "resourceVersion": "9"},
            "spec": {"spec": {"containers": [{"name": "runner"}], "volumes": _work(cls)}}, "status": {"phase": phase}}


def _stuck_facts(template_class: str | None, claim_class: str | None = "fast-ssd", runners=(), classes=None,
                 claims=None) -> Facts:
    classes = classes if classes is not None else [_class("gp3", "ebs.csi.aws.com", default=True)]
    claims = claims if claims is not None else [_pvc(OLD_CLAIM, claim_class)]
    return Facts(_ars(_work(template_class)), runners=list(runners),
                 lists={"storage_classes": classes, "claims": claims})


def test_arc203_needs_the_runners_the_classes_and_the_namespace_claims_from_a_claim_or_a_pod():
    for f in (_claim_finding(), _claim_finding("arc-runner-set-abc12-runner-x1y2z", kind="Pod")):
        need = make_needs(f)
        assert need.target.label() == f"AutoscalingRunnerSet {NS}/{SET}" and need.runners
        assert [(x.key, x.target.kind, x.target.namespace) for x in need.lists] == [
            ("storage_classes", "StorageClass", ""), ("claims", "PersistentVolumeClaim", NS)]


def test_arc203_a_missing_class_is_guidance_quoting_the_events_and_naming_the_arc201_fix():
    plan = make_plan(_claim_finding(), _stuck_facts("fast-ssd"))
    assert [v.name for v in plan.variants] == [GUIDANCE]
    guide = plan.variants[0]
    assert guide.guidance and not guide.operations
    assert "StorageClass 'fast-ssd' does not exist" in guide.summary
    assert guide.summary.endswith('latest event: ProvisioningFailed: storageclass.storage.k8s.io "fast-ssd" not '
                                  "found (x7)")
    assert f"arc-top fix ARC201 --scale-set {NS}/{SET}" in guide.kubectl
    assert f"kubectl describe pvc {OLD_CLAIM} -n {NS}" in guide.kubectl
    assert "storageClassName: gp3" in guide.helm                     # the class fix, in the chart's values
    assert plan.notes[0] == ('the claim\'s latest events: ProvisioningFailed: storageclass.storage.k8s.io "fast-ssd" '
                             "not found (x7)")
    assert plan.notes[1].startswith("likely cause: StorageClass 'fast-ssd' does not exist")


def test_arc203_a_failing_provisioner_a_waiting_claim_and_no_class_at_all_are_named():
    broken = [_class("gp3", "ebs.csi.aws.com", default=True)]
    failing = _claim_finding(cls="gp3", events=('ProvisioningFailed: failed to provision volume with StorageClass '
                                                '"gp3": AccessDenied (x3)',))
    guide = make_plan(failing, _stuck_facts("gp3", "gp3", classes=broken)).variants[0]
    assert "the provisioner of StorageClass 'gp3' (ebs.csi.aws.com) fails" in guide.summary
    assert "kubectl get csidriver ebs.csi.aws.com   # a CSI provisioner is registered" in guide.kubectl
    assert guide.detail == "read the claim's events: provisioner"

    waiting = _claim_finding(cls="gp3", events=("WaitForFirstConsumer: waiting for first consumer to be created "
                                                "before binding",))
    guide = make_plan(waiting, _stuck_facts("gp3", "gp3", classes=broken)).variants[0]
    assert "is WaitForFirstConsumer: the claim is Pending until its runner pod is scheduled, which is normal" in \
        guide.summary
    assert any(c.startswith("kubectl get pod arc-runner-set-abc12-runner-x1y2z -n") for c in guide.kubectl)

    nothing = _claim_finding(cls=None, events=("FailedBinding: no persistent volumes available for this claim and no "
                                               "storage class is set",))
    no_default = [_class("slow", "ebs.csi.aws.com")]
    guide = make_plan(nothing, _stuck_facts(None, None, classes=no_default)).variants[0]
    assert "names no StorageClass and none is marked default" in guide.summary
    assert f"arc-top fix ARC202 --scale-set {NS}/{SET}" in guide.kubectl


def test_arc203_replace_stuck_once_the_template_names_an_existing_class_deletes_only_the_old_pending_runners():
    runners = [_er("old-pending", "fast-ssd"), _er("old-new", "fast-ssd", phase=""), _er("old-running", "fast-ssd",
                                                                                          phase="Running"),
               _er("new-pending", "gp3")]
    plan = make_plan(_claim_finding(), _stuck_facts("gp3", runners=runners))
    assert [v.name for v in plan.variants] == [REPLACE_STUCK, GUIDANCE]      # the fix is the default
    replace = plan.variants[0]
    assert [(op.verb, op.target.kind, op.target.name, op.uid, op.resource_version) for op in replace.operations] == [
        ("delete", "EphemeralRunner", "old-pending", "u-old-pending", "9"),
        ("delete", "EphemeralRunner", "old-new", "u-old-new", "9")]
    assert [label for label, _ops in replace.stages()] == [REPLACE_STEP]
    assert replace.summary.startswith("delete 2 stuck runners: their claims ask for fast-ssd, the template now names "
                                      "gp3")
    assert "gp3 (default) · honours fsGroup" in replace.detail
    assert replace.kubectl == (f"kubectl delete ephemeralrunners.actions.github.com -n {NS} old-pending old-new",)
    assert any("cannot be restored" in r for r in replace.risks) and not replace.undoable
    guide = plan.variants[1]
    assert "the template now names 'gp3': replace the runners made from the old template" in guide.summary
    assert not any("arc-top fix ARC201" in c for c in guide.kubectl)


def test_arc203_no_replace_without_stuck_runners_or_while_the_template_names_a_missing_class():
    done = make_plan(_claim_finding(), _stuck_facts("gp3", runners=[_er("new-pending", "gp3")]))
    assert [v.name for v in done.variants] == [GUIDANCE]
    missing = make_plan(_claim_finding(), _stuck_facts("other-missing", runners=[_er("old", "fast-ssd")]))
    assert [v.name for v in missing.variants] == [GUIDANCE]


def test_arc203_a_gone_claim_is_read_from_the_evidence_and_unlisted_classes_are_a_plan_error():
    plan = make_plan(_claim_finding(), _stuck_facts("gp3", claims=[], runners=[_er("old", "fast-ssd")]))
    assert plan.variants[0].name == REPLACE_STUCK
    assert any(n == f"claim {OLD_CLAIM} is gone (its runner was replaced?)" for n in plan.notes)
    facts = _stuck_facts("gp3")
    facts.unreadable["storage_classes"] = "forbidden"
    with pytest.raises(PlanError, match="cannot list the StorageClasses to tell why the claim is stuck: forbidden"):
        make_plan(_claim_finding(), facts)


def test_arc203_hostile_names_are_shell_quoted():
    claim = "x'; rm -rf / [bold]-work"
    guide = make_plan(_claim_finding(claim), _stuck_facts("fast-ssd", claims=[_pvc(claim, "fast-ssd")])).variants[0]
    assert f"kubectl describe pvc {shlex.quote(claim)} -n {NS}" in guide.kubectl


def _stuck_runner_names(sb) -> set[str]:
    """EphemeralRunners of the set whose work claim template still names `fast-ssd` and that are not going."""
    runners = client.CustomObjectsApi(api_client(sb)).list_namespaced_custom_object(
        GROUP, VERSION, NS, "ephemeralrunners", label_selector=f"actions.github.com/scale-set-name={SET}")["items"]
    return {r["metadata"]["name"] for r in runners if not r["metadata"].get("deletionTimestamp")
            and claim_of({"spec": {"template": r["spec"]}})["storageClassName"] == "fast-ssd"}


def _runner_phases(sb) -> dict[str, tuple]:
    runners = client.CustomObjectsApi(api_client(sb)).list_namespaced_custom_object(
        GROUP, VERSION, NS, "ephemeralrunners", label_selector=f"actions.github.com/scale-set-name={SET}")["items"]
    return {r["metadata"]["name"]: ((r.get("status") or {}).get("phase"), r["metadata"].get("deletionTimestamp"))
            for r in runners}


def test_arc203_after_a_template_fixed_by_hand_replace_stuck_replaces_the_old_runners(pvc_pending, tmp_path):
    sb, diag = pvc_pending
    f = diag.find("ARC203", f"{NS}/{SET}")
    fixer = diag.fixer(tmp_path)
    with sb.paused():                   # as an operator would by hand; the runners made for fast-ssd stay
        ars = read_ars(sb)
        index = next(i for i, v in enumerate(ars["spec"]["template"]["spec"]["volumes"]) if v["name"] == "work")
        path = f"{WORK}/{index}/ephemeral/volumeClaimTemplate/spec/storageClassName"
        client.CustomObjectsApi(api_client(sb)).patch_namespaced_custom_object(
            GROUP, VERSION, NS, "autoscalingrunnersets", SET,
            [{"op": "test", "path": path, "value": "fast-ssd"}, {"op": "replace", "path": path, "value": "gp3"}],
            _content_type="application/json-patch+json")
        stuck = _stuck_runner_names(sb)
        assert stuck, "no runner made for fast-ssd left"
        plan = fixer.plan(f, diag.latest()[0])
        assert [v.name for v in plan.variants] == [REPLACE_STUCK, GUIDANCE], (plan.notes, stuck)
        preview = fixer.preview(plan, None)
        assert preview.variant.name == REPLACE_STUCK and preview.dry_run_verdict == "dry-run: accepted", \
            preview.dry_run_verdict
        assert {op.target.name for op in preview.variant.operations} == stuck, _runner_phases(sb)
        assert _stuck_runner_names(sb) == stuck                          # the dry-run deleted nothing
        applied = fixer.apply(preview)
        assert applied.outcome == "applied", applied.message()
        assert not _stuck_runner_names(sb), _runner_phases(sb)   # deleted by the fix (paused: not the controller)
    wait_for(lambda: healed(sb, applied.at), 90, 0.5, "a new runner Running on a Bound gp3 claim")
    diag.cleared(f, applied.at)
    assert fixer.audit.records()[0]["code"] == "ARC203"


@pytest.mark.parametrize("code", ["ARC202", "ARC204"])
def test_arc202_and_arc204_are_fixed_in_the_sandbox_and_undone(pvc_pending, tmp_path, code):
    """pvc-pending made to show ARC202 (the template names no class and the cluster has no default) or ARC204 (the
    chart's empty claim template): the fix completes the claim with gp3, new runners run on Bound claims, the finding
    clears, undo restores the template."""
    sb, diag = pvc_pending
    api = client.CustomObjectsApi(api_client(sb))
    with sb.paused():
        ars = read_ars(sb)
        index = next(i for i, v in enumerate(ars["spec"]["template"]["spec"]["volumes"]) if v["name"] == "work")
        claim = f"{WORK}/{index}/ephemeral/volumeClaimTemplate/spec"
        if code == "ARC202":
            ops = [{"op": "remove", "path": f"{claim}/storageClassName"}]
            client.StorageV1Api(api_client(sb)).patch_storage_class(
                "gp3", {"metadata": {"annotations": {"storageclass.kubernetes.io/is-default-class": "false"}}})
        else:
            ops = [{"op": "replace", "path": claim, "value": {"storageClassName": "gp3"}}]   # no size, no modes
        api.patch_namespaced_custom_object(GROUP, VERSION, NS, "autoscalingrunnersets", SET, ops,
                                           _content_type="application/json-patch+json")
    before = read_ars(sb)
    f = diag.find(code, f"{NS}/{SET}", timeout=90)
    fixer = diag.fixer(tmp_path)
    with sb.paused():
        preview = fixer.preview(fixer.plan(f, diag.latest()[0]), "class=gp3")
        assert preview.dry_run_verdict == "dry-run: accepted", preview.dry_run_verdict
        applied = fixer.apply(preview)
    assert applied.outcome == "applied", applied.message()
    fixed = claim_of(read_ars(sb))
    assert fixed["storageClassName"] == "gp3" and fixed["accessModes"] == ["ReadWriteOnce"]
    assert fixed["resources"]["requests"]["storage"]
    wait_for(lambda: healed(sb, applied.at), 90, 0.5, "a new runner Running on a Bound gp3 claim")
    diag.cleared(f, applied.at)
    assert fixer.apply(fixer.undo_preview(applied)).outcome == "applied"
    assert claim_of(read_ars(sb)) == claim_of(before)

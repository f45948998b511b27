"""The runner resources fix (ARC601): a picker of the values other scale sets give their runner container and
three sizes (small, medium, large: cpu and memory requested, memory limited), patched onto the runner container
(found by name, its name tested at its index; only the missing keys when `resources` exists). Pure tests of the
patch and the picker, then a rehearsal in the sandbox (`kube-permissions`: no runner has requests or limits): the
dry-run writes nothing, apply gives new runner pods the values, ARC601 clears, undo restores the template."""

from __future__ import annotations

import copy
import shlex

import pytest
from kubernetes import client

from arc_top.checks.finding import ERROR, WARNING, Finding, Subject
from arc_top.checks.fixplan import Facts, PatchFailed, PlanError, apply_patch, inverse_patch
from arc_top.checks.remedies import plan as make_plan
from arc_top.checks.remedy_resources import PRESETS, quantity, resource_ops
from tests.conftest import api_client
from tests.fix_fixtures import diagnosed
from tests.waiting import wait_for

GROUP, VERSION = "actions.github.com", "v1alpha1"
NS, SET = "arc-runners", "arc-runner-set"
MEDIUM = {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "4Gi"}}


def _ars(name: str = SET, ns: str = NS, resources: object = None, containers: list | None = None,
         release: str = "") -> dict:
    runner = {"name": "runner", "image": "ghcr.io/actions/actions-runner:2.321.0",
              "command": ["/home/runner/run.sh"]}
    if resources is not None:
        runner["resources"] = resources
    meta = {"name": name, "namespace": ns, "uid": f"u-{name}", "resourceVersion": "7"}
    if release:
        meta["annotations"] = {"meta.helm.sh/release-name": release}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "AutoscalingRunnerSet", "metadata": meta,
            "spec": {"template": {"spec": {"containers": containers if containers is not None else [runner]}}}}


def _finding(name: str = SET, ns: str = NS) -> Finding:
    return Finding("ARC601", WARNING, "t", Subject("AutoscalingRunnerSet", ns, name, "u"), scale_set=f"{ns}/{name}")


def _runner_after(ars: dict, variant) -> dict:
    after = apply_patch(ars, variant.operations[0].patch)
    return next(c for c in after["spec"]["template"]["spec"]["containers"] if c["name"] == "runner")


# ---- the sizes ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_each_size_requests_cpu_and_memory_and_limits_memory_only(size):
    ars = _ars()
    plan = make_plan(_finding(), Facts(ars, lists={"scale_sets": [ars]}))
    assert [v.name for v in plan.variants] == ["medium", "small", "large"]     # no other set: medium first
    variant = plan.variant(size)
    runner = _runner_after(ars, variant)
    assert runner["resources"] == PRESETS[size].as_dict()
    assert "cpu" not in runner["resources"]["limits"]
    op = variant.operations[0]
    assert op.patch[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "7"}
    assert op.patch[1] == {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "runner"}
    assert variant.detail.startswith(f"{size}: requests cpu ")
    assert any("No CPU limit" in r and "throttles" in r for r in variant.risks)
    assert any("reserve node capacity" in r and "fewer runners fit per node" in r for r in variant.risks)
    assert "sizes only" in plan.notes[0]


def test_the_sizes_are_what_the_issue_asks_for():
    assert {k: v.as_dict() for k, v in PRESETS.items()} == {
        "small": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
        "medium": MEDIUM,
        "large": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "8Gi"}}}


def test_kubectl_and_helm_keep_the_runner_image_and_command():
    ars = _ars(release="arc-set")
    variant = make_plan(_finding(), Facts(ars)).variants[0]
    assert variant.kubectl[0].startswith(f"kubectl patch autoscalingrunnersets.actions.github.com {SET} -n {NS} "
                                         "--type json -p ")
    assert '"path":"/spec/template/spec/containers/0/resources"' in variant.kubectl[0]
    helm = variant.helm
    assert "Helm release arc-set" in helm and "replaces the chart's whole" in helm
    assert "- name: runner" in helm and "image: ghcr.io/actions/actions-runner:2.321.0" in helm
    assert "- /home/runner/run.sh" in helm and "memory: 4Gi" in helm


def test_hostile_names_are_shell_quoted():
    name = "x'; rm -rf / [bold]"
    ars = _ars(name=name, ns="ns;$(id)")
    variant = make_plan(_finding(name, "ns;$(id)"), Facts(ars)).variants[0]
    words = shlex.split(variant.kubectl[0])
    assert words[3] == name and words[5] == "ns;$(id)"


# ---- values of the other scale sets -----------------------------------------------------------------------------
def test_the_values_most_healthy_sets_use_come_first_and_are_the_default():
    mine = _ars()
    big = {"requests": {"cpu": "4", "memory": "8Gi"}, "limits": {"memory": "16Gi"}}
    usual = {"requests": {"cpu": "1", "memory": "3Gi"}, "limits": {"cpu": "2", "memory": "3Gi"}}
    others = [_ars("big-set", resources=big), _ars("b-set", "team-b", resources=usual),
              _ars("a-set", "team-a", resources=copy.deepcopy(usual)), _ars("bare", resources=None)]
    facts = Facts(mine, lists={"scale_sets": [mine, *others]})
    plan = make_plan(_finding(), facts)
    assert [v.name for v in plan.variants] == ["values-of=team-a/a-set", "values-of=arc-runners/big-set",
                                               "small", "medium", "large"]
    first = plan.variants[0]
    assert first.detail == "like team-a/a-set and 1 more: requests cpu 1, memory 3Gi; limits cpu 2, memory 3Gi"
    assert _runner_after(mine, first)["resources"] == usual
    assert any("limit CPU to 2" in r for r in first.risks)             # their CPU limit throttles: said so
    assert plan.variants[1].detail == "like arc-runners/big-set: requests cpu 4, memory 8Gi; limits memory 16Gi"


def test_values_of_a_troubled_set_come_after_the_sizes_and_medium_stays_the_default():
    mine = _ars()
    other = _ars("sick-set", resources={"requests": {"memory": "512Mi"}})
    sick = Finding("ARC501", ERROR, "t", Subject("AutoscalingRunnerSet", NS, "sick-set", "u"),
                   scale_set=f"{NS}/sick-set")
    plan = make_plan(_finding(), Facts(mine, findings=(sick,), lists={"scale_sets": [mine, other]}))
    assert [v.name for v in plan.variants] == ["medium", "small", "large", "values-of=arc-runners/sick-set"]
    assert _runner_after(mine, plan.variants[-1])["resources"] == {"requests": {"memory": "512Mi"}}


def test_warnings_make_a_set_unhealthy_but_practice_and_version_findings_do_not():
    mine = _ars()
    ignored = _ars("ignored-set", resources={"requests": {"memory": "512Mi"}})
    pinned = _ars("unpinned-set", resources={"requests": {"memory": "768Mi"}})

    def f(code: str, severity: str, name: str) -> Finding:
        return Finding(code, severity, "t", Subject("AutoscalingRunnerSet", NS, name, "u"), scale_set=f"{NS}/{name}")
    findings = (f("ARC508", WARNING, "ignored-set"), f("ARC602", "info", "unpinned-set"),
                f("ARC603", ERROR, "unpinned-set"))
    plan = make_plan(_finding(), Facts(mine, findings=findings, lists={"scale_sets": [mine, ignored, pinned]}))
    assert [v.name for v in plan.variants] == ["values-of=arc-runners/unpinned-set", "small", "medium", "large",
                                               "values-of=arc-runners/ignored-set"]


def test_unreadable_scale_sets_leave_the_sizes_and_say_why():
    mine = _ars()
    plan = make_plan(_finding(), Facts(mine, lists={"scale_sets": []}, unreadable={"scale_sets": "forbidden"}))
    assert [v.name for v in plan.variants] == ["medium", "small", "large"]
    assert "could not be read (forbidden)" in plan.notes[0]


# ---- the patch ----------------------------------------------------------------------------------------------------
def test_the_runner_is_found_by_name_and_its_name_tested_at_its_index():
    sidecar = {"name": "sidecar", "image": "busybox"}
    runner = {"name": "runner", "image": "ghcr.io/actions/actions-runner:2.321.0"}
    ars = _ars(containers=[sidecar, runner])
    variant = make_plan(_finding(), Facts(ars)).variants[0]
    patch = variant.operations[0].patch
    assert patch[1] == {"op": "test", "path": "/spec/template/spec/containers/1/name", "value": "runner"}
    after = apply_patch(ars, patch)
    assert after["spec"]["template"]["spec"]["containers"][0] == sidecar
    assert after["spec"]["template"]["spec"]["containers"][1]["resources"] == MEDIUM
    moved = _ars(containers=[runner, sidecar])                     # the containers were reordered since the plan
    with pytest.raises(PatchFailed):
        apply_patch(moved, patch)


def test_partial_resources_get_only_the_missing_keys():
    ars = _ars(resources={"requests": {"ephemeral-storage": "2Gi"}})
    patch = make_plan(_finding(), Facts(ars)).variant("medium").operations[0].patch
    at = "/spec/template/spec/containers/0/resources"
    assert [o for o in patch if o["op"] != "test"] == [
        {"op": "add", "path": f"{at}/requests/cpu", "value": "1"},
        {"op": "add", "path": f"{at}/requests/memory", "value": "2Gi"},
        {"op": "add", "path": f"{at}/limits", "value": {"memory": "4Gi"}}]
    assert _runner_after(ars, make_plan(_finding(), Facts(ars)).variant("medium"))["resources"] == {
        "requests": {"ephemeral-storage": "2Gi", "cpu": "1", "memory": "2Gi"}, "limits": {"memory": "4Gi"}}


def test_existing_values_are_kept_and_a_request_above_a_kept_limit_is_left_out():
    ars = _ars(resources={"limits": {"memory": "1Gi"}})
    ops, kept = resource_ops(ars, PRESETS["medium"])
    at = "/spec/template/spec/containers/0/resources"
    assert [o for o in ops if o["op"] != "test"] == [{"op": "add", "path": f"{at}/requests", "value": {"cpu": "1"}}]
    assert kept == ["requests.memory 2Gi left out: limits.memory is 1Gi", "limits.memory 1Gi kept"]
    plan = make_plan(_finding(), Facts(ars))
    assert plan.variant("medium").summary == "give the runner container requests cpu 1; limits memory 1Gi"
    assert any(r.startswith("Values already set are kept: ") for r in plan.variant("medium").risks)


def test_a_null_resources_or_part_is_tested_then_replaced():
    ars = _ars(resources={"requests": None})
    ops, _ = resource_ops(ars, PRESETS["small"])
    at = "/spec/template/spec/containers/0/resources"
    assert {"op": "test", "path": f"{at}/requests", "value": None} in ops
    assert {"op": "replace", "path": f"{at}/requests", "value": {"cpu": "500m", "memory": "1Gi"}} in ops
    ars = _ars()
    ars["spec"]["template"]["spec"]["containers"][0]["resources"] = None
    ops, _ = resource_ops(ars, PRESETS["small"])
    assert ops[1:] == [{"op": "test", "path": at, "value": None},
                       {"op": "replace", "path": at, "value": PRESETS["small"].as_dict()}]
    assert apply_patch(ars, ops)["spec"]["template"]["spec"]["containers"][0]["resources"] == \
        PRESETS["small"].as_dict()


def test_no_runner_container_is_a_plan_error():
    ars = _ars(containers=[{"name": "builder", "image": "x"}])
    with pytest.raises(PlanError, match="no container named `runner`"):
        make_plan(_finding(), Facts(ars))
    with pytest.raises(PlanError, match="no container named `runner`"):
        make_plan(_finding(), Facts(_ars(containers=[])))


def test_a_runner_with_every_value_set_is_a_plan_error():
    full = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
    with pytest.raises(PlanError, match="already has cpu and memory requests and limits"):
        make_plan(_finding(), Facts(_ars(resources=full)))


def test_undo_restores_the_container_and_planning_changes_nothing():
    before = _ars(resources={"requests": {"ephemeral-storage": "2Gi"}})
    kept = copy.deepcopy(before)
    op = make_plan(_finding(), Facts(before)).variants[0].operations[0]
    assert before == kept
    after = apply_patch(before, op.patch)
    assert apply_patch(after, inverse_patch(before, op.patch)) == before


def test_quantities():
    assert quantity("500m") == 0.5 and quantity("2Gi") == 2 * 2 ** 30 and quantity("1.5") == 1.5
    assert quantity("1e3") == 1000 and quantity("128974848") == 128974848 and quantity("1G") == 1e9
    assert quantity("lots") is None and quantity("") is None


# ---- rehearsed in the sandbox --------------------------------------------------------------------------------------
@pytest.fixture()
def kube_permissions(tmp_path):
    with diagnosed("kube-permissions", tmp_path) as running:
        yield running


def _custom(sb):
    return client.CustomObjectsApi(api_client(sb))


def _read(sb, name: str = SET) -> dict:
    return _custom(sb).get_namespaced_custom_object(GROUP, VERSION, NS, "autoscalingrunnersets", name)


def _new_runner_resources(sb, since: float) -> dict | None:
    """The runner container's resources of a runner pod made after `since` (None while there is none)."""
    pods = client.CoreV1Api(api_client(sb)).list_namespaced_pod(
        NS, label_selector=f"actions.github.com/scale-set-name={SET},app.kubernetes.io/component=runner").items
    for pod in pods:
        if pod.metadata.creation_timestamp.timestamp() < since - 1:
            continue
        runner = next((c for c in pod.spec.containers if c.name == "runner"), None)
        if runner is not None and runner.resources is not None and (runner.resources.requests
                                                                    or runner.resources.limits):
            return {"requests": runner.resources.requests or {}, "limits": runner.resources.limits or {}}
    return None


def test_arc601_dry_run_apply_new_runners_get_the_values_clear_and_undo(kube_permissions, tmp_path):
    sb, diag = kube_permissions
    # another set of the cluster has requests by hand: the plan offers its values (read cluster-wide)
    other = _read(sb, "arc-local-path")
    _custom(sb).patch_namespaced_custom_object(GROUP, VERSION, NS, "autoscalingrunnersets", "arc-local-path", [
        {"op": "add", "path": "/spec/template/spec/containers/0/resources",
         "value": {"requests": {"cpu": "250m", "memory": "512Mi"}}}], _content_type="application/json-patch+json")
    assert other["spec"]["template"]["spec"]["containers"][0]["name"] == "runner"
    f = diag.find("ARC601", f"{NS}/{SET}")

    def with_arc508() -> list | None:
        now = diag.latest()[0]
        return now if any(x.code == "ARC508" and x.scale_set == f"{NS}/arc-local-path" for x in now) else None
    findings = wait_for(with_arc508, 60, 0.2, "the findings with ARC508 on arc-local-path")
    fixer = diag.fixer(tmp_path)
    plan = fixer.plan(f, findings)
    names = [v.name for v in plan.variants]
    assert f"values-of={NS}/arc-local-path" in names
    assert names[0] == "medium"                       # arc-local-path has a warning (ARC508): not healthy
    before = _read(sb)
    preview = fixer.preview(plan, None)
    assert preview.variant.name == "medium" and preview.dry_run_verdict == "dry-run: accepted", \
        preview.dry_run_verdict
    lines = preview.diff_lines()
    assert any(line.strip() == "+            memory: 4Gi" for line in lines), lines
    after_dry_run = _read(sb)
    assert after_dry_run["spec"] == before["spec"]                  # the dry-run wrote nothing
    assert after_dry_run["metadata"]["generation"] == before["metadata"]["generation"]

    applied = fixer.apply(preview)
    assert applied.outcome == "applied", applied.message()
    assert _read(sb)["spec"]["template"]["spec"]["containers"][0]["resources"] == MEDIUM
    got = wait_for(lambda: _new_runner_resources(sb, applied.at), 90, 0.5, "a new runner pod with the resources")
    assert got == MEDIUM
    diag.cleared(f, applied.at)

    undo = fixer.undo_preview(applied)
    assert undo.dry_run_verdict == "dry-run: accepted"
    assert fixer.apply(undo).outcome == "applied"
    assert _read(sb)["spec"]["template"] == before["spec"]["template"]     # the template as it was
    diag.find("ARC601", f"{NS}/{SET}")                                     # and the finding is back
    records = fixer.audit.records()
    assert [r["code"] for r in records] == ["ARC601"] and records[0]["undone"]

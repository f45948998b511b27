"""The kube-mode RBAC fix (ARC503): create a Role with exactly the chart's kube-mode rules and bind it to the runner
pods' ServiceAccount. Rehearsed in the sandbox (`incident`: team-a-custom-sa runs as `ci-runner`, whose own Role
lacks most of the rules, so the hook's permission check fails every job): the dry-run creates nothing, apply creates
both, the hook's check passes (workflow pods appear), the finding clears, undo deletes both and the finding is back.
The plan itself, pure: the rules are the chart's, an existing Role of the name is patched instead, a hostile
ServiceAccount name is quoted, a missing template cannot be planned."""

from __future__ import annotations

import json
import shlex

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from arc_top.checks import rbac
from arc_top.checks.finding import Finding, Subject
from arc_top.checks.fixplan import Facts, PlanError, apply_patch
from arc_top.checks.remedies import plan as make_plan
from arc_top.checks.remedy_rbac import ACCOUNT_STEP, BIND_STEP, ROLE_STEP
from arc_top.kube.operations import CREATE, PATCH
from tests.conftest import api_client
from tests.fix_fixtures import diagnosed
from tests.waiting import wait_for

NS, SET, SA = "team-a", "team-a-custom-sa", "ci-runner"
NAME = f"{SET}-kube-mode-fix"
GROUP, VERSION = "actions.github.com", "v1alpha1"
RBAC_API = "rbac.authorization.k8s.io/v1"

# charts/gha-runner-scale-set/templates/kube_mode_role.yaml (gha-runner-scale-set-0.14.2), verbatim.
CHART_RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "create", "delete"]},
    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get", "create"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "create", "delete"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "create", "delete"]},
]


# ---- the rehearsal ------------------------------------------------------------------------------------------
@pytest.fixture()
def incident(tmp_path):
    with diagnosed("incident", tmp_path) as running:
        yield running


def rbac_names(sb) -> tuple[set[str], set[str]]:
    api = client.RbacAuthorizationV1Api(api_client(sb))
    return ({r.metadata.name for r in api.list_namespaced_role(NS).items},
            {b.metadata.name for b in api.list_namespaced_role_binding(NS).items})


def workflow_pods(sb, since: float = 0.0) -> list[str]:
    """Workflow pods the hook created for the scale set's runners (after `since`): its permission check passed."""
    pods = client.CoreV1Api(api_client(sb)).list_namespaced_pod(NS, label_selector="runner-pod").items
    return [p.metadata.name for p in pods if (p.metadata.labels or {}).get("runner-pod", "").startswith(f"{SET}-")
            and p.metadata.creation_timestamp.timestamp() >= since - 1]


def test_arc503_dry_run_apply_jobs_pass_clear_and_undo_deletes_both(incident, tmp_path):
    sb, diag = incident
    f = diag.find("ARC503", f"{NS}/{SET}", timeout=90)
    assert any(f"{NS}/{SA} lacks" in e for e in f.evidence), f.evidence
    fixer = diag.fixer(tmp_path)
    plan = fixer.plan(f, diag.latest()[0])
    [variant] = plan.variants
    preview = fixer.preview(plan, None)
    assert preview.dry_run_verdict == "dry-run: accepted", preview.dry_run_verdict
    assert [label for label, _ops in variant.stages()] == [ROLE_STEP, BIND_STEP]
    assert [(op.verb, op.target.kind, op.target.name) for op in variant.operations] == \
        [(CREATE, "Role", NAME), (CREATE, "RoleBinding", NAME)]
    lines = preview.diff_lines()
    assert f"## step 1 of 2: {ROLE_STEP}" in lines and f"## step 2 of 2: {BIND_STEP}" in lines
    roles, bindings = rbac_names(sb)
    assert NAME not in roles and NAME not in bindings                     # the dry-run created nothing
    assert not workflow_pods(sb)                                          # every job fails the hook's check

    applied = fixer.apply(preview)
    assert applied.outcome == "applied", applied.message()
    api = client.RbacAuthorizationV1Api(api_client(sb))
    role = api_client(sb).sanitize_for_serialization(api.read_namespaced_role(NAME, NS))
    assert role["rules"] == CHART_RULES
    binding = api.read_namespaced_role_binding(NAME, NS)
    assert binding.role_ref.kind == "Role" and binding.role_ref.name == NAME
    assert [(s.kind, s.name, s.namespace) for s in binding.subjects] == [("ServiceAccount", SA, NS)]
    wait_for(lambda: workflow_pods(sb, applied.at), 90, 0.2, "a workflow pod for a team-a-custom-sa job")
    diag.cleared(f, applied.at)

    undo = fixer.undo_preview(applied)
    assert [(op.verb, op.target.kind) for op in undo.variant.operations] == [("delete", "RoleBinding"),
                                                                            ("delete", "Role")]
    assert fixer.apply(undo).outcome == "applied"
    roles, bindings = rbac_names(sb)
    assert NAME not in roles and NAME not in bindings
    for read in (api.read_namespaced_role, api.read_namespaced_role_binding):
        with pytest.raises(ApiException) as gone:
            read(NAME, NS)
        assert gone.value.status == 404
    diag.find("ARC503", f"{NS}/{SET}", timeout=60)                      # the finding is back
    records = fixer.audit.records()
    assert [u["target"]["kind"] for u in records[0]["undo"]] == ["Role", "RoleBinding"]
    assert all(u["delete_uid"] for u in records[0]["undo"]) and records[0]["undone"]


# ---- the plan, pure -----------------------------------------------------------------------------------------
def _ars(account: str | None = SA, mode: str = "kubernetes", spec: dict | None = None) -> dict:
    if spec is None:
        hooks = "/home/runner/k8s-novolume/index.js" if mode == "kubernetes-novolume" else "/home/runner/k8s/index.js"
        spec = {"containers": [{"name": "runner", "env": [{"name": "ACTIONS_RUNNER_CONTAINER_HOOKS",
                                                           "value": hooks}]}]}
        if account is not None:
            spec["serviceAccountName"] = account
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "AutoscalingRunnerSet",
            "metadata": {"name": SET, "namespace": NS, "uid": "u1", "resourceVersion": "7",
                         "annotations": {"meta.helm.sh/release-name": SET}},
            "spec": {"template": {"spec": spec}}}


def _sa(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": NS}}


def _facts(ars: dict, roles=(), bindings=(), accounts=(SA,), unreadable=None) -> Facts:
    return Facts(ars, lists={"roles": list(roles), "role_bindings": list(bindings),
                             "service_accounts": [_sa(a) for a in accounts]}, unreadable=dict(unreadable or {}))


def _finding() -> Finding:
    return Finding("ARC503", "error", "t", Subject("AutoscalingRunnerSet", NS, SET, "u1"), scale_set=f"{NS}/{SET}",
                   evidence=(f"service account {NS}/{SA} lacks pods: create, delete",))


def _role(rules, name: str = NAME) -> dict:
    return {"apiVersion": RBAC_API, "kind": "Role",
            "metadata": {"name": name, "namespace": NS, "uid": "r1", "resourceVersion": "40"}, "rules": rules}


def _binding(role: str, subjects, name: str = NAME) -> dict:
    return {"apiVersion": RBAC_API, "kind": "RoleBinding",
            "metadata": {"name": name, "namespace": NS, "uid": "b1", "resourceVersion": "41"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role}, "subjects": subjects}


def test_the_role_has_exactly_the_charts_rules_each_explained_and_the_binding_names_the_template_account():
    plan = make_plan(_finding(), _facts(_ars()))
    [v] = plan.variants
    role, binding = (op.body for op in v.operations)
    assert role["kind"] == "Role" and role["metadata"]["name"] == NAME and role["metadata"]["namespace"] == NS
    assert role["rules"] == CHART_RULES
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": SA, "namespace": NS}]
    assert [op.step for op in v.operations] == [ROLE_STEP, BIND_STEP]
    said = "\n".join([*plan.notes, *v.risks])
    for rule in CHART_RULES:                  # every rule is shown with why the hook needs it
        label = f"{rule['apiGroups'][0] + ' ' if rule['apiGroups'][0] else ''}{rule['resources'][0]} " \
                f"{', '.join(rule['verbs'])}: "
        assert label in said, label
    assert "pods/exec get, create: the hook runs the job's steps in the workflow pod" in said
    assert v.kubectl[0] == (f"kubectl create role {NAME} -n {NS} --verb=get,list,create,delete "
                            "--resource=pods,jobs.batch,secrets")
    assert v.kubectl[1].startswith(f"kubectl patch role {NAME} -n {NS} --type json -p ")
    assert v.kubectl[-1] == (f"kubectl create rolebinding {NAME} -n {NS} --role={NAME} "
                             f"--serviceaccount={NS}:{SA}")
    # together the kubectl lines grant exactly the chart's rights (kubectl groups a command's resources by group)
    added = [o["value"] for o in json.loads(shlex.split(v.kubectl[1])[-1])]
    made = [{"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["get", "list", "create", "delete"]},
            {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "create", "delete"]}, *added]
    assert not rbac.missing(made) and not rbac.missing(CHART_RULES)
    for group, resource, verbs in rbac.KUBE_MODE_RULES:
        for verb in ("get", "list", "watch", "create", "delete", "patch", "update"):
            assert rbac.allowed(made, group, resource, verb) == (verb in verbs), (resource, verb)
    assert "type: kubernetes" in v.helm and "not chart-managed" in v.helm
    assert f"remove template.spec.serviceAccountName ({SA})" in v.helm
    assert plan.helm_release == SET


def test_novolume_mode_drops_batch_jobs_and_an_unset_account_is_default():
    plan = make_plan(_finding(), _facts(_ars(account=None, mode="kubernetes-novolume"), accounts=()))
    [v] = plan.variants
    role, binding = (op.body for op in v.operations)
    assert role["rules"] == [r for r in CHART_RULES if r["apiGroups"] != ["batch"]]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "default", "namespace": NS}]
    assert "--resource=pods,secrets" in v.kubectl[0] and "type: kubernetes-novolume" in v.helm
    assert any("the finding was about ServiceAccount ci-runner" in n for n in plan.notes)


def test_a_missing_service_account_is_created_first():
    plan = make_plan(_finding(), _facts(_ars(), accounts=("other",)))
    [v] = plan.variants
    assert [(op.step, op.target.kind) for op in v.operations] == [(ACCOUNT_STEP, "ServiceAccount"),
                                                                 (ROLE_STEP, "Role"), (BIND_STEP, "RoleBinding")]
    assert v.kubectl[0] == f"kubectl create serviceaccount {SA} -n {NS}"


def test_an_existing_role_of_the_name_gets_the_missing_rules_patched_in():
    existing = _role([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                      {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list", "watch"]}])
    plan = make_plan(_finding(), _facts(_ars(), roles=[existing]))
    [v] = plan.variants
    patch, create = v.operations
    assert (patch.verb, patch.target.kind, patch.target.name, patch.step) == (PATCH, "Role", NAME, ROLE_STEP)
    assert patch.patch[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "40"}
    after = apply_patch(existing, patch.patch)
    assert not rbac.missing(after["rules"])
    assert after["rules"][:2] == existing["rules"]                    # what was there stays
    assert after["rules"][2:] == [CHART_RULES[0], CHART_RULES[1], CHART_RULES[3], CHART_RULES[4]]
    assert create.verb == CREATE and create.target.kind == "RoleBinding"
    assert v.kubectl[0].startswith(f"kubectl patch roles.rbac.authorization.k8s.io {NAME} -n {NS} --type json")


def test_an_existing_binding_is_reused_extended_or_avoided():
    role = _role(CHART_RULES)
    other = {"kind": "ServiceAccount", "name": "someone", "namespace": NS}
    # it binds the role to someone else: the runner account is added to its subjects
    plan = make_plan(_finding(), _facts(_ars(), roles=[role], bindings=[_binding(NAME, [other])]))
    [op] = plan.variants[0].operations
    assert op.verb == PATCH and op.target.kind == "RoleBinding" and op.step == BIND_STEP
    assert apply_patch(_binding(NAME, [other]), op.patch)["subjects"][-1] == \
        {"kind": "ServiceAccount", "name": SA, "namespace": NS}
    # a binding of the name refers to another role (roleRef cannot change): the new one takes another name
    plan = make_plan(_finding(), _facts(_ars(), bindings=[_binding("unrelated", [other])]))
    assert [(op.verb, op.target.name) for op in plan.variants[0].operations] == [(CREATE, NAME),
                                                                                (CREATE, f"{NAME}-2")]
    assert plan.variants[0].operations[1].body["roleRef"]["name"] == NAME
    # the role and the binding are there already: nothing to do
    subject = {"kind": "ServiceAccount", "name": SA, "namespace": NS}
    with pytest.raises(PlanError, match="nothing to create"):
        make_plan(_finding(), _facts(_ars(), roles=[role], bindings=[_binding(NAME, [subject])]))


@pytest.mark.parametrize("account", ["ci'; rm -rf / #", "[bold]x[/bold] $(id)", 'a"b c'])
def test_a_hostile_service_account_name_is_quoted_in_the_kubectl_lines(account):
    plan = make_plan(_finding(), _facts(_ars(account=account), accounts=()))
    v = plan.variants[0]
    words = [shlex.split(line) for line in v.kubectl]
    assert words[0] == ["kubectl", "create", "serviceaccount", account, "-n", NS]
    assert words[-1] == ["kubectl", "create", "rolebinding", NAME, "-n", NS, f"--role={NAME}",
                         f"--serviceaccount={NS}:{account}"]
    assert v.operations[-1].body["subjects"][0]["name"] == account


def test_what_cannot_be_planned_is_a_one_line_plan_error():
    no_template = _ars()
    no_template["spec"] = {}
    with pytest.raises(PlanError, match="has no spec.template.spec"):
        make_plan(_finding(), _facts(no_template))
    dind = _ars(spec={"containers": [{"name": "runner"}, {"name": "dind", "image": "docker:dind"}]})
    with pytest.raises(PlanError, match="not in kubernetes mode"):
        make_plan(_finding(), _facts(dind))
    with pytest.raises(PlanError, match=f"cannot list the Roles in {NS}: forbidden"):
        make_plan(_finding(), _facts(_ars(), unreadable={"roles": "forbidden"}))
    # ServiceAccounts unreadable: the account is assumed to exist (the plan says so) and not created
    plan = make_plan(_finding(), _facts(_ars(), accounts=(), unreadable={"service_accounts": "forbidden"}))
    assert [op.target.kind for op in plan.variants[0].operations] == ["Role", "RoleBinding"]
    assert any("assumed to exist" in n for n in plan.notes)

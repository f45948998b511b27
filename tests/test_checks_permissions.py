"""ARC501–ARC508: the work directory's owner, kube-mode RBAC, the runner container, PodSecurity levels."""

from __future__ import annotations

import pytest

from arc_top.checks import rbac
from arc_top.kube import model
from tests.checks_fixtures import (
    KUBE_RULES,
    binding,
    codes,
    fleet,
    namespace,
    of,
    replace,
    role,
    sa_subject,
    storageclass,
    tail,
    without,
)

ERS = "arc-runner-set-h8ff4"
F1 = ["[RUNNER 2026-01-01 00:00:00Z ERR  Runner] System.UnauthorizedAccessException: Access to the path "
      "'/home/runner/_work/_tool' is denied.", " ---> System.IO.IOException: Permission denied"]
CHOWN = {"name": "fix-work", "image": "ghcr.io/actions/actions-runner:2.329.0",
         "command": ["sudo", "chown", "-R", "1001:123", "/home/runner/_work"],
         "volumeMounts": [{"name": "work", "mountPath": "/home/runner/_work"}]}
PERMS = {f"ARC50{i}" for i in range(1, 9)}


def _init(raws, container):
    return replace(raws, "AutoscalingRunnerSet", "arc-runner-set",
                   lambda o: o["spec"]["template"]["spec"].update(initContainers=[container]))


def test_healthy_fleets_have_no_permission_findings():
    assert not codes(fleet()) & PERMS
    assert not codes(fleet(mode="kubernetes-novolume")) & PERMS
    assert not codes(fleet(mode="dind", enforce="privileged")) & PERMS


# ---- ARC501 / ARC502 ----------------------------------------------------------------------------------------
def test_arc501_no_fs_group_is_a_warning_until_the_log_confirms_it():
    [f] = of(fleet(fs_group=None), "ARC501")
    assert f.severity == "warning" and f.subject.kind == "AutoscalingRunnerSet"
    logs = [tail(f"{ERS}-runner-00000", F1)]
    [f] = of(fleet(fs_group=None), "ARC501", logs=logs)
    assert f.severity == "error" and any("Access to the path" in e for e in f.evidence)
    assert not of(fleet(), "ARC501", logs=logs)


def test_arc501_silent_with_a_working_chown_init_container_or_a_root_runner():
    assert not of(_init(fleet(fs_group=None), CHOWN), "ARC501")
    root = replace(fleet(fs_group=None), "AutoscalingRunnerSet", "arc-runner-set",
                   lambda o: o["spec"]["template"]["spec"]["containers"][0].update(securityContext={"runAsUser": 0}))
    assert not of(root, "ARC501")


def test_arc502_log_evidence_on_the_pod():
    logs = [tail(f"{ERS}-runner-00000", F1), tail(f"{ERS}-runner-00001", F1)]
    [f] = of(fleet(fs_group=None), "ARC502", logs=logs)
    assert f.subject.kind == "Pod" and f.subject.uid == f"uid-arc-runners-{ERS}-runner-00000"
    assert f.scale_set == "arc-runners/arc-runner-set" and "seen in 2 pods" in f.evidence[-1]
    hook = ["##[error]Missing file at path: /home/runner/_work/_temp/_runner_hook_responses/response.json"]
    assert of(fleet(), "ARC502", logs=[tail(f"{ERS}-runner-00000", hook)])
    assert not of(fleet(fs_group=None), "ARC502")


def test_log_evidence_of_a_pod_that_is_already_gone_still_finds_its_scale_set():
    gone = tail(f"{ERS}-runner-gone1", F1)            # churning runners vanish seconds after they log why
    [f] = of(fleet(fs_group=None), "ARC502", logs=[gone])
    assert f.scale_set == "arc-runners/arc-runner-set" and f.subject.name == f"{ERS}-runner-gone1"


# ---- ARC507 / ARC508 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("change, words", [
    ({"volumeMounts": []}, "does not mount the work volume"),
    ({"securityContext": {"allowPrivilegeEscalation": False}}, "allowPrivilegeEscalation: false"),
    ({"securityContext": {"runAsNonRoot": True}}, "runAsNonRoot"),
    ({"command": ["chown", "-R", "1001:123", "/home/runner/_work"]}, "non-root user without sudo"),
])
def test_arc507_chown_init_that_cannot_work(change, words):
    [f] = of(_init(fleet(fs_group=None), {**CHOWN, **change}), "ARC507")
    assert f.severity == "warning" and words in f.evidence[0]
    assert "ARC501" in codes(_init(fleet(fs_group=None), {**CHOWN, **change}))


def test_arc507_silent_for_a_working_init_container():
    assert not of(_init(fleet(fs_group=None), CHOWN), "ARC507")
    root = {**CHOWN, "command": ["chown", "-R", "1001:123", "/home/runner/_work"],
            "securityContext": {"runAsUser": 0, "allowPrivilegeEscalation": False}}
    assert not of(_init(fleet(fs_group=None), root), "ARC507")


def test_arc508_fs_group_on_a_hostpath_class():
    raws = fleet(storage_class="local-path") + [storageclass("local-path", provisioner="rancher.io/local-path")]
    [f] = of(raws, "ARC508")
    assert "rancher.io/local-path" in f.evidence[1] and f.related[0].name == "local-path"
    assert not of(_init(raws, CHOWN), "ARC508")
    assert not of(fleet(), "ARC508")


# ---- ARC503 ------------------------------------------------------------------------------------------------
def _custom_sa(rules, *, cluster=False):
    raws = fleet(service_account="ci-runner", rbac=False)
    raws.append({"kind": "ServiceAccount", "metadata": {"name": "ci-runner", "namespace": "arc-runners",
                                                        "uid": "uid-sa"}})
    if cluster:
        return raws + [role("ci-runner", "", rules, cluster=True),
                       binding("ci-runner", "", "ci-runner", [sa_subject("ci-runner", "arc-runners")],
                               role_kind="ClusterRole", cluster=True)]
    return raws + [role("ci-runner", "arc-runners", rules),
                   binding("ci-runner", "arc-runners", "ci-runner", [sa_subject("ci-runner", "arc-runners")])]


def test_arc503_names_every_missing_verb():
    trimmed = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
               {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list", "watch"]}]
    [f] = of(_custom_sa(trimmed), "ARC503")
    assert f.subject.kind == "AutoscalingRunnerSet" and f.related[0].kind == "ServiceAccount"
    assert ("service account arc-runners/ci-runner lacks pods: create, delete; pods/exec: get, create; "
            "batch/jobs: get, list, create, delete; secrets: get, list, create, delete") == f.evidence[0]
    assert "RoleBinding ci-runner → Role ci-runner" in f.evidence[1]


def test_arc503_silent_with_the_rules_from_a_role_or_a_cluster_role_or_wildcards():
    assert not of(_custom_sa(KUBE_RULES), "ARC503")
    assert not of(_custom_sa(KUBE_RULES, cluster=True), "ARC503")
    assert not of(_custom_sa([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]), "ARC503")


def test_arc503_novolume_needs_no_jobs():
    assert not of(fleet(mode="kubernetes-novolume"), "ARC503")
    no_jobs = [r for r in KUBE_RULES if r["apiGroups"] != ["batch"]]
    assert of(_custom_sa(no_jobs), "ARC503")           # kube mode (with a volume) needs batch/jobs


def test_arc503_missing_account_and_default_account_name():
    raws = without(fleet(rbac=False), "ServiceAccount")
    [f] = of(raws, "ARC503")
    assert "arc-runners/arc-runner-set-gha-rs-kube-mode" in f.evidence[0]
    assert any("does not exist" in e for e in f.evidence)


def test_arc503_rbac_unreadable_is_arc000_unless_the_hook_said_so():
    found = of(fleet(rbac=False), "ARC000", states={model.ROLE_BINDINGS: "forbidden"})
    assert any("ARC503" in f.title and "role bindings" in f.title for f in found)
    assert not of(fleet(rbac=False), "ARC503", states={model.ROLE_BINDINGS: "forbidden"})
    hook = ['##[error]Error: pods is forbidden: User "system:serviceaccount:arc-runners:arc-runner-set-gha-rs-'
            'kube-mode" cannot create resource "pods" in API group "" in the namespace "arc-runners"']
    [f] = of(fleet(rbac=False), "ARC503", states={model.ROLE_BINDINGS: "forbidden"},
             logs=[tail(f"{ERS}-runner-00000", hook)])
    assert "cannot create resource" in f.evidence[1]


def test_arc503_unresolved_cluster_role_is_not_guessed():
    raws = fleet(service_account="ci-runner", rbac=False) + [
        binding("ci-runner", "arc-runners", "edit", [sa_subject("ci-runner", "arc-runners")], role_kind="ClusterRole")]
    assert of(raws, "ARC503")                                    # roles fully visible: `edit` does not exist
    raws.append(role("other", "arc-runners", []))           # namespace roles arrive, cluster roles do not
    found = of(raws, "ARC000", states={model.ROLES: "error"})
    assert any("ClusterRole edit" in f.title for f in found) and not of(raws, "ARC503", states={model.ROLES: "error"})


def test_rbac_matching_rules():
    assert rbac.allowed([{"apiGroups": [""], "resources": ["*/exec"], "verbs": ["create"]}], "", "pods/exec",
                        "create")
    assert not rbac.allowed([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"], "resourceNames": ["x"]}],
                            "", "pods", "get")
    assert not rbac.allowed([{"apiGroups": ["apps"], "resources": ["pods"], "verbs": ["get"]}], "", "pods", "get")
    assert rbac.subject_matches({"kind": "Group", "name": "system:serviceaccounts:ns"}, "ns", "sa", "ns")
    assert rbac.subject_matches({"kind": "User", "name": "system:serviceaccount:ns:sa"}, "ns", "sa", "ns")
    assert not rbac.subject_matches({"kind": "ServiceAccount", "name": "sa", "namespace": "other"}, "ns", "sa", "ns")


# ---- ARC504 ------------------------------------------------------------------------------------------------
def test_arc504_job_container_required():
    line = ("##[error]Jobs without a job container are forbidden on this runner, please add a 'container:' to your "
            "job or contact your self-hosted runner administrator.")
    [f] = of(fleet(), "ARC504", logs=[tail(f"{ERS}-runner-00001", [line])])
    assert f.severity == "warning" and f.subject.name == f"{ERS}-runner-00001"
    assert "ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER" in f.explanation
    assert not of(fleet(), "ARC504")


# ---- ARC505 ------------------------------------------------------------------------------------------------
def test_arc505_runner_container_named_otherwise_or_without_hook_env():
    renamed = replace(fleet(), "AutoscalingRunnerSet", "arc-runner-set",
                      lambda o: o["spec"]["template"]["spec"]["containers"][0].update(name="main"))
    [f] = of(renamed, "ARC505")
    assert 'no container named "runner"' in f.evidence[0] and '"main"' in f.evidence[0]

    def drop_pod_name(o):
        c = o["spec"]["template"]["spec"]["containers"][0]
        c["env"] = [e for e in c["env"] if e["name"] != "ACTIONS_RUNNER_POD_NAME"]
    [f] = of(replace(fleet(), "AutoscalingRunnerSet", "arc-runner-set", drop_pod_name), "ARC505")
    assert "ACTIONS_RUNNER_POD_NAME" in f.evidence[0]
    assert not of(fleet(), "ARC505") and not of(fleet(mode="default"), "ARC505")


# ---- ARC506 ------------------------------------------------------------------------------------------------
def test_arc506_dind_under_baseline():
    [f] = of(fleet(mode="dind", enforce="baseline"), "ARC506")
    assert f.subject.kind == "Namespace" and f.subject.name == "arc-runners" and f.subject.uid
    assert f.scale_set == "arc-runners/arc-runner-set" and "enforce=baseline" in f.evidence[0]
    assert not of(fleet(mode="dind", enforce="privileged"), "ARC506")
    assert not of(fleet(mode="dind", enforce=None), "ARC506")


def test_arc506_kube_mode_under_restricted_needs_a_hook_template():
    assert of(fleet(enforce="restricted"), "ARC506")

    def hook_template(o):
        o["spec"]["template"]["spec"]["containers"][0]["env"].append(
            {"name": "ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE", "value": "/home/runner/pod-templates/default.yaml"})
    assert not of(replace(fleet(enforce="restricted"), "AutoscalingRunnerSet", "arc-runner-set", hook_template),
                  "ARC506")
    assert not of(fleet(enforce="baseline"), "ARC506")


def test_namespaces_unreadable_give_one_arc000():
    found = [f for f in of(fleet(mode="dind"), "ARC000", states={model.NAMESPACES: "forbidden"})
             if "ARC506" in f.title]
    assert len(found) == 1 and "namespaces" in found[0].title


def test_namespace_helper_without_labels():
    assert "pod-security.kubernetes.io/enforce" not in namespace("x", None)["metadata"]["labels"]

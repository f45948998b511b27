"""Predicting from the runner template: a scale set at zero (minRunners 0, no runner pod) is judged on the pod ARC
would render from its template, and such a finding says so in its first evidence line. For every check that judges
runner pods: the problem in the template of a set at zero → a predicted finding; the same set at zero without the
problem → none; live runner pods → one finding, whose evidence is the live pod's, not a prediction."""

from __future__ import annotations

import copy

import pytest

from arc_top.checks import prediction
from arc_top.checks.prediction import PREDICTED
from arc_top.kube import model
from arc_top.kube.projections import project
from arc_top.sandbox.controller.runners import build_pod
from arc_top.sandbox.controller.runnerset import new_er, new_ers
from arc_top.sandbox.scenario_chart import render_scale_set
from tests.checks_fixtures import (
    binding,
    event,
    fleet,
    network_policy,
    of,
    replace,
    role,
    run,
    sa_subject,
    storageclass,
    tail,
)

NS, SET = "arc-runners", "arc-runner-set"
KEY = f"{NS}/{SET}"
DNS_ONLY = [{"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
             "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}]}]
OPEN = [{"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}],
         "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]


def at_zero(**kw) -> list[dict]:
    """One scale set with minRunners 0 and no runner pod (nor EphemeralRunner), as the chart's default leaves it."""
    return fleet(runners=0, min_runners=0, **kw)


def ars_of(raws: list[dict]) -> model.ScaleSet:
    raw = next(r for r in raws if r["kind"] == "AutoscalingRunnerSet")
    return project(model.SCALE_SETS, raw)


# ---- what each check's problem is, and its absence ----------------------------------------------------------------
def _no_default_class(raws: list[dict]) -> list[dict]:
    return replace(raws, "StorageClass", "gp3", lambda sc: sc["metadata"].pop("annotations", None))


def _local_path(fs_group: int | None = 123):
    def build(**kw) -> list[dict]:
        return [*fleet(storage_class="local-path", fs_group=fs_group, **kw),
                storageclass("local-path", provisioner="rancher.io/local-path", binding="WaitForFirstConsumer")]
    return build


def _broken_chown(**kw) -> list[dict]:
    init = {"name": "fix-work", "image": "ghcr.io/actions/actions-runner:2.329.0",
            "command": ["sudo", "chown", "-R", "1001:123", "/home/runner/_work"]}    # no work volume mounted
    return fleet(fs_group=None, template={"spec": {"initContainers": [init]}}, **kw)


def _working_chown(**kw) -> list[dict]:
    init = {"name": "fix-work", "image": "ghcr.io/actions/actions-runner:2.329.0",
            "command": ["sudo", "chown", "-R", "1001:123", "/home/runner/_work"],
            "volumeMounts": [{"name": "work", "mountPath": "/home/runner/_work"}]}
    return fleet(fs_group=None, template={"spec": {"initContainers": [init]}}, **kw)


def _no_pod_name_env(**kw) -> list[dict]:
    runner = {"name": "runner", "image": "ghcr.io/actions/actions-runner:2.329.0", "command": ["/home/runner/run.sh"],
              "env": [{"name": "ACTIONS_RUNNER_CONTAINER_HOOKS", "value": "/home/runner/k8s/index.js"}],
              "volumeMounts": [{"name": "work", "mountPath": "/home/runner/_work"}]}
    return fleet(template={"spec": {"containers": [runner]}}, **kw)


def _policy(egress, selector=None):
    def build(**kw) -> list[dict]:
        return [*fleet(**kw), network_policy("default-deny-egress", NS, selector, egress=egress)]
    return build


def _trimmed_role(**kw) -> list[dict]:
    sa = f"{SET}-gha-rs-kube-mode"
    trimmed = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
    return [*fleet(rbac=False, **kw), {"kind": "ServiceAccount", "metadata": {"name": sa, "namespace": NS}},
            role(sa, NS, trimmed), binding(sa, NS, sa, [sa_subject(sa, NS)])]


# code → (builder of the problem, builder without it); each builder takes fleet()'s keywords.
CASES = {
    "ARC301": (_policy(DNS_ONLY), _policy(OPEN)),
    "ARC302": (_policy([]), _policy(OPEN)),
    "ARC303": (_policy(DNS_ONLY), _policy(OPEN)),            # kube mode: the hook needs the API server
    "ARC506": (lambda **kw: fleet(mode="dind", enforce="baseline", **kw),
               lambda **kw: fleet(mode="dind", enforce="privileged", **kw)),
    "ARC501": (lambda **kw: fleet(fs_group=None, **kw), lambda **kw: fleet(fs_group=123, **kw)),
    "ARC507": (_broken_chown, _working_chown),
    "ARC508": (_local_path(123), lambda **kw: fleet(fs_group=123, **kw)),
    "ARC503": (_trimmed_role, lambda **kw: fleet(**kw)),
    "ARC201": (lambda **kw: fleet(storage_class="fast-ssd", **kw), lambda **kw: fleet(storage_class="arc-work", **kw)),
    "ARC202": (lambda **kw: _no_default_class(fleet(storage_class=None, **kw)),
               lambda **kw: fleet(storage_class=None, **kw)),
    "ARC505": (_no_pod_name_env, lambda **kw: fleet(**kw)),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_a_set_at_zero_with_the_problem_in_its_template_gets_a_predicted_finding(code):
    bad, _ = CASES[code]
    found = of(bad(runners=0, min_runners=0), code)
    assert len(found) == 1, found
    assert found[0].scale_set == KEY
    assert found[0].evidence[0] == PREDICTED, found[0].evidence
    assert sum(line == PREDICTED for line in found[0].evidence) == 1


@pytest.mark.parametrize("code", sorted(CASES))
def test_the_same_set_at_zero_without_the_problem_has_no_finding(code):
    _, good = CASES[code]
    assert of(good(runners=0, min_runners=0), code) == []


@pytest.mark.parametrize("code", sorted(CASES))
def test_with_live_runner_pods_the_finding_is_reported_once_and_not_as_a_prediction(code):
    bad, _ = CASES[code]
    found = of(bad(runners=2, min_runners=2), code)
    assert len(found) == 1, found
    assert PREDICTED not in found[0].evidence


def test_a_live_runner_pod_is_the_evidence_of_a_network_finding():
    raws = [*fleet(runners=2), network_policy("default-deny-egress", NS, egress=DNS_ONLY)]
    (found,) = of(raws, "ARC301")
    assert found.evidence[0] == f"runner pod {SET}-h8ff4-runner-00000 ({NS}) and 1 like it"
    assert any(r.kind == "Pod" for r in found.related)


def test_a_predicted_network_finding_names_the_scale_set_and_the_policy():
    (found,) = of([*at_zero(), network_policy("default-deny-egress", NS, egress=DNS_ONLY)], "ARC301")
    assert found.subject.kind == "NetworkPolicy" and found.subject.name == "default-deny-egress"
    assert found.evidence[1] == f"runner pod template of {SET} ({NS}), with ARC's runner labels"
    assert "NetworkPolicy default-deny-egress: 1 egress rule" in found.evidence
    assert any(r.kind == "AutoscalingRunnerSet" and r.name == SET for r in found.related)


@pytest.mark.parametrize("selector, blocks", [
    ({"matchLabels": {"app.kubernetes.io/component": "runner"}}, True),               # ARC's own label
    ({"matchLabels": {"actions-ephemeral-runner": "True"}}, True),
    ({"matchLabels": {"actions.github.com/organization": "arc-org"}}, True),         # from the config URL
    ({"matchLabels": {"app.kubernetes.io/part-of": "gha-runner-scale-set"}}, True),
    ({"matchLabels": {"team": "payments"}}, True),                                    # the template's own label
    ({"matchLabels": {"team": "search"}}, False),
    ({"matchLabels": {"app.kubernetes.io/component": "runner-scale-set-listener"}}, False),
    ({"matchExpressions": [{"key": "actions.github.com/scale-set-name", "operator": "In", "values": [SET]}]}, True),
])
def test_a_policy_selecting_the_rendered_labels_blocks_the_runner_that_does_not_exist_yet(selector, blocks):
    raws = [*at_zero(template={"metadata": {"labels": {"team": "payments"}}}),
            network_policy("runners-egress", NS, selector, egress=DNS_ONLY)]
    found = of(raws, "ARC301")
    assert bool(found) == blocks
    if blocks:
        assert found[0].evidence[0] == PREDICTED


def test_logged_evidence_of_a_gone_pod_is_live_not_a_prediction():
    gone = f"{SET}-h8ff4-runner-00007"
    logs = [tail(gone, ["[RUNNER 2026-01-01 00:00:00Z ERR  Runner] System.UnauthorizedAccessException: Access to "
                        "the path '/home/runner/_work/_tool' is denied."])]
    (found,) = of(at_zero(fs_group=None), "ARC501", logs=logs)
    assert found.evidence[0] != PREDICTED and found.severity == "error"


def test_claim_events_of_a_deleting_runner_pod_are_live_evidence_for_the_storage_class_finding():
    raws = fleet(storage_class="fast-ssd", runners=1, min_runners=0)
    pod = f"{SET}-h8ff4-runner-00000"
    for r in raws:
        if r["kind"] == "Pod" and r["metadata"]["name"] == pod:
            r["metadata"]["deletionTimestamp"] = r["metadata"]["creationTimestamp"]
    raws.append(event("PersistentVolumeClaim", NS, f"{pod}-work", "ProvisioningFailed",
                      'storageclass.storage.k8s.io "fast-ssd" not found'))
    (found,) = of(raws, "ARC201")
    assert found.evidence[0] != PREDICTED and any("ProvisioningFailed" in line for line in found.evidence)


def _runner_objects(raws):
    return [r for r in raws if r["kind"] in ("Pod", "EphemeralRunner")
            and "runner" in r["metadata"]["name"] and "listener" not in r["metadata"]["name"]]


def test_a_deleting_runner_pod_does_not_count_as_live():
    raws = fleet(fs_group=None, runners=1, min_runners=0)
    for r in _runner_objects(raws):
        r["metadata"]["deletionTimestamp"] = r["metadata"]["creationTimestamp"]
    (found,) = of(raws, "ARC501")
    assert found.evidence[0] == PREDICTED


def test_an_ephemeral_runner_whose_pod_is_not_made_yet_counts_as_live():
    """Churn: ARC makes the EphemeralRunner first, its pod a moment later; no prediction line flickers in."""
    raws = fleet(fs_group=None, runners=1, min_runners=0)
    pods = [r for r in _runner_objects(raws) if r["kind"] == "Pod"]
    assert pods and any(r["kind"] == "EphemeralRunner" for r in _runner_objects(raws))
    (found,) = of([r for r in raws if r not in pods], "ARC501")
    assert PREDICTED not in found.evidence


def test_the_healthy_fleet_at_zero_is_clean():
    assert run(at_zero()) == []
    assert run([*at_zero(), network_policy("egress", NS, egress=OPEN)]) == []
    assert run(at_zero(mode="dind", enforce="privileged")) == []


# ---- the rendering ------------------------------------------------------------------------------------------------
def test_rendered_pod_carries_arcs_labels_the_template_and_the_jit_config():
    ars = ars_of(at_zero(template={"metadata": {"labels": {"team": "payments"}, "annotations": {"a": "b"}}}))
    pod = prediction.render_runner_pod(ars)
    assert pod["metadata"]["namespace"] == NS
    assert pod["metadata"]["labels"] == {
        "team": "payments", "app.kubernetes.io/component": "runner",
        "app.kubernetes.io/part-of": "gha-runner-scale-set",
        "app.kubernetes.io/version": "0.14.2", "actions.github.com/scale-set-name": SET,
        "actions.github.com/scale-set-namespace": NS, "actions.github.com/organization": "arc-org",
        "actions-ephemeral-runner": "True"}
    assert pod["metadata"]["annotations"] == {"a": "b"}
    spec = pod["spec"]
    assert spec["serviceAccountName"] == f"{SET}-gha-rs-kube-mode" and spec["securityContext"] == {"fsGroup": 123}
    (runner,) = spec["containers"]
    assert [e["name"] for e in runner["env"]] == ["ACTIONS_RUNNER_CONTAINER_HOOKS", "ACTIONS_RUNNER_POD_NAME",
                                                  "ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER", prediction.JIT_ENV]
    assert spec["volumes"][0]["ephemeral"]["volumeClaimTemplate"]["spec"]["storageClassName"] == "arc-work"
    spec["containers"][0]["env"].clear()                       # a copy: the snapshot's template is untouched
    assert len(prediction.render_runner_pod(ars)["spec"]["containers"][0]["env"]) == 4
    slim = prediction.predicted_pod(ars)
    assert slim.role == "runner" and slim.scale_set == SET and slim.scale_set_namespace == NS
    assert slim.service_account == f"{SET}-gha-rs-kube-mode"


@pytest.mark.parametrize("mode", ["kubernetes", "kubernetes-novolume", "dind", "default"])
@pytest.mark.parametrize("url", ["https://github.com/arc-org", "https://github.com/arc-org/app-repo",
                                 "https://github.com/enterprises/acme", "https://ghes.example.com/arc-org/"])
def test_the_rendering_agrees_with_the_sandbox_controllers_runner_pod(mode, url):
    """The chart render and the ARS → ERS → ER → pod chain of the simulated controller give the same labels and spec
    as prediction.render_runner_pod (but for the pod's name and the JIT Secret it names)."""
    entry = {"name": SET, "namespace": NS, "mode": mode, "github_config_url": url, "github_config_secret": "s",
             "template": {"metadata": {"labels": {"team": "payments"}}}}
    raw_ars = next(o for o in render_scale_set(entry, 1) if o["kind"] == "AutoscalingRunnerSet")
    raw_ars["metadata"]["uid"] = "uid-ars"
    ers = new_ers(copy.deepcopy(raw_ars), "hash")
    ers["metadata"].update(name=f"{SET}-abcde", uid="uid-ers")
    er = new_er(ers)
    er["metadata"].update(name=f"{SET}-abcde-runner-xyz12", uid="uid-er")
    live = build_pod(er)
    predicted = prediction.render_runner_pod(project(model.SCALE_SETS, raw_ars))
    assert predicted["metadata"]["labels"] == live["metadata"]["labels"]
    assert predicted["metadata"]["namespace"] == live["metadata"]["namespace"]

    def without_jit(spec: dict) -> dict:
        spec = copy.deepcopy(spec)
        for c in spec.get("containers") or ():
            c["env"] = [e for e in c.get("env") or () if e["name"] not in (
                prediction.JIT_ENV, "GITHUB_ACTIONS_RUNNER_EXTRA_USER_AGENT")]
        return spec
    assert without_jit(predicted["spec"]) == without_jit(live["spec"])


def test_an_odd_template_renders_without_error():
    raws = at_zero()
    ars = next(r for r in raws if r["kind"] == "AutoscalingRunnerSet")
    ars["spec"]["template"] = {"metadata": {"labels": ["not", "a", "map"]},
                               "spec": {"containers": "runner", "volumes": [None, 3]}}
    pod = prediction.render_runner_pod(project(model.SCALE_SETS, ars))
    assert pod["metadata"]["labels"]["actions.github.com/scale-set-name"] == SET
    assert pod["spec"]["containers"] == "runner" and pod["spec"]["volumes"] == [None, 3]
    assert of(raws, "ARC000") == []


def test_a_template_naming_no_account_is_predicted_to_run_as_the_namespaces_default():
    raws = at_zero()
    ars = next(r for r in raws if r["kind"] == "AutoscalingRunnerSet")
    del ars["spec"]["template"]["spec"]["serviceAccountName"]
    (found,) = of(raws, "ARC503")
    assert found.evidence[0] == PREDICTED
    assert found.evidence[1].startswith(f"service account {NS}/default lacks ")


def test_live_runner_pods_are_the_evidence_of_arc501_and_can_answer_it():
    (found,) = of(fleet(fs_group=None, runners=2), "ARC501")
    assert f"runner pod {SET}-h8ff4-runner-00000 ({NS}) runs without them, and 1 like it" in found.evidence
    # admission (an OpenShift SCC, a policy webhook) gave the live pods an fsGroup the template lacks: they answer
    raws = fleet(fs_group=None, runners=2)
    for r in raws:
        if r["kind"] == "Pod" and "-runner-" in r["metadata"]["name"]:
            r["spec"]["securityContext"] = {"fsGroup": 1000680000}
    assert of(raws, "ARC501") == []


def test_no_prediction_while_the_runner_pods_cannot_be_read():
    states = {model.PODS: "forbidden"}
    (found,) = of(at_zero(fs_group=None), "ARC501", states=states)
    assert PREDICTED not in found.evidence                 # the template still says it; "no runner pod" is unknown
    assert of([*at_zero(), network_policy("default-deny-egress", NS, egress=DNS_ONLY)], "ARC301", states=states) == []
    raws = [*at_zero(), network_policy("default-deny-egress", NS, egress=DNS_ONLY)]
    assert of(raws, "ARC301", states={model.PODS: "syncing"}) == []

"""Scenario files: each loads, renders ARC objects as the 0.14.2 chart does, and keeps secrets generated."""

from __future__ import annotations

import base64
import json
import time

import pytest

from arc_top.sandbox.cluster import Cluster
from arc_top.sandbox.controller import Controller
from arc_top.sandbox.controller.common import ARS, ERS
from arc_top.sandbox.scenario import Scenario, list_scenarios, load_scenario

ALL = (
    "healthy",
    "kube-permissions",
    "pvc-pending",
    "bad-credentials",
    "network-policy",
    "failed-runners",
    "incident",
    "controller-errors",
    "large",
    "scaled-to-zero",
    "jobs-waiting",
)
SMALL_LARGE = {"scale_sets": 2, "runners_per_set": 5, "churn_events_per_second": 0}


def _cluster() -> Cluster:
    cluster = Cluster()
    cluster.base_url = "https://127.0.0.1:1"
    return cluster


def _load(name: str) -> tuple[Cluster, Scenario]:
    cluster = _cluster()
    return cluster, load_scenario(cluster, name, SMALL_LARGE if name == "large" else None)


def test_every_scenario_is_listed_with_a_one_line_description():
    listed = dict(list_scenarios())
    assert set(ALL) <= set(listed)
    for name in ALL:
        assert listed[name] and "\n" not in listed[name]


@pytest.mark.parametrize("name", ALL)
def test_every_scenario_loads_and_runs(name):
    cluster, scenario = _load(name)
    assert scenario.name == name and scenario.description
    assert scenario.namespace and scenario.controller_namespace == "arc-systems"
    assert {"admin", "viewer"} <= set(scenario.users)
    for user, token in scenario.users.items():
        assert len(token) >= 32 and cluster.tokens[token].name == user
    assert cluster.tokens[scenario.users["admin"]].groups == ("system:masters", "system:authenticated")
    assert cluster.list(ARS) and cluster.list("customresourcedefinitions")
    assert cluster.get("clusterroles", None, "view") is not None
    assert cluster.get("namespaces", None, scenario.namespace) is not None
    for obj in _all_objects(cluster):
        assert "{{" not in json.dumps(obj), obj["metadata"]["name"]
    controller = Controller(cluster, speed=20.0)
    for _ in range(20):  # a few passes with no exception escaping
        controller.step()
        time.sleep(0.01)


def _all_objects(cluster: Cluster) -> list[dict]:
    keys = (
        "pods",
        "secrets",
        "persistentvolumeclaims",
        "serviceaccounts",
        "roles",
        "rolebindings",
        "nodes",
        "storageclasses",
        "networkpolicies",
        "deployments",
        "namespaces",
        ARS,
    )
    return [o for key in keys for o in cluster.list(key)]


def test_unknown_scenario_and_parameters_are_one_line_errors():
    with pytest.raises(ValueError, match="unknown scenario 'nope'"):
        load_scenario(_cluster(), "nope")
    with pytest.raises(ValueError, match="takes no parameter"):
        load_scenario(_cluster(), "healthy", {"scale_sets": 3})
    with pytest.raises(ValueError, match="runners_per_set"):
        load_scenario(_cluster(), "large", {"runners_per_set": "many"})


def test_kube_mode_ars_is_rendered_as_the_chart_does():
    cluster, _ = _load("kube-permissions")
    ars = cluster.get(ARS, "arc-runners", "arc-runner-set")
    labels = ars["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "autoscaling-runner-set"
    assert labels["app.kubernetes.io/part-of"] == "gha-rs" and labels["app.kubernetes.io/version"] == "0.14.2"
    assert labels["actions.github.com/scale-set-name"] == "arc-runner-set"
    assert ars["spec"]["githubConfigUrl"] == "https://127.0.0.1:1/arc-org"
    spec = ars["spec"]["template"]["spec"]
    assert "securityContext" not in spec  # the chart sets no fsGroup
    runner = spec["containers"][0]
    assert runner["name"] == "runner"
    env = {e["name"]: e.get("value") for e in runner["env"]}
    assert env["ACTIONS_RUNNER_CONTAINER_HOOKS"] == "/home/runner/k8s/index.js"
    assert env["ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER"] == "true"
    work = spec["volumes"][0]
    assert (
        work["name"] == "work"
        and work["ephemeral"]["volumeClaimTemplate"]["spec"]["storageClassName"] == "gp3"
    )
    assert spec["serviceAccountName"] == "arc-runner-set-gha-rs-kube-mode"
    role = cluster.get("roles", "arc-runners", "arc-runner-set-gha-rs-kube-mode")
    assert {r["resources"][0] for r in role["rules"]} == {"pods", "pods/exec", "pods/log", "jobs", "secrets"}
    controller = cluster.list("pods", "arc-systems")[0]
    assert controller["metadata"]["labels"]["app.kubernetes.io/part-of"] == "gha-rs-controller"
    assert (
        controller["spec"]["containers"][0]["image"]
        == "ghcr.io/actions/gha-runner-scale-set-controller:0.14.2"
    )


def test_secret_values_are_generated_and_kept_byte_for_byte():
    cluster, _ = _load("bad-credentials")
    first = base64.b64decode(
        cluster.get("secrets", "arc-runners", "newline-token")["data"]["github_token"]
    ).decode()
    assert first.startswith("ghp_") and first.endswith("\n") and len(first) == 41
    again, _ = _load("bad-credentials")
    second = base64.b64decode(
        again.get("secrets", "arc-runners", "newline-token")["data"]["github_token"]
    ).decode()
    assert first != second  # fresh per load: nothing real-looking is committed
    assert cluster.github.evaluate_listener("https://127.0.0.1:1/arc-org", {"github_token": first.strip()}).ok


def test_large_is_seeded_in_its_steady_state():
    # Seeded: every runner is Running with a Bound claim as soon as the load returns, no controller has run. How
    # long loading takes is a figure (bench/sandbox.py: startup_s), not asserted here.
    cluster = _cluster()
    load_scenario(cluster, "large", {"scale_sets": 4, "runners_per_set": 10, "churn_events_per_second": 0})
    assert len(cluster.list(ARS)) == 4 and len(cluster.list(ERS)) == 4
    runners = [
        p for p in cluster.list("pods") if (p["metadata"].get("labels") or {}).get("actions-ephemeral-runner")
    ]
    assert len(runners) == 40 and all(p["status"]["phase"] == "Running" for p in runners)
    kube = [p for p in runners if p["metadata"]["labels"]["actions.github.com/scale-set-name"] == "fleet-01"]
    for pod in kube:
        pvc = cluster.get(
            "persistentvolumeclaims", pod["metadata"]["namespace"], pod["metadata"]["name"] + "-work"
        )
        assert pvc["status"]["phase"] == "Bound"
        assert cluster.get("persistentvolumes", None, pvc["spec"]["volumeName"]) is not None

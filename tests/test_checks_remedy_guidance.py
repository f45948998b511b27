"""Guidance-only remedies (ARC406, ARC602–ARC605): a plan with no write, whose commands name the scale set's Helm
release, its namespace and the controller's version from the finding's evidence."""

from __future__ import annotations

import pytest

from arc_top.checks import remedies
from arc_top.checks.finding import Finding, Subject
from arc_top.checks.fixplan import Facts

NS, SET = "arc-runners", "arc-runner-set"


def ars(release: str = "arc-runner-set-release") -> dict:
    return {"apiVersion": "actions.github.com/v1alpha1", "kind": "AutoscalingRunnerSet",
            "metadata": {"name": SET, "namespace": NS, "uid": "u", "resourceVersion": "3",
                         "labels": {"app.kubernetes.io/version": "0.13.1"},
                         "annotations": {"meta.helm.sh/release-name": release,
                                         "meta.helm.sh/release-namespace": "arc-releases"}},
            "spec": {"template": {"spec": {"containers": [{"name": "runner", "image": "x:latest"}]}}}}


def finding(code: str, *evidence: str) -> Finding:
    return Finding(code, "error", "t", Subject("AutoscalingRunnerSet", NS, SET, "u"), scale_set=f"{NS}/{SET}",
                   evidence=list(evidence))


@pytest.mark.parametrize("code", ["ARC406", "ARC602", "ARC603", "ARC604", "ARC605"])
def test_each_guidance_plan_writes_nothing_and_is_not_undoable(code):
    plan = remedies.plan(finding(code, "controller version 0.14.2"), Facts(ars()))
    (variant,) = plan.variants
    assert variant.guidance and variant.operations == () and not variant.undoable
    assert variant.kubectl and all("\n" not in c for c in variant.kubectl)
    assert remedies.fixable(finding(code))


def test_version_skew_upgrades_the_release_in_its_namespace_to_the_controller_version():
    plan = remedies.plan(finding("ARC603", "scale set label app.kubernetes.io/version=0.13.1",
                                 "controller version 0.14.2"), Facts(ars()))
    (command,) = plan.variants[0].kubectl
    assert command == ("helm upgrade arc-runner-set-release "
                       "oci://ghcr.io/actions/actions-runner-controller-charts/gha-runner-scale-set "
                       "-n arc-releases --reuse-values --version 0.14.2")


def test_stale_crds_pull_the_controller_chart_of_its_version_and_apply_server_side():
    plan = remedies.plan(finding("ARC605", "status.phase is missing although the controller is 0.14.1 (…)"),
                         Facts(ars()))
    pull, apply = plan.variants[0].kubectl
    assert "gha-runner-scale-set-controller --version 0.14.1 --untar" in pull
    assert apply.startswith("kubectl apply --server-side --force-conflicts -f ")


def test_without_a_version_in_the_evidence_the_command_says_what_to_fill_in():
    plan = remedies.plan(finding("ARC603"), Facts(ars()))
    assert plan.variants[0].kubectl[0].endswith("--version CONTROLLER_VERSION")


def test_a_hostile_release_name_is_quoted_for_the_shell():
    plan = remedies.plan(finding("ARC603", "controller version 0.14.2"), Facts(ars("x; rm -rf /")))
    assert "helm upgrade 'x; rm -rf /' " in plan.variants[0].kubectl[0]

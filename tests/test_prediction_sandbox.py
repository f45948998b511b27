"""Predicting from the runner template in the sandbox: the `scaled-to-zero` scenario (minRunners 0, a DNS-only egress
policy, a kube-mode set without fsGroup) yields ARC301 and ARC501 predicted while no runner pod exists, through
`arc-top check -o json` and through the monitor; the predicted ARC501's fix previews, applies and clears; and the
`healthy` scenario scaled to zero stays as clean as it is with runners."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from kubernetes import client

from arc_top.checks.prediction import PREDICTED
from tests.conftest import api_client
from tests.fix_fixtures import diagnosed
from tests.waiting import held, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NS = "arc-runners"
GROUP, VERSION, PLURAL = "actions.github.com", "v1alpha1", "autoscalingrunnersets"
RUNNERS = "app.kubernetes.io/component=runner"
HEALTHY = {"ARC109", "ARC206", "ARC602"}        # tests/test_check_scenarios.py: what `healthy` reports with runners


def check_json(kubeconfig: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "arc_top.cli.main", "check", "-o", "json", "--fail-on", "never",
                           "--kubeconfig", kubeconfig, "-A", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def runner_pods(core: client.CoreV1Api) -> list[str]:
    return [p.metadata.name for p in core.list_namespaced_pod(NS, label_selector=RUNNERS).items]


def test_scaled_to_zero_predicts_arc301_and_arc501_with_no_runner_pod(sandbox_for):
    sb, _kubectl, core = sandbox_for("scaled-to-zero")
    wait_for(lambda: len([p for p in core.list_namespaced_pod("arc-systems").items if p.status.phase == "Running"])
             >= 3, 60, 0.2, "the controller and both listeners running")
    report = check_json(sb.kubeconfig_path, "--settle", "3")
    assert runner_pods(core) == []
    by_code: dict[str, list[dict]] = {}
    for f in report["findings"]:
        by_code.setdefault(f["code"], []).append(f)
    assert set(by_code) - {"ARC000"} == {"ARC109", "ARC206", "ARC301", "ARC303", "ARC501", "ARC602"}, by_code
    assert sorted(f["scale_set"] for f in by_code["ARC301"]) == [f"{NS}/arc-nofsgroup-set", f"{NS}/arc-runner-set"]
    for f in by_code["ARC301"] + by_code["ARC303"]:
        assert f["subject"] == {"kind": "NetworkPolicy", "namespace": NS, "name": "default-deny-egress"}
        assert f["evidence"][0] == PREDICTED, f
    (arc501,) = by_code["ARC501"]
    assert arc501["scale_set"] == f"{NS}/arc-nofsgroup-set" and arc501["evidence"][0] == PREDICTED
    for f in report["findings"]:
        if f["code"] not in ("ARC301", "ARC303", "ARC501"):
            assert PREDICTED not in f["evidence"], f


def test_predicted_findings_fix_from_the_template_in_the_sandbox(tmp_path):
    with diagnosed("scaled-to-zero", tmp_path) as (sb, diag):
        f = diag.find("ARC501", f"{NS}/arc-nofsgroup-set")
        assert f.evidence[0] == PREDICTED
        fixer = diag.fixer(tmp_path)
        preview = fixer.preview(fixer.plan(f, diag.latest()[0]), None)
        assert preview.dry_run_verdict == "dry-run: accepted", preview.dry_run_verdict
        assert preview.variant.operations[0].target.kind == "AutoscalingRunnerSet"
        assert any("fsGroup" in line for line in preview.diff_lines()), preview.diff_lines()
        # the network fix of a predicted ARC301 previews too: it allows the runners ARC will render
        net = diag.find("ARC301", f"{NS}/arc-runner-set")
        assert net.evidence[0] == PREDICTED
        net_preview = fixer.preview(fixer.plan(net, diag.latest()[0]), None)
        assert net_preview.dry_run_verdict == "dry-run: accepted", net_preview.dry_run_verdict
        started = time.time()
        assert fixer.apply(preview).outcome == "applied"
        diag.cleared(f, started)
        ars = client.CustomObjectsApi(api_client(sb)).get_namespaced_custom_object(
            GROUP, VERSION, NS, PLURAL, "arc-nofsgroup-set")
        assert ars["spec"]["template"]["spec"]["securityContext"]["fsGroup"] == 123


def test_healthy_scaled_to_zero_stays_clean(sandbox_for):
    sb, _kubectl, core = sandbox_for("healthy", speed=10.0)
    custom = client.CustomObjectsApi(api_client(sb))
    wait_for(lambda: len([p for p in core.list_namespaced_pod(NS, label_selector=RUNNERS).items
                          if p.status.phase == "Running"]) >= 3, 60, 0.2, "healthy runners running (2 + 1)")
    for name in ("arc-runner-set", "arc-default-set"):
        custom.patch_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, name, {
            "metadata": {"annotations": {"sandbox.arc-top.dev/job-stream": None}}, "spec": {"minRunners": 0}})

    def none_left():
        return not runner_pods(core) and not custom.list_namespaced_custom_object(
            GROUP, VERSION, NS, "ephemeralrunners")["items"]
    with held(sb.cluster, none_left, timeout=90, what="the healthy scale sets at zero"):
        report = check_json(sb.kubeconfig_path, "--no-logs")
    assert {f["code"] for f in report["findings"]} - {"ARC000"} == HEALTHY, [(f["code"], f["evidence"])
                                                                              for f in report["findings"]]
    assert all(PREDICTED not in f["evidence"] for f in report["findings"])

"""`arc-top check` on every sandbox scenario: exactly the expected codes live, and the same cluster-side findings
from saved `kubectl get … -o yaml` output.

One sandbox per scenario, all at once (each `arc-top sandbox` its own process). The live check watches each for
SETTLE_S seconds; then the sandbox is paused (POST /sandbox/pause) so that a second live run (objects only) and
kubectl see the very same objects.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from kubernetes import config

from arc_top.checks.prediction import PREDICTED

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETTLE_S = 10.0

# What each scenario must report, live with log tails, after SETTLE_S seconds: the failure it was built for,
# and the practices every scenario breaks on purpose (ARC109 a PAT where an App would do, ARC206 the default
# storage class for work volumes, ARC601 runners without requests/limits, ARC602 the runner image `latest`).
EXPECTED: dict[str, set[str]] = {
    "healthy": {"ARC109", "ARC206", "ARC602"},
    "kube-permissions": {"ARC109", "ARC206", "ARC404", "ARC501", "ARC502", "ARC508", "ARC601", "ARC602"},
    "pvc-pending": {"ARC109", "ARC201", "ARC203", "ARC401", "ARC405", "ARC601", "ARC602"},
    "bad-credentials": {"ARC103", "ARC104", "ARC105", "ARC109", "ARC206", "ARC401", "ARC403", "ARC601", "ARC602"},
    "network-policy": {"ARC109", "ARC206", "ARC301", "ARC302", "ARC303", "ARC304", "ARC401", "ARC403", "ARC601",
                       "ARC602"},
    "failed-runners": {"ARC109", "ARC401", "ARC405", "ARC407", "ARC506", "ARC601", "ARC602"},
    "controller-errors": {"ARC104", "ARC109", "ARC403", "ARC409", "ARC602", "ARC605"},
    "incident": {"ARC104", "ARC109", "ARC201", "ARC203", "ARC206", "ARC401", "ARC403", "ARC404", "ARC405", "ARC407",
                 "ARC501", "ARC502", "ARC503", "ARC506", "ARC601", "ARC602"},
    # no runner pod at all: ARC301/ARC303 and ARC501 are predicted from the runner templates
    "scaled-to-zero": {"ARC109", "ARC206", "ARC301", "ARC303", "ARC501", "ARC602"},
    # jobs queue behind runners that cannot write _work; ARC408 only after minutes of waiting, longer than SETTLE_S
    "jobs-waiting": {"ARC109", "ARC206", "ARC404", "ARC501", "ARC502", "ARC601", "ARC602"},
}
# Found only in logs, or by the GitHub credential probes (not run on saved files): saved objects cannot show them.
FROM_LOGS = {"ARC304", "ARC404", "ARC502", "ARC104", "ARC105", "ARC106", "ARC107"}
KUBECTL_KINDS = ("autoscalingrunnersets,ephemeralrunnersets,ephemeralrunners,autoscalinglisteners,pods,pvc,events,"
                 "storageclasses,networkpolicies,secrets,serviceaccounts,roles,rolebindings,clusterroles,"
                 "clusterrolebindings,namespaces,deployments,customresourcedefinitions")


def _check(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "arc_top.cli.main", "check", "-o", "json", "--fail-on", "never",
                           *args], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _codes(report: dict) -> set[str]:
    return {f["code"] for f in report["findings"]}


def _cluster_side(report: dict) -> set[tuple]:
    """Findings as (code, severity, subject): without ARC000 (a saved List cannot say that a kind was asked for
    and empty) and without what only logs show."""
    return {(f["code"], f["subject"]["kind"], f["subject"]["namespace"], f["subject"]["name"])
            for f in report["findings"] if f["code"] != "ARC000" and f["code"] not in FROM_LOGS}


def _scenario(name: str, workdir: str) -> dict:
    kubeconfig = os.path.join(workdir, f"{name}.kubeconfig")
    sandbox = subprocess.Popen([sys.executable, "-m", "arc_top.cli.main", "sandbox", "--scenario", name, "--kubeconfig",
                                kubeconfig], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        for line in sandbox.stdout:
            if "Press Ctrl-C" in line:
                break
        else:
            raise AssertionError(f"sandbox {name} did not start: {sandbox.stderr.read()}")
        # Live, watching the scenario unfold for SETTLE_S seconds: runner pods that fail and are replaced within
        # seconds are caught then (their log tails are read as they go).
        live = _check("--kubeconfig", kubeconfig, "-A", "--settle", str(SETTLE_S))
        api = config.new_client_from_config(config_file=kubeconfig)
        # Pausing answers once a controller pass that was running has ended: from now on nothing changes.
        api.call_api(*api.param_serialize("POST", "/sandbox/pause", auth_settings=["BearerToken"]))
        live_objects = _check("--kubeconfig", kubeconfig, "-A", "--no-logs")
        saved = os.path.join(workdir, f"{name}.yaml")
        with open(saved, "w") as out:
            subprocess.run([shutil.which("kubectl"), "--cache-dir", os.path.join(workdir, f"{name}-cache"), "get",
                            KUBECTL_KINDS, "-A", "-o", "yaml"], stdout=out, check=True, timeout=60,
                           env=dict(os.environ, KUBECONFIG=kubeconfig))
        from_files = _check("--from", saved)
        return {"live": live, "live_objects": live_objects, "from": from_files}
    finally:
        sandbox.terminate()
        sandbox.wait(10)


def test_every_scenario_but_large_has_its_expected_codes():
    from arc_top.sandbox.scenario import list_scenarios

    assert set(EXPECTED) == {name for name, _ in list_scenarios()} - {"large"}


def test_every_scenario_reports_its_codes_live_and_the_same_from_saved_kubectl_output(tmp_path):
    with ThreadPoolExecutor(len(EXPECTED)) as pool:
        results = dict(zip(EXPECTED, pool.map(lambda s: _scenario(s, str(tmp_path)), EXPECTED), strict=True))
    problems = []
    for name, expected in EXPECTED.items():
        got = results[name]
        if _codes(got["live"]) - {"ARC000"} != expected:
            problems.append(f"{name}: live codes {sorted(_codes(got['live']))}, expected {sorted(expected)}")
        if _cluster_side(got["from"]) != _cluster_side(got["live_objects"]):
            problems.append(f"{name}: from saved output {sorted(_cluster_side(got['from']))} != live "
                            f"{sorted(_cluster_side(got['live_objects']))}")
        if name == "scaled-to-zero":
            predicted = {f["code"] for f in got["live"]["findings"] if f["evidence"][:1] == [PREDICTED]}
            if not {"ARC301", "ARC501"} <= predicted:
                problems.append(f"scaled-to-zero: predicted only {sorted(predicted)}")
        if name == "healthy":
            worst = {f["severity"] for f in got["live"]["findings"]}
            if worst & {"error", "warning"}:
                problems.append(f"healthy has errors or warnings: {sorted(_codes(got['live']))}")
    assert not problems, "\n".join(problems)

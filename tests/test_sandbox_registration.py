"""The simulated controller registers scale sets with the fake GitHub for real: a revoked token or a GitHub
certificate the scale set does not trust leaves it unregistered, logged in ARC's format with controller-runtime's
"Reconciler error" line, and retried until the cause is fixed. The `controller-errors` scenario also serves the
0.11 CRDs."""

from __future__ import annotations

import base64
import json

from arc_top.checks import controllerlog
from arc_top.kube.discovery import crd_fields
from arc_top.sandbox.cluster import Cluster
from arc_top.sandbox.controller import Controller
from arc_top.sandbox.controller.common import ARS, ERS
from arc_top.sandbox.scenario import GITHUB_CA_CONFIGMAP, load_scenario
from tests.waiting import wait_for

CA = b"-----BEGIN CERTIFICATE-----\nMIIBsandboxCA\n-----END CERTIFICATE-----\n"


def _started() -> tuple[Cluster, Controller]:
    cluster = Cluster()
    cluster.base_url, cluster.ca_pem = "https://127.0.0.1:1", CA
    load_scenario(cluster, "controller-errors")
    return cluster, Controller(cluster, tick=0.02, speed=20.0).start()


def _set_id(cluster: Cluster, name: str) -> str | None:
    ars = cluster.get(ARS, "arc-runners", name)
    return (ars["metadata"].get("annotations") or {}).get("runner-scale-set-id")


def _manager_lines(cluster: Cluster) -> list[str]:
    pod = next(p for p in cluster.list("pods") if "controller" in p["metadata"]["name"])
    lines, _ = cluster.logs.snapshot(pod["metadata"]["namespace"], pod["metadata"]["name"], "manager")
    return [text for _, text in lines]


def test_bad_credentials_and_an_untrusted_certificate_leave_scale_sets_unregistered_until_fixed():
    cluster, controller = _started()
    try:
        wait_for(lambda: _set_id(cluster, "fresh-set"), what="fresh-set registered")
        errors = wait_for(lambda: [ln for ln in _manager_lines(cluster) if "\tReconciler error\t" in ln
                                   and ("revoked-set" in ln or "untrusted-set" in ln)] or None,
                          what="Reconciler error lines")
        assert _set_id(cluster, "revoked-set") is None and _set_id(cluster, "untrusted-set") is None
        assert not [s for s in cluster.list(ERS) if not s["metadata"]["name"].startswith("fresh-set-")]
        parsed = [controllerlog.parse(ln) for ln in _manager_lines(cluster)]
        failed = {(p.name, controllerlog.classify(p).id) for p in parsed if p and p.level == "ERROR"}
        assert ("untrusted-set", "C1") in failed and ("revoked-set", "C4") in failed, failed
        assert all(controllerlog.parse(ln).kind == "AutoscalingRunnerSet" for ln in errors)

        # the fixes of the scenario's comment: the CA for untrusted-set, a working token for revoked-set
        cluster.apply_objects([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": GITHUB_CA_CONFIGMAP, "namespace": "arc-runners"}, "data": {"ca.crt": CA.decode()}}])
        cluster.mutate(ARS, "arc-runners", "untrusted-set", lambda o: o["spec"].__setitem__(
            "githubServerTLS", {"certificateFrom": {"configMapKeyRef": {"name": GITHUB_CA_CONFIGMAP,
                                                                        "key": "ca.crt"}}}))
        good = cluster.get("secrets", "arc-runners", "arc-github-token")["data"]["github_token"]
        cluster.mutate("secrets", "arc-runners", "revoked-token",
                       lambda o: o["data"].__setitem__("github_token", good))
        wait_for(lambda: _set_id(cluster, "untrusted-set") and _set_id(cluster, "revoked-set"),
                 what="both registered after the fixes")
        assert len({_set_id(cluster, n) for n in ("fresh-set", "revoked-set", "untrusted-set")}) == 3
    finally:
        controller.stop()


def test_the_scenario_serves_the_0_11_crds_to_a_0_14_2_controller():
    cluster = Cluster()
    cluster.base_url = "https://127.0.0.1:1"
    load_scenario(cluster, "controller-errors")
    fields = {}
    for crd in cluster.list("customresourcedefinitions"):
        kind, found = crd_fields(crd)
        fields.update({(k, p): t for k, p, t in found})
    assert ("AutoscalingRunnerSet", "status.phase") not in fields and ("AutoscalingRunnerSet", "status.state") in fields
    assert ("AutoscalingRunnerSet", "spec.vaultConfig") not in fields
    assert fields[("EphemeralRunner", "status.failures")] == "map[boolean]"
    controller = next(d for d in cluster.list("deployments") if "controller" in d["metadata"]["name"])
    assert json.dumps(controller).count("gha-runner-scale-set-controller:0.14.2") >= 1
    # the token Secret is kept byte for byte (the controller reads it as the listener would)
    secret = cluster.get("secrets", "arc-runners", "revoked-token")
    assert base64.b64decode(secret["data"]["github_token"]).startswith(b"ghp_")


def test_arc_top_check_on_the_scenario_names_each_cause_from_the_controllers_log():
    """End to end: the embedded sandbox over HTTPS, the monitor's watches, the log tailer reading the controller
    pod's log through the API, the GitHub probes, and the checks."""
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-m", "arc_top.cli.main", "check", "--demo", "--scenario",
                           "controller-errors", "--settle", "6", "-o", "json", "--fail-on", "never"],
                          capture_output=True, text=True, timeout=180, cwd=root)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)["findings"]
    unregistered = {f["scale_set"]: f["evidence"] for f in found if f["code"] == "ARC409"}
    assert set(unregistered) == {"arc-runners/revoked-set", "arc-runners/untrusted-set"}
    untrusted, revoked = unregistered["arc-runners/untrusted-set"], unregistered["arc-runners/revoked-set"]
    assert any(e.startswith("controller log") and e.endswith("x509: certificate signed by unknown authority")
               for e in untrusted), untrusted
    assert any("no spec.githubServerTLS" in e for e in untrusted)
    assert any(e.startswith("controller log") and "Bad credentials" in e for e in revoked), revoked
    assert any(e.startswith("likely cause: ARC104") for e in revoked)
    [crds] = [f for f in found if f["code"] == "ARC605"]
    assert crds["evidence"][0].startswith("first gap: AutoscalingRunnerSet spec.vaultConfig is missing")
    assert not [f for f in found if f["code"] == "ARC410"]

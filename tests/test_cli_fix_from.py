"""`arc-top fix --from`: the plan for a finding of saved `kubectl get -o yaml` output, with no cluster at all
(KUBECONFIG points nowhere), printed as kubectl commands (`-o patch`) that the real kubectl then applies to the
cluster the files came from, or as the objects after the fix (`-o yaml`). A Secret's values are never printed."""

from __future__ import annotations

import base64
import os
import shlex
import subprocess
import sys

import yaml
from kubernetes import client

from arc_top.sandbox.run import start_sandbox
from tests.conftest import Kubectl, api_client

ARC_TOP = [sys.executable, "-m", "arc_top.cli.main", "fix"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = "autoscalingrunnersets,autoscalinglisteners,ephemeralrunners,pods,namespaces,secrets,storageclasses"


def saved(tmp_path, scenario: str) -> tuple[object, Kubectl, str]:
    """A paused sandbox of `scenario` and its objects saved by the real kubectl."""
    sb = start_sandbox(scenario, kubeconfig_path=str(tmp_path / "sb.kubeconfig"))
    sb.pause()
    kubectl = Kubectl(sb, str(tmp_path / "cache"))
    path = tmp_path / "saved.yaml"
    path.write_text(kubectl("get", KINDS, "-A", "-o", "yaml").stdout)
    return sb, kubectl, str(path)


def offline(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, KUBECONFIG=str(tmp_path / "no-such-kubeconfig"), NO_COLOR="1",
               XDG_STATE_HOME=str(tmp_path / "state"))
    return subprocess.run(ARC_TOP + list(args), capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)


def test_patch_output_is_what_kubectl_applies_and_yaml_output_is_the_fixed_object(tmp_path):
    sb, kubectl, path = saved(tmp_path, "kube-permissions")
    try:
        proc = offline(tmp_path, "ARC501", "--from", path, "--scale-set", "arc-runners/arc-runner-set",
                       "-o", "patch")
        assert proc.returncode == 0, proc.stderr
        commands = [line for line in proc.stdout.splitlines() if line.startswith("kubectl ")]
        assert commands == [line for line in commands if "autoscalingrunnersets.actions.github.com" in line]
        (patch,) = commands
        assert "fsGroup" in patch and "resourceVersion" not in patch        # the saved rv is not the live one
        argv = shlex.split(patch)[1:]
        kubectl(*argv)                                                      # the real kubectl takes it as is
        ars = client.CustomObjectsApi(api_client(sb)).get_namespaced_custom_object(
            "actions.github.com", "v1alpha1", "arc-runners", "autoscalingrunnersets", "arc-runner-set")
        assert ars["spec"]["template"]["spec"]["securityContext"]["fsGroup"] == 123

        proc = offline(tmp_path, "ARC501", "--from", path, "--scale-set", "arc-runners/arc-runner-set",
                       "--variant", "chown-init", "-o", "yaml")
        assert proc.returncode == 0, proc.stderr
        doc = yaml.safe_load(proc.stdout)
        (fixed,) = doc["items"]
        assert fixed["kind"] == "AutoscalingRunnerSet" and "resourceVersion" not in fixed["metadata"]
        init = fixed["spec"]["template"]["spec"]["initContainers"][-1]
        assert init["command"][-1].startswith("chown -R 1001:123")
    finally:
        sb.stop()


def test_a_secret_fix_from_files_never_prints_the_value_and_problems_are_one_line(tmp_path):
    sb, _kubectl, path = saved(tmp_path, "bad-credentials")
    try:
        secret = client.CoreV1Api(api_client(sb)).read_namespaced_secret("newline-token", "arc-runners")
        value = base64.b64decode(secret.data["github_token"]).decode()
        for fmt in ("patch", "yaml", "json", "text"):
            proc = offline(tmp_path, "ARC103", "--from", path, "--target", "secret/arc-runners/newline-token",
                           "-o", fmt)
            assert proc.returncode == 0, (fmt, proc.stderr)
            for shown in (value, value.strip(), secret.data["github_token"],
                          base64.b64encode(value.strip().encode()).decode()):
                assert shown not in proc.stdout, fmt
        proc = offline(tmp_path, "ARC104", "--from", path, "--target", "secret/arc-runners/expired-token")
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        proc = offline(tmp_path, "ARC501", "--from", path, "--scale-set", "arc-runners/nope")
        assert proc.returncode == 2 and "no ARC501 finding" in proc.stderr, proc.stderr
        proc = offline(tmp_path, "ARC501", "--from", str(tmp_path / "missing.yaml"), "--scale-set", "a/b")
        assert proc.returncode == 2 and "missing.yaml" in proc.stderr and "Traceback" not in proc.stderr
        proc = offline(tmp_path, "ARC501", "--scale-set", "a/b", "-o", "patch")
        assert proc.returncode == 2 and "--from" in proc.stderr
    finally:
        sb.stop()

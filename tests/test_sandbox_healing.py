"""Healing the way a real cluster heals: an operator fixes the cause with kubectl over HTTPS, does what ARC's
docs say (delete the listener pod, delete the Failed runners), and the simulation reacts as ARC would —
read back with the official client, never from the simulation's insides."""

from __future__ import annotations

import base64
import json

import pytest
from kubernetes import client

from tests.conftest import api_client

NS = "arc-runners"
CONTROLLER_NS = "arc-systems"
GROUP, VERSION = "actions.github.com", "v1alpha1"
LISTENER_LABELS = "app.kubernetes.io/component=runner-scale-set-listener"
WAIT = 90          # generous: a loaded 2-core CI machine


def log_of(core, pod: str, ns: str, container: str) -> str | None:
    """The container's log, or None when the pod went away between listing and reading."""
    try:
        return core.read_namespaced_pod_log(pod, ns, container=container)
    except client.ApiException:
        return None


def listener_pods(core, ars: str) -> list:
    return core.list_namespaced_pod(CONTROLLER_NS, label_selector=f"{LISTENER_LABELS},"
                                                                  f"actions.github.com/scale-set-name={ars}").items


def listener_report(core, ars: str) -> list:
    return [(p.metadata.uid, p.status.phase, log_of(core, p.metadata.name, CONTROLLER_NS, "listener"))
            for p in listener_pods(core, ars)]


def runner_pods(core, ns: str, ars: str) -> list:
    pods = core.list_namespaced_pod(ns, label_selector=f"actions.github.com/scale-set-name={ars},"
                                                       "app.kubernetes.io/component=runner").items
    return [p for p in pods if not p.metadata.name.endswith("-workflow")]


def listening_runners(core, ns: str, ars: str, accept=lambda pod: True) -> int:
    count = 0
    for pod in runner_pods(core, ns, ars):
        if pod.status.phase == "Running" and accept(pod):
            log = log_of(core, pod.metadata.name, ns, "runner") or ""
            count += "Listening for Jobs" in log and "is denied" not in log
    return count


def delete_listener_pod(sb, kubectl, core, ars: str) -> str:
    """Delete the scale set's listener pod as an operator would; returns its uid. Called with the simulation
    paused (a failing listener's pod is replaced every moment) and leaves it paused; should the pod be
    between two lives right then, the simulation runs on until there is one."""
    for _ in range(50):
        pods = listener_pods(core, ars)
        if pods:
            kubectl("delete", "pod", pods[0].metadata.name, "-n", CONTROLLER_NS, "--wait=false")
            return pods[0].metadata.uid
        sb.resume()
        sb.cluster.wait(lambda: bool(listener_pods(core, ars)), 10)
        sb.pause()
    raise AssertionError(f"no listener pod for {ars} to delete")


# ---- bad credentials: rewrite the token, delete the listener pod ------------------------------------------
def test_trimmed_token_and_a_deleted_listener_pod_heal_the_listener(sandbox_for):
    sb, kubectl, core = sandbox_for("bad-credentials")
    ars = "newline-token-set"

    def failing() -> bool:
        return any("invalid header field value" in (log_of(core, p.metadata.name, CONTROLLER_NS, "listener") or "")
                   for p in listener_pods(core, ars))
    assert sb.cluster.wait(failing, WAIT), "the listener never logged the newline in its token"
    secret = json.loads(kubectl("get", "secret", "newline-token", "-n", NS, "-o", "json").stdout)
    raw = secret["data"]["github_token"]
    token = base64.b64decode(raw).decode()
    assert token.endswith("\n")
    trimmed = base64.b64encode(token.strip().encode()).decode()
    with sb.paused():             # the token and the pod as one change: no listener restart in between
        kubectl("patch", "secret", "newline-token", "-n", NS, "--type", "json", "-p", json.dumps(
            [{"op": "test", "path": "/data/github_token", "value": raw},
             {"op": "replace", "path": "/data/github_token", "value": trimmed}]))
        old = delete_listener_pod(sb, kubectl, core, ars)

    def healthy_listener() -> bool:
        for pod in listener_pods(core, ars):
            if pod.metadata.uid == old or pod.status.phase != "Running":
                continue
            log = log_of(core, pod.metadata.name, CONTROLLER_NS, "listener") or ""
            if "Starting listener" in log and "invalid header field value" not in log:
                return True
        return False
    assert sb.cluster.wait(healthy_listener, WAIT), (
        f"the new listener pod did not start with the trimmed token (old pod {old}): {listener_report(core, ars)}")
    # minRunners is 1: the living listener scales the EphemeralRunnerSet and a runner comes up.
    assert sb.cluster.wait(lambda: listening_runners(core, NS, ars) >= 1, WAIT), "no runner after the fix"
    # What the new pod read: its `<listener>-config` Secret, re-synced from the fixed githubConfigSecret.
    listener = client.CustomObjectsApi(api_client(sb)).list_namespaced_custom_object(
        GROUP, VERSION, CONTROLLER_NS, "autoscalinglisteners",
        label_selector=f"actions.github.com/scale-set-name={ars}")
    name = listener["items"][0]["metadata"]["name"]
    config = core.read_namespaced_secret(f"{name}-config", CONTROLLER_NS).data["config.json"]
    assert json.loads(base64.b64decode(config))["token"] == token.strip()


# ---- failed runners: relabel the namespace, delete the Failed runners ------------------------------------
def test_privileged_namespace_and_deleted_failed_runners_bring_dind_runners_up(sandbox_for):
    sb, kubectl, core = sandbox_for("failed-runners")
    ns, ars = "team-a", "dind-set"
    custom = client.CustomObjectsApi(api_client(sb))

    def invalid_pod_runners() -> list[dict]:
        items = custom.list_namespaced_custom_object(GROUP, VERSION, ns, "ephemeralrunners")["items"]
        return [er for er in items if (er.get("status") or {}).get("reason") == "InvalidPod"]
    assert sb.cluster.wait(lambda: len(invalid_pod_runners()) >= 3, WAIT), "dind runners were not rejected"
    assert 'violates PodSecurity "baseline:latest"' in invalid_pod_runners()[0]["status"]["message"]
    assert not runner_pods(core, ns, ars)
    kubectl("label", "namespace", ns, "pod-security.kubernetes.io/enforce=privileged", "--overwrite")
    failed = sorted(er["metadata"]["name"] for er in invalid_pod_runners())
    out = kubectl("delete", "ephemeralrunners", *failed, "-n", ns, timeout=WAIT).stdout
    assert all(f'"{name}" deleted' in out for name in failed)

    assert sb.cluster.wait(lambda: listening_runners(core, ns, ars) >= 3, WAIT), "no dind runners after the fix"
    items = custom.list_namespaced_custom_object(GROUP, VERSION, ns, "ephemeralrunners")["items"]
    assert not {er["metadata"]["name"] for er in items} & set(failed)
    assert sb.cluster.wait(lambda: not invalid_pod_runners(), WAIT)


# ---- kube-permissions: an init container that chowns the work volume -------------------------------------
def test_chown_init_container_heals_local_path_only_with_the_work_volume_mounted(sandbox_for):
    # Slow enough that a failing runner's log can be read over HTTPS before the runner is replaced.
    sb, kubectl, core = sandbox_for("kube-permissions", speed=3.0)
    ars = "arc-local-path"
    template = json.loads(kubectl("get", "autoscalingrunnerset", ars, "-n", NS, "-o", "json").stdout)["spec"][
        "template"]
    assert template["spec"]["securityContext"]["fsGroup"] == 123        # ignored by the local-path volume
    image = next(c["image"] for c in template["spec"]["containers"] if c["name"] == "runner")
    init = {"name": "fix-work-permissions", "image": image,
            "command": ["sh", "-c", "chown -R 1001:123 /home/runner/_work"], "securityContext": {"runAsUser": 0}}
    path = "/spec/template/spec/initContainers"
    assert "initContainers" not in template["spec"]

    def with_init(pod, mounted: bool) -> bool:
        inits = pod.spec.init_containers or []
        return any(c.name == "fix-work-permissions" and bool(c.volume_mounts) == mounted for c in inits)

    # Without the work volume mounted in the init container, the chown changes nothing the runner sees.
    kubectl("patch", "autoscalingrunnerset", ars, "-n", NS, "--type", "json",
            "-p", json.dumps([{"op": "add", "path": path, "value": [init]}]))

    def denied_despite_init() -> bool:
        for pod in runner_pods(core, NS, ars):
            if with_init(pod, mounted=False):
                log = log_of(core, pod.metadata.name, NS, "runner") or ""
                assert "Listening for Jobs" not in log, "an unmounted chown must not heal"
                if "is denied" in log:
                    return True
        return False
    assert sb.cluster.wait(denied_despite_init, WAIT), "no runner with the unmounted init container failed"

    # With the work volume mounted, it does.
    mounted = dict(init, volumeMounts=[{"name": "work", "mountPath": "/home/runner/_work"}])
    kubectl("patch", "autoscalingrunnerset", ars, "-n", NS, "--type", "json",
            "-p", json.dumps([{"op": "replace", "path": f"{path}/0", "value": mounted}]))
    assert sb.cluster.wait(lambda: listening_runners(core, NS, ars, lambda p: with_init(p, mounted=True)) >= 1,
                           WAIT), "no runner became healthy with the mounted chown init container"


# ---- a deleted listener pod comes back -----------------------------------------------------------------------
def test_a_deleted_listener_pod_is_recreated_by_its_autoscaling_listener(sandbox_for):
    sb, kubectl, core = sandbox_for("healthy")
    ars = "arc-runner-set"

    def running_listener():
        return next((p for p in listener_pods(core, ars) if p.status.phase == "Running"), None)
    assert sb.cluster.wait(lambda: running_listener() is not None, WAIT)
    old = running_listener()
    assert old.spec.restart_policy == "Never"
    assert old.metadata.owner_references[0].kind == "AutoscalingListener"
    kubectl("delete", "pod", old.metadata.name, "-n", CONTROLLER_NS, timeout=WAIT)

    def replaced() -> bool:
        pod = running_listener()
        return pod is not None and pod.metadata.uid != old.metadata.uid and "Starting listener" in (
            log_of(core, pod.metadata.name, CONTROLLER_NS, "listener") or "")
    assert sb.cluster.wait(replaced, WAIT), "the AutoscalingListener did not make a new pod"
    new = running_listener()
    assert new.metadata.name == old.metadata.name                 # same name, new pod: 0 restarts
    assert all(s.restart_count == 0 for s in new.status.container_statuses or ())


# ---- which chown init containers fix the work volume (the runner program's rule, case by case) -------------
RUNNER_IMAGE = "ghcr.io/actions/actions-runner:2.329.0"


def _init(command: list[str], mount: str | None = "/home/runner/_work", **security) -> dict:
    c = {"name": "fix", "image": RUNNER_IMAGE, "command": command}
    if security:
        c["securityContext"] = security
    if mount:
        c["volumeMounts"] = [{"name": "work", "mountPath": mount}]
    return c


@pytest.mark.parametrize("init, code, fixed", [
    (_init(["sh", "-c", "chown -R 1001:123 /home/runner/_work"], runAsUser=0), 0, True),
    (_init(["sudo", "chown", "-R", "1001:123", "/home/runner/_work"]), 0, True),
    (_init(["sh", "-c", "chown -R runner:docker /home/runner"], runAsUser=0), 0, True),     # -R from above
    (_init(["sh", "-c", "mkdir -p /x && chown 1001 /home/runner/_work/"], runAsUser=0), 0, True),
    (_init(["sh", "-c", "chown -R 1001:123 /home/runner/_work"], mount=None, runAsUser=0), 0, False),
    (_init(["sh", "-c", "chown -R 1001:123 /home/runner/_work"], mount="/work", runAsUser=0), 0, False),
    (_init(["sh", "-c", "chown 1001:123 /home/runner"], runAsUser=0), 0, False),         # not recursive
    (_init(["sh", "-c", "chown -R 0:123 /home/runner/_work"], runAsUser=0), 0, False),   # still root's
    (_init(["sh", "-c", "chown -R 1001:123 /home/runner/_work"]), 1, False),             # as 1001: EPERM
    (_init(["sudo", "chown", "-R", "1001:123", "/home/runner/_work"], allowPrivilegeEscalation=False), 1, False),
    (_init(["sh", "-c", "echo hello"], runAsUser=0), 0, False),
])
def test_chown_init_container_cases(init, code, fixed):
    from arc_top.sandbox.controller.runner_program import init_outcome

    lines, exit_code, chowned = init_outcome({"spec": {}}, init)
    assert (exit_code, chowned) == (code, fixed), lines

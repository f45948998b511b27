"""ARC401–ARC407: too few runners, Failed runners, the listener, start-up churn, Pending pods, the controller."""

from __future__ import annotations

from arc_top.kube import model
from tests.checks_fixtures import (
    arc_info,
    codes,
    controller_pod,
    event,
    fleet,
    of,
    replace,
    runner,
    runner_template,
    tail,
    without,
)

SCALING = {"ARC401", "ARC402", "ARC403", "ARC404", "ARC405", "ARC406", "ARC407"}
TMPL = runner_template("kubernetes", "arc-runner-set")
ERS = "arc-runner-set-h8ff4"
LISTENER_POD = "arc-runner-set-754b578d-listener"


def _runner(name, **kw):
    return runner("arc-runner-set", "arc-runners", f"{ERS}-runner-{name}", TMPL, ERS, **kw)


def test_healthy_fleet_has_no_scaling_findings():
    assert not codes(fleet()) & SCALING


# ---- ARC402 / ARC407 ------------------------------------------------------------------------------------------
def test_arc407_invalid_pod_on_the_runner_with_the_apiserver_message():
    message = ('Failed to create the pod: pods "x" is forbidden: violates PodSecurity "baseline:latest": '
               'privileged (container "dind" must not set securityContext.privileged=true)')
    raws = fleet(runners=0) + _runner("bad01", phase="Failed", pod_phase=None, reason="InvalidPod", message=message)
    [f] = of(raws, "ARC407")
    assert f.subject.kind == "EphemeralRunner" and f.subject.uid == f"uid-arc-runners-{ERS}-runner-bad01"
    assert f.scale_set == "arc-runners/arc-runner-set" and "violates PodSecurity" in f.evidence[1]
    assert not of(raws, "ARC402")


def test_arc402_failed_runner_other_reasons():
    raws = fleet() + _runner("bad02", phase="Failed", pod_phase=None, reason="TooManyPodFailures",
                             message="Pod has failed to start more than 5 times")
    [f] = of(raws, "ARC402")
    assert f.subject.kind == "EphemeralRunner" and "TooManyPodFailures" in f.evidence[0]
    assert not of(fleet(), "ARC402")


def test_failed_runner_floods_are_capped_per_scale_set():
    raws = fleet(runners=0)
    for i in range(25):
        raws += _runner(f"f{i:04d}", phase="Failed", pod_phase=None, reason="InvalidPod", message="denied")
    found = of(raws, "ARC407")
    assert len(found) == 10 and "and 15 more like this" in found[-1].evidence[-1]


# ---- ARC401 ------------------------------------------------------------------------------------------------
def test_arc401_failed_runners_fill_the_replicas():
    raws = fleet(runners=0, min_runners=2)
    for i in range(2):
        raws += _runner(f"f{i}", phase="Failed", pod_phase=None, reason="InvalidPod", message="denied")
    [f] = of(raws, "ARC401")
    assert f.subject.kind == "AutoscalingRunnerSet" and "0 running runner pods, minRunners 2" in f.evidence[0]
    assert any("2 Failed EphemeralRunners count toward the replicas (InvalidPod x2)" in e for e in f.evidence)
    assert not of(fleet(runners=2, min_runners=2), "ARC401")


def test_arc401_names_pending_pods_and_a_failing_listener():
    raws = fleet(runners=0) + _runner("p1", phase="Pending", pod_phase="Pending", container_state={
        "waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}})
    raws = replace(raws, "Pod", LISTENER_POD, lambda p: p["status"].update(phase="Failed", containerStatuses=[
        {"name": "listener", "restartCount": 0, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]))
    [f] = of(raws, "ARC401")
    text = " | ".join(f.evidence)
    assert "stuck Pending (ImagePullBackOff x1)" in text and "exit code 1" in text


def test_arc401_counts_runners_that_are_still_starting():
    raws = fleet(runners=1, min_runners=2) + _runner("new", phase="Pending", pod_phase="Pending", age=5)
    assert not of(raws, "ARC401")
    stuck = fleet(runners=1, min_runners=2) + _runner("old", phase="Pending", pod_phase="Pending", age=900)
    [f] = of(stuck, "ARC401")
    assert "1 running runner pods, minRunners 2" in f.evidence[0] and "stuck Pending" in f.evidence[-1]


def test_arc401_waits_for_a_new_scale_set_without_a_cause():
    young = replace(fleet(runners=0), "AutoscalingRunnerSet", "arc-runner-set",
                    lambda o: o["metadata"].update(creationTimestamp="2027-01-15T08:00:00Z"))
    assert not of(young, "ARC401")
    [f] = of(fleet(runners=0), "ARC401")           # an hour old: report, and say no cause was seen
    assert "no cause seen" in f.evidence[-1]


def test_arc401_pods_unreadable_give_arc000():
    found = of(fleet(runners=0), "ARC000", states={model.PODS: "forbidden"})
    assert any("ARC401" in f.title and "pods in arc-runners" in f.title for f in found)
    assert not of(fleet(runners=0), "ARC401", states={model.PODS: "forbidden"})


# ---- ARC403 ------------------------------------------------------------------------------------------------
def test_arc403_no_listener():
    raws = without(fleet(), "AutoscalingListener")
    raws = without(raws, "Pod", LISTENER_POD) + [event("AutoscalingRunnerSet", "arc-runners", "arc-runner-set",
                                                       "FailedGetSecret", "failed to get secret")]
    [f] = of(raws, "ARC403")
    assert f.subject.kind == "AutoscalingRunnerSet" and "no AutoscalingListener" in f.evidence[0]
    assert any("FailedGetSecret" in e for e in f.evidence)


def test_arc403_listener_pod_in_error_with_its_log():
    raws = replace(fleet(), "Pod", LISTENER_POD, lambda p: p["status"].update(phase="Failed", containerStatuses=[
        {"name": "listener", "restartCount": 0, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]))
    log = ['2026/01/01 00:00:00 Application returned an error: failed to create actions message session client: '
           'unexpected response from Actions service during registration token call: 401 - '
           '{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}']
    [f] = of(raws, "ARC403", logs=[tail(LISTENER_POD, log, ns="arc-systems", container="listener")])
    assert f.subject.kind == "Pod" and f.subject.name == LISTENER_POD and f.subject.uid
    assert "exit code 1" in f.evidence[0] and "Bad credentials" in f.evidence[1]
    assert f.related[0].kind == "AutoscalingListener"
    assert not of(fleet(), "ARC403", logs=[tail(LISTENER_POD, ["Starting listener"], ns="arc-systems")])


def test_arc403_from_the_log_alone_and_from_a_listener_that_never_scaled():
    log = ['Application returned an error: failed to get runner group: no runner group found with name "gpu"']
    [f] = of(fleet(), "ARC403", logs=[tail(LISTENER_POD, log, ns="arc-systems", container="listener")])
    assert "no runner group" in f.evidence[0]
    starved = replace(fleet(), "EphemeralRunnerSet", ERS, lambda o: o["spec"].update(replicas=0))
    [f] = of(starved, "ARC403")
    assert "replicas 0 < minRunners 2" in f.evidence[0]


def test_arc403_listeners_unreadable_give_arc000():
    found = of(fleet(), "ARC000", states={model.LISTENERS: "forbidden"})
    assert any("ARC403" in f.title and "autoscaling listeners" in f.title for f in found)


# ---- ARC404 ------------------------------------------------------------------------------------------------
EXITED = {"terminated": {"exitCode": 0, "reason": "Completed"}}


def test_arc404_runner_exited_0_without_a_job():
    raws = fleet() + _runner("c1", phase="Succeeded", pod_phase="Succeeded", age=20, container_state=EXITED)
    [f] = of(raws, "ARC404")
    assert f.subject.kind == "AutoscalingRunnerSet" and "1 runner pod exited 0 without a job" in f.evidence[0]
    assert f.related[0].name == f"{ERS}-runner-c1"


def test_arc404_silent_when_the_runner_ran_a_job_or_long_ago():
    assert not of(fleet() + _runner("c1", phase="Succeeded", pod_phase="Succeeded", age=20, job=True,
                                    container_state=EXITED), "ARC404")
    assert not of(fleet() + _runner("c1", phase="Succeeded", pod_phase="Succeeded", age=3000,
                                    container_state=EXITED), "ARC404")


def test_arc404_from_the_runner_log():
    lines = ["[RUNNER 2026-01-01 00:00:00Z ERR  Runner] Fail to create and validate runner's work directory "
             "'/home/runner/_work'.",
             "Runner listener exit with terminated error, stop the service, no retry needed."]
    [f] = of(fleet(), "ARC404", logs=[tail(f"{ERS}-runner-00000", lines)])
    assert "start-up failed" in f.evidence[0] and "work directory" in f.evidence[1]


# ---- ARC405 ------------------------------------------------------------------------------------------------
def test_arc405_image_pull_backoff_on_the_pod():
    raws = fleet() + _runner("img", phase="Pending", pod_phase="Pending", age=30, container_state={
        "waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "nope:1"'}})
    [f] = of(raws, "ARC405")
    assert f.subject.kind == "Pod" and f.subject.name == f"{ERS}-runner-img" and f.subject.uid
    assert "ImagePullBackOff" in f.evidence[1]


def test_arc405_failed_scheduling_event_and_long_pending():
    ev = event("Pod", "arc-runners", f"{ERS}-runner-s1", "FailedScheduling",
               "0/4 nodes are available: 4 Insufficient cpu.", count=3)
    [f] = of(fleet() + _runner("s1", phase="Pending", pod_phase="Pending", age=20, node="") + [ev], "ARC405")
    assert "Insufficient cpu" in f.evidence[1] and "(x3)" in f.evidence[1]
    assert of(fleet() + _runner("s2", phase="Pending", pod_phase="Pending", age=900, node=""), "ARC405")
    assert not of(fleet() + _runner("s3", phase="Pending", pod_phase="Pending", age=20, node=""), "ARC405")


# ---- ARC406 ------------------------------------------------------------------------------------------------
def test_arc406_no_controller():
    raws = without(fleet(), "Pod", "arc-gha-rs-controller-6d4f9-x2x7p")
    [f] = of(raws, "ARC406", arc=arc_info(controllers=False))
    assert f.subject.kind == "AutoscalingRunnerSet" and "no pod labelled" in f.evidence[0]
    assert not of(fleet(), "ARC406")


def test_arc406_controller_pod_not_running():
    raws = without(fleet(), "Pod", "arc-gha-rs-controller-6d4f9-x2x7p") + [controller_pod(phase="Pending")]
    [f] = of(raws, "ARC406")
    assert "controller pod arc-systems/arc-gha-rs-controller-6d4f9-x2x7p" in f.evidence[0]


def test_arc406_undecidable_without_discovery_or_cluster_wide_pods():
    raws = without(fleet(), "Pod", "arc-gha-rs-controller-6d4f9-x2x7p")
    assert not of(raws, "ARC406", arc=None) and any("ARC406" in f.title for f in of(raws, "ARC000", arc=None))
    found = of(raws, "ARC000", arc=arc_info(controllers=False, listed=False))
    assert any("cluster-wide" in f.title for f in found)

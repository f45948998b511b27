"""`pod.status` as a node reports it, built from the kubelet's private record of one pod (`PodRun`)."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from arc_top.sandbox.cluster import qos_class
from arc_top.sandbox.controller.common import rfc3339


@dataclass
class PodRun:
    """The kubelet's private view of one pod (by uid): what it has done so far."""

    uid: str
    ns: str
    name: str
    program: object | None
    stage: str = "new"                       # new | scheduling | starting | running | done
    node: str = ""
    ip: str = ""
    start_time: str = ""
    states: dict[str, dict] = field(default_factory=dict)     # container -> containerStatus fields
    pulled: set[str] = field(default_factory=set)
    pulling: set[str] = field(default_factory=set)
    attempts: Counter = field(default_factory=Counter)
    transitions: dict[str, str] = field(default_factory=dict)
    unschedulable: str = ""
    retry_pending: bool = False


def pod_status(run: PodRun, pod: dict, phase: str | None, host_ip: str) -> dict:
    spec = pod["spec"]
    phase = phase or ("Running" if run.stage == "running" else "Pending")
    ready = run.stage == "running" and all(run.states.get(c["name"], {}).get("ready")
                                          for c in spec.get("containers") or ())
    status: dict = {"phase": phase, "qosClass": qos_class(spec)}
    if run.stage == "scheduling" and run.unschedulable:
        status["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                 "message": run.unschedulable, "lastProbeTime": None,
                                 "lastTransitionTime": rfc3339()}]
        return status
    if not run.node:
        return status
    done = phase in ("Succeeded", "Failed")
    initialized = "Initialized" in run.transitions or not spec.get("initContainers")
    status.update({"hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": run.ip,
                   "podIPs": [{"ip": run.ip}], "startTime": run.start_time})
    not_ready = "PodCompleted" if done else "ContainersNotReady"
    status["conditions"] = [
        _cond("PodReadyToStartContainers", not done, run.transitions),
        _cond("Initialized", initialized or done, run.transitions, "PodCompleted" if done else ""),
        _cond("Ready", ready, run.transitions, not_ready),
        _cond("ContainersReady", ready, run.transitions, not_ready),
        _cond("PodScheduled", True, run.transitions)]
    inits = [container_status(run, c) for c in spec.get("initContainers") or ()]
    if inits:
        status["initContainerStatuses"] = inits
    status["containerStatuses"] = [container_status(run, c, initialized)
                                   for c in spec.get("containers") or ()]
    return status


def container_status(run: PodRun, c: dict, initialized: bool = True) -> dict:
    entry = run.states.get(c["name"]) or {}
    state = entry.get("state") or {"waiting": {"reason": "ContainerCreating"}}
    if not initialized and state.get("waiting", {}).get("reason") == "ContainerCreating":
        state = {"waiting": {"reason": "PodInitializing"}}
    out = {"name": c["name"], "image": c.get("image", ""), "imageID": entry.get("imageID") or "",
           "ready": bool(entry.get("ready")), "restartCount": 0, "started": bool(entry.get("started")),
           "state": state, "lastState": {}}
    if entry.get("containerID"):
        out["containerID"] = entry["containerID"]
    return out


def started_state(run: PodRun, c: dict, image_id: str) -> dict:
    """The containerStatus fields of a container that just started."""
    digest = hashlib.sha256((run.uid + c["name"]).encode()).hexdigest()
    return {"state": {"running": {"startedAt": rfc3339()}}, "ready": True, "started": True,
            "containerID": f"containerd://{digest}", "imageID": image_id}


def terminated_state(state: dict, exit_code: int) -> dict:
    """Those fields once the container exited (ready and started go false)."""
    started = state["state"]["running"]["startedAt"]
    return {**state, "ready": False, "started": False, "state": {"terminated": {
        "exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error", "startedAt": started,
        "finishedAt": rfc3339(), "containerID": state["containerID"]}}}


def _cond(kind: str, ok: bool, transitions: dict[str, str], reason: str = "") -> dict:
    out = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None,
           "lastTransitionTime": transitions.get(kind) or rfc3339()}
    if not ok and reason:
        out["reason"] = reason
    return out

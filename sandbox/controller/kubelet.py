"""The scheduler and the kubelet: binding pods to nodes, pulling images, running init containers and
containers, and keeping `pod.status` the way a real node reports it.

What a container *does* once started (its log lines, when and how it exits) belongs to a program:
the listener, the runner, the workflow pod, or by default "run until deleted". Programs talk back
through `log()` and `finish()`, and are told `container_started`, `adopted` and `pod_gone`.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter

from arc_top.sandbox.controller import images
from arc_top.sandbox.controller.common import L_COMPONENT, L_EPHEMERAL, L_RUNNER_POD, rfc3339
from arc_top.sandbox.controller.podstatus import PodRun, pod_status, started_state, terminated_state
from arc_top.sandbox.controller.scheduler import fitting_nodes, unschedulable_message

PULL_SECONDS = 1.2
CHECK_SECONDS = 0.3          # a pull of an image already on the node (a manifest HEAD only)
START_SECONDS = 0.3
SCHEDULE_SECONDS = 0.2
RETRY_SECONDS = 5.0
MAX_BACKOFF = 300.0


class Kubelet:
    def __init__(self, ctl):
        self.ctl = ctl
        self.cluster = ctl.cluster
        self.runs: dict[tuple[str, str], PodRun] = {}
        self.node_load: Counter = Counter()
        self.node_images: dict[str, set[str]] = {}
        self._ips = itertools.count(2)

    # ---- entry points ------------------------------------------------------------------------
    def reconcile(self, ns: str, name: str) -> None:
        pod = self.cluster.get("pods", ns, name)
        run = self.runs.get((ns, name))
        if run is not None and (pod is None or pod["metadata"]["uid"] != run.uid):
            self._drop(run, gone=pod is None)
            run = None
        if pod is None or run is not None:
            return
        run = self.runs[(ns, name)] = PodRun(pod["metadata"]["uid"], ns, name, self._program_for(pod))
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            run.stage = "done"
        elif phase == "Running" and pod["spec"].get("nodeName"):
            self._adopt(run, pod)
        else:
            run.stage = "scheduling"
            for c in _all_containers(pod):
                run.states[c["name"]] = {"state": {"waiting": {"reason": "ContainerCreating"}}}
            self._write(run, pod)
            self.ctl.after(SCHEDULE_SECONDS, lambda: self._schedule(run))

    def nodes_changed(self, _ns: str = "", _name: str = "") -> None:
        """Something the scheduler depends on changed (a node, a storage class): retry pending pods now."""
        for run in list(self.runs.values()):
            if run.stage == "scheduling":
                self.ctl.after(SCHEDULE_SECONDS, lambda r=run: self._schedule(r))

    def log(self, pod: dict, container: str, lines: list[str] | str) -> None:
        """A line from a program in a running container. Not once the pod is deleted — even before this
        kubelet has noticed: its log would otherwise outlive it and turn up in the log of the next pod of
        the same name (a listener's pod keeps its name from one life to the next)."""
        meta = pod["metadata"]
        run = self.runs.get((meta["namespace"], meta["name"]))
        if run is not None and run.uid == meta["uid"] and run.stage != "done":
            self.cluster.write_pod_log(meta["namespace"], meta["name"], run.uid, container, lines)

    def finish(self, pod: dict, container: str, exit_code: int, after: float = 0.0) -> None:
        """The container's process exits with `exit_code` (after `after` seconds)."""
        if after > 0:
            self.ctl.after(after, lambda: self.finish(pod, container, exit_code))
            return
        meta = pod["metadata"]
        run = self.runs.get((meta["namespace"], meta["name"]))
        state = run.states.get(container) if run and run.uid == meta["uid"] else None
        current = self._pod(run) if state is not None and "running" in state["state"] else None
        if current is None:
            return
        self.cluster.logs.end(run.ns, run.name, container)
        run.states[container] = terminated_state(state, exit_code)
        inits = {c["name"]: c for c in current["spec"].get("initContainers") or ()}
        if container in inits and inits[container].get("restartPolicy") != "Always":
            if exit_code != 0:                         # restartPolicy Never: the pod fails
                self._end(run, current, "Failed")
                return
            self._write(run, current)
            self.ctl.after(START_SECONDS, lambda: self._start_next(run))
            return
        mains = [c["name"] for c in current["spec"].get("containers") or ()]
        if all("terminated" in run.states.get(n, {}).get("state", {}) for n in mains):
            failed = any(run.states[n]["state"]["terminated"]["exitCode"] != 0 for n in mains)
            self._end(run, current, "Failed" if failed else "Succeeded")
        else:
            self._write(run, current)

    # ---- scheduling ----------------------------------------------------------------------------
    def _program_for(self, pod: dict):
        labels = pod["metadata"].get("labels") or {}
        if labels.get(L_COMPONENT) == "runner-scale-set-listener":
            return self.ctl.listener_process
        if labels.get(L_EPHEMERAL) == "True":
            return self.ctl.runners
        if L_RUNNER_POD in labels:
            return self.ctl.jobs
        return None

    def _schedule(self, run: PodRun) -> None:
        pod = self._pod(run)
        if pod is None or run.stage != "scheduling":
            return
        if pod["spec"].get("nodeName"):
            self._bound(run, pod, pod["spec"]["nodeName"])
            return
        created, failed = self.ctl.volumes.ensure_ephemeral(pod)
        if failed:
            self._unschedulable(run, pod, "waiting for ephemeral volume controller to create the "
                                          f'persistentvolumeclaim "{failed}"')
            return
        if created:                    # the scheduler sees the new claims on its next attempt
            self.ctl.after(SCHEDULE_SECONDS, lambda: self._schedule(run))
            return
        problem, pinned, to_provision = self.ctl.volumes.scheduling_view(pod)
        nodes = self.cluster.list("nodes")
        fit, reasons = fitting_nodes(pod, nodes, pinned)
        if problem or not fit:
            self._unschedulable(run, pod, unschedulable_message(len(nodes), problem or reasons))
            return
        node = min(fit, key=lambda name: self.node_load[name])
        for claim in to_provision:
            error = self.ctl.volumes.provision(run.ns, claim, node)
            if error:
                self._unschedulable(run, pod, 'running PreBind plugin "VolumeBinding": binding volumes: '
                                              + error)
                return
        pod = self.cluster.mutate("pods", run.ns, run.name, lambda p: p["spec"].__setitem__("nodeName", node))
        if pod is None:
            return
        self.ctl.events.normal(pod, "Scheduled", f"Successfully assigned {run.ns}/{run.name} to {node}",
                               "default-scheduler")
        self._bound(run, pod, node)

    def _unschedulable(self, run: PodRun, pod: dict, message: str) -> None:
        run.unschedulable = message
        self.ctl.events.warning(pod, "FailedScheduling", message, "default-scheduler")
        self._write(run, pod)
        if not run.retry_pending:
            run.retry_pending = True
            self.ctl.after(RETRY_SECONDS, lambda: self._retry(run))

    def _retry(self, run: PodRun) -> None:
        run.retry_pending = False
        self._schedule(run)

    def _bound(self, run: PodRun, pod: dict, node: str) -> None:
        run.stage, run.node, run.unschedulable = "starting", node, ""
        self.node_load[node] += 1
        run.ip = f"10.244.{sum(map(ord, node)) % 250}.{next(self._ips) % 250 + 2}"
        run.start_time = rfc3339()
        run.transitions["PodScheduled"] = run.transitions["PodReadyToStartContainers"] = run.start_time
        self._write(run, pod)
        self.ctl.after(START_SECONDS, lambda: self._start_next(run))

    # ---- containers ------------------------------------------------------------------------------
    def _start_next(self, run: PodRun) -> None:
        """Init containers one by one (sidecars keep running), then every container at once."""
        pod = self._pod(run)
        if pod is None or run.stage != "starting":
            return
        for c in pod["spec"].get("initContainers") or ():
            state = run.states[c["name"]]["state"]
            sidecar = c.get("restartPolicy") == "Always"
            if state.get("terminated", {}).get("exitCode") == 0 or ("running" in state and sidecar):
                continue
            if "running" in state or not self._pull(run, pod, c):
                return
            self._start(run, pod, c, init=True)
            if not sidecar:
                return
        run.transitions.setdefault("Initialized", rfc3339())
        mains = pod["spec"].get("containers") or ()
        if not all(self._pull(run, pod, c) for c in mains):
            return
        run.stage = "running"
        run.transitions["Ready"] = run.transitions["ContainersReady"] = rfc3339()
        for c in mains:
            self._start(run, pod, c, init=False)

    def _pull(self, run: PodRun, pod: dict, c: dict) -> bool:
        """True when the image is there; otherwise start (or keep waiting for) a pull."""
        name, image = c["name"], c.get("image") or ""
        if name in run.pulled:
            return True
        invalid = images.invalid_reference(image)
        if invalid:
            self._waiting(run, pod, name, "InvalidImageName", invalid)
            self.ctl.events.warning(pod, "InspectFailed", invalid, "kubelet")
            self.ctl.events.warning(pod, "Failed", "Error: InvalidImageName", "kubelet")
            return False
        cached = image in self.node_images.setdefault(run.node, set())
        if cached and (c.get("imagePullPolicy") or images.default_policy(image)) != "Always":
            self.ctl.events.normal(pod, "Pulled", f'Container image "{image}" already present on machine',
                                   "kubelet")
            run.pulled.add(name)
            return True
        if name not in run.pulling:
            self.ctl.events.normal(pod, "Pulling", f'Pulling image "{image}"', "kubelet")
            run.pulling.add(name)
            run.attempts[name] += 1
            took = random.uniform(0.6, 1.4) * (CHECK_SECONDS if cached else PULL_SECONDS)
            self.ctl.after(took, lambda: self._pulled(run, c, took))
        return False

    def _pulled(self, run: PodRun, c: dict, took: float) -> None:
        pod = self._pod(run)
        if pod is None:
            return
        image, name = c.get("image") or "", c["name"]
        run.pulling.discard(name)
        error = images.pull_error(image)
        if error:
            self.ctl.events.warning(pod, "Failed", f'Failed to pull image "{image}": {error}', "kubelet")
            self.ctl.events.warning(pod, "Failed", "Error: ErrImagePull", "kubelet")
            self._waiting(run, pod, name, "ErrImagePull", error)
            self.ctl.after(2.0, lambda: self._back_off(run, c, error))
            backoff = min(MAX_BACKOFF, 10.0 * 2 ** (run.attempts[name] - 1))
            self.ctl.after(backoff, lambda: self._start_next(run))
            return
        spent = images.go_duration(took)
        self.ctl.events.normal(pod, "Pulled", f'Successfully pulled image "{image}" in {spent} ({spent} '
                               f"including waiting). Image size: {images.size_of(image)} bytes.", "kubelet")
        self.node_images.setdefault(run.node, set()).add(image)
        run.pulled.add(name)
        self._start_next(run)

    def _back_off(self, run: PodRun, c: dict, error: str) -> None:
        pod = self._pod(run)
        if pod is None or c["name"] in run.pulled:
            return
        image = c.get("image") or ""
        self.ctl.events.normal(pod, "BackOff", f'Back-off pulling image "{image}"', "kubelet")
        self.ctl.events.warning(pod, "Failed", "Error: ImagePullBackOff", "kubelet")
        self._waiting(run, pod, c["name"], "ImagePullBackOff",
                      f'Back-off pulling image "{image}": ErrImagePull: {error}')

    def _waiting(self, run: PodRun, pod: dict, name: str, reason: str, message: str) -> None:
        run.states[name] = {"state": {"waiting": {"reason": reason, "message": message}}}
        self._write(run, pod)

    def _start(self, run: PodRun, pod: dict, c: dict, init: bool) -> None:
        name = c["name"]
        self.ctl.events.normal(pod, "Created", f"Created container: {name}", "kubelet")
        self.ctl.events.normal(pod, "Started", f"Started container {name}", "kubelet")
        run.states[name] = started_state(run, c, images.image_id(c.get("image") or ""))
        self._write(run, self._pod(run) or pod)
        if not init:
            self.ctl.lograte.container_started(pod, name)
        if run.program is not None:
            run.program.container_started(pod, c, init)
        elif init and c.get("restartPolicy") != "Always":
            self.finish(pod, name, 0, after=1.0)

    def _adopt(self, run: PodRun, pod: dict) -> None:
        """A pod seeded already Running (the `large` scenario): take its status as the truth."""
        run.stage, run.node = "running", pod["spec"]["nodeName"]
        status = pod.get("status") or {}
        run.ip, run.start_time = status.get("podIP", ""), status.get("startTime", "")
        for entry in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            run.states[entry["name"]] = {k: entry.get(k) for k in ("state", "ready", "started", "containerID",
                                                                  "imageID")}
            run.pulled.add(entry["name"])
        for cond in status.get("conditions") or ():
            run.transitions[cond["type"]] = cond.get("lastTransitionTime", "")
        self.node_load[run.node] += 1
        if run.program is not None:
            run.program.adopted(pod)

    def _end(self, run: PodRun, pod: dict, phase: str) -> None:
        for c in _all_containers(pod):
            state = run.states.get(c["name"], {})
            if "running" in state.get("state", {}):         # sidecars are stopped with the pod
                run.states[c["name"]] = terminated_state(state, 0)
                self.cluster.logs.end(run.ns, run.name, c["name"])
        run.stage = "done"
        self._write(run, pod, phase)
        self.node_load[run.node] -= 1

    def _drop(self, run: PodRun, gone: bool) -> None:
        del self.runs[(run.ns, run.name)]
        if run.stage in ("starting", "running"):
            self.node_load[run.node] -= 1
        self.ctl.lograte.pod_gone(run.ns, run.name)
        if gone:
            self.cluster.logs.forget_pod(run.ns, run.name)
        if run.program is not None:
            run.program.pod_gone(run.ns, run.name, run.uid)

    # ---- status ------------------------------------------------------------------------------
    def _pod(self, run: PodRun) -> dict | None:
        pod = self.cluster.get("pods", run.ns, run.name)
        return pod if pod is not None and pod["metadata"]["uid"] == run.uid else None

    def _write(self, run: PodRun, pod: dict, phase: str | None = None) -> None:
        node = self.cluster.get("nodes", None, run.node) if run.node else None
        host_ip = next((a["address"] for a in ((node or {}).get("status") or {}).get("addresses") or ()
                        if a.get("type") == "InternalIP"), "10.0.0.10")
        status = pod_status(run, pod, phase, host_ip)

        def apply(p: dict) -> None:
            if p["metadata"]["uid"] == run.uid:
                p["status"] = status
        self.cluster.mutate("pods", run.ns, run.name, apply)


def _all_containers(pod: dict) -> list[dict]:
    spec = pod.get("spec") or {}
    return list(spec.get("initContainers") or ()) + list(spec.get("containers") or ())

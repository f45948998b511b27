"""EphemeralRunners: registration (JIT Secret), the runner pod, status copied from the pod, and what
ARC does when the runner exits (0 → delete the ER; otherwise count a failure and retry with backoff).

Also the kubelet program for runner pods: init containers, the `runner` container's start-up and its
idle/busy life, and the `dind` sidecar.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import time
from dataclasses import dataclass

from arc_top.sandbox.controller import runner_program
from arc_top.sandbox.controller.common import (
    CONTROLLER_VERSION,
    ER,
    F_REGISTRATION,
    L_EPHEMERAL,
    b64,
    container_state,
    owner_ref,
    rfc3339,
    set_key,
)
from arc_top.sandbox.errors import ApiError

BACKOFF = (0.0, 5.0, 10.0, 20.0, 40.0, 80.0)
MAX_FAILURES = 5
REACT_SECONDS = 0.8  # ARC notices a finished runner pod
EXIT_AFTER_FAILURE_SECONDS = 1.5  # run.sh exits this long after a start-up failure was printed
REGISTRATION_RETRY_SECONDS = 10.0
RUNNER_IDS = itertools.count(1)          # runner ids on the fake GitHub, unique within the process


@dataclass
class RunnerProc:
    """The runner process inside one pod (by pod uid)."""

    key: tuple[str, str]
    pod: dict
    state: str = "starting"  # starting | listening | busy | exited


class Runners:
    def __init__(self, ctl):
        self.ctl = ctl
        self.cluster = ctl.cluster
        self.procs: dict[str, RunnerProc] = {}
        self.idle: dict[tuple[str, str], dict[str, str]] = {}  # scale set -> {pod uid: pod name}
        self.chowned: set[str] = set()  # pod uids whose work volume is fixed
        self._reacting: set[str] = set()
        self._last_failure: dict[str, float] = {}

    # ---- the EphemeralRunner controller --------------------------------------------------------
    def reconcile(self, ns: str, name: str) -> None:
        er = self.cluster.get(ER, ns, name)
        if er is None:
            return
        meta, status = er["metadata"], er.get("status") or {}
        if meta.get("deletionTimestamp"):
            self._finalize(er)
            return
        if status.get("phase") == "Failed" and status.get("reason") == "InvalidPod":
            return
        if not status.get("runnerId"):
            self._register(er)
            return
        pod = self.cluster.get("pods", ns, name)
        if pod is None:
            self._create_pod(er)
            return
        self._copy_status(er, pod)
        pod_status = pod.get("status") or {}
        terminated = container_state(pod, "runner").get("terminated")
        uid = pod["metadata"]["uid"]
        if uid in self._reacting:
            return
        if terminated is not None and terminated.get("exitCode") == 0:
            self._reacting.add(uid)
            self.ctl.after(REACT_SECONDS, lambda: self._finished(er, uid))
        elif terminated is not None or pod_status.get("phase") == "Failed":
            self._reacting.add(uid)
            self.ctl.after(REACT_SECONDS, lambda: self._failed(er, uid))

    def _register(self, er: dict) -> None:
        """GitHub hands out a JIT config: the runner's id and a Secret with the same name as the ER."""
        meta = er["metadata"]
        runner_id = next(RUNNER_IDS)
        secret = jit_secret(er, runner_id)
        try:
            self.cluster.create("secrets", secret)
        except ApiError as exc:
            if exc.code != 409:
                return

        def registered(obj: dict) -> None:
            st = obj.setdefault("status", {})
            st.update(
                {"runnerId": runner_id, "runnerName": meta["name"], "phase": st.get("phase") or "Pending"}
            )

        self.cluster.mutate(ER, meta["namespace"], meta["name"], registered)

    def _create_pod(self, er: dict) -> None:
        meta, status = er["metadata"], er.get("status") or {}
        failures = status.get("failures") or {}
        if len(failures) >= MAX_FAILURES:
            self.ctl.manager.write(
                "INFO",
                "EphemeralRunner",
                "Ephemeral runner has failed too many times, deleting it",
                ephemeralrunner=_ref(er),
                failures=len(failures),
            )
            self._delete_er(meta["namespace"], meta["name"])
            return
        wait = (
            BACKOFF[len(failures)]
            - (time.monotonic() - self._last_failure.get(meta["uid"], 0.0)) * self.ctl.timing.speed
        )
        if failures and wait > 0:
            self.ctl.requeue(ER, meta["namespace"], meta["name"], wait)
            return
        try:
            self.cluster.create("pods", build_pod(er))
        except ApiError as exc:
            message = f"Failed to create the pod: {exc.message}"
            self.ctl.manager.write(
                "ERROR",
                "EphemeralRunner",
                "Failed to create a pod for the ephemeral runner",
                ephemeralrunner=_ref(er),
                error=exc.message,
            )

            def invalid(obj: dict) -> None:
                obj.setdefault("status", {}).update(
                    {"phase": "Failed", "reason": "InvalidPod", "message": message, "ready": False}
                )

            self.cluster.mutate(ER, meta["namespace"], meta["name"], invalid)
            return
        self.ctl.manager.write(
            "INFO",
            "EphemeralRunner",
            "Created ephemeral runner pod",
            ephemeralrunner=_ref(er),
            runnerScaleSetId=er["spec"].get("runnerScaleSetId"),
            runnerName=meta["name"],
        )

    def _copy_status(self, er: dict, pod: dict) -> None:
        pod_status = pod.get("status") or {}
        phase = pod_status.get("phase") or "Pending"
        runner = container_state(pod, "runner")
        want = {
            "phase": phase,
            "reason": pod_status.get("reason", ""),
            "message": pod_status.get("message", ""),
            "ready": phase == "Running" and "running" in runner,
        }
        current = er.get("status") or {}
        if all(current.get(k, "" if k != "ready" else False) == v for k, v in want.items()):
            return

        def copy_in(obj: dict) -> None:
            st = obj.setdefault("status", {})
            st.update(want)
            for k in ("reason", "message"):
                if not want[k]:
                    st.pop(k, None)

        self.cluster.mutate(ER, er["metadata"]["namespace"], er["metadata"]["name"], copy_in)

    def _finished(self, er: dict, pod_uid: str) -> None:
        """Exit code 0 counts as success — even with no job run: the ER is deleted."""
        self._reacting.discard(pod_uid)
        meta = er["metadata"]
        self.ctl.manager.write(
            "INFO",
            "EphemeralRunner",
            "Ephemeral runner container is finished, deleting ephemeral runner",
            ephemeralrunner=_ref(er),
        )
        self._delete_er(meta["namespace"], meta["name"])

    def _failed(self, er: dict, pod_uid: str) -> None:
        self._reacting.discard(pod_uid)
        meta = er["metadata"]
        pod = self.cluster.get("pods", meta["namespace"], meta["name"])
        if pod is None or pod["metadata"]["uid"] != pod_uid:
            return
        self.ctl.manager.write(
            "INFO",
            "EphemeralRunner",
            "Ephemeral runner pod has failed, deleting the pod to retry",
            ephemeralrunner=_ref(er),
            podUID=pod_uid,
        )
        self._last_failure[meta["uid"]] = time.monotonic()
        self.cluster.mutate(
            ER,
            meta["namespace"],
            meta["name"],
            lambda o: o.setdefault("status", {}).setdefault("failures", {}).__setitem__(pod_uid, rfc3339()),
        )
        try:
            self.cluster.delete("pods", meta["namespace"], meta["name"])
        except ApiError:
            pass

    def _delete_er(self, ns: str, name: str) -> None:
        try:
            self.cluster.delete(ER, ns, name)
        except ApiError:
            pass

    def _finalize(self, er: dict) -> None:
        """Deleting: remove the pod and the JIT Secret, unregister from GitHub, drop the finalizers."""
        meta = er["metadata"]
        ns, name = meta["namespace"], meta["name"]
        for key in ("pods", "secrets"):
            if self.cluster.get(key, ns, name) is not None:
                try:
                    self.cluster.delete(key, ns, name)
                except ApiError:
                    pass
        self._last_failure.pop(meta["uid"], None)
        key = set_key(er)
        state = self.ctl.listener_process.states.get(key) if key else None
        keep = (
            [F_REGISTRATION]
            if state is not None
            and state.credentials_ok is False
            and F_REGISTRATION in (meta.get("finalizers") or ())
            else []
        )
        if keep:
            self.ctl.manager.write(
                "ERROR",
                "EphemeralRunner",
                "Failed to remove runner from the service",
                ephemeralrunner=_ref(er),
                error="failed to remove runner: 401 Bad credentials",
            )
            self.ctl.requeue(ER, ns, name, REGISTRATION_RETRY_SECONDS)
        if meta.get("finalizers") != keep:
            self.cluster.mutate(ER, ns, name, lambda o: o["metadata"].__setitem__("finalizers", list(keep)))

    # ---- the runner pod's processes (a kubelet program) ------------------------------------------
    def container_started(self, pod: dict, c: dict, init: bool) -> None:
        uid = pod["metadata"]["uid"]
        if init:
            if c.get("restartPolicy") == "Always":
                if c.get("name") == "dind":
                    self.ctl.kubelet.log(pod, c["name"], runner_program.dind_lines())
                return
            lines, code, chowned = runner_program.init_outcome(pod, c)
            if chowned:
                self.chowned.add(uid)
            if lines:
                self.ctl.kubelet.log(pod, c["name"], lines)
            self.ctl.kubelet.finish(pod, c["name"], code, after=runner_program.INIT_SECONDS)
            return
        if c.get("name") == "dind":
            self.ctl.kubelet.log(pod, "dind", runner_program.dind_lines())
        if c.get("name") != "runner":
            return
        key = set_key(pod)
        er = self.cluster.get(ER, pod["metadata"]["namespace"], pod["metadata"]["name"])
        url = (er or {}).get("spec", {}).get("githubConfigUrl", "")
        proc = self.procs[uid] = RunnerProc(key or ("", ""), pod)
        verdict = runner_program.startup(self.ctl, pod, url, uid in self.chowned)
        self.ctl.after(verdict.after, lambda: self._started(proc, verdict))

    def _started(self, proc: RunnerProc, verdict: runner_program.Startup) -> None:
        if self.procs.get(proc.pod["metadata"]["uid"]) is not proc:
            return
        self.ctl.kubelet.log(proc.pod, "runner", list(verdict.lines))
        if verdict.exit_code is not None:
            # run.sh stops the listener and exits a moment after the failure is printed: the lines are
            # readable while the pod still runs, as on a real cluster.
            proc.state = "exited"
            self.ctl.kubelet.finish(proc.pod, "runner", verdict.exit_code, after=EXIT_AFTER_FAILURE_SECONDS)
            return
        self._listen(proc)

    def _listen(self, proc: RunnerProc) -> None:
        proc.state = "listening"
        self.idle.setdefault(proc.key, {})[proc.pod["metadata"]["uid"]] = proc.pod["metadata"]["name"]
        self.ctl.jobs.dispatch(proc.key)

    def adopted(self, pod: dict) -> None:
        """A runner seeded already listening (the `large` scenario)."""
        key = set_key(pod)
        if key is not None and "running" in container_state(pod, "runner"):
            self._listen(self.procs.setdefault(pod["metadata"]["uid"], RunnerProc(key, pod)))

    def take_idle(self, key: tuple[str, str]) -> RunnerProc | None:
        idle = self.idle.get(key)
        while idle:
            uid = next(iter(idle))
            del idle[uid]
            proc = self.procs.get(uid)
            if proc is not None and proc.state == "listening":
                proc.state = "busy"
                return proc
        return None

    def idle_count(self, key: tuple[str, str]) -> int:
        return len(self.idle.get(key) or ())

    def exit(self, proc: RunnerProc, lines: list[str]) -> None:
        """The ephemeral runner is done after its one job: log and exit 0."""
        self.ctl.kubelet.log(proc.pod, "runner", lines)
        proc.state = "exited"
        self.ctl.kubelet.finish(proc.pod, "runner", 0, after=0.3)

    def pod_gone(self, _ns: str, _name: str, uid: str) -> None:
        proc = self.procs.pop(uid, None)
        self.chowned.discard(uid)
        if proc is not None:
            (self.idle.get(proc.key) or {}).pop(uid, None)
            self.ctl.jobs.runner_gone(proc)


def jit_secret(er: dict, runner_id: int) -> dict:
    """The JIT config Secret (same name as the ER) the runner reads through ACTIONS_RUNNER_INPUT_JITCONFIG."""
    meta = er["metadata"]
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                         "labels": dict(meta.get("labels") or {}), "ownerReferences": [owner_ref(er)]},
            "data": {"jitToken": b64(secrets.token_urlsafe(48)), "runnerName": b64(meta["name"]),
                     "runnerId": b64(str(runner_id))}}


def build_pod(er: dict) -> dict:
    """The runner pod ARC makes from an ER: the template, ARC's labels, and the JIT config env."""
    meta, spec = er["metadata"], er["spec"]
    template_meta = spec.get("metadata") or {}
    pod_spec = copy.deepcopy(spec.get("spec") or {})
    for c in pod_spec.get("containers") or ():
        if c.get("name") == "runner":
            c["env"] = list(c.get("env") or []) + [
                {
                    "name": "ACTIONS_RUNNER_INPUT_JITCONFIG",
                    "valueFrom": {"secretKeyRef": {"name": meta["name"], "key": "jitToken"}},
                },
                {
                    "name": "GITHUB_ACTIONS_RUNNER_EXTRA_USER_AGENT",
                    "value": f"actions-runner-controller/{CONTROLLER_VERSION}",
                },
            ]
    labels = {**(template_meta.get("labels") or {}), **(meta.get("labels") or {}), L_EPHEMERAL: "True"}
    annotations = {**(template_meta.get("annotations") or {}), **(meta.get("annotations") or {})}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [owner_ref(er)],
        },
        "spec": pod_spec,
    }


def _ref(obj: dict) -> dict:
    return {"name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"]}

"""The listener process (a kubelet program): credentials and egress decide whether it lives, and only a
living listener scales its EphemeralRunnerSet: `replicas = min(minRunners + assigned jobs, maxRunners)`.

At start it runs the fake GitHub's verdict on the credentials in the config file its pod mounts — the
`<listener>-config` Secret, which the controller copies from the scale set's githubConfigSecret (bad,
expired or revoked token, newline in a value, missing scope, app problems, wrong URL, missing runner
group) — and checks that NetworkPolicies let it reach GitHub; a failing listener logs why and exits 1
after a moment. A healthy one re-validates every few seconds, so a Secret or policy that breaks later
stops it too.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from arc_top.sandbox.controller import network
from arc_top.sandbox.controller.common import ARS, ERS, LISTENER, github_url_labels, listener_name, set_key
from arc_top.sandbox.controller.listener import config_credentials, read_config
from arc_top.sandbox.controller.listener_metrics import (
    METRICS_PORT,
    ListenerMetrics,
    statistics_line,
    wants_metrics,
)

FAIL_SECONDS = 1.5           # a failing listener lives this long
RECHECK_SECONDS = 3.0        # a healthy listener re-validates its session this often
MAX_RUNNERS = 2147483647
# Failures that happen before the listener opens a connection: egress does not matter for them.
_LOCAL = {"no-secret", "both-credentials", "no-credentials", "invalid-url", "bad-app-id", "bad-header"}


@dataclass
class ListenerState:
    pod_uid: str = ""
    healthy: bool = False
    credentials_ok: bool | None = None       # last verdict on the Secret alone (None: never checked)
    desired: int | None = None
    pod: dict | None = None                  # the listener pod of this process
    metrics: ListenerMetrics | None = None   # when the ARS asks for listenerMetrics


def slog_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def slog(message: str, **attrs: object) -> str:
    """A line in the listener's slog text format."""
    stamp = slog_stamp()
    parts = [f"time={stamp}", "level=INFO", f"msg={json.dumps(message)}"]
    for key, value in attrs.items():
        quoted = isinstance(value, str) and (" " in value or not value)
        parts.append(f"{key}={json.dumps(value) if quoted else value}")
    return " ".join(parts)


def fatal(error: str) -> str:
    return f"{time.strftime('%Y/%m/%d %H:%M:%S', time.gmtime())} Application returned an error: {error}"


class ListenerProcess:
    def __init__(self, ctl):
        self.ctl = ctl
        self.cluster = ctl.cluster
        self.states: dict[tuple[str, str], ListenerState] = {}

    def state(self, key: tuple[str, str]) -> ListenerState:
        return self.states.setdefault(key, ListenerState())

    def healthy(self, key: tuple[str, str]) -> bool:
        st = self.states.get(key)
        return bool(st and st.healthy)

    def forget(self, key: tuple[str, str]) -> None:
        self.states.pop(key, None)

    # ---- the process ----------------------------------------------------------------------------
    def container_started(self, pod: dict, _container: dict, _init: bool) -> None:
        key = set_key(pod)
        if key is None:
            return
        st = self.state(key)
        st.pod_uid, st.healthy, st.desired = pod["metadata"]["uid"], False, None
        ok, lines = self._verdict(pod, key)
        if not ok:                     # the fatal line comes when the process gives up and exits
            self.ctl.kubelet.log(pod, "listener", lines[:-1])
            self.ctl.after(FAIL_SECONDS, lambda: self._exit(pod, lines[-1:]))
            return
        self.ctl.kubelet.log(pod, "listener", lines)
        st.healthy = True
        st.pod = pod
        self._serve_metrics(pod, key, st)
        self.ctl.after(RECHECK_SECONDS, lambda: self._recheck(pod, key))
        self.scale(key)
        self.message(key)
        self.ctl.jobs.dispatch(key)

    adopted = container_started

    def _exit(self, pod: dict, lines: list[str]) -> None:
        self._stop_serving(pod["metadata"]["uid"])
        self.ctl.kubelet.log(pod, "listener", lines)
        self.ctl.kubelet.finish(pod, "listener", 1)

    def pod_gone(self, _ns: str, _name: str, uid: str) -> None:
        self._stop_serving(uid)
        for st in self.states.values():
            if st.pod_uid == uid:
                st.healthy = False

    # ---- job figures: statistics lines and metrics -----------------------------------------------
    def figures(self, key: tuple[str, str]) -> dict[str, int]:
        """The scale set's statistics as GitHub sends them with every message."""
        jobs, idle = self.ctl.jobs, self.ctl.runners.idle_count(key)
        running = jobs.running_count.get(key, 0)
        return {"totalAvailableJobs": 0, "totalAcquiredJobs": 0, "totalAssignedJobs": jobs.assigned(key),
                "totalRunningJobs": running, "totalRegisteredRunners": idle + running, "totalBusyRunners": running,
                "totalIdleRunners": idle}

    def message(self, key: tuple[str, str]) -> None:
        """A message from GitHub reached the listener (a job queued, started or done): it logs the statistics."""
        st = self.states.get(key)
        if st is None or not st.healthy or st.pod is None:
            return
        self.ctl.kubelet.log(st.pod, "listener", statistics_line(slog_stamp(), self.figures(key)))

    def job_started(self, key: tuple[str, str], job_name: str, waited: float) -> None:
        st = self.states.get(key)
        if st is not None and st.metrics is not None:
            st.metrics.job_started(job_name, waited)
        self.message(key)

    def job_completed(self, key: tuple[str, str], job_name: str, result: str, ran: float) -> None:
        st = self.states.get(key)
        if st is not None and st.metrics is not None:
            st.metrics.job_completed(job_name, result, ran)
        self.message(key)

    def _serve_metrics(self, pod: dict, key: tuple[str, str], st: ListenerState) -> None:
        ars = self.cluster.get(ARS, *key)
        ports = [p for c in pod["spec"].get("containers") or () for p in c.get("ports") or ()
                 if p.get("name") == "metrics"]
        if not wants_metrics(ars) or not ports:
            st.metrics = None
            return
        labels = github_url_labels(ars["spec"].get("githubConfigUrl", ""))
        spec = ars["spec"]
        st.metrics = ListenerMetrics(
            key[0], key[1], labels.get("actions.github.com/organization", ""),
            labels.get("actions.github.com/repository", ""), lambda: self.figures(key), lambda: st.desired,
            int(spec.get("minRunners") or 0), int(spec.get("maxRunners", MAX_RUNNERS)))
        meta = pod["metadata"]
        self.cluster.pod_servers[(meta["namespace"], meta["name"], meta["uid"], METRICS_PORT)] = st.metrics.serve

    def _stop_serving(self, uid: str) -> None:
        for server_key in [k for k in self.cluster.pod_servers if k[2] == uid]:
            self.cluster.pod_servers.pop(server_key, None)

    def _recheck(self, pod: dict, key: tuple[str, str], again: bool = True) -> None:
        st = self.states.get(key)
        if st is None or st.pod_uid != pod["metadata"]["uid"] or not st.healthy:
            return
        ok, lines = self._verdict(pod, key)
        if not ok:
            st.healthy = False
            self._exit(pod, lines[-1:])
            return
        self.scale(key)
        if again:
            self.ctl.after(RECHECK_SECONDS, lambda: self._recheck(pod, key))

    def _verdict(self, pod: dict, key: tuple[str, str]) -> tuple[bool, list[str]]:
        """(healthy, log lines): the fake GitHub's verdict on the credentials in the config file the pod
        mounts (`<listener>-config`, which the controller copies from the githubConfigSecret: see
        `Listeners._mirror_config`), then whether egress allows it.

        A healthy listener re-validates every few seconds with the config as it is then (a simplification:
        a real listener keeps the credentials it started with until it must refresh its token)."""
        ars = self.cluster.get(ARS, *key)
        if ars is None:
            return False, [fatal("failed to get autoscaling runner set: not found")]
        spec = ars["spec"]
        github = self.cluster.github
        if github is None:
            return True, [slog("Starting listener"), slog("Getting next message", lastMessageID=0)]
        config = read_config(self.cluster, pod)
        if config is None:
            return False, [fatal("failed to read config: open /etc/gha-listener/config.json: no such file or "
                                 "directory")]
        url = config.get("configureUrl") or spec.get("githubConfigUrl", "")
        outcome = github.evaluate_listener(url, config_credentials(config), spec.get("runnerGroup"))
        self.state(key).credentials_ok = outcome.ok
        lines = list(outcome.log_lines)
        if outcome.reason in _LOCAL or (not outcome.ok and "failed to create JWT" in lines[-1]):
            return outcome.ok, lines
        error = network.dial_error(self.cluster, pod, url)
        if error is None:
            return outcome.ok, lines
        target = next((ln.split("registrationTokenURL=", 1)[1].split()[0] for ln in lines
                       if "registrationTokenURL=" in ln), url)
        return False, lines[:1] + [fatal("failed to create actions message session client: failed to get "
                                         f'runner registration token on refresh: Post "{target}": {error}')]

    # ---- scaling ----------------------------------------------------------------------------------
    def scale(self, key: tuple[str, str]) -> None:
        """The listener's one write: the ERS replica count, from min/max and the jobs GitHub assigned."""
        st = self.states.get(key)
        ars = self.cluster.get(ARS, *key) if st is not None and st.healthy else None
        lst = self.cluster.get(LISTENER, self.ctl.listeners.where(ars), listener_name(ars)) if ars else None
        if lst is None:
            return
        spec = lst["spec"]
        assigned = self.ctl.jobs.assigned(key)
        low, high = int(spec.get("minRunners") or 0), int(spec.get("maxRunners", MAX_RUNNERS))
        desired = min(low + assigned, high)
        ers = self.cluster.get(ERS, key[0], spec.get("ephemeralRunnerSetName", ""))
        if ers is None or (ers["spec"].get("replicas") == desired and st.desired == desired):
            return

        def patch(obj: dict) -> None:
            if obj["spec"].get("replicas") != desired:
                obj["spec"]["replicas"] = desired
                obj["spec"]["patchID"] = int(obj["spec"].get("patchID") or 0) + 1
        self.cluster.mutate(ERS, key[0], ers["metadata"]["name"], patch)
        st.desired = desired
        pod = self.cluster.get("pods", lst["metadata"]["namespace"], lst["metadata"]["name"])
        if pod is not None:
            self.ctl.kubelet.log(pod, "listener", slog(
                "Calculated target runner count", component="worker", assignedJobs=assigned, decision=desired,
                min=low, max=high, currentRunnerCount=(ers.get("status") or {}).get("currentReplicas", 0)))

    def policy_changed(self, _ns: str, _name: str) -> None:
        """A NetworkPolicy changed: running listeners re-validate now instead of at the next recheck."""
        for key, st in list(self.states.items()):
            ars = self.cluster.get(ARS, *key) if st.healthy else None
            pod = self.cluster.get("pods", self.ctl.listeners.where(ars), listener_name(ars)) if ars else None
            if pod is not None:
                self.ctl.after(0.1, lambda p=pod, k=key: self._recheck(p, k, again=False))

"""The simulated listener's job figures: its statistics lines (one per message, as ARC's listener logs them) and,
when the AutoscalingRunnerSet asks for `listenerMetrics`, its Prometheus metrics (ARC's names, labels and
types), served on the listener pod's port 8080 through the API server's pod proxy (`Cluster.pod_servers`).

One `ListenerMetrics` per listener process (a new pod starts from zero, as the real process does). The figures
are the fake GitHub's: jobs assigned to the scale set (queued + running), running, runners registered (idle +
busy), busy and idle.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

METRICS_PORT = 8080
METRICS_PATH = "/metrics"
# ARC's defaultRuntimeBuckets are finer; these cover the sandbox's seconds-to-minutes start-ups.
BUCKETS = (0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)
_SET_LABELS = ("name", "namespace", "enterprise", "organization", "repository")
_JOB_LABELS = ("enterprise", "organization", "repository", "job_name", "event_name")


def wants_metrics(ars: dict | None) -> bool:
    """The ARS asks for listener metrics (spec.listenerMetrics set, even to {})."""
    return isinstance(ars, dict) and isinstance((ars.get("spec") or {}).get("listenerMetrics"), dict)


def statistics_line(stamp: str, figures: dict[str, int]) -> str:
    """The listener's per-message statistics line (the sandbox's slog text; ARC ≤ 0.13 logs the same object)."""
    return (f'time={stamp} level=INFO msg="New runner scale set statistics." component=listener '
            f"statistics={json.dumps(figures, separators=(',', ':'))}")


class ListenerMetrics:
    def __init__(self, namespace: str, name: str, organization: str, repository: str,
                 figures: Callable[[], dict[str, int]], desired: Callable[[], int | None],
                 min_runners: int, max_runners: int):
        self._figures = figures
        self._desired = desired
        self.registry = CollectorRegistry()
        self._set = {"name": name, "namespace": namespace, "enterprise": "", "organization": organization,
                     "repository": repository}
        gauge = {n: Gauge(n, h, _SET_LABELS, registry=self.registry) for n, h in (
            ("gha_assigned_jobs", "Number of jobs assigned to this scale set."),
            ("gha_running_jobs", "Number of jobs running (or about to be run)."),
            ("gha_registered_runners", "Number of runners registered by the scale set."),
            ("gha_busy_runners", "Number of registered runners running a job."),
            ("gha_min_runners", "Minimum number of runners."),
            ("gha_max_runners", "Maximum number of runners."),
            ("gha_desired_runners", "Number of runners desired by the scale set."),
            ("gha_idle_runners", "Number of registered runners not running a job."))}
        self._gauges = gauge
        gauge["gha_min_runners"].labels(**self._set).set(min_runners)
        gauge["gha_max_runners"].labels(**self._set).set(max_runners)
        self.started = Counter("gha_started_jobs", "Total number of jobs started.", _JOB_LABELS,
                               registry=self.registry)
        self.completed = Counter("gha_completed_jobs", "Total number of jobs completed.",
                                 _JOB_LABELS + ("job_result",), registry=self.registry)
        self.startup = Histogram("gha_job_startup_duration_seconds", "Time spent waiting for workflow job to get "
                                 "started on the runner owned by the scale set (in seconds).", _JOB_LABELS,
                                 buckets=BUCKETS, registry=self.registry)
        self.execution = Histogram("gha_job_execution_duration_seconds", "Time spent executing workflow jobs by "
                                   "the scale set (in seconds).", _JOB_LABELS + ("job_result",),
                                   buckets=BUCKETS, registry=self.registry)

    def _job(self, job_name: str) -> dict[str, str]:
        return {"enterprise": "", "organization": self._set["organization"], "repository": self._set["repository"],
                "job_name": job_name, "event_name": "push"}

    def job_started(self, job_name: str, waited: float) -> None:
        self.started.labels(**self._job(job_name)).inc()
        self.startup.labels(**self._job(job_name)).observe(max(0.0, waited))

    def job_completed(self, job_name: str, result: str, ran: float) -> None:
        labels = {**self._job(job_name), "job_result": result}
        self.completed.labels(**labels).inc()
        self.execution.labels(**labels).observe(max(0.0, ran))

    def serve(self, path: str) -> tuple[int, str, bytes]:
        """The listener's HTTP server: /metrics, else 404 (Go's "404 page not found")."""
        if path.split("?", 1)[0].rstrip("/") != METRICS_PATH:
            return 404, "text/plain; charset=utf-8", b"404 page not found\n"
        figures = self._figures()
        for metric, key in (("gha_assigned_jobs", "totalAssignedJobs"), ("gha_running_jobs", "totalRunningJobs"),
                            ("gha_registered_runners", "totalRegisteredRunners"),
                            ("gha_busy_runners", "totalBusyRunners"), ("gha_idle_runners", "totalIdleRunners")):
            self._gauges[metric].labels(**self._set).set(figures.get(key, 0))
        desired = self._desired()
        if desired is not None:
            self._gauges["gha_desired_runners"].labels(**self._set).set(desired)
        return 200, CONTENT_TYPE_LATEST, generate_latest(self.registry)

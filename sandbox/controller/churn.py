"""Churn for the `large` scenario: keep about N object changes per second flowing, the way a busy
fleet does — short jobs land on idle runners, runners finish with exit 0, ARC replaces them (new ER,
JIT Secret, pod, scheduling, image pull, status flips, events).

It steers by measurement: it counts the store's changes and adjusts how many jobs it hands out,
so the rate holds whatever one job cycle costs. The target comes from the controller's argument
or from the controller Deployment's annotation `sandbox.arc-top.dev/churn-events-per-second`.
"""

from __future__ import annotations

import random
import time

from arc_top.sandbox.controller.common import ARS
from arc_top.sandbox.controller.jobs import repository_for

CHURN_ANNOTATION = "sandbox.arc-top.dev/churn-events-per-second"
JOB_SECONDS = (2.0, 6.0)
WINDOW = 1.0  # seconds between rate measurements
CHANGES_PER_JOB_GUESS = 25.0
MAX_JOBS_PER_SECOND = 200.0


class Churn:
    def __init__(self, ctl, rate: float | None = None):
        self.ctl = ctl
        self.fixed_rate = rate
        self.target = rate or 0.0
        self.jobs_per_second = 0.0
        self.observed = 0.0
        self._credit = 0.0
        self._last = time.monotonic()
        self._window_start = self._last
        self._window_changes = ctl.changes
        self._looked = 0.0

    def _read_target(self, now: float) -> None:
        if self.fixed_rate is not None or now - self._looked < 2.0:
            return
        self._looked = now
        self.target = 0.0
        for deploy in self.ctl.cluster.list("deployments"):
            value = (deploy["metadata"].get("annotations") or {}).get(CHURN_ANNOTATION)
            if value:
                try:
                    self.target = max(0.0, float(value))
                except ValueError:
                    pass

    def resumed(self) -> None:
        """The cluster was paused: no credit for the time it stood still, a fresh rate window."""
        now = time.monotonic()
        self._last = self._window_start = now
        self._window_changes = self.ctl.changes

    def step(self) -> None:
        now = time.monotonic()
        self._read_target(now)
        if self.target <= 0:
            self._last = now
            return
        if self.jobs_per_second == 0.0:
            self.jobs_per_second = self.target / CHANGES_PER_JOB_GUESS
        if now - self._window_start >= WINDOW:
            self.observed = (self.ctl.changes - self._window_changes) / (now - self._window_start)
            ratio = self.target / self.observed if self.observed > 0 else 2.0
            self.jobs_per_second = min(
                MAX_JOBS_PER_SECOND, max(0.1, self.jobs_per_second * min(2.0, max(0.5, ratio)))
            )
            self._window_start, self._window_changes = now, self.ctl.changes
        self._credit = min(self._credit + self.jobs_per_second * (now - self._last), 50.0)
        self._last = now
        keys = [
            k
            for k in self.ctl.listener_process.states
            if self.ctl.listener_process.healthy(k) and self.ctl.runners.idle_count(k) > 0
        ]
        jobs = self.ctl.jobs
        while self._credit >= 1.0 and keys:
            key = random.choice(keys)
            ars = self.ctl.cluster.get(ARS, *key)
            if ars is None:
                keys.remove(key)
                continue
            jobs.submit(key, jobs.new_job(repository_for(ars), random.uniform(*JOB_SECONDS)))
            self._credit -= 1.0
            if self.ctl.runners.idle_count(key) == 0:
                keys.remove(key)

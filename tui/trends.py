"""History the UI keeps itself, sampled from snapshots: runner counts for the sparklines and the pod
uids seen per listener pod name (a listener that fails is recreated under the same name)."""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable

from arc_top.kube.model import PODS, SCALE_SETS, Snapshot
from arc_top.tui.rows import Trends
from arc_top.tui.rows.columns import TREND_WIDTH, WIDE_TREND_WIDTH

SHOWN = max(TREND_WIDTH, WIDE_TREND_WIDTH)      # the most samples a trend cell shows


def _unstamped(jobs: dict) -> dict:
    """Job figures without the time they were read at."""
    return {key: dataclasses.replace(fig, read_at=0.0) if hasattr(fig, "read_at") else fig for key, fig in jobs.items()}


def _append(series: dict[str, deque[int]], uid: str, value: int, size: int) -> bool:
    """Append `value` to `uid`'s series; True when its last SHOWN samples changed."""
    values = series.get(uid)
    if values is None:
        series[uid] = deque([value], maxlen=size)
        return True
    same = len(values) >= SHOWN and values[-1] == value and all(v == value for v in list(values)[-SHOWN:])
    values.append(value)
    return not same


class TrendSampler:
    def __init__(self, size: int = 48) -> None:
        self.size = size
        self.running: dict[str, deque[int]] = {}
        self.pending: dict[str, deque[int]] = {}
        self.listener_pods: dict[tuple[str, str], set[str]] = {}
        self.waiting: dict[str, deque[int]] = {}
        self.jobs: dict[tuple[str, str], object] = {}      # the checks loop's last JobFigures per scale set
        self.jobs_version = 0                               # bumped when they change (the rows show them)

    def set_jobs(self, jobs: dict) -> bool:
        """The listeners' latest job figures; True when they differ from what the rows show (not only in when
        they were read: the checks read them again every run, and each new reading rebuilt every Scale sets row)."""
        moved = _unstamped(jobs) != _unstamped(self.jobs)
        self.jobs = dict(jobs)
        if moved:
            self.jobs_version += 1
        return moved

    def seed_waiting(self, uid: str, waiting: list[int]) -> None:
        self.waiting[uid] = deque(waiting[-self.size:], maxlen=self.size)

    def seed(self, uid: str, running: list[int], pending: list[int]) -> None:
        """Preload a history (tests, screenshots)."""
        self.running[uid] = deque(running[-self.size:], maxlen=self.size)
        self.pending[uid] = deque(pending[-self.size:], maxlen=self.size)

    def sample(self, snapshot: Snapshot) -> bool:
        """Append one sample per scale set. True when a trend cell shows something new: the last `shown` samples
        of a series differ (a flat, full trend that gets the same value again looks the same), or a scale set
        came or went."""
        scale_sets = snapshot.of(SCALE_SETS)
        changed = False
        for uid, ss in scale_sets.items():
            changed |= _append(self.running, uid, ss.running, self.size)
            changed |= _append(self.pending, uid, ss.pending, self.size)
            fig = self.jobs.get((ss.namespace, ss.name))
            waiting = getattr(fig, "waiting", None)
            if waiting is not None:
                changed |= _append(self.waiting, uid, waiting, self.size)
        for gone in set(self.running) - set(scale_sets):
            self.running.pop(gone, None)
            self.pending.pop(gone, None)
            self.waiting.pop(gone, None)
            changed = True
        return changed

    def watch_pods(self, snapshot: Snapshot, changed: Iterable[object] | None = None) -> None:
        """Note listener pod uids: of every pod, or only of `changed` pods (None = gone ones are skipped)."""
        pods = snapshot.of(PODS).values() if changed is None else changed
        for pod in pods:
            if pod is not None and pod.role == "listener":
                seen = self.listener_pods.setdefault((pod.namespace, pod.name), set())
                if len(seen) < 1000:
                    seen.add(pod.uid)

    def trends(self) -> Trends:
        return Trends(self.running, self.pending, self.waiting, self.jobs)

    def listener_pod_counts(self) -> dict[tuple[str, str], int]:
        return {key: len(uids) for key, uids in self.listener_pods.items()}

"""The log-rate knob: a pod annotated `sandbox.arc-top.dev/log-rate: "<lines per second>"` has each of its
(main) containers write that many lines a second for as long as it runs, each line stamped with the time
it was written, so a follower's lag and completeness can be measured (bench/logs.py):

    000000042 t=1760000000.123456 sandbox log-rate line …

The first field counts the container's lines from 0 (a gap or a repeat shows a lost or duplicated line),
the second is the write time in epoch seconds (the same instant as the line's API timestamp).
"""

from __future__ import annotations

import threading
import time

RATE_ANNOTATION = "sandbox.arc-top.dev/log-rate"
MAX_RATE = 100_000.0
TICK_S = 0.01                     # lines are written in batches this often (or one by one when slower)
FILLER = "sandbox log-rate line: the quick brown fox jumps over the lazy dog"


def rate_of(pod: dict) -> float:
    """Lines per second the pod's annotation asks for (0 = none, or junk)."""
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(RATE_ANNOTATION)
    try:
        rate = float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0
    return min(rate, MAX_RATE) if rate > 0 else 0.0


class LogRate:
    """One writer thread per (pod, container) with the annotation; stopped when the pod goes."""

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self._stops: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()

    def container_started(self, pod: dict, container: str) -> None:
        rate = rate_of(pod)
        if not rate:
            return
        meta = pod["metadata"]
        key = (meta["namespace"], meta["name"])
        with self._lock:
            stop = self._stops.setdefault(key, threading.Event())
        threading.Thread(target=self._write, args=(key[0], key[1], meta["uid"], container, rate, stop),
                         name=f"sandbox-log-rate {key[1]}/{container}", daemon=True).start()

    def pod_gone(self, namespace: str, name: str) -> None:
        with self._lock:
            stop = self._stops.pop((namespace, name), None)
        if stop is not None:
            stop.set()

    def _write(self, ns: str, pod: str, uid: str, container: str, rate: float, stop: threading.Event) -> None:
        """Each batch is one `simulating()` unit: a paused cluster writes nothing, and its clock stands still
        (after a resume the lines go on from where they stopped, with no burst of overdue ones)."""
        stopping, cluster = self.cluster.stopping, self.cluster
        interval = max(TICK_S, 1.0 / rate)
        start = time.time()
        written = 0
        paused_at: float | None = None
        while not stop.is_set() and not stopping.is_set():
            with cluster.simulating() as live:
                now = time.time()
                if not live:
                    paused_at = now if paused_at is None else paused_at
                else:
                    if paused_at is not None:
                        start += now - paused_at
                        paused_at = None
                    due = int((now - start) * rate) - written
                    if due > 0:
                        batch = []
                        for i in range(written, written + due):
                            stamp = start + i / rate          # when this line was due: spread over the tick
                            batch.append((stamp, f"{i:09d} t={stamp:.6f} {FILLER}"))
                        if not cluster.write_pod_log(ns, pod, uid, container, batch, stamped=True):
                            return          # deleted: nothing more from it, whatever the kubelet knows yet
                        written += due
            stop.wait(interval)

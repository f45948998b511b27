"""Container logs as the kubelet keeps them: the current instance and the previous one, per container.

Lines carry the time they were written, so `timestamps`, `sinceSeconds` and follow-from-now work
the way `kubectl logs` expects.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field

MAX_LINES = 200_000


@dataclass
class ContainerLog:
    lines: deque = field(default_factory=lambda: deque(maxlen=MAX_LINES))   # (ts, text)
    seq: int = 0            # number of lines ever written to this instance
    previous: list = field(default_factory=list)
    ended: bool = False     # the container instance terminated: follow streams end

    def first_seq(self) -> int:
        return self.seq - len(self.lines)


def rfc3339nano(ts: float) -> str:
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))
    return f"{whole}.{int((ts % 1) * 1e9):09d}Z"


class LogStore:
    def __init__(self) -> None:
        self._logs: dict[tuple[str, str, str], ContainerLog] = {}
        self.cond = threading.Condition()

    def _get(self, ns: str, pod: str, container: str) -> ContainerLog:
        key = (ns, pod, container)
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = ContainerLog()
        return log

    def write(self, ns: str, pod: str, container: str, lines: list[str] | str, ts: float | None = None) -> None:
        if isinstance(lines, str):
            lines = [lines]
        stamp = time.time() if ts is None else ts
        with self.cond:
            log = self._get(ns, pod, container)
            for text in lines:
                log.lines.append((stamp, text))
            log.seq += len(lines)
            self.cond.notify_all()

    def write_stamped(self, ns: str, pod: str, container: str, lines: list[tuple[float, str]]) -> None:
        """Lines that each carry their own write time (the log-rate knob: lag is measured per line)."""
        with self.cond:
            log = self._get(ns, pod, container)
            log.lines.extend(lines)
            log.seq += len(lines)
            self.cond.notify_all()

    def end(self, ns: str, pod: str, container: str) -> None:
        """The container terminated: followers get the rest and then the end of the stream."""
        with self.cond:
            self._get(ns, pod, container).ended = True
            self.cond.notify_all()

    def restart(self, ns: str, pod: str, container: str) -> None:
        """A new container instance: the current log becomes `previous`."""
        with self.cond:
            log = self._get(ns, pod, container)
            log.previous = list(log.lines)
            log.lines.clear()
            log.seq = 0
            log.ended = False
            self.cond.notify_all()

    def forget_pod(self, ns: str, pod: str) -> None:
        with self.cond:
            for key in [k for k in self._logs if k[0] == ns and k[1] == pod]:
                self._logs[key].ended = True
                del self._logs[key]
            self.cond.notify_all()

    def has_previous(self, ns: str, pod: str, container: str) -> bool:
        log = self._logs.get((ns, pod, container))
        return bool(log and log.previous)

    def snapshot(self, ns: str, pod: str, container: str, previous: bool = False,
                 tail: int | None = None, since: float | None = None) -> tuple[list[tuple[float, str]], int]:
        """Lines (filtered) and the sequence number to follow from."""
        with self.cond:
            log = self._logs.get((ns, pod, container))
            if log is None:
                return [], 0
            lines = list(log.previous if previous else log.lines)
            seq = log.seq
        if since is not None:
            lines = [ln for ln in lines if ln[0] >= since]
        if tail is not None:
            lines = lines[-tail:] if tail > 0 else []
        return lines, seq

    def follow(self, ns: str, pod: str, container: str, seq: int,
               timeout: float) -> tuple[list[tuple[float, str]], int, bool]:
        """Lines written after `seq` (waiting up to `timeout`), the new seq, and whether the stream ended."""
        with self.cond:
            log = self._logs.get((ns, pod, container))
            if log is None:
                return [], seq, True
            if log.seq <= seq and not log.ended:
                self.cond.wait(timeout)
                log = self._logs.get((ns, pod, container))
                if log is None:
                    return [], seq, True
            if log.seq < seq:          # restarted under us: start over on the new instance
                seq = 0
            start = max(seq, log.first_seq())
            # Only the new lines, taken from the right end: copying the whole deque on every wake-up
            # cost a follower O(MAX_LINES) per batch at thousands of lines a second.
            new = log.seq - start
            lines = list(itertools.islice(reversed(log.lines), new))
            lines.reverse()
            return lines, log.seq, log.ended

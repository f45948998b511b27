"""Follow one container's log through the official client, on an app-owned daemon thread.

`LogFollower` GETs `…/pods/<pod>/log?follow=true&timestamps=true` with `_preload_content=False`, splits
the byte stream into lines itself and hands them to a callback in batches (one per chunk the server
flushes), never one call per line. It survives the things a long follow meets:

- a dropped connection or a server restart: `LogStatus("reconnecting", …)`, back off 0.5, 1, 2 … 10 s,
  and resume with `sinceSeconds` reaching a little before the last line received (measured on our own
  clock, so a skewed server clock does not matter); lines up to and including the last one seen (by
  timestamp, and by count among lines sharing that timestamp) are dropped, so nothing is shown twice;
- a quiet log that outlives the read timeout: resume the same way, silently;
- the end of the stream: if the container or the pod is gone that is the end (`LogStatus("ended", …)`),
  otherwise it was a dropped stream (`"stream ended; reconnecting…"`);
- 4xx answers: a container that is still waiting is retried every few seconds, a missing pod or a refused
  request ends the follower with the server's one-line message.

Textual-free: callbacks run on the follower thread and must be cheap (append to a queue).
"""

from __future__ import annotations

import calendar
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from arc_top.kube import apis
from arc_top.kube.apis import read_json, status_message
from arc_top.kube.watch import StreamThread, connection_line, is_read_timeout, read_chunks

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0           # no byte for this long: reconnect (resuming) in case the stream silently died
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.5, 10.0
WAITING_RETRY_S = 3.0           # a container that has not started yet
RESUME_MARGIN_S = 5             # reach this much further back than the gap when resuming: dedup drops the rest
MAX_LINE_BYTES = 64 * 1024      # longer lines are cut (the rest of the line is dropped, not shown as new lines)

# One line: (timestamp as sent, text). The timestamp is "" when the server sent none.
RawLine = tuple[str, str]


@dataclass(frozen=True)
class LogRequest:
    """What to show: the kubectl logs options arc-top offers (window = tail_lines or since_seconds)."""
    namespace: str
    pod: str
    container: str | None = None
    previous: bool = False
    follow: bool = True
    tail_lines: int | None = 200
    since_seconds: int | None = None

    def params(self) -> dict:
        out: dict = {"timestamps": True}
        if self.container:
            out["container"] = self.container
        if self.previous:
            out["previous"] = True
        elif self.follow:
            out["follow"] = True
        if self.tail_lines is not None:
            out["tail_lines"] = self.tail_lines
        if self.since_seconds is not None:
            out["since_seconds"] = self.since_seconds
        return out


@dataclass(frozen=True)
class LogStatus:
    """A change in the stream: connecting | streaming | reconnecting | waiting | ended | error."""
    state: str
    message: str = ""


@dataclass(frozen=True)
class LogLines:
    lines: list[RawLine] = field(default_factory=list)


LogEvent = LogLines | LogStatus


# ---- timestamps ---------------------------------------------------------------------------------------------
_TS = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")
_SECONDS: dict[str, int] = {}


def ts_key(stamp: str) -> tuple[int, int] | None:
    """RFC 3339 (nano) → (epoch seconds, nanoseconds), comparable; None when it is not one. Kubernetes trims
    trailing zeros of the fraction, so the strings themselves do not sort."""
    m = _TS.match(stamp)
    if m is None:
        return None
    whole, frac, zone = m.groups()
    base = whole + zone
    seconds = _SECONDS.get(base)
    if seconds is None:
        try:
            seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
        except ValueError:
            return None
        if zone != "Z":
            sign = 1 if zone[0] == "+" else -1
            seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
        if len(_SECONDS) > 4096:
            _SECONDS.clear()
        _SECONDS[base] = seconds
    nanos = int((frac or "0").ljust(9, "0"))
    return seconds, nanos


def split_stamp(line: str) -> RawLine:
    """"<RFC3339> text" → (stamp, text); a line without a stamp → ("", line)."""
    head, sep, rest = line.partition(" ")
    if sep and head[:1].isdigit() and ts_key(head) is not None:
        return head, rest
    if not sep and ts_key(head) is not None:
        return head, ""
    return "", line


class Dedup:
    """Resume without repeats: remembers the last line's timestamp and how many lines carried it; after a
    reconnect, lines older than it, and the first `count` lines carrying it, are dropped."""

    def __init__(self) -> None:
        self.last: tuple[int, int] | None = None
        self.count = 0
        self._skip_key: tuple[int, int] | None = None
        self._skip_left = 0

    def resume(self) -> None:
        self._skip_key, self._skip_left = self.last, self.count

    def accept(self, key: tuple[int, int] | None) -> bool:
        if key is None:
            return self._skip_key is None      # an unstamped line: only outside a resume window
        skip = self._skip_key
        if skip is not None:
            if key < skip:
                return False
            if key == skip and self._skip_left > 0:
                self._skip_left -= 1
                return False
            self._skip_key = None              # past the last line seen: everything from here is new
        if key == self.last:
            self.count += 1
        else:
            self.last, self.count = key, 1
        return True


# ---- the follower -------------------------------------------------------------------------------------------
class LogFollower(StreamThread):
    """Streams one container's log to `on_event` (LogLines batches and LogStatus changes) until stopped."""

    def __init__(self, api_client, request: LogRequest, on_event: Callable[[LogEvent], None], *,
                 read_timeout: float = READ_TIMEOUT_S, backoff: tuple[float, float] = (BACKOFF_FIRST_S, BACKOFF_MAX_S),
                 settle: float = 0.5) -> None:
        super().__init__(f"arc-top-log {request.namespace}/{request.pod}")
        self.api_client = api_client
        self.request = request
        self.on_event = on_event
        self.read_timeout = read_timeout
        self.backoff = backoff
        self.settle = settle
        self.dedup = Dedup()
        self.lines_received = 0
        self.reconnects = 0
        self._last_line_at: float | None = None      # monotonic time the last line arrived
        self._announce = False                       # say "reconnected" once the next stream opens
        self.last_stamp = ""                         # the timestamp of the last line handed on

    # ---- control --------------------------------------------------------------------------------------
    def _emit(self, event: LogEvent) -> None:
        if not self.stopping:
            if isinstance(event, LogStatus) and event.state == "reconnecting":
                self._announce = True
            self.on_event(event)

    # ---- the loop -------------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a bug must show in the log pane, not as a traceback
            self._emit(LogStatus("error", f"log stream stopped: {type(exc).__name__}: {exc}"[:300]))

    def _loop(self) -> None:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        attempt = 0
        resuming = False
        self._emit(LogStatus("connecting", "connecting…"))
        while not self.stopping:
            try:
                if resuming:
                    self.dedup.resume()
                complete = self._stream(resuming)
                attempt = 0
                if self.stopping:
                    return
                if complete is None:             # read timeout on a quiet log: resume silently
                    resuming = True
                    continue
                if not self.request.follow or self.request.previous:
                    self._emit(LogStatus("ended", "end of log"))
                    return
                ended = self._container_ended()
                if ended:
                    self._emit(LogStatus("ended", ended))
                    return
                self.reconnects += 1
                self._emit(LogStatus("reconnecting", "stream ended; reconnecting…"))
                resuming = True
                self._stopping.wait(self.backoff[0] * random.uniform(0.5, 1.0))
            except ApiException as exc:
                if self.stopping:
                    return
                status = exc.status or 0
                message = status_message(exc)
                if status == 400 and "waiting to start" in message and not self.request.previous:
                    self._emit(LogStatus("waiting", message))
                    self._stopping.wait(WAITING_RETRY_S)
                    continue
                if 400 <= status < 500 and status not in (408, 429):
                    self._emit(LogStatus("error", f"{status}: {message}"[:300]))
                    return
                attempt += 1
                self.reconnects += 1
                self._emit(LogStatus("reconnecting", f"{status or 'error'}: {message[:200]}; reconnecting…"))
                resuming = True
                self._backoff(attempt)
            except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
                if self.stopping:
                    return
                attempt += 1
                self.reconnects += 1
                line = connection_line(exc).replace("connection lost", "stream dropped")
                self._emit(LogStatus("reconnecting", line.replace(": reconnecting", "; reconnecting…")))
                resuming = True
                self._backoff(attempt)

    def _backoff(self, attempt: int) -> None:
        first, most = self.backoff
        self._stopping.wait(min(most, first * 2 ** (attempt - 1)) * random.uniform(0.85, 1.15))

    def _params(self, resuming: bool) -> dict:
        params = self.request.params()
        if resuming and self._last_line_at is not None:
            # Reach back past the last line we have; Dedup drops what we already showed.
            gap = time.monotonic() - self._last_line_at
            params.pop("tail_lines", None)
            params["since_seconds"] = max(1, math.ceil(gap) + RESUME_MARGIN_S)
        return params

    def _stream(self, resuming: bool) -> bool | None:
        """One request. True: the server ended the stream; None: read timeout (quiet log). Raises on errors."""
        resp = apis.pod_log(self.api_client, self.request.namespace, self.request.pod, self._params(resuming),
                            timeout=(CONNECT_TIMEOUT_S, self.read_timeout))
        self._hold(resp)
        complete = False
        try:
            note = f"reconnected; resumed after {self.last_stamp}" if self.last_stamp else "reconnected"
            self._emit(LogStatus("streaming", note if self._announce else ""))
            self._announce = False
            buffer = b""
            for chunk in read_chunks(resp):
                if self.stopping:
                    return True
                buffer += chunk
                if b"\n" not in chunk:
                    if len(buffer) > MAX_LINE_BYTES * 2:
                        buffer = buffer[:MAX_LINE_BYTES]      # a runaway line: keep its start only
                    continue
                parts = buffer.split(b"\n")
                buffer = parts.pop()
                self._lines(parts)
            if buffer:                                        # the last line had no newline
                self._lines([buffer])
            complete = True
            return True
        except Exception as exc:
            if self.stopping:
                return True
            if is_read_timeout(exc):
                return None
            raise
        finally:
            self._release(resp, complete)

    def _lines(self, parts: list[bytes]) -> None:
        out: list[RawLine] = []
        accept = self.dedup.accept
        for raw in parts:
            if len(raw) > MAX_LINE_BYTES:
                raw = raw[:MAX_LINE_BYTES]
            text = raw.decode("utf-8", errors="replace")
            if text.endswith("\r"):
                text = text[:-1]
            stamp, body = split_stamp(text)
            if accept(ts_key(stamp) if stamp else None):
                out.append((stamp, body))
        if out:
            self.last_stamp = out[-1][0] or self.last_stamp
            self.lines_received += len(out)
            self._last_line_at = time.monotonic()
            self._emit(LogLines(out))

    def _container_ended(self) -> str:
        """After the server closed a follow: why, if the container (or the pod) is gone; "" if it still runs
        (then the stream was dropped). Asked twice, `settle` apart: the status may trail the end of the log."""
        from kubernetes.client.exceptions import ApiException

        why = ""
        for attempt in range(2):
            try:
                resp = apis.request(self.api_client, "GET", apis.PODS.path(self.request.namespace, self.request.pod),
                                    timeout=(CONNECT_TIMEOUT_S, 10.0))
            except ApiException as exc:
                if exc.status == 404:
                    return "pod deleted: end of log"
                if exc.status in (401, 403):     # cannot tell whether it still runs: do not loop on it
                    return f"stream ended; the pod cannot be read ({exc.status}) to tell why: not resuming"
                return ""
            why = container_end(read_json(resp), self.request.container)
            if why or attempt or self.stopping:
                return why
            self._stopping.wait(self.settle)
        return why


def container_end(pod: dict, container: str | None) -> str:
    """Why a container's log stream is over ("" while it runs): its pod finished, or it terminated."""
    status = pod.get("status") if isinstance(pod.get("status"), dict) else {}
    meta = pod.get("metadata") if isinstance(pod.get("metadata"), dict) else {}
    if meta.get("deletionTimestamp") and status.get("phase") in ("Succeeded", "Failed"):
        return f"pod {status.get('phase')}, being deleted: end of log"
    statuses = [s for s in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
                if isinstance(s, dict)]
    chosen = next((s for s in statuses if s.get("name") == container), None) if container else None
    if chosen is None and statuses and not container:
        chosen = statuses[0] if len(status.get("containerStatuses") or []) <= 1 else None
    if chosen is not None:
        state = chosen.get("state") if isinstance(chosen.get("state"), dict) else {}
        term = state.get("terminated")
        if isinstance(term, dict):
            reason = term.get("reason") or "Terminated"
            return f"container {chosen.get('name')} terminated ({reason}, exit code {term.get('exitCode')}): " \
                   "end of log"
        if isinstance(state.get("waiting"), dict):
            reason = state["waiting"].get("reason") or "waiting"
            return f"container {chosen.get('name')} is not running ({reason}): end of log"
        return ""
    if status.get("phase") in ("Succeeded", "Failed"):
        return f"pod {status['phase']}: end of log"
    return ""

"""What each scale set's listener knows about its jobs: how many wait, how many run, its runners busy and idle.

Two sources, best first:
- the listener's Prometheus metrics (ARC serves them when the controller runs with a listener metrics address
  and the AutoscalingRunnerSet has `listenerMetrics`: the listener pod then has a container port named
  `metrics`), read through the API server's pod proxy (`GET /api/v1/namespaces/NS/pods/NAME:PORT/proxy/metrics`,
  RBAC `get pods/proxy`) and parsed with prometheus_client's text parser;
- the statistics lines of the listener's log (`get pods/log`): ARC's listener logs its scale set's statistics on
  every message (`New runner scale set statistics.`, up to ARC 0.13, zap `text` or `json`; and the sandbox's slog
  text); ARC 0.14's listener only logs `Handling initial session statistics totalAssignedJobs=N` at session start.

`JobsReader.read(snapshot)` returns a `model.JobFigures` per scale set, saying which source each came from or why
there is none. Its own budget: at most `max_pods` listener pods per call, within `deadline` seconds, each at most
every `interval` seconds (least recently read first; every `quiet_interval` while its figures and its scale set
stay the same), one request per pod (the metrics; the log too only while
jobs wait and the metrics cannot say since when), bounded (`limit_bytes` of log, the last `tail_lines` lines; at
most 16 MiB of metrics streamed, only the families read kept, at most 2 MiB of them); a 403 pauses that source in
that namespace for `forbidden_pause` seconds. Errors are answers
(403 → "no pods/proxy right"), never raised. Blocking: call it from a worker thread. Since when jobs wait: from
the statistics lines of the log (the first of the latest unbroken run of lines with jobs waiting), else from the
reader's own observations (the first read that saw them waiting).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from arc_top.kube import apis, model
from arc_top.kube.logstream import ts_key
from arc_top.kube.model import JobFigures, Snapshot

METRICS_PORT_NAME = "metrics"
METRICS_PATH = "metrics"              # ARC's --listener-metrics-endpoint default (/metrics)
MAX_METRICS_BYTES = 16 * 1024 * 1024   # a busy listener's histograms: a series per job name (and result) × buckets
MAX_KEPT_BYTES = 2 * 1024 * 1024       # …of which the families read (the rest is dropped as it streams past)
MAX_LINE = 8192

# ---- parsing the log -------------------------------------------------------------------------------------------
STAT_KEYS = {"totalAvailableJobs": "available", "totalAcquiredJobs": "acquired", "totalAssignedJobs": "assigned",
             "totalRunningJobs": "running", "totalRegisteredRunners": "registered", "totalBusyRunners": "busy",
             "totalIdleRunners": "idle"}
_STAT_MESSAGES = ("New runner scale set statistics", "Current runner scale set statistics")
_INITIAL_MESSAGE = "Handling initial session statistics"
_ZAP_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))\t")
_SLOG_TIME = re.compile(r"^time=(\S+)")
_SLOG_ASSIGNED = re.compile(r"\btotalAssignedJobs=(\d{1,9})\b")


@dataclass(frozen=True, slots=True)
class Statistics:
    """One statistics line: its time (epoch seconds, 0 when the line had none) and the figures it gave."""
    at: float
    figures: Mapping[str, int]


def _epoch(stamp: str) -> float:
    stamp = stamp.strip()
    if len(stamp) > 6 and stamp[-5] in "+-" and stamp[-3] != ":":      # zap's +0000 → +00:00
        stamp = stamp[:-2] + ":" + stamp[-2:]
    key = ts_key(stamp)
    return key[0] + key[1] / 1e9 if key else 0.0


def _figures(obj: object) -> dict[str, int]:
    """The statistics object's known keys with non-negative integer values; others are left out."""
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except ValueError:
            return {}
    if not isinstance(obj, dict):
        return {}
    out = {}
    for key, name in STAT_KEYS.items():
        value = obj.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9:
            out[name] = value
    return out


def _json_after(text: str, start: int) -> object:
    """The JSON value (an object, or a string holding one) starting at `start`, or None."""
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return None
    return value


def parse_statistics(line: str, stamp: str = "") -> Statistics | None:
    """The figures of one listener log line, or None when it is no statistics line. `stamp`: the timestamp
    kubectl's `--timestamps` put before it (used when the line itself has none). Formats: zap console (ARC ≤ 0.13:
    `TIME<TAB>INFO<TAB>listener-app.listener<TAB>New runner scale set statistics.<TAB>{"statistics": {…}}`), zap
    JSON (`{"severity": …, "ts": …, "message": …, "statistics": …}`), slog text (`time=… msg="…" statistics=…`,
    and ARC 0.14's `msg="Handling initial session statistics" totalAssignedJobs=N`)."""
    if not isinstance(line, str) or "statistics" not in line:
        return None
    line = line[:MAX_LINE]
    if line.startswith("{"):                                   # zap json
        doc = _json_after(line, 0)
        if not isinstance(doc, dict) or not any(m in str(doc.get("message", "")) for m in _STAT_MESSAGES):
            return None
        figures = _figures(doc.get("statistics"))
        ts = doc.get("ts")
        at = _epoch(ts) if isinstance(ts, str) else float(ts) if isinstance(ts, (int, float)) and ts > 0 else 0.0
        return Statistics(at or _epoch(stamp), figures) if figures else None
    if line.startswith("time=") or " msg=" in line:            # slog text
        m = _SLOG_TIME.match(line)
        at = _epoch(m.group(1)) if m else 0.0
        at = at or _epoch(stamp)
        if _INITIAL_MESSAGE in line:
            found = _SLOG_ASSIGNED.search(line)
            return Statistics(at, {"assigned": int(found.group(1))}) if found else None
        if not any(f'msg="{m}' in line or f"msg={m}" in line for m in _STAT_MESSAGES):
            return None
        start = line.find("statistics=")
        if start < 0:
            return None
        figures = _figures(_json_after(line, start + len("statistics=")))
        return Statistics(at, figures) if figures else None
    parts = line.split("\t")                                   # zap console
    if len(parts) >= 5 and any(parts[3].startswith(m) for m in _STAT_MESSAGES):
        doc = _json_after(parts[4], 0)
        if not isinstance(doc, dict):
            return None
        figures = _figures(doc.get("statistics"))
        m = _ZAP_TIME.match(line)
        at = (_epoch(m.group(1)) if m else 0.0) or _epoch(stamp)
        return Statistics(at, figures) if figures else None
    return None


def statistics_in(lines: Iterable[str], known: dict[str, Statistics | None] | None = None) -> list[Statistics]:
    """Every statistics line of a log (lines as read with `timestamps=true`: `<RFC3339> text`), oldest first.
    `known`: what lines parsed to before (a listener's previous read: the same tail, a few lines on); each line
    read is put in it."""
    out = []
    for raw in lines:
        if known is not None and raw in known:
            found = known[raw]
        else:
            stamp, _, rest = raw.partition(" ")
            if ts_key(stamp) is None:
                stamp, rest = "", raw
            found = parse_statistics(rest, stamp)
            if known is not None:
                known[raw] = found
        if found is not None:
            out.append(found)
    return out


def waiting_since(stats: list[Statistics]) -> float | None:
    """When the latest unbroken run of statistics lines with jobs waiting (assigned > running) began; None when
    the latest line shows none waiting (or cannot tell)."""
    since = None
    for st in reversed(stats):
        f = st.figures
        if "assigned" not in f or "running" not in f or f["assigned"] <= f["running"]:
            break
        since = st.at or since
    return since


# ---- parsing the metrics -----------------------------------------------------------------------------------------
GAUGES = {"gha_assigned_jobs": "assigned", "gha_running_jobs": "running", "gha_registered_runners": "registered",
          "gha_busy_runners": "busy", "gha_idle_runners": "idle", "gha_desired_runners": "desired"}
COUNTERS = {"gha_started_jobs": "started_total", "gha_completed_jobs": "completed_total"}
STARTUP = "gha_job_startup_duration_seconds"


def parse_metrics(text: str, namespace: str = "", name: str = "") -> dict:
    """The listener's figures from Prometheus text (prometheus_client's parser): the gauges of this scale set
    (labels `name`/`namespace` when present), counters and the start-up histogram summed over their job labels,
    and the histogram's p50/p95. Raises ValueError when the text does not parse."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict = {}
    buckets: dict[float, float] = {}
    count = 0.0
    wanted = _wanted_lines(text)
    try:
        families = list(text_string_to_metric_families(wanted))
    except Exception as exc:  # the parser raises ValueError, IndexError, TypeError… on malformed text
        raise ValueError(f"not Prometheus text: {type(exc).__name__}") from exc
    for family in families:
        for sample in family.samples:
            labels = sample.labels
            if (namespace and labels.get("namespace", namespace) != namespace) or \
                    (name and labels.get("name", name) != name):
                continue
            value = sample.value
            if not isinstance(value, (int, float)) or math.isnan(value) or math.isinf(value) or value < 0:
                continue
            if sample.name in GAUGES:
                out[GAUGES[sample.name]] = out.get(GAUGES[sample.name], 0) + int(value)
            elif sample.name.removesuffix("_total") in COUNTERS and family.type == "counter":
                key = COUNTERS[sample.name.removesuffix("_total")]
                if sample.name.endswith("_total"):
                    out[key] = out.get(key, 0) + int(value)
            elif sample.name == STARTUP + "_bucket":
                try:
                    le = float(labels.get("le", "nan"))
                except ValueError:
                    continue
                if not math.isnan(le):
                    buckets[le] = buckets.get(le, 0.0) + value
            elif sample.name == STARTUP + "_count":
                count += value
    if buckets:
        out["startup_count"] = int(count or buckets.get(math.inf, 0.0))
        out["startup_p50"] = quantile(0.5, buckets)
        out["startup_p95"] = quantile(0.95, buckets)
    return out


_GAUGES_COUNTERS = frozenset(GAUGES) | {f"{c}_total" for c in COUNTERS} | set(COUNTERS)
_WANTED = _GAUGES_COUNTERS | {STARTUP + suffix for suffix in ("", "_bucket", "_count", "_sum")}


def _wanted(lines: Iterable[bytes | str], wanted: frozenset[str] = _WANTED) -> Iterable[str]:
    """Only the lines of the families read (the parser then has less to do: a busy listener's execution-time
    histogram has a series per job name and result); what the lines say is left to the parser."""
    for raw in lines:
        line = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if line.startswith("#"):
            parts = line.split(None, 3)
            name = parts[2] if len(parts) > 2 and parts[1] in ("HELP", "TYPE") else ""
        else:
            name = line.split("{", 1)[0].split(None, 1)[0] if line.strip() else ""
        if name in wanted:
            yield line.rstrip("\r")


def _wanted_lines(text: str) -> str:
    keep = list(_wanted(text.splitlines()))
    if not keep:
        raise ValueError("no ARC listener metric in it")
    return "\n".join(keep) + "\n"


def quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """Prometheus' histogram_quantile over cumulative buckets (upper bound → count): linear within the bucket;
    the highest finite bound when the rank falls in +Inf; None without observations."""
    bounds = sorted(buckets)
    if not bounds or bounds[-1] != math.inf:
        return None
    total = buckets[math.inf]
    if total <= 0:
        return None
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == math.inf:
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


# ---- reading -----------------------------------------------------------------------------------------------------
def metrics_port(pod: model.Pod) -> int | None:
    """The listener pod's container port named `metrics` (ARC adds it when listener metrics are on)."""
    for c in pod.spec.get("containers") or () if isinstance(pod.spec, Mapping) else ():
        for p in (c.get("ports") or ()) if isinstance(c, Mapping) else ():
            if isinstance(p, Mapping) and p.get("name") == METRICS_PORT_NAME:
                port = p.get("containerPort")
                if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536:
                    return port
    return None


def _listener_pods(snapshot: Snapshot) -> dict[tuple[str, str], model.Pod]:
    """Scale set → its running listener pod (the newest if there are several)."""
    out: dict[tuple[str, str], model.Pod] = {}
    for pod in snapshot.of(model.PODS).values():
        if getattr(pod, "role", "") != "listener" or pod.deleting or pod.phase != "Running":
            continue
        key = (pod.scale_set_namespace or pod.namespace, pod.scale_set)
        if key not in out or pod.created > out[key].created:
            out[key] = pod
    return out


def _status_word(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    return str(status) if isinstance(status, int) and status else type(exc).__name__


class JobsReader:
    def __init__(self, api_client, *, interval: float = 15.0, max_pods: int = 20, tail_lines: int = 120,
                 limit_bytes: int = 48 * 1024, timeout: float = 5.0, forbidden_pause: float = 300.0,
                 deadline: float = 8.0, histogram_interval: float = 60.0, quiet_interval: float = 60.0,
                 quiet_after: int = 1):
        self._api = api_client
        self.interval = interval
        # A listener whose last `quiet_after` reads gave the same figures, and whose scale set has not changed
        # since, is read every `quiet_interval` seconds instead (see _pace).
        self.quiet_interval = max(interval, quiet_interval)
        self.quiet_after = quiet_after
        self._alike: dict[tuple[str, str], int] = {}           # reads in a row that gave the figures before them
        self._seen: dict[tuple[str, str], object] = {}         # the scale set object at the last read
        self._parsed: dict[tuple[str, str], dict] = {}         # a listener's last log lines → their statistics
        self.max_pods = max_pods
        self.tail_lines = tail_lines
        self.limit_bytes = limit_bytes
        self.timeout = timeout
        self.forbidden_pause = forbidden_pause
        self.deadline = deadline             # seconds one read() may spend on requests (a slow API server)
        self.histogram_interval = histogram_interval
        self._histogram_at: dict[tuple[str, str], float] = {}    # monotonic: the start-up histogram last parsed
        self.requests = 0
        self._figures: dict[tuple[str, str], JobFigures] = {}
        self._read_at: dict[tuple[str, str], float] = {}       # monotonic
        self._pod: dict[tuple[str, str], str] = {}             # the pod uid the figures came from
        self._forbidden: dict[tuple[str, str], tuple[float, str]] = {}   # (what, namespace) → (until, why)
        self._listeners_of: tuple[object, dict] = (None, {})   # (the pods map, its listener pods)
        self._lock = threading.Lock()

    def figures(self) -> dict[tuple[str, str], JobFigures]:
        with self._lock:
            return dict(self._figures)

    def read_since(self, since: float) -> bool:
        """Whether every listener read before has been read again at or after `since` (time.monotonic()): its
        figures are the ones its log shows from then on."""
        with self._lock:
            return all(self._read_at.get(key, float("-inf")) >= since for key in self._pod)

    def read(self, snapshot: Snapshot, now: float | None = None) -> dict[tuple[str, str], JobFigures]:
        """Read what is due and return the figures of every scale set in the snapshot."""
        now = time.time() if now is None else now
        with self._lock:
            # (A snapshot shares its pods map with the one before until a pod changes: an idle cluster's pods
            # are not walked again at every read — 20,000 of them to find 80 listeners.)
            runner_pods = snapshot.of(model.PODS)
            if self._listeners_of[0] is not runner_pods:
                self._listeners_of = (runner_pods, _listener_pods(snapshot))
            pods = self._listeners_of[1]
            objects = {(o.namespace, o.name): o for o in snapshot.of(model.SCALE_SETS).values()
                       if isinstance(o, model.ScaleSet)}
            sets = list(objects)
            due = sorted((k for k in sets if k in pods and (
                self._pod.get(k) != pods[k].uid
                or time.monotonic() - self._read_at.get(k, -1e9) >= self._pace(k, objects[k]))),
                key=lambda k: self._read_at.get(k, -1e9))
            stop_at = time.monotonic() + self.deadline
            for key in due[:self.max_pods]:
                if time.monotonic() > stop_at:
                    break                    # the rest at the next call (the least recently read go first)
                before, figures = self._figures.get(key), self._read_one(key, pods[key], now)
                alike = before is not None and replace(before, read_at=0.0) == replace(figures, read_at=0.0)
                self._alike[key] = self._alike.get(key, 0) + 1 if alike else 0
                self._seen[key] = objects[key]
                self._figures[key] = figures
                self._read_at[key] = time.monotonic()
                self._pod[key] = pods[key].uid
            for key in sets:
                if key not in pods:
                    self._figures[key] = JobFigures(key[0], key[1], why="no running listener pod")
                    self._pod.pop(key, None)
            for key in list(self._figures):
                if key not in objects:
                    del self._figures[key]
                    self._alike.pop(key, None)
                    self._seen.pop(key, None)
                    self._parsed.pop(key, None)
            return dict(self._figures)

    def _pace(self, key: tuple[str, str], scale_set: object) -> float:
        """Seconds between two reads of `key`'s listener: `interval`, or `quiet_interval` while nothing moves — its
        last `quiet_after` reads gave the same figures and its scale set object is the one of the last read (a
        scale set whose runners come and go changes with them). At 20,000 runners the 80 listeners' reads (20 every
        10 s) were up to half of what an idle screen cost; a job that starts waiting on a quiet scale set is seen within
        `quiet_interval`, well before ARC408's threshold (checks.context.DEFAULT_JOBS_WAIT). One read alike is enough
        (`quiet_after`, 1): a listener whose jobs move gives other figures at its next read."""
        if self._alike.get(key, 0) >= self.quiet_after and self._seen.get(key) is scale_set:
            return self.quiet_interval
        return self.interval

    def _paused(self, what: str, namespace: str, now: float) -> str:
        until, why = self._forbidden.get((what, namespace), (0.0, ""))
        return why if until > time.monotonic() else ""

    def _read_one(self, key: tuple[str, str], pod: model.Pod, now: float) -> JobFigures:
        notes: list[str] = []
        previous = self._figures.get(key)
        port = metrics_port(pod)
        metrics: dict | None = None
        if port is None:
            notes.append("metrics off (no metrics port on the listener pod)")
        else:
            metrics, why = self._metrics(pod, port, key, now)
            if why:
                notes.append(why)
        if metrics:
            fig = JobFigures(key[0], key[1], source="metrics", why="; ".join(notes), read_at=now,
                             **{k: metrics.get(k) for k in (
                                 "assigned", "running", "registered", "busy", "idle", "desired", "started_total",
                                 "completed_total", "startup_p50", "startup_p95", "startup_count")})
            since = None
            if (fig.waiting or 0) > 0:
                since = previous.waiting_since if previous is not None and previous.waiting_since else None
                if since is None:                   # how long? the log may tell (a statistics line per message)
                    stats, _ = self._log_statistics(pod, now)
                    since = waiting_since(stats or []) or now
            return replace(fig, waiting_since=since)
        stats, why = self._log_statistics(pod, now)
        if why:
            notes.append(why)
        if not stats:
            if stats is not None:
                notes.append("no statistics line in the listener's log")
            return JobFigures(key[0], key[1], why="; ".join(notes), read_at=now)
        latest = stats[-1].figures
        fig = JobFigures(key[0], key[1], source="log", why="; ".join(notes), read_at=stats[-1].at or now,
                         **{k: latest.get(k) for k in ("assigned", "running", "available", "registered", "busy",
                                                       "idle")})
        since = waiting_since(stats)
        if since is None and (fig.waiting or 0) > 0:
            since = previous.waiting_since if previous is not None and previous.waiting_since else now
        return replace(fig, waiting_since=since)

    def _refused(self, exc: BaseException, right: str, namespace: str, otherwise: str) -> str:
        """Why a read of `right` (proxy, log) failed (`otherwise`, its `{status}` filled in, unless a 403: that also
        pauses the source in the namespace)."""
        status = _status_word(exc)
        if status != "403":
            return otherwise.replace("{status}", status)
        what = "metrics" if right == "proxy" else "log"
        why = f"no pods/{right} right in {namespace} ({what} not read)"
        self._forbidden[(right, namespace)] = (time.monotonic() + self.forbidden_pause, why)
        return why

    def _metrics(self, pod: model.Pod, port: int, key, now: float) -> tuple[dict | None, str]:
        paused = self._paused("proxy", pod.namespace, now)
        if paused:
            return None, paused
        self.requests += 1
        try:
            resp = apis.pod_proxy(self._api, pod.namespace, pod.name, port, METRICS_PATH,
                                  timeout=(min(self.timeout, 3.0), self.timeout))
        except Exception as exc:  # ApiException, transport errors: an answer, never raised
            detail = apis.status_message(exc)[:120]
            return None, self._refused(exc, "proxy", pod.namespace, "metrics unreachable ({status}: " + detail + ")")
        # The start-up histogram (a series per job name × buckets: most of the parsing) at most every
        # `histogram_interval` seconds; the gauges every time.
        last = self._histogram_at.get(key, -1e9)
        histogram = time.monotonic() - last >= self.histogram_interval
        wanted = _WANTED if histogram else _GAUGES_COUNTERS
        kept: list[str] = []
        size = kept_size = 0
        rest = b""
        try:
            while True:
                chunk = resp.read(64 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_METRICS_BYTES:
                    resp.close()
                    return None, "metrics answer larger than 16 MiB (not read)"
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                for line in _wanted(lines, wanted):
                    kept.append(line)
                    kept_size += len(line)
                if kept_size > MAX_KEPT_BYTES:
                    resp.close()
                    return None, "metrics: over 2 MiB of job series (not read)"
            kept.extend(_wanted([rest], wanted))
        except Exception as exc:
            return None, f"metrics unreachable ({type(exc).__name__})"
        finally:
            release = getattr(resp, "release_conn", None)
            if release is not None:
                release()
        try:
            figures = parse_metrics("\n".join(kept) + "\n", key[0], key[1])
        except ValueError as exc:
            return None, f"metrics unreadable ({exc})"
        previous = self._figures.get(key)
        if histogram:
            self._histogram_at[key] = time.monotonic()
        elif previous is not None and previous.source == "metrics":
            figures.update(startup_p50=previous.startup_p50, startup_p95=previous.startup_p95,
                           startup_count=previous.startup_count)
        return figures, ""

    def _log_statistics(self, pod: model.Pod, now: float) -> tuple[list[Statistics] | None, str]:
        """The statistics lines of the listener's log (None: the log could not be read, and why)."""
        paused = self._paused("log", pod.namespace, now)
        if paused:
            return None, paused
        self.requests += 1
        params = {"container": "listener" if any(c.name == "listener" for c in pod.containers) else None,
                  "tail_lines": self.tail_lines, "limit_bytes": self.limit_bytes, "timestamps": True}
        try:
            resp = apis.pod_log(self._api, pod.namespace, pod.name, params,
                                timeout=(min(self.timeout, 3.0), self.timeout))
        except Exception as exc:
            return None, self._refused(exc, "log", pod.namespace, "log unreadable ({status})")
        try:
            data = resp.read(self.limit_bytes + 1)[:self.limit_bytes]
        except Exception as exc:
            return None, f"log unreadable ({type(exc).__name__})"
        finally:
            release = getattr(resp, "release_conn", None)
            if release is not None:
                release()
        # The lines of this read, parsed or looked up in the last read's (most of a tail is the tail before).
        key = (pod.namespace, pod.name)
        before = self._parsed.get(key, {})
        lines = data.decode("utf-8", errors="replace").splitlines()
        self._parsed[key] = known = {raw: before[raw] for raw in lines if raw in before}
        return statistics_in(lines, known), ""

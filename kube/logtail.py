"""Bounded log-tail fetching for the checks: the pods whose logs hold the cause (runner, workflow and listener
pods that ended, restarted, failed or were recreated, young runners, and the ARC controller) get the tail of
their current and previous container read, within a budget of pods and bytes per minute, so a large cluster
is never flooded with log requests.

One `LogTailer` per connection, kept across calls: a container instance whose state has not changed since it
was read (same pod uid, container, restart count and state) is never read twice, and tails of pods that have
gone (a churning runner is deleted seconds after it printed why) are kept, so a check run after the pod vanished
still sees the evidence. Textual-free; blocking: call it from a worker thread. Errors (404 pod gone, 400 no
previous container, 403 no access to pods/log, timeouts) are skipped and counted in `stats`, never raised.

Which tails of gone pods are kept: the evidence of a scale set must not vanish before a newer pod of that set has
shown the opposite (a finding that comes and goes with the check runs is worse than none). A gone pod's tail is
kept until a pod of the same scale set and role, created after it, has a tail of the same container read after
that container ended (its last words: if the failure still happens they show it and carry the evidence on), or
for `retain_seconds` after the pod went. Empty tails of gone pods (read before the runner printed anything) say
nothing and are dropped: they never push a tail with lines out of the per-set cap. On what is kept the checks
apply the finer, per-failure rule (checks/context.py: a newer runner that logged "Listening for Jobs" has got past
the start-up failures).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from operator import itemgetter

from arc_top.kube import apis, model
from arc_top.kube.model import LogTail, Snapshot

KIB = 1024
TAILED_ROLES = ("runner", "workflow", "listener", "controller")
# Containers worth reading first: where ARC's failures print.
_CONTAINER_ORDER = {"runner": 0, "job": 1, "listener": 2, "manager": 3}
_MAX_LINE = 4096
_FORBIDDEN_PAUSE_S = 300.0


@dataclass
class TailStats:
    pods: int = 0                    # pods read (one or more containers)
    requests: int = 0
    bytes: int = 0
    tails: int = 0                   # tails returned by the last fetch (read now or kept from before)
    skipped_budget: int = 0          # pods left for later by the per-minute budget (last fetch)
    errors: dict[str, int] = field(default_factory=dict)    # "404" | "400" | "403" | "other" → count

    def as_dict(self) -> dict:
        return {"pods": self.pods, "requests": self.requests, "bytes": self.bytes, "tails": self.tails,
                "skipped_budget": self.skipped_budget, "errors": dict(self.errors)}


@dataclass(frozen=True)
class _Request:
    container: str
    previous: bool
    version: tuple                   # (restart count, state[, refresh period]): the instance and what it shows


@dataclass
class _Entry:
    version: tuple
    tail: LogTail | None             # None: the read failed (404/400/403): not retried for this version
    last_seen: float                 # when its pod was last in a snapshot
    scale_set: tuple = ("", "")
    empty_reads: int = 0             # reads of this running instance that found its log still empty
    created: float = 0.0             # the pod's creation (epoch seconds): which of two pods is newer
    role: str = ""


class LogTailer:
    def __init__(self, api, *, budget_pods_per_min: int = 30, bytes_per_pod: int = 64 * KIB,
                 budget_bytes_per_min: int | None = None, tail_lines: int = 200, young_seconds: float = 600.0,
                 recreated_after: float = 10.0, retain_seconds: float = 600.0, request_timeout: float = 10.0,
                 retry_empty_seconds: float = 1.0, max_empty_reads: int = 5, retain_gone_per_set: int = 10,
                 controller_refresh_seconds: float = 300.0, max_entries: int = 1000):
        """`api`: an ApiClient of the official client, or anything with `read_namespaced_pod_log` (a CoreV1Api).
        Each read of a pod costs one unit of `budget_pods_per_min` whatever the number of its containers read
        (a pod read again later counts again), and runner pods leave a fifth of it to listener and controller
        pods; the bytes read for one pod never exceed `bytes_per_pod`, nor those of a minute
        `budget_bytes_per_min` (default: pods × bytes per pod). A running container whose
        log was still empty is read again after `retry_empty_seconds`, at most `max_empty_reads` times (a
        failing runner prints why a few seconds after it starts, and may be deleted a second later). Runner
        pods younger than `young_seconds` are read; a listener pod made more than `recreated_after` seconds
        after its AutoscalingListener was recreated."""
        self._api = api
        self.budget_pods_per_min = max(0, int(budget_pods_per_min))
        self.reserve_pods_per_min = self.budget_pods_per_min // 5     # for listener and controller pods
        self.bytes_per_pod = max(1, int(bytes_per_pod))
        self.budget_bytes_per_min = (int(budget_bytes_per_min) if budget_bytes_per_min is not None
                                     else self.budget_pods_per_min * self.bytes_per_pod)
        self.tail_lines = tail_lines
        self.young_seconds = young_seconds
        self.recreated_after = recreated_after
        self.retain_seconds = retain_seconds
        self.request_timeout = request_timeout
        self.retry_empty_seconds = retry_empty_seconds
        self.max_empty_reads = max_empty_reads
        self.controller_refresh_seconds = max(1.0, controller_refresh_seconds)
        self.retain_gone_per_set = retain_gone_per_set
        self.max_entries = max_entries
        self.stats = TailStats()
        self._entries: dict[tuple[str, str, bool], _Entry] = {}
        self._window: deque[tuple[float, int]] = deque()      # (when, bytes) per pod read
        self._forbidden: dict[str, float] = {}                 # namespace → retry after
        # pod uid → (pod, its runner, its listener, controller bucket, requests, (tier young, tier not young))
        self._scores: dict[str, tuple] = {}
        self._ranked: tuple | None = None       # (its inputs, valid from, until, the list): _candidates
        self._lock = threading.Lock()

    # ---- which pods -----------------------------------------------------------------------------------
    def select(self, snapshot: Snapshot, now: float | None = None) -> list[model.Pod]:
        """The pods worth reading now, best first: pods that failed, restarted or were recreated before those
        that merely ended or are young replacements; newest first; the best pod of every scale set before any
        second pod of one, so every set gets coverage. Pods with nothing new to read are left out."""
        now = time.time() if now is None else now
        with self._lock:
            return [pod for pod, _ in self._candidates(snapshot, now) if self._pending(pod, now)]

    def _candidates(self, snapshot: Snapshot, now: float) -> list[tuple[model.Pod, tuple]]:
        """Every pod worth a read in principle, best first (select and fetch leave out what is fresh). The same
        list again while the pods, runners and listeners are the same objects (a snapshot shares an unchanged
        kind's map with the one before), no pod crossed the young boundary and the controller's refresh period
        is the same: an idle minute at 20,000 runners walked and sorted every pod again (~50 ms)."""
        pods = snapshot.of(model.PODS)
        runners = snapshot.of(model.RUNNERS)
        listener_map = snapshot.of(model.LISTENERS)
        memo_key = (pods, runners, listener_map, int(now // self.controller_refresh_seconds))
        cached = self._ranked
        if cached is not None and all(a is b for a, b in zip(cached[0][:3], memo_key[:3], strict=True)) and \
                cached[0][3] == memo_key[3] and cached[1] <= now < cached[2]:
            return cached[3]
        listeners = {(o.namespace, o.name): o for o in listener_map.values()}
        young, valid_until = self.young_seconds, float("inf")
        by_name: dict | None = None
        scored: list[tuple[int, float, str, str, model.Pod, tuple]] = []
        # What a pod is worth reading depends on the pod, its EphemeralRunner or AutoscalingListener and whether it
        # is young: worked out once per pod object (objects are replaced, never changed), not for each of 20,000
        # pods at every round (a third of the checks thread's time under churn).
        memo, scores = self._scores, {}
        for uid, pod in pods.items():
            role = pod.role
            if role not in TAILED_ROLES:
                continue
            runner = runners.get(pod.owner_uid) if role == "runner" else None
            listener = listeners.get((pod.namespace, pod.name)) if role == "listener" else None
            bucket = self._bucket(pod, now)
            score = memo.get(uid)
            if score is None or score[0] is not pod or score[1] is not runner or score[2] is not listener or \
                    score[3] != bucket:
                requests = self._requests(pod, now)
                score = (pod, runner, listener, bucket, requests,
                         (self._tier(pod, True, runner, listener), self._tier(pod, False, runner, listener))
                         if requests else (None, None))
            scores[uid] = score
            if not score[4]:
                continue
            tiers = score[5]
            age = now - pod.created
            if tiers[0] != tiers[1]:        # its rank changes when it becomes young, or stops being young
                boundary = pod.created if age < 0 else pod.created + young if age < young else valid_until
                valid_until = min(valid_until, boundary)
            tier = tiers[0 if 0 <= age < young else 1]
            if tier is None:
                continue
            if role == "workflow":          # (its scale set is its runner pod's: looked up by name)
                if by_name is None:
                    by_name = {(p.namespace, p.name): p for p in pods.values()}
                set_key = _scale_set_key(pod, by_name)
            else:
                set_key = _scale_set_key(pod, None)
            scored.append((tier, -pod.created, pod.namespace, pod.name, pod, set_key))
        self._scores = scores
        scored.sort(key=_RANK)              # (a key of the tuple's head: no call per candidate, no pod compared)
        first, rest, covered = [], [], set()
        for *_, pod, key in scored:
            (rest if key in covered else first).append((pod, key))
            covered.add(key)
        ranked = first + rest
        self._ranked = (memo_key, now, valid_until, ranked)
        return ranked

    def _tier(self, pod: model.Pod, young: bool, runner: model.Runner | None,
              listener: model.Listener | None) -> int | None:
        """0: failed, restarted, a recreated listener, a runner with failed pods; 1: ended, or the running
        controller; 2: a young runner (runners that churn — exit 0 right after start — are always young);
        None: not worth reading. `young`: made less than `young_seconds` ago."""
        main = [c for c in pod.containers if not c.init]
        if pod.restarts > 0 or any(c.restarts > 0 for c in pod.containers):
            return 0
        if pod.phase == "Failed" or any(c.state == "terminated" and c.exit_code not in (0, None)
                                        for c in pod.containers):
            return 0
        if runner is not None and runner.failures > 0:
            return 0
        if pod.role == "listener":
            if young and listener is not None and pod.created - listener.created > self.recreated_after:
                return 0
        ended = pod.phase == "Succeeded" or (main and all(c.state == "terminated" for c in main))
        if ended:
            if pod.role == "runner" and runner is not None and runner.job_repository:
                return None                  # an ephemeral runner that ran its job and exited 0: normal
            return 1
        if pod.role == "controller" and any(c.state == "running" for c in main):
            return 1                         # one pod with ARC's own errors (CRDs, versions, quota)
        if pod.role == "runner" and young and any(c.state == "running" for c in main):
            return 2                         # a new runner: a failing one prints why seconds after it starts
        return None

    def _requests(self, pod: model.Pod, now: float) -> list[_Request]:
        """The container instances to read. The controller's running log is read again every
        `controller_refresh_seconds` (its errors — stale CRDs, version mismatch, quota — recur while it runs)."""
        bucket = self._bucket(pod, now)
        score = self._scores.get(pod.uid)
        if score is not None and score[0] is pod and score[3] == bucket:
            return score[4]
        out = []
        containers = sorted(pod.containers, key=lambda c: (c.init, _CONTAINER_ORDER.get(c.name, 9), c.name))
        for c in containers:
            if c.init and not (c.restarts > 0 or (c.state == "terminated" and c.exit_code not in (0, None))):
                continue
            if c.restarts > 0:
                out.append(_Request(c.name, True, (c.restarts, "previous")))
            if c.state in ("running", "terminated"):
                out.append(_Request(c.name, False, (c.restarts, c.state) + (bucket if c.state == "running" else ())))
        return out[:4]

    def _bucket(self, pod: model.Pod, now: float) -> tuple:
        """The controller's refresh period `now` falls in (its running log is read once per period); () for others."""
        return (int(now // self.controller_refresh_seconds),) if pod.role == "controller" else ()

    def _pending(self, pod: model.Pod, now: float, read: set[str] | None = None) -> bool:
        """Something of `pod` is still to be read (`read`: the uids of the pods with a cache entry, when known:
        a pod never read is pending, without a look at its containers)."""
        if self._forbidden.get(pod.namespace, 0.0) > now:
            return False
        if read is not None and pod.uid not in read:
            return True
        return any(not self._fresh(self._entries.get((pod.uid, req.container, req.previous)), req, now)
                   for req in self._requests(pod, now))

    def _fresh(self, entry: _Entry | None, req: _Request, now: float) -> bool:
        """Whether what was read for this container instance still stands."""
        if entry is None or entry.version != req.version:
            return False
        tail = entry.tail
        return not (req.version[1] == "running" and tail is not None and not tail.lines
                    and entry.empty_reads < self.max_empty_reads and now - tail.fetched_at >= self.retry_empty_seconds)

    # ---- reading --------------------------------------------------------------------------------------
    def fetch(self, snapshot: Snapshot, now: float | None = None, deadline_seconds: float = 30.0) -> list[LogTail]:
        """Read what `select` names, within the per-minute budget and `deadline_seconds`, and return every
        tail known: read now, read before for an unchanged container, or of a pod gone less than
        `retain_seconds` ago (its uid is then no longer in the snapshot)."""
        now = time.time() if now is None else now
        stop_at = time.monotonic() + deadline_seconds
        with self._lock:
            self.stats.skipped_budget = 0
            present = {p.uid for p in snapshot.of(model.PODS).values()}
            for key, entry in self._entries.items():
                if key[0] in present:
                    entry.last_seen = now
            # At 20,000 young runner pods nearly every pod is a candidate and 30 are read a minute: the rest are
            # only counted (skipped_budget), as cheaply as can be. Within one fetch a spent budget stays spent.
            read = {key[0] for key in self._entries}
            spent: set[bool] = set()          # the budgets spent in this fetch (True: the runner pods')
            for pod, set_key in self._candidates(snapshot, now):
                if not self._pending(pod, now, read):
                    continue
                runner_like = pod.role in ("runner", "workflow")
                if runner_like in spent or time.monotonic() > stop_at:
                    self.stats.skipped_budget += 1
                    continue
                if not self._affordable(now, pod.role):
                    spent.add(runner_like)
                    if not runner_like:
                        spent.add(True)       # (the runner pods' budget is the smaller one)
                    self.stats.skipped_budget += 1
                    continue
                self._read_pod(pod, set_key, now)
            self._evict(now, present)
            tails = sorted((e.tail for e in self._entries.values() if e.tail is not None),
                           key=lambda t: (t.namespace, t.pod, t.container, not t.previous))
            self.stats.tails = len(tails)
            return tails

    def _affordable(self, now: float, role: str) -> bool:
        """Within the minute's budget. Runner and workflow pods leave the last `reserve_pods_per_min` units to
        the listener and controller pods: a cluster that churns failing runners would otherwise spend the whole
        budget on them, and a listener that dies every few seconds (one pod per scale set, the only one that
        says why nothing scales) would never be read."""
        while self._window and self._window[0][0] <= now - 60.0:
            self._window.popleft()
        limit = self.budget_pods_per_min - (self.reserve_pods_per_min if role in ("runner", "workflow") else 0)
        if len(self._window) >= limit:
            return False
        return sum(b for _, b in self._window) + self.bytes_per_pod <= self.budget_bytes_per_min

    def _read_pod(self, pod: model.Pod, set_key: tuple, now: float) -> None:
        budget = self.bytes_per_pod
        used = 0
        for req in self._requests(pod, now):
            key = (pod.uid, req.container, req.previous)
            entry = self._entries.get(key)
            if self._fresh(entry, req, now):
                continue
            if budget - used <= 0:
                break
            self.stats.requests += 1
            result = self._read(pod, req, budget - used)
            if isinstance(result, str):
                self.stats.errors[result] = self.stats.errors.get(result, 0) + 1
                if result == "403":
                    self._forbidden[pod.namespace] = now + _FORBIDDEN_PAUSE_S
                if result in ("400", "403", "404"):
                    self._entries[key] = _Entry(req.version, entry.tail if entry else None, now, set_key,
                                                created=pod.created, role=pod.role)
                if result in ("403", "404"):
                    break                    # the whole pod is gone or unreadable
                continue
            used += len(result)
            lines = _lines(result, self.bytes_per_pod, self.tail_lines)
            empty_reads = (entry.empty_reads if entry is not None and entry.version == req.version else 0) + (not lines)
            self._entries[key] = _Entry(req.version, LogTail(
                pod_uid=pod.uid, namespace=pod.namespace, pod=pod.name, container=req.container,
                previous=req.previous, lines=lines, fetched_at=now, pod_created=pod.created,
                ended=req.previous or req.version[1] == "terminated"), now, set_key, empty_reads, pod.created, pod.role)
        self.stats.pods += 1
        self.stats.bytes += used
        self._window.append((now, used))

    def _read(self, pod: model.Pod, req: _Request, limit: int) -> bytes | str:
        """The bytes of one tail, or the error class as a string ("404", "400", "403", "other")."""
        try:
            resp = self._pod_log(pod, container=req.container, previous=req.previous, tail_lines=self.tail_lines,
                                 limit_bytes=limit,
                                 _request_timeout=(min(5.0, self.request_timeout), self.request_timeout))
        except Exception as exc:  # ApiException, transport errors: counted, never raised
            status = getattr(exc, "status", None)
            return str(status) if status in (400, 403, 404) else "other"
        try:
            data = resp.read(limit + 1)
            if len(data) > limit:              # a server that ignores limitBytes: stop reading, drop the conn
                data = data[:limit]
                resp.close()
            return bytes(data)
        except Exception:
            resp.close()
            return "other"
        finally:
            release = getattr(resp, "release_conn", None)
            if release is not None:
                release()

    def _pod_log(self, pod: model.Pod, _request_timeout=None, **params):
        if hasattr(self._api, "read_namespaced_pod_log"):       # a CoreV1Api (or the budget tests' stand-in)
            return self._api.read_namespaced_pod_log(pod.name, pod.namespace, _preload_content=False,
                                                     _request_timeout=_request_timeout, **params)
        return apis.pod_log(self._api, pod.namespace, pod.name, params, timeout=_request_timeout)

    def _evict(self, now: float, present: set[str]) -> None:
        """Forget the tails of gone pods that can hold no evidence any more (see the module's docstring): empty
        ones, those superseded by a newer pod's ended tail, those gone longer than `retain_seconds`. Of the rest
        keep the newest tail per pod name and the newest `retain_gone_per_set` pods per scale set (a churning set
        makes hundreds)."""
        settled: dict[tuple, float] = {}        # (scale set, role, container) → newest pod with an ended tail
        for entry in self._entries.values():
            tail = entry.tail
            if tail is not None and tail.ended and tail.lines:
                group = (entry.scale_set, entry.role, tail.container)
                settled[group] = max(settled.get(group, entry.created), entry.created)
        kept_names: set[tuple] = set()
        kept_pods: dict[tuple, set[str]] = {}
        gone = sorted(((k, e) for k, e in self._entries.items() if k[0] not in present),
                      key=lambda ke: (-ke[1].created, -(ke[1].tail.fetched_at if ke[1].tail is not None else 0.0)))
        for key, entry in gone:
            tail = entry.tail
            if tail is None or not tail.lines or now - entry.last_seen > self.retain_seconds \
                    or entry.created < settled.get((entry.scale_set, entry.role, tail.container), entry.created):
                del self._entries[key]
                continue
            name = (tail.namespace, tail.pod, tail.container, tail.previous)
            pods = kept_pods.setdefault(entry.scale_set, set())
            if name in kept_names or (key[0] not in pods and len(pods) >= self.retain_gone_per_set):
                del self._entries[key]
                continue
            kept_names.add(name)
            pods.add(key[0])
        if len(self._entries) > self.max_entries:
            oldest = sorted(self._entries, key=lambda k: self._entries[k].last_seen)
            for key in oldest[:len(self._entries) - self.max_entries]:
                del self._entries[key]


_RANK = itemgetter(slice(0, 4))      # a candidate's (tier, -created, namespace, name)


def _scale_set_key(pod: model.Pod, by_name) -> tuple[str, str]:
    if pod.role == "workflow":
        runner = by_name.get((pod.namespace, pod.runner_pod))
        return (runner.namespace, runner.scale_set) if runner is not None else (pod.namespace, "")
    if pod.role == "listener":
        return pod.scale_set_namespace or pod.namespace, pod.scale_set
    return pod.namespace, pod.scale_set


def _lines(data: bytes, limit: int, tail_lines: int) -> tuple[str, ...]:
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if len(data) >= limit and lines and not text.endswith("\n"):
        lines.pop()                            # cut mid-line by limitBytes
    return tuple(line[:_MAX_LINE] for line in lines[-tail_lines:])


"""The ARC controller simulation: what the gha-runner-scale-set controller, its listeners, the runners,
the kubelet, the scheduler and the volume provisioner would do to the sandbox's objects.

It works like a real controller: a store hook queues the keys of changed objects, and `step()`
reconciles only those plus whatever timers fell due, so a pass costs what changed, not what exists.
Outcomes follow from the objects (pod template, Secret, NetworkPolicy, StorageClass, RBAC), never
from a scenario's name.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

from arc_top.sandbox.controller.churn import Churn
from arc_top.sandbox.controller.common import ARS, ER, ERS, LISTENER, Timing
from arc_top.sandbox.controller.events import ManagerLog, Recorder
from arc_top.sandbox.controller.jobs import Jobs
from arc_top.sandbox.controller.kubelet import Kubelet
from arc_top.sandbox.controller.listener import Listeners
from arc_top.sandbox.controller.listener_process import ListenerProcess
from arc_top.sandbox.controller.lograte import LogRate
from arc_top.sandbox.controller.runners import Runners
from arc_top.sandbox.controller.runnerset import RunnerSets
from arc_top.sandbox.controller.volumes import Volumes
from arc_top.sandbox.store import Change

__all__ = ["Controller", "Timing"]

NETPOL = "networkpolicies.networking.k8s.io"
STORAGE_CLASS = "storageclasses.storage.k8s.io"
# Reconcile order inside one round: owners before what they own, so one round goes a long way.
_ORDER = {ARS: 0, LISTENER: 1, ERS: 2, ER: 3, "persistentvolumeclaims": 4, "persistentvolumes": 5, "pods": 6,
          "secrets": 7, NETPOL: 7, STORAGE_CLASS: 7, "nodes": 7}
_OWNER_KINDS = {"AutoscalingRunnerSet": ARS, "EphemeralRunnerSet": ERS, "EphemeralRunner": ER,
                "AutoscalingListener": LISTENER, "Pod": "pods"}
_ROUNDS = 8
log = logging.getLogger("sandbox.controller")


class Controller:
    """Runs the simulation: `start()` in a daemon thread, or `step()` by hand in tests."""

    def __init__(self, cluster, tick: float = 0.25, speed: float = 1.0,
                 churn_events_per_second: float | None = None):
        self.cluster = cluster
        self.tick = tick
        self.timing = Timing(speed)
        self._queue: set[tuple[str, str, str]] = set()
        self._queue_lock = threading.Lock()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._requeues: dict[tuple[str, str, str], float] = {}
        self._seq = itertools.count()
        self._wake = threading.Event()
        self._step_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.changes = 0  # store changes seen: the churn loop steers by it
        self.last_pass_seconds = 0.0
        self.children: dict[str, set[tuple[str, str, str]]] = {}  # owner uid -> (key, ns, name)
        self.events = Recorder(cluster)
        self.manager = ManagerLog(cluster)
        self.lograte = LogRate(cluster)
        self.kubelet = Kubelet(self)
        self.volumes = Volumes(self)
        self.listeners = Listeners(self)
        self.listener_process = ListenerProcess(self)
        self.runnersets = RunnerSets(self)
        self.runners = Runners(self)
        self.jobs = Jobs(self)
        self.churn = Churn(self, churn_events_per_second)
        self._handlers = {
            ARS: self.runnersets.reconcile_ars, ERS: self.runnersets.reconcile_ers,
            ER: self.runners.reconcile, LISTENER: self.listeners.reconcile, "pods": self.kubelet.reconcile,
            "persistentvolumeclaims": self.volumes.reconcile_claim,
            "persistentvolumes": self.volumes.reconcile_volume,
            "secrets": self.listeners.secret_changed, NETPOL: self.listener_process.policy_changed,
            STORAGE_CLASS: self.volumes.class_changed, "nodes": self.kubelet.nodes_changed}
        cluster.store.on_change(self._on_change)
        cluster.resume_hooks.append(self._resumed)
        for key in self._handlers:  # what existed before the hook: adopt it
            for obj in cluster.store.list(key):
                meta = obj["metadata"]
                with self._queue_lock:
                    self._index(key, obj, None, False)
                    self._queue.add((key, meta.get("namespace", ""), meta["name"]))

    # ---- scheduling work ---------------------------------------------------------------------
    def enqueue(self, key: str, namespace: str, name: str) -> None:
        with self._queue_lock:
            self._queue.add((key, namespace or "", name))
        self._wake.set()

    def after(self, seconds: float, fn: Callable[[], None]) -> None:
        """Run `fn` on the controller thread after `seconds` of sandbox time (scaled by speed)."""
        due = time.monotonic() + self.timing.real(seconds)
        with self._queue_lock:
            heapq.heappush(self._timers, (due, next(self._seq), fn))
        self._wake.set()

    def requeue(self, key: str, namespace: str, name: str, seconds: float) -> None:
        """Reconcile the object again later; an earlier pending requeue of the same key wins."""
        item = (key, namespace or "", name)
        due = time.monotonic() + self.timing.real(seconds)
        with self._queue_lock:
            if self._requeues.get(item, due + 1) <= due:
                return
            self._requeues[item] = due
            heapq.heappush(self._timers, (due, next(self._seq), lambda: self._fire(item, due)))
        self._wake.set()

    def _fire(self, item: tuple[str, str, str], due: float) -> None:
        with self._queue_lock:
            if self._requeues.get(item) != due:
                return
            del self._requeues[item]
            self._queue.add(item)

    def owned(self, owner_uid: str, key: str) -> list[str]:
        """Names of the `key` objects that an owner (by uid) owns, from the hook-maintained index."""
        with self._queue_lock:
            return [name for k, _, name in self.children.get(owner_uid, ()) if k == key]

    # ---- the store hook (runs under the store lock: keep it cheap) -----------------------------
    def _on_change(self, change: Change) -> None:
        self.changes += 1
        if change.key not in self._handlers or self._stop.is_set() and self._thread is not None:
            return
        obj = change.obj
        meta = obj["metadata"]
        ns = meta.get("namespace", "")
        with self._queue_lock:
            self._index(change.key, obj, change.old, change.type == "DELETED")
            self._queue.add((change.key, ns, meta["name"]))
            for ref in meta.get("ownerReferences") or ():
                owner_key = _OWNER_KINDS.get(ref.get("kind"))
                if owner_key:
                    self._queue.add((owner_key, ns, ref.get("name", "")))
            if change.key == "persistentvolumeclaims" and change.type == "DELETED":
                volume = (obj.get("spec") or {}).get("volumeName")
                if volume:
                    self._queue.add(("persistentvolumes", "", volume))
        self._wake.set()

    def _index(self, key: str, obj: dict, old: dict | None, deleted: bool) -> None:
        if key not in (ERS, ER):
            return
        meta = obj["metadata"]
        entry = (key, meta.get("namespace", ""), meta["name"])
        for ref in (old or {}).get("metadata", {}).get("ownerReferences") or ():
            kids = self.children.get(ref.get("uid", ""))
            if kids is not None:
                kids.discard(entry)
                if not kids:
                    del self.children[ref["uid"]]
        if not deleted:
            for ref in meta.get("ownerReferences") or ():
                if ref.get("uid"):
                    self.children.setdefault(ref["uid"], set()).add(entry)

    # ---- running -----------------------------------------------------------------------------
    def step(self) -> None:
        """One reconcile pass: due timers, then the queued keys (a few rounds, owners first). Nothing while the
        cluster is paused (`Cluster.pause()`, POST /sandbox/pause): the cluster then produces no events at all.
        The pass is one `simulating()` unit, so a pause waits for the pass in progress to finish."""
        if self.cluster.paused:
            return
        with self._step_lock, self.cluster.simulating() as live:
            if not live:
                return
            self._pass()

    def _pass(self) -> None:
        started = time.perf_counter()
        now = time.monotonic()
        due: list[Callable[[], None]] = []
        with self._queue_lock:
            while self._timers and self._timers[0][0] <= now:
                due.append(heapq.heappop(self._timers)[2])
        for fn in due:
            self._guarded(fn)
        for _ in range(_ROUNDS):
            with self._queue_lock:
                batch, self._queue = self._queue, set()
            if not batch:
                break
            for key, ns, name in sorted(batch, key=lambda k: _ORDER[k[0]]):
                self._guarded(self._handlers[key], ns, name)
        self._guarded(self.churn.step)
        self._guarded(self.events.collect)
        self.last_pass_seconds = time.perf_counter() - started

    def _resumed(self) -> None:
        """After a pause: the churn does not make up for the time stood still, and the loop looks at once."""
        self.churn.resumed()
        self._wake.set()

    @staticmethod
    def _guarded(fn: Callable, *args) -> None:
        """One broken object must not stop the simulation: log and carry on, as a controller would."""
        try:
            fn(*args)
        except Exception:
            log.exception("sandbox controller: %s%s failed", getattr(fn, "__qualname__", fn), args)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.step()
            with self._queue_lock:
                next_due = self._timers[0][0] - time.monotonic() if self._timers else self.tick
                pending = bool(self._queue)
            if pending:
                continue
            self._wake.clear()
            self._wake.wait(max(0.0, min(self.tick, next_due)))
            time.sleep(0.005)  # let a burst of API writes land in one pass

    def start(self) -> Controller:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="arc-controller", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

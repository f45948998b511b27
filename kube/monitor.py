"""The whole live picture for one connection: a watch thread per (kind, namespace, selector), discovery of the
ARC controller on a worker thread, one ClusterState they all write into. Textual-free: a UI passes
`on_change` (called from a watch thread, at most once per drain) and calls drain() + snapshot() in reply.

Threads, with namespaces selected (13 per namespace + 4 cluster-wide + 1–4 per controller namespace):
  per namespace    scale sets, runner sets, runners, ARC pods (runner|listener|controller by label),
                   workflow pods (label runner-pod), PVCs, Warning events, Normal events of ARC objects,
                   network policies, secrets (key names only), service accounts, roles, role bindings
  cluster-wide     storage classes, namespaces, cluster roles, cluster role bindings
  controller ns    listeners (+ its pods and events when the namespace is not selected)
With -A each per-namespace watch is a single all-namespaces watch, and listeners are watched cluster-wide.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from arc_top.kube import apis, model
from arc_top.kube.discovery import ArcInfo, discover
from arc_top.kube.model import ChangeSet, KindState, Snapshot
from arc_top.kube.state import ClusterState
from arc_top.kube.watch import KindWatcher, WatchSpec

ARC_POD_SELECTOR = "app.kubernetes.io/component in (runner,runner-scale-set-listener,controller-manager)"
WORKFLOW_POD_SELECTOR = "runner-pod"
WARNING_EVENTS = "type=Warning"
ARC_NORMAL_EVENTS = f"involvedObject.apiVersion={apis.ARC_GROUP}/{apis.ARC_VERSION},type=Normal"
DISCOVERY_SOURCE = "discovery"
# What the panels show; the other kinds (secrets, RBAC, policies, storage classes, namespaces) only feed the checks.
PANEL_KINDS = frozenset({model.SCALE_SETS, model.RUNNER_SETS, model.RUNNERS, model.LISTENERS, model.PODS,
                         model.VOLUMES, model.EVENTS})
SECOND_WAVE_AFTER = 4.0         # seconds: start the checks' kinds by then even if the panels are still listing
SECOND_WAVE_GRACE = 1.5         # seconds after the panels' kinds have synced
# The first screen's kinds (scale sets, runners, ARC pods) list first, alone until each has a first page or for
# at most this long; then the other panels' kinds start.
SCREEN_KINDS = frozenset({model.SCALE_SETS, model.RUNNERS, model.PODS})
SCREEN_FIRST_WAIT = 0.5


def _arc_pod(obj: object) -> bool:
    return getattr(obj, "role", "other") != "other"      # e.g. another product's controller-manager pod


def namespace_specs(ns: str | None) -> list[WatchSpec]:
    """What is watched in one selected namespace (None: in all namespaces)."""
    return [
        WatchSpec(apis.SCALE_SETS, ns), WatchSpec(apis.RUNNER_SETS, ns), WatchSpec(apis.RUNNERS, ns),
        WatchSpec(apis.PODS, ns, ARC_POD_SELECTOR, accept=_arc_pod),
        WatchSpec(apis.PODS, ns, WORKFLOW_POD_SELECTOR),
        WatchSpec(apis.VOLUMES, ns),
        WatchSpec(apis.EVENTS, ns, field_selector=WARNING_EVENTS),
        WatchSpec(apis.EVENTS, ns, field_selector=ARC_NORMAL_EVENTS),
        WatchSpec(apis.NETWORK_POLICIES, ns), WatchSpec(apis.SECRETS, ns), WatchSpec(apis.SERVICE_ACCOUNTS, ns),
        WatchSpec(apis.ROLES, ns), WatchSpec(apis.ROLE_BINDINGS, ns),
    ]


def cluster_specs() -> list[WatchSpec]:
    return [WatchSpec(apis.STORAGE_CLASSES), WatchSpec(apis.NAMESPACES), WatchSpec(apis.CLUSTER_ROLES),
            WatchSpec(apis.CLUSTER_ROLE_BINDINGS)]


def controller_specs(ns: str, selected: tuple[str, ...]) -> list[WatchSpec]:
    """The controller namespace: the listeners of the selected namespaces' scale sets, and (unless the namespace
    is selected anyway) their pods, the controller pods and the namespace's events."""
    wanted = frozenset(selected)

    def ours(obj: object) -> bool:
        return getattr(obj, "scale_set_namespace", "") in wanted or getattr(obj, "role", "") == "controller"

    specs = [WatchSpec(apis.LISTENERS, ns, accept=ours)]
    if ns not in selected:
        specs += [WatchSpec(apis.PODS, ns, ARC_POD_SELECTOR, accept=ours),
                  WatchSpec(apis.EVENTS, ns, field_selector=WARNING_EVENTS),
                  WatchSpec(apis.EVENTS, ns, field_selector=ARC_NORMAL_EVENTS)]
    return specs


def plan(namespaces: tuple[str, ...]) -> list[WatchSpec]:
    """The watches that need no discovery (all of them with -A)."""
    specs: list[WatchSpec] = []
    for ns in namespaces or (None,):
        specs += namespace_specs(ns)
    specs += cluster_specs()
    if not namespaces:
        specs.append(WatchSpec(apis.LISTENERS, None))
    return specs


class Monitor:
    def __init__(self, conn, on_change: Callable[[], None] | None = None, **watch_options):
        """`watch_options` go to every KindWatcher (page_size, watch_seconds, stall_after, forbidden_retry)."""
        self.conn = conn
        self.state = ClusterState(on_change)
        self.watchers: list[KindWatcher] = []
        self._watch_options = watch_options
        self._info: ArcInfo | None = None
        self._lock = threading.Lock()
        self._stopped = False
        self._started = False
        self._discovery: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def info(self) -> ArcInfo | None:
        """What discovery found (None until it has run)."""
        return self._info

    # ---- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> None:
        """Return at once: one thread starts the watch threads (starting 20 threads that each begin parsing at
        once costs the caller ~70 ms of GIL waits) and then runs discovery; the first lists happen on the
        watch threads."""
        with self._lock:
            if self._started:
                return
            self._started = True
            if self.conn.namespaces:
                self.state.set_state(model.LISTENERS, KindState(model.LISTENERS, "starting",
                                                                message="looking for the ARC controller"),
                                     DISCOVERY_SOURCE)
        self._discovery = threading.Thread(target=self._run, name="arc-top-discovery", daemon=True)
        self._discovery.start()

    def _start_watcher(self, spec: WatchSpec) -> None:
        """Under self._lock."""
        if self._stopped:
            return
        watcher = KindWatcher(self.conn.api_client, spec, self.state, **self._watch_options)
        self.watchers.append(watcher)
        watcher.start()

    def _run(self) -> None:
        """Two waves: first the kinds the panels show (led by the first screen's: SCREEN_KINDS), then (once those
        have synced, or after SECOND_WAVE_AFTER seconds) the kinds only the checks read (secrets, RBAC,
        policies…). At 5,000 runners the second wave is as large as the first (a JIT Secret per runner); listing
        it at the same time would slow the panels' first lists down (one interpreter lock, one API server)."""
        specs = plan(self.conn.namespaces)
        first = [s for s in specs if s.resource.key in PANEL_KINDS]
        screen = [s for s in first if s.resource.key in SCREEN_KINDS and s.label_selector != WORKFLOW_POD_SELECTOR]
        with self._lock:
            for spec in screen:
                self._start_watcher(spec)
        # What the first screen shows (scale sets, the first runners and their pods) gets the interpreter to itself
        # until each has a first page; then the rest of the panels' kinds.
        deadline = time.monotonic() + SCREEN_FIRST_WAIT
        while time.monotonic() < deadline and not self._stopped and not self._screen_listed(screen):
            time.sleep(0.01)
        with self._lock:
            for spec in first:
                if spec not in screen:
                    self._start_watcher(spec)
        self._discover()
        deadline = time.monotonic() + SECOND_WAVE_AFTER
        while time.monotonic() < deadline and not self._stopped and not self.panels_synced():
            time.sleep(0.02)
        # …and a moment more: the screen fills its panels from those lists right then (one interpreter lock).
        self._stopping.wait(max(0.0, min(SECOND_WAVE_GRACE, deadline - time.monotonic())))
        with self._lock:
            for spec in specs:
                if spec not in first:
                    self._start_watcher(spec)

    def _screen_listed(self, specs: list[WatchSpec]) -> bool:
        """Each of these watches has published a first page (or ended its first list, or cannot list)."""
        with self._lock:
            watchers = [w for w in self.watchers if w.spec in specs]
        return all(w.pages or w.lists or w.state_of_kind in ("forbidden", "error") for w in watchers)

    def _discover(self) -> None:
        try:
            info = discover(self.conn)
        except Exception as exc:     # discovery is best effort: the watches work without it
            info = ArcInfo(problems=(f"ARC discovery failed: {type(exc).__name__}: {exc}"[:300],))
        self._info = info
        self.state.set_arc(info)
        if not self.conn.namespaces:
            return
        with self._lock:
            for ns in info.controller_namespaces:
                for spec in controller_specs(ns, self.conn.namespaces):
                    self._start_watcher(spec)
        if info.controller_namespaces:
            self.state.forget_state(model.LISTENERS, DISCOVERY_SOURCE)
        elif not info.controllers_listed:
            why = next((p for p in info.problems if "controller" in p), "the ARC controller namespace is unknown")
            self.state.set_state(model.LISTENERS, KindState(model.LISTENERS, "forbidden", message=why, synced=True),
                                 DISCOVERY_SOURCE)
        else:
            self.state.set_state(model.LISTENERS, KindState(model.LISTENERS, "live", synced=True,
                                                            message="no ARC controller found"), DISCOVERY_SOURCE)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop every thread; returns within `timeout` (threads are daemons: a straggler cannot block exit)."""
        with self._lock:
            self._stopped = True
            self._stopping.set()
            watchers = list(self.watchers)
        for watcher in watchers:
            watcher.stop()
        deadline = time.monotonic() + timeout
        for watcher in watchers:
            watcher.join(max(0.0, deadline - time.monotonic()))
        if self._discovery is not None and self._discovery is not threading.current_thread():
            self._discovery.join(max(0.0, deadline - time.monotonic()))
        with self._lock:                     # watchers the second wave started while we were stopping
            late = [w for w in self.watchers if w not in watchers]
        for watcher in late:
            watcher.stop()

    # ---- reading ---------------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        return self.state.snapshot()

    def drain(self) -> ChangeSet:
        return self.state.drain()

    def panels_synced(self) -> bool:
        """The kinds the panels show have applied their first list (the checks' kinds may still be listing)."""
        kinds = self.state.snapshot().kinds
        return self._info is not None and all(kinds[k].synced for k in PANEL_KINDS if k in kinds)

    def synced(self) -> bool:
        """Every kind has applied its first list (or knows it may not), and discovery has run."""
        snap = self.state.snapshot()
        return self._info is not None and all(s.synced for s in snap.kinds.values())

    def wait_synced(self, timeout: float = 30.0, step: float = 0.02) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.synced():
                return True
            time.sleep(step)
        return self.synced()

    def threads(self) -> dict[str, int]:
        """Watch threads per kind (diagnostics and the report)."""
        out: dict[str, int] = {}
        for w in self.watchers:
            out[w.kind] = out.get(w.kind, 0) + 1
        return out

"""The sandbox cluster's state and the write path every writer shares (API requests and the ARC
controller simulation alike): validation, admission, events, faults."""

from __future__ import annotations

import base64
import copy
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from arc_top.sandbox import admission, errors
from arc_top.sandbox.logs import LogStore
from arc_top.sandbox.rbac import Authorizer, UserInfo
from arc_top.sandbox.requestlog import RequestLog
from arc_top.sandbox.resources import Resource, lookup
from arc_top.sandbox.store import Store, now_rfc3339


def _res(res: Resource | str) -> Resource:
    return res if isinstance(res, Resource) else lookup(res)


class Cluster:
    """Everything the API server and the controller share. Thread-safe through the store's lock."""

    def __init__(self) -> None:
        self.store = Store()
        self.logs = LogStore()
        self.authorizer = Authorizer(self._list_for_rbac, lambda: self.store.rbac_generation)
        self.tokens: dict[str, UserInfo] = {}
        self.github = None          # sandbox.github.FakeGitHub, set by the scenario loader
        self.latency_s = 0.0        # fault injection: added to every API request
        # The simulated controller, kubelet, churn and log writers stand still (benchmarks' idle, tests that
        # act on one object). Set it with pause()/resume(), which wait for work in progress; assigning the
        # flag directly still stops new work but does not wait.
        self.paused = False
        self._activity = threading.Condition()
        self._active: dict[int, int] = {}        # thread ident -> depth of simulating() sections
        self.resume_hooks: list[Callable[[], None]] = []
        self.requests = RequestLog()        # every HTTP request the API server answered
        self.stopping = threading.Event()
        self.restart_hooks: list[Callable[[float], None]] = []
        self.base_url = ""          # https://127.0.0.1:<port>, known once the server listens
        self.ca_pem = b""           # the CA of the server's certificate (the fake GHES's too): githubServerTLS
        # What the simulated pods serve on a port, for the API server's pod proxy: (namespace, pod, pod uid, port)
        # → fn(path) -> (status, content type, body). The listener's metrics (sandbox/controller/listener_process.py).
        self.pod_servers: dict[tuple[str, str, str, int], Callable[[str], tuple[int, str, bytes]]] = {}

    def _list_for_rbac(self, key: str, namespace: str | None) -> list[dict]:
        return self.store.list(key, namespace)

    # ---- pausing the simulation ------------------------------------------------------------
    @contextmanager
    def simulating(self) -> Iterator[bool]:
        """One unit of simulated work (a controller pass, a batch of log lines). Yields False while the
        cluster is paused: the caller then does nothing. `pause()` waits for every unit in progress, so
        once it returns nothing simulated changes until `resume()`. A thread already inside a unit may
        nest another (a pass that was running when the pause came finishes whole)."""
        me = threading.get_ident()
        with self._activity:
            live = not self.paused or me in self._active
            if live:
                self._active[me] = self._active.get(me, 0) + 1
        if not live:
            yield False
            return
        try:
            yield True
        finally:
            with self._activity:
                depth = self._active.pop(me) - 1
                if depth:
                    self._active[me] = depth
                self._activity.notify_all()

    def pause(self, timeout: float | None = None) -> bool:
        """Stop the simulation and wait until work in progress has finished (False on timeout). The API
        server keeps serving: writes made while paused are reconciled after `resume()`."""
        me = threading.get_ident()
        with self._activity:
            self.paused = True
            return self._activity.wait_for(lambda: not any(t != me for t in self._active), timeout)

    def resume(self) -> None:
        with self._activity:
            was_paused, self.paused = self.paused, False
        if was_paused:
            for hook in list(self.resume_hooks):
                hook()

    # ---- the write path ----------------------------------------------------------------
    def admit(self, res: Resource, obj: dict, op: str) -> None:
        if res.key == "secrets":
            _secret_defaults(obj)
        if op == "create":
            _status_defaults(res.key, obj)
        admission.validate(res, obj, op)
        if res.key == "pods" and op == "create":
            ns = self.store.get("namespaces", None, obj["metadata"].get("namespace", ""))
            admission.pod_security(obj, ns)

    def create(self, res: Resource | str, obj: dict, dry_run: bool = False) -> dict:
        res = _res(res)
        return self.store.create(res, obj, dry_run=dry_run, validate=lambda o: self.admit(res, o, "create"))

    def update(self, res: Resource | str, obj: dict, dry_run: bool = False, subresource: str = "",
               require_rv: bool = True) -> dict:
        res = _res(res)
        return self.store.update(res, obj, dry_run=dry_run, subresource=subresource, require_rv=require_rv,
                                 validate=lambda o: self.admit(res, o, "update"))

    def mutate(self, res: Resource | str, namespace: str | None, name: str,
               fn: Callable[[dict], None]) -> dict | None:
        """Controller write without optimistic concurrency (it holds the only copy that matters)."""
        return self.store.mutate(_res(res), namespace, name, fn)

    def delete(self, res: Resource | str, namespace: str | None, name: str, dry_run: bool = False,
               precondition_uid: str | None = None, precondition_rv: str | None = None) -> dict:
        """DELETE; the preconditions (DeleteOptions.preconditions) are checked even on a dry run."""
        res = _res(res)
        out = self.store.delete(res, namespace, name, dry_run=dry_run, precondition_uid=precondition_uid,
                                precondition_rv=precondition_rv)
        if res.key == "pods" and not dry_run and self.store.get("pods", namespace, name) is None:
            self.logs.forget_pod(namespace or "", name)
        return out

    def write_pod_log(self, namespace: str, name: str, uid: str, container: str, lines: list[str] | str,
                      stamped: bool = False) -> bool:
        """Append to a container's log only while that very pod (by uid) exists, atomically with its
        deletion: a deleted pod's log must not come back under the next pod of the same name."""
        with self.store.lock:
            pod = self.store.get("pods", namespace, name)
            if pod is None or pod["metadata"]["uid"] != uid:
                return False
            if stamped:
                self.logs.write_stamped(namespace, name, container, lines)  # type: ignore[arg-type]
            else:
                self.logs.write(namespace, name, container, lines)
            return True

    def get(self, res: Resource | str, namespace: str | None, name: str) -> dict | None:
        return self.store.get(_res(res).key, namespace, name)

    def list(self, res: Resource | str, namespace: str | None = None,
             match: Callable[[dict], bool] | None = None) -> list[dict]:
        return self.store.list(_res(res).key, namespace, match)

    def crd_objects(self) -> list[dict]:
        return self.store.list("customresourcedefinitions.apiextensions.k8s.io")

    def crd_for(self, res: Resource) -> dict | None:
        """The stored CRD that serves `res` (its printer columns drive `kubectl get`)."""
        return self.store.get("customresourcedefinitions.apiextensions.k8s.io", None, res.key)

    def apply_objects(self, objects: list[dict]) -> None:
        """Create (or replace) objects as a scenario declares them, namespaces first."""
        from arc_top.sandbox.resources import resource_for
        ordered = sorted(objects, key=lambda o: 0 if o.get("kind") == "Namespace" else 1)
        for obj in ordered:
            res = resource_for(obj.get("apiVersion", ""), obj.get("kind", ""))
            if res is None:
                raise ValueError(f"unknown kind {obj.get('apiVersion')}/{obj.get('kind')}")
            meta = obj.get("metadata", {})
            existing = self.store.get(res.key, meta.get("namespace"), meta.get("name", ""))
            if existing is None:
                self.store.create(res, obj)
            else:
                obj = copy.deepcopy(obj)
                obj["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
                self.store.update(res, obj)
                if "status" in obj and "status" in res.subresources:
                    self.store.update(res, dict(obj, metadata=dict(
                        obj["metadata"], resourceVersion=None)), subresource="status", require_rv=False)

    # ---- events -------------------------------------------------------------------------
    def record_event(self, obj: dict, type_: str, reason: str, message: str,
                     component: str = "arc-sandbox", namespace: str | None = None) -> dict | None:
        """Create an Event or bump the count of the same one, as the kubelet/controllers' recorder does."""
        meta = obj["metadata"]
        ns = namespace or meta.get("namespace") or "default"
        if self.store.get("namespaces", None, ns) is None:
            return None
        digest = hashlib.sha1(f"{meta.get('uid')}/{reason}/{message}".encode()).hexdigest()[:16]
        name = f"{meta['name'][:200]}.{digest}"
        stamp = now_rfc3339()
        existing = self.store.get("events", ns, name)
        if existing is not None:
            def bump(ev: dict) -> None:
                ev["count"] = int(ev.get("count") or 1) + 1
                ev["lastTimestamp"] = stamp
            return self.store.mutate(lookup("events"), ns, name, bump)
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": {"kind": obj.get("kind"), "namespace": meta.get("namespace"),
                               "name": meta["name"], "uid": meta.get("uid"),
                               "apiVersion": obj.get("apiVersion"),
                               "resourceVersion": meta.get("resourceVersion")},
            "reason": reason, "message": message, "type": type_,
            "source": {"component": component},
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
            "reportingComponent": component, "reportingInstance": "",
        }
        return self.store.create(lookup("events"), event)

    # ---- fault injection -------------------------------------------------------------------
    def restart(self, down_seconds: float = 1.0) -> None:
        """As if the API server restarted: every connection and watch drops; state survives."""
        self.store.close_watchers()
        for hook in self.restart_hooks:
            hook(down_seconds)

    def compact(self) -> int:
        return self.store.compact()

    def authenticate(self, token: str | None) -> UserInfo | None:
        if not token:
            return None
        return self.tokens.get(token)

    def wait(self, predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.05) -> bool:
        """Poll `predicate` until true (tests and the CLI use it; the cluster itself never blocks)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return True
            time.sleep(step)
        return predicate()


_CREATED_PHASE = {"pods": "Pending", "persistentvolumeclaims": "Pending", "persistentvolumes": "Pending",
                  "namespaces": "Active"}


def _status_defaults(key: str, obj: dict) -> None:
    """The status the API server gives what it creates: a pod is Pending (with its QoS class) before any
    scheduler or kubelet sees it, a claim or volume Pending, a namespace Active. A status already there (a
    replayed dump) is kept."""
    phase = _CREATED_PHASE.get(key)
    status = obj.setdefault("status", {}) if phase else None
    if not isinstance(status, dict) or status.get("phase"):
        return
    status["phase"] = phase
    if key == "pods" and isinstance(obj.get("spec"), dict):
        status.setdefault("qosClass", qos_class(obj["spec"]))


def qos_class(spec: dict) -> str:
    """The pod's QoS class: BestEffort when no container asks for or limits anything, Guaranteed when every
    container has limits and its requests (when given) equal them, else Burstable."""
    resources = [c.get("resources") or {} for c in spec.get("containers") or () if isinstance(c, dict)]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(r.get("limits") and r.get("requests", r["limits"]) == r["limits"] for r in resources)
    return "Guaranteed" if guaranteed else "Burstable"


def _secret_defaults(obj: dict) -> None:
    """What the API server does to every Secret it stores: `type` defaults to Opaque, and `stringData` is
    folded into `data` (base64, overriding keys of the same name) and never stored or returned."""
    if not obj.get("type"):
        obj["type"] = "Opaque"
    string_data = obj.get("stringData")
    if isinstance(string_data, dict):
        data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
        for key, value in string_data.items():
            if isinstance(value, str):
                data[key] = base64.b64encode(value.encode()).decode()
        obj["data"] = data
        if all(isinstance(v, str) for v in string_data.values()):
            del obj["stringData"]


__all__ = ["Cluster", "errors"]

"""Events as the kubelet, scheduler, provisioners and ARC record them, plus the apiserver's event TTL.

A churning sandbox makes thousands of events an hour; a real cluster expires them after an hour
(`--event-ttl`). The recorder does the same and also caps how many it keeps, so memory stays flat.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque

from arc_top.sandbox.errors import ApiError

EVENT_TTL = 3600.0
MAX_EVENTS = 20_000


class Recorder:
    def __init__(self, cluster):
        self.cluster = cluster
        self._made: deque[tuple[float, str, str]] = deque()  # (created, namespace, name)

    def record(self, obj: dict, type_: str, reason: str, message: str, component: str) -> None:
        event = self.cluster.record_event(obj, type_, reason, message, component=component)
        if event is not None and int(event.get("count") or 1) == 1:
            self._made.append((time.monotonic(), event["metadata"]["namespace"], event["metadata"]["name"]))

    def normal(self, obj: dict, reason: str, message: str, component: str) -> None:
        self.record(obj, "Normal", reason, message, component)

    def warning(self, obj: dict, reason: str, message: str, component: str) -> None:
        self.record(obj, "Warning", reason, message, component)

    def collect(self) -> None:
        """Delete events past their TTL, or the oldest beyond the cap."""
        limit = time.monotonic() - EVENT_TTL
        while self._made and (self._made[0][0] < limit or len(self._made) > MAX_EVENTS):
            _, ns, name = self._made.popleft()
            try:
                self.cluster.delete("events", ns, name)
            except ApiError:
                pass


class ManagerLog:
    """Lines in the controller pod's `manager` log, in controller-runtime's console format."""

    PART_OF = ("gha-rs-controller", "gha-runner-scale-set-controller")

    def __init__(self, cluster):
        self.cluster = cluster
        self._pod: tuple[str, str] | None = None
        self._image = ""
        self._looked = 0.0

    def _find(self) -> tuple[str, str] | None:
        if self._pod is not None and self.cluster.get("pods", *self._pod) is not None:
            return self._pod
        if time.monotonic() - self._looked < 5.0:
            return None
        self._looked = time.monotonic()
        self._pod = None
        for pod in self.cluster.list(
            "pods",
            match=lambda p: (
                (p["metadata"].get("labels") or {}).get("app.kubernetes.io/part-of") in self.PART_OF
            ),
        ):
            self._pod = (pod["metadata"]["namespace"], pod["metadata"]["name"])
            self._image = next((c.get("image", "") for c in pod["spec"].get("containers") or ()), "")
        return self._pod

    @property
    def namespace(self) -> str:
        found = self._find()
        return found[0] if found else "arc-systems"

    @property
    def image(self) -> str:
        self._find()
        return self._image

    def write(self, level: str, logger: str, message: str, **fields: object) -> None:
        found = self._find()
        if found is None:
            return
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        extra = ("\t" + json.dumps(fields, separators=(", ", ": "))) if fields else ""
        self.cluster.logs.write(
            found[0], found[1], "manager", f"{stamp}\t{level}\t{logger}\t{message}{extra}"
        )

    def reconciler_error(self, kind: str, namespace: str, name: str, error: str) -> None:
        """controller-runtime's line after a reconcile that returned an error (it then requeues with back-off)."""
        ref = json.dumps({"name": name, "namespace": namespace}, separators=(",", ":"))
        fields = (f'{{"controller": {json.dumps(kind.lower())}, "controllerGroup": "actions.github.com", '
                  f'"controllerKind": {json.dumps(kind)}, {json.dumps(kind)}: {ref}, '
                  f'"namespace": {json.dumps(namespace)}, "name": {json.dumps(name)}, '
                  f'"reconcileID": {json.dumps(str(uuid.uuid4()))}, "error": {json.dumps(error)}}}')
        found = self._find()
        if found is None:
            return
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.cluster.logs.write(found[0], found[1], "manager", f"{stamp}\tERROR\tReconciler error\t{fields}")

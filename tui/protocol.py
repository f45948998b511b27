"""What the UI needs from the monitor, as Protocols: tests feed a fake with hand-made model objects,
and nothing here imports the Kubernetes client (the first frame paints before it is loaded)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from arc_top.kube.model import ChangeSet, Snapshot


class ConnectionLike(Protocol):
    """kube.config.Connection: where we are looking."""
    context: str
    server: str
    user: str
    namespaces: Sequence[str] | None     # empty or None: all namespaces


class ArcInfoLike(Protocol):
    """kube ArcInfo: what was discovered about the ARC installation (any field may be missing)."""
    arc_version: str
    chart_version: str
    legacy_summerwind: bool
    controller_namespaces: Sequence[str]


@runtime_checkable
class MonitorLike(Protocol):
    """kube.monitor.Monitor as the UI uses it. `on_change` (given to the factory) is called from watch
    threads at most once per dirty cycle; the UI then drains on its own timer."""
    info: Any

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def snapshot(self) -> Snapshot: ...
    def drain(self) -> ChangeSet: ...


# Called on a worker thread (it may read kubeconfig and import the client): on_change -> monitor.
MonitorFactory = Callable[[Callable[[], None]], MonitorLike]


def connection_of(monitor: object) -> ConnectionLike | None:
    """The monitor's connection description: `conn` (kube.monitor.Monitor) or `connection`."""
    for name in ("conn", "connection"):
        value = getattr(monitor, name, None)
        if value is not None:
            return value
    return None

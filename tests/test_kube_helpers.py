"""Helpers shared by the kube tests (no tests here; the name follows the test_kube_* file convention): the
server's truth for what a Monitor watches, and holding the simulation still to compare with it (waiting is
tests.waiting's)."""

from __future__ import annotations

from contextlib import AbstractContextManager

from arc_top.kube import apis
from arc_top.kube.projections import project
from tests.waiting import wait_for


def server_uids(monitor) -> dict[str, set[str]]:
    """kind → uids, listed directly through the official client with each watcher's own scope and selectors."""
    out: dict[str, set[str]] = {}
    for w in list(monitor.watchers):
        spec = w.spec
        try:
            doc = apis.list_raw(monitor.conn.api_client, spec.resource, spec.namespace, spec.label_selector,
                                spec.field_selector)
        except Exception as exc:
            if getattr(exc, "status", None) == 403:
                out.setdefault(w.kind, set())
                continue
            raise
        uids = out.setdefault(w.kind, set())
        for item in doc.get("items") or []:
            obj = project(w.kind, item, spec.resource.kind)
            if spec.accept is None or spec.accept(obj):
                uids.add(item["metadata"]["uid"])
    return out


def differences(monitor) -> dict[str, tuple[set[str], set[str]]]:
    """kind → (ghosts: in the snapshot only, missing: on the server only); empty when they agree."""
    server = server_uids(monitor)
    snap = monitor.snapshot()
    out = {}
    for kind, uids in server.items():
        mine = set(snap.of(kind))
        if mine != uids:
            out[kind] = (mine - uids, uids - mine)
    return out


def converges(monitor, timeout: float = 30.0) -> dict:
    """Poll until the snapshot equals the server for every watched kind (the simulation keeps changing
    things, so both sides are compared again until they agree); returns the last differences ({} once they
    agree), for the caller's assertion to show."""
    last: dict = {}

    def agree() -> bool:
        last.clear()
        last.update(differences(monitor))
        return not last

    try:
        wait_for(agree, timeout, step=0.1, what="the monitor to equal the server")
    except AssertionError:
        pass
    return last


def frozen(sandbox) -> AbstractContextManager:
    """Pause the simulation (controller, kubelet, churn, log writers; a pass in progress finishes first) so the
    cluster stops changing and a snapshot can be compared with the server exactly. The API keeps serving."""
    return sandbox.paused()

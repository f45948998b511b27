"""The monitor end to end on a live sandbox: the real kube Monitor over HTTPS feeding the real screen."""

from __future__ import annotations

import time

import pytest
from kubernetes import client

from kube.config import connect
from kube.monitor import Monitor
from tests.conftest import api_client
from tui.app import ArcTopApp

NS = "arc-runners"


async def until(pilot, predicate, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met in time")


@pytest.mark.asyncio
async def test_pod_lifecycle_and_restart_show_on_screen(healthy):
    core = client.CoreV1Api(api_client(healthy))
    conn = connect(healthy.kubeconfig_path, all_namespaces=True)
    app = ArcTopApp(lambda on_change: Monitor(conn, on_change))
    async with app.run_test(size=(160, 48)) as pilot:
        runners = app.screen.query_one("#runners-table")
        await until(pilot, lambda: app.monitor is not None and app.monitor.synced() and runners.total_count > 0)
        # A finalizer keeps the deleted pod around as "Terminating": a change the simulated kubelet
        # does not overwrite (it rewrites phase and conditions of pods it runs).
        pod = core.create_namespaced_pod(NS, {
            "metadata": {"name": "arc-top-live-probe", "finalizers": ["arc-top.test/hold"], "labels": {
                "app.kubernetes.io/component": "runner", "actions.github.com/scale-set-name": "arc-runner-set",
                "actions.github.com/scale-set-namespace": NS}},
            "spec": {"containers": [{"name": "runner", "image": "ghcr.io/actions/actions-runner:latest"}]}})
        uid = pod.metadata.uid
        await until(pilot, lambda: runners.has_row(uid))
        assert "arc-top-live-probe" in runners.row_text(uid)
        assert "Terminating" not in runners.row_text(uid)
        core.delete_namespaced_pod("arc-top-live-probe", NS)
        await until(pilot, lambda: "Terminating" in runners.row_text(uid))
        core.patch_namespaced_pod("arc-top-live-probe", NS, {"metadata": {"finalizers": None}})
        await until(pilot, lambda: not runners.has_row(uid))

        header = lambda: str(app.screen.query_one("#header").render())  # noqa: E731
        healthy.cluster.restart(down_seconds=1.5)
        await until(pilot, lambda: "reconnecting" in header(), timeout=10)
        await until(pilot, lambda: "live" in header() and "reconnecting" not in header(), timeout=20)
        await pilot.press("q")

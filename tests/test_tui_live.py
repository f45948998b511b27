"""The monitor end to end on a live sandbox: the real kube Monitor over HTTPS feeding the real screen."""

from __future__ import annotations

import pytest
from kubernetes import client

from arc_top.kube.config import connect
from arc_top.kube.monitor import Monitor
from arc_top.tui.app import ArcTopApp
from tests.conftest import api_client
from tests.waiting import until

NS = "arc-runners"


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
        await until(pilot, lambda: "reconnecting" in header())
        await until(pilot, lambda: "live" in header() and "reconnecting" not in header(), timeout=20)
        await pilot.press("q")


def _server_runner_roots(healthy) -> set[str]:
    """What the Runners panel must show as top rows: every EphemeralRunner, and runner pods without one."""
    store = healthy.cluster
    runners = store.list("ephemeralrunners")
    names = {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in runners}
    roots = {r["metadata"]["uid"] for r in runners}
    for pod in store.list("pods"):
        meta = pod["metadata"]
        if (meta.get("labels") or {}).get("app.kubernetes.io/component") == "runner" and \
                (meta["namespace"], meta["name"]) not in names:
            roots.add(meta["uid"])
    return roots


def _shown_roots(table) -> set[str]:
    """The runner entries the panel shows: the rows under a scale set's row (tui/rows/runners.py groups them)."""
    return {key for key, row in table._rows.items() if row.parent is not None and row.parent.startswith("rg-")}


@pytest.mark.asyncio
async def test_a_410_while_running_relists_without_ghost_or_missing_rows(healthy):
    """The watches drop (API restart), an object is deleted meanwhile and history is compacted: the watches
    come back to a 410 Gone, re-list, and the panels then hold exactly what the server holds."""
    conn = connect(healthy.kubeconfig_path, all_namespaces=True)
    app = ArcTopApp(lambda on_change: Monitor(conn, on_change))
    core = client.CoreV1Api(api_client(healthy))
    async with app.run_test(size=(160, 48)) as pilot:
        runners = app.screen.query_one("#runners-table")
        volumes = app.screen.query_one("#volumes-table")
        await until(pilot, lambda: app.monitor is not None and app.monitor.synced() and runners.total_count > 0)
        with healthy.paused():                         # no churn: the server's content holds still
            core.create_namespaced_pod(NS, {
                "metadata": {"name": "arc-top-ghost", "labels": {
                    "app.kubernetes.io/component": "runner", "actions.github.com/scale-set-name": "arc-runner-set",
                    "actions.github.com/scale-set-namespace": NS}},
                "spec": {"containers": [{"name": "runner", "image": "ghcr.io/actions/actions-runner:latest"}]}})
            ghost = healthy.cluster.get("pods", NS, "arc-top-ghost")["metadata"]["uid"]
            await until(pilot, lambda: runners.has_row(ghost))
            pods = [w for w in app.monitor.watchers if w.kind == "pods"]
            lists = [w.lists for w in pods]
            healthy.cluster.restart(down_seconds=1.5)  # every watch drops…
            healthy.cluster.delete("pods", NS, "arc-top-ghost")   # …this DELETED is never delivered…
            healthy.cluster.compact()                  # …and their resourceVersions are now too old: 410
            await until(pilot, lambda: not runners.has_row(ghost), timeout=30)
            await until(pilot, lambda: _shown_roots(runners) == _server_runner_roots(healthy))
            assert set(volumes._rows) == {v["metadata"]["uid"] for v in healthy.cluster.list("persistentvolumeclaims")}
            header = lambda: str(app.screen.query_one("#header").render())  # noqa: E731
            await until(pilot, lambda: "live" in header() and "reconnecting" not in header(), timeout=20)
            assert _shown_roots(runners) == _server_runner_roots(healthy)
            # The pods watcher holding the ghost re-listed (its DELETED was compacted away: only a re-list removes it).
            assert any(w.lists > n for w, n in zip(pods, lists, strict=True)), "no re-list after the 410"
        await pilot.press("q")


@pytest.mark.asyncio
async def test_a_read_only_token_without_secrets_access_shows_everything_else(healthy):
    conn = connect(healthy.kubeconfig_path, context="arc-sandbox-viewer", all_namespaces=True)
    app = ArcTopApp(lambda on_change: Monitor(conn, on_change))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        runners = screen.query_one("#runners-table")
        scalesets = screen.query_one("#scalesets-table")
        await until(pilot, lambda: app.monitor is not None and runners.total_count > 0 and scalesets.total_count > 0)
        header = lambda: str(screen.query_one("#header").render())  # noqa: E731
        await until(pilot, lambda: "no access" in header() and "secrets" in header())
        assert scalesets.total_count == len(healthy.cluster.list("autoscalingrunnersets"))
        assert "arc-runner-set" in " ".join(scalesets.row_text(k) for k in scalesets._rows)
        assert "live" in header()
        await pilot.press("q")

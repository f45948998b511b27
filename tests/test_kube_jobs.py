"""The listeners' job figures (kube/jobs.py): the statistics-line and Prometheus parsers on real-format and hostile
input, and the reader against the sandbox's `jobs-waiting` scenario: metrics through the pod proxy (admin), the
log's statistics lines when metrics are off (arc-logs) or `pods/proxy` is denied (viewer: the view ClusterRole),
nothing with a reason when `pods/log` is denied too (lister); and ARC408 naming ARC501, live and headless."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from arc_top.kube import jobs
from arc_top.kube.jobs import parse_metrics, parse_statistics, quantile, statistics_in, waiting_since
from tests.waiting import wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATS = {"totalAvailableJobs": 1, "totalAcquiredJobs": 2, "totalAssignedJobs": 5, "totalRunningJobs": 2,
         "totalRegisteredRunners": 3, "totalBusyRunners": 2, "totalIdleRunners": 1}
FIGS = {"available": 1, "acquired": 2, "assigned": 5, "running": 2, "registered": 3, "busy": 2, "idle": 1}


def test_the_listener_pods_are_found_again_only_when_the_pods_changed(monkeypatch):
    """An idle cluster's pods are not walked at every read (a snapshot shares its pods map until a pod changes);
    a changed map is walked: a listener pod gone is seen gone."""
    from arc_top.kube.model import PODS, SCALE_SETS, Snapshot
    from tests.tui_fixtures import listener_for, live_kinds, scale_set

    ss = scale_set("arc-runners", "arc-runner-set")
    _, listener_pod = listener_for(ss, "754b578d")
    with_listener = Snapshot({SCALE_SETS: {ss.uid: ss}, PODS: {listener_pod.uid: listener_pod}}, live_kinds(), 1)
    walks = []
    walk = jobs._listener_pods
    monkeypatch.setattr(jobs, "_listener_pods", lambda snapshot: walks.append(1) or walk(snapshot))
    reader = jobs.JobsReader(None, max_pods=0)          # (no listener read is due: no request at all)
    key = (ss.namespace, ss.name)
    assert key not in reader.read(with_listener) and len(walks) == 1
    again = Snapshot(dict(with_listener.objects), live_kinds(), 2)      # a new snapshot, the same pods map
    assert key not in reader.read(again) and len(walks) == 1
    gone = Snapshot({SCALE_SETS: {ss.uid: ss}, PODS: {}}, live_kinds(), 3)
    assert reader.read(gone)[key].why == "no running listener pod" and len(walks) == 2


# ---- the statistics lines -----------------------------------------------------------------------------------
def test_arc_0_13_zap_console_lines_new_and_current_statistics():
    # ARC <= 0.13, log_format text: zap's console encoder, the per-message line (an object) and the session's
    # (a JSON string: the listener marshals it itself).
    new = ("2025-05-16T08:38:49Z\tINFO\tlistener-app.listener\tNew runner scale set statistics.\t"
           + json.dumps({"statistics": STATS}))
    current = ("2025-05-16T08:38:40Z\tINFO\tlistener-app.listener\tCurrent runner scale set statistics.\t"
               + json.dumps({"statistics": json.dumps(STATS, separators=(",", ":"))}))
    got = parse_statistics(new)
    assert got is not None and dict(got.figures) == FIGS and got.at == 1747384729.0
    assert dict(parse_statistics(current).figures) == FIGS and parse_statistics(current).at == 1747384720.0


def test_zap_json_lines_and_slog_text_lines():
    zap_json = json.dumps({"severity": "info", "ts": "2025-05-16T08:38:49Z", "logger": "listener-app.listener",
                           "message": "New runner scale set statistics.", "statistics": STATS})
    assert dict(parse_statistics(zap_json).figures) == FIGS
    slog = ('time=2025-05-16T08:38:49.250Z level=INFO msg="New runner scale set statistics." component=listener '
            f"statistics={json.dumps(STATS, separators=(',', ':'))}")
    got = parse_statistics(slog)
    assert dict(got.figures) == FIGS and got.at == pytest.approx(1747384729.25)
    # ARC 0.14 (actions/scaleset): only the assigned jobs, at session start.
    initial = 'time=2025-05-16T08:38:49Z level=INFO msg="Handling initial session statistics" totalAssignedJobs=7'
    assert dict(parse_statistics(initial).figures) == {"assigned": 7}


def test_other_lines_and_hostile_input_are_no_statistics():
    hostile = [
        "", "statistics", "[red]statistics[/red]", "\x1b[31mNew runner scale set statistics.\x1b[0m",
        '2025-05-16T08:38:49Z\tINFO\tlistener-app.listener\tNew runner scale set statistics.\t{"statistics": ',
        '2025-05-16T08:38:49Z\tINFO\tlistener-app.listener\tNew runner scale set statistics.\t[1,2]',
        'time=x level=INFO msg="New runner scale set statistics." statistics=not-json',
        'time=x level=INFO msg="Getting next message" statistics={"totalAssignedJobs": 3}',
        '{"message": "New runner scale set statistics.", "statistics": "{broken"}',
        '{"message": "Processing message", "statistics": {"totalAssignedJobs": 3}}',
        "{" * 10000 + "statistics",
    ]
    for line in hostile:
        assert parse_statistics(line) is None, line
    assert parse_statistics(None) is None                        # type: ignore[arg-type]
    # Wrong types, negatives, booleans and absurd values are left out; the rest of the line still counts.
    odd = {"totalAssignedJobs": "5", "totalRunningJobs": -1, "totalIdleRunners": True, "totalBusyRunners": 10**12,
           "totalRegisteredRunners": 2, "totalAvailableJobs": 1.5}
    got = parse_statistics('time=2025-05-16T08:38:49Z level=INFO msg="New runner scale set statistics." '
                           f"statistics={json.dumps(odd)}")
    assert dict(got.figures) == {"registered": 2}


def test_statistics_in_a_timestamped_log_and_since_when_jobs_wait():
    def line(stamp: str, assigned: int, running: int) -> str:
        stats = {**STATS, "totalAssignedJobs": assigned, "totalRunningJobs": running}
        return (f"{stamp} time={stamp} level=INFO msg=\"New runner scale set statistics.\" component=listener "
                f"statistics={json.dumps(stats, separators=(',', ':'))}")
    log = [line("2025-05-16T08:00:00Z", 1, 1), "2025-05-16T08:00:01Z time=… msg=\"Getting next message\"",
           line("2025-05-16T08:00:10Z", 2, 1), line("2025-05-16T08:00:20Z", 3, 1), "garbage \x1b[2J"]
    stats = statistics_in(log)
    assert [s.figures["assigned"] for s in stats] == [1, 2, 3]
    base = 1747382400.0
    assert waiting_since(stats) == base + 10                     # the run of waiting lines began at 08:00:10
    assert waiting_since(stats[:1]) is None                      # all running: none waiting
    assert waiting_since([]) is None
    # A later read of the same tail, a line on: the lines read before are looked up, only the new one parsed.
    known: dict = {}
    assert statistics_in(log, known) == stats and set(known) == set(log)
    marked = jobs.Statistics(1.0, {"assigned": 99})
    known[log[0]] = marked                       # (what the first line parsed to, as the lookup returns it)
    later = statistics_in(log[1:] + [line("2025-05-16T08:00:30Z", 4, 1)], known)
    assert [s.figures["assigned"] for s in later] == [2, 3, 4]
    assert statistics_in(log, known)[0] is marked


# ---- the metrics --------------------------------------------------------------------------------------------
def _metrics_text(startups: list[float], other_set: bool = False) -> str:
    """Prometheus text with ARC's metric names, labels and types (rendered by prometheus_client)."""
    reg = CollectorRegistry()
    labels = ("name", "namespace", "enterprise", "organization", "repository")
    for metric, value in (("gha_assigned_jobs", 4), ("gha_running_jobs", 1), ("gha_registered_runners", 2),
                          ("gha_busy_runners", 1), ("gha_idle_runners", 1), ("gha_desired_runners", 5)):
        g = Gauge(metric, "h", labels, registry=reg)
        g.labels("set-a", "ns", "", "org", "").set(value)
        if other_set:
            g.labels("set-b", "ns", "", "org", "").set(99)
    job = ("enterprise", "organization", "repository", "job_name", "event_name")
    Counter("gha_started_jobs", "h", job, registry=reg).labels("", "org", "r", "build", "push").inc(3)
    Counter("gha_completed_jobs", "h", job, registry=reg).labels("", "org", "r", "build", "push").inc(2)
    h = Histogram("gha_job_startup_duration_seconds", "h", job, buckets=(1, 5, 10, 30, 60), registry=reg)
    for i, s in enumerate(startups):
        h.labels("", "org", "r", f"job{i % 2}", "push").observe(s)
    return generate_latest(reg).decode()


def test_metrics_of_arc_names_labels_and_the_startup_quantiles():
    text = _metrics_text([2, 3, 4, 4, 8, 8, 9, 20, 20, 50], other_set=True)
    got = parse_metrics(text, "ns", "set-a")
    assert {k: got[k] for k in ("assigned", "running", "registered", "busy", "idle", "desired")} == {
        "assigned": 4, "running": 1, "registered": 2, "busy": 1, "idle": 1, "desired": 5}   # set-b left out
    assert got["started_total"] == 3 and got["completed_total"] == 2 and got["startup_count"] == 10
    # 10 observations: ≤5 → 4, ≤10 → 7, ≤30 → 9, ≤60 → 10. p50 (rank 5) lies in (5, 10]: 5 + 5·1/3; p95 (9.5)
    # in (30, 60]: 30 + 30·0.5.
    assert got["startup_p50"] == pytest.approx(5 + 5 / 3)
    assert got["startup_p95"] == pytest.approx(45.0)
    assert "startup_p50" not in parse_metrics(_metrics_text([]), "ns", "set-a")   # no observations yet


def test_quantile_edges():
    assert quantile(0.5, {}) is None
    assert quantile(0.5, {1.0: 0, math.inf: 0}) is None
    assert quantile(0.5, {1.0: 0, 2.0: 0, math.inf: 4}) == 2.0      # all above the last bound: that bound
    assert quantile(0.5, {1.0: 4, math.inf: 4}) == 0.5
    assert quantile(0.5, {1.0: 4}) is None                          # no +Inf bucket: not a histogram


def test_hostile_metrics_text():
    with pytest.raises(ValueError):
        parse_metrics("gha_assigned_jobs{name=\"x\" 3\n")
    with pytest.raises(ValueError, match="no ARC listener metric"):
        parse_metrics("\x00\x01 not prometheus at all {{{")
    with pytest.raises(ValueError, match="no ARC listener metric"):
        parse_metrics("# HELP go_goroutines x\n# TYPE go_goroutines gauge\ngo_goroutines 12\n")
    got = parse_metrics('gha_assigned_jobs{name="[red]x[/red]"} NaN\ngha_running_jobs -3\ngha_idle_runners +Inf\n'
                        'gha_busy_runners 2\n')
    assert got == {"busy": 2}


# ---- against the sandbox ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def jobs_sandbox(tmp_path_factory):
    from arc_top.sandbox.run import start_sandbox

    sb = start_sandbox("jobs-waiting", kubeconfig_path=str(tmp_path_factory.mktemp("kc") / "config"), speed=4.0)
    yield sb
    sb.stop()


def _monitor(sb, user: str):
    from arc_top.kube.config import connect
    from arc_top.kube.monitor import Monitor

    context = "arc-sandbox" if user == "admin" else f"arc-sandbox-{user}"
    m = Monitor(connect(sb.kubeconfig_path, context=context, all_namespaces=True))
    m.start()
    assert m.wait_synced(30)
    return m


def _figures(sb, user: str, want, what: str):
    m = _monitor(sb, user)
    try:
        reader = jobs.JobsReader(m.conn.api_client, interval=0.0, histogram_interval=0.0)
        return wait_for(lambda: (lambda f: f if want(f) else None)(reader.read(m.snapshot())), timeout=60, step=0.5,
                        what=what), m.snapshot()
    finally:
        m.stop()


KEY_M, KEY_L, KEY_H = ("arc-runners", "arc-metrics"), ("arc-runners", "arc-logs"), ("arc-runners", "arc-healthy")


def _listener_pods(sb) -> dict[str, str]:
    return {(p["metadata"].get("labels") or {}).get("actions.github.com/scale-set-name"): p["metadata"]["name"]
            for p in sb.cluster.list("pods", "arc-systems")
            if (p["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == "runner-scale-set-listener"}


def test_real_kubectl_reads_the_metrics_through_the_pod_proxy(jobs_sandbox, tmp_path):
    from tests.conftest import Kubectl

    kubectl = Kubectl(jobs_sandbox, str(tmp_path / "cache"))
    pods = wait_for(lambda: (lambda p: p if {"arc-metrics", "arc-logs"} <= set(p) else None)(
        _listener_pods(jobs_sandbox)), what="the listener pods")
    path = f"/api/v1/namespaces/arc-systems/pods/{pods['arc-metrics']}:8080/proxy/metrics"
    text = wait_for(lambda: (lambda r: r.stdout if r.returncode == 0 else None)(
        kubectl("get", "--raw", path, check=False)), what="the metrics through the proxy")
    assert "# TYPE gha_assigned_jobs gauge" in text and 'name="arc-metrics"' in text
    assert "gha_job_startup_duration_seconds_bucket" in text or "# TYPE gha_job_startup_duration_seconds" in text
    assert parse_metrics(text, "arc-runners", "arc-metrics")["assigned"] >= 0
    denied = kubectl("get", "--raw", path, context="arc-sandbox-viewer", check=False)
    assert denied.returncode != 0 and "Forbidden" in denied.stderr and "pods/proxy" in denied.stderr
    off = kubectl("get", "--raw", f"/api/v1/namespaces/arc-systems/pods/{pods['arc-logs']}:8080/proxy/metrics",
                  check=False)
    assert off.returncode != 0 and "ServiceUnavailable" in off.stderr and "connection refused" in off.stderr
    missing = kubectl("get", "--raw", "/api/v1/namespaces/arc-systems/pods/no-such-pod:8080/proxy/metrics",
                      check=False)
    assert missing.returncode != 0 and "NotFound" in missing.stderr


def test_the_reader_keeps_its_budget(jobs_sandbox):
    m = _monitor(jobs_sandbox, "admin")
    try:
        wait_for(lambda: len(jobs._listener_pods(m.snapshot())) >= 3, what="three running listener pods")
        reader = jobs.JobsReader(m.conn.api_client, max_pods=1, interval=3600)
        read = [sum(1 for f in reader.read(m.snapshot()).values() if f.read_at) for _ in range(3)]
        assert read == [1, 2, 3]                          # one listener more per call
        before = reader.requests
        reader.read(m.snapshot())
        assert reader.requests == before                  # each read again only after `interval`
        assert before <= 3 * 2                            # at most the metrics and the log per listener
    finally:
        m.stop()


def test_read_since_is_true_once_every_listener_was_read_again(jobs_sandbox):
    import time

    m = _monitor(jobs_sandbox, "admin")
    try:
        wait_for(lambda: len(jobs._listener_pods(m.snapshot())) >= 3, what="three running listener pods")
        reader = jobs.JobsReader(m.conn.api_client, max_pods=1, interval=0.0, histogram_interval=3600)
        with jobs_sandbox.paused():
            snapshot = m.snapshot()
            listened = set(jobs._listener_pods(snapshot)) & {(o.namespace, o.name)
                                                             for o in snapshot.of("scalesets").values()}
            assert len(listened) >= 3
            for _ in listened:              # one listener a call, the least recently read first
                reader.read(snapshot)
            since = time.monotonic()
            assert reader.read_since(float("-inf")) and not reader.read_since(since)
            for _ in range(len(listened) - 1):
                reader.read(snapshot)
                assert not reader.read_since(since)     # one left that was read only before `since`
            reader.read(snapshot)
            assert reader.read_since(since)
    finally:
        m.stop()


def test_a_quiet_listener_is_read_less_often_until_its_scale_set_changes(jobs_sandbox):
    from kubernetes import client

    m = _monitor(jobs_sandbox, "admin")
    try:
        wait_for(lambda: len(jobs._listener_pods(m.snapshot())) >= 3, what="three running listener pods")
        reader = jobs.JobsReader(m.conn.api_client, interval=0.0, quiet_interval=3600, quiet_after=1,
                                 histogram_interval=3600)
        with jobs_sandbox.paused():
            snapshot = m.snapshot()
            listened = set(jobs._listener_pods(snapshot))
            reader.read(snapshot)
            first = reader.requests
            reader.read(snapshot)           # the same figures again: every listener is quiet now…
            assert reader.requests > first
            again = reader.requests
            reader.read(snapshot)           # …so none is read before `quiet_interval`
            assert reader.requests == again
            # A scale set that changes (its runners come and go with its status) is read at `interval` again.
            key = sorted(listened)[0]
            old = next(o for o in snapshot.of("scalesets").values() if (o.namespace, o.name) == key)
            client.CustomObjectsApi(m.conn.api_client).patch_namespaced_custom_object(
                "actions.github.com", "v1alpha1", key[0], "autoscalingrunnersets", key[1],
                {"metadata": {"annotations": {"arc-top.test/poke": "1"}}})
            changed = wait_for(lambda: (lambda s: s if next(o for o in s.of("scalesets").values()
                                                           if (o.namespace, o.name) == key) is not old else None)(
                m.snapshot()), what="the patched scale set in the snapshot")
            read_at = {k: f.read_at for k, f in reader.figures().items()}
            reader.read(changed)
            assert reader.requests > again
            moved = {k for k, f in reader.figures().items() if f.read_at != read_at.get(k)}
            assert moved <= {key}
    finally:
        m.stop()


def test_admin_reads_metrics_where_enabled_and_the_log_where_not(jobs_sandbox):
    figs, _ = _figures(jobs_sandbox, "admin", lambda f: f.get(KEY_M) and (f[KEY_M].waiting or 0) > 0
                       and f.get(KEY_L) and f[KEY_L].source == "log" and (f[KEY_L].waiting or 0) > 0
                       and f.get(KEY_H) and f[KEY_H].startup_p50 is not None,
                       "jobs waiting on the broken sets, start-up latencies on the healthy one")
    m, lg, h = figs[KEY_M], figs[KEY_L], figs[KEY_H]
    assert m.source == "metrics" and m.why == "" and m.idle == 0 and m.desired is not None
    assert m.waiting_since is not None and m.waiting_since <= m.read_at
    assert lg.source == "log" and "metrics off" in lg.why and lg.idle == 0 and lg.waiting_since is not None
    assert h.source == "metrics" and h.startup_count >= 1 and 0 <= h.startup_p50 <= h.startup_p95
    assert h.started_total >= 1


def test_without_pods_proxy_the_log_answers_and_says_why(jobs_sandbox):
    figs, _ = _figures(jobs_sandbox, "viewer", lambda f: f.get(KEY_M) and f[KEY_M].source, "figures as viewer")
    m = figs[KEY_M]
    assert m.source == "log" and "no pods/proxy right in arc-systems" in m.why
    assert (m.waiting or 0) > 0 and m.startup_p50 is None


def test_without_pods_log_either_there_is_no_figure_and_the_reason(jobs_sandbox):
    figs, _ = _figures(jobs_sandbox, "lister", lambda f: f.get(KEY_M) and f[KEY_M].why and f.get(KEY_L)
                       and f[KEY_L].why, "reasons as lister")
    m, lg = figs[KEY_M], figs[KEY_L]
    assert m.source == "" and m.waiting is None
    assert "no pods/proxy right" in m.why and "no pods/log right" in m.why
    assert lg.source == "" and "metrics off" in lg.why and "no pods/log right" in lg.why


def test_jobs_waiting_behind_arc501_make_arc408_naming_it(jobs_sandbox):
    from arc_top import checks

    figs, snapshot = _figures(jobs_sandbox, "admin", lambda f: f.get(KEY_M) and f[KEY_M].waiting_since and
                              f.get(KEY_L) and f[KEY_L].waiting_since, "jobs waiting")
    since = max(figs[KEY_M].waiting_since, figs[KEY_L].waiting_since)
    broken = {k: figs[k] for k in (KEY_M, KEY_L)}     # (the healthy set's jobs may wait a moment for a runner too)
    # Not yet: waited less than jobs_wait.
    early = checks.run(snapshot, now=since + 1, jobs=broken, jobs_wait=60)
    assert not [f for f in early if f.code == "ARC408"]
    found = checks.run(snapshot, now=since + 61, jobs=broken, jobs_wait=60)
    arc408 = {f.scale_set: f for f in found if f.code == "ARC408"}
    assert set(arc408) == {"arc-runners/arc-metrics", "arc-runners/arc-logs"}
    for f in arc408.values():
        assert f.severity == "error" and "runners fail: " in f.title and "ARC501" in f.title
        assert " waiting 1m — " in f.title or " waiting 60s — " in f.title or " waiting 61s — " in f.title
        assert any(e.startswith("ARC501 ") for e in f.evidence)
    # No figures (saved files): no ARC408, not a false one.
    assert not [f for f in checks.run(snapshot, now=since + 600) if f.code == "ARC408"]


def test_headless_check_reports_arc408(jobs_sandbox):
    proc = subprocess.run([sys.executable, "-m", "arc_top.cli.main", "--kubeconfig", jobs_sandbox.kubeconfig_path,
                           "check", "-o", "json", "--fail-on", "never", "--no-github", "--jobs-wait", "2",
                           "--settle", "3"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    arc408 = [f for f in report["findings"] if f["code"] == "ARC408"]
    assert {f["scale_set"] for f in arc408} >= {"arc-runners/arc-metrics", "arc-runners/arc-logs"}
    assert all("ARC501" in f["title"] for f in arc408 if f["scale_set"] != "arc-runners/arc-healthy")
    assert report["source"]["jobs"]["arc-runners/arc-metrics"]["source"] == "metrics"
    assert report["source"]["jobs"]["arc-runners/arc-logs"]["source"] == "log"


@pytest.mark.asyncio
async def test_the_monitor_shows_the_jobs_columns_and_arc408(jobs_sandbox, monkeypatch):
    """End to end: the checks loop reads the listeners' figures; the Scale sets panel shows them (waiting/running,
    busy/idle) and, once the jobs have waited DEFAULT_JOBS_WAIT (shortened here), ARC408 names ARC501."""
    from arc_top.checks import context
    from arc_top.kube.config import connect
    from arc_top.kube.monitor import Monitor
    from arc_top.tui.app import ArcTopApp
    from tests.waiting import until

    monkeypatch.setattr(context, "DEFAULT_JOBS_WAIT", 2.0)
    conn = connect(jobs_sandbox.kubeconfig_path, all_namespaces=True)
    app = ArcTopApp(lambda on_change: Monitor(conn, on_change))
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one("#scalesets-table")
        uid = {o["metadata"]["name"]: o["metadata"]["uid"]
               for o in jobs_sandbox.cluster.list("autoscalingrunnersets")}

        def cells(name: str) -> str:
            return table.row_text(uid[name]) if table.has_row(uid[name]) else ""

        def waiting_shown(name: str) -> bool:
            fig = app.sampler.jobs.get(("arc-runners", name))
            return fig is not None and (fig.waiting or 0) > 0 and f"{fig.waiting}/{fig.running}" in cells(name)

        await until(pilot, lambda: waiting_shown("arc-metrics") and waiting_shown("arc-logs"), timeout=60)
        assert app.sampler.jobs[("arc-runners", "arc-metrics")].source == "metrics"
        assert app.sampler.jobs[("arc-runners", "arc-logs")].source == "log"
        findings = lambda: [f for f in app.main_screen.findings.findings if f.code == "ARC408"]  # noqa: E731
        await until(pilot, lambda: {f.scale_set for f in findings()} >= {"arc-runners/arc-metrics"}, timeout=60)
        assert all("ARC501" in f.title for f in findings() if f.scale_set != "arc-runners/arc-healthy")
        # d on the scale set: the Jobs section says where the figures came from.
        from arc_top.kube.objects import ObjectRef
        from arc_top.tui.screens.describe import DescribeScreen
        from arc_top.tui.screens.drill import source_for

        await app.push_screen(DescribeScreen(source_for(app), ObjectRef("AutoscalingRunnerSet", "arc-runners",
                                                                         "arc-metrics"), ("test",)))
        await until(pilot, lambda: isinstance(app.screen, DescribeScreen) and app.screen.loaded)
        body = "\n".join(line.plain for line in app.screen.view.lines())
        jobs_part = body[body.index("\nJobs\n"):]
        assert "listener metrics (pod proxy)" in jobs_part and "Waiting:" in jobs_part and "since" in jobs_part
        assert "Start-up latency:" in jobs_part
        await pilot.press("escape")
        await pilot.press("q")

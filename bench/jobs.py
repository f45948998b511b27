"""Developer benchmark of the listeners' job figures (kube/jobs.py; not imported by the app).

    python bench/jobs.py [--runs 20]

Parsers: statistics lines (zap console, zap json, slog text, and lines that are none) and Prometheus text of a
listener with many job label sets. Reader: JobsReader.read on the `jobs-waiting` sandbox, cold (every listener
due) and warm (nothing due), as admin (metrics where enabled) and as viewer (no pods/proxy: logs): time, requests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run as a script from anywhere


def _ms(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:.2f} ms, max {max(samples) * 1000:.2f} ms"


def parsers(runs: int) -> None:
    from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest

    from arc_top.kube.jobs import parse_metrics, statistics_in

    stats = {"totalAvailableJobs": 0, "totalAcquiredJobs": 1, "totalAssignedJobs": 5, "totalRunningJobs": 2,
             "totalRegisteredRunners": 3, "totalBusyRunners": 2, "totalIdleRunners": 1}
    lines = []
    for i in range(1000):
        stamp = f"2025-05-16T08:{i // 60 % 60:02d}:{i % 60:02d}Z"
        lines += [f"{stamp} {stamp}\tINFO\tlistener-app.listener\tNew runner scale set statistics.\t"
                  + json.dumps({"statistics": stats}),
                  f'{stamp} time={stamp} level=INFO msg="Getting next message" lastMessageID={i}',
                  f"{stamp} " + json.dumps({"severity": "info", "ts": stamp, "message": "Processing message"})]
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        found = statistics_in(lines)
        samples.append(time.perf_counter() - t0)
    print(f"statistics_in: {len(lines)} lines ({len(found)} statistics): {_ms(samples)}")

    reg = CollectorRegistry()
    labels = ("enterprise", "organization", "repository", "job_name", "event_name")
    h = Histogram("gha_job_startup_duration_seconds", "h", labels, registry=reg)
    for j in range(200):
        h.labels("", "org", f"repo-{j % 20}", f"job-{j}", "push").observe(j % 90)
    e = Histogram("gha_job_execution_duration_seconds", "h", (*labels, "job_result"), registry=reg)
    for j in range(200):
        for result in ("succeeded", "failed"):
            e.labels("", "org", f"repo-{j % 20}", f"job-{j}", "push", result).observe(j % 300)
    g = Gauge("gha_assigned_jobs", "h", ("name", "namespace"), registry=reg)
    g.labels("set", "ns").set(7)
    text = generate_latest(reg).decode()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        parse_metrics(text, "ns", "set")
        samples.append(time.perf_counter() - t0)
    print(f"parse_metrics: {len(text) // 1024} KiB, {text.count(chr(10))} lines (200 job label sets, start-up and "
          f"execution histograms): {_ms(samples)}")


def reader(runs: int) -> None:
    from arc_top.kube import jobs
    from arc_top.kube.config import connect
    from arc_top.kube.monitor import Monitor
    from arc_top.sandbox.run import start_sandbox

    path = tempfile.NamedTemporaryFile(suffix=".kubeconfig", delete=False).name
    sb = start_sandbox("jobs-waiting", kubeconfig_path=path)
    try:
        time.sleep(5)
        for user, context in (("admin", "arc-sandbox"), ("viewer", "arc-sandbox-viewer")):
            m = Monitor(connect(path, context=context, all_namespaces=True))
            m.start()
            m.wait_synced(30)
            snap = m.snapshot()
            cold, warm, requests = [], [], []
            for _ in range(runs):
                r = jobs.JobsReader(m.conn.api_client)
                t0 = time.perf_counter()
                figs = r.read(snap)
                cold.append(time.perf_counter() - t0)
                requests.append(r.requests)
                t0 = time.perf_counter()
                r.read(snap)
                warm.append(time.perf_counter() - t0)
            sources = sorted(f"{k[1]}={v.source or '-'}" for k, v in figs.items())
            print(f"JobsReader.read as {user} ({', '.join(sources)}): cold {_ms(cold)} "
                  f"({statistics.median(requests):.0f} requests), warm {_ms(warm)}")
            m.stop()
    finally:
        sb.stop()
        os.unlink(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    parsers(args.runs)
    reader(args.runs)


if __name__ == "__main__":
    main()

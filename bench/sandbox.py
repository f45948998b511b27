"""Benchmark the sandbox API server on the `large` scenario, the server in its own process.

Prints one JSON object: list latencies (JSON and Table) for every pod, kubectl's wall time,
and watch delivery under churn (events/s per watcher, latency of a marker write to its watch
event). Usage: python bench/sandbox.py [--seconds 15] [--watchers 3] [--set scale_sets=20 ...]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import httpx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import http_client, machine, start_sandbox_process


def timed(fn, repeat: int = 5) -> dict:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--watchers", type=int, default=3)
    ap.add_argument("--set", dest="params", action="append", default=[])
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    kubeconfig = os.path.join(tmp, "kubeconfig")
    t0 = time.perf_counter()
    proc = start_sandbox_process("large", kubeconfig, args.params)
    startup = time.perf_counter() - t0
    http = http_client(kubeconfig)
    try:
        pods = http.get("/api/v1/pods").json()["items"]
        table_accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
        result = {
            "machine": machine(),
            "params": args.params, "startup_s": round(startup, 2), "pods": len(pods),
            "pvcs": len(http.get("/api/v1/persistentvolumeclaims").json()["items"]),
            "list_pods_json": timed(lambda: http.get("/api/v1/pods").raise_for_status()),
            "list_pods_table": timed(lambda: http.get("/api/v1/pods", headers=table_accept).raise_for_status()),
        }
        env = dict(os.environ, KUBECONFIG=kubeconfig)
        cache = os.path.join(tmp, "kcache")
        result["kubectl_get_pods_pvc_events_A_json"] = timed(lambda: subprocess.run(
            ["kubectl", "--cache-dir", cache, "get", "pods,pvc,events", "-A", "-o", "json"], env=env,
            stdout=subprocess.DEVNULL, check=True), repeat=3)
        result["watch"] = watch_under_churn(http, args.seconds, args.watchers)
        print(json.dumps(result, indent=2))
    finally:
        proc.terminate()
        proc.wait(10)


def watch_under_churn(http: httpx.Client, seconds: float, watchers: int) -> dict:
    rv = http.get("/api/v1/pods", params={"limit": 1}).json()["metadata"]["resourceVersion"]
    counts = [0] * watchers
    stop = threading.Event()

    def pod_watcher(i: int) -> None:
        params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": int(seconds) + 5}
        with contextlib.suppress(httpx.HTTPError), http.stream("GET", "/api/v1/pods", params=params) as resp:
            for line in resp.iter_lines():
                if line:
                    counts[i] += 1
                if stop.is_set():
                    return

    lags: list[float] = []
    ns = "arc-runners"
    marker_rv = http.get(f"/api/v1/namespaces/{ns}/configmaps", params={"limit": 1}).json()["metadata"][
        "resourceVersion"]

    def marker_watcher() -> None:
        with contextlib.suppress(httpx.HTTPError), http.stream("GET", f"/api/v1/namespaces/{ns}/configmaps",
                         params={"watch": "true", "resourceVersion": marker_rv,
                                 "timeoutSeconds": int(seconds) + 5}) as resp:
            for line in resp.iter_lines():
                if not line:
                    continue
                ev = json.loads(line)
                sent = (ev["object"].get("data") or {}).get("sent")
                if sent:
                    lags.append(time.time() - float(sent))
                if stop.is_set():
                    return

    threads = [threading.Thread(target=pod_watcher, args=(i,), daemon=True) for i in range(watchers)]
    threads.append(threading.Thread(target=marker_watcher, daemon=True))
    for t in threads:
        t.start()
    time.sleep(0.5)
    start_rv = int(http.get("/api/v1/namespaces/default/configmaps").json()["metadata"]["resourceVersion"])
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        http.post(f"/api/v1/namespaces/{ns}/configmaps",
                  json={"metadata": {"name": f"bench-marker-{i}"}, "data": {"sent": repr(time.time())}})
        i += 1
        time.sleep(0.1)
    end_rv = int(http.get("/api/v1/namespaces/default/configmaps").json()["metadata"]["resourceVersion"])
    time.sleep(1.0)
    stop.set()
    lags.sort()
    return {
        "seconds": seconds, "watchers": watchers,
        "store_changes_per_s": round((end_rv - start_rv) / seconds, 1),
        "pod_events_per_s_per_watcher": [round(c / (seconds + 1.5), 1) for c in counts],
        "marker_writes": i, "marker_events_seen": len(lags),
        "marker_lag_ms_p50": round(lags[len(lags) // 2] * 1000, 1) if lags else None,
        "marker_lag_ms_p95": round(lags[int(len(lags) * 0.95) - 1] * 1000, 1) if lags else None,
        "marker_lag_ms_max": round(lags[-1] * 1000, 1) if lags else None,
    }


if __name__ == "__main__":
    main()

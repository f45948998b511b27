"""Developer benchmark of the kube layer on the `large` scenario (not imported by the app).

    python bench/kube_layer.py [--inproc] [--seconds 5]

Starts `arc-top sandbox --scenario large` in its own process (or, with --inproc, in this one: the server then
competes for the GIL and the figures are worse), then prints one JSON object: time from Monitor.start() to every
kind synced (and per kind), events applied per second under churn, the retained memory of the store (tracemalloc,
a separate run), projection cost per pod, and line parsing: our splitter vs the client's Watch.stream path.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run as a script from anywhere


def start_server(kubeconfig: str, inproc: bool):
    if inproc:
        from arc_top.sandbox.run import start_sandbox

        return start_sandbox("large", kubeconfig_path=kubeconfig)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([sys.executable, "-m", "arc_top.cli.main", "sandbox", "--scenario", "large", "--kubeconfig",
                             kubeconfig], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root)
    for line in proc.stdout:
        if "Press Ctrl-C" in line:
            return proc
    raise SystemExit("sandbox did not start: " + proc.stderr.read())


def stop_server(server) -> None:
    if isinstance(server, subprocess.Popen):
        server.terminate()
        server.wait(10)
    else:
        server.stop()


def sync_run(kubeconfig: str, seconds: float) -> dict:
    from arc_top.kube.config import connect
    from arc_top.kube.monitor import Monitor

    conn = connect(kubeconfig, all_namespaces=True)
    monitor = Monitor(conn)
    began = time.monotonic()
    monitor.start()
    start_call = time.monotonic() - began
    per_kind: dict[str, float] = {}
    while not monitor.synced() and time.monotonic() - began < 120:
        for kind, state in monitor.snapshot().kinds.items():
            if state.synced and kind not in per_kind:
                per_kind[kind] = round(time.monotonic() - began, 3)
        time.sleep(0.005)
    total = time.monotonic() - began
    snap = monitor.snapshot()
    counts = {k: len(v) for k, v in snap.objects.items()}
    monitor.drain()
    applied, drains, t0 = 0, 0, time.monotonic()
    while time.monotonic() - t0 < seconds:       # a UI's loop: drain + snapshot every 250 ms
        time.sleep(0.25)
        changes = monitor.drain()
        applied += sum(len(v) for v in changes.changed.values())
        t = time.perf_counter()
        monitor.snapshot()
        drains += 1
    snap_cost = time.perf_counter() - t
    stop_began = time.monotonic()
    monitor.stop()
    return {"start_call_s": round(start_call, 4), "all_synced_s": round(total, 3), "synced_at_s": per_kind,
            "objects": counts, "threads": len(monitor.watchers),
            "changed_objects_per_s_under_churn": round(applied / seconds), "snapshot_after_drain_ms":
            round(snap_cost * 1000, 3), "stop_s": round(time.monotonic() - stop_began, 3)}


def memory_run(kubeconfig: str) -> dict:
    from arc_top.kube import apis
    from arc_top.kube.config import connect
    from arc_top.kube.monitor import Monitor, plan

    conn = connect(kubeconfig, all_namespaces=True)
    for spec in plan(()):      # import the client's API modules before measuring
        spec.resource.list_function(conn.api_client, None)
    apis.list_raw(conn.api_client, apis.NAMESPACES)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    monitor = Monitor(conn)
    monitor.start()
    monitor.wait_synced(180)
    monitor.stop()
    gc.collect()
    retained = tracemalloc.get_traced_memory()[0] - base
    snap = tracemalloc.take_snapshot()
    tracemalloc.stop()
    top = snap.statistics("filename")[:4]
    objects = sum(len(v) for v in monitor.snapshot().objects.values())
    return {"store_retained_mib": round(retained / 2**20, 1), "objects": objects,
            "bytes_per_object": round(retained / max(1, objects)),
            "pods_bytes_each": _pods_bytes(monitor.snapshot()),
            "top_files": [f"{s.traceback[0].filename.rsplit('/', 2)[-1]}: {s.size / 2**20:.1f} MiB" for s in top]}


def _pods_bytes(snap) -> int:
    """Retained size of one pod projection (deep, shared strings counted once per pod)."""
    from arc_top.kube import model

    pods = list(snap.of(model.PODS).values())[:200]
    seen: set[int] = set()

    def size(o) -> int:
        if id(o) in seen:
            return 0
        seen.add(id(o))
        n = sys.getsizeof(o)
        if isinstance(o, dict) or type(o).__name__ == "mappingproxy":
            n += sum(size(k) + size(v) for k, v in o.items())
        elif isinstance(o, (list, tuple)):
            n += sum(size(v) for v in o)
        elif hasattr(o, "__slots__") and not isinstance(o, str):
            n += sum(size(getattr(o, s)) for s in o.__slots__ if hasattr(o, s))
        return n

    return round(sum(size(p) for p in pods) / max(1, len(pods)))


def parse_costs(kubeconfig: str) -> dict:
    from arc_top.kube import apis, model
    from arc_top.kube.config import connect
    from arc_top.kube.projections import project

    conn = connect(kubeconfig, all_namespaces=True)
    began = time.perf_counter()
    raw = apis.list_raw(conn.api_client, apis.PODS, None, timeout=120)["items"]
    list_all = time.perf_counter() - began
    began = time.perf_counter()
    selected = apis.list_raw(conn.api_client, apis.PODS, None, label_selector=(
        "app.kubernetes.io/component in (runner,runner-scale-set-listener,controller-manager)"), timeout=120)["items"]
    list_selected = time.perf_counter() - began
    lines = [json.dumps({"type": "MODIFIED", "object": p}).encode() for p in raw]
    began = time.perf_counter()
    for p in raw:
        project(model.PODS, p)
    per_project = (time.perf_counter() - began) / len(raw)
    began = time.perf_counter()
    for line in lines:
        json.loads(line)
    per_json = (time.perf_counter() - began) / len(lines)
    body = b"\n".join(lines) + b"\n"
    return {"pods": len(raw), "list_all_pods_s": round(list_all, 3),
            "list_arc_pods_by_label_s": round(list_selected, 3), "arc_pods": len(selected),
            "project_pod_us": round(per_project * 1e6, 1),
            "json_loads_pod_event_us": round(per_json * 1e6, 1), "event_bytes": len(body) // len(lines),
            "split_lines": _split_costs(body, len(lines))}


class _FakeResponse:
    def __init__(self, chunks: list[bytes]):
        self.read_chunks = chunks

    def stream(self, amt=None, decode_content=None):
        return iter(self.read_chunks)


def _split_costs(body: bytes, n: int) -> dict:
    """Per event: our splitter vs kubernetes.watch.iter_resp_lines (what Watch.stream(deserialize=False) uses),
    for one big replay chunk and for one chunk per event."""
    from kubernetes.watch.watch import iter_resp_lines

    def ours(chunks):
        buffer = b""
        count = 0
        for chunk in chunks:
            buffer += chunk
            if b"\n" not in chunk:
                continue
            lines = buffer.split(b"\n")
            buffer = lines.pop()
            count += sum(1 for line in lines if line)
        return count

    out = {}
    per_event = [line + b"\n" for line in body.split(b"\n") if line]
    for label, chunks in (("one_chunk", [body]), ("chunk_per_event", per_event)):
        began = time.perf_counter()
        assert ours(chunks) == n
        mine = time.perf_counter() - began
        began = time.perf_counter()
        assert sum(1 for _ in iter_resp_lines(_FakeResponse(chunks))) == n
        theirs = time.perf_counter() - began
        out[label] = {"ours_us": round(mine / n * 1e6, 2), "client_iter_resp_lines_us": round(theirs / n * 1e6, 2)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inproc", action="store_true", help="run the sandbox in this process")
    ap.add_argument("--seconds", type=float, default=5.0, help="how long to watch the churn")
    args = ap.parse_args()
    kubeconfig = os.path.join(tempfile.mkdtemp(), "kubeconfig")
    server = start_server(kubeconfig, args.inproc)
    try:
        result = {"sandbox": "in-process" if args.inproc else "own process", "cpus": os.cpu_count()}
        result["sync"] = sync_run(kubeconfig, args.seconds)
        result["memory"] = memory_run(kubeconfig)
        result["parsing"] = parse_costs(kubeconfig)
    finally:
        stop_server(server)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

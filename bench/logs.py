"""Benchmark the log screen against issue 6's budgets: follow a sandbox pod writing RATE lines/s for SECONDS.

Prints one JSON object: lag between a line's write time (carried in the line, see sandbox/controller/lograte.py)
and the screen refresh that follows its append (p50/p95/max), lines received vs lost or repeated (every line
is numbered), RSS (when the line cap is reached and at the end: growth after the cap must stay small), key
latency on the log screen during the stream (p50/p95), the machine and the parameters.

The sandbox runs in its own process (`healthy` scenario); arc-top runs headless (Textual's run_test, 200x60)
in a child process, with its real monitor watching the cluster as well, and the log screen on top.

    python bench/logs.py [--seconds 60] [--rate 5000] [--cap 50000] [--drop-at SECONDS]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from array import array

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, http_client, machine, start_sandbox_process

NS = "arc-runners"
POD = "bench-log-rate"


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, int(len(ordered) * q) - 1))], 1)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


# ---- the child: arc-top, headless ---------------------------------------------------------------------------
async def child(kubeconfig: str, seconds: float, cap: int, drop_at: float | None) -> dict:
    sys.path.insert(0, ROOT)
    from arc_top.kube.config import connect
    from arc_top.kube.monitor import Monitor
    from arc_top.kube.objects import ObjectRef
    from arc_top.tui.app import ArcTopApp
    from arc_top.tui.screens.drill import source_for
    from arc_top.tui.screens.logs import LogScreen

    conn = connect(kubeconfig, all_namespaces=True)
    app = ArcTopApp(lambda on_change: Monitor(conn, on_change))
    lags = array("f")                                   # ms from a line's write to the refresh after its append
    counts = {"received": 0, "lost": 0, "repeated": 0, "first": None, "last": None}
    out: dict = {}
    async with app.run_test(size=(200, 60)) as pilot:
        while not (app.monitor and app.monitor.synced()):
            await pilot.pause(0.05)
        screen = LogScreen(source_for(app), ObjectRef("Pod", NS, POD), ("bench",), cap=cap)
        append = screen._append

        def measured_append(items: list) -> None:
            emitted = []
            for _, text, _, _ in items:
                try:
                    seq, stamp = int(text[:9]), float(text[12:29])
                except ValueError:
                    continue
                last = counts["last"]
                if last is None:
                    counts["first"] = seq
                elif seq > last + 1:
                    counts["lost"] += seq - last - 1
                elif seq <= last:
                    counts["repeated"] += 1
                    continue
                counts["last"] = seq
                counts["received"] += 1
                emitted.append(stamp)
            append(items)
            if emitted:
                screen.call_after_refresh(lambda e=emitted: lags.extend((time.time() - t) * 1000 for t in e))

        screen._append = measured_append
        await app.push_screen(screen)
        view = screen.view
        started = time.monotonic()
        keys: list[float] = []
        rss_samples: list[tuple[float, float, int]] = []
        at_cap = None
        dropped = False
        next_rss = 0.0
        while time.monotonic() - started < seconds:
            elapsed = time.monotonic() - started
            if elapsed >= next_rss:
                rss_samples.append((round(next_rss, 1), rss_mb(), view.line_count))
                if at_cap is None and view.line_count >= cap:
                    at_cap = (round(elapsed, 1), rss_mb())
                next_rss += 1.0
            if drop_at is not None and not dropped and elapsed >= drop_at:
                dropped = True          # every connection drops for a second (the sandbox's fault endpoint)
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: http_client(kubeconfig).post("/sandbox/restart", params={"down": "1"}))
            before = view.follow
            t0 = time.perf_counter()
            app.simulate_key("f")                       # the log screen answers a key while lines pour in
            while view.follow is before and time.perf_counter() - t0 < 10:
                await asyncio.sleep(0.001)
            keys.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.25)
        if not view.follow:
            app.simulate_key("f")
        await pilot.pause(0.5)
        out["rss_samples"] = rss_samples
        out["rss_at_cap"] = at_cap
        out["rss_end_mb"] = rss_mb()
        out["line_count"] = view.line_count
        out["notes"] = [ln.plain for ln in view.lines() if ln.meta][:20]
        out["reconnects"] = getattr(screen._follower, "reconnects", None)
    out.update(counts=counts, lag_ms=[round(x, 1) for x in lags], key_ms=keys)
    return out


# ---- the parent -----------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rate", type=int, default=5000, help="lines per second the pod writes")
    ap.add_argument("--cap", type=int, default=50_000, help="the log screen's line cap")
    ap.add_argument("--drop-at", type=float, default=None, help="drop every connection after this many seconds")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        result = asyncio.run(child(args.child, args.seconds, args.cap, args.drop_at))
        print(json.dumps(result))
        return
    tmp = tempfile.mkdtemp()
    kubeconfig = os.path.join(tmp, "kubeconfig")
    sandbox = start_sandbox_process("healthy", kubeconfig)
    try:
        http = http_client(kubeconfig)
        http.post(f"/api/v1/namespaces/{NS}/pods", json={
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": POD, "annotations": {"sandbox.arc-top.dev/log-rate": str(args.rate)}},
            "spec": {"containers": [{"name": "main", "image": "busybox"}]}}).raise_for_status()
        deadline = time.monotonic() + 30
        while http.get(f"/api/v1/namespaces/{NS}/pods/{POD}").json().get("status", {}).get("phase") != "Running":
            if time.monotonic() > deadline:
                raise SystemExit("the bench pod never ran")
            time.sleep(0.2)
        argv = [sys.executable, os.path.abspath(__file__), "--child", kubeconfig, "--seconds", str(args.seconds),
                "--cap", str(args.cap)]
        if args.drop_at is not None:
            argv += ["--drop-at", str(args.drop_at)]
        proc = subprocess.run(argv, stdout=subprocess.PIPE, text=True, cwd=ROOT, timeout=args.seconds + 300)
        if proc.returncode != 0:
            raise SystemExit("log bench child failed (its stderr is above)")
        measured = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    counts, lags, keys = measured["counts"], measured["lag_ms"], measured["key_ms"]
    samples = measured["rss_samples"]
    at_cap = measured["rss_at_cap"]
    span = (counts["last"] - counts["first"] + 1) if counts["first"] is not None else 0
    print(json.dumps({
        "machine": machine(),
        "params": {"seconds": args.seconds, "rate_lines_per_s": args.rate, "cap_lines": args.cap,
                   "drop_at_s": args.drop_at, "size": "200x60", "scenario": "healthy"},
        "lines_received": counts["received"], "lines_in_span": span, "lines_lost": counts["lost"],
        "lines_repeated": counts["repeated"],
        "received_per_s": round(counts["received"] / args.seconds, 1),
        "lag_p50_ms": pct(lags, 0.50), "lag_p95_ms": pct(lags, 0.95), "lag_max_ms": pct(lags, 1.0),
        "key_p50_ms": pct(keys, 0.50), "key_p95_ms": pct(keys, 0.95), "keys": len(keys),
        "rss_start_mb": samples[0][1] if samples else None,
        "rss_at_cap_mb": at_cap[1] if at_cap else None, "cap_reached_at_s": at_cap[0] if at_cap else None,
        "rss_end_mb": measured["rss_end_mb"],
        "rss_growth_after_cap_mb": round(measured["rss_end_mb"] - at_cap[1], 1) if at_cap else None,
        "rss_curve_mb": [[round(t), mb, held] for t, mb, held in samples if round(t) % 10 == 0],  # [s, MiB, lines held]
        "lines_held_at_end": measured["line_count"], "reconnects": measured["reconnects"],
        "notes": measured["notes"],
    }, indent=2))


if __name__ == "__main__":
    main()

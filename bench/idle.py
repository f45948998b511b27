"""Where an idle screen's CPU goes: the monitor on the `large` scenario, the sandbox then paused, our process's CPU
over a window, split by thread and by what the UI thread ran.

bench/monitor.py's idle_cpu_pct is one figure over a 60 s window; this script says where it goes: per thread
(thread CPU from /proc), per callback (the header tick, the trend sample with its age tick, flushes, the search-text
warm-up, the checks loop's steps and the listener reads they make, the collections arc-top asks for) and per
painted frame (what was marked for repainting). Callbacks are wrapped for the window only; the wrappers cost a few
microseconds a call.

    python bench/idle.py [--seconds 60] [--keys] [--set scale_sets=80]

`--keys` first runs the bench's key phases (events, focus, scroll, filter under churn), as bench/monitor.py does
before it measures idle CPU. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import gc
import json
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


class Meter:
    """Thread CPU of wrapped callables while `on`, by label."""

    def __init__(self) -> None:
        self.on = False
        self.calls: dict[str, list] = collections.defaultdict(lambda: [0, 0.0])
        self.frames: list[dict] = []
        self.dirty: collections.Counter = collections.Counter()
        self.collections: list[dict] = []

    def wrap(self, owner: type, name: str, label: str = "") -> None:
        original = getattr(owner, name, None)
        if original is None:
            return                              # (renamed in this Textual: that line is missing from the output)
        label = label or f"{owner.__name__}.{name}"
        meter = self
        if asyncio.iscoroutinefunction(original):
            @functools.wraps(original)
            async def timed(*args, **kwargs):
                started = time.thread_time()
                try:
                    return await original(*args, **kwargs)
                finally:
                    meter.add(label, started)
        else:
            @functools.wraps(original)
            def timed(*args, **kwargs):
                started = time.thread_time()
                try:
                    return original(*args, **kwargs)
                finally:
                    meter.add(label, started)
        setattr(owner, name, timed)

    def add(self, label: str, started: float) -> None:
        if self.on:
            entry = self.calls[label]
            entry[0] += 1
            entry[1] += time.thread_time() - started


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each thread of this process, by thread name."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = collections.defaultdict(float)
    for tid in os.listdir("/proc/self/task"):
        try:
            fields = open(f"/proc/self/task/{tid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[names.get(int(tid), f"thread {tid}")] += (int(fields[11]) + int(fields[12])) / tick
    return out


def instrument(meter: Meter) -> None:
    from textual._compositor import Compositor
    from textual.widget import Widget

    import arc_top.checks
    from arc_top.kube.jobs import JobsReader
    from arc_top.kube.logtail import LogTailer
    from arc_top.tui.app import ArcTopApp
    from arc_top.tui.findings import ChecksLoop

    for owner, name in ((ArcTopApp, "_tick_header"), (ArcTopApp, "sample"), (ArcTopApp, "flush"),
                        (ArcTopApp, "_warm_search"), (ArcTopApp, "collect_young"), (ArcTopApp, "tidy_memory"),
                        (ChecksLoop, "step"), (JobsReader, "read"), (JobsReader, "_read_one"),
                        (LogTailer, "fetch")):
        meter.wrap(owner, name)
    meter.wrap(arc_top.checks, "run", "checks.run")      # (the checks loop looks it up at its first step)
    paint = getattr(Compositor, "render_update", None)
    if paint is not None:
        @functools.wraps(paint)
        def painted(self, *args, **kwargs):
            if not meter.on:
                return paint(self, *args, **kwargs)
            started = time.thread_time()
            try:
                return paint(self, *args, **kwargs)
            finally:
                spent = time.thread_time() - started
                meter.add("paint (Compositor.render_update)", started)
                meter.frames.append({"ms": round(spent * 1000, 2), "marked": dict(meter.dirty)})
                meter.dirty.clear()
        Compositor.render_update = painted
    refresh = Widget.refresh

    @functools.wraps(refresh)
    def marked(self, *regions, **kwargs):
        if meter.on:
            meter.dirty[f"{self.id or type(self).__name__}{' (regions)' if regions else ''}"] += 1
        return refresh(self, *regions, **kwargs)
    Widget.refresh = marked

    started_at = [0.0]

    def collected(phase: str, info: dict) -> None:
        if not meter.on:
            return
        if phase == "start":
            started_at[0] = time.perf_counter()
        else:
            meter.collections.append({"generation": info["generation"], "collected": info["collected"],
                                      "ms": round((time.perf_counter() - started_at[0]) * 1000, 2)})
    gc.callbacks.append(collected)


async def measure(kubeconfig: str, seconds: float, keys: bool, samples: int) -> dict:
    import monitor as bench

    from arc_top.kube.config import connect
    from arc_top.kube.monitor import Monitor
    from arc_top.tui.app import ArcTopApp

    meter = Meter()
    instrument(meter)
    conn = connect(kubeconfig, all_namespaces=True)
    app = ArcTopApp(lambda on_change: Monitor(conn, on_change))
    async with app.run_test(size=(200, 60)) as pilot:
        while not (app.monitor and app.monitor.synced()):
            await asyncio.sleep(0.05)
        await pilot.pause(3.0)
        if keys:
            scalesets = app.screen.query_one("#scalesets-table")
            runners = app.screen.query_one("#runners-table")
            await bench._event_to_screen(pilot, app, scalesets, samples)
            await bench._key_latency(pilot, app, samples)
            await bench._scroll_latency(pilot, app, runners, samples)
            await bench._filter_latency(pilot, app, samples)
        settled = await bench.settle(pilot, app, bench.pause_sandbox(app))
        threads_before = thread_cpu()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        meter.on = True
        await pilot.pause(seconds)
        meter.on = False
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        threads_after = thread_cpu()
    by_thread = {name: round((spent - threads_before.get(name, 0.0)) * 1000, 1)
                 for name, spent in threads_after.items() if spent - threads_before.get(name, 0.0) > 0}
    return {
        "idle_cpu_pct": round(cpu / wall * 100, 2),
        "window_s": round(wall, 2),
        "settle_s": settled,
        "cpu_ms": round(cpu * 1000, 1),
        "threads_ms": dict(sorted(by_thread.items(), key=lambda item: -item[1])),
        "callbacks": {label: {"calls": n, "ms": round(spent * 1000, 1)}
                      for label, (n, spent) in sorted(meter.calls.items(), key=lambda item: -item[1][1])},
        "frames": meter.frames,
        "collections": meter.collections,
        "note": "threads_ms from /proc (10 ms ticks); callbacks nest (sample includes the age tick's work, "
                "ChecksLoop.step the listener reads, the log tails (LogTailer.fetch) and the check runs (checks.run), "
                "_tick_header collect_young and _warm_search)",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="the idle window (default: 60)")
    ap.add_argument("--keys", action="store_true", help="run the key phases of bench/monitor.py first")
    ap.add_argument("--samples", type=int, default=20, help="samples per key phase with --keys (default: 20)")
    ap.add_argument("--set", dest="params", action="append", default=[],
                    help="scenario parameter, e.g. scale_sets=80 (20,000 runner pods)")
    args = ap.parse_args()
    from common import machine, start_sandbox_process

    kubeconfig = os.path.join(tempfile.mkdtemp(), "config")
    sandbox = start_sandbox_process("large", kubeconfig, args.params)
    try:
        out = asyncio.run(measure(kubeconfig, args.seconds, args.keys, args.samples))
    finally:
        sandbox.terminate()
        sandbox.wait(30)
    out.update(params=args.params, keys=args.keys, machine=machine())
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

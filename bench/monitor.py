"""Benchmark the monitor against issue 14's targets on the `large` scenario (sandbox in its own process).

Prints one JSON object with first_screen_s (process start -> the Scale sets and the visible Runners rows
painted), sync_s (every panel shows its rows), all_kinds_synced_s (also the kinds only the checks read), the
kubectl baseline of the same run (kubectl_sync_s: `kubectl get pods,pvc,events -A -o json`, median of 3),
event_to_screen_p95_ms, key_p95_ms (focus, scroll and filter keystrokes under churn; each kind also alone; the
`/` that opens the filter apart: key_filter_open_p95_ms, until the filter line is painted),
peak_rss_mb, idle_cpu_pct (60 s with the sandbox paused, once every listener's log was read again and the last
changes were checked, and 3 s more: idle_settle_s is how long that took), the ratios the issue's targets are
stated in and whether each target is met, the machine and the parameters. The monitor runs headless (Textual's run_test)
at 200x60 in a child process of its own, so its start-up, memory and CPU are measured alone.

    python bench/monitor.py [--samples 40] [--set scale_sets=20 --set runners_per_set=250]
    python bench/monitor.py --curve        # 1,000 / 5,000 / 20,000 runner pods in one run (scale_sets=4/20/80)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# bench/common.py (httpx, yaml) is imported by the parent only: the child, whose start-up is measured, imports what
# arc-top imports and nothing more.


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1)


# ---- the child: arc-top's real path, headless -----------------------------------------------------------------
# What the child imports, compiled once before it is timed (every module arc-top may load, so none is compiled
# while measured).
# (compile_dir does not follow a symbolic link below the folder it is given, and arc_top's layers are links: each
# is given by its own path under arc_top/, the path arc-top's modules are imported from.)
CHILD_IMPORTS = ("import compileall, os, sys; sys.path.insert(0, os.getcwd()); "
                 "[compileall.compile_dir(p, quiet=1, workers=1) for p in (os.path.join('arc_top', d) "
                 "for d in os.listdir('arc_top')) if os.path.isdir(p)]; "
                 "compileall.compile_file('arc_top/__init__.py', quiet=1); "
                 "import arc_top.kube.config, arc_top.kube.monitor, arc_top.tui.app, kubernetes.client")
async def child(kubeconfig: str, samples: int, started: float) -> dict:
    sys.path.insert(0, ROOT)
    from arc_top.core import gcpause

    gcpause.pause()          # as `arc-top` does before it connects (cli/main.py); the app takes it over
    from arc_top.kube.config import connect
    from arc_top.kube.monitor import Monitor
    from arc_top.tui.app import ArcTopApp

    conn = connect(kubeconfig, all_namespaces=True)
    app = ArcTopApp(lambda on_change: Monitor(conn, on_change))
    out: dict = {}
    async with app.run_test(size=(200, 60)) as pilot:
        print("app started", file=sys.stderr, flush=True)
        scalesets = app.screen.query_one("#scalesets-table")
        runners = app.screen.query_one("#runners-table")
        # The first screen: scale sets shown and the Runners panel's visible lines filled (or all its rows, if
        # fewer), then one frame painted. (`pilot.pause()` without a delay would wait until the process is idle,
        # i.e. until the lists have ended; `pause(0)` handles what is queued and paints one frame.)
        # (The pods are counted only once the cheap conditions hold: a walk of 5,000 pods every 5 ms would take
        # the interpreter from the app it measures.)
        while not (scalesets.row_count and runners.row_count and runners.size.height
                   and runners.row_count >= min(runners.size.height - 1, _runner_pods(app) or 1)):
            await asyncio.sleep(0.005)
        await pilot.pause(0)
        out["first_screen_s"] = round(time.time() - started, 3)
        print(f"first screen in {out['first_screen_s']} s", file=sys.stderr, flush=True)
        # (Polls with asyncio.sleep: pilot.pause() messages every widget and paints the screen at each poll, a
        # cost of the measuring, not of arc-top.)
        while not (app.monitor and app.monitor.panels_synced()):
            await asyncio.sleep(0.01)
        expected = sum(1 for p in app.monitor.snapshot().of("pods").values() if p.role == "runner")
        while runners.total_count < expected or scalesets.total_count == 0:
            await asyncio.sleep(0.01)
        await pilot.pause(0)
        out["sync_s"] = round(time.time() - started, 3)
        print(f"panels synced in {out['sync_s']} s", file=sys.stderr, flush=True)
        while not app.monitor.synced():
            await asyncio.sleep(0.01)
        out["all_kinds_synced_s"] = round(time.time() - started, 3)
        # The budgets for events and keys are about a monitor running under churn: measured from 3 s after the
        # last first list, not during the first fill (its stalls are in sync_s).
        await pilot.pause(3.0)
        out["runner_pods"] = expected
        out["event_to_screen_ms"] = await _event_to_screen(pilot, app, scalesets, samples)
        print("events measured", file=sys.stderr, flush=True)
        out["key_ms"] = await _key_latency(pilot, app, samples)
        print("keys measured", file=sys.stderr, flush=True)
        out["key_scroll_ms"] = await _scroll_latency(pilot, app, runners, samples)
        out["key_filter_ms"], out["key_filter_open_ms"] = await _filter_latency(pilot, app, samples)
        print("scroll and filter keys measured", file=sys.stderr, flush=True)
        out["idle_cpu_pct"], out["idle_settle_s"] = await _idle_cpu(pilot, app)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def _runner_pods(app) -> int:
    snapshot = app.monitor.snapshot() if app.monitor else None
    return sum(1 for p in snapshot.of("pods").values() if p.role == "runner") if snapshot else 0


async def _event_to_screen(pilot, app, scalesets, samples: int) -> list[float]:
    """Patch a scale set's maxRunners through the API; time until its row shows the new value."""
    from kubernetes import client

    custom = client.CustomObjectsApi(app.monitor.conn.api_client)
    sets = list(app.monitor.snapshot().of("scalesets").values())
    lags = []
    loop = asyncio.get_running_loop()
    for i in range(samples):
        ars = sets[i % len(sets)]
        value = 1000 + i
        t0 = time.perf_counter()
        await loop.run_in_executor(None, lambda a=ars, v=value: custom.patch_namespaced_custom_object(
            "actions.github.com", "v1alpha1", a.namespace, "autoscalingrunnersets", a.name,
            {"spec": {"maxRunners": v}}))
        while f"/{value}" not in scalesets.row_text(ars.uid):
            await pilot.pause(0.002)
            if time.perf_counter() - t0 > 10:
                break
        lags.append((time.perf_counter() - t0) * 1000)
        await pilot.pause(0.05)
    return lags


async def _key_latency(pilot, app, samples: int) -> list[float]:
    """Post a tab key (next panel) as the terminal driver would, during churn; time until focus moved.
    (Pilot.press is not used: it also waits until the whole process has been idle for 20 ms, which
    under a steady stream of watch events measures how busy the process is, not the key.)"""
    lags = []
    for _ in range(samples):
        before = app.focused
        t0 = time.perf_counter()
        app.simulate_key("tab")
        while app.focused is before and time.perf_counter() - t0 < 10:
            await asyncio.sleep(0.001)
        lags.append((time.perf_counter() - t0) * 1000)
        await pilot.pause(0.1)
    return lags


async def _scroll_latency(pilot, app, runners, samples: int) -> list[float]:
    """Focus the Runners panel; post `down` (then `up`, so the cursor stays near the top); time until the
    cursor moved."""
    from arc_top.tui.panels import focus_now

    focus_now(runners)
    await pilot.pause(0.2)
    lags = []
    for i in range(samples):
        before = runners.cursor_row
        t0 = time.perf_counter()
        app.simulate_key("down" if i % 2 == 0 else "up")
        while runners.cursor_row == before and time.perf_counter() - t0 < 10:
            await asyncio.sleep(0.001)
        lags.append((time.perf_counter() - t0) * 1000)
        await pilot.pause(0.1)
    return lags


async def _filter_latency(pilot, app, samples: int) -> tuple[list[float], list[float]]:
    """Open the Runners panel's filter (`/`) and type a runner name one key at a time; time each keystroke until
    the table shows the new filter's rows. Escape clears it after each name. Also the `/` itself, until the filter
    line is shown and the screen painted (opening it lays the screen out again), as its own figure: typed at once
    after it, the first letter used to wait for that layout, which is the `/`'s cost, not a keystroke's (a person
    types the first letter a few tenths of a second after `/`). Returns (keystrokes, opens)."""
    from textual import events

    panel = app.main_screen.panel("runners")
    table = panel.table
    lags, opens = [], []
    word = "runner-x"
    while len(lags) < samples:
        t0 = time.perf_counter()
        app.simulate_key("slash")
        while not panel.filtering and time.perf_counter() - t0 < 10:
            await asyncio.sleep(0.001)
        await pilot.pause(0)                # (handles what is queued, the layout among it, and paints a frame)
        opens.append((time.perf_counter() - t0) * 1000)
        await pilot.pause(0.1)
        for ch in word:
            if len(lags) >= samples:
                break
            wanted = table.filter_text + ch
            t0 = time.perf_counter()
            app.post_message(events.Key("minus" if ch == "-" else ch, ch))    # as a terminal sends a typed key
            while table.filter_text != wanted and time.perf_counter() - t0 < 10:
                await asyncio.sleep(0.001)
            lags.append((time.perf_counter() - t0) * 1000)
            await pilot.pause(0.1)
        app.simulate_key("escape")
        await pilot.pause(0.2)
    return lags, opens


def pause_sandbox(app) -> float:
    """POST /sandbox/pause through the app's own connection: no controller, kubelet or churn, so no events.
    Returns time.monotonic() once the sandbox is paused."""
    api = app.monitor.conn.api_client
    api.call_api(*api.param_serialize("POST", "/sandbox/pause", query_params=[("on", "1")],
                                      auth_settings=["BearerToken"]))
    return time.monotonic()


async def settle(pilot, app, paused_at: float, limit: float = 90.0) -> float:
    """After pause_sandbox (at `paused_at`): wait until the churn's last work is done, then 3 s more for the
    screen. Three kinds come late. The listeners' job figures: each listener's log is read every 15 s or so (20 a
    round at 20,000 runners, 80 listeners), and the first read after the pause brings the churn's last figures,
    which rebuild the Scale sets rows. The checks: their loop paces its runs at twice what the last one cost, so at
    20,000 runners a run of the changes made just before the pause could start 3 s after it. The memory: the
    app's minute collection after changes (tidy_memory: 0.2 s at 20,000 runners) comes up to a minute after the
    last. Inside the window, each is the tail of the churn, not what an idle screen costs (none comes again while
    nothing changes). Returns the seconds waited for them."""
    began = time.perf_counter()
    while time.perf_counter() - began < limit:
        checks, monitor = app.checks, app.monitor
        if checks is None or monitor is None or (checks.listeners_read_since(paused_at)
                                                  and checks.checked_version >= monitor.snapshot().version
                                                  and app.memory_tidied):
            break
        await pilot.pause(0.1)
    waited = time.perf_counter() - began
    await pilot.pause(3.0)
    return round(waited, 2)


# A whole minute: what comes back every minute however quiet the cluster (the log tails read again, and a run of the
# checks when a tail changed: at 20,000 runners, new pods' tails within the tailer's budget) counts once, and every
# listener is read (every 15-60 s), wherever the window starts.
IDLE_WINDOW_S = 60.0


async def _idle_cpu(pilot, app) -> tuple[float, float]:
    """Pause the sandbox (pause_sandbox), let the screen settle (settle), then measure our CPU over IDLE_WINDOW_S:
    what arc-top costs while nothing happens. Returns (the CPU %, the seconds settle waited)."""
    paused_at = pause_sandbox(app)
    waited = await settle(pilot, app, paused_at)
    cpu0, t0 = time.process_time(), time.perf_counter()
    await pilot.pause(IDLE_WINDOW_S)
    return round((time.process_time() - cpu0) / (time.perf_counter() - t0) * 100, 2), waited


# ---- the parent ------------------------------------------------------------------------------------------------
# Issue 14's targets: (figure, limit at 5,000 runner pods, limit at 20,000); ratios are against kubectl_sync_s.
TARGETS = (("first_screen_vs_kubectl", 0.35, 0.35), ("sync_vs_kubectl", 0.5, 0.5),
           ("event_to_screen_p95_ms", 150, 300), ("key_p95_ms", 30, 30), ("peak_rss_mb", 200, 600),
           ("idle_cpu_pct", 1.0, 1.0))
CURVE = ((1_000, ["scale_sets=4"]), (5_000, []), (20_000, ["scale_sets=80"]))


def stop(sandbox: subprocess.Popen) -> None:
    """A sandbox of 20,000 pods takes a while to stop: wait, then kill."""
    sandbox.terminate()
    try:
        sandbox.wait(30)
    except subprocess.TimeoutExpired:
        sandbox.kill()
        sandbox.wait(10)


def measure(params: list[str], samples: int, profile: str | None = None) -> dict:
    """One sandbox (`large` with `params`), kubectl's baseline on it, then the monitor in a child process."""
    tmp = tempfile.mkdtemp()
    kubeconfig = os.path.join(tmp, "kubeconfig")
    from common import http_client, start_sandbox_process

    sandbox = start_sandbox_process("large", kubeconfig, params)
    try:
        http = http_client(kubeconfig)
        pods = len(http.get("/api/v1/pods").json()["items"])
        kubectl_runs = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run(["kubectl", "--cache-dir", os.path.join(tmp, "kcache"), "get", "pods,pvc,events", "-A",
                            "-o", "json"], env=dict(os.environ, KUBECONFIG=kubeconfig), stdout=subprocess.DEVNULL,
                           check=True)
            kubectl_runs.append(time.perf_counter() - t)
        # arc-top as installed: pip compiles a package's modules at install, so the child reads bytecode. (With
        # PYTHONDONTWRITEBYTECODE set, as on some machines, every run would compile arc-top from source first.)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
        subprocess.run([sys.executable, "-c", CHILD_IMPORTS], env=env, cwd=ROOT, check=True)
        started = time.time()
        command = [sys.executable, os.path.abspath(__file__), "--child", kubeconfig, "--samples", str(samples),
                   "--started", repr(started)]
        if profile:      # collapsed stacks of the monitor process (py-spy must be installed)
            command = ["py-spy", "record", "--nonblocking", "--threads", "--format", "raw", "--rate", "100",
                       "-o", profile, "--", *command]
        proc = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=ROOT, timeout=900, env=env)
        if proc.returncode != 0:
            raise SystemExit("monitor child failed (its stderr is above)")
        measured = json.loads([line for line in proc.stdout.splitlines() if line.startswith("{")][-1])
    finally:
        stop(sandbox)
    kubectl_sync = statistics.median(kubectl_runs)
    events, focus = measured.pop("event_to_screen_ms"), measured.pop("key_ms")
    scroll, filtering = measured.pop("key_scroll_ms"), measured.pop("key_filter_ms")
    opens = measured.pop("key_filter_open_ms")
    keys = focus + scroll + filtering
    result = {
        "params": {"scenario": "large", "set": params, "pods": pods, "samples": samples, "size": "200x60"},
        "runner_pods_shown": measured["runner_pods"],
        "first_screen_s": measured["first_screen_s"],
        "sync_s": measured["sync_s"],
        "all_kinds_synced_s": measured["all_kinds_synced_s"],
        "kubectl_sync_s": round(kubectl_sync, 3),
        "kubectl_runs_s": [round(t, 3) for t in kubectl_runs],
        "first_screen_vs_kubectl": round(measured["first_screen_s"] / kubectl_sync, 2),
        "sync_vs_kubectl": round(measured["sync_s"] / kubectl_sync, 2),
        "event_to_screen_p50_ms": round(statistics.median(events), 1), "event_to_screen_p95_ms": p95(events),
        "key_p50_ms": round(statistics.median(keys), 1), "key_p95_ms": p95(keys),
        "key_focus_p95_ms": p95(focus), "key_scroll_p95_ms": p95(scroll), "key_filter_p95_ms": p95(filtering),
        "key_filter_open_p95_ms": p95(opens), "key_filter_open_max_ms": round(max(opens), 1),
        "peak_rss_mb": measured["peak_rss_mb"], "idle_cpu_pct": measured["idle_cpu_pct"],
        "idle_settle_s": measured["idle_settle_s"],
    }
    column = 2 if measured["runner_pods"] > 10_000 else 1
    result["targets"] = {name: {"limit": limits[column - 1], "met": result[name] is not None
                                and result[name] <= limits[column - 1]}
                         for name, *limits in TARGETS}
    return result


def main() -> None:
    from common import machine

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=40, help="samples per latency figure (default: 40)")
    ap.add_argument("--set", dest="params", action="append", default=[],
                    help="a scenario parameter, e.g. --set scale_sets=80 (20,000 runner pods)")
    ap.add_argument("--curve", action="store_true",
                    help="measure at 1,000 / 5,000 / 20,000 runner pods in one run (ignores --set)")
    ap.add_argument("--profile", metavar="FILE", help="record the monitor with py-spy into FILE (collapsed stacks)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--started", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, args.samples, args.started))))
        return
    if args.curve:
        curve = []
        for runners, params in CURVE:
            print(f"measuring at {runners:,} runner pods", file=sys.stderr, flush=True)
            curve.append(measure(params, args.samples))
            print(json.dumps(curve[-1]), file=sys.stderr, flush=True)      # nothing measured is lost
        print(json.dumps({"machine": machine(), "curve": curve}, indent=2))
        return
    print(json.dumps({"machine": machine(), **measure(args.params, args.samples, args.profile)}, indent=2))


if __name__ == "__main__":
    main()

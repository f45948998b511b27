"""Developer benchmark of the fix preview (not imported by the app; prints figures, asserts nothing).

    python bench/fix.py [--samples 40] [--scenario kube-permissions] [--code ARC501] [--screen-samples 20]

The sandbox runs in its own process (as a real API server would), the monitor syncs it, and the checks find the
finding. Then, `--samples` times, what the fix screen waits for before it is ready: the live read, the plan, the
access review and the server-side dry-run (`Fixer.plan` + `Fixer.preview`), plus the diff. The baseline, in the
same run: the real `kubectl patch --dry-run=server` of the same JSON patch (a process start, discovery from its
cache, one PATCH) and `kubectl get -o json` of the object. Then the fix screen itself: the monitor headless
(Textual's run_test, 160x48) on the same sandbox, `f` on the finding's row, the time until the screen shows the
dry-run verdict (`esc` and again, `--screen-samples` times).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run as a script from anywhere

from bench.common import machine, start_sandbox_process


def _ms(values: list[float]) -> dict:
    values = sorted(values)
    return {"p50": round(statistics.median(values) * 1000, 1),
            "p95": round(values[min(len(values) - 1, int(0.95 * len(values)))] * 1000, 1),
            "max": round(values[-1] * 1000, 1)}


def _finding(conn, code: str, wait: float = 60.0):
    from arc_top.kube.monitor import Monitor
    from arc_top.tui.findings import ChecksLoop

    monitor = Monitor(conn)
    monitor.start()
    latest: dict = {}
    loop = ChecksLoop(monitor, lambda f, v, e: latest.update(findings=f), github=False)
    loop.start()
    end = time.monotonic() + wait
    try:
        while time.monotonic() < end:
            hit = next((f for f in latest.get("findings") or () if f.code == code), None)
            if hit is not None:
                return hit, list(latest["findings"])
            time.sleep(0.2)
    finally:
        loop.stop()
        monitor.stop()
    raise SystemExit(f"no {code} finding within {wait:g} s")


async def _screen(kubeconfig: str, finding, samples: int) -> list[float]:
    """Seconds from `f` on the finding's row to the fix screen showing its dry-run verdict."""
    from arc_top.kube.config import connect
    from arc_top.kube.monitor import Monitor
    from arc_top.tui.app import ArcTopApp
    from arc_top.tui.findings import finding_key
    from arc_top.tui.screens.fix import FixScreen

    conn = connect(kubeconfig, None, (), True)
    app = ArcTopApp(lambda on_change: Monitor(conn, on_change))
    out: list[float] = []

    async def until(pilot, predicate, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > end:
                raise SystemExit("the fix screen did not get ready")
            await pilot.pause(0.005)

    async with app.run_test(size=(160, 48)) as pilot:
        main = app.main_screen
        key = None

        def shown() -> bool:
            nonlocal key
            hit = next((f for f in main.findings.findings if f.code == finding.code
                        and f.scale_set == finding.scale_set), None) if main is not None else None
            key = finding_key(hit) if hit is not None else None
            return key is not None and main.panel("findings").table.has_row(key)
        await until(pilot, shown)
        await pilot.press("5")
        for _ in range(samples):
            await until(pilot, shown)
            main.panel("findings").table.select_key(key)
            began = time.perf_counter()
            await pilot.press("f")
            await until(pilot, lambda: isinstance(app.screen, FixScreen) and app.screen.phase in ("ready", "failed"))
            out.append(time.perf_counter() - began)
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, FixScreen))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--scenario", default="kube-permissions")
    parser.add_argument("--code", default="ARC501")
    parser.add_argument("--screen-samples", type=int, default=20)
    args = parser.parse_args()

    from arc_top.fixes.audit import AuditLog
    from arc_top.fixes.session import Fixer
    from arc_top.kube.config import connect

    tmp = tempfile.mkdtemp(prefix="arc-top-bench-fix-")
    kubeconfig = os.path.join(tmp, "kubeconfig")
    proc = start_sandbox_process(args.scenario, kubeconfig)
    try:
        conn = connect(kubeconfig, None, (), True)
        finding, findings = _finding(conn, args.code)
        fixer = Fixer.for_connection(conn, audit=AuditLog(os.path.join(tmp, "audit.jsonl")))
        fixer.preview(fixer.plan(finding, findings))              # warm: imports, the connection pool
        ready, plan_only, verdicts = [], [], set()
        for _ in range(args.samples):
            began = time.perf_counter()
            plan = fixer.plan(finding, findings)
            planned = time.perf_counter()
            preview = fixer.preview(plan, None, findings)
            preview.diff_lines()
            ready.append(time.perf_counter() - began)
            plan_only.append(planned - began)
            verdicts.add(preview.dry_run_verdict)
        out = {"scenario": args.scenario, "code": args.code, "samples": args.samples, "machine": machine(),
               "fix_preview_ready_ms (read+plan+access review+dry-run+diff)": _ms(ready),
               "read_and_plan_ms": _ms(plan_only), "verdicts": sorted(verdicts),
               "writes_per_preview": len(preview.steps)}
        kubectl = shutil.which("kubectl")
        if kubectl and preview.steps and preview.steps[0].op.verb == "patch":
            op = preview.steps[0].op
            cache = os.path.join(tmp, "kubectl-cache")
            env = dict(os.environ, KUBECONFIG=kubeconfig)
            base = [kubectl, "--cache-dir", cache, "-n", op.target.namespace]
            patch = json.dumps([o for o in op.patch if o["path"] != "/metadata/resourceVersion"])
            dry, get = [], []
            subprocess.run(base + ["get", op.target.resource(), op.target.name, "-o", "json"], env=env,
                           capture_output=True, check=True)          # warm its discovery cache
            for _ in range(max(5, args.samples // 4)):
                began = time.perf_counter()
                subprocess.run(base + ["get", op.target.resource(), op.target.name, "-o", "json"], env=env,
                               capture_output=True, check=True)
                get.append(time.perf_counter() - began)
                began = time.perf_counter()
                subprocess.run(base + ["patch", op.target.resource(), op.target.name, "--type", "json",
                                       "--dry-run=server", "-p", patch], env=env, capture_output=True, check=True)
                dry.append(time.perf_counter() - began)
            out["kubectl_patch_dry_run_server_ms"] = _ms(dry)
            out["kubectl_get_json_ms"] = _ms(get)
            out["preview_p95_vs_kubectl_dry_run_p95"] = round(
                out["fix_preview_ready_ms (read+plan+access review+dry-run+diff)"]["p95"]
                / max(out["kubectl_patch_dry_run_server_ms"]["p95"], 0.001), 2)
        if args.screen_samples:
            import asyncio

            times = asyncio.run(_screen(kubeconfig, finding, args.screen_samples + 1))
            out["fix_screen_first_open_ms (imports the fix screen's modules)"] = round(times[0] * 1000, 1)
            out["fix_screen_ready_ms (f pressed -> verdict shown)"] = _ms(times[1:])
            out["fix_screen_samples_ms"] = [round(x * 1000) for x in times[1:]]
        print(json.dumps(out, indent=2))
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Developer benchmark and scenario table of the checks (not imported by the app).

    python bench/checks.py [--runs 20]                 # checks.run over the `large` fleet: time and counts
    python bench/checks.py --scenarios [--wait 8]     # the codes every sandbox scenario produces
    python bench/checks.py --vs-kubectl [--runs 3]    # `arc-top check -A` vs `kubectl get` of the same kinds

Both start the sandbox in this process and sync a kube.monitor.Monitor on it (all namespaces), as the app does.
The scenario table runs the checks twice: on objects only, and with the tails of the listener, runner and
controller logs (read straight from the sandbox's log store, standing in for the kube layer's log fetcher).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run as a script from anywhere

SCENARIOS = ("healthy", "kube-permissions", "pvc-pending", "bad-credentials", "network-policy", "failed-runners",
             "incident", "controller-errors")


def _monitor(sandbox):
    from arc_top.kube.config import connect
    from arc_top.kube.monitor import Monitor

    monitor = Monitor(connect(sandbox.kubeconfig_path, all_namespaces=True))
    monitor.start()
    if not monitor.wait_synced(120):
        raise SystemExit("the monitor did not sync")
    return monitor


def log_tails(sandbox, snapshot, tail: int = 200) -> list:
    """LogTails of the ARC pods in the snapshot, current and previous instances."""
    from arc_top.checks import LogTail
    from arc_top.kube import model

    out = []
    for pod in snapshot.of(model.PODS).values():
        if pod.role not in ("runner", "listener", "controller", "workflow"):
            continue
        for c in pod.containers:
            for previous in (False, True):
                lines, _ = sandbox.cluster.logs.snapshot(pod.namespace, pod.name, c.name, previous=previous,
                                                         tail=tail)
                if lines:
                    out.append(LogTail(pod.uid, pod.namespace, pod.name, c.name, previous,
                                       tuple(text for _, text in lines), time.time()))
    return out


def controller_errors(snapshot, lines: int = 200):
    """A controller log tail of `lines` ERROR lines (ARC's text format), each about one EphemeralRunner of the
    snapshot: the worst case of the controller-log attribution (checks/controllerlog.py)."""
    from arc_top.checks import LogTail
    from arc_top.kube import model

    runners = sorted(snapshot.of(model.RUNNERS).values(), key=lambda r: r.name)[:lines] or [None]
    controller = next((p for p in snapshot.of(model.PODS).values() if p.role == "controller"), None)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out = []
    for i in range(lines):
        er = runners[i % len(runners)]
        ref = {"name": er.name, "namespace": er.namespace} if er else {"name": f"r{i}", "namespace": "x"}
        error = f'pods "{ref["name"]}" is forbidden: exceeded quota'
        out.append(f"{stamp}\tERROR\tEphemeralRunner\tFailed to create a pod for the ephemeral runner\t"
                   + json.dumps({"ephemeralrunner": ref, "error": error}))
    return LogTail(controller.uid if controller else "c", controller.namespace if controller else "arc-systems",
                   controller.name if controller else "controller", "manager", False, tuple(out), time.time())


def _time(fn, runs: int) -> dict:
    wall, cpu = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.thread_time()
        fn()
        cpu.append(time.thread_time() - c)
        wall.append(time.perf_counter() - w)

    def ms(values: list[float]) -> dict:
        values = sorted(values)
        return {"median": round(statistics.median(values) * 1000, 2),
                "p95": round(values[min(len(values) - 1, int(0.95 * len(values)))] * 1000, 2)}

    return {"wall_ms": ms(wall), "cpu_ms": ms(cpu)}


def bench(runs: int) -> dict:
    """checks.run on a synced snapshot of `large`: while the sandbox churns and the watch threads apply it (the
    app's situation: the GIL is shared), then alone after both stopped (the checks' own cost)."""
    from arc_top import checks
    from arc_top.sandbox.run import start_sandbox

    sandbox = start_sandbox("large", kubeconfig_path=os.path.join(tempfile.mkdtemp(), "kubeconfig"))
    try:
        monitor = _monitor(sandbox)
        try:
            time.sleep(2)
            snapshot = monitor.snapshot()
            logs = log_tails(sandbox, snapshot, tail=100)[:200]
            found = checks.run(snapshot, now=time.time())
            loaded = _time(lambda: checks.run(monitor.snapshot(), now=time.time()), runs)
            loaded_logs = _time(lambda: checks.run(monitor.snapshot(), now=time.time(), logs=logs), runs)
        finally:
            monitor.stop()
    finally:
        sandbox.stop()
    time.sleep(1)
    from arc_top.checks import logpatterns

    logpatterns._CACHE.clear()
    began = time.perf_counter()
    checks.run(snapshot, now=time.time(), logs=logs)
    first_with_logs = round((time.perf_counter() - began) * 1000, 2)
    alone = _time(lambda: checks.run(snapshot, now=time.time()), runs)
    alone_logs = _time(lambda: checks.run(snapshot, now=time.time(), logs=logs), runs)
    noisy = logs + [controller_errors(snapshot)]
    alone_controller = _time(lambda: checks.run(snapshot, now=time.time(), logs=noisy), runs)
    return {"scenario": "large", "runs": runs, "cpus": os.cpu_count(),
            "objects": {k: len(v) for k, v in snapshot.objects.items()},
            "log_tails": len(logs), "log_lines": sum(len(t.lines) for t in logs),
            "alone": alone, "alone_with_logs": alone_logs, "first_run_with_logs_ms (tails not yet scanned)":
            first_with_logs,
            "under_churn": loaded, "under_churn_with_logs": loaded_logs,
            "alone_with_logs_and_200_controller_error_lines": alone_controller,
            "findings": dict(sorted(Counter(f"{f.code} {f.severity}" for f in found).items()))}


def scenario_codes(wait: float) -> dict:
    from arc_top import checks
    from arc_top.sandbox.run import start_sandbox

    table = {}
    for name in SCENARIOS:
        sandbox = start_sandbox(name, kubeconfig_path=os.path.join(tempfile.mkdtemp(), "kubeconfig"), speed=4.0)
        try:
            monitor = _monitor(sandbox)
            try:
                time.sleep(wait)
                snapshot = monitor.snapshot()
                plain = checks.run(snapshot, now=time.time())
                with_logs = checks.run(snapshot, now=time.time(), logs=log_tails(sandbox, snapshot))
            finally:
                monitor.stop()
        finally:
            sandbox.stop()
        table[name] = {
            "objects_only": sorted({f"{f.code}:{f.severity[0]}" for f in plain}),
            "with_logs": sorted({f"{f.code}:{f.severity[0]}" for f in with_logs}),
            "detail": [f"{f.code} {f.severity} {f.scale_set} {f.subject.kind}/{f.subject.name}: {f.title} | "
                       + " | ".join(f.evidence[:3]) for f in with_logs],
        }
    return table


def vs_kubectl(runs: int) -> dict:
    """`arc-top check -A` (a process of its own, as a user runs it) against `kubectl get` of the kinds it reads,
    all namespaces, as JSON, on `large` (the sandbox in another process). Issue 14: check ≤ 1.0x kubectl."""
    import subprocess

    from arc_top.kube.monitor import plan

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import machine, start_sandbox_process

    kinds = ",".join(sorted({f"{s.resource.plural}.{s.resource.group}" if s.resource.group else s.resource.plural
                             for s in plan(())}))
    tmp = tempfile.mkdtemp()
    kubeconfig = os.path.join(tmp, "kubeconfig")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commands = {
        "kubectl_get_s": ["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", os.path.join(tmp, "kcache"), "get",
                          kinds, "-A", "-o", "json"],
        "check_s": [sys.executable, "-m", "arc_top.cli.main", "check", "-A", "--kubeconfig", kubeconfig, "-o", "json",
                    "--fail-on", "never"],
        "check_no_logs_no_github_s": [sys.executable, "-m", "arc_top.cli.main", "check", "-A", "--kubeconfig",
                                      kubeconfig, "-o", "json", "--fail-on", "never", "--no-logs", "--no-github"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    sandbox = start_sandbox_process("large", kubeconfig)
    try:
        for _ in range(runs):
            for name, command in commands.items():     # interleaved: the churn and the load are shared alike
                began = time.perf_counter()
                subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=root)
                times[name].append(time.perf_counter() - began)
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    medians = {name: round(statistics.median(values), 3) for name, values in times.items()}
    return {"machine": machine(), "params": {"scenario": "large", "runs": runs, "kinds": kinds},
            **medians, "runs_s": {name: [round(t, 3) for t in values] for name, values in times.items()},
            "check_vs_kubectl": round(medians["check_s"] / medians["kubectl_get_s"], 2),
            "check_no_logs_no_github_vs_kubectl": round(medians["check_no_logs_no_github_s"]
                                                        / medians["kubectl_get_s"], 2),
            "target": {"limit": 1.0, "met": medians["check_s"] <= medians["kubectl_get_s"]}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=None, help="runs per figure (default: 20; 3 with --vs-kubectl)")
    ap.add_argument("--scenarios", action="store_true", help="print the codes of every scenario instead")
    ap.add_argument("--vs-kubectl", action="store_true",
                    help="time `arc-top check -A` against `kubectl get` of the same kinds on `large`")
    ap.add_argument("--wait", type=float, default=8.0, help="seconds to let each scenario break")
    args = ap.parse_args()
    if args.vs_kubectl:
        result = vs_kubectl(args.runs or 3)
    else:
        result = scenario_codes(args.wait) if args.scenarios else bench(args.runs or 20)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

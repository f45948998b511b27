"""What `arc-top check` and `arc-top fix` share: the subcommands' connection flags, syncing a Monitor, the GitHub
credential probes, letting the watch threads end, and (for `fix`) the checks running live while a fix is made.

`check` diagnoses once (a Monitor synced, log tails read while it settles, one check run). `fix` needs the checks
to keep running — the finding to fix may rest on log tails that take a few seconds to show, and after the apply
the same findings say whether the fix worked — so it runs the monitor's own `ChecksLoop` (tui/findings.py,
textual-free) headless and reads its runs from a queue.
"""

from __future__ import annotations

import argparse
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

THREADS_GRACE_S = 5.0        # at most this long for the watch threads to end after the monitor stops


def add_connection_flags(p: argparse.ArgumentParser, what: str = "check") -> argparse._ArgumentGroup:
    """--kubeconfig/--context/-n/-A on a subcommand. SUPPRESS: flags given before the subcommand
    (arc-top --context x check) are kept, not reset to their defaults."""
    conn = p.add_argument_group("cluster (default: the current kubeconfig context, its namespace)")
    conn.add_argument("--kubeconfig", default=argparse.SUPPRESS, help="kubeconfig file, as kubectl")
    conn.add_argument("--context", default=argparse.SUPPRESS, help="kubeconfig context to use")
    conn.add_argument("-n", "--namespace", dest="namespaces", action="append", default=argparse.SUPPRESS,
                      metavar="NAMESPACE", help=f"runner namespace to {what} (repeatable)")
    conn.add_argument("-A", "--all-namespaces", action="store_true", default=argparse.SUPPRESS,
                      help=f"{what} every namespace")
    return conn


# ---- a synced monitor ----------------------------------------------------------------------------------------
def sync_problem(monitor, timeout: float) -> str:
    snap = monitor.snapshot()
    waiting = [f"{k} ({s.state}{': ' + s.message if s.message else ''})" for k, s in snap.kinds.items()
               if not s.synced]
    if monitor.info is None:
        waiting.append("ARC discovery")
    detail = "; ".join(waiting) or "unknown"
    return (f"the cluster's objects did not sync within {timeout:g} s (waiting for {detail[:300]}): check the "
            "connection or raise --timeout")


def join_threads(timeout: float = THREADS_GRACE_S) -> None:
    """Let the monitor's threads (watches, discovery, checks) finish: a daemon thread still inside the TLS layer
    when the interpreter shuts down can abort the process (SIGABRT) after the output was written."""
    end = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.startswith("arc-top-") and thread is not threading.current_thread():
            thread.join(max(0.0, end - time.monotonic()))


class GitHubProbes:
    """The credential probes, on their own thread from the first sync; `results()` waits within their budget."""

    def __init__(self, api_client, snapshot, timeout: float, extra_ca: bytes | None):
        from arc_top.kube.credentials import CredentialProber

        self.budget = 3 * timeout + 2
        self._prober = CredentialProber(api_client, timeout=timeout, extra_ca=extra_ca)
        self._results: list = []
        self._error = ""
        self._thread = threading.Thread(target=self._run, args=(snapshot,), name="arc-top-github-probes",
                                        daemon=True)
        self._thread.start()

    def _run(self, snapshot) -> None:
        try:
            self._results = self._prober.probe(snapshot, budget=self.budget)
        except Exception as exc:  # never a traceback; the note says the probes failed
            self._error = type(exc).__name__
        finally:
            self._prober.close()

    def results(self) -> list:
        self._thread.join(self.budget + 1.0)
        return list(self._results)

    def summary(self) -> dict:
        done = list(self._results)
        out = {"probed": True, "credentials": len(done),
               "not_evaluated": sum(1 for r in done if not r.evaluated),
               "with_problems": sum(1 for r in done if r.evaluated and r.problems),
               "seconds": round(self._prober.last_elapsed, 2)}
        if self._error:
            out["error"] = self._error
        return out


# ---- the checks, live -----------------------------------------------------------------------------------------
@dataclass
class CheckRun:
    findings: list
    snapshot: object          # the snapshot as it was when the run was handed over (kube.model.Snapshot)
    at: float                 # wall clock
    error: str = ""


class LiveChecks:
    """A Monitor and the monitor's ChecksLoop (log tails within their budget, the GitHub credential probes),
    headless. `start()` returns a one-line problem or ""; `next_run(timeout)` the next check run or None;
    `stop()` ends every thread it started (call it in a `finally`)."""

    def __init__(self, conn, *, github: bool = True, github_timeout: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.conn = conn
        self.github = github
        self.github_timeout = github_timeout
        self.clock = clock
        self.monitor = None
        self._loop = None
        self._runs: queue.Queue[CheckRun] = queue.Queue()
        self.last: CheckRun | None = None
        self.errors: list[str] = []

    def start(self, timeout: float) -> str:
        from arc_top.kube.monitor import Monitor
        from arc_top.tui.findings import ChecksLoop

        self.monitor = Monitor(self.conn)
        self.monitor.start()
        if not self.monitor.wait_synced(timeout):
            return sync_problem(self.monitor, timeout)
        # recheck=10: a fix is verified by the next runs, some of which only new log tails show (the monitor's
        # default waits up to a minute when no object changed).
        self._loop = ChecksLoop(self.monitor, self._deliver, clock=self.clock, github=self.github,
                                github_timeout=self.github_timeout, recheck=10.0)
        self._loop.start()
        return ""

    def _deliver(self, findings: list, version: int, error: str) -> None:
        snapshot = self.monitor.snapshot() if self.monitor is not None else None
        self._runs.put(CheckRun(list(findings), snapshot, self.clock(), error))

    def next_run(self, timeout: float) -> CheckRun | None:
        """The next check run (a failed one carries `error` and no findings), or None after `timeout` s."""
        try:
            run = self._runs.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
        if run.error:
            self.errors.append(run.error)
        else:
            self.last = run
        return run

    def scale_sets(self) -> list[str]:
        from arc_top.kube import model

        if self.monitor is None:
            return []
        return sorted(f"{s.namespace}/{s.name}" for s in self.monitor.snapshot().of(model.SCALE_SETS).values())

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.stop()
        if self.monitor is not None:
            try:
                self.monitor.stop()
            except Exception:  # stopping must never turn an exit into a traceback
                pass
        join_threads()


def on_demo_sandbox(args: argparse.Namespace, scenario: str, run: Callable[[object], int]) -> int:
    """Start the embedded sandbox with `scenario`, connect to it as `--demo` does (all namespaces) and return
    `run(connection)`; the sandbox stops afterwards. Unknown scenario or no connection: one line, exit 2."""
    import os
    import tempfile

    from arc_top.cli.monitor_cmd import connect_checked, fail
    from arc_top.sandbox.run import start_sandbox
    from arc_top.sandbox.scenario import list_scenarios

    names = [name for name, _ in list_scenarios()]
    if scenario not in names:
        return fail(f"unknown scenario {scenario!r}; choose one of: {', '.join(names)}")
    with tempfile.TemporaryDirectory(prefix="arc-top-demo-") as tmp:
        sandbox = start_sandbox(scenario, kubeconfig_path=os.path.join(tmp, "kubeconfig"))
        try:
            args.context, args.namespaces, args.all_namespaces = None, [], True
            conn = connect_checked(args, sandbox.kubeconfig_path)
            return fail(conn) if isinstance(conn, str) else run(conn)
        finally:
            sandbox.stop()

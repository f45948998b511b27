"""`arc-top check`: the monitor's diagnosis without a screen, for scripts and CI.

Three sources: the cluster of a kubeconfig context (the monitor's connection flags), the embedded sandbox
(`--demo`), or saved `kubectl get … -o yaml|json` output (`--from`). Prints a table, JSON or JUnit XML and
exits 0 when no finding reaches `--fail-on`, 1 when one does, 2 on a usage, connection or input error (one line
on stderr; a bad `--from` file too, see kube/untrusted.py), 3 on a bug (cli/crash.py). The kubernetes client
is imported only once a cluster is needed, as for the monitor.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from arc_top.cli.cluster import THREADS_GRACE_S, GitHubProbes, add_connection_flags, join_threads, sync_problem
from arc_top.cli.monitor_cmd import EXIT_USAGE, connect_checked, fail

FORMATS = ("table", "json", "junit")
FAIL_ON = ("error", "warning", "info", "never")
DEMO_SETTLE_S = 8.0           # the incident scenario's failures (churn, listener restarts) have shown by then
POLL_S = 1.0                  # log tails are read this often while settling: churning pods vanish in seconds
GITHUB_TIMEOUT_S = 5.0        # per GitHub request; the probes of one check end within 3x this (+2 s)
CONTROLLER_REFRESH_S = 5.0    # the controller pod's log is read again this often while settling (one pod)
_CONNECTION_FLAGS = {"kubeconfig": "--kubeconfig", "context": "--context", "namespaces": "--namespace",
                     "all_namespaces": "--all-namespaces"}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "check", help="diagnose once and print the findings (table, JSON or JUnit); exit code for CI",
        description="Diagnose ARC once and print the findings. Exit 0: nothing reaches --fail-on; 1: something "
                    "does; 2: usage, connection or input error (one line on stderr); 3: a bug (one line naming a "
                    "crash file).")
    add_connection_flags(p, "check")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--demo", action="store_true", help="check an embedded sandbox cluster (no cluster needed)")
    source.add_argument("--from", dest="files", nargs="+", metavar="FILE",
                        help="diagnose saved 'kubectl get … -o yaml|json' output ('-' = standard input; at most "
                             "64 MiB a file, 256 MiB in all)")
    p.add_argument("--scenario", help="sandbox scenario for --demo (default: incident)")
    p.add_argument("--settle", type=float, metavar="SECONDS",
                   help=f"after the first sync, watch this long before diagnosing (default: {DEMO_SETTLE_S:g} "
                        "with --demo, else 0)")
    p.add_argument("-o", "--output", choices=FORMATS, default="table", help="output format (default: table)")
    p.add_argument("--fail-on", choices=FAIL_ON, default="error",
                   help="exit 1 when a finding is this severe or worse (default: error)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait for the cluster's objects to sync (default: 60)")
    p.add_argument("--no-logs", action="store_true", help="do not read the log tails of failing pods")
    p.add_argument("--jobs-wait", type=float, metavar="SECONDS", default=None,
                   help="ARC408 when jobs have waited this long with no runner to take them (default: 180)")
    gh = p.add_argument_group("GitHub credential probes (read-only GETs from this machine; HTTPS_PROXY/NO_PROXY apply)")
    gh.add_argument("--no-github", action="store_true",
                    help="do not probe the scale sets' GitHub credentials (no request to GitHub, no Secret read)")
    gh.add_argument("--github-timeout", type=float, default=None, metavar="SECONDS",
                    help=f"seconds per GitHub request (default: {GITHUB_TIMEOUT_S:g}); all the probes together take at "
                         "most 3x that (+2 s)")
    gh.add_argument("--github-ca", metavar="FILE",
                    help="PEM CA certificate(s) to trust for GitHub Enterprise Server, besides the system's and the "
                         "scale sets' githubServerTLS ConfigMaps")
    p.add_argument("--ignore", action="append", default=[], metavar="CODE",
                   help="silence this code (repeatable), besides the config file's silence: rules; silenced "
                        "findings are counted (-o json: silenced) but not listed, and do not fail the check")
    p.add_argument("--list", action="store_true", help="list every code (severity, title) and exit")
    p.set_defaults(run=run_check)


# ---- the command --------------------------------------------------------------------------------------------
def _list_codes(output: str) -> int:
    """The catalogue: what users grep, filter and silence by."""
    from arc_top.checks.catalogue import CODES

    if output == "json":
        print(json.dumps([{"code": c.code, "severity": c.severity, "title": c.title, "docs": c.docs,
                           "explanation": c.explanation, "fix": c.fix} for c in CODES.values()], indent=2))
    else:
        for c in CODES.values():
            print(f"{c.code}  {c.severity:<7}  {c.title}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    if args.list:
        return _list_codes(args.output)
    problem = _usage_problem(args)
    if problem:
        return fail(problem)
    if args.files:
        return _check_files(args)
    if args.demo:
        return _check_demo(args)
    conn = connect_checked(args, getattr(args, "kubeconfig", None))
    if isinstance(conn, str):
        return fail(conn)
    source = {"mode": "cluster", "context": conn.context, "server": conn.server, "namespaces": list(conn.namespaces)}
    return _check_cluster(args, conn, source, args.settle or 0.0)


def _usage_problem(args: argparse.Namespace) -> str:
    flags = ", ".join(flag for dest, flag in _CONNECTION_FLAGS.items() if getattr(args, dest, None))
    given = bool(flags)
    if args.files and given:
        return f"--from reads saved files: it takes no {flags}"
    if args.demo and given:
        return f"--demo checks the embedded sandbox: it takes no {flags}"
    if args.scenario and not args.demo:
        return "--scenario needs --demo"
    if args.files and args.settle is not None:
        return "--settle needs a cluster (or --demo): saved files do not change"
    if args.settle is not None and not (0 <= args.settle <= 3600):
        return f"--settle {args.settle:g}: give a number of seconds between 0 and 3600"
    if not 0 < args.timeout <= 3600:
        return f"--timeout {args.timeout:g}: give a number of seconds between 0 and 3600"
    if not 0 < args.github_timeout <= 120:
        return f"--github-timeout {args.github_timeout:g}: give a number of seconds between 0 and 120"
    if args.github_ca and args.no_github:
        return "--github-ca is for the GitHub probes, which --no-github turns off"
    return _read_github_ca(args)


def _read_github_ca(args: argparse.Namespace) -> str:
    """Load --github-ca into args.github_ca_pem; a one-line problem when it cannot be used."""
    args.github_ca_pem = None
    if not args.github_ca:
        return ""
    try:
        with open(args.github_ca, "rb") as f:
            pem = f.read(1_000_000)
    except OSError as exc:
        return f"--github-ca {args.github_ca}: cannot read it ({exc.strerror or exc})"
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        return f"--github-ca {args.github_ca}: not a PEM certificate (-----BEGIN CERTIFICATE-----)"
    args.github_ca_pem = pem
    return ""


def _check_demo(args: argparse.Namespace) -> int:
    from arc_top.cli.cluster import on_demo_sandbox

    scenario = args.scenario or "incident"
    settle = DEMO_SETTLE_S if args.settle is None else args.settle
    return on_demo_sandbox(args, scenario, lambda conn: _check_cluster(
        args, conn, {"mode": "demo", "scenario": scenario}, settle))


def _check_cluster(args: argparse.Namespace, conn, source: dict, settle: float) -> int:
    from arc_top.kube.jobs import JobsReader
    from arc_top.kube.logtail import LogTailer
    from arc_top.kube.monitor import Monitor

    monitor = Monitor(conn)
    monitor.start()
    github = None
    try:
        if not monitor.wait_synced(args.timeout):
            return fail(sync_problem(monitor, args.timeout))
        if not args.no_github:      # from the first sync, while the scenario settles and the log tails are read
            github = GitHubProbes(conn.api_client, monitor.snapshot(), args.github_timeout, args.github_ca_pem)
        # one diagnosis: the controller's log is read again every few seconds while settling (its errors — a
        # registration retried every few seconds — may come after the first read; the monitor reads it every 5 min)
        tailer = None if args.no_logs else LogTailer(conn.api_client, controller_refresh_seconds=CONTROLLER_REFRESH_S)
        tails: list = []
        end = time.monotonic() + settle
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                break
            if tailer is not None:
                tailer.fetch(monitor.snapshot(), time.time(), deadline_seconds=max(1.0, remaining))
            time.sleep(max(0.0, min(POLL_S, end - time.monotonic())))
        snapshot = monitor.snapshot()
        if tailer is not None:
            tails = tailer.fetch(snapshot, time.time(), deadline_seconds=30.0)
            source["logs"] = tailer.stats.as_dict()
        # The listeners' job figures (metrics through the pod proxy, else their logs' statistics lines): ARC408.
        jobs = JobsReader(conn.api_client, max_pods=50).read(snapshot, time.time())
        source["jobs"] = {f"{k[0]}/{k[1]}": {"source": v.source or None, "waiting": v.waiting, "running": v.running,
                                            **({"why": v.why} if v.why else {})} for k, v in sorted(jobs.items())}
    finally:
        monitor.stop()
        probed = github.results() if github is not None else None
        join_threads(THREADS_GRACE_S)
    source["github"] = github.summary() if github is not None else {"probed": False}
    missing = "log tails not read: --no-logs" if args.no_logs else ""
    return _report(args, snapshot, source, time.time(), tails, probed, jobs, missing)


def _check_files(args: argparse.Namespace) -> int:
    from arc_top.kube.offline import OfflineError, load_files

    try:
        offline = load_files(args.files)
    except OfflineError as exc:
        return fail(str(exc))
    now = offline.saved_at or time.time()
    source: dict = {"mode": "files", "files": list(offline.files)}
    if offline.saved_at:
        source["as_of"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(offline.saved_at))
    probed = None if args.no_github else offline.probes        # what an `arc-top dump` recorded of GitHub
    if probed is not None:
        source["github"] = {"probed": True, "credentials": len(probed), "seconds": 0, "recorded": True,
                            "not_evaluated": sum(1 for r in probed if not r.evaluated)}
    if offline.tails:
        source["logs"] = {"tails": len(offline.tails), "pods": len({t.pod_uid for t in offline.tails}),
                          "saved": True}
    missing = "" if offline.tails else ("the saved files hold no log tails (`arc-top dump` saves them; by hand: pod "
                                        "annotations arc-top.io/log.<container>)")
    return _report(args, offline.snapshot, source, now, offline.tails, probed, None, missing)


# ---- output -------------------------------------------------------------------------------------------------
def _report(args: argparse.Namespace, snapshot, source: dict, now: float, tails, probed=None, jobs=None,
            missing_logs: str = "") -> int:
    from arc_top import checks
    from arc_top.checks import report
    from arc_top.checks.silence import split
    from arc_top.kube import model

    arc = snapshot.arc
    if getattr(arc, "arc_version", ""):
        source["arc_version"] = arc.arc_version
    source["not_synced"] = sorted(k for k, s in snapshot.kinds.items() if not s.synced or s.state != "live")
    # A bug in a check is no traceback in a CI log either: cli.main reports it (one line, crash file, exit 3).
    wait = getattr(args, "jobs_wait", None)      # the listeners' figures: live only (saved files have none)
    options = {} if jobs is None else {"jobs": jobs, **({"jobs_wait": wait} if wait is not None else {})}
    findings = (checks.run(snapshot, now=now, logs=tails, missing_logs=missing_logs, **options) if probed is None
                else checks.run(snapshot, now=now, logs=tails, probes=probed, missing_logs=missing_logs, **options))
    findings, silenced = split(findings, getattr(args, "silence", None) or [])
    scale_sets = sorted(f"{s.namespace}/{s.name}" for s in snapshot.of(model.SCALE_SETS).values())
    ascii_only = not _can_encode("✖⚠●…")
    if ascii_only and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")      # cluster text may hold what the terminal cannot show
    text = report.render(args.output, findings, source, fail_on=args.fail_on, width=_width(),
                         ascii_only=ascii_only, notes=_notes(source), scale_sets=scale_sets, silenced=silenced)
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:            # `arc-top check | head`: the reader left; the exit code still counts
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # keeps the final flush quiet
        except (OSError, ValueError):
            pass
    return report.exit_code(findings, args.fail_on)


def _notes(source: dict) -> list[str]:
    notes = []
    if source.get("not_synced"):
        notes.append("No data (checks that need it report ARC000): " + ", ".join(source["not_synced"]) + ".")
    logs = source.get("logs")
    if logs:
        errors = sum(logs.get("errors", {}).values())
        tails, pods = _plural(logs.get("tails", 0), "tail"), logs.get("pods", 0)
        line = (f"Log tails: {tails} saved with {_plural(pods, 'pod')}" if logs.get("saved")
                else f"Log tails: {tails} from {_plural(pods, 'pod read')}")
        if logs.get("skipped_budget"):
            line += f", {_plural(logs['skipped_budget'], 'pod')} left for later by the log budget"
        if errors:
            line += f", {_plural(errors, 'read')} failed (pods gone or no access)"
        notes.append(line + ".")
    github = source.get("github")
    if github and not github.get("probed"):
        notes.append("GitHub credentials not probed (--no-github): ARC104-ARC107 not evaluated.")
    elif github:
        line = f"GitHub credentials: {github.get('credentials', 0)} probed in {github.get('seconds', 0):g} s"
        if github.get("recorded"):
            line = f"GitHub credentials: {github.get('credentials', 0)} probe verdicts recorded in the dump"
        if github.get("not_evaluated"):
            line += f", {github['not_evaluated']} not evaluated (see ARC000)"
        if github.get("error"):
            line += f", the probes failed ({github['error']})"
        notes.append(line + ".")
    return notes


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _width() -> int:
    if sys.stdout.isatty():
        import shutil

        return max(40, min(200, shutil.get_terminal_size((80, 24)).columns))
    return 80


def _can_encode(text: str) -> bool:
    try:
        text.encode(sys.stdout.encoding or "ascii")
        return True
    except (UnicodeEncodeError, LookupError):
        return False


__all__ = ["EXIT_USAGE", "add_parser", "run_check"]

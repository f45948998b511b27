"""`arc-top dump`: one YAML `kind: List` of everything the checks read (kube/dump.py), redacted by default, for
`arc-top check --from` (the same findings as live), `arc-top sandbox --from` (a replica to rehearse on), and an
issue report (safe to paste). Exit 0 when written; 2 on a usage, connection or output error (one line)."""

from __future__ import annotations

import argparse
import os
import sys
import time

from arc_top.cli.cluster import add_connection_flags
from arc_top.cli.monitor_cmd import connect_checked, fail


def add_parser(sub) -> None:
    p = sub.add_parser(
        "dump", help="save what the checks read as one YAML List (Secret values redacted) for check/sandbox --from",
        description="Write the ARC objects, pods (with the log tails of failing pods), PVCs, PVs, StorageClasses, "
                    "NetworkPolicies, namespaces, service accounts, RBAC, events and Secrets that arc-top's checks "
                    "read as one YAML List. `arc-top check --from FILE` gives the same findings as live; "
                    "`arc-top sandbox --from FILE` replays it. Secret values are replaced by placeholders that keep "
                    "only their shape (token prefix, length, whitespace, PEM armour), and tokens, credentials in "
                    "URLs and private keys are masked in every other field and in the log lines.")
    add_connection_flags(p, "dump")
    p.add_argument("-o", "--output", metavar="FILE", default="-",
                   help="file to write (mode 0600; default: standard output)")
    p.add_argument("--no-redact", action="store_true",
                   help="keep Secret values, tokens and log lines exactly as the cluster has them: the file then "
                        "holds live credentials; never share it")
    p.add_argument("--no-logs", action="store_true", help="do not read the log tails of failing pods")
    p.add_argument("--no-github", action="store_true",
                   help="do not probe the scale sets' GitHub credentials (by default their verdicts - expired, "
                        "revoked, missing scope… - are recorded, never a value, for check --from and the replay)")
    p.add_argument("--github-timeout", type=float, default=5.0, metavar="SECONDS",
                   help="seconds per GitHub request (default: 5); the probes take at most 3x that (+2 s)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                   help="per list request (default: 30)")
    p.set_defaults(run=run_dump)


def run_dump(args: argparse.Namespace) -> int:
    if not 0 < args.timeout <= 3600:
        return fail(f"--timeout {args.timeout:g}: give a number of seconds between 0 and 3600")
    if not 0 < args.github_timeout <= 120:
        return fail(f"--github-timeout {args.github_timeout:g}: give a number of seconds between 0 and 120")
    conn = connect_checked(args, getattr(args, "kubeconfig", None))
    if isinstance(conn, str):
        return fail(conn)
    import yaml
    from kubernetes.client.exceptions import ApiException

    from arc_top.kube import dump

    try:
        collected = dump.collect(conn, timeout=args.timeout)
        if not args.no_logs:
            collected.tails = dump.read_tails(conn.api_client, collected.objects)
        if not args.no_github:
            collected.probes = dump.probe_github(conn.api_client, collected.objects, args.github_timeout)
    except ApiException as exc:
        return fail(f"cannot list the cluster's objects: {exc.status} {exc.reason}")
    except Exception as exc:          # the connection went away half way: one line, not a traceback
        if type(exc).__module__.startswith(("urllib3", "kubernetes", "socket", "ssl")) or isinstance(exc, OSError):
            return fail(f"cannot read the cluster: {type(exc).__name__}: {str(exc)[:200]}")
        raise
    now = time.time()
    redacted = not args.no_redact
    doc = dump.build_list(collected, context=conn.context, redacted=redacted, now=now)
    text = dump.header(context=conn.context, namespaces=tuple(conn.namespaces), redacted=redacted, now=now,
                       objects=len(doc["items"]), tails=len(collected.tails), problems=collected.problems,
                       probes="not recorded (--no-github)" if collected.probes is None else
                       f"{len(collected.probes)} (annotation {dump.A_PROBES} on the List)")
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)      # libyaml's emitter: twice as fast
    text += yaml.dump(doc, Dumper=dumper, sort_keys=False, allow_unicode=True, width=120)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    try:
        _write(args.output, text)
    except OSError as exc:
        return fail(f"cannot write {args.output} ({exc.strerror or exc})")
    what = "redacted" if redacted else "NOT redacted: it holds live credentials"
    print(f"arc-top dump: {len(doc['items'])} objects and {len(collected.tails)} log tails written to "
          f"{args.output} ({what})", file=sys.stderr)
    for problem in collected.problems:
        print(f"arc-top dump: could not list {problem}", file=sys.stderr)
    return 0


def _write(path: str, text: str) -> None:
    """Atomically, mode 0600 (the file describes the cluster; with --no-redact it holds its secrets)."""
    tmp = f"{path}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


__all__ = ["add_parser", "run_dump"]

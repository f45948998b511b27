"""`arc-top fix`: fix one finding without the screen — for runbooks, scripts and terminals without a TUI.

Connect; watch the cluster and run the checks as the monitor does (log tails, GitHub credential probes) until the
finding shows; plan the fix from the live objects; access review and server-side dry-run; show the plan (masked
diff, dry-run verdict, kubectl equivalent, Helm snippet); then `--dry-run` stops, `--yes` applies, and otherwise a
person at a terminal is asked. After the apply the checks keep running until the finding has cleared or `--wait`
seconds passed, and the verdict goes to the audit (fixes/audit.py).

Exit codes: 0 applied (and cleared, unless --no-wait) or dry-run accepted; 1 applied but not cleared within
--wait (or only partly applied); 2 refused: usage, connection, no such finding, read-only, forbidden, dry-run
rejected, not confirmed, the object changed (conflict), the write failed.
"""

from __future__ import annotations

import argparse
import sys
import time

from arc_top.cli.cluster import LiveChecks, add_connection_flags
from arc_top.cli.fix_flow import EXIT_NOT_CLEARED, EXIT_OK, Result, apply_and_report, show_and_decide
from arc_top.cli.fix_target import codes_near, finding_matches, parse_target, where_text
from arc_top.cli.fix_view import Output, finding_json, print_json, safe
from arc_top.cli.monitor_cmd import add_github_flags, add_read_only_flag, connect_checked, fail

SETTLE_S = 20.0            # log-based findings (ARC502, ARC403) show after a few check runs
FIRST_RUN_GRACE_S = 60.0   # beyond --settle: how long to wait for the first check run at all
_CONNECTION_FLAGS = {"kubeconfig": "--kubeconfig", "context": "--context", "namespaces": "--namespace",
                     "all_namespaces": "--all-namespaces"}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "fix", help="fix a finding: plan, server-side dry-run, confirm, apply, verify (--list: what can be fixed)",
        description="Fix one finding: the plan from the live objects, an access review and a server-side dry-run, "
                    "the masked diff, then --dry-run stops, --yes applies, otherwise a terminal asks. Exit 0: "
                    "applied and cleared (or dry-run accepted); 1: applied but not cleared within --wait; 2: "
                    "refused (usage, no such finding, read-only, forbidden, rejected, conflict).")
    p.add_argument("code", nargs="?", metavar="CODE", help="the finding's code (ARC501); see --list")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--scale-set", metavar="NAMESPACE/NAME", help="the finding's scale set")
    which.add_argument("--target", metavar="KIND/NAMESPACE/NAME",
                       help="the finding's object: ars|er|pod|secret/NAMESPACE/NAME, or namespace/NAME "
                            "(also namespace//NAME)")
    p.add_argument("--variant", metavar="NAME", help="which variant of the fix (default: the first listed)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true",
                      help="show the plan and the server's dry-run verdict; write nothing (exit 0 if accepted)")
    mode.add_argument("-y", "--yes", action="store_true", help="apply without asking")
    wait = p.add_mutually_exclusive_group()
    wait.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                      help="after the apply, watch this long for the finding to clear (default: 60)")
    wait.add_argument("--no-wait", action="store_true", help="do not wait for the finding to clear")
    p.add_argument("-o", "--output", choices=("text", "json", "patch", "yaml"), default="text",
                   help="output format (default: text); with --from also patch (kubectl commands) or yaml (the "
                        "objects after the fix)")
    p.add_argument("--from", dest="files", nargs="+", metavar="FILE",
                   help="plan from saved 'kubectl get … -o yaml|json' output or an arc-top dump, without a cluster "
                        "('-' = standard input); nothing is sent anywhere")
    p.add_argument("--list", action="store_true", help="list the codes arc-top can fix, their fixes and variants")
    new = p.add_argument_group("a rotated credential (ARC104–ARC107): never a value on the command line; without "
                               "these, a terminal asks (nothing is echoed)")
    new.add_argument("--token-stdin", action="store_true",
                     help="read the new GitHub token from standard input (surrounding whitespace is dropped)")
    new.add_argument("--app-id", metavar="ID", help="the new GitHub App's id")
    new.add_argument("--installation-id", metavar="ID", help="the new GitHub App's installation id")
    new.add_argument("--private-key-file", metavar="FILE", help="the new GitHub App's private key (.pem)")
    p.add_argument("--settle", type=float, default=SETTLE_S, metavar="SECONDS",
                   help=f"how long to wait for the finding to show (default: {SETTLE_S:g}; log-based findings "
                        "take a few check runs)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait for the cluster's objects to sync (default: 60)")
    add_connection_flags(p, "watch")
    p.add_argument("--demo", action="store_true", help="fix a finding on an embedded sandbox cluster (a rehearsal)")
    p.add_argument("--scenario", help="sandbox scenario for --demo (default: kube-permissions)")
    add_github_flags(p, keep_given=True)
    add_read_only_flag(p, keep_given=True)
    p.set_defaults(run=run_fix)


# ---- the catalogue ----------------------------------------------------------------------------------------------
def list_fixes(output: str) -> int:
    from arc_top.checks import remedies

    entries = remedies.catalogue()
    if output == "json":
        print_json({"fixes": entries})
        return EXIT_OK
    width = max((len(", ".join(e["variants"])) for e in entries), default=8)
    print(f"{'CODE':<8}{'VARIANTS':<{width + 2}}FIX")
    for e in entries:
        print(f"{e['code']:<8}{', '.join(e['variants']):<{width + 2}}{e['fix']}")
    return EXIT_OK


# ---- which finding ----------------------------------------------------------------------------------------------
def _usage_problem(args: argparse.Namespace) -> str:
    from arc_top.checks import remedies
    from arc_top.checks.catalogue import CODES

    given = ", ".join(flag for dest, flag in _CONNECTION_FLAGS.items() if getattr(args, dest, None))
    if args.files and (given or args.demo):
        return f"--from plans from the files: it takes no {given or '--demo'}"
    if args.demo and given:
        return f"--demo fixes the embedded sandbox: it takes no {given}"
    if args.scenario and not args.demo:
        return "--scenario needs --demo"
    if not args.code:
        return "name the finding's code: arc-top fix CODE --scale-set NAMESPACE/NAME (arc-top fix --list)"
    args.code = args.code.upper()
    if args.code not in remedies.REMEDIES:
        fixable = ", ".join(sorted(remedies.REMEDIES))
        if args.code in CODES:
            return f"arc-top has no fix for {args.code}; it fixes {fixable}"
        return f"unknown code {args.code}; arc-top fixes {fixable}"
    if not args.scale_set and not args.target:
        return (f"which {args.code} finding? pass --scale-set NAMESPACE/NAME or --target KIND/NAMESPACE/NAME")
    if args.scale_set:
        ns, _, name = args.scale_set.partition("/")
        if not ns or not name or "/" in name:
            return f"--scale-set {args.scale_set}: give NAMESPACE/NAME"
    else:
        parsed = parse_target(args.target)
        if isinstance(parsed, str):
            return parsed
        args.subject = parsed
    if not 0 < args.wait <= 3600:
        return f"--wait {args.wait:g}: give a number of seconds between 0 and 3600"
    if not 0 <= args.settle <= 3600:
        return f"--settle {args.settle:g}: give a number of seconds between 0 and 3600"
    if not 0 < args.timeout <= 3600:
        return f"--timeout {args.timeout:g}: give a number of seconds between 0 and 3600"
    if not 0 < args.github_timeout <= 120:
        return f"--github-timeout {args.github_timeout:g}: give a number of seconds between 0 and 120"
    return ""


def _find(live: LiveChecks, args: argparse.Namespace):
    """(finding, all findings) once a check run shows it; (None, the last run's findings) after --settle."""
    start = time.monotonic()
    end = start + args.settle
    findings: list = []
    while True:
        now = time.monotonic()
        limit = end if live.last is not None else start + args.settle + FIRST_RUN_GRACE_S
        if now >= limit:
            return None, findings
        run = live.next_run(min(1.0, limit - now))
        if run is None or run.error:
            continue
        findings = run.findings
        hits = sorted((f for f in findings if finding_matches(args, f)), key=lambda f: f.sort_key())
        if hits:
            return hits[0], findings


def _namespaces(args: argparse.Namespace) -> None:
    """Without -n/-A: watch the namespace the finding is in (not the context's default)."""
    if getattr(args, "namespaces", None) or getattr(args, "all_namespaces", False):
        return
    if args.scale_set:
        args.namespaces = [args.scale_set.split("/", 1)[0]]
    elif args.subject[1]:
        args.namespaces = [args.subject[1]]
    elif args.subject[0] == "Namespace":
        args.namespaces = [args.subject[2]]


# ---- a rotated credential -----------------------------------------------------------------------------------------
MAX_CREDENTIAL_BYTES = 64 * 1024


def read_credential(args: argparse.Namespace, fields: tuple[str, ...]):
    """The new credential as a `Pasted` (from --token-stdin, the --app-* flags, or a terminal that does not echo),
    or a one-line problem. Never from a command-line value: process arguments are visible to every local user."""
    from arc_top.checks.fixplan import Pasted

    app = [args.app_id, args.installation_id, args.private_key_file]
    if args.token_stdin and any(app):
        return "give --token-stdin or the --app-id/--installation-id/--private-key-file trio, not both"
    if args.token_stdin:
        token = sys.stdin.read(MAX_CREDENTIAL_BYTES + 1)
        if len(token) > MAX_CREDENTIAL_BYTES:
            return "standard input holds more than a token (64 KiB or more)"
        return Pasted({"github_token": token.strip()}) if token.strip() else "standard input held no token"
    if any(app):
        if not all(app):
            return "a GitHub App needs --app-id, --installation-id and --private-key-file"
        key = _private_key(args.private_key_file)
        if key.startswith("!"):
            return key[1:]
        return Pasted({"github_app_id": args.app_id.strip(), "github_app_installation_id":
                       args.installation_id.strip(), "github_app_private_key": key})
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return ("the new credential is needed: pass --token-stdin (the token on standard input) or --app-id, "
                "--installation-id and --private-key-file")
    import getpass

    try:
        if "github_token" in fields:
            token = getpass.getpass("New GitHub token (not echoed): ", stream=sys.stderr)
            return Pasted({"github_token": token.strip()}) if token.strip() else "no token given"
        print("New GitHub App credential:", file=sys.stderr)
        app_id = input("  app id: ").strip()
        installation = input("  installation id: ").strip()
        key = _private_key(input("  private key file (.pem): ").strip())
    except (EOFError, KeyboardInterrupt):
        return "no credential given"
    if key.startswith("!"):
        return key[1:]
    if not app_id or not installation:
        return "a GitHub App needs its app id and installation id"
    return Pasted({"github_app_id": app_id, "github_app_installation_id": installation,
                   "github_app_private_key": key})


def _private_key(path: str) -> str:
    """The PEM text of `path`, or "!why not"."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(MAX_CREDENTIAL_BYTES + 1)
    except OSError as exc:
        return f"!--private-key-file {path}: cannot read it ({exc.strerror or exc})"
    if len(text) > MAX_CREDENTIAL_BYTES or "PRIVATE KEY-----" not in text:
        return f"!--private-key-file {path}: not a PEM private key"
    return text.strip() + "\n"


# ---- the command ------------------------------------------------------------------------------------------------
def run_fix(args: argparse.Namespace) -> int:
    if args.list:
        return list_fixes(args.output)
    args.subject = None
    problem = _usage_problem(args)
    if problem:
        return fail(problem)
    if args.files:
        from arc_top.cli.fix_saved import fix_from_files

        return fix_from_files(args)
    if args.output in ("patch", "yaml"):
        return fail(f"-o {args.output} needs --from FILE (against a cluster, use --dry-run, or -o json)")
    if args.demo:
        return _fix_demo(args)
    _namespaces(args)
    conn = connect_checked(args, getattr(args, "kubeconfig", None))
    if isinstance(conn, str):
        return fail(conn)
    return _fix(args, conn)


def _fix_demo(args: argparse.Namespace) -> int:
    from arc_top.cli.cluster import on_demo_sandbox

    return on_demo_sandbox(args, args.scenario or "kube-permissions", lambda conn: _fix(args, conn))


def _fix(args: argparse.Namespace, conn) -> int:
    live = LiveChecks(conn, github=not args.no_github, github_timeout=args.github_timeout)
    try:
        return _fix_live(args, conn, live)
    finally:
        live.stop()


def _fix_live(args: argparse.Namespace, conn, live: LiveChecks) -> int:
    from arc_top.checks.fixplan import PlanError
    from arc_top.checks.remedy_credentials import NeedsInput
    from arc_top.fixes.session import Fixer, Refused
    from arc_top.kube.remedy import WriteError

    out = Output(args.output)
    problem = live.start(args.timeout)
    if problem:
        return fail(problem)
    if args.scale_set and args.scale_set not in live.scale_sets():
        known = ", ".join(live.scale_sets()) or "none"
        return fail(f"no scale set {args.scale_set} in context {conn.context} (scale sets: {known})")
    finding, findings = _find(live, args)
    if finding is None:
        if live.last is None:
            why = live.errors[-1] if live.errors else "no check run finished"
            return fail(f"the checks did not run ({why})")
        near = codes_near(args, findings)
        return fail(f"no {args.code} finding for {where_text(args)} (findings there: {', '.join(near) or 'none'})")
    fixer = Fixer.for_connection(conn, read_only=bool(getattr(args, "read_only", False)),
                                 github_timeout=args.github_timeout)
    result = Result({"command": "fix", "context": conn.context, "server": conn.server,
                     "read_only": fixer.read_only, "finding": finding_json(finding), "plan": None,
                     "dry_run": None, "outcome": None, "message": "", "audit_id": None, "verification": None})
    try:
        try:
            plan = fixer.plan(finding, findings)
        except NeedsInput as asked:
            pasted = read_credential(args, asked.fields)
            if isinstance(pasted, str):
                return fail(f"cannot fix {finding.code} on {where_text(args)}: {asked}: {pasted}")
            if not out.json:
                out.line("Checking the new credential with GitHub (nothing is written unless it passes)…")
            plan = fixer.plan(finding, findings, pasted=pasted)
        try:
            plan.variant(args.variant)
        except KeyError as exc:
            return fail(str(exc.args[0]) if exc.args else f"no variant {args.variant!r}")
        preview = fixer.preview(plan, args.variant, findings)
        target = preview.plan.target.label()
        code = show_and_decide(args, out, result, preview, plan.title, finding=finding,
                               question=f"Apply {preview.variant.name} to {target} on context {conn.context} "
                                        f"({conn.server})?")
    except PlanError as exc:
        return fail(f"cannot fix {finding.code} on {where_text(args)}: {exc}")
    except Refused as exc:
        return fail(f"cannot fix {finding.code} on {where_text(args)}: {exc}")
    except WriteError as exc:
        return fail(f"cannot plan {finding.code}: {exc.message}")
    if code is not None:
        return code
    applied = apply_and_report(fixer, out, result, result.preview)
    if isinstance(applied, int):
        return applied
    exit_code = EXIT_NOT_CLEARED if applied.outcome == "partial" else EXIT_OK
    if args.no_wait:
        result.doc["verification"] = None
        return result.finish(out, exit_code)
    verification = _verify(live, out, finding, applied, args.wait)
    fixer.record_verification(applied, verification.as_json())
    result.doc["verification"] = verification.as_json()
    out.line(verification.message())
    if verification.state != "cleared":
        for line in verification.evidence[:3]:
            out.line(f"  {line}")
        exit_code = EXIT_NOT_CLEARED
    return result.finish(out, exit_code)


def _verify(live: LiveChecks, out: Output, finding, applied, wait: float):
    """Feed each check run made after the apply to a Verification until it has a verdict; a progress line each
    time what it says changes."""
    from arc_top.fixes.verify import WAITING, Verification

    verification = Verification.of(finding, applied.at, wait)
    shown = ""
    while verification.state == WAITING:
        run = live.next_run(1.0)
        if run is not None and not run.error and run.at >= applied.at:
            verification.update(run.findings, run.snapshot, run.at)
        else:
            verification.timed_out(time.time())
        if verification.state == WAITING:
            said = verification.message()
            if said != shown:
                shown = said
                out.line(safe(verification.message(time.time())))
    return verification

"""`arc-top undo` (revert a fix from the audit) and `arc-top audit` (list the fixes applied from this machine).

Undo reads the fix's audit record, plans the inverse patches — each guarded by `test` ops that the fields still
hold what the fix wrote, so a field someone changed since is never clobbered — and then goes through the same
preview, dry-run, confirmation and apply as `arc-top fix`. Only against the cluster the fix was applied to: the
record names its server.
"""

from __future__ import annotations

import argparse

from arc_top.cli.cluster import add_connection_flags
from arc_top.cli.fix_flow import EXIT_OK, Result, apply_and_report, show_and_decide
from arc_top.cli.fix_view import Output, print_json, safe
from arc_top.cli.monitor_cmd import add_read_only_flag, connect_checked, fail


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "undo", help="undo a fix from the audit (the newest by default): preview, dry-run, confirm, apply",
        description="Undo a fix recorded in the audit: the inverse patches, guarded by tests that the fields "
                    "still hold what the fix wrote. Exit 0: undone (or dry-run accepted); 2: refused.")
    p.add_argument("id", nargs="?", metavar="ID", help="the fix's audit id (see 'arc-top audit')")
    p.add_argument("--last", action="store_true", help="the newest applied fix not undone yet (the default)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="show the undo and the server's dry-run verdict only")
    mode.add_argument("-y", "--yes", action="store_true", help="undo without asking")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text", help="output format (default: text)")
    add_connection_flags(p, "use")
    add_read_only_flag(p, keep_given=True)
    p.set_defaults(run=run_undo)

    a = sub.add_parser("audit", help="list the fixes applied from this machine (the audit file)",
                       description="List the fixes in the audit file ($XDG_STATE_HOME/arc-top/audit.jsonl, "
                                   "default ~/.local/state/arc-top/audit.jsonl): id, time, user, context, code, "
                                   "target, variant, outcome, verification, undone.")
    a.add_argument("-o", "--output", choices=("text", "json"), default="text", help="output format (default: text)")
    a.set_defaults(run=run_audit)


# ---- undo -------------------------------------------------------------------------------------------------------
def run_undo(args: argparse.Namespace) -> int:
    from arc_top.fixes.audit import AuditLog

    if args.id and args.last:
        return fail("give a fix id or --last, not both")
    audit = AuditLog()
    record = audit.find(args.id or None)
    if record is None:
        if args.id:
            return fail(f"no fix {args.id} in the audit ({audit.path}): see 'arc-top audit'")
        return fail(f"no applied fix left to undo in the audit ({audit.path})")
    conn = connect_checked(args, getattr(args, "kubeconfig", None))
    if isinstance(conn, str):
        return fail(conn)
    server, context = str(record.get("server") or ""), str(record.get("context") or "")
    if server and conn.server.rstrip("/") != server.rstrip("/"):
        return fail(f"fix {record['id']} was applied to {server} (context {context}), but context {conn.context} "
                     f"is {conn.server}: pass --context for that cluster; nothing was sent")
    return _undo(args, conn, record, audit)


def _undo(args: argparse.Namespace, conn, record: dict, audit) -> int:
    from arc_top.checks.fixplan import PlanError
    from arc_top.fixes.session import Fixer, Refused
    from arc_top.kube.remedy import WriteError

    out = Output(args.output)
    fixer = Fixer.for_connection(conn, read_only=bool(getattr(args, "read_only", False)), audit=audit)
    result = Result({"command": "undo", "context": conn.context, "server": conn.server,
                     "read_only": fixer.read_only, "undo_of": _record_json(record), "plan": None,
                     "dry_run": None, "outcome": None, "message": "", "audit_id": None})
    fix_id, code = record["id"], record.get("code", "")
    try:
        preview = fixer.undo_preview(record)
        target = preview.plan.target.label()
        title = f"Undo fix {fix_id} ({code} {record.get('variant', '')}) · {target}"
        exit_code = show_and_decide(args, out, result, preview, title,
                                    question=f"Undo fix {fix_id} on {target}, context {conn.context} "
                                             f"({conn.server})?")
    except Refused as exc:
        return fail(str(exc))
    except PlanError as exc:
        return fail(f"cannot undo fix {fix_id}: {exc}")
    except WriteError as exc:
        return fail(f"cannot undo fix {fix_id}: {exc.message}")
    if exit_code is not None:
        return exit_code
    applied = apply_and_report(fixer, out, result, result.preview)
    if isinstance(applied, int):
        return applied
    if applied.outcome == "applied":
        out.line(f"fix {fix_id} undone")
    return result.finish(out, EXIT_OK if applied.outcome == "applied" else 1)


def _record_json(record: dict) -> dict:
    return {k: record.get(k) for k in ("id", "time", "user", "context", "server", "code", "target", "variant",
                                       "summary", "outcome")}


# ---- audit ------------------------------------------------------------------------------------------------------
def run_audit(args: argparse.Namespace) -> int:
    from arc_top.fixes.audit import AuditLog

    audit = AuditLog()
    records = audit.records()
    if args.output == "json":
        print_json({"audit_file": audit.path, "fixes": records})
        return EXIT_OK
    if not records:
        print(f"no fix recorded in {audit.path}")
        return EXIT_OK
    rows = [("ID", "TIME", "USER", "CONTEXT", "CODE", "TARGET", "VARIANT", "OUTCOME", "VERIFIED", "UNDONE")]
    for r in records:
        rows.append((r.get("id", ""), r.get("time", ""), r.get("user", ""), r.get("context", ""), r.get("code", ""),
                     _target_text(r.get("target")), r.get("variant", ""), r.get("outcome", ""),
                     _verified_text(r.get("verification")), r.get("undone") or ("-" if r.get("undo_available")
                                                                                  else "cannot")))
    rows = [tuple(safe(c) for c in row) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print(f"({len(records)} fix{'es' if len(records) != 1 else ''} in {audit.path})")
    return EXIT_OK


def _target_text(t) -> str:
    if not isinstance(t, dict):
        return ""
    where = f"{t.get('namespace')}/{t.get('name')}" if t.get("namespace") else str(t.get("name", ""))
    return f"{t.get('kind', '')} {where}"


def _verified_text(v) -> str:
    if not isinstance(v, dict):
        return "-"
    if v.get("state") == "cleared":
        return f"cleared in {v.get('cleared_after_s', 0):.0f} s"
    if v.get("state") == "present":
        return f"present after {v.get('waited_s') or 0:.0f} s"
    return str(v.get("state", "-"))


__all__ = ["add_parsers", "run_audit", "run_undo"]

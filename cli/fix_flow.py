"""The part `arc-top fix` and `arc-top undo` share after a preview: decide (dry-run only, --yes, or ask on a
terminal), apply, and say how it went.

Conflicts are the Fixer's (fixes/session.py): every write carries preconditions; an object that moved between
its read and its dry-run or write is planned again from the live object, and when the change it would make is not
exactly the one shown, nothing is written and `Stale` carries the new preview, which is shown here. A write is
never retried blindly.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from arc_top.cli.fix_view import Output, dry_run_json, plan_json, print_json, safe, show_preview
from arc_top.cli.monitor_cmd import fail

EXIT_OK, EXIT_NOT_CLEARED = 0, 1


@dataclass
class Result:
    """What a fix or undo command prints as `-o json`, built as it goes."""
    doc: dict = field(default_factory=dict)
    preview: object = None                # the preview last shown

    def fail(self, out: Output, message: str, outcome: str = "refused") -> int:
        """Exit 2 with one line on stderr (and, with -o json, the document so far on stdout)."""
        if out.json and self.doc:
            self.doc.update(outcome=outcome, message=safe(message))
            print_json(self.doc)
        return fail(safe(message))

    def finish(self, out: Output, code: int) -> int:
        if out.json:
            print_json(self.doc)
        return code


def decide(args: argparse.Namespace, out: Output, result: Result, preview, question: str) -> int | None:
    """After the plan was shown: an exit code when the command ends here (dry-run, refusal, no answer), None to
    apply."""
    result.doc["dry_run"] = dry_run_json(preview)
    if args.dry_run:
        if preview.accepted:
            result.doc.update(outcome="dry-run", message=preview.dry_run_verdict)
            return result.finish(out, EXIT_OK)
        return result.fail(out, preview.why_not() or preview.dry_run_verdict, "dry-run")
    if not preview.can_apply:
        return result.fail(out, f"not applied: {preview.why_not()}")
    if not args.yes:
        if not out.can_ask():
            return result.fail(out, "not applied: no terminal to confirm; pass --yes", "not-confirmed")
        if not out.ask(question):
            return result.fail(out, "not applied: not confirmed", "not-confirmed")
    return None


def show_and_decide(args, out: Output, result: Result, preview, title: str, question: str,
                    finding=None) -> int | None:
    result.doc["plan"] = plan_json(preview)
    show_preview(out, preview, title, finding)
    code = decide(args, out, result, preview, question)
    result.preview = preview
    return code


def apply_and_report(fixer, out: Output, result: Result, preview):
    """Apply; an exit code when it ends here (refused, stale, failed), else the Applied."""
    from arc_top.fixes.session import Refused, Stale

    stages = preview.variant.stages()
    labels = [f"step {k} of {len(stages)} ({label or 'write'})" for k, (label, ops) in enumerate(stages, 1)
              for _op in ops]

    def progress(i: int, step, state: str) -> None:
        """A multi-step fix says each write as it is answered (text output; -o json gets `steps`)."""
        if len(stages) > 1 and state != "sending" and not out.json:
            mark = "✔" if state == "done" else "✖"
            out.line(f"{mark} {labels[i]}: {step.op.headline()}" + ("" if state == "done" else ": failed"))

    try:
        applied = fixer.apply(preview, progress=progress)
    except Refused as exc:
        return result.fail(out, f"not applied: {exc}")
    except Stale as exc:
        result.doc["new_plan"] = plan_json(exc.preview)
        result.doc["dry_run"] = dry_run_json(exc.preview)
        out.line("The object changed since the preview; the change would now be:")
        out.diff(exc.preview.diff_lines())
        out.line(exc.preview.dry_run_verdict)
        return result.fail(out, "the object changed since the preview; nothing was written: review the new diff "
                                "and run the command again", "stale")
    result.doc.update(outcome=applied.outcome, message=safe(applied.message()), audit_id=applied.id,
                      steps=[{"step": label, "done": done, "writes": total}
                             for label, done, total in applied.stage_states()])
    if applied.outcome == "failed":
        return result.fail(out, applied.message(), "failed")
    out.line(applied.message())
    if applied.error and applied.outcome == "applied":
        out.line(f"note: {applied.error}")
    return applied

"""How `arc-top fix` and `arc-top undo` show a fix: the plan as text (the diff coloured on a terminal only) or as
one JSON document, the confirmation question, progress lines.

Everything shown comes from fixes/ already masked (Secret values as `ghp_…a1b2⏎`); what the server says (dry-run
rejections, errors) and what the cluster holds is cleaned once more here: no terminal escape, no control
character, no token-looking string reaches the screen, a pipe or a CI log.
"""

from __future__ import annotations

import os
import sys

from arc_top.core.text import clean_line, redact

_COLOURS = {"+": "32", "-": "31", "@": "36", "#": "1"}


def safe(text: object) -> str:
    """One display line: escapes and control characters out, line breaks folded to spaces, tabs to four (the
    indentation kept), credentials masked."""
    return redact(clean_line(("" if text is None else str(text)).replace("\t", "    ")))


class Output:
    """Text on stdout (progress too), or one JSON document at the end (nothing else on stdout)."""

    def __init__(self, output: str) -> None:
        self.json = output == "json"
        self.colour = (not self.json and _isatty(sys.stdout) and not os.environ.get("NO_COLOR")
                       and os.environ.get("TERM", "") != "dumb")

    def line(self, text: str = "") -> None:
        if not self.json:
            _write(sys.stdout, safe(text) + "\n")

    def lines(self, texts, indent: str = "  ") -> None:
        for text in texts:
            self.line(indent + text)

    def diff(self, lines) -> None:
        if self.json:
            return
        for raw in lines:
            text = "  " + safe(raw)
            code = _COLOURS.get(raw[:1]) if self.colour and raw[:3] not in ("---", "+++") else None
            if self.colour and raw[:3] in ("---", "+++"):
                code = "1"
            _write(sys.stdout, f"\x1b[{code}m{text}\x1b[0m\n" if code else text + "\n")

    def can_ask(self) -> bool:
        """A person to ask: stdin and the stream the question goes to are terminals."""
        return _isatty(sys.stdin) and _isatty(self._question_stream())

    def ask(self, question: str) -> bool:
        stream = self._question_stream()
        _write(stream, safe(question) + " [y/N] ")
        try:
            answer = sys.stdin.readline()
        except (OSError, ValueError):
            return False
        return answer.strip().lower() in ("y", "yes")

    def _question_stream(self):
        return sys.stderr if self.json else sys.stdout


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _write(stream, text: str) -> None:
    try:
        stream.write(text)
        stream.flush()
    except UnicodeEncodeError:
        stream.write(text.encode(stream.encoding or "ascii", "replace").decode(stream.encoding or "ascii"))
        stream.flush()
    except BrokenPipeError:      # `arc-top fix … | head`: the reader left; the exit code still counts
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        except (OSError, ValueError):
            pass


# ---- the plan ---------------------------------------------------------------------------------------------------
def show_preview(out: Output, preview, title: str, finding=None) -> None:
    """Title, variants (the chosen one marked), summary, warning, risks, the masked diff, the dry-run verdict,
    the kubectl equivalent and the Helm snippet."""
    plan, chosen = preview.plan, preview.variant
    out.line(title)
    if finding is not None:
        out.line(f"  finding  {finding.code} {finding.severity}: {finding.title}")
        for line in finding.evidence[:3]:
            out.line(f"           {line}")
    out.line(f"  cluster  {preview.context} ({preview.server})")
    out.line()
    if len(plan.variants) > 1 or not preview.undo_of:
        out.line("Variants (--variant NAME):")
        width = max(len(v.name) for v in plan.variants)
        for v in plan.variants:
            mark = "*" if v.name == chosen.name else " "
            out.line(f"  {mark} {v.name:<{width}}  {v.detail or v.summary}"
                     + ("   (chosen)" if v.name == chosen.name else ""))
        if chosen.detail:
            out.line(f"Change: {chosen.summary}")
    else:
        out.line(f"Change: {chosen.summary}")
    for note in plan.notes:
        out.line(f"Note: {note}")
    if chosen.warning:
        out.line()
        out.line(f"Warning: {chosen.warning}")
    if chosen.risks:
        out.line()
        out.line("Risks:")
        out.lines(f"- {r}" for r in chosen.risks)
    out.line()
    out.line("Changes (secret values masked):")
    out.diff(preview.diff_lines())
    out.line()
    out.line(preview.dry_run_verdict)
    for step in preview.steps:
        if step.verdict and len(preview.steps) > 1:
            out.line(f"  {step.op.headline()}: {step.verdict}")
    if chosen.kubectl:
        out.line()
        out.line("kubectl equivalent:")
        out.lines(chosen.kubectl)
    if chosen.helm:
        out.line()
        out.line("Helm values (where the change is kept: see the snippet's first line):")
        out.lines(chosen.helm.rstrip("\n").splitlines())
    out.line()


# ---- JSON ------------------------------------------------------------------------------------------------------
def target_json(t) -> dict:
    return {"api_version": t.api_version, "kind": t.kind, "namespace": t.namespace, "name": t.name}


def finding_json(f) -> dict:
    s = f.subject
    return {"code": f.code, "severity": f.severity, "title": safe(f.title), "scale_set": f.scale_set,
            "subject": {"kind": s.kind, "namespace": s.namespace, "name": s.name, "uid": s.uid},
            "evidence": [safe(e) for e in f.evidence]}


def plan_json(preview) -> dict:
    from arc_top.fixes.session import op_json

    plan, chosen = preview.plan, preview.variant
    return {"title": plan.title, "code": plan.code, "target": target_json(plan.target),
            "helm_release": plan.helm_release, "notes": [safe(n) for n in plan.notes],
            "variants": [{"name": v.name, "summary": v.summary, **({"detail": v.detail} if v.detail else {})}
                         for v in plan.variants],
            "chosen": chosen.name, "summary": chosen.summary,
            "operations": [op_json(s.op) for s in preview.steps],
            "diff": [safe(line) for line in preview.diff_lines()],
            "kubectl": list(chosen.kubectl), "helm": chosen.helm, "risks": list(chosen.risks),
            "warning": chosen.warning}


def dry_run_json(preview) -> dict:
    return {"verdict": safe(preview.dry_run_verdict), "accepted": preview.accepted,
            "sent": not (preview.read_only or preview.denied),
            "denied": safe(preview.denied), "rejected": safe(preview.rejected),
            "steps": [{"operation": s.op.headline(), "verdict": safe(s.verdict)} for s in preview.steps]}


def print_json(doc: dict) -> None:
    import json

    _write(sys.stdout, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")

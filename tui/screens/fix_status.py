"""The fix screen's two state blocks as text: the choice (finding, variant, or the fix an undo undoes) and the
status (progress, dry-run verdict, warning, what `enter` does, the outcome, the live verification). Made from the
screen's state — `phase`, `preview`, `note`, `applied`, `watch`, … — so they are easy to test and to read apart
from the screen's keys and workers."""

from __future__ import annotations

from rich.text import Text

from arc_top.tui.fixing import CLEARED, PRESENT, verdict_line
from arc_top.tui.screens.fix_text import (
    apply_text,
    evidence_text,
    joined,
    line,
    variants_text,
    verdict_text,
    warning_text,
)
from arc_top.widgets.text import DEFAULT_PALETTE, ERROR, INFO, MUTED, OK, Palette, safe_text

PLANNING, PREVIEWING, READY, FAILED, APPLYING, APPLIED = "planning", "previewing", "ready", "failed", "applying", \
    "applied"


def choice_text(screen, palette: Palette = DEFAULT_PALETTE) -> Text:
    """The fix screen's choice lines: which of the row's findings (tab), which variant (v), or what is undone."""
    parts = []
    if len(screen.findings) > 1:
        f = screen.finding
        head = Text(end="")
        head.append(f"finding  {screen.index + 1} of {len(screen.findings)}: ", "dim")
        head.append_text(safe_text(f"{f.code} {f.title}"))
        head.append("   (tab: next)", "dim")
        parts.append(head)
    if screen.undo_of is not None:
        undo = Text(end="")
        undo.append("undoes   ", "dim")
        undo.append_text(safe_text(f"fix {screen.undo_of.id}: {screen.undo_of.preview.variant.summary}"))
        parts.append(undo)
    elif screen.plan is not None:
        parts.append(variants_text(screen.plan, screen.variant or screen.plan.variants[0].name, palette))
    return joined(parts)


def status_text(screen, palette: Palette = DEFAULT_PALETTE, now: float | None = None) -> Text:
    """The fix screen's status block: progress, the verdict, the warning, what enter does, the outcome and the
    verification — from the screen's state (phase, preview, note, applied, watch)."""
    p = palette
    out: list[Text] = []
    if screen.phase == PLANNING and getattr(screen, "pasted", None) is not None:
        out.append(line(INFO, "checking the new credential with GitHub… (nothing is written unless it passes)", p))
    elif screen.phase == PLANNING:
        out.append(line(INFO, "planning… (reading the live objects)", p))
    elif screen.phase == PREVIEWING:
        out.append(line(INFO, "reading the live objects… (read-only: no dry-run)" if screen.read_only
                        else "dry-run… (access review and server-side dry-run)", p))
    elif screen.phase == FAILED:
        what = "cannot undo it" if screen.undo_of is not None else "cannot plan this fix"
        out.append(line(ERROR, f"{what}: {screen.error}", p))
        out.append(line(INFO, "r: try again", p))
    if screen.preview is not None and screen.phase in (READY, APPLYING, APPLIED, PREVIEWING):
        preview = screen.preview
        if screen.phase != PREVIEWING:
            out.append(verdict_text(preview, p))
        if preview.variant.warning and screen.phase not in (APPLIED, PREVIEWING):
            out.append(warning_text(preview.variant.warning, p))
        if screen.phase == READY:
            out.append(apply_text(preview, preview.context, p))
    if screen.note is not None and screen.phase in (READY, FAILED):
        out.append(screen.note)
    if screen.phase == APPLYING:
        out.append(line(INFO, "applying…", p))
        out += step_lines(screen.preview, getattr(screen, "progress", {}), p)
    if screen.phase == APPLIED and screen.applied is not None:
        ok = screen.applied.outcome == "applied"
        out.append(line(OK if ok else ERROR, screen.applied.message(), p, bold=not ok))
        written = {id(step) for step in screen.applied.done}
        done = {i for i, step in enumerate(screen.applied.preview.steps) if id(step) in written}
        failed = len(screen.applied.done) if not ok else -1
        out += step_lines(screen.applied.preview, {**{i: "done" for i in done}, failed: "failed"}, p)
        if screen.undo_of is not None and screen.applied.done:
            code = screen.undo_of.preview.plan.code
            out.append(line(INFO, f"undone: {code}'s cause is back, and the checks will say so again", p))
        elif not screen.applied.done:
            out.append(line(INFO, "nothing was written: r plans again", p))
        out += verification_lines(screen, p, now)
    return joined(out)


def step_lines(preview, progress: dict[int, str], palette: Palette = DEFAULT_PALETTE) -> list[Text]:
    """A multi-step fix's steps and how far each got: `✔ step 1 of 2 change the template: done`,
    `… step 2 of 2 replace the stuck runners: 2 of 5 writes`, `✖ … failed at write 3 of 5`, `· … not started`.
    (Nothing for a fix of one step: its one line says it.)"""
    if preview is None:
        return []
    stages = preview.variant.stages()
    if len(stages) < 2:
        return []
    out, start = [], 0
    for k, (label, ops) in enumerate(stages, 1):
        states = [progress.get(i, "") for i in range(start, start + len(ops))]
        start += len(ops)
        head = f"step {k} of {len(stages)} {label or 'write'}: "
        done = states.count("done")
        if "failed" in states:
            out.append(line(ERROR, head + f"failed at write {states.index('failed') + 1} of {len(ops)}"
                            + (f" ({done} done)" if done else ""), palette, bold=True))
        elif done == len(ops):
            out.append(line(OK, head + "done", palette))
        elif done or "sending" in states:
            out.append(line(INFO, head + f"{done} of {len(ops)} writes", palette))
        else:
            out.append(line(MUTED, head + "not started", palette))
    return out


def verification_lines(screen, palette: Palette, now: float | None) -> list[Text]:
    p, w = palette, screen.watch
    if w is None:
        return []
    message = verdict_line(w, now)
    if w.undone:
        return [line(INFO, message, p)]
    if w.state == CLEARED:
        return [line(OK, message, p, bold=True)]
    if w.state == PRESENT:
        out = [line(ERROR, message, p, bold=True)]
        if w.verification.evidence:
            out.append(evidence_text(w.verification.evidence, p))
        return out
    return [line(INFO, message, p)]

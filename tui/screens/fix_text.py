"""What the fix screen and its confirmation show, as Rich renderables made from a `fixes.session.Preview`.

Every string that came from the cluster or the plan (names, server messages, diff lines, commands) goes through
`safe_text`: Rich markup shows literally, escape sequences never reach the terminal. Meaning never rests on colour
alone: verdicts carry ✔ ✖ ⚠ ● markers, diff lines keep their `+`/`-`."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.style import Style
from rich.table import Table
from rich.text import Text

from arc_top.tui.findings import style_of
from arc_top.widgets.text import DEFAULT_PALETTE, ERROR, INFO, MARKERS, MUTED, OK, WARN, Palette, clean_line, safe_text

HEADING = Style(bold=True, underline=True)
LABEL = Style(dim=True)
INDENT = (0, 0, 0, 2)
MAX_WRITES_LISTED = 6


def line(severity: str, message: object, palette: Palette = DEFAULT_PALETTE, *, bold: bool = False) -> Text:
    """`✖ message`: marker and text in the severity's colour (the text literal)."""
    style = palette.style(severity) + Style(bold=True) if bold else palette.style(severity)
    out = Text(end="")
    out.append(f"{MARKERS.get(severity, ' ')} ", style)
    out.append_text(safe_text(message, style))
    return out


def verdict_severity(preview) -> str:
    if preview.read_only or not preview.steps:
        return MUTED
    return OK if preview.accepted else ERROR


def verdict_text(preview, palette: Palette = DEFAULT_PALETTE) -> Text:
    """`✔ dry-run: accepted`, `✖ dry-run: rejected: <server message>`, `· dry-run: not sent (read-only)`."""
    return line(verdict_severity(preview), preview.dry_run_verdict, palette)


def apply_text(preview, context: str, palette: Palette = DEFAULT_PALETTE) -> Text:
    """Where the Apply button would be: what `enter` does, or why it does nothing."""
    if preview.read_only:
        return line(INFO, "read-only: arc-top sends no write (enter does nothing)", palette)
    if preview.denied:
        return line(ERROR, f"Apply disabled: {preview.why_not()} (c copies the kubectl command for someone who can)",
                    palette)
    if not preview.can_apply:
        return line(ERROR, f"Apply disabled: {preview.why_not()}", palette)
    where = f" to context {context}" if context else ""
    if preview.variant.warning:
        return line(INFO, f"enter: apply anyway{where} (after a confirmation, Cancel its default)", palette)
    return line(INFO, f"enter: apply{where} (after a confirmation)", palette)


def warning_text(warning: str, palette: Palette = DEFAULT_PALETTE) -> Text:
    return line(WARN, f"warning: {warning}", palette, bold=True)


def diff_text(lines: Sequence[str], palette: Palette = DEFAULT_PALETTE) -> Text:
    """A unified YAML diff, coloured: `+` success, `-` error, `@@` hunks and `# patch …` headers set apart."""
    out = Text(end="")
    added = Style(color=palette.success)
    removed = Style(color=palette.error)
    hunk = Style(color=palette.primary, dim=True)
    for i, raw in enumerate(lines):
        if i:
            out.append("\n")
        if raw.startswith("# "):
            style = Style(bold=True)
        elif raw.startswith("+++") or raw.startswith("---"):
            style = Style(bold=True, dim=True)
        elif raw.startswith("@@"):
            style = hunk
        elif raw.startswith("+"):
            style = added
        elif raw.startswith("-"):
            style = removed
        elif raw.strip().startswith("("):
            style = LABEL
        else:
            style = Style()
        out.append_text(safe_text(raw, style))
    return out


def _section(title: str, body: RenderableType, hint: str = "", first: bool = False) -> list[RenderableType]:
    head = Text()
    head.append(title, HEADING)
    if hint:
        head.append(f"  {hint}", LABEL)
    return ([] if first else [Text("")]) + [head, Padding(body, INDENT)]


def _own_line(text: Text) -> Text:
    """In a Group, a Text ending in "" runs on into the next renderable: end it with a line break."""
    text.end = "\n"
    return text


def _bullets(items: Sequence[str]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, style=LABEL)
    grid.add_column()
    for item in items:
        grid.add_row("•", safe_text(item))
    return grid


def _facts(rows: Sequence[tuple[str, Text]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style=LABEL)
    grid.add_column()
    for label, value in rows:
        grid.add_row(label, value)
    return grid


def writes_text(preview) -> Text:
    """One line per write: `patch AutoscalingRunnerSet ns/name`, at most MAX_WRITES_LISTED of them."""
    ops = [s.op for s in preview.steps] or list(preview.variant.operations)
    out = Text(end="")
    for i, op in enumerate(ops[:MAX_WRITES_LISTED]):
        out.append_text(safe_text(("\n" if i else "") + op.headline(), single_line=False))
    if len(ops) > MAX_WRITES_LISTED:
        out.append(f"\n… and {len(ops) - MAX_WRITES_LISTED} more (see the diff)", LABEL)
    return out


def change_renderable(preview, palette: Palette = DEFAULT_PALETTE) -> Group:
    """The left part (the top, when narrow): what changes in one line, the diff. (The warning is in the status
    block above, which never scrolls away.)"""
    variant = preview.variant
    parts: list[RenderableType] = _section("Change", safe_text(variant.summary), first=True)
    sent = preview.steps and all(s.verdict for s in preview.steps)
    hint = "live → the API server's dry-run answer" if sent else "live → computed here (no dry-run was sent)"
    parts += _section("Diff", diff_text(preview.diff_lines(), palette), hint)
    return Group(*parts)


def where_rows(preview) -> list[tuple[str, Text]]:
    rows = [("object", safe_text(preview.plan.target.label())),
            ("context", safe_text(preview.context or "—")),
            ("server", safe_text(preview.server or "—"))]
    if not preview.undo_of:
        rows.append(("undo", safe_text("after applying, u undoes it (in this arc-top session)"
                                       if preview.variant.undoable else
                                       "not possible: it deletes objects (the controller makes new ones)")))
    return rows


def how_renderable(preview, palette: Palette = DEFAULT_PALETTE) -> Group:
    """The right part (below, when narrow): where it is sent, the same change typed by hand, the Helm values that
    keep it, the risks, the notes."""
    variant = preview.variant
    parts: list[RenderableType] = _section("Where", _facts(where_rows(preview)), first=True)
    kubectl = kubectl_commands(preview)
    if kubectl:
        commands = Text(end="")
        for i, command in enumerate(kubectl):
            commands.append_text(safe_text(("\n" if i else "") + command, single_line=False))
        parts += _section("kubectl", commands, "c copies")
    else:
        parts += _section("kubectl", Text("(no kubectl equivalent given)", LABEL))
    if variant.helm:
        parts += _section("Helm values", safe_text(variant.helm.rstrip("\n"), single_line=False), "C copies")
    elif preview.undo_of:
        parts += _section("Helm values", Text("(if the fix's values snippet went into the chart's values, take it "
                                              "out again too)", LABEL))
    else:
        parts += _section("Helm values", Text("(not chart-managed: nothing to keep in values)", LABEL))
    if variant.risks:
        parts += _section("Risks", _bullets(variant.risks))
    notes = tuple(getattr(preview.plan, "notes", ()) or ())
    if notes:
        parts += _section("Notes", _bullets(notes))
    finding = preview.plan.finding
    if finding is not None and finding.code:
        parts += _section("Finding", finding_text(finding, palette))
    return Group(*parts)


def finding_text(finding, palette: Palette = DEFAULT_PALETTE) -> Group:
    """`✖ error ARC501 Kube mode work volume is not writable by the runner` and its evidence: what is fixed."""
    severity = style_of(finding.severity)
    head = _own_line(line(severity, f"{finding.severity or 'finding'} {finding.code} {finding.title}", palette))
    evidence = Table.grid(padding=(0, 1))
    evidence.add_column(no_wrap=True, style=LABEL)
    evidence.add_column()
    for item in finding.evidence:
        evidence.add_row("›", safe_text(item))
    return Group(head, Padding(evidence, INDENT)) if finding.evidence else Group(head)


def kubectl_commands(preview) -> tuple[str, ...]:
    """The variant's kubectl equivalent; for an undo (which comes without one), its JSON patches typed as
    `kubectl patch … --type json` — never for an object holding secret values."""
    variant = preview.variant
    if variant.kubectl:
        return tuple(variant.kubectl)
    ops = variant.operations
    if not ops or any(op.verb != "patch" or op.secret for op in ops):
        return ()
    out = []
    for op in ops:
        t = op.target
        where = f" -n {shlex.quote(t.namespace)}" if t.namespace else ""
        # Without the resourceVersion test (it holds only for the object read now); the tests of the values stay.
        ops_ = [o for o in op.patch if not (o.get("op") == "test" and o.get("path") == "/metadata/resourceVersion")]
        patch = json.dumps(ops_, separators=(",", ":"))
        out.append(f"kubectl patch {t.resource()} {shlex.quote(t.name)}{where} --type json -p {shlex.quote(patch)}")
    return tuple(out)


def variants_text(preview_or_plan, chosen: str, palette: Palette = DEFAULT_PALETTE) -> Text:
    """`variant  ◉ fs-group  ○ chown-init  (v: next)`; variants with a `detail` (a StorageClass picker) one per
    line, the chosen one always among the rows shown."""
    plan = getattr(preview_or_plan, "plan", preview_or_plan)
    if any(v.detail for v in plan.variants):
        return _picker_text(plan, chosen, palette)
    out = Text(end="")
    out.append("variant  ", LABEL)
    for i, v in enumerate(plan.variants):
        if i:
            out.append("  ")
        mine = v.name == chosen
        out.append("◉ " if mine else "○ ", Style(color=palette.primary) if mine else LABEL)
        out.append_text(safe_text(v.name, Style(bold=True) if mine else Style()))
    if len(plan.variants) > 1:
        out.append("   (v: next)", LABEL)
    return out


def _picker_text(plan, chosen: str, palette: Palette) -> Text:
    """Two lines that never wrap: the chosen variant's detail (`◉ gp3 (default) · honours fsGroup · …`), then
    every other choice by its short name (`○ io2  ○ local-path  (v: next)`)."""
    variants = list(plan.variants)
    mine = next((v for v in variants if v.name == chosen), variants[0])
    out = Text(end="", no_wrap=True, overflow="ellipsis")
    out.append("variant  ", LABEL)
    out.append("◉ ", Style(color=palette.primary))
    out.append_text(safe_text(mine.detail or mine.name, Style(bold=True)))
    others = [v for v in variants if v is not mine]
    if others:
        out.append("\n         ")
        for i, v in enumerate(others):
            out.append("  " if i else "")
            out.append("○ ", LABEL)
            out.append_text(safe_text((v.detail or v.name).split(" · ")[0]))
        out.append("   (v: next)", LABEL)
    return out


def confirm_renderable(preview, palette: Palette = DEFAULT_PALETTE) -> Group:
    """The confirmation's body: the object, the writes, the context and API server, the change, the verdict."""
    head = safe_text(heading(preview.plan.title, preview.undo_of), Style(bold=True))
    facts = _facts([("object", safe_text(preview.plan.target.label(), Style(bold=True))),
                    ("writes", writes_text(preview)),
                    ("context", safe_text(preview.context or "—", Style(bold=True))),
                    ("server", safe_text(preview.server or "—")),
                    ("change", safe_text(preview.variant.summary)),
                    ("dry-run", line(verdict_severity(preview), preview.dry_run_verdict.removeprefix("dry-run: "),
                                     palette))])
    parts: list[RenderableType] = [_own_line(head), Text(""), facts]
    if preview.variant.warning:
        parts += [Text(""), _own_line(warning_text(preview.variant.warning, palette))]
    return Group(*parts)


def heading(title: str, undo_of: str = "") -> str:
    """`Fix ARC501 · AutoscalingRunnerSet ns/name`; for an undo `Undo the ARC501 fix · AutoscalingRunnerSet …`."""
    if not undo_of:
        return title
    code, _, about = title.removeprefix("Fix ").partition(" · ")
    return f"Undo the {code} fix · {about}" if about else f"Undo fix {undo_of}"


def evidence_text(evidence: Sequence[str], palette: Palette = DEFAULT_PALETTE) -> Text:
    out = Text(end="")
    for i, item in enumerate(evidence):
        out.append(("\n" if i else "") + "  › ", LABEL)
        out.append_text(safe_text(item))
    return out


def joined(parts: Sequence[Text]) -> Text:
    out = Text(end="")
    for i, part in enumerate(p for p in parts if p is not None):
        if i:
            out.append("\n")
        out.append_text(part)
    return out


def short(value: object, width: int = 200) -> str:
    text = clean_line(value)
    return text if len(text) <= width else text[:width - 1] + "…"

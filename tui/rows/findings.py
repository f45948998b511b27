"""Findings panel rows: one row per scale set (its name and how many findings of each severity), the worst set
first, followed by its findings, worst first. Findings are the set row's children, so the `/` filter keeps a
matching finding's set row, and a matching set brings all its findings."""

from __future__ import annotations

from rich.style import Style

from arc_top.tui.findings import (
    FindingsView,
    finding_key,
    group_key,
    group_order,
    severity_text,
    subject_label,
    summary_text,
)
from arc_top.tui.rows.context import RowContext
from arc_top.widgets.resource_table import TableRow
from arc_top.widgets.text import clean_line, plain_text, safe_text

NO_SET = "(no scale set)"
GROUP = Style(bold=True)


def finding_rows(ctx: RowContext) -> list[TableRow]:
    findings = ctx.findings.findings
    if ctx.scope is not None:
        wanted = f"{ctx.scope.namespace}/{ctx.scope.name}"
        findings = tuple(f for f in findings if f.scale_set == wanted)
    rows = []
    for scale_set, items in group_order(findings):
        parent = group_key(scale_set)
        shown = tuple((f.severity, f.code) for f in items)
        rows.append(ctx.cache.get(parent, (repr(shown),), lambda s=scale_set, items=items, key=parent: _group_row(
            ctx, s, items, key)))
        for f in items:
            key = finding_key(f)
            rows.append(ctx.cache.get(key, (f.severity, f.title, parent), lambda f=f, key=key, parent=parent: _row(
                ctx, f, key, parent)))
    ctx.cache.prune()
    return rows


def _group_row(ctx: RowContext, scale_set: str, items, key: str) -> TableRow:
    cells = [plain_text(""), plain_text(""), safe_text(scale_set or NO_SET, GROUP),
             summary_text(FindingsView(items), ctx.palette)]
    return TableRow(key, cells)


def _row(ctx: RowContext, f, key: str, parent: str) -> TableRow:
    s = f.subject
    where = f"{s.namespace}/{s.name}" if s.namespace else s.name
    cells = [severity_text(f.severity, ctx.palette), plain_text(clean_line(f.code)),
             plain_text("  " + subject_label(f)), safe_text(f.title)]
    search = clean_line(f"{f.severity} {s.kind} {where}")
    return TableRow(key, cells, parent, search)

"""Volumes panel rows: work volume claims and why a Pending one is pending."""

from __future__ import annotations

from arc_top.kube.model import VOLUMES, Volume
from arc_top.tui.findings import problem_text
from arc_top.tui.rows.context import ACCESS, RowContext, age_text
from arc_top.widgets.resource_table import TableRow
from arc_top.widgets.text import ERROR, OK, WARN, clean_line, safe_text, shared_text, status_cell


def volume_rows(ctx: RowContext) -> list[TableRow]:
    scoped = ctx.scoped_objects
    rows = []
    for v in sorted(ctx.of(VOLUMES), key=lambda v: (v.namespace, v.name)):
        if scoped is not None and (v.namespace, v.name) not in scoped:
            continue
        warning = ctx.warnings_by_object.get((v.namespace, "PersistentVolumeClaim", v.name))
        shown = ctx.findings.signatures.get(v.uid)      # what its Problem cell shows, as a value
        problem = repr(shown) if shown else ""
        rows.append(ctx.cache.get(v.uid, (v, warning, problem), lambda v=v: _volume_row(ctx, v)))
    ctx.cache.prune()
    return rows


def _volume_row(ctx: RowContext, v: Volume) -> TableRow:
    severity = {"Bound": OK, "Pending": WARN, "Lost": ERROR}.get(v.phase, WARN)
    findings = ctx.findings.of(v.uid)
    # Cells many claims show alike ("✔ Bound", "gp3", "RWO", "1Gi", no problem) are shared (never changed in place).
    none = shared_text("")
    cells = [
        safe_text(v.namespace),
        safe_text(f"{v.namespace}/{v.name}"),
        safe_text(v.name),
        status_cell(v.phase or "Pending", severity, ctx.palette),
        problem_text(findings, ctx.palette, title=False) if findings else none,
        shared_text(clean_line(v.storage_class or "—")),
        shared_text(clean_line(",".join(ACCESS.get(m, m) for m in v.access_modes) or "—")),
        shared_text(clean_line(v.capacity or v.requested or "—")),
        age_text(v.created, ctx.now),
        safe_text(v.owner_pod or "—"),
        problem_text(findings, ctx.palette) if findings else none,
        safe_text(v.volume_name) if v.volume_name else ctx.warning_for(v.namespace, "PersistentVolumeClaim", v.name),
    ]
    return TableRow(v.uid, cells, created=v.created)

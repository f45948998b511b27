"""Volumes panel rows: work volume claims and why a Pending one is pending.

With the screen's SnapshotIndex (`ctx.index`), the rows are kept between calls, in order, and only the claims the
change sets touched (the claim itself, a warning about it, its findings: `SnapshotIndex.take_volume_changes`) are
built again; the rest are the very same row objects as last time (the table skips those). Scoped to a scale set,
the kept rows are filtered. Without an index (a bare RowContext) every claim is looked at, its row reused from the
panel's RowCache when built from the very same objects.
"""

from __future__ import annotations

import bisect

from arc_top.kube.model import VOLUMES, Volume
from arc_top.tui.findings import problem_text
from arc_top.tui.rows.context import ACCESS, RowContext, age_text
from arc_top.tui.rows.index import CLAIM, SnapshotIndex
from arc_top.widgets.resource_table import RowList, RowsDelta, TableRow
from arc_top.widgets.text import ERROR, OK, WARN, Palette, clean_line, safe_text, shared_text, status_cell

SortKey = tuple[str, str, str]          # (namespace, name, uid): the panel's order


def _sort_key(v: Volume) -> SortKey:
    return v.namespace, v.name, v.uid


def volume_rows(ctx: RowContext) -> list[TableRow]:
    if ctx.index is None or ctx.snapshot is not ctx.index.snapshot or ctx.findings is not ctx.index.findings:
        return _simple_rows(ctx)        # (the index's changes are about its own snapshot and findings)
    rows = _kept_rows(ctx, ctx.index)
    scoped = ctx.scoped_objects
    if scoped is None:
        # A copy (the kept rows change in place), and which rows changed since the copy made last time: the table
        # then measures those alone.
        out = RowList(rows.rows)
        out.delta = None if rows.last is None else RowsDelta(rows.last, frozenset(rows.changed))
        rows.last, rows.changed = out, set()
        return out
    rows.last = None                    # (the table holds a scoped list now: the next unscoped one is measured whole)
    return [row for key, row in zip(rows.order, rows.rows, strict=True) if key[:2] in scoped]


def _simple_rows(ctx: RowContext) -> list[TableRow]:
    scoped = ctx.scoped_objects
    rows = []
    for v in sorted(ctx.of(VOLUMES), key=_sort_key):
        if scoped is not None and (v.namespace, v.name) not in scoped:
            continue
        rows.append(ctx.cache.get(v.uid, _inputs(ctx, v), lambda v=v: _volume_row(ctx, v)))
    ctx.cache.prune()
    return rows


def _inputs(ctx: RowContext, v: Volume) -> tuple:
    """What a claim's row is built from besides the palette: the claim, the latest warning about it, what its
    Problem cell shows (as a value)."""
    warning = ctx.warnings_by_object.get((v.namespace, CLAIM, v.name))
    shown = ctx.findings.signatures.get(v.uid)
    return v, warning, repr(shown) if shown else ""


class _KeptRows:
    """Every claim's row in the panel's order, as last built, and what each was built from."""

    def __init__(self, index: SnapshotIndex, palette: Palette) -> None:
        self.index = index
        self.palette = palette
        self.order: list[SortKey] = []          # sorted
        self.rows: list[TableRow] = []          # the row of each sort key in `order`
        self.key_of: dict[str, SortKey] = {}    # uid → its sort key
        self.inputs: dict[str, tuple] = {}      # uid → what its row was built from (_inputs)
        self.by_name: dict[tuple[str, str], set[str]] = {}    # (namespace, name) → uids shown under it
        self.last: RowList | None = None        # the unscoped list returned last…
        self.changed: set[str] = set()          # …and the uids whose rows changed, came or went since


def _kept_rows(ctx: RowContext, index: SnapshotIndex) -> _KeptRows:
    full, uids, names = index.take_volume_changes()
    kept = ctx.cache.state
    current = ctx.snapshot.of(VOLUMES)
    if full or not isinstance(kept, _KeptRows) or kept.index is not index or kept.palette is not ctx.palette:
        return _rebuild(ctx, index, kept, current)
    for name in names:
        uids.update(kept.by_name.get(name, ()))
    for uid in uids:
        _update(ctx, kept, uid, current.get(uid))
    return kept


def _rebuild(ctx: RowContext, index: SnapshotIndex, previous: object, current: dict) -> _KeptRows:
    """Every claim's row; one built from the same inputs as a previous one (same palette) is that row."""
    kept = _KeptRows(index, ctx.palette)
    old = previous if isinstance(previous, _KeptRows) and previous.palette is ctx.palette else None
    entries = []
    for uid, v in current.items():
        inputs = _inputs(ctx, v)
        row = None
        if old is not None and _same(old.inputs.get(uid), inputs):
            key = old.key_of[uid]
            row = old.rows[bisect.bisect_left(old.order, key)]
        entries.append((_sort_key(v), row if row is not None else _volume_row(ctx, v), inputs))
        kept.by_name.setdefault((v.namespace, v.name), set()).add(uid)
        kept.key_of[uid] = entries[-1][0]
        kept.inputs[uid] = inputs
    entries.sort(key=lambda e: e[0])
    kept.order = [e[0] for e in entries]
    kept.rows = [e[1] for e in entries]
    ctx.cache.state = kept
    return kept


def _same(old: tuple | None, new: tuple) -> bool:
    return old is not None and old[0] is new[0] and old[1] is new[1] and old[2] == new[2]


def _update(ctx: RowContext, kept: _KeptRows, uid: str, v: Volume | None) -> None:
    """Follow one claim: gone, new, or changed (its row built again unless built from the same inputs)."""
    old_key = kept.key_of.get(uid)
    inputs = _inputs(ctx, v) if v is not None else None
    if old_key is not None:
        at = bisect.bisect_left(kept.order, old_key)
        if v is not None and _sort_key(v) == old_key:
            if not _same(kept.inputs[uid], inputs):
                kept.rows[at] = _volume_row(ctx, v)
                kept.inputs[uid] = inputs
                kept.changed.add(uid)
            return
        kept.changed.add(uid)
        del kept.order[at]
        del kept.rows[at]
        del kept.key_of[uid]
        del kept.inputs[uid]
        name = old_key[:2]
        named = kept.by_name.get(name)
        if named is not None:
            named.discard(uid)
            if not named:
                del kept.by_name[name]
    if v is None:
        return
    kept.changed.add(uid)
    key = _sort_key(v)
    at = bisect.bisect_left(kept.order, key)
    kept.order.insert(at, key)
    kept.rows.insert(at, _volume_row(ctx, v))
    kept.key_of[uid] = key
    kept.inputs[uid] = inputs
    kept.by_name.setdefault(key[:2], set()).add(uid)


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
        safe_text(v.volume_name) if v.volume_name else ctx.warning_for(v.namespace, CLAIM, v.name),
    ]
    return TableRow(v.uid, cells, created=v.created)

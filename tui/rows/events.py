"""Events panel rows: newest first, repeats folded, warnings marked."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rich.text import Text

from arc_top.kube.model import EVENTS, Event
from arc_top.tui.rows.context import RowContext, age
from arc_top.widgets.resource_table import TableRow
from arc_top.widgets.text import MUTED, WARN, clean_line, safe_text, status_text

KIND_SHORT = {"Pod": "pod", "PersistentVolumeClaim": "pvc", "AutoscalingRunnerSet": "ars",
              "EphemeralRunnerSet": "ers", "EphemeralRunner": "er", "AutoscalingListener": "listener",
              "Node": "node", "Job": "job", "Secret": "secret"}


@dataclass(slots=True)
class FoldedEvent:
    key: str
    type: str
    reason: str
    message: str
    object_kind: str
    object_namespace: str
    object_name: str
    count: int
    last_seen: float


@lru_cache(maxsize=65536)
def _group_key(group: tuple) -> str:
    return "ev-" + hashlib.sha1("\x00".join(group).encode("utf-8", "replace")).hexdigest()[:20]


def fold_events(events: Sequence[Event]) -> list[FoldedEvent]:
    """Repeats of one object+reason+message become one row with the summed count; newest first."""
    groups: dict[tuple, FoldedEvent] = {}
    for e in events:
        group = (e.object_kind, e.object_namespace, e.object_name, e.reason, e.message)
        folded = groups.get(group)
        if folded is None:
            groups[group] = FoldedEvent(_group_key(group), e.type, e.reason, e.message, e.object_kind,
                                        e.object_namespace, e.object_name, max(e.count, 1), e.last_seen)
            continue
        folded.count += max(e.count, 1)
        folded.last_seen = max(folded.last_seen, e.last_seen)
        if e.type == "Warning":
            folded.type = "Warning"
    return sorted(groups.values(), key=lambda f: (-f.last_seen, f.key))


def event_rows(ctx: RowContext) -> list[TableRow]:
    scoped = ctx.scoped_objects
    events = [e for e in ctx.of(EVENTS)
              if scoped is None or (e.object_namespace, e.object_name) in scoped]
    rows = []
    for f in fold_events(events):
        last = age(ctx.now - f.last_seen) if f.last_seen else "—"
        rows.append(ctx.cache.get(f.key, (f.type, f.count, f.last_seen),
                                  lambda f=f, last=last: _event_row(ctx, f, last)))
    ctx.cache.prune()
    return rows


def _event_row(ctx: RowContext, f: FoldedEvent, last: str) -> TableRow:
    p = ctx.palette
    warning = f.type == "Warning"
    severity = WARN if warning else MUTED
    kind = KIND_SHORT.get(f.object_kind, f.object_kind.lower())
    what = Text(end="")
    what.append(clean_line(f.reason), p.style(WARN) if warning else "")
    what.append(": " + clean_line(f.message))
    count = Text(f"×{f.count}" if f.count > 1 else "", style=p.style(WARN) if warning else "", end="")
    cells = [
        Text(last, end=""),
        Text(INFO_MARK[warning], style=p.style(severity), end=""),
        status_text(f.type or "Normal", severity, p),
        count,
        safe_text(f"{kind}/{f.object_name}"),
        what,
        safe_text(f.reason, p.style(WARN) if warning else ""),
        safe_text(f.message),
    ]
    return TableRow(f.key, cells, created=f.last_seen)


INFO_MARK = {True: "⚠", False: "·"}

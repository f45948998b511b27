"""The header's words, as pure functions: connection state, counts, findings per severity, no-access markers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

from kube.model import RUNNERS, SCALE_SETS, KindState, Snapshot
from tui.findings import NO_FINDINGS, FindingsView, summary_text
from tui.rows import Scope
from widgets.text import DEFAULT_PALETTE, ERROR, INFO, OK, WARN, Palette, clean_line, status_text

BOLD = Style(bold=True)

# Kinds whose state is the connection's state: the ones on screen.
CORE_KINDS = (SCALE_SETS, RUNNERS, "pods", "volumes", "events", "listeners", "runnersets")


def connection_state(kinds: Mapping[str, KindState], mono_now: float) -> tuple[str, str]:
    """("live · last event 3 s ago" | "reconnecting… attempt 2" | "syncing…" | …, severity)."""
    if not kinds:
        return "connecting…", INFO
    states = list(kinds.values())
    reconnecting = [k for k in states if k.state == "reconnecting"]
    if reconnecting:
        return f"reconnecting… attempt {max(k.attempt for k in reconnecting) or 1}", WARN
    core = [k for k in states if k.kind in CORE_KINDS] or states
    errors = [k for k in core if k.state == "error"]
    if errors:
        return clean_line(f"error: {errors[0].kind}: {errors[0].message}" if errors[0].message
                          else f"error: {errors[0].kind}"), ERROR
    if any(not k.synced and k.state not in ("forbidden", "error") for k in core):
        return "syncing…", INFO
    last = max((k.last_event for k in states if k.last_event), default=0.0)
    if not last:
        return "live", OK
    ago = max(0, int(mono_now - last))
    return f"live · last event {ago} s ago", OK


def forbidden_kinds(kinds: Mapping[str, KindState]) -> list[str]:
    return sorted(k.kind for k in kinds.values() if k.state == "forbidden")


@dataclass(frozen=True, slots=True)
class Counts:
    scale_sets: int
    runners: int
    pending: int
    failed: int


_last_counts: tuple = (None, None, None)       # (snapshot, scope, Counts): the header asks every second


def counts(snapshot: Snapshot, scope: Scope | None = None) -> Counts:
    """Runner counts come from the EphemeralRunners themselves (the ARS status lags a little). The last answer
    is kept: with nothing changed, the header's tick need not walk 5,000 runners again."""
    global _last_counts
    if _last_counts[0] is snapshot and _last_counts[1] == scope:
        return _last_counts[2]
    result = _counts(snapshot, scope)
    _last_counts = (snapshot, scope, result)
    return result


def _counts(snapshot: Snapshot, scope: Scope | None) -> Counts:
    scale_sets = [s for s in snapshot.of(SCALE_SETS).values()
                  if scope is None or (s.namespace, s.name) == (scope.namespace, scope.name)]
    runners = [r for r in snapshot.of(RUNNERS).values()
               if scope is None or (r.namespace, r.scale_set) == (scope.namespace, scope.name)]
    pending = sum(1 for r in runners if (r.phase or "Pending") == "Pending" and not r.deleting)
    failed = sum(1 for r in runners if r.phase == "Failed")
    return Counts(len(scale_sets), len(runners), pending, failed)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def namespaces_label(namespaces: Sequence[str] | None) -> str:
    names = [clean_line(n) for n in namespaces or () if n]
    return ", ".join(names) if names else "all namespaces"


def header_text(*, context: str, server: str, namespaces: Sequence[str] | None, arc_version: str,
                kinds: Mapping[str, KindState], snapshot: Snapshot | None, mono_now: float,
                scope: Scope | None = None, error: str = "", legacy: bool = False,
                palette: Palette = DEFAULT_PALETTE, findings: FindingsView = NO_FINDINGS, width: int = 0) -> Text:
    """Two lines: where and how live; what is there, what the checks found (in the scope), what we may not see.
    The findings say "err"/"warn" instead of "errors"/"warnings" when the line would not fit `width`."""
    p = palette
    line = Text(no_wrap=True, overflow="ellipsis", end="")
    if error:
        line.append_text(status_text(error, ERROR, p))
    else:
        state, severity = connection_state(kinds, mono_now)
        line.append_text(status_text(state, severity, p))
    line.append(" │ ctx ")
    line.append(clean_line(context) or "—", BOLD)
    line.append(" │ ARC ")
    line.append(clean_line(arc_version) or "?", BOLD)
    line.append(" │ ns ")
    line.append(namespaces_label(namespaces), BOLD)
    if legacy:
        line.append(" │ ")
        line.append_text(status_text("legacy summerwind ARC present", WARN, p))
    line.append(" │ ")
    line.append(clean_line(server))

    line.append("\n")
    for compact in (False, True):
        second = _second_line(snapshot, kinds, scope, p, findings, compact)
        if not width or second.cell_len <= width:
            break
    line.append_text(second)
    return line


def _second_line(snapshot: Snapshot | None, kinds: Mapping[str, KindState], scope: Scope | None, p: Palette,
                 findings: FindingsView, compact: bool) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis", end="")
    if snapshot is not None and snapshot.of(SCALE_SETS) is not None:
        c = counts(snapshot, scope)
        line.append(plural(c.scale_sets, "scale set"), BOLD)
        line.append(" · ")
        line.append(plural(c.runners, "runner"), BOLD)
        line.append(" · ")
        line.append_text(status_text(f"{c.pending} pending", WARN, p) if c.pending else Text("0 pending"))
        line.append(" · ")
        line.append_text(status_text(f"{c.failed} failed", ERROR, p) if c.failed else Text("0 failed"))
    scoped = None if scope is None else findings.of_set(scope.namespace, scope.name)
    summary = summary_text(findings, p, compact=compact, findings=scoped)
    if summary.plain:
        line.append(" │ ")
        line.append_text(summary)
    if scope is not None:
        line.append(" │ scope ")
        line.append(scope.label, p.style(INFO) + BOLD)
        line.append(" (esc clears)")
    blocked = forbidden_kinds(kinds)
    if blocked:
        line.append(" │ ")
        line.append_text(status_text("no access: " + ", ".join(blocked), WARN, p))
    return line

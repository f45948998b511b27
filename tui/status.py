"""The header's words, as pure functions: connection state, how old the data is, counts, findings per severity,
no-access markers.

How old the data is: every watch hears from its server at least once a minute (an event or a bookmark; see
kube/watch.py), and a watch silent for 90 s is dropped and renewed ("reconnecting"). So when a kind's quietest
watch has said nothing for STALE_AFTER_S = 120 s (two bookmark intervals, past the stall bound) the renewal has not
helped either, and the header says so: "⚠ data 125 s old (pods)".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

from arc_top.kube.model import RUNNERS, SCALE_SETS, KindState, Snapshot
from arc_top.tui.findings import NO_FINDINGS, FindingsView, summary_text
from arc_top.tui.rows import Scope
from arc_top.tui.rows.index import SnapshotIndex, runner_failed, runner_pending
from arc_top.widgets.text import DEFAULT_PALETTE, ERROR, INFO, OK, WARN, Palette, clean_line, status_text

BOLD = Style(bold=True)

# Kinds whose state is the connection's state: the ones on screen.
CORE_KINDS = (SCALE_SETS, RUNNERS, "pods", "volumes", "events", "listeners", "runnersets")
STALE_AFTER_S = 120.0          # a kind not heard from for this long shows "⚠ data N s old (kind)" (see above)
_STALE_STATES = ("live", "reconnecting")
REASON_MAX = 60                # characters of a reconnecting watch's reason in the header


def connection_state(kinds: Mapping[str, KindState], mono_now: float) -> tuple[str, str]:
    """("live · last event <10 s ago" | "reconnecting… attempt 2" | "syncing…" | …, severity)."""
    if not kinds:
        return "connecting…", INFO
    states = list(kinds.values())
    reconnecting = [k for k in states if k.state == "reconnecting"]
    if reconnecting:
        text = f"reconnecting… attempt {max(k.attempt for k in reconnecting) or 1}"
        why = next((k for k in sorted(reconnecting, key=lambda k: -k.attempt) if k.message), None)
        if why is not None:     # "pods: no data for 95 s" (the watch's own ": reconnecting" would say it twice)
            message = clean_line(why.message.removesuffix(": reconnecting"))
            if len(message) > REASON_MAX:   # the rest of the line (context, ARC, namespaces) must still show
                message = message[:REASON_MAX - 1] + "…"
            text += f" · {why.kind}: {message}"
        return clean_line(text), WARN
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
    return f"live · last event {ago_text(mono_now - last)} ago", OK


def ago_text(seconds: float) -> str:
    """How long ago the last event was, as coarse as the header needs it: "<10 s" (a live watch: events and
    bookmarks keep it there), then in steps of 10 s, then minutes. The header is painted again only when its text
    changes: a quiet cluster's header changes once in ten seconds at most, not every second."""
    seconds = max(0, int(seconds))
    if seconds < 10:
        return "<10 s"
    if seconds < 60:
        return f"{seconds // 10 * 10} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def data_age(state: KindState, mono_now: float) -> float | None:
    """Seconds since the kind's quietest watch last heard from the server (None: not known yet)."""
    heard = state.oldest_event or state.last_event
    return max(0.0, mono_now - heard) if heard else None


def stale_kinds(kinds: Mapping[str, KindState], mono_now: float,
                stale_after: float = STALE_AFTER_S) -> list[tuple[str, float]]:
    """(kind, seconds) of the watched kinds whose data is older than `stale_after`, oldest first. Kinds that are
    not (or no longer) watched - starting, forbidden, failed - are the other markers' business."""
    out = []
    for state in kinds.values():
        if state.state not in _STALE_STATES or not state.synced:
            continue
        seconds = data_age(state, mono_now)
        if seconds is not None and seconds >= stale_after:
            out.append((state.kind, seconds))
    return sorted(out, key=lambda ks: (-ks[1], ks[0]))


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 300:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def stale_text(kinds: Mapping[str, KindState], mono_now: float, stale_after: float = STALE_AFTER_S,
               palette: Palette = DEFAULT_PALETTE) -> Text:
    """"⚠ data 125 s old (pods, events)", or empty when every watched kind is fresh."""
    stale = stale_kinds(kinds, mono_now, stale_after)
    if not stale:
        return Text(end="")
    names = [kind for kind, _ in stale]
    shown = ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
    return status_text(f"data {_duration(stale[0][1])} old ({shown})", WARN, palette)


def forbidden_kinds(kinds: Mapping[str, KindState]) -> list[str]:
    return sorted(k.kind for k in kinds.values() if k.state == "forbidden")


@dataclass(frozen=True, slots=True)
class Counts:
    scale_sets: int
    runners: int
    pending: int
    failed: int


_last_counts: tuple = (None, None, None, None)   # (scale sets, runners, scope, Counts): the header asks often


def counts(snapshot: Snapshot, scope: Scope | None = None, index: SnapshotIndex | None = None) -> Counts:
    """Runner counts come from the EphemeralRunners themselves (the ARS status lags a little). Unscoped, with the
    screen's SnapshotIndex following this very snapshot, they are the index's (kept up to date change set by change
    set: no walk). Otherwise the last answer is kept while the scale sets and runners are the same maps (a snapshot
    shares a kind's map with the previous one until that kind changes; a bookmark makes a new snapshot of the same
    maps): with nothing changed, the header never walks 20,000 runners again."""
    global _last_counts
    scale_sets, runners = snapshot.of(SCALE_SETS), snapshot.of(RUNNERS)
    if scope is None and index is not None and index.snapshot is not None and index.snapshot.of(RUNNERS) is runners:
        return Counts(len(scale_sets), *index.runner_counts())
    if _last_counts[0] is scale_sets and _last_counts[1] is runners and _last_counts[2] == scope:
        return _last_counts[3]
    result = _counts(snapshot, scope)
    _last_counts = (scale_sets, runners, scope, result)     # (kept alive here: their ids are not reused meanwhile)
    return result


def _counts(snapshot: Snapshot, scope: Scope | None) -> Counts:
    scale_sets = [s for s in snapshot.of(SCALE_SETS).values()
                  if scope is None or (s.namespace, s.name) == (scope.namespace, scope.name)]
    runners = [r for r in snapshot.of(RUNNERS).values()
               if scope is None or (r.namespace, r.scale_set) == (scope.namespace, scope.name)]
    pending = sum(1 for r in runners if runner_pending(r))
    failed = sum(1 for r in runners if runner_failed(r))
    return Counts(len(scale_sets), len(runners), pending, failed)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def namespaces_label(namespaces: Sequence[str] | None) -> str:
    names = [clean_line(n) for n in namespaces or () if n]
    return ", ".join(names) if names else "all namespaces"


def header_text(*, context: str, server: str, namespaces: Sequence[str] | None, arc_version: str,
                kinds: Mapping[str, KindState], snapshot: Snapshot | None, mono_now: float,
                scope: Scope | None = None, error: str = "", legacy: bool = False,
                palette: Palette = DEFAULT_PALETTE, findings: FindingsView = NO_FINDINGS, width: int = 0,
                stale_after: float | None = None, index: SnapshotIndex | None = None) -> Text:
    """Two lines: where and how live (and how old the data is, when it is old); what is there, what the checks
    found (in the scope), what we may not see. The findings say "err"/"warn" instead of "errors"/"warnings" when
    the line would not fit `width`. `stale_after`: seconds (default STALE_AFTER_S). `index`: the screen's
    SnapshotIndex, whose runner counts spare a walk of every runner (see `counts`)."""
    p = palette
    line = Text(no_wrap=True, overflow="ellipsis", end="")
    if error:
        line.append_text(status_text(error, ERROR, p))
    else:
        state, severity = connection_state(kinds, mono_now)
        line.append_text(status_text(state, severity, p))
        stale = stale_text(kinds, mono_now, STALE_AFTER_S if stale_after is None else stale_after, p)
        if stale.plain:
            line.append(" │ ")
            line.append_text(stale)
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
    global _last_second
    tally = counts(snapshot, scope, index) if snapshot is not None and snapshot.of(SCALE_SETS) is not None else None
    blocked = forbidden_kinds(kinds)
    key = (tally, scope, width, blocked)
    kept_palette, kept_findings, kept_key, second = _last_second
    if kept_palette is not p or kept_findings is not findings or kept_key != key:
        for compact in (False, True):
            second = _second_line(tally, blocked, scope, p, findings, compact)
            if not width or second.cell_len <= width:
                break
        _last_second = (p, findings, key, second)
    line.append_text(second)
    return line


# The header's second line (counts, findings, scope, what we may not see) for its inputs: the header is made every
# second, and the second line only changes with them (the first has the watches' ages). (palette, findings view,
# (counts, scope, width, forbidden kinds), the line)
_last_second: tuple = (None, None, None, None)


def _second_line(c: Counts | None, blocked: list[str], scope: Scope | None, p: Palette, findings: FindingsView,
                 compact: bool) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis", end="")
    if c is not None:
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
    if blocked:
        line.append(" │ ")
        line.append_text(status_text("no access: " + ", ".join(blocked), WARN, p))
    return line

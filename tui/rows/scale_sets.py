"""Scale sets panel rows: mode, min/max, counts, the derived listener state and a trend.

A scale set's row is built again only when something it shows differs (`scale_set_rows` keeps the rows in the
panel's RowCache): the scale set itself, the trend samples its cells show, its job figures, its listener's state,
its findings, the palette. The scale sets' status counts change with nearly every runner that comes or goes, so
the panel is asked for its rows at nearly every flush; most rows are then the very same objects as last time
(the table skips those)."""

from __future__ import annotations

from rich.text import Text

from arc_top.kube.model import SCALE_SETS, ScaleSet
from arc_top.tui.findings import set_problem_text
from arc_top.tui.rows.columns import TREND_WIDTH, WIDE_TREND_WIDTH
from arc_top.tui.rows.context import LISTENER_YOUNG, MODES, RowContext, age_text, pod_severity
from arc_top.widgets.resource_table import TableRow
from arc_top.widgets.sparkline import sparkline, trend_text
from arc_top.widgets.text import ERROR, NONE, OK, WARN, Palette, safe_text, status_text

SHOWN = max(TREND_WIDTH, WIDE_TREND_WIDTH)      # the most trend samples a cell shows
TREND_KEY = "trend\0"                           # + a scale set's uid: its trend cells in the panel's RowCache
STATUS_KEY = "status\0"                         # + a scale set's uid: its other cells


def listener_status(ctx: RowContext, scale_set: ScaleSet) -> tuple[str, str, int]:
    """(label, severity, recreations) for a scale set's listener. A failing listener is a young pod
    in Error/Completed, recreated again and again with 0 restarts, never CrashLoopBackOff: count the
    distinct pod uids seen for its name (from events and from what the app has watched)."""
    key = (scale_set.namespace, scale_set.name)
    pods = [p for p in ctx.listener_pods.get(key, ()) if not p.deleting] or list(ctx.listener_pods.get(key, ()))
    if not pods:
        if not ctx.listeners.get(key):
            return "no listener", ERROR, 0
        return "missing", ERROR, 0
    pod = max(pods, key=lambda p: p.created)
    uids = set(ctx.pod_uids_in_events.get((pod.namespace, pod.name), ())) | {pod.uid}
    recreations = max(len(uids), ctx.listener_pod_uids.get((pod.namespace, pod.name), 0)) - 1
    young = ctx.now - pod.created < LISTENER_YOUNG
    severity = pod_severity(pod.status)
    if pod.status in ("Completed", "Succeeded"):
        severity = ERROR if recreations else WARN          # a listener never completes on purpose
    label = pod.status or pod.phase or "Unknown"
    if severity == OK and young and recreations >= 2:
        severity = WARN
    return label, severity, recreations


def _listener_text(ctx: RowContext, status: tuple[str, str, int]) -> Text:
    label, severity, recreations = status
    text = status_text(label, severity, ctx.palette)
    if recreations:
        text.append(f" ↻{recreations}", ctx.palette.style(severity if severity != OK else WARN))
    return text


def _count(value: int, severity: str, palette: Palette) -> Text:
    return Text(str(value), style=palette.style(severity) if value else "", end="")


def _set_findings(ctx: RowContext, ss: ScaleSet) -> list:
    """The scale set's own findings and those of everything in it (runners, pods, volumes, its listener)."""
    view = ctx.findings
    found = list(view.of_set(ss.namespace, ss.name))
    found.extend(f for f in view.of(ss.uid) if f not in found)
    return found


def _jobs_cells(ctx: RowContext, ss: ScaleSet, findings: list) -> tuple[Text, Text]:
    """JOBS W/R (waiting / running, the waiting part red under ARC408, yellow otherwise) and BUSY/IDLE, from the
    listener's figures; "—" when not known (no listener, no access: the describe says why)."""
    p = ctx.palette
    fig = ctx.trends.jobs.get((ss.namespace, ss.name))
    waiting = getattr(fig, "waiting", None)
    if fig is None or not getattr(fig, "source", "") or waiting is None:
        jobs = Text("—", style=p.style(NONE), end="")
    else:
        blocked = any(f.code == "ARC408" for f in findings)
        jobs = Text(end="")
        jobs.append(str(waiting), p.style(ERROR if blocked else WARN) if waiting else "")
        jobs.append(f"/{fig.running}")
    busy, idle = getattr(fig, "busy", None), getattr(fig, "idle", None)
    if busy is None or idle is None:
        runners = Text("—", style=p.style(NONE), end="")
    else:
        runners = Text(f"{busy}/{idle}", end="")
    return jobs, runners


def _jobs_shown(fig: object) -> tuple | None:
    """What `_jobs_cells` shows of a scale set's job figures (they are read again at every check run, with a new
    read time: a row is not built again for that)."""
    if fig is None:
        return None
    return (bool(getattr(fig, "source", "")), getattr(fig, "waiting", None), getattr(fig, "running", None),
            getattr(fig, "busy", None), getattr(fig, "idle", None))


def _unbounded(ss: ScaleSet) -> bool:
    """No maxRunners, or the chart's "no limit" (2^31 - 1)."""
    return ss.max_runners is None or ss.max_runners >= 2147483647


def _top(ss: ScaleSet) -> int | None:
    """What the trend bars are scaled to: maxRunners when it is a human number, so "1 of 4" does not look like a
    full set (None: to the highest sample shown)."""
    return None if _unbounded(ss) or ss.max_runners > 500 else max(ss.max_runners, 1)


def _trend_cells(ctx: RowContext, ss: ScaleSet) -> list[Text]:
    """TREND, RUNNING, PENDING and WAITING trend cells."""
    p, trends, top = ctx.palette, ctx.trends, _top(ss)
    running = trends.running.get(ss.uid, ())
    pending = trends.pending.get(ss.uid, ())
    waiting = trends.waiting.get(ss.uid, ())
    return [
        trend_text(running, pending, TREND_WIDTH, p.style(OK), p.style(WARN), top),
        Text(sparkline(running, WIDE_TREND_WIDTH, top), style=p.style(OK), end=""),
        Text(sparkline(pending, WIDE_TREND_WIDTH, top), style=p.style(WARN), end=""),
        Text(sparkline(waiting, WIDE_TREND_WIDTH), style=p.style(WARN), end=""),
    ]


def _row(ss: ScaleSet, status: tuple[list[Text], list[Text]], trend: list[Text]) -> TableRow:
    """A scale set's row from its status cells (those before the trend cells, those after) and its trend cells."""
    head, tail = status
    return TableRow(ss.uid, [*head, *trend, *tail], created=ss.created)


def _status_cells(ctx: RowContext, ss: ScaleSet, findings: list,
                  listener: tuple[str, str, int]) -> tuple[list[Text], list[Text]]:
    """Every cell but the trend cells: those before them and those after."""
    p = ctx.palette
    rpf = Text(end="")
    rpf.append(str(ss.running))
    rpf.append("/")
    rpf.append(str(ss.pending), p.style(WARN) if ss.pending else "")
    rpf.append("/")
    rpf.append(str(ss.failed), p.style(ERROR) if ss.failed else "")
    maximum = "∞" if _unbounded(ss) else str(ss.max_runners)
    jobs, busy_idle = _jobs_cells(ctx, ss, findings)
    phase_severity = {"Running": OK, "Pending": WARN, "Outdated": WARN}.get(ss.phase, NONE)
    head = [
        safe_text(ss.namespace),
        safe_text(f"{ss.namespace}/{ss.name}"),
        safe_text(ss.name),
        safe_text(MODES.get(ss.mode, ss.mode or "default")),
        Text(f"{ss.min_runners}/{maximum}", end=""),
        Text(str(ss.current), end=""),
        rpf,
        _count(ss.running, OK, p),
        _count(ss.pending, WARN, p),
        _count(ss.failed, ERROR, p),
        _listener_text(ctx, listener),
        jobs,
        jobs,
        busy_idle,
        set_problem_text(findings, p, title=False),
    ]
    tail = [
        status_text(ss.phase, phase_severity, p) if ss.phase else Text("—", end=""),
        age_text(ss.created, ctx.now),
        set_problem_text(findings, p),
    ]
    return head, tail


def _shown_samples(running, pending) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The samples of a scale set's running/pending series that its trend cells can show: the last SHOWN of each
    (the two series are sampled together; should their lengths differ, the trend cell pairs them from the start,
    so then all of them)."""
    if len(running) == len(pending):
        return tuple(running)[-SHOWN:], tuple(pending)[-SHOWN:]
    return tuple(running), tuple(pending)


def scale_set_rows(ctx: RowContext) -> list[TableRow]:
    """One row per scale set, by namespace and name. A row whose inputs are all equal to the last build's (the
    scale set, the trend samples shown, job figures, listener state, findings, palette) is the very same row:
    the creation age is not an input (the table keeps the age cells moving). A row built again for new status
    counts keeps its trend cells when the samples they show are the same (they are most of a row's work); a new
    trend sample (every few seconds, on every row while the counts move) rebuilds the trend cells alone."""
    items = sorted(ctx.of(SCALE_SETS), key=lambda s: (s.namespace, s.name))
    cache, trends, palette = ctx.cache, ctx.trends, ctx.palette
    rows = []
    for ss in items:
        running, pending = _shown_samples(trends.running.get(ss.uid, ()), trends.pending.get(ss.uid, ()))
        waiting = tuple(trends.waiting.get(ss.uid, ()))[-SHOWN:]
        findings = _set_findings(ctx, ss)
        listener = listener_status(ctx, ss)
        trend = cache.get_equal(TREND_KEY + ss.uid, (running, pending, waiting, _top(ss), palette),
                                lambda ss=ss: _trend_cells(ctx, ss))
        jobs = _jobs_shown(trends.jobs.get((ss.namespace, ss.name)))
        status = cache.get_equal(STATUS_KEY + ss.uid, (ss, palette, jobs, tuple(findings), listener),
                                 lambda ss=ss, f=findings, s=listener: _status_cells(ctx, ss, f, s))
        # (Compared by identity: a trend sample that only shifts the sparklines rebuilds the trend cells alone.)
        rows.append(cache.get(ss.uid, (status, trend), lambda ss=ss, s=status, t=trend: _row(ss, s, t)))
    cache.prune()
    return rows

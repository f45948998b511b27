"""Runners panel rows: one row per scale set (its namespace/name and how many runners), then each of its
EphemeralRunners (with or without a pod), named without the scale set's prefix (`h8ff4-runner-9t6kr` under
`arc-runners/arc-runner-set`; the full name stays in the filter, describe, the palette and `c`), with its workflow
pod and work volume underneath. As in the Findings panel, the runners are the scale set row's children: the `/`
filter keeps a matching runner's scale set row, and a matching scale set brings its runners."""

from __future__ import annotations

import bisect
from collections import Counter

from rich.style import Style
from rich.text import Text

from arc_top.kube.model import Pod, Runner
from arc_top.tui.findings import problem_text
from arc_top.tui.rows.context import POD_ERRORS, RowContext, age_text, pod_severity
from arc_top.tui.rows.index import SnapshotIndex
from arc_top.widgets.resource_table import RowList, RowsDelta, TableRow
from arc_top.widgets.text import ERROR, MUTED, OK, WARN, Palette, clean_line, safe_text, shared_text, status_cell

GROUP_PREFIX = "rg-"         # the row key of a scale set's row: "rg-<namespace>/<name>" (names hold no "/")
GROUP = Style(bold=True)
NO_SET = "(no scale set)"


def group_key(namespace: str, scale_set: str) -> str:
    """The Runners panel row key of a scale set's row."""
    return f"{GROUP_PREFIX}{namespace}/{scale_set}"


def group_of(key: str | None) -> tuple[str, str] | None:
    """(namespace, scale set) of a scale set row's key; None for any other row."""
    if key is None or not key.startswith(GROUP_PREFIX):
        return None
    namespace, _, name = key[len(GROUP_PREFIX):].partition("/")
    return namespace, name


def short_name(name: str, scale_set: str) -> str:
    """A runner's name without its scale set's prefix (`arc-runner-set-h8ff4-runner-9t6kr` → `h8ff4-runner-9t6kr`),
    which the scale set row above it shows; the full name when it does not start with it."""
    prefix = f"{scale_set}-"
    if scale_set and name.startswith(prefix) and len(name) > len(prefix):
        return name[len(prefix):]
    return name


def runner_status(runner: Runner, pod: Pod | None, palette: Palette, pod_detail: bool = True) -> Text:
    """The EphemeralRunner's phase (+ reason); with `pod_detail`, also what its pod says when it differs."""
    if not pod_detail:
        pod = None
    if runner.deleting:
        return status_cell("Deleting", MUTED, palette)
    phase = runner.phase or "Pending"
    if phase == "Failed":
        return status_cell(phase, ERROR, palette, runner.reason)
    if phase == "Running":
        if pod is not None and pod.status not in ("Running", ""):
            severity = WARN if pod.status in ("Completed", "Succeeded") else pod_severity(pod.status)
            return status_cell(phase, severity, palette, pod.status)
        return status_cell(phase, OK, palette)
    if phase == "Succeeded":
        return status_cell(phase, MUTED, palette)
    if phase == "Pending":
        detail = runner.reason or (pod.status if pod is not None and pod.status not in ("Pending", "") else "")
        if pod is None and not detail and pod_detail:
            detail = "no pod yet"
        severity = ERROR if detail in POD_ERRORS else WARN
        return status_cell(phase, severity, palette, detail)
    return status_cell(phase, WARN, palette, runner.reason)


def pod_status_text(pod: Pod, palette: Palette, detail: str = "") -> Text:
    status = pod.status or pod.phase or "Unknown"
    return status_cell(status, MUTED if pod.deleting else pod_severity(status), palette, detail)


def runner_state(runner: Runner, pod: Pod | None, palette: Palette) -> Text:
    """One short cell for narrow tables: the ER's reason when it has one, else the pod's status when
    it says more than the phase (ContainerCreating, Completed, ImagePullBackOff), else the phase."""
    if runner.deleting or runner.reason or pod is None or pod.status in ("", runner.phase):
        return runner_status(runner, pod, palette)
    if pod.status in ("Completed", "Succeeded") and runner.phase != "Succeeded":
        # A runner pod that ends while its runner is not done: the exit-0 churn of a runner that
        # could not start (e.g. an unwritable _work volume).
        return status_cell(pod.status, WARN, palette)
    return pod_status_text(pod, palette)


def _pod_cells(ctx: RowContext, name: Text, pod: Pod, state: Text, phase: Text, message: Text) -> list[Text]:
    restarts = shared_text(str(pod.restarts), ctx.palette.style(WARN) if pod.restarts else "")
    status = pod_status_text(pod, ctx.palette)
    if pod.role == "runner" and pod.status in ("Completed", "Succeeded") and not pod.deleting:
        status = status_cell(pod.status, WARN, ctx.palette)     # a runner pod that ended: churn
    return [name, state, phase, status, shared_text(f"{pod.ready}/{pod.total}"),
            restarts, age_text(pod.created, ctx.now), shared_text(clean_line(pod.node or "—")), shared_text(""),
            message]


def _pod_message(ctx: RowContext, pod: Pod) -> Text:
    for container in pod.containers:
        if container.message and container.state != "running":
            return safe_text(container.message)
    return ctx.warning_for(pod.namespace, "Pod", pod.name)


def _child_name(label: str, name: str, usual: str) -> Text:
    """"└ workflow pod" when the name is the one ARC derives from the runner's, else the name itself."""
    return safe_text(f"└ {label}" if name == usual else f"└ {name}")


def _child_rows(ctx: RowContext, parent_key: str, namespace: str, pod_name: str) -> list[TableRow]:
    rows = []
    workflow_pods = ctx.workflow_pods.get((namespace, pod_name))
    for wf in sorted(workflow_pods, key=lambda p: p.name) if workflow_pods else ():
        status = pod_status_text(wf, ctx.palette)
        name = _child_name("workflow pod", wf.name, f"{pod_name[:54]}-workflow")
        cells = _with_problem(ctx, _pod_cells(ctx, name, wf, status, status, _pod_message(ctx, wf)),
                              ctx.findings.of(wf.uid))
        rows.append(TableRow(wf.uid, cells, parent_key, clean_line(wf.name), wf.created))
    volume = ctx.volumes_by_name.get((namespace, f"{pod_name}-work"))
    if volume is not None:
        severity = {"Bound": OK, "Pending": WARN, "Lost": ERROR}.get(volume.phase, WARN)
        message = ctx.warning_for(volume.namespace, "PersistentVolumeClaim", volume.name)
        if not message.plain:
            message = safe_text(" ".join(x for x in (volume.storage_class, volume.capacity or volume.requested) if x))
        status = status_cell(volume.phase or "Pending", severity, ctx.palette)
        empty = shared_text("")
        cells = [_child_name("work volume", volume.name, f"{pod_name}-work"), status, status, empty, empty,
                 empty, age_text(volume.created, ctx.now), shared_text(clean_line(volume.storage_class or "")),
                 empty, message]
        cells = _with_problem(ctx, cells, ctx.findings.of(volume.uid))
        rows.append(TableRow(volume.uid, cells, parent_key, clean_line(volume.name), volume.created))
    return rows


def _with_problem(ctx: RowContext, cells: list[Text], findings) -> list[Text]:
    """The cells with the narrow Problem cell (after PHASE) and the wide one (after JOB) put in: RUNNER_COLUMNS."""
    if findings:
        short, wide = problem_text(findings, ctx.palette, title=False), problem_text(findings, ctx.palette)
    else:
        short = wide = shared_text("")
    cells.insert(3, short)
    cells.insert(10, wide)
    return cells


def _entry_findings(ctx: RowContext, uids: tuple[str, ...], children: list[TableRow]) -> list:
    """A runner row's findings: its own (EphemeralRunner, pod) and its children's (workflow pods, work volume)."""
    view = ctx.findings
    if not view.by_uid:
        return []
    out = [f for uid in uids for f in view.of(uid)]
    for child in children:
        out.extend(view.of(child.key))
    return out


class _Entries:
    """The Runners panel between flushes: each runner's rows (the runner, its workflow pods, its work volume)
    keyed by the runner pod's (namespace, name), and their order; each scale set's row, with the count it shows.

    The rows are kept per scale set too (`flat`): a change set rebuilds the runners it touched and puts together
    again only their scale sets' stretches of rows, and tells the table which row keys changed (`RowsDelta`), so
    a flush at 20,000 runners walks neither every runner here nor every row in the table."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], list[TableRow]] = {}
        self.sort_key: dict[tuple[str, str], tuple] = {}
        self.scope_key: dict[tuple[str, str], tuple[str, str]] = {}
        # Per (namespace, scale set): its runners' sort keys, sorted (created, name), and their rows in that order.
        self.by_group: dict[tuple[str, str], list[tuple]] = {}
        self.flat: dict[tuple[str, str], list[TableRow]] = {}
        self.flat_keys: dict[tuple[str, str], list[str]] = {}     # …and those rows' keys
        self.dirty_groups: set[tuple[str, str]] = set()
        self.groups: dict[tuple[str, str], tuple[int, str, TableRow]] = {}   # (namespace, set) → (count, label, row)
        self.out: RowList | None = None        # the unscoped rows built last…
        self.changed: set[str] = set()         # …and the row keys changed since…
        self.fresh: dict[str, TableRow] = {}   # …with the rows now at those keys (a key not here: gone)


def runner_rows(ctx: RowContext) -> list[TableRow]:
    """EphemeralRunners (with or without a pod) and orphan runner pods, each followed by its workflow
    pod and work volume, grouped by scale set, oldest first.

    With a SnapshotIndex (the screen's), only the runners a change set touched are built again; the rest of
    the rows are the very same objects as last time, and the list says which keys changed since the list built
    before it (`RowList.delta`): the table then looks at those alone. `grouped_total` is the number of runners."""
    index = ctx.index or SnapshotIndex.of(ctx.snapshot)
    full, dirty = index.take_runner_changes()
    entries = ctx.cache.state
    if not isinstance(entries, _Entries) or full or ctx.index is None:
        entries = ctx.cache.state = _Entries()
        dirty = set(ctx.runners_by_name)
        dirty.update(name for name, pod in ctx.pods_by_name.items() if pod.role == "runner")
        for name in dirty:
            _build_entry(ctx, entries, name)
        for key in sorted(entries.sort_key.values()):
            entries.by_group.setdefault((key[0], key[1]), []).append(key)
        entries.dirty_groups = set(entries.by_group)
    else:
        changed, fresh = entries.changed, entries.fresh
        came: list[TableRow] = []
        for name in dirty:
            old, old_rows = entries.sort_key.get(name), entries.rows.get(name, ())
            _build_entry(ctx, entries, name)
            new, new_rows = entries.sort_key.get(name), entries.rows.get(name, ())
            for row in old_rows:
                changed.add(row.key)
                fresh.pop(row.key, None)
            came.extend(new_rows)
            if old is not None:
                group = (old[0], old[1])
                entries.dirty_groups.add(group)
                if old != new:
                    keys = entries.by_group[group]
                    del keys[bisect.bisect_left(keys, old)]
                    if not keys:
                        del entries.by_group[group]
            if new is not None:
                group = (new[0], new[1])
                entries.dirty_groups.add(group)
                if old != new:
                    bisect.insort(entries.by_group.setdefault(group, []), new)
        for row in came:      # (after every old row is out: a workflow pod can move from one runner to another)
            changed.add(row.key)
            fresh[row.key] = row
    scope = ctx.scope
    if scope is not None:
        entries.out = None          # the next unscoped list is compared with nothing (the table holds this one)
        return _scoped_rows(ctx, entries, (scope.namespace, scope.name))
    rows, flat, flat_keys = entries.rows, entries.flat, entries.flat_keys
    for group in entries.dirty_groups:
        keys = entries.by_group.get(group)
        if keys is None:
            flat.pop(group, None)
            flat_keys.pop(group, None)
        else:
            flat[group] = stretch = [row for key in keys for row in rows[(key[0], key[3])]]
            flat_keys[group] = [row.key for row in stretch]
    entries.dirty_groups = set()
    order = sorted(entries.by_group)
    counts = [(group, len(entries.by_group[group])) for group in order]
    kept = _group_rows(ctx, entries, counts)
    out = RowList()
    out_keys: list[str] = []
    for group in order:
        group_row = kept[group][2]
        out.append(group_row)
        out.extend(flat[group])
        out_keys.append(group_row.key)
        out_keys.extend(flat_keys[group])
    out.row_keys = out_keys
    changed, fresh = entries.changed, entries.fresh
    for group in entries.groups.keys() - kept.keys():
        changed.add(key := group_key(*group))
        fresh.pop(key, None)
    for group, entry in kept.items():
        if entries.groups.get(group) is not entry:
            changed.add(key := group_key(*group))
            fresh[key] = entry[2]
    out.delta = None if entries.out is None or full else RowsDelta(entries.out, frozenset(changed), fresh)
    out.grouped_total = len(entries.sort_key)
    entries.groups, entries.out, entries.changed, entries.fresh = kept, out, set(), {}
    return out


def _group_rows(ctx: RowContext, entries: _Entries, counts: list[tuple[tuple[str, str], int]]
                ) -> dict[tuple[str, str], tuple[int, str, TableRow]]:
    """Each scale set's row (kept from last time while its count and label are the same)."""
    kept: dict[tuple[str, str], tuple[int, str, TableRow]] = {}
    names = Counter(group[1] for group, _ in counts)
    shared = {name for name, n in names.items() if n > 1}
    for group, n in counts:
        # The set's name; "namespace/name" only when another namespace has a set of that name (the Scale sets
        # panel names the namespace; a long label would be cut in the middle by the RUNNER column's width).
        label = f"{group[0]}/{group[1]}" if group[1] in shared else group[1] or NO_SET
        cached = entries.groups.get(group)
        kept[group] = cached if cached is not None and cached[:2] == (n, label) else \
            (n, label, _group_row(ctx, group, n, label))
    return kept


def _scoped_rows(ctx: RowContext, entries: _Entries, wanted: tuple[str, str]) -> list[TableRow]:
    """The rows of the runners whose scale set is `wanted` (an orphan pod's scale set may be in another namespace
    than the pod: it is grouped under its own namespace)."""
    rows, scope_key = entries.rows, entries.scope_key
    picked: list[tuple[tuple[str, str], list[tuple]]] = []
    for group in sorted(entries.by_group):
        keys = [key for key in entries.by_group[group] if scope_key[(key[0], key[3])] == wanted]
        if keys:
            picked.append((group, keys))
    kept = _group_rows(ctx, entries, [(group, len(keys)) for group, keys in picked])
    entries.groups.update(kept)
    out = RowList()
    for group, keys in picked:
        out.append(kept[group][2])
        out.extend(row for key in keys for row in rows[(key[0], key[3])])
    out.grouped_total = sum(len(keys) for _, keys in picked)
    return out


def _group_row(ctx: RowContext, group: tuple[str, str], count: int, label: str) -> TableRow:
    namespace, scale_set = group
    runners = shared_text(f"{count} runner{'s' if count != 1 else ''}", "dim")
    empty = shared_text("")
    cells = [safe_text(label, GROUP), runners, runners, *(empty for _ in range(9))]
    return TableRow(group_key(namespace, scale_set), cells, search=clean_line(f"{namespace}/{scale_set}"))


def _build_entry(ctx: RowContext, entries: _Entries, name: tuple[str, str]) -> None:
    runner = ctx.runners_by_name.get(name)
    pod = ctx.pods_by_name.get(name)
    if runner is not None:
        rows = _runner_entry(ctx, runner, pod)
        sort_key = (runner.namespace, runner.scale_set, runner.created, runner.name)
        scope_key = (runner.namespace, runner.scale_set)
    elif pod is not None and pod.role == "runner":
        rows = _orphan_entry(ctx, pod)
        sort_key = (pod.namespace, pod.scale_set, pod.created, pod.name)
        scope_key = (pod.scale_set_namespace or pod.namespace, pod.scale_set)
    else:
        entries.rows.pop(name, None)
        entries.sort_key.pop(name, None)
        entries.scope_key.pop(name, None)
        return
    entries.rows[name] = rows
    entries.sort_key[name] = sort_key
    entries.scope_key[name] = scope_key


def _runner_entry(ctx: RowContext, runner: Runner, pod: Pod | None) -> list[TableRow]:
    p = ctx.palette
    phase = runner_status(runner, pod, p, pod_detail=False)
    state = runner_state(runner, pod, p)
    message = safe_text(runner.message) if runner.message else shared_text("")
    name = safe_text(short_name(runner.name, runner.scale_set))
    if pod is not None:
        if not message.plain:
            message = _pod_message(ctx, pod)
        cells = _pod_cells(ctx, name, pod, state, phase, message)
    else:
        cells = [name, state, phase, shared_text("no pod", "dim"), shared_text("—"),
                 shared_text(""), age_text(runner.created, ctx.now), shared_text("—"), shared_text(""), message]
    job = runner.job_display_name or runner.job_repository
    cells[8] = safe_text(job) if job else shared_text("")
    created = (pod or runner).created
    children = _child_rows(ctx, runner.uid, runner.namespace, runner.name)
    uids = (runner.uid,) if pod is None else (runner.uid, pod.uid)
    cells = _with_problem(ctx, cells, _entry_findings(ctx, uids, children))
    return [TableRow(runner.uid, cells, group_key(runner.namespace, runner.scale_set), clean_line(runner.name),
                     created), *children]


def _orphan_entry(ctx: RowContext, pod: Pod) -> list[TableRow]:
    """A runner pod whose EphemeralRunner is gone (or not visible)."""
    p = ctx.palette
    phase = status_cell("no runner", WARN, p)
    children = _child_rows(ctx, pod.uid, pod.namespace, pod.name)
    cells = _with_problem(ctx, _pod_cells(ctx, safe_text(short_name(pod.name, pod.scale_set)), pod,
                                          pod_status_text(pod, p), phase, _pod_message(ctx, pod)),
                          _entry_findings(ctx, (pod.uid,), children))
    return [TableRow(pod.uid, cells, group_key(pod.namespace, pod.scale_set), clean_line(pod.name), pod.created),
            *children]

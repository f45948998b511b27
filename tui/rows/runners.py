"""Runners panel rows: each EphemeralRunner (with or without a pod) and its workflow pod and work
volume underneath."""

from __future__ import annotations

from rich.text import Text

from kube.model import PODS, RUNNERS, Pod, Runner
from tui.rows.context import POD_ERRORS, RowContext, age_text, pod_severity, with_ages
from widgets.resource_table import TableRow
from widgets.text import ERROR, MUTED, OK, WARN, Palette, clean_line, safe_text, status_text


def runner_status(runner: Runner, pod: Pod | None, palette: Palette, pod_detail: bool = True) -> Text:
    """The EphemeralRunner's phase (+ reason); with `pod_detail`, also what its pod says when it differs."""
    if not pod_detail:
        pod = None
    if runner.deleting:
        return status_text("Deleting", MUTED, palette)
    phase = runner.phase or "Pending"
    if phase == "Failed":
        return status_text(phase, ERROR, palette, runner.reason)
    if phase == "Running":
        if pod is not None and pod.status not in ("Running", ""):
            severity = WARN if pod.status in ("Completed", "Succeeded") else pod_severity(pod.status)
            return status_text(phase, severity, palette, pod.status)
        return status_text(phase, OK, palette)
    if phase == "Succeeded":
        return status_text(phase, MUTED, palette)
    if phase == "Pending":
        detail = runner.reason or (pod.status if pod is not None and pod.status not in ("Pending", "") else "")
        if pod is None and not detail and pod_detail:
            detail = "no pod yet"
        severity = ERROR if detail in POD_ERRORS else WARN
        return status_text(phase, severity, palette, detail)
    return status_text(phase, WARN, palette, runner.reason)


def pod_status_text(pod: Pod, palette: Palette, detail: str = "") -> Text:
    status = pod.status or pod.phase or "Unknown"
    return status_text(status, MUTED if pod.deleting else pod_severity(status), palette, detail)


def runner_state(runner: Runner, pod: Pod | None, palette: Palette) -> Text:
    """One short cell for narrow tables: the ER's reason when it has one, else the pod's status when
    it says more than the phase (ContainerCreating, Completed, ImagePullBackOff), else the phase."""
    if runner.deleting or runner.reason or pod is None or pod.status in ("", runner.phase):
        return runner_status(runner, pod, palette)
    if pod.status in ("Completed", "Succeeded") and runner.phase != "Succeeded":
        # A runner pod that ends while its runner is not done: the exit-0 churn of a runner that
        # could not start (e.g. an unwritable _work volume).
        return status_text(pod.status, WARN, palette)
    return pod_status_text(pod, palette)


def _pod_cells(ctx: RowContext, name: Text, pod: Pod, state: Text, phase: Text, message: Text) -> list[Text]:
    restarts = Text(str(pod.restarts), style=ctx.palette.style(WARN) if pod.restarts else "", end="")
    status = pod_status_text(pod, ctx.palette)
    if pod.role == "runner" and pod.status in ("Completed", "Succeeded") and not pod.deleting:
        status = status_text(pod.status, WARN, ctx.palette)     # a runner pod that ended: churn
    return [name, state, phase, status, Text(f"{pod.ready}/{pod.total}", end=""),
            restarts, age_text(pod.created, ctx.now), safe_text(pod.node or "—"), Text("", end=""), message]


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
    for wf in sorted(ctx.workflow_pods.get((namespace, pod_name), ()), key=lambda p: p.name):
        status = pod_status_text(wf, ctx.palette)
        name = _child_name("workflow pod", wf.name, f"{pod_name[:54]}-workflow")
        rows.append(TableRow(wf.uid, _pod_cells(ctx, name, wf, status, status, _pod_message(ctx, wf)), parent_key,
                             clean_line(wf.name)))
    volume = ctx.volumes_by_name.get((namespace, f"{pod_name}-work"))
    if volume is not None:
        severity = {"Bound": OK, "Pending": WARN, "Lost": ERROR}.get(volume.phase, WARN)
        message = ctx.warning_for(volume.namespace, "PersistentVolumeClaim", volume.name)
        if not message.plain:
            message = safe_text(" ".join(x for x in (volume.storage_class, volume.capacity or volume.requested) if x))
        status = status_text(volume.phase or "Pending", severity, ctx.palette)
        empty = Text("", end="")
        cells = [_child_name("work volume", volume.name, f"{pod_name}-work"), status, status, empty, empty.copy(),
                 empty.copy(), age_text(volume.created, ctx.now), safe_text(volume.storage_class or ""),
                 empty.copy(), message]
        rows.append(TableRow(volume.uid, cells, parent_key, clean_line(volume.name)))
    return rows


def runner_rows(ctx: RowContext) -> list[TableRow]:
    """EphemeralRunners (with or without a pod) and orphan runner pods, each followed by its workflow
    pod and work volume, grouped by scale set, oldest first."""
    entries: list[tuple[tuple, list[TableRow]]] = []
    for runner in ctx.of(RUNNERS):
        if not ctx.in_scope(runner.namespace, runner.scale_set):
            continue
        pod = ctx.pods_by_name.get((runner.namespace, runner.name))
        inputs = (runner, pod, *_child_inputs(ctx, runner.namespace, runner.name))
        rows = ctx.cache.get(runner.uid, inputs, lambda runner=runner, pod=pod: _runner_entry(ctx, runner, pod))
        created = (pod or runner).created
        rows = with_ages(ctx, runner.uid, rows,
                         lambda r=runner, c=created: _entry_created(ctx, r.namespace, r.name, c), AGE)
        entries.append(((runner.namespace, runner.scale_set, runner.created, runner.name), rows))
    for pod in ctx.of(PODS):
        if pod.role != "runner" or (pod.namespace, pod.name) in ctx.runner_names:
            continue
        if not ctx.in_scope(pod.scale_set_namespace or pod.namespace, pod.scale_set):
            continue
        inputs = (pod, *_child_inputs(ctx, pod.namespace, pod.name))
        rows = ctx.cache.get(pod.uid, inputs, lambda pod=pod: _orphan_entry(ctx, pod))
        rows = with_ages(ctx, pod.uid, rows, lambda pod=pod: _entry_created(ctx, pod.namespace, pod.name, pod.created),
                         AGE)
        entries.append(((pod.namespace, pod.scale_set, pod.created, pod.name), rows))
    entries.sort(key=lambda entry: entry[0])
    ctx.cache.prune()
    return [row for _, rows in entries for row in rows]


AGE = 6     # the AGE column of RUNNER_COLUMNS


def _entry_created(ctx: RowContext, namespace: str, pod_name: str, created: float) -> list[float]:
    """Creation times of a runner's rows, in _runner_entry's order: runner, workflow pods, volume."""
    out = [created]
    out += [wf.created for wf in sorted(ctx.workflow_pods.get((namespace, pod_name), ()), key=lambda p: p.name)]
    volume = ctx.volumes_by_name.get((namespace, f"{pod_name}-work"))
    if volume is not None:
        out.append(volume.created)
    return out


def _child_inputs(ctx: RowContext, namespace: str, pod_name: str) -> tuple:
    """What a runner's rows depend on besides the runner and its pod (for the row cache)."""
    workflow = tuple(ctx.workflow_pods.get((namespace, pod_name), ()))
    volume = ctx.volumes_by_name.get((namespace, f"{pod_name}-work"))
    warnings = ctx.warnings_by_object
    out = [*workflow, volume, warnings.get((namespace, "Pod", pod_name))]
    for wf in workflow:
        out.append(warnings.get((namespace, "Pod", wf.name)))
    if volume is not None:
        out.append(warnings.get((namespace, "PersistentVolumeClaim", volume.name)))
    return tuple(out)


def _runner_entry(ctx: RowContext, runner: Runner, pod: Pod | None) -> list[TableRow]:
    p = ctx.palette
    phase = runner_status(runner, pod, p, pod_detail=False)
    state = runner_state(runner, pod, p)
    message = safe_text(runner.message) if runner.message else Text("", end="")
    if pod is not None:
        if not message.plain:
            message = _pod_message(ctx, pod)
        cells = _pod_cells(ctx, safe_text(runner.name), pod, state, phase, message)
    else:
        cells = [safe_text(runner.name), state, phase, Text("no pod", style="dim", end=""), Text("—", end=""),
                 Text("", end=""), age_text(runner.created, ctx.now), Text("—", end=""), Text("", end=""), message]
    job = runner.job_display_name or runner.job_repository
    cells[8] = safe_text(job) if job else Text("", end="")
    return [TableRow(runner.uid, cells), *_child_rows(ctx, runner.uid, runner.namespace, runner.name)]


def _orphan_entry(ctx: RowContext, pod: Pod) -> list[TableRow]:
    """A runner pod whose EphemeralRunner is gone (or not visible)."""
    p = ctx.palette
    phase = status_text("no runner", WARN, p)
    return [TableRow(pod.uid, _pod_cells(ctx, safe_text(pod.name), pod, pod_status_text(pod, p), phase,
                                         _pod_message(ctx, pod))),
            *_child_rows(ctx, pod.uid, pod.namespace, pod.name)]

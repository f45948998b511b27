"""What `l`, `d` and `y` open: the log, describe and YAML screens of the row under the main screen's cursor
(tui/screens/drill.py resolves the row to an object), or of an object a drill-down screen shows.

This is the module that imports those screens. drill.py, their base, imports none of them: a drill-down screen
opens another view through the app (ArcTopApp.open_view_of), which calls `open_view_of` here, so the screens'
imports stay one-way (tests/test_layers.py). The main screen imports this module at its first `l`, `d` or `y`.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.screen import Screen

from arc_top.kube.objects import ObjectRef
from arc_top.tui.screens.describe import DescribeScreen
from arc_top.tui.screens.drill import DrillScreen, DrillSource, resolve, snapshot_of, source_for
from arc_top.tui.screens.logs import LogScreen
from arc_top.tui.screens.relations import log_target
from arc_top.tui.screens.yaml_view import YamlScreen

# A view (DrillScreen.VIEW) other than the log → its screen; the log is `log_screen` (a pod's, found first).
VIEWS: dict[str, type[DrillScreen]] = {DescribeScreen.VIEW: DescribeScreen, YamlScreen.VIEW: YamlScreen}


def log_screen(app, source: DrillSource, ref: ObjectRef, trail: tuple[str, ...], notify) -> Screen | None:
    """The log screen for `ref` (its pod), or None after telling the user why there is none."""
    snapshot = snapshot_of(app)
    pod = log_target(ref, snapshot())
    if pod is None:
        why = {"EphemeralRunner": "has no pod (yet)", "AutoscalingRunnerSet": "has no listener pod",
               "AutoscalingListener": "has no pod"}.get(ref.kind, "has no log: logs are a pod's")
        notify(f"{ref.label} {why}", severity="warning", markup=False, timeout=4)
        return None
    if pod != ref and ref.label not in trail[-2:]:
        trail = (*trail, ref.label)          # "… › EphemeralRunner x › Pod x › log": how we got to the pod
    return LogScreen(source, pod, trail, snapshot)


# ---- from a drill-down screen -------------------------------------------------------------------------------
def open_view_of(screen: DrillScreen, view: str, ref: ObjectRef) -> None:
    """`view` ("log", "describe", "yaml") of `ref`, opened from `screen`: the new screen carries the screen's
    whole trail (the breadcrumb is the stack `esc` unwinds)."""
    if view == LogScreen.VIEW:
        opened = log_screen(screen.app, screen.source, ref, screen.trail, screen.notify)
    else:
        opened = VIEWS[view](screen.source, ref, screen.trail, screen.snapshot)
    if opened is not None:
        screen.app.push_screen(opened)


# ---- from the main screen -----------------------------------------------------------------------------------
def _cursor(main) -> tuple[str, ObjectRef | None]:
    panel = main.focused_panel() or main.panel("scalesets")
    return panel.spec.title, resolve(panel.table.cursor_key, main.snapshot, getattr(main, "findings", None))


def _open(main, make: Callable[[DrillSource, ObjectRef, tuple[str, ...]], Screen | None]) -> None:
    title, ref = _cursor(main)
    if ref is None:
        main.notify("no object under the cursor", severity="warning", markup=False, timeout=3)
        return
    source = source_for(main.app)
    if source is None:
        main.notify("not connected yet", severity="warning", markup=False, timeout=3)
        return
    screen = make(source, ref, (title,))
    if screen is not None:
        main.app.push_screen(screen)


def open_logs(main) -> None:
    _open(main, lambda source, ref, trail: log_screen(main.app, source, ref, trail, main.notify))


def open_describe(main) -> None:
    _open(main, lambda source, ref, trail: DescribeScreen(source, ref, trail, snapshot_of(main.app)))


def open_yaml(main) -> None:
    _open(main, lambda source, ref, trail: YamlScreen(source, ref, trail, snapshot_of(main.app)))

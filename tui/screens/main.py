"""The main screen: a two-line status header over four panels (stacked when narrow, 2×2 when wide).

It is handed snapshots and change sets by the app and rebuilds only the panels whose kinds changed;
each panel's table reconciles by row key, so cursors and scroll positions survive updates.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from kube.model import SCALE_SETS, ChangeSet, Snapshot
from tui.panels import PANELS, Panel, focus_now, panel_state
from tui.rows import RowCache, RowContext, Scope
from tui.rows.index import SnapshotIndex
from tui.status import header_text
from tui.trends import TrendSampler
from widgets.resource_table import ResourceTable
from widgets.text import Palette


class StatusHeader(Static):
    """Context, namespaces, connection state, ARC version, counts, scope, no-access markers."""


class MainScreen(Screen):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]

    BINDINGS = [
        Binding("1", "focus_panel('scalesets')", "Scale sets", show=False, priority=True, id="arc-top.panel-scalesets",
                tooltip="Focus the Scale sets panel"),
        Binding("2", "focus_panel('runners')", "Runners", show=False, priority=True, id="arc-top.panel-runners",
                tooltip="Focus the Runners panel"),
        Binding("3", "focus_panel('volumes')", "Volumes", show=False, priority=True, id="arc-top.panel-volumes",
                tooltip="Focus the Volumes panel"),
        Binding("4", "focus_panel('events')", "Events", show=False, priority=True, id="arc-top.panel-events",
                tooltip="Focus the Events panel"),
        Binding("tab", "cycle(1)", "Next panel", show=False, priority=True, id="arc-top.next-panel"),
        Binding("shift+tab", "cycle(-1)", "Previous panel", show=False, priority=True,
                id="arc-top.previous-panel"),
        Binding("slash", "filter", "Filter", priority=True, id="arc-top.filter",
                tooltip="Filter the focused panel (substring, any case; enter keeps it)"),
        Binding("enter", "keep_filter", "Keep filter", show=False, priority=True, id="arc-top.filter-keep",
                tooltip="In the filter: keep it and go back to the table"),
        Binding("enter", "scope", "Scope", priority=True, id="arc-top.scope",
                tooltip="Scope the other panels to the scale set under the cursor"),
        Binding("escape", "back", "Back", priority=True, id="arc-top.back",
                tooltip="Close or clear the filter, else clear the scope"),
    ]

    # Bindings that move focus are priority bindings: they run in the app's own key loop, so keys typed
    # right after them (`2/dind`) already go to the new focus. check_action lets them fall through to a
    # text field that has the focus.

    # Wide and tall enough: a 2×2 grid, scale sets over runners on the left, volumes over events on the right.
    GRID_MIN = (150, 36)
    GRID_ORDER = ("scalesets", "volumes", "runners", "events")

    def __init__(self, sampler: TrendSampler) -> None:
        super().__init__()
        self._grid: bool | None = None
        self._caches = {spec.id: RowCache() for spec in PANELS}
        self.sampler = sampler
        self.snapshot: Snapshot | None = None
        self.scope: Scope | None = None
        self.palette = Palette()
        self.connection = None
        self.info = None
        self.error = ""
        self._header: Text | None = None
        self._age_now: float | None = None    # the clock ages are shown at: moves on with the sample timer
        self.index = SnapshotIndex()          # the row builders' lookups, kept up to date change set by change set
        self._applies = 0                     # applies started…
        self._full_apply = 0                  # …and which of them was the last full one

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="header")
        with Container(id="panels"):
            for spec in PANELS:
                yield Panel(spec)
        yield Footer()

    def on_mount(self) -> None:
        self.palette = Palette.from_app(self.app)
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)
        self.refresh_header()
        focus_now(self.panel("scalesets").table)

    def on_resize(self, event) -> None:
        grid = self.size.width >= self.GRID_MIN[0] and self.size.height >= self.GRID_MIN[1]
        if grid == self._grid:
            return
        self._grid = grid
        self.set_class(grid, "-grid")
        container = self.query_one("#panels")
        order = self.GRID_ORDER if grid else tuple(spec.id for spec in PANELS)
        for previous, current in zip(order, order[1:], strict=False):
            container.move_child(self.panel(current), after=self.panel(previous))

    def _on_theme_changed(self, _theme: object) -> None:
        self.palette = Palette.from_app(self.app)
        for cache in self._caches.values():
            cache.clear()
        self.refresh_all()

    # ---------------------------------------------------------------- lookups
    def panel(self, panel_id: str) -> Panel:
        return self.query_one(f"#{panel_id}", Panel)

    @property
    def panels(self) -> list[Panel]:
        return list(self.query(Panel))

    def focused_panel(self) -> Panel | None:
        node = self.focused
        while node is not None:
            if isinstance(node, Panel):
                return node
            node = node.parent
        return None

    @property
    def namespaces(self) -> Sequence[str] | None:
        return getattr(self.connection, "namespaces", None)

    # ---------------------------------------------------------------- data in
    def set_connection(self, connection: object, info: object) -> None:
        self.connection = connection
        self.info = info
        self.error = ""
        self.refresh_header()

    def set_error(self, message: str) -> None:
        self.error = message
        self.refresh_header()

    def tick(self, snapshot: Snapshot) -> None:
        """Every few seconds (a new trend sample): ages move on (the tables repaint their visible lines with
        the new ages, no row is rebuilt) and the scale sets show the new trend sample. Changes not drained
        yet are left to the next flush."""
        if self.snapshot is None:
            return
        self._age_now = self.app.clock()
        for panel in self.panels:
            panel.table.set_now(self._age_now)
        self.apply(self.snapshot, None, only={"scalesets"})

    def apply(self, snapshot: Snapshot, changes: ChangeSet | None, only: set[str] | None = None) -> None:
        """Rebuild the panels whose kinds changed (all of them when `changes` is None; `only` limits
        them to those panel ids)."""
        for _ in self.apply_steps(snapshot, changes, only):
            pass

    def apply_steps(self, snapshot: Snapshot, changes: ChangeSet | None,
                    only: set[str] | None = None) -> Iterator[None]:
        """`apply` in steps (a panel's rows are built, a panel is shown): the app's flush yields to the event
        loop at each step, so a key pressed during a big flush is handled within one step, not after the
        whole flush. A full apply (a key that scopes, a theme change) that runs in between supersedes the
        rest of this one."""
        full = changes is None and only is None
        self._applies += 1
        if full:
            self._full_apply = self._applies
        started = self._applies
        self.snapshot = snapshot
        if self.scope is not None and self.scope.uid not in snapshot.of(SCALE_SETS):
            self.scope = None
            changes = None
        if self._age_now is None:
            self._age_now = self.app.clock()
        self.index.update(snapshot, changes)
        kinds = None
        if changes is not None and not changes.states_changed:
            kinds = set(changes.changed) | set(changes.relisted)
        ctx = self._row_context()
        had_scale_sets = self.panel("scalesets").table.row_count > 0
        for panel in self.panels:
            spec = panel.spec
            if kinds is not None and not (kinds & spec.kinds or (self.scope and kinds & spec.scoped_kinds)):
                continue
            if only is not None and spec.id not in only:
                continue
            state = panel_state(spec, dict(snapshot.kinds), connected=True)
            ctx.cache = self._caches[spec.id]
            rows = spec.build(ctx)
            yield
            if self._full_apply > started:
                return
            with self.app.batch_update():
                panel.show(rows, state, self.namespaces, self.scope, self.palette, self._age_now)
            yield
            if self._full_apply > started:
                return
        self.refresh_header()
        if had_scale_sets != (self.panel("scalesets").table.row_count > 0):
            self.refresh_bindings()    # "enter: Scope" is offered only while there is a scale set to scope to

    def refresh_all(self) -> None:
        if self.snapshot is not None:
            self.apply(self.snapshot, None)
        else:
            self.refresh_header()

    def _row_context(self) -> RowContext:
        now = self._age_now if self._age_now is not None else self.app.clock()
        return RowContext(self.snapshot, now, self.palette, self.scope, self.sampler.trends(),
                          self.sampler.listener_pod_counts(), index=self.index)

    def refresh_header(self) -> None:
        connection, info, snapshot = self.connection, self.info, self.snapshot
        text = header_text(
            context=getattr(connection, "context", "") or ("connecting…" if not self.error else ""),
            server=getattr(connection, "server", ""),
            namespaces=getattr(connection, "namespaces", None),
            arc_version=("…" if info is None else
                         getattr(info, "arc_version", "") or getattr(info, "chart_version", "") or "not found"),
            kinds=dict(snapshot.kinds) if snapshot else {},
            snapshot=snapshot, mono_now=self.app.monotonic(), scope=self.scope, error=self.error,
            legacy=bool(getattr(info, "legacy_summerwind", False)), palette=self.palette)
        if text != self._header:           # an update lays out the screen again: only when it changed
            self._header = text
            self.query_one(StatusHeader).update(text, layout=False)    # a fixed two lines (see arc_top.tcss)

    # ---------------------------------------------------------------- actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        focused = self.focused
        if action == "scope":
            return isinstance(focused, ResourceTable) and focused.id == "scalesets-table" and \
                focused.cursor_key is not None
        if action == "back":
            panel = self.focused_panel()
            busy = panel is not None and (panel.filtering or bool(panel.table.filter_text))
            return busy or self.scope is not None
        if action == "keep_filter":
            return isinstance(focused, Input)
        if action in ("filter", "focus_panel", "cycle"):
            return not isinstance(focused, Input)
        return True

    def action_focus_panel(self, panel_id: str) -> None:
        panel = self.panel(panel_id)
        if panel.filtering:
            focus_now(panel.filter_input)
        else:
            focus_now(panel.table)

    def action_cycle(self, step: int) -> None:
        ids = [spec.id for spec in PANELS]
        current = self.focused_panel()
        index = ids.index(current.spec.id) if current is not None else -step
        self.action_focus_panel(ids[(index + step) % len(ids)])

    def action_filter(self) -> None:
        panel = self.focused_panel() or self.panel("scalesets")
        panel.open_filter()

    def action_keep_filter(self) -> None:
        panel = self.focused_panel()
        if panel is not None:
            panel.apply_filter(panel.filter_input.value)
            panel.close_filter(keep=True)

    def action_scope(self) -> None:
        table = self.panel("scalesets").table
        key = table.cursor_key
        if key is None or self.snapshot is None:
            return
        scale_set = self.snapshot.of(SCALE_SETS).get(key)
        if scale_set is None:
            return
        self.set_scope(Scope(scale_set.uid, scale_set.namespace, scale_set.name))
        focus_now(self.panel("runners").table)

    def action_back(self) -> None:
        panel = self.focused_panel()
        if panel is not None and panel.filtering:
            panel.close_filter(keep=False)
        elif panel is not None and panel.table.filter_text:
            panel.apply_filter("")
        elif self.scope is not None:
            self.set_scope(None)

    def set_scope(self, scope: Scope | None) -> None:
        self.scope = scope
        self.refresh_all()
        self.set_class(scope is not None, "-scoped")

    def jump_to(self, panel_id: str, key: str) -> bool:
        """Focus a panel and put its cursor on a row (the command palette's target)."""
        panel = self.panel(panel_id)
        if not panel.table.has_row(key) and self.scope is not None:
            self.set_scope(None)
        if panel.filtering:
            panel.close_filter(keep=True)
        focus_now(panel.table)
        return panel.table.select_key(key)

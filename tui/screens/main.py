"""The main screen: a two-line status header over five panels (stacked when narrow, a grid when wide).

It is handed snapshots and change sets by the app and rebuilds only the panels whose kinds changed;
each panel's table reconciles by row key, so cursors and scroll positions survive updates. Check results
arrive the same way (`findings_steps`): only the rows whose findings changed are built again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.css.query import NoMatches
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Static

from arc_top.kube.model import EVENTS, LISTENERS, PODS, RUNNERS, SCALE_SETS, VOLUMES, ChangeSet, KindState, Snapshot
from arc_top.tui.findings import NO_FINDINGS, FindingsView, finding_targets, scale_set_uid, subject_label
from arc_top.tui.panels import FINDINGS, PANELS, Panel, focus_now, panel_state
from arc_top.tui.rows import RowCache, RowContext, Scope
from arc_top.tui.rows.context import LISTENER_YOUNG
from arc_top.tui.rows.index import SnapshotIndex
from arc_top.tui.rows.runners import group_of
from arc_top.tui.status import header_text
from arc_top.tui.trends import TrendSampler
from arc_top.widgets.footer import KeysFooter
from arc_top.widgets.resource_table import ResourceTable
from arc_top.widgets.text import ERROR, INFO, Palette, clean_line
from arc_top.widgets.textual_internals import FocusRestyle

SILENCED_MARK = "silenced · "   # the title of a silenced finding shown by `s`
# A change of these rebuilds the Scale sets rows; of pods and events, only one about a listener pod does.
SCALE_SET_KINDS = frozenset({SCALE_SETS, LISTENERS, FINDINGS})


def _settled(state: KindState | None) -> bool:
    """The kind has listed, or will not (no access, not served)."""
    return state is None or state.synced or state.state in ("forbidden", "error")


class StatusHeader(Static):
    """Context, namespaces, connection state, ARC version, counts, scope, no-access markers."""


class MainScreen(FocusRestyle, Screen):
    # Textual's Screen repaints every line of the screen when the focus moves (its `focused` reactive repaints);
    # here what shows the focus repaints itself alone: the panel's title line (tui/panels.py) and the table's cursor
    # line (ResourceTable). Moving between the panels repainted 200x60 cells at each key.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

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
        Binding("5", "focus_panel('findings')", "Findings", show=False, priority=True, id="arc-top.panel-findings",
                tooltip="Focus the Findings panel: what the checks found, worst first, by scale set"),
        Binding("tab", "cycle(1)", "Next panel", show=False, priority=True, id="arc-top.next-panel"),
        Binding("shift+tab", "cycle(-1)", "Previous panel", show=False, priority=True,
                id="arc-top.previous-panel"),
        Binding("slash", "filter", "Filter", priority=True, id="arc-top.filter",
                tooltip="Filter the focused panel (substring, any case; enter keeps it)"),
        Binding("enter", "keep_filter", "Keep filter", show=False, priority=True, id="arc-top.filter-keep",
                tooltip="In the filter: keep it and go back to the table"),
        Binding("enter", "scope", "Scope", priority=True, id="arc-top.scope",
                tooltip="Scope the other panels to the scale set under the cursor"),
        Binding("enter", "goto_finding", "Go to", priority=True, id="arc-top.finding-goto",
                tooltip="On a finding: go to the row of the object it is about"),
        Binding("i", "finding_detail", "Details", id="arc-top.finding-detail",
                tooltip="On a finding: all of it — evidence, explanation, docs link, the fix"),
        Binding("i", "row_findings", "Findings", show=False, id="arc-top.row-findings",
                tooltip="On a scale set, runner or volume claim: its findings and its children's, in full"),
        Binding("escape", "back", "Back", priority=True, id="arc-top.back",
                tooltip="Close or clear the filter, else clear the scope"),
        Binding("l", "logs", "Logs", id="arc-top.logs",
                tooltip="Follow the log of the pod under the cursor (a runner's pod, a scale set's listener pod)"),
        Binding("d", "describe", "Describe", id="arc-top.describe",
                tooltip="Describe the object under the cursor: status, events, owner chain, children"),
        Binding("y", "yaml", "YAML", id="arc-top.yaml", tooltip="The live YAML of the object under the cursor"),
        Binding("f", "fix", "Fix", id="arc-top.fix",
                tooltip="Fix the finding under the cursor (on another row: its worst fixable finding): the diff, "
                        "a server-side dry-run, then a confirmation"),
        Binding("u", "undo", "Undo", id="arc-top.undo", tooltip="Undo the last fix applied in this session"),
        Binding("u", "nothing_to_undo", "Undo", show=False, id="arc-top.undo-none",
                tooltip="Undo: nothing applied in this session yet"),
        Binding("c", "copy_name", "Copy name", show=False, id="arc-top.copy-name",
                tooltip="Copy the full name of the object under the cursor to the clipboard (OSC 52: works over SSH)"),
        Binding("s", "toggle_silenced", "Silenced", show=False, id="arc-top.silenced",
                tooltip="Show or hide the findings the config file's silence: rules hide (the header counts them)"),
    ]

    # Bindings that move focus are priority bindings: they run in the app's own key loop, so keys typed
    # right after them (`2/dind`) already go to the new focus. check_action lets them fall through to a
    # text field that has the focus.

    # Wide and tall enough: a grid, scale sets across the top, runners below on the left, findings over volumes
    # over events on the right (the grid places them in this order; see arc_top.tcss).
    GRID_MIN = (150, 36)
    GRID_ORDER = ("scalesets", "runners", "findings", "volumes", "events")

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
        self._tables: tuple[ResourceTable, ...] | None = None     # the panels' tables (see warm_search)
        self._panels: tuple[Panel, ...] | None = None               # (see panels)
        self._listeners_of: object = None     # the pods map _listener_newest was found in (see _newest_listener)
        self._listener_newest = 0.0
        self._listener_pods: tuple | None = None     # ((pods map, listeners map), RowContext.listener_pods of them)
        self.index = SnapshotIndex()          # the row builders' lookups, kept up to date change set by change set
        self._applies = 0                     # applies started…
        self._full_apply = 0                  # …and which of them was the last full one
        self.findings: FindingsView = NO_FINDINGS     # the latest check results (the index holds the same)
        self._jobs_shown = 0                  # the sampler's jobs_version the Scale sets rows were built with
        self.all_findings: list = []          # …before the silence: rules took theirs out
        self.show_silenced = False            # `s`: silenced findings shown (marked) rather than only counted
        self._hidden_focus: ResourceTable | None = None   # a table that lost the focus as its panel emptied
        self._listener_names: set[tuple[str, str]] = set()   # (namespace, name) of every listener pod seen

    def compose(self) -> ComposeResult:
        # The grid or not from the terminal's size now (on_resize follows it): set after mount, the class restyled
        # every widget of the screen once more before the first paint.
        size = self.app.size
        grid = size.width >= self.GRID_MIN[0] and size.height >= self.GRID_MIN[1]
        self._grid = grid
        self.set_class(grid, "-grid")
        by_id = {spec.id: spec for spec in PANELS}
        yield StatusHeader(id="header")
        with Container(id="panels"):
            for panel_id in self.GRID_ORDER if grid else by_id:
                yield Panel(by_id[panel_id])
        yield KeysFooter()

    def on_mount(self) -> None:
        self.palette = Palette.from_app(self.app)
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)
        self.refresh_header()
        focus_now(self.panel("scalesets").table)

    def on_resize(self, event) -> None:
        self._findings_focus()
        grid = self.size.width >= self.GRID_MIN[0] and self.size.height >= self.GRID_MIN[1]
        if grid == self._grid:
            return
        self._grid = grid
        self.set_class(grid, "-grid")
        container = self.query_one("#panels")
        order = self.GRID_ORDER if grid else tuple(spec.id for spec in PANELS)
        for previous, current in zip(order, order[1:], strict=False):
            container.move_child(self.panel(current), after=self.panel(previous))
        self._panels = None

    def on_descendant_focus(self, _event) -> None:
        self._findings_focus()
        self._hidden_focus = None

    def _findings_focus(self) -> None:
        """Short (80×24), a focused Findings panel takes the room of the panels below it (arc_top.tcss). The class is
        on the panels' container and only while short: a class changed restyles every node under it (30 ms a key
        on the screen), and a tall screen has no use for it."""
        panel = self.focused_panel()
        short = self.size.height < self.VERTICAL_BREAKPOINTS[1][0]
        try:
            container = self.query_one("#panels")
        except NoMatches:
            return
        container.set_class(short and panel is not None and panel.spec.id == "findings", "-findings-focus")

    def on_descendant_blur(self, event) -> None:
        # An empty panel hides its table (`-empty`: syncing, nothing to show); Textual then blurs it if it had
        # the focus, and nothing else takes it: the Scale sets table, focused at mount, lost it whenever the
        # first layout came before the scale sets had listed. It gets the focus back when it shows rows (_steps).
        if self.focused is None and isinstance(event.widget, ResourceTable):
            self._hidden_focus = event.widget

    def _on_theme_changed(self, _theme: object) -> None:
        self.palette = Palette.from_app(self.app)
        for cache in self._caches.values():
            cache.clear()
        self.refresh_all()

    # ---------------------------------------------------------------- lookups
    def panel(self, panel_id: str) -> Panel:
        return self.query_one(f"#{panel_id}", Panel)

    @property
    def panels(self) -> tuple[Panel, ...]:
        """The panels in screen order, looked up once (every flush and age tick walked them: a query of the DOM,
        ~1 ms at each trend sample); on_resize reorders them."""
        if self._panels is None:
            panels = tuple(self.query(Panel))
            if not panels:
                return panels               # (not composed yet)
            self._panels = panels
        return self._panels

    def warm_search(self, seconds: float) -> bool:
        """Search texts made ahead in the panels' tables, for about `seconds` (ResourceTable.warm_search).
        True: more to do. (Called every second: the tables are looked up once, not queried each time.)"""
        if self._tables is None:
            try:
                self._tables = tuple(panel.table for panel in self.panels)
            except NoMatches:               # shutting down: a timer fired after a panel's table went
                return False
        return any(table.warm_search(seconds) for table in self._tables)

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

    def tick(self, snapshot: Snapshot, trends_changed: bool = True) -> None:
        """Every few seconds (a new trend sample): ages move on (the tables repaint their visible lines with
        the new ages, no row is rebuilt) and the scale sets show the new trend sample — their rows are built
        again only when a trend cell shows something new (`trends_changed`) or a listener pod is young enough
        for its state to read differently soon (tui/rows/scale_sets.listener_status). Changes not drained
        yet are left to the next flush."""
        if self.snapshot is None:
            return
        self._age_now = now = self.app.clock()
        # All five tables in one paint: a line whose age moved on re-renders its age cell only (ResourceTable), so
        # one frame costs less than the five the compositor would otherwise make.
        for panel in self.panels:
            panel.table.set_now(now)
        if trends_changed or self._young_listener(now):
            self.apply(self.snapshot, None, only={"scalesets"})

    def _young_listener(self, now: float) -> bool:
        """A listener pod young enough that its scale set's Listener cell may change with its age alone."""
        horizon = LISTENER_YOUNG + 2 * getattr(self.app, "sample_interval", 5.0)
        return now - self._newest_listener() < horizon

    def _newest_listener(self) -> float:
        """The creation time of the newest listener pod (0: none). Walks the pods only when they changed since the
        last call (a snapshot shares its pods map with the previous one until a pod changes): the age tick of an
        idle screen costs nothing per pod."""
        pods = self.snapshot.of(PODS)
        if self._listeners_of is not pods:
            self._listeners_of = pods
            self._listener_newest = max((pod.created for pod in pods.values() if pod.role == "listener"),
                                        default=0.0)
        return self._listener_newest

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
        return self._steps(snapshot, changes, only)

    def findings_steps(self, findings: Sequence, error: str = "") -> Iterator[None]:
        """New check results, applied like a change set: the panels showing findings are rebuilt (the Runners
        panel only for the runners whose findings changed). Results that show nothing new are only kept."""
        if not error:                          # a failed run keeps the last
            self.all_findings = list(findings)
        view = self._silenced_view(self.all_findings, error)
        jobs_version = getattr(self.sampler, "jobs_version", 0)
        same = view.shows_same(self.findings)
        jobs_moved = self._jobs_shown != jobs_version
        self._jobs_shown = jobs_version
        self.findings = view
        self.index.set_findings(view)
        if same and not jobs_moved:
            return
        if self.snapshot is None:
            self.refresh_header()
            return
        if same:        # only the job figures moved on: they are shown by the Scale sets rows alone
            yield from self._steps(self.snapshot, None, only={"scalesets"})
            return
        yield from self._steps(self.snapshot, ChangeSet({FINDINGS: {}}))

    def _silenced_view(self, findings: list, error: str) -> FindingsView:
        """The findings the panels show: without the ones the app's silence: rules match, or (after `s`) with
        them, their titles marked."""
        rules = getattr(self.app, "silence", ())
        if not rules:
            return FindingsView(findings, error=error)
        from arc_top.checks.silence import split  # (the checks package: not before the first screen)

        shown, silenced = split(findings, rules)
        if self.show_silenced:
            marked = [replace(f, title=f"{SILENCED_MARK}{f.title}") for f in silenced]
            return FindingsView(shown + marked, error=error, silenced=len(silenced), showing_silenced=True)
        return FindingsView(shown, error=error, silenced=len(silenced))

    def action_toggle_silenced(self) -> None:
        self.show_silenced = not self.show_silenced
        if not getattr(self.app, "silence", ()):
            self.notify("no silence: rules in the config file (see arc-top config)", markup=False, timeout=3)
            return
        if self.findings.ready or self.findings.error:
            for _ in self.findings_steps(self.all_findings, self.findings.error):
                pass
        n = self.findings.silenced
        what = f"{n} silenced finding{'s' if n != 1 else ''}"
        self.notify(f"showing {what} (marked 'silenced')" if self.show_silenced else f"hiding {what}",
                    markup=False, timeout=3)

    def action_copy_name(self) -> None:
        """`c`: the full name of the object under the cursor, to the clipboard (Textual writes OSC 52)."""
        from arc_top.tui.screens.drill import resolve

        panel = self.focused_panel() or self.panel("scalesets")
        key = panel.table.cursor_key
        ref = resolve(key, self.snapshot, self.findings)
        if ref is not None:
            kind, name = ref.kind, ref.name
        else:
            group = self.finding_group(key) if panel.spec.id == "findings" else None
            kind, name = "AutoscalingRunnerSet", (group or "").partition("/")[2]
        name = clean_line(name)
        if not name:
            self.notify("no object under the cursor", severity="warning", markup=False, timeout=3)
            return
        self.app.copy_to_clipboard(name)
        self.notify(f"copied {clean_line(kind)} name {name}", markup=False, timeout=3)

    def _steps(self, snapshot: Snapshot, changes: ChangeSet | None, only: set[str] | None = None) -> Iterator[None]:
        full = changes is None and only is None
        self._applies += 1
        if full:
            self._full_apply = self._applies
        started = self._applies
        previous, self.snapshot = self.snapshot, snapshot
        if self.scope is not None and self.scope.uid not in snapshot.of(SCALE_SETS):
            self.scope = None
            changes = None
        if self._age_now is None:
            self._age_now = self.app.clock()
        self.index.update(snapshot, changes)
        if not self.app.is_running:
            return              # shutting down: the panels may be gone already (a flush timer can still fire)
        kinds = None
        if changes is not None and not changes.states_changed:
            kinds = set(changes.changed) | set(changes.relisted)
        listeners_touched = self._listener_pods_touched(previous, snapshot, changes)
        ctx = self._row_context()
        had_scale_sets = self.panel("scalesets").table.row_count > 0
        for panel in self.panels:
            spec = panel.spec
            if kinds is not None and not (kinds & spec.kinds or (self.scope and kinds & spec.scoped_kinds)):
                continue
            if spec.id == "scalesets" and kinds is not None and not kinds & SCALE_SET_KINDS and not listeners_touched:
                continue        # runner pods and their events came and went: a scale set's row shows none of them
            if only is not None and spec.id not in only:
                continue
            state = panel_state(spec, dict(snapshot.kinds), connected=True)
            if spec.id == "findings" and state is None:
                state = self._findings_state()
            ctx.cache = self._caches[spec.id]
            if all(_settled(snapshot.kinds.get(k)) for k in spec.kinds):
                rows = spec.build(ctx)
            else:
                # Not every kind its rows are made of has listed yet: the first screen must not wait for the last
                # page, and a panel must not be rebuilt whole at each page (see _early_rows).
                rows = [] if self._early_rows(panel, snapshot) is None else spec.build(ctx)
                state = state or ("syncing…", INFO)
            yield
            if self._full_apply > started or not self.app.is_running:
                return
            with self.app.batch_update():
                panel.show(rows, state, self.namespaces, self.scope, self.palette, self._age_now)
            if self._hidden_focus is panel.table and self.focused is None and panel.table.visible_count:
                focus_now(panel.table)
            yield
            if self._full_apply > started or not self.app.is_running:
                return
        self.refresh_header()
        if had_scale_sets != (self.panel("scalesets").table.row_count > 0):
            self.refresh_bindings()    # "enter: Scope" is offered only while there is a scale set to scope to

    def _listener_pods_touched(self, previous: Snapshot | None, snapshot: Snapshot, changes: ChangeSet | None) -> bool:
        """The change set touches a listener pod or an event about one (what a Scale sets row shows of the pods
        and events: tui/rows/scale_sets.listener_status). O(changes): the listener pods' names are kept, from every
        listener pod seen (a few per scale set)."""
        names = self._listener_names
        if previous is None or (changes is not None and (PODS in changes.relisted or EVENTS in changes.relisted)):
            names.update((p.namespace, p.name) for p in snapshot.of(PODS).values() if p.role == "listener")
            return True
        if changes is None:
            return True         # (a full apply of a snapshot whose pods came through change sets: names known)
        touched = False
        old_pods = previous.of(PODS)
        for uid, pod in changes.changed.get(PODS, {}).items():
            pod = pod if pod is not None else old_pods.get(uid)
            if pod is None or pod.role == "listener":
                touched = True
                if pod is not None:
                    names.add((pod.namespace, pod.name))
        if touched:
            return True
        old_events = previous.of(EVENTS)
        for uid, event in changes.changed.get(EVENTS, {}).items():
            event = event if event is not None else old_events.get(uid)
            if event is None or (event.object_namespace, event.object_name) in names:
                return True
        return False

    def _early_rows(self, panel: Panel, snapshot: Snapshot) -> bool | None:
        """While a panel's kinds are still listing (the first lists publish page by page): True to build its rows
        from what has arrived, None to show none yet. The Scale sets panel is built as soon as the scale sets have
        listed (a few rows, whatever else is missing: listener pods, events); the Runners panel as soon as runners
        arrive, page by page: its rows are built per runner a change set touched (tui/rows/runners.py), so a page
        costs its own runners, and the rows are there when the last page lands. The other panels wait for their
        lists (a claim's or an event's row means little without the rest)."""
        spec = panel.spec
        if spec.id == "scalesets":
            return True if _settled(snapshot.kinds.get(SCALE_SETS)) else None
        if spec.id != "runners":
            return None
        return True if snapshot.of(RUNNERS) or snapshot.of(PODS) else None

    def _findings_state(self) -> tuple[str, str] | None:
        if self.findings.error:
            return f"checks failed: {self.findings.error}", ERROR
        if not self.findings.ready:
            return "checking…", INFO
        return None

    def refresh_all(self) -> None:
        if self.snapshot is not None:
            self.apply(self.snapshot, None)
        else:
            self.refresh_header()

    def _row_context(self) -> RowContext:
        now = self._age_now if self._age_now is not None else self.app.clock()
        ctx = RowContext(self.snapshot, now, self.palette, self.scope, self.sampler.trends(),
                         self.sampler.listener_pod_counts(), index=self.index)
        # The listener pods by scale set walk every pod: kept while the pods and listeners are the same maps (a
        # snapshot shares a kind's map until that kind changes), so the age tick's Scale sets rows walk none.
        maps = (self.snapshot.of(PODS), self.snapshot.of(LISTENERS))
        kept = self._listener_pods
        if kept is not None and kept[0][0] is maps[0] and kept[0][1] is maps[1]:
            ctx.listener_pods = kept[1]
        else:
            self._listener_pods = (maps, ctx.listener_pods)
        return ctx

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
            legacy=bool(getattr(info, "legacy_summerwind", False)), palette=self.palette, findings=self.findings,
            width=self.size.width - 2, index=self.index)
        if text != self._header:           # an update lays out the screen again: only when it changed
            try:
                header = self.query_one(StatusHeader)
            except NoMatches:              # shutting down: a timer fired after the screen's widgets went
                return
            self._header = text
            header.update(text, layout=False)    # a fixed two lines (see arc_top.tcss)

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
        if action == "goto_finding":
            return isinstance(focused, ResourceTable) and focused.id == "findings-table" and \
                focused.cursor_key is not None
        in_findings = isinstance(focused, ResourceTable) and focused.id == "findings-table"
        if action == "finding_detail":
            return in_findings
        if action == "row_findings":
            return isinstance(focused, ResourceTable) and not in_findings
        if action in ("filter", "focus_panel", "cycle"):
            return not isinstance(focused, Input)
        if action == "fix":
            # Offered on the rows findings are shown on (not on events); a row without a fixable one says so.
            return isinstance(focused, ResourceTable) and focused.id != "events-table"
        if action == "undo":
            from arc_top.tui.fixing import can_undo
            return not isinstance(focused, Input) and can_undo(self.app)
        if action == "nothing_to_undo":
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

    # ---------------------------------------------------------------- findings
    def finding(self, key: str | None):
        """The finding a Findings panel row (key) stands for (None for a scale set's row)."""
        return None if key is None else self.findings.by_key.get(key)

    def finding_group(self, key: str | None) -> str | None:
        """The scale set ("namespace/name", "" for none) of a Findings panel scale set row."""
        return self.findings.groups.get(key) if key is not None else None

    def row_findings(self, panel_id: str, key: str | None) -> list:
        """What `i` shows for a row: a finding; a scale set's and its objects'; an object's and its children's."""
        view = self.findings
        if key is None:
            return []
        if panel_id == "findings":
            found = self.finding(key)
            if found is not None:
                return [found]
            group = self.finding_group(key)
            return [] if group is None else [f for f in view.findings if f.scale_set == group]
        if panel_id == "scalesets":
            scale_set = self.snapshot.of(SCALE_SETS).get(key) if self.snapshot else None
            if scale_set is None:
                return list(view.of(key))
            own = list(view.of_set(scale_set.namespace, scale_set.name))
            return own + [f for f in view.of(key) if f not in own]
        runner_group = group_of(key) if panel_id == "runners" else None
        if runner_group is not None:           # a scale set's row: the set's findings and its objects'
            return list(view.of_set(*runner_group))
        uids = [key]
        if panel_id == "runners" and self.snapshot is not None:
            # A runner's row (keyed by its EphemeralRunner, or by its pod when it has none) shows its pod's
            # findings and its children's: workflow pods and work volume (as tui/rows/runners.py builds them).
            obj = self.snapshot.of(RUNNERS).get(key) or self.snapshot.of(PODS).get(key)
            if obj is not None and getattr(obj, "role", "runner") == "runner":
                name = (obj.namespace, obj.name)
                index = self.index
                related = [index.pods_by_name.get(name), *index.workflow_pods.get(name, ()),
                           index.volumes_by_name.get((obj.namespace, f"{obj.name}-work"))]
                uids += [o.uid for o in related if o is not None and o.uid != key]
        return [f for uid in uids for f in view.of(uid)]

    def _row_label(self, key: str) -> str:
        for kind in (SCALE_SETS, RUNNERS, PODS, VOLUMES):
            obj = self.snapshot.of(kind).get(key) if self.snapshot else None
            if obj is not None:
                return clean_line(f"{obj.namespace}/{obj.name}")
        return ""

    def action_goto_finding(self) -> None:
        table = self.panel("findings").table
        found = self.finding(table.cursor_key)
        group = self.finding_group(table.cursor_key)
        if self.snapshot is None or (found is None and not group):
            return
        targets = finding_targets(found, self.snapshot, self.index) if found is not None else \
            [("scalesets", uid) for uid in (scale_set_uid(self.snapshot, group),) if uid]
        for panel_id, key in targets:
            if self.jump_to(panel_id, key):
                return
        subject = found.subject if found is not None else None
        if subject is None:
            self.notify(f"the scale set {group} is gone", severity="warning", markup=False, timeout=4)
            return
        self.notify(f"{subject.kind} {subject.name} is not shown in a panel (it may be gone): press i for the "
                    "finding", severity="warning", markup=False, timeout=4)

    def action_row_findings(self) -> None:
        self.action_finding_detail()

    def action_finding_detail(self) -> None:
        panel = self.focused_panel() or self.panel("findings")
        key = panel.table.cursor_key
        found = self.row_findings(panel.spec.id, key)
        if not found:
            what = "no findings" if self.findings.ready else "the checks have not run yet"
            self.notify(f"{what} for this row", severity="information", markup=False, timeout=3)
            return
        group = self.finding_group(key) if panel.spec.id == "findings" else None
        if panel.spec.id == "findings" and group is None:
            title = f"{found[0].code} · {subject_label(found[0])}"
        elif group is not None:
            title = f"{len(found)} finding{'s' if len(found) != 1 else ''} · {group or 'no scale set'}"
        else:
            title = f"{len(found)} finding{'s' if len(found) != 1 else ''} · {self._row_label(key)}"
        from arc_top.tui.screens.finding import FindingScreen  # (not before the first screen)

        self.app.push_screen(FindingScreen(found, title, self.palette))

    # Fixes: tui/screens/fix.py opens the fix screen for the row's fixable findings (tui/fixing.py picks them).
    def action_fix(self) -> None:
        from arc_top.tui.screens import fix
        fix.open_fix(self)

    def action_undo(self) -> None:
        from arc_top.tui.screens import fix
        fix.open_undo(self)

    def action_nothing_to_undo(self) -> None:
        from arc_top.tui.fixing import NOTHING_TO_UNDO
        self.notify(NOTHING_TO_UNDO, severity="information", markup=False, timeout=3)

    # Drill-down (issue 6): tui/screens/navigation.py opens the screen of the row under the cursor.
    def action_logs(self) -> None:
        from arc_top.tui.screens import navigation
        navigation.open_logs(self)

    def action_describe(self) -> None:
        from arc_top.tui.screens import navigation
        navigation.open_describe(self)

    def action_yaml(self) -> None:
        from arc_top.tui.screens import navigation
        navigation.open_yaml(self)

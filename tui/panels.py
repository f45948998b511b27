"""The five panels: what each shows (a `PanelSpec`) and the widget that hosts it (`Panel`: a titled
resource table, its syncing / no access / empty message and its filter input).

A new panel is one `PanelSpec` (columns + a row builder in tui/rows.py) and one entry in `PANELS`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.dom import NoScreen
from textual.widgets import Input, Static

from arc_top.kube.model import EVENTS, LISTENERS, PODS, RUNNER_SETS, RUNNERS, SCALE_SETS, VOLUMES, KindState
from arc_top.tui import rows
from arc_top.tui.rows import RowContext, Scope, TableRow
from arc_top.tui.status import namespaces_label
from arc_top.widgets.resource_table import ColumnSpec, ResourceTable
from arc_top.widgets.text import ERROR, INFO, MUTED, OK, WARN, Palette, clean_line, status_text
from arc_top.widgets.textual_internals import QuietInput, set_border_title_text

# Not a Kubernetes kind: a change set naming it carries new check results (MainScreen.findings_steps).
FINDINGS = "findings"
_PARENT = attrgetter("parent")


@dataclass(frozen=True)
class PanelSpec:
    id: str
    title: str
    number: int
    columns: Sequence[ColumnSpec]
    build: Callable[[RowContext], list[TableRow]]
    kinds: frozenset[str]            # changes of these kinds rebuild the rows
    scoped_kinds: frozenset[str]     # …and these too while scoped to a scale set
    primary: tuple[str, ...]         # kinds whose state decides syncing / no access
    nothing: str                     # the empty state
    nothing_severity: str = ""       # …and its severity (default: a warning for scale sets, else muted)
    count_children: bool = False     # the title counts child rows (findings), not root rows (their scale sets)
    count_grouped: str = ""          # …or the rows whose parent key has this prefix (runners, not their scale sets)
    top_first: bool = False          # a cursor on the first row stays there as rows come and go (worst first)


PANELS: tuple[PanelSpec, ...] = (
    PanelSpec("scalesets", "Scale sets", 1, rows.SCALE_SET_COLUMNS, rows.scale_set_rows,
              frozenset({SCALE_SETS, LISTENERS, PODS, EVENTS, FINDINGS}), frozenset(), (SCALE_SETS,),
              "no runner scale sets found in {namespaces}; is ARC installed?"),
    PanelSpec("runners", "Runners", 2, rows.RUNNER_COLUMNS, rows.runner_rows,
              frozenset({RUNNERS, PODS, VOLUMES, EVENTS, FINDINGS}), frozenset(), (RUNNERS, PODS),
              "no runners{scope}: idle scale sets with minRunners 0 have none", count_grouped=rows.RUNNER_GROUP_PREFIX),
    PanelSpec("volumes", "Volumes", 3, rows.VOLUME_COLUMNS, rows.volume_rows,
              frozenset({VOLUMES, EVENTS, FINDINGS}), frozenset({RUNNERS, PODS, LISTENERS, RUNNER_SETS}), (VOLUMES,),
              "no persistent volume claims{scope}"),
    PanelSpec("events", "Events", 4, rows.EVENT_COLUMNS, rows.event_rows,
              frozenset({EVENTS}), frozenset({RUNNERS, PODS, VOLUMES, LISTENERS, RUNNER_SETS}), (EVENTS,),
              "no events{scope}"),
    PanelSpec("findings", "Findings", 5, rows.FINDING_COLUMNS, rows.finding_rows,
              frozenset({FINDINGS}), frozenset(), (SCALE_SETS,), "no findings{scope}", OK, count_children=True,
              top_first=True),
)
PANEL_BY_ID = {spec.id: spec for spec in PANELS}


def panel_state(spec: PanelSpec, kinds: dict[str, KindState], connected: bool) -> tuple[str, str] | None:
    """(message, severity) while the panel cannot show rows yet, else None."""
    if not connected:
        return "syncing…", INFO
    states = [kinds.get(kind) for kind in spec.primary]
    forbidden = [s for s in states if s is not None and s.state == "forbidden"]
    if forbidden:
        why = f": {forbidden[0].message}" if forbidden[0].message else ""
        return f"no access: {', '.join(s.kind for s in forbidden)}{why}", ERROR
    if any(s is None or (not s.synced and s.state != "error") for s in states):
        return "syncing…", INFO
    errors = [s for s in states if s is not None and s.state == "error" and not s.synced]
    if errors:
        return f"error: {errors[0].message or errors[0].kind}", ERROR
    return None


def _under(per_parent: Counter, prefix: str) -> int:
    """The rows whose parent key starts with `prefix` (per_parent: parent key -> rows)."""
    return sum(n for parent, n in per_parent.items() if parent is not None and parent.startswith(prefix))


def focus_now(widget) -> None:
    """Focus at once, not after the queued messages (Widget.focus defers): keys typed right after
    `2` or `/` must reach the new target, as they do when an operator types `/dind` quickly."""
    try:
        widget.screen.set_focus(widget)
    except NoScreen:  # not mounted yet: fall back to the deferred focus
        widget.focus()


class Panel(Vertical):
    """A titled resource table with a state line and a `/` filter."""

    def __init__(self, spec: PanelSpec) -> None:
        super().__init__(id=spec.id, classes="panel")
        self.spec = spec
        self.scope: Scope | None = None
        self.state: tuple[str, str] | None = ("syncing…", INFO)
        self.palette = Palette()
        self._namespaces: Sequence[str] | None = None
        self._title: Text | None = None
        self._rows: list[TableRow] = []        # the rows last shown (count_grouped counts them)
        self._grouped_total: int | None = None  # …how many they are, once counted
        self._state_text: Text | None = None    # what the state line shows (None: its first text, "syncing…")

    def compose(self) -> ComposeResult:
        yield Static(status_text("syncing…", INFO), classes="panel-state")
        yield ResourceTable(self.spec.columns, id=f"{self.spec.id}-table")
        filter_input = QuietInput(placeholder="filter (esc clears, enter keeps)", classes="panel-filter",
                             id=f"{self.spec.id}-filter", compact=True)
        filter_input.display = False
        yield filter_input

    @property
    def table(self) -> ResourceTable:
        return self.query_one(ResourceTable)

    @property
    def filter_input(self) -> Input:
        return self.query_one(Input)

    @property
    def filtering(self) -> bool:
        return self.filter_input.display

    def on_mount(self) -> None:
        self.update_title()

    # ---------------------------------------------------------------- data
    def show(self, table_rows: list[TableRow], state: tuple[str, str] | None, namespaces: Sequence[str] | None,
             scope: Scope | None, palette: Palette, now: float | None = None) -> None:
        self.scope = scope
        self.state = state
        self.palette = palette
        if now is not None:
            self.table.set_now(now)
        table = self.table
        at_top = self.spec.top_first and table.cursor_row == 0
        # (A builder that knows how many rows sit under its group rows says so: the runners, counted without
        # walking 20,000 rows at each flush.)
        self._rows, self._grouped_total = table_rows, getattr(table_rows, "grouped_total", None)
        table.sync(table_rows)
        if at_top and table.row_count and table.cursor_row != 0:
            table.move_cursor(row=0, animate=False, scroll=False)
            table.call_after_refresh(table.scroll_to, y=0, animate=False, immediate=True)  # after the table's own
        self._namespaces = namespaces
        self._show_state()
        self.update_title()

    def _show_state(self) -> None:
        message: Text | None = None
        if self.state is not None:
            message = status_text(self.state[0], self.state[1], self.palette)
        elif self.table.total_count == 0:
            scope = f" for {self.scope.label}" if self.scope else ""
            text = self.spec.nothing.format(namespaces=namespaces_label(self._namespaces),
                                            scope=scope)
            severity = self.spec.nothing_severity or (WARN if self.spec.id == "scalesets" else MUTED)
            message = status_text(text, severity, self.palette)
        # A filter that matches nothing says so in the table's first line, not in the state line: hiding the table
        # and showing the state line laid the whole screen out again at the keystroke that emptied it.
        nothing = self.state is None and self.table.total_count and not self.table.visible_count
        self.table.placeholder = status_text(f"no rows match /{clean_line(self.table.filter_text)}", MUTED,
                                             self.palette) if nothing else None
        state = self.query_one(".panel-state", Static)
        if message is None:
            state.display = False
        else:
            if message != self._state_text:
                # One line high (arc_top.tcss): new text needs no layout of the screen, and the same text (a
                # "syncing…" shown again at every flush of the first fill) not even a repaint.
                self._state_text = message
                state.update(message, layout=False)
            state.display = True
        self.set_class(message is not None and self.table.visible_count == 0, "-empty")

    def update_title(self) -> None:
        table = self.table
        title = Text(no_wrap=True, end="")
        if self.has_focus_within:
            # The focused panel: a marker and its number and name in the theme's primary colour (drawn in the title,
            # which repaints the top line alone: a style of the panel's own would repaint it whole).
            primary = Style(color=self.palette.primary)
            title.append("▶", primary + Style(bold=True))
            title.append(f" {self.spec.number} ", primary + Style(reverse=True))
            title.append(f" {self.spec.title} ", primary + Style(bold=True))
        else:
            title.append(f" {self.spec.number} ", "reverse")
            title.append(f" {self.spec.title} ", "bold")
        if self.state is None or table.total_count:
            if self.spec.count_grouped:
                total, shown = self._grouped_counts(table)
            else:
                total, shown = table.root_count, table.visible_root_count if table.filter_text else 0
            if self.spec.count_children:
                total = table.total_count - total
                shown = table.visible_count - shown if table.filter_text else 0
            title.append(f"{shown}/{total} " if table.filter_text else f"{total} ")
        if self.scope is not None:
            title.append(f"· scope {self.scope.label} ", "italic")
        if table.filter_text:
            title.append(f"· /{clean_line(table.filter_text)} ", "italic")
        if title != self._title:
            self._title = title
            # Repaints the top border line only: Textual's setter repaints the whole panel, its table included
            # (40 lines at 200x60), and under churn the count in the Runners title changes at nearly every flush.
            set_border_title_text(self, title)

    def _grouped_counts(self, table: ResourceTable) -> tuple[int, int]:
        """(rows under a group row, how many of them the filter shows): the runners, not their scale sets."""
        prefix = self.spec.count_grouped
        if self._grouped_total is None:        # once per show: the rows counted per parent in C, the parents here
            self._grouped_total = _under(Counter(map(_PARENT, self._rows)), prefix)
        if not table.filter_text:
            return self._grouped_total, 0
        hidden = table.hidden_rows()
        if hidden is not None:      # the filter hides few rows: those are counted, not the 20,000 shown
            return self._grouped_total, self._grouped_total - sum(
                1 for row in hidden if row.parent is not None and row.parent.startswith(prefix))
        return self._grouped_total, _under(table.visible_per_parent(), prefix)     # (in C: a keystroke)

    # ---------------------------------------------------------------- filter
    def open_filter(self) -> None:
        filter_input = self.filter_input
        filter_input.value = self.table.filter_text
        filter_input.display = True
        focus_now(filter_input)
        self.call_after_refresh(self.table.prepare_filter)      # once the input shows

    def close_filter(self, keep: bool) -> None:
        filter_input = self.filter_input
        if not keep:
            filter_input.value = ""
            self.apply_filter("")
        filter_input.display = False
        focus_now(self.table)

    def apply_filter(self, text: str) -> None:
        self.table.set_filter(text)
        self._show_state()
        self.update_title()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.update_title()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.update_title()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.apply_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.close_filter(keep=True)

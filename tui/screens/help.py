"""`?`: every key, generated from the bindings themselves (after the user's keymap), with its id so a
keymap entry can be written for it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def _bindings(items: Iterable[BindingType]) -> list[Binding]:
    out = []
    for item in items:
        if isinstance(item, Binding):
            out.append(item)
        else:
            out.append(Binding(*item))
    return out


def binding_groups(app) -> list[tuple[str, list[Binding]]]:
    """(group title, bindings) for the app (an instance or the class), the main screen, the tables, the drill-down
    screens and this one."""
    from arc_top.tui.screens.describe import DescribeScreen
    from arc_top.tui.screens.drill import DrillScreen
    from arc_top.tui.screens.finding import FindingScreen
    from arc_top.tui.screens.fix import FixScreen
    from arc_top.tui.screens.fix_confirm import ConfirmFixScreen
    from arc_top.tui.screens.logs import ContainerPicker, LogScreen
    from arc_top.tui.screens.main import MainScreen
    from arc_top.tui.screens.yaml_view import YamlScreen
    from arc_top.widgets.log_view import LogView
    from arc_top.widgets.resource_table import ResourceTable

    tables = _bindings(ResourceTable.BINDINGS)
    app_class = app if isinstance(app, type) else type(app)
    return [("Everywhere", _bindings(app_class.BINDINGS)), ("Main screen", _bindings(MainScreen.BINDINGS)),
            ("Tables", tables),
            ("Log (l)", _bindings(LogScreen.BINDINGS) + _bindings(ContainerPicker.BINDINGS)),
            ("Describe (d)", _bindings(DescribeScreen.BINDINGS)), ("YAML (y)", _bindings(YamlScreen.BINDINGS)),
            ("Drill-down", _bindings(DrillScreen.BINDINGS)),
            ("Text views", _bindings(LogView.BINDINGS)),
            ("Finding (i)", _bindings(FindingScreen.BINDINGS)),
            ("Fix (f) and undo (u)", _bindings(FixScreen.BINDINGS)),
            ("Fix confirmation (enter on the fix screen)", _bindings(ConfirmFixScreen.BINDINGS)),
            ("Help", _bindings(HelpScreen.BINDINGS))]


def effective_keys(binding: Binding, keymap: Mapping[str, str]) -> list[str]:
    keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
    return [key.strip() for key in keys.split(",") if key.strip()]


def help_rows(app, keymap: Mapping[str, str]) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(group, [(keys as displayed, what it does, binding id)])."""
    groups = []
    for title, bindings in binding_groups(app):
        rows = []
        for binding in bindings:
            keys = " / ".join(app.get_key_display(binding.with_key(key, key_display=None))
                              for key in effective_keys(binding, keymap))
            what = binding.tooltip or binding.description or binding.action
            rows.append((keys, what, binding.id or ""))
        groups.append((title, rows))
    return groups


def help_table(groups: list[tuple[str, list[tuple[str, str, str]]]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column("key", no_wrap=True)
    table.add_column("what")
    table.add_column("id", style="dim", no_wrap=True)
    for title, rows in groups:
        table.add_row(Text(title, style="bold underline"), "", "")
        for keys, what, binding_id in rows:
            table.add_row(Text(keys, style="bold"), Text(what), Text(binding_id))
        table.add_row("", "", "")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close help", id="help.close"),
        Binding("question_mark", "dismiss", "Close help", show=False, id="help.close-question"),
        Binding("q", "dismiss", "Close help", show=False, id="help.close-q"),
    ]

    def compose(self) -> ComposeResult:
        keymap = getattr(self.app, "keymap", {}) or {}
        self.groups = help_rows(self.app, keymap)
        with VerticalScroll(id="help-body") as body:
            body.border_title = "Keys  (esc closes; ids are for a keymap)"
            yield Static(help_table(self.groups), id="help-text")

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(result)

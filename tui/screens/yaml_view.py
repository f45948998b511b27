"""`y`: the live object as YAML (GET through the official client), secret values masked, `managedFields`
hidden unless asked for (`m`), searchable (`/`, n / N)."""

from __future__ import annotations

import re
from collections.abc import Callable

import yaml
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from arc_top.kube.model import Snapshot
from arc_top.kube.objects import ObjectRef, short_error, without_managed_fields
from arc_top.tui.screens.drill import DrillScreen, DrillSource, SearchMixin
from arc_top.widgets.footer import KeysFooter
from arc_top.widgets.log_view import LogView, log_text
from arc_top.widgets.text import ERROR, Palette, clean_line, status_text

_KEY = re.compile(r"^(\s*(?:- )?)([^\s:#'\"][^:#]*?|'[^']*'|\"[^\"]*\"):(?=\s|$)")


def yaml_lines(obj: dict, palette: Palette) -> list[Text]:
    """The object as YAML, one Text per line, keys coloured; every line sanitised (log_text)."""
    dumped = yaml.safe_dump(obj, sort_keys=False, allow_unicode=True, width=4096, default_flow_style=False)
    out = []
    key_style = palette.style("info")
    for raw in dumped.splitlines():
        line = log_text(raw)
        m = _KEY.match(line)
        text = Text(line, end="")
        if m:
            text.stylize(key_style, m.start(2), m.end(2))
        out.append(text)
    return out


class YamlScreen(SearchMixin, DrillScreen):
    VIEW = "yaml"
    BINDINGS = [
        Binding("m", "managed_fields", "managedFields", id="arc-top.yaml.managed",
                tooltip="Show or hide metadata.managedFields"),
        Binding("slash", "search", "Search", id="arc-top.yaml.search", tooltip="Search the YAML"),
        Binding("n", "next_match(1)", "Next", show=False, id="arc-top.yaml.next", tooltip="Next match"),
        Binding("N", "next_match(-1)", "Prev", show=False, id="arc-top.yaml.prev",
                tooltip="Previous match"),
        Binding("w", "wrap", "Wrap", id="arc-top.yaml.wrap", tooltip="Wrap long lines, or scroll sideways"),
        Binding("r", "reload", "Reload", id="arc-top.yaml.reload", tooltip="GET the object again"),
        Binding("d", "describe", "Describe", show=False, id="arc-top.yaml.describe", tooltip="Describe the object"),
    ]

    def __init__(self, source: DrillSource, ref: ObjectRef, trail: tuple[str, ...],
                 snapshot: Callable[[], Snapshot | None] | None = None) -> None:
        super().__init__(source, ref, trail, snapshot)
        self.obj: dict | None = None
        self.managed_fields = False
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield from self.compose_crumbs()
        yield Static(id="yaml-title")
        yield LogView(100_000, follow=False, id="yaml-text")
        yield self.search_field("yaml-search")
        yield KeysFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.view.set_palette(self.palette)
        self.view.focus()
        self._title()
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="yaml")
    def _load(self) -> None:
        try:
            obj = self.source.fetch(self.ref)
        except Exception as exc:
            self.app.call_from_thread(self._failed, short_error(exc))
            return
        self.app.call_from_thread(self._loaded, obj)

    def _failed(self, error: str) -> None:
        if self.is_mounted:
            self.loaded = True
            self.view.set_lines([("", status_text(f"cannot read {self.ref.label}: {error}", ERROR, self.palette),
                                  None, "")])

    def _loaded(self, obj: dict) -> None:
        if self.is_mounted:
            self.obj = obj
            self._show()
            self.loaded = True

    def _show(self) -> None:
        if self.obj is None:
            return
        obj = self.obj if self.managed_fields else without_managed_fields(self.obj)
        self.view.set_lines([("", line, None, "") for line in yaml_lines(obj, self.palette)])
        self._title()

    def _title(self) -> None:
        text = Text(no_wrap=True, end="", overflow="ellipsis")
        text.append(f" {self.ref.kind} {self.ref.name}", "bold")
        if self.ref.namespace:
            text.append(f"  namespace {self.ref.namespace}", "dim")
        text.append("  · secret values masked", "dim")
        text.append("  · managedFields " + ("shown" if self.managed_fields else "hidden (m)"), "dim")
        if self.view.search:
            text.append(f"  · /{clean_line(self.view.search)}", "italic")
        self.query_one("#yaml-title", Static).update(text)

    def search_changed(self) -> None:
        self._title()

    # ---------------------------------------------------------------- actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if isinstance(self.focused, Input) and action != "back":
            return False
        if action == "next_match":
            return bool(self.view.search) or None
        return True

    def action_managed_fields(self) -> None:
        self.managed_fields = not self.managed_fields
        self._show()

    def action_wrap(self) -> None:
        self.view.wrap = not self.view.wrap

    def action_reload(self) -> None:
        self._load()

    def action_describe(self) -> None:
        self.open_describe_of(self.ref)

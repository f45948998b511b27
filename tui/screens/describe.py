"""`d`: describe one object — a readable summary (tui/screens/describe_text.py) beside its place in ARC:
the owner chain, the scale set's listener and the object's children, each opened with `enter`."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.content import Content
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from arc_top.kube.model import Snapshot
from arc_top.kube.objects import ObjectRef, short_error
from arc_top.tui.screens.describe_text import describe_lines, wrap
from arc_top.tui.screens.drill import DrillScreen, DrillSource, SearchMixin
from arc_top.tui.screens.relations import (
    CHILD,
    LISTENER,
    OWNER,
    THIS,
    Relation,
    RelationIndex,
    listener_of,
    log_target,
    relations,
)
from arc_top.widgets.footer import KeysFooter
from arc_top.widgets.log_view import LogView
from arc_top.widgets.text import ERROR, MUTED, OK, WARN, clean_line, status_text

ROLE_LABEL = {OWNER: "↑ owner", THIS: "● this", LISTENER: "◆ listener", CHILD: "↓ child"}


def relation_label(relation: Relation) -> Content:
    """`↑ owner  EphemeralRunnerSet arc-runner-set-h8ff4  replicas 2 · current 2` (plain Content, never markup)."""
    parts: list[tuple[str, str] | str] = [(f"{ROLE_LABEL.get(relation.role, relation.role)}  ", "dim"),
                                          (clean_line(relation.ref.kind), "bold" if relation.role == THIS else ""),
                                          " " + clean_line(relation.ref.name)]
    if relation.note:
        parts.append(("  " + clean_line(relation.note), "dim"))
    return Content.assemble(*parts)


class DescribeScreen(SearchMixin, DrillScreen):
    VIEW = "describe"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        Binding("enter", "open", "Open", id="arc-top.describe.open",
                tooltip="Describe the owner, listener or child highlighted on the left"),
        Binding("l", "logs", "Logs", id="arc-top.describe.logs",
                tooltip="The log of this object's pod (an EphemeralRunner's pod, a scale set's listener pod)"),
        Binding("y", "yaml", "YAML", id="arc-top.describe.yaml", tooltip="This object's live YAML"),
        Binding("r", "reload", "Reload", id="arc-top.describe.reload", tooltip="Read the object again"),
        Binding("slash", "search", "Search", id="arc-top.describe.search", tooltip="Search the description"),
        Binding("n", "next_match(1)", "Next", show=False, id="arc-top.describe.next", tooltip="Next match"),
        Binding("N", "next_match(-1)", "Prev", show=False, id="arc-top.describe.prev",
                tooltip="Previous match"),
        Binding("tab", "switch", "Switch", show=False, id="arc-top.describe.switch",
                tooltip="Move between the related objects and the description"),
    ]

    def __init__(self, source: DrillSource, ref: ObjectRef, trail: tuple[str, ...],
                 snapshot: Callable[[], Snapshot | None] | None = None) -> None:
        super().__init__(source, ref, trail, snapshot)
        self.related: list[Relation] = []
        self.described: tuple[list[Text], list[int]] | None = None
        self.loaded = False
        self.error = ""

    def compose(self) -> ComposeResult:
        yield from self.compose_crumbs()
        with Container(id="describe-body"):
            related = OptionList(id="describe-related")
            related.border_title = "Owners · listener · children"
            yield related
            text = LogView(20_000, follow=False, id="describe-text")
            text.border_title = self.ref.label
            yield text
        yield self.search_field("describe-search")
        yield KeysFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.view.set_palette(self.palette)
        self.view.set_lines([("", Text("reading…", style="dim"), None, "")])
        self._show_related(None)
        self.query_one(OptionList).focus()
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="describe")
    def _load(self) -> None:
        try:
            obj = self.source.fetch(self.ref)
        except Exception as exc:
            self.app.call_from_thread(self._failed, short_error(exc))
            return
        uid = str((obj.get("metadata") or {}).get("uid") or self.ref.uid)
        try:
            events = self.source.events(self.ref, uid)
        except Exception as exc:     # no access to events: describe without them
            events = [{"type": "Warning", "reason": "EventsUnavailable", "message": short_error(exc)}]
        self.app.call_from_thread(self._loaded, obj, events)

    def _failed(self, error: str) -> None:
        if not self.is_mounted:
            return
        self.error = error
        self.loaded = True
        self.view.set_lines([("", status_text(f"cannot read {self.ref.label}: {error}", ERROR, self.palette),
                              None, "")])

    def _loaded(self, obj: dict, events: list[dict]) -> None:
        if not self.is_mounted:
            return
        snapshot = self.snapshot()
        listener = []
        if self.ref.kind == "AutoscalingRunnerSet":
            index = RelationIndex(snapshot)
            for kind, item in listener_of(index, index.find(self.ref)):
                listener.append((f"{'pod' if kind == 'Pod' else 'listener'} {item.namespace}/{item.name}",
                                 getattr(item, "status", "") or ""))
        jobs, trend = self._jobs(obj)
        self.described = describe_lines(obj, events, snapshot, self.palette, self.now(), listener,
                                        self._credentials(obj), jobs, trend)
        self._show_text()
        self._show_related(obj)
        self.loaded = True

    def _credentials(self, obj: dict) -> tuple[str, str] | None:
        """A scale set's GitHub credential, as the checks' last probe saw it (masked: ghp_…a1b2)."""
        if obj.get("kind") != "AutoscalingRunnerSet":
            return None
        from arc_top.checks.credentials import results_by_scale_set

        if not getattr(self.app, "github", True):
            return "not probed (--no-github)", MUTED
        checks_loop = getattr(self.app, "checks", None)
        if checks_loop is None:
            return None
        meta = obj.get("metadata") or {}
        result = results_by_scale_set(checks_loop.probe_results).get(f"{meta.get('namespace')}/{meta.get('name')}")
        if result is None:
            return "not probed yet", MUTED
        from arc_top.checks.credentials import summary

        return summary(result), (OK if result.ok else ERROR if result.evaluated else WARN)

    def _jobs(self, obj: dict) -> tuple[object, str]:
        """A scale set's listener figures as the checks loop last read them, and a sparkline of jobs waiting."""
        if obj.get("kind") != "AutoscalingRunnerSet":
            return None, ""
        from arc_top.widgets.sparkline import sparkline

        meta = obj.get("metadata") or {}
        sampler = getattr(self.app, "sampler", None)
        fig = getattr(sampler, "jobs", {}).get((meta.get("namespace"), meta.get("name")))
        waiting = getattr(sampler, "waiting", {}).get(str(meta.get("uid") or ""), ())
        return fig, sparkline(waiting, 24) if waiting else ""

    def _show_text(self) -> None:
        if self.described is None or not self.is_mounted:
            return
        view = self.view
        width = (view.scrollable_content_region.width or view.size.width or 80) - 1
        view.set_lines([("", line, None, "") for line in wrap(*self.described, width)])

    def on_resize(self, _event) -> None:
        self.call_after_refresh(self._show_text)

    def _show_related(self, obj: dict | None) -> None:
        self.related = relations(self.ref, obj, self.snapshot())
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for i, relation in enumerate(self.related):
            options.add_option(Option(relation_label(relation), id=str(i),
                                      disabled=relation.role == THIS))
        if self.related:
            this = next((i for i, r in enumerate(self.related) if r.role == THIS), 0)
            wanted = highlighted if highlighted is not None and highlighted < len(self.related) else this + 1
            if wanted >= len(self.related) or self.related[wanted].role == THIS:
                wanted = max(0, this - 1)
            if self.related[wanted].role != THIS:
                options.highlighted = wanted

    # ---------------------------------------------------------------- actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if isinstance(self.focused, Input) and action != "back":
            return False
        if action == "logs":
            return log_target(self.ref, self.snapshot()) is not None or None
        if action == "next_match":
            return bool(self.view.search) or None
        return True

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._open_index(int(event.option.id or -1))

    def action_open(self) -> None:
        highlighted = self.query_one(OptionList).highlighted
        if highlighted is not None:
            self._open_index(highlighted)

    def _open_index(self, index: int) -> None:
        if 0 <= index < len(self.related) and self.related[index].role != THIS:
            self.open_describe_of(self.related[index].ref)

    def action_logs(self) -> None:
        self.open_logs_of(self.ref)

    def action_yaml(self) -> None:
        self.open_yaml_of(self.ref)

    def action_reload(self) -> None:
        self.notify("reading again…", severity="information", markup=False, timeout=1)
        self._load()

    def action_switch(self) -> None:
        related, text = self.query_one(OptionList), self.view
        (text if related.has_focus else related).focus()


"""Drill-down from any row: `l` logs, `d` describe, `y` YAML — what the keys resolve to, where the data
comes from, and what the drill-down screens share (breadcrumb, `esc` back one level, `q`, `?`).

A row's key is an object uid (a scale set, an EphemeralRunner, a pod, a volume claim; an events row is a
folded group of events about one object). `l` shows the log of the pod behind it: the pod itself, an
EphemeralRunner's runner pod (same name), a scale set's listener pod.

The data comes from a `DrillSource`: `KubeSource` reads through the monitor's official-client ApiClient
(kube/objects.py, kube/logstream.py); tests put a `drill_source` attribute on their fake monitor.

The screens that the keys open are opened by tui/screens/navigation.py: they derive from DrillScreen here, so this
module imports none of them.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Sequence
from typing import Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, Static

from arc_top.kube.logstream import LogEvent, LogRequest
from arc_top.kube.model import EVENTS, LISTENERS, PODS, RUNNER_SETS, RUNNERS, SCALE_SETS, VOLUMES, Snapshot
from arc_top.kube.objects import ObjectRef
from arc_top.tui.protocol import connection_of
from arc_top.widgets.log_view import LogView
from arc_top.widgets.text import Palette, clean_line

KIND_OF = {SCALE_SETS: "AutoscalingRunnerSet", RUNNER_SETS: "EphemeralRunnerSet", RUNNERS: "EphemeralRunner",
           LISTENERS: "AutoscalingListener", PODS: "Pod", VOLUMES: "PersistentVolumeClaim"}
SEPARATOR = " › "


class Follower(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


class DrillSource(Protocol):
    """Where the drill-down screens read from. Methods other than `follow` are called on worker threads."""

    def fetch(self, ref: ObjectRef) -> dict: ...
    def events(self, ref: ObjectRef, uid: str) -> list[dict]: ...
    def follow(self, request: LogRequest, on_event: Callable[[LogEvent], None]) -> Follower: ...


class KubeSource:
    """The live cluster through the official client."""

    def __init__(self, api_client) -> None:
        self.api_client = api_client

    def fetch(self, ref: ObjectRef) -> dict:
        from arc_top.kube.objects import fetch
        return fetch(self.api_client, ref)

    def events(self, ref: ObjectRef, uid: str) -> list[dict]:
        from arc_top.kube.objects import events_for
        return events_for(self.api_client, ref, uid)

    def follow(self, request: LogRequest, on_event: Callable[[LogEvent], None]) -> Follower:
        from arc_top.kube.logstream import LogFollower
        return LogFollower(self.api_client, request, on_event)


_SOURCES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def source_for(app) -> DrillSource | None:
    monitor = getattr(app, "monitor", None)
    if monitor is None:
        return None
    given = getattr(monitor, "drill_source", None)
    if given is not None:
        return given
    api_client = getattr(connection_of(monitor), "api_client", None)
    if api_client is None:
        return None
    try:
        source = _SOURCES.get(monitor)
        if source is None:
            source = _SOURCES[monitor] = KubeSource(api_client)
    except TypeError:                       # a monitor that cannot be weakly referenced
        source = KubeSource(api_client)
    return source


def clock_of(app) -> Callable[[], float]:
    clock = getattr(app, "clock", None)
    return clock if callable(clock) else time.time


# ---- rows to objects ----------------------------------------------------------------------------------------
def resolve(key: str | None, snapshot: Snapshot | None, findings: object = None) -> ObjectRef | None:
    """The object a row key (a uid, an events row's group key, a findings row's key) stands for."""
    if key is None or snapshot is None:
        return None
    if key.startswith("rg-"):              # a Runners panel scale set row (tui/rows/runners.py group_key)
        namespace, _, name = key[3:].partition("/")
        found = next((s for s in snapshot.of(SCALE_SETS).values() if (s.namespace, s.name) == (namespace, name)), None)
        return None if found is None else ObjectRef("AutoscalingRunnerSet", namespace, name, found.uid)
    if key.startswith("fd-"):              # a finding: its subject
        finding = (getattr(findings, "by_key", None) or {}).get(key)
        subject = getattr(finding, "subject", None)
        if subject is None or not subject.name:
            return None
        return ObjectRef(subject.kind, subject.namespace, subject.name, subject.uid)
    for kind_key, kind in KIND_OF.items():
        obj = snapshot.of(kind_key).get(key)
        if obj is not None:
            return ObjectRef(kind, obj.namespace, obj.name, obj.uid)
    if key.startswith("ev-"):
        try:
            from arc_top.tui.rows.events import fold_events
            folded = {f.key: f for f in fold_events(list(snapshot.of(EVENTS).values()))}
        except Exception:          # the events panel changed its keys: nothing to drill into
            return None
        f = folded.get(key)
        if f is not None:
            uid = next((e.object_uid for e in snapshot.of(EVENTS).values()
                        if (e.object_kind, e.object_namespace, e.object_name) ==
                        (f.object_kind, f.object_namespace, f.object_name)), "")
            return ObjectRef(f.object_kind, f.object_namespace, f.object_name, uid)
    return None


def snapshot_of(app) -> Callable[[], Snapshot | None]:
    def get() -> Snapshot | None:
        main = getattr(app, "main_screen", None)
        return getattr(main, "snapshot", None)
    return get


# ---- what the drill-down screens share ----------------------------------------------------------------------
def crumbs(trail: Sequence[str], width: int) -> Text:
    """`arc-top › Runners › Pod ns/name › log`, shortened from the left part when narrow."""
    parts = ["arc-top", *(clean_line(p) for p in trail)]
    text = SEPARATOR.join(parts)
    if len(text) > width > 8:
        last = parts[-1]
        keep = max(0, width - len(last) - 4)
        head = SEPARATOR.join(parts[:-1])
        text = ("…" + head[len(head) - keep:] if keep else "…") + SEPARATOR + last
        if len(text) > width:
            text = text[:width - 1] + "…"
    out = Text(no_wrap=True, end="")
    before, sep, last = text.rpartition(SEPARATOR)
    if sep:
        out.append(before + sep, "dim")
    out.append(last, "bold")
    return out


class Breadcrumb(Static):
    """Where you are: arc-top › panel › object › view."""

    def __init__(self, trail: Sequence[str]) -> None:
        super().__init__(id="drill-crumbs")
        self.trail = tuple(trail)

    def render(self) -> Text:
        return crumbs(self.trail, self.size.width or 80)


class DrillScreen(Screen):
    """Base of the log, describe and YAML screens: a breadcrumb on top, `esc` back one level."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="arc-top.drill.back",
                tooltip="Back one level (closes the search first)"),
        Binding("q", "close", "Back", show=False, id="arc-top.drill.close", tooltip="Back one level"),
        Binding("question_mark", "help", "Help", show=False, id="arc-top.drill.help",
                tooltip="Show every key"),
    ]
    VIEW = ""                  # the last breadcrumb part: "log", "describe", "yaml"

    def __init__(self, source: DrillSource, ref: ObjectRef, trail: tuple[str, ...],
                 snapshot: Callable[[], Snapshot | None] | None = None) -> None:
        super().__init__()
        self.source = source
        self.ref = ref
        self.parent_trail = tuple(trail)
        self.snapshot = snapshot or (lambda: None)
        self.palette = Palette()

    @property
    def trail(self) -> tuple[str, ...]:
        parent = self.parent_trail
        if len(parent) >= 2 and parent[-2] == self.ref.label:     # another view of the same object
            return (*parent, self.VIEW)
        return (*parent, self.ref.label, self.VIEW)

    def compose_crumbs(self) -> ComposeResult:
        yield Breadcrumb(self.trail)

    def on_mount(self) -> None:
        self.palette = Palette.from_app(self.app)
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)

    def _on_theme_changed(self, _theme: object) -> None:
        self.palette = Palette.from_app(self.app)
        for view in self.query(LogView):
            view.set_palette(self.palette)

    def now(self) -> float:
        return clock_of(self.app)()

    # ---- navigation ------------------------------------------------------------------------------------
    def action_back(self) -> None:
        self.dismiss()

    def action_close(self) -> None:
        self.dismiss()

    # The help screen and the other views import this module (help lists its keys, the views derive from it), so
    # it opens them through the app (ArcTopApp.action_help, .open_view_of → tui/screens/navigation.py), not by
    # importing them: the screens' imports stay one-way (tests/test_layers.py).
    def action_help(self) -> None:
        self.app.action_help()

    # Screens opened from here carry this screen's whole trail: the breadcrumb is the stack `esc` unwinds.
    def open_logs_of(self, ref: ObjectRef) -> None:
        self.app.open_view_of(self, "log", ref)

    def open_describe_of(self, ref: ObjectRef) -> None:
        self.app.open_view_of(self, "describe", ref)

    def open_yaml_of(self, ref: ObjectRef) -> None:
        self.app.open_view_of(self, "yaml", ref)


class SearchMixin:
    """`/` search (and, where offered, `&` filter) over the screen's LogView, through one input field.
    The screen composes one LogView and one `search_field()`; `esc` closes the field, the filter, the search,
    and only then the screen."""

    input_mode = ""

    @staticmethod
    def search_field(field_id: str) -> Input:
        """The screen's search input, hidden until `/` (or `&`)."""
        search = Input(placeholder="search", id=field_id, compact=True)
        search.display = False
        return search

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    @property
    def search_input(self) -> Input:
        return self.query_one(Input)

    def action_search(self) -> None:
        self._open_input("search")

    def action_filter(self) -> None:
        self._open_input("filter")

    def action_next_match(self, direction: int) -> None:
        view = self.view
        if view.next_match(direction) is None and view.search:
            self.notify(f"nothing matches /{clean_line(view.search)}", severity="warning", markup=False, timeout=2)
        self.search_changed()

    def search_changed(self) -> None:
        """The search or filter changed (the log screen updates its title)."""

    def action_back(self) -> None:
        if not self.close_search_first():
            self.dismiss()

    def close_search_first(self) -> bool:
        """`esc`: close the field, else clear the filter, else the search. False when nothing was open."""
        view = self.view
        if self.input_mode:
            self._close_input()
        elif view.filter:
            view.set_filter("")
        elif view.search:
            view.set_search("")
        else:
            return False
        self.search_changed()
        return True

    def _open_input(self, mode: str) -> None:
        self.input_mode = mode
        field = self.search_input
        field.placeholder = ("search (any case; enter keeps it, n / N next / previous, esc closes)"
                             if mode == "search" else "show only lines containing… (enter keeps it, esc closes)")
        field.value = self.view.search if mode == "search" else self.view.filter
        field.display = True
        field.focus()
        self.refresh_bindings()

    def _close_input(self) -> None:
        self.input_mode = ""
        self.search_input.display = False
        self.view.focus()
        self.refresh_bindings()

    def on_input_changed(self, event) -> None:
        event.stop()
        if self.input_mode == "search":
            self.view.set_search(event.value)
        elif self.input_mode == "filter":
            self.view.set_filter(event.value)
        self.search_changed()

    def on_input_submitted(self, event) -> None:
        event.stop()
        mode = self.input_mode
        self._close_input()
        if mode == "search" and event.value:
            self.action_next_match(1)
        self.search_changed()

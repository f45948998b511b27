"""`l`: a pod's log, followed live.

Lines come from a follower thread (kube/logstream.py) that only appends to a list; a timer drains it every
`DRAIN_S` into the LogView in one batch, so 5,000 lines/s never floods Textual's message queue and key
presses stay answered. Lines are sanitised and matched against the ARC failure patterns on the follower
thread; a matching line is marked, and the finding codes seen are named beside the title.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from arc_top.checks.logpatterns import match as match_pattern
from arc_top.kube.logstream import LogLines, LogRequest, LogStatus
from arc_top.kube.model import Snapshot
from arc_top.kube.objects import ObjectRef, short_error
from arc_top.tui.screens.drill import DrillScreen, DrillSource, SearchMixin
from arc_top.widgets.footer import KeysFooter
from arc_top.widgets.log_view import LogView, log_text
from arc_top.widgets.text import ERROR, INFO, MARKERS, OK, WARN, clean_line

DRAIN_S = 0.1
DEFAULT_CAP = 50_000
CAP_ENV = "ARC_TOP_LOG_LINES"
SAVE_DIR_ENV = "ARC_TOP_SAVE_DIR"
# `0`–`4`: (label, tailLines, sinceSeconds)
WINDOWS = (("tail 200", 200, None), ("last 1 m", None, 60), ("last 5 m", None, 300), ("last 30 m", None, 1800),
           ("all", None, None))


def default_cap(app: object = None) -> int:
    """The lines a log view keeps: the app's `log_lines` (the config file's, or ARC_TOP_LOG_LINES, resolved by
    cli/config.py), else ARC_TOP_LOG_LINES, else DEFAULT_CAP."""
    configured = getattr(app, "log_lines", None)
    if isinstance(configured, int) and configured > 0:
        return configured
    try:
        return max(100, int(os.environ.get(CAP_ENV, "")))
    except ValueError:
        return DEFAULT_CAP


def containers_of(pod: dict) -> list[tuple[str, str]]:
    """(name, a few words on its state) for every container, init containers first."""
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    status = pod.get("status") if isinstance(pod.get("status"), dict) else {}
    states = {s.get("name"): s for s in (status.get("containerStatuses") or []) +
              (status.get("initContainerStatuses") or []) if isinstance(s, dict)}
    out = []
    for key, kind in (("initContainers", "init"), ("containers", "")):
        for c in spec.get(key) or ():
            if not isinstance(c, dict) or not c.get("name"):
                continue
            st = states.get(c["name"], {})
            state = next(iter(st.get("state") or {}), "not started")
            detail = [kind] if kind else []
            detail.append(state)
            if st.get("restartCount"):
                detail.append(f"{st['restartCount']} restarts")
            out.append((str(c["name"]), ", ".join(detail)))
    return out


def default_container(pod: dict) -> str | None:
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or () if isinstance(c, dict)]
    wanted = ((pod.get("metadata") or {}).get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
    if wanted in names:
        return wanted
    if "runner" in names:
        return "runner"
    return names[0] if names else None


def save_path(ref: ObjectRef, container: str | None, previous: bool, now: float) -> str:
    directory = os.environ.get(SAVE_DIR_ENV) or os.getcwd()
    if not os.access(directory, os.W_OK):
        directory = tempfile.gettempdir()
    parts = [ref.namespace, ref.name, container or "", "previous" if previous else "",
             time.strftime("%Y%m%d-%H%M%S", time.localtime(now))]
    name = "-".join(re.sub(r"[^A-Za-z0-9_.-]", "_", p) for p in parts if p)
    return os.path.join(directory, f"arc-top-{name}.log")


class ContainerPicker(ModalScreen[str | None]):
    """`c`: pick one of the pod's containers."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="arc-top.log.pick-cancel")]

    def __init__(self, containers: list[tuple[str, str]], current: str | None) -> None:
        super().__init__()
        self.containers = containers
        self.current = current

    def compose(self) -> ComposeResult:
        options = []
        for name, state in self.containers:
            label = Text(no_wrap=True, end="")
            label.append(("● " if name == self.current else "  ") + clean_line(name), "bold")
            label.append(f"  {clean_line(state)}", "dim")
            options.append(Option(label, id=name))
        picker = OptionList(*options, id="container-list")
        picker.border_title = "Container (enter picks, esc cancels)"
        yield picker

    def on_mount(self) -> None:
        picker = self.query_one(OptionList)
        names = [name for name, _ in self.containers]
        if self.current in names:
            picker.highlighted = names.index(self.current)
        picker.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class LogScreen(SearchMixin, DrillScreen):
    VIEW = "log"
    BINDINGS = [
        Binding("f", "toggle_follow", "Follow", id="arc-top.log.follow",
                tooltip="Follow new lines (on by default); off keeps the view where it is"),
        Binding("end", "resume", "Resume", show=False, id="arc-top.log.resume",
                tooltip="Jump to the end and follow again"),
        Binding("slash", "search", "Search", id="arc-top.log.search",
                tooltip="Search (any case); n / N go to the next / previous match"),
        Binding("ampersand", "filter", "Filter", id="arc-top.log.filter",
                tooltip="Show only lines containing a text (empty: all lines)"),
        Binding("n", "next_match(1)", "Next", show=False, id="arc-top.log.next-match", tooltip="Next match"),
        Binding("N", "next_match(-1)", "Prev", show=False, id="arc-top.log.prev-match",
                tooltip="Previous match"),
        Binding("c", "container", "Container", id="arc-top.log.container",
                tooltip="Pick the container (multi-container pods)"),
        Binding("p", "previous", "Previous", id="arc-top.log.previous",
                tooltip="The previous (terminated) instance of the container, or back to the current one"),
        Binding("t", "timestamps", "Time", id="arc-top.log.timestamps", tooltip="Show or hide timestamps"),
        Binding("w", "wrap", "Wrap", id="arc-top.log.wrap", tooltip="Wrap long lines, or scroll sideways"),
        Binding("0", "window(0)", "Tail 200", show=False, id="arc-top.log.window-tail",
                tooltip="Window: the last 200 lines"),
        Binding("1", "window(1)", "1 m", show=False, id="arc-top.log.window-1m", tooltip="Window: the last minute"),
        Binding("2", "window(2)", "5 m", show=False, id="arc-top.log.window-5m",
                tooltip="Window: the last 5 minutes"),
        Binding("3", "window(3)", "30 m", show=False, id="arc-top.log.window-30m",
                tooltip="Window: the last 30 minutes"),
        Binding("4", "window(4)", "All", show=False, id="arc-top.log.window-all", tooltip="Window: the whole log"),
        Binding("ctrl+s", "save", "Save", id="arc-top.log.save", tooltip="Save the lines held to a file"),
        Binding("d", "describe", "Describe", show=False, id="arc-top.log.describe", tooltip="Describe the pod"),
        Binding("y", "yaml", "YAML", show=False, id="arc-top.log.yaml", tooltip="The pod's live YAML"),
    ]

    def __init__(self, source: DrillSource, ref: ObjectRef, trail: tuple[str, ...],
                 snapshot: Callable[[], Snapshot | None] | None = None, *, container: str | None = None,
                 cap: int | None = None, window: int = 0) -> None:
        super().__init__(source, ref, trail, snapshot)
        self.container = container
        self.previous = False
        self.window = window
        try:
            app = self.app
        except Exception:       # made outside a running app (a test): no configured cap
            app = None
        self.cap = cap or default_cap(app)
        self.containers: list[tuple[str, str]] = []
        self.state = "connecting…"
        self.state_severity = INFO
        self.codes: dict[str, str] = {}            # finding code -> label, in the order first seen
        self.saved_path = ""
        self._pending: list[tuple[int, str, object]] = []
        self._lock = threading.Lock()
        self._gen = 0
        self._follower = None
        self._last_waiting = ""
        self._title: tuple | None = None

    # ---------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield from self.compose_crumbs()
        with Horizontal(id="log-bar"):
            yield Static(id="log-title")
            yield Static(id="log-badge")
        yield LogView(self.cap, id="log-view")
        yield self.search_field("log-search")
        yield KeysFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.view.set_palette(self.palette)
        self.view.focus()
        self.set_interval(DRAIN_S, self.drain)
        self._update_title()
        self._load_pod()

    def on_unmount(self) -> None:
        self._stop_follower()

    # ---------------------------------------------------------------- the stream
    @work(thread=True, exclusive=True, exit_on_error=False, group="log-pod")
    def _load_pod(self) -> None:
        error = ""
        try:
            pod = self.source.fetch(self.ref)
        except Exception as exc:  # no get on pods, or gone: follow anyway, the server will say
            pod, error = {}, f"cannot read the pod: {short_error(exc)}"
        self.app.call_from_thread(self._pod_loaded, pod, error)

    def _pod_loaded(self, pod: dict, error: str = "") -> None:
        if not self.is_mounted:
            return
        self.containers = containers_of(pod)
        if self.container is None:
            self.container = default_container(pod)
        self.refresh_bindings()
        self._restart()
        if error:
            self._note(error, WARN)

    def request(self) -> LogRequest:
        _, tail, since = WINDOWS[self.window]
        return LogRequest(self.ref.namespace, self.ref.name, self.container, previous=self.previous,
                          follow=not self.previous, tail_lines=tail, since_seconds=since)

    def _restart(self) -> None:
        self._stop_follower()
        self._gen += 1
        gen = self._gen
        with self._lock:
            self._pending = []
        self.view.clear()
        self.view.set_follow(True)
        self.codes = {}
        self._last_waiting = ""
        self._set_state("connecting…", INFO)
        self._follower = self.source.follow(self.request(), lambda event: self._on_event(gen, event))
        self._follower.start()

    def _stop_follower(self) -> None:
        follower, self._follower = self._follower, None
        if follower is not None:
            follower.stop()

    def _on_event(self, gen: int, event) -> None:
        """On the follower thread: sanitise, match, queue. Nothing here touches the UI."""
        if isinstance(event, LogLines):
            items = []
            for stamp, raw in event.lines:
                text = log_text(raw)
                items.append((stamp, text, match_pattern(text), ""))
            entry = (gen, "lines", items)
        else:
            entry = (gen, "status", event)
        with self._lock:
            self._pending.append(entry)

    def drain(self) -> None:
        """Every DRAIN_S: everything queued, in one append per run of lines."""
        if not self.is_running or not self.app.is_running:
            return                  # exiting: Textual takes the widgets down while the timer can still fire
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return
        batch: list = []
        for gen, kind, payload in pending:
            if gen != self._gen:
                continue
            if kind == "lines":
                batch.extend(payload)
                continue
            if batch:
                self._append(batch)
                batch = []
            self._status(payload)
        if batch:
            self._append(batch)
        self._update_title()

    def _append(self, items: list) -> None:
        for _, _, mark, _ in items:
            if mark is not None and mark.code not in self.codes:
                self.codes[mark.code] = mark.label
        view = self.view
        if len(items) > view.cap:                 # a whole long log at once: only the last `cap` would stay
            view.evicted += len(items) - view.cap
            items = items[-view.cap:]
        view.append(items)

    def _note(self, text: str, severity: str = WARN) -> None:
        if self.is_mounted:
            self.view.append([("", clean_line(text), None, severity)])

    def _status(self, status: LogStatus) -> None:
        state, message = status.state, status.message
        if state == "connecting":
            self._set_state("connecting…", INFO)
        elif state == "streaming":
            if message:
                self._note(message, OK)
            self._set_state("previous instance" if self.previous else "streaming", OK)
        elif state == "reconnecting":
            self._note(message)
            self._set_state("reconnecting…", WARN)
        elif state == "waiting":
            if message != self._last_waiting:
                self._note(message)
                self._last_waiting = message
            self._set_state("waiting for the container", WARN)
        elif state == "ended":
            self._note(message, INFO)
            self._set_state("ended", INFO)
        else:
            self._note(message, ERROR)
            self._set_state("error", ERROR)

    def _set_state(self, state: str, severity: str) -> None:
        self.state, self.state_severity = state, severity
        self._update_title()

    # ---------------------------------------------------------------- title
    def title_text(self) -> Text:
        """` runner  ✔ following · tail 200 · 1,234 lines  ✖ ARC502 work directory not writable`."""
        p = self.palette
        view = self.view
        out = Text(no_wrap=True, end="", overflow="ellipsis")
        out.append(f" {self.container or self.ref.name}", "bold")
        if self.previous:
            out.append(" (previous)", p.style(WARN))
        state, severity = self.state, self.state_severity
        if state == "streaming":
            state, severity = ("following", OK) if view.follow else ("paused", INFO)
        out.append(f"  {MARKERS.get(severity, '')} {state}", p.style(severity))
        out.append(f" · {WINDOWS[self.window][0]} · {view.line_count:,} lines", "dim")
        flags = [name for name, on in (("time", view.timestamps), ("wrap", view.wrap)) if on]
        if flags:
            out.append(" · " + " ".join(flags), "dim")
        if view.search:
            out.append(f" · /{clean_line(view.search)}", "italic")
        if view.filter:
            out.append(f" · &{clean_line(view.filter)} ({view.view_count:,})", "italic")
        for i, (code, label) in enumerate(self.codes.items()):
            out.append(f"  {MARKERS[ERROR]} {code}", p.style(ERROR))
            if i == 0:
                out.append(f" {label}", p.style(ERROR))         # the first failure seen, in words
        return out

    def badge_text(self) -> Text:
        view = self.view
        if view.follow or not view.new_lines:
            return Text("", end="")
        return Text(f" ↓ {view.new_lines:,} new lines (end) ", style="reverse bold", end="")

    def _update_title(self) -> None:
        if not self.is_mounted:
            return
        key = (self.state, self.state_severity, tuple(self.codes), self.view.line_count, self.view.follow,
               self.view.new_lines, self.view.search, self.view.filter, self.view.timestamps, self.view.wrap,
               self.window, self.previous, self.container)
        if key == self._title:
            return
        self._title = key
        self.query_one("#log-title", Static).update(self.title_text())
        badge = self.badge_text()
        widget = self.query_one("#log-badge", Static)
        widget.update(badge)
        widget.display = bool(badge.plain)

    def on_log_view_follow_changed(self, _event: LogView.FollowChanged) -> None:
        self._update_title()

    # ---------------------------------------------------------------- actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if isinstance(self.focused, Input) and action != "back":
            return False            # keys typed into the search field are text
        if action == "container":
            return len(self.containers) > 1
        if action == "next_match":
            return bool(self.view.search) or None
        return True

    def search_changed(self) -> None:
        self._update_title()

    def action_toggle_follow(self) -> None:
        self.view.set_follow(not self.view.follow)
        self._update_title()

    def action_resume(self) -> None:
        self.view.set_follow(True)
        self._update_title()

    def action_timestamps(self) -> None:
        self.view.timestamps = not self.view.timestamps
        self._update_title()

    def action_wrap(self) -> None:
        self.view.wrap = not self.view.wrap
        self._update_title()

    def action_window(self, index: int) -> None:
        if index != self.window or self.previous:
            self.window = index
            self.previous = False
            self._restart()

    def action_previous(self) -> None:
        self.previous = not self.previous
        self._restart()

    def action_container(self) -> None:
        def picked(name: str | None) -> None:
            if name and name != self.container:
                self.container = name
                self.previous = False
                self._restart()
        self.app.push_screen(ContainerPicker(self.containers, self.container), picked)

    def action_describe(self) -> None:
        self.open_describe_of(self.ref)

    def action_yaml(self) -> None:
        self.open_yaml_of(self.ref)

    def action_save(self) -> None:
        lines = [(ln.stamp, ln.plain, ln.meta) for ln in self.view.lines()]
        path = save_path(self.ref, self.container, self.previous, self.now())
        self._save(path, lines)

    @work(thread=True, exit_on_error=False, group="log-save")
    def _save(self, path: str, lines: list[tuple[str, str, str]]) -> None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as out:
                for stamp, text, meta in lines:
                    if meta:
                        out.write(f"# arc-top: {text}\n")
                    else:
                        out.write(f"{stamp} {text}\n" if stamp else f"{text}\n")
        except OSError as exc:
            self.app.call_from_thread(self.notify, f"cannot save the log: {exc}", title="save failed",
                                      severity="error", markup=False, timeout=8)
            return
        self.saved_path = path
        self.app.call_from_thread(self.notify, f"{len(lines):,} lines saved to {path}", title="log saved",
                                  markup=False, timeout=8)

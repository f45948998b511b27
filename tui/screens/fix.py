"""`f`: fix a finding, after seeing exactly what will change — or `u`: undo the last fix of this session.

Plan, access review and server-side dry-run run on a thread worker (fixes.session.Fixer is blocking) and come back
as messages; a newer request (another variant, another finding, `r`) makes older answers moot (a generation
number). The screen: a breadcrumb; the finding and variant choice; a status block that always stays in view (the
dry-run verdict, what `enter` does or why it does nothing, the warning, then applying…, the outcome and the live
verification); and a scrollable body — the change and its diff, beside (wide) or above (narrow) the kubectl
equivalent, the Helm values, the risks.

`enter` opens a confirmation (tui/screens/fix_confirm.py) with Cancel focused; `y` there applies. The verification
is kept by the app's FixSession (tui/fixing.py): it goes on, and is audited, after this screen is closed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from arc_top.tui.fixing import (
    CLEARED,
    NO_CONNECTION,
    NOT_CHECKED,
    NOTHING_TO_UNDO,
    FixSession,
    Watch,
    fixable,
    session_of,
    verdict_line,
)
from arc_top.tui.screens.drill import Breadcrumb
from arc_top.tui.screens.fix_status import (
    APPLIED,
    APPLYING,
    FAILED,
    PLANNING,
    PREVIEWING,
    READY,
    choice_text,
    status_text,
)
from arc_top.tui.screens.fix_text import (
    change_renderable,
    heading,
    how_renderable,
    kubectl_commands,
    line,
    short,
)
from arc_top.widgets.footer import KeysFooter
from arc_top.widgets.text import ERROR, WARN, Palette, clean_line

STALE_NOTE = "the object changed since the preview: review the new diff (nothing was written)"


def _error_line(exc: BaseException) -> str:
    message = getattr(exc, "message", "") or str(exc) or type(exc).__name__
    return short(message, 300)


class FixScreen(Screen):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    BINDINGS = [
        Binding("escape", "back", "Back", id="arc-top.fix.back", tooltip="Back to where you were (not while applying)"),
        Binding("q", "back", "Back", show=False, id="arc-top.fix.close", tooltip="Back (not while applying)"),
        Binding("escape,q", "busy", "Back", show=False, id="arc-top.fix.busy",
                tooltip="While applying: say that the answer is awaited"),
        Binding("enter", "apply", "Apply…", id="arc-top.fix.apply",
                tooltip="Apply this fix: a confirmation names the object, the context and the API server first"),
        Binding("enter", "why_not", "Apply", show=False, id="arc-top.fix.apply-disabled",
                tooltip="When Apply is not possible: say why (read-only, no right to write, rejected by the server)"),
        Binding("v", "variant(1)", "Variant", id="arc-top.fix.variant",
                tooltip="The next way to fix it (planned and dry-run again)"),
        Binding("tab", "finding(1)", "Next finding", id="arc-top.fix.next-finding",
                tooltip="The row's next fixable finding"),
        Binding("shift+tab", "finding(-1)", "Previous finding", show=False, id="arc-top.fix.previous-finding",
                tooltip="The row's previous fixable finding"),
        Binding("c", "copy('kubectl')", "Copy kubectl", id="arc-top.fix.copy",
                tooltip="Copy the kubectl command to the clipboard (OSC 52: works over SSH)"),
        Binding("C", "copy('helm')", "Copy Helm", id="arc-top.fix.copy-helm",
                tooltip="Copy the Helm values snippet to the clipboard (OSC 52)"),
        Binding("r", "replan", "Re-plan", id="arc-top.fix.reload",
                tooltip="Read the live objects again, plan and dry-run again (shown when the last try failed)"),
        Binding("r", "replan_quietly", "Re-plan", show=False, id="arc-top.fix.reload-any",
                tooltip="Read the live objects again, plan and dry-run again"),
        Binding("u", "undo", "Undo", id="arc-top.fix.undo", tooltip="Undo the last fix applied in this session"),
        Binding("u", "nothing_to_undo", "Undo", show=False, id="arc-top.fix.undo-none",
                tooltip="Undo: nothing applied in this session yet"),
        Binding("question_mark", "help", "Help", show=False, id="arc-top.fix.help", tooltip="Show every key"),
    ]

    # ---- messages from the workers (posted from their threads) ------------------------------------------------
    class Planned(Message, bubble=False):
        def __init__(self, generation: int, plan) -> None:
            super().__init__()
            self.generation, self.plan = generation, plan

    class Previewed(Message, bubble=False):
        def __init__(self, generation: int, preview) -> None:
            super().__init__()
            self.generation, self.preview = generation, preview

    class NeedsCredential(Message, bubble=False):
        """The plan needs the new credential (`fields`: what to ask for)."""

        def __init__(self, generation: int, fields: tuple[str, ...], where: str) -> None:
            super().__init__()
            self.generation, self.fields, self.where = generation, fields, where

    class Failed(Message, bubble=False):
        def __init__(self, generation: int, error: str) -> None:
            super().__init__()
            self.generation, self.error = generation, error

    class Progressed(Message, bubble=False):
        """The apply worker sent write `index` (`sending`) or heard its answer (`done`, `failed`)."""

        def __init__(self, index: int, state: str) -> None:
            super().__init__()
            self.index, self.state = index, state

    class Outcome(Message, bubble=False):
        """The apply worker's answer: `applied` (with its `watch`), or a new `preview` (Stale), or `error`."""

        def __init__(self, applied=None, watch: Watch | None = None, preview=None, error: str = "",
                     stale: bool = False) -> None:
            super().__init__()
            self.applied, self.watch, self.preview, self.error, self.stale = applied, watch, preview, error, stale

    def __init__(self, session: FixSession | None, findings: Sequence, *, context: Sequence = (),
                 trail: tuple[str, ...] = (), undo=None, preview=None) -> None:
        """session: the app's FixSession (None: show `preview` only, as the snapshot tests do). findings: the
        row's fixable findings, the first shown first. context: every current finding (a plan warns when another
        cause is still present). undo: an Applied of this session to undo instead. preview: a ready preview."""
        super().__init__()
        self.session = session
        self.findings = list(findings)
        self.index = 0
        self.context = tuple(context)
        self.parent_trail = tuple(trail)
        self.undo_of = undo
        self.plan = getattr(preview, "plan", None)
        self.preview = preview
        self.variant = getattr(getattr(preview, "variant", None), "name", None)
        self.phase = READY if preview is not None else PLANNING
        self.error = ""
        self.note: Text | None = None           # a line under the verdict: stale, refused
        self.applied = None
        self.watch: Watch | None = None
        self.progress: dict[int, str] = {}      # write index → sending | done | failed, while applying
        self.pasted = None                      # a rotated credential typed for this finding (checks.fixplan.Pasted)
        self._generation = 0
        self.palette = Palette()

    # ---- layout -----------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Breadcrumb(self.trail)
        yield Static(id="fix-choice")
        yield Static(id="fix-status")
        with VerticalScroll(id="fix-body"):
            yield Static(id="fix-change")
            yield Static(id="fix-how")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.palette = Palette.from_app(self.app)
        self.query_one("#fix-body").focus()
        self._show()
        if self.preview is None:
            self._prepare_next()
        self.set_interval(1.0, self._tick)

    @property
    def finding(self):
        return self.findings[self.index] if self.findings else None

    @property
    def heading(self) -> str:
        if self.undo_of is not None:
            return heading(self.undo_of.preview.plan.title, self.undo_of.id)
        if self.plan is not None:
            return self.plan.title
        f = self.finding
        if f is None:
            return "Fix"
        where = f"{f.subject.namespace}/{f.subject.name}" if f.subject.namespace else f.subject.name
        return f"Fix {f.code} · {f.subject.kind} {where}"

    @property
    def trail(self) -> tuple[str, ...]:
        return (*self.parent_trail, clean_line(self.heading))

    @property
    def read_only(self) -> bool:
        if self.preview is not None:
            return self.preview.read_only
        return bool(self.session and self.session.read_only)

    # ---- rendering --------------------------------------------------------------------------------------------
    def _show(self) -> None:
        try:
            crumbs = self.query_one(Breadcrumb)
        except NoMatches:           # not composed yet, or gone
            return
        crumbs.trail = self.trail
        crumbs.refresh()
        self.query_one("#fix-choice", Static).update(self._choice_text())
        self.query_one("#fix-status", Static).update(self._status_text())
        change, how = self.query_one("#fix-change", Static), self.query_one("#fix-how", Static)
        if self.preview is not None:
            change.update(change_renderable(self.preview, self.palette))
            how.update(how_renderable(self.preview, self.palette))
        else:
            change.update(Text(""))
            how.update(Text(""))
        how.display = self.preview is not None
        self.refresh_bindings()

    def _choice_text(self) -> Text:
        return choice_text(self, self.palette)

    def _status_text(self) -> Text:
        now = self.session.clock() if self.session is not None else time.time()
        return status_text(self, self.palette, now)

    def verification_changed(self) -> None:
        """The app's check run or tick moved this screen's verification on (`deliver`, below)."""
        if self.watch is not None:
            for status in self.query("#fix-status").results(Static):
                status.update(self._status_text())

    def _tick(self) -> None:
        if self.watch is not None and not self.watch.ended and self.is_running and self.app.is_running:  # (exiting)
            self.verification_changed()      # the seconds counter

    # ---- planning and dry-run (thread worker) -----------------------------------------------------------------
    def _prepare_next(self, keep_plan: bool = False) -> None:
        """Plan (unless `keep_plan`: another variant of the same plan) and preview in the worker."""
        if self.session is None:
            return
        self._generation += 1
        self.phase = PREVIEWING if keep_plan and self.plan is not None else PLANNING
        self.error = ""
        if not keep_plan:
            self.plan = None
        main = getattr(self.app, "main_screen", None)
        current = getattr(getattr(main, "findings", None), "findings", None)
        if current:
            self.context = tuple(current)
        self._show()
        self._prepare(self._generation, self.finding, self.context, self.variant, self.plan if keep_plan else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="fix-preview")
    def _prepare(self, generation: int, finding, context: tuple, variant: str | None, plan) -> None:
        from arc_top.checks.remedy_credentials import NeedsInput
        from arc_top.fixes.session import Refused

        fixer = self.session.fixer
        try:
            if self.undo_of is not None:
                preview = fixer.undo_preview(self.undo_of)
            else:
                if plan is None:
                    plan = fixer.plan(finding, context, pasted=self.pasted)
                    self.post_message(self.Planned(generation, plan))
                if variant and variant not in {v.name for v in plan.variants}:
                    variant = None               # the new plan does not offer it (any more): its default
                preview = fixer.preview(plan, variant, context)
        except NeedsInput as exc:
            self.post_message(self.NeedsCredential(generation, exc.fields, str(exc)))
            return
        except Exception as exc:  # PlanError, Refused, kube.remedy.WriteError (.message), anything else: one line
            if self.pasted is not None and isinstance(exc, Refused):
                self.pasted = None                # refused by its probe: r asks again
            self.post_message(self.Failed(generation, _error_line(exc)))
            return
        self.post_message(self.Previewed(generation, preview))

    def on_fix_screen_needs_credential(self, message: NeedsCredential) -> None:
        if message.generation != self._generation:
            return
        self.phase, self.error = FAILED, f"{message.where}: r asks for it again"
        self._show()
        from arc_top.tui.screens.fix_credential import CredentialScreen

        self.app.push_screen(CredentialScreen(message.fields, self.plan_target_label()), self._credential_given)

    def _credential_given(self, pasted) -> None:
        if pasted is None:
            return                                # cancelled: the screen says how to ask again
        self.pasted = pasted
        self._prepare_next()

    def plan_target_label(self) -> str:
        s = self.finding.subject
        return f"{s.kind} {s.namespace}/{s.name}" if s.namespace else f"{s.kind} {s.name}"

    def on_fix_screen_planned(self, message: Planned) -> None:
        if message.generation == self._generation:
            self.plan = message.plan
            if self.variant not in {v.name for v in self.plan.variants}:
                self.variant = self.plan.variants[0].name
            self.phase = PREVIEWING
            self._show()

    def on_fix_screen_previewed(self, message: Previewed) -> None:
        if message.generation == self._generation:
            self._set_preview(message.preview)

    def on_fix_screen_failed(self, message: Failed) -> None:
        if message.generation == self._generation:
            self.phase, self.error = FAILED, message.error
            self._show()

    def _set_preview(self, preview) -> None:
        self.preview, self.plan, self.variant = preview, preview.plan, preview.variant.name
        self.phase = READY
        self._show()

    # ---- applying (thread worker) -----------------------------------------------------------------------------
    def _confirmed(self, yes: bool | None) -> None:
        if yes and self.session is None:
            self.note = line(ERROR, "fixes need a cluster connection", self.palette, bold=True)
            self._show()
            return
        if yes and self.phase == READY and self.preview is not None and self.preview.can_apply:
            self.phase, self.note, self.progress = APPLYING, None, {}
            self._show()
            self._apply(self.preview)

    @work(thread=True, exclusive=True, exit_on_error=False, group="fix-apply")
    def _apply(self, preview) -> None:
        from arc_top.fixes.session import Refused, Stale

        session = self.session
        try:
            applied = session.fixer.apply(preview, progress=lambda i, _step, state: self.post_message(
                self.Progressed(i, state)))
        except Stale as exc:
            self.post_message(self.Outcome(preview=exc.preview, stale=True))
            return
        except Refused as exc:
            self.post_message(self.Outcome(error=_error_line(exc)))
            return
        except Exception as exc:  # a WriteError outside a write (a read before it): nothing was written
            self.post_message(self.Outcome(error=_error_line(exc)))
            return
        watch = session.watch(applied)
        self.post_message(self.Outcome(applied=applied, watch=watch))

    def on_fix_screen_progressed(self, message: Progressed) -> None:
        if self.phase == APPLYING:
            self.progress[message.index] = message.state
            for status in self.query("#fix-status").results(Static):
                status.update(self._status_text())

    def on_fix_screen_outcome(self, message: Outcome) -> None:
        if message.applied is not None:
            self.phase, self.applied, self.watch = APPLIED, message.applied, message.watch
            self._show()
            return
        self.phase = READY
        if message.stale:
            self.note = line(WARN, STALE_NOTE, self.palette, bold=True)
            self._set_preview(message.preview)
            return
        self.note = line(ERROR, message.error, self.palette, bold=True)
        self._show()

    # ---- keys -------------------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply":
            if self.read_only:
                return None
            return self.phase == READY and self.preview is not None and self.preview.can_apply or None
        if action == "back":
            return self.phase != APPLYING or None
        if action == "busy":
            return self.phase == APPLYING
        if action == "variant":
            if self.undo_of is not None or self.plan is None or len(self.plan.variants) < 2:
                return False
            return self.phase in (READY, FAILED) or None
        if action == "finding":
            if len(self.findings) < 2:
                return False
            return self.phase != APPLYING or None
        if action == "copy":
            if self.preview is None:
                return None
            kind = parameters[0] if parameters else "kubectl"
            if kind == "helm":
                return bool(self.preview.variant.helm) or None
            return bool(kubectl_commands(self.preview)) or None
        if action in ("replan", "replan_quietly"):
            if self.session is None:
                return False
            if self.phase in (APPLYING, PLANNING, PREVIEWING):
                return False
            # In the footer only when planning again is the way on: a failed plan, a rejected dry-run, a stale one.
            worth = self.phase == FAILED or self.note is not None or (
                self.preview is not None and bool(self.preview.rejected)) or (
                self.applied is not None and self.applied.outcome != "applied")
            return worth if action == "replan" else True
        if action == "undo":
            session = self.session
            return (self.undo_of is None and session is not None and self.phase != APPLYING
                    and session.last_undoable() is not None)
        if action == "nothing_to_undo":
            return self.undo_of is None       # on an undo's own screen, `u` means nothing
        return True

    def action_back(self) -> None:
        self.dismiss()

    def action_busy(self) -> None:
        self.notify("applying… esc works again once the API server has answered", severity="warning",
                    markup=False, timeout=3)

    def action_apply(self) -> None:
        from arc_top.tui.screens.fix_confirm import ConfirmFixScreen

        self.app.push_screen(ConfirmFixScreen(self.preview, self.palette), self._confirmed)

    def action_why_not(self) -> None:
        if self.phase == APPLYING:
            why = "applying… wait for the outcome"
        elif self.phase in (PLANNING, PREVIEWING):
            why = "still planning: wait for the dry-run"
        elif self.phase == FAILED:
            why = f"no fix to apply: {self.error}"
        elif self.phase == APPLIED:
            why = "applied already: u undoes it, r plans again"
        elif self.preview is None:
            why = "nothing to apply"
        else:
            why = self.preview.why_not() or "nothing to apply"
        self.notify(why, severity="warning", markup=False, timeout=4)

    def action_variant(self, step: int) -> None:
        names = [v.name for v in self.plan.variants]
        current = names.index(self.variant) if self.variant in names else 0
        self.variant = names[(current + step) % len(names)]
        self.note = None
        self.preview = None
        self._prepare_next(keep_plan=True)

    def action_finding(self, step: int) -> None:
        self.index = (self.index + step) % len(self.findings)
        self.preview, self.variant, self.note, self.applied, self.watch = None, None, None, None, None
        self.pasted = None
        self._prepare_next()

    def action_replan_quietly(self) -> None:
        self.action_replan()

    def action_replan(self) -> None:
        self.note, self.applied, self.watch = None, None, None
        self.preview = None
        self._prepare_next()

    def action_copy(self, kind: str) -> None:
        variant = self.preview.variant
        if kind == "helm":
            self.app.copy_to_clipboard(variant.helm)
            self.notify("copied the Helm values snippet", markup=False, timeout=3)
            return
        commands = kubectl_commands(self.preview)
        self.app.copy_to_clipboard("\n".join(commands) + "\n")
        n = len(commands)
        self.notify("copied kubectl command" if n == 1 else f"copied {n} kubectl commands", markup=False, timeout=3)

    def action_undo(self) -> None:
        open_undo(self, self.parent_trail)

    def action_nothing_to_undo(self) -> None:
        self.notify(NOTHING_TO_UNDO, severity="information", markup=False, timeout=3)

    def action_help(self) -> None:
        self.app.action_help()         # through the app: the help screen lists this screen's keys, so imports it


# ---- opening it (the main screen's `f` and `u`, this screen's `u`), and the app's verdicts ------------------
def open_fix(main: Any) -> None:
    """`f`: the fix screen for the finding under the cursor (a finding's row), or for the worst fixable finding of
    the row's object (a scale set, runner or volume row; `tab` there moves to the others)."""
    panel = main.focused_panel() or main.panel("findings")
    key = panel.table.cursor_key
    if not main.findings.ready:
        main.notify(NOT_CHECKED, severity="information", markup=False, timeout=3)
        return
    found = main.row_findings(panel.spec.id, key)
    candidates = fixable(found)
    if not candidates:
        if not found:
            what = "no findings for this row: nothing to fix"
        else:
            codes = ", ".join(sorted({f.code for f in found}))
            what = f"arc-top has no fix for this row's findings ({codes})"
        main.notify(what, severity="information", markup=False, timeout=4)
        return
    session = session_of(main.app)
    if session is None:
        main.notify(NO_CONNECTION, severity="warning", markup=False, timeout=4)
        return
    main.app.push_screen(FixScreen(session, candidates, context=main.findings.findings, trail=(panel.spec.title,)))


def open_undo(screen: Any, trail: tuple[str, ...] = ()) -> None:
    """`u`: the fix screen for undoing the last fix applied in this session (diff, dry-run, confirm, apply)."""
    session = session_of(screen.app)
    last = session.last_undoable() if session is not None else None
    if last is None:
        screen.notify(NOTHING_TO_UNDO, severity="information", markup=False, timeout=3)
        return
    screen.app.push_screen(FixScreen(session, [last.preview.plan.finding], undo=last, trail=trail))


def deliver(app: Any, ended: list[Watch]) -> None:
    """After a check run or a tick: the fix screens show the new state; a verdict nobody is looking at is
    announced."""
    showing = None
    for screen in app.screen_stack:
        if isinstance(screen, FixScreen):
            screen.verification_changed()
            if screen is app.screen:
                showing = screen.watch
    for w in ended:
        if w is showing:
            continue
        cleared = w.state == CLEARED
        app.notify(("✔ " if cleared else "✖ ") + verdict_line(w), title="fix " + w.applied.id,
                   severity="information" if cleared else "warning", markup=False, timeout=8)

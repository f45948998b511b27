"""The fix screen's flow without a cluster (Pilot, the FakeMonitor's `incident` fixture, a fake Fixer with the real
one's interface): `f` on a row, variants, `tab` between a row's findings, the confirmation (Cancel focused, warning),
apply → outcome → verification fed by check runs, Stale and Refused, read-only, no right to write, copying, `u`, and
hostile strings. The real Fixer on a real sandbox: tests/test_tui_fix.py."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from rich.console import Console

from arc_top.checks.finding import Finding, Subject
from arc_top.fixes.session import Applied, Fixer, Refused, Stale
from arc_top.tui.app import FindingsReady
from arc_top.tui.fixing import NO_CONNECTION, NOTHING_TO_UNDO, FixSession
from arc_top.tui.screens.drill import Breadcrumb
from arc_top.tui.screens.fix import FixScreen
from arc_top.tui.screens.fix_confirm import ConfirmFixScreen
from arc_top.tui.screens.main import MainScreen
from tests.test_tui_app import loaded, make_app, table, until
from tests.tui_fixtures import fix_preview, incident_monitor

pytestmark = pytest.mark.asyncio

DIND_SET = "ars-team-b-team-b-dind"
DENIED = "your account cannot patch autoscalingrunnersets.actions.github.com in arc-runners"


class Clock:
    def __init__(self, now: float = 1_760_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeFixer:
    """fixes.session.Fixer's interface, answering from tests/tui_fixtures.fix_preview. `outcomes`: what the next
    applies do (an exception to raise, or None for success)."""

    last_undoable = Fixer.last_undoable          # the real rule: the newest fix, not an undo, not undone

    def __init__(self, clock: Clock, *, read_only: bool = False, denied: str = "", warning: str = "",
                 plan_error: Exception | None = None) -> None:
        self.clock = clock
        self.read_only = read_only
        self.denied = denied
        self.warning = warning
        self.plan_error = plan_error
        self.applied: list[Applied] = []
        self.previews: list[tuple[str, str | None]] = []      # (finding code + subject, variant)
        self.sent: list = []                                  # previews applied
        self.outcomes: list[Exception | None] = []
        self.verifications: list[tuple[str, dict]] = []

    def _preview(self, finding, variant: str | None = None, undo_of: str = ""):
        base = fix_preview(read_only=self.read_only, denied=self.denied, warning=self.warning, finding=finding)
        chosen = base.plan.variant(variant)
        return replace(base, variant=chosen, undo_of=undo_of)

    def plan(self, finding, findings=(), pasted=None):
        if self.plan_error is not None:
            raise self.plan_error
        return self._preview(finding).plan

    def preview(self, plan, variant=None, findings=()):
        self.previews.append((f"{plan.finding.code} {plan.finding.subject.name}", variant))
        return self._preview(plan.finding, variant)

    def apply(self, preview, progress=None):
        if not preview.can_apply:
            raise Refused(preview.why_not())
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.sent.append(preview)
        applied = Applied(f"fix-{len(self.sent)}", preview, "applied", list(preview.steps), at=self.clock())
        applied.undo = [] if preview.undo_of else [(preview.plan.target, [{"op": "remove", "path": "/x"}], False)]
        self.applied.append(applied)
        return applied

    def undo_preview(self, applied):
        return self._preview(applied.preview.plan.finding, undo_of=applied.id)

    def record_verification(self, applied, result: dict) -> None:
        self.verifications.append((applied.id, result))


def with_fixer(app, fixer: FakeFixer, clock: Clock) -> FixSession:
    session = FixSession(fixer, 60.0, clock)
    app.set_fix_session(session)
    return session


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def rendered(widget) -> str:
    console = Console(width=300, record=True, file=io.StringIO())
    console.print(widget.render() if isinstance(widget, Breadcrumb) else widget.content)
    return console.export_text()


def fix_text(screen: FixScreen) -> str:
    """Everything the fix screen shows, as plain text (wide: no wrapping)."""
    parts = [rendered(screen.query_one("#drill-crumbs"))]
    parts += [rendered(screen.query_one(f"#fix-{part}")) for part in ("choice", "status", "change", "how")]
    return "\n".join(parts)


async def fix_screen(pilot) -> FixScreen:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, FixScreen), what="the fix screen")
    return app.screen


async def ready(pilot, screen: FixScreen, what: str = "dry-run:") -> str:
    await until(pilot, lambda: screen.phase == "ready" and what in fix_text(screen), what=what)
    return fix_text(screen)


async def checked(pilot) -> MainScreen:
    main = await loaded(pilot)
    await until(pilot, lambda: main.findings.ready and table(pilot.app, "findings").row_count > 0, what="findings")
    return main


def finding_key(main: MainScreen, code: str) -> str:
    return next(k for k, f in main.findings.by_key.items() if f.code == code)


async def open_on(pilot, panel: str, key: str) -> FixScreen:
    await pilot.press({"scalesets": "1", "findings": "5"}[panel])
    assert table(pilot.app, panel).select_key(key)
    await pilot.press("f")
    return await fix_screen(pilot)


async def test_f_without_a_cluster_connection_and_u_with_nothing_applied():
    app = make_app(incident_monitor())
    async with app.run_test(size=(120, 40)) as pilot:
        main = await checked(pilot)
        await pilot.press("5")
        assert any(b.binding.id == "arc-top.fix" for b in app.screen.active_bindings.values() if b.binding.show)
        table(app, "findings").select_key(finding_key(main, "ARC407"))
        await pilot.press("f")
        await until(pilot, lambda: NO_CONNECTION in notes(app), what="no connection")
        assert isinstance(app.screen, MainScreen)
        # a finding arc-top has no fix for
        from arc_top.checks import remedies

        unfixable = next(f.code for f in main.findings.findings if not remedies.fixable(f)
                         and not any(g.code != f.code and remedies.fixable(g) and g.subject == f.subject
                                     for g in main.findings.findings))
        table(app, "findings").select_key(finding_key(main, unfixable))
        await pilot.press("f")
        await until(pilot, lambda: any("has no fix" in n and unfixable in n for n in notes(app)), what="no fix")
        await pilot.press("u")
        await until(pilot, lambda: NOTHING_TO_UNDO in notes(app), what="nothing to undo")
        assert isinstance(app.screen, MainScreen)


async def test_fix_flow_confirm_cancel_default_apply_and_verification_clears():
    clock = Clock()
    app = make_app(incident_monitor())
    async with app.run_test(size=(120, 40)) as pilot:
        main = await checked(pilot)
        fixer = FakeFixer(clock)
        session = with_fixer(app, fixer, clock)
        screen = await open_on(pilot, "scalesets", DIND_SET)      # a scale set row: its worst fixable finding
        text = await ready(pilot, screen, "dry-run: accepted")
        assert "Fix ARC407 · EphemeralRunner team-b/" in text
        assert re.search(r"finding  1 of [2-9]", text) and "(tab: next)" in text
        assert "✔ dry-run: accepted" in text and "enter: apply to context arc-sandbox" in text
        for part in ("+      securityContext:", "+        fsGroup: 123", "kubectl patch autoscalingrunnersets",
                     "Helm values", "fsGroup: 123", "Risks", "Where", "https://127.0.0.1:6443"):
            assert part in text, part

        # tab: the next of the row's fixable findings, planned again
        first = screen.finding
        await pilot.press("tab")
        await until(pilot, lambda: screen.finding is not first and screen.phase == "ready", what="next finding")
        assert re.search(r"finding  2 of [2-9]", fix_text(screen))
        # v: the next variant, dry-run again
        await pilot.press("v")
        await until(pilot, lambda: screen.phase == "ready" and screen.variant == "chown-init", what="variant")
        assert fixer.previews[-1][1] == "chown-init"
        assert "◉ chown-init" in fix_text(screen)
        await pilot.press("v")
        await until(pilot, lambda: screen.phase == "ready" and screen.variant == "fs-group", what="variant back")

        # enter: the confirmation, Cancel focused; enter on it cancels
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmFixScreen), what="the confirmation")
        dialog = app.screen
        assert app.focused.id == "confirm-cancel"
        body = rendered(dialog.query_one("#confirm-text"))
        for part in ("AutoscalingRunnerSet arc-runners/arc-runner-set", "context  arc-sandbox",
                     "server   https://127.0.0.1:6443", "set securityContext.fsGroup: 123", "✔ accepted"):
            assert part in body, part
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen, what="cancelled")
        assert not fixer.sent
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmFixScreen), what="the confirmation again")
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen, what="cancelled by n")
        assert not fixer.sent

        # y: applied; the verification follows the app's check runs
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmFixScreen), what="the confirmation, a third time")
        await pilot.press("y")
        await until(pilot, lambda: screen.phase == "applied", what="applied")
        assert len(fixer.sent) == 1
        text = fix_text(screen)
        assert "✔ applied ARC407 fs-group (1 write), audit id fix-1" in text
        assert "watching ARC407" in text
        fixed = screen.finding
        remaining = [f for f in main.findings.findings if f.code != "ARC407"]
        clock.now += 4
        app.post_message(FindingsReady(list(main.findings.findings), 1))       # still there
        clock.now += 3
        app.post_message(FindingsReady(remaining, 2))                           # gone…
        await pilot.pause()
        assert "cleared" not in fix_text(screen)
        clock.now += 3
        app.post_message(FindingsReady(remaining, 3))                           # …and gone still, 3 s later
        await until(pilot, lambda: "✔ ARC407 cleared in 7 s" in fix_text(screen), what="cleared")
        assert fixer.verifications == [("fix-1", fixer.verifications[0][1])]
        assert fixer.verifications[0][1]["state"] == "cleared"
        assert not session.waiting()
        assert fixed.code == "ARC407"

        # u: the undo, through the same screen flow
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, FixScreen) and app.screen is not screen, what="undo")
        undo = app.screen
        text = await ready(pilot, undo, "dry-run: accepted")
        assert "Undo the ARC407 fix" in text and "undoes   fix fix-1" in text
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmFixScreen), what="the undo's confirmation")
        assert "Undo this fix?" in str(app.screen.query_one("#confirm-dialog").border_title)
        await pilot.press("y")
        await until(pilot, lambda: undo.phase == "applied", what="undone")
        assert fixer.sent[-1].undo_of == "fix-1"
        assert session.last_undoable() is None                    # undone: nothing left to undo
        await pilot.press("escape", "escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), what="back on the main screen")
        await pilot.press("u")
        await until(pilot, lambda: NOTHING_TO_UNDO in notes(app), what="nothing left to undo")



async def arc407_fix_screen(pilot, clock: Clock, **fixer_options):
    """The checked incident app with a FakeFixer(clock, **fixer_options), the fix screen open on ARC407's row:
    (main screen, fixer, fix screen)."""
    main = await checked(pilot)
    fixer = FakeFixer(clock, **fixer_options)
    with_fixer(pilot.app, fixer, clock)
    return main, fixer, await open_on(pilot, "findings", finding_key(main, "ARC407"))

async def test_still_present_after_the_wait_shows_the_evidence_and_a_closed_screen_notifies():
    clock = Clock()
    app = make_app(incident_monitor())
    async with app.run_test(size=(120, 40)) as pilot:
        main, fixer, screen = await arc407_fix_screen(pilot, clock)
        await ready(pilot, screen, "dry-run: accepted")
        await pilot.press("enter", "y")
        await until(pilot, lambda: screen.phase == "applied", what="applied")
        clock.now += 61
        app.post_message(FindingsReady(list(main.findings.findings), 1))
        await until(pilot, lambda: "✖ ARC407 still present after 60 s" in fix_text(screen), what="still present")
        evidence = screen.watch.verification.evidence
        assert evidence and all(line in fix_text(screen) for line in evidence)
        assert fixer.verifications[0][1]["state"] == "present"

        # a second fix, its screen closed before the verdict: the verdict is a notification
        await pilot.press("r")
        await ready(pilot, screen, "dry-run: accepted")
        await pilot.press("enter", "y")
        await until(pilot, lambda: screen.phase == "applied", what="applied again")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), what="closed")
        clock.now += 61
        await until(pilot, lambda: any("ARC407 still present after 60 s" in n for n in notes(app)),
                    timeout=5, what="the verdict notified (by the app's tick)")
        assert [v[1]["state"] for v in fixer.verifications] == ["present", "present"]


async def test_stale_and_refused_show_on_the_screen_and_nothing_is_applied():
    clock = Clock()
    app = make_app(incident_monitor())
    async with app.run_test(size=(120, 40)) as pilot:
        main, fixer, screen = await arc407_fix_screen(pilot, clock)
        await ready(pilot, screen, "dry-run: accepted")
        newer = fixer._preview(screen.finding, "chown-init")
        fixer.outcomes = [Stale(newer, "the object changed since the preview: nothing was written; review the new "
                                       "diff"),
                          Refused("AutoscalingRunnerSet arc-runners/arc-runner-set changed since fix x: undo refused")]
        await pilot.press("enter", "y")
        await until(pilot, lambda: "the object changed since the preview: review the new diff" in fix_text(screen),
                    what="stale")
        assert screen.preview is newer and screen.phase == "ready" and not fixer.sent
        assert "◉ chown-init" in fix_text(screen)
        assert "r Re-plan" in footer(app)
        await pilot.press("enter", "y")
        await until(pilot, lambda: "changed since fix x: undo refused" in fix_text(screen), what="refused")
        assert screen.phase == "ready" and not fixer.sent


def footer(app) -> str:
    return "  ".join(f"{b.binding.key} {b.binding.description}" for b in app.screen.active_bindings.values()
                     if b.binding.show and b.enabled)


async def test_read_only_shows_the_plan_and_enter_only_says_so():
    clock = Clock()
    app = make_app(incident_monitor(), read_only=True)
    assert app.read_only
    async with app.run_test(size=(80, 24)) as pilot:
        main, fixer, screen = await arc407_fix_screen(pilot, clock, read_only=True)
        text = await ready(pilot, screen, "read-only")
        assert "dry-run: not sent (read-only)" in text
        assert "read-only: arc-top sends no write" in text
        assert "kubectl patch autoscalingrunnersets" in text
        assert "enter: apply" not in text
        await pilot.press("enter")
        await until(pilot, lambda: any("read-only" in n for n in notes(app)), what="enter says so")
        assert app.screen is screen and not fixer.sent
        await pilot.press("c")
        assert app.clipboard.startswith("kubectl patch autoscalingrunnersets.actions.github.com")
        assert "copied kubectl command" in notes(app)


async def test_an_account_that_may_not_write_keeps_the_kubectl_command():
    clock = Clock()
    app = make_app(incident_monitor())
    async with app.run_test(size=(120, 40)) as pilot:
        main, fixer, screen = await arc407_fix_screen(pilot, clock, denied=DENIED)
        text = await ready(pilot, screen, "Apply disabled")
        assert f"✖ Apply disabled: {DENIED}" in text
        assert f"dry-run: not sent ({DENIED})" in text
        assert "Apply…" not in footer(app)
        await pilot.press("enter")
        await until(pilot, lambda: DENIED in notes(app), what="enter says why")
        assert app.screen is screen and not fixer.sent
        await pilot.press("C")
        assert app.clipboard.startswith("# the gha-runner-scale-set chart's values")
        assert "copied the Helm values snippet" in notes(app)


async def test_a_warning_keeps_cancel_the_default():
    clock = Clock()
    app = make_app(incident_monitor())
    warning = "the cause is still present (ARC506 …): new runners will fail the same way"
    async with app.run_test(size=(80, 24)) as pilot:
        main, fixer, screen = await arc407_fix_screen(pilot, clock, warning=warning)
        text = await ready(pilot, screen, "warning")
        assert f"⚠ warning: {warning}" in text and "apply anyway" in text
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmFixScreen), what="the confirmation")
        assert app.focused.id == "confirm-cancel"
        assert warning in rendered(app.screen.query_one("#confirm-text"))
        assert "anyway" in str(app.screen.query_one("#confirm-apply").label)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen, what="cancelled")
        assert not fixer.sent


async def test_a_plan_that_cannot_be_made_is_one_line_and_r_tries_again():
    from arc_top.checks.fixplan import PlanError

    clock = Clock()
    app = make_app(incident_monitor())
    async with app.run_test(size=(120, 40)) as pilot:
        gone = PlanError("EphemeralRunner team-b/x no longer exists")
        main, fixer, screen = await arc407_fix_screen(pilot, clock, plan_error=gone)
        await until(pilot, lambda: screen.phase == "failed", what="failed")
        assert "✖ cannot plan this fix: EphemeralRunner team-b/x no longer exists" in fix_text(screen)
        assert "r Re-plan" in footer(app)
        fixer.plan_error = None
        await pilot.press("r")
        await ready(pilot, screen, "dry-run: accepted")


async def test_hostile_strings_render_literally():
    hostile = "[bold red]evil[/bold red] \x1b[31mred\x1b]0;title\x07 [/]"
    finding = Finding("ARC501", "error", f"title {hostile}", Subject("AutoscalingRunnerSet", "ns", f"n{hostile}"),
                      scale_set="ns/n", evidence=(f"evidence {hostile}",))
    preview = fix_preview(finding=finding, rejected=f"admission webhook said {hostile}", name="n[/x]", ns="ns")
    app = make_app(incident_monitor())
    async with app.run_test(size=(100, 30)) as pilot:
        await checked(pilot)
        screen = FixScreen(None, [finding], trail=("Findings",), preview=preview)
        await app.push_screen(screen)
        await pilot.pause()
        text = fix_text(screen)
        assert "[bold red]evil[/bold red]" in text                        # markup shown, not applied
        assert "\x1b" not in text and "\x07" not in text                   # no escape reaches the terminal
        assert "dry-run: rejected: admission webhook said [bold red]evil[/bold red] red [/]" in text
        assert "AutoscalingRunnerSet ns/n[/x]" in text
        await pilot.press("enter")                                        # rejected: enter says why
        await until(pilot, lambda: any("the server rejects the dry-run" in n for n in notes(app)), what="why not")
        assert app.screen is screen

"""SVG snapshots of the fix screen (`f`) and its confirmation, from a fixed preview (tests/tui_fixtures.fix_preview:
no sandbox, frozen clocks, fixed theme). Update with `pytest tests/test_tui_fix_snapshots.py --snapshot-update` and
look at the result (rsvg-convert to PNG) before committing it."""

from __future__ import annotations

from arc_top.fixes.session import Applied
from arc_top.fixes.verify import Verification
from arc_top.tui.fixing import Watch
from arc_top.tui.screens.fix import FixScreen
from tests.test_tui_snapshots import incident_app, loaded
from tests.tui_fixtures import NOW, fix_finding, fix_preview, storage_preview

WARNING = ("the cause is still present (ARC506 Namespace PodSecurity level rejects this container mode): new runners "
           "will fail the same way")


def open_fix(preview, findings=None):
    async def run_before(pilot) -> None:
        await loaded(pilot)
        screen = FixScreen(None, findings or [preview.plan.finding], trail=("Findings",), preview=preview)
        await pilot.app.push_screen(screen)
        await pilot.pause()
    return run_before


def confirm(preview):
    async def run_before(pilot) -> None:
        await open_fix(preview)(pilot)
        await pilot.press("enter")
        await pilot.pause()
    return run_before


def applied_state(cleared: bool):
    """The fix screen after `y`: the outcome and the verification's verdict (made at fixed times)."""
    preview = fix_preview()

    async def run_before(pilot) -> None:
        await open_fix(preview)(pilot)
        finding = preview.plan.finding
        applied = Applied("20261206-011833-3f9a", preview, "applied", list(preview.steps), at=NOW)
        verification = Verification.of(finding, started=NOW)
        if cleared:
            verification.update([], None, NOW + 14)
            verification.update([], None, NOW + 17)
        else:
            verification.update([finding], None, NOW + 61)
        screen = pilot.app.screen
        screen.post_message(FixScreen.Outcome(applied=applied, watch=Watch(applied, verification, recorded=True)))
        await pilot.pause()
        await pilot.pause()
    return run_before


def test_fix_screen_80x24(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(80, 24), run_before=open_fix(fix_preview()))


def test_fix_screen_160x48(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(160, 48), run_before=open_fix(fix_preview()))


def test_fix_screen_200x60_two_findings(snap_compare):
    preview = fix_preview()
    other = fix_finding(code="ARC502")
    assert snap_compare(incident_app(), terminal_size=(200, 60),
                        run_before=open_fix(preview, [preview.plan.finding, other]))


def test_fix_screen_read_only_80x24(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(80, 24), run_before=open_fix(fix_preview(read_only=True)))


def test_fix_screen_denied_160x48(snap_compare):
    denied = fix_preview(denied="your account cannot patch autoscalingrunnersets.actions.github.com in arc-runners")
    assert snap_compare(incident_app(), terminal_size=(160, 48), run_before=open_fix(denied))


def test_fix_screen_warning_80x24(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(80, 24), run_before=open_fix(fix_preview(warning=WARNING)))


def test_confirm_80x24(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(80, 24), run_before=confirm(fix_preview()))


def test_confirm_160x48(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(160, 48), run_before=confirm(fix_preview()))


def test_confirm_with_warning_80x24(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(80, 24), run_before=confirm(fix_preview(warning=WARNING)))


def test_applied_and_cleared_80x24(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(80, 24), run_before=applied_state(cleared=True))


def test_applied_still_present_160x48(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(160, 48), run_before=applied_state(cleared=False))


# ---- a two-step fix: the StorageClass picker and the steps' progress ------------------------------------------
def test_storage_class_picker_80x24(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(80, 24), run_before=open_fix(storage_preview()))


def test_storage_class_picker_200x60(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(200, 60), run_before=open_fix(storage_preview()))


def _stopped_at_step_two(preview):
    """The outcome of a two-step fix whose second step failed at its second write (the first step done)."""
    async def run_before(pilot) -> None:
        await open_fix(preview)(pilot)
        done = preview.steps[:2]                  # the template patch and one runner deleted
        applied = Applied("20261206-052233-77c1", preview, "partial", list(done), error=(
            f"{preview.steps[2].op.headline()}: ephemeralrunners.actions.github.com is forbidden"), at=NOW)
        pilot.app.screen.post_message(FixScreen.Outcome(applied=applied))
        await pilot.pause()
        await pilot.pause()
    return run_before


def test_two_step_fix_stopped_at_step_two_160x48(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(160, 48), run_before=_stopped_at_step_two(storage_preview()))


def test_two_step_fix_applying_progress_80x24(snap_compare):
    preview = storage_preview()

    async def run_before(pilot) -> None:
        await open_fix(preview)(pilot)
        screen = pilot.app.screen
        screen.phase, screen.progress = "applying", {0: "done", 1: "done", 2: "sending"}
        screen._show()
        await pilot.pause()
    assert snap_compare(incident_app(), terminal_size=(80, 24), run_before=run_before)


def test_credential_dialog_80x24(snap_compare):
    """The rotated token's dialog over the fix screen: the label says it is checked with GitHub first; what is typed
    shows as ••• only."""
    from arc_top.tui.screens.fix_credential import CredentialScreen

    async def run_before(pilot) -> None:
        await open_fix(fix_preview())(pilot)
        await pilot.app.push_screen(CredentialScreen(("github_token",), "Secret arc-runners/expired-token"))
        await pilot.pause()
        for ch in "ghp_notshown":
            await pilot.press(ch)
        await pilot.pause()
    assert snap_compare(incident_app(), terminal_size=(80, 24), run_before=run_before)

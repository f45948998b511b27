"""Fixing from the monitor on a real sandbox (Pilot, the real Monitor, checks and Fixer, the official client):
`f` on ARC501 → the diff and a server-side dry-run → `enter` → the confirmation (Cancel focused) → `y` → the ARS
gets fsGroup 123 → "ARC501 cleared"; `u` undoes it. A read-only app sends no mutating request at all while every
fixable finding's fix screen is opened; an account that may not write sees Apply disabled and why."""

from __future__ import annotations

import pytest
from kubernetes import client

from arc_top.fixes.audit import AuditLog
from arc_top.kube.config import connect
from arc_top.kube.monitor import Monitor
from arc_top.sandbox.run import start_sandbox
from arc_top.tui.app import ArcTopApp
from arc_top.tui.findings import finding_key
from arc_top.tui.screens.fix import FixScreen
from arc_top.tui.screens.fix_confirm import ConfirmFixScreen
from arc_top.tui.screens.main import MainScreen
from tests.conftest import api_client
from tests.test_tui_drill import until
from tests.test_tui_fix_units import fix_text, notes

pytestmark = pytest.mark.asyncio

NS = "arc-runners"
VIEWER_DENIED = "your account cannot patch autoscalingrunnersets.actions.github.com in arc-runners"


@pytest.fixture(autouse=True)
def audit_home(tmp_path, monkeypatch) -> AuditLog:
    """The audit goes to this test's own state directory, never the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return AuditLog()


@pytest.fixture(scope="module")
def incident(tmp_path_factory):
    sb = start_sandbox("incident", kubeconfig_path=str(tmp_path_factory.mktemp("kc") / "config"), speed=3.0)
    yield sb
    sb.stop()


def live_app(sandbox, context: str | None = None, **kw) -> ArcTopApp:
    conn = connect(sandbox.kubeconfig_path, context, all_namespaces=True)
    return ArcTopApp(lambda on_change: Monitor(conn, on_change), **kw)


def read_ars(sandbox, name: str = "arc-runner-set", ns: str = NS) -> dict:
    return client.CustomObjectsApi(api_client(sandbox)).get_namespaced_custom_object(
        "actions.github.com", "v1alpha1", ns, "autoscalingrunnersets", name)


def fs_group(ars: dict):
    return ((ars["spec"]["template"]["spec"].get("securityContext") or {}).get("fsGroup"))


async def found(pilot, code: str, scale_set: str, timeout: float = 60):
    """The finding `code` of `scale_set`, once a check run reports it (log-based evidence takes a runner or two)."""
    main = pilot.app.main_screen

    def match():
        return next((f for f in main.findings.findings if f.code == code and f.scale_set == scale_set), None)
    await until(pilot, lambda: main is not None and match() is not None, timeout=timeout,
                what=f"{code} for {scale_set}")
    return match()


async def open_fix(pilot, finding, gone_ok: bool = False) -> FixScreen | None:
    """`5`, the cursor on the finding's row, `f`: the fix screen (a dialog it opens may be over it already).
    `gone_ok`: None when the row is not there within 10 s or went before the cursor got to it (a churned pod's
    finding goes with its pod)."""
    app = pilot.app
    await pilot.press("5")
    findings = app.main_screen.panel("findings").table
    try:
        await until(pilot, lambda: findings.has_row(finding_key(finding)), timeout=10 if gone_ok else 20,
                    what="the finding's row")
    except AssertionError:
        if gone_ok:
            return None
        raise
    selected = findings.select_key(finding_key(finding))
    if gone_ok and not selected:
        return None
    assert selected
    await pilot.press("f")
    await until(pilot, lambda: any(isinstance(s, FixScreen) for s in app.screen_stack), timeout=10,
                what="the fix screen")
    return next(s for s in app.screen_stack if isinstance(s, FixScreen))


async def settled(pilot, screen: FixScreen) -> str:
    await until(pilot, lambda: screen.phase in ("ready", "failed"), timeout=60, what="the plan and dry-run")
    return fix_text(screen)


async def accepted(pilot, screen: FixScreen, attempts: int = 6) -> str:
    """Wait for "dry-run: accepted". A busy scale set's status moves all the time: when it moved between the read
    and the dry-run, the verdict says so, and the operator plans again with `r` — so does this test (bounded)."""
    text = ""
    for _ in range(attempts):
        text = await settled(pilot, screen)
        if "✔ dry-run: accepted" in text:
            return text
        await pilot.press("r")
    raise AssertionError(f"the dry-run was never accepted:\n{text}")


async def confirm_and_apply(pilot, screen: FixScreen, attempts: int = 4) -> str:
    """`enter` (the confirmation, Cancel focused) then `y`, until applied. When the object changed since the preview
    in a way that changes the diff, the screen shows the new one (Stale): confirm again, as an operator would."""
    app = pilot.app
    for _ in range(attempts):
        await accepted(pilot, screen)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmFixScreen), what="the confirmation")
        assert app.focused is not None and app.focused.id == "confirm-cancel"
        await pilot.press("y")
        await until(pilot, lambda: app.screen is screen and screen.phase in ("applied", "ready"), timeout=60,
                    what="the outcome")
        if screen.phase == "applied":
            return fix_text(screen)
    raise AssertionError(f"never applied:\n{fix_text(screen)}")


async def test_fix_arc501_from_the_findings_panel_verify_cleared_then_undo(tmp_path, audit_home):
    sandbox = start_sandbox("kube-permissions", kubeconfig_path=str(tmp_path / "kubeconfig"), speed=3.0)
    try:
        app = live_app(sandbox, verify_wait=120.0)
        async with app.run_test(size=(160, 48)) as pilot:
            finding = await found(pilot, "ARC501", f"{NS}/arc-runner-set")
            screen = await open_fix(pilot, finding)
            text = await accepted(pilot, screen)
            assert "Fix ARC501 · AutoscalingRunnerSet arc-runners/arc-runner-set" in text
            assert "+        fsGroup: 123" in text and "kubectl patch autoscalingrunnersets" in text
            assert fs_group(read_ars(sandbox)) is None                          # the dry-run wrote nothing

            text = await confirm_and_apply(pilot, screen)
            assert "✔ applied ARC501 fs-group (1 write), audit id" in text
            assert fs_group(read_ars(sandbox)) == 123
            await until(pilot, lambda: "ARC501 cleared in" in fix_text(screen), timeout=90, what="ARC501 cleared")
            assert "✔ ARC501 cleared in" in fix_text(screen)

            # u: undo it, through the same flow
            await pilot.press("u")
            await until(pilot, lambda: isinstance(app.screen, FixScreen) and app.screen is not screen,
                        what="the undo screen")
            undo = app.screen
            text = await accepted(pilot, undo)
            assert "Undo the ARC501 fix" in text and "-        fsGroup: 123" in text
            await confirm_and_apply(pilot, undo)
            assert "✔ applied ARC501 undo (1 write)" in fix_text(undo)
            assert fs_group(read_ars(sandbox)) is None

            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen, what="back on the fix screen")
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, MainScreen), what="back on the main screen")
            await pilot.press("u")
            await until(pilot, lambda: "nothing to undo in this session" in notes(app), what="nothing left")

        records = audit_home.records()
        assert [r["event"] for r in records] == ["apply"]
        assert records[0]["code"] == "ARC501" and records[0]["outcome"] == "applied"
        assert records[0]["verification"]["state"] == "cleared"
        assert records[0].get("undone")
    finally:
        sandbox.stop()


async def test_read_only_sends_no_mutating_request(incident, audit_home):
    from arc_top.tui.fixing import fixable

    mark = incident.mark()
    app = live_app(incident, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await found(pilot, "ARC501", "team-a/team-a-kube")
        await found(pilot, "ARC506", "team-b/team-b-dind")
        main = app.main_screen
        targets = fixable(main.findings.findings)
        assert len({f.code for f in targets}) >= 3, [f.code for f in targets]
        opened = set()
        for finding in targets:
            # The panel shows a check run's findings a moment after they arrive; a churned pod's finding may be
            # gone by now, or go while the cursor moves to it (its pod replaced): nothing to open then.
            screen = await open_fix(pilot, finding, gone_ok=True)
            if screen is None:
                continue
            text = await settled(pilot, screen)
            if screen.phase == "ready":
                opened.add(screen.finding.code)     # (the row under the cursor when `f` was pressed)
                assert "dry-run: not sent (read-only)" in text
                assert "read-only: arc-top sends no write" in text
                assert "kubectl" in text
                await pilot.press("enter")                    # does nothing but say so
                await until(pilot, lambda: any("read-only" in n for n in notes(app)), what="enter says so")
                assert app.screen is screen
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, MainScreen), what="back")
        assert {"ARC501", "ARC506"} <= opened, (opened, notes(app))
    assert incident.mutating_since(mark) == []
    assert audit_home.records() == []


async def test_an_account_that_may_not_patch_sees_apply_disabled(incident, audit_home):
    mark = incident.mark()
    app = live_app(incident, context="arc-sandbox-viewer")
    async with app.run_test(size=(120, 40)) as pilot:
        finding = await found(pilot, "ARC501", "team-a/team-a-kube")
        screen = await open_fix(pilot, finding)
        text = await settled(pilot, screen)
        viewer_denied = VIEWER_DENIED.replace("arc-runners", "team-a")
        assert f"✖ Apply disabled: {viewer_denied}" in text
        assert "kubectl patch autoscalingrunnersets.actions.github.com team-a-kube -n team-a" in text
        await pilot.press("enter")
        await until(pilot, lambda: any(viewer_denied in n for n in notes(app)), what="enter says why")
        assert app.screen is screen
        await pilot.press("c")
        assert app.clipboard.startswith("kubectl patch autoscalingrunnersets.actions.github.com team-a-kube")
    # the access review is the one write-shaped request (a POST that changes nothing); no patch, no dry-run
    sent = incident.mutating_since(mark)
    assert sent and all(r.path.endswith("/selfsubjectaccessreviews") for r in sent), [(r.method, r.path) for r in sent]


def secret_values(sandbox) -> set[str]:
    """Every Secret value in the sandbox, raw and stripped, and the base64 the API carries (longer than 5)."""
    import base64

    out = set()
    for secret in client.CoreV1Api(api_client(sandbox)).list_secret_for_all_namespaces().items:
        for encoded in (secret.data or {}).values():
            raw = base64.b64decode(encoded).decode("utf-8", "replace")
            out |= {v for v in (raw, raw.strip(), encoded) if len(v) > 5}
    return out


async def test_no_secret_value_on_the_arc103_fix_screen_in_its_dialog_or_in_the_audit(tmp_path, audit_home):
    sandbox = start_sandbox("bad-credentials", kubeconfig_path=str(tmp_path / "kubeconfig"), speed=3.0)
    try:
        values = secret_values(sandbox)
        app = live_app(sandbox, verify_wait=30.0)
        async with app.run_test(size=(160, 48)) as pilot:
            main = app.main_screen
            await until(pilot, lambda: main is not None and any(f.code == "ARC103" for f in main.findings.findings),
                        timeout=60, what="ARC103")
            finding = next(f for f in main.findings.findings if f.code == "ARC103")
            screen = await open_fix(pilot, finding)
            shown = [await accepted(pilot, screen)]
            assert "ghp_…" in shown[0] and "⏎" in shown[0]          # the masked value and its newline, shown
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ConfirmFixScreen), what="the confirmation")
            shown.append(app.export_screenshot())
            await pilot.press("y")
            await until(pilot, lambda: app.screen is screen and screen.phase in ("applied", "ready"), timeout=60,
                        what="the outcome")
            shown += [fix_text(screen), app.export_screenshot(), *notes(app)]
        shown.append(audit_home.path and open(audit_home.path).read())
        everything = "\n".join(s for s in shown if s)
        leaked = sorted(v[:4] + "…" for v in values if v in everything)
        assert leaked == [], f"secret values on screen or in the audit: {leaked}"
    finally:
        sandbox.stop()

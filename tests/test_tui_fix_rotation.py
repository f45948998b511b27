"""Rotating a credential from the monitor (bad-credentials sandbox, the real Monitor, checks, probes and Fixer):
`f` on ARC104 asks for the new token in a dialog that never shows it; a revoked token is refused by its probe with
GitHub's reason and nothing is written; `r` asks again; a good token is previewed (masked), confirmed, written,
and the listener restarted. No screen ever holds the value."""

from __future__ import annotations

import base64

import pytest
from kubernetes import client

from arc_top.tui.screens.fix_credential import CredentialScreen
from tests.conftest import api_client
from tests.test_tui_drill import until
from tests.test_tui_fix import audit_home, confirm_and_apply, found, live_app, open_fix, settled  # noqa: F401
from tests.test_tui_fix_units import fix_text

pytestmark = pytest.mark.asyncio
NS = "arc-runners"


def token_of(sb, name: str) -> str:
    secret = client.CoreV1Api(api_client(sb)).read_namespaced_secret(name, NS)
    return base64.b64decode(secret.data["github_token"]).decode()


def screen_text(app) -> str:
    """Everything the app's screens would paint, as plain text (the dialog's field included)."""
    out = []
    for screen in app.screen_stack:
        for widget in screen.query("*"):
            render = getattr(widget, "render", None)
            try:
                out.append(str(render()) if render else "")
            except Exception:       # widgets that render only when mounted and sized
                continue
    return "\n".join(out)


async def type_credential(pilot, value: str) -> None:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, CredentialScreen), timeout=60, what="the credential dialog")
    for ch in value:
        await pilot.press(ch)
    assert value not in screen_text(app)                 # the field shows ••• only
    await pilot.press("enter")


async def test_rotate_from_the_monitor_refuses_a_revoked_token_then_writes_a_good_one(tmp_path, audit_home):  # noqa: F811
    from arc_top.sandbox.run import start_sandbox

    sb = start_sandbox("bad-credentials", kubeconfig_path=str(tmp_path / "kubeconfig"), speed=3.0)
    try:
        good, revoked, old = token_of(sb, "arc-github-token"), token_of(sb, "revoked-token"), token_of(
            sb, "expired-token")
        app = live_app(sb, verify_wait=120.0)
        async with app.run_test(size=(160, 48)) as pilot:
            finding = await found(pilot, "ARC104", f"{NS}/expired-token-set")
            screen = await open_fix(pilot, finding)
            mark = sb.mark()
            await type_credential(pilot, revoked)
            await until(pilot, lambda: app.screen is screen and screen.phase == "failed" and screen.pasted is None,
                        timeout=60, what="the probe's refusal")
            text = fix_text(screen)
            assert "nothing was written" in text and "401" in text, text
            assert sb.mutating_since(mark) == [] and token_of(sb, "expired-token") == old

            await pilot.press("r")                          # asks again
            await type_credential(pilot, good)
            text = await settled(pilot, screen)
            assert "dry-run: accepted" in text and good[:4] + "…" + good[-4:] in text, text
            text = await confirm_and_apply(pilot, screen)
            assert "applied ARC104 rotate" in text, text
            assert token_of(sb, "expired-token") == good
            for value in (good, revoked, old):
                assert value not in screen_text(app)
            assert all(value not in str(r) for r in audit_home.records() for value in (good, revoked, old))
    finally:
        sb.stop()

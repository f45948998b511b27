"""The `kube-permissions` scenario's runner log: its `_work/_tool` permission line is highlighted (✖, the error
colour) and named by its finding code (ARC502) beside the log title; from the main screen, `2` then `l`."""

from __future__ import annotations

import pytest

from sandbox.run import start_sandbox
from tests.test_tui_drill import live_app, screen_text, until
from tui.screens.logs import LogScreen
from widgets.text import MARKERS


@pytest.fixture(scope="module")
def permissions(tmp_path_factory):
    # Slowed down: a runner pod lives a few seconds before the failure ends it; we open its log meanwhile.
    sb = start_sandbox("kube-permissions", kubeconfig_path=str(tmp_path_factory.mktemp("kc") / "config"), speed=0.5)
    yield sb
    sb.stop()


@pytest.mark.asyncio
async def test_tool_permission_line_is_highlighted_and_linked_to_arc502(permissions):
    app = live_app(permissions)
    async with app.run_test(size=(160, 40)) as pilot:
        main = app.main_screen
        runners = main.query_one("#runners-table")

        def running_runner() -> str | None:
            snapshot = main.snapshot
            if snapshot is None:
                return None
            pods = {(p.namespace, p.name): p for p in snapshot.of("pods").values()}
            for runner in snapshot.of("runners").values():
                pod = pods.get((runner.namespace, runner.name))
                if pod is not None and pod.status in ("Running", "ContainerCreating") and runners.has_row(runner.uid):
                    return runner.uid
            return None

        await until(pilot, lambda: running_runner() is not None, timeout=30, what="a starting runner")
        await pilot.press("2")
        runners.select_key(running_runner())
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LogScreen))
        screen = app.screen
        view = screen.view

        def tool_line():
            return next((ln for ln in view.lines() if "_work/_tool' is denied" in ln.plain), None)

        await until(pilot, lambda: tool_line() is not None, timeout=30, what="the _tool line")
        line = tool_line()
        assert line.mark is not None and line.mark.code == "ARC502"
        assert "ARC502" in screen.title_text().plain
        assert "work directory not writable" in screen.title_text().plain
        painted = view.line_text(line)
        assert painted.plain.startswith(MARKERS["error"] + " ")
        assert any(str(span.style) == str(screen.palette.style("error")) for span in painted.spans)
        await pilot.press("home")
        await pilot.pause(0.1)
        assert f"{MARKERS['error']} " in screen_text(view)

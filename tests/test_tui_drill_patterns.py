"""The `kube-permissions` scenario's runner log: its `_work/_tool` permission line is highlighted (✖, the error
colour) and named by its finding code (ARC502) beside the log title; from the main screen, `2` then `l`."""

from __future__ import annotations

import pytest

from arc_top.sandbox.run import start_sandbox
from arc_top.tui.screens.logs import LogScreen
from arc_top.widgets.text import MARKERS
from tests.test_tui_drill import NS, live_app, screen_text
from tests.waiting import held_in_app, until

TOOL_LINE = "_work/_tool' is denied"


@pytest.fixture(scope="module")
def permissions(tmp_path_factory):
    sb = start_sandbox("kube-permissions", kubeconfig_path=str(tmp_path_factory.mktemp("kc") / "config"), speed=2.0)
    yield sb
    sb.stop()


@pytest.mark.asyncio
async def test_tool_permission_line_is_highlighted_and_linked_to_arc502(permissions):
    app = live_app(permissions)
    async with app.run_test(size=(160, 40)) as pilot:
        main = app.main_screen
        runners = main.query_one("#runners-table")

        def runner_with_the_line() -> str | None:
            """A runner whose pod (on the server: the screen may lag behind it) has logged the _tool line."""
            pods = {p["metadata"]["name"] for p in permissions.cluster.list("pods", NS)}
            for er in permissions.cluster.list("ephemeralrunners.actions.github.com", NS):
                name = er["metadata"]["name"]
                lines, _ = permissions.cluster.logs.snapshot(NS, name, "runner")
                if name in pods and any(TOOL_LINE in text for _, text in lines):
                    return er["metadata"]["uid"]
            return None

        # A failing runner's pod goes a few seconds after that line: the simulation is paused while we look at it.
        async with held_in_app(pilot, permissions.cluster, runner_with_the_line, what="a runner with the line") as uid:
            await until(pilot, lambda: runners.has_row(uid), what="its row")
            await pilot.press("2")
            runners.select_key(uid)
            await pilot.press("l")
            await until(pilot, lambda: isinstance(app.screen, LogScreen))
            screen = app.screen
            view = screen.view

            def tool_line():
                return next((ln for ln in view.lines() if TOOL_LINE in ln.plain), None)

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

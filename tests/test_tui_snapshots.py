"""SVG snapshots of the main screen from the deterministic `incident` fixture (frozen clocks, fixed
theme, no animations). Update with `pytest tests/test_tui_snapshots.py --snapshot-update` and look at
the result before committing it."""

from __future__ import annotations

import asyncio

from arc_top.tui.app import ArcTopApp
from arc_top.tui.trends import TrendSampler
from tests.tui_fixtures import MONO, NOW, incident_monitor, seed_trends


def incident_app() -> ArcTopApp:
    monitor = incident_monitor()
    sampler = TrendSampler()
    seed_trends(sampler, monitor)
    app = ArcTopApp(monitor.factory, clock=lambda: NOW, monotonic=lambda: MONO, sampler=sampler,
                    flush_interval=0.05, sample_interval=3600, header_interval=3600, theme="textual-dark")
    app.animation_level = "none"
    return app


async def loaded(pilot) -> None:
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while app.main_screen is None or app.main_screen.snapshot is None or not app.main_screen.findings.ready:
        assert loop.time() < deadline, "the fixture never loaded (or the checks never ran)"
        await pilot.pause()
    await pilot.pause()


def test_incident_80x24(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(80, 24), run_before=loaded)


def test_incident_160x48(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(160, 48), run_before=loaded)


def test_incident_scoped_80x24(snap_compare):
    async def scope(pilot) -> None:
        await loaded(pilot)
        pilot.app.main_screen.panel("scalesets").table.select_key("ars-team-b-team-b-ssd")
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(incident_app(), terminal_size=(80, 24), run_before=scope)


def test_incident_200x60(snap_compare):
    assert snap_compare(incident_app(), terminal_size=(200, 60), run_before=loaded)


def test_findings_focused_80x24(snap_compare):
    async def findings(pilot) -> None:
        await loaded(pilot)
        await pilot.press("5")
        await pilot.pause()

    assert snap_compare(incident_app(), terminal_size=(80, 24), run_before=findings)


def test_finding_detail_80x24(snap_compare):
    async def detail(pilot) -> None:
        await loaded(pilot)
        await pilot.press("5")
        table = pilot.app.main_screen.panel("findings").table
        table.select_key(next(k for k in table.visible_keys() if "ARC203" in table.row_text(k)))
        await pilot.press("i")
        await pilot.pause()

    assert snap_compare(incident_app(), terminal_size=(80, 24), run_before=detail)


def test_help_80x24(snap_compare):
    async def help_screen(pilot) -> None:
        await loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(incident_app(), terminal_size=(80, 24), run_before=help_screen)

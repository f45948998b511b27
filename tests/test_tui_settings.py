"""The operator's settings in the monitor (issue 15): silenced findings counted in the header and hidden until `s`
(a real Monitor on a sandbox), the config file's theme, keymap and log_lines reaching the app, and `c` copying the
full name of the object under the cursor (the app's clipboard; Textual sends it as OSC 52)."""

from __future__ import annotations

import base64

import pytest

from arc_top.checks.finding import Finding, Subject
from arc_top.checks.silence import Silence
from arc_top.cli.main import build_parser, settle_config
from arc_top.cli.monitor_cmd import app_options
from arc_top.tui.app import ArcTopApp
from arc_top.tui.screens.logs import LogScreen
from arc_top.widgets.footer import KeysFooter
from tests.test_tui_app import loaded, make_app, table
from tests.tui_fixtures import incident_monitor
from tests.waiting import until

pytestmark = pytest.mark.asyncio


def notifications(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def header(app) -> str:
    return app.main_screen.query_one("#header").content.plain


def finding_codes(app) -> dict[str, list[str]]:
    """What the Findings panel shows: code → the titles of its rows (the screen, not the model)."""
    findings = table(app, "findings")
    out: dict[str, list[str]] = {}
    for key in findings.visible_keys():
        if key in app.main_screen.findings.groups:
            continue
        cells = [c.plain for c in findings.get_row(key)]
        out.setdefault(cells[1], []).append(cells[3])
    return out


async def test_silenced_findings_are_counted_not_shown_until_s(tmp_path):
    """healthy: ARC602 and ARC109 on both scale sets, ARC206 on one (from the templates: no churn needed). The
    rules silence ARC602 everywhere and ARC109 on arc-default-* (3 findings)."""
    from arc_top.kube.config import connect
    from arc_top.kube.monitor import Monitor
    from arc_top.sandbox.run import start_sandbox

    sandbox = start_sandbox("healthy", kubeconfig_path=str(tmp_path / "kubeconfig"), speed=3.0)
    try:
        conn = connect(sandbox.kubeconfig_path, all_namespaces=True)
        rules = [Silence("ARC602", "we follow latest"), Silence("ARC109", "PAT until Q3", scale_set="arc-default-*")]
        app = ArcTopApp(lambda on_change: Monitor(conn, on_change), silence=rules, github=False)
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: "ARC206" in finding_codes(app) and "3 silenced" in header(app),
                        timeout=30, what="checks run, 3 silenced")
            shown = finding_codes(app)
            assert "ARC602" not in shown and shown["ARC109"] == [shown["ARC109"][0]]      # arc-runner-set's only
            assert "· 3 silenced" in header(app) and "(shown)" not in header(app)
            assert app.main_screen.findings.silenced == 3
            await pilot.press("s")
            await until(pilot, lambda: "ARC602" in finding_codes(app), what="silenced shown")
            shown = finding_codes(app)
            assert len(shown["ARC602"]) == 2 and all(t.startswith("silenced · ") for t in shown["ARC602"])
            assert sum(t.startswith("silenced · ") for t in shown["ARC109"]) == 1 and len(shown["ARC109"]) == 2
            assert not any(t.startswith("silenced") for t in shown["ARC206"])
            assert "3 silenced (shown)" in header(app)
            assert "showing 3 silenced findings (marked 'silenced')" in notifications(app)
            await pilot.press("s")
            await until(pilot, lambda: "ARC602" not in finding_codes(app), what="silenced hidden again")
            assert "hiding 3 silenced findings" in notifications(app) and "(shown)" not in header(app)
    finally:
        sandbox.stop()


async def test_without_rules_s_says_there_are_none():
    app = make_app(incident_monitor())
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("s")
        await pilot.pause()
        assert "no silence: rules in the config file (see arc-top config)" in notifications(app)
        assert "silenced" not in header(app)


async def test_c_copies_the_full_name_of_the_object_under_the_cursor():
    app = make_app(incident_monitor())
    async with app.run_test(size=(100, 30)) as pilot:
        main = await loaded(pilot)
        await pilot.press("2")
        runners = table(app, "runners")
        await until(pilot, lambda: runners.cursor_key is not None, what="a runner row")
        await pilot.press("down")                        # below the scale set's row
        runner = main.snapshot.of("runners").get(runners.cursor_key) or main.snapshot.of("pods")[runners.cursor_key]
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == runner.name and len(runner.name) > 20
        assert f"copied EphemeralRunner name {runner.name}" in notifications(app)

        await pilot.press("1")                           # a scale set row
        sets = table(app, "scalesets")
        scale_set = main.snapshot.of("scalesets")[sets.cursor_key]
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == scale_set.name
        assert f"copied AutoscalingRunnerSet name {scale_set.name}" in notifications(app)


async def test_c_writes_osc_52_to_the_terminal():
    """What reaches the terminal: ESC ] 52 ; c ; base64 BEL (what works over SSH)."""
    app = make_app(incident_monitor())
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        written: list[str] = []
        driver = app._driver
        original = driver.write
        driver.write = lambda data: (written.append(data), original(data))[1]
        try:
            await pilot.press("c")
            await pilot.pause()
        finally:
            driver.write = original
        name = app.clipboard
        assert name and f"\x1b]52;c;{base64.b64encode(name.encode()).decode()}\a" in written


async def test_c_on_a_finding_copies_its_objects_name_and_on_a_group_the_scale_sets():
    app = make_app(incident_monitor())
    async with app.run_test(size=(120, 40)) as pilot:
        main = await loaded(pilot)
        findings = table(app, "findings")
        pod = Finding("ARC502", "error", "Runner cannot write its work directory",
                      Subject("Pod", "arc-runners", "arc-runner-set-h8ff4-runner-zzzzz", "uid-z"),
                      scale_set="arc-runners/arc-runner-set")
        for _ in main.findings_steps([pod]):
            await pilot.pause()
        await pilot.press("5")
        await until(pilot, lambda: findings.cursor_key is not None, what="a findings row")
        assert findings.cursor_key in main.findings.groups                # the scale set's row comes first
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == "arc-runner-set"
        await pilot.press("down", "c")
        await pilot.pause()
        assert app.clipboard == "arc-runner-set-h8ff4-runner-zzzzz"
        assert "copied Pod name arc-runner-set-h8ff4-runner-zzzzz" in notifications(app)


async def test_the_config_files_theme_keymap_and_log_lines_reach_the_app(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "arc-top").mkdir()
    (tmp_path / "arc-top" / "config.yaml").write_text(
        "theme: nord\nkeymap: {arc-top.panel-runners: r, arc-top.copy-name: ctrl+y, arc-top.describe: ctrl+o}\n"
        "log_lines: 345\n")
    args = build_parser().parse_args([])
    assert settle_config(args) == ""
    options = app_options("arc-top", args)
    options.pop("title")
    app = make_app(incident_monitor(), **options)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        assert app.theme == "nord"
        await pilot.press("r", "down")
        await pilot.pause()
        assert app.focused is table(app, "runners")
        footer = app.screen.query_one(KeysFooter).render().plain
        assert " ^o Describe " in footer and " d Describe " not in footer  # the footer shows the rebound key
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert app.clipboard and app.clipboard == app.main_screen.snapshot.of("runners").get(
            table(app, "runners").cursor_key, app.main_screen.snapshot.of("pods").get(
                table(app, "runners").cursor_key)).name
        from arc_top.kube.objects import ObjectRef
        from arc_top.tui.screens.drill import source_for

        screen = LogScreen(source_for(app), ObjectRef("Pod", "arc-runners", "x", "u"), ("Runners",))
        assert screen.cap == 345


async def test_a_hostile_name_is_copied_and_announced_without_its_escapes():
    from tests.test_tui_app import HOSTILE_NAME
    from tests.tui_fixtures import FakeMonitor, kube_runner, scale_set

    ss = scale_set("arc-runners", "set-[bold]b[/]", current=1, running=1)
    app = make_app(FakeMonitor.with_objects([ss, *kube_runner(ss.namespace, ss.name, HOSTILE_NAME)]))
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        await until(pilot, lambda: table(app, "runners").cursor_key is not None, what="the runner row")
        await pilot.press("down", "c")
        await pilot.pause()
        assert app.clipboard == "evil-[red]x[/]-pod"
        said = notifications(app)[-1]
        assert said == "copied EphemeralRunner name evil-[red]x[/]-pod" and "\x1b" not in said
        assert app._notifications and not next(iter(reversed(list(app._notifications)))).markup


async def test_help_lists_the_copy_and_silenced_keys_with_their_ids():
    from arc_top.tui.screens.help import help_rows

    app = make_app(incident_monitor(), keymap={"arc-top.copy-name": "ctrl+y"})
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        main = dict(help_rows(app, app.keymap))["Main screen"]
        by_id = {binding_id: (keys, what) for keys, what, binding_id in main}
        assert by_id["arc-top.copy-name"][0] == "^y" and "OSC 52" in by_id["arc-top.copy-name"][1]
        assert by_id["arc-top.silenced"][0] == "s" and "silence" in by_id["arc-top.silenced"][1]

"""Drill-down pieces without a cluster: the line viewer (cap, follow, filter, wrap), masking, the owner chain
and row resolution on the `incident` fixture, the help listing, and the screens on a fake source."""

from __future__ import annotations

import base64
from types import SimpleNamespace

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from arc_top.kube.objects import ObjectRef, mask_object, without_managed_fields
from arc_top.tui.screens.describe_text import describe_lines, wrap
from arc_top.tui.screens.drill import crumbs, resolve
from arc_top.tui.screens.help import help_rows
from arc_top.tui.screens.logs import containers_of, default_container
from arc_top.tui.screens.relations import log_target, owner_chain, relations
from arc_top.widgets.log_view import LogView, log_text, short_stamp
from arc_top.widgets.text import Palette
from tests.test_tui_drill_snapshots import RUNNER, RUNNER_UID, drill_app, objects, runner_row
from tests.test_tui_snapshots import loaded
from tests.tui_fixtures import incident_monitor
from tests.waiting import until

NS = "arc-runners"


# ---- the line viewer --------------------------------------------------------------------------------------
class ViewApp(App):
    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.kwargs = kwargs

    def compose(self) -> ComposeResult:
        yield LogView(**self.kwargs)


def rows(n: int, start: int = 0, text: str = "line") -> list[tuple[str, str, None, str]]:
    return [("", f"{text} {i}", None, "") for i in range(start, start + n)]


@pytest.mark.asyncio
async def test_cap_bounds_the_lines_and_keeps_a_paused_view_on_its_content():
    app = ViewApp(cap=100)
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(LogView)
        view.append(rows(80))
        await pilot.pause()
        assert view.follow and view.scroll_y == view.max_scroll_y
        view.set_follow(False)
        view.scroll_to(y=30, animate=False, immediate=True)
        top = view._anchor()
        view.append(rows(50, 80))                 # 130 > cap: the 30 oldest go
        assert view.line_count == 100 and view.evicted == 30
        assert [ln.plain for ln in view.lines()][0] == "line 30"
        assert view._anchor() == top                # the same line stays at the top
        assert view.new_lines == 50
        view.append(rows(10_000, 130))
        assert view.line_count == 100 and len(view._buf) - view._head == 100
        assert len(view._buf) <= 100 + 1024         # compacted as it goes
        view.set_follow(True)
        assert view.new_lines == 0 and view.scroll_y == view.max_scroll_y


@pytest.mark.asyncio
async def test_filter_wrap_and_search_over_evictions():
    app = ViewApp(cap=50)
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(LogView)
        view.append([("", f"{'match' if i % 5 == 0 else 'other'} {i} " + "x" * (i % 70), None, "")
                     for i in range(60)])
        view.set_filter("MATCH")
        assert view.view_count == 10
        view.append(rows(20, 100, "match"))
        assert view.view_count == 10 + 20 - 4       # 20 new matches, 4 old ones evicted with their lines
        view.wrap = True
        await pilot.pause()
        width = view._content_width()
        expected = sum(max(1, -(-ln.width // width)) for ln in view._items()[0][view._items()[1]:])
        assert view.virtual_size.height == expected
        found = view._locate(view.virtual_size.height - 1)
        assert found is not None and found[0] == len(view._items()[0]) - 1
        view.set_filter("")
        view.set_search("match 10")
        assert view.match_count() == 10              # match 100…109
        line = view.next_match(1)
        assert line is not None and line.plain.startswith("match 10")
        assert not view.follow


def test_log_text_and_stamps():
    assert log_text("\x1b[1mbold\x1b[0m\tx") == "bold    x"
    assert log_text("a" * 20, max_chars=10) == "a" * 10 + " … [10 more characters]"
    assert short_stamp("2025-10-09T08:51:42.123456789Z") == "2025-10-09T08:51:42.123Z"
    assert short_stamp("2025-10-09T08:51:42.1Z") == "2025-10-09T08:51:42.100Z"
    assert short_stamp("2025-10-09T08:51:42Z") == "2025-10-09T08:51:42Z"


# ---- masking --------------------------------------------------------------------------------------------
def test_secrets_masked_everywhere():
    token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    secret = {"kind": "Secret", "metadata": {"name": "s", "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": f'{{"stringData":{{"t":"{token}"}}}}'},
        "managedFields": [{"manager": "kubectl"}]},
        "data": {"github_token": base64.b64encode(token.encode()).decode()}, "stringData": {"x": token}}
    masked = mask_object(secret)
    assert token not in str(masked) and base64.b64encode(token.encode()).decode() not in str(masked)
    assert masked["data"]["github_token"] == "ghp_…6789" and masked["stringData"]["x"] == "ghp_…6789"   # core's rule
    assert secret["data"]["github_token"] != masked["data"]["github_token"]      # a copy
    assert "managedFields" not in without_managed_fields(masked)["metadata"]
    pod = {"kind": "Pod", "spec": {"containers": [{"env": [{"name": "GITHUB_TOKEN", "value": token},
                                                           {"name": "ACTIONS_RUNNER_POD_NAME", "value": "p"}]}]}}
    env = mask_object(pod)["spec"]["containers"][0]["env"]
    assert token not in str(env) and env[0]["value"] == "ghp_…6789" and env[1]["value"] == "p"
    key = {"kind": "Secret", "data": {"k": base64.b64encode(b"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n").decode()},
           "stringData": {"short": "hunter2\n", "n": 5, "none": None}}
    assert mask_object(key)["data"] == {"k": "[private key]⏎"}
    assert mask_object(key)["stringData"] == {"short": "…⏎", "n": "…", "none": ""}


# ---- relations and resolution on the incident fixture ---------------------------------------------------
def test_owner_chain_listener_and_children():
    snapshot = incident_monitor().snapshot()
    pod = ObjectRef("Pod", NS, RUNNER, f"pod-{NS}-{RUNNER}")
    live = objects()[("Pod", NS, RUNNER)]
    chain = owner_chain(pod, live, snapshot)
    assert [ref.kind for ref in chain] == ["AutoscalingRunnerSet", "EphemeralRunnerSet", "EphemeralRunner"]
    related = relations(pod, live, snapshot)
    roles = [(r.role, r.ref.kind) for r in related]
    assert ("listener", "AutoscalingListener") in roles and ("listener", "Pod") in roles
    assert ("child", "PersistentVolumeClaim") in roles and ("child", "Pod") in roles     # work volume, workflow pod
    workflow = next(r.ref for r in related if r.role == "child" and r.ref.kind == "Pod")
    assert [ref.kind for ref in owner_chain(workflow, None, snapshot)][-1] == "Pod"      # its runner pod
    ars = chain[0]
    assert log_target(ars, snapshot).name.endswith("-listener")
    assert log_target(chain[2], snapshot) == ObjectRef("Pod", NS, RUNNER, f"pod-{NS}-{RUNNER}")
    assert log_target(ObjectRef("PersistentVolumeClaim", NS, f"{RUNNER}-work"), snapshot) is None


def test_rows_resolve_to_objects():
    snapshot = incident_monitor().snapshot()
    assert resolve(RUNNER_UID, snapshot) == ObjectRef("EphemeralRunner", NS, RUNNER, RUNNER_UID)
    assert resolve("ars-team-b-team-b-ssd", snapshot).kind == "AutoscalingRunnerSet"
    from arc_top.tui.rows.events import fold_events
    folded = fold_events(list(snapshot.of("events").values()))
    key = next(f.key for f in folded if f.object_kind == "PersistentVolumeClaim")
    assert resolve(key, snapshot).kind == "PersistentVolumeClaim"
    assert resolve("nope", snapshot) is None

    # the main screen's findings view: row key -> finding, whose subject is what d / l / y open
    subject = SimpleNamespace(kind="Pod", namespace=NS, name=RUNNER, uid=f"pod-{NS}-{RUNNER}")
    findings = SimpleNamespace(by_key={"fd-1": SimpleNamespace(subject=subject)})
    assert resolve("fd-1", snapshot, findings) == ObjectRef("Pod", NS, RUNNER, f"pod-{NS}-{RUNNER}")
    assert resolve("fd-2", snapshot, findings) is None


def test_describe_text_and_wrap():
    snapshot = incident_monitor().snapshot()
    lines, hangs = describe_lines(objects()[("EphemeralRunner", NS, RUNNER)], [], snapshot, Palette(), 1_760_000_000)
    body = "\n".join(line.plain for line in lines)
    for wanted in ("Phase:", "✔ Running", "Repository:", "arc-org/app-repo", "Failures (2)", "Pod", "Events (0)"):
        assert wanted in body
    pod = mask_object(objects()[("Pod", NS, RUNNER)])          # what a source hands over (kube.objects.fetch)
    lines, hangs = describe_lines(pod, [], snapshot, Palette(), 1_760_000_000)
    body = "\n".join(line.plain for line in lines)
    assert "Last state:" in body and "exit code 1" in body and "fsGroup=123" in body
    assert "env GITHUB_TOKEN:" in body and "abcdefghijklmnop" not in body
    assert "(from secret arc-runner-set-h8ff4-runner-668fh key jitToken)" in body
    wrapped = wrap([Text("  Labels:           " + "a=b, " * 30)], [20], 40)
    assert len(wrapped) > 1 and all(len(t.plain) <= 40 for t in wrapped)
    assert all(t.plain.startswith(" " * 20) for t in wrapped[1:])


def test_containers_and_default():
    pod = {"metadata": {"annotations": {}}, "spec": {
        "initContainers": [{"name": "init-dind-externals"}], "containers": [{"name": "dind"}, {"name": "runner"}]},
        "status": {"containerStatuses": [{"name": "runner", "state": {"running": {}}, "restartCount": 2}]}}
    assert [name for name, _ in containers_of(pod)] == ["init-dind-externals", "dind", "runner"]
    assert containers_of(pod)[2][1] == "running, 2 restarts"
    assert default_container(pod) == "runner"
    pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"] = "dind"
    assert default_container(pod) == "dind"


def test_breadcrumb_keeps_the_end():
    trail = ["Runners", "EphemeralRunner arc-runners/" + "x" * 60, "Pod arc-runners/" + "x" * 60, "log"]
    text = crumbs(trail, 80).plain
    assert len(text) <= 80 and text.endswith("› log") and text.startswith("…")
    assert crumbs(["Scale sets", "yaml"], 80).plain == "arc-top › Scale sets › yaml"


def test_help_lists_every_drill_key():
    app = drill_app()
    groups = dict(help_rows(app, {}))
    ids = {binding_id for rows_ in groups.values() for _, _, binding_id in rows_}
    for wanted in ("arc-top.logs", "arc-top.describe", "arc-top.yaml", "arc-top.log.follow", "arc-top.log.resume",
                   "arc-top.log.container", "arc-top.log.previous", "arc-top.log.timestamps", "arc-top.log.wrap",
                   "arc-top.log.window-tail", "arc-top.log.window-all", "arc-top.log.search", "arc-top.log.filter",
                   "arc-top.log.next-match", "arc-top.log.prev-match", "arc-top.log.save", "arc-top.describe.open",
                   "arc-top.describe.logs", "arc-top.yaml.managed", "arc-top.yaml.search", "arc-top.drill.back"):
        assert wanted in ids
    assert "Log (l)" in groups and "Describe (d)" in groups and "YAML (y)" in groups


# ---- screens on the fake source -------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_yaml_managed_fields_and_search():
    from arc_top.tui.screens.yaml_view import YamlScreen

    app = drill_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await app.push_screen(YamlScreen(app.monitor.drill_source, ObjectRef("Secret", NS, "arc-github-token"),
                                         ("Scale sets",)))
        await until(pilot, lambda: getattr(app.screen, "loaded", False))
        screen = app.screen
        text = lambda: "\n".join(ln.plain for ln in screen.view.lines())  # noqa: E731
        assert "managedFields" not in text() and "ghp_" in text() and "6789" in text()
        assert "abcdefghijklmnop" not in text()
        await pilot.press("m")
        assert "managedFields:" in text() and "manager: helm" in text()
        await pilot.press("slash", *"github_token", "enter")
        assert screen.view.match_count() == 1 and screen.view.current_match is not None
        await pilot.press("escape", "escape")
        await until(pilot, lambda: app.screen is app.main_screen)


@pytest.mark.asyncio
async def test_l_on_a_scale_set_opens_its_listener_log_and_esc_unwinds():
    app = drill_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        app.main_screen.panel("scalesets").table.select_key("ars-arc-runners-arc-runner-set")
        await pilot.press("l")
        await until(pilot, lambda: getattr(app.screen, "VIEW", "") == "log")
        assert app.screen.ref.name == "arc-runner-set-754b578d-listener"
        assert "AutoscalingRunnerSet arc-runners/arc-runner-set" in app.screen.trail
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.main_screen)

        await runner_row(pilot)
        await pilot.press("d")
        await until(pilot, lambda: getattr(app.screen, "loaded", False))
        describe = app.screen
        await pilot.press("l")                                   # its pod's log
        await until(pilot, lambda: getattr(app.screen, "VIEW", "") == "log")
        assert app.screen.trail[-2:] == (f"Pod {NS}/{RUNNER}", "log")
        assert app.screen.trail.count(f"EphemeralRunner {NS}/{RUNNER}") == 1
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is describe)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.main_screen)
        # a volume claim has no log: a notification, no screen
        app.main_screen.panel("volumes").table.select_key(f"pvc-{NS}-{RUNNER}-work")
        await pilot.press("3")
        app.main_screen.panel("volumes").table.select_key(f"pvc-{NS}-{RUNNER}-work")
        await pilot.press("l")
        await pilot.pause()
        assert app.screen is app.main_screen


@pytest.mark.asyncio
async def test_container_picker_switches_containers():
    from arc_top.tui.screens.logs import LogScreen
    from tests.test_tui_drill_snapshots import FakeSource

    source = FakeSource()
    pod = source.objects[("Pod", NS, RUNNER)]
    pod["spec"]["initContainers"] = [{"name": "init-work", "image": "busybox"}]
    pod["spec"]["containers"].append({"name": "dind", "image": "docker:dind"})
    requests = []
    follow = source.follow
    source.follow = lambda request, on_event: requests.append(request) or follow(request, on_event)
    app = drill_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await app.push_screen(LogScreen(source, ObjectRef("Pod", NS, RUNNER), ("test",)))
        await until(pilot, lambda: bool(requests))
        assert requests[-1].container == "runner"
        await pilot.press("c")
        await until(pilot, lambda: type(app.screen).__name__ == "ContainerPicker")
        await pilot.press("up", "enter")                           # runner -> dind is above? pick by id
        await until(pilot, lambda: type(app.screen).__name__ == "LogScreen")
        assert requests[-1].container in ("dind", "init-work")
        await pilot.press("4")
        assert requests[-1].tail_lines is None and requests[-1].since_seconds is None
        await pilot.press("1")
        assert requests[-1].since_seconds == 60
        await pilot.press("p")
        assert requests[-1].previous and not requests[-1].follow


@pytest.mark.asyncio
async def test_log_lines_that_arrive_while_the_app_exits_are_dropped_quietly():
    """The drain timer can fire while Textual takes the widgets down at exit: lines queued then are dropped (the
    log view they would go to is gone; looking for it raised)."""
    from arc_top.tui.screens.logs import LogScreen
    from tests.test_tui_drill_snapshots import FakeSource

    source = FakeSource()
    app = drill_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        screen = LogScreen(source, ObjectRef("Pod", NS, RUNNER), ("test",))
        await app.push_screen(screen)
        await until(pilot, lambda: app.screen is screen)
        with screen._lock:
            screen._pending.append((screen._gen, "lines", rows(3, text="queued")))
        screen.drain()                          # running: the lines are shown
        assert screen.view.line_count >= 3
    assert not app.is_running
    with screen._lock:
        screen._pending.append((screen._gen, "lines", rows(3, text="late")))
    screen.drain()

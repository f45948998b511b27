"""Drill-down on a live sandbox (Pilot): a pod's log followed, paused and resumed, the previous container,
search and filter, a dropped stream resumed without repeats, hostile lines shown as text; describe with
the owner chain, and YAML with secrets masked."""

from __future__ import annotations

import base64

import pytest
from kubernetes import client

from arc_top.kube.config import connect
from arc_top.kube.monitor import Monitor
from arc_top.kube.objects import ObjectRef
from arc_top.sandbox.controller.lograte import RATE_ANNOTATION
from arc_top.tui.app import ArcTopApp
from arc_top.tui.screens.describe import DescribeScreen
from arc_top.tui.screens.drill import source_for
from arc_top.tui.screens.logs import LogScreen
from arc_top.tui.screens.yaml_view import YamlScreen
from arc_top.widgets.log_view import LogView
from tests.conftest import api_client
from tests.waiting import held_in_app, until, wait_for  # (other modules import until from here)

NS = "arc-runners"
RUNNER_LABELS = {"app.kubernetes.io/component": "runner", "actions.github.com/scale-set-name": "arc-runner-set",
                 "actions.github.com/scale-set-namespace": NS}


def make_pod(sandbox, name: str, *, labels: dict | None = None, annotations: dict | None = None,
             containers: tuple[str, ...] = ("main",)) -> str:
    core = client.CoreV1Api(api_client(sandbox))
    pod = core.create_namespaced_pod(NS, {
        "metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}},
        "spec": {"containers": [{"name": c, "image": "busybox"} for c in containers]}})
    wait_for(lambda: (sandbox.cluster.get("pods", NS, name).get("status") or {}).get("phase") == "Running",
             what=f"pod {name} Running")
    return pod.metadata.uid


def live_app(sandbox) -> ArcTopApp:
    conn = connect(sandbox.kubeconfig_path, all_namespaces=True)
    return ArcTopApp(lambda on_change: Monitor(conn, on_change))


async def open_log(pilot, app, name: str, **kwargs) -> LogScreen:
    await until(pilot, lambda: app.monitor is not None, what="monitor")
    screen = LogScreen(source_for(app), ObjectRef("Pod", NS, name), ("test",), **kwargs)
    await app.push_screen(screen)
    return screen


def texts(view: LogView) -> list[str]:
    return [line.plain for line in view.lines() if not line.meta]


def notes(view: LogView) -> list[str]:
    return [line.plain for line in view.lines() if line.meta]


def screen_text(view: LogView) -> str:
    """What the view paints, row by row (segments joined)."""
    return "\n".join("".join(seg.text for seg in view.render_line(y)) for y in range(view.size.height))


@pytest.mark.asyncio
async def test_l_on_a_runner_row_follows_new_lines_pause_and_resume(healthy):
    uid = make_pod(healthy, "drill-follow", labels=RUNNER_LABELS, containers=("runner",))
    logs = healthy.cluster.logs
    logs.write(NS, "drill-follow", "runner", [f"early {i}" for i in range(100)])
    app = live_app(healthy)
    async with app.run_test(size=(100, 30)) as pilot:
        runners = app.screen.query_one("#runners-table")
        await until(pilot, lambda: runners.has_row(uid), what="the pod's row")
        await pilot.press("2")
        runners.select_key(uid)
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LogScreen), what="the log screen")
        screen = app.screen
        view = screen.view
        await until(pilot, lambda: len(texts(view)) == 100, what="the tail")
        assert texts(view)[-1] == "early 99"
        assert "Pod arc-runners/drill-follow" in screen.trail and screen.title_text().plain.startswith(" runner ")
        assert "following" in screen.title_text().plain

        logs.write(NS, "drill-follow", "runner", ["a new line"])
        await until(pilot, lambda: texts(view)[-1] == "a new line", what="the followed line")
        await pilot.pause(0.2)
        assert view.follow and view.scroll_y == view.max_scroll_y
        assert "a new line" in screen_text(view)

        await pilot.press("up", "up", "up")                  # scrolling up pauses following
        assert not view.follow
        logs.write(NS, "drill-follow", "runner", ["while paused 1", "while paused 2"])
        await until(pilot, lambda: view.new_lines == 2, what="new lines counted")
        assert "2 new lines" in screen.badge_text().plain
        assert "paused" in screen.title_text().plain
        assert "while paused 2" not in screen_text(view)

        await pilot.press("end")                             # end resumes
        await pilot.pause(0.2)
        assert view.follow and view.new_lines == 0
        assert "while paused 2" in screen_text(view)

        await pilot.press("f")                               # f toggles
        assert not view.follow
        await pilot.press("f")
        assert view.follow

        await pilot.press("escape")                          # back to the main screen
        await until(pilot, lambda: app.screen is app.main_screen, what="the main screen")


@pytest.mark.asyncio
async def test_previous_container_after_a_restart(healthy):
    make_pod(healthy, "drill-previous")
    logs = healthy.cluster.logs
    logs.write(NS, "drill-previous", "main", ["first instance: starting", "first instance: crashed"])
    logs.restart(NS, "drill-previous", "main")
    logs.write(NS, "drill-previous", "main", ["second instance: up"])
    app = live_app(healthy)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_log(pilot, app, "drill-previous")
        view = screen.view
        await until(pilot, lambda: texts(view) == ["second instance: up"])
        await pilot.press("p")
        await until(pilot, lambda: texts(view) == ["first instance: starting", "first instance: crashed"],
                    what="the previous instance")
        await until(pilot, lambda: "end of log" in " ".join(notes(view)))
        assert "previous" in screen.title_text().plain
        await pilot.press("p")
        await until(pilot, lambda: texts(view) == ["second instance: up"], what="the current instance again")


@pytest.mark.asyncio
async def test_search_and_filter(healthy):
    make_pod(healthy, "drill-search")
    lines = [f"{'ERROR disk full' if i % 10 == 3 else 'info all good'} #{i}" for i in range(60)]
    healthy.cluster.logs.write(NS, "drill-search", "main", lines)
    app = live_app(healthy)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_log(pilot, app, "drill-search")
        view = screen.view
        await until(pilot, lambda: len(texts(view)) == 60)

        await pilot.press("slash", *"disk", "enter")
        assert view.search == "disk" and view.match_count() == 6
        first = view.current_match
        assert first is not None and "disk" in next(ln for ln in view.lines() if ln.seq == first).plain
        assert not view.follow                               # jumping to a match pauses
        await pilot.press("n")
        assert view.current_match > first
        await pilot.press("N")
        assert view.current_match == first
        painted = view.line_text(next(ln for ln in view.lines() if ln.seq == first))
        assert any(span.style and "reverse" in str(span.style) for span in painted.spans)

        await pilot.press("ampersand", *"DISK", "enter")     # filter: only matching lines (any case)
        assert view.filter == "DISK"
        assert [ln.plain for ln in view._items()[0][view._items()[1]:] if not ln.meta] == \
               [line for line in lines if "disk" in line]
        assert view.view_count == 6 + len(notes(view))
        await pilot.press("escape")                          # clears the filter…
        assert view.filter == "" and view.view_count == view.line_count
        await pilot.press("escape")                          # …then the search…
        assert view.search == ""
        await pilot.press("escape")                          # …then goes back
        await until(pilot, lambda: not isinstance(app.screen, LogScreen))


@pytest.mark.asyncio
async def test_dropped_stream_resumes_without_duplicates(healthy):
    make_pod(healthy, "drill-drop", annotations={RATE_ANNOTATION: "200"})
    app = live_app(healthy)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_log(pilot, app, "drill-drop", window=4)
        view = screen.view
        await until(pilot, lambda: len(texts(view)) > 100)
        healthy.cluster.restart(down_seconds=1.0)
        await until(pilot, lambda: any("reconnecting" in n for n in notes(view)), what="the drop shown")
        await until(pilot, lambda: any(n.startswith("reconnected") for n in notes(view)), timeout=30,
                    what="the resume shown")
        count = len(texts(view))
        await until(pilot, lambda: len(texts(view)) > count + 200, what="lines after the resume")
        numbers = [int(text.split()[0]) for text in texts(view)]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "a line was lost or shown twice"


@pytest.mark.asyncio
async def test_hostile_lines_are_shown_as_text(healthy):
    make_pod(healthy, "drill-hostile")
    invalid = b"bytes \xff\xfe\xc3( end".decode("utf-8", errors="surrogateescape")
    hostile = ["\x1b[31mred\x1b[0m plain", "\x1b]0;pwned title\x07after osc", "[bold red]not bold[/] and [/x]",
               "x" * 20_000, invalid, "tab\there\rcarriage", "\u202eevil bidi"]
    healthy.cluster.logs.write(NS, "drill-hostile", "main", hostile)
    app = live_app(healthy)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_log(pilot, app, "drill-hostile")
        view = screen.view
        await until(pilot, lambda: len(texts(view)) == len(hostile))
        shown = texts(view)
        assert shown[0] == "red plain"
        assert shown[1] == "after osc"
        assert shown[2] == "[bold red]not bold[/] and [/x]"
        assert shown[3].startswith("x" * 10_000) and "10,000 more characters" in shown[3]
        assert "\ufffd" in shown[4] and shown[4].startswith("bytes ") and shown[4].endswith(" end")
        assert shown[5] == "tab     here carriage"
        assert shown[6] == "evil bidi"
        await pilot.press("home")
        await pilot.pause(0.1)
        painted = screen_text(view)
        assert "\x1b" not in painted and "pwned" not in painted
        assert "[bold red]not bold[/] and [/x]" in painted
        await pilot.press("w")                               # wrapped, the long line takes many rows
        assert view.virtual_size.height > 100
        await pilot.press("t")                               # timestamps
        assert view.timestamps and "Z " in screen_text(view)


@pytest.mark.asyncio
async def test_save_writes_the_buffer(healthy, tmp_path, monkeypatch):
    monkeypatch.setenv("ARC_TOP_SAVE_DIR", str(tmp_path))
    make_pod(healthy, "drill-save")
    healthy.cluster.logs.write(NS, "drill-save", "main", ["one", "two [b]x[/b]"])
    app = live_app(healthy)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_log(pilot, app, "drill-save")
        await until(pilot, lambda: len(texts(screen.view)) == 2)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: bool(screen.saved_path), what="the file")
        content = open(screen.saved_path, encoding="utf-8").read().splitlines()
        assert screen.saved_path.startswith(str(tmp_path)) and "drill-save" in screen.saved_path
        assert [line.split(" ", 1)[1] for line in content] == ["one", "two [b]x[/b]"]


@pytest.mark.asyncio
async def test_describe_owner_chain_and_yaml_masking(healthy):
    # No more jobs: busy runners finish and idle ones (minRunners) stay. And while the runner is picked and
    # described the simulation is paused, so the object described cannot go away under the test.
    custom = client.CustomObjectsApi(api_client(healthy))
    for ars in custom.list_namespaced_custom_object("actions.github.com", "v1alpha1", NS,
                                                    "autoscalingrunnersets")["items"]:
        custom.patch_namespaced_custom_object("actions.github.com", "v1alpha1", NS, "autoscalingrunnersets",
                                              ars["metadata"]["name"], {"metadata": {"annotations": {
                                                  "sandbox.arc-top.dev/job-stream": None}}})
    app = live_app(healthy)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.monitor is not None and app.monitor.synced())
        main = app.main_screen

        def idle_runner() -> str | None:
            """An idle, Running runner with a Running pod, on the server (the screen may lag behind it)."""
            pods = {p["metadata"]["name"]: p for p in healthy.cluster.list("pods", NS)}
            for er in healthy.cluster.list("ephemeralrunners.actions.github.com", NS):
                name, status = er["metadata"]["name"], er.get("status") or {}
                pod = pods.get(name)
                if status.get("phase") == "Running" and not status.get("jobDisplayName") and pod is not None \
                        and (pod.get("status") or {}).get("phase") == "Running":
                    return er["metadata"]["uid"]
            return None

        await pilot.press("2")
        async with held_in_app(pilot, healthy.cluster, idle_runner, timeout=40, what="an idle runner") as uid:
            runners = main.panel("runners").table
            await until(pilot, lambda: runners.has_row(uid), what="the runner's row")
            runners.select_key(uid)
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, DescribeScreen) and app.screen.loaded)
            screen = app.screen
            assert not screen.error, screen.error
            kinds = [(r.role, r.ref.kind) for r in screen.related]
            assert ("owner", "AutoscalingRunnerSet") in kinds and ("owner", "EphemeralRunnerSet") in kinds
            assert ("this", "EphemeralRunner") in kinds and ("child", "Pod") in kinds
            assert ("listener", "Pod") in kinds
            body = "\n".join(line.plain for line in screen.view.lines())
            assert "Phase:" in body and "Failures (" in body and "Events (" in body
            assert "arc-top › Runners › EphemeralRunner" in str(screen.query_one("#drill-crumbs").render())

        # enter on the scale set (the first owner) describes it; esc comes back
        options = screen.query_one("#describe-related")
        options.highlighted = next(i for i, r in enumerate(screen.related) if r.ref.kind == "AutoscalingRunnerSet")
        options.focus()
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is not screen and isinstance(app.screen, DescribeScreen)
                    and app.screen.loaded)
        assert app.screen.ref.kind == "AutoscalingRunnerSet"
        ars_body = "\n".join(line.plain for line in app.screen.view.lines())
        assert "replicas" in ars_body and "Listener" in ars_body
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)

        # y on the credentials Secret: its values masked
        secret = ObjectRef("Secret", NS, "arc-github-token")
        await app.push_screen(YamlScreen(source_for(app), secret, ("test",)))
        await until(pilot, lambda: isinstance(app.screen, YamlScreen) and app.screen.loaded)
        yaml_text = "\n".join(line.plain for line in app.screen.view.lines())
        assert "kind: Secret" in yaml_text and "github_token: ghp_…" in yaml_text
        raw = client.CoreV1Api(api_client(healthy)).read_namespaced_secret(secret.name, NS)
        for value in (raw.data or {}).values():
            assert value not in yaml_text and base64.b64decode(value).decode() not in yaml_text
        await pilot.press("escape")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.main_screen)


@pytest.mark.asyncio
@pytest.mark.parametrize("github", [True, False])
async def test_a_scale_set_description_has_its_credentials_line_masked(healthy, github):
    """Issue 5 in the monitor: the checks thread probes the scale set's GitHub credential (the sandbox's fake
    GHES) and the scale set's description shows what it found, the token masked to its prefix and last four."""
    raw = client.CoreV1Api(api_client(healthy)).read_namespaced_secret("arc-github-token", NS)
    token = base64.b64decode(raw.data["github_token"]).decode()
    conn = connect(healthy.kubeconfig_path, all_namespaces=True)
    app = ArcTopApp(lambda on_change: Monitor(conn, on_change), github=github)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.checks is not None and app.monitor.synced(), what="checks running")
        if github:
            await until(pilot, lambda: app.checks.probe_results, timeout=20, what="a probe")
        await app.push_screen(DescribeScreen(source_for(app), ObjectRef("AutoscalingRunnerSet", NS,
                                                                         "arc-runner-set"), ("test",)))
        await until(pilot, lambda: isinstance(app.screen, DescribeScreen) and app.screen.loaded)
        body = "\n".join(line.plain for line in app.screen.view.lines())
        line = next(li for li in body.splitlines() if "Credentials" in li)
        if github:
            assert f"ghp_…{token[-4:]}" in line and "classic PAT" in line and "✔" in line, line
        else:
            assert "not probed (--no-github)" in line
        assert token not in body and token[4:-4] not in body


@pytest.mark.asyncio
async def test_keys_answer_while_a_credential_probe_waits_on_an_unanswering_github(healthy):
    """Issue 5: probes run on the checks thread. A scale set whose GitHub accepts connections and never answers
    keeps a probe waiting (here with a 10 minute timeout, until the test lets the connection go); meanwhile the
    screen answers keys, and the probe then ends as ARC000 (not evaluated), never as a false error."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted, released, held = threading.Event(), threading.Event(), []

    def hold():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if released.is_set():
                conn.close()
                continue
            held.append(conn)
            accepted.set()

    def let_go():
        """The probe's handshake is cut and its retry refused: it ends (not evaluated) at once."""
        released.set()
        try:
            listener.shutdown(socket.SHUT_RDWR)     # wakes the accept() above (a close alone would not)
        except OSError:
            pass
        holder.join(10)
        listener.close()
        for c in held:
            c.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    custom = client.CustomObjectsApi(api_client(healthy))
    port = listener.getsockname()[1]
    custom.create_namespaced_custom_object("actions.github.com", "v1alpha1", NS, "autoscalingrunnersets", {
        "apiVersion": "actions.github.com/v1alpha1", "kind": "AutoscalingRunnerSet",
        "metadata": {"name": "silent-github", "namespace": NS},
        "spec": {"githubConfigUrl": f"https://127.0.0.1:{port}/arc-org", "githubConfigSecret": "arc-github-token",
                 "minRunners": 0, "maxRunners": 1,
                 "template": {"spec": {"containers": [{"name": "runner",
                                                        "image": "ghcr.io/actions/actions-runner"}]}}}})
    try:
        conn = connect(healthy.kubeconfig_path, all_namespaces=True)
        app = ArcTopApp(lambda on_change: Monitor(conn, on_change), github_timeout=600.0)
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, accepted.is_set, timeout=30, what="a probe connecting to the silent GitHub")
            # Pilot.press waits for the app to be idle, so this is no latency figure (bench/monitor.py has those):
            # the keys were answered while the probe was still waiting (no result yet, and none can come before
            # the connection is let go).
            for key, panel in (("2", "runners"), ("3", "volumes"), ("1", "scalesets")):
                await pilot.press(key)
                assert app.focused is app.main_screen.panel(panel).table
            assert not any("silent-github" in " ".join(r.scale_sets) for r in app.checks.probe_results)
            let_go()

            def silent_result():
                return next((r for r in app.checks.probe_results if "silent-github" in " ".join(r.scale_sets)), None)

            await until(pilot, lambda: silent_result() is not None, timeout=40, what="the probe's result")
            assert not silent_result().evaluated
            await until(pilot, lambda: any(f.code == "ARC000" and "GitHub" in f.title + " ".join(f.evidence)
                                           for f in app.main_screen.findings.findings
                                           if f.scale_set == f"{NS}/silent-github"), timeout=20, what="ARC000")
            findings = [f for f in app.main_screen.findings.findings if f.scale_set == f"{NS}/silent-github"]
            assert not any(f.code in ("ARC104", "ARC105", "ARC106", "ARC107") for f in findings)
    finally:
        custom.delete_namespaced_custom_object("actions.github.com", "v1alpha1", NS, "autoscalingrunnersets",
                                               "silent-github")
        let_go()

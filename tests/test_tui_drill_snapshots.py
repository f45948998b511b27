"""SVG snapshots of the log, describe and YAML screens, from the deterministic `incident` fixture and a fake
drill source (fixed objects, events and log lines; frozen clock). Update with
`pytest tests/test_tui_drill_snapshots.py --snapshot-update` and look at the result before committing it."""

from __future__ import annotations

import base64
import copy

from arc_top.kube.logstream import LogLines, LogStatus
from arc_top.kube.objects import ObjectRef, mask_object
from arc_top.tui.app import ArcTopApp
from arc_top.tui.trends import TrendSampler
from tests.test_tui_snapshots import loaded
from tests.tui_fixtures import MONO, NOW, incident_monitor, seed_trends
from tests.waiting import until

NS = "arc-runners"
RUNNER = "arc-runner-set-h8ff4-runner-668fh"
RUNNER_UID = f"er-{NS}-{RUNNER}"


def stamp(seconds_ago: float) -> str:
    import time
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(NOW - seconds_ago))
    return f"{whole}.{int(((NOW - seconds_ago) % 1) * 1e9):09d}Z"


RUNNER_LOG = [
    "",
    "√ Connected to GitHub",
    "",
    "Current runner version: '2.329.0'",
    "2025-10-09 08:51:02Z: Listening for Jobs",
    "2025-10-09 08:51:40Z: Running job: build (ubuntu)",
    "[RUNNER 2025-10-09 08:51:41Z INFO JobDispatcher] Job request 4211 received",
    "[RUNNER 2025-10-09 08:51:42Z ERR  Runner] System.UnauthorizedAccessException: Access to the path "
    "'/home/runner/_work/_tool' is denied.",
    " ---> System.IO.IOException: Permission denied",
    "\x1b[31m[bold]markup stays literal[/bold]\x1b[0m",
    "2025-10-09 08:51:44Z: Job build (ubuntu) completed with result: Failed",
]


def _meta(ns: str, name: str, uid: str, created_ago: float, **extra) -> dict:
    import time
    meta = {"name": name, "namespace": ns, "uid": uid,
            "creationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - created_ago))}
    meta.update(extra)
    return meta


def objects() -> dict[tuple[str, str, str], dict]:
    def t(ago: float) -> str:
        import time
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - ago))

    owner = {"apiVersion": "actions.github.com/v1alpha1", "kind": "EphemeralRunner", "name": RUNNER,
             "uid": RUNNER_UID, "controller": True}
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": _meta(NS, RUNNER, f"pod-{NS}-{RUNNER}", 1499, ownerReferences=[owner], labels={
            "app.kubernetes.io/component": "runner", "actions-ephemeral-runner": "True",
            "actions.github.com/scale-set-name": "arc-runner-set"}),
        "spec": {"nodeName": "worker-1", "serviceAccountName": "arc-runner-set-gha-rs-kube-mode",
                 "restartPolicy": "Never", "securityContext": {"fsGroup": 123},
                 "containers": [{"name": "runner", "image": "ghcr.io/actions/actions-runner:2.329.0",
                                 "command": ["/home/runner/run.sh"],
                                 "env": [{"name": "ACTIONS_RUNNER_CONTAINER_HOOKS",
                                          "value": "/home/runner/k8s/index.js"},
                                         {"name": "ACTIONS_RUNNER_POD_NAME", "valueFrom": {
                                             "fieldRef": {"fieldPath": "metadata.name"}}},
                                         {"name": "ACTIONS_RUNNER_INPUT_JITCONFIG", "valueFrom": {
                                             "secretKeyRef": {"name": RUNNER, "key": "jitToken"}}},
                                         {"name": "GITHUB_TOKEN", "value": "ghp_abcdefghijklmnopqrstuvwxyz0123456789"}],
                                 "volumeMounts": [{"name": "work", "mountPath": "/home/runner/_work"}]}],
                 "volumes": [{"name": "work", "ephemeral": {"volumeClaimTemplate": {"spec": {
                     "storageClassName": "gp3", "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}}}}]},
        "status": {"phase": "Running", "podIP": "10.244.1.7", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": t(1490)},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": t(1499)}],
            "containerStatuses": [{"name": "runner", "ready": True, "restartCount": 1,
                                   "state": {"running": {"startedAt": t(1400)}},
                                   "lastState": {"terminated": {"reason": "Error", "exitCode": 1,
                                                                "finishedAt": t(1401)}}}]},
    }
    runner = {
        "apiVersion": "actions.github.com/v1alpha1", "kind": "EphemeralRunner",
        "metadata": _meta(NS, RUNNER, RUNNER_UID, 1500, ownerReferences=[{
            "kind": "EphemeralRunnerSet", "name": "arc-runner-set-h8ff4", "uid": f"ers-{NS}-arc-runner-set",
            "controller": True}]),
        "spec": {"githubConfigUrl": "https://github.example.com/arc-org", "runnerScaleSetId": 1},
        "status": {"phase": "Running", "ready": True, "runnerId": 1042, "runnerName": RUNNER,
                   "jobRepositoryName": "arc-org/app-repo", "jobWorkflowRef": "arc-org/app-repo/.github/workflows/"
                   "ci.yaml@refs/heads/main", "workflowRunId": 99120, "jobDisplayName": "build (ubuntu)",
                   "failures": {"5f0c2a9e-1111": t(1450), "7b3d4c1f-2222": t(1420)}},
    }
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": _meta(NS, "arc-github-token", "secret-1", 86400 * 3, managedFields=[
                  {"manager": "helm", "operation": "Update", "apiVersion": "v1", "time": t(86400 * 3)}]),
              "data": {"github_token": base64.b64encode(b"ghp_abcdefghijklmnopqrstuvwxyz0123456789").decode()}}
    return {("Pod", NS, RUNNER): pod, ("EphemeralRunner", NS, RUNNER): runner,
            ("Secret", NS, "arc-github-token"): secret}


def events() -> list[dict]:
    def t(ago: float) -> str:
        import time
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - ago))
    return [
        {"type": "Normal", "reason": "Scheduled", "message": f"Successfully assigned {NS}/{RUNNER} to worker-1",
         "lastTimestamp": t(1499), "count": 1},
        {"type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container runner",
         "lastTimestamp": t(1402), "count": 2},
        {"type": "Normal", "reason": "Started", "message": "Started container runner", "lastTimestamp": t(1400),
         "count": 2},
    ]


class FakeFollower:
    def __init__(self, request, on_event) -> None:
        self.request, self.on_event = request, on_event

    def start(self) -> None:
        self.on_event(LogStatus("connecting", "connecting…"))
        self.on_event(LogStatus("streaming", ""))
        lines = [(stamp(60 - i), text) for i, text in enumerate(RUNNER_LOG)]
        self.on_event(LogLines(lines))

    def stop(self) -> None:
        pass


class FakeSource:
    def __init__(self) -> None:
        self.objects = objects()

    def fetch(self, ref: ObjectRef) -> dict:
        obj = self.objects.get((ref.kind, ref.namespace, ref.name))
        if obj is None:
            raise LookupError(f'{ref.kind.lower()}s "{ref.name}" not found')
        return mask_object(copy.deepcopy(obj))

    def events(self, ref: ObjectRef, uid: str) -> list[dict]:
        return events() if ref.kind == "Pod" else []

    def follow(self, request, on_event) -> FakeFollower:
        return FakeFollower(request, on_event)


def drill_app() -> ArcTopApp:
    monitor = incident_monitor()
    monitor.drill_source = FakeSource()          # tui.screens.drill.source_for reads it
    sampler = TrendSampler()
    seed_trends(sampler, monitor)
    app = ArcTopApp(monitor.factory, clock=lambda: NOW, monotonic=lambda: MONO, sampler=sampler,
                    flush_interval=0.05, sample_interval=3600, header_interval=3600, theme="textual-dark")
    app.animation_level = "none"
    return app


async def runner_row(pilot) -> None:
    await loaded(pilot)
    await pilot.press("2")
    pilot.app.main_screen.panel("runners").table.select_key(RUNNER_UID)
    await pilot.pause()


def test_log_80x24(snap_compare):
    async def run(pilot) -> None:
        await runner_row(pilot)
        await pilot.press("l")
        await until(pilot, lambda: getattr(pilot.app.screen, "VIEW", "") == "log"
                    and pilot.app.screen.view.line_count == len(RUNNER_LOG))
        await pilot.pause()                  # and one more frame: settled

    assert snap_compare(drill_app(), terminal_size=(80, 24), run_before=run)


def test_log_search_paused_200x60(snap_compare):
    async def run(pilot) -> None:
        await runner_row(pilot)
        await pilot.press("l")
        await until(pilot, lambda: getattr(pilot.app.screen, "VIEW", "") == "log"
                    and pilot.app.screen.view.line_count == len(RUNNER_LOG))
        await pilot.pause()                  # and one more frame: settled
        await pilot.press("t", "slash", *"job", "enter")
        await pilot.pause()

    assert snap_compare(drill_app(), terminal_size=(200, 60), run_before=run)


def test_describe_80x24(snap_compare):
    async def run(pilot) -> None:
        await runner_row(pilot)
        await pilot.press("d")
        await until(pilot, lambda: getattr(pilot.app.screen, "loaded", False))
        await pilot.pause()                  # and one more frame: settled

    assert snap_compare(drill_app(), terminal_size=(80, 24), run_before=run)


def test_describe_pod_200x60(snap_compare):
    async def run(pilot) -> None:
        await runner_row(pilot)
        await pilot.press("l")
        await until(pilot, lambda: getattr(pilot.app.screen, "VIEW", "") == "log")
        await pilot.pause()                  # and one more frame: settled
        await pilot.press("d")
        await until(pilot, lambda: getattr(pilot.app.screen, "VIEW", "") == "describe" and pilot.app.screen.loaded)
        await pilot.pause()                  # and one more frame: settled

    assert snap_compare(drill_app(), terminal_size=(200, 60), run_before=run)


def test_yaml_secret_80x24(snap_compare):
    async def run(pilot) -> None:
        from arc_top.tui.screens.yaml_view import YamlScreen

        await loaded(pilot)
        app = pilot.app
        await app.push_screen(YamlScreen(app.monitor.drill_source, ObjectRef("Secret", NS, "arc-github-token"),
                                         ("Scale sets",)))
        await until(pilot, lambda: getattr(app.screen, "loaded", False))
        await pilot.pause()                  # and one more frame: settled

    assert snap_compare(drill_app(), terminal_size=(80, 24), run_before=run)


"""Every fix of the catalogue rehearsed end to end in the sandbox, through the real path: the monitor's checks
find it, the Fixer plans it from the live object, dry-runs it on the server (nothing changes), applies it, the
simulated ARC controller heals the way a real cluster would, and the finding clears. Undo restores exactly the
fields the fix changed, and the finding comes back with its cause."""

from __future__ import annotations

import base64
import json

import pytest
from kubernetes import client

from arc_top.fixes.session import Refused, Stale
from arc_top.sandbox.run import start_sandbox
from tests.conftest import Kubectl, api_client
from tests.fix_fixtures import Diagnosis
from tests.waiting import wait_for

GROUP, VERSION = "actions.github.com", "v1alpha1"


@pytest.fixture()
def rehearsal(tmp_path):
    started = []

    def start(scenario: str, speed: float = 4.0, user: str = "admin"):
        sb = start_sandbox(scenario, kubeconfig_path=str(tmp_path / f"{scenario}.kubeconfig"), speed=speed)
        diag = Diagnosis(sb, user)
        started.append((sb, diag))
        return sb, diag
    yield start
    for sb, diag in started:
        diag.stop()
        sb.stop()


def custom(sb):
    return client.CustomObjectsApi(api_client(sb))


def core(sb):
    return client.CoreV1Api(api_client(sb))


def read_ars(sb, ns: str, name: str) -> dict:
    return custom(sb).get_namespaced_custom_object(GROUP, VERSION, ns, "autoscalingrunnersets", name)


def healthy_new_runner(sb, ns: str, scale_set: str, since: float) -> str:
    """The name of a runner pod of `scale_set` created after `since` whose runner logs `Listening for Jobs`
    without a permission error ("" while there is none: pods come and go, so this is polled)."""
    api = core(sb)
    pods = api.list_namespaced_pod(ns, label_selector=f"actions.github.com/scale-set-name={scale_set},"
                                                      "app.kubernetes.io/component=runner").items
    for pod in pods:
        if pod.metadata.creation_timestamp.timestamp() < since - 1 or pod.metadata.name.endswith("-workflow"):
            continue
        try:
            log = api.read_namespaced_pod_log(pod.metadata.name, ns, container="runner")
        except client.ApiException:
            continue
        if "Listening for Jobs" in log and "is denied" not in log:
            return pod.metadata.name
    return ""


def test_arc501_fs_group_dry_run_apply_heal_clear_undo_and_the_finding_returns(rehearsal, tmp_path):
    sb, diag = rehearsal("kube-permissions", speed=3.0)
    f = diag.find("ARC501", "arc-runners/arc-runner-set")
    fixer = diag.fixer(tmp_path)
    plan = fixer.plan(f, diag.latest()[0])
    before = read_ars(sb, "arc-runners", "arc-runner-set")
    preview = fixer.preview(plan, None)
    assert preview.variant.name == "fs-group" and preview.dry_run_verdict == "dry-run: accepted"
    assert any(line.strip() == "+        fsGroup: 123" for line in preview.diff_lines())
    after_dry_run = read_ars(sb, "arc-runners", "arc-runner-set")
    assert after_dry_run["metadata"]["generation"] == before["metadata"]["generation"]
    assert after_dry_run["spec"] == before["spec"]                       # the dry-run wrote nothing
    assert "securityContext" not in after_dry_run["spec"]["template"]["spec"]

    applied = fixer.apply(preview)
    assert applied.outcome == "applied", applied.message()
    assert read_ars(sb, "arc-runners", "arc-runner-set")["spec"]["template"]["spec"]["securityContext"] == {
        "fsGroup": 123}
    wait_for(lambda: healthy_new_runner(sb, "arc-runners", "arc-runner-set", applied.at), 90, 0.5,
             "a new runner listening for jobs")
    diag.cleared(f, applied.at)

    undo = fixer.undo_preview(applied)
    assert undo.dry_run_verdict == "dry-run: accepted"
    fixer.apply(undo)
    restored = read_ars(sb, "arc-runners", "arc-runner-set")
    assert restored["spec"] == before["spec"]                            # exactly the changed fields restored
    diag.find("ARC501", "arc-runners/arc-runner-set")                    # the cause is back, and so is the finding
    records = fixer.audit.records()
    assert [r["code"] for r in records] == ["ARC501"] and records[0]["undone"]


def test_arc508_chown_init_container_heals_a_volume_that_ignores_fs_group(rehearsal, tmp_path):
    sb, diag = rehearsal("kube-permissions", speed=3.0)
    f = diag.find("ARC508", "arc-runners/arc-local-path")
    fixer = diag.fixer(tmp_path)
    preview = fixer.preview(fixer.plan(f, diag.latest()[0]), None)
    assert preview.variant.name == "chown-init" and preview.can_apply, preview.dry_run_verdict
    applied = fixer.apply(preview)
    init = read_ars(sb, "arc-runners", "arc-local-path")["spec"]["template"]["spec"]["initContainers"][-1]
    assert init["volumeMounts"] == [{"name": "work", "mountPath": "/home/runner/_work"}]
    wait_for(lambda: healthy_new_runner(sb, "arc-runners", "arc-local-path", applied.at), 90, 0.5,
             "a new arc-local-path runner listening for jobs")
    diag.cleared(f, applied.at)


def test_arc507_the_broken_chown_init_container_is_repaired(rehearsal, tmp_path):
    sb, diag = rehearsal("kube-permissions", speed=3.0)
    ars = read_ars(sb, "arc-runners", "arc-local-path")
    image = ars["spec"]["template"]["spec"]["containers"][0]["image"]
    broken = {"name": "init-work", "image": image, "command": ["sudo", "chown", "-R", "1001:123",
                                                                  "/home/runner/_work"]}    # GitHub's doc, mis-indented
    patch = [{"op": "add", "path": "/spec/template/spec/initContainers", "value": [broken]}]
    Kubectl(sb, str(tmp_path / "cache"))("patch", "autoscalingrunnerset", "arc-local-path", "-n", "arc-runners",
                                         "--type", "json", "-p", json.dumps(patch))
    f = diag.find("ARC507", "arc-runners/arc-local-path")
    fixer = diag.fixer(tmp_path)
    applied = fixer.apply(fixer.preview(fixer.plan(f, diag.latest()[0]), None))
    repaired = read_ars(sb, "arc-runners", "arc-local-path")["spec"]["template"]["spec"]["initContainers"][0]
    assert repaired["name"] == "init-work"
    assert {"name": "work", "mountPath": "/home/runner/_work"} in repaired["volumeMounts"]
    wait_for(lambda: healthy_new_runner(sb, "arc-runners", "arc-local-path", applied.at), 90, 0.5,
             "a new arc-local-path runner listening for jobs")
    diag.cleared(f, applied.at)


def test_a_concurrent_change_between_preview_and_apply_writes_nothing_and_shows_the_new_diff(rehearsal, tmp_path):
    sb, diag = rehearsal("kube-permissions", speed=3.0)
    f = diag.find("ARC501", "arc-runners/arc-runner-set")
    fixer = diag.fixer(tmp_path)
    preview = fixer.preview(fixer.plan(f, diag.latest()[0]), None)
    kubectl = Kubectl(sb, str(tmp_path / "cache"))
    kubectl("patch", "autoscalingrunnerset", "arc-runner-set", "-n", "arc-runners", "--type", "merge",
            "-p", '{"spec":{"template":{"spec":{"securityContext":{"runAsUser":1001}}}}}')
    changed = read_ars(sb, "arc-runners", "arc-runner-set")
    with pytest.raises(Stale) as stale:
        fixer.apply(preview)
    assert read_ars(sb, "arc-runners", "arc-runner-set")["spec"] == changed["spec"]       # nothing written
    new_diff = stale.value.preview.diff_lines()
    assert new_diff != preview.diff_lines()
    assert any("fsGroup" in line for line in new_diff) and any("runAsUser: 1001" in line for line in new_diff)
    assert fixer.audit.records() == []


def test_a_status_only_change_between_preview_and_apply_still_applies_the_reviewed_change(rehearsal, tmp_path):
    sb, diag = rehearsal("kube-permissions", speed=3.0)
    f = diag.find("ARC501", "arc-runners/arc-runner-set")
    fixer = diag.fixer(tmp_path)
    preview = fixer.preview(fixer.plan(f, diag.latest()[0]), None)
    old_rv = read_ars(sb, "arc-runners", "arc-runner-set")["metadata"]["resourceVersion"]
    sb.cluster.mutate("autoscalingrunnersets", "arc-runners", "arc-runner-set",
                      lambda o: o.setdefault("status", {}).__setitem__("currentRunners", 99))
    assert read_ars(sb, "arc-runners", "arc-runner-set")["metadata"]["resourceVersion"] != old_rv
    applied = fixer.apply(preview)
    assert applied.outcome == "applied"
    assert read_ars(sb, "arc-runners", "arc-runner-set")["spec"]["template"]["spec"]["securityContext"] == {
        "fsGroup": 123}


def test_undo_is_refused_when_the_fixed_field_changed_since(rehearsal, tmp_path):
    sb, diag = rehearsal("kube-permissions", speed=3.0)
    f = diag.find("ARC501", "arc-runners/arc-runner-set")
    fixer = diag.fixer(tmp_path)
    applied = fixer.apply(fixer.preview(fixer.plan(f, diag.latest()[0]), None))
    Kubectl(sb, str(tmp_path / "cache"))("patch", "autoscalingrunnerset", "arc-runner-set", "-n", "arc-runners",
                                         "--type", "merge",
                                         "-p", '{"spec":{"template":{"spec":{"securityContext":{"fsGroup":1001}}}}}')
    with pytest.raises(Refused, match="changed since"):
        fixer.undo_preview(applied)
    with pytest.raises(Refused, match="changed since"):
        fixer.undo_preview(fixer.audit.find(None))
    assert read_ars(sb, "arc-runners", "arc-runner-set")["spec"]["template"]["spec"]["securityContext"] == {
        "fsGroup": 1001}


def _listener_pods(sb, scale_set: str) -> list:
    return [p for p in core(sb).list_pod_for_all_namespaces(
        label_selector=f"app.kubernetes.io/component=runner-scale-set-listener,"
                       f"actions.github.com/scale-set-name={scale_set}").items if not p.metadata.deletion_timestamp]


def test_arc103_trimmed_token_and_listener_restart_heal_the_scale_set(rehearsal, tmp_path):
    sb, diag = rehearsal("bad-credentials")
    f = diag.find("ARC103")
    ns, set_name = f.scale_set.split("/")
    fixer = diag.fixer(tmp_path)
    preview = fixer.preview(fixer.plan(f, diag.latest()[0]), None)
    assert preview.can_apply, preview.dry_run_verdict
    assert [s.op.verb for s in preview.steps] == ["patch", *["delete"] * (len(preview.steps) - 1)]
    old_listeners = {p.metadata.uid for p in _listener_pods(sb, set_name)}
    applied = fixer.apply(preview)
    assert applied.outcome == "applied", applied.message()
    secret = core(sb).read_namespaced_secret(f.subject.name, f.subject.namespace)
    token = base64.b64decode(secret.data["github_token"]).decode()
    assert token == token.strip()
    wait_for(lambda: any(p.metadata.uid not in old_listeners and p.status.phase == "Running"
                         for p in _listener_pods(sb, set_name)), 120, 0.3, "a new running listener")
    diag.cleared(f, applied.at)
    assert fixer.audit.records()[0]["undo_available"] is False        # the old value was never recorded


def test_arc403_listener_restart_makes_a_new_listener_pod(rehearsal, tmp_path):
    sb, diag = rehearsal("bad-credentials")

    def failing_listener_with_its_cause():     # the listener's ARC403 comes and goes as its pod is recreated
        findings = diag.latest()[0]
        causes = {x.scale_set for x in findings if x.code == "ARC104"}
        hit = next((x for x in findings if x.code == "ARC403" and x.scale_set in causes), None)
        return (hit, findings) if hit else None
    f, findings = wait_for(failing_listener_with_its_cause, 90, 0.2, "ARC403 and ARC104 of one scale set")
    set_name = f.scale_set.split("/")[1]
    fixer = diag.fixer(tmp_path)
    preview = fixer.preview(fixer.plan(f, findings), "restart-listener")
    assert preview.can_apply and preview.variant.warning       # the expired token (ARC104) is still there
    old = {p.metadata.uid for p in _listener_pods(sb, set_name)}
    applied = fixer.apply(preview)
    assert applied.outcome == "applied"
    wait_for(lambda: any(p.metadata.uid not in old for p in _listener_pods(sb, set_name)), 60, 0.3,
             "a new listener pod")


def test_arc506_label_then_arc407_delete_failed_runners_admits_new_runners(rehearsal, tmp_path):
    sb, diag = rehearsal("failed-runners")
    f506 = diag.find("ARC506")
    ns, set_name = f506.scale_set.split("/")
    fixer = diag.fixer(tmp_path)
    f407 = diag.find("ARC407", f506.scale_set)
    blocked = fixer.preview(fixer.plan(f407, diag.latest()[0]), None)
    assert "ARC506" in blocked.variant.warning              # the cause is still present: Apply is not the default

    preview = fixer.preview(fixer.plan(f506, diag.latest()[0]), "label")
    assert any("loosens a security boundary" in r for r in preview.variant.risks)
    applied = fixer.apply(preview)
    assert core(sb).read_namespace(ns).metadata.labels["pod-security.kubernetes.io/enforce"] == "privileged"
    diag.cleared(f506, applied.at)

    f407 = diag.find("ARC407", f506.scale_set)
    preview = fixer.preview(fixer.plan(f407, diag.latest()[0]), "delete-failed")
    assert preview.variant.warning == "" and preview.can_apply, (preview.variant.warning, preview.dry_run_verdict)
    deleted = fixer.apply(preview)
    assert deleted.outcome == "applied"

    def running_runner() -> bool:
        pods = core(sb).list_namespaced_pod(ns, label_selector=f"actions.github.com/scale-set-name={set_name},"
                                                               "app.kubernetes.io/component=runner").items
        return any(p.status.phase == "Running" and p.metadata.creation_timestamp.timestamp() >= deleted.at - 1
                   for p in pods)
    wait_for(running_runner, 90, 0.5, "a newly admitted runner pod running")
    diag.cleared(f407, deleted.at)


def test_read_only_sends_no_mutating_request_while_every_fix_is_previewed(rehearsal, tmp_path):
    sb, diag = rehearsal("incident")
    diag.find("ARC501")
    from arc_top.checks import remedies

    fixer = diag.fixer(tmp_path, read_only=True)
    mark = sb.mark()
    previewed = set()
    for f in diag.latest()[0]:
        if not remedies.fixable(f) or f.code in previewed:
            continue
        try:
            plan = fixer.plan(f, diag.latest()[0])
        except Exception:   # the object went away with the churn: that finding's fix is not previewable now
            continue
        for variant in plan.variants:
            preview = fixer.preview(plan, variant.name)
            assert preview.dry_run_verdict == "dry-run: not sent (read-only)" and not preview.can_apply
            assert preview.variant.kubectl
        previewed.add(f.code)
    assert {"ARC501", "ARC407", "ARC506"} <= previewed, previewed
    with pytest.raises(Refused, match="read-only"):
        fixer.apply(preview)
    assert sb.mutating_since(mark) == []


def test_the_viewer_account_may_not_apply_and_sends_no_write(rehearsal, tmp_path):
    sb, diag = rehearsal("kube-permissions", user="viewer")
    f = diag.find("ARC501", "arc-runners/arc-runner-set")
    fixer = diag.fixer(tmp_path)
    mark = sb.mark()
    preview = fixer.preview(fixer.plan(f, diag.latest()[0]), None)
    assert preview.denied == "your account cannot patch autoscalingrunnersets.actions.github.com in arc-runners"
    assert not preview.can_apply
    with pytest.raises(Refused, match="cannot patch"):
        fixer.apply(preview)
    sent = sb.mutating_since(mark)
    assert sent and all("selfsubjectaccessreviews" in r.path for r in sent), sent

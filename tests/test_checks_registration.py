"""ARC409: a scale set ARC has not registered with GitHub (no valid runner-scale-set-id) minutes after it was created
or its spec last changed, dated and with its likely causes; silent while young, once registered, and without a
controller."""

from __future__ import annotations

import json

from arc_top.kube import model
from tests.checks_fixtures import arc_info, event, fleet, of, replace, tail, ts, without

CONTROLLER = "arc-gha-rs-controller-6d4f9-x2x7p"


def _unregistered(raws: list[dict], *, age: float = 900, annotation: str | None = None, name: str = "arc-runner-set"):
    """The scale set as `helm install` leaves it before the controller registers it: no id, no listener."""
    def change(ars):
        notes = ars["metadata"]["annotations"]
        notes.pop("runner-scale-set-id")
        if annotation is not None:
            notes["runner-scale-set-id"] = annotation
        ars["metadata"]["creationTimestamp"] = ts(age)
    out = replace(raws, "AutoscalingRunnerSet", name, change)
    out = [o for o in out if o["kind"] not in ("AutoscalingListener", "EphemeralRunnerSet", "EphemeralRunner")
           and not (o["kind"] in ("Pod", "PersistentVolumeClaim") and o["metadata"]["name"].startswith(f"{name}-"))]
    return out


def _line(seconds_ago: float, level: str, logger: str, message: str, name: str = "arc-runner-set", **fields) -> str:
    body = json.dumps({"autoscalingrunnerset": {"name": name, "namespace": "arc-runners"}, **fields},
                      separators=(", ", ": "))
    return f"{ts(seconds_ago)}\t{level}\t{logger}\t{message}\t{body}"


def _controller_log(*lines: str):
    return [tail(CONTROLLER, lines, ns="arc-systems", container="manager")]


def test_a_registered_scale_set_is_silent():
    assert not of(fleet(), "ARC409")


def test_an_unregistered_scale_set_is_reported_with_the_evidence_that_dates_it():
    raws = _unregistered(fleet()) + [event("AutoscalingRunnerSet", "arc-runners", "arc-runner-set", "FailedCreate",
                                           "runner scale set could not be created")]
    [f] = of(raws, "ARC409")
    assert f.severity == "error" and f.subject.kind == "AutoscalingRunnerSet"
    assert f.scale_set == "arc-runners/arc-runner-set"
    assert f.evidence[0] == f"no runner-scale-set-id annotation 15m after creation (created {ts(900)})"
    assert any(e.startswith("event FailedCreate") for e in f.evidence)
    assert any("controller's log was not read" in e for e in f.evidence)
    [listener] = of(raws, "ARC403")
    assert listener.evidence[-1].startswith("the scale set is not registered with GitHub (ARC409)")


def test_a_young_scale_set_or_one_whose_spec_just_changed_has_time_to_register():
    assert not of(_unregistered(fleet(), age=60), "ARC409")

    def changed(seconds_ago):
        def fn(ars):
            ars["metadata"]["managedFields"] = [
                {"manager": "helm", "operation": "Update", "time": ts(seconds_ago), "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:minRunners": {}}}},
                {"manager": "manager", "operation": "Update", "subresource": "status", "time": ts(1),
                 "fieldsV1": {"f:status": {}}}]
        return fn
    assert not of(replace(_unregistered(fleet()), "AutoscalingRunnerSet", "arc-runner-set", changed(60)), "ARC409")
    [f] = of(replace(_unregistered(fleet()), "AutoscalingRunnerSet", "arc-runner-set", changed(600)), "ARC409")
    assert f"spec last changed {ts(600)} (10m ago)" in f.evidence


def test_a_set_arc_already_made_a_runner_set_for_was_registered():
    """ARC makes the EphemeralRunnerSet right after registering: an annotation missing beside one (removed to
    re-register, or an object saved without its annotations) is no finding. Runner sets that cannot be read are
    said to be unread."""
    def strip(ars):
        ars["metadata"]["annotations"] = {}
    assert not of(replace(fleet(), "AutoscalingRunnerSet", "arc-runner-set", strip), "ARC409")
    [f] = of(_unregistered(fleet()), "ARC409", states={model.RUNNER_SETS: "forbidden"})
    assert "EphemeralRunnerSets not seen (need read access to ephemeral runner sets in arc-runners)" in f.evidence[1]


def test_an_id_that_is_not_a_positive_number_is_not_a_registration():
    for bad in ("0", "-3", "abc", ""):
        [f] = of(_unregistered(fleet(), annotation=bad), "ARC409")
        assert f.evidence[0].startswith(f'runner-scale-set-id "{bad}" is not an id')


def test_without_a_controller_nobody_registers_so_arc406_says_it():
    raws = _unregistered(fleet(controller=False))
    arc = arc_info(controllers=False)
    assert not of(raws, "ARC409", arc=arc) and of(raws, "ARC406", arc=arc)


def test_the_controller_log_and_the_credential_findings_name_the_cause():
    error = ('failed to get runner registration token on refresh: Post "https://ghes.example.com/api/v3/orgs/acme/'
             'actions/runners/registration-token": tls: failed to verify certificate: x509: certificate signed by '
             'unknown authority')
    logs = _controller_log(
        _line(120, "INFO", "AutoscalingRunnerSet", "Runner scale set id annotation does not exist. Creating a new "
              "runner scale set."),
        _line(119, "ERROR", "AutoscalingRunnerSet", "Failed to get runner scale set from Actions service",
              error=error),
        f'{ts(119)}\tERROR\tReconciler error\t{{"controller": "autoscalingrunnerset", "controllerKind": '
        f'"AutoscalingRunnerSet", "AutoscalingRunnerSet": {{"name":"arc-runner-set","namespace":"arc-runners"}}, '
        f'"namespace": "arc-runners", "name": "arc-runner-set", "reconcileID": "3d20ad60", '
        f'"error": {json.dumps(error)}}}')
    raws = _unregistered(fleet(url="https://ghes.example.com/acme"))
    [f] = of(raws, "ARC409", logs)
    assert any("no spec.githubServerTLS" in e and "x509" in e for e in f.evidence)
    quoted = [e for e in f.evidence if e.startswith("controller log")]
    assert len(quoted) == 1 and quoted[0].endswith("x509: certificate signed by unknown authority")
    assert "Failed to get runner scale set from Actions service" in quoted[0]
    assert not of(raws, "ARC410", logs)            # explained by ARC409: not a catch-all

    missing = without(raws, "Secret", "arc-github-app")
    [f] = of(missing, "ARC409", logs)
    assert any(e.startswith("likely cause: ARC101") for e in f.evidence)


def test_an_old_failure_followed_by_a_registration_is_history():
    logs = _controller_log(
        _line(300, "ERROR", "AutoscalingRunnerSet", "Failed to get runner scale set from Actions service",
              error="401 Bad credentials"),
        _line(200, "INFO", "AutoscalingRunnerSet", "Created/Reused a runner scale set", id=7))
    # still unregistered in the snapshot (a stale object), but the log shows nothing standing against it
    [f] = of(_unregistered(fleet()), "ARC409", logs)
    assert not any("Bad credentials" in e for e in f.evidence)
    assert any(e.startswith("last controller log") and "Created/Reused" in e for e in f.evidence)


def test_the_proxy_is_named_without_its_credentials():
    def proxied(ars):
        ars["spec"]["proxy"] = {"https": {"url": "http://user:s3cret@proxy.corp:3128"}}
    [f] = of(replace(_unregistered(fleet()), "AutoscalingRunnerSet", "arc-runner-set", proxied), "ARC409")
    line = next(e for e in f.evidence if "spec.proxy" in e)
    assert "proxy.corp:3128" in line and "s3cret" not in line and "user" not in line



def test_a_scale_set_without_a_creation_time_is_dated_by_its_last_spec_change():
    def junk(ars):
        del ars["metadata"]["creationTimestamp"]
        ars["metadata"]["managedFields"] = [{"manager": "kubectl", "operation": "Update", "time": ts(600),
                                             "fieldsV1": {"f:spec": {}}}, "junk", {"time": None}]
    [f] = of(replace(_unregistered(fleet()), "AutoscalingRunnerSet", "arc-runner-set", junk), "ARC409")
    assert f.evidence[:2] == ("no runner-scale-set-id annotation (creation time unknown)",
                              f"spec last changed {ts(600)} (10m ago)")

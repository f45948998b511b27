"""The controller's log: its lines parsed in both formats, its errors attributed to scale sets, quoted as evidence on
the finding they explain (ARC407, ARC403, ARC605, ARC406), and under ARC410 when nothing else explains them."""

from __future__ import annotations

import json

from arc_top import checks
from arc_top.checks import controllerlog
from tests.checks_fixtures import (
    NOW,
    TOKEN,
    arc_info,
    controller_pod,
    fleet,
    of,
    replace,
    run,
    runner,
    snapshot,
    tail,
    ts,
    without,
)

CONTROLLER = "arc-gha-rs-controller-6d4f9-x2x7p"


def _log(*lines: str):
    return [tail(CONTROLLER, lines, ns="arc-systems", container="manager")]


def _line(seconds_ago: float, logger: str, message: str, key: str, name: str, ns: str = "arc-runners",
          level: str = "ERROR", **fields) -> str:
    body = json.dumps({key: {"name": name, "namespace": ns}, **fields}, separators=(", ", ": "))
    return f"{ts(seconds_ago)}\t{level}\t{logger}\t{message}\t{body}"


def _reconciler_error(seconds_ago: float, kind: str, name: str, error: str, ns: str = "arc-runners") -> str:
    return (f'{ts(seconds_ago)}\tERROR\tReconciler error\t{{"controller": "{kind.lower()}", "controllerGroup": '
            f'"actions.github.com", "controllerKind": "{kind}", "{kind}": {{"name":"{name}","namespace":"{ns}"}}, '
            f'"namespace": "{ns}", "name": "{name}", "reconcileID": "3d20ad60-4956", "error": {json.dumps(error)}}}')


# ---- parsing ----------------------------------------------------------------------------------------------------
def test_text_json_and_reconciler_error_lines_are_parsed():
    line = controllerlog.parse(_line(5, "EphemeralRunner", "Failed to create a pod for the ephemeral runner",
                                     "ephemeralrunner", "r-1", error="boom"))
    assert (line.level, line.logger, line.kind, line.namespace, line.name, line.error) == (
        "ERROR", "EphemeralRunner", "EphemeralRunner", "arc-runners", "r-1", "boom")
    assert line.when == NOW - 5
    rec = controllerlog.parse(_reconciler_error(3, "AutoscalingRunnerSet", "set-a", "x509: bad"))
    assert (rec.logger, rec.message, rec.kind, rec.name, rec.error) == (
        "", "Reconciler error", "AutoscalingRunnerSet", "set-a", "x509: bad")
    js = controllerlog.parse(json.dumps({"level": "error", "ts": NOW - 2, "logger": "AutoscalingListener",
                                         "msg": "Unable to create listener pod", "error": "denied",
                                         "autoscalinglistener": {"name": "l", "namespace": "arc-systems"}}))
    assert (js.level, js.kind, js.name, js.when, js.error) == ("ERROR", "AutoscalingListener", "l", NOW - 2, "denied")


def test_junk_lines_are_not_controller_lines():
    for junk in (None, "", "plain words", "\x1b[31mERROR\x1b[0m", "{not json", '{"level": 3}', "a\tb",
                 "2026-01-01T00:00:00Z\tNOTALEVEL\tx\ty", 17, "[red]x[/red]\tERROR"):
        assert controllerlog.parse(junk) is None, junk
    # a line that parses but has broken fields keeps what it can
    line = controllerlog.parse("2026-01-01T00:00:00Z\tERROR\tX\tmessage\t{broken")
    assert line is not None and line.kind == "" and line.error == ""


# ---- the catch-all ----------------------------------------------------------------------------------------------
def test_an_error_nothing_else_explains_is_arc410_quoting_the_line_sanitised():
    error = f'update failed: token {TOKEN} \x1b[31mrejected\x1b[0m [red]now[/red]'
    logs = _log(_line(30, "AutoscalingRunnerSet", "Failed to update autoscaling runner set with finalizer added",
                      "autoscalingrunnerset", "arc-runner-set", error=error))
    [f] = of(fleet(), "ARC410", logs)
    assert f.severity == "error" and f.subject.kind == "AutoscalingRunnerSet"
    assert f.scale_set == "arc-runners/arc-runner-set"
    [quoted] = f.evidence
    assert quoted.startswith(f"controller log {ts(30)[11:]}: ERROR AutoscalingRunnerSet arc-runners/arc-runner-set: "
                             "Failed to update autoscaling runner set with finalizer added: update failed")
    assert "\x1b" not in quoted and TOKEN not in quoted and TOKEN[-4:] in quoted and "[red]now[/red]" in quoted
    assert f.related and f.related[0].name == CONTROLLER


def test_old_lines_and_lines_of_no_object_are_handled():
    old = _log(_line(controllerlog.WINDOW + 60, "AutoscalingRunnerSet", "Failed to update", "autoscalingrunnerset",
                     "arc-runner-set", error="conflict"))
    assert not of(fleet(), "ARC410", old)
    anon = _log(f"{ts(10)}\tERROR\tsetup\tproblem running manager\t{{\"error\": \"leader election lost\"}}")
    [f] = of(fleet(), "ARC410", anon)
    assert f.subject.kind == "Pod" and f.subject.name == CONTROLLER and f.scale_set == ""
    assert "leader election lost" in f.evidence[0]


def test_a_runner_set_and_a_gone_listener_are_attributed_by_name():
    lines = (_line(20, "EphemeralRunnerSet", "failed to create ephemeral runner", "ephemeralrunnerset",
                   "arc-runner-set-h8ff4", error="etcdserver: request timed out"),
             _line(10, "AutoscalingListener", "Failed to delete", "autoscalinglistener",
                   "arc-runner-set-9a9a9a9a-listener", ns="arc-systems", error="conflict"))
    found = of(fleet(), "ARC410", _log(*lines))
    assert {f.scale_set for f in found} == {"arc-runners/arc-runner-set"}
    assert sum(len(f.evidence) for f in found) == 2


# ---- evidence on the finding it explains ------------------------------------------------------------------------
def test_a_runner_pod_refused_at_admission_is_evidence_on_arc407():
    message = ('pods "arc-runner-set-h8ff4-runner-bad" is forbidden: violates PodSecurity "baseline:latest": '
               'privileged (container "dind" must not set securityContext.privileged=true)')
    tmpl = {"spec": {"containers": [{"name": "runner", "image": "r"}]}}
    raws = fleet() + runner("arc-runner-set", "arc-runners", "arc-runner-set-h8ff4-runner-bad", tmpl,
                            "arc-runner-set-h8ff4", phase="Failed", pod_phase=None, reason="InvalidPod",
                            message=f"Failed to create the pod: {message}")
    logs = _log(_line(15, "EphemeralRunner", "Failed to create a pod for the ephemeral runner", "ephemeralrunner",
                      "arc-runner-set-h8ff4-runner-bad", error=message))
    [f] = of(raws, "ARC407", logs)
    assert sum("violates PodSecurity" in e for e in f.evidence) == 1     # the runner's message says it already
    assert not of(raws, "ARC410", logs)
    # a refused runner whose message was lost (an older ARC): the controller's line is the evidence
    lost = replace(raws, "EphemeralRunner", "arc-runner-set-h8ff4-runner-bad",
                   lambda er: er["status"].__setitem__("message", ""))
    [f] = of(lost, "ARC407", logs)
    assert any(e.startswith("controller log") and e.endswith("must not set securityContext.privileged=true)")
               for e in f.evidence)


def test_a_listener_pod_refused_is_evidence_on_arc403():
    raws = without(fleet(), "Pod", "arc-runner-set-754b578d-listener")
    raws = replace(raws, "AutoscalingListener", "arc-runner-set-754b578d-listener", lambda o: None)
    logs = _log(_line(15, "AutoscalingListener", "Unable to create listener pod", "autoscalinglistener",
                      "arc-runner-set-754b578d-listener", ns="arc-systems",
                      error='admission webhook "policy.example.com" denied the request: no hostPath'))
    [f] = of(raws, "ARC403", logs)
    assert any("denied the request" in e for e in f.evidence)
    assert not of(raws, "ARC410", logs)


def test_a_decoding_error_is_evidence_on_arc605_once():
    error = ("json: cannot unmarshal bool into Go struct field EphemeralRunnerStatus.items.status.failures of type "
             "string")
    logs = _log(_reconciler_error(15, "EphemeralRunnerSet", "arc-runner-set-h8ff4", error))
    [f] = of(fleet(), "ARC605", logs)
    assert sum("cannot unmarshal bool" in e for e in f.evidence) == 1
    assert not of(fleet(), "ARC410", logs)


def test_a_crashed_controllers_last_words_are_evidence_on_arc406():
    raws = fleet(controller=False) + [controller_pod(phase="Failed")]
    logs = _log(f"{ts(40)}\tERROR\tsetup\tunable to start manager\t{{\"error\": \"no matches for kind "
                f"\\\"AutoscalingRunnerSet\\\"\"}}")
    [f] = of(raws, "ARC406", logs, arc=arc_info(controllers=False))
    assert any("unable to start manager" in e for e in f.evidence)


def test_arc_s_line_is_kept_over_controller_runtimes_repetition():
    error = "failed to get runner registration token on refresh: 401 Bad credentials"
    logs = _log(_line(20, "AutoscalingRunnerSet", "Failed to update", "autoscalingrunnerset", "arc-runner-set",
                      error=error), _reconciler_error(20, "AutoscalingRunnerSet", "arc-runner-set", error))
    assert [a.line.logger for a in controllerlog.errors(_ctx(logs))] == ["AutoscalingRunnerSet"]


def _ctx(logs):
    from arc_top.checks.context import Context
    return Context(snapshot(fleet()), NOW, logs)


# ---- when the log is missing ------------------------------------------------------------------------------------
def test_without_the_controllers_log_arc410_is_not_evaluated_when_the_caller_knows_why():
    found = checks.run(snapshot(fleet()), now=NOW, missing_logs="the saved files hold no log tails")
    [f] = [f for f in found if f.code == "ARC000"]
    assert "ARC410" in f.title and "saved files hold no log tails" in f.title and f.subject.name == CONTROLLER
    assert run(fleet()) == []          # nobody said the logs are missing: nothing to say


# ---- what an error line shows -----------------------------------------------------------------------------------
CLASSIFIED = [
    ('Post "https://ghe.corp/api/v3/actions/runner-registration": tls: failed to verify certificate: x509: '
     "certificate signed by unknown authority", "C1", "ARC409"),
    ('Get "https://api.github.com/orgs/acme": proxyconnect tcp: dial tcp 10.0.0.9:3128: connect: connection refused',
     "C2", "ARC409"),
    ("failed to get runner scale set: github api error: StatusCode 407 Proxy Authentication Required", "C2",
     "ARC409"),
    ("invalid config URL, should point to an enterprise, org, or repository", "C3", "ARC108"),
    ('github api error: StatusCode 401, RequestID "AB:12": {"message":"Bad credentials"}', "C4", "ARC104"),
    ("403 Forbidden: Resource not accessible by integration", "C5", "ARC105"),
    ("failed to get runner registration token: 404 Not Found", "C6", "ARC108"),
    ('no runner group found with name "gpu"', "C6", "ARC108"),
    ('failed to get secret: secrets "arc-github" not found', "C7", "ARC101"),
    ("dial tcp: lookup api.github.com on 10.96.0.10:53: no such host", "C8", "ARC304"),
    ('Post "https://api.github.com": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
     "C8", "ARC304"),
    ("json: cannot unmarshal bool into Go struct field EphemeralRunnerStatus.status.failures of type string", "C9",
     "ARC605"),
    ('strict decoding error: unknown field "spec.runnerScaleSetLabels"', "C9", "ARC605"),
    ('pods "x" is forbidden: exceeded quota: runners, requested: pods=1, used: pods=10, limited: pods=10', "C11",
     "ARC405"),
    ('admission webhook "validate.kyverno.svc" denied the request: require-labels', "C12", "ARC407"),
]


def test_the_errors_are_classified_by_what_they_show():
    for error, cid, first in CLASSIFIED:
        line = controllerlog.parse(_line(5, "AutoscalingRunnerSet", "Failed", "autoscalingrunnerset", "s",
                                         error=error))
        what = controllerlog.classify(line)
        assert what is not None and what.id == cid, (error, what)
        assert what.explains[0] == first or first in what.explains, error
    plain = controllerlog.parse(_line(5, "AutoscalingRunnerSet", "Failed to update", "autoscalingrunnerset", "s",
                                      error="Operation cannot be fulfilled: the object has been modified"))
    assert controllerlog.classify(plain) is None


def test_what_a_healthy_controller_logs_too_is_no_finding():
    transient = ['Operation cannot be fulfilled on ephemeralrunners.actions.github.com "r-1": the object has been '
                 "modified; please apply your changes to the latest version and try again",
                 'ephemeralrunners.actions.github.com "arc-runner-set-h8ff4-runner-00000" not found',
                 'pods "arc-runner-set-h8ff4-runner-00000" already exists', "context canceled"]
    lines = [_reconciler_error(10 + i, "EphemeralRunner", "arc-runner-set-h8ff4-runner-00000", e)
             for i, e in enumerate(transient)]
    assert not of(fleet(), "ARC410", _log(*lines))


def test_every_controller_pattern_explains_catalogued_codes():
    from arc_top.checks import logpatterns
    from arc_top.checks.catalogue import CODES

    ids = [p.id for p in logpatterns.CONTROLLER_ERRORS]
    assert len(ids) == len(set(ids)) and all(p.explains for p in logpatterns.CONTROLLER_ERRORS)
    assert all(code in CODES for p in logpatterns.CONTROLLER_ERRORS for code in p.explains)

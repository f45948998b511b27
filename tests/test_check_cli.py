"""`arc-top check` as CI runs it: exit codes, one-line errors, JSON valid against checks/findings.schema.json,
JUnit that parses, a table that fits 80 columns, and no secret value in any output.

The checks catalogue was being written while this landed: tests that need exact findings inject them
(in-process, checks.run replaced); what the real catalogue must report for the saved fixtures below is listed in
EXPECTED_CODES (extend it, and add per-scenario expectations, as the catalogue grows).
"""

from __future__ import annotations

import calendar
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml

from arc_top import checks
from arc_top.checks import report
from arc_top.checks.finding import Finding, Subject
from arc_top.cli.main import main

ARC_TOP = [sys.executable, "-m", "arc_top.cli.main"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = json.load(open(os.path.join(ROOT, "checks", "findings.schema.json"), encoding="utf-8"))
TOKEN = "ghp_CheckCliSecretValueNeverPrinted0123456789"
ARC = "actions.github.com/v1alpha1"

# Fixture → codes `arc-top check --from <fixture>` must report (a subset: more may appear; None = not known
# yet, not asserted). The fixtures are built by `saved_cluster` below.
EXPECTED_CODES: dict[str, set[str] | None] = {
    # the ARS names githubConfigSecret "arc-github-token", which is not among the saved Secrets
    "missing-secret": {"ARC101"},
    # only pods were saved: checks that need other kinds report ARC000 (not evaluated), never a guess
    "pods-only": {"ARC000"},
}


# ---- helpers -------------------------------------------------------------------------------------------------
def run(*args: str, input: str | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(ARC_TOP + list(args), capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          input=input)


def assert_one_line(proc, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("arc-top: "), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def validate(instance, schema: dict, root: dict | None = None, path: str = "$") -> list[str]:
    """The subset of JSON Schema 2020-12 the findings schema uses ($ref, allOf, if/then, type, required,
    properties, additionalProperties, items, enum, const, pattern, minimum, minLength). jsonschema is not a
    dependency; this is enough to hold the output to the schema."""
    root = root or schema
    errors: list[str] = []
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        errors += validate(instance, target, root, path)
    for sub in schema.get("allOf", ()):
        errors += validate(instance, sub, root, path)
    if "if" in schema and not validate(instance, schema["if"], root, path) and "then" in schema:
        errors += validate(instance, schema["then"], root, path)
    types = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    kind = schema.get("type")
    if kind == "integer":
        if not isinstance(instance, int) or isinstance(instance, bool):
            return errors + [f"{path}: not an integer"]
    elif kind and not isinstance(instance, types[kind]):
        return errors + [f"{path}: not {kind}"]
    if "const" in schema and instance != schema["const"]:
        errors.append(f"{path}: {instance!r} is not {schema['const']!r}")
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{path}: {instance!r} not in {schema['enum']}")
    if isinstance(instance, str):
        if "pattern" in schema and not re.search(schema["pattern"], instance):
            errors.append(f"{path}: {instance!r} does not match {schema['pattern']}")
        if len(instance) < schema.get("minLength", 0):
            errors.append(f"{path}: too short")
    if isinstance(instance, int) and "minimum" in schema and instance < schema["minimum"]:
        errors.append(f"{path}: below {schema['minimum']}")
    if isinstance(instance, list) and "items" in schema:
        for i, item in enumerate(instance):
            errors += validate(item, schema["items"], root, f"{path}[{i}]")
    if isinstance(instance, dict):
        errors += [f"{path}: missing {k}" for k in schema.get("required", ()) if k not in instance]
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, value in instance.items():
            if key in props:
                errors += validate(value, props[key], root, f"{path}.{key}")
            elif extra is False:
                errors.append(f"{path}: unexpected {key}")
            elif isinstance(extra, dict):
                errors += validate(value, extra, root, f"{path}.{key}")
    return errors


def obj(api_version: str, kind: str, name: str, namespace: str = "", **rest) -> dict:
    meta = {"name": name, "uid": f"uid-{kind}-{name}", "creationTimestamp": "2025-03-01T10:00:00Z"}
    if namespace:
        meta["namespace"] = namespace
    meta.update(rest.pop("metadata", {}))
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **rest}


def saved_cluster(name: str) -> list[dict]:
    set_labels = {"actions.github.com/scale-set-name": "arc-runner-set",
                  "actions.github.com/scale-set-namespace": "arc-runners"}
    runner = obj("v1", "Pod", "arc-runner-set-h8ff4-runner-668fh", "arc-runners",
                 metadata={"labels": {**set_labels, "app.kubernetes.io/component": "runner",
                                      "actions-ephemeral-runner": "True"}},
                 spec={"containers": [{"name": "runner", "image": "ghcr.io/actions/actions-runner:latest",
                                       "env": [{"name": "ACTIONS_RUNNER_INPUT_JITCONFIG",
                                                "valueFrom": {"secretKeyRef": {"name": "jit", "key": "jit"}}}]}]},
                 status={"phase": "Running"})
    if name == "pods-only":
        return [{"apiVersion": "v1", "kind": "List", "items": [runner]}]
    items = [
        obj(ARC, "AutoscalingRunnerSet", "arc-runner-set", "arc-runners",
            metadata={"labels": {"app.kubernetes.io/version": "0.14.2"}},
            spec={"githubConfigUrl": "https://github.com/arc-org", "githubConfigSecret": "arc-github-token",
                  "minRunners": 1, "maxRunners": 5,
                  "template": {"spec": {"containers": [{"name": "runner",
                                                        "image": "ghcr.io/actions/actions-runner"}]}}},
            status={"currentRunners": 1, "phase": "Running"}),
        obj(ARC, "AutoscalingListener", "arc-runner-set-754b578d-listener", "arc-systems",
            spec={"autoscalingRunnerSetNamespace": "arc-runners", "autoscalingRunnerSetName": "arc-runner-set",
                  "image": "ghcr.io/actions/gha-runner-scale-set-controller:0.14.2"}),
        obj("v1", "Pod", "arc-gha-rs-controller-7d9c8-abcde", "arc-systems",
            metadata={"labels": {"app.kubernetes.io/part-of": "gha-rs-controller",
                                 "app.kubernetes.io/component": "controller-manager"}},
            spec={"containers": [{"name": "manager",
                                  "image": "ghcr.io/actions/gha-runner-scale-set-controller:0.14.2"}]},
            status={"phase": "Running"}),
        runner,
        obj("v1", "Secret", "other-secret", "arc-runners", type="Opaque", stringData={"github_token": TOKEN}),
        obj("v1", "Event", "arc-runner-set.1", "arc-runners", type="Warning", reason="FailedCreate",
            message="secret \"arc-github-token\" not found",
            involvedObject={"apiVersion": ARC, "kind": "AutoscalingRunnerSet", "name": "arc-runner-set"}),
        obj("storage.k8s.io/v1", "StorageClass", "gp3", provisioner="ebs.csi.aws.com"),
    ]
    return [{"apiVersion": "v1", "kind": "List", "items": items}]


@pytest.fixture
def saved(tmp_path):
    def write(name: str) -> str:
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all(saved_cluster(name), sort_keys=False))
        return str(path)
    return write


def sample_findings() -> list[Finding]:
    return [
        Finding("ARC501", "error", "Runner cannot write its work directory",
                Subject("Pod", "arc-runners", "arc-runner-set-h8ff4-runner-668fh-with-a-very-long-name-to-cut", "u1"),
                scale_set="arc-runners/arc-runner-set",
                evidence=("System.UnauthorizedAccessException: Access to the path '/home/runner/_work/_tool' is "
                          "denied. " + "x" * 80, f"\x1b]0;owned\x07\x1b[31mAuthorization: Bearer {TOKEN}\x1b[0m"),
                explanation="The work volume is root-owned and the runner is UID 1001.\nNo fsGroup is set.",
                fix="set spec.template.spec.securityContext.fsGroup: 123", docs="https://example.test/f1"),
        Finding("ARC301", "warning", "Listener recreated 6 times in 10 minutes",
                Subject("Pod", "arc-systems", "arc-runner-set-754b578d-listener"),
                scale_set="arc-runners/arc-runner-set"),
        Finding("ARC000", "info", "Volume checks not evaluated: no PersistentVolumeClaims in the data",
                Subject("Namespace", "", "arc-runners")),
        Finding("ARC201", "warning", "Two listeners share one scale set name",
                Subject("AutoscalingRunnerSet", "team-b", "team-b-dind"), scale_set="team-b/team-b-dind",
                evidence=(f"token {TOKEN}",)),
    ]


@pytest.fixture
def injected(monkeypatch):
    """checks.run replaced by one that returns the sample findings."""
    seen = {}

    def fake_run(snapshot, *, now, logs=(), missing_logs=""):
        seen.update(snapshot=snapshot, now=now, logs=logs, missing_logs=missing_logs)
        return sample_findings()
    monkeypatch.setattr(checks, "run", fake_run)
    return seen


# ---- the schema --------------------------------------------------------------------------------------------
def test_the_schema_is_draft_2020_12_and_the_validator_is_not_vacuous():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    good = report.document(sample_findings(), {"mode": "files", "files": ["a.yaml"]})
    assert validate(good, SCHEMA) == []
    bad = json.loads(json.dumps(good))
    bad["findings"][0]["severity"] = "fatal"
    bad["findings"][1]["code"] = "X1"
    bad["summary"].pop("info")
    bad["source"] = {"mode": "cluster", "context": "c"}
    bad["silenced"]["by_code"] = {"ARC601": 0}           # a code silenced 0 times is not listed
    assert len(validate(bad, SCHEMA)) == 6
    assert good["silenced"] == {"total": 0, "summary": {"error": 0, "warning": 0, "info": 0}, "by_code": {}}
    del bad["silenced"]
    assert "$: missing silenced" in validate(bad, SCHEMA)


# ---- subprocess: as CI runs it -----------------------------------------------------------------------------
def test_demo_healthy_json_is_valid_and_exits_0():
    proc = run("check", "--demo", "--scenario", "healthy", "-o", "json", "--settle", "1")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert validate(doc, SCHEMA) == []
    assert doc["summary"]["error"] == 0
    assert doc["source"]["mode"] == "demo" and doc["source"]["scenario"] == "healthy"
    assert doc["source"]["arc_version"] == "0.14.2" and doc["source"]["not_synced"] == []


def test_demo_reads_the_log_tails_of_churning_runners():
    proc = run("check", "--demo", "--scenario", "kube-permissions", "-o", "json", "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    logs = doc["source"]["logs"]
    assert logs["tails"] > 0 and logs["bytes"] > 0 and logs["pods"] <= 30
    assert validate(doc, SCHEMA) == []


def test_from_saved_files_json_table_junit(saved):
    path = saved("missing-secret")
    proc = run("check", "--from", path, "-o", "json")
    doc = json.loads(proc.stdout)
    errors = doc["summary"]["error"]
    assert proc.returncode == (1 if errors else 0), proc.stderr
    assert validate(doc, SCHEMA) == []
    assert doc["source"]["mode"] == "files" and doc["source"]["files"] == [path]
    assert doc["source"]["as_of"] == "2025-03-01T10:00:00Z" and doc["source"]["arc_version"] == "0.14.2"
    assert "volumes" in doc["source"]["not_synced"] and "scalesets" not in doc["source"]["not_synced"]
    junit = run("check", "--from", path, "-o", "junit")
    assert junit.returncode == proc.returncode
    root = ET.fromstring(junit.stdout)
    failing = {(f["code"], f["subject"]["kind"], f["subject"]["namespace"], f["subject"]["name"])
               for f in doc["findings"] if f["severity"] == "error"}
    assert root.tag == "testsuites" and root.get("failures") == str(len(failing))
    assert {s.get("name") for s in root} == {"cluster-wide", "arc-runners/arc-runner-set"}
    table = run("check", "--from", path)
    assert table.returncode == proc.returncode and "arc-top check: saved files" in table.stdout
    for out in (proc.stdout, junit.stdout, table.stdout):
        assert TOKEN not in out and TOKEN[4:20] not in out


@pytest.mark.parametrize("fixture", sorted(EXPECTED_CODES))
def test_saved_fixtures_report_the_expected_codes(saved, fixture):
    proc = run("check", "--from", saved(fixture), "-o", "json", "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert validate(doc, SCHEMA) == []
    expected = EXPECTED_CODES[fixture]
    if expected is not None:
        assert expected <= {f["code"] for f in doc["findings"]}


def test_stdin_and_flags_before_the_subcommand(saved, healthy):
    text = open(saved("missing-secret"), encoding="utf-8").read()
    proc = run("check", "--from", "-", "-o", "json", "--fail-on", "never", input=text)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["source"]["files"] == ["-"]
    live = run("--kubeconfig", healthy.kubeconfig_path, "check", "-o", "json", "--no-logs", "--fail-on", "never")
    assert live.returncode == 0, live.stderr
    source = json.loads(live.stdout)["source"]
    assert source["mode"] == "cluster" and source["context"] == "arc-sandbox"
    assert source["server"] == healthy.url and source["namespaces"] == [healthy.scenario.namespace]
    assert validate(json.loads(live.stdout), SCHEMA) == []


def test_a_junk_document_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "junk.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: b}\n---\njust words\n")
    assert_one_line(run("check", "--from", str(path)), str(path), "document 2")
    broken = tmp_path / "broken.json"
    broken.write_text('{"kind": "List", "items": [')
    assert_one_line(run("check", "--from", str(broken), "-o", "json"), str(broken), "not valid YAML or JSON")
    assert_one_line(run("check", "--from", str(tmp_path / "missing.yaml")), "missing.yaml", "does not exist")


def test_connection_and_usage_errors_are_one_line(tmp_path, healthy, saved):
    assert_one_line(run("check", "--kubeconfig", str(tmp_path / "nope")), "nope")
    bad = yaml.safe_load(open(healthy.kubeconfig_path))
    bad["users"][0]["user"]["token"] = "wrong"
    path = tmp_path / "bad.kubeconfig"
    path.write_text(yaml.safe_dump(bad))
    assert_one_line(run("check", "--kubeconfig", str(path)), "401")
    assert_one_line(run("check", "--kubeconfig", healthy.kubeconfig_path, "--timeout", "0.001", "--no-logs"),
                    "did not sync within")
    assert_one_line(run("check", "--from", saved("pods-only"), "--context", "prod"), "--from", "--context")
    assert_one_line(run("check", "--demo", "-A", "-n", "x"), "--demo", "--namespace, --all-namespaces")
    assert_one_line(run("check", "--scenario", "healthy"), "--scenario needs --demo")
    assert_one_line(run("check", "--demo", "--scenario", "nope"), "unknown scenario 'nope'")
    usage = run("check", "--demo", "--from", "x.yaml")           # argparse: usage line + error line
    assert usage.returncode == 2 and "not allowed with argument" in usage.stderr and "Traceback" not in usage.stderr


# ---- in process, with findings injected --------------------------------------------------------------------
@pytest.mark.parametrize("fail_on, code", [("error", 1), ("warning", 1), ("info", 1), ("never", 0)])
def test_exit_code_follows_fail_on(saved, injected, capsys, fail_on, code):
    assert main(["check", "--from", saved("missing-secret"), "--fail-on", fail_on, "-o", "json"]) == code
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"] == {"error": 1, "warning": 2, "info": 1}
    assert [f["severity"] for f in doc["findings"]] == ["error", "warning", "warning", "info"]
    assert injected["now"] == calendar.timegm((2025, 3, 1, 10, 0, 0))      # "now": when the files were saved
    assert injected["logs"] == []


def test_only_warnings_pass_fail_on_error(saved, monkeypatch, capsys):
    monkeypatch.setattr(checks, "run", lambda snapshot, *, now, logs=(), missing_logs="": sample_findings()[1:])
    assert main(["check", "--from", saved("missing-secret")]) == 0
    assert "nothing at or above error: exit 0" in capsys.readouterr().out
    assert main(["check", "--from", saved("missing-secret"), "--fail-on", "warning"]) == 1


def test_json_with_findings_is_valid_and_masks_secrets(saved, injected, capsys):
    main(["check", "--from", saved("missing-secret"), "-o", "json"])
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert validate(doc, SCHEMA) == []
    assert TOKEN not in out and TOKEN[4:-4] not in out and "ghp_…6789" in out
    assert "\x1b" not in out and "\\u001b" not in out and "\x07" not in out
    assert doc["findings"][0]["explanation"].count("\n") == 1      # prose keeps its line breaks


def test_junit_has_a_suite_per_scale_set_and_failures_with_evidence(saved, injected, capsys):
    assert main(["check", "--from", saved("missing-secret"), "-o", "junit", "--fail-on", "warning"]) == 1
    out = capsys.readouterr().out
    root = ET.fromstring(out)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["cluster-wide", "arc-runners/arc-runner-set", "team-b/team-b-dind"]
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("4", "3", "1")
    ars = suites["arc-runners/arc-runner-set"]
    assert (ars.get("tests"), ars.get("failures")) == ("2", "2")
    case = ars.find("testcase")
    assert case.get("name").startswith("ARC501 Pod arc-runners/") and case.get("classname")
    failure = case.find("failure")
    assert failure.get("message") == "Runner cannot write its work directory"
    assert "_work/_tool' is denied" in failure.text and "fix: set spec.template" in failure.text
    assert suites["cluster-wide"].find("testcase/skipped") is not None     # ARC000 below --fail-on
    assert TOKEN not in out and "\x1b" not in out


def test_junit_without_failures_below_fail_on(saved, injected, capsys):
    assert main(["check", "--from", saved("missing-secret"), "-o", "junit", "--fail-on", "never"]) == 0
    root = ET.fromstring(capsys.readouterr().out)
    assert root.get("failures") == "0" and root.find("testsuite/testcase/system-out") is not None


def test_table_fits_80_columns_grouped_worst_first(saved, injected, capsys):
    assert main(["check", "--from", saved("missing-secret")]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "\x1b" not in out and "\x07" not in out and TOKEN not in out
    groups = [line for line in lines if line and not line.startswith(" ") and line[0] in "✖⚠●"]
    assert [g.split()[1] for g in groups] == ["arc-runners/arc-runner-set", "team-b/team-b-dind", "cluster-wide"]
    first = next(i for i, line in enumerate(lines) if "ARC501" in line)
    assert lines[first].lstrip().startswith("✖ ERROR") and "…" in lines[first]          # long name cut
    assert lines[first + 1].strip() == "Runner cannot write its work directory"
    assert lines[first + 2].strip().startswith("> System.UnauthorizedAccessException")
    assert lines[-1] == "4 findings (1 error, 2 warnings, 1 info); 1 at or above error: exit 1"


def test_ascii_markers_when_the_terminal_cannot_show_symbols():
    text = report.render_table(sample_findings(), {"mode": "demo", "scenario": "x"}, ascii_only=True)
    assert text.isascii() and max(len(line) for line in text.splitlines()) <= 80
    assert "  x ERROR" in text and "  ! WARNING" in text and "  i INFO" in text


def test_cluster_strings_are_sanitised_and_masked():
    assert report.clean("a\x1b[31mred\x1b[0m\x1b]0;title\x07b\rc\u202ed") == "aredb cd"
    assert report.clean("Bearer abcdefghijklmnop1234") == "Bearer …1234"
    assert report.clean("github_pat_11ABCDEFG0abcdefghijklmnopqrstuvwxyz") == "github_pat_…wxyz"
    assert report.clean("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----") == \
        "[private key redacted]"
    assert report.clean("jwt eyJhbGciOiJ.eyJzdWIiOiIx.c2lnbmF0dXJl") == "jwt eyJ…[jwt redacted]"
    assert report.clean("secret arc-github-token in namespace arc-runners") == \
        "secret arc-github-token in namespace arc-runners"                          # names are not secrets


def test_list_prints_every_code_of_the_catalogue():
    from arc_top.checks.catalogue import CODES

    proc = run("check", "--list")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(CODES)
    assert any(line.split()[:2] == ["ARC501", "error"] for line in lines)
    listed = json.loads(run("check", "--list", "-o", "json").stdout)
    assert {c["code"] for c in listed} == set(CODES) and all(c["docs"].startswith("https://") for c in listed)

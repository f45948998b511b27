"""The kube side of the probes against a sandbox: Secrets read through the official client, the githubServerTLS CA
from its ConfigMap, results cached per Secret resourceVersion, ARC000 when a Secret cannot be read; and
`arc-top check` end to end, with no token, key or JWT in any output, log record, repr or exception."""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET

import pytest

from arc_top import probes
from arc_top.checks import credentials
from arc_top.cli.main import main
from arc_top.kube import model
from arc_top.kube.credentials import CredentialProber, read_credentials
from arc_top.kube.model import KindState, Snapshot
from arc_top.kube.projections import project
from arc_top.probes import jwt as probes_jwt
from arc_top.sandbox.controller.common import ARS
from arc_top.sandbox.github import FakeGitHub
from arc_top.sandbox.run import start_sandbox
from arc_top.sandbox.scenario import GITHUB_CA_CONFIGMAP
from arc_top.sandbox.scenario_chart import render_scale_set, secret
from tests import probes_fixtures as fx
from tests.conftest import api_client
from tests.test_check_cli import SCHEMA, validate

NS = "probes"
VARIANTS = list(fx.expectations())


def _entry(name: str, path: str, tls: bool = True) -> dict:
    entry = {"name": f"{name}-set", "namespace": NS, "mode": "kubernetes", "storage_class": "gp3", "fs_group": 123,
             "github_config_url": "{base}" + path, "github_config_secret": f"{name}-secret", "min_runners": 0,
             "max_runners": 2}
    if tls:
        entry["github_server_tls"] = {"configmap": GITHUB_CA_CONFIGMAP, "key": "ca.crt"}
    return entry


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    sb = start_sandbox("healthy", kubeconfig_path=str(tmp_path_factory.mktemp("kc") / "config"), speed=4.0)
    sb.cluster.github = FakeGitHub(fx.github_config())
    objects: list[dict] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
                           {"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": GITHUB_CA_CONFIGMAP, "namespace": NS},
                            "data": {"ca.crt": sb.server.certificates.ca_pem.decode()}}]
    for index, name in enumerate(VARIANTS, start=1):
        values, path = fx.variant_values(name)
        objects.append(secret(f"{name}-secret", NS, values))
        entry = _entry(name, path)
        entry["github_config_url"] = entry["github_config_url"].format(base=sb.url)
        objects += render_scale_set(entry, 100 + index)
    sb.cluster.apply_objects(objects)
    yield sb
    sb.stop()


def snapshot_of(sandbox, secrets_state: str = "live") -> Snapshot:
    cluster = sandbox.cluster
    sets = {o.uid: o for o in (project(model.SCALE_SETS, raw) for raw in cluster.list(ARS, NS))}
    secrets = {} if secrets_state != "live" else {
        o.uid: o for o in (project(model.SECRETS, raw, "Secret") for raw in cluster.list("secrets", NS))}
    kinds = {model.SCALE_SETS: KindState(model.SCALE_SETS, "live", synced=True),
             model.SECRETS: KindState(model.SECRETS, secrets_state, synced=secrets_state == "live")}
    return Snapshot(objects={model.SCALE_SETS: sets, model.SECRETS: secrets}, kinds=kinds, version=1)


class Counter:
    def __init__(self, github: FakeGitHub):
        self.github, self.calls = github, 0
        self._handle = github.handle

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self._handle(*args, **kwargs)


def test_the_sandbox_chart_renders_githubServerTLS_and_its_ca_configmap(sandbox):
    cluster = sandbox.cluster
    for ars in cluster.list(ARS, "arc-runners"):
        ref = ars["spec"]["githubServerTLS"]["certificateFrom"]["configMapKeyRef"]
        assert ref == {"name": GITHUB_CA_CONFIGMAP, "key": "ca.crt"}
    cm = cluster.store.get("configmaps", "arc-runners", GITHUB_CA_CONFIGMAP)
    assert cm["data"]["ca.crt"].encode() == sandbox.server.certificates.ca_pem


def test_every_variant_through_the_kube_client_and_the_cache(sandbox, monkeypatch):
    counter = Counter(sandbox.cluster.github)
    monkeypatch.setattr(sandbox.cluster.github, "handle", counter)
    snap = snapshot_of(sandbox)
    prober = CredentialProber(api_client(sandbox), timeout=5.0)
    try:
        results = prober.probe(snap, budget=300)         # a loaded machine must not turn a result into "not evaluated"
        by_secret = {r.secret: r for r in results}
        assert set(by_secret) == {f"{n}-secret" for n in VARIANTS}
        for name, (code, *_rest) in fx.expectations().items():
            r = by_secret[f"{name}-secret"]
            assert r.evaluated, (name, r.reason)
            assert [p.code for p in r.problems] == ([code] if code else []), (name, r.problems)
            assert r.scale_sets == (f"{NS}/{name}-set",) and r.resource_version
        calls = counter.calls
        assert prober.probe(snap) == results and counter.calls == calls       # cached: no request to GitHub
        assert prober.cache.hits >= len(VARIANTS)
        changed = sandbox.cluster.mutate("secrets", NS, "revoked-secret",
                                         lambda o: o["metadata"].setdefault("labels", {}).update(touched="yes"))
        assert changed["metadata"]["resourceVersion"] != by_secret["revoked-secret"].resource_version
        again = {r.secret: r for r in prober.probe(snapshot_of(sandbox))}
        assert counter.calls == calls + 1                                       # only the changed Secret: GET /user
        assert again["revoked-secret"].resource_version == changed["metadata"]["resourceVersion"]
    finally:
        prober.close()


def _synthetic_set(sandbox, name: str, secret_name: str, path: str, tls: bool):
    """A scale set only the snapshot knows (the cluster has no such ARS, so no githubServerTLS for it)."""
    entry = _entry(name, path, tls=tls)
    entry.update(name=f"{name}-set", github_config_url=sandbox.url + path, github_config_secret=secret_name)
    [ars] = [o for o in render_scale_set(entry, 400) if o["kind"] == "AutoscalingRunnerSet"]
    ars["metadata"]["uid"] = f"uid-{name}"
    return project(model.SCALE_SETS, ars)


def test_the_ca_comes_from_githubServerTLS_else_the_fix_is_named_and_extra_ca_helps(sandbox):
    snap = snapshot_of(sandbox)
    shared = _synthetic_set(sandbox, "a-shared", "valid-secret", f"/{fx.ORG}", tls=False)
    lonely = _synthetic_set(sandbox, "lonely", "expiring-secret", f"/{fx.ORG}/{fx.REPO}", tls=False)
    objects = dict(snap.objects)
    objects[model.SCALE_SETS] = {**snap.objects[model.SCALE_SETS], shared.uid: shared, lonely.uid: lonely}
    snap = Snapshot(objects=objects, kinds=snap.kinds, version=2)
    by = {(r.secret, r.config_url): r for r in CredentialProber(api_client(sandbox)).probe(snap)}
    both = by[("valid-secret", sandbox.url + f"/{fx.ORG}")]
    assert both.scale_sets == (f"{NS}/a-shared-set", f"{NS}/valid-set") and both.ok     # valid-set names the CA
    alone = by[("expiring-secret", sandbox.url + f"/{fx.ORG}/{fx.REPO}")]
    assert not alone.evaluated and "certificate is not trusted" in alone.reason and "--github-ca" in alone.reason
    with_ca = CredentialProber(api_client(sandbox), extra_ca=sandbox.server.certificates.ca_pem).probe(snap)
    alone = {(r.secret, r.config_url): r for r in with_ca}[("expiring-secret", sandbox.url + f"/{fx.ORG}/{fx.REPO}")]
    assert alone.evaluated and [p.code for p in alone.problems] == ["ARC106"]


def test_a_secret_that_cannot_be_read_is_not_evaluated(sandbox):
    viewer = api_client(sandbox, "viewer")
    reason = read_credentials(viewer, NS, "valid-secret")
    assert reason == f"need read access to Secret {NS}/valid-secret (get secrets is forbidden)"
    assert "does not exist (see ARC101)" in read_credentials(api_client(sandbox), NS, "no-such-secret")
    results = CredentialProber(viewer, timeout=3.0).probe(snapshot_of(sandbox, secrets_state="forbidden"))
    assert results and all(not r.evaluated and "get secrets is forbidden" in r.reason for r in results)


def test_check_end_to_end_reports_each_variant_and_never_prints_a_secret(sandbox, capsys, caplog, monkeypatch):
    jwts: list[str] = []
    signer = probes_jwt.app_jwt

    def recording(*args, **kwargs):
        token = signer(*args, **kwargs)
        jwts.append(token)
        return token
    monkeypatch.setattr(probes_jwt, "app_jwt", recording)
    caplog.set_level(logging.DEBUG)
    outputs: dict[str, str] = {}
    for fmt in ("json", "table", "junit"):
        code = main(["check", "--kubeconfig", sandbox.kubeconfig_path, "-n", NS, "-o", fmt, "--fail-on", "never",
                     "--no-logs", "--github-timeout", "5"])
        out, err = capsys.readouterr()
        assert code == 0, err
        outputs[fmt] = out + err
    doc = json.loads(outputs["json"])
    got: dict[str, set[str]] = {}
    for f in doc["findings"]:
        if f["subject"]["kind"] == "Secret" and f["subject"]["namespace"] == NS:
            got.setdefault(f["subject"]["name"], set()).add(f["code"])
    for name, (code, *_rest) in fx.expectations().items():
        probe_codes = got.get(f"{name}-secret", set()) & {"ARC000", "ARC104", "ARC105", "ARC106", "ARC107"}
        assert probe_codes == ({code} if code else set()), (name, got.get(f"{name}-secret"))
    assert doc["source"]["github"]["credentials"] == len(VARIANTS) and doc["source"]["github"]["not_evaluated"] == 0
    assert validate(doc, SCHEMA) == []
    assert "GitHub credentials: " in outputs["table"] and "ARC104" in outputs["table"]
    ET.fromstring(outputs["junit"])
    # Everything a user, a log collector or a crash report could see.
    prober = CredentialProber(api_client(sandbox))
    results = prober.probe(snapshot_of(sandbox))
    prober.close()
    creds = read_credentials(api_client(sandbox), NS, "app-valid-secret")
    errors = []
    for exc_source in (lambda: probes.GitHubClient("https://127.0.0.1:1/api/v3", retry_delay=0).get(
                           "/user", authorization="Bearer " + fx.TOKENS["valid"]),
                       lambda: probes.GitHubClient("https://127.0.0.1:1/api/v3").get(
                           "/user", authorization="Bearer " + fx.TOKENS["valid"] + "\n"),
                       lambda: pickle_credentials(creds)):
        try:
            exc_source()
        except Exception as exc:   # what a crash report would print
            errors.append(f"{exc!r} {exc} {exc.__cause__!r} {exc.__context__!r}")
    assert len(errors) == 3
    haystack = "\n".join([*outputs.values(), caplog.text, *(_record(r) for r in caplog.records),
                          *(repr(r) + str(r) + credentials.summary(r) for r in results), repr(creds), str(creds),
                          *errors])
    assert jwts and "Bad credentials" in haystack and "ghp_…v4l1" in haystack
    assert {r.name.split(".")[0] for r in caplog.records} >= {"httpx", "httpcore"}     # debug logs were captured
    for value in fx.secret_strings() + jwts + [j.split(".")[2] for j in jwts]:
        assert value not in haystack, value[:12]


def _record(record: logging.LogRecord) -> str:
    try:
        return record.getMessage() + repr(record.args)
    except Exception:   # a record whose args do not format: its raw parts still count
        return f"{record.msg!r} {record.args!r}"


def pickle_credentials(creds) -> None:
    import pickle

    pickle.dumps(creds)


def test_no_github_and_flag_errors(sandbox, capsys):
    assert main(["check", "--kubeconfig", sandbox.kubeconfig_path, "-n", NS, "-o", "json", "--fail-on", "never",
                 "--no-logs", "--no-github"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert not {"ARC104", "ARC105", "ARC106", "ARC107"} & {f["code"] for f in doc["findings"]}
    assert doc["source"]["github"] == {"probed": False} and validate(doc, SCHEMA) == []
    for args, words in ((["--github-timeout", "0"], "--github-timeout 0"),
                        (["--github-ca", "/nonexistent/ca.pem"], "--github-ca /nonexistent/ca.pem: cannot read"),
                        (["--github-ca", sandbox.kubeconfig_path], "not a PEM certificate")):
        assert main(["check", "--kubeconfig", sandbox.kubeconfig_path, *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("arc-top: ") and words in err and err.count("\n") == 1


def test_check_with_github_unreachable_reports_arc000_within_the_timeout(sandbox, capsys):
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)                     # TCP accepted by the kernel, TLS never answered
    down = "probes-down"
    objects: list[dict] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": down}},
                           secret("token", down, {"github_token": fx.TOKENS["valid"]})]
    for index, (name, port) in enumerate((("refused", closed_port), ("silent", silent.getsockname()[1]))):
        entry = {"name": name, "namespace": down, "mode": "kubernetes", "storage_class": "gp3", "fs_group": 123,
                 "github_config_url": f"https://127.0.0.1:{port}/{fx.ORG}", "github_config_secret": "token",
                 "min_runners": 0}
        objects += render_scale_set(entry, 500 + index)
    sandbox.cluster.apply_objects(objects)
    try:
        assert main(["check", "--kubeconfig", sandbox.kubeconfig_path, "-n", down, "-o", "json", "--fail-on", "error",
                     "--no-logs", "--github-timeout", "1"]) in (0, 1)
    finally:
        silent.close()
    doc = json.loads(capsys.readouterr().out)
    probe = [f for f in doc["findings"] if f["subject"] == {"kind": "Secret", "namespace": down, "name": "token"}]
    assert sorted(f["scale_set"] for f in probe) == [f"{down}/refused", f"{down}/silent"]
    assert all(f["code"] == "ARC000" and f["severity"] == "info" for f in probe)
    reasons = " ".join(f["title"] for f in probe)
    # Within the timeout: the silent one gave up after the 1 s asked for (not the 5 s default); the refused one did
    # not wait at all. How long the probes took is reported, not bounded here (a loaded machine is slower).
    assert "refused" in reasons.lower() and "no answer within 1 s" in reasons
    assert doc["source"]["github"]["not_evaluated"] == 2 and doc["source"]["github"]["seconds"] >= 0

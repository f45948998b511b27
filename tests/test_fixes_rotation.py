"""Rotating a credential (ARC104–ARC107) on the `bad-credentials` sandbox, through the real Fixer: the plan asks
for the new token; a pasted token that GitHub refuses (revoked) or that lacks the scope the scale set's level needs
is refused before any request that writes (no dry-run, no access review either), with the probe's reason; a good
one is probed, written, the listener restarted, and the finding clears. The pasted value never appears in the
diff, the kubectl equivalent, the plan's or Facts' repr, the audit file or the log records; undo (in the same
session) writes the old value back."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from kubernetes import client

from arc_top.checks.fixplan import Pasted
from arc_top.checks.remedy_credentials import NeedsInput
from arc_top.fixes.session import Refused, op_json
from arc_top.sandbox.run import start_sandbox
from tests.conftest import api_client
from tests.fix_fixtures import diagnosed

NS = "arc-runners"


@pytest.fixture()
def creds(tmp_path):
    with diagnosed("bad-credentials", tmp_path) as running:
        yield running


def secret_token(sb, name: str) -> str:
    secret = client.CoreV1Api(api_client(sb)).read_namespaced_secret(name, NS)
    return base64.b64decode(secret.data["github_token"]).decode()


def test_a_refused_or_under_scoped_token_is_never_written_and_a_good_one_clears_arc104(creds, tmp_path, caplog):
    sb, diag = creds
    f = diag.find("ARC104", f"{NS}/expired-token-set")
    assert f.subject.kind == "Secret" and f.subject.name == "expired-token"
    fixer = diag.fixer(tmp_path)
    with pytest.raises(NeedsInput) as asked:
        fixer.plan(f, diag.latest()[0])
    assert asked.value.fields == ("github_token",)

    revoked, under_scoped = secret_token(sb, "revoked-token"), secret_token(sb, "missing-scope-token")
    good, old = secret_token(sb, "arc-github-token"), secret_token(sb, "expired-token")
    for bad, why in ((revoked, "401"), (under_scoped, "admin:org")):
        mark = sb.mark()
        with pytest.raises(Refused) as refused:
            fixer.plan(f, diag.latest()[0], pasted=Pasted({"github_token": bad}))
        assert "nothing was written" in str(refused.value) and why in str(refused.value), str(refused.value)
        assert bad not in str(refused.value)
        assert sb.mutating_since(mark) == []                       # not a dry-run, not an access review
    assert secret_token(sb, "expired-token") == old

    with caplog.at_level(logging.DEBUG):
        plan = fixer.plan(f, diag.latest()[0], pasted=Pasted({"github_token": good}))
        preview = fixer.preview(plan)
        assert preview.dry_run_verdict == "dry-run: accepted", preview.dry_run_verdict
        assert [label for label, _ops in preview.variant.stages()] == ["write the new credential",
                                                                      "restart the listener"]
        assert secret_token(sb, "expired-token") == old            # the dry-run wrote nothing
        applied = fixer.apply(preview)
    assert applied.outcome == "applied", applied.message()
    assert secret_token(sb, "expired-token") == good
    shown = "\n".join([*preview.diff_lines(), *preview.variant.kubectl, preview.variant.summary, repr(plan),
                       repr(preview), json.dumps([op_json(s.op) for s in preview.steps]), applied.message(),
                       *plan.notes, (tmp_path / "audit.jsonl").read_text(), caplog.text])
    for value in (good, old, base64.b64encode(good.encode()).decode(), base64.b64encode(old.encode()).decode()):
        assert value not in shown
    assert good[:4] + "…" + good[-4:] in preview.variant.summary    # the masked form, so the operator can tell
    diag.cleared(f, applied.at)

    undo = fixer.undo_preview(applied)
    assert fixer.apply(undo).outcome == "applied"
    assert secret_token(sb, "expired-token") == old


def test_a_pasted_value_never_shows_in_repr_or_pickle():
    import pickle

    value = "ghp_" + "s3cr3t" * 6
    pasted = Pasted({"github_token": value})
    assert value not in repr(pasted) and value not in str(pasted) and "ghp_…" in repr(pasted)
    with pytest.raises(TypeError):
        pickle.dumps(pasted)


# ---- arc-top fix, as a runbook runs it ----------------------------------------------------------------------
def _arc_top(sb, state, *args: str, stdin: str = ""):
    import os
    import subprocess
    import sys

    env = dict(os.environ, XDG_STATE_HOME=str(state), NO_COLOR="1")
    argv = [sys.executable, "-m", "arc_top.cli.main", "fix", *args, "--kubeconfig", sb.kubeconfig_path]
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=240, env=env)
    return argv, proc


def test_the_cli_reads_the_token_from_stdin_refuses_a_revoked_one_and_never_prints_either(tmp_path):
    sb = start_sandbox("bad-credentials", kubeconfig_path=str(tmp_path / "cli.kubeconfig"), speed=4.0)
    try:
        good, revoked = secret_token(sb, "arc-github-token"), secret_token(sb, "revoked-token")
        old = secret_token(sb, "expired-token")
        target = ("ARC104", "--target", "secret/arc-runners/expired-token")

        argv, proc = _arc_top(sb, tmp_path, *target, "--yes", "--no-wait")              # no terminal, no input
        assert proc.returncode == 2 and "--token-stdin" in proc.stderr, proc.stderr

        mark = sb.mark()
        argv, proc = _arc_top(sb, tmp_path, *target, "--token-stdin", "--yes", "--no-wait", stdin=revoked + "\n")
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "401" in proc.stderr, proc.stderr
        assert "nothing was written" in proc.stderr and sb.mutating_since(mark) == []
        assert secret_token(sb, "expired-token") == old

        argv, proc = _arc_top(sb, tmp_path, *target, "--token-stdin", "--yes", "--no-wait", "-o", "json",
                              stdin=good + "\n")
        assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr)
        doc = json.loads(proc.stdout)
        assert doc["outcome"] == "applied" and [s["step"] for s in doc["steps"]] == [
            "write the new credential", "restart the listener"]
        assert secret_token(sb, "expired-token") == good
        audit = (tmp_path / "arc-top" / "audit.jsonl").read_text()
        for value in (good, revoked, old, base64.b64encode(good.encode()).decode()):
            assert value not in proc.stdout + proc.stderr + audit
            assert all(value not in arg for arg in argv)                        # never a process argument
    finally:
        sb.stop()


def test_switching_a_token_secret_to_a_github_app_writes_the_three_keys_and_drops_the_token():
    from arc_top.checks import remedies
    from arc_top.checks.finding import Finding, Subject
    from arc_top.checks.fixplan import Facts, apply_patch

    token = "ghp_" + "t0k3n" * 8
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow" + "A" * 40 + "\n-----END RSA PRIVATE KEY-----\n"
    secret = {"apiVersion": "v1", "kind": "Secret",
              "metadata": {"name": "creds", "namespace": NS, "uid": "s1", "resourceVersion": "9"},
              "data": {"github_token": base64.b64encode(token.encode()).decode()}}
    ars = {"metadata": {"name": "set", "namespace": NS}, "spec": {"githubConfigUrl": "https://github.com/org"}}
    f = Finding("ARC107", "error", "t", Subject("Secret", NS, "creds", "s1"), scale_set=f"{NS}/set")
    pasted = Pasted({"github_app_id": "123", "github_app_installation_id": "456", "github_app_private_key": key})
    plan = remedies.plan(f, Facts(secret, scale_set=ars, pasted=pasted))
    (write,) = plan.variants[0].operations            # no listener pod: nothing to restart
    after = apply_patch(secret, list(write.patch))
    assert sorted(after["data"]) == ["github_app_id", "github_app_installation_id", "github_app_private_key"]
    assert base64.b64decode(after["data"]["github_app_private_key"]).decode() == key
    shown = "\n".join([*plan.variants[0].kubectl, plan.variants[0].summary, repr(plan)])
    assert "MIIEow" not in shown and token not in shown and "[private key]" in plan.variants[0].summary
    assert "--from-file=github_app_private_key=app.pem" in plan.variants[0].kubectl[0]


def test_rotating_to_a_github_app_is_probed_written_and_the_listener_runs_with_it(creds, tmp_path):
    """ARC104 on expired-token-set, rotated to the scenario's GitHub App: a wrong installation id is refused by the
    probe (nothing written); the right one passes, the Secret holds the App's three keys and no token, the listener
    restarts with them and the finding clears."""
    sb, diag = creds
    app = sb.cluster.github.state.apps[0]
    f = diag.find("ARC104", f"{NS}/expired-token-set")
    fixer = diag.fixer(tmp_path)
    values = {"github_app_id": str(app.id), "github_app_installation_id": "1", "github_app_private_key":
              app.private_key_pem}
    mark = sb.mark()
    with pytest.raises(Refused, match="nothing was written"):
        fixer.plan(f, diag.latest()[0], pasted=Pasted(values))
    assert sb.mutating_since(mark) == []
    values["github_app_installation_id"] = str(app.installations[0].id)
    plan = fixer.plan(f, diag.latest()[0], pasted=Pasted(values))
    preview = fixer.preview(plan)
    assert preview.dry_run_verdict == "dry-run: accepted", preview.dry_run_verdict
    applied = fixer.apply(preview)
    assert applied.outcome == "applied", applied.message()
    data = client.CoreV1Api(api_client(sb)).read_namespaced_secret("expired-token", NS).data
    assert sorted(data) == ["github_app_id", "github_app_installation_id", "github_app_private_key"]
    key_line = app.private_key_pem.splitlines()[1]
    assert key_line not in "\n".join([*preview.diff_lines(), repr(plan), (tmp_path / "audit.jsonl").read_text()])
    diag.cleared(f, applied.at)

"""kube.dump's redaction on its own: a placeholder keeps every fact the checks derive from a credential and none
of its characters; other strings lose tokens and URL passwords."""

from __future__ import annotations

import base64

import pytest

from arc_top.kube import model
from arc_top.kube.dump import A_REDACTED, clean_object, redact_secret, redact_strings
from arc_top.kube.projections import project

TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
FINE = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVW"
PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4Z1+abc/def==\nQ2hlY2sgdGhpcw==\n"
       "-----END RSA PRIVATE KEY-----\n")
VALUES = [
    {"github_token": TOKEN}, {"github_token": TOKEN + "\n"}, {"github_token": " " + TOKEN},
    {"github_token": FINE}, {"github_token": "ghp_short"}, {"github_token": "ghp_ab cd" + "x" * 20},
    {"github_token": ""}, {"github_token": "\n"},
    {"github_app_id": "123456", "github_app_installation_id": "7890123 ", "github_app_private_key": PEM},
    {"github_app_id": "12a", "github_app_installation_id": "1", "github_app_private_key": "not a key"},
    {"github_app_private_key": "-----BEGIN PRIVATE KEY-----MIIEv+/QQ==-----END PRIVATE KEY-----"},
]


def _secret(values: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n", "uid": "u"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}}


def _facts(raw: dict) -> dict:
    body = project(model.SECRETS, raw, "Secret").body
    return {key: {k: v for k, v in facts.items() if k != "masked"} for key, facts in body["credentials"].items()}


@pytest.mark.parametrize("values", VALUES)
def test_a_placeholder_keeps_the_facts_and_none_of_the_value(values):
    raw = _secret(values)
    redacted = redact_secret(raw)
    assert _facts(redacted) == _facts(raw)
    assert redacted["metadata"]["annotations"][A_REDACTED] == ",".join(sorted(values))
    for value in values.values():
        decoded = {base64.b64decode(v).decode() for v in redacted["data"].values()}
        core = value.strip()
        if len(core) >= 8:
            assert not any(core[4:] in d for d in decoded)


def test_string_data_is_folded_in_and_redacted():
    raw = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"github_token": TOKEN,
                                                                                        "other": "hunter2hunter2"}}
    redacted = redact_secret(raw)
    assert "stringData" not in redacted
    assert base64.b64decode(redacted["data"]["other"]).decode() == "REDACTED"
    assert base64.b64decode(redacted["data"]["github_token"]).decode().startswith("ghp_REDACTED")


def test_tokens_and_url_passwords_are_masked_in_every_string():
    pod = {"spec": {"containers": [{"env": [{"name": "GH", "value": TOKEN},
                                            {"name": "PROXY", "value": "http://user:s3cretpass@proxy:3128"}],
                                    "args": [f"--token={TOKEN}", "Bearer abcdefghijklmnop"]}]}}
    text = repr(redact_strings(pod))
    assert TOKEN not in text and "s3cretpass" not in text and "abcdefghijklmnop" not in text
    assert "http://user:…@proxy:3128" in text and "GH" in text


def test_probe_results_round_trip_and_malformed_entries_are_left_out():
    import dataclasses
    import json

    from arc_top.kube.offline import probe_results
    from arc_top.probes.model import ProbeProblem, ProbeResult

    result = ProbeResult(namespace="n", secret="s", config_url="https://github.com/o", scale_sets=("n/a",),
                         kind="classic", identity="ghp_…", level="organization", target="o", scopes=("repo",),
                         permissions=(("metadata", "read"),), installation_id=7, expires_at=1.5e9,
                         problems=(ProbeProblem("ARC105", "missing-scope", detail="admin:org", evidence=("x",)),))
    text = json.dumps([dataclasses.asdict(result), {"namespace": "n"}, "garbage", {"namespace": 5, "secret": []},
                       {"namespace": "n", "secret": "t", "scale_sets": "n/a", "problems": [{"code": 1}, None],
                        "installation_id": True, "expires_at": "soon"}])
    got = probe_results(text)
    assert got[0] == result
    assert len(got) == 2
    assert got[1].scale_sets == () and got[1].problems == () and got[1].installation_id is None
    assert got[1].expires_at is None
    assert probe_results("[" * 100_000) == [] and probe_results(None) == []


def test_managed_fields_keep_when_spec_last_changed_and_nothing_else():
    """ARC409 dates an unregistered scale set by its last spec change (managedFields): a dump keeps that date."""

    raw = {"apiVersion": "actions.github.com/v1alpha1", "kind": "AutoscalingRunnerSet",
           "metadata": {"name": "set", "namespace": "n", "uid": "u", "creationTimestamp": "2026-12-01T10:00:00Z",
                        "managedFields": [
                            {"manager": "helm", "operation": "Update", "time": "2026-12-05T08:00:00Z",
                             "fieldsType": "FieldsV1",
                             "fieldsV1": {"f:spec": {"f:githubConfigUrl": {}}, "f:metadata": {"f:labels": {}}}},
                            {"manager": "controller", "operation": "Update", "subresource": "status",
                             "time": "2026-12-06T08:00:00Z", "fieldsType": "FieldsV1",
                             "fieldsV1": {"f:status": {"f:currentRunners": {}}}}]},
           "spec": {"githubConfigUrl": "https://github.com/org"}}
    cleaned = clean_object(raw)
    assert project(model.SCALE_SETS, cleaned, "AutoscalingRunnerSet").spec_changed == \
        project(model.SCALE_SETS, raw, "AutoscalingRunnerSet").spec_changed > 0
    assert "githubConfigUrl" not in str(cleaned["metadata"]["managedFields"])
    assert "currentRunners" not in str(cleaned["metadata"]["managedFields"])

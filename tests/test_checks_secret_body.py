"""kube.projections keeps Secret values out of the snapshot but derives the facts ARC103 needs."""

from __future__ import annotations

import base64

import pytest

from arc_top.kube import model
from arc_top.kube.projections import project

CLASSIC = "ghp_" + "Zq9Xw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa"
FINE = "github_pat_11AAAAAAA0" + "bcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd"
KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAq8Zx3Wv9Tn2Lm5Rp0Yd7\n-----END RSA PRIVATE KEY-----\n"


def _secret(values: dict[str, str], plain: bool = False) -> model.Named:
    raw = {"metadata": {"name": "s", "namespace": "ns", "uid": "u"}, "type": "Opaque"}
    if plain:
        raw["stringData"] = values
    else:
        raw["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}
    return project(model.SECRETS, raw, "Secret")


def _substrings(value: str, longer_than: int = 4):
    for i in range(len(value)):
        for j in range(i + longer_than + 1, len(value) + 1):
            yield value[i:j]


@pytest.mark.parametrize("plain", [False, True])
@pytest.mark.parametrize("token, prefix", [(CLASSIC, "ghp_"), (FINE, "github_pat_"), ("xoxb-" + "9" * 30, "")])
def test_no_part_of_a_value_longer_than_four_characters_except_the_prefix(token, prefix, plain):
    values = {"github_token": token + "\n", "github_app_id": "1234567", "github_app_installation_id": " 98765432",
              "github_app_private_key": KEY, "other": "s3cr3t-v4lue"}
    s = _secret(values, plain)
    text = repr(s) + repr(dict(s.body))
    for value in values.values():
        stripped = value.strip()
        leaks = [sub for sub in set(_substrings(stripped)) if sub in text and sub not in prefix]
        assert not leaks, leaks[:5]
    for encoded in (base64.b64encode(v.encode()).decode() for v in values.values()):
        assert encoded not in text


def test_token_facts():
    facts = _secret({"github_token": CLASSIC + "\n"}).body["credentials"]["github_token"]
    assert facts == {"empty": False, "whitespace": "trailing", "newline": True, "inner_whitespace": False,
                     "kind": "classic", "masked": "ghp_…FeDcBa"[:5] + CLASSIC[-4:]}
    fine = _secret({"github_token": FINE}, plain=True).body["credentials"]["github_token"]
    assert fine["kind"] == "fine-grained" and fine["masked"] == "github_pat_…" + FINE[-4:] and not fine["whitespace"]
    other = _secret({"github_token": "ghs_" + "a" * 36}).body["credentials"]["github_token"]
    assert other["kind"] == "other" and other["masked"].startswith("ghs_…")
    short = _secret({"github_token": "ghp_short"}).body["credentials"]["github_token"]
    assert short["masked"] == "ghp_…"


def test_app_facts_and_the_pem_final_newline():
    creds = _secret({"github_app_id": "123\n", "github_app_installation_id": "456",
                     "github_app_private_key": KEY}).body["credentials"]
    assert creds["github_app_id"]["whitespace"] == "trailing" and creds["github_app_id"]["integer"] is False
    assert creds["github_app_installation_id"] == {"empty": False, "whitespace": "", "newline": False,
                                                   "inner_whitespace": False, "integer": True}
    assert creds["github_app_private_key"] == {"empty": False, "whitespace": "", "newline": False, "pem": True}
    lead = _secret({"github_app_private_key": "  " + KEY}).body["credentials"]["github_app_private_key"]
    assert lead["whitespace"] == "leading"
    two = _secret({"github_app_private_key": KEY + "\n"}).body["credentials"]["github_app_private_key"]
    assert two["whitespace"] == "trailing"


def test_secrets_without_credential_keys_keep_the_old_body():
    s = _secret({"jitToken": "x" * 40})
    assert set(s.body) == {"type", "keys"} and s.body["keys"] == ("jitToken",)


def test_undecodable_and_junk_values_never_raise():
    raw = {"metadata": {"name": "s"}, "data": {"github_token": "!!!not base64!!!", "github_app_id": 5}}
    s = project(model.SECRETS, raw, "Secret")
    assert set(s.body["credentials"]) == {"github_token"} or "github_app_id" in s.body["credentials"]
    for junk in (None, [], {"data": "x"}, {"data": {"github_token": None}}, {"stringData": {"github_token": 1}}):
        project(model.SECRETS, junk, "Secret")

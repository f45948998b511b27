"""The fake GHES: HTTP answers like GitHub's, listener verdicts like ARC's, and no leaked secrets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest

from arc_top.sandbox.github import FakeGitHub, api_base, generate_rsa_key, parse_config_url
from arc_top.sandbox.github.jwt import arc_claims, load_private_key, sign_jwt

T0 = 1_780_000_000.0
HOST = "127.0.0.1:8443"
ORG_URL = f"https://{HOST}/arc-org"
REPO_URL = f"https://{HOST}/arc-org/app-repo"
ENT_URL = f"https://{HOST}/enterprises/arc-ent"

CLASSIC = "ghp_" + "C1assicTokenValue0000000000000a1b2"
CLASSIC_REPO_ONLY = "ghp_" + "RepoOnlyTokenValue000000000000c3d4"
CLASSIC_ENT = "ghp_" + "EnterpriseTokenValue0000000000e5f6"
REVOKED = "ghp_" + "RevokedTokenValue00000000000000g7h8"
EXPIRED = "ghp_" + "ExpiredTokenValue00000000000000i9j0"
FINE_OK = "github_pat_" + "11AAAAAAA0FineGrainedOk_0000000000000000000000000000k1l2"
FINE_NO_RUNNERS = "github_pat_" + "11AAAAAAA0FineGrainedNoRunners_00000000000000000000m3n4"
PAT_SECRETS = [CLASSIC, CLASSIC_REPO_ONLY, CLASSIC_ENT, REVOKED, EXPIRED, FINE_OK, FINE_NO_RUNNERS]


class Clock:
    def __init__(self, t: float = T0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def keys():
    return {"good": generate_rsa_key(slot="test-app"), "other": generate_rsa_key(slot="test-other")}


@pytest.fixture()
def clock():
    return Clock()


@pytest.fixture()
def gh(keys, clock):
    config = {
        "version": "3.14.0",
        "orgs": {"arc-org": {"runner_groups": ["Default", "gpu"]}, "other-org": {}},
        "repos": ["arc-org/app-repo"],
        "enterprises": {"arc-ent": {"runner_groups": ["Default"]}},
        "tokens": [
            {"value": CLASSIC, "type": "classic", "login": "arc-admin", "scopes": ["repo", "admin:org"],
             "expires_in_days": 3},
            {"value": CLASSIC_REPO_ONLY, "scopes": ["repo"]},
            {"value": CLASSIC_ENT, "scopes": ["manage_runners:enterprise"]},
            {"value": REVOKED, "type": "classic", "revoked": True, "scopes": ["admin:org"]},
            {"value": EXPIRED, "scopes": ["admin:org"], "expires_in_days": -1},
            {"value": FINE_OK, "type": "fine-grained", "owner": "arc-org",
             "permissions": {"organization_self_hosted_runners": "write", "administration": "write"}},
            {"value": FINE_NO_RUNNERS, "type": "fine-grained", "owner": "arc-org",
             "permissions": {"administration": "read"}},
        ],
        "apps": [
            {"id": 101, "client_id": "Iv1.abc", "slug": "arc-app", "public_key_pem": keys["good"][1],
             "installations": [{"id": 9001, "account": "arc-org",
                                "permissions": {"organization_self_hosted_runners": "write",
                                                "administration": "write", "metadata": "read"}},
                               {"id": 9002, "account": "other-org", "permissions": {"metadata": "read"}}]},
            {"id": 202, "slug": "no-install-app", "public_key_pem": keys["good"][1],
             "installations": [{"id": 9003, "account": "other-org",
                                "permissions": {"organization_self_hosted_runners": "write"}}]},
        ],
    }
    return FakeGitHub(config, now=clock)


def call(gh, method, path, token=None, body=b"", scheme="Bearer"):
    headers = {"Host": HOST, "Accept": "application/vnd.github+json"}
    if token is not None:
        headers["authorization"] = f"{scheme} {token}"
    status, headers, raw = gh.handle(method, path, headers, body)
    return status, headers, json.loads(raw)


def app_jwt(private_pem, issuer, now):
    return sign_jwt(load_private_key(private_pem), arc_claims(issuer, now))


def app_secret(keys, app_id="101", installation="9001", key="good"):
    return {"github_app_id": app_id, "github_app_installation_id": installation,
            "github_app_private_key": keys[key][0]}


# -- PATs over HTTP ----------------------------------------------------------------------------

def test_classic_token_user_has_scopes_and_github_headers(gh):
    status, headers, body = call(gh, "GET", "/api/v3/user", CLASSIC)
    assert status == 200
    assert body["login"] == "arc-admin" and body["type"] == "User" and isinstance(body["id"], int)
    assert headers["X-OAuth-Scopes"] == "repo, admin:org"
    assert headers["X-GitHub-Enterprise-Version"] == "3.14.0"
    assert headers["X-GitHub-Media-Type"] == "github.v3; format=json"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["X-RateLimit-Limit"] == "5000" and headers["X-RateLimit-Resource"] == "core"
    assert parsedate_to_datetime(headers["Date"]).timestamp() == T0
    remaining = int(headers["X-RateLimit-Remaining"])
    _, again, _ = call(gh, "GET", "/api/v3/user", CLASSIC, scheme="token")
    assert int(again["X-RateLimit-Remaining"]) == remaining - 1
    assert int(again["X-RateLimit-Used"]) == 5000 - remaining + 1


@pytest.mark.parametrize("token", [REVOKED, EXPIRED, "ghp_unknown0000000000000000000000000000"])
def test_revoked_expired_unknown_tokens_are_bad_credentials(gh, token):
    status, _, body = call(gh, "GET", "/api/v3/user", token)
    assert status == 401
    assert body == {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
                    "status": "401"}


def test_expiring_token_reports_expiration_header(gh):
    _, headers, _ = call(gh, "GET", "/api/v3/user", CLASSIC)
    value = headers["github-authentication-token-expiration"]
    expires = datetime.strptime(value, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
    assert abs(expires.timestamp() - (T0 + 3 * 86400)) < 2
    _, no_expiry, _ = call(gh, "GET", "/api/v3/user", CLASSIC_REPO_ONLY)
    assert "github-authentication-token-expiration" not in no_expiry


def test_token_expires_when_clock_passes(gh, clock):
    clock.t += 3 * 86400 + 1
    assert call(gh, "GET", "/api/v3/user", CLASSIC)[0] == 401


def test_classic_missing_admin_org_is_forbidden_with_accepted_scopes(gh):
    status, headers, body = call(gh, "GET", "/api/v3/orgs/arc-org/actions/runners", CLASSIC_REPO_ONLY)
    assert status == 403
    assert "You must be an org admin" in body["message"]
    assert headers["X-Accepted-OAuth-Scopes"] == "admin:org"
    status, _, body = call(gh, "GET", "/api/v3/orgs/arc-org/actions/runners", CLASSIC)
    assert status == 200 and body == {"total_count": 0, "runners": []}
    assert call(gh, "GET", "/api/v3/repos/arc-org/app-repo/actions/runners", CLASSIC_REPO_ONLY)[0] == 200


def test_classic_enterprise_needs_manage_runners_enterprise(gh):
    status, headers, _ = call(gh, "GET", "/api/v3/enterprises/arc-ent/actions/runners", CLASSIC)
    assert status == 403 and headers["X-Accepted-OAuth-Scopes"] == "manage_runners:enterprise"
    assert call(gh, "GET", "/api/v3/enterprises/arc-ent/actions/runners", CLASSIC_ENT)[0] == 200
    outcome = gh.evaluate_listener(ENT_URL, {"github_token": CLASSIC}, None)
    assert (outcome.ok, outcome.reason) == (False, "forbidden")
    assert gh.evaluate_listener(ENT_URL, {"github_token": CLASSIC_ENT}, None).ok


def test_fine_grained_without_runner_permission(gh):
    status, headers, body = call(gh, "GET", "/api/v3/orgs/arc-org/actions/runners", FINE_NO_RUNNERS)
    assert status == 403 and body["message"] == "Resource not accessible by personal access token"
    assert headers["X-Accepted-GitHub-Permissions"] == "organization_self_hosted_runners=read"
    status, headers, _ = call(gh, "POST", "/api/v3/orgs/arc-org/actions/runners/registration-token",
                              FINE_NO_RUNNERS)
    assert status == 403
    assert headers["X-Accepted-GitHub-Permissions"] == "organization_self_hosted_runners=write"
    assert "X-OAuth-Scopes" not in call(gh, "GET", "/api/v3/user", FINE_OK)[1]
    assert call(gh, "GET", "/api/v3/orgs/arc-org/actions/runners", FINE_OK)[0] == 200
    assert call(gh, "GET", "/api/v3/enterprises/arc-ent/actions/runners", FINE_OK)[0] == 403
    assert gh.evaluate_listener(ORG_URL, {"github_token": FINE_NO_RUNNERS}, None).reason == "forbidden"
    assert gh.evaluate_listener(ORG_URL, {"github_token": FINE_OK}, None).ok


def test_registration_token_unknown_targets_and_routing(gh):
    status, _, body = call(gh, "POST", "/api/v3/repos/arc-org/app-repo/actions/runners/registration-token",
                           CLASSIC)
    assert status == 201 and body["token"].startswith("AABB") and body["expires_at"].endswith("Z")
    assert call(gh, "GET", "/api/v3/orgs/nope/actions/runners", CLASSIC)[2]["message"] == "Not Found"
    assert call(gh, "GET", "/api/v3/repos/arc-org/nope/actions/runners", CLASSIC)[0] == 404
    assert call(gh, "GET", "/api/v3/orgs/arc-org/actions/runners")[0] == 401
    assert call(gh, "GET", "/api/v3/no/such/path", CLASSIC)[0] == 404
    assert call(gh, "DELETE", "/api/v3/user", CLASSIC)[0] == 404           # wrong method: 404 like GitHub
    assert call(gh, "GET", "/api/v3/meta")[2]["installed_version"] == "3.14.0"
    assert call(gh, "GET", "/api/v3")[0] == 200
    status, _, groups = call(gh, "GET", "/api/v3/orgs/arc-org/actions/runner-groups?per_page=100", CLASSIC)
    assert status == 200 and [g["name"] for g in groups["runner_groups"]] == ["Default", "gpu"]


def test_runtime_mutations(gh):
    gh.revoke_token(CLASSIC)
    assert call(gh, "GET", "/api/v3/user", CLASSIC)[0] == 401
    new = "ghp_" + "AddedAtRuntime0000000000000000000zz99"
    gh.add_token({"value": new, "scopes": ["admin:org"]})
    assert gh.evaluate_listener(ORG_URL, {"github_token": new}, "gpu").ok


# -- GitHub App ------------------------------------------------------------------------------

def test_app_jwt_flow_mints_usable_installation_token(gh, keys):
    token = app_jwt(keys["good"][0], 101, T0)
    status, _, body = call(gh, "GET", "/api/v3/app", token)
    assert status == 200 and body["id"] == 101 and body["slug"] == "arc-app"
    assert call(gh, "GET", "/api/v3/app", app_jwt(keys["good"][0], "Iv1.abc", T0))[0] == 200
    assert call(gh, "GET", "/api/v3/orgs/arc-org/installation", token)[2]["id"] == 9001
    assert call(gh, "GET", "/api/v3/repos/arc-org/app-repo/installation", token)[2]["id"] == 9001
    assert len(call(gh, "GET", "/api/v3/app/installations", token)[2]) == 2
    status, _, minted = call(gh, "POST", "/api/v3/app/installations/9001/access_tokens", token)
    assert status == 201 and minted["token"].startswith("ghs_")
    assert minted["permissions"]["organization_self_hosted_runners"] == "write"
    assert call(gh, "GET", "/api/v3/orgs/arc-org/actions/runners", minted["token"])[0] == 200
    assert call(gh, "GET", "/api/v3/repos/arc-org/app-repo/actions/runners", minted["token"])[0] == 200
    assert gh.evaluate_listener(ORG_URL, app_secret(keys), "gpu").ok
    assert gh.evaluate_listener(REPO_URL, app_secret(keys), None).ok


def test_app_with_wrong_key(gh, keys):
    status, _, body = call(gh, "GET", "/api/v3/app", app_jwt(keys["other"][0], 101, T0))
    assert status == 401 and body["message"] == "A JSON web token could not be decoded"
    assert call(gh, "GET", "/api/v3/app", CLASSIC)[0] == 401
    outcome = gh.evaluate_listener(ORG_URL, app_secret(keys, key="other"), None)
    assert outcome.reason == "bad-jwt"
    assert any("failed to get access token for GitHub App auth (401" in line for line in outcome.log_lines)
    assert gh.evaluate_listener(ORG_URL, app_secret(keys), None).ok       # cache is per key


def test_app_not_installed_on_org(gh, keys):
    token = app_jwt(keys["good"][0], 202, T0)
    status, _, body = call(gh, "GET", "/api/v3/orgs/arc-org/installation", token)
    assert status == 404 and body["message"] == "Not Found"
    outcome = gh.evaluate_listener(ORG_URL, app_secret(keys, "202", "9003"), None)
    assert outcome.reason == "not-installed" and "404" in outcome.log_lines[-1]
    assert gh.evaluate_listener(ORG_URL, app_secret(keys, "101", "7777"), None).reason == "not-installed"


def test_app_without_runner_permission(gh, keys):
    token = app_jwt(keys["good"][0], 101, T0)
    minted = call(gh, "POST", "/api/v3/app/installations/9002/access_tokens", token)[2]["token"]
    status, headers, body = call(gh, "GET", "/api/v3/orgs/other-org/actions/runners", minted)
    assert status == 403 and body["message"] == "Resource not accessible by integration"
    assert headers["X-Accepted-GitHub-Permissions"] == "organization_self_hosted_runners=read"
    outcome = gh.evaluate_listener(f"https://{HOST}/other-org", app_secret(keys, installation="9002"), None)
    assert outcome.reason == "forbidden" and "Resource not accessible by integration" in outcome.log_lines[-1]
    assert gh.evaluate_listener(ENT_URL, app_secret(keys), None).reason == "forbidden"


def test_app_clock_skew(gh, keys, clock):
    gh.set_clock_skew(101, -300)              # GitHub's clock 5 minutes behind the listener's
    status, headers, body = call(gh, "GET", "/api/v3/app", app_jwt(keys["good"][0], 101, T0))
    assert status == 401 and body["message"] == "'Expiration time' claim ('exp') is too far in the future"
    assert parsedate_to_datetime(headers["Date"]).timestamp() == T0 - 300
    assert parsedate_to_datetime(call(gh, "GET", "/api/v3/user", CLASSIC)[1]["Date"]).timestamp() == T0
    outcome = gh.evaluate_listener(ORG_URL, app_secret(keys), None)
    assert outcome.reason == "clock-skew" and "too far in the future" in outcome.log_lines[-1]
    gh.set_clock_skew(101, 600)               # GitHub 10 minutes ahead: the JWT is already expired
    outcome = gh.evaluate_listener(ORG_URL, app_secret(keys), None)
    assert outcome.reason == "clock-skew" and "must be a numeric value representing the future" in \
        outcome.log_lines[-1]
    gh.set_clock_skew(101, 0)
    assert gh.evaluate_listener(ORG_URL, app_secret(keys), None).ok


# -- listener start-up -----------------------------------------------------------------------

def test_token_with_trailing_newline_is_bad_header_and_masked(gh):
    outcome = gh.evaluate_listener(ORG_URL, {"github_token": CLASSIC + "\n"}, None)
    assert (outcome.ok, outcome.reason) == (False, "bad-header")
    text = "\n".join(outcome.log_lines)
    assert 'invalid header field value "Bearer ghp_…a1b2\\n" for key Authorization' in text
    assert CLASSIC not in text and CLASSIC[4:-4] not in text


@pytest.mark.parametrize(("secret", "reason", "core"), [
    (None, "no-secret", "secret"),
    ({}, "no-credentials", "no credentials provided"),
    ({"github_token": CLASSIC, "github_app_id": "101"}, "both-credentials",
     "both PAT and GitHub App credentials provided"),
    ({"github_token": REVOKED}, "bad-credentials", "401 - {\"message\":\"Bad credentials\""),
    ({"github_token": EXPIRED}, "expired", "Bad credentials"),
    ({"github_token": CLASSIC_REPO_ONLY}, "forbidden", "403 - {\"message\":\"You must be an org admin"),
])
def test_listener_pat_outcomes(gh, secret, reason, core):
    outcome = gh.evaluate_listener(ORG_URL, secret, None)
    assert (outcome.ok, outcome.reason) == (False, reason)
    assert core in outcome.log_lines[-1] and "Application returned an error" in outcome.log_lines[-1]


def test_listener_app_id_whitespace(gh, keys):
    outcome = gh.evaluate_listener(ORG_URL, app_secret(keys, app_id="101\n"), None)
    assert outcome.reason == "bad-app-id"
    assert 'strconv.ParseInt: parsing "101\\n": invalid syntax' in outcome.log_lines[-1]
    outcome = gh.evaluate_listener(ORG_URL, app_secret(keys, installation="9001\n"), None)
    assert outcome.reason == "bad-app-id" and 'parsing "9001\\n"' in outcome.log_lines[-1]
    assert gh.evaluate_listener(ORG_URL, app_secret(keys, app_id="Iv1.abc"), None).ok


def test_listener_url_group_and_healthy_lines(gh):
    outcome = gh.evaluate_listener(f"https://{HOST}/api/v3/orgs/arc-org", {"github_token": CLASSIC}, None)
    assert outcome.reason == "invalid-url"
    assert "invalid config URL, should point to an enterprise, org, or repository" in outcome.log_lines[-1]
    outcome = gh.evaluate_listener(ORG_URL, {"github_token": CLASSIC}, "gpu2")
    assert outcome.reason == "no-runner-group"
    assert 'no runner group found with name "gpu2"' in outcome.log_lines[-1]
    ghost = gh.evaluate_listener(f"https://{HOST}/ghost-org", {"github_token": CLASSIC}, None)
    assert ghost.reason == "not-found"
    outcome = gh.evaluate_listener(ORG_URL, {"github_token": CLASSIC}, "gpu")
    assert outcome.ok and outcome.reason == "ok"
    text = "\n".join(outcome.log_lines)
    assert "getting runner registration token" in text and "Current runner scale set statistics" in text


# -- URLs ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "expected"), [
    ("https://github.com/arc-org", ("organization", None, "arc-org", None)),
    ("https://github.com/arc-org/", ("organization", None, "arc-org", None)),
    ("https://ghes.example.com/arc-org/app-repo", ("repository", None, "arc-org", "app-repo")),
    ("http://127.0.0.1:8443/enterprises/arc-ent", ("enterprise", "arc-ent", None, None)),
    ("https://api.github.com/arc-org", None),
    ("https://ghes.example.com/api/v3/orgs/arc-org", None),
    ("https://ghes.example.com/api/v3", None),
    ("https://github.com/arc-org/app-repo/extra", None),
    ("ftp://github.com/arc-org", None),
    ("https://github.com", None),
    ("https://github.com/", None),
    ("github.com/arc-org", None),
    ("https://github.com/arc-org\n", None),
    ("", None),
])
def test_parse_config_url(url, expected):
    parsed = parse_config_url(url)
    if expected is None:
        assert parsed is None
    else:
        assert (parsed.level, parsed.enterprise, parsed.org, parsed.repo) == expected


def test_api_base():
    assert api_base("https://github.com/arc-org") == "https://api.github.com"
    assert api_base("https://www.github.com/arc-org") == "https://api.github.com"
    assert api_base("https://acme.ghe.com/arc-org") == "https://api.acme.ghe.com"
    assert api_base("http://127.0.0.1:8443/arc-org") == "http://127.0.0.1:8443/api/v3"
    assert parse_config_url(REPO_URL).api_base == f"https://{HOST}/api/v3"


# -- no secret ever leaks ------------------------------------------------------------------

def test_no_secret_in_any_response_or_log_line(gh, keys, clock):
    key_lines = [ln for ln in keys["good"][0].splitlines() + keys["other"][0].splitlines()
                 if ln and not ln.startswith("-----")]
    jwts = [app_jwt(keys["good"][0], 101, T0), app_jwt(keys["other"][0], 101, T0)]
    tokens = PAT_SECRETS + jwts
    seen: list[str] = []
    minted: list[str] = []

    def record(method, path, token=None, body=b""):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        status, out_headers, raw = gh.handle(method, path, headers, body)
        if path.endswith("/access_tokens") and status == 201:
            minted.append(json.loads(raw)["token"])      # handing out the new token is the endpoint's job
            return
        seen.append(raw.decode())
        seen.extend(f"{k}: {v}" for k, v in out_headers.items())

    paths = ["/api/v3/user", "/api/v3/app", "/api/v3/app/installations", "/api/v3/orgs/arc-org/installation",
             "/api/v3/orgs/arc-org/actions/runners", "/api/v3/repos/arc-org/app-repo/actions/runners",
             "/api/v3/enterprises/arc-ent/actions/runners", "/api/v3/orgs/arc-org/actions/runner-groups",
             "/api/v3/nope"]
    for token in tokens + [CLASSIC + "x", None]:
        for path in paths:
            record("GET", path, token)
        record("POST", "/api/v3/orgs/arc-org/actions/runners/registration-token", token)
        record("POST", "/api/v3/app/installations/9001/access_tokens", token)
    for token in minted:
        record("GET", "/api/v3/orgs/arc-org/actions/runners", token)
        record("GET", "/api/v3/user", token)

    secrets = [{"github_token": t + ws} for t in PAT_SECRETS + minted for ws in ("", "\n", " ", "\r\n")]
    secrets += [app_secret(keys, key=k) for k in ("good", "other")]
    secrets += [dict(app_secret(keys), github_app_private_key="not a key")]
    for skew in (0, -300, 900):
        gh.set_clock_skew(101, skew)
        for url in (ORG_URL, REPO_URL, ENT_URL, "https://api.github.com/x"):
            for data in secrets:
                seen.extend(gh.evaluate_listener(url, data, "gpu").log_lines)

    haystack = "\n".join(seen)
    assert minted and "Bad credentials" in haystack and "invalid header field value" in haystack
    for secret in tokens + minted + key_lines:
        assert secret not in haystack
        assert secret[4:-4] not in haystack      # not even the token's middle

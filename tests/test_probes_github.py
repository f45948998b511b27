"""The credential probes against the sandbox's fake GHES over HTTPS: every variant gives its code and a message
naming the fix; an unreachable GitHub gives ARC000 within the timeout; proxies, CAs and rate limits are honoured."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest

from arc_top import probes
from arc_top.checks import credentials
from arc_top.checks.credentials import ProbeResult, probe_findings
from arc_top.probes.client import GitHubClient, RateLimited
from arc_top.probes.model import Credentials
from arc_top.sandbox.cluster import Cluster
from arc_top.sandbox.github import FakeGitHub
from arc_top.sandbox.server import SandboxServer
from tests import probes_fixtures as fx


@pytest.fixture(scope="module")
def ghes():
    cluster = Cluster()
    server = SandboxServer(cluster)
    cluster.github = FakeGitHub(fx.github_config())
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def pool():
    p = probes.ClientPool(timeout=5.0)
    yield p
    p.close()


def run_variant(ghes, pool, name: str) -> ProbeResult:
    values, path = fx.variant_values(name)
    creds = Credentials("arc-runners", f"{name}-secret", "7", values)
    return probes.probe(creds, ghes.url + path, pool=pool, ca_pems=[ghes.certificates.ca_pem],
                        scale_sets=[f"arc-runners/{name}-set"])


@pytest.mark.parametrize("name", list(fx.expectations()))
def test_each_variant_gives_its_code_and_a_fix(ghes, pool, name):
    code, severity, title_words, fix_words = fx.expectations()[name]
    result = run_variant(ghes, pool, name)
    assert result.evaluated, result.reason
    found = probe_findings([result])
    if code is None:
        assert result.ok and found == [], (result, found)
        return
    assert [f.code for f in found] == [code], found
    f = found[0]
    assert f.severity == severity
    assert (f.subject.kind, f.subject.namespace, f.subject.name) == ("Secret", "arc-runners", f"{name}-secret")
    assert f.scale_set == f"arc-runners/{name}-set"
    for words in title_words:
        assert words in f.title, f.title
    for words in fix_words:
        assert words in f.fix, f.fix
    assert f"arc-runners/{name}-secret" in f.fix or code == "ARC107" or "Secret" in f.fix
    assert f.docs.startswith("https://")


def test_valid_results_carry_identity_scopes_expiry_and_permissions(ghes, pool):
    token = run_variant(ghes, pool, "valid")
    assert (token.kind, token.identity, token.login) == ("classic", "ghp_…v4l1", "arc-admin")
    assert token.scopes == ("repo", "admin:org") and token.level == "organization" and token.target == "arc-org"
    assert 59 < (token.expires_at - time.time()) / 86400 < 61
    assert token.api_base == ghes.url + "/api/v3" and token.elapsed > 0 and token.probed_at > 0
    line = credentials.summary(token)
    assert "classic PAT ghp_…v4l1 (arc-admin)" in line and line.endswith("ok")
    app = run_variant(ghes, pool, "app-valid")
    assert (app.kind, app.identity, app.installation_id) == ("app", "app 101 (arc-app)", 9001)
    assert app.permissions_map == fx.RUNNERS_WRITE and abs(app.clock_skew) < 5
    fine = run_variant(ghes, pool, "fine-no-runners")
    assert fine.kind == "fine-grained" and fine.scopes is None
    assert fine.problems[0].evidence[-1] == "X-Accepted-GitHub-Permissions: organization_self_hosted_runners=read"


def test_clock_skew_is_measured_from_the_date_header_and_the_rest_still_checked(ghes, pool):
    result = run_variant(ghes, pool, "app-clock-skew")
    assert -302 < result.clock_skew < -298
    assert [p.kind for p in result.problems] == ["clock-skew"]       # signed again on GitHub's clock: installed
    assert result.installation_id == 9005 and result.identity == "app 404 (skewed-app)"
    assert any("too far in the future" in line for line in result.problems[0].evidence)


def test_wrong_installation_id_and_app_at_enterprise_level(ghes, pool):
    creds = Credentials("ns", "s", "1", fx.app_values(101, "good", 7777))
    result = probes.probe(creds, ghes.url + f"/{fx.ORG}", pool=pool, ca_pems=[ghes.certificates.ca_pem])
    assert [(p.code, p.kind) for p in result.problems] == [("ARC107", "installation-mismatch")]
    assert "to 9001" in probe_findings([result])[0].fix
    result = probes.probe(creds, ghes.url + f"/enterprises/{fx.ENT}", pool=pool, ca_pems=[ghes.certificates.ca_pem])
    assert [p.kind for p in result.problems] == ["app-enterprise"]
    assert "classic PAT with manage_runners:enterprise" in probe_findings([result])[0].fix


def test_repository_level_and_not_visible(ghes, pool):
    ca = [ghes.certificates.ca_pem]
    creds = Credentials("ns", "s", "1", {"github_token": fx.TOKENS["repo-only"]})
    assert probes.probe(creds, ghes.url + f"/{fx.ORG}/{fx.REPO}", pool=pool, ca_pems=ca).ok
    result = probes.probe(creds, ghes.url + f"/{fx.ORG}/no-such-repo", pool=pool, ca_pems=ca)
    assert [(p.code, p.kind) for p in result.problems] == [("ARC105", "not-visible")]


def test_trimmed_token_is_probed_and_the_whitespace_noted(ghes, pool):
    creds = Credentials("ns", "s", "1", {"github_token": fx.TOKENS["valid"] + "\n"})
    result = probes.probe(creds, ghes.url + f"/{fx.ORG}", pool=pool, ca_pems=[ghes.certificates.ca_pem])
    assert result.ok and "see ARC103" in result.notes[0]


@pytest.mark.parametrize(("values", "url", "words"), [
    ({}, "/arc-org", "holds no credential (see ARC102)"),
    ({"github_token": "ghp_x" * 8, "github_app_id": "1"}, "/arc-org", "both a token and GitHub App keys"),
    ({"github_app_id": "1"}, "/arc-org", "incomplete GitHub App keys"),
    ({"github_token": "ghp_aaaa bbbb"}, "/arc-org", "fits in an HTTP header"),
    ({"github_token": "ghp_" + "a" * 36}, "/api/v3/orgs/arc-org", "valid githubConfigUrl (see ARC108)"),
])
def test_what_cannot_be_probed_is_not_evaluated(ghes, pool, values, url, words):
    result = probes.probe(Credentials("ns", "s", "1", values), ghes.url + url, pool=pool,
                          ca_pems=[ghes.certificates.ca_pem])
    assert not result.evaluated and words in result.reason
    [f] = probe_findings([result])
    assert f.code == "ARC000" and f.severity == "info" and words in f.title


def test_a_private_key_that_is_not_a_key(ghes, pool):
    values = dict(fx.app_values(101, "good", 9001), github_app_private_key="not a key")
    result = probes.probe(Credentials("ns", "s", "1", values), ghes.url + "/arc-org", pool=pool,
                          ca_pems=[ghes.certificates.ca_pem])
    assert [(p.code, p.kind) for p in result.problems] == [("ARC107", "bad-key")]


# ---- GitHub unreachable ----------------------------------------------------------------------------------------
def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class CountingTransport(httpx.HTTPTransport):
    """The real transport, counting the requests it was asked to send (each one a connection attempt here)."""

    def __init__(self):
        super().__init__()
        self.requests = 0

    def handle_request(self, request):
        self.requests += 1
        return super().handle_request(request)


def test_closed_port_is_not_evaluated_at_once():
    """At once: a refused connection is retried once (after a short delay), and the reason says refused, so no
    timeout was waited for."""
    creds = Credentials("ns", "s", "1", {"github_token": fx.TOKENS["valid"]})
    transport = CountingTransport()
    pool = probes.ClientPool(timeout=2.0, transport=transport)
    try:
        result = probes.probe(creds, f"https://127.0.0.1:{_closed_port()}/arc-org", pool=pool)
    finally:
        pool.close()
    assert not result.evaluated and "unreachable from this machine" in result.reason
    assert "refused" in result.reason.lower() and "no answer within" not in result.reason
    assert transport.requests == 2                     # one quick retry
    [f] = probe_findings([result])
    assert f.code == "ARC000" and f.severity == "info"


def test_a_silent_server_is_not_evaluated_within_the_timeout():
    """Within the timeout: the probe waits for it once (a timeout is not retried) and then gives up."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)                     # accepts TCP (backlog) but never answers the TLS handshake
    transport = CountingTransport()
    pool = probes.ClientPool(timeout=1.0, transport=transport)
    try:
        creds = Credentials("ns", "s", "1", {"github_token": fx.TOKENS["valid"]})
        started = time.monotonic()
        result = probes.probe(creds, f"https://127.0.0.1:{silent.getsockname()[1]}/arc-org", pool=pool)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
        pool.close()
    assert not result.evaluated and "no answer within 1 s" in result.reason
    assert transport.requests == 1                     # no retry after a timeout
    assert elapsed >= 0.9 and result.elapsed >= 0.9    # it did wait for the timeout (a lower bound only)
    assert result.elapsed <= round(elapsed, 3) + 0.001  # and reports the time it took


def test_untrusted_certificate_names_the_fix(ghes):
    creds = Credentials("ns", "s", "1", {"github_token": fx.TOKENS["valid"]})
    result = probes.probe(creds, ghes.url + "/arc-org", ca_note="")
    assert not result.evaluated and "certificate is not trusted" in result.reason
    assert "--github-ca" in result.reason and "githubServerTLS" in result.reason
    result = probes.probe(creds, ghes.url + "/arc-org", ca_note="the githubServerTLS CA in ConfigMap x/y could "
                          "not be read: get configmaps is forbidden")
    assert "get configmaps is forbidden" in result.reason


def test_https_proxy_and_no_proxy_are_honoured(ghes, monkeypatch):
    creds = Credentials("ns", "s", "1", {"github_token": fx.TOKENS["valid"]})
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    result = probes.probe(creds, ghes.url + "/arc-org", ca_pems=[ghes.certificates.ca_pem])
    assert not result.evaluated and "unreachable" in result.reason
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert probes.probe(creds, ghes.url + "/arc-org", ca_pems=[ghes.certificates.ca_pem]).ok


# ---- client: headers, retry, rate limit -------------------------------------------------------------------
def test_client_sends_githubs_headers_and_retries_once_on_a_network_error():
    seen: list[httpx.Request] = []
    failures = iter([True, False])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if next(failures):
            raise httpx.ConnectError("connection reset", request=request)
        return httpx.Response(200, json={"login": "x"}, headers={"X-RateLimit-Remaining": "41",
                                                                 "X-RateLimit-Reset": "1900000000"})

    client = GitHubClient("https://ghe.example/api/v3", transport=httpx.MockTransport(handler), retry_delay=0)
    reply = client.get("/user", authorization="Bearer ghp_" + "h" * 36)
    assert reply.status == 200 and len(seen) == 2
    headers = seen[-1].headers
    assert headers["accept"] == "application/vnd.github+json" and headers["x-github-api-version"] == "2022-11-28"
    assert headers["authorization"] == "Bearer ghp_" + "h" * 36 and str(seen[-1].url) == "https://ghe.example/api/v3/user"
    assert client.rate.remaining == 41 and "ghp_" not in repr(client)


def test_rate_limit_is_not_evaluated_and_no_further_request_is_made():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(403, json={"message": "API rate limit exceeded for user ID 1."},
                              headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 600)})

    pool = probes.ClientPool(transport=httpx.MockTransport(handler))
    creds = Credentials("ns", "s", "1", {"github_token": fx.TOKENS["valid"]})
    result = probes.probe(creds, "https://github.com/arc-org", pool=pool)
    assert not result.evaluated and "rate limit is used up until" in result.reason
    assert result.api_base == "https://api.github.com" and len(calls) == 1
    with pytest.raises(RateLimited):
        pool.client("https://api.github.com").get("/user", authorization="Bearer x")
    assert len(calls) == 1


@pytest.mark.parametrize(("url", "base", "level", "name"), [
    ("https://github.com/arc-org", "https://api.github.com", "organization", "arc-org"),
    ("https://www.github.com/arc-org/app", "https://api.github.com", "repository", "arc-org/app"),
    ("https://acme.ghe.com/enterprises/acme", "https://api.acme.ghe.com", "enterprise", "enterprises/acme"),
    ("https://ghes.example.com:8443/arc-org", "https://ghes.example.com:8443/api/v3", "organization", "arc-org"),
    ("http://ghes.local/o/r/", "http://ghes.local/api/v3", "repository", "o/r"),
])
def test_api_base_and_level_from_the_config_url(url, base, level, name):
    target = probes.parse(url)
    assert (target.api_base, target.level, target.name) == (base, level, name)
    assert probes.parse("https://api.github.com/arc-org") is None and probes.parse("https://github.com") is None


def test_probes_run_in_parallel_threads_share_one_client(ghes):
    pool = probes.ClientPool()
    results: list[ProbeResult] = []
    names = list(fx.expectations())

    def one(name: str) -> None:
        values, path = fx.variant_values(name)
        results.append(probes.probe(Credentials("ns", name, "1", values), ghes.url + path, pool=pool,
                                    ca_pems=[ghes.certificates.ca_pem]))

    threads = [threading.Thread(target=one, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    pool.close()
    assert len(results) == len(names) and all(r.evaluated for r in results)
    assert len({r.api_base for r in results}) == 1
    json.dumps([credentials.summary(r) for r in results])

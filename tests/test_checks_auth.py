"""ARC101–ARC109: the credentials Secret, its values' shape, githubConfigUrl and the kind of credential."""

from __future__ import annotations

import pytest

from arc_top.kube import model
from tests.checks_fixtures import APP, APP_KEY, TOKEN, codes, fleet, of, replace, secret, tail, without


def test_a_healthy_fleet_has_no_credential_findings():
    assert not codes(fleet()) & {"ARC101", "ARC102", "ARC103", "ARC108", "ARC109"}


# ---- ARC101 ------------------------------------------------------------------------------------------------
def test_arc101_missing_secret_on_the_scale_set():
    [f] = of(without(fleet(), "Secret"), "ARC101")
    assert f.severity == "error" and f.subject.kind == "AutoscalingRunnerSet" and f.subject.uid
    assert f.scale_set == "arc-runners/arc-runner-set"
    assert any("arc-github-app" in e for e in f.evidence)
    assert not of(fleet(), "ARC101")


def test_arc101_secret_in_another_namespace_does_not_count():
    raws = without(fleet(), "Secret") + [secret("arc-github-app", "elsewhere", APP)]
    assert of(raws, "ARC101")


def test_secrets_unreadable_give_one_arc000_per_namespace_and_no_guess():
    found = of(fleet(), "ARC000", states={model.SECRETS: "forbidden"})
    assert len(found) == 1
    assert "ARC101–ARC103" in found[0].title and "secrets in arc-runners" in found[0].title
    assert found[0].severity == "info" and found[0].subject.kind == "Namespace"
    assert not codes(fleet(), states={model.SECRETS: "forbidden"}) & {"ARC101", "ARC102", "ARC103", "ARC109"}


def test_secrets_still_loading_are_not_guessed_either():
    found = of(without(fleet(), "Secret"), "ARC000", states={model.SECRETS: "syncing"})
    assert found and "wait for secrets" in found[0].title
    assert not of(without(fleet(), "Secret"), "ARC101", states={model.SECRETS: "syncing"})


# ---- ARC102 ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("values, words", [
    ({"github_app_id": "1"}, "missing github_app_installation_id"),
    ({"github_token": TOKEN, **APP}, "both"),
    ({"token": TOKEN}, "neither"),
    ({"github_token": ""}, "neither"),
])
def test_arc102_wrong_keys(values, words):
    raws = replace(fleet(), "Secret", "arc-github-app", lambda o: o.update(secret("arc-github-app", "arc-runners",
                                                                                  values)))
    [f] = of(raws, "ARC102")
    assert f.subject.kind == "Secret" and f.subject.name == "arc-github-app" and f.subject.uid
    assert words in " ".join(f.evidence)


@pytest.mark.parametrize("values", [{"github_token": TOKEN}, APP])
def test_arc102_silent_on_one_kind_of_credential(values):
    raws = replace(fleet(), "Secret", "arc-github-app", lambda o: o.update(secret("arc-github-app", "arc-runners",
                                                                                  values)))
    assert not of(raws, "ARC102")


# ---- ARC103 ------------------------------------------------------------------------------------------------
def _with(values):
    return replace(fleet(), "Secret", "arc-github-app",
                   lambda o: o.update(secret("arc-github-app", "arc-runners", values)))


@pytest.mark.parametrize("values, key", [
    ({"github_token": TOKEN + "\n"}, "github_token"),
    ({"github_token": " " + TOKEN}, "github_token"),
    ({**APP, "github_app_id": "123456\n"}, "github_app_id"),
    ({**APP, "github_app_installation_id": "987654 "}, "github_app_installation_id"),
    ({**APP, "github_app_private_key": "\n" + APP_KEY}, "github_app_private_key"),
])
def test_arc103_whitespace_in_a_credential(values, key):
    [f] = of(_with(values), "ARC103")
    assert f.severity == "error" and f.subject.kind == "Secret"
    assert any(e.startswith(key) for e in f.evidence)
    text = repr(f)
    assert TOKEN not in text and TOKEN[4:20] not in text and "MIIEowIBAAKCAQEAtest" not in text


def test_arc103_shows_the_token_masked():
    [f] = of(_with({"github_token": TOKEN + "\n"}), "ARC103")
    assert "ghp_…AB7C" in " ".join(f.evidence) and "newline" in " ".join(f.evidence)


@pytest.mark.parametrize("values", [{"github_token": TOKEN}, APP,
                                    {**APP, "github_app_private_key": APP_KEY.rstrip("\n")}])
def test_arc103_silent_on_trimmed_values_and_a_pem_final_newline(values):
    assert not of(_with(values), "ARC103")


def test_arc103_from_the_listener_log_when_secrets_are_unreadable():
    line = ('2026/01/01 00:00:00 Application returned an error: failed to create actions message session client: '
            f'Post "https://api.github.com/orgs/arc-org/actions/runners/registration-token": net/http: invalid '
            f'header field value "Bearer {TOKEN}\\n" for key Authorization')
    logs = [tail("arc-runner-set-754b578d-listener", [line], ns="arc-systems", container="listener")]
    [f] = of(fleet(), "ARC103", logs=logs, states={model.SECRETS: "forbidden"})
    assert "invalid header field value" in f.evidence[0] and TOKEN not in repr(f) and "ghp_…AB7C" in f.evidence[0]
    assert not of(fleet(), "ARC103", states={model.SECRETS: "forbidden"})


# ---- ARC108 ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "https://api.github.com/orgs/arc-org", "https://github.com/api/v3/orgs/arc-org", "https://ghes.example.com/api/v3",
    "https://github.com/arc-org/app-repo/actions", "ftp://github.com/arc-org", "https://github.com/", "github.com/x",
    "https://github.com/orgs/arc-org", "", "https://github.com/arc org", "https://github.com/arc-org\n",
])
def test_arc108_bad_config_urls(url):
    [f] = of(fleet(url=url), "ARC108")
    assert f.subject.kind == "AutoscalingRunnerSet" and len(f.evidence) >= 2


@pytest.mark.parametrize("url", [
    "https://github.com/arc-org", "https://github.com/arc-org/app-repo", "https://github.com/enterprises/acme",
    "https://ghes.example.com/arc-org", "http://127.0.0.1:8443/arc-org", "https://acme.ghe.com/arc-org/",
])
def test_arc108_silent_on_web_urls(url):
    assert not of(fleet(url=url), "ARC108")


# ---- ARC109 ------------------------------------------------------------------------------------------------
def test_arc109_pat_for_an_org_scale_set():
    [f] = of(fleet(credentials={"github_token": TOKEN}), "ARC109")
    assert f.severity == "info" and "classic" in f.evidence[0] and "ghp_…AB7C" in f.evidence[0]
    assert TOKEN not in repr(f)


def test_arc109_silent_for_apps_and_enterprise_pats():
    assert not of(fleet(), "ARC109")
    assert not of(fleet(credentials={"github_token": TOKEN}, url="https://github.com/enterprises/acme"), "ARC109")

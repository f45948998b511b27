"""The fake GHES the credential-probe tests talk to: every variant the acceptance list names, over real HTTPS
(the sandbox's API server, its own CA), with the secret values used, so tests can scan outputs for them."""

from __future__ import annotations

from arc_top.sandbox.github import generate_rsa_key

ORG, REPO, ENT = "arc-org", "app-repo", "arc-ent"

TOKENS = {
    "valid": "ghp_" + "ProbeValidClassic0000000000000000v4l1",
    "revoked": "ghp_" + "ProbeRevokedClassic00000000000000r3v0",
    "expired": "ghp_" + "ProbeExpiredClassic00000000000000e7p1",
    "expiring": "ghp_" + "ProbeExpiringClassic0000000000000x3d4",
    "repo-only": "ghp_" + "ProbeRepoOnlyClassic0000000000000r3p0",
    "fine-no-runners": "github_pat_" + "11PROBE0000FineGrainedNoRunners_000000000000000000000f9n0",
}
# variant → (token or app, config URL path, expected code, severity, words in the title, words in the fix)
PAT_VARIANTS = {
    "valid": ("valid", f"/{ORG}", None, None, (), ()),
    "revoked": ("revoked", f"/{ORG}", "ARC104", "error", ("401 Bad credentials",), ("Create a new token",
                                                                                     "admin:org")),
    "expired": ("expired", f"/{ORG}", "ARC104", "error", ("401 Bad credentials",), ("Create a new token",)),
    "expiring": ("expiring", f"/{ORG}", "ARC106", "warning", ("expires in 3 days",), ("Rotate the token before",)),
    "missing-admin-org": ("repo-only", f"/{ORG}", "ARC105", "error", ("admin:org", "organization"),
                          ("admin:org scope",)),
    "missing-enterprise": ("valid", f"/enterprises/{ENT}", "ARC105", "error",
                           ("manage_runners:enterprise", "enterprise"), ("manage_runners:enterprise",)),
    "fine-no-runners": ("fine-no-runners", f"/{ORG}", "ARC105", "error",
                        ("Self-hosted runners", "organization_self_hosted_runners"),
                        ("Self-hosted runners (organization_self_hosted_runners) read and write",)),
}
APP_VARIANTS = {
    "app-valid": (101, "good", 9001, None, None, (), ()),
    "app-wrong-key": (101, "other", 9001, "ARC107", "error", ("key and app id do not match",),
                      ("Generate a private key",)),
    "app-not-installed": (202, "good", 9003, "ARC107", "error", ("not installed on arc-org",), ("Install",)),
    "app-no-runners-permission": (303, "good", 9004, "ARC107", "error",
                                  ("Self-hosted runners", "write on arc-org"), ("Read and write",)),
    "app-clock-skew": (404, "good", 9005, "ARC107", "error", ("Clock differs from GitHub's by 5 min",),
                       ("Synchronise the clocks",)),
}
RUNNERS_WRITE = {"organization_self_hosted_runners": "write", "metadata": "read"}


def keys() -> dict[str, tuple[str, str]]:
    return {"good": generate_rsa_key(slot="probe-tests-good"), "other": generate_rsa_key(slot="probe-tests-other")}


def github_config() -> dict:
    good_public = keys()["good"][1]
    return {
        "version": "3.14.0",
        "orgs": {ORG: {}, "other-org": {}},
        "repos": [f"{ORG}/{REPO}"],
        "enterprises": {ENT: {}},
        "tokens": [
            {"value": TOKENS["valid"], "scopes": ["repo", "admin:org"], "expires_in_days": 60, "login": "arc-admin"},
            {"value": TOKENS["revoked"], "scopes": ["repo", "admin:org"], "revoked": True},
            {"value": TOKENS["expired"], "scopes": ["repo", "admin:org"], "expires_in_days": -1},
            {"value": TOKENS["expiring"], "scopes": ["repo", "admin:org"], "expires_in_days": 3},
            {"value": TOKENS["repo-only"], "scopes": ["repo"]},
            {"value": TOKENS["fine-no-runners"], "type": "fine-grained", "owner": ORG,
             "permissions": {"administration": "read"}},
        ],
        "apps": [
            {"id": 101, "slug": "arc-app", "public_key_pem": good_public,
             "installations": [{"id": 9001, "account": ORG, "permissions": RUNNERS_WRITE}]},
            {"id": 202, "slug": "elsewhere-app", "public_key_pem": good_public,
             "installations": [{"id": 9003, "account": "other-org", "permissions": RUNNERS_WRITE}]},
            {"id": 303, "slug": "readonly-app", "public_key_pem": good_public,
             "installations": [{"id": 9004, "account": ORG, "permissions": {"metadata": "read"}}]},
            {"id": 404, "slug": "skewed-app", "public_key_pem": good_public, "clock_skew_seconds": -300,
             "installations": [{"id": 9005, "account": ORG, "permissions": RUNNERS_WRITE}]},
        ],
    }


def app_values(app_id: int, key: str, installation: int) -> dict[str, str]:
    return {"github_app_id": str(app_id), "github_app_installation_id": str(installation),
            "github_app_private_key": keys()[key][0]}


def variant_values(name: str) -> tuple[dict[str, str], str]:
    """(Secret values, config URL path) of a variant."""
    if name in PAT_VARIANTS:
        token, path = PAT_VARIANTS[name][:2]
        return {"github_token": TOKENS[token]}, path
    app_id, key, installation = APP_VARIANTS[name][:3]
    return app_values(app_id, key, installation), f"/{ORG}"


def expectations() -> dict[str, tuple]:
    """variant → (code, severity, title words, fix words)."""
    out = {name: v[2:] for name, v in PAT_VARIANTS.items()}
    out.update({name: v[3:] for name, v in APP_VARIANTS.items()})
    return out


def secret_strings() -> list[str]:
    """Every secret value used, and the parts that must not show either (a key's base64 lines, a token's body)."""
    out = list(TOKENS.values()) + [t[4:-4] for t in TOKENS.values()]
    for private, _ in keys().values():
        out.append(private)
        out += [line for line in private.splitlines() if line and not line.startswith("-----")]
    return out

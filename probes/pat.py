"""Personal access tokens: `GET /user` (401, scopes, expiry), then the level's runners endpoint (the permission
ARC needs, judged by GitHub's 403 and its X-Accepted-OAuth-Scopes / X-Accepted-GitHub-Permissions hints).

Side-effect free: nothing is minted (ARC's registration-token POST is not called).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from arc_top.probes.client import GitHubClient, ProbeError
from arc_top.probes.model import LEVEL_PERMISSIONS, LEVEL_SCOPES, Credentials, ProbeProblem, ProbeResult, token_kind
from arc_top.probes.urls import Target

EXPIRY_WARNING_DAYS = 7.0
DAY = 86400.0
_ENTERPRISE_SCOPES = {"manage_runners:enterprise", "admin:enterprise"}


def parse_expiration(value: str) -> float | None:
    """github-authentication-token-expiration (`2026-05-01 12:00:00 UTC`, sometimes with an offset) → epoch."""
    value = value.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S UTC", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S %Z"):
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    return None


def _says(reply, path: str) -> str:
    message = f" {reply.message}" if reply.message else ""
    return f"GET {path}: {reply.status}{message}"[:200]


def probe_token(creds: Credentials, target: Target, client: GitHubClient,
                clock: Callable[[], float] = time.time) -> ProbeResult:
    token = creds.token
    started = clock()
    fields: dict = {"namespace": creds.namespace, "secret": creds.secret, "config_url": target.url,
                    "resource_version": creds.resource_version, "kind": token_kind(token), "identity": creds.identity,
                    "level": target.level, "target": target.name, "api_base": client.api_base, "probed_at": started}
    notes = [f"{k} has whitespace around it: probed trimmed (see ARC103)" for k in creds.whitespace]
    if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
        return ProbeResult(**fields, evaluated=False, notes=tuple(notes),
                           reason="need a github_token that fits in an HTTP header (see ARC103)")
    auth = f"Bearer {token}"
    problems: list[ProbeProblem] = []
    user = client.get("/user", authorization=auth)
    if user.status == 401:
        problems.append(ProbeProblem("ARC104", "bad-credentials", evidence=(_says(user, "/user"),)))
        return ProbeResult(**fields, problems=tuple(problems), notes=tuple(notes), elapsed=clock() - started)
    if user.status == 200:
        body = user.body if isinstance(user.body, dict) else {}
        fields["login"] = str(body.get("login", ""))[:100]
        if "x-oauth-scopes" in user.headers:
            fields["scopes"] = tuple(s.strip() for s in user.header("x-oauth-scopes").split(",") if s.strip())
            if fields["kind"] == "token" and token.startswith("ghp_"):
                fields["kind"] = "classic"
        elif fields["kind"] == "token" and token.startswith("github_pat_"):
            fields["kind"] = "fine-grained"
        expires = parse_expiration(user.header("github-authentication-token-expiration"))
        if expires is not None:
            fields["expires_at"] = expires
    elif user.status != 403:                # 403: e.g. an installation token; the runners endpoint still tells
        raise ProbeError(f"GitHub answered {_says(user, '/user')}")
    path = f"{target.resource_path}/actions/runners"
    runners = client.get(f"{path}?per_page=1", authorization=auth)
    shown = _says(runners, path)
    if runners.status == 401:
        problems.append(ProbeProblem("ARC104", "bad-credentials", evidence=(shown,)))
    elif runners.status == 403:
        problems.append(_forbidden(fields, target, runners, shown))
    elif runners.status == 404:
        problems.append(ProbeProblem("ARC105", "not-visible", detail=target.name, evidence=(shown,)))
    elif runners.status != 200:
        raise ProbeError(f"GitHub answered {shown}")
    if fields.get("expires_at") is not None:
        days = (fields["expires_at"] - clock()) / DAY
        if days < 0:
            problems.append(ProbeProblem("ARC106", "expired", value=days, severity="error"))
        elif days < EXPIRY_WARNING_DAYS:
            problems.append(ProbeProblem("ARC106", "expiring", value=days, severity="warning"))
    if not problems and fields["kind"] == "fine-grained":
        notes.append("listing runners works; the write permission ARC also needs is not tested (nothing is minted)")
    return ProbeResult(**fields, problems=tuple(problems), notes=tuple(notes), elapsed=clock() - started)


def _forbidden(fields: dict, target: Target, reply, shown: str) -> ProbeProblem:
    """What a 403 on the runners endpoint means for this kind of token."""
    scopes_hint = reply.header("x-accepted-oauth-scopes").strip()
    perms_hint = reply.header("x-accepted-github-permissions").strip()
    evidence = [shown]
    if scopes_hint:
        evidence.append(f"X-Accepted-OAuth-Scopes: {scopes_hint}")
    if perms_hint:
        evidence.append(f"X-Accepted-GitHub-Permissions: {perms_hint}")
    scopes = fields.get("scopes")
    if target.level == "enterprise" and (scopes is None or fields["kind"] == "fine-grained"):
        return ProbeProblem("ARC105", "enterprise-needs-classic", detail="manage_runners:enterprise",
                            evidence=tuple(evidence))
    if scopes is not None:
        needed = scopes_hint.split(",")[0].strip() or LEVEL_SCOPES[target.level]
        have = set(scopes)
        if needed in have or (target.level == "enterprise" and _ENTERPRISE_SCOPES & have):
            return ProbeProblem("ARC105", "not-admin", detail=needed, evidence=tuple(evidence))
        return ProbeProblem("ARC105", "missing-scope", detail=needed, evidence=tuple(evidence))
    needed = perms_hint.split(",")[0].split("=")[0].strip() or LEVEL_PERMISSIONS.get(target.level, "administration")
    return ProbeProblem("ARC105", "missing-permission", detail=needed, evidence=tuple(evidence))

"""GitHub credential probes as findings: ARC104 (rejected), ARC105 (missing scope or permission), ARC106
(expiring), ARC107 (GitHub App cannot act), and ARC000 when a probe could not be evaluated.

The probes themselves (HTTP, JWT) live in the `probes` package; the kube layer reads the Secrets. What reaches
this module is plain data, `probes.model.ProbeResult` (importing it loads no HTTP library), and never a secret
value (identities are masked to a prefix and the last four characters). The wording is here: `summary()`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from arc_top.checks.catalogue import finding
from arc_top.checks.finding import ERROR, WARNING, Finding, Subject
from arc_top.checks.registry import check
from arc_top.probes.model import (  # noqa: F401  (re-exported: the data types live with the probes)
    LEVEL_PERMISSIONS,
    LEVEL_SCOPES,
    PERMISSION_WORDS,
    ProbeProblem,
    ProbeResult,
)

PROBE_CODES = ("ARC104", "ARC105", "ARC106", "ARC107")
CODES_TEXT = "ARC104–ARC107"


def results_by_scale_set(results: Iterable[ProbeResult]) -> dict[str, ProbeResult]:
    """"namespace/name" of a scale set → the probe result of its credential (for a per-scale-set line)."""
    return {key: r for r in results for key in r.scale_sets}


def summary(result: ProbeResult, now: float | None = None) -> str:
    """One line for a Credentials row: kind, identity, scopes or permissions, expiry, verdict."""
    if not result.evaluated:
        return f"not checked: {result.reason}"
    words = {"classic": "classic PAT", "fine-grained": "fine-grained PAT", "token": "token", "app": "GitHub App"}
    parts = [f"{words.get(result.kind, result.kind or 'credential')} {result.identity}".strip()]
    if result.login:
        parts[0] += f" ({result.login})"
    if result.scopes is not None:
        parts.append("scopes " + (", ".join(result.scopes) or "none"))
    elif result.permissions:
        parts.append(", ".join(f"{k}={v}" for k, v in result.permissions))
    if result.expires_at is not None:
        left = result.expires_at - (time.time() if now is None else now)
        parts.append(("expires " if left >= 0 else "expired ") + _in_days(left))
    verdict = "ok" if result.ok else "; ".join(_title(result, p) for p in result.problems)
    return " · ".join(parts + [verdict])


# ---- wording -------------------------------------------------------------------------------------------------
def _in_days(seconds: float) -> str:
    days = seconds / 86400
    if days < 0:
        return f"{-days:.0f} days ago" if days <= -1.5 else "within the last day"
    if days < 1:
        return f"in {max(1, round(seconds / 3600))} h"
    return f"in {days:.0f} day{'s' if round(days) != 1 else ''}"


def _date(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


def _perm(name: str) -> str:
    return f"{PERMISSION_WORDS.get(name, name)} ({name})"


def _level_need(level: str) -> str:
    scope = LEVEL_SCOPES.get(level, "")
    return f"a classic PAT with {scope}" if scope else "a valid token"


def _web(r: ProbeResult) -> str:
    parts = urlsplit(r.config_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "https://github.com"


def _title(r: ProbeResult, p: ProbeProblem) -> str:
    level, target = r.level or "scale set", r.target or "the target"
    k = p.kind
    if k == "bad-credentials":
        return f"GitHub rejects {r.identity or 'the token'}: 401 Bad credentials"
    if k == "missing-scope":
        return f"Token {r.identity} lacks the {p.detail} scope the {level} level needs"
    if k == "missing-permission":
        return f"Fine-grained token {r.identity} lacks {_perm(p.detail)} for the {level} {target}"
    if k == "enterprise-needs-classic":
        return "Enterprise scale sets need a classic PAT with manage_runners:enterprise"
    if k == "not-admin":
        return f"Token {r.identity} has {p.detail}, but its user {r.login or '(unknown)'} may not manage {target}"
    if k == "not-visible":
        return f"GitHub answers 404 for the {level} {target}: the token cannot see it (or it does not exist)"
    if k == "expired":
        return f"Token {r.identity} expired" + (f" on {_date(r.expires_at)}" if r.expires_at is not None else "")
    if k == "expiring":
        return f"Token {r.identity} expires {_in_days((p.value or 0) * 86400)}"
    if k == "wrong-key":
        return f"GitHub refuses the JWT of {r.identity or 'the GitHub App'}: key and app id do not match"
    if k == "bad-key":
        return "github_app_private_key is not an RSA private key in PEM form"
    if k == "not-installed":
        return f"{r.identity or 'The GitHub App'} is not installed on {target}"
    if k == "installation-mismatch":
        return f"github_app_installation_id is not the app's installation on {target} ({p.detail})"
    if k == "app-missing-permission":
        return f"{r.identity or 'The GitHub App'} lacks {_perm(p.detail)}: write on {target}"
    if k == "clock-skew":
        skew = p.value or 0.0
        minutes = f"{abs(skew) / 60:.0f} min" if abs(skew) >= 90 else f"{abs(skew):.0f} s"
        return f"Clock differs from GitHub's by {minutes} ({'GitHub ahead' if skew > 0 else 'GitHub behind'})"
    if k == "app-enterprise":
        return "Enterprise scale sets cannot use a GitHub App"
    if k == "suspended":
        return f"The GitHub App's installation on {target} is suspended"
    return p.detail or k


def _fix(r: ProbeResult, p: ProbeProblem) -> str:
    where = f"Secret {r.namespace}/{r.secret}"
    rotate = (f"write it into {where} (kubectl -n {r.namespace} create secret generic {r.secret} "
              "--from-literal=github_token=<token> --dry-run=client -o yaml | kubectl apply -f -)")
    reload = "then delete the listener pod so it reloads the Secret."
    k, target = p.kind, r.target or "the target"
    if k == "bad-credentials":
        return f"Create a new token ({_level_need(r.level)}), {rotate}, {reload}"
    if k == "missing-scope":
        return (f"Give the token the {p.detail} scope (GitHub → Settings → Developer settings → Personal access "
                f"tokens), or make a new classic PAT with {p.detail} and {rotate}; {reload}")
    if k == "missing-permission":
        return (f"Edit the fine-grained token: grant {_perm(p.detail)} read and write on {target} (or use a classic "
                f"PAT with {LEVEL_SCOPES.get(r.level, 'the right scope')}) and {rotate}; {reload}")
    if k == "enterprise-needs-classic":
        return (f"Create a classic PAT with manage_runners:enterprise (fine-grained tokens and GitHub Apps cannot "
                f"manage enterprise runners) and {rotate}; {reload}")
    if k == "not-admin":
        return (f"Use a token of an owner or admin of {target} ({_level_need(r.level)}) and {rotate}; {reload}")
    if k == "not-visible":
        return (f"Check githubConfigUrl ({r.config_url}); if it is right, use a token of a user who can administer "
                f"{target} ({_level_need(r.level)}; a fine-grained token must have {target} as resource owner or "
                f"selected repository) and {rotate}.")
    if k in ("expired", "expiring"):
        when = f" before {_date(r.expires_at)}" if r.expires_at is not None and k == "expiring" else ""
        return (f"Rotate the token{when}: create a new one ({_level_need(r.level)}) and {rotate}; {reload} "
                "A GitHub App does not expire.")
    app = r.identity or "the GitHub App"
    if k == "wrong-key":
        return (f"Generate a private key in the settings of {app} (Private keys → Generate), write the PEM into "
                f"github_app_private_key of {where}, and make github_app_id the App ID shown on that page; {reload}")
    if k == "bad-key":
        return (f"Write the App's private key (the .pem file from the App's settings → Private keys) into "
                f"github_app_private_key of {where}; {reload}")
    if k == "not-installed":
        return (f"Install {app} on {target} ({_web(r)}/settings/apps → the app → Install App), then write the new "
                f"installation id into github_app_installation_id of {where}; {reload}")
    if k == "installation-mismatch":
        return f"Set github_app_installation_id in {where} to {p.detail.split()[-1]}; {reload}"
    if k == "app-missing-permission":
        scope = "Repository" if p.detail == "administration" else "Organization"
        return (f"In the settings of {app} grant {scope} permissions → {PERMISSION_WORDS.get(p.detail, p.detail)}: "
                f"Read and write, then accept the new permissions on the {target} installation (Settings → GitHub "
                f"Apps → Configure); {reload}")
    if k == "clock-skew":
        return ("Synchronise the clocks (NTP, chrony or timesyncd) of the cluster nodes and of this machine: ARC "
                "signs a JWT valid for 10 minutes from the node's clock, and GitHub refuses one that starts in its "
                "future or ends more than 10 minutes ahead.")
    if k == "app-enterprise":
        return (f"Use a classic PAT with manage_runners:enterprise in github_token of {where} instead of the GitHub "
                "App keys; " + reload)
    if k == "suspended":
        return f"Unsuspend the installation of {app} on {target} (Settings → GitHub Apps → Configure)."
    return ""


# ---- findings -------------------------------------------------------------------------------------------------
def _secret_subject(r: ProbeResult, uids: dict[tuple[str, str], str]) -> Subject:
    return Subject("Secret", r.namespace, r.secret, uids.get((r.namespace, r.secret), ""))


def _identity_line(r: ProbeResult) -> str:
    kind = {"classic": "classic PAT", "fine-grained": "fine-grained PAT", "app": "GitHub App"}.get(r.kind, r.kind)
    line = f"{kind or 'credential'} {r.identity}".strip()
    if r.login:
        line += f" (user {r.login})"
    if r.scopes is not None:
        line += "; scopes: " + (", ".join(r.scopes) or "none")
    return line


def probe_findings(results: Sequence[ProbeResult], secret_uids: dict[tuple[str, str], str] | None = None
                   ) -> list[Finding]:
    """One finding per problem and scale set (subject: the Secret), ARC000 for a result not evaluated."""
    uids = secret_uids or {}
    out: list[Finding] = []
    for r in results:
        if not isinstance(r, ProbeResult):
            continue
        subject = _secret_subject(r, uids)
        sets = r.scale_sets or ("",)
        target = f"githubConfigUrl: {r.config_url} ({r.level} {r.target})" if r.level else \
            f"githubConfigUrl: {r.config_url}"
        if not r.evaluated:
            for key in sets:
                out.append(finding("ARC000", subject, scale_set=key, evidence=[target],
                                   title=f"not evaluated: {CODES_TEXT} {r.reason}"[:200],
                                   fix="Let this machine reach GitHub's API and read the Secret (or pass "
                                       "--github-ca for a private CA), then check again; --no-github skips "
                                       "the probes."))
            continue
        for p in r.problems:
            if p.code not in PROBE_CODES:
                continue
            evidence = [_identity_line(r), target, *p.evidence]
            if r.expires_at is not None and p.kind in ("expiring", "expired"):
                evidence.append(f"github-authentication-token-expiration: {_date(r.expires_at)}")
            for key in sets:
                out.append(finding(p.code, subject, scale_set=key, evidence=evidence, title=_title(r, p)[:200],
                                   severity=p.severity, fix=_fix(r, p)))
    return out


@check(*PROBE_CODES)
def credential_probes(ctx) -> list[Finding]:
    """The probe results the caller handed to `checks.run(..., probes=...)`; nothing when probes did not run."""
    if not ctx.probes:
        return []
    return probe_findings(ctx.probes, {key: o.uid for key, o in ctx.secrets.items()})


def link_listener_findings(findings: list[Finding]) -> list[Finding]:
    """A failing listener (ARC403) and a probe finding for the same scale set quote each other: the operator
    sees that the listener fails *because* GitHub refuses the credential, and vice versa."""
    probes: dict[str, list[Finding]] = {}
    listeners: dict[str, Finding] = {}
    for f in findings:
        if f.code in PROBE_CODES and f.scale_set:
            probes.setdefault(f.scale_set, []).append(f)
        elif f.code == "ARC403" and f.scale_set:
            listeners.setdefault(f.scale_set, f)
    if not probes or not listeners:
        return findings
    replaced: dict[int, Finding] = {}
    for key, listener in listeners.items():
        found = probes.get(key)
        if not found:
            continue
        lines = tuple(f"GitHub probe of Secret {f.subject.namespace}/{f.subject.name}: {f.code} {f.title}"
                      for f in found)
        replaced[id(listener)] = dataclasses.replace(
            listener, evidence=listener.evidence + lines,
            related=listener.related + tuple(f.subject for f in found if f.subject not in listener.related))
        quote = listener.evidence[0] if listener.evidence else listener.title
        for f in found:
            replaced[id(f)] = dataclasses.replace(
                f, evidence=f.evidence + (f"listener failing (ARC403): {quote}",),
                related=f.related + ((listener.subject,) if listener.subject not in f.related else ()))
    return [replaced.get(id(f), f) for f in findings]


def severity_of(result: ProbeResult) -> str | None:
    """The worst severity among a result's problems (None: none)."""
    ranks = [p.severity or (WARNING if p.code == "ARC106" else ERROR) for p in result.problems]
    return ERROR if ERROR in ranks else (WARNING if ranks else None)


__all__ = ["CODES_TEXT", "PROBE_CODES", "ProbeProblem", "ProbeResult", "link_listener_findings", "probe_findings",
           "results_by_scale_set", "severity_of"]

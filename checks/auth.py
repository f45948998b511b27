"""GitHub credentials and configuration: the Secret a scale set names (ARC101–ARC103), its githubConfigUrl
(ARC108) and the kind of credential (ARC109). Secrets carry no values in the snapshot: ARC103 reads the facts the
projection derived (kube.projections._body_secret)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit

from arc_top.checks.catalogue import finding, not_evaluated
from arc_top.checks.context import Context, d, s, set_key
from arc_top.checks.finding import Finding, Subject
from arc_top.checks.registry import check
from arc_top.checks.text import quote
from arc_top.kube import model
from arc_top.probes.urls import config_url_problem

TOKEN = "github_token"
APP_KEYS = ("github_app_id", "github_app_installation_id", "github_app_private_key")
SECRET_CODES = "ARC101–ARC103 and ARC109"


def _secret_subject(ars: model.ScaleSet, secret: model.Named | None) -> Subject:
    if secret is None:
        return Subject("Secret", ars.namespace, ars.config_secret)
    return Subject("Secret", secret.namespace, secret.name, secret.uid)


def _readable_secrets(ctx: Context) -> Iterator[tuple[model.ScaleSet, model.Named | None] | Finding]:
    """(ARS, its Secret or None) for every scale set whose namespace's secrets are readable; one ARC000 per
    namespace where they are not."""
    told: set[str] = set()
    for ars in ctx.scale_sets:
        why = ctx.blocked(model.SECRETS, ars.namespace)
        if why:
            if ars.namespace not in told:
                told.add(ars.namespace)
                yield not_evaluated(SECRET_CODES, why, ctx.namespace_subject(ars.namespace))
            continue
        yield ars, ctx.secrets.get((ars.namespace, ars.config_secret)) if ars.config_secret else None


@check("ARC101")
def secret_exists(ctx: Context) -> Iterator[Finding]:
    for item in _readable_secrets(ctx):
        if isinstance(item, Finding):
            yield item
            continue
        ars, secret = item
        if secret is not None:
            continue
        evidence = [f"spec.githubConfigSecret: {quote(ars.config_secret)}" if ars.config_secret
                    else "spec.githubConfigSecret is empty"]
        evidence += [f"event {e.reason}: {e.message}" for e in ctx.events_for("AutoscalingRunnerSet", ars)
                     if e.type == "Warning"][:2]
        yield finding("ARC101", ctx.ars_subject(ars), scale_set=set_key(ars), evidence=evidence,
                      more=f"No Secret {ars.config_secret!r} in namespace {ars.namespace}.",
                      related=(_secret_subject(ars, None),))


def _present(secret: model.Named, key: str) -> bool:
    """The key is there with a non-empty value (ARC treats an empty value as absent)."""
    if key not in secret.body.get("keys", ()):
        return False
    facts = d(d(secret.body.get("credentials")).get(key))
    return not facts.get("empty", False)


@check("ARC102")
def secret_keys(ctx: Context) -> Iterator[Finding]:
    for item in _readable_secrets(ctx):
        if isinstance(item, Finding) or item[1] is None:
            continue
        ars, secret = item
        token = _present(secret, TOKEN)
        app = [k for k in APP_KEYS if _present(secret, k)]
        keys = ", ".join(s(k) for k in secret.body.get("keys", ())) or "none"
        if token and app:
            problem = "both github_token and GitHub App keys (ARC: \"both PAT and GitHub App credentials provided\")"
        elif not token and len(app) < len(APP_KEYS):
            missing = [k for k in APP_KEYS if k not in app]
            problem = ("neither github_token nor the GitHub App keys (ARC: \"no credentials provided\")" if not app
                       else f"incomplete GitHub App credentials: missing {', '.join(missing)}")
        else:
            continue
        yield finding("ARC102", _secret_subject(ars, secret), scale_set=set_key(ars),
                      evidence=[f"Secret {secret.namespace}/{secret.name} has {problem}", f"keys: {keys}"],
                      related=(ctx.ars_subject(ars),))


_DESCRIBE = {"github_token": "github_token", "github_app_id": "github_app_id",
             "github_app_installation_id": "github_app_installation_id"}


@check("ARC103")
def credential_whitespace(ctx: Context) -> Iterator[Finding]:
    logged = _log_lines(ctx, "F13")
    for ars in ctx.scale_sets:     # Secrets unreadable: the listener's own words are evidence enough
        if logged.get(set_key(ars)) and ctx.blocked(model.SECRETS, ars.namespace):
            yield finding("ARC103", _secret_subject(ars, None), scale_set=set_key(ars),
                          evidence=logged[set_key(ars)][:2], related=(ctx.ars_subject(ars),))
    for item in _readable_secrets(ctx):
        if isinstance(item, Finding) or item[1] is None:
            continue
        ars, secret = item
        credentials = secret.body.get("credentials")
        keys = [k for k in (TOKEN, *APP_KEYS) if k in secret.body.get("keys", ())]
        if keys and not isinstance(credentials, Mapping):
            yield not_evaluated("ARC103", f"needs credential facts for Secret {secret.namespace}/{secret.name}, "
                                "which this snapshot does not carry", _secret_subject(ars, secret), set_key(ars))
            continue
        evidence = []
        for key in keys:
            facts = d(d(credentials).get(key))
            where = s(facts.get("whitespace"))
            if key == "github_app_private_key":
                if where:
                    evidence.append(f"{key}: {where} whitespace around the PEM block")
                continue
            value = f" (value {facts.get('masked')})" if key == TOKEN and facts.get("masked") else ""
            if where:
                newline = " (a newline)" if facts.get("newline") else ""
                evidence.append(f"{key}: {where} whitespace{newline}{value}")
            elif facts.get("inner_whitespace"):
                evidence.append(f"{key}: whitespace inside the value{value}")
        if not evidence:
            continue
        evidence += logged.get(set_key(ars), [])[:2]
        yield finding("ARC103", _secret_subject(ars, secret), scale_set=set_key(ars), evidence=evidence,
                      related=(ctx.ars_subject(ars),))


def _log_lines(ctx: Context, fid: str) -> dict[str, list[str]]:
    """Scale set key → log lines showing failure `fid` (listener and runner logs)."""
    out: dict[str, list[str]] = {}
    for hits in ctx.log_hits:
        lines = hits.lines(ids=(fid,))
        if lines and hits.scale_set is not None:
            out.setdefault(hits.key, []).extend(lines)
    return out


def config_level(url: str) -> str:
    """enterprise | organization | repository ("" for a bad URL)."""
    if config_url_problem(url):
        return ""
    names = urlsplit(url).path.strip("/").split("/")
    if len(names) == 1:
        return "organization"
    return "enterprise" if names[0].lower() == "enterprises" else "repository"


@check("ARC108")
def config_url(ctx: Context) -> Iterator[Finding]:
    logged = _log_lines(ctx, "F16")
    for ars in ctx.scale_sets:
        problem = config_url_problem(ars.config_url)
        if not problem:
            continue
        evidence = [f"spec.githubConfigUrl: {quote(ars.config_url)}", problem]
        yield finding("ARC108", ctx.ars_subject(ars), scale_set=set_key(ars),
                      evidence=evidence + logged.get(set_key(ars), [])[:1])


@check("ARC109")
def pat_instead_of_app(ctx: Context) -> Iterator[Finding]:
    for item in _readable_secrets(ctx):
        if isinstance(item, Finding) or item[1] is None:
            continue
        ars, secret = item
        if not _present(secret, TOKEN) or any(_present(secret, k) for k in APP_KEYS):
            continue
        if config_level(ars.config_url) in ("enterprise", ""):
            continue
        facts = d(d(secret.body.get("credentials")).get(TOKEN))
        kind = s(facts.get("kind")) or "unknown"
        masked = s(facts.get("masked"))
        yield finding("ARC109", ctx.ars_subject(ars), scale_set=set_key(ars),
                      evidence=[f"Secret {secret.name}: github_token ({kind} PAT{', ' + masked if masked else ''})",
                                f"scale set level: {config_level(ars.config_url)}"],
                      related=(_secret_subject(ars, secret),))

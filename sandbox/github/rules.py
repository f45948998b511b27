"""GitHub's authentication and permission rules (ARC_REFERENCE §5), shared by HTTP and the listener.

Every decision is returned as a `Denial` carrying GitHub's status, message and hint headers;
the HTTP layer serialises it and the listener simulation quotes it in its log, so both always
agree. Nothing here ever puts a credential into a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import jwt
from .state import LEVELS, App, GitHubState, Token

REST_DOCS = "https://docs.github.com/rest"
BAD_CREDENTIALS = "Bad credentials"
NOT_FOUND = "Not Found"
PAT_FORBIDDEN = "Resource not accessible by personal access token"
INTEGRATION_FORBIDDEN = "Resource not accessible by integration"
ORG_ADMIN_FORBIDDEN = ("You must be an org admin or have the runners and runner groups "
                       "fine-grained permission.")
REPO_ADMIN_FORBIDDEN = "Must have admin rights to Repository."

# level -> (accepted classic scopes, scope named in X-Accepted-OAuth-Scopes, message when missing)
CLASSIC_RULES = {
    "repository": ({"repo"}, "repo", REPO_ADMIN_FORBIDDEN),
    "organization": ({"admin:org"}, "admin:org", ORG_ADMIN_FORBIDDEN),
    "enterprise": ({"manage_runners:enterprise", "admin:enterprise"}, "manage_runners:enterprise",
                   PAT_FORBIDDEN),
}
DOC_ANCHORS = {"repository": "a-repository", "organization": "an-organization", "enterprise": "an-enterprise"}


@dataclass(frozen=True)
class Denial:
    """A refusal exactly as GitHub words it."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    documentation_url: str = REST_DOCS

    def body(self) -> dict:
        return {"message": self.message, "documentation_url": self.documentation_url,
                "status": str(self.status)}


@dataclass(frozen=True)
class Target:
    """A runners endpoint's owner: `level` plus names, as in a config URL."""

    level: str
    name: str               # enterprise slug or org/owner login
    repo: str | None = None


def bad_credentials() -> Denial:
    return Denial(401, BAD_CREDENTIALS)


def not_found() -> Denial:
    return Denial(404, NOT_FOUND)


def authenticate_token(state: GitHubState, value: str, now: float) -> Token | Denial:
    """The token behind a header value; wrong, revoked and expired all read "Bad credentials"."""
    token = state.tokens.get(value)
    if token is None or token.status(now) != "ok":
        return bad_credentials()
    return token


def authenticate_jwt(state: GitHubState, token: str, now: float) -> tuple[App | None, jwt.JwtError | None]:
    """(app whose key signed it, error). The app is known even when only the clock claims failed."""
    decoded = jwt.decode_unverified(token)
    if decoded is None:
        return None, jwt.JwtError("decode", jwt.DECODE_ERROR)
    header, claims, signing_input, signature = decoded
    app = state.find_app(claims.get("iss"))
    key = app.public_key if app else None
    if (header.get("alg") != "RS256" or key is None
            or not jwt.signature_valid(key, signing_input, signature)):
        return None, jwt.JwtError("decode", jwt.DECODE_ERROR)
    return app, jwt.check_claims(claims, now + app.clock_skew_seconds)


def jwt_denial(error: jwt.JwtError) -> Denial:
    return Denial(401, error.message)


def required_permission(level: str, write: bool) -> tuple[str, str]:
    """Fine-grained/app permission a runners endpoint asks for, e.g. (administration, write)."""
    name = "administration" if level == "repository" else "organization_self_hosted_runners"
    return name, "write" if write else "read"


def doc_url(version: str, level: str, write: bool) -> str:
    major_minor = ".".join(version.split(".")[:2])
    action = "create-a-registration-token-for-" if write else "list-self-hosted-runners-for-"
    return (f"https://docs.github.com/enterprise-server@{major_minor}/rest/actions/"
            f"self-hosted-runners#{action}{DOC_ANCHORS[level]}")


def hint_headers(token: Token, level: str, write: bool) -> dict[str, str]:
    """What GitHub tells a client it needed: accepted scopes (classic) or permissions (others)."""
    if token.type == "classic":
        return {"X-Accepted-OAuth-Scopes": CLASSIC_RULES[level][1]}
    if level == "enterprise":
        return {}
    name, need = required_permission(level, write)
    return {"X-Accepted-GitHub-Permissions": f"{name}={need}"}


def runner_access(state: GitHubState, token: Token, target: Target, write: bool) -> Denial | None:
    """None when `token` may list runners (write=False) or mint a registration token (write=True)."""
    if not state.target_exists(target.level, target.name, target.repo):
        return not_found()
    hints = hint_headers(token, target.level, write)
    doc = doc_url(state.version, target.level, write)
    if token.type == "classic":
        accepted, _, message = CLASSIC_RULES[target.level]
        if accepted.isdisjoint(token.scopes):
            return Denial(403, message, hints, doc)
        return None
    forbidden = INTEGRATION_FORBIDDEN if token.type == "installation" else PAT_FORBIDDEN
    if target.level == "enterprise":
        return Denial(403, forbidden, hints, doc)
    owner_ok = (token.owner or "").lower() == target.name.lower()
    repo_ok = target.repo is None or token.repositories is None or target.repo.lower() in {
        r.lower() for r in token.repositories}
    if not (owner_ok and repo_ok):
        return not_found()
    name, need = required_permission(target.level, write)
    if LEVELS.get(token.permissions.get(name, "none"), 0) < LEVELS[need]:
        return Denial(403, forbidden, hints, doc)
    return None


def narrow_permissions(granted: dict[str, str], requested: dict | None) -> dict[str, str] | Denial:
    """Permissions of a new installation token: all granted ones, or the requested subset."""
    if not requested:
        return dict(granted)
    for name, level in requested.items():
        if LEVELS.get(str(level), 99) > LEVELS.get(granted.get(name, "none"), 0):
            return Denial(422, "The permissions requested are not granted to this installation.")
    return {str(k): str(v) for k, v in requested.items()}

"""What the fake GHES knows: accounts, tokens, apps and installations, built from a scenario.

Scenario `github:` section (all keys optional)::

    github:
      version: "3.14.0"                  # X-GitHub-Enterprise-Version
      orgs: {arc-org: {runner_groups: [Default, gpu]}}   # "Default" always exists
      repos: [arc-org/app-repo]
      enterprises: {arc-ent: {runner_groups: [Default]}}
      tokens:
        - value: "ghp_..."               # required
          type: classic                  # classic | fine-grained (default from prefix github_pat_)
          login: arc-admin               # owner shown by GET /user
          scopes: [repo, admin:org]      # classic only
          expires_in_days: 30            # omitted/null: never; negative: already expired
          revoked: false
        - value: "github_pat_..."
          type: fine-grained
          owner: arc-org                 # resource owner; other owners' resources are invisible
          permissions: {organization_self_hosted_runners: write, administration: read}
          repositories: [app-repo]       # optional: only these repos of the owner
      apps:
        - id: 101
          client_id: Iv1.abc
          slug: arc-app
          public_key_pem: "..."          # or private_key_pem (public derived); neither: generated
          clock_skew_seconds: 0          # GitHub's clock minus the sandbox clock for this app's JWTs
          installations:
            - id: 9001
              account: arc-org
              permissions: {organization_self_hosted_runners: write, metadata: read}
              repositories: [app-repo]   # optional: a selected-repositories installation

Names compare case-insensitively, as on GitHub. Times come from the injected clock.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from arc_top.core.text import mask_token  # noqa: F401 (the fake's listener and __init__ import it here)

from .jwt import generate_rsa_key, key_fingerprint, load_public_key, public_pem_of

DAY = 86400.0
LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}


def user_id(login: str) -> int:
    """Stable numeric id for a login, so repeated runs show the same ids."""
    return 1000 + int(hashlib.sha256(login.lower().encode()).hexdigest()[:6], 16)


def _names(values) -> tuple[str, ...]:
    return tuple(str(v) for v in (values or ()))


@dataclass
class Token:
    """A credential GitHub would accept in an Authorization header (PAT or installation token)."""

    value: str
    type: str                                  # classic | fine-grained | installation
    login: str = "arc-admin"
    scopes: tuple[str, ...] = ()
    permissions: dict[str, str] = field(default_factory=dict)
    owner: str | None = None                   # fine-grained owner / installation account
    repositories: tuple[str, ...] | None = None
    expires_at: float | None = None
    revoked: bool = False
    app_id: int | None = None                  # installation tokens only
    installation_id: int | None = None

    def status(self, now: float) -> str:
        if self.revoked:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "ok"


@dataclass
class Installation:
    id: int
    account: str
    permissions: dict[str, str]
    repositories: tuple[str, ...] | None = None

    def covers(self, org: str, repo: str | None) -> bool:
        """True when the installation reaches that org (and repo: all repos unless selected)."""
        if self.account.lower() != org.lower():
            return False
        return repo is None or self.repositories is None or repo.lower() in {
            r.lower() for r in self.repositories}


@dataclass
class App:
    id: int
    client_id: str
    slug: str
    public_key_pem: str
    private_key_pem: str | None
    clock_skew_seconds: float
    installations: list[Installation]

    @property
    def key_id(self) -> str:
        return key_fingerprint(self.public_key_pem)

    @property
    def public_key(self):
        return load_public_key(self.public_key_pem)


def parse_token(spec: dict, now: float) -> Token:
    value = str(spec["value"])
    kind = spec.get("type") or ("fine-grained" if value.startswith("github_pat_") else "classic")
    if kind not in ("classic", "fine-grained"):
        raise ValueError("token type must be classic or fine-grained")
    days = spec.get("expires_in_days")
    expires_at = spec.get("expires_at")
    if days is not None:
        expires_at = now + float(days) * DAY
    repos = spec.get("repositories")
    return Token(
        value=value, type=kind, login=str(spec.get("login") or "arc-admin"),
        scopes=_names(spec.get("scopes")) if kind == "classic" else (),
        permissions={str(k): str(v) for k, v in (spec.get("permissions") or {}).items()},
        owner=spec.get("owner"), repositories=_names(repos) if repos is not None else None,
        expires_at=float(expires_at) if expires_at is not None else None,
        revoked=bool(spec.get("revoked", False)))


def parse_app(spec: dict) -> App:
    private = spec.get("private_key_pem")
    public = spec.get("public_key_pem") or (public_pem_of(private) if private else None)
    if public is None:
        private, public = generate_rsa_key(slot=f"app-{spec['id']}")
    if load_public_key(public) is None:
        raise ValueError(f"app {spec['id']}: public_key_pem is not an RSA public key")
    installations = [
        Installation(int(i["id"]), str(i["account"]),
                     {str(k): str(v) for k, v in (i.get("permissions") or {}).items()},
                     _names(i["repositories"]) if i.get("repositories") is not None else None)
        for i in spec.get("installations") or ()]
    return App(id=int(spec["id"]), client_id=str(spec.get("client_id") or f"Iv1.{int(spec['id']):012x}"),
               slug=str(spec.get("slug") or f"app-{spec['id']}"), public_key_pem=public,
               private_key_pem=private, clock_skew_seconds=float(spec.get("clock_skew_seconds") or 0),
               installations=installations)


def _groups(spec) -> tuple[str, ...]:
    groups = _names((spec or {}).get("runner_groups"))
    return groups if any(g.lower() == "default" for g in groups) else ("Default", *groups)


class GitHubState:
    """The mutable world: read by the HTTP handler and the listener simulation under one lock."""

    def __init__(self, config: dict, now: float):
        self.version = str(config.get("version") or "3.14.0")
        self.orgs = {k.lower(): (k, _groups(v)) for k, v in (config.get("orgs") or {}).items()}
        self.enterprises = {k.lower(): (k, _groups(v)) for k, v in (config.get("enterprises") or {}).items()}
        self.repos = {r.lower(): r for r in _names(config.get("repos"))}
        self.tokens: dict[str, Token] = {}
        for spec in config.get("tokens") or ():
            self.add_token(spec, now)
        self.apps = [parse_app(a) for a in config.get("apps") or ()]

    def add_token(self, spec: dict, now: float) -> Token:
        token = parse_token(spec, now)
        self.tokens[token.value] = token
        return token

    def find_app(self, issuer: object) -> App | None:
        """The app a JWT `iss` names: its numeric id (int or digit string) or its client id."""
        for app in self.apps:
            if issuer == app.id or (isinstance(issuer, str) and issuer in (str(app.id), app.client_id)):
                return app
        return None

    def app_by_id(self, app_id: int) -> App:
        app = self.find_app(int(app_id))
        if app is None:
            raise KeyError(f"no app with id {app_id}")
        return app

    def installation(self, app: App, installation_id: int) -> Installation | None:
        return next((i for i in app.installations if i.id == installation_id), None)

    def mint(self, app: App, inst: Installation, permissions: dict[str, str], now: float) -> Token:
        """A fresh `ghs_` token for an installation, valid one hour, remembered for later calls."""
        self.tokens = {v: t for v, t in self.tokens.items()
                       if t.type != "installation" or t.status(now) == "ok"}
        token = Token(value="ghs_" + secrets.token_urlsafe(27).replace("-", "a").replace("_", "b")[:36],
                      type="installation", login=f"{app.slug}[bot]", permissions=dict(permissions),
                      owner=inst.account, repositories=inst.repositories, expires_at=now + 3600,
                      app_id=app.id, installation_id=inst.id)
        self.tokens[token.value] = token
        return token

    def target_exists(self, level: str, name: str, repo: str | None = None) -> bool:
        if level == "enterprise":
            return name.lower() in self.enterprises
        if level == "organization":
            return name.lower() in self.orgs
        return f"{name}/{repo}".lower() in self.repos

    def runner_groups(self, level: str, name: str) -> tuple[str, ...]:
        """Groups usable at that level; a repository-level scale set only has the default group."""
        table = self.enterprises if level == "enterprise" else self.orgs
        entry = table.get(name.lower()) if level != "repository" else None
        return entry[1] if entry else ("Default",)

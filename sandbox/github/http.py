"""The `/api/v3` HTTP surface of the fake GHES: routing, auth, GitHub's headers and JSON bodies.

Transport-free: `handle()` takes method, path, headers and body and returns (status, headers,
body), so the sandbox's HTTPS server, tests and arc-top's probes all see the same answers.
The transport adds framing headers (Content-Length, Connection).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from urllib.parse import urlsplit

from . import jwt, rules
from .rules import Denial, Target
from .state import App, GitHubState, Installation, Token, user_id

RATE_LIMIT = 5000
API_PREFIX = "/api/v3"


class Headers(dict):
    """Request headers with case-insensitive lookups."""

    def __init__(self, raw: dict[str, str] | None):
        super().__init__({str(k).lower(): v for k, v in (raw or {}).items()})

    def get(self, key: str, default=None):  # type: ignore[override]
        return super().get(key.lower(), default)


@dataclass
class Caller:
    """Who is calling: a token, an app (JWT), or nobody; `denial` when the credential is refused."""

    token: Token | None = None
    app: App | None = None
    is_jwt: bool = False
    denial: Denial | None = None
    anonymous: bool = False

    @property
    def rate_key(self) -> str:
        if self.denial is not None or self.anonymous:
            return "anonymous"
        if self.app is not None:
            return f"app:{self.app.id}"
        assert self.token is not None
        if self.token.installation_id is not None:
            return f"installation:{self.token.installation_id}"
        return "token:" + jwt.key_fingerprint(self.token.value)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _segment(name: str) -> str:
    return rf"(?P<{name}>[^/]+)"


_ROUTES: list[tuple[str, re.Pattern, str]] = [
    (m, re.compile(p + "$"), h) for m, p, h in [
        ("GET", r"/?", "root"),
        ("GET", r"/meta", "meta"),
        ("GET", r"/user", "user"),
        ("GET", r"/app", "app"),
        ("GET", r"/app/installations", "installations"),
        ("GET", rf"/app/installations/{_segment('iid')}", "installation"),
        ("POST", rf"/app/installations/{_segment('iid')}/access_tokens", "access_token"),
        ("GET", rf"/orgs/{_segment('org')}/installation", "target_installation"),
        ("GET", rf"/repos/{_segment('org')}/{_segment('repo')}/installation", "target_installation"),
        ("GET", rf"/orgs/{_segment('org')}/actions/runner-groups", "runner_groups"),
        ("GET", rf"/enterprises/{_segment('ent')}/actions/runner-groups", "runner_groups"),
    ] + [
        (method, rf"{prefix}/actions/runners{suffix}", handler)
        for prefix in (rf"/repos/{_segment('org')}/{_segment('repo')}", rf"/orgs/{_segment('org')}",
                       rf"/enterprises/{_segment('ent')}")
        for method, suffix, handler in (("GET", "", "runners"),
                                        ("POST", "/registration-token", "registration_token"))
    ]
]
APP_ROUTES = {"app", "installations", "installation", "access_token", "target_installation"}
OPEN_ROUTES = {"root", "meta"}


class HttpApi:
    """Answers `/api/v3/...` requests against a `GitHubState`."""

    def __init__(self, state: GitHubState, now: Callable[[], float], lock: threading.RLock):
        self.state, self.now, self.lock = state, now, lock
        self._rates: dict[str, list[float]] = {}   # key -> [used, reset_at]

    # -- entry point ---------------------------------------------------------------------------

    def handle(self, method: str, path_and_query: str, headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, str], bytes]:
        hdrs = Headers(headers)
        with self.lock:
            now = self.now()
            caller = self._caller(hdrs.get("authorization"), now)
            status, payload, extra = self._dispatch(method.upper(), path_and_query, hdrs, body, caller, now)
            return self._respond(status, payload, extra, caller, now)

    # -- authentication ------------------------------------------------------------------------

    def _caller(self, authorization: str | None, now: float) -> Caller:
        if not authorization or not authorization.strip():
            return Caller(anonymous=True)
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() == "basic":
            credential = _basic_password(credential)
        elif scheme.lower() not in ("bearer", "token"):
            return Caller(denial=rules.bad_credentials())
        if jwt.looks_like_jwt(credential):
            app, error = rules.authenticate_jwt(self.state, credential, now)
            return Caller(app=app, is_jwt=True, denial=rules.jwt_denial(error) if error else None)
        found = rules.authenticate_token(self.state, credential, now)
        if isinstance(found, Denial):
            return Caller(denial=found)
        return Caller(token=found)

    # -- routing -------------------------------------------------------------------------------

    def _dispatch(self, method, path_and_query, hdrs, body, caller, now):
        path = urlsplit(path_and_query).path
        if not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            return 404, rules.not_found().body(), {}
        path = path[len(API_PREFIX):]
        for route_method, pattern, name in _ROUTES:
            match = pattern.match(path)
            if match and route_method == method:
                return self._call(name, match.groupdict(), hdrs, body, caller, now)
        return 404, rules.not_found().body(), {}

    def _call(self, name, params, hdrs, body, caller: Caller, now):
        if caller.denial is not None:          # a wrong credential fails even where none is needed
            return _deny(caller.denial)
        if name in OPEN_ROUTES:
            return getattr(self, f"_{name}")(params, hdrs, body, caller, now)
        if name in APP_ROUTES and not caller.is_jwt:
            return _deny(Denial(401, jwt.DECODE_ERROR))
        if name not in APP_ROUTES and caller.anonymous:
            return _deny(Denial(401, "Requires authentication"))
        if name not in APP_ROUTES and caller.is_jwt:
            return _deny(Denial(403, rules.INTEGRATION_FORBIDDEN))
        if self._rate(caller, now)[0] >= RATE_LIMIT:
            return _deny(Denial(403, "API rate limit exceeded for this credential."))
        return getattr(self, f"_{name}")(params, hdrs, body, caller, now)

    # -- endpoints -----------------------------------------------------------------------------

    def _root(self, params, hdrs, body, caller, now):
        base = f"https://{hdrs.get('host', 'localhost')}{API_PREFIX}"
        return 200, {"current_user_url": f"{base}/user",
                     "organization_url": f"{base}/orgs/{{org}}",
                     "repository_url": f"{base}/repos/{{owner}}/{{repo}}",
                     "user_url": f"{base}/users/{{user}}"}, {}

    def _meta(self, params, hdrs, body, caller, now):
        return 200, {"verifiable_password_authentication": True, "installed_version": self.state.version}, {}

    def _user(self, params, hdrs, body, caller, now):
        token = caller.token
        if token.type == "installation":
            return _deny(Denial(403, rules.INTEGRATION_FORBIDDEN))
        extra = {"X-OAuth-Scopes": ", ".join(token.scopes), "X-Accepted-OAuth-Scopes": ""} \
            if token.type == "classic" else {}
        return 200, {"login": token.login, "id": user_id(token.login), "type": "User",
                     "site_admin": False}, extra

    def _runners(self, params, hdrs, body, caller, now):
        return self._runner_call(params, caller, False, {"total_count": 0, "runners": []})

    def _registration_token(self, params, hdrs, body, caller, now):
        alphabet = string.ascii_uppercase + string.digits
        payload = {"token": "AABB" + "".join(secrets.choice(alphabet) for _ in range(25)),
                   "expires_at": iso(now + 3600)}
        status, out, extra = self._runner_call(params, caller, True, payload)
        return (201 if status == 200 else status), out, extra

    def _runner_groups(self, params, hdrs, body, caller, now):
        target = _target(params)
        groups = self.state.runner_groups(target.level, target.name)
        listing = [{"id": i + 1, "name": g, "visibility": "all", "default": g.lower() == "default",
                    "inherited": False, "allows_public_repositories": False,
                    "restricted_to_workflows": False, "selected_workflows": []}
                   for i, g in enumerate(groups)]
        payload = {"total_count": len(listing), "runner_groups": listing}
        return self._runner_call(params, caller, False, payload)

    def _runner_call(self, params, caller: Caller, write: bool, payload: dict):
        target = _target(params)
        denial = rules.runner_access(self.state, caller.token, target, write)
        if denial is not None:
            return _deny(denial)
        return 200, payload, rules.hint_headers(caller.token, target.level, write)

    def _app(self, params, hdrs, body, caller, now):
        app: App = caller.app
        return 200, {"id": app.id, "slug": app.slug, "client_id": app.client_id, "name": app.slug,
                     "owner": _account(app.installations[0].account if app.installations else "arc-org"),
                     "permissions": _union(i.permissions for i in app.installations), "events": [],
                     "installations_count": len(app.installations)}, {}

    def _installations(self, params, hdrs, body, caller, now):
        return 200, [self._installation_json(caller.app, i, hdrs) for i in caller.app.installations], {}

    def _installation(self, params, hdrs, body, caller, now):
        return self._installation_reply(caller.app, self._find_installation(caller.app, params["iid"]), hdrs)

    def _target_installation(self, params, hdrs, body, caller, now):
        org, repo = params["org"], params.get("repo")
        inst = next((i for i in caller.app.installations if i.covers(org, repo)), None)
        return self._installation_reply(caller.app, inst, hdrs)

    def _installation_reply(self, app: App, inst: Installation | None, hdrs):
        return (200, self._installation_json(app, inst, hdrs), {}) if inst else _deny(rules.not_found())

    def _access_token(self, params, hdrs, body, caller, now):
        app: App = caller.app
        inst = self._find_installation(app, params["iid"])
        if inst is None:
            return _deny(rules.not_found())
        try:
            request = json.loads(body or b"{}") or {}
        except ValueError:
            request = None
        if not isinstance(request, dict):
            return _deny(Denial(400, "Problems parsing JSON"))
        permissions = rules.narrow_permissions(inst.permissions, request.get("permissions"))
        if isinstance(permissions, Denial):
            return _deny(permissions)
        token = self.state.mint(app, inst, permissions, now)
        return 201, {"token": token.value, "expires_at": iso(token.expires_at), "permissions": permissions,
                     "repository_selection": "all" if inst.repositories is None else "selected"}, {}

    # -- helpers -------------------------------------------------------------------------------

    def _find_installation(self, app: App, raw_id: str) -> Installation | None:
        return self.state.installation(app, int(raw_id)) if raw_id.isdigit() else None

    def _installation_json(self, app: App, inst: Installation, hdrs) -> dict:
        base = f"https://{hdrs.get('host', 'localhost')}{API_PREFIX}"
        return {"id": inst.id, "account": _account(inst.account), "app_id": app.id, "app_slug": app.slug,
                "target_type": "Organization", "permissions": inst.permissions, "events": [],
                "repository_selection": "all" if inst.repositories is None else "selected",
                "access_tokens_url": f"{base}/app/installations/{inst.id}/access_tokens",
                "suspended_at": None}

    def _rate(self, caller: Caller, now: float) -> list[float]:
        entry = self._rates.get(caller.rate_key)
        if entry is None or entry[1] <= now:
            entry = self._rates[caller.rate_key] = [0, float(int(now) + 3600)]
        return entry

    def _respond(self, status, payload, extra, caller: Caller, now) -> tuple[int, dict[str, str], bytes]:
        entry = self._rate(caller, now)
        entry[0] = min(entry[0] + 1, RATE_LIMIT)
        clock = now + (caller.app.clock_skew_seconds if caller.app else 0.0)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Date": formatdate(clock, usegmt=True),
            "Server": "GitHub.com",
            "X-GitHub-Enterprise-Version": self.state.version,
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Request-Id": secrets.token_hex(8).upper(),
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(RATE_LIMIT - int(entry[0])),
            "X-RateLimit-Reset": str(int(entry[1])),
            "X-RateLimit-Used": str(int(entry[0])),
            "X-RateLimit-Resource": "core",
        }
        token = caller.token
        if token is not None and token.expires_at is not None and token.type != "installation":
            headers["github-authentication-token-expiration"] = datetime.fromtimestamp(
                token.expires_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        headers.update(extra)
        return status, headers, json.dumps(payload, separators=(",", ":")).encode()


def _deny(denial: Denial):
    return denial.status, denial.body(), dict(denial.headers)


def _target(params: dict) -> Target:
    if params.get("ent"):
        return Target("enterprise", params["ent"])
    if params.get("repo"):
        return Target("repository", params["org"], params["repo"])
    return Target("organization", params["org"])


def _account(login: str) -> dict:
    return {"login": login, "id": user_id(login), "type": "Organization"}


def _union(maps) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in maps:
        out.update(m)
    return out


def _basic_password(credential: str) -> str:
    try:
        return base64.b64decode(credential, validate=True).decode().partition(":")[2]
    except (binascii.Error, UnicodeDecodeError):
        return ""

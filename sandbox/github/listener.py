"""What an ARC listener experiences at start-up with a given credentials Secret.

The ARC controller simulation calls this every few seconds per scale set, so it runs the same
rules as the HTTP endpoints (`rules`, `jwt`) in-process, and caches the one expensive step:
whether a private key matches an app's public key. Log lines copy the listener's (Go slog text
plus `log.Printf` for the fatal error) and never contain a credential: tokens are masked.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from . import jwt, rules
from .rules import Denial, Target
from .state import App, GitHubState, Token, mask_token
from .urls import INVALID_URL_MESSAGE, ConfigUrl, parse_config_url

APP_KEYS = ("github_app_id", "github_app_installation_id", "github_app_private_key")
KEY_CHECK_TTL = 300.0          # seconds (monotonic) a key/app match stays cached
_INT64 = re.compile(r"[+-]?[0-9]+")
_NEEDS_QUOTES = re.compile(r'[\s"=\\]|^$')
_SESSION = "failed to create actions message session client: "
_REFRESH = "failed to get runner registration token on refresh: "
HEALTHY_STATS = {"totalAvailableJobs": 0, "totalAcquiredJobs": 0, "totalAssignedJobs": 0,
                 "totalRunningJobs": 0, "totalRegisteredRunners": 0, "totalBusyRunners": 0,
                 "totalIdleRunners": 0}


@dataclass(frozen=True)
class CredentialOutcome:
    """Verdict for one listener start: `reason` is a short machine word (`ok`, `bad-header`, …)."""

    ok: bool
    reason: str
    log_lines: tuple[str, ...]


class _Fail(Exception):
    """Internal: stop the simulated start-up with a reason and the fatal error text."""

    def __init__(self, reason: str, error: str):
        super().__init__(reason)
        self.reason, self.error = reason, error


def go_quote(text: str) -> str:
    """Go's %q: double quotes, escapes for control characters, printable Unicode kept."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(ch)])
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def masked_with_whitespace(token: str) -> str:
    """The token masked, but its surrounding whitespace kept: that whitespace is the finding."""
    core = token.strip()
    if not core:
        return token
    lead = token[: len(token) - len(token.lstrip())]
    trail = token[len(token.rstrip()):]
    return lead + mask_token(core) + trail


def parse_int64(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64): no surrounding whitespace, no underscores."""
    if not _INT64.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


class ListenerLog:
    """Lines in the listener's formats, stamped from the sandbox clock."""

    def __init__(self, now: float):
        self.stamp = datetime.fromtimestamp(now, UTC)
        self.lines: list[str] = []

    def info(self, msg: str, **attrs: object) -> None:
        parts = [f"time={self.stamp.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z", "level=INFO",
                 f"msg={go_quote(msg)}"]
        for key, value in attrs.items():
            text = str(value)
            parts.append(f"{key}={go_quote(text) if _NEEDS_QUOTES.search(text) else text}")
        self.lines.append(" ".join(parts))

    def fatal(self, error: str) -> None:
        stamp = self.stamp.strftime("%Y/%m/%d %H:%M:%S")
        self.lines.append(f"{stamp} Application returned an error: {error}")


class ListenerSimulator:
    """Evaluates a listener's credentials; holds the key-match cache."""

    def __init__(self, state: GitHubState):
        self.state = state
        self._key_checks: dict[tuple[str, str], tuple[float, str | None, bool]] = {}

    def evaluate(self, config_url: str, secret_data: dict[str, str] | None, runner_group: str | None,
                 now: float) -> CredentialOutcome:
        log = ListenerLog(now)
        try:
            self._run(log, config_url, secret_data, runner_group, now)
        except _Fail as failure:
            log.fatal(failure.error)
            return CredentialOutcome(False, failure.reason, tuple(log.lines))
        return CredentialOutcome(True, "ok", tuple(log.lines))

    # -- the start-up sequence -----------------------------------------------------------------

    def _run(self, log: ListenerLog, config_url, secret_data, runner_group, now) -> None:
        if secret_data is None:
            raise _Fail("no-secret", "failed to read config: github config secret not found")
        token = secret_data.get("github_token") or ""
        app_values = {k: secret_data.get(k) or "" for k in APP_KEYS}
        if token and any(app_values.values()):
            raise _Fail("both-credentials",
                        "failed to read config: both PAT and GitHub App credentials provided")
        if not token and not (app_values["github_app_id"] and app_values["github_app_private_key"]):
            raise _Fail("no-credentials", "failed to read config: no credentials provided")
        app_auth = None if token else self._parse_app_values(app_values)
        cfg = parse_config_url(config_url)
        if cfg is None:
            raise _Fail("invalid-url", "failed to parse GitHub config from URL: "
                                       f"{go_quote(str(config_url))}: {INVALID_URL_MESSAGE}")
        log.info("refreshing token", githubConfigUrl=config_url)
        principal = self._pat(token, cfg, now) if token else self._app(log, cfg, *app_auth, now)
        url = f"{cfg.api_base}{cfg.resource_path}/actions/runners/registration-token"
        log.info("getting runner registration token", registrationTokenURL=url)
        target = Target(cfg.level, cfg.enterprise or cfg.org or "", cfg.repo)
        denial = rules.runner_access(self.state, principal, target, write=True)
        if denial is not None:
            raise _Fail(self._reason(denial, principal, target), _SESSION + _REFRESH +
                        "unexpected response from Actions service during registration token call: "
                        f"{denial.status} - {_json(denial.body())}")
        log.info("getting Actions tenant URL and JWT",
                 registrationURL=f"{cfg.api_base}/actions/runner-registration")
        group = runner_group or "Default"
        if group.lower() not in {g.lower() for g in self.state.runner_groups(target.level, target.name)}:
            raise _Fail("no-runner-group",
                        f'failed to get runner group: no runner group found with name "{group}"')
        log.info("Getting runner scale set", runnerGroup=group)
        log.info("Starting listener")
        log.info("Current runner scale set statistics", component="listener",
                 statistics=_json(HEALTHY_STATS))

    def _reason(self, denial: Denial, principal: Token, target: Target) -> str:
        if denial.status == 403:
            return "forbidden"
        installed = principal.type == "installation" and self.state.target_exists(
            target.level, target.name, target.repo)
        return "not-installed" if installed else "not-found"

    def _pat(self, token: str, cfg: ConfigUrl, now: float) -> Token:
        if token != token.strip() or any(ord(c) < 32 or ord(c) == 127 for c in token):
            value = go_quote("Bearer " + masked_with_whitespace(token))
            raise _Fail("bad-header", _SESSION + _REFRESH +
                        f'Post "{cfg.api_base}{cfg.resource_path}/actions/runners/registration-token": '
                        f"net/http: invalid header field value {value} for key Authorization")
        found = rules.authenticate_token(self.state, token, now)
        if isinstance(found, Denial):
            known = self.state.tokens.get(token)
            reason = "expired" if known is not None and known.status(now) == "expired" else "bad-credentials"
            raise _Fail(reason, _SESSION + _REFRESH +
                        "unexpected response from Actions service during registration token call: "
                        f"{found.status} - {_json(found.body())}")
        return found

    # -- GitHub App ----------------------------------------------------------------------------

    @staticmethod
    def _parse_app_values(values: dict[str, str]) -> tuple[str | int, int, str]:
        raw_id, raw_installation = values["github_app_id"], values["github_app_installation_id"]
        if raw_id != raw_id.strip() or not raw_id.strip():
            raise _Fail("bad-app-id", f"failed to parse github_app_id: strconv.ParseInt: parsing "
                                      f"{go_quote(raw_id)}: invalid syntax")
        installation = parse_int64(raw_installation)
        if installation is None:
            raise _Fail("bad-app-id", "failed to parse github_app_installation_id: strconv.ParseInt: "
                                      f"parsing {go_quote(raw_installation)}: invalid syntax")
        issuer = parse_int64(raw_id)
        return (raw_id if issuer is None else issuer), installation, values["github_app_private_key"]

    def _app(self, log: ListenerLog, cfg: ConfigUrl, issuer: str | int, installation_id: int,
             private_pem: str, now: float) -> Token:
        key = jwt.load_private_key(private_pem)
        if key is None:
            raise _Fail("bad-jwt", _SESSION + _REFRESH +
                        "failed to create JWT: Invalid Key: Key must be a PEM encoded PKCS1 or PKCS8 key")
        log.info("getting access token for GitHub App auth",
                 accessTokenURL=f"{cfg.api_base}/app/installations/{installation_id}/access_tokens")
        app, error = self._check_jwt(issuer, private_pem, key, now)
        failure = "failed to get access token for GitHub App auth "
        if error is not None:
            denial = rules.jwt_denial(error)
            raise _Fail("clock-skew" if error.kind == "clock" else "bad-jwt",
                        _SESSION + _REFRESH + f"{failure}(401 Unauthorized): {_json(denial.body())}")
        inst = self.state.installation(app, installation_id)
        if inst is None:
            raise _Fail("not-installed", _SESSION + _REFRESH +
                        f"{failure}(404 Not Found): {_json(rules.not_found().body())}")
        return Token(value="", type="installation", login=f"{app.slug}[bot]",
                     permissions=dict(inst.permissions), owner=inst.account,
                     repositories=inst.repositories, app_id=app.id, installation_id=inst.id)

    def _check_jwt(self, issuer, private_pem: str, key, now: float) -> tuple[App | None, jwt.JwtError | None]:
        """Sign ARC's JWT and validate it as GitHub would; a known key/app match skips the RSA work."""
        claims = jwt.arc_claims(issuer, now)
        app = self.state.find_app(issuer)
        cache_key = (str(issuer), jwt.key_fingerprint(private_pem))
        app_key = app.key_id if app else None
        cached = self._key_checks.get(cache_key)
        if cached and cached[0] > time.monotonic() and cached[1] == app_key:
            if not cached[2] or app is None:
                return None, jwt.JwtError("decode", jwt.DECODE_ERROR)
            return app, jwt.check_claims(claims, now + app.clock_skew_seconds)
        signed_by, error = rules.authenticate_jwt(self.state, jwt.sign_jwt(key, claims), now)
        if len(self._key_checks) > 256:
            self._key_checks.clear()
        self._key_checks[cache_key] = (time.monotonic() + KEY_CHECK_TTL, app_key, signed_by is not None)
        return signed_by, error


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))

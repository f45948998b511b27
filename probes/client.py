"""A small GitHub REST client on httpx: GitHub's headers, a timeout per request, one retry on a network error,
rate-limit awareness, `HTTPS_PROXY`/`NO_PROXY` (httpx's trust_env) and extra CA certificates (a GHES CA from the
scale set's githubServerTLS ConfigMap or --github-ca), added to the system's.

Read-only by design: only GET. Every failure is a `ProbeError` whose message is one line without any secret:
the values a request carried are scrubbed from error texts, and httpx masks Authorization in its reprs.
"""

from __future__ import annotations

import hashlib
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

API_VERSION = "2022-11-28"
USER_AGENT = "arc-top (credential probe)"
DEFAULT_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
                   "User-Agent": USER_AGENT}
RETRY_DELAY_S = 0.2
_RETRYABLE = (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


class ProbeError(Exception):
    """GitHub could not be asked (or would not answer): str() is one line for the user, never a secret."""


class Unreachable(ProbeError):
    """No answer: connection refused or reset, DNS, proxy, timeout, TLS."""


class UntrustedCertificate(Unreachable):
    """The server's certificate is not signed by a CA this machine (or --github-ca / githubServerTLS) trusts."""


class RateLimited(ProbeError):
    def __init__(self, message: str, reset_at: float | None = None):
        super().__init__(message)
        self.reset_at = reset_at


def scrub(text: str, secrets: Sequence[str]) -> str:
    """`text` without any of `secrets` (longest first), each replaced by an ellipsis; one line."""
    for value in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(value, "…")
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]          # lower-case names
    body: object                        # parsed JSON (None when not JSON)
    sent_at: float                      # epoch seconds, this machine's clock
    received_at: float

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    @property
    def message(self) -> str:
        return str(self.body.get("message", "")) if isinstance(self.body, dict) else ""

    @property
    def server_time(self) -> float | None:
        """GitHub's clock from the Date header (second resolution), None without one."""
        value = self.header("date")
        try:
            return parsedate_to_datetime(value).timestamp() if value else None
        except (TypeError, ValueError, IndexError):
            return None

    @property
    def clock_skew(self) -> float | None:
        """GitHub's clock minus this machine's (seconds), from the Date header; None without one."""
        server = self.server_time
        if server is None:
            return None
        return server + 0.5 - (self.sent_at + self.received_at) / 2      # Date is truncated to the second


@dataclass
class RateLimit:
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, headers: Mapping[str, str]) -> None:
        with self.lock:
            for attr, name in (("limit", "x-ratelimit-limit"), ("remaining", "x-ratelimit-remaining")):
                value = headers.get(name, "")
                if value.isdigit():
                    setattr(self, attr, int(value))
            reset = headers.get("x-ratelimit-reset", "")
            if reset.isdigit():
                self.reset_at = float(reset)

    def exhausted(self, now: float) -> bool:
        with self.lock:
            return self.remaining == 0 and self.reset_at is not None and self.reset_at > now


def ssl_context(ca_pems: Sequence[bytes | str] = ()) -> ssl.SSLContext:
    """The system's CAs plus `ca_pems` (PEM text). Raises ProbeError for a CA that is not a PEM certificate."""
    ctx = ssl.create_default_context()
    for pem in ca_pems:
        text = pem.decode("utf-8", "replace") if isinstance(pem, bytes) else str(pem)
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise ProbeError("the CA certificate given is not PEM (-----BEGIN CERTIFICATE-----)")
        try:
            ctx.load_verify_locations(cadata=text)
        except (ssl.SSLError, ValueError) as exc:
            raise ProbeError(f"the CA certificate given cannot be loaded ({exc.__class__.__name__})") from None
    return ctx


def _tls_reason(exc: BaseException) -> str:
    """The certificate-verify reason inside an httpx error chain ("" when it is not a TLS verify failure)."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return exc.verify_message or "certificate verify failed"
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return text.split("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0].strip(" )") or \
                "certificate verify failed"
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return ""


def _network_words(exc: BaseException) -> str:
    if isinstance(exc, httpx.ProxyError):
        return f"proxy error: {exc}"
    text = str(exc) or type(exc).__name__
    return text


class GitHubClient:
    """One API root (https://api.github.com, https://host/api/v3 …), shared by the probes of every Secret there."""

    def __init__(self, api_base: str, *, timeout: float = 5.0, ca_pems: Sequence[bytes | str] = (),
                 transport: httpx.BaseTransport | None = None, trust_env: bool = True,
                 clock: Callable[[], float] = time.time, retry_delay: float = RETRY_DELAY_S):
        self.api_base = api_base.rstrip("/")
        self.timeout = float(timeout)
        self.clock = clock
        self.retry_delay = retry_delay
        self.rate = RateLimit()
        self._http = httpx.Client(base_url=self.api_base, timeout=httpx.Timeout(self.timeout),
                                  verify=ssl_context(ca_pems), trust_env=trust_env, headers=DEFAULT_HEADERS,
                                  follow_redirects=False, transport=transport)

    def get(self, path: str, *, authorization: str, secrets: Sequence[str] = ()) -> Reply:
        """GET `path` (relative to the API root) with that Authorization header value. Raises ProbeError."""
        hidden = tuple(secrets) + (authorization, authorization.partition(" ")[2])
        if self.rate.exhausted(self.clock()):
            raise RateLimited(self._rate_words(), self.rate.reset_at)
        for attempt in (1, 2):
            sent = self.clock()
            try:
                resp = self._http.get(path, headers={"Authorization": authorization})
            except httpx.TimeoutException:
                raise Unreachable(f"no answer within {self.timeout:g} s") from None
            except _RETRYABLE as exc:
                reason = _tls_reason(exc)
                if reason:
                    raise UntrustedCertificate(f"its TLS certificate is not trusted ({scrub(reason, hidden)})") \
                        from None
                if attempt == 1:
                    time.sleep(self.retry_delay)
                    continue
                raise Unreachable(scrub(_network_words(exc), hidden)) from None
            except httpx.LocalProtocolError:
                raise ProbeError("the credential cannot be sent in an HTTP header (characters not allowed)") from None
            except httpx.HTTPError as exc:
                raise Unreachable(scrub(_network_words(exc), hidden)) from None
            received = self.clock()
            break
        headers = {k.lower(): v for k, v in resp.headers.multi_items()}      # a repeated header: the last wins
        try:
            body = resp.json()
        except ValueError:
            body = None
        reply = Reply(resp.status_code, headers, body, sent, received)
        self.rate.update(headers)
        if resp.status_code in (403, 429) and (headers.get("x-ratelimit-remaining") == "0"
                                               or "retry-after" in headers or "rate limit" in reply.message.lower()):
            raise RateLimited(self._rate_words(), self.rate.reset_at)
        return reply

    def _rate_words(self) -> str:
        if self.rate.reset_at:
            return "GitHub's API rate limit is used up until " + time.strftime(
                "%H:%M UTC", time.gmtime(self.rate.reset_at))
        return "GitHub's API rate limit is used up"

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"<GitHubClient {self.api_base} timeout={self.timeout:g}s>"


class ClientPool:
    """One GitHubClient per (API root, extra CAs), reused across probes (connections stay open); thread-safe."""

    def __init__(self, *, timeout: float = 5.0, extra_ca: Sequence[bytes | str] = (),
                 transport: httpx.BaseTransport | None = None, trust_env: bool = True,
                 clock: Callable[[], float] = time.time):
        self.timeout, self.extra_ca, self.transport = timeout, tuple(extra_ca), transport
        self.trust_env, self.clock = trust_env, clock
        self._clients: dict[tuple, GitHubClient] = {}
        self._lock = threading.Lock()

    def client(self, api_base: str, ca_pems: Sequence[bytes | str] = ()) -> GitHubClient:
        cas = tuple(self.extra_ca) + tuple(ca_pems)
        key = (api_base, hashlib.sha256(b"\0".join(c if isinstance(c, bytes) else c.encode() for c in cas)).hexdigest())
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                found = self._clients[key] = GitHubClient(api_base, timeout=self.timeout, ca_pems=cas,
                                                          transport=self.transport, trust_env=self.trust_env,
                                                          clock=self.clock)
            return found

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for c in clients:
            c.close()

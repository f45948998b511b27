"""githubConfigUrl → what to ask: the REST API root of its host and the runners endpoint of its level.

Hosts (ARC_REFERENCE §5): github.com / www.github.com → https://api.github.com; <x>.ghe.com → https://api.<x>.ghe.com;
anything else is GitHub Enterprise Server → <scheme>://<host>/api/v3. The URL is validated by the same rules as
ARC108 (checks.auth.config_url_problem), so a URL the checks call wrong is never probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def config_url_problem(url: str) -> str:
    """Why githubConfigUrl is not the web URL of an enterprise, org or repository ("" = it is)."""
    if not url:
        return "githubConfigUrl is empty"
    if any(c.isspace() or ord(c) < 32 for c in url):
        return "githubConfigUrl contains whitespace"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "githubConfigUrl is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return f"scheme {parts.scheme or '(none)'!r} is not http or https"
    host = (parts.hostname or "").lower()
    if not host:
        return "githubConfigUrl has no host"
    if host.startswith("api."):
        return f"{host} is an API host; use the web host ({host[4:]})"
    names = [n for n in parts.path.strip("/").split("/")] if parts.path.strip("/") else []
    if not names:
        return "githubConfigUrl names no enterprise, organization or repository"
    if names[0].lower() == "api":
        return "the path points at the REST API (/api/…); use the web URL"
    if any(not n or not set(n) <= _NAME_CHARS for n in names):
        return "the path has empty or invalid parts"
    if len(names) > 2:
        return f"extra path parts after {'/'.join(names[:2])!r}"
    if names[0].lower() in ("orgs", "repos", "users") and len(names) == 2:
        return f"/{names[0]}/… is an API-style path; use /<org> or /<owner>/<repo>"
    if parts.query or parts.fragment:
        return "githubConfigUrl has a query or fragment"
    return ""


_HOSTED = {"github.com", "www.github.com"}


@dataclass(frozen=True, slots=True)
class Target:
    """What a githubConfigUrl points at."""
    url: str
    api_base: str
    level: str                 # enterprise | organization | repository
    owner: str                 # enterprise slug or org / repository owner
    repo: str = ""

    @property
    def name(self) -> str:
        if self.level == "enterprise":
            return f"enterprises/{self.owner}"
        return f"{self.owner}/{self.repo}" if self.repo else self.owner

    @property
    def resource_path(self) -> str:
        """REST prefix of the target: /orgs/o, /repos/o/r or /enterprises/e."""
        if self.level == "enterprise":
            return f"/enterprises/{self.owner}"
        if self.level == "organization":
            return f"/orgs/{self.owner}"
        return f"/repos/{self.owner}/{self.repo}"


def api_base(scheme: str, netloc: str) -> str:
    host = netloc.rsplit("@", 1)[-1].lower()
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if hostname in _HOSTED:
        return "https://api.github.com"
    if hostname.endswith(".ghe.com"):
        return f"https://api.{host}"
    return f"{scheme.lower()}://{host}/api/v3"


def parse(url: str) -> Target | None:
    """The target of a githubConfigUrl, or None when ARC (or GitHub behind it) would reject the URL (ARC108)."""
    if not isinstance(url, str) or config_url_problem(url):
        return None
    parts = urlsplit(url)
    names = parts.path.strip("/").split("/")
    base = api_base(parts.scheme, parts.netloc)
    if len(names) == 1:
        return Target(url, base, "organization", names[0])
    if names[0].lower() == "enterprises":
        return Target(url, base, "enterprise", names[1])
    return Target(url, base, "repository", names[0], names[1])

"""githubConfigUrl parsing, shared by the fake server, the listener simulation and arc-top's probes.

Mirrors ARC's `ParseGitHubConfigFromURL` (one path part = org, two = repo or `enterprises/<slug>`)
but is stricter where ARC's acceptance only leads to a 404 later: API hosts and `/api/v3` paths
are refused, so a wrong URL is reported as wrong instead of as "not found".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

INVALID_URL_MESSAGE = "invalid config URL, should point to an enterprise, org, or repository"

_NAME = re.compile(r"[A-Za-z0-9._-]+")
_HOSTED = {"github.com", "www.github.com"}


@dataclass(frozen=True)
class ConfigUrl:
    """A parsed githubConfigUrl: which level it targets and the names at that level."""

    url: str
    scheme: str
    host: str                  # hostname[:port], lower-cased
    level: str                 # enterprise | organization | repository
    enterprise: str | None = None
    org: str | None = None
    repo: str | None = None

    @property
    def api_base(self) -> str:
        return _api_base(self.scheme, self.host)

    @property
    def resource_path(self) -> str:
        """REST prefix of the target: `/orgs/o`, `/repos/o/r` or `/enterprises/e`."""
        if self.level == "enterprise":
            return f"/enterprises/{self.enterprise}"
        if self.level == "organization":
            return f"/orgs/{self.org}"
        return f"/repos/{self.org}/{self.repo}"


def _api_base(scheme: str, host: str) -> str:
    hostname = host.split(":", 1)[0]
    if hostname in _HOSTED:
        return "https://api.github.com"
    if hostname.endswith(".ghe.com"):
        return f"https://api.{host}"
    return f"{scheme}://{host}/api/v3"


def parse_config_url(url: str) -> ConfigUrl | None:
    """The config URL's target, or None when ARC (or GitHub behind it) would reject it."""
    if not isinstance(url, str) or not url or any(c.isspace() or ord(c) < 32 for c in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.netloc.rsplit("@", 1)[-1]).lower()
    if scheme not in ("http", "https") or not parts.hostname or host.startswith("api."):
        return None
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    names = path.rstrip("/").split("/")
    if not names[0] or any(not _NAME.fullmatch(n) for n in names):
        return None
    base = dict(url=url, scheme=scheme, host=host)
    if len(names) == 1:
        return ConfigUrl(level="organization", org=names[0], **base)
    if len(names) == 2:
        first, second = names
        if first.lower() == "api":
            return None
        if first.lower() == "enterprises":
            return ConfigUrl(level="enterprise", enterprise=second, **base)
        return ConfigUrl(level="repository", org=first, repo=second, **base)
    return None


def api_base(url: str) -> str:
    """REST API root for a config URL's host (§5): api.github.com, api.<x>.ghe.com or <host>/api/v3."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL")
    return _api_base(parts.scheme.lower(), parts.netloc.rsplit("@", 1)[-1].lower())

"""githubConfigUrl → what to ask: the REST API root of its host and the runners endpoint of its level.

Hosts (ARC_REFERENCE §5): github.com / www.github.com → https://api.github.com; <x>.ghe.com → https://api.<x>.ghe.com;
anything else is GitHub Enterprise Server → <scheme>://<host>/api/v3. The URL is validated by the same rules as
ARC108 (checks.auth.config_url_problem), so a URL the checks call wrong is never probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from checks.auth import config_url_problem

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

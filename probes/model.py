"""What a probe takes and gives: `Credentials` (a Secret's values, in memory only, masked in every repr) and
`ProbeResult` (masked identity, scopes or permissions, expiry, problems; never a value).

A `Credentials` object is made by the kube layer right before a probe and dropped after it: it is never cached,
logged, pickled or stored. Its repr and str show the namespace, Secret, kind and masked identity only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from arc_top.core.text import mask_token, token_prefix

LEVEL_SCOPES = {"repository": "repo", "organization": "admin:org", "enterprise": "manage_runners:enterprise"}
# What ARC needs of a fine-grained token or a GitHub App at each level (ARC_REFERENCE §5).
LEVEL_PERMISSIONS = {"repository": "administration", "organization": "organization_self_hosted_runners"}
PERMISSION_WORDS = {"administration": "Administration", "organization_self_hosted_runners": "Self-hosted runners",
                    "metadata": "Metadata"}


@dataclass(frozen=True, slots=True)
class ProbeProblem:
    """One thing GitHub's answers show is wrong with a credential. `kind` says which (see `_WORDING`); the other
    fields carry what the wording names. Never a secret value."""
    code: str                          # ARC104 | ARC105 | ARC106 | ARC107
    kind: str
    detail: str = ""                   # the missing scope/permission, the installation id, …
    evidence: tuple[str, ...] = ()     # what GitHub answered: status, message, hint headers (masked)
    value: float | None = None         # days left (ARC106), clock skew in seconds (clock-skew)
    severity: str = ""                 # "" = the catalogue's


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one probe of one credential found, per (namespace, Secret, githubConfigUrl). Safe to show, log and
    keep: identities are masked, no token, key or JWT is ever stored here."""
    namespace: str
    secret: str
    config_url: str
    resource_version: str = ""         # of the Secret probed: a changed Secret is probed again
    scale_sets: tuple[str, ...] = ()   # "namespace/name" of every scale set using this Secret with this URL
    kind: str = ""                     # classic | fine-grained | token (another prefix) | app | "" (not known)
    identity: str = ""                 # "ghp_…a1b2" or "app 101 (arc-app)"
    login: str = ""                    # the token's user (GET /user)
    level: str = ""                    # enterprise | organization | repository
    target: str = ""                   # arc-org | arc-org/app-repo | enterprises/arc-ent
    api_base: str = ""
    scopes: tuple[str, ...] | None = None            # a classic token's scopes (None: not a classic token)
    permissions: tuple[tuple[str, str], ...] = ()    # a GitHub App installation's permissions
    installation_id: int | None = None
    expires_at: float | None = None    # epoch seconds (None: does not expire, or not known)
    clock_skew: float | None = None    # GitHub's clock minus this machine's, seconds (App probes)
    probed_at: float = 0.0             # epoch seconds
    elapsed: float = 0.0               # seconds the probe took
    evaluated: bool = True             # False: not evaluated (GitHub unreachable, Secret unreadable…): `reason`
    reason: str = ""
    problems: tuple[ProbeProblem, ...] = ()
    notes: tuple[str, ...] = ()        # facts worth showing that are not problems

    @property
    def ok(self) -> bool:
        return self.evaluated and not self.problems

    @property
    def permissions_map(self) -> dict[str, str]:
        return dict(self.permissions)


TOKEN_KEY = "github_token"
APP_ID_KEY, INSTALLATION_KEY, PRIVATE_KEY_KEY = "github_app_id", "github_app_installation_id", "github_app_private_key"
APP_KEYS = (APP_ID_KEY, INSTALLATION_KEY, PRIVATE_KEY_KEY)
CREDENTIAL_KEYS = (TOKEN_KEY, *APP_KEYS)
TOKEN_KINDS = {"ghp_": "classic", "github_pat_": "fine-grained"}


def token_kind(token: str) -> str:
    """classic | fine-grained | token (another or no prefix): a hint only; GitHub's answers decide."""
    return TOKEN_KINDS.get(token_prefix(token), "token")


class Credentials:
    """The GitHub credential values of one Secret (decoded, as ARC reads them). Kept in memory for one probe."""

    __slots__ = ("_values", "namespace", "resource_version", "secret")

    def __init__(self, namespace: str, secret: str, resource_version: str, values: Mapping[str, str]):
        self.namespace, self.secret, self.resource_version = namespace, secret, resource_version
        self._values = {k: values[k] for k in CREDENTIAL_KEYS if isinstance(values.get(k), str)}

    def _present(self, key: str) -> bool:
        return bool(self._values.get(key, "").strip())     # as ARC: an empty value is no value

    @property
    def kind(self) -> str:
        """token | app | both | incomplete-app | none (what ARC would make of the Secret)."""
        token, app = self._present(TOKEN_KEY), [k for k in APP_KEYS if self._present(k)]
        if token and app:
            return "both"
        if token:
            return "token"
        if len(app) == len(APP_KEYS):
            return "app"
        return "incomplete-app" if app else "none"

    @property
    def token(self) -> str:
        return self._values.get(TOKEN_KEY, "").strip()

    @property
    def app_id(self) -> str:
        return self._values.get(APP_ID_KEY, "").strip()

    @property
    def installation_id(self) -> str:
        return self._values.get(INSTALLATION_KEY, "").strip()

    @property
    def private_key(self) -> str:
        return self._values.get(PRIVATE_KEY_KEY, "").strip()

    @property
    def whitespace(self) -> tuple[str, ...]:
        """Keys whose value has whitespace around it (ARC uses values untrimmed: ARC103); a PEM's final newline
        is fine."""
        out = []
        for key, value in self._values.items():
            core = value[:-1] if key == PRIVATE_KEY_KEY and value.endswith("\n") else value
            if core != core.strip():
                out.append(key)
        return tuple(out)

    @property
    def identity(self) -> str:
        """Safe to show: a masked token, or the app id."""
        if self.kind == "token":
            return mask_token(self.token)
        if self.kind == "app":
            return f"app {self.app_id}" if self.app_id.isascii() and len(self.app_id) <= 40 else "app"
        return ""

    def secret_values(self) -> tuple[str, ...]:
        """Every value and its trimmed form: what must never appear in any message (for scrubbing)."""
        out = {v for v in self._values.values() if v}
        out |= {v.strip() for v in self._values.values() if v.strip()}
        return tuple(sorted(out, key=len, reverse=True))

    def __repr__(self) -> str:
        who = self.identity if self.kind == "app" else " ".join(w for w in (self.kind, self.identity) if w)
        return f"<Credentials {self.namespace}/{self.secret} rv={self.resource_version or '?'}: {who}>"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("Credentials hold secret values and are never pickled or copied")

    def __copy__(self):
        raise TypeError("Credentials hold secret values and are never copied")

    def __deepcopy__(self, memo):
        raise TypeError("Credentials hold secret values and are never copied")


__all__ = ["APP_KEYS", "CREDENTIAL_KEYS", "TOKEN_KEY", "Credentials", "ProbeProblem", "ProbeResult", "mask_token",
           "token_kind"]

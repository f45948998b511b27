"""Every HTTP request the sandbox API server served, in a bounded in-memory log (an audit log of sorts).

Tests and tools use it to prove what a client did to the cluster — above all that a read-only screen
wrote nothing: `mark()` a position, act, then read `since(mark)` / `mutating_since(mark)`.

Only requests that came over HTTP are here. The simulated ARC controller, kubelet and churn call the
`Cluster` in-process and never appear, exactly as a real cluster's own controllers would not show up in
a client's traffic.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qs

MAX_RECORDS = 20_000
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
GITHUB_PREFIX = "/api/v3"           # the fake GitHub Enterprise Server shares the port: not Kubernetes
SANDBOX_PREFIX = "/sandbox/"        # fault injection and pause: the sandbox's own control endpoints


def api_of(path: str) -> str:
    """Which API a path belongs to: `kubernetes`, `github` (the fake GHES) or `sandbox` (control)."""
    if path == GITHUB_PREFIX or path.startswith(GITHUB_PREFIX + "/"):
        return "github"
    if path.startswith(SANDBOX_PREFIX) or path == SANDBOX_PREFIX.rstrip("/"):
        return "sandbox"
    return "kubernetes"


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One served request. `user` is the authenticated user ("" when authentication failed,
    `system:anonymous` without credentials, "" for the fake GitHub, which has its own tokens);
    `impersonated_user` is who the request acted as when it carried `Impersonate-User`."""

    seq: int                    # position in the log: `mark()` values compare with it
    time: float                 # epoch seconds when the answer was ready
    method: str
    path: str                   # without the query string
    query: str                  # the raw query string ("" when none)
    user: str
    status: int
    impersonated_user: str = ""
    dry_run: bool = False       # `?dryRun=All`, or a DELETE whose DeleteOptions body says `dryRun: [All]`

    @property
    def api(self) -> str:
        return api_of(self.path)

    @property
    def params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)

    @property
    def kubernetes_resource_api(self) -> bool:
        """A path under the Kubernetes API groups: `/api/...` (core, not the fake GitHub's `/api/v3`) or
        `/apis/...`."""
        if self.api != "kubernetes":
            return False
        return self.path in ("/api", "/apis") or self.path.startswith(("/api/", "/apis/"))

    @property
    def mutating(self) -> bool:
        """A write verb against the Kubernetes API — dry runs, access and rules reviews included (they are
        POSTs), whatever the answer's status."""
        return self.method in MUTATING_METHODS and self.kubernetes_resource_api


class RequestLog:
    """Thread-safe, bounded: the oldest records fall off after MAX_RECORDS."""

    def __init__(self, maxlen: int = MAX_RECORDS):
        self._records: deque[RequestRecord] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._next = 0

    def record(self, method: str, path: str, query: str, user: str, status: int,
               impersonated_user: str = "", dry_run: bool | None = None) -> RequestRecord:
        """Append one record; `dry_run` None means "as the query string says"."""
        if dry_run is None:
            dry_run = "All" in parse_qs(query).get("dryRun", ())
        with self._lock:
            rec = RequestRecord(self._next, time.time(), method, path, query, user, status, impersonated_user,
                                dry_run)
            self._next += 1
            self._records.append(rec)
            return rec

    def mark(self) -> int:
        """A position: requests answered after this call have `seq >= mark()`."""
        with self._lock:
            return self._next

    def since(self, mark: int = 0) -> list[RequestRecord]:
        """The requests answered since `mark`, oldest first (those already fallen off the log are lost)."""
        with self._lock:
            if mark >= self._next:
                return []
            first = self._records[0].seq if self._records else self._next
            return list(itertools.islice(self._records, max(0, mark - first), None))

    def mutating_since(self, mark: int = 0) -> list[RequestRecord]:
        return [r for r in self.since(mark) if r.mutating]

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

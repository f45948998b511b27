"""`FakeGitHub`: one object for the sandbox server, the controller simulation and fault injection.

It owns the state and one lock, so HTTP threads, listener evaluations and scenario mutations
never see a half-applied change. See `state` for the configuration schema.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .http import HttpApi
from .listener import CredentialOutcome, ListenerSimulator
from .state import GitHubState


class FakeGitHub:
    """A GitHub Enterprise Server stand-in: `/api/v3` over HTTP plus in-process listener verdicts."""

    def __init__(self, config: dict | None = None, now: Callable[[], float] = time.time):
        self._now = now
        self._lock = threading.RLock()
        self.state = GitHubState(config or {}, now())
        self._http = HttpApi(self.state, now, self._lock)
        self._listener = ListenerSimulator(self.state)

    def handle(self, method: str, path_and_query: str, headers: dict[str, str],
               body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        """Answer one `/api/v3/...` request: (status, headers, JSON body)."""
        return self._http.handle(method, path_and_query, headers, body)

    def evaluate_listener(self, config_url: str, secret_data: dict[str, str] | None,
                          runner_group: str | None = None) -> CredentialOutcome:
        """What a listener with this Secret (decoded, untrimmed values) would do at start-up."""
        with self._lock:
            return self._listener.evaluate(config_url, secret_data, runner_group, self._now())

    # -- fault injection -----------------------------------------------------------------------

    def add_token(self, spec: dict) -> None:
        """Add (or replace) a PAT; same keys as a `tokens:` entry, expiry counted from now."""
        with self._lock:
            self.state.add_token(spec, self._now())

    def revoke_token(self, value: str) -> None:
        """Revoke a PAT or installation token; later calls answer 401 Bad credentials."""
        with self._lock:
            token = self.state.tokens.get(value)
            if token is None:
                raise KeyError("no such token")
            token.revoked = True

    def set_clock_skew(self, app_id: int, seconds: float) -> None:
        """Make GitHub's clock run `seconds` ahead (negative: behind) for that app's JWTs."""
        with self._lock:
            self.state.app_by_id(app_id).clock_skew_seconds = float(seconds)

    def app_private_key(self, app_id: int) -> str | None:
        """The app's private PEM when the sandbox knows it (configured or generated), for Secrets."""
        with self._lock:
            return self.state.app_by_id(app_id).private_key_pem

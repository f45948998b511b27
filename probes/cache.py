"""Probe results per (namespace, Secret, resourceVersion, config URL): a changed Secret is probed again, an
unchanged one at most every `ttl` seconds (GitHub-side changes: revocation, expiry, a new installation). Results
that could not be evaluated (GitHub unreachable) are kept only `ttl_not_evaluated` seconds. Results hold no secret
values, so keeping them is safe. Thread-safe; bounded.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from arc_top.probes.model import ProbeResult

Key = tuple[str, str, str, str]


def cache_key(namespace: str, secret: str, resource_version: str, config_url: str) -> Key:
    return (namespace, secret, resource_version, config_url)


class ProbeCache:
    def __init__(self, ttl: float = 900.0, ttl_not_evaluated: float = 60.0, max_entries: int = 512,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl, self.ttl_not_evaluated, self.max_entries = ttl, ttl_not_evaluated, max_entries
        self.clock = clock
        self._entries: OrderedDict[Key, tuple[float, ProbeResult]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Key) -> ProbeResult | None:
        """The stored result while it is fresh; None without a resourceVersion (a change could not be seen)."""
        if not key[2]:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= self.clock():
                if entry is not None:
                    del self._entries[key]
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: Key, result: ProbeResult) -> None:
        if not key[2]:
            return
        ttl = self.ttl if result.evaluated else self.ttl_not_evaluated
        with self._lock:
            for old in [k for k in self._entries if k[:2] == key[:2] and k[3] == key[3] and k != key]:
                del self._entries[old]           # an older resourceVersion of the same Secret
            self._entries[key] = (self.clock() + ttl, result)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

"""The store of slim objects the watch threads fill and the UI reads: immutable snapshots, coalesced changes.

Several watchers may feed one kind (pods: runner/listener/controller pods and workflow pods, per namespace;
roles: Roles and ClusterRoles). Each is a *source*: a relist replaces exactly that source's share, and an
object leaves the store only when no source still holds it. Snapshots are copy-on-write: a kind's dict is
shared with the snapshots taken since its last change and copied once at the next write.

How old the data is: every event, list or bookmark stamps its kind (`KindState.last_event`, the freshest source)
and its source (`KindState.oldest_event`, the quietest source of the kind: how old part of its data may be). A
bookmark changes nothing, so it does not wake the UI; but when nobody has drained for REFRESH_AFTER_S, the next
bookmark does (ChangeSet.refreshed), so a UI that only redraws on changes still sees a quiet kind as fresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace as _replace
from types import MappingProxyType

from arc_top.kube.model import KINDS, ChangeSet, KindState, Snapshot

REFRESH_AFTER_S = 10.0        # a bookmark wakes the UI when its last drain is older than this (quiet clusters)

# Worst first: the kind's published state is the worst of its sources' states.
_SEVERITY = {"error": 0, "forbidden": 1, "reconnecting": 2, "starting": 3, "syncing": 4, "live": 5}


class ClusterState:
    """Thread-safe. `on_change` is called (outside the lock, from the writing thread) only when the store goes
    from clean to dirty, so a UI posts one message per batch and calls `drain()` + `snapshot()` in reply; and once
    more when a kind's first list ends (its state becomes synced) while the store is dirty."""

    def __init__(self, on_change: Callable[[], None] | None = None, kinds: Iterable[str] = KINDS):
        self._lock = threading.Lock()
        self._on_change = on_change
        self._kind_names = tuple(kinds)
        self._objects: dict[str, dict[str, object]] = {k: {} for k in self._kind_names}
        self._proxies: dict[str, Mapping[str, object]] = {}
        self._owners: dict[str, dict[str, set[str]]] = {k: {} for k in self._kind_names}
        self._sources: dict[str, dict[str, KindState]] = {k: {} for k in self._kind_names}
        self._kinds: dict[str, KindState] = {k: KindState(k, "starting") for k in self._kind_names}
        self._last_event: dict[str, float] = dict.fromkeys(self._kind_names, 0.0)
        self._heard: dict[str, dict[str, float]] = {k: {} for k in self._kind_names}   # kind → source → when
        self._refreshed: set[str] = set()
        self._drained_at = time.monotonic()
        self._pending: dict[str, dict[str, object | None]] = {}
        self._relisted: set[str] = set()
        self._paged: set[tuple[str, str]] = set()     # (kind, source) whose first list is being published by page
        self._states_changed = False
        self._dirty = False
        self._version = 0
        self._arc: object = None
        self._snapshot: Snapshot | None = None

    # ---- writing (watch threads) ---------------------------------------------------------------------
    def _writable(self, kind: str) -> dict[str, object]:
        if kind in self._proxies:          # shared with a snapshot: copy once, then write freely
            del self._proxies[kind]
            self._objects[kind] = dict(self._objects[kind])
        return self._objects[kind]

    def _touched(self) -> bool:
        self._version += 1
        self._snapshot = None
        if self._dirty:
            return False
        self._dirty = True
        return True

    def _notify(self, first: bool) -> None:
        if first and self._on_change is not None:
            try:
                self._on_change()
            except Exception:  # a broken callback must not kill the watch thread that happened to call it
                pass

    def apply(self, kind: str, event_type: str, obj: object, source: str = "") -> None:
        """One watch event: ADDED/MODIFIED store `obj`; DELETED drops it (`obj` may be the object or its uid)."""
        self.apply_many(kind, ((event_type, obj),), source)

    def apply_many(self, kind: str, events: Iterable[tuple[str, object]], source: str = "") -> None:
        """A batch of watch events under one lock (a watch chunk often carries many)."""
        with self._lock:
            objs = self._writable(kind)
            owners = self._owners[kind]
            mine = owners.setdefault(source, set())
            pending = self._pending.setdefault(kind, {})
            changed = False
            for event_type, obj in events:
                uid = obj if isinstance(obj, str) else obj.uid  # type: ignore[attr-defined]
                if event_type == "DELETED":
                    mine.discard(uid)
                    if uid in objs and not self._held_elsewhere(owners, source, uid):
                        del objs[uid]
                        pending[uid] = None
                        changed = True
                else:
                    mine.add(uid)
                    objs[uid] = obj
                    pending[uid] = obj
                    changed = True
            self._heard_from(kind, source, time.monotonic())
            first = self._touched() if changed else False
            if not pending:
                del self._pending[kind]
        self._notify(first)

    @staticmethod
    def _held_elsewhere(owners: dict[str, set[str]], source: str, uid: str) -> bool:
        return len(owners) > 1 and any(uid in uids for src, uids in owners.items() if src != source)

    def add_page(self, kind: str, objs: Mapping[str, object], source: str = "") -> None:
        """One page of `source`'s first list, published before the list has ended: the first screen need not wait
        for the last of 5,000 pods. The objects are added as watch events would add them (a change set, not a
        relist), and the list's `replace` then settles the share: it removes what an interrupted list published
        but the final one no longer has, and reports only what differs from the pages."""
        with self._lock:
            current = self._writable(kind)
            mine = self._owners[kind].setdefault(source, set())
            pending = self._pending.setdefault(kind, {})
            current.update(objs)
            pending.update(objs)
            mine.update(objs)
            self._paged.add((kind, source))
            self._heard_from(kind, source, time.monotonic())
            first = self._touched()
        self._notify(first)

    def replace(self, kind: str, objs: Mapping[str, object], source: str = "") -> None:
        """A (re)list: `source`'s share of `kind` becomes exactly `objs` (uid → object). After pages of a first list
        (`add_page`) it is not a relist: only what differs from the pages is reported changed."""
        with self._lock:
            current = self._writable(kind)
            owners = self._owners[kind]
            pending = self._pending.setdefault(kind, {})
            for uid in owners.get(source, set()).difference(objs):
                if uid in current and not self._held_elsewhere(owners, source, uid):
                    del current[uid]
                    pending[uid] = None
            if (kind, source) in self._paged:
                self._paged.discard((kind, source))
                for uid, obj in objs.items():
                    if current.get(uid) is not obj:
                        current[uid] = obj
                        pending[uid] = obj
            else:
                current.update(objs)
                pending.update(objs)
                self._relisted.add(kind)
            owners[source] = set(objs)
            self._heard_from(kind, source, time.monotonic())
            first = self._touched()
            if not pending:
                del self._pending[kind]
        self._notify(first)

    def drop_source(self, kind: str, source: str) -> None:
        """Forget everything `source` contributed (its access was revoked, or it was stopped)."""
        self.replace(kind, {}, source)
        with self._lock:
            self._owners[kind].pop(source, None)
            self._heard[kind].pop(source, None)      # no data from it to age (forbidden, stopped)
            self._snapshot = None

    def touch(self, kind: str, source: str = "") -> None:
        """A bookmark arrived: the kind is alive even though nothing changed. It wakes the UI (`on_change`, a
        ChangeSet with only `refreshed`) only when nothing was drained for REFRESH_AFTER_S."""
        now = time.monotonic()
        first = False
        with self._lock:
            self._heard_from(kind, source, now)
            self._snapshot = None
            if now - self._drained_at >= REFRESH_AFTER_S:
                self._refreshed.add(kind)
                first, self._dirty = not self._dirty, True
        self._notify(first)

    def _heard_from(self, kind: str, source: str, now: float) -> None:
        """Under the lock."""
        self._last_event[kind] = now
        self._heard[kind][source] = now

    def set_state(self, kind: str, state: KindState, source: str = "") -> None:
        """Record one source's state; the kind publishes the worst of its sources."""
        with self._lock:
            self._sources[kind][source] = state
            first = self._publish_state(kind)
        self._notify(first)

    def forget_state(self, kind: str, source: str) -> None:
        with self._lock:
            self._sources[kind].pop(source, None)
            first = self._publish_state(kind)
        self._notify(first)

    def _publish_state(self, kind: str) -> bool:
        states = list(self._sources[kind].values())
        if not states:
            new = KindState(kind, "starting")
        else:
            worst = min(states, key=lambda s: _SEVERITY.get(s.state, 0))
            new = KindState(kind, worst.state, attempt=max(s.attempt for s in states), message=worst.message,
                            synced=all(s.synced for s in states))
        old = self._kinds[kind]
        if new == old:
            return False
        self._kinds[kind] = new
        self._states_changed = True
        # A kind's first list ended: said even while changes wait to be drained (a UI pacing its repaints may then
        # show the full list at once instead of at its next paced turn).
        return self._touched() or (new.synced and not old.synced)

    def set_arc(self, info: object) -> None:
        """What discovery found (kube.discovery.ArcInfo); published in the snapshot and as a state change."""
        with self._lock:
            self._arc = info
            self._states_changed = True
            first = self._touched()
        self._notify(first)

    # ---- reading (UI thread) -------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Everything now, immutable. Cheap: unchanged kinds share their maps with the previous snapshot."""
        with self._lock:
            if self._snapshot is not None:
                return self._snapshot
            objects = {}
            for kind, objs in self._objects.items():
                proxy = self._proxies.get(kind)
                if proxy is None:
                    proxy = self._proxies[kind] = MappingProxyType(objs)
                objects[kind] = proxy
            kinds = {k: _replace(s, last_event=self._last_event[k], oldest_event=min(self._heard[k].values(),
                                                                                     default=0.0))
                     if self._last_event[k] else s for k, s in self._kinds.items()}
            snap = Snapshot(objects=MappingProxyType(objects), kinds=MappingProxyType(kinds), version=self._version,
                            arc=self._arc)
            self._snapshot = snap
            return snap

    def drain(self) -> ChangeSet:
        """What changed since the last drain, latest wins (None = gone); re-arms `on_change`."""
        with self._lock:
            changed = MappingProxyType({k: MappingProxyType(v) for k, v in self._pending.items() if v})
            out = ChangeSet(changed=changed, relisted=frozenset(self._relisted), states_changed=self._states_changed,
                            refreshed=frozenset(self._refreshed))
            self._pending = {}
            self._relisted = set()
            self._states_changed = False
            self._refreshed = set()
            self._dirty = False
            self._drained_at = time.monotonic()
            return out

    @property
    def version(self) -> int:
        return self._version


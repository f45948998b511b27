"""The sandbox's etcd: objects in memory with resourceVersions, a bounded watch history and watchers.

Stored objects are never mutated after they are stored: every write stores a fresh dict, so
readers (list encoders, watch threads, the controller) can hold them without copying.
"""

from __future__ import annotations

import base64
import bisect
import copy
import itertools
import json
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from arc_top.sandbox import errors
from arc_top.sandbox.resources import BY_KEY, Resource

_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
RBAC_KEYS = {
    "roles.rbac.authorization.k8s.io", "rolebindings.rbac.authorization.k8s.io",
    "clusterroles.rbac.authorization.k8s.io", "clusterrolebindings.rbac.authorization.k8s.io",
}


def now_rfc3339(ts: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if ts is None else ts))


def random_suffix(n: int = 5) -> str:
    return "".join(random.choice(_NAME_CHARS) for _ in range(n))


@dataclass(frozen=True)
class Change:
    """One entry of the watch history (what etcd's watch would replay)."""

    rv: int
    key: str
    type: str            # ADDED | MODIFIED | DELETED
    obj: dict
    old: dict | None


class Watcher:
    """A queue of watch events for one client; filled under the store lock, drained by a server thread."""

    MAX_BACKLOG = 200_000

    def __init__(self, key: str, namespace: str | None, match: Callable[[dict], bool]):
        self.key = key
        self.namespace = namespace
        self.match = match
        self.events: deque[tuple[str, dict]] = deque()
        self.cond = threading.Condition()
        self.closed = False
        self.overflow = False

    def offer(self, change: Change) -> None:
        if self.namespace and change.obj["metadata"].get("namespace") != self.namespace:
            return
        now_in = self.match(change.obj)
        was_in = change.old is not None and self.match(change.old)
        if change.type == "DELETED":
            kind = "DELETED" if now_in or was_in else None
        elif now_in and was_in:
            kind = "MODIFIED"
        elif now_in:
            kind = "ADDED"
        elif was_in:
            kind = "DELETED"        # left the selector: a real apiserver says DELETED
        else:
            kind = None
        if kind:
            self.push(kind, change.obj)

    def push(self, kind: str, obj: dict) -> None:
        with self.cond:
            if len(self.events) >= self.MAX_BACKLOG:
                self.overflow = True
                self.closed = True
            else:
                self.events.append((kind, obj))
            self.cond.notify()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify()

    def take(self, timeout: float) -> list[tuple[str, dict]]:
        """Everything queued, waiting up to `timeout` for the first event."""
        with self.cond:
            if not self.events and not self.closed:
                self.cond.wait(timeout)
            out = list(self.events)
            self.events.clear()
            return out


class Store:
    def __init__(self, history: int = 50_000):
        self._lock = threading.RLock()
        self._rv = 0
        self._objects: dict[str, dict[tuple[str, str], dict]] = {k: {} for k in BY_KEY}
        # Each resource's (namespace, name) keys in order, kept as objects come and go: a page of a list is a
        # bisect and a slice (sorting 20,000 pods for each page of 500, under the lock, slowed every request).
        self._sorted: dict[str, list[tuple[str, str]]] = {k: [] for k in BY_KEY}
        self._encoded: dict[int, bytes] = {}      # id(stored obj) -> JSON, for fast lists
        self._history: deque[Change] = deque(maxlen=history)
        self._compacted = 0
        self._watchers: set[Watcher] = set()
        self._owners: dict[str, set[tuple[str, str, str]]] = {}
        self._hooks: list[Callable[[Change], None]] = []
        self.rbac_generation = 0

    # ---- reading -------------------------------------------------------------------------
    @property
    def resource_version(self) -> int:
        return self._rv

    @property
    def lock(self) -> threading.RLock:
        """The store's lock: hold it to act on an object's existence atomically with every write."""
        return self._lock

    def get(self, key: str, namespace: str | None, name: str) -> dict | None:
        return self._objects[key].get((namespace or "", name))

    def require(self, res: Resource, namespace: str | None, name: str) -> dict:
        obj = self.get(res.key, namespace, name)
        if obj is None:
            raise errors.not_found(res.plural, res.group, name)
        return obj

    def list(self, key: str, namespace: str | None = None,
             match: Callable[[dict], bool] | None = None) -> list[dict]:
        with self._lock:
            items = self._objects[key]
            if namespace:
                out = [o for (ns, _), o in items.items() if ns == namespace]
            else:
                out = list(items.values())
        if match is not None:
            out = [o for o in out if match(o)]
        return out

    def list_page(self, key: str, namespace: str | None, match: Callable[[dict], bool] | None,
                  limit: int | None, continue_token: str | None) -> tuple[list[dict], int, str | None, int | None]:
        """A page sorted by namespace/name: (items, list resourceVersion, continue token, remaining items, None
        when a selector makes that unknown)."""
        with self._lock:
            rv = self._rv
            after: tuple[str, str] | None = None
            if continue_token:
                try:
                    state = json.loads(base64.urlsafe_b64decode(continue_token.encode()))
                    after = (state["ns"], state["name"])
                    rv = int(state["rv"])
                except (ValueError, KeyError, TypeError) as exc:
                    raise errors.bad_request("continue key is not valid: " + str(exc)) from None
                if rv < self._compacted:
                    raise errors.expired(
                        "The provided continue parameter is too old to display a consistent list result. "
                        "You can start a new list without the continue parameter.")
            keys, objects = self._sorted[key], self._objects[key]
            low, high = 0, len(keys)
            if namespace:         # (namespace + NUL sorts after every name in the namespace, before the next one)
                low = bisect.bisect_left(keys, (namespace, ""))
                high = bisect.bisect_left(keys, (namespace + "\0",), low)
            start = bisect.bisect_right(keys, after, low, high) if after is not None else low
            # Stop at the first item past the page: a 5,000-pod list in pages of 500 used to test every remaining
            # object against the selector on every page. Objects are never changed in place (a write stores a
            # new dict), so the items are the list's even once the lock is let go.
            items: list[dict] = []
            for ident in itertools.islice(keys, start, high):
                o = objects[ident]
                if match is None or match(o):
                    items.append(o)
                    if limit and len(items) > limit:
                        break
        if limit and len(items) > limit:
            last = items[limit - 1]["metadata"]
            token = base64.urlsafe_b64encode(json.dumps(
                {"rv": rv, "ns": last.get("namespace", ""), "name": last["name"]}).encode()).decode()
            # Like the real API server: remainingItemCount only without a selector (it would cost a full scan).
            remaining = high - start - limit if match is None else None
            return items[:limit], rv, token, remaining
        return items, rv, None, 0

    def encoded(self, obj: dict) -> bytes:
        """JSON of a stored object, cached: a 5,000-pod list is mostly a join of cached bytes."""
        data = self._encoded.get(id(obj))
        if data is None:
            data = json.dumps(obj, separators=(",", ":")).encode()
            self._encoded[id(obj)] = data
        return data

    def on_change(self, hook: Callable[[Change], None]) -> None:
        """Call `hook` (under the store lock, keep it cheap) after every stored change."""
        self._hooks.append(hook)

    # ---- writing -------------------------------------------------------------------------
    def create(self, res: Resource, obj: dict, dry_run: bool = False,
               validate: Callable[[dict], None] | None = None) -> dict:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        with self._lock:
            if not meta.get("name"):
                if meta.get("generateName"):
                    for _ in range(20):
                        meta["name"] = meta["generateName"] + random_suffix()
                        if self.get(res.key, meta.get("namespace"), meta["name"]) is None:
                            break
                else:
                    raise errors.invalid(res.kind, res.group, "", [
                        ("metadata.name", "Required value: name or generateName is required")])
            ns = meta.get("namespace", "") if res.namespaced else ""
            if res.namespaced:
                if not ns:
                    raise errors.bad_request("the namespace of the provided object does not match "
                                             "the namespace sent on the request")
                if self.get("namespaces", None, ns) is None:
                    raise errors.not_found("namespaces", "", ns)
            else:
                meta.pop("namespace", None)
            if (ns, meta["name"]) in self._objects[res.key]:
                raise errors.already_exists(res.plural, res.group, meta["name"])
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            meta.pop("resourceVersion", None)
            meta.pop("deletionTimestamp", None)
            if res.custom or res.kind in ("Deployment", "Job"):
                meta["generation"] = 1
            if validate:
                validate(obj)
            if dry_run:
                return obj
            return self._store(res, "ADDED", obj, None)

    def update(self, res: Resource, obj: dict, dry_run: bool = False, subresource: str = "",
               validate: Callable[[dict], None] | None = None, require_rv: bool = True) -> dict:
        """PUT semantics: optimistic concurrency on metadata.resourceVersion, status/spec split."""
        obj = copy.deepcopy(obj)
        meta = obj.get("metadata") or {}
        name = meta.get("name", "")
        with self._lock:
            old = self.require(res, meta.get("namespace"), name)
            given = meta.get("resourceVersion")
            if given in (None, ""):
                if require_rv:
                    raise errors.invalid(res.kind, res.group, name, [
                        ("metadata.resourceVersion", "Invalid value: 0x0: must be specified for an update")])
            elif str(given) != old["metadata"]["resourceVersion"]:
                raise errors.conflict(res.plural, res.group, name)
            new = self._merge_for_write(res, old, obj, subresource)
            if validate:
                validate(new)
            if new == old:
                return old          # no-op: kubectl relies on an unchanged resourceVersion
            if dry_run:
                return new
            return self._finish_update(res, old, new)

    def _merge_for_write(self, res: Resource, old: dict, obj: dict, subresource: str) -> dict:
        new = copy.deepcopy(obj)
        new["apiVersion"], new["kind"] = res.api_version, res.kind
        has_status_sub = "status" in res.subresources
        if subresource == "status":
            base = copy.deepcopy(old)
            base["status"] = new.get("status")
            if base["status"] is None:
                base.pop("status")
            new = base
        elif has_status_sub:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        meta = new.setdefault("metadata", {})
        for field in ("uid", "creationTimestamp", "namespace", "name", "deletionTimestamp", "generation"):
            if field in old["metadata"]:
                meta[field] = old["metadata"][field]
            else:
                meta.pop(field, None)
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if "generation" in meta and new.get("spec") != old.get("spec"):
            meta["generation"] = int(meta["generation"]) + 1
        return new

    def _finish_update(self, res: Resource, old: dict, new: dict) -> dict:
        meta = new["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return self._remove(res, new)
        return self._store(res, "MODIFIED", new, old)

    def mutate(self, res: Resource, namespace: str | None, name: str,
               fn: Callable[[dict], None]) -> dict | None:
        """Controller-side write: apply `fn` to a copy, store it if anything changed. No RV check."""
        with self._lock:
            old = self.get(res.key, namespace, name)
            if old is None:
                return None
            new = copy.deepcopy(old)
            fn(new)
            if new == old:
                return old
            if "generation" in new["metadata"] and new.get("spec") != old.get("spec"):
                new["metadata"]["generation"] = int(old["metadata"]["generation"]) + 1
            return self._finish_update(res, old, new)

    def delete(self, res: Resource, namespace: str | None, name: str, dry_run: bool = False,
               precondition_uid: str | None = None, precondition_rv: str | None = None) -> dict:
        """DELETE. Preconditions (None: not given) are checked first, dry run or not, under the lock."""
        with self._lock:
            old = self.require(res, namespace, name)
            meta = old["metadata"]
            if precondition_uid is not None and precondition_uid != meta["uid"]:
                raise errors.precondition_failed(res.kind, res.group, name, "UID", precondition_uid, meta["uid"])
            if precondition_rv is not None and precondition_rv != meta["resourceVersion"]:
                raise errors.precondition_failed(res.kind, res.group, name, "ResourceVersion", precondition_rv,
                                                 meta["resourceVersion"])
            if dry_run:
                return old
            if old["metadata"].get("finalizers"):
                if old["metadata"].get("deletionTimestamp"):
                    return old
                new = copy.deepcopy(old)
                new["metadata"]["deletionTimestamp"] = now_rfc3339()
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                return self._store(res, "MODIFIED", new, old)
            return self._remove(res, old)

    # ---- internals -----------------------------------------------------------------------
    def _store(self, res: Resource, kind: str, obj: dict, old: dict | None) -> dict:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        meta = obj["metadata"]
        ident = (meta.get("namespace", ""), meta["name"])
        objects = self._objects[res.key]
        if ident not in objects:
            bisect.insort(self._sorted[res.key], ident)
        objects[ident] = obj
        if old is not None:
            self._encoded.pop(id(old), None)
            self._unindex_owners(res, old)
        self._index_owners(res, obj)
        self._publish(Change(self._rv, res.key, kind, obj, old))
        return obj

    def _remove(self, res: Resource, obj: dict) -> dict:
        meta = obj["metadata"]
        ident = (meta.get("namespace", ""), meta["name"])
        old = self._objects[res.key].pop(ident, None)
        if old is not None:
            keys = self._sorted[res.key]
            del keys[bisect.bisect_left(keys, ident)]
            self._encoded.pop(id(old), None)
            self._unindex_owners(res, old)
        self._rv += 1
        gone = dict(obj)
        gone["metadata"] = dict(meta, resourceVersion=str(self._rv))
        self._publish(Change(self._rv, res.key, "DELETED", gone, old))
        self._collect_dependents(meta["uid"])
        return gone

    def _publish(self, change: Change) -> None:
        if change.key in RBAC_KEYS:
            self.rbac_generation += 1
        self._history.append(change)
        for w in list(self._watchers):
            if w.key == change.key:
                w.offer(change)
                if w.overflow:
                    self._watchers.discard(w)
        for hook in self._hooks:
            hook(change)

    def _index_owners(self, res: Resource, obj: dict) -> None:
        meta = obj["metadata"]
        for ref in meta.get("ownerReferences") or ():
            uid = ref.get("uid") if isinstance(ref, dict) else None
            if uid:
                self._owners.setdefault(uid, set()).add((res.key, meta.get("namespace", ""), meta["name"]))

    def _unindex_owners(self, res: Resource, obj: dict) -> None:
        meta = obj["metadata"]
        for ref in meta.get("ownerReferences") or ():
            uid = ref.get("uid") if isinstance(ref, dict) else None
            if uid and uid in self._owners:
                self._owners[uid].discard((res.key, meta.get("namespace", ""), meta["name"]))
                if not self._owners[uid]:
                    del self._owners[uid]

    def _collect_dependents(self, uid: str) -> None:
        """Background cascading deletion, as the garbage collector does for ownerReferences."""
        for key, ns, name in sorted(self._owners.pop(uid, set())):
            res = BY_KEY[key]
            obj = self.get(key, ns, name)
            if obj is None:
                continue
            refs = [r for r in obj["metadata"].get("ownerReferences") or () if r.get("uid") != uid]
            if refs:
                continue
            self.delete(res, ns or None, name)

    # ---- watching ------------------------------------------------------------------------
    def watch(self, key: str, namespace: str | None, match: Callable[[dict], bool],
              resource_version: str | None) -> Watcher:
        """Register a watcher. rv ""/"0" → synthetic ADDED of the current state first; an rv older than
        the kept history → 410 Expired (the client must re-list)."""
        w = Watcher(key, namespace, match)
        with self._lock:
            if resource_version in (None, "", "0"):
                for obj in self.list(key, namespace, match):
                    w.events.append(("ADDED", obj))
            else:
                try:
                    since = int(resource_version)
                except ValueError:
                    raise errors.bad_request(f"invalid resource version: {resource_version}") from None
                oldest = self._history[0].rv if self._history else self._rv + 1
                if since < self._compacted or (since < oldest - 1 and since < self._rv):
                    raise errors.expired(f"too old resource version: {since} ({max(self._compacted, oldest - 1)})")
                for change in self._replay(since, key):
                    w.offer(change)
            self._watchers.add(w)
        return w

    def _replay(self, since: int, key: str) -> Iterable[Change]:
        if not self._history or self._history[-1].rv <= since:
            return ()
        return [c for c in self._history if c.rv > since and c.key == key]

    def unwatch(self, w: Watcher) -> None:
        with self._lock:
            self._watchers.discard(w)
        w.close()

    def close_watchers(self) -> None:
        with self._lock:
            watchers, self._watchers = self._watchers, set()
        for w in watchers:
            w.close()

    def compact(self) -> int:
        """Forget the watch history (as etcd compaction does): older resourceVersions get 410."""
        with self._lock:
            self._compacted = self._rv
            self._history.clear()
            return self._compacted


def bookmark_rv(store: Store, watcher: Watcher) -> int | None:
    """The resourceVersion a BOOKMARK may carry now: only when nothing is queued for this watcher,
    checked under the store lock so no event below it can still be on its way."""
    with store._lock:
        if watcher.events:
            return None
        return store.resource_version

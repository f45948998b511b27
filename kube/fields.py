"""Defensive readers for untrusted API dicts, RFC 3339 times, and interning of repeated sub-documents.

Cluster objects are untrusted input: every reader returns a value of the expected type whatever it is given.
"""

from __future__ import annotations

import marshal
from collections.abc import Mapping
from datetime import datetime
from sys import intern
from types import MappingProxyType

from arc_top.kube.model import EMPTY

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"   # may hold a Secret's data: never kept


def as_dict(value) -> dict:
    return value if type(value) is dict else {}


def as_list(value) -> list:
    return value if type(value) is list else []


def as_str(value) -> str:
    if type(value) is str:
        return value
    return "" if value is None else str(value)


def as_int(value, default: int = 0) -> int:
    if type(value) is int:
        return value
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def opt_int(value) -> int | None:
    if value is None or type(value) is bool:
        return None
    return as_int(value, None)  # type: ignore[arg-type]


_TIMES: dict[str, float] = {}


def epoch(value) -> float:
    """RFC 3339 (with or without fraction, `Z` or offset) → epoch seconds; 0.0 when absent or junk."""
    if type(value) is not str or not value:
        return 0.0
    cached = _TIMES.get(value)
    if cached is not None:
        return cached
    try:
        text = value
        if "." in text:                       # fromisoformat takes at most 6 fraction digits
            head, _, rest = text.partition(".")
            digits = len(rest) - len(rest.lstrip("0123456789"))
            text = head + "." + (rest[:digits][:6].ljust(6, "0")) + rest[digits:]
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError, OSError):
        stamp = 0.0
    if len(_TIMES) > 50_000:
        _TIMES.clear()
    _TIMES[value] = stamp
    return stamp


# Interning: thousands of runner pods of one scale set carry identical labels and nearly identical specs.
# Equal pieces are stored once (pods on `large`: ~7 KB → ~2.5 KB each). Shared pieces are plain dicts and
# lists like the rest of the raw sub-documents: read-only by contract. The caches are bounded.
_MAPS: dict[tuple, Mapping[str, str]] = {}
_PIECES: dict[str, object] = {}
_CACHE_LIMIT = 50_000
_INTERN_MAX = 100          # strings up to this long are interned (names, images, labels); longer ones are not


def str_map(value, drop: str = "") -> Mapping[str, str]:
    """Labels/annotations as a read-only str→str map, shared between objects with the same ones."""
    if type(value) is not dict or not value:
        return EMPTY
    clean = drop not in value
    if clean:
        for k, v in value.items():
            if type(k) is not str or type(v) is not str:
                clean = False
                break
    if not clean:
        value = {as_str(k): as_str(v) for k, v in value.items() if k != drop}
    key = tuple(value.items())
    shared = _MAPS.get(key)
    if shared is None:
        if len(_MAPS) > _CACHE_LIMIT:
            _MAPS.clear()
        shared = _MAPS[key] = MappingProxyType(value)
    return shared


def shared(value):
    """One JSON sub-document, shared with every equal one seen before."""
    if type(value) is str:
        return intern(value) if len(value) <= _INTERN_MAX else value
    if type(value) is not dict and type(value) is not list or not value:
        return value
    return _shared_piece(value)


def _shared_piece(value):
    """`shared` for a non-empty dict or list."""
    try:
        # marshal (format 2: no back-references, so equal values give equal bytes) is a faithful encoding of
        # JSON values, ~4x cheaper than json.dumps: the pods' first list spent most of its projection here.
        key = marshal.dumps(value, 2)
    except ValueError:
        return value
    shared = _PIECES.get(key)
    if shared is None:
        if len(_PIECES) > _CACHE_LIMIT:
            _PIECES.clear()
        shared = _PIECES[key] = value
    return shared


# (`shared`, inlined in the two loops below: a first list of 5,000 runner pods shares ~50,000 pieces of their
# specs, most of them short strings.)
def _container_spec(c):
    if type(c) is not dict:
        return c
    # The parts are shared; the container's own small dict is not (encoding it again as a whole for the key
    # would cost as much as its parts), nor is its env list (one entry names the runner's own JIT secret).
    out = {}
    for k, v in c.items():
        t = type(v)
        if t is str:
            out[k] = intern(v) if len(v) <= _INTERN_MAX else v
        elif t is list and k == "env":
            out[k] = [shared(e) for e in v]
        elif (t is dict or t is list) and v:
            out[k] = _shared_piece(v)
        else:
            out[k] = v
    return out


def pod_spec(spec: dict) -> Mapping:
    """The pod spec with its equal parts shared (containers piece by piece: only the env entry naming the
    runner's JIT secret differs between the runner pods of one scale set)."""
    if not spec:
        return EMPTY
    out = {}
    for k, v in spec.items():
        t = type(v)
        if t is str:
            out[k] = intern(v) if len(v) <= _INTERN_MAX else v
        elif t is list and (k == "containers" or k == "initContainers"):
            out[k] = [_container_spec(c) for c in v]
        elif (t is dict or t is list) and v:
            out[k] = _shared_piece(v)
        else:
            out[k] = v
    return MappingProxyType(out)


def read_only(value) -> Mapping:
    return MappingProxyType(value) if type(value) is dict and value else EMPTY


def identity(raw: dict) -> tuple[str, str, str, float, dict]:
    meta = as_dict(raw.get("metadata"))
    ns, name = intern(as_str(meta.get("namespace"))), as_str(meta.get("name"))
    uid = as_str(meta.get("uid")) or f"{ns}/{name}"
    return uid, ns, name, epoch(meta.get("creationTimestamp")), meta


def uid_of(raw) -> str:
    """The key an object is stored under (its uid; namespace/name when a junk object has none)."""
    return identity(raw if type(raw) is dict else {})[0]


def controller_ref(meta: dict) -> dict:
    refs = as_list(meta.get("ownerReferences"))
    first = {}
    for ref in refs:
        if type(ref) is dict:
            if ref.get("controller") is True:
                return ref
            first = first or ref
    return first


"""The four PATCH flavours kubectl sends, applied to JSON-shaped dicts without mutating the inputs.

Every function deep-copies the target once and builds the result on the copy, so callers can keep the
stored object and deep-compare it with the result (kubectl's "(no change)" relies on that).
"""

from __future__ import annotations

import copy
import json

import yaml

from arc_top.sandbox.errors import ApiError, bad_request, unsupported_media

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# Strategic merge: list field name -> merge key candidates (first one present in the patch item wins;
# `ports` is containerPort in containers and port in Services).
MERGE_KEYS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("containers", "initContainers", "ephemeralContainers", "volumes", "env",
                     "imagePullSecrets", "volumeDevices"), ("name",)),
    "ports": ("containerPort", "port"),
    "volumeMounts": ("mountPath",),
    "ownerReferences": ("uid",),
    "hostAliases": ("ip",),
    "topologySpreadConstraints": ("topologyKey",),
    "conditions": ("type",),
}
MERGED_PRIMITIVE_LISTS = frozenset({"finalizers"})  # patchStrategy=merge on a list of strings
_ORDER = "$setElementOrder/"
_DELETE_FROM = "$deleteFromPrimitiveList/"


# --- RFC 7386 JSON merge patch -------------------------------------------------------------------------

def merge_patch(target: object, patch: object) -> object:
    """RFC 7386: null deletes a key, an object merges, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    _merge_into(result, patch)
    return result


def _merge_into(target: dict, patch: dict) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            if not isinstance(target.get(key), dict):
                target[key] = {}
            _merge_into(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


# --- RFC 6902 JSON patch (error wording after evanphx/json-patch, which the API server uses) -------------

def _json_type(value: object) -> str:
    """The JSON type name Go's decoder reports in `cannot unmarshal <type> into ...`."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string"}.get(type(value), "null")


class _PatchFailed(Exception):
    pass


JSON_PATCH_REJECTED = "the server rejected our request due to an error in our request"


class PatchRejected(ApiError):
    """A patch that does not apply: an RFC 6902 operation (a failed `test` included), or a strategic merge
    patch whose content contradicts its `$retainKeys`. The API server answers these alike — it hands the
    patch library's error to `NewGenericServerResponse(422, …)`, which keeps only its fixed text — so the
    response is 422 Invalid with that message and empty details:
    `{"kind":"Status",…,"message":"the server rejected our request due to an error in our request",
    "reason":"Invalid","details":{},"code":422}`; kubectl prints `The request is invalid: the server
    rejected our request due to an error in our request`. `detail` keeps the library's own words
    (`testing value /spec/x failed: test failed`) for the sandbox's logs and tests; clients never see it."""

    def __init__(self, detail: str):
        super().__init__(422, "Invalid", JSON_PATCH_REJECTED)
        self.detail = detail

    def status(self) -> dict:
        return dict(super().status(), details={})


def _invalid(message: str) -> ApiError:
    return PatchRejected(message)


def _pointer(path: object) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise _PatchFailed(f"JSON pointer must be empty or start with a \"/\": {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]] if path else []


def _container(doc: object, parts: list[str]) -> object:
    """The parent of the pointed-to value, or None when a step is missing."""
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node if isinstance(node, (dict, list)) else None


def _index(part: str, size: int, allow_end: bool) -> int:
    idx = size if allow_end and part == "-" else (int(part) if part.isdigit() else -1)
    if idx < 0 or idx > size or (idx == size and not allow_end):
        raise _PatchFailed(f"Unable to access invalid index: {part}: invalid index referenced")
    return idx


def _locate(doc: object, path: str, op: str, what: str = "path") -> tuple[dict | list, str | int]:
    """The existing (parent, key) that `path` names; a root path has no parent and is refused here."""
    parts = _pointer(path)
    parent = _container(doc, parts) if parts else None
    if parent is None:
        raise _PatchFailed(f"{op} operation does not apply: doc is missing path: {path}: missing value")
    key = parts[-1]
    if isinstance(parent, dict) and key in parent:
        return parent, key
    if isinstance(parent, list) and key.isdigit() and int(key) < len(parent):
        return parent, int(key)
    raise _PatchFailed(f"{op} operation does not apply: doc is missing {what}: {path}: missing value")


def _get(doc: object, path: str, op: str, what: str = "path") -> object:
    if path == "":
        return doc
    parent, key = _locate(doc, path, op, what)
    return parent[key]  # type: ignore[index]


def _remove(doc: object, path: str, op: str) -> None:
    parts = _pointer(path)
    parent = _container(doc, parts) if parts else None
    if parent is None:
        raise _PatchFailed(f'{op} operation does not apply: doc is missing path: "{path}": missing value')
    key = parts[-1]
    if isinstance(parent, dict):
        if key not in parent:
            raise _PatchFailed(f"error in {op} for path: '{path}': unable to remove nonexistent key: "
                               f"{key}: missing value")
        del parent[key]
        return
    try:
        del parent[_index(key, len(parent), allow_end=False)]
    except _PatchFailed as err:
        raise _PatchFailed(f"error in {op} for path: '{path}': {err}") from None


def _add(doc: object, path: str, value: object, op: str = "add") -> object:
    """Insert `value`; returns the new document (a root-level add replaces it)."""
    parts = _pointer(path)
    if not parts:
        return value
    parent = _container(doc, parts)
    if parent is None:
        raise _PatchFailed(f'{op} operation does not apply: doc is missing path: "{path}": missing value')
    if isinstance(parent, dict):
        parent[parts[-1]] = value
    else:
        try:
            parent.insert(_index(parts[-1], len(parent), allow_end=True), value)
        except _PatchFailed as err:
            raise _PatchFailed(f"error in {op} for path: '{path}': {err}") from None
    return doc


def _same(a: object, b: object) -> bool:
    """JSON equality: 1 == 1.0, but booleans never equal numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num):
        return a == b
    return type(a) is type(b) and a == b


def _apply_op(doc: object, op: dict) -> object:
    kind, path = op.get("op"), op.get("path")
    if kind == "add":
        return _add(doc, path, copy.deepcopy(op.get("value")))
    if kind == "remove":
        _remove(doc, path, "remove")
    elif kind == "replace":
        if path == "":
            return copy.deepcopy(op.get("value"))
        parent, key = _locate(doc, path, "replace", "key")
        parent[key] = copy.deepcopy(op.get("value"))  # type: ignore[index]
    elif kind in ("move", "copy"):
        source = op.get("from")
        value = _get(doc, source, kind, "from path")
        if kind == "move":
            _remove(doc, source, "move")
        return _add(doc, path, copy.deepcopy(value), kind)
    elif kind == "test":
        try:
            actual = _get(doc, path, "test")
        except _PatchFailed:
            if op.get("value") is None:
                return doc  # evanphx: a missing value tests equal to null
            raise _PatchFailed(f"testing value {path} failed: test failed") from None
        if not _same(actual, op.get("value")):
            raise _PatchFailed(f"testing value {path} failed: test failed")
    else:
        raise _PatchFailed(f"Unexpected kind: {kind}")
    return doc


def json_patch(target: object, ops: object) -> object:
    """RFC 6902. A malformed patch document is a 400; an operation that cannot apply is a 422
    (`PatchRejected`)."""
    if not isinstance(ops, list):
        raise bad_request(f"json: cannot unmarshal {_json_type(ops)} into Go value of type jsonpatch.Patch")
    for op in ops:
        if not isinstance(op, dict):
            raise bad_request(f"json: cannot unmarshal {_json_type(op)} into Go value of type "
                              "jsonpatch.Operation")
    doc = copy.deepcopy(target)
    for op in ops:
        try:
            doc = _apply_op(doc, op)
        except _PatchFailed as err:
            raise _invalid(str(err)) from None
    return doc


# --- strategic merge patch ------------------------------------------------------------------------------

def strategic_merge_patch(target: object, patch: object) -> object:
    """Merge patch plus merge-keyed lists and `$patch`/`$retainKeys`/... directives (keyed by field name)."""
    if not isinstance(patch, dict):
        raise bad_request(f"json: cannot unmarshal {_json_type(patch)} into Go value of type "
                          "map[string]interface {}")
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    merged = _smp_map(result, patch)
    return {} if merged is None else merged


def _smp_map(original: dict, patch: dict) -> dict | None:
    """Merge `patch` into `original` (owned, mutated); None means `$patch: delete` removed the map."""
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        original = {}
    elif directive is not None:
        raise bad_request(f"unknown patch type: {directive} in map: {patch}")
    for key, drop in patch.items():
        field = key[len(_DELETE_FROM):]
        if key.startswith(_DELETE_FROM) and isinstance(original.get(field), list) and isinstance(drop, list):
            original[field] = [v for v in original[field] if v not in drop]
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        elif value is None:
            original.pop(key, None)
        elif isinstance(value, dict):
            current = original.get(key)
            merged = _smp_map(current if isinstance(current, dict) else {}, value)
            if merged is None:
                original.pop(key, None)
            else:
                original[key] = merged
        elif isinstance(value, list):
            original[key] = _smp_list(key, original.get(key), value)
        else:
            original[key] = value
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        if any(k not in retain for k in patch if not k.startswith("$")):
            raise _invalid("patch content doesn't match retainKeys list")
        for key in [k for k in original if k not in retain]:
            del original[key]
    for key, order in patch.items():
        if key.startswith(_ORDER) and isinstance(original.get(key[len(_ORDER):]), list):
            field = key[len(_ORDER):]
            original[field] = _reorder(original[field], order, _merge_key(field, order))
    return original


def _clean(value: object) -> object:
    """A patch value with every directive stripped, for places where there is nothing to merge into."""
    if isinstance(value, dict):
        return _smp_map({}, value) or {}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _merge_key(field: str, items: list) -> str | None:
    candidates = MERGE_KEYS.get(field, ())
    first = next((i for i in items if isinstance(i, dict) and set(i) - {"$patch"}), None)
    if first is None:
        return candidates[0] if candidates else None
    return next((k for k in candidates if k in first), candidates[0] if candidates else None)


def _smp_list(field: str, original: object, patch: list) -> list:
    if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
        return [_clean(p) for p in patch if not (isinstance(p, dict) and "$patch" in p)]
    current = copy.copy(original) if isinstance(original, list) else []
    if field in MERGED_PRIMITIVE_LISTS and not any(isinstance(p, (dict, list)) for p in patch):
        return current + [v for i, v in enumerate(patch) if v not in current and v not in patch[:i]]
    key = _merge_key(field, patch)
    if key is None or not all(isinstance(p, dict) for p in patch):
        return _clean(patch)
    for item in patch:
        if key not in item:
            raise bad_request(f"map: {item} does not contain declared merge key: {key}")
        pos = next((i for i, c in enumerate(current)
                    if isinstance(c, dict) and c.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if pos is not None:
                del current[pos]
        elif pos is None:
            current.append(_clean(item))
        else:
            current[pos] = _smp_map(current[pos], item) or {}
    return current


def _reorder(items: list, order: object, key: str | None) -> list:
    """`$setElementOrder`: listed items first in the given order, the rest after in their old order."""
    if not isinstance(order, list):
        return items
    ids = [o.get(key) if key and isinstance(o, dict) else o for o in order]

    def ident(item: object) -> object:
        return item.get(key) if key and isinstance(item, dict) else item
    ranked = [i for i in items if ident(i) in ids]
    ranked.sort(key=lambda i: ids.index(ident(i)))
    return ranked + [i for i in items if ident(i) not in ids]


# --- dispatch on Content-Type ---------------------------------------------------------------------------

def _accepted(custom: bool) -> str:
    types = [JSON_PATCH, MERGE_PATCH] + ([] if custom else [STRATEGIC_PATCH]) + [APPLY_PATCH]
    return ("the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(types))


def _decode(body: bytes, yaml_ok: bool = False) -> object:
    try:
        return json.loads(body)
    except ValueError as err:
        if not yaml_ok:
            raise bad_request(f"error decoding patch: {err}") from None
    try:
        return yaml.safe_load(body)
    except yaml.YAMLError as err:
        raise bad_request(f"error decoding YAML: {err}") from None


def patch_for_content_type(content_type: str, target: dict, body: bytes, custom: bool,
                           kind_label: str) -> dict:
    """Apply a PATCH body by its Content-Type; the result must still be an object of `kind_label`.

    Server-side apply (`apply-patch+yaml`) is simplified to a merge patch of the sent fields: no managed
    fields, no conflict detection, and fields a manager stops sending are kept.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if media == MERGE_PATCH:
        result = merge_patch(target, _decode(body))
    elif media == JSON_PATCH:
        result = json_patch(target, _decode(body))
    elif media == STRATEGIC_PATCH and not custom:
        result = strategic_merge_patch(target, _decode(body))
    elif media == APPLY_PATCH:
        patch = _decode(body, yaml_ok=True)
        if not isinstance(patch, dict):
            raise bad_request(f"error decoding YAML: the apply patch for {kind_label} is not an object")
        result = merge_patch(target, patch)
    else:
        raise unsupported_media(_accepted(custom))
    if not isinstance(result, dict):
        raise bad_request(f"the patched object cannot be handled as a {kind_label}: it is not a JSON object")
    return result

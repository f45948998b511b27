"""What a fix is, as data: a `FixPlan` for one finding, its `Variant`s, each an ordered list of writes
(`kube.operations.Operation`), the kubectl equivalent and the Helm values that keep the change.

Pure: plans are made from the live objects the caller read (`Facts`); this module also applies an RFC 6902 patch
locally (for previews without a server and for undo), derives the inverse of a patch, and renders the unified
YAML diff an operator reviews — with every Secret value masked (`ghp_…a1b2⏎`).
"""

from __future__ import annotations

import base64
import copy
import difflib
from dataclasses import dataclass, field

import yaml

from arc_top.checks.finding import Finding
from arc_top.core.text import mask_secret_value
from arc_top.kube.operations import CREATE, DELETE, PATCH, Operation, Target

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Server-owned fields a diff leaves out: they change with every write and say nothing about the change.
_VOLATILE_META = ("resourceVersion", "generation", "managedFields")


@dataclass(frozen=True)
class Variant:
    name: str                         # "fs-group", "chown-init" (what --variant takes)
    summary: str                      # one line
    operations: tuple[Operation, ...]
    kubectl: tuple[str, ...] = ()     # the same change typed by hand (never a secret value)
    helm: str = ""                    # values snippet that makes it survive `helm upgrade` ("" = not chart-managed)
    risks: tuple[str, ...] = ()
    warning: str = ""                 # set: the cause is still present; Apply is not the default
    detail: str = ""                  # what sets it apart from the other variants, one line (a picker's row)

    @property
    def undoable(self) -> bool:
        """Undo reverts patches and deletes what was created; deleted objects are gone (the controller makes new
        ones)."""
        return any(op.verb in (PATCH, CREATE) for op in self.operations)

    @property
    def guidance(self) -> bool:
        """Nothing to write: the change belongs where the object is managed (the chart's values, the cluster's
        own set-up); the variant only says what to change there."""
        return not self.operations

    def stages(self) -> list[tuple[str, tuple[Operation, ...]]]:
        """The steps of the fix, in order: consecutive writes with the same `step` label form one step."""
        out: list[tuple[str, list[Operation]]] = []
        for op in self.operations:
            if out and out[-1][0] == op.step:
                out[-1][1].append(op)
            else:
                out.append((op.step, [op]))
        return [(label, tuple(ops)) for label, ops in out]


@dataclass(frozen=True)
class FixPlan:
    code: str
    finding: Finding
    target: Target                    # the object the fix is about (the first write's target, as a rule)
    variants: tuple[Variant, ...]
    helm_release: str = ""            # meta.helm.sh/release-name of the scale set, when Helm manages it
    notes: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = field(default=(), compare=False, repr=False)   # what it was planned with
    objects: dict = field(default_factory=dict, compare=False, repr=False)        # API path → the live object read
    pasted: Pasted | None = field(default=None, compare=False, repr=False)        # typed secret values it writes

    @property
    def title(self) -> str:
        s = self.finding.subject
        where = f"{s.namespace}/{s.name}" if s.namespace else s.name
        return f"Fix {self.code} · {s.kind} {where}"

    def variant(self, name: str | None) -> Variant:
        """The variant called `name` (the default, the first, for None); KeyError names the choices."""
        if not name:
            return self.variants[0]
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(f"no variant {name!r} for {self.code}; choose one of: "
                       + ", ".join(v.name for v in self.variants))


@dataclass
class Facts:
    """The live objects a plan is made from (read by the caller just before planning)."""
    target: dict                                   # the finding's object (ARS, Secret, Namespace…)
    scale_set: dict | None = None                  # the AutoscalingRunnerSet, when the target is another object
    listener_pods: list[dict] = field(default_factory=list)
    listeners: list[dict] = field(default_factory=list)        # AutoscalingListeners of the scale set
    runners: list[dict] = field(default_factory=list)          # the scale set's EphemeralRunners
    findings: tuple[Finding, ...] = ()             # the current findings (a cause still present warns)
    lists: dict[str, list[dict]] = field(default_factory=dict)  # more objects a remedy asked for, by its key
    unreadable: dict[str, str] = field(default_factory=dict)    # key → why that list could not be read
    pasted: Pasted | None = None                   # new secret values the operator typed (a rotated token)

    def objects(self) -> list[dict]:
        listed = [o for items in self.lists.values() for o in items]
        return [o for o in (self.target, self.scale_set, *self.listener_pods, *self.listeners, *self.runners,
                            *listed) if isinstance(o, dict)]


class Pasted:
    """Secret values the operator typed for a fix (a rotated token, an App key), kept in memory for one plan and
    never shown: repr and str mask them (`ghp_…a1b2`), and it refuses to be pickled or copied. `verdict`: what the
    probe of these values found (masked), set by the caller that probed them."""

    __slots__ = ("_values", "verdict")

    def __init__(self, values: dict[str, str], verdict: str = "") -> None:
        self._values = {str(k): str(v) for k, v in values.items() if isinstance(v, str) and v}
        self.verdict = verdict

    def keys(self) -> tuple[str, ...]:
        return tuple(self._values)

    def values_for_plan(self) -> dict[str, str]:
        """The values themselves, for the write that stores them (and the probe that checks them first)."""
        return dict(self._values)

    def masked(self, key: str) -> str:
        value = self._values.get(key, "")
        if key in ("github_app_id", "github_app_installation_id"):
            return value                  # identifiers, not secrets: shown as kubectl would show them
        return mask_secret_value(value)

    def __repr__(self) -> str:
        return "Pasted(" + ", ".join(f"{k}={self.masked(k)}" for k in self._values) + ")"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("pasted secret values are not pickled")

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


class PlanError(Exception):
    """No plan can be made (one line: why)."""


class PatchFailed(Exception):
    """A local RFC 6902 application failed (a `test` op, or a path that does not exist)."""


# ---- RFC 6902, locally ------------------------------------------------------------------------------------------
def pointer(*parts: object) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _parts(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchFailed(f"bad path {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: object, parts: list[str]) -> object:
    for part in parts:
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            raise PatchFailed(f"path not found: {pointer(*parts)}")
    return doc


def get_path(doc: object, path: str, default: object = None) -> object:
    try:
        return _walk(doc, _parts(path))
    except PatchFailed:
        return default


def apply_patch(doc: dict, ops) -> dict:
    """`doc` with RFC 6902 `ops` applied (a new object; `doc` is not touched). Raises PatchFailed."""
    out = copy.deepcopy(doc)
    for op in ops:
        kind, parts = op.get("op"), _parts(op.get("path", ""))
        if not parts:
            raise PatchFailed("the whole document cannot be patched")
        parent, last = _walk(out, parts[:-1]), parts[-1]
        if kind == "test":
            if get_path(out, op["path"], None) != op.get("value"):
                raise PatchFailed(f"test failed at {op['path']}")
        elif kind in ("add", "replace"):
            if isinstance(parent, dict):
                if kind == "replace" and last not in parent:
                    raise PatchFailed(f"path not found: {op['path']}")
                parent[last] = copy.deepcopy(op["value"])
            elif isinstance(parent, list):
                index = len(parent) if last == "-" else int(last) if last.isdigit() else -1
                if not 0 <= index <= len(parent) - (kind == "replace"):
                    raise PatchFailed(f"index out of range: {op['path']}")
                if kind == "add":
                    parent.insert(index, copy.deepcopy(op["value"]))
                else:
                    parent[index] = copy.deepcopy(op["value"])
            else:
                raise PatchFailed(f"path not found: {op['path']}")
        elif kind == "remove":
            _walk(out, parts)
            if isinstance(parent, dict):
                del parent[last]
            else:
                del parent[int(last)]
        else:
            raise PatchFailed(f"unsupported op {kind!r}")
    return out


def inverse_patch(before: dict, ops) -> list[dict]:
    """The ops that take the result of `ops` (applied to `before`) back to `before`'s values at the paths they
    changed, each guarded by a `test` that the value is still the one the fix wrote. No resourceVersion test:
    the caller adds the live object's own when it undoes."""
    forward: list[tuple[dict, object]] = []      # (op, the value before it) for the writing ops
    state = before
    for op in ops:
        if op.get("op") == "test":
            continue
        old = get_path(state, op["path"], _MISSING)
        forward.append((op, old if old is _MISSING else copy.deepcopy(old)))
        state = apply_patch(state, [op])
    out: list[dict] = []
    for op, old in reversed(forward):
        path, kind = op["path"], op["op"]
        inserted = kind == "add" and (old is _MISSING or isinstance(get_path(state, path.rsplit("/", 1)[0]), list))
        if inserted:
            out += [{"op": "test", "path": path, "value": op["value"]}, {"op": "remove", "path": path}]
        elif kind in ("add", "replace"):
            out += [{"op": "test", "path": path, "value": op["value"]}, {"op": "replace", "path": path, "value": old}]
        elif kind == "remove":
            out.append({"op": "add", "path": path, "value": old})
    return out


_MISSING = object()


# ---- masking and the diff -------------------------------------------------------------------------------------
def decode(value: object) -> str:
    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8", "replace")
    except (ValueError, TypeError):
        return ""


def encode(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def masked_object(obj: dict | None, secret: bool) -> dict:
    """A display copy: server-owned churn (resourceVersion, generation, managedFields, status) out; for a Secret,
    every value masked and the last-applied annotation (which holds the values) out."""
    if not obj:
        return {}
    out = copy.deepcopy(obj)
    meta = out.get("metadata") if isinstance(out.get("metadata"), dict) else {}
    for key in _VOLATILE_META:
        meta.pop(key, None)
    out.pop("status", None)
    if secret or out.get("kind") == "Secret":
        notes = meta.get("annotations")
        if isinstance(notes, dict) and LAST_APPLIED in notes:
            notes[LAST_APPLIED] = "[masked]"
        for key in ("data", "stringData"):
            values = out.get(key)
            if isinstance(values, dict):
                out[key] = {k: mask_secret_value(decode(v) if key == "data" else str(v)) for k, v in values.items()}
    return out


def mask_ops(op: Operation) -> list[dict]:
    """The patch ops of `op` as they may be shown or written to the audit (Secret values masked)."""
    if not op.secret:
        return [dict(o) for o in op.patch]
    out = []
    for o in op.patch:
        o = dict(o)
        if "value" in o and (o["path"].startswith("/data/") or o["path"].startswith("/stringData/")):
            raw = decode(o["value"]) if o["path"].startswith("/data/") else str(o["value"])
            o["value"] = mask_secret_value(raw)
        elif "value" in o and o["path"] in ("/data", "/stringData"):
            o["value"] = "[masked]"
        out.append(o)
    return out


def yaml_text(obj: dict) -> str:
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)


def diff(before: dict | None, after: dict | None, op: Operation, context: int = 3) -> list[str]:
    """The unified YAML diff of one operation (masked): `--- live`/`+++ result` with hunks. A delete shows the
    whole object going (metadata only for big objects: what is deleted is named by it)."""
    secret = op.secret
    a = masked_object(before, secret)
    b = masked_object(after, secret) if after is not None else {}
    if op.verb == CREATE and isinstance(b.get("metadata"), dict):     # a dry-run's throwaway uid and timestamp
        b["metadata"] = {k: v for k, v in b["metadata"].items() if k not in ("uid", "creationTimestamp")}
    if op.verb == DELETE and a:
        a = {"apiVersion": a.get("apiVersion"), "kind": a.get("kind"),
             "metadata": {k: v for k, v in (a.get("metadata") or {}).items()
                          if k in ("name", "namespace", "uid", "labels", "ownerReferences")}}
    left = yaml_text(a).splitlines() if a else []
    right = yaml_text(b).splitlines() if b else []
    label = op.target.label()
    return list(difflib.unified_diff(left, right, f"live {label}" if a else "/dev/null",
                                     f"result {label}" if b else "/dev/null", n=context, lineterm=""))


def predicted(before: dict | None, op: Operation) -> dict | None:
    """What `op` leaves of `before`, computed locally (None for a delete)."""
    if op.verb == DELETE:
        return None
    if op.verb == CREATE:
        return copy.deepcopy(op.body or {})
    return apply_patch(before or {}, op.patch)

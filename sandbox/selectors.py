"""Label and field selectors, parsed once and matched fast, with the API server's error wording.

kubectl passes `-l` and `--field-selector` through untouched and never filters on its own side,
so the sandbox must both apply them and reject what the real server rejects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from arc_top.sandbox.errors import ApiError, bad_request
from arc_top.sandbox.resources import Resource

_SPECIAL = frozenset("=!(),<>")
_BINARY_OPS = "in, notin, =, ==, !=, gt, lt"
_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAME_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
             "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
             "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
              "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
              "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")

Labels = dict | None
Test = Callable[[dict], bool]


class LabelSelector:
    """A compiled label selector; `requirements` keeps (key, operator, values) for callers that render it."""

    def __init__(self, requirements: Iterable[tuple[str, str, tuple[str, ...]]] = (), nothing: bool = False):
        self.requirements = tuple(requirements)
        self.nothing = nothing
        self._tests = tuple(_label_test(k, op, vals) for k, op, vals in self.requirements)

    def matches(self, labels: Labels) -> bool:
        if self.nothing:
            return False
        labels = labels if isinstance(labels, dict) else {}
        for test in self._tests:
            if not test(labels):
                return False
        return True


def _int_or_none(text: object) -> int | None:
    try:
        return int(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _label_test(key: str, op: str, values: tuple[str, ...]) -> Test:
    if op in ("=", "=="):
        want = values[0]
        return lambda labels: labels.get(key) == want
    if op == "!=":
        want = values[0]
        return lambda labels: labels.get(key) != want
    if op == "in":
        allowed = frozenset(values)
        return lambda labels: key in labels and labels[key] in allowed
    if op == "notin":
        banned = frozenset(values)
        return lambda labels: labels.get(key) not in banned
    if op == "exists":
        return lambda labels: key in labels
    if op == "doesnotexist":
        return lambda labels: key not in labels
    bound = int(values[0])
    if op == "gt":
        return lambda labels: (n := _int_or_none(labels.get(key))) is not None and n > bound
    return lambda labels: (n := _int_or_none(labels.get(key))) is not None and n < bound


# --- label selector string syntax (k8s.io/apimachinery/pkg/labels/selector.go) ---------------------------

def _lex(text: str) -> list[tuple[str, str]]:
    """Tokens as (kind, literal); kinds: id, in, notin, an operator/punctuation literal, or eos."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in _SPECIAL:
            two = text[i:i + 2]
            lit = two if two in ("!=", "==") else ch
            tokens.append((lit, lit))
            i += len(lit)
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _SPECIAL:
                j += 1
            word = text[i:j]
            tokens.append((word if word in ("in", "notin") else "id", word))
            i = j
    tokens.append(("eos", ""))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.tokens = _lex(text)
        self.pos = 0

    def peek(self, values: bool = True) -> tuple[str, str]:
        kind, lit = self.tokens[self.pos]
        return ("id", lit) if values and kind in ("in", "notin") else (kind, lit)

    def take(self, values: bool = True) -> tuple[str, str]:
        tok = self.peek(values)
        if tok[0] != "eos":
            self.pos += 1
        return tok

    def parse(self) -> list[tuple[str, str, tuple[str, ...]]]:
        reqs = []
        while True:
            kind, lit = self.peek()
            if kind == "eos":
                return reqs
            if kind not in ("id", "!"):
                raise ValueError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self.requirement())
            except ValueError as err:
                raise ValueError(f"unable to parse requirement: {err}") from None
            kind, lit = self.take()
            if kind == "eos":
                return reqs
            if kind != ",":
                raise ValueError(f"found '{lit}', expected: ',' or 'end of string'")
            kind, lit = self.peek()
            if kind not in ("id", "!"):
                raise ValueError(f"found '{lit}', expected: identifier after ','")

    def requirement(self) -> tuple[str, str, tuple[str, ...]]:
        kind, key = self.take()
        negated = kind == "!"
        if negated:
            kind, key = self.take()
        if kind != "id":
            raise ValueError(f"found '{key}', expected: identifier")
        _validate_key(key)
        if negated:
            return key, "doesnotexist", ()
        if self.peek()[0] in ("eos", ","):
            return key, "exists", ()
        kind, lit = self.take(values=False)
        if kind in ("in", "notin"):
            values = self.value_list()
        elif kind in ("=", "==", "!=", "<", ">"):
            values = (self.exact_value(),)
        else:
            raise ValueError(f"found '{lit}', expected: {_BINARY_OPS}")
        op = {"<": "lt", ">": "gt"}.get(kind, kind)
        _validate_values(key, op, values)
        return key, op, values

    def exact_value(self) -> str:
        kind, lit = self.peek()
        if kind in ("eos", ","):
            return ""
        self.take()
        if kind != "id":
            raise ValueError(f"found '{lit}', expected: identifier")
        return lit

    def value_list(self) -> tuple[str, ...]:
        kind, lit = self.take()
        if kind != "(":
            raise ValueError(f"found '{lit}', expected: '('")
        kind, lit = self.peek()
        if kind == ")":
            self.take()
            return ("",)
        if kind not in ("id", ","):
            raise ValueError(f"found '{lit}', expected: ',', ')' or identifier")
        values: list[str] = []
        while True:
            kind, lit = self.take()
            if kind == "id":
                values.append(lit)
                kind, lit = self.take()
            else:
                values.append("")
            if kind == ")":
                return tuple(sorted(set(values)))
            if kind != ",":
                raise ValueError(f"found '{lit}', expected: ',' or ')'")


def _validate_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS1123_RE.match(prefix)):
        raise ValueError(f'key: Invalid value: "{key}": prefix part a lowercase RFC 1123 subdomain must '
                         "consist of lower case alphanumeric characters, '-' or '.', and must start and end "
                         "with an alphanumeric character")
    if len(name) > 63 or not _NAME_RE.match(name):
        raise ValueError(f'key: Invalid value: "{key}": {_NAME_MSG}')


def _validate_values(key: str, op: str, values: tuple[str, ...]) -> None:
    if op in ("gt", "lt") and _int_or_none(values[0]) is None:
        raise ValueError(f"values[0]: Invalid value: \"{values[0]}\": for 'Gt', 'Lt' operators, "
                         "the value must be an integer")
    for i, value in enumerate(values):
        if value and (len(value) > 63 or not _NAME_RE.match(value)):
            raise ValueError(f'values[{i}][{key}]: Invalid value: "{value}": {_VALUE_MSG}')


def parse_label_selector(text: str) -> LabelSelector:
    """Parse `?labelSelector=` text; bad syntax is a 400 worded like the API server."""
    try:
        return LabelSelector(_Parser(text or "").parse())
    except ValueError as err:
        raise bad_request(str(err)) from None


_EXPR_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "doesnotexist"}


def selector_from_label_selector_object(sel: dict | None) -> LabelSelector:
    """Compile a metav1.LabelSelector (NetworkPolicy, Deployment, ...).

    `{}` selects everything. None and malformed input select nothing: the sandbox treats an absent or
    broken selector as "no objects" rather than failing the caller, so this never raises.
    """
    if not isinstance(sel, dict):
        return LabelSelector(nothing=True)
    reqs: list[tuple[str, str, tuple[str, ...]]] = []
    labels = sel.get("matchLabels") or {}
    exprs = sel.get("matchExpressions") or []
    if not isinstance(labels, dict) or not isinstance(exprs, list):
        return LabelSelector(nothing=True)
    for key, value in labels.items():
        if not isinstance(value, str):
            return LabelSelector(nothing=True)
        reqs.append((str(key), "=", (value,)))
    for expr in exprs:
        if not isinstance(expr, dict) or expr.get("operator") not in _EXPR_OPS:
            return LabelSelector(nothing=True)
        op = _EXPR_OPS[expr["operator"]]
        values = expr.get("values") or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return LabelSelector(nothing=True)
        if (op in ("in", "notin")) != bool(values):
            return LabelSelector(nothing=True)  # In/NotIn need values, Exists/DoesNotExist forbid them
        reqs.append((str(expr.get("key", "")), op, tuple(values)))
    return LabelSelector(reqs)


# --- field selectors (k8s.io/apimachinery/pkg/fields/selector.go + per-kind field label conversion) -----

_META = {"metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace")}
_POD = {
    "spec.nodeName": ("spec", "nodeName"),
    "spec.restartPolicy": ("spec", "restartPolicy"),
    "spec.schedulerName": ("spec", "schedulerName"),
    "spec.serviceAccountName": ("spec", "serviceAccountName"),
    "spec.hostNetwork": ("spec", "hostNetwork"),
    "status.phase": ("status", "phase"),
    "status.podIP": ("status", "podIP"),
    "status.nominatedNodeName": ("status", "nominatedNodeName"),
}
_EVENT = {
    **{f"involvedObject.{f}": ("involvedObject", f) for f in
       ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
    "reason": ("reason",),
    "reportingComponent": ("reportingComponent",),  # the Event JSON field is reportingController
    "source": ("source", "component"),
    "type": ("type",),
}
_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "pods": _POD,
    "events": _EVENT,
    "secrets": {"type": ("type",)},
    "namespaces": {"status.phase": ("status", "phase")},
    "nodes": {"spec.unschedulable": ("spec", "unschedulable")},
}
_JSON_NAME = {("reportingComponent",): ("reportingController",)}
_BOOL_FIELDS = {("spec", "hostNetwork"), ("spec", "unschedulable")}  # Go bools render "true"/"false"


def _field_getter(path: tuple[str, ...]) -> Callable[[dict], str]:
    path = _JSON_NAME.get(path, path)
    default = "false" if path in _BOOL_FIELDS else ""

    def get(obj: dict) -> str:
        value: object = obj
        for part in path:
            if not isinstance(value, dict):
                return default
            value = value.get(part)
        if value is None:
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    return get


class FieldSelector:
    """A compiled field selector; `requirements` keeps (field, operator, value)."""

    def __init__(self, requirements: Iterable[tuple[str, str, str]], getters: dict[str, Callable]):
        self.requirements = tuple(requirements)
        self._tests = tuple((getters[f], op == "!=", v) for f, op, v in self.requirements)

    def matches(self, obj: dict) -> bool:
        for get, negate, want in self._tests:
            if (get(obj) == want) == negate:
                return False
        return True


def _split_terms(text: str) -> list[str]:
    """Split on commas not escaped by a backslash, keeping the escapes for _unescape."""
    terms, cur, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i:i + 2])
            i += 2
            continue
        if ch == ",":
            terms.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    terms.append("".join(cur))
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
    return None


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            nxt = value[i + 1:i + 2]
            if nxt not in ("\\", ",", "="):
                raise bad_request(f"invalid field selector: invalid escape sequence: \\{nxt}")
            out.append(nxt)
            i += 2
            continue
        if ch in ",=":
            raise bad_request(f"invalid field selector: unescaped character in value: {ord(ch)}")
        out.append(ch)
        i += 1
    return "".join(out)


def _supported_fields(resource: Resource) -> dict[str, tuple[str, ...]]:
    fields = dict(_META)
    if not resource.custom and not resource.group:
        fields.update(_FIELDS.get(resource.plural, {}))
    return fields


def parse_field_selector(text: str, resource: Resource) -> FieldSelector:
    """Parse `?fieldSelector=` for `resource`; unknown fields are refused as the real server does."""
    text = text or ""
    supported = _supported_fields(resource)
    reqs = []
    for term in sorted(_split_terms(text)):  # the server sorts terms too, so errors are stable
        if not term:
            continue
        split = _split_term(term)
        if split is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        field, op, raw = split
        reqs.append((field, op, _unescape(raw)))
    for field, _, _ in reqs:  # like the server: syntax first, then field label conversion
        if field not in supported:
            raise _unsupported_field(field, resource)
    return FieldSelector(reqs, {f: _field_getter(supported[f]) for f, _, _ in reqs})


def _unsupported_field(field: str, resource: Resource) -> ApiError:
    if resource.custom:
        return bad_request(f'"{field}" is not a known field selector: '
                           'only "metadata.name", "metadata.namespace"')
    return bad_request(f"field label not supported: {field}")

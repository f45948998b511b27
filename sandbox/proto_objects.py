"""Protobuf bodies of kubectl's typed `create` commands (`create secret generic`, `create configmap`,
`create namespace`, `create role`…): kubectl sends these only as protobuf, and operators use
`kubectl create secret` to rehearse credential fixes, so the sandbox decodes these few kinds.

Field numbers are those of k8s.io/api's generated.proto files."""

from __future__ import annotations

import base64

from arc_top.sandbox.errors import bad_request
from arc_top.sandbox.ssar_proto import (
    BYTES,
    MAGIC,
    VARINT,
    Malformed,
    decode_k8s_protobuf,
    proto_fields,
    proto_messages,
    proto_strings,
)

# A schema maps a field number to (json name, type). Types: "str", "b64" (bytes → base64 text),
# "bool", "int", "rep_str", ("map", value type), a nested schema dict, or ("rep", nested schema).
_MAP_ENTRY = {1: ("key", "str"), 2: ("value", "str")}

OBJECT_META = {
    1: ("name", "str"), 2: ("generateName", "str"), 3: ("namespace", "str"),
    11: ("labels", ("map", "str")), 12: ("annotations", ("map", "str")), 14: ("finalizers", "rep_str"),
}
POLICY_RULE = {1: ("verbs", "rep_str"), 2: ("apiGroups", "rep_str"), 3: ("resources", "rep_str"),
               4: ("resourceNames", "rep_str"), 5: ("nonResourceURLs", "rep_str")}
SUBJECT = {1: ("kind", "str"), 2: ("apiGroup", "str"), 3: ("name", "str"), 4: ("namespace", "str")}
ROLE_REF = {1: ("apiGroup", "str"), 2: ("kind", "str"), 3: ("name", "str")}
LOCAL_REF = {1: ("name", "str")}
OBJECT_REF = {1: ("kind", "str"), 2: ("namespace", "str"), 3: ("name", "str")}

SCHEMAS: dict[str, dict] = {
    "ConfigMap": {1: ("metadata", OBJECT_META), 2: ("data", ("map", "str")),
                  3: ("binaryData", ("map", "b64")), 4: ("immutable", "bool")},
    "Secret": {1: ("metadata", OBJECT_META), 2: ("data", ("map", "b64")), 3: ("type", "str"),
               4: ("stringData", ("map", "str")), 5: ("immutable", "bool")},
    "Namespace": {1: ("metadata", OBJECT_META)},
    "ServiceAccount": {1: ("metadata", OBJECT_META), 2: ("secrets", ("rep", OBJECT_REF)),
                       3: ("automountServiceAccountToken", "bool"),
                       4: ("imagePullSecrets", ("rep", LOCAL_REF))},
    "Role": {1: ("metadata", OBJECT_META), 2: ("rules", ("rep", POLICY_RULE))},
    "ClusterRole": {1: ("metadata", OBJECT_META), 2: ("rules", ("rep", POLICY_RULE))},
    "RoleBinding": {1: ("metadata", OBJECT_META), 2: ("subjects", ("rep", SUBJECT)),
                    3: ("roleRef", ROLE_REF)},
    "ClusterRoleBinding": {1: ("metadata", OBJECT_META), 2: ("subjects", ("rep", SUBJECT)),
                           3: ("roleRef", ROLE_REF)},
}


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("a string field is not valid UTF-8") from None


def _scalar(kind: str, wire: int, value) -> object:
    if kind == "str" and wire == BYTES:
        return _text(value)
    if kind == "b64" and wire == BYTES:
        return base64.b64encode(value).decode()
    if kind in ("bool", "int") and wire == VARINT:
        return bool(value) if kind == "bool" else value
    raise Malformed(f"unexpected wire type {wire} for a {kind} field")


def decode_message(buf: bytes, schema: dict) -> dict:
    """Decode `buf` by `schema` into a JSON-shaped dict; unknown fields are skipped."""
    out: dict = {}
    for number, wire, value in proto_fields(buf):
        if number not in schema:
            continue
        name, kind = schema[number]
        if isinstance(kind, dict):
            out[name] = decode_message(_bytes(wire, value), kind)
        elif kind == "rep_str":
            out.setdefault(name, []).append(_text(_bytes(wire, value)))
        elif isinstance(kind, tuple) and kind[0] == "rep":
            out.setdefault(name, []).append(decode_message(_bytes(wire, value), kind[1]))
        elif isinstance(kind, tuple) and kind[0] == "map":
            entry = {}
            for num, w, v in proto_fields(_bytes(wire, value)):
                if num in (1, 2):
                    entry[num] = _scalar("str" if num == 1 else kind[1], w, v)
            out.setdefault(name, {})[entry.get(1, "")] = entry.get(2, "" if kind[1] == "str" else "")
        else:
            scalar = _scalar(kind, wire, value)
            if scalar != "":        # gogo-protobuf writes unset strings as ""
                out[name] = scalar
    return out


def _bytes(wire: int, value) -> bytes:
    if wire != BYTES:
        raise Malformed("expected a length-delimited field")
    return value


def decode_k8s_object(body: bytes) -> dict:
    """Any protobuf body kubectl sends: the typed-create kinds above, or a review (ssar_proto)."""
    if body.startswith(MAGIC):
        try:
            unknown = proto_messages(body[len(MAGIC):])
            type_meta = proto_strings(unknown.get(1, b""), {1: "apiVersion", 2: "kind"})
            if type_meta.get("kind") in SCHEMAS:
                return {**type_meta, **decode_message(unknown.get(2, b""), SCHEMAS[type_meta["kind"]])}
        except Malformed as err:
            raise bad_request(f"unable to decode the protobuf body: {err}") from None
    return decode_k8s_protobuf(body)

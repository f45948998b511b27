"""Decode the protobuf bodies of `kubectl auth can-i` (KUBECTL_WIRE.md §8).

kubectl POSTs SelfSubjectAccessReview / SelfSubjectRulesReview only as protobuf and never retries in
JSON after a 415, so the sandbox reads the ~10 fields it needs with a tiny generic wire decoder.
"""

from __future__ import annotations

from collections.abc import Iterator

from arc_top.sandbox.errors import bad_request, unsupported_media

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5

_RESOURCE_ATTRS = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource", 6: "subresource",
                   7: "name"}
_NON_RESOURCE_ATTRS = {1: "path", 2: "verb"}


class Malformed(Exception):
    pass


def is_protobuf(content_type: str) -> bool:
    """True for `application/vnd.kubernetes.protobuf`, with or without parameters."""
    return content_type.split(";", 1)[0].strip().lower() == PROTOBUF


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise Malformed("truncated or overlong varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def proto_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield (field number, wire type, value) for every field, whatever its wire type."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise Malformed("field number 0")
        if wire == VARINT:
            value, pos = _varint(buf, pos)
            yield number, wire, value
            continue
        if wire == BYTES:
            size, pos = _varint(buf, pos)
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
        else:
            raise Malformed(f"unsupported wire type {wire}")
        if pos + size > len(buf):
            raise Malformed("field runs past the end of the message")
        yield number, wire, buf[pos:pos + size]
        pos += size


def proto_messages(buf: bytes) -> dict[int, bytes]:
    """Length-delimited fields by number (the last occurrence wins, as in protobuf)."""
    return {num: val for num, wire, val in proto_fields(buf) if wire == BYTES}  # type: ignore[misc]


def proto_strings(buf: bytes, names: dict[int, str]) -> dict[str, str]:
    """Named string fields; the empty strings gogo-protobuf always writes count as unset."""
    out = {}
    for num, raw in proto_messages(buf).items():
        if num in names and raw:
            try:
                out[names[num]] = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise Malformed(f"field {names[num]} is not valid UTF-8") from None
    return out


def _review_spec(kind: str, raw: bytes) -> dict:
    spec_bytes = proto_messages(raw).get(2, b"")
    if kind == "SelfSubjectRulesReview":
        return proto_strings(spec_bytes, {1: "namespace"})
    parts = proto_messages(spec_bytes)
    spec: dict = {}
    if 1 in parts:
        spec["resourceAttributes"] = proto_strings(parts[1], _RESOURCE_ATTRS)
    if 2 in parts:
        spec["nonResourceAttributes"] = proto_strings(parts[2], _NON_RESOURCE_ATTRS)
    return spec


def decode_k8s_protobuf(body: bytes) -> dict:
    """A `k8s\\0`-framed runtime.Unknown holding a review, as the JSON-shaped dict the API would accept."""
    if not body.startswith(MAGIC):
        raise bad_request("the protobuf body does not start with the k8s magic prefix")
    try:
        unknown = proto_messages(body[len(MAGIC):])
        type_meta = proto_strings(unknown.get(1, b""), {1: "apiVersion", 2: "kind"})
        kind = type_meta.get("kind", "")
        if kind not in ("SelfSubjectAccessReview", "SelfSubjectRulesReview"):
            raise unsupported_media(f"protobuf is not supported for kind {kind!r}: the body of the request "
                                    "was in an unknown format - accepted media types include: "
                                    "application/json")
        spec = _review_spec(kind, unknown.get(2, b""))
    except Malformed as err:
        raise bad_request(f"unable to decode the protobuf body: {err}") from None
    return {**type_meta, "spec": spec}

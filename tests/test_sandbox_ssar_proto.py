"""Protobuf access reviews as `kubectl auth can-i` sends them (KUBECTL_WIRE.md §8)."""

from __future__ import annotations

import struct

import pytest

from arc_top.sandbox.errors import ApiError
from arc_top.sandbox.ssar_proto import decode_k8s_protobuf, is_protobuf

# --- a tiny encoder, writing fields the way gogo-protobuf does (empty strings included) ----------------

def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def ld(number: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | 2) + varint(len(data)) + data


def message(*strings: str) -> bytes:
    """Fields 1..n as strings, in order, like a generated Marshal."""
    return b"".join(ld(i, s) for i, s in enumerate(strings, start=1))


def envelope(kind: str, obj: bytes, api_version: str = "authorization.k8s.io/v1") -> bytes:
    return b"k8s\x00" + ld(1, message(api_version, kind)) + ld(2, obj) + ld(3, "") + ld(4, "")


def ssar(namespace="", verb="", group="", version="", resource="", subresource="", name="") -> bytes:
    attrs = message(namespace, verb, group, version, resource, subresource, name)
    return envelope("SelfSubjectAccessReview", ld(1, b"") + ld(2, ld(1, attrs)))


def spec_of(body: bytes) -> dict:
    out = decode_k8s_protobuf(body)
    assert out["apiVersion"] == "authorization.k8s.io/v1"
    return out["spec"]


def test_list_pods_in_namespace():
    out = decode_k8s_protobuf(ssar("arc-runners", "list", resource="pods"))
    attrs = {"namespace": "arc-runners", "verb": "list", "resource": "pods"}
    assert out == {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                   "spec": {"resourceAttributes": attrs}}


def test_custom_resource_carries_its_group():
    attrs = {"verb": "list", "group": "actions.github.com", "resource": "autoscalingrunnersets"}
    assert spec_of(ssar(verb="list", group="actions.github.com", resource="autoscalingrunnersets")) == {
        "resourceAttributes": attrs}


def test_subresource_and_name():
    attrs = spec_of(ssar("arc-runners", "get", resource="pods", subresource="log"))["resourceAttributes"]
    assert attrs == {"namespace": "arc-runners", "verb": "get", "resource": "pods", "subresource": "log"}
    attrs = spec_of(ssar("arc-runners", "get", resource="pods", name="log"))["resourceAttributes"]
    assert attrs["name"] == "log" and "subresource" not in attrs


def test_non_resource_url():
    body = envelope("SelfSubjectAccessReview", ld(1, b"") + ld(2, ld(2, message("/logs", "get"))))
    assert spec_of(body) == {"nonResourceAttributes": {"path": "/logs", "verb": "get"}}


def test_rules_review_with_namespace():
    body = envelope("SelfSubjectRulesReview", ld(1, b"") + ld(2, message("arc-runners")))
    out = decode_k8s_protobuf(body)
    assert out["kind"] == "SelfSubjectRulesReview" and out["spec"] == {"namespace": "arc-runners"}


def test_unknown_fields_of_every_wire_type_are_skipped():
    attrs = message("ns", "get", "", "", "pods") + varint(8 << 3 | 0) + varint(300)
    attrs += varint(9 << 3 | 1) + struct.pack("<d", 1.5) + varint(10 << 3 | 5) + struct.pack("<f", 2.0)
    attrs += ld(11, ld(1, "app=x"))  # 1.31+ labelSelector-style nested message
    spec = ld(1, attrs) + varint(5 << 3 | 0) + varint(1)
    body = envelope("SelfSubjectAccessReview", ld(1, message("name")) + ld(2, spec) + ld(3, b"\x08\x01"))
    assert spec_of(body) == {"resourceAttributes": {"namespace": "ns", "verb": "get", "resource": "pods"}}


def test_other_kinds_are_415():
    with pytest.raises(ApiError) as err:
        decode_k8s_protobuf(envelope("Pod", b"", api_version="v1"))
    assert (err.value.code, err.value.reason) == (415, "UnsupportedMediaType")


@pytest.mark.parametrize("body", [
    b"", b"{}", b"k8s", b"k8s\x00\x0a",                         # no magic / truncated length
    b"k8s\x00\x0a\x05ab",                                        # length past the end
    b"k8s\x00\x0b",                                              # wire type 3 (groups) unsupported
    b"k8s\x00\x00",                                              # field number 0
    b"k8s\x00" + b"\xff" * 11,                                   # overlong varint
    b"k8s\x00" + ld(1, ld(1, b"\xff\xfe") + ld(2, "SelfSubjectAccessReview")),  # bad UTF-8
])
def test_malformed_bytes_are_400(body):
    with pytest.raises(ApiError) as err:
        decode_k8s_protobuf(body)
    assert (err.value.code, err.value.reason) == (400, "BadRequest")


def test_truncated_real_body_never_raises_anything_but_api_errors():
    full = ssar("arc-runners", "list", resource="pods")
    for cut in range(len(full)):
        try:
            decode_k8s_protobuf(full[:cut])
        except ApiError as err:
            assert err.code in (400, 415)


def test_is_protobuf():
    assert is_protobuf("application/vnd.kubernetes.protobuf")
    assert is_protobuf("application/vnd.kubernetes.protobuf; charset=binary")
    assert not is_protobuf("application/json")
    assert not is_protobuf("")

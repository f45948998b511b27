"""kube.apis.loads: list and watch bodies decode through orjson when it is installed, to exactly what the
standard library gives (what orjson refuses, the standard library decodes), and garbage still raises ValueError
(a watch skips a garbled line on it)."""

from __future__ import annotations

import json
import math

import pytest

from arc_top.kube import apis

DOCS = [
    b'{"kind":"PodList","metadata":{"resourceVersion":"12","continue":"abc"},"items":[{"metadata":{"name":"p",'
    b'"uid":"u1","labels":{"a":"[red]x[/]"}},"status":{"phase":"Running","restartCount":3}}]}',
    '{"type":"MODIFIED","object":{"metadata":{"name":"r\u00e9sum\u00e9-\u2603","resourceVersion":"7"}}}'.encode(),
    b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"99"}}}',
    b'{"big": 9223372036854775807, "neg": -1.5e-7, "nul": null, "t": true, "list": [1, 2.5, "3"]}',
]


@pytest.mark.parametrize("doc", DOCS)
def test_loads_gives_what_the_standard_library_gives(doc):
    assert apis.loads(doc) == json.loads(doc)
    assert apis.loads(doc.decode()) == json.loads(doc)


def test_what_orjson_refuses_is_still_decoded():
    assert math.isnan(apis.loads(b'{"x": NaN}')["x"])
    assert apis.loads(b"[Infinity]") == [math.inf]


def test_an_integer_beyond_64_bits_still_decodes_to_its_value():
    assert apis.loads(b"[18446744073709551616]") == [2 ** 64]        # a float from orjson, but equal


@pytest.mark.parametrize("garbage", [b'{"type": "ADDED", "object": {', b"", b"\xff\xfe", b"nope"])
def test_garbage_raises_value_error(garbage):
    with pytest.raises(ValueError):
        apis.loads(garbage)


def test_orjson_is_used():
    """A dependency (pyproject.toml): installed with arc-top, so the fast path is the one that runs."""
    assert apis._orjson is not None

"""What the API hands the transport: a whole answer or a stream of chunks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

JSON = "application/json"


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Stream:
    """A streamed answer (watch or followed log): the transport writes each chunk as it comes."""
    status: int
    chunks: Iterator[bytes]
    content_type: str = JSON

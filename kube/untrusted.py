"""YAML and JSON from outside a cluster API response (saved `kubectl get -o yaml|json` output, standard input),
read and parsed in bounded time and memory whatever the bytes hold; a bad input is an InputError whose str() is
one line naming it.

The limits, and why:
- 64 MiB a file, 256 MiB for all the files of one command (`MAX_FILE_BYTES`, `MAX_TOTAL_BYTES`): `kubectl get
  -o yaml` of about 18,000 runner pods fits in 64 MiB (`-o json`, indented, of about 6,000); a bigger cluster is
  saved in several files (one kind or namespace each). A file is never read past the limit (+1 byte).
- 64 levels of nesting (`MAX_DEPTH`): Kubernetes objects nest about 20 deep (a CRD's schema about 35).
- 100,000 YAML documents (or JSON values) a file (`MAX_DOCUMENTS`): kubectl writes one List.
- 4,000,000 values built at once (`MAX_VALUES`: mappings, lists and scalars, keys included; about 300 MB at
  worst). YAML is built from parser events, never as a node tree, and the items of a top-level `items` list are
  handed out one by one, so a 64 MiB kubectl List holds one item at a time. JSON is decoded by the C parser,
  whole; the limit is checked before, on an upper bound (the `{`, `[` and `,` of the text).
- 12,000,000 YAML values a file in all (`MAX_FILE_VALUES`; 64 MiB of kubectl YAML holds about 7 million): each
  costs about 2 µs, so a file takes at most about 30 s whatever it holds (64 MiB of kubectl YAML, 18,000 pods:
  about 25 s and 180 MB; the whole-tree loader took minutes and gigabytes).
- YAML aliases (`*name`) and merge keys (`<<`) are refused: kubectl never writes them, and aliases are how a
  small file expands to billions of values ("billion laughs"). Tags other than the standard scalar ones too.
- Text: UTF-8 (a byte-order mark is dropped), or UTF-16/UTF-32 with a byte-order mark (what a Windows shell's
  `kubectl … > file` may write). NUL bytes mean a binary file.
"""

from __future__ import annotations

import codecs
import functools
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

MiB = 1024 * 1024
MAX_FILE_BYTES = 64 * MiB
MAX_TOTAL_BYTES = 256 * MiB
MAX_DEPTH = 64
MAX_DOCUMENTS = 100_000
MAX_VALUES = 4_000_000
MAX_FILE_VALUES = 12_000_000     # YAML values built from one file in all: bounds the time (~2 µs each)
MAX_NUMBER_CHARS = 1000          # an int or float scalar longer than this is refused (big-int arithmetic is slow)
SAVE_HINT = "save it with kubectl get … -o yaml"

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_SCALAR_TAGS = frozenset("tag:yaml.org,2002:" + t for t in ("null", "bool", "int", "float", "binary", "timestamp"))
_COLLECTION_TAGS = (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class InputError(Exception):
    """Input that cannot be used; str() is one line naming it."""


@dataclass(frozen=True)
class Document:
    """One YAML document or JSON value. `streamed`: its top-level `items` list was handed out as Items (and is
    an empty list here)."""
    index: int
    value: object
    streamed: bool = False


@dataclass(frozen=True)
class Item:
    """One element of the top-level `items` list of document `doc`, handed out before the document ends (kubectl
    writes `kind: List` after the items). `values`: how many values it holds."""
    doc: int
    index: int
    value: object
    values: int


# ---- reading ----------------------------------------------------------------------------------------------------
def _mib(n: int) -> str:
    return f"{n / MiB:.0f} MiB" if n >= MiB else f"{n} bytes"


def read_limited(stream, name: str, limit: int = MAX_FILE_BYTES, already: int = 0,
                 total: int = MAX_TOTAL_BYTES) -> bytes:
    """At most `limit` bytes of an open binary stream, and no more than `total` counting the `already` read from
    other files; more is an InputError (one line naming `name`). Never reads more than the limit + 1 byte."""
    budget = max(0, min(limit, total - already))
    try:
        info = os.fstat(stream.fileno())
        size = info.st_size if stat.S_ISREG(info.st_mode) else -1
    except (AttributeError, OSError, ValueError):      # not a file descriptor (BytesIO, a test's stream)
        size = -1
    if size > budget:
        raise InputError(_too_big(name, size, limit if size > limit else -1, total))
    data = stream.read(budget + 1)
    if len(data) > budget:
        raise InputError(_too_big(name, -1, limit if budget == limit else -1, total))
    return data


def _too_big(name: str, size: int, limit: int, total: int) -> str:
    """limit: the file limit it broke (-1: it broke the limit of all the files together)."""
    have = f" ({_mib(size)})" if size > 0 else ""
    if limit < 0:
        return f"{name}{have}: the files together are larger than {_mib(total)}: check fewer files at once"
    return (f"{name} is larger than {_mib(limit)}{have}: save the cluster in several files (one kind or namespace "
            "each)")


def decode(data: bytes, name: str) -> str:
    """Text of the bytes: UTF-8, or UTF-16/32 with a byte-order mark; one line naming `name` when it is not."""
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding.startswith("utf-8"):
            raise InputError(f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}): "
                             f"{SAVE_HINT}, or convert it to UTF-8 (iconv -t UTF-8)") from None
        raise InputError(f"{name} starts with a {encoding.upper()} byte-order mark but is not {encoding.upper()} "
                         f"text (at byte {exc.start}): {SAVE_HINT}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        raise InputError(f"{name} is binary (it holds NUL bytes), not kubectl output: {SAVE_HINT}")
    return text


# ---- parsing ----------------------------------------------------------------------------------------------------
def documents(text: str, name: str, stream_items: bool = True) -> Iterator[Document | Item]:
    """The documents of one input: JSON (one or several values) or YAML (one or several documents), within the
    limits above. With `stream_items`, the elements of a document's top-level `items` list come first, one by one,
    as Items (YAML only; JSON documents come whole)."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        docs = _json_documents(text, len(text) - len(stripped), name)
        if docs is not None:
            yield from docs
            return
    yield from _yaml_documents(text, name, stream_items)


def load_one(text: str, name: str) -> object:
    """The single document of a YAML or JSON input (None when empty), within the limits: for config files."""
    found = None
    for unit in documents(text, name, stream_items=False):
        if isinstance(unit, Document) and unit.index > 1:
            raise InputError(f"{name} holds several YAML documents: expected one")
        found = unit.value
    return found


def _json_documents(text: str, pos: int, name: str) -> list[Document] | None:
    """Every JSON value of the text, or None when it is not JSON (then maybe YAML with a flow mapping)."""
    if text.count(",") + text.count("{") + text.count("[") > MAX_VALUES:
        raise InputError(_too_many_values(name))
    decoder = json.JSONDecoder()
    end, docs = len(text), []
    try:
        while pos < end:
            if len(docs) >= MAX_DOCUMENTS:
                raise InputError(_too_many_documents(name))
            value, pos = decoder.raw_decode(text, pos)
            docs.append(Document(len(docs) + 1, value))
            while pos < end and text[pos].isspace():
                pos += 1
    except RecursionError:
        raise InputError(_too_deep(name, len(docs) + 1)) from None
    except ValueError:
        return None
    for doc in docs:
        if _depth(doc.value) > MAX_DEPTH:
            raise InputError(_too_deep(name, doc.index))
    return docs


def _depth(value: object) -> int:
    """How deep lists and mappings nest (iteratively: the input may nest deeper than Python recurses)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            return level
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


@functools.cache
def _loader():
    """A safe YAML loader class (libyaml's parser when built) that keeps timestamps as strings, as the API sends
    them: hand-edited files may leave them unquoted, and the projections read RFC 3339 strings."""
    import yaml

    loader = type("_KubeLoader", (getattr(yaml, "CSafeLoader", yaml.SafeLoader),), {})
    loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)
    return loader


class _Frame:
    __slots__ = ("container", "key", "has_key", "stream", "items")

    def __init__(self, container) -> None:
        self.container = container
        self.key = None
        self.has_key = False
        self.stream = False          # the top-level `items` list: its elements are handed out one by one
        self.items = 0               # elements handed out


def _yaml_documents(text: str, name: str, stream_items: bool) -> Iterator[Document | Item]:
    """Build the documents from the parser's events: no node tree, no alias, bounded depth and size."""
    import yaml
    from yaml import events as ev

    loader = _loader()(text)
    resolve, construct, next_event = loader.resolve, loader.yaml_constructors, loader.get_event
    scalar_node = yaml.ScalarNode
    scalar, mapping_start, sequence_start = ev.ScalarEvent, ev.MappingStartEvent, ev.SequenceStartEvent
    mapping_end, sequence_end = ev.MappingEndEvent, ev.SequenceEndEvent
    stack: list[_Frame] = []
    doc = held = built = 0           # held: values built and still held in this document; built: in all
    item_start = -1                  # `held` before the element being built of a streamed list (-1: none)
    streamed = False
    try:
        while True:
            event = next_event()
            kind = type(event)
            if kind is scalar:
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolve(scalar_node, event.value, event.implicit) if event.implicit[0] else _STR
                if tag == _STR:
                    value = event.value
                elif tag == _MERGE:
                    raise InputError(f"{name}: YAML merge keys (<<) are not accepted: kubectl never writes them")
                elif tag not in _SCALAR_TAGS:
                    raise InputError(_bad_tag(name, doc, tag))
                elif tag in _NUMBERS and len(event.value) > MAX_NUMBER_CHARS:
                    raise InputError(f"{name}: document {doc} holds a number of more than {MAX_NUMBER_CHARS} "
                                     f"characters: {SAVE_HINT}")
                else:
                    value = construct[tag](loader, scalar_node(tag, event.value, style=event.style))
                if stack and stack[-1].stream:
                    item_start = held
                held += 1
                built += 1
            elif kind is mapping_start or kind is sequence_start:
                if event.tag not in _COLLECTION_TAGS:
                    raise InputError(_bad_tag(name, doc, event.tag))
                if len(stack) >= MAX_DEPTH:
                    raise InputError(_too_deep(name, doc))
                parent = stack[-1] if stack else None
                if parent is not None and parent.stream:
                    item_start = held
                held += 1
                built += 1
                if held > MAX_VALUES:
                    raise InputError(_too_many_values(name, doc))
                frame = _Frame({} if kind is mapping_start else [])
                frame.stream = (stream_items and parent is not None and len(stack) == 1 and parent.has_key
                                and parent.key == "items" and kind is sequence_start
                                and _list_kind(parent.container.get("kind")))
                stack.append(frame)
                continue
            elif kind is mapping_end or kind is sequence_end:
                value = stack.pop().container
            elif kind is ev.AliasEvent:
                anchor = "".join(ch for ch in str(event.anchor or "")[:40] if ch.isprintable())
                raise InputError(f"{name}: YAML aliases (*{anchor}) are not accepted: kubectl never writes them")
            elif kind is ev.DocumentStartEvent:
                doc += 1
                if doc > MAX_DOCUMENTS:
                    raise InputError(_too_many_documents(name))
                held, item_start, streamed = 0, -1, False
                continue
            elif event is None or kind is ev.StreamEndEvent:
                return
            else:                      # StreamStart, DocumentEnd
                continue
            if held > MAX_VALUES:
                raise InputError(_too_many_values(name, doc))
            if built > MAX_FILE_VALUES:
                raise InputError(f"{name} holds more than {MAX_FILE_VALUES:,} values: save the cluster in several "
                                 "files (one kind or namespace each)")
            if not stack:
                yield Document(doc, value, streamed)
                continue
            top = stack[-1]
            if top.stream:             # a whole element of the top-level items list: hand it out, hold it no more
                top.items += 1
                streamed = True
                values, held, item_start = held - item_start, item_start, -1
                yield Item(doc, top.items, value, values)
                continue
            container = top.container
            if type(container) is list:
                container.append(value)
            elif top.has_key:
                container[top.key] = value
                top.has_key = False
            elif isinstance(value, (dict, list)):
                raise InputError(f"{name}: document {doc} has a mapping key that is a "
                                 f"{'mapping' if isinstance(value, dict) else 'list'}: {SAVE_HINT}")
            else:
                top.key, top.has_key = value, True
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(getattr(exc, "problem", None) or "syntax error").split())[:120]
        if "nesting depth" in problem:      # libyaml's own limit (1,000), met while it looks ahead in flow style
            raise InputError(_too_deep(name, max(doc, 1))) from None
        hint = "" if name.startswith("kubeconfig ") else f": {SAVE_HINT} (or -o json)"
        raise InputError(f"{name} is not valid YAML or JSON{where} ({problem}){hint}") from None
    except (ValueError, TypeError, OverflowError) as exc:      # a tagged scalar its constructor refuses
        detail = " ".join(str(exc).split())[:120]
        raise InputError(f"{name}: document {doc} holds a value YAML cannot build ({detail}): {SAVE_HINT}") from None
    finally:
        loader.dispose()


def _list_kind(kind: object) -> bool:
    """May the top-level items of a document with this kind (so far) be handed out one by one? Yes when the kind
    is not known yet (kubectl writes it after the items) or names a List."""
    return kind is None or (isinstance(kind, str) and kind.endswith("List"))


def _bad_tag(name: str, doc: int, tag: object) -> str:
    shown = "".join(ch for ch in str(tag)[:60] if ch.isprintable())
    return f"{name}: document {doc} has the YAML tag {shown}, which kubectl never writes: {SAVE_HINT}"


def _too_deep(name: str, doc: int) -> str:
    return (f"{name}: document {doc} nests deeper than {MAX_DEPTH} levels (Kubernetes objects nest about 20): "
            f"{SAVE_HINT}")


def _too_many_values(name: str, doc: int = 0) -> str:
    where = f"document {doc} of {name}" if doc else name
    return (f"{where} holds more than {MAX_VALUES:,} values at once: save the cluster in several files (one kind "
            "or namespace each)")


def _too_many_documents(name: str) -> str:
    return f"{name} holds more than {MAX_DOCUMENTS:,} documents: save it with kubectl get … -o yaml (one List)"


__all__ = ["MAX_DEPTH", "MAX_DOCUMENTS", "MAX_FILE_BYTES", "MAX_FILE_VALUES", "MAX_TOTAL_BYTES", "MAX_VALUES",
           "Document", "InputError", "Item", "decode", "documents", "load_one", "read_limited"]

"""Server-side `meta.k8s.io/v1` Tables rendered like kube-apiserver (kubectl prints cells as-is).

Built-in kinds use sandbox.printers; custom resources follow apiextensions-apiserver's tableconvertor.
Watch events reuse `table()` with `with_headers=False` and a single object. Row objects share the
stored dicts: serialise before mutating.
"""

from __future__ import annotations

import re
import time

from .crds import crd_printer_columns
from .errors import bad_request
from .printers import (
    AGE_DESC,
    DEFAULT_PRINTER,
    INCLUDE_OBJECT,
    NAME,
    PRINTERS,
    Printer,
    column,
    human_duration,
    meta_of,
    name_of,
    parse_time,
    pod_conditions,
)
from .resources import Resource

__all__ = ["human_duration", "table"]


# ---- custom resources -------------------------------------------------------------------------------------

_MISSING = object()
_SEGMENT = re.compile(r"((?:\\\.|[^.\[\]])+)|\[(\d+)\]|\['([^']*)'\]")


def _compile_path(path: str) -> list[str | int]:
    """A CRD printer column's simple JSONPath (`.status.phase`, `.metadata.labels.a\\.b/c`, `.x[0]`)."""
    steps: list[str | int] = []
    for field, index, quoted in _SEGMENT.findall(path.strip().removeprefix("{").removesuffix("}")):
        steps.append(int(index) if index else quoted if quoted else field.replace("\\.", "."))
    return steps


def _lookup(obj: object, steps: list[str | int]) -> object:
    for step in steps:
        if isinstance(step, int) and isinstance(obj, list) and -len(obj) <= step < len(obj):
            obj = obj[step]
        elif isinstance(step, str) and isinstance(obj, dict) and step in obj:
            obj = obj[step]
        else:
            return _MISSING
    return obj


def _go_text(value: object) -> str:
    """How k8s jsonpath prints a value into a string column (Go's %v on decoded JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_text(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_text(v) for v in value) + "]"
    return "<nil>" if value is None else str(value)


def _typed_cell(type_: str, value: object, now: float) -> object:
    """apiextensions tableconvertor.cellForJSONValue; anything of the wrong JSON type becomes null."""
    if value is None or value is _MISSING:
        return None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if type_ == "string":
        return _go_text(value)
    if type_ == "integer":
        return int(value) if number else None
    if type_ == "number":
        return (int(value) if float(value).is_integer() else value) if number else None
    if type_ == "boolean":
        return value if isinstance(value, bool) else None
    if type_ == "date" and isinstance(value, str):
        epoch = parse_time(value)
        return "<invalid>" if epoch is None else human_duration(now - epoch)
    return None


def _custom_printer(resource: Resource, crd: dict | None) -> Printer:
    """Name plus the CRD's columns; the server adds Age only when the CRD declares no columns at all."""
    declared = crd_printer_columns(crd, resource.version) if crd else []
    declared = declared or [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
                             "description": AGE_DESC}]
    columns = [NAME] + [column(c.get("name", ""), c.get("description", ""), c.get("type", "string"),
                             c.get("priority", 0), c.get("format", "")) for c in declared]
    compiled = [(c.get("type", "string"), _compile_path(c.get("jsonPath", ""))) for c in declared]

    def cells(o: dict, now: float) -> list:
        return [name_of(o), *(_typed_cell(t, _lookup(o, steps), now) for t, steps in compiled)]
    return columns, cells


# ---- the Table --------------------------------------------------------------------------------------------

def _printer(resource: Resource, crd: dict | None) -> Printer:
    if resource.custom:
        return _custom_printer(resource, crd)
    return PRINTERS.get(resource.key, DEFAULT_PRINTER)


def _row_object(obj: dict, include_object: str) -> dict:
    if include_object == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta_of(obj)}


def table(resource: Resource, objects: list[dict], resource_version: str, include_object: str = "Metadata",
          now: float | None = None, crd: dict | None = None, with_headers: bool = True,
          continue_token: str | None = None) -> dict:
    """Render `objects` as the Table kube-apiserver returns for `Accept: …;as=Table;g=meta.k8s.io;v=v1`.

    For watch events pass one object and `with_headers=False` after the first event (the server sends
    columnDefinitions only once). `crd` supplies printer columns for custom resources.
    """
    include_object = include_object or "Metadata"
    if include_object not in INCLUDE_OBJECT:
        raise bad_request(f'includeObject: Unsupported value: "{include_object}": supported values: '
                          '"Metadata", "None", "Object"')
    now = time.time() if now is None else now
    columns, cells = _printer(resource, crd)
    pods = resource.key == "pods"
    rows = []
    for obj in objects:
        row: dict = {"cells": cells(obj, now)}
        conditions = pod_conditions(obj) if pods else None
        if conditions:
            row["conditions"] = conditions
        if include_object != "None":
            row["object"] = _row_object(obj, include_object)
        rows.append(row)
    metadata: dict = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    out: dict = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata}
    if with_headers:
        out["columnDefinitions"] = [dict(c) for c in columns]
    out["rows"] = rows
    return out

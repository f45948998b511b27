"""One live object, GET through the official client, as a plain dict with its secrets masked; and its events.

Used by the drill-down screens (describe, YAML). What reaches the UI never holds a secret value: a Secret's
`data`/`stringData` and the last-applied annotation that may repeat them, and env values whose names
say they are credentials, are masked by core.text's one rule (`ghp_…a1b2⏎`: a known token prefix, the last four
characters of a long value, a mark for surrounding whitespace; `[private key]` for a PEM key). Textual-free.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from dataclasses import dataclass

from arc_top.core.data import s
from arc_top.core.text import mask_secret_value
from arc_top.kube import apis
from arc_top.kube.apis import Resource, read_json
from arc_top.kube.fields import LAST_APPLIED

_BY_KIND: dict[str, Resource] = {res.kind: res for res in (
    apis.SCALE_SETS, apis.RUNNER_SETS, apis.RUNNERS, apis.LISTENERS, apis.PODS, apis.VOLUMES, apis.EVENTS,
    apis.SECRETS, apis.SERVICE_ACCOUNTS, apis.NAMESPACES, apis.STORAGE_CLASSES, apis.NETWORK_POLICIES, apis.ROLES,
    apis.CLUSTER_ROLES, apis.ROLE_BINDINGS, apis.CLUSTER_ROLE_BINDINGS)}
KINDS = tuple(_BY_KIND)

SENSITIVE_NAME = re.compile(r"TOKEN|SECRET|PASSW|PRIVATE|CREDENTIAL|JITCONFIG|API_?KEY|_KEY$|^KEY$", re.I)
MASK = "••••"


@dataclass(frozen=True)
class ObjectRef:
    """An object by API kind (`Pod`, `EphemeralRunner`, …), namespace ("" for cluster objects) and name."""
    kind: str
    namespace: str
    name: str
    uid: str = ""

    @property
    def label(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"

    @property
    def known(self) -> bool:
        return self.kind in _BY_KIND


# ---- reading ----------------------------------------------------------------------------------------------
def fetch_raw(api_client, ref: ObjectRef, timeout: float = 15.0) -> dict:
    """The live object as the server sends it (raises the client's ApiException; ValueError for a kind we
    do not read). Not masked: use `fetch`."""
    res = _BY_KIND.get(ref.kind)
    if res is None:
        raise ValueError(f"arc-top cannot read {ref.kind} objects")
    return read_json(apis.request(api_client, "GET", res.path(ref.namespace, ref.name),
                                  timeout=(min(timeout, 5.0), timeout)))


def fetch(api_client, ref: ObjectRef, timeout: float = 15.0) -> dict:
    """The live object with every secret value masked (see `mask_object`)."""
    return mask_object(fetch_raw(api_client, ref, timeout))


def events_for(api_client, ref: ObjectRef, uid: str = "", limit: int = 200) -> list[dict]:
    """The object's events, oldest first (by last time seen). Events live in the object's namespace."""
    selector = [f"involvedObject.name={ref.name}", f"involvedObject.kind={ref.kind}"]
    if uid:
        selector.append(f"involvedObject.uid={uid}")
    doc = apis.list_raw(api_client, apis.EVENTS, ref.namespace or "default", field_selector=",".join(selector),
                        limit=limit)
    items = [mask_object(e) for e in doc.get("items") or () if isinstance(e, dict)]
    return sorted(items, key=event_time)


def event_time(event: dict) -> str:
    return str(event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
               or (event.get("metadata") or {}).get("creationTimestamp") or "")


def short_error(exc: BaseException) -> str:
    """One line for a failed read: the server's Status message, or the transport's."""
    status = getattr(exc, "status", None)
    if status:
        return f"{status}: {apis.status_message(exc)}"[:300]
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


# ---- masking ----------------------------------------------------------------------------------------------
def _decoded(value: object) -> str:
    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return str(value)


def mask_object(obj: dict) -> dict:
    """A deep copy safe to show: Secret values masked, the last-applied annotation of a Secret dropped, env
    entries with credential-like names masked, and the same for any list of objects (a List, events)."""
    out = copy.deepcopy(obj)
    _mask(out)
    return out


def _mask(node: object) -> None:
    if isinstance(node, list):
        for item in node:
            _mask(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("kind") == "Secret":
        for key in ("data", "stringData"):
            values = node.get(key)
            if isinstance(values, dict):
                node[key] = {k: mask_secret_value(_decoded(v) if key == "data" else s(v)) for k, v in values.items()}
        annotations = (node.get("metadata") or {}).get("annotations")
        if isinstance(annotations, dict) and LAST_APPLIED in annotations:
            annotations[LAST_APPLIED] = f"{MASK} (may hold the secret's values: not shown)"
    name, value = node.get("name"), node.get("value")
    if isinstance(name, str) and isinstance(value, str) and value and SENSITIVE_NAME.search(name):
        node["value"] = mask_secret_value(value)
    for child in node.values():
        if isinstance(child, (dict, list)):
            _mask(child)


def without_managed_fields(obj: dict) -> dict:
    out = dict(obj)
    meta = out.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        out["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    return out

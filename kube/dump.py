"""`arc-top dump`: what the checks read, as one YAML `kind: List` that `arc-top check --from` diagnoses the same
way as the live cluster, and that `arc-top sandbox --from` replays.

What is collected is what the monitor watches (kube.monitor.plan and controller_specs: the same resources,
namespaces, selectors and filters), listed once with the official client, plus what discovery reads (the ARC CRDs,
trimmed to their versions and the outline of their schemas) and the PersistentVolumes the dumped claims are bound
to. The log tails of the failing pods are read by the live check's LogTailer from the Snapshot of those objects and
stored on each pod as the annotation A_LOG_TAILS (a JSON list: container, previous, ended, fetched_at, lines), which
kube.offline reads back. The List carries A_DUMPED_AT (when; the checks' "now" from the file) and A_KINDS (the kinds
listed: a kind listed empty is known empty, not missing).

Redaction (the default): every Secret value becomes a placeholder that keeps only what the checks read — for
github_token its prefix (kind of token), length, and leading/trailing/inner whitespace; for the App IDs their
length and whether they are digits; for github_app_private_key the PEM armour lines and the body's line shape
(the base64 replaced); any other key a fixed word. A redacted Secret names its placeholders in A_REDACTED. Every
other string of every object (env values, args, annotations, messages) and every log line goes through
core.text.redact (GitHub tokens, Bearer/Basic credentials, JWTs, PEM keys, credentials in URLs).
`kubectl.kubernetes.io/last-applied-configuration` and managedFields are dropped from every object (the first
holds a Secret's values in plain text).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from arc_top.core.text import clean_line, redact
from arc_top.kube import apis, model
from arc_top.kube.fields import LAST_APPLIED, as_dict, as_list, as_str
from arc_top.kube.model import LogTail
from arc_top.kube.monitor import controller_specs, plan
from arc_top.kube.projections import CREDENTIAL_KEYS, project
from arc_top.kube.watch import WatchSpec

A_LOG_TAILS = "arc-top.dev/log-tails"       # on a pod: its log tails (JSON)
A_REDACTED = "arc-top.dev/redacted"         # on a Secret: the keys whose values are placeholders
A_DUMPED_AT = "arc-top.dev/dumped-at"       # on the List: when it was written (RFC 3339)
A_KINDS = "arc-top.dev/kinds"               # on the List: the model kinds that were listed
A_CONTEXT = "arc-top.dev/context"
A_PROBES = "arc-top.dev/github-probes"      # on the List: the GitHub credential probes' results (JSON)
REDACTED_WORD = "REDACTED"
PAGE = 500
LIST_TIMEOUT_S = 30.0
PERSISTENT_VOLUMES = apis.Resource("persistentvolumes", "PersistentVolume", "persistentvolumes", namespaced=False)
CRDS = apis.Resource("crds", "CustomResourceDefinition", "customresourcedefinitions", namespaced=False,
                     group="apiextensions.k8s.io")
_TOKEN_PREFIX = re.compile(r"github_pat_|[A-Za-z]{2,3}_")
_PEM_ARMOUR = re.compile(r"(-----(?:BEGIN|END) [A-Z ]*-----)")


@dataclass
class Collected:
    objects: list[dict] = field(default_factory=list)      # raw API objects, kind and apiVersion set
    kinds: set[str] = field(default_factory=set)            # model kinds listed (at least once, fully)
    problems: list[str] = field(default_factory=list)       # one line per list that failed
    tails: list[LogTail] = field(default_factory=list)
    probes: list | None = None                              # probes.ProbeResult (None: not probed)


# ---- collecting --------------------------------------------------------------------------------------------
def _list(api_client, spec: WatchSpec, timeout: float) -> list[dict]:
    """Every object of one watch spec (paged), each with kind and apiVersion set, filtered by the spec's accept."""
    res = spec.resource
    fn = res.list_function(api_client, spec.namespace)
    out, token = [], ""
    api_version = f"{res.group}/{res.version}" if res.group else res.version
    while True:
        kwargs: dict = {"limit": PAGE, "_request_timeout": (5.0, timeout)}
        if token:
            kwargs["_continue"] = token
        if spec.label_selector:
            kwargs["label_selector"] = spec.label_selector
        if spec.field_selector:
            kwargs["field_selector"] = spec.field_selector
        doc = apis.read_json(fn(_preload_content=False, **kwargs))
        for item in as_list(doc.get("items")):
            if not isinstance(item, dict):
                continue
            item.setdefault("kind", res.kind)
            item.setdefault("apiVersion", api_version)
            if spec.accept is not None and not spec.accept(project(res.key, item, res.kind)):
                continue
            out.append(item)
        token = as_str(as_dict(doc.get("metadata")).get("continue"))
        if not token:
            return out


def collect(conn, info=None, timeout: float = LIST_TIMEOUT_S) -> Collected:
    """List what the monitor would watch for `conn` (blocking). `info`: kube.discovery's ArcInfo (found here when
    None)."""
    from kubernetes.client.exceptions import ApiException

    from arc_top.kube.discovery import discover

    info = info if info is not None else discover(conn)
    specs = plan(conn.namespaces)
    if conn.namespaces:
        for ns in info.controller_namespaces:
            specs += controller_specs(ns, conn.namespaces)
    got = Collected()
    seen: set[tuple[str, str]] = set()
    failed: set[str] = set()
    for spec in specs:
        key = spec.resource.key
        try:
            items = _list(conn.api_client, spec, timeout)
        except ApiException as exc:
            failed.add(key)
            got.problems.append(f"{spec.resource.plural} {spec.scope()}: {exc.status} {apis.status_message(exc)}"[:300])
            continue
        got.kinds.add(key)
        for item in items:
            uid = as_str(as_dict(item.get("metadata")).get("uid")) or f"{len(seen)}"
            if (item["kind"], uid) not in seen:
                seen.add((item["kind"], uid))
                got.objects.append(item)
    got.kinds -= failed
    got.objects += _extras(conn.api_client, got.objects, timeout)
    return got


_TYPE_KEYS = ("type", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string")


def _schema_outline(version: dict) -> dict:
    """Of a CRD version's schema, what ARC605 compares (kube.discovery.crd_fields): the top-level fields of spec and
    status with their types; not the whole runner PodSpec schema (hundreds of KB per CRD)."""
    props = as_dict(as_dict(as_dict(version.get("schema")).get("openAPIV3Schema")).get("properties"))
    outline: dict = {}
    for part in ("spec", "status"):
        fields = as_dict(as_dict(props.get(part)).get("properties"))
        if not fields:
            continue
        kept = {}
        for name, sub in fields.items():
            sub = as_dict(sub)
            node = {k: sub[k] for k in _TYPE_KEYS if k in sub}
            extra = sub.get("additionalProperties")
            if isinstance(extra, dict) and "type" in extra:
                node["additionalProperties"] = {"type": extra["type"]}
            kept[str(name)] = node
        outline[part] = {"type": "object", "properties": kept}
    return {"schema": {"openAPIV3Schema": {"type": "object", "properties": outline}}} if outline else {}


def _extras(api_client, objects: list[dict], timeout: float) -> list[dict]:
    """The ARC CRDs (versions and the outline of their schemas) and the PersistentVolumes of the dumped claims;
    best effort (403 is fine)."""
    from kubernetes.client.exceptions import ApiException

    out: list[dict] = []
    try:
        for crd in _list(api_client, WatchSpec(CRDS), timeout):
            spec = as_dict(crd.get("spec"))
            if spec.get("group") not in (apis.ARC_GROUP, apis.LEGACY_GROUP):
                continue
            versions = [{**{k: v.get(k) for k in ("name", "served", "storage") if k in v}, **_schema_outline(v)}
                        for v in map(as_dict, as_list(spec.get("versions")))]
            out.append({"apiVersion": crd["apiVersion"], "kind": crd["kind"],
                        "metadata": {"name": as_str(as_dict(crd.get("metadata")).get("name"))},
                        "spec": {"group": spec.get("group"), "names": as_dict(spec.get("names")),
                                 "scope": spec.get("scope"), "versions": versions}})
    except ApiException:
        pass
    claims = {(as_str(as_dict(o.get("metadata")).get("namespace")), as_str(as_dict(o.get("metadata")).get("name")))
              for o in objects if o.get("kind") == "PersistentVolumeClaim"}
    if claims:
        try:
            for pv in _list(api_client, WatchSpec(PERSISTENT_VOLUMES), timeout):
                ref = as_dict(as_dict(pv.get("spec")).get("claimRef"))
                if (as_str(ref.get("namespace")), as_str(ref.get("name"))) in claims:
                    out.append(pv)
        except ApiException:
            pass
    return out


def read_tails(api_client, objects: list[dict]) -> list[LogTail]:
    """The log tails the live check would read for these objects (kube.logtail.LogTailer, its defaults)."""
    from arc_top.kube.logtail import LogTailer
    from arc_top.kube.offline import snapshot_from_objects

    snapshot = snapshot_from_objects(objects)
    return LogTailer(api_client).fetch(snapshot, time.time(), deadline_seconds=30.0)


def probe_github(api_client, objects: list[dict], timeout: float = 5.0, extra_ca: bytes | None = None) -> list:
    """The GitHub credential probes the live check runs (kube.credentials.CredentialProber) on these objects."""
    from arc_top.kube.credentials import CredentialProber
    from arc_top.kube.offline import snapshot_from_objects

    prober = CredentialProber(api_client, timeout=timeout, extra_ca=extra_ca)
    try:
        return prober.probe(snapshot_from_objects(objects), budget=3 * timeout + 2)
    finally:
        prober.close()


# ---- redaction -----------------------------------------------------------------------------------------------
def _filler(text: str, word: str = REDACTED_WORD) -> str:
    """`text` with every character but whitespace and `_` replaced by `word` repeated (the shape stays)."""
    out = []
    for i, ch in enumerate(text):
        out.append(ch if ch.isspace() or ch == "_" else word[i % len(word)])
    return "".join(out)


def placeholder(key: str, value: str) -> str:
    """What a redacted Secret value becomes: the facts kube.projections derives from it stay the same."""
    lead = value[: len(value) - len(value.lstrip())]
    trail = value[len(value.rstrip()):]
    core = value.strip()
    if not core:
        return value                                         # empty or only whitespace: nothing to hide
    if key == "github_token":
        m = _TOKEN_PREFIX.match(core)
        prefix = m.group(0) if m else ""
        return lead + prefix + _filler(core[len(prefix):]) + trail
    if key in ("github_app_id", "github_app_installation_id"):
        return lead + "".join(ch if ch.isspace() else ("0" if ch.isdigit() else "x") for ch in core) + trail
    if key == "github_app_private_key":
        pieces = _PEM_ARMOUR.split(core)          # armour lines at the odd places, kept; the rest filled
        return lead + "".join(p if i % 2 else _filler(p.replace("_", "A"), "A") for i, p in enumerate(pieces)) + trail
    return REDACTED_WORD


def redact_secret(raw: dict) -> dict:
    """The Secret with every value a placeholder (data base64 as the API has it; stringData folded in)."""
    out = dict(raw)
    data = {}
    for key, encoded in as_dict(raw.get("data")).items():
        try:
            value = base64.b64decode(as_str(encoded), validate=False).decode("utf-8", "replace")
        except (ValueError, TypeError):
            value = ""
        data[as_str(key)] = value
    for key, plain in as_dict(raw.get("stringData")).items():
        data[as_str(key)] = as_str(plain)
    out.pop("stringData", None)
    out["data"] = {k: base64.b64encode(placeholder(k, v).encode()).decode() for k, v in data.items()}
    meta = dict(as_dict(raw.get("metadata")))
    meta["annotations"] = {**as_dict(meta.get("annotations")), A_REDACTED: ",".join(sorted(data))}
    out["metadata"] = meta
    return out


def redact_strings(value, depth: int = 0):
    """Every string in `value` (nested dicts and lists) through core.text.redact; keys are kept."""
    if isinstance(value, str):
        return redact(value)
    if depth > 100:
        return value
    if isinstance(value, dict):
        return {k: redact_strings(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_strings(v, depth + 1) for v in value]
    return value


def _managed_outline(entries) -> list[dict]:
    """Of managedFields, who wrote when and whether spec (kube.projections reads when spec last changed: ARC409);
    not the field sets themselves (bulky, and a Secret's key names at most)."""
    out = []
    for entry in map(as_dict, as_list(entries)[:32]):
        kept = {k: entry[k] for k in ("manager", "operation", "time", "subresource") if isinstance(entry.get(k), str)}
        if "f:spec" in as_dict(entry.get("fieldsV1")):
            kept["fieldsType"], kept["fieldsV1"] = "FieldsV1", {"f:spec": {}}
        out.append(kept)
    return out


def clean_object(raw: dict) -> dict:
    """managedFields cut to their outline; without the last-applied annotation (it holds a Secret's values in plain
    text)."""
    out = dict(raw)
    meta = dict(as_dict(raw.get("metadata")))
    managed = _managed_outline(meta.pop("managedFields", None))
    if managed:
        meta["managedFields"] = managed
    annotations = {k: v for k, v in as_dict(meta.get("annotations")).items() if k != LAST_APPLIED}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out["metadata"] = meta
    return out


# ---- writing -------------------------------------------------------------------------------------------------
def _tails_json(tails: Iterable[LogTail], secret: bool) -> str:
    return json.dumps([{"container": t.container, "previous": t.previous, "ended": t.ended,
                        "fetched_at": t.fetched_at,
                        "lines": [line if secret else redact(line) for line in t.lines]} for t in tails],
                      separators=(",", ":"))


def build_list(collected: Collected, *, context: str = "", redacted: bool = True, now: float | None = None) -> dict:
    """The `kind: List` document of a dump (objects cleaned, redacted unless `redacted` is False, pods carrying
    their log tails)."""
    now = time.time() if now is None else now
    by_pod: dict[str, list[LogTail]] = {}
    for tail in collected.tails:
        by_pod.setdefault(tail.pod_uid, []).append(tail)
    items = []
    for raw in collected.objects:
        obj = clean_object(raw)
        if obj.get("kind") == "Secret" and redacted:
            obj = redact_secret(obj)
            obj["metadata"] = redact_strings(obj["metadata"])
        elif redacted:
            obj = redact_strings(obj)
        uid = as_str(as_dict(obj.get("metadata")).get("uid"))
        if obj.get("kind") == "Pod" and uid in by_pod:
            meta = dict(obj["metadata"])
            meta["annotations"] = {**as_dict(meta.get("annotations")),
                                   A_LOG_TAILS: _tails_json(by_pod[uid], not redacted)}
            obj["metadata"] = meta
        items.append(obj)
    annotations = {A_DUMPED_AT: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                   A_KINDS: ",".join(k for k in model.KINDS if k in collected.kinds),
                   "arc-top.dev/redacted": "true" if redacted else "false"}
    if context:
        annotations[A_CONTEXT] = redact(context)
    if collected.probes is not None:
        results = [dataclasses.asdict(r) for r in collected.probes]
        annotations[A_PROBES] = json.dumps(redact_strings(results) if redacted else results, separators=(",", ":"))
    return {"apiVersion": "v1", "kind": "List", "metadata": {"annotations": annotations}, "items": items}


def header(*, context: str, namespaces: tuple[str, ...], redacted: bool, now: float, objects: int,
           tails: int, problems: list[str], probes: str = "not recorded") -> str:
    """The comment lines at the top of a dump."""
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now))
    scope = ", ".join(namespaces) if namespaces else "all namespaces"
    lines = [f"# arc-top dump: {objects} Kubernetes objects arc-top's checks read, written {when}",
             f"# context: {redact(context) or '(unknown)'}; namespaces: {scope}",
             "# holds: ARC objects, pods (with the log tails of failing pods as annotation arc-top.dev/log-tails),",
             "#   PVCs, PVs, StorageClasses, NetworkPolicies, namespaces, service accounts, Roles/ClusterRoles and",
             "#   their bindings, events, Secrets, the ARC CRDs' versions and schema outlines"]
    if redacted:
        lines += ["# REDACTED: every Secret value is a placeholder keeping only its shape (token prefix, length,",
                  "#   whitespace, PEM armour); tokens, Bearer/Basic credentials, JWTs, private keys and URL",
                  "#   passwords in other fields and in log lines are masked. Review before sharing anyway."]
    else:
        lines += ["# NOT REDACTED (--no-redact): this file holds the cluster's Secret values and credentials in",
                  "#   clear. Do not share it."]
    lines.append(f"# log tails: {tails}; GitHub probe verdicts: {probes}; use: arc-top check --from FILE, "
                 "arc-top sandbox --from FILE")
    for problem in problems[:20]:
        lines.append(f"# could not list: {problem}")
    return "\n".join(clean_line(line) for line in lines) + "\n"


__all__ = ["A_CONTEXT", "A_DUMPED_AT", "A_KINDS", "A_LOG_TAILS", "A_PROBES", "A_REDACTED", "CREDENTIAL_KEYS",
           "Collected", "build_list", "collect", "header", "placeholder", "probe_github", "read_tails", "redact_secret",
           "redact_strings"]

"""A Snapshot from saved `kubectl get … -o yaml|json` output, so `arc-top check --from` can diagnose a cluster
it cannot reach (a support bundle, a CI artefact).

Accepts multi-document YAML, JSON (also several objects one after another), `kind: List` and typed `*List`
objects (`PodList` items carry no kind), and plain objects. Objects are projected exactly as the watch threads
project them (kube.projections.project) and filtered the way the Monitor selects them (ARC and workflow pods,
Warning events and Normal events of ARC objects), so the checks see what they would see live. Kinds with no
object in the files are marked not synced ("absent"): checks that need them report ARC000 instead of
guessing. Unknown kinds are ignored; anything that is not a Kubernetes object is an OfflineError naming the
file. No secret value is kept (Secrets are projected to their key names).

The files are untrusted: kube.untrusted reads and parses them within limits (size, nesting, values held at once,
no YAML aliases), a List's items are projected one by one as the parser hands them out, and at most
MAX_OBJECTS objects are kept, so time and memory stay bounded whatever the files hold.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from arc_top.kube import apis, model
from arc_top.kube.discovery import (
    A_MANAGER_NAMESPACE,
    VERSION_RE,
    ArcInfo,
    controller_info,
    crd_fields,
    image_tag,
    version_key,
)
from arc_top.kube.fields import as_dict, as_list, as_str, epoch
from arc_top.kube.model import KindState, LogTail, Snapshot
from arc_top.kube.projections import project
from arc_top.kube.untrusted import MAX_FILE_BYTES, MAX_TOTAL_BYTES, MAX_VALUES, InputError, Item, decode, documents
from arc_top.kube.untrusted import read_limited as _read_limited

STDIN = "-"
EVENTS_GROUP = "events.k8s.io"
# (API group, kind) → (model kind key, API kind as the projections name it).
KINDS: dict[tuple[str, str], tuple[str, str]] = {
    (res.group, res.kind): (res.key, res.kind)
    for res in (apis.SCALE_SETS, apis.RUNNER_SETS, apis.RUNNERS, apis.LISTENERS, apis.PODS, apis.VOLUMES,
                apis.EVENTS, apis.SECRETS, apis.SERVICE_ACCOUNTS, apis.NAMESPACES, apis.STORAGE_CLASSES,
                apis.NETWORK_POLICIES, apis.ROLES, apis.CLUSTER_ROLES, apis.ROLE_BINDINGS, apis.CLUSTER_ROLE_BINDINGS)
}
KINDS[(EVENTS_GROUP, "Event")] = (model.EVENTS, "Event")
ABSENT = "absent"
_CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
A_LOG_TAILS = "arc-top.dev/log-tails"     # kube.dump writes these (on a pod; on the List)
A_DUMPED_AT = "arc-top.dev/dumped-at"
A_KINDS = "arc-top.dev/kinds"
A_PROBES = "arc-top.dev/github-probes"
MAX_PROBES = 10_000
MAX_TAILS_PER_POD = 16
MAX_OBJECTS = 200_000         # objects kept from all the files (a big cluster's saved ARC objects: a few 10,000s)
# Log tails written by hand on a saved pod (`arc-top dump` writes A_LOG_TAILS, JSON with the tailer's facts): annotation
# `arc-top.io/log.<container>` holds the tail of the
# container's current log, `arc-top.io/log-previous.<container>` that of its previous instance, lines separated by
# newlines. Bounded like the live tails (kube/logtail.py): the last LOG_LINES lines of at most LOG_LINE characters.
LOG_ANNOTATION = "arc-top.io/log."
LOG_PREVIOUS_ANNOTATION = "arc-top.io/log-previous."
LOG_LINES = 200
LOG_LINE = 4096
MAX_LOG_TAILS = 2000


class OfflineError(Exception):
    """A file that cannot be used; str() is one line naming the file."""


@dataclass
class Offline:
    snapshot: Snapshot
    files: tuple[str, ...]
    saved_at: float = 0.0            # newest timestamp seen in the objects: about when they were saved
    counts: dict[str, int] = field(default_factory=dict)     # kind key → objects kept
    ignored: dict[str, int] = field(default_factory=dict)    # unknown "group/Kind" → objects skipped
    raw: list[dict] = field(default_factory=list)            # every object as saved (load_files(keep_raw=True))
    tails: list[LogTail] = field(default_factory=list)       # log tails saved on pods (A_LOG_TAILS, LOG_ANNOTATION)
    dumped: bool = False                                     # the files are an `arc-top dump`
    probes: list | None = None       # the GitHub probe results a dump recorded (probes.ProbeResult); None: none


def _group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def _read(path: str, already: int) -> tuple[str, str, int]:
    """(name, text, bytes read) of one file or standard input, within the limits (`already`: bytes read before)."""
    try:
        if path == STDIN:
            name = "standard input"
            stream = getattr(sys.stdin, "buffer", None)
            if stream is None:                      # a text stream (tests): its characters as UTF-8
                stream = io.BytesIO(sys.stdin.read(MAX_FILE_BYTES + 1).encode("utf-8", "surrogateescape"))
            data = _read_limited(stream, name, MAX_FILE_BYTES, already, MAX_TOTAL_BYTES)
        else:
            name = path
            try:
                with open(path, "rb") as f:
                    data = _read_limited(f, name, MAX_FILE_BYTES, already, MAX_TOTAL_BYTES)
            except FileNotFoundError:
                raise OfflineError(f"{path} does not exist: check the --from path") from None
            except IsADirectoryError:
                raise OfflineError(f"{path} is a directory: pass the files of kubectl get … -o yaml") from None
            except OSError as exc:
                raise OfflineError(f"cannot read {path} ({exc.strerror or exc}): check its permissions") from None
        return name, decode(data, name), len(data)
    except InputError as exc:
        raise OfflineError(str(exc)) from None


def _file_objects(text: str, name: str, lists: list[dict] | None = None) -> Iterator[tuple[str, str, dict]]:
    """(group, kind, object) of every object of one file. The items of a List come as the parser hands them out
    (kubectl writes the List's kind after them): an item with its own kind and apiVersion is used at once, one
    without waits for the end of its List."""
    pending: list[tuple[int, dict]] = []
    pending_values = count = 0
    for unit in documents(text, name):
        if isinstance(unit, Item):
            item = _item(unit.value, name, unit.index, unit.doc)
            if as_str(item.get("kind")) and as_str(item.get("apiVersion")):
                yield _group(as_str(item["apiVersion"])), as_str(item["kind"]), item
                continue
            pending_values += unit.values
            if pending_values > MAX_VALUES:
                raise OfflineError(f"{name}: document {unit.doc} holds more than {MAX_VALUES:,} values in items "
                                   "without a kind: save the file with kubectl get … -o yaml")
            pending.append((unit.index, item))
            continue
        count += 1
        if lists is not None and isinstance(unit.value, dict) and unit.value.get("kind") == "List":
            lists.append(as_dict(unit.value.get("metadata")))
        yield from _objects(unit.value, name, unit.index, pending if unit.streamed else None)
        pending, pending_values = [], 0
    if count == 0 or not text.strip():
        raise OfflineError(f"{name} is empty: save the output of kubectl get … -o yaml")


def _item(item: object, name: str, n: int, index: int) -> dict:
    if not isinstance(item, dict):
        raise OfflineError(f"{name}: item {n} of document {index} is not a Kubernetes object "
                           f"({type(item).__name__})")
    return item


def _objects(doc: object, name: str, index: int, streamed: list[tuple[int, dict]] | None = None
             ) -> Iterator[tuple[str, str, dict]]:
    """(group, kind, object) for one document: a List, a typed *List, or one object. `streamed`: the document's
    items were handed out already; these are the ones still to place (they had no kind or apiVersion)."""
    if doc is None:
        return
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str) or not doc.get("kind"):
        what = type(doc).__name__ if not isinstance(doc, dict) else "a mapping without kind"
        raise OfflineError(f"{name}: document {index} is not a Kubernetes object ({what}): save the file with "
                           "kubectl get … -o yaml")
    kind, api_version = doc["kind"], as_str(doc.get("apiVersion"))
    items = doc.get("items")
    if streamed is not None and not kind.endswith("List"):
        raise OfflineError(f"{name}: document {index} ({kind}) has a top-level items list but is not a List: save "
                           "the file with kubectl get … -o yaml")
    if kind == "List" or (kind.endswith("List") and isinstance(items, list)):
        if not isinstance(items, list):
            raise OfflineError(f"{name}: document {index} is a {kind} without items: save the file with "
                               "kubectl get … -o yaml")
        item_kind = kind[:-4] if kind != "List" else ""
        numbered = streamed if streamed is not None else enumerate(items, 1)
        for n, item in numbered:
            item = _item(item, name, n, index)
            ikind = as_str(item.get("kind")) or item_kind
            if not ikind:
                raise OfflineError(f"{name}: item {n} of document {index} has no kind: save the file with "
                                   "kubectl get … -o yaml")
            yield _group(as_str(item.get("apiVersion")) or api_version), ikind, item
        if item_kind:
            yield _group(api_version), item_kind, {}          # marks the kind present even when the list is empty
        return
    if not api_version:
        raise OfflineError(f"{name}: document {index} ({kind}) has no apiVersion: save the file with "
                           "kubectl get … -o yaml")
    yield _group(api_version), kind, doc


def _normalise_event(raw: dict) -> dict:
    """events.k8s.io/v1 field names → the core/v1 ones the projection and the filter read."""
    out = dict(raw)
    for new, old in (("regarding", "involvedObject"), ("note", "message"), ("deprecatedCount", "count"),
                     ("deprecatedFirstTimestamp", "firstTimestamp"), ("deprecatedLastTimestamp", "lastTimestamp"),
                     ("deprecatedSource", "source")):
        if new in raw and old not in raw:
            out[old] = raw[new]
    return out


def _event_wanted(raw: dict) -> bool:
    """The Monitor watches Warning events and Normal events of ARC objects."""
    if raw.get("type") == "Warning":
        return True
    involved = as_dict(raw.get("involvedObject"))
    return raw.get("type") == "Normal" and _group(as_str(involved.get("apiVersion"))) == apis.ARC_GROUP


_TIMES = ("creationTimestamp", "lastTimestamp", "eventTime", "firstTimestamp", "startedAt", "finishedAt",
          "lastTransitionTime", "time")


def _newest(raw: dict, depth: int = 0) -> float:
    """The newest RFC 3339 stamp in the object's metadata/status (a cheap, bounded walk)."""
    best = 0.0
    for key, value in raw.items():
        if key in _TIMES and isinstance(value, str):
            best = max(best, epoch(value))
        elif depth < 5 and key in ("metadata", "status", "state", "lastState", "series") and isinstance(value, dict):
            best = max(best, _newest(value, depth + 1))
        elif depth < 5 and key in ("conditions", "containerStatuses", "initContainerStatuses", "managedFields"):
            for item in as_list(value):
                if isinstance(item, dict):
                    best = max(best, _newest(item, depth + 1))
    return best


class _Builder:
    def __init__(self) -> None:
        self.objects: dict[str, dict[str, object]] = {k: {} for k in model.KINDS}
        self.present: set[str] = set()
        self.ignored: dict[str, int] = {}
        self.controller_pods: list[dict] = []
        self.pod_namespaces: set[str] = set()
        self.hinted: set[str] = set()
        self.listener_tags: set[str] = set()
        self.crd_versions: set[str] = set()
        self.crd_fields: dict[str, tuple[tuple[str, str, str], ...]] = {}
        self.arc_api_versions: set[str] = set()
        self.legacy = False
        self.saved_at = 0.0
        self.kept = 0
        self.tails: list[LogTail] = []

    def add(self, group: str, kind: str, raw: dict) -> None:
        if group == apis.LEGACY_GROUP:
            self.legacy = True
        if (group, kind) == _CRD:
            self._crd(raw)
            return
        target = KINDS.get((group, kind))
        if target is None:
            if raw:
                label = f"{group}/{kind}" if group else kind
                self.ignored[label] = self.ignored.get(label, 0) + 1
            return
        key, api_kind = target
        self.present.add(key)
        if not raw:
            return
        self.saved_at = max(self.saved_at, _newest(raw))
        if group == apis.ARC_GROUP:
            self.arc_api_versions.add(as_str(raw.get("apiVersion")).rsplit("/", 1)[-1])
        if key == model.EVENTS:
            raw = _normalise_event(raw) if group == EVENTS_GROUP else raw
            if not _event_wanted(raw):
                return
        if key == model.PODS and A_LOG_TAILS in as_dict(as_dict(raw.get("metadata")).get("annotations")):
            raw = self._take_tails(raw)
        obj = project(key, raw, api_kind)
        if key == model.PODS:
            role = getattr(obj, "role", "other")
            if role == "other":
                return
            self.pod_namespaces.add(getattr(obj, "namespace", ""))
            if role == "controller":
                self.controller_pods.append(raw)
            self._log_tails(obj, raw)
        elif key == model.LISTENERS:
            self.hinted.add(getattr(obj, "namespace", ""))
            self.listener_tags.add(image_tag(getattr(obj, "image", "")))
        elif key == model.SCALE_SETS:
            self.hinted.add(as_str(as_dict(as_dict(raw.get("metadata")).get("annotations")).get(A_MANAGER_NAMESPACE)))
        self.objects[key][getattr(obj, "uid", "")] = obj
        self.kept += 1

    def _take_tails(self, raw: dict) -> dict:
        """The pod without the A_LOG_TAILS annotation; its tails (well-formed entries only) kept aside."""
        meta = dict(as_dict(raw.get("metadata")))
        annotations = dict(as_dict(meta.get("annotations")))
        text = annotations.pop(A_LOG_TAILS, "")
        meta["annotations"] = annotations
        raw = {**raw, "metadata": meta}
        try:
            entries = json.loads(text) if isinstance(text, str) else []
        except (ValueError, RecursionError):
            entries = []
        created = epoch(as_str(meta.get("creationTimestamp")))
        for entry in as_list(entries)[:MAX_TAILS_PER_POD]:
            entry = as_dict(entry)
            lines = tuple(line for line in as_list(entry.get("lines")) if isinstance(line, str))
            fetched = entry.get("fetched_at")
            self.tails.append(LogTail(pod_uid=as_str(meta.get("uid")), namespace=as_str(meta.get("namespace")),
                                      pod=as_str(meta.get("name")), container=as_str(entry.get("container")),
                                      previous=entry.get("previous") is True, lines=lines,
                                      fetched_at=float(fetched) if isinstance(fetched, (int, float)) else 0.0,
                                      pod_created=created, ended=entry.get("ended") is True))
        return raw

    def _log_tails(self, pod, raw: dict) -> None:
        """The log tails saved on a pod as annotations (LOG_ANNOTATION), as the live tailer hands them over."""
        notes = as_dict(as_dict(raw.get("metadata")).get("annotations"))
        for key, value in notes.items():
            if len(self.tails) >= MAX_LOG_TAILS or not isinstance(value, str):
                continue
            for prefix, previous in ((LOG_PREVIOUS_ANNOTATION, True), (LOG_ANNOTATION, False)):
                if isinstance(key, str) and key.startswith(prefix) and len(key) > len(prefix):
                    lines = tuple(line[:LOG_LINE] for line in value.splitlines()[-LOG_LINES:])
                    if lines:        # a log's last line says about when it was saved, too (when it has a stamp)
                        self.saved_at = max(self.saved_at, epoch(lines[-1].split("\t", 1)[0].split(" ", 1)[0]))
                    self.tails.append(LogTail(pod_uid=pod.uid, namespace=pod.namespace, pod=pod.name,
                                             container=key[len(prefix):], previous=previous, lines=lines,
                                             pod_created=pod.created))
                    break

    def _crd(self, raw: dict) -> None:
        spec = as_dict(raw.get("spec"))
        kind, fields = crd_fields(raw)
        if kind:
            self.crd_fields[kind] = fields
        if spec.get("group") == apis.LEGACY_GROUP:
            self.legacy = True
        elif spec.get("group") == apis.ARC_GROUP:
            for v in as_list(spec.get("versions")):
                v = as_dict(v)
                if v.get("served", True) and v.get("name"):
                    self.crd_versions.add(as_str(v["name"]))

    def arc(self, files: Sequence[str]) -> ArcInfo:
        controllers = tuple(sorted((controller_info(p) for p in self.controller_pods),
                                   key=lambda c: (c.namespace, c.name)))
        namespaces = {c.namespace for c in controllers} | self.hinted
        namespaces.discard("")
        crd_versions = tuple(sorted(self.crd_versions or self.arc_api_versions))
        problems = [f"offline: diagnosed from saved files ({', '.join(files)}), no live data"]
        listed = bool(controllers) or bool(namespaces & self.pod_namespaces)
        if not crd_versions:
            problems.append(f"the files hold no {apis.ARC_GROUP} objects or CRDs")
        if not controllers:
            where = ", ".join(sorted(namespaces)) or "unknown"
            problems.append("no ARC controller pod in the files (save the pods of the controller namespace too; "
                            f"controller namespace: {where})")
        if self.legacy:
            problems.append(f"legacy ARC ({apis.LEGACY_GROUP}, summerwind) objects are in the files: arc-top shows "
                            "runner scale sets only")
        versions = sorted({c.version for c in controllers if c.version}, key=version_key)
        if not versions:
            versions = sorted({t.lstrip("v") for t in self.listener_tags if VERSION_RE.match(t)}, key=version_key)
        charts = sorted({c.chart_version for c in controllers if c.chart_version}, key=version_key)
        if len(versions) > 1:
            problems.append(f"several ARC controller versions run at once: {', '.join(versions)}")
        return ArcInfo(controllers=controllers, controller_namespaces=tuple(sorted(namespaces)),
                       arc_version=versions[-1] if versions else "", chart_version=charts[-1] if charts else "",
                       legacy_summerwind=self.legacy, crd_versions=crd_versions, problems=tuple(problems),
                       controllers_listed=listed, crd_fields=tuple(f for k in sorted(self.crd_fields)
                                                                   for f in self.crd_fields[k]),
                       crd_kinds=tuple(sorted(self.crd_fields)),
                       crd_schema_problem="" if self.crd_fields else (
                           "the saved files hold no ARC CustomResourceDefinitions (add kubectl get crd -o yaml)"))


def load_files(paths: Sequence[str], keep_raw: bool = False) -> Offline:
    """Read every file (`-` = standard input, read once); raises OfflineError with one line. `keep_raw`: keep every
    object as saved too, whatever its kind (`arc-top fix --from` plans from them)."""
    if not paths:
        raise OfflineError("no files given: pass the output of kubectl get … -o yaml")
    builder = _Builder()
    lists: list[dict] = []
    kept_raw: list[dict] = []
    names: list[str] = []
    stdin_done = False
    total = 0
    for path in paths:
        if path == STDIN:
            if stdin_done:
                continue
            stdin_done = True
        name, text, size = _read(path, total)
        total += size
        names.append(path)
        try:
            for group, kind, raw in _file_objects(text, name, lists):
                builder.add(group, kind, raw)
                if keep_raw and raw:
                    raw.setdefault("kind", kind)
                    kept_raw.append(raw)
                if builder.kept > MAX_OBJECTS:
                    raise OfflineError(f"{name}: the files hold more than {MAX_OBJECTS:,} objects arc-top keeps: "
                                       "check fewer namespaces at once")
        except InputError as exc:
            raise OfflineError(str(exc)) from None
        del text
    dumped, probed = False, None
    for meta in lists:                      # an `arc-top dump`: when it was written, the kinds it listed, probes
        annotations = as_dict(meta.get("annotations"))
        if A_DUMPED_AT in annotations:
            dumped = True
            builder.saved_at = max(builder.saved_at, epoch(as_str(annotations[A_DUMPED_AT])))
            builder.present |= set(as_str(annotations.get(A_KINDS)).split(",")) & set(model.KINDS)
        if A_PROBES in annotations:
            probed = (probed or []) + probe_results(annotations[A_PROBES])
    offline = _finish(builder, names)
    offline.raw, offline.dumped, offline.probes = kept_raw, dumped, probed
    return offline


def _float(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _strs(value) -> tuple[str, ...]:
    return tuple(v for v in as_list(value) if isinstance(v, str))


def probe_results(text: object) -> list:
    """The probes.ProbeResult list a dump recorded (JSON of their fields); malformed entries and fields are left
    out (the file is untrusted)."""
    from arc_top.probes.model import ProbeProblem, ProbeResult

    try:
        entries = json.loads(text) if isinstance(text, str) else []
    except (ValueError, RecursionError):
        return []
    out = []
    for entry in as_list(entries)[:MAX_PROBES]:
        e = as_dict(entry)
        if not _text(e.get("namespace")) or not _text(e.get("secret")):
            continue
        problems = []
        for p in as_list(e.get("problems"))[:20]:
            p = as_dict(p)
            if _text(p.get("code")) and _text(p.get("kind")):
                problems.append(ProbeProblem(code=_text(p["code"]), kind=_text(p["kind"]),
                                             detail=_text(p.get("detail")), evidence=_strs(p.get("evidence")),
                                             value=_float(p.get("value")), severity=_text(p.get("severity"))))
        installation = e.get("installation_id")
        out.append(ProbeResult(
            **{k: _text(e.get(k)) for k in ("namespace", "secret", "config_url", "resource_version", "kind",
                                              "identity", "login", "level", "target", "api_base", "reason")},
            scale_sets=_strs(e.get("scale_sets")), notes=_strs(e.get("notes")),
            scopes=None if e.get("scopes") is None else _strs(e.get("scopes")),
            permissions=tuple((_text(pair[0]), _text(pair[1])) for pair in as_list(e.get("permissions"))
                              if isinstance(pair, list) and len(pair) == 2),
            installation_id=installation if type(installation) is int else None,
            expires_at=_float(e.get("expires_at")), clock_skew=_float(e.get("clock_skew")),
            probed_at=_float(e.get("probed_at")) or 0.0, elapsed=_float(e.get("elapsed")) or 0.0,
            evaluated=e.get("evaluated") is not False, problems=tuple(problems)))
    return out


def _finish(builder: _Builder, names: Sequence[str]) -> Offline:
    kinds = {}
    for key in model.KINDS:
        if key in builder.present:
            kinds[key] = KindState(key, "live", synced=True, message="from the saved files")
        else:
            kinds[key] = KindState(key, ABSENT, synced=False, message="not in the saved files")
    objects = MappingProxyType({k: MappingProxyType(v) for k, v in builder.objects.items()})
    snapshot = Snapshot(objects=objects, kinds=MappingProxyType(kinds), version=1, arc=builder.arc(names))
    return Offline(snapshot=snapshot, files=tuple(names), saved_at=builder.saved_at,
                   counts={k: len(v) for k, v in builder.objects.items()}, ignored=dict(builder.ignored),
                   tails=builder.tails)


def snapshot_from_objects(objects: Sequence[dict], name: str = "the cluster") -> Snapshot:
    """The Snapshot of API objects already in memory (each with kind and apiVersion), as load_files builds it."""
    builder = _Builder()
    for raw in objects:
        if isinstance(raw, dict):
            builder.add(_group(as_str(raw.get("apiVersion"))), as_str(raw.get("kind")), raw)
    return _finish(builder, [name]).snapshot


def snapshot_from_files(paths: Sequence[str]) -> Snapshot:
    """The Snapshot of saved kubectl output (see load_files)."""
    return load_files(paths).snapshot

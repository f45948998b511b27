"""What every row builder shares: one snapshot with lazily built lookups, the row cache, ages,
severities."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from rich.text import Text

from arc_top.kube.model import EVENTS, LISTENERS, PODS, RUNNERS, VOLUMES, Event, Listener, Pod, Runner, Snapshot, Volume
from arc_top.tui.findings import NO_FINDINGS, FindingsView
from arc_top.tui.rows.index import SnapshotIndex
from arc_top.widgets.text import (
    DEFAULT_PALETTE,
    ERROR,
    MUTED,
    OK,
    WARN,
    Palette,
    age,
    clean_line,
    safe_text,
    shared_text,
)

MODES = {"kubernetes": "kube", "kubernetes-novolume": "kube-novol", "dind": "dind", "default": "default"}
POD_ERRORS = {"Error", "Failed", "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName",
              "CreateContainerConfigError", "CreateContainerError", "RunContainerError", "OOMKilled", "Evicted",
              "ContainerStatusUnknown", "StartError", "Unknown"}
ACCESS = {"ReadWriteOnce": "RWO", "ReadWriteMany": "RWX", "ReadOnlyMany": "ROX", "ReadWriteOncePod": "RWOP"}
LISTENER_YOUNG = 120.0      # seconds: a listener pod this young that was recreated is the failing pattern


def age_text(created: float, now: float) -> Text:
    """The age cell as built (the table then keeps it moving, see ResourceTable.set_now)."""
    return shared_text(age(now - created) if created else "—")


def pod_severity(status: str) -> str:
    if status == "Running":
        return OK
    if status in ("Completed", "Succeeded", "Terminating"):
        return MUTED
    if status in POD_ERRORS or status.startswith("Init:") and status[5:] in POD_ERRORS:
        return ERROR
    return WARN


class RowCache:
    """Rows built from the very same objects (identity: model objects are immutable and replaced on
    change) and the same age strings are reused as they are; the table then skips them entirely.
    One cache per panel, kept across flushes, so a change to one runner rebuilds one runner's rows."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple, object]] = {}
        self._seen: set[str] = set()
        self.state: object = None          # a builder's own incremental state (the Runners panel's entries)

    def get(self, key: str, inputs: tuple, build: Callable[[], T]) -> T:
        self._seen.add(key)
        entry = self._entries.get(key)
        if entry is not None and len(entry[0]) == len(inputs) and all(
                a is b or (type(a) in _VALUE_TYPES and a == b) for a, b in zip(entry[0], inputs, strict=True)):
            return entry[1]
        value = build()
        self._entries[key] = (inputs, value)
        return value

    def get_equal(self, key: str, inputs: tuple, build: Callable[[], T]) -> T:
        """`get` for inputs compared by value (`==`): for values rebuilt as equal objects (a findings tuple, job
        figures, a trend's samples). Equal inputs are kept as given, so that the next comparison finds the very
        same objects (a tuple compares its items by identity first)."""
        self._seen.add(key)
        entry = self._entries.get(key)
        if entry is not None and entry[0] == inputs:
            self._entries[key] = (inputs, entry[1])
            return entry[1]
        value = build()
        self._entries[key] = (inputs, value)
        return value

    def peek(self, key: str) -> tuple[tuple, object] | None:
        """(inputs, value) as stored, for a caller's own quicker comparison."""
        return self._entries.get(key)

    def touch(self, key: str) -> None:
        """Keep an entry through the next prune without asking for it."""
        self._seen.add(key)

    def prune(self) -> None:
        """Forget entries not asked for since the last prune."""
        for key in set(self._entries) - self._seen:
            del self._entries[key]
        self._seen = set()

    def clear(self) -> None:
        self._entries.clear()
        self._seen = set()
        self.state = None


_VALUE_TYPES = (str, int, float, bool, type(None))
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Scope:
    """The scale set the Runners, Volumes and Events panels are narrowed to."""
    uid: str
    namespace: str
    name: str

    @property
    def label(self) -> str:
        return clean_line(f"{self.namespace}/{self.name}")


@dataclass
class Trends:
    """Running/pending samples per scale set uid, oldest first (the app samples; rows only read)."""
    running: Mapping[str, Sequence[int]] = field(default_factory=dict)
    pending: Mapping[str, Sequence[int]] = field(default_factory=dict)
    waiting: Mapping[str, Sequence[int]] = field(default_factory=dict)        # jobs waiting (listener figures)
    jobs: Mapping[tuple[str, str], object] = field(default_factory=dict)    # (ns, name) → kube.model.JobFigures


class RowContext:
    """One snapshot plus the lookups the row builders share; indexes are built on first use."""

    def __init__(self, snapshot: Snapshot, now: float, palette: Palette = DEFAULT_PALETTE,
                 scope: Scope | None = None, trends: Trends | None = None,
                 listener_pod_uids: Mapping[tuple[str, str], int] | None = None,
                 cache: RowCache | None = None, index: SnapshotIndex | None = None,
                 findings: FindingsView | None = None) -> None:
        self.snapshot = snapshot
        self.cache = cache if cache is not None else RowCache()
        self.now = now
        self.palette = palette
        self.scope = scope
        self.trends = trends or Trends()
        self.listener_pod_uids = listener_pod_uids or {}
        self.index = index
        if index is not None:
            # The index's lookups stand in for the cached properties below (an instance attribute wins).
            self.__dict__.update(index.lookups())
        if findings is not None:
            self.findings = findings
        elif index is None:
            self.findings = NO_FINDINGS      # (with an index: the index's, set by lookups())

    def of(self, kind: str) -> list:
        return list(self.snapshot.of(kind).values())

    @cached_property
    def pods_by_name(self) -> dict[tuple[str, str], Pod]:
        return {(p.namespace, p.name): p for p in self.of(PODS)}

    @cached_property
    def workflow_pods(self) -> dict[tuple[str, str], list[Pod]]:
        out: dict[tuple[str, str], list[Pod]] = {}
        for pod in self.of(PODS):
            if pod.role == "workflow" and pod.runner_pod:
                out.setdefault((pod.namespace, pod.runner_pod), []).append(pod)
        return out

    @cached_property
    def volumes_by_name(self) -> dict[tuple[str, str], Volume]:
        return {(v.namespace, v.name): v for v in self.of(VOLUMES)}

    @cached_property
    def runners_by_name(self) -> dict[tuple[str, str], Runner]:
        return {(r.namespace, r.name): r for r in self.of(RUNNERS)}

    @cached_property
    def runner_names(self) -> set[tuple[str, str]]:
        return {(r.namespace, r.name) for r in self.of(RUNNERS)}

    @cached_property
    def listeners(self) -> dict[tuple[str, str], list[Listener]]:
        out: dict[tuple[str, str], list[Listener]] = {}
        for listener in self.of(LISTENERS):
            out.setdefault((listener.scale_set_namespace, listener.scale_set_name), []).append(listener)
        return out

    @cached_property
    def listener_pods(self) -> dict[tuple[str, str], list[Pod]]:
        """Listener pods by the scale set they serve (their labels), or by their listener's name."""
        by_listener = {(lst.namespace, lst.name): key for key, items in self.listeners.items() for lst in items}
        out: dict[tuple[str, str], list[Pod]] = {}
        index = self.index
        # The index's listener pods (a few per scale set) rather than a walk of every pod, when it follows this
        # very snapshot.
        follows = index is not None and index.snapshot is self.snapshot
        pods = index.listener_pods_by_uid.values() if follows else self.of(PODS)
        for pod in pods:
            if pod.role != "listener":
                continue
            key = (pod.scale_set_namespace, pod.scale_set) if pod.scale_set else None
            key = key or by_listener.get((pod.namespace, pod.owner_name)) or by_listener.get((pod.namespace, pod.name))
            if key:
                out.setdefault(key, []).append(pod)
        return out

    @cached_property
    def warnings_by_object(self) -> dict[tuple[str, str, str], Event]:
        """The latest Warning event per (namespace, kind, name): the reason shown beside a broken row."""
        out: dict[tuple[str, str, str], Event] = {}
        for event in self.of(EVENTS):
            if event.type != "Warning":
                continue
            key = (event.object_namespace, event.object_kind, event.object_name)
            if key not in out or event.last_seen >= out[key].last_seen:
                out[key] = event
        return out

    @cached_property
    def pod_uids_in_events(self) -> dict[tuple[str, str], set[str]]:
        out: dict[tuple[str, str], set[str]] = {}
        for event in self.of(EVENTS):
            if event.object_kind == "Pod" and event.object_uid:
                out.setdefault((event.object_namespace, event.object_name), set()).add(event.object_uid)
        return out

    def in_scope(self, namespace: str, scale_set: str) -> bool:
        return self.scope is None or (namespace == self.scope.namespace and scale_set == self.scope.name)

    @cached_property
    def scoped_objects(self) -> set[tuple[str, str]] | None:
        """(namespace, name) of everything that belongs to the scope: the filter for volumes and events."""
        if self.scope is None:
            return None
        s = self.scope
        names = {(s.namespace, s.name)}
        for kind in ("runnersets", RUNNERS):
            names.update((o.namespace, o.name) for o in self.of(kind) if o.namespace == s.namespace
                         and o.scale_set == s.name)
        for pod in self.of(PODS):
            if pod.role in ("runner", "listener") and pod.scale_set == s.name and \
                    pod.scale_set_namespace in (s.namespace, ""):
                names.add((pod.namespace, pod.name))
        for listener in self.listeners.get((s.namespace, s.name), ()):
            names.add((listener.namespace, listener.name))
            names.update((p.namespace, p.name) for p in self.listener_pods.get((s.namespace, s.name), ()))
        runner_pods = {name for ns, name in names if ns == s.namespace}
        for pod in self.of(PODS):
            if pod.role == "workflow" and pod.namespace == s.namespace and pod.runner_pod in runner_pods:
                names.add((pod.namespace, pod.name))
        for volume in self.of(VOLUMES):
            if volume.namespace == s.namespace and (volume.owner_pod in runner_pods
                                                    or volume.name.removesuffix("-work") in runner_pods):
                names.add((volume.namespace, volume.name))
        return names

    def warning_for(self, namespace: str, kind: str, name: str) -> Text:
        event = self.warnings_by_object.get((namespace, kind, name))
        if event is None:
            return shared_text("")          # (most objects: no warning; cells are never changed in place)
        return safe_text(f"{event.reason}: {event.message}")

"""What every row builder shares: one snapshot with lazily built lookups, the row cache, ages,
severities."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from rich.text import Text

from kube.model import EVENTS, LISTENERS, PODS, RUNNERS, VOLUMES, Event, Listener, Pod, Snapshot, Volume
from widgets.text import DEFAULT_PALETTE, ERROR, MUTED, OK, WARN, Palette, clean_line, safe_text

MODES = {"kubernetes": "kube", "kubernetes-novolume": "kube-novol", "dind": "dind", "default": "default"}
POD_ERRORS = {"Error", "Failed", "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName",
              "CreateContainerConfigError", "CreateContainerError", "RunContainerError", "OOMKilled", "Evicted",
              "ContainerStatusUnknown", "StartError", "Unknown"}
ACCESS = {"ReadWriteOnce": "RWO", "ReadWriteMany": "RWX", "ReadOnlyMany": "ROX", "ReadWriteOncePod": "RWOP"}
LISTENER_YOUNG = 120.0      # seconds: a listener pod this young that was recreated is the failing pattern


def age(seconds: float) -> str:
    """kubectl-like age: 45s, 12m, 5h, 3d."""
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def age_text(created: float, now: float) -> Text:
    return Text(age(now - created) if created else "—", end="")


def age_changes_at(created: float, now: float) -> float:
    """When `age(now - created)` next shows a different string (inf for no age)."""
    if not created:
        return math.inf
    seconds = max(0.0, now - created)
    for limit, unit in ((120, 1), (7200, 60), (172800, 3600)):
        if seconds < limit:
            return created + (seconds // unit + 1) * unit
    return created + (seconds // 86400 + 1) * 86400


def with_ages(ctx: RowContext, key: str, rows: list, created: Sequence[float] | Callable[[], Sequence[float]],
              column: int) -> list:
    """`rows` (cached without their ages) with the age cell at `column` set from `created`, one per row.
    Rows are cached apart from their ages, so ages moving on costs one cell per row, not a rebuild."""
    cache = ctx.cache
    age_key = key + "\x00age"
    cache.touch(age_key)

    def aged() -> tuple[list, float]:
        times = created() if callable(created) else created
        ages = tuple(age(ctx.now - c) if c else "—" for c in times)
        changes = min((age_changes_at(c, ctx.now) for c in times), default=math.inf)

        def patch() -> list:
            out = []
            for row, text in zip(rows, ages, strict=True):
                cells = list(row.cells)
                if cells[column].plain != text:
                    cells[column] = Text(text, end="")
                out.append(row._replace(cells=cells))
            return out

        return cache.get(age_key, (rows, *ages), patch), changes

    # The same rows (so the same objects and creation times) at the same clock: the same ages.
    now_key = key + "\x00now"
    entry = cache.peek(now_key)
    if entry is not None and entry[0][0] is rows and entry[0][1] == ctx.now:
        cache.touch(now_key)
        out, changes = entry[1]
    else:
        out, changes = cache.get(now_key, (rows, ctx.now), aged)
    ctx.note_age(changes)
    return out


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

    def get(self, key: str, inputs: tuple, build: Callable[[], T]) -> T:
        self._seen.add(key)
        entry = self._entries.get(key)
        if entry is not None and len(entry[0]) == len(inputs) and all(
                a is b or (type(a) in _VALUE_TYPES and a == b) for a, b in zip(entry[0], inputs, strict=True)):
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


class RowContext:
    """One snapshot plus the lookups the row builders share; indexes are built on first use."""

    def __init__(self, snapshot: Snapshot, now: float, palette: Palette = DEFAULT_PALETTE,
                 scope: Scope | None = None, trends: Trends | None = None,
                 listener_pod_uids: Mapping[tuple[str, str], int] | None = None,
                 cache: RowCache | None = None) -> None:
        self.snapshot = snapshot
        self.cache = cache if cache is not None else RowCache()
        self.now = now
        self.palette = palette
        self.scope = scope
        self.trends = trends or Trends()
        self.listener_pod_uids = listener_pod_uids or {}
        self.ages_change_at = math.inf     # the earliest time an age shown by the rows built here changes

    def note_age(self, changes_at: float) -> None:
        if changes_at < self.ages_change_at:
            self.ages_change_at = changes_at

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
        for pod in self.of(PODS):
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
            return Text("", end="")
        return safe_text(f"{event.reason}: {event.message}")

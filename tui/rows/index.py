"""The lookups the row builders share, kept up to date from change sets.

A RowContext built from a bare snapshot computes its lookups (pods by name, work volumes by name, the latest
warning per object…) by walking every object: fine for a test, too slow for a flush at 5,000 runners several
times a second. `SnapshotIndex` lives as long as the screen, applies each change set (O(changes)), and also
records which Runners-panel entries (a runner pod's name) and which Volumes-panel claims the changes touched, so
those panels rebuild only those. The latest check results (`set_findings`) live here too: a runner entry or a claim
whose objects' findings changed is rebuilt like one whose objects did. It also keeps the header's runner counts
(how many EphemeralRunners, how many of them pending, failed), so the header does not walk every runner either.
"""

from __future__ import annotations

from collections.abc import Iterable

from arc_top.kube.model import EVENTS, PODS, RUNNERS, VOLUMES, ChangeSet, Event, Pod, Runner, Snapshot, Volume
from arc_top.tui.findings import NO_FINDINGS, FindingsView

Name = tuple[str, str]                       # (namespace, name)
ObjectKey = tuple[str, str, str]             # (namespace, kind, name)
INDEXED = (RUNNERS, PODS, VOLUMES, EVENTS)
WORK_SUFFIX = "-work"
CLAIM = "PersistentVolumeClaim"             # the involved object kind of an event about a claim


def runner_pending(runner: Runner) -> bool:
    """The header counts this runner as pending."""
    return (runner.phase or "Pending") == "Pending" and not runner.deleting


def runner_failed(runner: Runner) -> bool:
    """The header counts this runner as failed."""
    return runner.phase == "Failed"


def _runner_of_volume(volume: Volume) -> Iterable[Name]:
    """The runner entries a PVC appears under: `<runner pod>-work`, or its owner pod."""
    if volume.name.endswith(WORK_SUFFIX):
        yield volume.namespace, volume.name[:-len(WORK_SUFFIX)]
    if volume.owner_pod:
        yield volume.namespace, volume.owner_pod


class SnapshotIndex:
    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None
        self.runners_by_name: dict[Name, Runner] = {}
        self.pods_by_name: dict[Name, Pod] = {}
        self.workflow_pods: dict[Name, list[Pod]] = {}          # runner pod name -> its workflow pods
        self.volumes_by_name: dict[Name, Volume] = {}
        self.warnings_by_object: dict[ObjectKey, Event] = {}     # the latest Warning per object
        self._workflow: dict[Name, dict[str, Pod]] = {}
        self._warnings: dict[ObjectKey, dict[str, Event]] = {}
        self._indexed: dict[str, dict[str, object]] = {kind: {} for kind in INDEXED}   # what each uid was indexed as
        # Runners-panel entries (runner pod names) to rebuild, until the panel takes them.
        self._dirty: set[Name] = set()
        self._full = True
        # Volumes-panel claims to rebuild, until the panel takes them: by uid (the claim or its findings changed)
        # and by name (a warning about it came or went).
        self._volumes_dirty: set[str] = set()
        self._volumes_named: set[Name] = set()
        self._volumes_full = True
        # Listener pods by uid, in the snapshot's order (a few per scale set: the Scale sets rows read them).
        self.listener_pods_by_uid: dict[str, Pod] = {}
        self._pending = 0                    # EphemeralRunners the header counts as pending…
        self._failed = 0                     # …and as failed
        self.findings: FindingsView = NO_FINDINGS

    @classmethod
    def of(cls, snapshot: Snapshot) -> SnapshotIndex:
        index = cls()
        index.update(snapshot, None)
        return index

    @property
    def runner_names(self):
        return self.runners_by_name.keys()

    def lookups(self) -> dict[str, object]:
        """The RowContext attributes this index provides (same names, same shapes)."""
        return {"runners_by_name": self.runners_by_name, "runner_names": self.runner_names,
                "pods_by_name": self.pods_by_name, "workflow_pods": self.workflow_pods,
                "volumes_by_name": self.volumes_by_name, "warnings_by_object": self.warnings_by_object,
                "findings": self.findings}

    def take_runner_changes(self) -> tuple[bool, set[Name]]:
        """(rebuild everything?, the runner entries to rebuild) since the last call."""
        full, dirty = self._full, self._dirty
        self._full, self._dirty = False, set()
        return full, dirty

    def take_volume_changes(self) -> tuple[bool, set[str], set[Name]]:
        """(rebuild everything?, claim uids, claim (namespace, name)s to rebuild) since the last call."""
        full, uids, names = self._volumes_full, self._volumes_dirty, self._volumes_named
        self._volumes_full, self._volumes_dirty, self._volumes_named = False, set(), set()
        return full, uids, names

    def runner_counts(self) -> tuple[int, int, int]:
        """(EphemeralRunners, pending ones, failed ones) in the snapshot last given, as the header counts them."""
        return len(self._indexed[RUNNERS]), self._pending, self._failed

    def set_findings(self, view: FindingsView) -> None:
        """New check results: the runner entries and claims showing a subject whose findings changed are to be
        rebuilt."""
        previous, self.findings = self.findings, view
        volumes = self._indexed[VOLUMES]
        for uid in view.changed_uids(previous):
            self._dirty_for_uid(uid)
            if uid in volumes:
                self._volumes_dirty.add(uid)

    def _dirty_for_uid(self, uid: str) -> None:
        """The runner entry a runner, runner pod, workflow pod or work volume (by uid) appears in."""
        runner = self._indexed[RUNNERS].get(uid)
        if runner is not None:
            self._dirty.add((runner.namespace, runner.name))
        pod = self._indexed[PODS].get(uid)
        if pod is not None:
            self._dirty.add((pod.namespace, pod.name))
            if pod.role == "workflow" and pod.runner_pod:
                self._dirty.add((pod.namespace, pod.runner_pod))
        volume = self._indexed[VOLUMES].get(uid)
        if volume is not None:
            self._dirty.update(_runner_of_volume(volume))

    # ---------------------------------------------------------------- updating
    def update(self, snapshot: Snapshot, changes: ChangeSet | None) -> None:
        """Follow `snapshot`. `changes` lists what changed since the snapshot given last time (None: unknown,
        so everything is indexed again unless the snapshot is the very same version)."""
        previous, self.snapshot = self.snapshot, snapshot
        if changes is None:
            if previous is not None and previous.version == snapshot.version:
                return
            self._rebuild(snapshot)
            return
        if previous is None:
            self._rebuild(snapshot)
            return
        for kind in INDEXED:
            if kind in changes.relisted:
                # A relist (a small kind's first list, another source of pods listing, a list again after its watch
                # expired): what differs from what is indexed, by identity. A rebuild made every runner's rows
                # again, at 20,000 runners, for an empty list of events.
                current, indexed = snapshot.of(kind), self._indexed[kind]
                for uid in [uid for uid in indexed if uid not in current]:
                    self._apply(kind, uid, None)
                for uid, obj in current.items():
                    if indexed.get(uid) is not obj:
                        self._apply(kind, uid, obj)
                continue
            uids = changes.changed.get(kind)
            if uids:
                current = snapshot.of(kind)
                for uid in uids:
                    self._apply(kind, uid, current.get(uid))

    def _rebuild(self, snapshot: Snapshot) -> None:
        for attr in (self.runners_by_name, self.pods_by_name, self.workflow_pods, self.volumes_by_name,
                     self.warnings_by_object, self._workflow, self._warnings, self.listener_pods_by_uid):
            attr.clear()
        self._pending = self._failed = 0
        for kind in INDEXED:
            self._indexed[kind] = {}
            for uid, obj in snapshot.of(kind).items():
                self._add(kind, uid, obj, track=False)
                if kind == PODS and obj.role == "listener":
                    self.listener_pods_by_uid[uid] = obj
        for key in self._workflow:
            self._refresh_workflow(key)
        for key in self._warnings:
            self._refresh_warning(key)
        self._full = True
        self._dirty.clear()
        self._volumes_full = True
        self._volumes_dirty.clear()
        self._volumes_named.clear()

    def _apply(self, kind: str, uid: str, obj: object | None) -> None:
        old = self._indexed[kind].get(uid)
        if old is obj:
            return
        if old is not None:
            self._remove(kind, uid, old)
        if obj is not None:
            self._add(kind, uid, obj, track=True)
        if kind == PODS:
            if obj is not None and obj.role == "listener":
                self.listener_pods_by_uid[uid] = obj          # (a changed pod keeps its place, as in the snapshot)
            else:
                self.listener_pods_by_uid.pop(uid, None)

    def _add(self, kind: str, uid: str, obj, track: bool) -> None:
        self._indexed[kind][uid] = obj
        dirty = self._dirty
        if kind == RUNNERS:
            name = (obj.namespace, obj.name)
            self.runners_by_name[name] = obj
            dirty.add(name)
            self._pending += runner_pending(obj)
            self._failed += runner_failed(obj)
        elif kind == PODS:
            name = (obj.namespace, obj.name)
            self.pods_by_name[name] = obj
            if obj.role == "workflow" and obj.runner_pod:
                key = (obj.namespace, obj.runner_pod)
                self._workflow.setdefault(key, {})[uid] = obj
                if track:
                    self._refresh_workflow(key)
                dirty.add(key)
            dirty.add(name)
        elif kind == VOLUMES:
            self.volumes_by_name[(obj.namespace, obj.name)] = obj
            dirty.update(_runner_of_volume(obj))
            self._volumes_dirty.add(uid)
        elif kind == EVENTS and obj.type == "Warning":
            key = (obj.object_namespace, obj.object_kind, obj.object_name)
            self._warnings.setdefault(key, {})[uid] = obj
            if track:
                self._refresh_warning(key)
                self._dirty_for_object(key)

    def _remove(self, kind: str, uid: str, old) -> None:
        del self._indexed[kind][uid]
        dirty = self._dirty
        if kind == RUNNERS:
            name = (old.namespace, old.name)
            if self.runners_by_name.get(name) is old:
                del self.runners_by_name[name]
            dirty.add(name)
            self._pending -= runner_pending(old)
            self._failed -= runner_failed(old)
        elif kind == PODS:
            name = (old.namespace, old.name)
            if self.pods_by_name.get(name) is old:
                del self.pods_by_name[name]
            if old.role == "workflow" and old.runner_pod:
                key = (old.namespace, old.runner_pod)
                pods = self._workflow.get(key)
                if pods is not None:
                    pods.pop(uid, None)
                    self._refresh_workflow(key)
                dirty.add(key)
            dirty.add(name)
        elif kind == VOLUMES:
            name = (old.namespace, old.name)
            if self.volumes_by_name.get(name) is old:
                del self.volumes_by_name[name]
            dirty.update(_runner_of_volume(old))
            self._volumes_dirty.add(uid)
        elif kind == EVENTS and old.type == "Warning":
            key = (old.object_namespace, old.object_kind, old.object_name)
            events = self._warnings.get(key)
            if events is not None:
                events.pop(uid, None)
                self._refresh_warning(key)
            self._dirty_for_object(key)

    def _refresh_workflow(self, key: Name) -> None:
        pods = self._workflow.get(key)
        if pods:
            self.workflow_pods[key] = list(pods.values())
        else:
            self._workflow.pop(key, None)
            self.workflow_pods.pop(key, None)

    def _refresh_warning(self, key: ObjectKey) -> None:
        events = self._warnings.get(key)
        if not events:
            self._warnings.pop(key, None)
            self.warnings_by_object.pop(key, None)
            return
        latest = None
        for event in events.values():
            if latest is None or event.last_seen >= latest.last_seen:
                latest = event
        self.warnings_by_object[key] = latest

    def _dirty_for_object(self, key: ObjectKey) -> None:
        """A warning about a pod or a claim shows on its runner's rows (and a claim's, on its own row)."""
        namespace, kind, name = key
        if kind == "Pod":
            self._dirty.add((namespace, name))
            pod = self.pods_by_name.get((namespace, name))
            if pod is not None and pod.role == "workflow" and pod.runner_pod:
                self._dirty.add((namespace, pod.runner_pod))
        elif kind == CLAIM:
            self._volumes_named.add((namespace, name))
            self._dirty.add((namespace, name[:-len(WORK_SUFFIX)] if name.endswith(WORK_SUFFIX) else name))
            volume = self.volumes_by_name.get((namespace, name))
            if volume is not None and volume.owner_pod:
                self._dirty.add((namespace, volume.owner_pod))

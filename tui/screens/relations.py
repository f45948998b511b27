"""Where an object sits in ARC's ownership: its owner chain (pod → EphemeralRunner → EphemeralRunnerSet →
AutoscalingRunnerSet), the scale set's listener and its pod, and the object's children. Pure: from the live
object (its ownerReferences are the truth for the first hop) and the monitor's snapshot (for the rest)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from arc_top.kube.model import LISTENERS, PODS, RUNNER_SETS, RUNNERS, SCALE_SETS, SECRETS, VOLUMES, Snapshot
from arc_top.kube.objects import ObjectRef

OWNER, THIS, LISTENER, CHILD = "owner", "this", "listener", "child"
KIND_OF = {SCALE_SETS: "AutoscalingRunnerSet", RUNNER_SETS: "EphemeralRunnerSet", RUNNERS: "EphemeralRunner",
           LISTENERS: "AutoscalingListener", PODS: "Pod", VOLUMES: "PersistentVolumeClaim"}
MAX_HOPS = 8


@dataclass(frozen=True)
class Relation:
    role: str                 # owner | this | listener | child
    ref: ObjectRef
    note: str = ""            # a short state ("Running", "replicas 2 / 2 runners")


class RelationIndex:
    """The snapshot's ARC objects by uid and by (kind, namespace, name)."""

    def __init__(self, snapshot: Snapshot | None) -> None:
        self.by_uid: dict[str, tuple[str, object]] = {}
        self.by_name: dict[tuple[str, str, str], object] = {}
        self.secrets: set[tuple[str, str]] = set()
        if snapshot is None:
            return
        for key, kind in KIND_OF.items():
            for uid, obj in snapshot.of(key).items():
                self.by_uid[uid] = (kind, obj)
                self.by_name[(kind, obj.namespace, obj.name)] = obj
        for obj in snapshot.of(SECRETS).values():
            self.secrets.add((obj.namespace, obj.name))

    def of(self, kind: str) -> Iterable[object]:
        return (obj for (k, _, _), obj in self.by_name.items() if k == kind)

    def find(self, ref: ObjectRef) -> object | None:
        if ref.uid and ref.uid in self.by_uid:
            return self.by_uid[ref.uid][1]
        return self.by_name.get((ref.kind, ref.namespace, ref.name))


def ref_of(kind: str, obj) -> ObjectRef:
    return ObjectRef(kind, obj.namespace, obj.name, obj.uid)


def note_of(kind: str, obj) -> str:
    """A few words on the object's state, from the slim model."""
    if obj is None:
        return ""
    if kind == "AutoscalingRunnerSet":
        return f"{obj.phase or 'no phase'} · {obj.running} running, {obj.pending} pending, {obj.failed} failed"
    if kind == "EphemeralRunnerSet":
        return f"replicas {obj.replicas} · current {obj.current}"
    if kind == "EphemeralRunner":
        return " ".join(x for x in (obj.phase or "Pending", obj.reason) if x)
    if kind == "Pod":
        return obj.status or obj.phase
    if kind == "PersistentVolumeClaim":
        return " ".join(x for x in (obj.phase or "Pending", obj.storage_class) if x)
    return ""


def _first_owner(obj: dict | None) -> ObjectRef | None:
    meta = (obj or {}).get("metadata") if isinstance((obj or {}).get("metadata"), dict) else {}
    refs = [r for r in meta.get("ownerReferences") or () if isinstance(r, dict) and r.get("kind") and r.get("name")]
    if not refs:
        return None
    ref = next((r for r in refs if r.get("controller") is True), refs[0])
    return ObjectRef(str(ref["kind"]), str(meta.get("namespace") or ""), str(ref["name"]), str(ref.get("uid") or ""))


def _parent(index: RelationIndex, kind: str, obj) -> ObjectRef | None:
    """The next object up, from the slim model."""
    if kind == "EphemeralRunner" or kind == "EphemeralRunnerSet":
        found = index.by_uid.get(obj.owner_uid)
        if found is not None:
            return ref_of(*found)
        return None
    if kind == "Pod":
        if obj.role == "workflow" and obj.runner_pod:
            runner_pod = index.by_name.get(("Pod", obj.namespace, obj.runner_pod))
            return ref_of("Pod", runner_pod) if runner_pod else ObjectRef("Pod", obj.namespace, obj.runner_pod)
        if obj.owner_kind and obj.owner_name:
            return ObjectRef(obj.owner_kind, obj.namespace, obj.owner_name, obj.owner_uid)
        return None
    if kind == "PersistentVolumeClaim" and obj.owner_pod:
        pod = index.by_name.get(("Pod", obj.namespace, obj.owner_pod))
        return ref_of("Pod", pod) if pod else ObjectRef("Pod", obj.namespace, obj.owner_pod)
    if kind == "AutoscalingListener":
        ars = index.by_name.get(("AutoscalingRunnerSet", obj.scale_set_namespace, obj.scale_set_name))
        return ref_of("AutoscalingRunnerSet", ars) if ars else None
    return None


def owner_chain(ref: ObjectRef, live: dict | None, snapshot: Snapshot | None) -> list[ObjectRef]:
    """Owners, the nearest last: [ARS, ERS, ER] for a runner pod."""
    index = RelationIndex(snapshot)
    chain: list[ObjectRef] = []
    seen = {(ref.kind, ref.namespace, ref.name)}
    me = index.find(ref)
    parent = None
    if me is not None and ref.kind == "Pod" and me.role == "workflow":
        parent = _parent(index, ref.kind, me)          # the runner pod, by label (no owner reference)
    if parent is None:
        parent = _first_owner(live)
    if parent is None and me is not None:
        parent = _parent(index, ref.kind, me)
    while parent is not None and len(chain) < MAX_HOPS:
        key = (parent.kind, parent.namespace, parent.name)
        if key in seen:
            break
        seen.add(key)
        obj = index.find(parent)
        if obj is not None:
            parent = ref_of(parent.kind, obj)
        chain.append(parent)
        parent = _parent(index, parent.kind, obj) if obj is not None else None
    chain.reverse()
    return chain


def _scale_set_of(index: RelationIndex, ref: ObjectRef, chain: list[ObjectRef]):
    for item in [ref, *chain]:
        if item.kind == "AutoscalingRunnerSet":
            return index.find(item)
    me = index.find(ref)
    namespace = getattr(me, "scale_set_namespace", "") or getattr(me, "namespace", "")
    name = getattr(me, "scale_set", "") or getattr(me, "scale_set_name", "")
    if name:
        return index.by_name.get(("AutoscalingRunnerSet", namespace, name))
    return None


def listener_of(index: RelationIndex, scale_set) -> list[tuple[str, object]]:
    """The scale set's AutoscalingListener(s) and listener pod(s), newest pod first."""
    out: list[tuple[str, object]] = []
    if scale_set is None:
        return out
    for listener in index.of("AutoscalingListener"):
        if listener.scale_set_namespace == scale_set.namespace and listener.scale_set_name == scale_set.name:
            out.append(("AutoscalingListener", listener))
    pods = [p for p in index.of("Pod") if p.role == "listener" and p.scale_set == scale_set.name
            and (p.scale_set_namespace or scale_set.namespace) == scale_set.namespace]
    pods.sort(key=lambda p: (p.deleting, -p.created))
    out += [("Pod", p) for p in pods]
    return out


def listener_pod(snapshot: Snapshot | None, scale_set) -> ObjectRef | None:
    """The scale set's current listener pod, if the monitor sees one."""
    pods = [obj for kind, obj in listener_of(RelationIndex(snapshot), scale_set) if kind == "Pod"]
    return ref_of("Pod", pods[0]) if pods else None


def children(ref: ObjectRef, snapshot: Snapshot | None) -> list[tuple[str, object | None, ObjectRef]]:
    """(kind, slim object or None, ref) of what the object owns (or, for kube mode, what hangs off it)."""
    index = RelationIndex(snapshot)
    me = index.find(ref)
    out: list[tuple[str, object | None, ObjectRef]] = []
    uid = getattr(me, "uid", ref.uid)

    def add(kind: str, obj) -> None:
        out.append((kind, obj, ref_of(kind, obj)))

    if ref.kind == "AutoscalingRunnerSet":
        for ers in sorted((o for o in index.of("EphemeralRunnerSet") if o.owner_uid == uid), key=lambda o: o.name):
            add("EphemeralRunnerSet", ers)
    elif ref.kind == "EphemeralRunnerSet":
        for er in sorted((o for o in index.of("EphemeralRunner") if o.owner_uid == uid),
                         key=lambda o: (o.created, o.name)):
            add("EphemeralRunner", er)
    elif ref.kind == "EphemeralRunner":
        pod = index.by_name.get(("Pod", ref.namespace, ref.name))
        if pod is not None:
            add("Pod", pod)
        if (ref.namespace, ref.name) in index.secrets:
            out.append(("Secret", None, ObjectRef("Secret", ref.namespace, ref.name)))
    elif ref.kind == "Pod":
        claims = set(getattr(me, "claims", ()) or ()) | {f"{ref.name}-work"}
        for claim in sorted(claims):
            volume = index.by_name.get(("PersistentVolumeClaim", ref.namespace, claim))
            if volume is not None:
                add("PersistentVolumeClaim", volume)
        for wf in sorted((p for p in index.of("Pod") if p.namespace == ref.namespace and p.role == "workflow"
                          and p.runner_pod == ref.name), key=lambda p: p.name):
            add("Pod", wf)
    elif ref.kind == "AutoscalingListener":
        pod = index.by_name.get(("Pod", ref.namespace, ref.name))
        if pod is not None:
            add("Pod", pod)
        if (ref.namespace, f"{ref.name}-config") in index.secrets:
            out.append(("Secret", None, ObjectRef("Secret", ref.namespace, f"{ref.name}-config")))
    return out


def relations(ref: ObjectRef, live: dict | None, snapshot: Snapshot | None) -> list[Relation]:
    """Owners (top first), the object itself, the scale set's listener and its pod, then children."""
    index = RelationIndex(snapshot)
    chain = owner_chain(ref, live, snapshot)
    out = [Relation(OWNER, item, note_of(item.kind, index.find(item))) for item in chain]
    me = index.find(ref)
    out.append(Relation(THIS, ref if me is None else ref_of(ref.kind, me), note_of(ref.kind, me)))
    if ref.kind != "AutoscalingListener" and not (ref.kind == "Pod" and getattr(me, "role", "") == "listener"):
        for kind, obj in listener_of(index, _scale_set_of(index, ref, chain)):
            out.append(Relation(LISTENER, ref_of(kind, obj), note_of(kind, obj)))
    for kind, obj, child in children(ref, snapshot):
        out.append(Relation(CHILD, child, note_of(kind, obj)))
    return out


def log_target(ref: ObjectRef, snapshot: Snapshot | None) -> ObjectRef | None:
    """Whose log `l` shows for an object: a pod itself, an EphemeralRunner's pod, a scale set's (or a
    listener's) listener pod."""
    index = RelationIndex(snapshot)
    if ref.kind == "Pod":
        return ref
    if ref.kind == "EphemeralRunner":
        pod = index.by_name.get(("Pod", ref.namespace, ref.name))
        return ref_of("Pod", pod) if pod is not None else None
    if ref.kind == "AutoscalingRunnerSet":
        return listener_pod(snapshot, index.find(ref))
    if ref.kind == "AutoscalingListener":
        pod = index.by_name.get(("Pod", ref.namespace, ref.name))
        return ref_of("Pod", pod) if pod is not None else None
    return None

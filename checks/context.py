"""What every check reads: the snapshot, the clock, the log tails, and lookups built on first use.

Each lookup is a `cached_property`: a run over 5,000 runner pods builds each index once and only the indexes
some check asks for. Objects are the slim frozen ones of kube.model; raw sub-documents (templates, specs,
bodies) are read-only dicts read through core.data's defensive readers (`d`, `lst`, `s`, `dicts`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from arc_top.checks import logpatterns, prediction
from arc_top.checks.finding import LogTail, Subject
from arc_top.core.data import d, dicts, lst, s  # noqa: F401 (the checks import them from here)
from arc_top.kube import model

DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")
KIND_WORDS = {model.SECRETS: "secrets", model.STORAGE_CLASSES: "storage classes",
              model.NETWORK_POLICIES: "network policies", model.ROLES: "roles and cluster roles",
              model.ROLE_BINDINGS: "role bindings", model.NAMESPACES: "namespaces", model.PODS: "pods",
              model.VOLUMES: "persistent volume claims", model.EVENTS: "events", model.RUNNERS: "ephemeral runners",
              model.LISTENERS: "autoscaling listeners", model.SERVICE_ACCOUNTS: "service accounts",
              model.RUNNER_SETS: "ephemeral runner sets", model.SCALE_SETS: "autoscaling runner sets"}
CLUSTER_KINDS = (model.STORAGE_CLASSES, model.NAMESPACES)


def set_key(obj) -> str:
    return f"{obj.namespace}/{obj.name}"


def subject_of(kind: str, obj) -> Subject:
    return Subject(kind, getattr(obj, "namespace", ""), getattr(obj, "name", ""), getattr(obj, "uid", ""))


SCALE_SET_KIND = "AutoscalingRunnerSet"


@dataclass(frozen=True, slots=True)
class LogHits:
    """The failure lines of one log tail, with the pod, role and scale set they belong to."""
    tail: LogTail
    scale_set: model.ScaleSet | None
    role: str                      # runner | listener | controller | workflow | other
    pod: Subject
    matches: tuple[tuple[str, logpatterns.Pattern], ...]

    @property
    def key(self) -> str:
        return set_key(self.scale_set) if self.scale_set is not None else ""

    def lines(self, ids: Iterable[str] = (), codes: Iterable[str] = ()) -> list[str]:
        """Matching lines whose pattern id is in `ids` or whose code is in `codes`."""
        ids, codes = frozenset(ids), frozenset(codes)
        return [line for line, p in self.matches if p.id in ids or p.code in codes]


DEFAULT_JOBS_WAIT = 180.0          # seconds jobs may wait with no runner to take them before ARC408


class Context:
    def __init__(self, snapshot: model.Snapshot, now: float, logs: Sequence[LogTail] = (),
                 probes: Sequence | None = None, *, jobs: Mapping | None = None,
                 jobs_wait: float = DEFAULT_JOBS_WAIT):
        self.snapshot = snapshot
        self.now = float(now)
        self.logs = tuple(t for t in logs if isinstance(t, LogTail))
        self.probes = None if probes is None else tuple(probes)   # checks.credentials.ProbeResult (None: not run)
        # The listeners' job figures (kube.model.JobFigures by (namespace, name)); None: not read (saved files).
        self.jobs = None if jobs is None else {k: v for k, v in jobs.items() if isinstance(v, model.JobFigures)}
        self.jobs_wait = float(jobs_wait)

    # ---- generic ----------------------------------------------------------------------------------------
    def of(self, kind: str) -> Iterable:
        return self.snapshot.of(kind).values()

    def age(self, obj) -> float | None:
        created = getattr(obj, "created", 0.0) or 0.0
        return max(0.0, self.now - created) if created > 0 else None

    def older_than(self, obj, seconds: float) -> bool:
        age = self.age(obj)
        return age is not None and age > seconds

    def blocked(self, kind: str, namespace: str = "") -> str:
        """Why `kind` cannot be trusted in `namespace` ("" = it can): forbidden, not synced yet, not watched.
        A kind forbidden somewhere still counts as readable in a namespace where some of its objects arrived."""
        state = self.snapshot.kinds.get(kind) if isinstance(self.snapshot.kinds, Mapping) else None
        word = KIND_WORDS.get(kind, kind)
        where = f" in {namespace}" if namespace and kind not in CLUSTER_KINDS else ""
        if state is None:
            return f"need {word}{where}, which are not watched"
        if state.state in ("forbidden", "error"):
            if namespace and kind not in CLUSTER_KINDS and namespace in self.namespaces_with(kind):
                return ""
            if state.state == "forbidden":
                return f"need read access to {word}{where}"
            return f"need {word}{where}, which cannot be read ({state.message or 'error'})"
        if not state.synced:
            return f"wait for {word} to load"
        return ""

    def namespaces_with(self, kind: str) -> frozenset[str]:
        cache = self.__dict__.setdefault("_namespaces_with", {})
        found = cache.get(kind)
        if found is None:
            found = cache[kind] = frozenset(getattr(o, "namespace", "") for o in self.of(kind))
        return found

    # ---- scale sets -------------------------------------------------------------------------------------
    @cached_property
    def scale_sets(self) -> list[model.ScaleSet]:
        return sorted((o for o in self.of(model.SCALE_SETS) if isinstance(o, model.ScaleSet)),
                      key=lambda o: (o.namespace, o.name))

    @cached_property
    def scale_set_by_key(self) -> dict[tuple[str, str], model.ScaleSet]:
        return {(o.namespace, o.name): o for o in self.scale_sets}

    @cached_property
    def scale_set_by_uid(self) -> dict[str, model.ScaleSet]:
        return {o.uid: o for o in self.scale_sets}

    def ars_subject(self, ars: model.ScaleSet) -> Subject:
        return subject_of(SCALE_SET_KIND, ars)

    # ---- pods -------------------------------------------------------------------------------------------
    @cached_property
    def pods(self) -> list[model.Pod]:
        return [p for p in self.of(model.PODS) if isinstance(p, model.Pod)]

    @cached_property
    def pods_by_role(self) -> dict[str, list[model.Pod]]:
        out: dict[str, list[model.Pod]] = defaultdict(list)
        for p in self.pods:
            out[p.role].append(p)
        return out

    @cached_property
    def pod_by_uid(self) -> dict[str, model.Pod]:
        return {p.uid: p for p in self.pods}

    @cached_property
    def pod_by_name(self) -> dict[tuple[str, str], model.Pod]:
        return {(p.namespace, p.name): p for p in self.pods}

    @cached_property
    def runner_pods_by_set(self) -> dict[tuple[str, str], list[model.Pod]]:
        out: dict[tuple[str, str], list[model.Pod]] = defaultdict(list)
        for p in self.pods_by_role.get("runner", ()):
            out[(p.scale_set_namespace or p.namespace, p.scale_set)].append(p)
        return out

    @cached_property
    def listener_pods_by_set(self) -> dict[tuple[str, str], list[model.Pod]]:
        out: dict[tuple[str, str], list[model.Pod]] = defaultdict(list)
        for p in self.pods_by_role.get("listener", ()):
            out[(p.scale_set_namespace, p.scale_set)].append(p)
        return out

    @cached_property
    def workflow_pods(self) -> list[model.Pod]:
        return list(self.pods_by_role.get("workflow", ()))

    @cached_property
    def controller_pods(self) -> list[model.Pod]:
        return list(self.pods_by_role.get("controller", ()))

    def live_runner_pods(self, ars: model.ScaleSet) -> list[model.Pod]:
        """The scale set's runner pods that are not being deleted."""
        return [p for p in self.runner_pods_by_set.get((ars.namespace, ars.name), ()) if not p.deleting]

    def predicted_runner_pod(self, ars: model.ScaleSet) -> model.Pod | None:
        """The runner pod ARC would render from the scale set's template, when it has no live runner pod nor
        EphemeralRunner. None when one exists (that pod is the evidence) or when the pods of its namespace cannot
        be read (whether one exists is unknown: arc-top does not guess). Findings judged on it start with
        `prediction.PREDICTED`."""
        cache = self.__dict__.setdefault("_predicted", {})
        if ars.uid not in cache:
            unknown = bool(self.blocked(model.PODS, ars.namespace))
            # An EphemeralRunner whose pod is not made yet (churn) counts as live: its pod comes, so no prediction
            # line flickers in while a busy set replaces its runners.
            live = self.live_runner_pods(ars) or [er for er in self.runners_by_set.get((ars.namespace, ars.name), ())
                                                  if not er.deleting]
            cache[ars.uid] = None if unknown or live else prediction.predicted_pod(ars)
        return cache[ars.uid]

    def predicted_evidence(self, ars: model.ScaleSet, *, live_evidence: bool = False) -> list[str]:
        """`[PREDICTED]` for a finding judged on the template of a scale set that has no live runner pod and no
        other live evidence (log lines, claim events, rejections); else `[]`."""
        return [] if live_evidence or self.predicted_runner_pod(ars) is None else [prediction.PREDICTED]

    def scale_set_of_pod(self, pod: model.Pod) -> model.ScaleSet | None:
        """The ARS a runner, listener or workflow pod belongs to."""
        if pod.role == "workflow":
            runner = self.pod_by_name.get((pod.namespace, pod.runner_pod))
            return self.scale_set_of_pod(runner) if runner is not None else None
        return self.scale_set_by_key.get((pod.scale_set_namespace or pod.namespace, pod.scale_set))

    # ---- ARC objects ------------------------------------------------------------------------------------
    @cached_property
    def runner_sets_by_set(self) -> dict[tuple[str, str], list[model.RunnerSet]]:
        out: dict[tuple[str, str], list[model.RunnerSet]] = defaultdict(list)
        for rs in self.of(model.RUNNER_SETS):
            if not isinstance(rs, model.RunnerSet):
                continue
            ars = self.scale_set_by_uid.get(rs.owner_uid)
            out[(ars.namespace, ars.name) if ars else (rs.namespace, rs.scale_set)].append(rs)
        return out

    @cached_property
    def runners_by_set(self) -> dict[tuple[str, str], list[model.Runner]]:
        by_rs = {rs.uid: key for key, items in self.runner_sets_by_set.items() for rs in items}
        out: dict[tuple[str, str], list[model.Runner]] = defaultdict(list)
        for er in self.of(model.RUNNERS):
            if not isinstance(er, model.Runner):
                continue
            out[by_rs.get(er.owner_uid) or (er.namespace, er.scale_set)].append(er)
        return out

    @cached_property
    def runner_by_name(self) -> dict[tuple[str, str], model.Runner]:
        return {(er.namespace, er.name): er for items in self.runners_by_set.values() for er in items}

    @cached_property
    def listeners_by_set(self) -> dict[tuple[str, str], list[model.Listener]]:
        out: dict[tuple[str, str], list[model.Listener]] = defaultdict(list)
        for lst_ in self.of(model.LISTENERS):
            if isinstance(lst_, model.Listener):
                out[(lst_.scale_set_namespace, lst_.scale_set_name)].append(lst_)
        return out

    # ---- volumes and events -----------------------------------------------------------------------------
    @cached_property
    def volumes(self) -> list[model.Volume]:
        return [v for v in self.of(model.VOLUMES) if isinstance(v, model.Volume)]

    @cached_property
    def volumes_by_owner(self) -> dict[tuple[str, str], list[model.Volume]]:
        out: dict[tuple[str, str], list[model.Volume]] = defaultdict(list)
        for v in self.volumes:
            if v.owner_pod:
                out[(v.namespace, v.owner_pod)].append(v)
        return out

    @cached_property
    def events_by_object(self) -> dict[tuple[str, str, str], list[model.Event]]:
        out: dict[tuple[str, str, str], list[model.Event]] = defaultdict(list)
        for e in self.of(model.EVENTS):
            if isinstance(e, model.Event):
                out[(e.object_kind, e.object_namespace or e.namespace, e.object_name)].append(e)
        for events in out.values():
            events.sort(key=lambda e: e.last_seen, reverse=True)
        return out

    def events_for(self, kind: str, obj, uid: str = "") -> list[model.Event]:
        """Events about one object, newest first (by uid when the event names one)."""
        events = self.events_by_object.get((kind, obj.namespace, obj.name), ())
        uid = uid or getattr(obj, "uid", "")
        return [e for e in events if not e.object_uid or not uid or e.object_uid == uid]

    # ---- cluster objects (Named) ------------------------------------------------------------------------
    def _named(self, kind: str) -> list[model.Named]:
        return [o for o in self.of(kind) if isinstance(o, model.Named)]

    @cached_property
    def storage_classes(self) -> dict[str, model.Named]:
        return {o.name: o for o in self._named(model.STORAGE_CLASSES)}

    @cached_property
    def default_classes(self) -> list[model.Named]:
        return sorted((o for o in self.storage_classes.values()
                       if any(o.annotations.get(a) == "true" for a in DEFAULT_CLASS_ANNOTATIONS)),
                      key=lambda o: o.name)

    @cached_property
    def network_policies_by_ns(self) -> dict[str, list[model.Named]]:
        out: dict[str, list[model.Named]] = defaultdict(list)
        for o in self._named(model.NETWORK_POLICIES):
            out[o.namespace].append(o)
        for items in out.values():
            items.sort(key=lambda o: o.name)
        return out

    @cached_property
    def roles(self) -> dict[tuple[str, str, str], model.Named]:
        """(kind, namespace, name) → Role / ClusterRole (namespace "")."""
        return {(o.kind, o.namespace, o.name): o for o in self._named(model.ROLES)}

    @cached_property
    def bindings_by_ns(self) -> dict[str, list[model.Named]]:
        """RoleBindings by namespace; ClusterRoleBindings under ""."""
        out: dict[str, list[model.Named]] = defaultdict(list)
        for o in self._named(model.ROLE_BINDINGS):
            out["" if o.kind == "ClusterRoleBinding" else o.namespace].append(o)
        return out

    @cached_property
    def namespaces(self) -> dict[str, model.Named]:
        return {o.name: o for o in self._named(model.NAMESPACES)}

    @cached_property
    def secrets(self) -> dict[tuple[str, str], model.Named]:
        return {(o.namespace, o.name): o for o in self._named(model.SECRETS)}

    @cached_property
    def service_accounts(self) -> dict[tuple[str, str], model.Named]:
        return {(o.namespace, o.name): o for o in self._named(model.SERVICE_ACCOUNTS)}

    def namespace_subject(self, name: str) -> Subject:
        ns = self.namespaces.get(name)
        return Subject("Namespace", "", name, ns.uid if ns else "")

    # ---- logs ---------------------------------------------------------------------------------------------
    @cached_property
    def log_hits(self) -> list[LogHits]:
        """Every log tail with at least one known failure line, scanned once for all checks. A failure line of pod
        P stands until a pod of the same scale set and role created after P has answered it (`_answers`): the
        tailer keeps a gone pod's tail for that long, so the finding neither flickers while newer pods are still
        unread nor outlives a fix."""
        scanned = []
        for tail in self.logs:
            matches = logpatterns.scan_tail(tail.lines) if type(tail.lines) is tuple else tuple(
                logpatterns.scan(tail.lines))
            scanned.append((tail, matches))
        answers = self._answers(scanned)
        out = []
        for tail, matches in scanned:
            if not matches:
                continue
            ars, role = self.scale_set_of_log(tail)
            answered = answers.get((set_key(ars) if ars is not None else "", role, tail.container))
            created = self.log_created(tail)
            if answered and created:
                matches = tuple(m for m in matches if not any(
                    newer > created and m[1].id not in shown and (ended or (listening and m[1] in
                                                                             logpatterns.BEFORE_LISTENING))
                    for newer, shown, ended, listening in answered))
                if not matches:
                    continue
            pod = self.log_pod(tail)
            subject = subject_of("Pod", pod) if pod else Subject("Pod", tail.namespace, tail.pod, tail.pod_uid)
            out.append(LogHits(tail, ars, role, subject, matches))
        return out

    def _answers(self, scanned: list) -> dict[tuple[str, str, str], list[tuple[float, frozenset, bool, bool]]]:
        """(scale set key, role, container) → the tails that can answer an older pod's failure line: (pod created,
        failure ids shown, ended, listening). A tail read after its container ended (its last words) answers every
        failure it does not show; a runner's tail showing LISTENING answers the start-up failures it does not
        show. A tail read in mid-start answers nothing, nor does one whose pod's age is unknown."""
        out: dict[tuple[str, str, str], list[tuple[float, frozenset, bool, bool]]] = defaultdict(list)
        for tail, matches in scanned:
            if not tail.lines:
                continue
            ended = bool(getattr(tail, "ended", False))
            listening = not ended and type(tail.lines) is tuple and logpatterns.listening(tail.lines)
            created = self.log_created(tail) if ended or listening else 0.0
            if not created:
                continue
            ars, role = self.scale_set_of_log(tail)
            key = (set_key(ars) if ars is not None else "", role, tail.container)
            out[key].append((created, frozenset(p.id for _, p in matches), ended, listening))
        return out

    def log_created(self, tail: LogTail) -> float:
        """When the pod a log tail came from was created (epoch seconds; 0.0: unknown)."""
        created = getattr(tail, "pod_created", 0.0)
        if created:
            return created
        pod = self.pod_by_uid.get(tail.pod_uid)
        return pod.created if pod is not None else 0.0

    def log_pod(self, tail: LogTail) -> model.Pod | None:
        return self.pod_by_uid.get(tail.pod_uid) or self.pod_by_name.get((tail.namespace, tail.pod))

    def scale_set_of_log(self, tail: LogTail) -> tuple[model.ScaleSet | None, str]:
        """(ARS, role) of the pod a log tail came from; by name when the pod is already gone."""
        pod = self.log_pod(tail)
        if pod is not None:
            return self.scale_set_of_pod(pod), pod.role
        name = tail.pod
        best = None
        for ars in self.scale_sets:
            if name.startswith(ars.name + "-") and (best is None or len(ars.name) > len(best.name)):
                if ars.namespace == tail.namespace or name.endswith("-listener"):
                    best = ars
        role = "listener" if name.endswith("-listener") else ("runner" if "-runner-" in name else "other")
        if name.endswith("-workflow"):
            role = "workflow"
        return best, role

    # ---- the controller -----------------------------------------------------------------------------------
    @cached_property
    def arc(self):
        """kube.discovery.ArcInfo (duck-typed: checks never import the kube layer's client code), or None."""
        return self.snapshot.arc

    @cached_property
    def controller_versions(self) -> tuple[str, ...]:
        """Versions of the running controller(s): discovery's, else the controller pods' image tags."""
        versions: list[str] = []
        arc = self.arc
        for c in getattr(arc, "controllers", ()) or ():
            v = s(getattr(c, "version", ""))
            if v and v not in versions:
                versions.append(v)
        if not versions:
            for p in self.controller_pods:
                tag = image_tag(next((c.image for c in p.containers if c.name == "manager"),
                                     p.containers[0].image if p.containers else ""))
                if tag and tag.lstrip("v") not in versions:
                    versions.append(tag.lstrip("v"))
        if not versions and s(getattr(arc, "arc_version", "")):
            versions.append(s(arc.arc_version))
        return tuple(versions)

    @cached_property
    def controller_images(self) -> tuple[str, ...]:
        images: list[str] = []
        for c in getattr(self.arc, "controllers", ()) or ():
            if s(getattr(c, "image", "")) and c.image not in images:
                images.append(c.image)
        for p in self.controller_pods:
            for c in p.containers:
                if c.name == "manager" and c.image and c.image not in images:
                    images.append(c.image)
        return tuple(images)


def image_tag(image: str) -> str:
    """`repo/name:tag@sha256:…` → `tag` ("" without one)."""
    name = s(image).split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else ""


def version_tuple(version: str) -> tuple[int, ...] | None:
    parts = s(version).lstrip("v").split("-", 1)[0].split("+", 1)[0].split(".")
    try:
        nums = tuple(int(p) for p in parts[:3])
    except ValueError:
        return None
    return nums if len(nums) >= 2 else None

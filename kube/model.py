"""Slim, immutable projections of the objects arc-top watches.

Watch threads turn each API dict into one of these (a few hundred bytes instead of a 20 KB
client model); the UI and the checks only ever see these. Raw sub-documents that later layers
must inspect (a scale set's pod template, a network policy's spec, RBAC rules) are kept as
plain dicts and must be treated as read-only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field


class _Empty(Mapping):
    """The shared empty read-only map. Hashable: Python 3.11 dataclasses refuse an unhashable default
    (a MappingProxyType), so this stands in as the default of the Mapping fields below."""

    __slots__ = ()

    def __getitem__(self, key: object) -> str:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"


EMPTY: Mapping[str, str] = _Empty()

# Watched kinds, the keys of a Snapshot and of a ChangeSet.
SCALE_SETS = "scalesets"          # AutoscalingRunnerSet
RUNNER_SETS = "runnersets"        # EphemeralRunnerSet
RUNNERS = "runners"               # EphemeralRunner
LISTENERS = "listeners"           # AutoscalingListener
PODS = "pods"                     # runner, workflow, listener and controller pods
VOLUMES = "volumes"               # PersistentVolumeClaims (work volumes)
EVENTS = "events"
STORAGE_CLASSES = "storageclasses"
NETWORK_POLICIES = "networkpolicies"
SECRETS = "secrets"               # metadata and key names only, never values
SERVICE_ACCOUNTS = "serviceaccounts"
ROLES = "roles"                   # Roles and ClusterRoles (namespace "" for cluster roles)
ROLE_BINDINGS = "rolebindings"    # RoleBindings and ClusterRoleBindings
NAMESPACES = "namespaces"
KINDS = (SCALE_SETS, RUNNER_SETS, RUNNERS, LISTENERS, PODS, VOLUMES, EVENTS, STORAGE_CLASSES,
         NETWORK_POLICIES, SECRETS, SERVICE_ACCOUNTS, ROLES, ROLE_BINDINGS, NAMESPACES)


@dataclass(frozen=True, slots=True)
class ScaleSet:
    uid: str
    namespace: str
    name: str
    created: float                 # epoch seconds
    mode: str                      # kubernetes | kubernetes-novolume | dind | default
    min_runners: int
    max_runners: int | None        # None = unset (2147483647 in ARC)
    current: int
    pending: int
    running: int
    failed: int
    phase: str                     # status.phase (>=0.14), else status.state, else ""
    config_url: str
    config_secret: str
    runner_group: str
    version: str                   # label app.kubernetes.io/version
    labels: Mapping[str, str] = EMPTY
    annotations: Mapping[str, str] = EMPTY
    template: Mapping = EMPTY      # spec.template, raw (read-only)
    tls_configmap: str = ""        # spec.githubServerTLS.certificateFrom.configMapKeyRef: "name/key" ("" = none)
    proxy: str = ""                # spec.proxy: the https (else http) proxy URL, credentials left out ("" = none)
    spec_changed: float = 0.0      # newest managedFields time of a write to spec (epoch seconds; 0: unknown)


@dataclass(frozen=True, slots=True)
class RunnerSet:
    uid: str
    namespace: str
    name: str
    created: float
    owner_uid: str                 # the ScaleSet
    scale_set: str                 # label actions.github.com/scale-set-name
    replicas: int
    current: int
    pending: int
    running: int
    failed: int


@dataclass(frozen=True, slots=True)
class Runner:
    """An EphemeralRunner; its runner pod has the same name."""
    uid: str
    namespace: str
    name: str
    created: float
    owner_uid: str                 # the RunnerSet
    scale_set: str
    phase: str
    reason: str
    message: str
    runner_id: int | None
    job_repository: str
    job_workflow_ref: str
    workflow_run_id: str
    job_display_name: str
    failures: int                  # len(status.failures)
    deleting: bool


@dataclass(frozen=True, slots=True)
class Listener:
    uid: str
    namespace: str                 # the controller namespace
    name: str
    created: float
    scale_set_namespace: str
    scale_set_name: str
    image: str
    config_url: str


@dataclass(frozen=True, slots=True)
class ContainerState:
    name: str
    image: str
    init: bool
    ready: bool
    restarts: int
    state: str                     # waiting | running | terminated | ""
    reason: str                    # waiting/terminated reason (ContainerCreating, Error, Completed…)
    exit_code: int | None          # current or last termination
    message: str


@dataclass(frozen=True, slots=True)
class Pod:
    uid: str
    namespace: str
    name: str
    created: float
    role: str                      # runner | workflow | listener | controller | other
    scale_set: str                 # label actions.github.com/scale-set-name ("" for workflow pods)
    scale_set_namespace: str
    runner_pod: str                # workflow pods: label runner-pod
    owner_kind: str
    owner_name: str
    owner_uid: str
    phase: str
    status: str                    # what kubectl's STATUS column would show
    ready: int
    total: int
    restarts: int
    node: str
    deleting: bool
    service_account: str
    claims: tuple[str, ...]        # PVC names the pod uses (ephemeral volumes as <pod>-<volume>)
    containers: tuple[ContainerState, ...]
    labels: Mapping[str, str] = EMPTY
    spec: Mapping = EMPTY          # raw pod spec (read-only): security context, volumes, env


@dataclass(frozen=True, slots=True)
class Volume:
    """A PersistentVolumeClaim."""
    uid: str
    namespace: str
    name: str
    created: float
    phase: str                     # Pending | Bound | Lost
    storage_class: str
    access_modes: tuple[str, ...]
    requested: str                 # spec.resources.requests.storage
    capacity: str                  # status.capacity.storage
    volume_name: str
    owner_pod: str                 # owner reference of kind Pod, if any


@dataclass(frozen=True, slots=True)
class Event:
    uid: str
    namespace: str
    name: str
    type: str                      # Normal | Warning
    reason: str
    message: str
    object_kind: str
    object_namespace: str
    object_name: str
    object_uid: str
    count: int
    first_seen: float
    last_seen: float
    source: str


@dataclass(frozen=True, slots=True)
class Named:
    """Kinds where later layers need little more than identity plus a raw body: storage classes,
    network policies, service accounts, roles, bindings, namespaces, secrets (key names only)."""
    kind: str                      # StorageClass, NetworkPolicy, Secret, ServiceAccount, Role, ClusterRole…
    uid: str
    namespace: str
    name: str
    created: float
    labels: Mapping[str, str] = EMPTY
    annotations: Mapping[str, str] = EMPTY
    body: Mapping = EMPTY          # raw spec/rules/subjects/roleRef/provisioner…; secrets: {"type", "keys"}
    resource_version: str = ""


@dataclass(frozen=True, slots=True)
class KindState:
    """How one watched kind is doing: the header and the "no access" markers read this."""
    kind: str
    state: str                     # starting | syncing | live | reconnecting | forbidden | error
    attempt: int = 0               # reconnect attempt
    message: str = ""              # one line: why forbidden / last error
    last_event: float = 0.0        # monotonic time of the last event or bookmark
    synced: bool = False           # the first list has been applied
    oldest_event: float = 0.0      # the same for the kind's quietest watch (<= last_event; 0: unknown): how old
                                   # its data may be (a stalled watch shows here even while another is busy)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything known at one moment. Maps are read-only: uid -> object."""
    objects: Mapping[str, Mapping[str, object]]
    kinds: Mapping[str, KindState]
    version: int                   # increases with every applied change set
    arc: object = None             # kube.discovery.ArcInfo once discovery has run (None before)

    def of(self, kind: str) -> Mapping[str, object]:
        return self.objects.get(kind, EMPTY)


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What changed since the last drain, coalesced latest-wins: kind -> uid -> object (None = gone).
    `relisted` names kinds whose whole content was replaced (a re-list after 410 or a reconnect)."""
    changed: Mapping[str, Mapping[str, object | None]]
    relisted: frozenset[str] = field(default_factory=frozenset)
    states_changed: bool = False
    # Kinds that only heard from their server (bookmarks) while nobody drained for a while: nothing to rebuild,
    # but a snapshot taken now shows fresher KindState.last_event/oldest_event (the header's "data N s old").
    refreshed: frozenset[str] = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return bool(self.changed) or bool(self.relisted) or self.states_changed or bool(self.refreshed)


@dataclass(frozen=True, slots=True)
class LogTail:
    """The tail of one container's log, fetched by the kube layer within its budget (kube/logtail.py) and handed
    to the checks. `previous` = the previous (terminated) container instance."""
    pod_uid: str
    namespace: str
    pod: str
    container: str
    previous: bool
    lines: tuple[str, ...]
    fetched_at: float = 0.0
    pod_created: float = 0.0       # the pod's creation (epoch seconds; 0: unknown): which of two pods is newer
    ended: bool = False            # the container had ended when read: these are its last words, not a start


@dataclass(frozen=True, slots=True)
class JobFigures:
    """What a scale set's listener knows about its jobs and runners (kube/jobs.py reads it): from the listener's
    Prometheus metrics through the API server's pod proxy (`source` "metrics"), else from the statistics lines of
    its log ("log"), else nothing ("": `why` says what stood in the way). A figure None is not known."""
    namespace: str                 # the scale set
    name: str
    source: str = ""               # metrics | log | ""
    why: str = ""                  # why a source was not used (one line each, "; "-joined): metrics off, 403…
    assigned: int | None = None    # jobs assigned to the scale set (running ones included)
    running: int | None = None
    available: int | None = None   # log only: jobs offered, not yet acquired
    registered: int | None = None  # runners registered with GitHub
    busy: int | None = None
    idle: int | None = None
    desired: int | None = None     # metrics only
    started_total: int | None = None
    completed_total: int | None = None
    startup_p50: float | None = None   # seconds, from gha_job_startup_duration_seconds (metrics only)
    startup_p95: float | None = None
    startup_count: int | None = None
    waiting_since: float | None = None  # epoch seconds: since when jobs have waited without a break (None: none
                                        # waiting, or not known)
    read_at: float = 0.0           # epoch seconds of the figures (the statistics line's time for the log)

    @property
    def waiting(self) -> int | None:
        """Jobs assigned to the scale set that no runner has started yet."""
        if self.assigned is None or self.running is None:
            return None
        return max(0, self.assigned - self.running)

"""Hand-made model objects for the UI tests: a FakeMonitor and a deterministic `incident` snapshot
(several namespaces; a healthy kube-mode set, one churning, one with a Pending work volume, a dind
set with Failed InvalidPod runners, one whose expired token keeps its listener in Error)."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from arc_top.kube.model import (
    EVENTS,
    KINDS,
    LISTENERS,
    PODS,
    RUNNER_SETS,
    RUNNERS,
    SCALE_SETS,
    SECRETS,
    VOLUMES,
    ChangeSet,
    ContainerState,
    Event,
    KindState,
    Listener,
    Pod,
    Runner,
    RunnerSet,
    ScaleSet,
    Snapshot,
    Volume,
)

NOW = 1_760_000_000.0        # frozen wall clock (epoch seconds)
MONO = 50_000.0              # frozen monotonic clock
CONTROLLER_NS = "arc-systems"

KIND_OF = {ScaleSet: SCALE_SETS, RunnerSet: RUNNER_SETS, Runner: RUNNERS, Listener: LISTENERS, Pod: PODS,
           Volume: VOLUMES, Event: EVENTS}


@dataclass
class FakeConnection:
    context: str = "arc-sandbox"
    server: str = "https://127.0.0.1:6443"
    user: str = "admin"
    namespaces: tuple[str, ...] = ("arc-runners", "team-a", "team-b")


@dataclass
class FakeInfo:
    arc_version: str = "0.14.2"
    chart_version: str = "0.14.2"
    legacy_summerwind: bool = False
    controller_namespaces: tuple[str, ...] = (CONTROLLER_NS,)
    controllers: tuple = ()


@dataclass
class FakeMonitor:
    """In-memory stand-in for kube.monitor.Monitor: tests put/delete objects, it coalesces them into
    a ChangeSet latest-wins and calls on_change like a watch thread would."""
    objects: dict[str, dict[str, object]] = field(default_factory=dict)
    kinds: dict[str, KindState] = field(default_factory=dict)
    conn: FakeConnection = field(default_factory=FakeConnection)
    info: FakeInfo = field(default_factory=FakeInfo)
    on_change: Callable[[], None] | None = None
    started: bool = False
    stopped: bool = False
    version: int = 0
    _changed: dict[str, dict[str, object | None]] = field(default_factory=dict)
    _states_changed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def with_objects(cls, items: Iterable[object], kinds: dict[str, KindState] | None = None, **kw) -> FakeMonitor:
        monitor = cls(kinds=kinds if kinds is not None else live_kinds(), **kw)
        for item in items:
            monitor.objects.setdefault(KIND_OF[type(item)], {})[item.uid] = item
        return monitor

    def factory(self, on_change: Callable[[], None]) -> FakeMonitor:
        self.on_change = on_change
        return self

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def snapshot(self) -> Snapshot:
        with self._lock:
            return Snapshot({k: dict(v) for k, v in self.objects.items()}, dict(self.kinds), self.version)

    def drain(self) -> ChangeSet:
        with self._lock:
            changes = ChangeSet(self._changed, frozenset(), self._states_changed)
            self._changed, self._states_changed = {}, False
            return changes

    # -- test helpers, callable from any thread
    def put(self, *items: object) -> None:
        with self._lock:
            for item in items:
                kind = KIND_OF[type(item)]
                self.objects.setdefault(kind, {})[item.uid] = item
                self._changed.setdefault(kind, {})[item.uid] = item
            self.version += 1
        self._notify()

    def delete(self, kind: str, uid: str) -> None:
        with self._lock:
            self.objects.get(kind, {}).pop(uid, None)
            self._changed.setdefault(kind, {})[uid] = None
            self.version += 1
        self._notify()

    def set_state(self, kind: str, **changes) -> None:
        with self._lock:
            self.kinds[kind] = replace(self.kinds.get(kind, KindState(kind, "live", synced=True)), **changes)
            self._states_changed = True
            self.version += 1
        self._notify()

    def _notify(self) -> None:
        if self.on_change is not None:
            self.on_change()


def live_kinds(forbidden: Iterable[str] = (), last_event: float = MONO - 3) -> dict[str, KindState]:
    out = {}
    for kind in KINDS:
        if kind in forbidden:
            out[kind] = KindState(kind, "forbidden", message=f'{kind} is forbidden: User "viewer" cannot list '
                                                            f'resource "{kind}"', synced=False)
        else:
            out[kind] = KindState(kind, "live", last_event=last_event, synced=True)
    return out


# ------------------------------------------------------------------------------------------ builders
def scale_set(ns: str, name: str, mode: str = "kubernetes", lo: int = 1, hi: int | None = 5, current: int = 0,
              pending: int = 0, running: int = 0, failed: int = 0, age: float = 86400 * 3) -> ScaleSet:
    return ScaleSet(uid=f"ars-{ns}-{name}", namespace=ns, name=name, created=NOW - age, mode=mode, min_runners=lo,
                    max_runners=hi, current=current, pending=pending, running=running, failed=failed,
                    phase="Running", config_url="https://github.example.com/arc-org",
                    config_secret="arc-github-token", runner_group="Default", version="0.14.2")


def runner_set(ss: ScaleSet, suffix: str) -> RunnerSet:
    return RunnerSet(uid=f"ers-{ss.namespace}-{ss.name}", namespace=ss.namespace, name=f"{ss.name}-{suffix}",
                     created=ss.created + 2, owner_uid=ss.uid, scale_set=ss.name, replicas=ss.current,
                     current=ss.current, pending=ss.pending, running=ss.running, failed=ss.failed)


def runner(ns: str, ss: str, name: str, phase: str = "Running", reason: str = "", message: str = "",
           age: float = 600, job: str = "") -> Runner:
    return Runner(uid=f"er-{ns}-{name}", namespace=ns, name=name, created=NOW - age, owner_uid=f"ers-{ns}-{ss}",
                  scale_set=ss, phase=phase, reason=reason, message=message, runner_id=None, job_repository="",
                  job_workflow_ref="", workflow_run_id="", job_display_name=job, failures=0, deleting=False)


def pod(ns: str, name: str, role: str = "runner", ss: str = "", status: str = "Running", age: float = 600,
        node: str = "worker-1", ready: int | None = None, total: int = 1, restarts: int = 0, runner_pod: str = "",
        ss_ns: str = "", uid: str = "", message: str = "") -> Pod:
    phase = {"Running": "Running", "Completed": "Succeeded", "Error": "Failed"}.get(status, "Pending")
    if ready is None:
        ready = total if status == "Running" else 0
    container = ContainerState(name="runner", image="ghcr.io/actions/actions-runner:2.328.0", init=False,
                               ready=status == "Running", restarts=restarts,
                               state="running" if status == "Running" else "waiting", reason=status,
                               exit_code=None, message=message)
    return Pod(uid=uid or f"pod-{ns}-{name}", namespace=ns, name=name, created=NOW - age, role=role, scale_set=ss,
               scale_set_namespace=ss_ns or (ns if ss else ""), runner_pod=runner_pod, owner_kind="", owner_name="",
               owner_uid="", phase=phase, status=status, ready=ready, total=total, restarts=restarts,
               node=node if status not in ("Pending",) else "", deleting=False, service_account="", claims=(),
               containers=(container,))


def volume(ns: str, name: str, phase: str = "Bound", sc: str = "gp3", age: float = 600, owner: str = "") -> Volume:
    bound = phase == "Bound"
    return Volume(uid=f"pvc-{ns}-{name}", namespace=ns, name=name, created=NOW - age, phase=phase,
                  storage_class=sc, access_modes=("ReadWriteOnce",), requested="1Gi",
                  capacity="1Gi" if bound else "",
                  volume_name=f"pvc-{zlib.crc32(name.encode()):08x}-4c1e-9a7b-{len(name):012d}" if bound else "",
                  owner_pod=owner or name.removesuffix("-work"))


def event(ns: str, kind: str, name: str, reason: str, message: str, type_: str = "Normal", count: int = 1,
          ago: float = 30, uid: str = "", object_uid: str = "") -> Event:
    return Event(uid=uid or f"ev-{ns}-{name}-{reason}-{ago}-{count}", namespace=ns, name=f"{name}.{int(ago)}",
                 type=type_, reason=reason, message=message, object_kind=kind, object_namespace=ns, object_name=name,
                 object_uid=object_uid or f"obj-{ns}-{name}", count=count, first_seen=NOW - ago - 60,
                 last_seen=NOW - ago, source="")


def listener_for(ss: ScaleSet, suffix: str, status: str = "Running", age: float = 86400, uid: str = ""
                 ) -> tuple[Listener, Pod]:
    name = f"{ss.name}-{suffix}-listener"
    listener = Listener(uid=f"al-{name}", namespace=CONTROLLER_NS, name=name, created=NOW - 86400 * 3,
                        scale_set_namespace=ss.namespace, scale_set_name=ss.name,
                        image="ghcr.io/actions/gha-runner-scale-set-controller:0.14.2", config_url=ss.config_url)
    listener_pod = pod(CONTROLLER_NS, name, role="listener", ss=ss.name, ss_ns=ss.namespace, status=status,
                       age=age, node="worker-2", uid=uid)
    return listener, listener_pod


def kube_runner(ns: str, ss: str, name: str, *, status: str = "Running", phase: str = "Running", age: float = 600,
                node: str = "worker-1", workflow: str | None = None, pvc: str = "Bound", sc: str = "gp3",
                job: str = "") -> list[object]:
    """A kube-mode runner: the EphemeralRunner, its pod, its work volume and maybe a workflow pod."""
    items: list[object] = [runner(ns, ss, name, phase=phase, age=age, job=job),
                           pod(ns, name, ss=ss, status=status, age=age - 1, node=node),
                           volume(ns, f"{name}-work", phase=pvc, sc=sc, age=age - 1)]
    if workflow:
        items.append(pod(ns, f"{name[:54]}-workflow", role="workflow", status=workflow, age=age - 20, node=node,
                         runner_pod=name))
    return items


def incident_objects() -> list[object]:
    items: list[object] = []
    # arc-runners/arc-runner-set: healthy kube mode, jobs flowing.
    healthy = scale_set("arc-runners", "arc-runner-set", lo=2, hi=10, current=4, pending=1, running=3)
    items += [healthy, runner_set(healthy, "h8ff4"), *listener_for(healthy, "754b578d")]
    items += kube_runner("arc-runners", "arc-runner-set", "arc-runner-set-h8ff4-runner-668fh", age=1500,
                         workflow="Running", job="build (ubuntu)")
    items += kube_runner("arc-runners", "arc-runner-set", "arc-runner-set-h8ff4-runner-9bq2d", age=900,
                         node="worker-2", workflow="Running", job="test (3.12)")
    items += kube_runner("arc-runners", "arc-runner-set", "arc-runner-set-h8ff4-runner-kx7wz", age=420,
                         node="worker-3")
    items += kube_runner("arc-runners", "arc-runner-set", "arc-runner-set-h8ff4-runner-zt5mn", status="Pending",
                         phase="Pending", age=6, pvc="Pending", node="")

    # arc-runners/legacy-set: expired token, listener recreated again and again (F12).
    legacy = scale_set("arc-runners", "legacy-set", mode="default", lo=1, hi=3)
    listener, listener_pod = listener_for(legacy, "6c9f7d4b", status="Error", age=12, uid="lp-legacy-6")
    items += [legacy, runner_set(legacy, "b7k9m"), listener, listener_pod]
    for i in range(1, 7):
        items.append(event(CONTROLLER_NS, "Pod", listener_pod.name, "Started", "Started container listener",
                           ago=12 + (6 - i) * 25, object_uid=f"lp-legacy-{i}", uid=f"ev-legacy-start-{i}"))
    items.append(event(CONTROLLER_NS, "Pod", listener_pod.name, "BackOff",
                       'listener exited: getting runner registration token: POST '
                       'https://github.example.com/api/v3/orgs/arc-org/actions/runners/registration-token: '
                       '401 Bad credentials', type_="Warning", count=6, ago=10, object_uid="lp-legacy-6"))

    # team-a/team-a-kube: no fsGroup on a root-owned work volume: runner pods churn with exit 0 (F1).
    churn = scale_set("team-a", "team-a-kube", lo=2, hi=8, current=2, pending=2)
    items += [churn, runner_set(churn, "q7r2x"), *listener_for(churn, "5d8b9c7f")]
    items += kube_runner("team-a", "team-a-kube", "team-a-kube-q7r2x-runner-b4kpl", status="Completed",
                         phase="Running", age=9, node="worker-3")
    items += kube_runner("team-a", "team-a-kube", "team-a-kube-q7r2x-runner-wm9vd", status="ContainerCreating",
                         phase="Pending", age=3, node="worker-4")
    items.append(event("team-a", "EphemeralRunner", "team-a-kube-q7r2x-runner-b4kpl", "Created",
                       "Created ephemeral runner pod", count=1, ago=9))
    items.append(event("team-a", "EphemeralRunnerSet", "team-a-kube-q7r2x", "RunnerDeleted",
                       "Ephemeral runner finished with exit code 0, deleting it", count=37, ago=4))

    # team-a/team-a-custom-sa: a runner account without the kube-mode Role (F4).
    custom = scale_set("team-a", "team-a-custom-sa", lo=1, hi=4, current=1, running=1)
    items += [custom, runner_set(custom, "m2c8t"), *listener_for(custom, "7a1e0c3d")]
    items += kube_runner("team-a", "team-a-custom-sa", "team-a-custom-sa-m2c8t-runner-p9x4r", age=3000,
                         node="worker-4", job="deploy")

    # team-b/team-b-dind: dind in a baseline namespace: PodSecurity rejects the pods (F9/F10).
    dind = scale_set("team-b", "team-b-dind", mode="dind", lo=3, hi=6, current=3, failed=3)
    items += [dind, runner_set(dind, "x7k2p"), *listener_for(dind, "3f2a9e61")]
    message = ('Failed to create the pod: pods "{name}" is forbidden: violates PodSecurity "baseline:latest": '
               'privileged (container "dind" must not set securityContext.privileged=true)')
    for i, suffix in enumerate(("4vx8n", "c2lq7", "rz6hd")):
        name = f"team-b-dind-x7k2p-runner-{suffix}"
        items.append(runner("team-b", "team-b-dind", name, phase="Failed", reason="InvalidPod",
                            message=message.format(name=name), age=1800 - i * 60))
        items.append(event("team-b", "EphemeralRunner", name, "InvalidPod", message.format(name=name),
                           type_="Warning", count=1, ago=1790 - i * 60))

    # team-b/team-b-ssd: storage class fast-ssd does not exist: work volumes stay Pending (F5).
    ssd = scale_set("team-b", "team-b-ssd", lo=2, hi=6, current=2, pending=2)
    items += [ssd, runner_set(ssd, "n5m7p"), *listener_for(ssd, "9e4d2b10")]
    for suffix, age in (("h2kqz", 700), ("t8wbn", 690)):
        name = f"team-b-ssd-n5m7p-runner-{suffix}"
        items += kube_runner("team-b", "team-b-ssd", name, status="Pending", phase="Pending", age=age,
                             pvc="Pending", sc="fast-ssd", node="")
        items.append(event("team-b", "PersistentVolumeClaim", f"{name}-work", "ProvisioningFailed",
                           'storageclass.storage.k8s.io "fast-ssd" not found', type_="Warning", count=14, ago=15))
        items.append(event("team-b", "Pod", name, "FailedScheduling",
                           f'0/5 nodes are available: pod has unbound immediate PersistentVolumeClaims '
                           f'"{name}-work". preemption: 0/5 nodes are available', type_="Warning", count=9,
                           ago=20))

    items.append(pod(CONTROLLER_NS, "arc-gha-rs-controller-6d4f8b7c9-x2x7q", role="controller", age=86400 * 3))
    return items


def incident_monitor(forbidden: Iterable[str] = (SECRETS,)) -> FakeMonitor:
    return FakeMonitor.with_objects(incident_objects(), kinds=live_kinds(forbidden))


def seed_trends(sampler, monitor: FakeMonitor) -> None:
    """A deterministic few minutes of history for the sparklines."""
    shapes = {
        "ars-arc-runners-arc-runner-set": ([2, 2, 3, 4, 5, 6, 5, 4, 3, 3, 4, 5, 4, 3, 3, 2, 3, 3, 4, 3],
                                           [0, 1, 1, 2, 1, 0, 0, 0, 1, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0, 1]),
        "ars-team-a-team-a-kube": ([0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0],
                                   [2, 1, 2, 1, 2, 1, 1, 2, 1, 2, 2, 1, 2, 1, 2, 2, 1, 2, 1, 2]),
        "ars-team-a-team-a-custom-sa": ([1] * 20, [0] * 20),
        "ars-team-b-team-b-dind": ([0] * 20, [0] * 20),
        "ars-team-b-team-b-ssd": ([0] * 20, [2] * 20),
        "ars-arc-runners-legacy-set": ([0] * 20, [0] * 20),
    }
    for uid, (running, pending) in shapes.items():
        sampler.seed(uid, running, pending)


# ------------------------------------------------------------------------------------------ fix previews
ARS_TARGET = ("actions.github.com/v1alpha1", "AutoscalingRunnerSet", "autoscalingrunnersets")


def fix_finding(name: str = "arc-runner-set", ns: str = "arc-runners", code: str = "ARC501"):
    """The finding a fix preview is about (checks.finding.Finding), as the checks report it."""
    from arc_top.checks.finding import Finding, Subject

    return Finding(code, "error", "Kube mode work volume is not writable by the runner",
                   Subject("AutoscalingRunnerSet", ns, name, f"ars-{ns}-{name}"), scale_set=f"{ns}/{name}",
                   evidence=("spec.template.spec.securityContext.fsGroup is not set",
                             "Access to the path '/home/runner/_work/_tool' is denied."))


def fix_ars(name: str = "arc-runner-set", ns: str = "arc-runners") -> dict:
    """A live AutoscalingRunnerSet (kube mode, a PVC work volume, no fsGroup) as the API server returns it."""
    return {
        "apiVersion": "actions.github.com/v1alpha1", "kind": "AutoscalingRunnerSet",
        "metadata": {"name": name, "namespace": ns, "uid": "0b4c5d1e-aaaa-bbbb-cccc-000000000501",
                     "resourceVersion": "4711", "generation": 3},
        "spec": {"githubConfigUrl": "https://github.example.com/arc-org", "githubConfigSecret": "arc-github-token",
                 "minRunners": 2, "maxRunners": 10,
                 "template": {"spec": {
                     "containers": [{"name": "runner", "image": "ghcr.io/actions/actions-runner:2.321.0",
                                     "command": ["/home/runner/run.sh"],
                                     "env": [{"name": "ACTIONS_RUNNER_CONTAINER_HOOKS",
                                              "value": "/home/runner/k8s/index.js"}],
                                     "volumeMounts": [{"name": "work", "mountPath": "/home/runner/_work"}]}],
                     "volumes": [{"name": "work", "ephemeral": {"volumeClaimTemplate": {"spec": {
                         "accessModes": ["ReadWriteOnce"], "storageClassName": "gp3",
                         "resources": {"requests": {"storage": "1Gi"}}}}}}]}}},
        "status": {"currentRunners": 3},
    }


def fix_preview(*, read_only: bool = False, denied: str = "", rejected: str = "", warning: str = "",
                name: str = "arc-runner-set", ns: str = "arc-runners", context: str = "arc-sandbox",
                server: str = "https://127.0.0.1:6443", finding=None):
    """A fixed fixes.session.Preview of ARC501's fs-group fix (two variants), without a cluster: the diff made by
    checks.fixplan.diff from `fix_ars`, the verdict as the Fixer would give it."""
    import json

    from arc_top.checks.fixplan import FixPlan, Variant, apply_patch, diff
    from arc_top.fixes.session import Preview, Step
    from arc_top.kube.operations import PATCH, Operation, Target

    target = Target(*ARS_TARGET, ns, name)
    before = fix_ars(name, ns)
    rv = {"op": "test", "path": "/metadata/resourceVersion", "value": "4711"}
    fs_group = [{"op": "add", "path": "/spec/template/spec/securityContext", "value": {"fsGroup": 123}}]
    init = {"name": "fix-work-permissions", "image": "ghcr.io/actions/actions-runner:2.321.0",
            "command": ["sh", "-c", "chown -R 1001:123 /home/runner/_work"], "securityContext": {"runAsUser": 0},
            "volumeMounts": [{"name": "work", "mountPath": "/home/runner/_work"}]}
    chown = [{"op": "add", "path": "/spec/template/spec/initContainers", "value": [init]}]
    kubectl = ("kubectl patch autoscalingrunnersets.actions.github.com {name} -n {ns} --type json -p '{ops}'")

    def variant(vname: str, summary: str, ops: list[dict], note: str, helm: str, risks: tuple[str, ...]) -> Variant:
        op = Operation(PATCH, target, (rv, *ops), uid=before["metadata"]["uid"], resource_version="4711", note=note)
        return Variant(vname, summary, (op,), kubectl=(kubectl.format(name=name, ns=ns, ops=json.dumps(
            ops, separators=(",", ":"))),), helm=helm, risks=risks, warning=warning)

    helm_head = ("# the gha-runner-scale-set chart's values (a live patch alone is reverted by the next helm "
                 "upgrade)\n")
    variants = (
        variant("fs-group", "set securityContext.fsGroup: 123 on the runner pod template (new runners get a work "
                            "volume group-writable by the runner)", fs_group,
                "new runner pods mount the work volume with group 123",
                helm_head + "template:\n  spec:\n    securityContext:\n      fsGroup: 123\n",
                ("Existing runner pods keep their volume; the controller replaces them with new ones.",
                 "Volume types that ignore fsGroup (hostPath, local-path) need the init-container variant.")),
        variant("chown-init", "add an init container that runs `chown -R 1001:123 /home/runner/_work` as root with "
                              "the work volume mounted", chown,
                "new runner pods chown their work volume before the runner starts",
                helm_head + "template:\n  spec:\n    initContainers:\n      - name: fix-work-permissions\n",
                ("The init container runs as root (runAsUser: 0); a namespace enforcing the `restricted` "
                 "PodSecurity level rejects it.",)),
    )
    finding = finding or fix_finding(name, ns)
    plan = FixPlan(finding.code, finding, target, variants)
    chosen = variants[0]
    op = chosen.operations[0]
    after = apply_patch(before, op.patch)
    sent = not (read_only or denied)
    verdict = "" if not sent else (f"rejected: {rejected}" if rejected else "accepted")
    step = Step(op, before, after, diff(before, after, op), verdict)
    return Preview(plan, chosen, [step], context, server, read_only, denied=denied, rejected=rejected)


def storage_preview(name: str = "arc-runner-set", ns: str = "arc-runners", stuck: int = 3):
    """A fixed preview of ARC201's two-step fix (the template's StorageClass, then the stuck runners), made by the
    real planner (checks.remedies) from `fix_ars` naming a class that does not exist and three StorageClasses;
    every write as the Fixer's dry-run would accept it."""
    import copy

    from arc_top.checks import remedies
    from arc_top.checks.finding import Finding, Subject
    from arc_top.checks.fixplan import Facts, diff, predicted
    from arc_top.fixes.session import Preview, Step

    ars = fix_ars(name, ns)
    claim = ars["spec"]["template"]["spec"]["volumes"][0]["ephemeral"]["volumeClaimTemplate"]["spec"]
    claim["storageClassName"] = "fast-ssd"

    def sc(cname: str, provisioner: str, mode: str, default: bool = False) -> dict:
        meta: dict = {"name": cname}
        if default:
            meta["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
        return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": meta,
                "provisioner": provisioner, "volumeBindingMode": mode}

    classes = [sc("gp3", "ebs.csi.aws.com", "WaitForFirstConsumer", default=True),
               sc("io2", "ebs.csi.aws.com", "WaitForFirstConsumer"),
               sc("local-path", "rancher.io/local-path", "WaitForFirstConsumer")]
    runners = [{"apiVersion": "actions.github.com/v1alpha1", "kind": "EphemeralRunner",
                "metadata": {"name": f"{name}-x7k2p-runner-{suffix}", "namespace": ns, "uid": f"er-{suffix}",
                             "resourceVersion": str(5000 + i)}, "status": {"phase": "Pending"}}
               for i, suffix in enumerate(("4kq9z", "b8m2t", "wz5rd", "c3n7f")[:stuck])]
    finding = Finding("ARC201", "error", "Work volume asks for a StorageClass that does not exist",
                      Subject("AutoscalingRunnerSet", ns, name, ars["metadata"]["uid"]), scale_set=f"{ns}/{name}",
                      evidence=('storageClassName: "fast-ssd"', "storage classes: gp3, io2, local-path"))
    plan = remedies.plan(finding, Facts(ars, runners=runners, lists={"storage_classes": classes,
                                                                    "scale_sets": [ars]}))
    chosen = plan.variants[0]
    steps = []
    for op in chosen.operations:
        before = copy.deepcopy(ars if op.target.kind == "AutoscalingRunnerSet" else
                               next(r for r in runners if r["metadata"]["name"] == op.target.name))
        after = predicted(before, op)
        steps.append(Step(op, before, after, diff(before, after, op), "accepted"))
    return Preview(plan, chosen, steps, "arc-sandbox", "https://127.0.0.1:6443", False)

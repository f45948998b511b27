"""Snapshots for the checks' tests, built from raw API dicts through kube.projections.project (as the watch
threads do), with every kind live and synced unless a test says otherwise.

`fleet()` renders one healthy scale set the way the 0.14.2 charts and the ARC controller would (kube mode by
default: a dedicated work volume class, fsGroup 123, the kube-mode Role, a GitHub App Secret, a running
listener and controller, runners listening), for which the checks find nothing. Tests change one thing and
assert that the code fires, then that it is silent on the corrected input.
"""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime
from types import MappingProxyType

from arc_top import checks
from arc_top.checks.finding import Finding, LogTail
from arc_top.kube import model
from arc_top.kube.discovery import ArcInfo, ControllerInfo
from arc_top.kube.model import KindState, Snapshot
from arc_top.kube.projections import project

NOW = 1_800_000_000.0
RUNNER_IMAGE = "ghcr.io/actions/actions-runner:2.329.0"
CONTROLLER_IMAGE = "ghcr.io/actions/gha-runner-scale-set-controller:0.14.2"
APP_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAtest\n-----END RSA PRIVATE KEY-----\n"
APP = {"github_app_id": "123456", "github_app_installation_id": "987654", "github_app_private_key": APP_KEY}
TOKEN = "ghp_" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAB7C"
KUBE_RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "create", "delete"]},
    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get", "create"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "create", "delete"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "create", "delete"]},
]
API_KINDS = {model.SCALE_SETS: "AutoscalingRunnerSet", model.RUNNER_SETS: "EphemeralRunnerSet",
             model.RUNNERS: "EphemeralRunner", model.LISTENERS: "AutoscalingListener", model.PODS: "Pod",
             model.VOLUMES: "PersistentVolumeClaim", model.EVENTS: "Event", model.STORAGE_CLASSES: "StorageClass",
             model.NETWORK_POLICIES: "NetworkPolicy", model.SECRETS: "Secret",
             model.SERVICE_ACCOUNTS: "ServiceAccount", model.ROLES: "Role", model.ROLE_BINDINGS: "RoleBinding",
             model.NAMESPACES: "Namespace"}
KEY_OF_KIND = {v: k for k, v in API_KINDS.items()} | {"ClusterRole": model.ROLES,
                                                        "ClusterRoleBinding": model.ROLE_BINDINGS}


def ts(seconds_ago: float) -> str:
    return datetime.fromtimestamp(NOW - seconds_ago, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name: str, namespace: str = "", age: float = 3600, labels: dict | None = None, **extra) -> dict:
    out = {"name": name, "uid": f"uid-{namespace}-{name}", "creationTimestamp": ts(age)}
    if namespace:
        out["namespace"] = namespace
    if labels:
        out["labels"] = labels
    out.update(extra)
    return out


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def deep_merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# ---- single objects --------------------------------------------------------------------------------------------
def secret(name: str, namespace: str, values: dict[str, str]) -> dict:
    return {"kind": "Secret", "metadata": meta(name, namespace), "type": "Opaque",
            "data": {k: b64(v) for k, v in values.items()}}


def storageclass(name: str, default: bool = False, provisioner: str = "ebs.csi.aws.com",
                  binding: str = "WaitForFirstConsumer") -> dict:
    notes = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
    return {"kind": "StorageClass", "metadata": meta(name, annotations=notes), "provisioner": provisioner,
            "reclaimPolicy": "Delete", "volumeBindingMode": binding}


def namespace(name: str, enforce: str | None = "baseline") -> dict:
    labels = {"kubernetes.io/metadata.name": name}
    if enforce:
        labels["pod-security.kubernetes.io/enforce"] = enforce
    return {"kind": "Namespace", "metadata": meta(name, labels=labels), "status": {"phase": "Active"}}


def event(kind: str, namespace: str, name: str, reason: str, message: str, type_: str = "Warning",
          count: int = 1, age: float = 30) -> dict:
    return {"kind": "Event", "metadata": meta(f"{name}.{reason.lower()}", namespace, age=age),
            "involvedObject": {"kind": kind, "namespace": namespace, "name": name, "uid": f"uid-{namespace}-{name}"},
            "reason": reason, "message": message, "type": type_, "count": count,
            "firstTimestamp": ts(age), "lastTimestamp": ts(age)}


def network_policy(name: str, namespace: str, selector: dict | None = None, types=("Egress",),
                   egress: list | None = None) -> dict:
    spec: dict = {"podSelector": selector or {}, "policyTypes": list(types)}
    if egress is not None:
        spec["egress"] = egress
    return {"kind": "NetworkPolicy", "metadata": meta(name, namespace), "spec": spec}


def role(name: str, namespace: str, rules: list, cluster: bool = False) -> dict:
    return {"kind": "ClusterRole" if cluster else "Role", "metadata": meta(name, "" if cluster else namespace),
            "rules": copy.deepcopy(rules)}


def binding(name: str, namespace: str, role_name: str, subjects: list, role_kind: str = "Role",
            cluster: bool = False) -> dict:
    return {"kind": "ClusterRoleBinding" if cluster else "RoleBinding",
            "metadata": meta(name, "" if cluster else namespace),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
            "subjects": copy.deepcopy(subjects)}


def sa_subject(name: str, namespace: str) -> dict:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


# ---- a scale set and what ARC makes of it --------------------------------------------------------------------------
def set_labels(name: str, ns: str, component: str) -> dict:
    return {"app.kubernetes.io/component": component, "actions.github.com/scale-set-name": name,
            "actions.github.com/scale-set-namespace": ns}


def runner_template(mode: str, name: str, *, storage_class: str | None = "arc-work", fs_group: int | None = 123,
                    image: str = RUNNER_IMAGE, resources: bool = True, service_account: str | None = None) -> dict:
    runner: dict = {"name": "runner", "image": image, "command": ["/home/runner/run.sh"]}
    if resources:
        runner["resources"] = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "4Gi"}}
    spec: dict = {"restartPolicy": "Never"}
    if mode.startswith("kubernetes"):
        runner["env"] = [
            {"name": "ACTIONS_RUNNER_CONTAINER_HOOKS",
             "value": f"/home/runner/{'k8s-novolume' if mode.endswith('novolume') else 'k8s'}/index.js"},
            {"name": "ACTIONS_RUNNER_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER", "value": "true"}]
        spec["serviceAccountName"] = service_account or f"{name}-gha-rs-kube-mode"
        if mode == "kubernetes":
            claim: dict = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
            if storage_class is not None:
                claim["storageClassName"] = storage_class
            runner["volumeMounts"] = [{"name": "work", "mountPath": "/home/runner/_work"}]
            spec["volumes"] = [{"name": "work", "ephemeral": {"volumeClaimTemplate": {"spec": claim}}}]
    elif mode == "dind":
        runner["env"] = [{"name": "DOCKER_HOST", "value": "unix:///var/run/docker.sock"}]
        spec["initContainers"] = [{"name": "dind", "image": "docker:dind", "restartPolicy": "Always",
                                   "securityContext": {"privileged": True}}]
        spec["volumes"] = [{"name": "work", "emptyDir": {}}]
        spec["serviceAccountName"] = service_account or f"{name}-gha-rs-no-permission"
    else:
        spec["serviceAccountName"] = service_account or f"{name}-gha-rs-no-permission"
    spec["containers"] = [runner]
    if fs_group is not None:
        spec["securityContext"] = {"fsGroup": fs_group}
    return {"spec": spec}


def fleet(*, mode: str = "kubernetes", name: str = "arc-runner-set", ns: str = "arc-runners", runners: int = 2,
          min_runners: int = 2, max_runners: int = 10, url: str = "https://github.com/arc-org",
          credentials: dict | None = None, secret_name: str = "arc-github-app", storage_class: str | None = "arc-work",
          fs_group: int | None = 123, image: str = RUNNER_IMAGE, resources: bool = True,
          service_account: str | None = None, template: dict | None = None, enforce: str | None = "baseline",
          ars_version: str = "0.14.2", listener_image: str = CONTROLLER_IMAGE, phase: str | None = "Running",
          controller: bool = True, rbac: bool = True, with_secret: bool = True) -> list[dict]:
    """One healthy scale set (raw dicts), and everything around it."""
    labels = {**set_labels(name, ns, "autoscaling-runner-set"), "app.kubernetes.io/version": ars_version,
              "app.kubernetes.io/part-of": "gha-rs", "helm.sh/chart": f"gha-rs-{ars_version}"}
    tmpl = deep_merge(runner_template(mode, name, storage_class=storage_class, fs_group=fs_group, image=image,
                                      resources=resources, service_account=service_account), template or {})
    status: dict = {"currentRunners": runners, "pendingEphemeralRunners": 0, "runningEphemeralRunners": runners,
                    "failedEphemeralRunners": 0}
    if phase is not None:
        status["phase"] = phase
    ars = {"kind": "AutoscalingRunnerSet", "metadata": meta(name, ns, labels=labels, annotations={
        "runner-scale-set-id": "1", "actions.github.com/runner-group-name": "Default"}),
        "spec": {"githubConfigUrl": url, "githubConfigSecret": secret_name, "minRunners": min_runners,
                 "maxRunners": max_runners, "template": tmpl}, "status": status}
    ers_name = f"{name}-h8ff4"
    ers = {"kind": "EphemeralRunnerSet", "metadata": meta(ers_name, ns, labels=set_labels(name, ns, "runner-set"),
                                                         ownerReferences=[{"kind": "AutoscalingRunnerSet",
                                                                           "name": name, "uid": f"uid-{ns}-{name}",
                                                                           "controller": True}]),
           "spec": {"replicas": max(runners, min_runners)},
           "status": {"currentReplicas": runners, "runningEphemeralRunners": runners}}
    out = [namespace(ns, enforce), namespace("arc-systems", "baseline"), storageclass("gp3", default=True),
           storageclass("arc-work"), ars, ers]
    if with_secret:
        out.append(secret(secret_name, ns, credentials if credentials is not None else APP))
    if controller:
        out.append(controller_pod())
    lis_name = f"{name}-754b578d-listener"
    out.append({"kind": "AutoscalingListener", "metadata": meta(lis_name, "arc-systems", age=3500),
                "spec": {"autoscalingRunnerSetNamespace": ns, "autoscalingRunnerSetName": name,
                         "githubConfigUrl": url, "image": listener_image, "minRunners": min_runners}})
    out.append(pod(lis_name, "arc-systems", set_labels(name, ns, "runner-scale-set-listener"), age=3500,
                   containers=[("listener", listener_image)], owner=("AutoscalingListener", lis_name)))
    for i in range(runners):
        out += runner(name, ns, f"{ers_name}-runner-{i:05d}", tmpl, ers_name)
    if mode.startswith("kubernetes") and rbac:
        sa = f"{name}-gha-rs-kube-mode"
        rules = KUBE_RULES if mode == "kubernetes" else [r for r in KUBE_RULES if r["apiGroups"] != ["batch"]]
        out += [{"kind": "ServiceAccount", "metadata": meta(sa, ns)}, role(sa, ns, rules),
                binding(sa, ns, sa, [sa_subject(sa, ns)])]
    return out


def runner(set_name: str, ns: str, name: str, tmpl: dict, ers_name: str, *, phase: str = "Running",
           pod_phase: str | None = "Running", age: float = 600, job: bool = False, reason: str = "",
           message: str = "", container_state: dict | None = None, node: str = "worker-1") -> list[dict]:
    """An EphemeralRunner, its pod (unless pod_phase is None) and, in kube mode, its bound work claim."""
    labels = set_labels(set_name, ns, "runner")
    status: dict = {"phase": phase, "reason": reason, "message": message, "runnerId": 7}
    if job:
        status.update({"jobRepositoryName": "arc-org/app-repo", "jobDisplayName": "build"})
    er = {"kind": "EphemeralRunner", "metadata": meta(name, ns, age=age, labels=labels, ownerReferences=[
        {"kind": "EphemeralRunnerSet", "name": ers_name, "uid": f"uid-{ns}-{ers_name}", "controller": True}]),
        "status": status}
    out = [er]
    if pod_phase is None:
        return out
    spec = copy.deepcopy(tmpl.get("spec") or {})
    spec["nodeName"] = node
    out.append(pod(name, ns, {**labels, "actions-ephemeral-runner": "True"}, age=age, phase=pod_phase, spec=spec,
                   owner=("EphemeralRunner", name), container_state=container_state))
    if any("ephemeral" in v for v in spec.get("volumes") or ()):
        out.append(pvc(f"{name}-work", ns, name, phase="Bound", age=age))
    return out


def pod(name: str, ns: str, labels: dict, *, age: float = 600, phase: str = "Running", spec: dict | None = None,
        containers=(), owner: tuple[str, str] | None = None, container_state: dict | None = None,
        restarts: int = 0) -> dict:
    spec = copy.deepcopy(spec) if spec is not None else {
        "containers": [{"name": n, "image": image} for n, image in containers]}
    state = container_state or ({"running": {"startedAt": ts(age)}} if phase == "Running" else
                                {"waiting": {"reason": "ContainerCreating"}})
    statuses = [{"name": c.get("name"), "image": c.get("image"), "ready": "running" in state,
                 "restartCount": restarts, "state": state} for c in spec.get("containers") or ()]
    extra = {}
    if owner:
        extra["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "uid": f"uid-{ns}-{owner[1]}",
                                     "controller": True}]
    return {"kind": "Pod", "metadata": meta(name, ns, age=age, labels=labels, **extra), "spec": spec,
            "status": {"phase": phase, "containerStatuses": statuses}}


def controller_pod(image: str = CONTROLLER_IMAGE, phase: str = "Running") -> dict:
    labels = {"app.kubernetes.io/part-of": "gha-rs-controller", "app.kubernetes.io/component": "controller-manager",
              "app.kubernetes.io/name": "gha-rs-controller", "app.kubernetes.io/version": "0.14.2"}
    return pod("arc-gha-rs-controller-6d4f9-x2x7p", "arc-systems", labels, age=7200, phase=phase,
               containers=[("manager", image)])


def pvc(name: str, ns: str, owner_pod: str, *, phase: str = "Bound", storage_class: str = "arc-work",
        age: float = 600, modes=("ReadWriteOnce",)) -> dict:
    return {"kind": "PersistentVolumeClaim",
            "metadata": meta(name, ns, age=age, ownerReferences=[{"kind": "Pod", "name": owner_pod,
                                                                  "uid": f"uid-{ns}-{owner_pod}"}]),
            "spec": {"accessModes": list(modes), "storageClassName": storage_class,
                     "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": phase}}


# ---- snapshots --------------------------------------------------------------------------------------------------
def arc_info(version: str = "0.14.2", controllers: bool = True, listed: bool = True) -> ArcInfo:
    found = (ControllerInfo("arc-systems", "arc-gha-rs-controller-6d4f9-x2x7p",
                            f"ghcr.io/actions/gha-runner-scale-set-controller:{version}", version, version,
                            "Running"),) if controllers else ()
    return ArcInfo(controllers=found, controller_namespaces=("arc-systems",), arc_version=version if controllers
                   else "", crd_versions=("v1alpha1",), controllers_listed=listed)


_DEFAULT_ARC = object()


def snapshot(raws, *, states: dict[str, str] | None = None, arc=_DEFAULT_ARC, drop: tuple[str, ...] = ()) -> Snapshot:
    """A Snapshot of raw dicts (their `kind` says where they go). `states`: kind key → KindState.state for kinds
    that are not live; `drop`: API kinds to leave out (e.g. "Secret")."""
    objects: dict[str, dict] = {k: {} for k in model.KINDS}
    for raw in raws:
        kind = raw.get("kind", "") if isinstance(raw, dict) else ""
        if kind in drop:
            continue
        key = KEY_OF_KIND[kind]
        obj = project(key, raw, kind)
        objects[key][obj.uid] = obj
    kinds = {k: KindState(k, "live", synced=True) for k in model.KINDS}
    for key, state in (states or {}).items():
        kinds[key] = KindState(key, state, synced=state != "syncing",
                               message=f"{key} is forbidden" if state == "forbidden" else "")
        if state == "forbidden":
            objects[key] = {}
    if arc is _DEFAULT_ARC:
        arc = arc_info()
    return Snapshot(objects={k: MappingProxyType(v) for k, v in objects.items()}, kinds=kinds, version=1, arc=arc)


def run(raws, logs=(), **kw) -> list[Finding]:
    return checks.run(snapshot(raws, **kw), now=NOW, logs=logs)


def codes(raws, logs=(), **kw) -> set[str]:
    return {f.code for f in run(raws, logs, **kw)}


def of(raws, code: str, logs=(), **kw) -> list[Finding]:
    return [f for f in run(raws, logs, **kw) if f.code == code]


def tail(pod_name: str, lines, ns: str = "arc-runners", container: str = "runner") -> LogTail:
    return LogTail(f"uid-{ns}-{pod_name}", ns, pod_name, container, False, tuple(lines), NOW)


def replace(raws: list[dict], kind: str, name: str, fn) -> list[dict]:
    """A copy of `raws` with `fn(obj)` applied (in place, on a deep copy) to the object of that kind and name."""
    out = copy.deepcopy(raws)
    hits = [o for o in out if o.get("kind") == kind and o["metadata"]["name"] == name]
    assert hits, f"no {kind} {name}"
    for o in hits:
        fn(o)
    return out


def without(raws: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [o for o in raws if not (o.get("kind") == kind and (name is None or o["metadata"]["name"] == name))]

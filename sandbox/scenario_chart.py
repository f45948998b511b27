"""What `helm install` of the 0.14.2 charts would put in the cluster, for scenarios: the controller
release (`gha-rs-controller`) and one `gha-runner-scale-set` release per scale set, rendered per
container mode as ARC_REFERENCE §1–§3 describe (kube mode: hooks env, `work` ephemeral volume, the
`-kube-mode` ServiceAccount/Role/RoleBinding, and no fsGroup unless the values add one).

A scale set entry (YAML `scale_sets:`) takes Helm-values-like keys: name, namespace, mode
(`kubernetes` | `kubernetes-novolume` | `dind` | `default`), github_config_url, github_config_secret (an
existing Secret) or github_secret (inline values → `<fullname>-github-secret`), runner_group,
min_runners, max_runners, storage_class / work_volume_claim, fs_group, image, resources (the runner
container's requests/limits), service_account, template (deep-merged into the runner pod template), jobs (the
job stream), scale_set_id, github_server_tls ({configmap, key}: the chart's githubServerTLS.certificateFrom),
registered (false: no runner-scale-set-id yet, as right after `helm install`: the controller registers it),
created_seconds_ago (the scale set was installed that long before the scenario starts).
"""

from __future__ import annotations

import copy
import hashlib
import json

from arc_top.sandbox.controller.common import A_SET_ID, F_ARS, JOB_STREAM_ANNOTATION, b64
from arc_top.sandbox.rbac import KUBE_MODE_RULES, NOVOLUME_RULES

CHART_VERSION = "0.14.2"
RUNNER_IMAGE = "ghcr.io/actions/actions-runner:latest"
CONTROLLER_IMAGE = f"ghcr.io/actions/gha-runner-scale-set-controller:{CHART_VERSION}"
CLEANUP = "actions.github.com/cleanup-protection"
MODES = ("kubernetes", "kubernetes-novolume", "dind", "default")
_ENTRY_KEYS = {"name", "namespace", "mode", "github_config_url", "github_config_secret", "github_secret",
               "runner_group", "min_runners", "max_runners", "storage_class", "work_volume_claim", "fs_group",
               "image", "resources", "service_account", "template", "jobs", "scale_set_id", "controller_namespace",
               "controller_release", "github_server_tls", "listener_metrics", "registered", "created_seconds_ago"}


def deep_merge(base: dict, extra: dict) -> dict:
    """Helm-style merge: maps merge, everything else (lists included) replaces."""
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def secret(name: str, namespace: str, values: dict[str, str], labels: dict | None = None) -> dict:
    """A Secret as `kubectl create secret generic` makes it: values kept byte for byte."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace, **({"labels": labels} if labels else {})},
            "data": {k: b64(str(v)) for k, v in values.items()}}


def node(name: str, index: int, control_plane: bool = False) -> dict:
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"}
    spec: dict = {"podCIDR": f"10.244.{index}.0/24"}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
        spec["taints"] = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    stamp = "2026-01-01T00:00:00Z"
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}, "spec": spec,
            "status": {
                "addresses": [{"type": "InternalIP", "address": f"10.0.0.{10 + index}"},
                              {"type": "Hostname", "address": name}],
                "capacity": {"cpu": "8", "memory": "32Gi", "pods": "250", "ephemeral-storage": "100Gi"},
                "allocatable": {"cpu": "8", "memory": "31Gi", "pods": "250", "ephemeral-storage": "95Gi"},
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                "message": "kubelet is posting ready status", "lastHeartbeatTime": stamp,
                                "lastTransitionTime": stamp}],
                "nodeInfo": {"kubeletVersion": "v1.32.4", "containerRuntimeVersion": "containerd://1.7.27",
                             "osImage": "Ubuntu 24.04.2 LTS", "kernelVersion": "6.8.0-60-generic",
                             "operatingSystem": "linux", "architecture": "amd64"}}}


def namespace(name: str, labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **(labels or {})}}}


# ---- the controller release --------------------------------------------------------------------------
def render_controller(ns: str = "arc-systems", release: str = "arc",
                      annotations: dict | None = None) -> list[dict]:
    fullname = f"{release}-gha-rs-controller"
    selector = {"app.kubernetes.io/name": "gha-rs-controller", "app.kubernetes.io/namespace": ns,
                "app.kubernetes.io/instance": release}
    labels = {**selector, "app.kubernetes.io/part-of": "gha-rs-controller",
              "app.kubernetes.io/component": "controller-manager", "app.kubernetes.io/managed-by": "Helm",
              "app.kubernetes.io/version": CHART_VERSION,
              "helm.sh/chart": f"gha-rs-controller-{CHART_VERSION}",
              "actions.github.com/controller-service-account-name": fullname,
              "actions.github.com/controller-service-account-namespace": ns}
    container = {"name": "manager", "image": CONTROLLER_IMAGE, "imagePullPolicy": "IfNotPresent",
                 "command": ["/manager"],
                 "args": ["--auto-scaling-runner-set-only", "--log-level=debug", "--log-format=text",
                          "--runner-max-concurrent-reconciles=2", "--update-strategy=immediate",
                          "--metrics-addr=0", "--listener-metrics-addr=0", "--listener-metrics-endpoint="],
                 "env": [{"name": "CONTROLLER_MANAGER_CONTAINER_IMAGE", "value": CONTROLLER_IMAGE},
                         {"name": "CONTROLLER_MANAGER_POD_NAMESPACE",
                          "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
                 "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]}
    pod_spec = {"serviceAccountName": fullname, "containers": [container], "volumes": [{"name": "tmp",
                                                                                      "emptyDir": {}}],
                "terminationGracePeriodSeconds": 10}
    template_hash = hashlib.sha256(json.dumps(pod_spec, sort_keys=True).encode()).hexdigest()[:10]
    rbac = "rbac.authorization.k8s.io/v1"
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": fullname, "namespace": ns,
                                                                     "labels": labels}},
        {"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": fullname, "labels": labels},
         "rules": [
            {"apiGroups": ["actions.github.com"], "verbs": ["*"],
             "resources": [f"{kind}{sub}" for kind in ("autoscalingrunnersets", "autoscalinglisteners",
                                                       "ephemeralrunnersets", "ephemeralrunners")
                           for sub in ("", "/status", "/finalizers")]},
            {"apiGroups": [""], "resources": ["pods", "secrets", "serviceaccounts"], "verbs": ["*"]},
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"],
             "verbs": ["*"]}]},
        {"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": fullname, "labels": labels},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": fullname},
         "subjects": [{"kind": "ServiceAccount", "name": fullname, "namespace": ns}]},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": fullname, "namespace": ns, "labels": labels, "annotations": {
             "deployment.kubernetes.io/revision": "1", **(annotations or {})}},
         "spec": {"replicas": 1, "selector": {"matchLabels": selector},
                  "template": {"metadata": {"labels": labels}, "spec": pod_spec}},
         "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 1,
                    "observedGeneration": 1}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": f"{fullname}-{template_hash[:9]}-{template_hash[-5:]}", "namespace": ns,
                      "labels": {**labels, "pod-template-hash": template_hash[:9]}},
         "spec": copy.deepcopy(pod_spec)},
    ]


# ---- one gha-runner-scale-set release ----------------------------------------------------------------
def render_scale_set(entry: dict, index: int) -> list[dict]:
    unknown = set(entry) - _ENTRY_KEYS
    if unknown:
        raise ValueError(f"scale set {entry.get('name')!r}: unknown keys {sorted(unknown)}")
    name, ns = entry["name"], entry.get("namespace", "arc-runners")
    mode = entry.get("mode", "kubernetes")
    if mode not in MODES:
        raise ValueError(f"scale set {name!r}: mode must be one of {', '.join(MODES)}")
    fullname = f"{name}-gha-rs"
    controller_ns = entry.get("controller_namespace", "arc-systems")
    controller_sa = f"{entry.get('controller_release', 'arc')}-gha-rs-controller"
    labels = {"app.kubernetes.io/component": "autoscaling-runner-set",
              "helm.sh/chart": f"gha-rs-{CHART_VERSION}",
              "app.kubernetes.io/name": name, "app.kubernetes.io/instance": name,
              "app.kubernetes.io/version": CHART_VERSION, "app.kubernetes.io/part-of": "gha-rs",
              "app.kubernetes.io/managed-by": "Helm", "actions.github.com/scale-set-name": name,
              "actions.github.com/scale-set-namespace": ns}
    objects: list[dict] = []
    notes = {"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": ns,   # helm install NAME
             "actions.github.com/cleanup-manager-name": controller_sa,
             "actions.github.com/cleanup-manager-namespace": controller_ns,
             "actions.github.com/cleanup-manager-role-name": f"{fullname}-manager",
             "actions.github.com/cleanup-manager-role-binding": f"{fullname}-manager"}
    secret_name = entry.get("github_config_secret")
    if not secret_name:
        secret_name = f"{fullname}-github-secret"
        objects.append(_protected(secret(secret_name, ns, entry.get("github_secret") or {}, labels)))
        notes["actions.github.com/cleanup-github-secret-name"] = secret_name
    objects += _service_accounts(entry, mode, fullname, ns, labels, notes)
    rbac = "rbac.authorization.k8s.io/v1"
    objects.append(_protected({"apiVersion": rbac, "kind": "Role", "metadata": {
        "name": f"{fullname}-manager", "namespace": ns, "labels": labels}, "rules": _MANAGER_RULES}))
    objects.append(_protected({"apiVersion": rbac, "kind": "RoleBinding", "metadata": {
        "name": f"{fullname}-manager", "namespace": ns, "labels": labels},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{fullname}-manager"},
        "subjects": [{"kind": "ServiceAccount", "name": controller_sa, "namespace": controller_ns}]}))
    values = {k: v for k, v in entry.items() if k not in ("jobs", "scale_set_id", "registered", "created_seconds_ago")}
    notes["actions.github.com/values-hash"] = hashlib.sha256(json.dumps(values, sort_keys=True,
                                                                        default=str).encode()).hexdigest()
    group = entry.get("runner_group") or "Default"
    if entry.get("registered", True):
        notes.update({A_SET_ID: str(entry.get("scale_set_id", index)),
                      "actions.github.com/runner-group-name": group,
                      "actions.github.com/runner-scale-set-name": name})
    if entry.get("jobs"):
        notes[JOB_STREAM_ANNOTATION] = json.dumps(entry["jobs"], sort_keys=True)
    spec: dict = {"githubConfigUrl": entry["github_config_url"], "githubConfigSecret": secret_name,
                  "runnerScaleSetName": name, "template": _template(entry, mode, fullname)}
    if entry.get("runner_group"):
        spec["runnerGroup"] = entry["runner_group"]
    tls = entry.get("github_server_tls")
    if tls:
        spec["githubServerTLS"] = {"certificateFrom": {"configMapKeyRef": {
            "name": tls["configmap"], "key": tls.get("key", "ca.crt")}}}
    for key, field in (("min_runners", "minRunners"), ("max_runners", "maxRunners")):
        if entry.get(key) is not None:
            spec[field] = int(entry[key])
    if isinstance(entry.get("listener_metrics"), dict):     # the chart's listenerMetrics value
        spec["listenerMetrics"] = entry["listener_metrics"]
    objects.append({"apiVersion": "actions.github.com/v1alpha1", "kind": "AutoscalingRunnerSet",
                    "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": notes,
                                 "finalizers": [F_ARS]}, "spec": spec})
    return objects


def _protected(obj: dict) -> dict:
    obj["metadata"]["finalizers"] = [CLEANUP]
    return obj


def _service_accounts(entry: dict, mode: str, fullname: str, ns: str, labels: dict,
                      notes: dict) -> list[dict]:
    if entry.get("service_account"):
        return []                     # the chart makes none: the user's account must carry the rights
    if not mode.startswith("kubernetes"):
        sa = f"{fullname}-no-permission"
        notes["actions.github.com/cleanup-no-permission-service-account-name"] = sa
        return [_protected({"apiVersion": "v1", "kind": "ServiceAccount",
                            "metadata": {"name": sa, "namespace": ns, "labels": labels}})]
    kube = f"{fullname}-kube-mode"
    notes.update({"actions.github.com/cleanup-kubernetes-mode-role-name": kube,
                  "actions.github.com/cleanup-kubernetes-mode-role-binding-name": kube,
                  "actions.github.com/cleanup-kubernetes-mode-service-account-name": kube})
    rules = NOVOLUME_RULES if mode == "kubernetes-novolume" else KUBE_MODE_RULES
    meta = {"name": kube, "namespace": ns, "labels": labels}
    return [
        _protected({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": dict(meta)}),
        _protected({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": dict(meta),
                    "rules": copy.deepcopy(rules)}),
        _protected({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": dict(meta),
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": kube},
                    "subjects": [{"kind": "ServiceAccount", "name": kube, "namespace": ns}]})]


def _template(entry: dict, mode: str, fullname: str) -> dict:
    image = entry.get("image") or RUNNER_IMAGE
    runner: dict = {"name": "runner", "image": image, "command": ["/home/runner/run.sh"]}
    if entry.get("resources"):
        runner["resources"] = entry["resources"]
    spec: dict = {"restartPolicy": "Never"}
    if mode.startswith("kubernetes"):
        novolume = mode == "kubernetes-novolume"
        runner["env"] = [
            {"name": "ACTIONS_RUNNER_CONTAINER_HOOKS",
             "value": "/home/runner/k8s-novolume/index.js" if novolume else "/home/runner/k8s/index.js"},
            {"name": "ACTIONS_RUNNER_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER", "value": "true"}]
        spec["serviceAccountName"] = entry.get("service_account") or f"{fullname}-kube-mode"
        if novolume:
            runner["env"].append({"name": "ACTIONS_RUNNER_IMAGE", "value": image})
        else:
            claim = entry.get("work_volume_claim") or {
                "accessModes": ["ReadWriteOnce"], "storageClassName": entry.get("storage_class", "standard"),
                "resources": {"requests": {"storage": "1Gi"}}}
            runner["volumeMounts"] = [{"name": "work", "mountPath": "/home/runner/_work"}]
            spec["volumes"] = [{"name": "work", "ephemeral": {"volumeClaimTemplate": {"spec": claim}}}]
    elif mode == "dind":
        runner["env"] = [{"name": "DOCKER_HOST", "value": "unix:///var/run/docker.sock"},
                         {"name": "RUNNER_WAIT_FOR_DOCKER_IN_SECONDS", "value": "120"}]
        runner["volumeMounts"] = [{"name": "work", "mountPath": "/home/runner/_work"},
                                  {"name": "dind-sock", "mountPath": "/var/run"}]
        spec["serviceAccountName"] = entry.get("service_account") or f"{fullname}-no-permission"
        spec["initContainers"] = [
            {"name": "init-dind-externals", "image": image, "command": ["cp"],
             "args": ["-r", "/home/runner/externals/.", "/home/runner/tmpDir/"],
             "volumeMounts": [{"name": "dind-externals", "mountPath": "/home/runner/tmpDir"}]},
            {"name": "dind", "image": "docker:dind", "restartPolicy": "Always",
             "args": ["dockerd", "--host=unix:///var/run/docker.sock", "--group=$(DOCKER_GROUP_GID)"],
             "env": [{"name": "DOCKER_GROUP_GID", "value": "123"}], "securityContext": {"privileged": True},
             "startupProbe": {"exec": {"command": ["docker", "info"]}, "initialDelaySeconds": 0,
                              "failureThreshold": 24, "periodSeconds": 5},
             "volumeMounts": [{"name": "work", "mountPath": "/home/runner/_work"},
                              {"name": "dind-sock", "mountPath": "/var/run"},
                              {"name": "dind-externals", "mountPath": "/home/runner/externals"}]}]
        spec["volumes"] = [{"name": n, "emptyDir": {}} for n in ("work", "dind-sock", "dind-externals")]
    else:
        spec["serviceAccountName"] = entry.get("service_account") or f"{fullname}-no-permission"
    spec["containers"] = [runner]
    if entry.get("fs_group") is not None:
        spec["securityContext"] = {"fsGroup": int(entry["fs_group"])}
    return deep_merge({"spec": spec}, entry.get("template") or {})


_MANAGER_RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete", "get"]},
    {"apiGroups": [""], "resources": ["pods/status"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["secrets"],
     "verbs": ["create", "delete", "get", "list", "patch", "update"]},
    {"apiGroups": [""], "resources": ["serviceaccounts"],
     "verbs": ["create", "delete", "get", "list", "patch", "update"]},
    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings", "roles"],
     "verbs": ["create", "delete", "get", "patch", "update"]},
]

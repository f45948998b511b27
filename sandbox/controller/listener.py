"""The AutoscalingListener objects (the ARS controller's part): one per ARS in the controller namespace,
named `<ars>-<fnv(namespace)>-listener`, with its ServiceAccount, its Role/RoleBinding in the runner
namespace, its `<listener>-config` Secret, and its pod (restartPolicy Never).

When the pod's container exits, the controller deletes the pod and makes a new one: a failing listener
shows as a young pod with 0 restarts, again and again — never CrashLoopBackOff. A missing credentials
Secret means no pod at all, a controller error and a Warning event on the ARS.
"""

from __future__ import annotations

import json

from arc_top.sandbox.controller.common import (
    ARC_API,
    ARS,
    CONTROLLER_IMAGE,
    F_LISTENER,
    L_COMPONENT,
    L_PART_OF,
    L_SET_NAME,
    L_SET_NS,
    L_VERSION,
    LISTENER,
    b64,
    decode_secret,
    github_url_labels,
    listener_name,
    owner_ref,
)
from arc_top.sandbox.controller.listener_metrics import METRICS_PORT, wants_metrics
from arc_top.sandbox.errors import ApiError

REACT_SECONDS = 1.0          # the controller notices a terminated listener pod
APP_KEYS = ("github_app_id", "github_app_installation_id", "github_app_private_key")
CONFIG_VOLUME = "listener-config"
SECRET_RETRY_SECONDS = 5.0
MAX_RUNNERS = 2147483647
_RBAC = "rbac.authorization.k8s.io"


class Listeners:
    def __init__(self, ctl):
        self.ctl = ctl
        self.cluster = ctl.cluster
        self.secret_users: dict[tuple[str, str], set[tuple[str, str]]] = {}   # Secret -> scale sets

    def where(self, ars: dict) -> str:
        """The listener's namespace: the controller's, or the ARS's when there is no controller namespace."""
        ns = self.ctl.manager.namespace
        return ns if self.cluster.get("namespaces", None, ns) is not None else ars["metadata"]["namespace"]

    def ensure(self, ars: dict, ers: dict) -> None:
        """Create the listener for this ARS, or replace it when what it was made from changed."""
        meta, spec = ars["metadata"], ars["spec"]
        ns, name = self.where(ars), listener_name(ars)
        self.secret_users.setdefault((meta["namespace"], spec.get("githubConfigSecret", "")), set()).add(
            (meta["namespace"], meta["name"]))
        want = {"githubConfigUrl": spec.get("githubConfigUrl", ""),
                "githubConfigSecret": spec.get("githubConfigSecret", ""),
                "runnerScaleSetId": int((meta.get("annotations") or {}).get("runner-scale-set-id") or 0),
                "autoscalingRunnerSetNamespace": meta["namespace"], "autoscalingRunnerSetName": meta["name"],
                "ephemeralRunnerSetName": ers["metadata"]["name"], "minRunners": spec.get("minRunners") or 0,
                "maxRunners": spec.get("maxRunners", MAX_RUNNERS),
                "image": self.ctl.manager.image or CONTROLLER_IMAGE}
        current = self.cluster.get(LISTENER, ns, name)
        if current is not None:
            if not current["metadata"].get("deletionTimestamp") and any(
                    current["spec"].get(k) != v for k, v in want.items() if k != "image"):
                self.ctl.manager.write("INFO", "AutoscalingRunnerSet", "AutoscalingListener spec changed, "
                                       "deleting the listener", autoscalingrunnerset=_ref(ars))
                self._delete(ns, name)
            return
        labels = {L_COMPONENT: "runner-scale-set-listener", L_PART_OF: "gha-runner-scale-set",
                  L_VERSION: (meta.get("labels") or {}).get(L_VERSION, ""), L_SET_NAME: meta["name"],
                  L_SET_NS: meta["namespace"], **github_url_labels(want["githubConfigUrl"])}
        try:
            created = self.cluster.create(LISTENER, {
                "apiVersion": ARC_API, "kind": "AutoscalingListener",
                "metadata": {"name": name, "namespace": ns, "labels": labels, "finalizers": [F_LISTENER]},
                "spec": {**want, "imagePullSecrets": []}})
        except ApiError:
            return
        self.ctl.manager.write("INFO", "AutoscalingRunnerSet", "Creating a new AutoscalingListener for the "
                               "runner set", autoscalingrunnerset=_ref(ars),
                               ephemeralRunnerSetName=want["ephemeralRunnerSetName"])
        self._create_quietly("serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
            "name": name, "namespace": ns, "labels": labels, "ownerReferences": [owner_ref(created)]}})
        role_meta = {"name": name, "namespace": meta["namespace"], "labels": labels}
        rules = [{"apiGroups": ["actions.github.com"], "resources": ["ephemeralrunnersets"],
                  "resourceNames": [want["ephemeralRunnerSetName"]], "verbs": ["patch"]},
                 {"apiGroups": ["actions.github.com"], "verbs": ["patch"],
                  "resources": ["ephemeralrunners", "ephemeralrunners/status"]}]
        self._create_quietly("roles", {"apiVersion": f"{_RBAC}/v1", "kind": "Role", "metadata": role_meta,
                                       "rules": rules})
        self._create_quietly("rolebindings", {
            "apiVersion": f"{_RBAC}/v1", "kind": "RoleBinding", "metadata": role_meta,
            "roleRef": {"apiGroup": _RBAC, "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]})

    def _create_quietly(self, key: str, obj: dict) -> None:
        try:
            self.cluster.create(key, obj)
        except ApiError:
            pass

    def remove(self, ars: dict) -> bool:
        """Delete this ARS's listener; True once it is gone."""
        ns = self.where(ars)
        if self.cluster.get(LISTENER, ns, listener_name(ars)) is not None:
            self._delete(ns, listener_name(ars))
            return False
        self.ctl.listener_process.forget((ars["metadata"]["namespace"], ars["metadata"]["name"]))
        return True

    def _delete(self, ns: str, name: str) -> None:
        try:
            self.cluster.delete(LISTENER, ns, name)
        except ApiError:
            pass
        self.ctl.enqueue(LISTENER, ns, name)

    def reconcile(self, ns: str, name: str) -> None:
        lst = self.cluster.get(LISTENER, ns, name)
        if lst is None:
            return
        spec = lst["spec"]
        ars_ns = spec.get("autoscalingRunnerSetNamespace", "")
        ars_name = spec.get("autoscalingRunnerSetName", "")
        if lst["metadata"].get("deletionTimestamp"):
            for key in ("roles", "rolebindings"):
                if self.cluster.get(key, ars_ns, name) is not None:
                    self.cluster.delete(key, ars_ns, name)
            self.cluster.mutate(LISTENER, ns, name, lambda o: o["metadata"].__setitem__("finalizers", []))
            self.ctl.enqueue(ARS, ars_ns, ars_name)
            return
        ars = self.cluster.get(ARS, ars_ns, ars_name)
        if ars is None:
            self._delete(ns, name)
            return
        secret_name = spec.get("githubConfigSecret", "")
        secret = self.cluster.get("secrets", ars_ns, secret_name)
        if secret is None:
            error = f'secrets "{secret_name}" not found'
            self.ctl.manager.write("ERROR", "AutoscalingListener", "Failed to get GitHub config secret",
                                   autoscalinglistener={"name": name, "namespace": ns}, error=error)
            self.ctl.events.warning(ars, "FailedGetSecret", f"failed to get secret {secret_name!r} in "
                                    f"namespace {ars_ns!r}: {error}", "autoscalinglistener-controller")
            self.ctl.requeue(LISTENER, ns, name, SECRET_RETRY_SECONDS)
            return
        self._mirror_config(lst, secret)
        pod = self.cluster.get("pods", ns, name)
        if pod is None:
            self._create_pod(lst)
        elif not pod["metadata"].get("deletionTimestamp") and \
                (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            uid = pod["metadata"]["uid"]
            self.ctl.after(REACT_SECONDS, lambda: self._replace(ns, name, uid))

    def _replace(self, ns: str, name: str, uid: str) -> None:
        pod = self.cluster.get("pods", ns, name)
        if pod is None or pod["metadata"]["uid"] != uid:
            return
        self.ctl.manager.write("INFO", "AutoscalingListener", "Listener pod is terminated",
                               autoscalinglistener={"name": name, "namespace": ns},
                               reason=(pod.get("status") or {}).get("phase"))
        try:
            self.cluster.delete("pods", ns, name)
        except ApiError:
            pass

    def _mirror_config(self, lst: dict, secret: dict) -> None:
        """`<listener>-config` holds what the listener reads at start (credentials included), copied from the
        githubConfigSecret.

        Re-sync: every reconcile of the listener copies the githubConfigSecret again, and the listener
        reconciles whenever that Secret changes and whenever its pod is recreated (deleted by someone, or
        replaced after its container exited). So a listener pod always starts with the Secret as it is now:
        rewrite the token, delete the listener pod, and the new pod reads the new token. That is ARC
        0.14.2, the version simulated; up to 0.14.1 the config Secret was not re-synced (F27: there one had
        to delete the AutoscalingListener itself). Values are copied untrimmed, PAT and App fields alike,
        so the listener still sees a stray newline or both kinds of credentials."""
        spec, meta = lst["spec"], lst["metadata"]
        values = decode_secret(secret) or {}
        credentials: dict = {}
        if "github_token" in values:
            credentials["token"] = values["github_token"]
        if any(k in values for k in APP_KEYS) or not credentials:
            credentials["appConfig"] = {k: values.get(k, "") for k in APP_KEYS}
        config = {"configureUrl": spec.get("githubConfigUrl"), "ephemeralRunnerSetNamespace": spec.get(
            "autoscalingRunnerSetNamespace"), "ephemeralRunnerSetName": spec.get("ephemeralRunnerSetName"),
            "maxRunners": spec.get("maxRunners"), "minRunners": spec.get("minRunners"),
            "runnerScaleSetId": spec.get("runnerScaleSetId"), "logLevel": "debug", "logFormat": "text",
            **credentials}
        data = {"config.json": b64(json.dumps(config))}
        name = f"{meta['name']}-config"
        current = self.cluster.get("secrets", meta["namespace"], name)
        if current is None:
            self._create_quietly("secrets", {
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": data,
                "metadata": {"name": name, "namespace": meta["namespace"], "labels": meta.get("labels") or {},
                             "ownerReferences": [owner_ref(lst)]}})
        elif current.get("data") != data:
            self.cluster.mutate("secrets", meta["namespace"], name, lambda s: s.__setitem__("data", data))

    def _create_pod(self, lst: dict) -> None:
        meta = lst["metadata"]
        spec = lst["spec"]
        ars = self.cluster.get(ARS, spec.get("autoscalingRunnerSetNamespace", ""),
                               spec.get("autoscalingRunnerSetName", ""))
        container = {"name": "listener", "image": lst["spec"].get("image") or CONTROLLER_IMAGE,
                     "command": ["/ghalistener"],
                     "env": [{"name": "LISTENER_CONFIG_PATH", "value": "/etc/gha-listener/config.json"}],
                     "volumeMounts": [{"name": CONFIG_VOLUME, "mountPath": "/etc/gha-listener",
                                       "readOnly": True}]}
        if wants_metrics(ars):      # ARC: the controller's --listener-metrics-addr (:8080) as a port named metrics
            container["ports"] = [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}]
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                            "labels": dict(meta.get("labels") or {}), "ownerReferences": [owner_ref(lst)]},
               "spec": {"serviceAccountName": meta["name"], "restartPolicy": "Never",
                        "containers": [container], "volumes": [{"name": CONFIG_VOLUME,
                                     "secret": {"secretName": f"{meta['name']}-config"}}]}}
        try:
            self.cluster.create("pods", pod)
        except ApiError as exc:
            self.ctl.manager.write("ERROR", "AutoscalingListener", "Unable to create listener pod",
                                   autoscalinglistener=_ref(lst), error=exc.message)
            self.ctl.requeue(LISTENER, meta["namespace"], meta["name"], SECRET_RETRY_SECONDS)

    def secret_changed(self, ns: str, name: str) -> None:
        """A credentials Secret changed: its listeners reconcile now (a missing one may now exist)."""
        for ars_key in self.secret_users.get((ns, name), ()):
            ars = self.cluster.get(ARS, *ars_key)
            if ars is not None:
                self.ctl.enqueue(LISTENER, self.where(ars), listener_name(ars))


def read_config(cluster, pod: dict) -> dict | None:
    """The listener's config.json as its pod mounts it (the `<listener>-config` Secret), or None when the
    Secret or the file in it is missing or unreadable."""
    volume = next((v for v in pod.get("spec", {}).get("volumes") or () if v.get("name") == CONFIG_VOLUME), None)
    secret_name = ((volume or {}).get("secret") or {}).get("secretName")
    secret = cluster.get("secrets", pod["metadata"]["namespace"], secret_name) if secret_name else None
    raw = (decode_secret(secret) or {}).get("config.json")
    try:
        config = json.loads(raw) if raw else None
    except ValueError:
        return None
    return config if isinstance(config, dict) else None


def config_credentials(config: dict) -> dict[str, str]:
    """The credentials in a listener config, keyed as in the githubConfigSecret (what the fake GitHub's
    listener verdict takes)."""
    out: dict[str, str] = {}
    if isinstance(config.get("token"), str):
        out["github_token"] = config["token"]
    app = config.get("appConfig")
    if isinstance(app, dict):
        out.update({k: str(app.get(k) or "") for k in APP_KEYS if app.get(k)})
    return out


def _ref(obj: dict) -> dict:
    return {"name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"]}

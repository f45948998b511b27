"""API dicts → the slim frozen objects of kube.model, made on the watch thread.

Everything here must be fast (thousands of events per second) and must never raise: cluster objects are
untrusted input, so every field is read defensively and a projection that still fails falls back to an
object with identity only. Strings are kept as-is (the UI escapes them). Secrets keep key names and, for the
GitHub credential keys, derived facts (whitespace, token kind, a masked token), never values.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Callable
from types import MappingProxyType

from arc_top.kube import model
from arc_top.kube.fields import (
    LAST_APPLIED,
    as_dict,
    as_int,
    as_list,
    as_str,
    controller_ref,
    epoch,
    identity,
    opt_int,
    read_only,
    str_map,
    uid_of,
)
from arc_top.kube.model import EMPTY
from arc_top.kube.pods import CONTROLLER_NAMES, L_SET_NAME, pod, pod_role, pod_status

__all__ = ["CONTROLLER_NAMES", "pod_role", "pod_status", "project", "uid_of"]


# ---- ARC kinds ---------------------------------------------------------------------------------------------
def _mode(template: dict) -> str:
    spec = as_dict(template.get("spec"))
    containers = as_list(spec.get("containers")) + as_list(spec.get("initContainers"))
    for c in containers:
        c = as_dict(c)
        for env in as_list(c.get("env")):
            env = as_dict(env)
            if env.get("name") == "ACTIONS_RUNNER_CONTAINER_HOOKS":
                return "kubernetes-novolume" if "novolume" in as_str(env.get("value")) else "kubernetes"
    for c in containers:
        c = as_dict(c)
        if c.get("name") == "dind" or "dind" in as_str(c.get("image")).rsplit("/", 1)[-1]:
            return "dind"
    return "default"


def scale_set(raw: dict) -> model.ScaleSet:
    uid, ns, name, created, meta = identity(raw)
    spec, status = as_dict(raw.get("spec")), as_dict(raw.get("status"))
    labels, annotations = str_map(meta.get("labels")), str_map(meta.get("annotations"), LAST_APPLIED)
    template = as_dict(spec.get("template"))
    return model.ScaleSet(
        uid=uid, namespace=ns, name=name, created=created, mode=_mode(template),
        min_runners=as_int(spec.get("minRunners")), max_runners=opt_int(spec.get("maxRunners")),
        current=as_int(status.get("currentRunners")), pending=as_int(status.get("pendingEphemeralRunners")),
        running=as_int(status.get("runningEphemeralRunners")), failed=as_int(status.get("failedEphemeralRunners")),
        phase=as_str(status.get("phase") or status.get("state")), config_url=as_str(spec.get("githubConfigUrl")),
        config_secret=as_str(spec.get("githubConfigSecret")),
        runner_group=as_str(spec.get("runnerGroup") or annotations.get("actions.github.com/runner-group-name")),
        version=labels.get("app.kubernetes.io/version", ""), labels=labels, annotations=annotations,
        template=read_only(template), tls_configmap=_tls_configmap(spec), proxy=_proxy(spec),
        spec_changed=_spec_changed(meta))


def _tls_configmap(spec: dict) -> str:
    ref = as_dict(as_dict(as_dict(spec.get("githubServerTLS")).get("certificateFrom")).get("configMapKeyRef"))
    name = as_str(ref.get("name"))
    return f"{name}/{as_str(ref.get('key'))}" if name else ""


def _proxy(spec: dict) -> str:
    proxy = as_dict(spec.get("proxy"))
    for scheme in ("https", "http"):
        url = as_str(as_dict(proxy.get(scheme)).get("url"))
        if url:
            return re.sub(r"//[^/@]*@", "//", url)        # no user:password in what arc-top keeps
    return ""


def _spec_changed(meta: dict) -> float:
    """When spec was last written (managedFields of the main resource that own spec fields), 0.0 unknown."""
    newest = 0.0
    for entry in as_list(meta.get("managedFields"))[:32]:
        entry = as_dict(entry)
        if entry.get("subresource") or "f:spec" not in as_dict(entry.get("fieldsV1")):
            continue
        newest = max(newest, epoch(entry.get("time")))
    return newest


def runner_set(raw: dict) -> model.RunnerSet:
    uid, ns, name, created, meta = identity(raw)
    spec, status = as_dict(raw.get("spec")), as_dict(raw.get("status"))
    return model.RunnerSet(
        uid=uid, namespace=ns, name=name, created=created, owner_uid=as_str(controller_ref(meta).get("uid")),
        scale_set=as_str(as_dict(meta.get("labels")).get(L_SET_NAME)), replicas=as_int(spec.get("replicas")),
        current=as_int(status.get("currentReplicas")), pending=as_int(status.get("pendingEphemeralRunners")),
        running=as_int(status.get("runningEphemeralRunners")), failed=as_int(status.get("failedEphemeralRunners")))


def runner(raw: dict) -> model.Runner:
    uid, ns, name, created, meta = identity(raw)
    status = as_dict(raw.get("status"))
    failures = status.get("failures")
    return model.Runner(
        uid=uid, namespace=ns, name=name, created=created, owner_uid=as_str(controller_ref(meta).get("uid")),
        scale_set=as_str(as_dict(meta.get("labels")).get(L_SET_NAME)), phase=as_str(status.get("phase")),
        reason=as_str(status.get("reason")), message=as_str(status.get("message")),
        runner_id=opt_int(status.get("runnerId")), job_repository=as_str(status.get("jobRepositoryName")),
        job_workflow_ref=as_str(status.get("jobWorkflowRef")), workflow_run_id=as_str(status.get("workflowRunId")),
        job_display_name=as_str(status.get("jobDisplayName")),
        failures=len(failures) if isinstance(failures, (dict, list)) else 0,
        deleting=bool(meta.get("deletionTimestamp")))


def listener(raw: dict) -> model.Listener:
    uid, ns, name, created, _ = identity(raw)
    spec = as_dict(raw.get("spec"))
    return model.Listener(
        uid=uid, namespace=ns, name=name, created=created,
        scale_set_namespace=as_str(spec.get("autoscalingRunnerSetNamespace")),
        scale_set_name=as_str(spec.get("autoscalingRunnerSetName")), image=as_str(spec.get("image")),
        config_url=as_str(spec.get("githubConfigUrl")))



def volume(raw: dict) -> model.Volume:
    uid, ns, name, created, meta = identity(raw)
    spec, status = as_dict(raw.get("spec")), as_dict(raw.get("status"))
    owner = next((r for r in map(as_dict, as_list(meta.get("ownerReferences"))) if r.get("kind") == "Pod"), {})
    return model.Volume(
        uid=uid, namespace=ns, name=name, created=created, phase=as_str(status.get("phase")) or "Pending",
        storage_class=as_str(spec.get("storageClassName")),
        access_modes=tuple(as_str(m) for m in as_list(spec.get("accessModes"))),
        requested=as_str(as_dict(as_dict(spec.get("resources")).get("requests")).get("storage")),
        capacity=as_str(as_dict(status.get("capacity")).get("storage")), volume_name=as_str(spec.get("volumeName")),
        owner_pod=as_str(owner.get("name")))


def event(raw: dict) -> model.Event:
    uid, ns, name, created, _ = identity(raw)
    obj = as_dict(raw.get("involvedObject") or raw.get("regarding"))
    series = as_dict(raw.get("series"))
    first = epoch(raw.get("firstTimestamp")) or epoch(raw.get("eventTime")) or created
    last = (epoch(raw.get("lastTimestamp")) or epoch(series.get("lastObservedTime")) or epoch(raw.get("eventTime"))
            or first)
    source = as_dict(raw.get("source"))
    return model.Event(
        uid=uid, namespace=ns, name=name, type=as_str(raw.get("type")), reason=as_str(raw.get("reason")),
        message=as_str(raw.get("message") or raw.get("note")), object_kind=as_str(obj.get("kind")),
        object_namespace=as_str(obj.get("namespace")), object_name=as_str(obj.get("name")),
        object_uid=as_str(obj.get("uid")),
        count=as_int(raw.get("count") or series.get("count"), 1) or 1, first_seen=first, last_seen=max(first, last),
        source=as_str(source.get("component") or raw.get("reportingComponent") or raw.get("reportingController")))


# ---- kinds kept as identity + a raw body ----------------------------------------------------------------------
def _body_storage_class(raw: dict) -> dict:
    return {k: raw[k] for k in ("provisioner", "reclaimPolicy", "volumeBindingMode", "allowVolumeExpansion",
                                "parameters", "mountOptions", "allowedTopologies") if k in raw}


CREDENTIAL_KEYS = ("github_token", "github_app_id", "github_app_installation_id", "github_app_private_key")
_TOKEN_PREFIX = re.compile(r"github_pat_|[A-Za-z]{2,3}_")
_TOKEN_KINDS = {"ghp_": "classic", "github_pat_": "fine-grained"}


def _secret_value(raw: dict, key: str) -> str | None:
    """One value, decoded (stringData plain, data base64); None when absent or undecodable."""
    plain = as_dict(raw.get("stringData")).get(key)
    if type(plain) is str:
        return plain
    encoded = as_dict(raw.get("data")).get(key)
    if type(encoded) is not str:
        return None
    try:
        return base64.b64decode(encoded, validate=False).decode("utf-8", "replace")
    except (ValueError, TypeError):
        return None


def _credential_facts(key: str, value: str) -> dict:
    """What is wrong with a credential's shape, never the value itself. A PEM key's final newline is fine."""
    core = value
    if key == "github_app_private_key" and core.endswith("\n"):
        core = core[:-2] if core.endswith("\r\n") else core[:-1]
    lead, trail = core != core.lstrip(), core != core.rstrip()
    edges = core[: len(core) - len(core.lstrip())] + core[len(core.rstrip()):]
    facts: dict = {"empty": not value.strip(),
                   "whitespace": " and ".join(w for w, on in (("leading", lead), ("trailing", trail)) if on),
                   "newline": "\n" in edges or "\r" in edges}
    stripped = value.strip()
    if key == "github_app_private_key":
        facts["pem"] = "-----BEGIN" in stripped and "PRIVATE KEY-----" in stripped
    else:
        facts["inner_whitespace"] = any(c.isspace() for c in stripped)
    if key in ("github_app_id", "github_app_installation_id"):
        facts["integer"] = value.isascii() and value.isdigit()
    if key == "github_token":
        m = _TOKEN_PREFIX.match(stripped)
        prefix = m.group(0) if m else ""
        facts["kind"] = _TOKEN_KINDS.get(prefix, "other")
        facts["masked"] = prefix + "\u2026" + (stripped[-4:] if len(stripped) - len(prefix) >= 12 else "")
    return facts


def _body_secret(raw: dict) -> dict:
    """Key names, plus for the GitHub credential keys derived facts (whitespace, token kind, masked token);
    values never leave this function."""
    keys = set(as_dict(raw.get("data"))) | set(as_dict(raw.get("stringData")))
    body: dict = {"type": as_str(raw.get("type")), "keys": tuple(sorted(as_str(k) for k in keys))}
    facts = {}
    for key in CREDENTIAL_KEYS:
        if key in keys:
            value = _secret_value(raw, key)
            facts[key] = _credential_facts(key, value) if value is not None else {"undecodable": True}
    if facts:
        body["credentials"] = facts
    return body


def _body_service_account(raw: dict) -> dict:
    return {"secrets": tuple(as_str(as_dict(s).get("name")) for s in as_list(raw.get("secrets"))),
            "imagePullSecrets": tuple(as_str(as_dict(s).get("name")) for s in as_list(raw.get("imagePullSecrets"))),
            "automountServiceAccountToken": raw.get("automountServiceAccountToken")}


_BODIES: dict[str, Callable[[dict], dict]] = {
    "StorageClass": _body_storage_class,
    "NetworkPolicy": lambda raw: {"spec": as_dict(raw.get("spec"))},
    "Secret": _body_secret,
    "ServiceAccount": _body_service_account,
    "Role": lambda raw: {"rules": tuple(as_list(raw.get("rules")))},
    "ClusterRole": lambda raw: {"rules": tuple(as_list(raw.get("rules"))),
                                "aggregationRule": as_dict(raw.get("aggregationRule"))},
    "RoleBinding": lambda raw: {"roleRef": as_dict(raw.get("roleRef")),
                                "subjects": tuple(as_list(raw.get("subjects")))},
    "ClusterRoleBinding": lambda raw: {"roleRef": as_dict(raw.get("roleRef")),
                                       "subjects": tuple(as_list(raw.get("subjects")))},
    "Namespace": lambda raw: {"phase": as_str(as_dict(raw.get("status")).get("phase"))},
}
DEFAULT_KIND = {model.STORAGE_CLASSES: "StorageClass", model.NETWORK_POLICIES: "NetworkPolicy",
                model.SECRETS: "Secret", model.SERVICE_ACCOUNTS: "ServiceAccount", model.ROLES: "Role",
                model.ROLE_BINDINGS: "RoleBinding", model.NAMESPACES: "Namespace"}


def named(raw: dict, api_kind: str, kind_key: str = "") -> model.Named:
    uid, ns, name, created, meta = identity(raw)
    kind = api_kind or as_str(raw.get("kind")) or DEFAULT_KIND.get(kind_key, "")
    if kind not in _BODIES:
        kind = DEFAULT_KIND.get(kind_key, kind)
    body_fn = _BODIES.get(kind)
    body = body_fn(raw) if body_fn is not None else {}
    return model.Named(kind=kind, uid=uid, namespace=ns, name=name, created=created,
                       labels=str_map(meta.get("labels")), annotations=str_map(meta.get("annotations"), LAST_APPLIED),
                       body=MappingProxyType(body), resource_version=as_str(meta.get("resourceVersion")))


_PROJECTORS: dict[str, Callable[[dict], object]] = {
    model.SCALE_SETS: scale_set, model.RUNNER_SETS: runner_set, model.RUNNERS: runner, model.LISTENERS: listener,
    model.PODS: pod, model.VOLUMES: volume, model.EVENTS: event,
}
_CLASSES = {model.SCALE_SETS: model.ScaleSet, model.RUNNER_SETS: model.RunnerSet, model.RUNNERS: model.Runner,
            model.LISTENERS: model.Listener, model.PODS: model.Pod, model.VOLUMES: model.Volume,
            model.EVENTS: model.Event}
_EMPTY_BY_TYPE = {"str": "", "int": 0, "float": 0.0, "bool": False, "int | None": None}


def _fallback(kind_key: str, raw: dict, api_kind: str) -> object:
    """Identity only: what a projection degrades to when an object is too broken to read."""
    try:
        uid, ns, name, created, _ = identity(raw)
    except Exception:  # a junk object must never break a watch thread
        uid, ns, name, created = repr(id(raw)), "", "", 0.0
    cls = _CLASSES.get(kind_key)
    if cls is None:
        return model.Named(kind=api_kind or DEFAULT_KIND.get(kind_key, ""), uid=uid, namespace=ns, name=name,
                           created=created)
    values: dict = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            continue
        ann = str(f.type)
        values[f.name] = _EMPTY_BY_TYPE.get(ann, () if ann.startswith("tuple") else EMPTY)
    values.update(uid=uid, namespace=ns, name=name)
    if "created" in values:
        values["created"] = created
    return cls(**values)


def project(kind_key: str, raw: object, api_kind: str = "") -> object:
    """The slim object for one API dict of `kind_key` (a model kind). `api_kind` tells Role from ClusterRole
    (list items carry no `kind`). Never raises."""
    if type(raw) is not dict:
        raw = {}
    fn = _PROJECTORS.get(kind_key)
    try:
        if fn is None:
            return named(raw, api_kind, kind_key)
        return fn(raw)
    except Exception:  # see the module docstring
        return _fallback(kind_key, raw, api_kind)

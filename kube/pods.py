"""Pods: role by ARC labels, kubectl's STATUS/READY/RESTARTS, container states, and the slim projection."""

from __future__ import annotations

from collections.abc import Mapping
from sys import intern

from arc_top.kube import model
from arc_top.kube.fields import as_dict, as_int, as_list, as_str, controller_ref, identity, opt_int, pod_spec, str_map

ARC_RUNNER_MARKERS = ("actions-ephemeral-runner", "actions.github.com/scale-set-name")
CONTROLLER_NAMES = ("gha-rs-controller", "gha-runner-scale-set-controller")
L_COMPONENT = "app.kubernetes.io/component"
L_PART_OF = "app.kubernetes.io/part-of"
L_NAME = "app.kubernetes.io/name"
L_SET_NAME = "actions.github.com/scale-set-name"
L_SET_NS = "actions.github.com/scale-set-namespace"
L_RUNNER_POD = "runner-pod"



def pod_role(labels: Mapping[str, str]) -> str:
    component = labels.get(L_COMPONENT)
    if component == "runner" and any(m in labels for m in ARC_RUNNER_MARKERS):
        return "runner"
    if L_RUNNER_POD in labels:
        return "workflow"
    if component == "runner-scale-set-listener":
        return "listener"
    if labels.get(L_PART_OF) in CONTROLLER_NAMES or labels.get(L_NAME) in CONTROLLER_NAMES:
        return "controller"
    return "other"


def _terminated_reason(term: dict, prefix: str = "") -> str:
    if term.get("reason"):
        return prefix + as_str(term["reason"])
    if term.get("signal"):
        return f"{prefix}Signal:{as_str(term['signal'])}"
    return f"{prefix}ExitCode:{as_int(term.get('exitCode'))}"


def pod_status(raw: dict) -> tuple[str, int, int, int]:
    """(STATUS, ready, total, restarts) as `kubectl get pods` computes them (printPod in kubectl 1.32)."""
    return _pod_status(as_dict(raw.get("spec")), as_dict(raw.get("status")), as_dict(raw.get("metadata")))


def _pod_status(spec: dict, status: dict, meta: dict) -> tuple[str, int, int, int]:
    # (One pass over the conditions for the three kubectl looks at; no work for init containers a pod has none
    # of: a first list of 5,000 runner pods projects each in this.)
    phase = as_str(status.get("phase")) or "Pending"
    reason = as_str(status.get("reason")) or phase
    gated = initialized = ready_condition = False
    for c in as_list(status.get("conditions")):
        if type(c) is dict:
            kind = c.get("type")
            if kind == "PodScheduled":
                if c.get("reason") == "SchedulingGated":
                    gated = True
            elif kind == "Initialized":
                initialized = initialized or c.get("status") == "True"
            elif kind == "Ready":
                ready_condition = ready_condition or c.get("status") == "True"
    if gated:
        reason = "SchedulingGated"
    init_list, init_statuses = as_list(spec.get("initContainers")), as_list(status.get("initContainerStatuses"))
    total, ready, restarts, sidecar_restarts = len(as_list(spec.get("containers"))), 0, 0, 0
    initializing = False
    if init_list or init_statuses:
        init_specs = {as_str(c.get("name")): c for c in map(as_dict, init_list)}
        sidecars = {n for n, c in init_specs.items() if c.get("restartPolicy") == "Always"}
        total += len(sidecars)
        for i, cs in enumerate(map(as_dict, init_statuses)):
            count = as_int(cs.get("restartCount"))
            restarts += count
            is_sidecar = cs.get("name") in sidecars
            if is_sidecar:
                sidecar_restarts += count
            state = as_dict(cs.get("state"))
            term, waiting = state.get("terminated"), state.get("waiting")
            if type(term) is dict and as_int(term.get("exitCode")) == 0:
                continue
            if is_sidecar and cs.get("started"):
                ready += 1 if cs.get("ready") else 0
                continue
            if type(term) is dict:
                reason = _terminated_reason(term, "Init:")
            elif type(waiting) is dict and waiting.get("reason") and waiting["reason"] != "PodInitializing":
                reason = "Init:" + as_str(waiting["reason"])
            else:
                reason = f"Init:{i}/{len(init_specs)}"
            initializing = True
            break
    if not initializing or initialized:
        restarts = sidecar_restarts
        has_running = False
        for cs in reversed(as_list(status.get("containerStatuses"))):
            if type(cs) is not dict:
                continue
            restarts += as_int(cs.get("restartCount"))
            state = cs.get("state")
            if type(state) is not dict:
                continue
            waiting, term = state.get("waiting"), state.get("terminated")
            if type(waiting) is dict and waiting.get("reason"):
                reason = as_str(waiting["reason"])
            elif type(term) is dict:
                reason = _terminated_reason(term)
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if ready_condition else "NotReady"
    if meta.get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    return reason, ready, total, restarts


def _container(spec: dict, cs: dict, init: bool) -> model.ContainerState:
    state, last = as_dict(cs.get("state")), as_dict(as_dict(cs.get("lastState")).get("terminated"))
    current, reason, message, exit_code = "", "", "", None
    for key in ("waiting", "running", "terminated"):
        if type(state.get(key)) is dict:
            current = key
            detail = state[key]
            reason, message = as_str(detail.get("reason")), as_str(detail.get("message"))
            if key == "terminated":
                exit_code = opt_int(detail.get("exitCode"))
            break
    if exit_code is None and last:
        exit_code = opt_int(last.get("exitCode"))
        message = message or as_str(last.get("message"))
    # ContainerState's fields, in order. Thousands of runner pods have equal containers ("runner", its image,
    # ready, running): one shared object each, as their labels are (kube.fields.str_map).
    key = (as_str(spec.get("name") or cs.get("name")), as_str(spec.get("image") or cs.get("image")), init,
           cs.get("ready") is True, as_int(cs.get("restartCount")), current, reason, exit_code, message)
    state = _STATES.get(key)
    if state is None:
        if len(_STATES) > _STATES_LIMIT:
            _STATES.clear()
        state = _STATES[key] = model.ContainerState(*key)
    return state


_STATES: dict[tuple, model.ContainerState] = {}
_STATES_LIMIT = 50_000


def _containers(spec: dict, status: dict) -> tuple[model.ContainerState, ...]:
    out = []
    for specs_key, status_key, init in (("initContainers", "initContainerStatuses", True),
                                        ("containers", "containerStatuses", False)):
        specs = spec.get(specs_key)
        if type(specs) is not list or not specs:
            continue
        statuses = status.get(status_key)
        by_name = {cs.get("name"): cs for cs in map(as_dict, statuses)} if type(statuses) is list else {}
        for c in map(as_dict, specs):
            out.append(_container(c, by_name.get(c.get("name"), _NO_STATUS), init))
    return tuple(out)


_NO_STATUS: dict = {}


def pod(raw: dict) -> model.Pod:
    uid, ns, name, created, meta = identity(raw)
    status = as_dict(raw.get("status"))
    raw_spec = as_dict(raw.get("spec"))        # read from; the shared copy (pod_spec) is what the Pod keeps
    labels = str_map(meta.get("labels"))
    owner = controller_ref(meta)
    text, ready, total, restarts = _pod_status(raw_spec, status, meta)
    claims = []
    volumes = raw_spec.get("volumes")
    for vol in volumes if type(volumes) is list else ():
        if type(vol) is not dict:
            continue
        if type(vol.get("persistentVolumeClaim")) is dict:
            claims.append(as_str(vol["persistentVolumeClaim"].get("claimName")))
        elif type(vol.get("ephemeral")) is dict:
            claims.append(f"{name}-{as_str(vol.get('name'))}")
    get = labels.get
    return model.Pod(
        uid=uid, namespace=ns, name=name, created=created, role=pod_role(labels),
        scale_set=get(L_SET_NAME, ""), scale_set_namespace=get(L_SET_NS, ""),
        runner_pod=get(L_RUNNER_POD, ""), owner_kind=intern(as_str(owner.get("kind"))),
        owner_name=as_str(owner.get("name")), owner_uid=as_str(owner.get("uid")),
        phase=intern(as_str(status.get("phase"))), status=intern(text), ready=ready, total=total, restarts=restarts,
        node=intern(as_str(raw_spec.get("nodeName"))),
        deleting=bool(meta.get("deletionTimestamp")), service_account=as_str(raw_spec.get("serviceAccountName")),
        claims=tuple(claims), containers=_containers(raw_spec, status), labels=labels, spec=pod_spec(raw_spec))

"""Built-in kinds' Table columns and cells, as k8s.io/kubernetes/pkg/printers/internalversion renders them
(always with the wide cells, as the server does)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

_NAME_DESC = ("Name must be unique within a namespace. Is required when creating resources, although some "
              "resources may allow a client to request the generation of an appropriate name automatically.")
AGE_DESC = ("CreationTimestamp is a timestamp representing the server time when this object was created. "
             "It is represented in RFC3339 form and is in UTC.")
INCLUDE_OBJECT = ("None", "Metadata", "Object")


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration, including its 2 s clock-skew tolerance."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


@lru_cache(maxsize=16384)
def parse_time(ts: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(ts)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _since(ts: str | None, now: float) -> str:
    """translateTimestampSince: `<unknown>` for a zero/absent time."""
    epoch = parse_time(ts) if ts else None
    return "<unknown>" if epoch is None else human_duration(now - epoch)


def column(name: str, description: str = "", type_: str = "string", priority: int = 0, fmt: str = "") -> dict:
    # metav1.TableColumnDefinition has no omitempty: the server always sends all five fields.
    return {"name": name, "type": type_, "format": fmt, "description": description, "priority": priority}


NAME = column("Name", _NAME_DESC, fmt="name")
AGE = column("Age", AGE_DESC)
CREATED_AT = column("Created At", AGE_DESC, "date")


# ---- helpers shared by printers -------------------------------------------------------------------------

def meta_of(obj: dict) -> dict:
    return obj.get("metadata") or {}


def name_of(obj: dict) -> str:
    return meta_of(obj).get("name", "")


def _age(obj: dict, now: float) -> str:
    return _since(meta_of(obj).get("creationTimestamp"), now)


def _access_modes(modes: list | None) -> str:
    modes = modes or []
    pairs = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
             ("ReadWriteOncePod", "RWOP"))
    return ",".join(short for full, short in pairs if full in modes)


def _storage_class(obj: dict) -> str:
    ann = meta_of(obj).get("annotations") or {}
    beta = ann.get("volume.beta.kubernetes.io/storage-class")
    return beta or (obj.get("spec") or {}).get("storageClassName") or ""


def _format_labels(labels: dict | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "<none>"


def _selector_string(sel: dict | None) -> str:
    """labels.Selector.String() of a metav1.LabelSelector: requirements sorted by key."""
    reqs = [(k, f"{k}={v}") for k, v in ((sel or {}).get("matchLabels") or {}).items()]
    for expr in (sel or {}).get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), sorted(expr.get("values") or [])
        text = {"In": f"{key} in ({','.join(values)})", "NotIn": f"{key} notin ({','.join(values)})",
                "Exists": key, "DoesNotExist": f"!{key}"}.get(op, f"{key} {op}")
        reqs.append((key, text))
    return ",".join(text for _, text in sorted(reqs, key=lambda r: r[0]))


def _format_selector(sel: dict | None) -> str:
    """metav1.FormatLabelSelector: `<none>` for nil or empty."""
    return (_selector_string(sel) or "<none>") if sel is not None else "<none>"


def _containers(obj: dict) -> tuple[str, str]:
    cs = ((((obj.get("spec") or {}).get("template") or {}).get("spec")) or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


# ---- pods -------------------------------------------------------------------------------------------------

POD_COLUMNS = [
    NAME,
    column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    column("Status", "The aggregate status of the containers in this pod."),
    column("Restarts", "The number of times the containers in this pod have been restarted and when the last "
                     "container in this pod has restarted."),
    AGE,
    column("IP", "podIP address allocated to the pod. Routable at least within the cluster.", priority=1),
    column("Node", "NodeName indicates in which node this pod is scheduled.", priority=1),
    column("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node.",
         priority=1),
    column("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.",
         priority=1),
]


def _has_condition(conditions: list | None, type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True" for c in conditions or [])


def _finished_at(cs: dict) -> float | None:
    term = (cs.get("lastState") or {}).get("terminated")
    return parse_time(term["finishedAt"]) if term and term.get("finishedAt") else None


def _terminated_reason(term: dict, prefix: str = "") -> str:
    if term.get("reason"):
        return prefix + term["reason"]
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


def _pod_cells(pod: dict, now: float) -> list:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    reason = status.get("reason") or phase
    conditions = status.get("conditions") or []
    if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated" for c in conditions):
        reason = "SchedulingGated"
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    sidecars = {n for n, c in init_specs.items() if c.get("restartPolicy") == "Always"}
    total, ready = len(spec.get("containers") or []) + len(sidecars), 0
    restarts = sidecar_restarts = 0
    last_restart = last_sidecar_restart = None

    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        count, finished = cs.get("restartCount", 0), _finished_at(cs)
        restarts += count
        if finished is not None and (last_restart is None or finished > last_restart):
            last_restart = finished
        is_sidecar = cs.get("name") in sidecars
        if is_sidecar:
            sidecar_restarts += count
            if finished is not None and (last_sidecar_restart is None or finished > last_sidecar_restart):
                last_sidecar_restart = finished
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and term.get("exitCode", 0) == 0:
            continue
        if is_sidecar and cs.get("started"):
            ready += 1 if cs.get("ready") else 0
            continue
        if term is not None:
            reason = _terminated_reason(term, "Init:")
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _has_condition(conditions, "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += cs.get("restartCount", 0)
            finished = _finished_at(cs)
            if finished is not None and (last_restart is None or finished > last_restart):
                last_restart = finished
            state = cs.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif term is not None:
                reason = _terminated_reason(term)
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _has_condition(conditions, "Ready") else "NotReady"

    if meta_of(pod).get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"

    restarts_cell = str(restarts)
    if restarts and last_restart is not None:
        restarts_cell = f"{restarts} ({human_duration(now - last_restart)} ago)"
    ips = status.get("podIPs") or []
    ip = (ips[0].get("ip") if ips else status.get("podIP")) or "<none>"
    gates = spec.get("readinessGates") or []
    gates_cell = "<none>"
    if gates:
        by_type = {}
        for c in conditions:
            by_type.setdefault(c.get("type"), c.get("status"))
        gates_cell = f"{sum(by_type.get(g.get('conditionType')) == 'True' for g in gates)}/{len(gates)}"
    return [meta_of(pod).get("name", ""), f"{ready}/{total}", reason, restarts_cell,
            _since(meta_of(pod).get("creationTimestamp"), now), ip, spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", gates_cell]


def pod_conditions(pod: dict) -> list | None:
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Succeeded":
        return [{"type": "Completed", "status": "True", "reason": "Succeeded",
                 "message": "The pod has completed successfully."}]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]
    return None


# ---- other built-in kinds ---------------------------------------------------------------------------------

def _pvc_cells(o: dict, now: float) -> list:
    spec, status, meta = o.get("spec") or {}, o.get("status") or {}, meta_of(o)
    phase = "Terminating" if meta.get("deletionTimestamp") else status.get("phase") or "Pending"
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = _access_modes(status.get("accessModes"))
        capacity = (status.get("capacity") or {}).get("storage", "0")
    return [meta.get("name", ""), phase, spec.get("volumeName", ""), capacity, modes, _storage_class(o),
            spec.get("volumeAttributesClassName") or "<unset>", _age(o, now),
            spec.get("volumeMode") or "<unset>"]


def _pv_cells(o: dict, now: float) -> list:
    spec, status, meta = o.get("spec") or {}, o.get("status") or {}, meta_of(o)
    claim = spec.get("claimRef")
    phase = "Terminating" if meta.get("deletionTimestamp") else status.get("phase") or "Pending"
    return [meta.get("name", ""), (spec.get("capacity") or {}).get("storage", "0"),
            _access_modes(spec.get("accessModes")), spec.get("persistentVolumeReclaimPolicy", ""), phase,
            f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else "", _storage_class(o),
            spec.get("volumeAttributesClassName") or "<unset>", status.get("reason", ""),
            _age(o, now), spec.get("volumeMode") or "<unset>"]


def _event_cells(o: dict, now: float) -> list:
    first = _since(o.get("firstTimestamp") or o.get("eventTime"), now)
    last = _since(o.get("lastTimestamp"), now) if o.get("lastTimestamp") else first
    count, series = o.get("count") or 0, o.get("series")
    if series:
        last, count = _since(series.get("lastObservedTime"), now), series.get("count", 0)
    elif not count:
        count = 1
    inv, src = o.get("involvedObject") or {}, o.get("source") or {}
    kind = (inv.get("kind") or "").lower()
    component = src.get("component") or o.get("reportingComponent") or ""
    instance = src.get("host") or o.get("reportingInstance") or ""
    target = f"{kind}/{inv['name']}" if inv.get("name") else kind
    return [last, o.get("type", ""), o.get("reason", ""), target,
            inv.get("fieldPath", ""), f"{component}, {instance}" if instance else component,
            (o.get("message") or "").strip(), first, count, name_of(o)]


def _node_cells(o: dict, now: float) -> list:
    status, meta = o.get("status") or {}, meta_of(o)
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    states = [("Ready" if ready[-1].get("status") == "True" else "NotReady") if ready else "Unknown"]
    if (o.get("spec") or {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    roles = set()
    for k, v in (meta.get("labels") or {}).items():
        if k.startswith("node-role.kubernetes.io/") and k[len("node-role.kubernetes.io/"):]:
            roles.add(k[len("node-role.kubernetes.io/"):])
        elif k == "kubernetes.io/role" and v:
            roles.add(v)
    info, addrs = status.get("nodeInfo") or {}, status.get("addresses") or []

    def addr(type_: str) -> str:
        return next((a.get("address", "") for a in addrs if a.get("type") == type_), "<none>")
    return [meta.get("name", ""), ",".join(states), ",".join(sorted(roles)) or "<none>",
            _age(o, now), info.get("kubeletVersion", ""), addr("InternalIP"),
            addr("ExternalIP"), info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def _service_external_ip(spec: dict, status: dict) -> str:
    type_, external = spec.get("type") or "ClusterIP", spec.get("externalIPs") or []
    if type_ in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if type_ == "LoadBalancer":
        ingress = (status.get("loadBalancer") or {}).get("ingress") or []
        lb = [i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")]
        return ",".join(lb + external) or "<pending>"
    if type_ == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def _service_cells(o: dict, now: float) -> list:
    spec, meta = o.get("spec") or {}, meta_of(o)
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    ports = ",".join(
        f"{p.get('port')}:{p['nodePort']}/{p.get('protocol', 'TCP')}" if p.get("nodePort")
        else f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
    return [meta.get("name", ""), spec.get("type") or "ClusterIP", ips[0] if ips else "<none>",
            _service_external_ip(spec, o.get("status") or {}), ports or "<none>",
            _age(o, now),
            _format_labels(spec.get("selector"))]


def _endpoints_cell(o: dict) -> str:
    subsets = o.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count, more = 0, False
    for ss in subsets:
        addrs = [a.get("ip", "") for a in ss.get("addresses") or []]
        for port in ss.get("ports") or [None]:
            count += len(addrs)
            for ip in addrs:
                if len(shown) == 3:
                    more = True
                    break
                if port is None:
                    shown.append(ip)
                else:
                    shown.append(f"[{ip}]:{port.get('port')}" if ":" in ip else f"{ip}:{port.get('port')}")
    text = ",".join(shown)
    return f"{text} + {count - 3} more..." if more else text


def _deployment_cells(o: dict, now: float) -> list:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    names, images = _containers(o)
    return [name_of(o), f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0),
            _age(o, now), names, images, _selector_string(spec.get("selector"))]


def _job_cells(o: dict, now: float) -> list:
    spec, status, meta = o.get("spec") or {}, o.get("status") or {}, meta_of(o)
    succeeded, parallelism = status.get("succeeded", 0), spec.get("parallelism") or 0
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    else:
        completions = f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"
    start, end = parse_time(status.get("startTime") or ""), parse_time(status.get("completionTime") or "")
    duration = "" if start is None else human_duration((now if end is None else end) - start)
    conds = status.get("conditions")
    if _has_condition(conds, "Complete"):
        state = "Complete"
    elif _has_condition(conds, "Failed"):
        state = "Failed"
    elif meta.get("deletionTimestamp"):
        state = "Terminating"
    else:
        state = next((s for s in ("Suspended", "FailureTarget", "SuccessCriteriaMet")
                      if _has_condition(conds, s)), "Running")
    names, images = _containers(o)
    return [meta.get("name", ""), state, completions, duration, _age(o, now),
            names, images, _format_selector(spec.get("selector"))]


def _storage_class_cells(o: dict, now: float) -> list:
    ann = meta_of(o).get("annotations") or {}
    default = "true" in (ann.get("storageclass.kubernetes.io/is-default-class"),
                         ann.get("storageclass.beta.kubernetes.io/is-default-class"))
    name = name_of(o) + (" (default)" if default else "")
    return [name, o.get("provisioner", ""), o.get("reclaimPolicy") or "Delete",
            o.get("volumeBindingMode") or "Immediate", bool(o.get("allowVolumeExpansion")),
            _age(o, now)]


def _created_at(o: dict, now: float) -> list:
    epoch = parse_time(meta_of(o).get("creationTimestamp") or "")
    if epoch is None:
        return [name_of(o), "0001-01-01T00:00:00Z"]
    return [name_of(o), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))]


def _binding_cells(o: dict, now: float) -> list:
    ref, by_kind = o.get("roleRef") or {}, {"User": [], "Group": [], "ServiceAccount": []}
    for s in o.get("subjects") or []:
        if s.get("kind") in by_kind:
            name = s.get("name", "")
            sa = s["kind"] == "ServiceAccount"
            by_kind[s["kind"]].append(f"{s.get('namespace', '')}/{name}" if sa else name)
    return [name_of(o), f"{ref.get('kind', '')}/{ref.get('name', '')}",
            _age(o, now), *(", ".join(v) for v in by_kind.values())]


def _count_cells(field: Callable[[dict], int]) -> Callable[[dict, float], list]:
    def cells(o: dict, now: float) -> list:
        return [name_of(o), field(o), _age(o, now)]
    return cells


def _cols(*names: str) -> list[dict]:
    """Column shorthand: "Name"/"Age" are the metadata columns, a leading "+" means `-o wide` only."""
    fixed = {"Name": NAME, "Age": AGE}
    return [fixed.get(n) or column(n.lstrip("+"), priority=int(n.startswith("+"))) for n in names]


def _status_cells(o: dict, now: float) -> list:
    return [name_of(o), (o.get("status") or {}).get("phase") or "Active", _age(o, now)]


def _secret_cells(o: dict, now: float) -> list:
    return [name_of(o), o.get("type") or "Opaque", len(o.get("data") or {}), _age(o, now)]


def _netpol_cells(o: dict, now: float) -> list:
    return [name_of(o), _format_selector((o.get("spec") or {}).get("podSelector", {})), _age(o, now)]


Printer = tuple[list[dict], Callable[[dict, float], list]]
_WIDE_WORKLOAD = ("+Containers", "+Images", "+Selector")
_BINDING = _cols("Name", "Role", "Age", "+Users", "+Groups", "+ServiceAccounts")
PRINTERS: dict[str, Printer] = {
    "pods": (POD_COLUMNS, _pod_cells),
    "namespaces": (_cols("Name", "Status", "Age"), _status_cells),
    "persistentvolumeclaims": (_cols("Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass",
                                     "VolumeAttributesClass", "Age", "+VolumeMode"), _pvc_cells),
    "persistentvolumes": (_cols("Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim",
                                "StorageClass", "VolumeAttributesClass", "Reason", "Age", "+VolumeMode"),
                          _pv_cells),
    "events": (_cols("Last Seen", "Type", "Reason", "Object", "+Subobject", "+Source", "Message",
                     "+First Seen", "+Count") + [column("Name", _NAME_DESC, priority=1, fmt="name")],
               _event_cells),
    "nodes": (_cols("Name", "Status", "Roles", "Age", "Version", "+Internal-IP", "+External-IP", "+OS-Image",
                    "+Kernel-Version", "+Container-Runtime"), _node_cells),
    "secrets": (_cols("Name", "Type", "Data", "Age"), _secret_cells),
    "serviceaccounts": (_cols("Name", "Secrets", "Age"), _count_cells(lambda o: len(o.get("secrets") or []))),
    "configmaps": (_cols("Name", "Data", "Age"),
                   _count_cells(lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))),
    "services": (_cols("Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "+Selector"),
                 _service_cells),
    "endpoints": (_cols("Name", "Endpoints", "Age"),
                  lambda o, now: [name_of(o), _endpoints_cell(o), _age(o, now)]),
    "deployments.apps": (_cols("Name", "Ready", "Up-to-date", "Available", "Age", *_WIDE_WORKLOAD),
                         _deployment_cells),
    "jobs.batch": (_cols("Name", "Status", "Completions", "Duration", "Age", *_WIDE_WORKLOAD), _job_cells),
    "storageclasses.storage.k8s.io": (_cols("Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode",
                                            "AllowVolumeExpansion", "Age"), _storage_class_cells),
    "networkpolicies.networking.k8s.io": (_cols("Name", "Pod-Selector", "Age"), _netpol_cells),
    "roles.rbac.authorization.k8s.io": ([NAME, CREATED_AT], _created_at),
    "clusterroles.rbac.authorization.k8s.io": ([NAME, CREATED_AT], _created_at),
    "rolebindings.rbac.authorization.k8s.io": (_BINDING, _binding_cells),
    "clusterrolebindings.rbac.authorization.k8s.io": (_BINDING, _binding_cells),
}
# Kinds without a printer (CRDs, reviews) get the server's default convertor: Name, Created At.
DEFAULT_PRINTER: Printer = ([NAME, CREATED_AT], _created_at)

"""The `large` benchmark fleet: many scale sets with their runners already Running and listening, seeded
straight into the store in their steady state (the controller adopts them), so thousands of pods
exist within a couple of seconds. The churn loop then keeps it busy.

Parameters: `scale_sets` (20), `runners_per_set` (250), `churn_events_per_second` (200).
Every fourth scale set is in kubernetes mode (fsGroup 123, a bound work PVC per runner); the rest
use the default mode.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import uuid

from arc_top.sandbox.controller.churn import CHURN_ANNOTATION
from arc_top.sandbox.controller.common import A_SPEC_HASH, ARS, ER, ERS, rfc3339
from arc_top.sandbox.controller.images import image_id
from arc_top.sandbox.controller.runners import RUNNER_IDS, build_pod, jit_secret
from arc_top.sandbox.controller.runnerset import new_er, new_ers, spec_hash
from arc_top.sandbox.controller.volumes import bind_claim, ephemeral_claim, provisioned_volume
from arc_top.sandbox.resources import lookup
from arc_top.sandbox.store import random_suffix

NAMESPACES = ("arc-runners", "team-a", "team-b")
PODS_PER_NODE = 110


def _int(values: dict, key: str, low: int, high: int) -> int:
    try:
        number = int(values[key])
    except (TypeError, ValueError):
        raise ValueError(f"parameter {key} must be a whole number, got {values[key]!r}") from None
    if not low <= number <= high:
        raise ValueError(f"parameter {key} must be between {low} and {high}, got {number}")
    return number


def generate(values: dict) -> dict:
    """Nodes, the controller release (with the churn target) and the scale set releases."""
    sets = _int(values, "scale_sets", 1, 500)
    per_set = _int(values, "runners_per_set", 0, 5000)
    try:
        churn = max(0.0, float(values["churn_events_per_second"]))
    except (TypeError, ValueError):
        raise ValueError("parameter churn_events_per_second must be a number") from None
    nodes = [f"worker-{i + 1}" for i in range(max(3, math.ceil(sets * per_set / PODS_PER_NODE)))]
    scale_sets = []
    for i in range(sets):
        kube = i % 4 == 0
        entry = {"name": f"fleet-{i + 1:02d}", "namespace": NAMESPACES[i % len(NAMESPACES)],
                 "mode": "kubernetes" if kube else "default", "github_config_url": "{{github_url}}/arc-org",
                 "github_config_secret": "arc-github-token", "min_runners": per_set,
                 "max_runners": per_set + max(1, per_set // 10)}
        if kube:
            entry.update({"storage_class": "gp3", "fs_group": 123})
        scale_sets.append(entry)
    return {"nodes": nodes, "scale_sets": scale_sets,
            "controller": {"annotations": {CHURN_ANNOTATION: f"{churn:g}"}}}


def seed(cluster, values: dict) -> None:
    """Each scale set's ERS and its runners (ER, JIT Secret, Running pod, bound work volume)."""
    per_set = int(values["runners_per_set"])
    placement = itertools.cycle([n["metadata"]["name"] for n in cluster.list("nodes")])
    store = cluster.store
    res = {key: lookup(key) for key in (ARS, ERS, ER, "secrets", "pods", "persistentvolumeclaims",
                                        "persistentvolumes")}
    for ars in cluster.list(ARS):
        wanted = spec_hash(ars)
        meta = ars["metadata"]
        ars = cluster.mutate(ARS, meta["namespace"], meta["name"],
                             lambda o, h=wanted: o["metadata"]["annotations"].update({A_SPEC_HASH: h}))
        ers = new_ers(ars, wanted)
        ers["spec"]["replicas"] = per_set
        ers["status"] = {"currentReplicas": per_set, "pendingEphemeralRunners": 0,
                         "runningEphemeralRunners": per_set, "failedEphemeralRunners": 0, "phase": "Running"}
        ers = store.create(res[ERS], ers)
        for _ in range(per_set):
            runner_id = next(RUNNER_IDS)
            er = _create_runner(store, res[ER], new_er(ers), runner_id)
            store.create(res["secrets"], jit_secret(er, runner_id))
            node = next(placement)
            pod = build_pod(er)
            pod["spec"]["nodeName"] = node
            pod["status"] = running_status(pod, node)
            pod = store.create(res["pods"], pod)
            for vol in pod["spec"].get("volumes") or ():
                template = (vol.get("ephemeral") or {}).get("volumeClaimTemplate")
                if template is not None:
                    _bound_volume(cluster, res, ephemeral_claim(pod, vol["name"], template, None), node)


def _create_runner(store, res, er: dict, runner_id: int) -> dict:
    """An ER already registered and Running: its name is chosen here so the status can carry it."""
    meta = er["metadata"]
    for _ in range(20):
        meta["name"] = meta["generateName"] + random_suffix()
        if store.get(ER, meta["namespace"], meta["name"]) is None:
            break
    er["status"] = {"phase": "Running", "ready": True, "runnerId": runner_id, "runnerName": meta["name"]}
    return store.create(res, er)


def _bound_volume(cluster, res: dict, pvc: dict, node: str) -> None:
    sc = cluster.get("storageclasses", None, pvc["spec"].get("storageClassName") or "")
    provisioner = (sc or {}).get("provisioner", "")
    pv_name = f"pvc-{uuid.uuid4()}"
    bind_claim(pvc, pv_name, provisioner, node)
    pvc = cluster.store.create(res["persistentvolumeclaims"], pvc)
    if sc is not None:
        cluster.store.create(res["persistentvolumes"], provisioned_volume(pv_name, pvc, sc, node))


def running_status(pod: dict, node: str) -> dict:
    """A pod status as the kubelet reports a runner that started a while ago and is listening."""
    digest = hashlib.sha256(pod["metadata"]["name"].encode()).hexdigest()
    ip = f"10.244.{int(digest[:2], 16) % 250}.{int(digest[2:4], 16) % 250 + 2}"
    node_ip = f"10.0.0.{10 + int(node.rsplit('-', 1)[-1]) % 240}"
    stamp = rfc3339()
    statuses = [{"name": c["name"], "image": c.get("image", ""), "imageID": image_id(c.get("image", "")),
                 "containerID": f"containerd://{hashlib.sha256((digest + c['name']).encode()).hexdigest()}",
                 "ready": True, "restartCount": 0, "started": True,
                 "state": {"running": {"startedAt": stamp}}, "lastState": {}}
                for c in pod["spec"].get("containers") or ()]
    conditions = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}
                  for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                            "PodScheduled")]
    return {"phase": "Running", "conditions": conditions, "hostIP": node_ip, "hostIPs": [{"ip": node_ip}],
            "podIP": ip, "podIPs": [{"ip": ip}], "startTime": stamp, "qosClass": "BestEffort",
            "containerStatuses": statuses}

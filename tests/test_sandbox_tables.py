"""Server-side Tables: the cells kubectl prints verbatim must match what kube-apiserver renders."""

from __future__ import annotations

import time

import pytest

from arc_top.sandbox.crds import arc_crds
from arc_top.sandbox.errors import ApiError
from arc_top.sandbox.resources import lookup
from arc_top.sandbox.tables import human_duration, table

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
T0 = "2027-01-15T07:00:00Z"  # one hour before NOW


def ago(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - seconds))


@pytest.mark.parametrize(
    "seconds, text",
    [
        (-5, "<invalid>"),
        (-2, "<invalid>"),
        (-1.5, "0s"),
        (0, "0s"),
        (45, "45s"),
        (119, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (599, "9m59s"),
        (600, "10m"),
        (179 * 60 + 59, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 5 * 60, "3h5m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (50 * 3600, "2d2h"),
        (8 * 86400, "8d"),
        (729 * 86400, "729d"),
        (730 * 86400, "2y"),
        (731 * 86400, "2y1d"),
        (8 * 365 * 86400, "8y"),
        (9 * 365 * 86400 + 86400, "9y"),
    ],
)
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def pod(name="r1", phase="Running", statuses=None, init_specs=None, init_statuses=None, **extra) -> dict:
    spec = {"containers": [{"name": "runner", "image": "runner:1"}], "nodeName": "node-1"}
    if init_specs:
        spec["initContainers"] = init_specs
    status = {
        "phase": phase,
        "podIPs": [{"ip": "10.0.0.5"}],
        "containerStatuses": statuses if statuses is not None else [],
    }
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    status.update(extra.pop("status", {}))
    meta = {"name": name, "namespace": "arc-runners", "creationTimestamp": T0, **extra.pop("meta", {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def cs(state: dict, ready=False, restarts=0, last_state=None) -> dict:
    return {
        "name": "runner",
        "ready": ready,
        "restartCount": restarts,
        "state": state,
        "lastState": last_state or {},
    }


def pod_row(p: dict) -> list:
    return table(lookup("pods"), [p], "7", now=NOW)["rows"][0]["cells"]


RUNNING = cs({"running": {"startedAt": T0}}, ready=True)


@pytest.mark.parametrize(
    "p, status, ready",
    [
        (pod(phase="Pending", statuses=[]), "Pending", "0/1"),
        (
            pod(phase="Pending", statuses=[cs({"waiting": {"reason": "ContainerCreating"}})]),
            "ContainerCreating",
            "0/1",
        ),
        (
            pod(phase="Pending", statuses=[cs({"waiting": {"reason": "ImagePullBackOff", "message": "x"}})]),
            "ImagePullBackOff",
            "0/1",
        ),
        (pod(statuses=[RUNNING]), "Running", "1/1"),
        (
            pod(phase="Succeeded", statuses=[cs({"terminated": {"exitCode": 0, "reason": "Completed"}})]),
            "Completed",
            "0/1",
        ),
        (
            pod(phase="Failed", statuses=[cs({"terminated": {"exitCode": 1, "reason": "Error"}})]),
            "Error",
            "0/1",
        ),
        (pod(phase="Failed", statuses=[cs({"terminated": {"exitCode": 137}})]), "ExitCode:137", "0/1"),
        (pod(phase="Failed", statuses=[cs({"terminated": {"exitCode": 0, "signal": 9}})]), "Signal:9", "0/1"),
        (
            pod(
                phase="Pending",
                init_specs=[{"name": "init"}],
                init_statuses=[{"name": "init", "restartCount": 0, "state": {"running": {}}}],
                statuses=[cs({"waiting": {"reason": "PodInitializing"}})],
            ),
            "Init:0/1",
            "0/1",
        ),
        (
            pod(
                phase="Pending",
                init_specs=[{"name": "init"}],
                init_statuses=[
                    {
                        "name": "init",
                        "restartCount": 0,
                        "state": {"terminated": {"exitCode": 1, "reason": "Error"}},
                    }
                ],
            ),
            "Init:Error",
            "0/1",
        ),
        (pod(statuses=[RUNNING], meta={"deletionTimestamp": T0}), "Terminating", "1/1"),
        (pod(phase="Failed", status={"reason": "Evicted"}, statuses=[]), "Evicted", "0/1"),
    ],
)
def test_pod_status_column(p, status, ready):
    cells = pod_row(p)
    assert cells[:3] == ["r1", ready, status]
    assert cells[4] == "60m"


def test_pod_restarts_and_wide_cells():
    crashing = cs(
        {"waiting": {"reason": "CrashLoopBackOff"}},
        restarts=3,
        last_state={"terminated": {"exitCode": 1, "finishedAt": ago(120)}},
    )
    cells = pod_row(pod(statuses=[crashing]))
    assert cells == [
        "r1",
        "0/1",
        "CrashLoopBackOff",
        "3 (2m ago)",
        "60m",
        "10.0.0.5",
        "node-1",
        "<none>",
        "<none>",
    ]
    assert pod_row(pod(statuses=[RUNNING]))[3] == "0"


def test_pod_columns_and_completed_row_condition():
    t = table(lookup("pods"), [pod(phase="Succeeded", statuses=[])], "7", now=NOW)
    assert [(c["name"], c["priority"]) for c in t["columnDefinitions"]] == [
        ("Name", 0),
        ("Ready", 0),
        ("Status", 0),
        ("Restarts", 0),
        ("Age", 0),
        ("IP", 1),
        ("Node", 1),
        ("Nominated Node", 1),
        ("Readiness Gates", 1),
    ]
    assert t["columnDefinitions"][0]["format"] == "name"
    assert t["rows"][0]["conditions"][0]["reason"] == "Succeeded"


def test_include_object_modes():
    p = pod(meta={"labels": {"app": "x"}})
    res = lookup("pods")
    meta_row = table(res, [p], "9", now=NOW)["rows"][0]
    assert meta_row["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": p["metadata"],
    }
    assert table(res, [p], "9", include_object="Object", now=NOW)["rows"][0]["object"] is p
    assert "object" not in table(res, [p], "9", include_object="None", now=NOW)["rows"][0]
    with pytest.raises(ApiError) as err:
        table(res, [p], "9", include_object="Everything")
    assert err.value.code == 400


def test_table_envelope_headers_and_continue():
    t = table(lookup("pods"), [], "42", now=NOW, continue_token="abc")
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    assert t["metadata"] == {"resourceVersion": "42", "continue": "abc"} and t["rows"] == []
    watch_event = table(lookup("pods"), [pod()], "43", now=NOW, with_headers=False)
    assert "columnDefinitions" not in watch_event and len(watch_event["rows"]) == 1


def test_pvc_row():
    pvc = {
        "metadata": {"name": "r1-work", "creationTimestamp": T0},
        "spec": {
            "volumeName": "pv-1",
            "storageClassName": "standard",
            "volumeMode": "Filesystem",
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
        },
        "status": {
            "phase": "Bound",
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
        },
    }
    t = table(lookup("persistentvolumeclaims"), [pvc], "1", now=NOW)
    assert [c["name"] for c in t["columnDefinitions"]] == [
        "Name",
        "Status",
        "Volume",
        "Capacity",
        "Access Modes",
        "StorageClass",
        "VolumeAttributesClass",
        "Age",
        "VolumeMode",
    ]
    assert t["rows"][0]["cells"] == [
        "r1-work",
        "Bound",
        "pv-1",
        "1Gi",
        "RWO,RWX",
        "standard",
        "<unset>",
        "60m",
        "Filesystem",
    ]
    pending = {"metadata": {"name": "p", "creationTimestamp": T0}, "spec": {}, "status": {"phase": "Pending"}}
    assert table(lookup("persistentvolumeclaims"), [pending], "1", now=NOW)["rows"][0]["cells"][:5] == [
        "p",
        "Pending",
        "",
        "",
        "",
    ]


def test_event_row():
    ev = {
        "metadata": {"name": "r1.17a", "namespace": "arc-runners"},
        "type": "Warning",
        "reason": "BackOff",
        "involvedObject": {"kind": "Pod", "name": "r1", "fieldPath": "spec.containers{runner}"},
        "source": {"component": "kubelet", "host": "node-1"},
        "message": " Back-off pulling image \n",
        "firstTimestamp": ago(600),
        "lastTimestamp": ago(30),
        "count": 4,
    }
    t = table(lookup("events"), [ev], "1", now=NOW)
    assert [c["name"] for c in t["columnDefinitions"]][:4] == ["Last Seen", "Type", "Reason", "Object"]
    assert t["rows"][0]["cells"] == [
        "30s",
        "Warning",
        "BackOff",
        "pod/r1",
        "spec.containers{runner}",
        "kubelet, node-1",
        "Back-off pulling image",
        "10m",
        4,
        "r1.17a",
    ]
    single = {
        "metadata": {"name": "e"},
        "involvedObject": {"kind": "Pod"},
        "eventTime": ago(5)[:-1] + ".5Z",
        "reportingComponent": "arc",
    }
    cells = table(lookup("events"), [single], "1", now=NOW)["rows"][0]["cells"]
    assert cells[0] == cells[7] == "4s" and cells[3] == "pod" and cells[5] == "arc" and cells[8] == 1


def test_storage_class_default_suffix():
    sc = {
        "metadata": {
            "name": "standard",
            "creationTimestamp": T0,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "rancher.io/local-path",
        "volumeBindingMode": "WaitForFirstConsumer",
    }
    other = {
        "metadata": {"name": "fast", "creationTimestamp": T0},
        "provisioner": "x",
        "reclaimPolicy": "Retain",
        "allowVolumeExpansion": True,
    }
    rows = table(lookup("storageclasses"), [sc, other], "1", now=NOW)["rows"]
    assert rows[0]["cells"] == [
        "standard (default)",
        "rancher.io/local-path",
        "Delete",
        "WaitForFirstConsumer",
        False,
        "60m",
    ]
    assert rows[1]["cells"] == ["fast", "x", "Retain", "Immediate", True, "60m"]


def test_other_builtin_rows():
    ns = {"metadata": {"name": "arc-runners", "creationTimestamp": T0}, "status": {"phase": "Active"}}
    assert table(lookup("namespaces"), [ns], "1", now=NOW)["rows"][0]["cells"] == [
        "arc-runners",
        "Active",
        "60m",
    ]
    secret = {
        "metadata": {"name": "gh", "creationTimestamp": T0},
        "type": "Opaque",
        "data": {"a": "", "b": ""},
    }
    assert table(lookup("secrets"), [secret], "1", now=NOW)["rows"][0]["cells"] == ["gh", "Opaque", 2, "60m"]
    rb = {
        "metadata": {"name": "l", "creationTimestamp": T0},
        "roleRef": {"kind": "Role", "name": "l"},
        "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "arc-systems"}],
    }
    assert table(lookup("rolebindings"), [rb], "1", now=NOW)["rows"][0]["cells"] == [
        "l",
        "Role/l",
        "60m",
        "",
        "",
        "arc-systems/sa",
    ]
    role = table(lookup("roles"), [{"metadata": {"name": "r", "creationTimestamp": T0}}], "1", now=NOW)
    assert [c["name"] for c in role["columnDefinitions"]] == ["Name", "Created At"]
    assert role["rows"][0]["cells"] == ["r", T0]
    node = {
        "metadata": {
            "name": "n1",
            "creationTimestamp": T0,
            "labels": {"node-role.kubernetes.io/control-plane": ""},
        },
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "nodeInfo": {"kubeletVersion": "v1.32.4"},
            "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}],
        },
    }
    assert table(lookup("nodes"), [node], "1", now=NOW)["rows"][0]["cells"][:7] == [
        "n1",
        "Ready",
        "control-plane",
        "60m",
        "v1.32.4",
        "172.18.0.2",
        "<none>",
    ]


def ars(name="arc-runner-set", **spec_status) -> dict:
    return {
        "apiVersion": "actions.github.com/v1alpha1",
        "kind": "AutoscalingRunnerSet",
        "metadata": {"name": name, "namespace": "arc-runners", "creationTimestamp": T0},
        **spec_status,
    }


def test_ars_table_uses_crd_printer_columns():
    crd = arc_crds()[0]
    obj = ars(
        spec={"minRunners": 1, "maxRunners": 5},
        status={
            "currentRunners": 2,
            "pendingEphemeralRunners": 1,
            "runningEphemeralRunners": 1,
            "phase": "Running",
        },
    )
    t = table(lookup("autoscalingrunnersets"), [obj], "3", now=NOW, crd=crd)
    assert [c["name"] for c in t["columnDefinitions"]] == [
        "Name",
        "Minimum Runners",
        "Maximum Runners",
        "Current Runners",
        "State",
        "Pending Runners",
        "Running Runners",
        "Finished Runners",
        "Deleting Runners",
    ]
    assert t["columnDefinitions"][1]["type"] == "integer"
    assert t["rows"][0]["cells"] == ["arc-runner-set", 1, 5, 2, None, 1, 1, None, None]
    bare = table(lookup("autoscalingrunnersets"), [ars(spec={})], "3", now=NOW, crd=crd)
    assert bare["rows"][0]["cells"] == ["arc-runner-set"] + [None] * 8


def test_er_table_typed_cells_and_explicit_age():
    crd = arc_crds()[2]
    er = {
        "metadata": {"name": "r1", "creationTimestamp": T0},
        "spec": {"githubConfigUrl": "https://github.com/o/r"},
        "status": {"phase": "Running", "runnerId": 12, "workflowRunId": 9.0, "jobId": "77", "message": "ok"},
    }
    t = table(lookup("ephemeralrunners"), [er], "3", now=NOW, crd=crd)
    names = [c["name"] for c in t["columnDefinitions"]]
    assert names[0] == "Name" and names[-1] == "Age" and names.count("Age") == 1
    assert t["rows"][0]["cells"] == [
        "r1",
        "https://github.com/o/r",
        12,
        "Running",
        None,
        None,
        9,
        None,
        "77",
        "ok",
        "60m",
    ]


def test_custom_resource_without_columns_gets_age_and_string_rendering():
    crd = {
        "spec": {
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "additionalPrinterColumns": [
                        {"name": "Labels", "type": "string", "jsonPath": ".metadata.labels"},
                        {"name": "Flag", "type": "string", "jsonPath": ".spec.flag"},
                        {
                            "name": "App",
                            "type": "string",
                            "jsonPath": ".metadata.labels.app\\.kubernetes\\.io/name",
                        },
                    ],
                }
            ]
        }
    }
    obj = ars(spec={"flag": True})
    obj["metadata"]["labels"] = {"b": "2", "app.kubernetes.io/name": "x"}
    cells = table(lookup("autoscalingrunnersets"), [obj], "1", now=NOW, crd=crd)["rows"][0]["cells"]
    assert cells == ["arc-runner-set", "map[app.kubernetes.io/name:x b:2]", "true", "x"]
    no_columns = table(lookup("autoscalingrunnersets"), [ars()], "1", now=NOW, crd=None)
    assert [c["name"] for c in no_columns["columnDefinitions"]] == ["Name", "Age"]
    assert no_columns["rows"][0]["cells"] == ["arc-runner-set", "60m"]


def test_sidecar_init_container_counts_towards_ready():
    dind = {"name": "dind", "restartPolicy": "Always"}
    p = pod(
        init_specs=[{"name": "init-dind-externals"}, dind],
        init_statuses=[
            {"name": "init-dind-externals", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}},
            {"name": "dind", "restartCount": 1, "started": True, "ready": True, "state": {"running": {}},
             "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(300)}}},
        ],
        statuses=[RUNNING],
        status={"conditions": [{"type": "Initialized", "status": "True"}]},
    )
    assert pod_row(p)[:4] == ["r1", "2/2", "Running", "1 (5m ago)"]

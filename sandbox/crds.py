"""The four ARC CustomResourceDefinitions as the 0.14.2 chart installs them (and older, stale variants).

Printer columns follow ARC_REFERENCE §1 exactly; the schemas are structural but compact: pod templates
are `x-kubernetes-preserve-unknown-fields` objects instead of the chart's 10k-line expansion.
"""

from __future__ import annotations

from .resources import ARC_GROUP, ARC_VERSION

CONTROLLER_GEN = "v0.16.4"

_API_VERSION_DESC = (
    "APIVersion defines the versioned schema of this representation of an object. Servers should convert "
    "recognized schemas to the latest internal value, and may reject unrecognized values.")
_KIND_DESC = (
    "Kind is a string value representing the REST resource this object represents. Servers may infer this "
    "from the endpoint the client submits requests to. Cannot be updated. In CamelCase.")
_POD_TEMPLATE_DESC = "PodTemplateSpec describes the data a pod should have when created from a template"


def _obj(props: dict, description: str = "", **extra) -> dict:
    out = {"type": "object", "properties": props, **extra}
    if description:
        out["description"] = description
    return out


def _s(description: str = "") -> dict:
    return {"type": "string", **({"description": description} if description else {})}


def _i(minimum: int | None = None, description: str = "") -> dict:
    out: dict = {"type": "integer"}
    if minimum is not None:
        out["minimum"] = minimum
    if description:
        out["description"] = description
    return out


def _free(description: str) -> dict:
    """An object whose content the API server keeps as-is (pod templates, metrics config)."""
    return {"type": "object", "description": description, "x-kubernetes-preserve-unknown-fields": True}


def _string_map() -> dict:
    return {"type": "object", "additionalProperties": {"type": "string"}}


def _resource_meta() -> dict:
    return _obj({"labels": _string_map(), "annotations": _string_map()},
                "ResourceMeta carries metadata common to all internal resources")


def _proxy() -> dict:
    server = _obj({"url": _s("Required"), "credentialSecretRef": _s()})
    return _obj({"http": server, "https": server, "noProxy": {"type": "array", "items": {"type": "string"}}})


def _tls() -> dict:
    key_ref = _obj({"key": _s("The key to select."), "name": _s("Name of the referent."),
                    "optional": {"type": "boolean"}}, required=["key"])
    return _obj({"certificateFrom": _obj({"configMapKeyRef": key_ref}, "Required")})


def _vault() -> dict:
    azure = _obj({"url": _s(), "tenantId": _s(), "clientId": _s(), "certificatePath": _s()})
    return _obj({"type": _s(), "azureKeyVault": azure, "proxy": _proxy()})


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.lstrip("v").split(".")[:3] if p.isdigit())


def _ephemeral_runner_spec(v: tuple[int, ...] = (0, 14, 2)) -> dict:
    props = {
        "githubConfigUrl": _s(), "githubConfigSecret": _s(), "runnerScaleSetId": _i(),
        "proxy": _proxy(), "proxySecretRef": _s(), "githubServerTLS": _tls(),
        "metadata": _free("Standard object's metadata."),
        "spec": _free("Specification of the desired behavior of the pod."),
    }
    if v >= (0, 12):
        props["vaultConfig"] = _vault()
    if v >= (0, 14):
        props["ephemeralRunnerConfigSecretMetadata"] = _resource_meta()
    return _obj(props, "EphemeralRunnerSpec defines the desired state of EphemeralRunner")


def _runner_counts() -> dict:
    return {"pendingEphemeralRunners": _i(), "runningEphemeralRunners": _i(), "failedEphemeralRunners": _i()}


def _ars_schema(v: tuple[int, ...], with_status_phase: bool) -> dict:
    spec = {
        "githubConfigUrl": _s("Required"), "githubConfigSecret": _s("Required"), "runnerGroup": _s(),
        "runnerScaleSetName": _s(), "proxy": _proxy(), "githubServerTLS": _tls(),
        "template": _free(_POD_TEMPLATE_DESC), "minRunners": _i(0), "maxRunners": _i(0),
    }
    if v >= (0, 6):
        spec["listenerTemplate"] = _free(_POD_TEMPLATE_DESC)
    if v >= (0, 11):
        spec["listenerMetrics"] = _free("MetricsConfig holds configuration parameters for each metric type")
    if v >= (0, 12):
        spec["vaultConfig"] = _vault()
    if v >= (0, 14):
        spec["runnerScaleSetLabels"] = {"type": "array", "items": {"type": "string"}}
        spec["autoscalingListener"] = _free("AutoscalingListener customises the listener the controller makes")
        for name in ("listenerServiceAccountMetadata", "listenerRoleMetadata", "listenerRoleBindingMetadata",
                     "listenerConfigSecretMetadata", "ephemeralRunnerSetMetadata", "ephemeralRunnerMetadata",
                     "ephemeralRunnerConfigSecretMetadata"):
            spec[name] = _resource_meta()
    status = {"currentRunners": _i(), **_runner_counts()}
    status["phase" if with_status_phase else "state"] = _s()
    return _root("AutoscalingRunnerSet", "autoscalingrunnersets", _obj(
        spec, "AutoscalingRunnerSetSpec defines the desired state of AutoscalingRunnerSet"),
        _obj(status, "AutoscalingRunnerSetStatus defines the observed state of AutoscalingRunnerSet"))


def _ers_schema(v: tuple[int, ...]) -> dict:
    spec = {"replicas": _i(description="Replicas is the number of desired EphemeralRunner resources."),
            "ephemeralRunnerSpec": _ephemeral_runner_spec(v)}
    if v >= (0, 9):
        spec["patchID"] = _i()
    status = {"currentReplicas": _i(), **_runner_counts()}
    if v >= (0, 14):
        spec["ephemeralRunnerMetadata"] = _resource_meta()
        status["phase"] = _s()
    return _root("EphemeralRunnerSet", "ephemeralrunnersets",
                 _obj(spec, "EphemeralRunnerSetSpec defines the desired state of EphemeralRunnerSet"),
                 _obj(status, "EphemeralRunnerSetStatus defines the observed state of EphemeralRunnerSet"))


def _er_schema(v: tuple[int, ...]) -> dict:
    failure = {"type": "string", "format": "date-time"} if v >= (0, 12) else {"type": "boolean"}
    status = {
        "ready": {"type": "boolean", "description": "Turns true only if the runner is online."},
        "phase": _s("Phase describes phases where EphemeralRunner can be in."),
        "reason": _s(), "message": _s(), "runnerId": _i(), "runnerName": _s(),
        "failures": {"type": "object", "additionalProperties": failure},
        "jobRequestId": {"type": "integer", "format": "int64"}, "jobRepositoryName": _s(),
        "jobWorkflowRef": _s(), "workflowRunId": {"type": "integer", "format": "int64"},
        "jobDisplayName": _s(),
    }
    if v >= (0, 13):
        status["jobId"] = _s()
    return _root("EphemeralRunner", "ephemeralrunners", _ephemeral_runner_spec(v),
                 _obj(status, "EphemeralRunnerStatus defines the observed state of EphemeralRunner"))


def _listener_schema(v: tuple[int, ...] = (0, 14, 2)) -> dict:
    pull_secret = _obj({"name": _s("Name of the referent.")})
    spec = {
        "githubConfigUrl": _s("Required"), "githubConfigSecret": _s("Required"), "runnerScaleSetId": _i(1),
        "autoscalingRunnerSetNamespace": _s("Required"), "autoscalingRunnerSetName": _s("Required"),
        "ephemeralRunnerSetName": _s("Required"), "minRunners": _i(0), "maxRunners": _i(0),
        "image": _s("Required"), "imagePullSecrets": {"type": "array", "items": pull_secret},
        "proxy": _proxy(), "githubServerTLS": _tls(),
    }
    if v >= (0, 6):
        spec["template"] = _free(_POD_TEMPLATE_DESC)
    if v >= (0, 11):
        spec["metrics"] = _free("MetricsConfig holds configuration parameters for each metric type")
    if v >= (0, 12):
        spec["vaultConfig"] = _vault()
    if v >= (0, 14):
        for name in ("serviceAccountMetadata", "roleMetadata", "roleBindingMetadata", "configSecretMetadata"):
            spec[name] = _resource_meta()
    return _root("AutoscalingListener", "autoscalinglisteners",
                 _obj(spec, "AutoscalingListenerSpec defines the desired state of AutoscalingListener"),
                 _obj({}, "AutoscalingListenerStatus defines the observed state of AutoscalingListener"))


def _root(kind: str, plural: str, spec: dict, status: dict) -> dict:
    return _obj({"apiVersion": _s(_API_VERSION_DESC), "kind": _s(_KIND_DESC), "metadata": {"type": "object"},
                 "spec": spec, "status": status}, f"{kind} is the Schema for the {plural} API")


def _col(name: str, path: str, type_: str = "integer") -> dict:
    return {"jsonPath": path, "name": name, "type": type_}


_RUNNER_COLUMNS = [
    _col("Pending Runners", ".status.pendingEphemeralRunners"),
    _col("Running Runners", ".status.runningEphemeralRunners"),
    _col("Finished Runners", ".status.finishedEphemeralRunners"),
    _col("Deleting Runners", ".status.deletingEphemeralRunners"),
]

PRINTER_COLUMNS: dict[str, list[dict]] = {
    "AutoscalingRunnerSet": [
        _col("Minimum Runners", ".spec.minRunners"), _col("Maximum Runners", ".spec.maxRunners"),
        _col("Current Runners", ".status.currentRunners"), _col("State", ".status.state", "string"),
        *_RUNNER_COLUMNS,
    ],
    "EphemeralRunnerSet": [
        _col("DesiredReplicas", ".spec.replicas"), _col("CurrentReplicas", ".status.currentReplicas"),
        *_RUNNER_COLUMNS,
    ],
    "EphemeralRunner": [
        _col("GitHub Config URL", ".spec.githubConfigUrl", "string"),
        _col("RunnerId", ".status.runnerId", "number"), _col("Status", ".status.phase", "string"),
        _col("JobRepository", ".status.jobRepositoryName", "string"),
        _col("JobWorkflowRef", ".status.jobWorkflowRef", "string"),
        _col("WorkflowRunId", ".status.workflowRunId", "number"),
        _col("JobDisplayName", ".status.jobDisplayName", "string"), _col("JobId", ".status.jobId", "string"),
        _col("Message", ".status.message", "string"), _col("Age", ".metadata.creationTimestamp", "date"),
    ],
    "AutoscalingListener": [
        _col("GitHub Configure URL", ".spec.githubConfigUrl", "string"),
        _col("AutoscalingRunnerSet Namespace", ".spec.autoscalingRunnerSetNamespace", "string"),
        _col("AutoscalingRunnerSet Name", ".spec.autoscalingRunnerSetName", "string"),
    ],
}


def _crd(kind: str, plural: str, schema: dict) -> dict:
    names = {"kind": kind, "listKind": kind + "List", "plural": plural, "singular": kind.lower()}
    version = {
        "name": ARC_VERSION, "served": True, "storage": True,
        "additionalPrinterColumns": [dict(c) for c in PRINTER_COLUMNS[kind]],
        "schema": {"openAPIV3Schema": schema},
        "subresources": {"status": {}},
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{ARC_GROUP}",
                     "annotations": {"controller-gen.kubebuilder.io/version": CONTROLLER_GEN}},
        "spec": {"group": ARC_GROUP, "names": names, "scope": "Namespaced", "versions": [version],
                 "conversion": {"strategy": "None"}},
        "status": {
            "acceptedNames": dict(names),
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found"},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted"},
            ],
            "storedVersions": [ARC_VERSION],
        },
    }


def arc_crds(with_status_phase: bool = True, controller_version: str = "0.14.2") -> list[dict]:
    """Fresh CRD dicts. `with_status_phase=False` models a stale (≤0.13) ARS CRD with `status.state` only;
    `controller_version` is the chart version the CRDs come from: it gates the fields each release added (as in
    checks/crd_facts.py: listenerTemplate 0.6, patchID 0.9, metrics 0.11, vaultConfig and failure timestamps 0.12,
    ER jobId 0.13, runnerScaleSetLabels, the *Metadata fields and status.phase 0.14)."""
    v = _version_tuple(controller_version)
    return [
        _crd("AutoscalingRunnerSet", "autoscalingrunnersets", _ars_schema(v, with_status_phase)),
        _crd("EphemeralRunnerSet", "ephemeralrunnersets", _ers_schema(v)),
        _crd("EphemeralRunner", "ephemeralrunners", _er_schema(v)),
        _crd("AutoscalingListener", "autoscalinglisteners", _listener_schema(v)),
    ]


def _version(crd: dict, version: str | None) -> dict | None:
    versions = crd.get("spec", {}).get("versions") or []
    for v in versions:
        if (version is None and v.get("served", True)) or v.get("name") == version:
            return v
    return None


def crd_printer_columns(crd: dict, version: str | None = None) -> list[dict]:
    """The CRD's additionalPrinterColumns for `version` (default: first served version); [] if none."""
    v = _version(crd, version)
    return list(v.get("additionalPrinterColumns") or []) if v else []


def crd_schema(crd: dict, version: str | None = None) -> dict | None:
    """openAPIV3Schema of `version` (default: first served version)."""
    v = _version(crd, version)
    return (v.get("schema") or {}).get("openAPIV3Schema") if v else None


def schema_has(crd: dict, dotted_path: str, version: str | None = None) -> bool:
    """True when the schema declares the field, e.g. `schema_has(ars_crd, "status.phase")`."""
    node = crd_schema(crd, version)
    for part in dotted_path.split("."):
        if not isinstance(node, dict) or part not in (node.get("properties") or {}):
            return False
        node = node["properties"][part]
    return node is not None

"""The `spec` and `status` fields of ARC's four CRDs, and the ARC version whose CRDs first serve each one: what a
controller of that version writes or reads, so a served schema without one of them (or with another type) is
older than the controller (ARC605).

Source: the CRDs in `charts/gha-runner-scale-set-controller/crds/` of actions/actions-runner-controller at the
release tags gha-runner-scale-set-0.4.0, 0.5.0, 0.6.0, 0.7.0, 0.8.0, 0.9.0, 0.9.3, 0.10.0, 0.11.0, 0.12.0,
0.13.0, 0.14.0 and 0.14.2 (top-level properties of `spec` and `status` of the served version v1alpha1, their
`type`, and the value type of maps). Fields present since 0.4.0 (the oldest tag read) carry (0, 4). Fields a
later release dropped (ARS status.state and listener spec.imagePullPolicy in 0.14/0.6, ER status.runnerJITConfig
in 0.13) are left out: a CRD that still serves them is not missing anything.

Types are the schema's `type` ("map[string]" for an object whose `additionalProperties` has that type).
"""

from __future__ import annotations

from dataclasses import dataclass

ARS, ERS, ER, LISTENER = "AutoscalingRunnerSet", "EphemeralRunnerSet", "EphemeralRunner", "AutoscalingListener"
KINDS = (ARS, ERS, ER, LISTENER)
PLURALS = {ARS: "autoscalingrunnersets", ERS: "ephemeralrunnersets", ER: "ephemeralrunners",
           LISTENER: "autoscalinglisteners"}
OLDEST = (0, 4)


@dataclass(frozen=True, slots=True)
class Field:
    kind: str
    path: str                      # "status.phase"
    type: str                      # "string" | "integer" | "boolean" | "object" | "array" | "map[<type>]"
    since: tuple[int, int]         # first ARC (chart) version whose CRDs serve it
    until: tuple[int, int] | None = None   # first version that serves another type instead (None: still)


def _f(kind: str, path: str, type_: str, since: tuple[int, int] = OLDEST, until=None) -> Field:
    return Field(kind, path, type_, since, until)


_RUNNER_SPEC = (("githubConfigUrl", "string"), ("githubConfigSecret", "string"), ("proxy", "object"),
                ("githubServerTLS", "object"))
_COUNTS = (("pendingEphemeralRunners", "integer"), ("runningEphemeralRunners", "integer"),
           ("failedEphemeralRunners", "integer"))

FIELDS: tuple[Field, ...] = (
    # AutoscalingRunnerSet
    *(_f(ARS, f"spec.{n}", t) for n, t in _RUNNER_SPEC),
    _f(ARS, "spec.runnerGroup", "string"), _f(ARS, "spec.runnerScaleSetName", "string"),
    _f(ARS, "spec.template", "object"), _f(ARS, "spec.minRunners", "integer"), _f(ARS, "spec.maxRunners", "integer"),
    _f(ARS, "spec.listenerTemplate", "object", (0, 6)),
    _f(ARS, "spec.listenerMetrics", "object", (0, 11)),
    _f(ARS, "spec.vaultConfig", "object", (0, 12)),
    _f(ARS, "spec.runnerScaleSetLabels", "array", (0, 14)),
    _f(ARS, "spec.autoscalingListener", "object", (0, 14)),
    _f(ARS, "spec.listenerConfigSecretMetadata", "object", (0, 14)),
    _f(ARS, "spec.ephemeralRunnerSetMetadata", "object", (0, 14)),
    _f(ARS, "spec.ephemeralRunnerMetadata", "object", (0, 14)),
    _f(ARS, "status.currentRunners", "integer"),
    *(_f(ARS, f"status.{n}", t) for n, t in _COUNTS),
    _f(ARS, "status.phase", "string", (0, 14)),
    # EphemeralRunnerSet
    _f(ERS, "spec.replicas", "integer"), _f(ERS, "spec.ephemeralRunnerSpec", "object"),
    _f(ERS, "spec.patchID", "integer", (0, 9)),
    _f(ERS, "spec.ephemeralRunnerMetadata", "object", (0, 14)),
    _f(ERS, "status.currentReplicas", "integer"),
    *(_f(ERS, f"status.{n}", t) for n, t in _COUNTS),
    _f(ERS, "status.phase", "string", (0, 14)),
    # EphemeralRunner
    *(_f(ER, f"spec.{n}", t) for n, t in _RUNNER_SPEC),
    _f(ER, "spec.runnerScaleSetId", "integer"), _f(ER, "spec.proxySecretRef", "string"),
    _f(ER, "spec.metadata", "object"), _f(ER, "spec.spec", "object"),
    _f(ER, "spec.vaultConfig", "object", (0, 12)),
    _f(ER, "spec.ephemeralRunnerConfigSecretMetadata", "object", (0, 14)),
    _f(ER, "status.phase", "string"), _f(ER, "status.ready", "boolean"), _f(ER, "status.reason", "string"),
    _f(ER, "status.message", "string"), _f(ER, "status.runnerId", "integer"), _f(ER, "status.runnerName", "string"),
    _f(ER, "status.failures", "map[boolean]", OLDEST, (0, 12)),
    _f(ER, "status.failures", "map[string]", (0, 12)),
    _f(ER, "status.jobRequestId", "integer"), _f(ER, "status.jobRepositoryName", "string"),
    _f(ER, "status.jobWorkflowRef", "string"), _f(ER, "status.workflowRunId", "integer"),
    _f(ER, "status.jobDisplayName", "string"),
    _f(ER, "status.jobId", "string", (0, 13)),
    # AutoscalingListener
    *(_f(LISTENER, f"spec.{n}", t) for n, t in _RUNNER_SPEC),
    _f(LISTENER, "spec.runnerScaleSetId", "integer"), _f(LISTENER, "spec.autoscalingRunnerSetNamespace", "string"),
    _f(LISTENER, "spec.autoscalingRunnerSetName", "string"), _f(LISTENER, "spec.ephemeralRunnerSetName", "string"),
    _f(LISTENER, "spec.minRunners", "integer"), _f(LISTENER, "spec.maxRunners", "integer"),
    _f(LISTENER, "spec.image", "string"), _f(LISTENER, "spec.imagePullSecrets", "array"),
    _f(LISTENER, "spec.template", "object", (0, 6)),
    _f(LISTENER, "spec.metrics", "object", (0, 11)),
    _f(LISTENER, "spec.vaultConfig", "object", (0, 12)),
    _f(LISTENER, "spec.configSecretMetadata", "object", (0, 14)),
    _f(LISTENER, "spec.serviceAccountMetadata", "object", (0, 14)),
)


def expected(version: tuple[int, ...]) -> list[Field]:
    """The fields a controller of `version` relies on, in table order (kind, then spec before status)."""
    v = tuple(version[:2])
    return [f for f in FIELDS if f.since <= v and (f.until is None or v < f.until)]


def introduced_by(field: Field) -> str:
    return f"{field.since[0]}.{field.since[1]}"

"""The ARC CRDs must carry ARC 0.14.2's names, printer columns and a schema that says which fields exist."""

from __future__ import annotations

from arc_top.sandbox.crds import arc_crds, crd_printer_columns, crd_schema, schema_has


def by_kind(crds: list[dict]) -> dict[str, dict]:
    return {c["spec"]["names"]["kind"]: c for c in crds}


def columns(crd: dict) -> list[tuple[str, str, str]]:
    return [(c["name"], c["jsonPath"], c["type"]) for c in crd_printer_columns(crd)]


def test_four_crds_with_names_scope_and_status():
    crds = by_kind(arc_crds())
    assert set(crds) == {
        "AutoscalingRunnerSet",
        "EphemeralRunnerSet",
        "EphemeralRunner",
        "AutoscalingListener",
    }
    ars = crds["AutoscalingRunnerSet"]
    assert ars["apiVersion"] == "apiextensions.k8s.io/v1" and ars["kind"] == "CustomResourceDefinition"
    assert ars["metadata"]["name"] == "autoscalingrunnersets.actions.github.com"
    assert ars["metadata"]["annotations"]["controller-gen.kubebuilder.io/version"] == "v0.16.4"
    assert ars["spec"]["names"] == {
        "kind": "AutoscalingRunnerSet",
        "listKind": "AutoscalingRunnerSetList",
        "plural": "autoscalingrunnersets",
        "singular": "autoscalingrunnerset",
    }
    for crd in crds.values():
        spec = crd["spec"]
        assert spec["group"] == "actions.github.com" and spec["scope"] == "Namespaced"
        [version] = spec["versions"]
        assert version["name"] == "v1alpha1" and version["served"] and version["storage"]
        assert version["subresources"] == {"status": {}}
        assert crd["status"]["storedVersions"] == ["v1alpha1"]
        assert crd["status"]["acceptedNames"] == spec["names"]
        assert {(c["type"], c["status"]) for c in crd["status"]["conditions"]} == {
            ("Established", "True"),
            ("NamesAccepted", "True"),
        }


def test_printer_columns_match_arc_reference():
    crds = by_kind(arc_crds())
    runners = [
        ("Pending Runners", ".status.pendingEphemeralRunners", "integer"),
        ("Running Runners", ".status.runningEphemeralRunners", "integer"),
        ("Finished Runners", ".status.finishedEphemeralRunners", "integer"),
        ("Deleting Runners", ".status.deletingEphemeralRunners", "integer"),
    ]
    assert columns(crds["AutoscalingRunnerSet"]) == [
        ("Minimum Runners", ".spec.minRunners", "integer"),
        ("Maximum Runners", ".spec.maxRunners", "integer"),
        ("Current Runners", ".status.currentRunners", "integer"),
        ("State", ".status.state", "string"),
        *runners,
    ]
    assert columns(crds["EphemeralRunnerSet"]) == [
        ("DesiredReplicas", ".spec.replicas", "integer"),
        ("CurrentReplicas", ".status.currentReplicas", "integer"),
        *runners,
    ]
    assert [(n, p) for n, p, _ in columns(crds["EphemeralRunner"])] == [
        ("GitHub Config URL", ".spec.githubConfigUrl"),
        ("RunnerId", ".status.runnerId"),
        ("Status", ".status.phase"),
        ("JobRepository", ".status.jobRepositoryName"),
        ("JobWorkflowRef", ".status.jobWorkflowRef"),
        ("WorkflowRunId", ".status.workflowRunId"),
        ("JobDisplayName", ".status.jobDisplayName"),
        ("JobId", ".status.jobId"),
        ("Message", ".status.message"),
        ("Age", ".metadata.creationTimestamp"),
    ]
    assert columns(crds["EphemeralRunner"])[-1][2] == "date"
    assert columns(crds["AutoscalingListener"]) == [
        ("GitHub Configure URL", ".spec.githubConfigUrl", "string"),
        ("AutoscalingRunnerSet Namespace", ".spec.autoscalingRunnerSetNamespace", "string"),
        ("AutoscalingRunnerSet Name", ".spec.autoscalingRunnerSetName", "string"),
    ]


def test_schema_fields():
    crds = by_kind(arc_crds())
    ars = crds["AutoscalingRunnerSet"]
    for path in (
        "spec.githubConfigUrl",
        "spec.githubConfigSecret",
        "spec.template",
        "spec.listenerTemplate",
        "spec.minRunners",
        "spec.maxRunners",
        "spec.runnerScaleSetLabels",
        "status.currentRunners",
        "status.failedEphemeralRunners",
        "status.phase",
    ):
        assert schema_has(ars, path), path
    assert not schema_has(ars, "status.state") and not schema_has(ars, "spec.nope")
    spec = crd_schema(ars)["properties"]["spec"]["properties"]
    assert spec["template"]["x-kubernetes-preserve-unknown-fields"] is True
    assert spec["minRunners"] == {"type": "integer", "minimum": 0}
    er_status = crd_schema(crds["EphemeralRunner"])["properties"]["status"]["properties"]
    assert er_status["failures"]["additionalProperties"]["type"] == "string"
    assert schema_has(crds["EphemeralRunner"], "status.jobId")
    assert schema_has(crds["AutoscalingListener"], "spec.autoscalingRunnerSetNamespace")


def test_stale_crd_without_status_phase():
    ars = by_kind(arc_crds(with_status_phase=False))["AutoscalingRunnerSet"]
    assert not schema_has(ars, "status.phase")
    assert schema_has(ars, "status.state")


def test_older_controller_versions_drop_later_fields():
    crds = by_kind(arc_crds(controller_version="0.11.0"))
    assert not schema_has(crds["AutoscalingRunnerSet"], "spec.runnerScaleSetLabels")
    assert not schema_has(crds["EphemeralRunner"], "status.jobId")
    failures = crd_schema(crds["EphemeralRunner"])["properties"]["status"]["properties"]["failures"]
    assert failures["additionalProperties"]["type"] == "boolean"


def test_crds_are_fresh_copies():
    first = arc_crds()
    first[0]["spec"]["versions"][0]["additionalPrinterColumns"].clear()
    assert crd_printer_columns(arc_crds()[0])

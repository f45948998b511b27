"""Discovery: the controller(s), their namespace, the ARC version, CRD versions, legacy summerwind ARC."""

from __future__ import annotations

from arc_top.kube.config import connect
from arc_top.kube.discovery import chart_version, controller_info, discover, image_tag


def test_versions_from_image_tags_and_chart_labels():
    assert image_tag("ghcr.io/actions/gha-runner-scale-set-controller:0.14.2") == "0.14.2"
    assert image_tag("registry:5000/arc/controller:v0.9.3@sha256:abc") == "v0.9.3"
    assert image_tag("registry:5000/arc/controller") == ""
    assert chart_version("gha-rs-controller-0.14.2") == "0.14.2"
    assert chart_version("gha-runner-scale-set-controller-0.9.3") == "0.9.3"
    assert chart_version("nonsense") == ""
    pod = {"metadata": {"namespace": "arc", "name": "c", "labels": {"app.kubernetes.io/version": "0.12.1"}},
           "spec": {"containers": [{"name": "manager", "image": "mirror.local/arc-controller:latest"}]}}
    assert controller_info(pod).version == "0.12.1"          # a floating tag: the chart label tells the version
    assert controller_info({"metadata": None, "spec": {"containers": []}}).image == ""


def test_discovery_on_the_sandbox(healthy):
    info = discover(connect(healthy.kubeconfig_path))
    assert info.crd_versions == ("v1alpha1",) and info.installed and not info.legacy_summerwind
    assert [(c.namespace, c.version, c.chart_version) for c in info.controllers] == [("arc-systems", "0.14.2",
                                                                                     "0.14.2")]
    assert (info.arc_version, info.chart_version, info.controller_namespaces) == ("0.14.2", "0.14.2",
                                                                                ("arc-systems",))
    assert info.problems == () and info.server_version.startswith("v1.")


def test_legacy_summerwind_arc_is_named(healthy):
    """A summerwind CRD installed in the sandbox (as `kubectl apply` of the legacy chart would) is found."""
    from arc_top.kube import apis
    from tests.conftest import api_client

    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "runnerdeployments.actions.summerwind.dev"},
           "spec": {"group": "actions.summerwind.dev", "scope": "Namespaced",
                    "names": {"plural": "runnerdeployments", "singular": "runnerdeployment",
                              "kind": "RunnerDeployment"},
                    "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    api = api_client(healthy)
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    apis.request(api, "POST", path, body=crd).release_conn()
    try:
        info = discover(connect(healthy.kubeconfig_path))
    finally:
        apis.request(api, "DELETE", f"{path}/{crd['metadata']['name']}").release_conn()
    assert info.legacy_summerwind and info.arc_version == "0.14.2"
    assert any("summerwind" in p and "does not manage" in p for p in info.problems)


def test_discovery_reads_the_served_crd_schemas(healthy):
    """Four GETs of the ARC CRDs: their spec/status fields as the checks compare them (ARC605); the chart's own
    CRDs lack nothing the 0.14.2 controller relies on. A user who may not read CRDs (the `view` role cannot) gets a
    one-line reason, not an error."""
    from arc_top.checks.practices import schema_gaps

    info = discover(connect(healthy.kubeconfig_path))
    assert set(info.crd_kinds) == {"AutoscalingRunnerSet", "EphemeralRunnerSet", "EphemeralRunner",
                                   "AutoscalingListener"} and info.crd_schema_problem == ""
    fields = {(k, p): t for k, p, t in info.crd_fields}
    assert fields[("AutoscalingRunnerSet", "status.phase")] == "string"
    assert fields[("EphemeralRunner", "status.failures")] == "map[string]"
    assert schema_gaps(info, (0, 14, 2)) == []
    viewer = discover(connect(healthy.kubeconfig_path, context="arc-sandbox-viewer"))
    assert viewer.crd_kinds == () and "(403)" in viewer.crd_schema_problem

"""ARC601–ARC606: runner resources and image, version skew, listener images, stale CRDs, PodSecurity labels."""

from __future__ import annotations

import pytest

from tests.checks_fixtures import arc_info, codes, controller_pod, fleet, of, tail, without

PRACTICES = {f"ARC60{i}" for i in range(1, 7)}
CONTROLLER = "arc-gha-rs-controller-6d4f9-x2x7p"


def test_healthy_fleet_has_no_practice_findings():
    assert not codes(fleet()) & PRACTICES


def test_arc601_no_resources():
    [f] = of(fleet(resources=False), "ARC601")
    assert f.severity == "warning" and f.subject.kind == "AutoscalingRunnerSet"
    assert not of(fleet(), "ARC601")


@pytest.mark.parametrize("image", ["ghcr.io/actions/actions-runner:latest", "ghcr.io/actions/actions-runner",
                                   "localhost:5000/actions-runner"])
def test_arc602_unpinned_runner_image(image):
    [f] = of(fleet(image=image), "ARC602")
    assert f.severity == "info" and image in f.evidence[0]


@pytest.mark.parametrize("image", ["ghcr.io/actions/actions-runner:2.329.0", "localhost:5000/runner:2.329.0",
                                   "ghcr.io/actions/actions-runner@sha256:" + "a" * 64])
def test_arc602_pinned_images_are_fine(image):
    assert not of(fleet(image=image), "ARC602")


def test_arc603_chart_and_controller_differ_in_major_minor():
    [f] = of(fleet(ars_version="0.13.1"), "ARC603")
    assert "0.13.1" in f.evidence[0] and "0.14.2" in f.evidence[1]
    assert not of(fleet(ars_version="0.14.0"), "ARC603")
    assert of(fleet(ars_version="0.11.0"), "ARC603", arc=arc_info("0.11.1"))       # exact match before 0.12
    assert not of(fleet(ars_version="0.11.0"), "ARC603", arc=arc_info("0.11.0"))


def test_arc603_quotes_the_controller_log():
    line = ("2026-01-01T00:00:00Z\tINFO\tAutoscalingRunnerSet\tAutoscaling runner set version doesn't match the "
            "build version. Deleting the resource.")
    [f] = of(fleet(ars_version="0.12.0"), "ARC603", logs=[tail(CONTROLLER, [line], ns="arc-systems",
                                                                container="manager")])
    assert "doesn't match the build version" in f.evidence[-1]


def test_arc603_uses_the_controller_pods_without_discovery():
    assert of(fleet(ars_version="0.13.0"), "ARC603", arc=None)


def test_arc604_listener_image_differs():
    old = "ghcr.io/actions/gha-runner-scale-set-controller:0.13.0"
    [f] = of(fleet(listener_image=old), "ARC604")
    assert f.subject.kind == "AutoscalingListener" and f.subject.uid and f.scale_set == "arc-runners/arc-runner-set"
    assert "0.13.0" in f.evidence[0]
    assert not of(fleet(), "ARC604")
    assert not of(without(fleet(listener_image=old), "Pod", CONTROLLER), "ARC604", arc=None)   # nothing to compare


def test_arc605_status_phase_dropped_by_old_crds():
    [f] = of(fleet(phase=None), "ARC605")
    assert "status.phase is missing" in f.evidence[0]
    assert not of(fleet(), "ARC605")
    assert not of(fleet(phase=None), "ARC605", arc=arc_info("0.13.0"))


def test_arc605_cannot_decide_without_a_controller_version():
    raws = without(fleet(phase=None), "Pod", CONTROLLER)
    assert not of(raws, "ARC605", arc=None)
    assert any("ARC605" in f.title for f in of(raws, "ARC000", arc=None))


def test_arc605_from_the_controller_log():
    line = ("json: cannot unmarshal bool into Go struct field EphemeralRunnerStatus.items.status.failures of type "
            "string")
    [f] = of(fleet(), "ARC605", logs=[tail(CONTROLLER, [line], ns="arc-systems", container="manager")])
    assert f.subject.kind == "Pod" and "cannot unmarshal" in f.evidence[0]


def test_arc606_namespace_without_pod_security_labels():
    [f] = of(fleet(enforce=None), "ARC606")
    assert f.severity == "info" and f.subject.kind == "Namespace" and f.subject.name == "arc-runners"
    assert not of(fleet(), "ARC606")


def test_controller_pod_helper_defaults():
    assert controller_pod()["status"]["phase"] == "Running"

"""ARC605 from the served CRD schemas: each spec/status field a controller version relies on (checks/crd_facts.py)
is compared with the served schema, and the first missing or mistyped one is named; CRDs the server cannot show
are ARC000, never a guess."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from arc_top.checks import crd_facts
from arc_top.kube.discovery import crd_fields
from arc_top.sandbox.crds import arc_crds
from tests.checks_fixtures import arc_info, fleet, of


def _arc(crds: list[dict], version: str = "0.14.2", problem: str = ""):
    fields, kinds = [], []
    for crd in crds:
        kind, found = crd_fields(crd)
        kinds.append(kind)
        fields += found
    return dataclasses.replace(arc_info(version), crd_fields=tuple(fields), crd_kinds=tuple(kinds),
                               crd_schema_problem=problem)


@pytest.mark.parametrize("version", ["0.9.3", "0.11.0", "0.12.1", "0.13.0", "0.14.0", "0.14.2"])
def test_the_crds_of_the_controllers_own_version_are_complete(version):
    assert not of(fleet(), "ARC605", arc=_arc(arc_crds(with_status_phase=version >= "0.14",
                                                       controller_version=version), version))


def test_crds_left_at_0_11_under_a_0_14_controller_name_the_first_missing_field():
    [f] = of(fleet(), "ARC605", arc=_arc(arc_crds(with_status_phase=False, controller_version="0.11.0")))
    assert f.subject.kind == "CustomResourceDefinition" and f.subject.name == "autoscalingrunnersets.actions.github.com"
    assert f.evidence[0] == ("first gap: AutoscalingRunnerSet spec.vaultConfig is missing (served since 0.12) "
                             "(controller 0.14.2)")
    assert f.evidence[1].startswith("and ") and "spec.runnerScaleSetLabels is missing" in f.evidence[1]


def test_a_mistyped_field_is_named_with_both_types():
    crds = arc_crds(controller_version="0.12.1")
    er = next(c for c in crds if c["spec"]["names"]["kind"] == "EphemeralRunner")
    status = er["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    status["failures"]["additionalProperties"] = {"type": "boolean"}      # as 0.11 served it
    [f] = of(fleet(), "ARC605", arc=_arc(crds, "0.12.1"))
    assert f.evidence[0] == ("first gap: EphemeralRunner status.failures has type map[boolean], 0.12+ needs "
                             "map[string] (controller 0.12.1)")
    assert f.subject.name == "ephemeralrunners.actions.github.com"


def test_only_the_crds_that_were_read_are_compared_and_extra_fields_are_fine():
    crds = arc_crds()
    er = copy.deepcopy(next(c for c in crds if c["spec"]["names"]["kind"] == "EphemeralRunner"))
    er["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]["extra"] = {
        "type": "string"}
    assert not of(fleet(), "ARC605", arc=_arc([er]))


def test_schemas_that_could_not_be_read_are_arc000_with_the_reason():
    arc = _arc([], problem="may not read customresourcedefinitions (403): the CRD schemas were not compared")
    assert not of(fleet(), "ARC605", arc=arc)
    [f] = [f for f in of(fleet(), "ARC000", arc=arc) if "ARC605" in f.title]
    assert "customresourcedefinitions (403)" in f.title


def test_the_table_is_ordered_and_every_field_has_a_version():
    assert crd_facts.expected((0, 4))[0].kind == "AutoscalingRunnerSet"
    for field in crd_facts.FIELDS:
        assert field.kind in crd_facts.KINDS and field.path.split(".", 1)[0] in ("spec", "status")
        assert crd_facts.OLDEST <= field.since and (field.until is None or field.since < field.until)
    paths = [(f.kind, f.path) for f in crd_facts.expected((0, 14))]
    assert len(paths) == len(set(paths))     # one type per field and version
    assert ("EphemeralRunner", "status.jobId") not in [(f.kind, f.path) for f in crd_facts.expected((0, 12))]


def test_junk_crds_project_to_nothing():
    for junk in ({}, {"spec": None}, {"spec": {"group": "actions.github.com"}},
                 {"spec": {"group": "actions.github.com", "names": {"kind": "X"}, "versions": [None, 3]}},
                 {"spec": {"group": "other.io", "names": {"kind": "X"}, "versions": [{"name": "v1"}]}}):
        assert crd_fields(junk) == ("", ())

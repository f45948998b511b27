"""The engine: every check runs, findings come sorted and deduplicated, a broken check becomes ARC000, junk objects
never crash a check, and a large fleet does not produce a flood."""

from __future__ import annotations

import copy
import random

import pytest

from arc_top import checks
from arc_top.checks import registry
from arc_top.checks.finding import RANK, Finding
from arc_top.kube import model
from tests.checks_fixtures import NOW, codes, fleet, run, runner, runner_template, snapshot


@pytest.mark.parametrize("mode, enforce", [("kubernetes", "baseline"), ("kubernetes-novolume", "baseline"),
                                           ("dind", "privileged"), ("default", "restricted")])
def test_healthy_fleets_have_no_findings(mode, enforce):
    assert run(fleet(mode=mode, enforce=enforce)) == []


def test_no_scale_sets_no_findings():
    assert checks.run(snapshot([]), now=NOW) == []


def test_findings_are_sorted_worst_first_and_unique():
    raws = fleet(fs_group=None, resources=False, image="runner:latest", enforce=None, storage_class="fast-ssd")
    found = run(raws)
    assert [f.sort_key() for f in found] == sorted(f.sort_key() for f in found)
    assert [RANK[f.severity] for f in found] == sorted(RANK[f.severity] for f in found)
    keys = [(f.code, f.subject, f.scale_set, f.title) for f in found]
    assert len(keys) == len(set(keys))
    assert {"ARC201", "ARC501", "ARC601", "ARC602", "ARC606"} <= {f.code for f in found}


def test_every_finding_is_worded_from_the_catalogue():
    raws = fleet(fs_group=None, resources=False, image="runner:latest", enforce=None, storage_class="fast-ssd")
    for f in run(raws):
        entry = checks.CODES[f.code]
        assert f.docs == entry.docs and f.docs.startswith("https://")
        assert f.explanation.startswith(entry.explanation) and f.fix and f.title
        assert all(isinstance(e, str) and "\n" not in e and len(e) <= 240 for e in f.evidence)


def test_a_check_that_raises_becomes_arc000_naming_it(monkeypatch):
    def broken(ctx):
        raise KeyError("boom")
        yield  # pragma: no cover

    monkeypatch.setattr(registry, "CHECKS", [*registry.CHECKS, registry.Check("storage.broken", ("ARC299",), broken)])
    monkeypatch.setattr(checks.engine, "CHECKS", registry.CHECKS)
    found = run(fleet())
    [f] = [f for f in found if f.code == "ARC000"]
    assert f.severity == "info" and "storage.broken" in f.title and "ARC299" in f.title
    assert f.evidence == ("KeyError: 'boom'",) and "Traceback" not in repr(f)


def test_a_check_that_raises_midway_keeps_nothing_half_done(monkeypatch):
    def half(ctx):
        yield checks.catalogue.finding("ARC601", checks.Subject("Pod", "a", "b"))
        raise RuntimeError("late")

    monkeypatch.setattr(checks.engine, "CHECKS", [registry.Check("x.half", ("ARC601",), half)])
    assert [f.code for f in run(fleet())] == ["ARC000"]


JUNK_VALUES = [None, 0, -1, 1.5, True, "", "x", [], [None], {}, {"a": None}, [{"name": 1}], 10**30, "\x1b[31m"]


def _scramble(value, rng: random.Random, depth: int = 0):
    """Replace random leaves and sub-documents with junk of the wrong type."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ("kind",):
                out[k] = v
            elif k == "metadata" and depth == 0:
                out[k] = {**v, **({"labels": rng.choice(JUNK_VALUES)} if rng.random() < 0.2 else {})}
            elif rng.random() < 0.15:
                out[k] = rng.choice(JUNK_VALUES)
            else:
                out[k] = _scramble(v, rng, depth + 1)
        return out
    if isinstance(value, list):
        return [_scramble(v, rng, depth + 1) if rng.random() > 0.1 else rng.choice(JUNK_VALUES) for v in value]
    return value


@pytest.mark.parametrize("seed", range(25))
def test_junk_objects_never_crash_a_check(seed):
    rng = random.Random(seed)
    raws = fleet(runners=3, fs_group=None) + fleet(name="dind-set", mode="dind", runners=1)
    raws = [_scramble(copy.deepcopy(o), rng) for o in raws]
    found = run(raws)
    assert not [f for f in found if f.code == "ARC000" and "failed" in f.title], found


@pytest.mark.parametrize("kind", sorted({"AutoscalingRunnerSet", "EphemeralRunnerSet", "EphemeralRunner",
                                         "AutoscalingListener", "Pod", "PersistentVolumeClaim", "Event",
                                         "StorageClass", "NetworkPolicy", "Secret", "ServiceAccount", "Role",
                                         "ClusterRole", "RoleBinding", "ClusterRoleBinding", "Namespace"}))
def test_every_kind_of_junk_dict(kind):
    junk = [{"kind": kind}, {"kind": kind, "metadata": None, "spec": "x", "status": [1]},
            {"kind": kind, "metadata": {"name": 5, "namespace": ["a"], "labels": "l"}, "spec": {"template": 3},
             "rules": "all", "subjects": {"kind": "x"}, "roleRef": [], "data": {"github_token": 12}},
            {"kind": kind, "metadata": {"name": "x", "namespace": "arc-runners"},
             "spec": {"template": {"spec": {"containers": [None, {"name": "runner", "env": "x", "resources": []}],
                                            "volumes": [{"name": "work", "ephemeral": 1}],
                                            "securityContext": "root", "initContainers": [{"command": 5}]}},
                      "podSelector": "all", "policyTypes": "Egress", "egress": [{"ports": "x", "to": 1}]}}]
    found = run(fleet() + junk)
    assert not [f for f in found if f.code == "ARC000" and "failed" in f.title], found


def test_a_large_fleet_gives_capped_findings():
    raws = fleet(runners=0, min_runners=1)
    tmpl = runner_template("kubernetes", "arc-runner-set")
    for i in range(600):
        raws += runner("arc-runner-set", "arc-runners", f"arc-runner-set-h8ff4-runner-{i:05d}", tmpl,
                       "arc-runner-set-h8ff4", phase="Pending", pod_phase="Pending", age=3600, node="")
    by_code: dict[str, int] = {}
    for f in run(raws):
        by_code[f.code] = by_code.get(f.code, 0) + 1
    assert by_code["ARC405"] == 10 and by_code.get("ARC401", 0) <= 1 and max(by_code.values()) <= 10


def test_kinds_not_yet_synced_are_waited_for():
    snap = snapshot(fleet(), states={k: "syncing" for k in model.KINDS})
    found = checks.run(snap, now=NOW)
    assert found and all(f.code == "ARC000" or f.severity != "error" for f in found)


def test_public_api():
    assert callable(checks.run) and isinstance(checks.CODES, dict)
    assert checks.match_log_line("Bad credentials").code == "ARC403"
    assert codes([]) == set() and all(isinstance(f, Finding) for f in run(fleet(resources=False)))


def test_log_facts_change_with_what_the_checks_read_of_the_tails_and_only_then():
    """checks.engine.log_facts stands for the tails in the checks loop's "did anything change" key: tails with equal
    facts must give equal findings (else a re-read tail would leave stale findings), and a failure line, in a
    runner's tail or the controller's, must change them (else it would never show)."""
    from arc_top.checks.engine import log_facts
    from tests.checks_fixtures import controller_pod, tail

    ers = "arc-runner-set-h8ff4"
    denied = ("[RUNNER 2026-01-01 00:00:00Z ERR  Runner] System.UnauthorizedAccessException: Access to the path "
              "'/home/runner/_work/_tool' is denied.")
    manager = controller_pod()["metadata"]["name"]           # (the fleet's controller)
    failing = '2026-01-01T00:00:00Z\tERROR\tReconciler error\t{"error": "failed to create runner: quota exceeded"}'
    variants = {
        "one runner, started": [tail(f"{ers}-runner-00000", ["Listening for Jobs"])],
        "one runner, grown by an ordinary line": [tail(f"{ers}-runner-00000", ["Listening for Jobs",
                                                                                "Running job: build"])],
        "two runners, no failure line": [tail(f"{ers}-runner-00000", ["Listening for Jobs"]),
                                         tail(f"{ers}-runner-00001", ["Listening for Jobs"])],
        "a failure line": [tail(f"{ers}-runner-00000", ["Listening for Jobs", denied])],
        "the failure line, and more": [tail(f"{ers}-runner-00000", ["Listening for Jobs", denied, "Cleaning up"])],
        "the controller, quiet": [tail(f"{ers}-runner-00000", ["Listening for Jobs"]),
                                  tail(manager, ["starting manager"], ns="arc-systems", container="manager")],
        "the controller, failing": [tail(f"{ers}-runner-00000", ["Listening for Jobs"]),
                                    tail(manager, ["starting manager", failing], ns="arc-systems",
                                         container="manager")],
    }
    snap = snapshot(fleet(fs_group=None))
    facts = {name: log_facts(snap, logs) for name, logs in variants.items()}
    found = {name: checks.run(snap, now=NOW, logs=logs) for name, logs in variants.items()}
    for a in variants:
        for b in variants:
            if facts[a] == facts[b]:
                assert found[a] == found[b], (a, b)
    started = facts["one runner, started"]
    assert facts["one runner, grown by an ordinary line"] == started == facts["two runners, no failure line"]
    assert facts["a failure line"] != started and facts["the failure line, and more"] == facts["a failure line"]
    assert facts["the controller, quiet"] != started != facts["the controller, failing"]
    assert facts["the controller, failing"] != facts["the controller, quiet"]
    assert found["a failure line"] != found["one runner, started"]      # (the facts told a real change)

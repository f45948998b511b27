"""ARC201–ARC206: the kube-mode work volume, its class, claims stuck Pending, RWO attach problems."""

from __future__ import annotations

from arc_top.kube import model
from tests.checks_fixtures import (
    codes,
    event,
    fleet,
    of,
    pod,
    pvc,
    replace,
    runner,
    runner_template,
    set_labels,
    storageclass,
    without,
)

WORK = "spec.template.spec.volumes"


def _claim(raws, fn):
    def edit(ars):
        for vol in ars["spec"]["template"]["spec"]["volumes"]:
            if vol["name"] == "work":
                fn(vol["ephemeral"]["volumeClaimTemplate"]["spec"])
    return replace(raws, "AutoscalingRunnerSet", "arc-runner-set", edit)


def test_healthy_kube_mode_has_no_storage_findings():
    assert not codes(fleet()) & {"ARC201", "ARC202", "ARC203", "ARC204", "ARC205", "ARC206"}


# ---- ARC201 / ARC202 / ARC206 -------------------------------------------------------------------------------------
def test_arc201_missing_class():
    raws = fleet(storage_class="fast-ssd")
    [f] = of(raws, "ARC201")
    assert f.subject.kind == "AutoscalingRunnerSet" and '"fast-ssd"' in f.evidence[0]
    assert "gp3" in f.evidence[1] and "'gp3'" in f.fix
    assert not of(fleet(storage_class="arc-work"), "ARC201")


def test_arc201_quotes_the_provisioning_event():
    raws = fleet(storage_class="fast-ssd") + [event("PersistentVolumeClaim", "arc-runners",
                                                    "arc-runner-set-h8ff4-runner-00000-work", "ProvisioningFailed",
                                                    'storageclass.storage.k8s.io "fast-ssd" not found')]
    [f] = of(raws, "ARC201")
    assert any("ProvisioningFailed" in e for e in f.evidence)


def test_arc202_no_class_and_no_default():
    raws = without(fleet(storage_class=None), "StorageClass", "gp3")
    [f] = of(raws, "ARC202")
    assert "none is marked default" in f.evidence[1]
    assert not of(fleet(storage_class=None), "ARC202")          # gp3 is the default


def test_arc206_default_class_used():
    [f] = of(fleet(storage_class=None), "ARC206")
    assert f.severity == "info" and "gp3" in f.evidence[0]
    [f] = of(fleet(storage_class="gp3"), "ARC206")
    assert not of(fleet(), "ARC206")


def test_explicit_empty_class_asks_for_static_volumes_and_is_left_alone():
    raws = _claim(fleet(), lambda c: c.update(storageClassName=""))
    assert not codes(raws) & {"ARC201", "ARC202", "ARC206"}


def test_storage_classes_unreadable_give_arc000():
    found = of(fleet(storage_class="fast-ssd"), "ARC000", states={model.STORAGE_CLASSES: "forbidden"})
    assert found and "storage classes" in found[0].title
    assert not of(fleet(storage_class="fast-ssd"), "ARC201", states={model.STORAGE_CLASSES: "forbidden"})


# ---- ARC204 ------------------------------------------------------------------------------------------------
def test_arc204_claim_template_incomplete():
    [f] = of(_claim(fleet(), lambda c: c.pop("accessModes")), "ARC204")
    assert "accessModes" in f.evidence[0]
    [f] = of(_claim(fleet(), lambda c: c.pop("resources")), "ARC204")
    assert "storage" in f.evidence[0]


def test_arc204_no_work_volume_or_not_a_claim():
    no_volume = replace(fleet(), "AutoscalingRunnerSet", "arc-runner-set",
                        lambda o: o["spec"]["template"]["spec"].pop("volumes"))
    assert of(no_volume, "ARC204")
    empty_dir = replace(fleet(), "AutoscalingRunnerSet", "arc-runner-set",
                        lambda o: o["spec"]["template"]["spec"].update(volumes=[{"name": "work", "emptyDir": {}}]))
    [f] = of(empty_dir, "ARC204")
    assert "emptyDir" in f.evidence[0]
    assert not of(fleet(), "ARC204")


# ---- ARC203 ------------------------------------------------------------------------------------------------
def _pending(raws, *, age=30, node="", events=(), phase="Pending", storage_class="arc-work"):
    tmpl = runner_template("kubernetes", "arc-runner-set")
    items = runner("arc-runner-set", "arc-runners", "arc-runner-set-h8ff4-runner-pend1", tmpl,
                   "arc-runner-set-h8ff4", phase="Pending", pod_phase="Pending", age=age, node=node)
    items = [o for o in items if o["kind"] != "PersistentVolumeClaim"]
    items.append(pvc("arc-runner-set-h8ff4-runner-pend1-work", "arc-runners", "arc-runner-set-h8ff4-runner-pend1",
                     phase=phase, age=age, storage_class=storage_class))
    return raws + items + list(events)


def test_arc203_pending_claim_with_a_failure_event_fires_at_once_on_the_claim():
    ev = event("PersistentVolumeClaim", "arc-runners", "arc-runner-set-h8ff4-runner-pend1-work",
               "ProvisioningFailed", 'failed to provision volume with StorageClass "arc-work": quota', count=4)
    [f] = of(_pending(fleet(), events=[ev]), "ARC203")
    assert f.subject.kind == "PersistentVolumeClaim" and f.subject.uid == "uid-arc-runners-arc-runner-set-h8ff4-" \
                                                                          "runner-pend1-work"
    assert f.scale_set == "arc-runners/arc-runner-set"
    assert any("ProvisioningFailed" in e and "(x4)" in e for e in f.evidence)


def test_arc203_wait_for_first_consumer_before_scheduling_is_fine():
    assert not of(_pending(fleet(), age=3600), "ARC203")           # pod not scheduled, WFFC class
    assert of(_pending(fleet(), age=3600, node="worker-1"), "ARC203")      # scheduled, still Pending: stuck
    assert not of(_pending(fleet(), age=30, node="worker-1"), "ARC203")    # within the grace period
    assert not of(_pending(fleet(), age=3600, node="worker-1", phase="Bound"), "ARC203")


def test_arc203_immediate_class_pending_past_grace():
    raws = fleet() + [storageclass("immediate", binding="Immediate")]
    assert of(_pending(raws, age=3600, storage_class="immediate"), "ARC203")


def test_arc203_floods_are_capped():
    raws = fleet()
    tmpl = runner_template("kubernetes", "arc-runner-set")
    for i in range(40):
        name = f"arc-runner-set-h8ff4-runner-p{i:04d}"
        raws += [o for o in runner("arc-runner-set", "arc-runners", name, tmpl, "arc-runner-set-h8ff4",
                                   phase="Pending", pod_phase="Pending", age=600, node="worker-1")
                 if o["kind"] != "PersistentVolumeClaim"]
        raws.append(pvc(f"{name}-work", "arc-runners", name, phase="Pending", age=600))
    found = of(raws, "ARC203")
    assert len(found) == 10 and "and 30 more like this" in found[-1].evidence[-1]


# ---- ARC205 ------------------------------------------------------------------------------------------------
def _env(raws, name, value):
    def edit(ars):
        ars["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": name, "value": value})
    return replace(raws, "AutoscalingRunnerSet", "arc-runner-set", edit)


def test_arc205_kube_scheduler_with_rwo():
    [f] = of(_env(fleet(), "ACTIONS_RUNNER_USE_KUBE_SCHEDULER", "true"), "ARC205")
    assert f.severity == "warning" and "ReadWriteOnce" in f.evidence[1]
    rwx = _claim(_env(fleet(), "ACTIONS_RUNNER_USE_KUBE_SCHEDULER", "true"),
                 lambda c: c.update(accessModes=["ReadWriteMany"]))
    assert not of(rwx, "ARC205")
    assert not of(fleet(), "ARC205")


def test_arc205_multi_attach_event_on_a_workflow_pod():
    wf = pod("arc-runner-set-h8ff4-runner-00000-workflow", "arc-runners",
             {"runner-pod": "arc-runner-set-h8ff4-runner-00000"}, phase="Pending", containers=[("job", "node:20")])
    ev = event("Pod", "arc-runners", "arc-runner-set-h8ff4-runner-00000-workflow", "FailedAttachVolume",
               'Multi-Attach error for volume "pvc-1" Volume is already used by pod(s) '
               'arc-runner-set-h8ff4-runner-00000')
    [f] = of(fleet() + [wf, ev], "ARC205")
    assert f.subject.kind == "Pod" and f.subject.name.endswith("-workflow")
    assert f.scale_set == "arc-runners/arc-runner-set" and "Multi-Attach" in f.evidence[0]
    assert not of(fleet() + [wf], "ARC205")


def test_set_labels_helper_is_consistent():
    assert set_labels("a", "b", "runner")["actions.github.com/scale-set-name"] == "a"

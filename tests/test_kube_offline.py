"""kube.offline: saved kubectl output → the Snapshot the checks read; and, against a frozen sandbox, the same
objects as a live Monitor sees."""

from __future__ import annotations

import calendar
import io
import json

import pytest
import yaml

from arc_top.kube import model
from arc_top.kube.offline import ABSENT, OfflineError, load_files, snapshot_from_files
from tests.waiting import wait_for

ARC = "actions.github.com/v1alpha1"
TOKEN = "ghp_Offl1neT0kenValueThatMustNeverShow1234"


def obj(api_version: str, kind: str, name: str, namespace: str = "", uid: str = "", **rest) -> dict:
    meta = {"name": name, "uid": uid or f"uid-{kind}-{name}", "creationTimestamp": "2025-01-02T03:04:05Z"}
    if namespace:
        meta["namespace"] = namespace
    meta.update(rest.pop("metadata", {}))
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **rest}


def controller_pod() -> dict:
    return obj("v1", "Pod", "arc-gha-rs-controller-abc", "arc-systems",
               metadata={"labels": {"app.kubernetes.io/part-of": "gha-rs-controller",
                                    "app.kubernetes.io/component": "controller-manager",
                                    "helm.sh/chart": "gha-rs-controller-0.14.2"}},
               spec={"containers": [{"name": "manager",
                                     "image": "ghcr.io/actions/gha-runner-scale-set-controller:0.14.2"}]},
               status={"phase": "Running"})


def runner_pod(name: str = "set-abcde-runner-xyz12") -> dict:
    return obj("v1", "Pod", name, "arc-runners",
               metadata={"labels": {"app.kubernetes.io/component": "runner",
                                    "actions.github.com/scale-set-name": "set", "actions-ephemeral-runner": "True"}},
               spec={"containers": [{"name": "runner", "image": "ghcr.io/actions/actions-runner:latest"}]},
               status={"phase": "Running", "startTime": "2025-01-02T03:05:00Z"})


def sample_docs() -> list:
    scale_set = obj(ARC, "AutoscalingRunnerSet", "set", "arc-runners",
                    metadata={"annotations": {"actions.github.com/cleanup-manager-namespace": "arc-systems"}},
                    spec={"githubConfigUrl": "https://github.com/org", "githubConfigSecret": "missing-secret",
                          "minRunners": 1})
    kubectl_list = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [
        scale_set, controller_pod(), runner_pod(),
        obj("v1", "Pod", "nginx", "default", metadata={"labels": {"app": "nginx"}}),       # not ARC: dropped
        obj("v1", "Secret", "github-token", "arc-runners", type="Opaque",
            data={"github_token": "Z2hwX09mZmwxbmU="}, stringData={"extra": TOKEN},
            metadata={"annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                                      json.dumps({"stringData": {"extra": TOKEN}})}}),
        obj("v1", "Event", "ev-warning", "arc-runners", type="Warning", reason="FailedScheduling",
            message="0/3 nodes are available", involvedObject={"kind": "Pod", "name": "set-abcde-runner-xyz12"},
            lastTimestamp="2025-01-02T04:00:00Z"),
        obj("v1", "Event", "ev-normal-pod", "arc-runners", type="Normal", reason="Pulled",
            involvedObject={"kind": "Pod", "name": "x"}),                                   # monitor skips it too
        obj("v1", "ConfigMap", "cm", "arc-runners", data={"a": "b"}),                        # unknown: ignored
        obj("rbac.authorization.k8s.io/v1", "ClusterRole", "view", rules=[{"verbs": ["get"]}]),
    ]}
    typed_list = {"apiVersion": "v1", "kind": "PersistentVolumeClaimList", "items": []}   # present, though empty
    new_event = obj("events.k8s.io/v1", "Event", "ev-new", "arc-runners", type="Normal", reason="Created",
                    note="Created ephemeral runner", deprecatedCount=3,
                    regarding={"apiVersion": ARC, "kind": "EphemeralRunner", "name": "set-abcde-runner-xyz12"})
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "autoscalingrunnersets.actions.github.com"},
           "spec": {"group": "actions.github.com", "versions": [{"name": "v1alpha1", "served": True}]}}
    return [kubectl_list, None, typed_list, new_event, crd]


def write_yaml(path, docs) -> str:
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return str(path)


def test_yaml_lists_and_objects_become_the_monitors_snapshot(tmp_path):
    offline = load_files([write_yaml(tmp_path / "saved.yaml", sample_docs())])
    snap = offline.snapshot
    assert {o.name for o in snap.of(model.SCALE_SETS).values()} == {"set"}
    assert {p.name for p in snap.of(model.PODS).values()} == {"arc-gha-rs-controller-abc", "set-abcde-runner-xyz12"}
    assert {(e.name, e.message) for e in snap.of(model.EVENTS).values()} == {
        ("ev-warning", "0/3 nodes are available"), ("ev-new", "Created ephemeral runner")}
    new = next(e for e in snap.of(model.EVENTS).values() if e.name == "ev-new")
    assert (new.object_kind, new.object_name, new.count) == ("EphemeralRunner", "set-abcde-runner-xyz12", 3)
    roles = list(snap.of(model.ROLES).values())
    assert [(r.kind, r.namespace, r.name) for r in roles] == [("ClusterRole", "", "view")]
    secret = next(iter(snap.of(model.SECRETS).values()))
    assert secret.body["keys"] == ("extra", "github_token")
    assert TOKEN not in repr(snap) and "Z2hwX09mZmwxbmU=" not in repr(snap)
    present = {model.SCALE_SETS, model.PODS, model.SECRETS, model.EVENTS, model.ROLES, model.VOLUMES}
    for kind, state in snap.kinds.items():
        if kind in present:
            assert state.synced and state.state == "live", kind
        else:
            assert not state.synced and state.state == ABSENT, kind
    assert offline.ignored == {"ConfigMap": 1}
    assert offline.saved_at == calendar.timegm((2025, 1, 2, 4, 0, 0))   # the newest stamp: the event's


def test_arc_info_comes_from_the_controller_pod_and_the_crds(tmp_path):
    arc = snapshot_from_files([write_yaml(tmp_path / "saved.yaml", sample_docs())]).arc
    assert arc.arc_version == "0.14.2" and arc.chart_version == "0.14.2"
    assert [c.name for c in arc.controllers] == ["arc-gha-rs-controller-abc"]
    assert arc.controller_namespaces == ("arc-systems",) and arc.controllers_listed
    assert arc.crd_versions == ("v1alpha1",) and arc.installed and not arc.legacy_summerwind


def test_files_without_a_controller_say_so_and_legacy_is_named(tmp_path):
    docs = [runner_pod(), obj("actions.summerwind.dev/v1alpha1", "RunnerDeployment", "old", "arc-runners")]
    arc = snapshot_from_files([write_yaml(tmp_path / "pods.yaml", docs)]).arc
    assert not arc.controllers and not arc.controllers_listed and arc.legacy_summerwind
    assert any("no ARC controller pod" in p for p in arc.problems)


def test_unquoted_timestamps_stay_rfc3339(tmp_path):
    path = tmp_path / "hand.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: arc-runners\n"
                    "  creationTimestamp: 2025-01-02T03:04:05Z\n  labels: {runner-pod: r}\n")
    pod = next(iter(snapshot_from_files([str(path)]).of(model.PODS).values()))
    assert pod.created == calendar.timegm((2025, 1, 2, 3, 4, 5))


def test_json_and_concatenated_json_and_stdin(tmp_path, monkeypatch):
    docs = sample_docs()
    single = tmp_path / "one.json"
    single.write_text(json.dumps(docs[0], indent=2))
    both = tmp_path / "two.json"
    both.write_text(json.dumps(docs[0]) + "\n" + json.dumps(docs[3]) + "\n")
    assert len(snapshot_from_files([str(single)]).of(model.EVENTS)) == 1
    assert len(snapshot_from_files([str(both)]).of(model.EVENTS)) == 2
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(json.dumps(docs[0]).encode())))
    offline = load_files(["-", str(both)])
    assert offline.files == ("-", str(both)) and len(offline.snapshot.of(model.PODS)) == 2


@pytest.mark.parametrize("content, needle", [
    ("just some words\n", "document 1 is not a Kubernetes object"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n- 1\n- 2\n", "document 2 is not a Kubernetes object"),
    ("kind: List\nitems: [1]\n", "item 1 of document 1"),
    ("metadata: {name: x}\n", "mapping without kind"),
    ("kind: Pod\nmetadata: {name: x}\n", "has no apiVersion"),
    ("apiVersion: v1\nkind: Pod\n  bad: [indent\n", "is not valid YAML or JSON"),
    ("{\"kind\": \"List\", \"items\": [}", "is not valid YAML or JSON"),
    ("   \n", "is empty"),
])
def test_junk_is_one_line_naming_the_file(tmp_path, content, needle):
    path = tmp_path / "junk.yaml"
    path.write_text(content)
    with pytest.raises(OfflineError) as err:
        load_files([str(path)])
    message = str(err.value)
    assert needle in message and str(path) in message and "\n" not in message


def test_unreadable_files_are_one_line(tmp_path):
    for path, needle in ((tmp_path / "nope.yaml", "does not exist"), (tmp_path, "is a directory")):
        with pytest.raises(OfflineError, match=needle):
            load_files([str(path)])
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage")
    with pytest.raises(OfflineError, match="not UTF-16 text"):
        load_files([str(binary)])


# ---- against a live (then frozen) sandbox -------------------------------------------------------------------
KUBECTL_KINDS = ("autoscalingrunnersets,ephemeralrunnersets,ephemeralrunners,autoscalinglisteners,pods,pvc,events,"
                 "storageclasses,networkpolicies,secrets,serviceaccounts,roles,rolebindings,clusterroles,"
                 "clusterrolebindings,namespaces")


def test_saved_kubectl_output_has_the_uids_a_live_monitor_has(tmp_path):
    from arc_top.kube.config import connect
    from arc_top.kube.monitor import Monitor
    from arc_top.sandbox.run import start_sandbox
    from tests.conftest import Kubectl

    sb = start_sandbox("incident", kubeconfig_path=str(tmp_path / "kubeconfig"), speed=6.0)
    monitor = Monitor(connect(sb.kubeconfig_path, all_namespaces=True))
    try:
        monitor.start()
        assert monitor.wait_synced(30)
        wait_for(lambda: any(p.get("status", {}).get("phase") == "Running" for p in sb.cluster.list("pods", None)),
                 what="a Running pod")
        sb.pause()                                 # freeze the cluster: both views must then agree exactly
        out = Kubectl(sb, str(tmp_path / "cache"))("get", KUBECTL_KINDS, "-A", "-o", "yaml", timeout=60).stdout
        saved = tmp_path / "saved.yaml"
        saved.write_text(out)
        offline = snapshot_from_files([str(saved)])

        def uids(snap) -> dict[str, set[str]]:
            return {kind: set(snap.of(kind)) for kind in model.KINDS}

        try:
            wait_for(lambda: uids(monitor.snapshot()) == uids(offline), step=0.1, what="the monitor to catch up")
        except AssertionError:
            pass                                   # the assertions below say which kind differs
        live = uids(monitor.snapshot())
        for kind in model.KINDS:
            assert live[kind] == uids(offline)[kind], kind
            differ = [uid for uid in live[kind] if monitor.snapshot().of(kind)[uid] != offline.of(kind)[uid]]
            assert not differ, (kind, differ[:3])        # and the same projections, field for field
        # a kubectl List does not say which kinds were asked for: a kind with no object at all reads as absent
        empty = {k for k in model.KINDS if not live[k]}
        assert {k for k, s in offline.kinds.items() if not s.synced} == empty
        assert len(live[model.PODS]) > 5 and len(live[model.SCALE_SETS]) == 6 and live[model.EVENTS]
        assert offline.arc.arc_version == monitor.info.arc_version
        assert offline.arc.controller_namespaces == monitor.info.controller_namespaces
    finally:
        monitor.stop()
        sb.stop()


# ---- the List's items are handed out one by one (kube.untrusted) --------------------------------------------
def snapshot_uids(snap) -> dict:
    return {kind: sorted(snap.of(kind)) for kind in model.KINDS}


def test_kubectl_key_order_json_and_yaml_give_the_same_snapshot(tmp_path):
    """kubectl writes `kind: List` after the items (keys sorted); the API server writes kind first; JSON comes
    whole. All three must give the same objects."""
    docs = sample_docs()
    sorted_yaml = tmp_path / "sorted.yaml"
    sorted_yaml.write_text(yaml.safe_dump_all(docs, sort_keys=True))
    as_json = tmp_path / "saved.json"
    as_json.write_text("\n".join(json.dumps(d) for d in docs if d is not None))
    reference = snapshot_from_files([write_yaml(tmp_path / "saved.yaml", docs)])
    for path in (sorted_yaml, as_json):
        snap = snapshot_from_files([str(path)])
        assert snapshot_uids(snap) == snapshot_uids(reference), path
        assert {k: s.synced for k, s in snap.kinds.items()} == {k: s.synced for k, s in reference.kinds.items()}


def test_a_typed_list_whose_kind_comes_last_places_its_kindless_items(tmp_path):
    path = tmp_path / "pods.yaml"
    pod = runner_pod()
    del pod["kind"], pod["apiVersion"]
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "items": [pod], "kind": "PodList"}, sort_keys=True))
    snap = snapshot_from_files([str(path)])
    assert [p.name for p in snap.of(model.PODS).values()] == ["set-abcde-runner-xyz12"]


def test_top_level_items_of_something_not_a_list_is_one_line(tmp_path):
    path = tmp_path / "odd.yaml"
    path.write_text("apiVersion: v1\nitems:\n- " + json.dumps(runner_pod()) + "\nkind: Pod\n")
    with pytest.raises(OfflineError, match=r"document 1 \(Pod\) has a top-level items list but is not a List"):
        load_files([str(path)])


def test_the_pure_python_yaml_parser_gives_the_same(tmp_path, monkeypatch):
    """Without libyaml (CSafeLoader), the same events come from PyYAML's own parser."""
    import arc_top.kube.untrusted as untrusted
    loader = type("_PureLoader", (yaml.SafeLoader,), {})
    loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)
    path = tmp_path / "sorted.yaml"
    path.write_text(yaml.safe_dump_all(sample_docs(), sort_keys=True))
    reference = snapshot_from_files([str(path)])
    monkeypatch.setattr(untrusted, "_loader", lambda: loader)
    assert snapshot_uids(snapshot_from_files([str(path)])) == snapshot_uids(reference)
    bomb = tmp_path / "alias.yaml"
    bomb.write_text("a: &a [1, 2]\nb: [*a, *a]\n")
    with pytest.raises(OfflineError, match=r"YAML aliases \(\*a\) are not accepted"):
        load_files([str(bomb)])


def test_load_one_reads_a_single_config_document_within_the_limits():
    from arc_top.kube.untrusted import InputError, load_one

    assert load_one("apiVersion: v1\nkind: Config\nclusters: []\n", "cfg") == {
        "apiVersion": "v1", "kind": "Config", "clusters": []}
    assert load_one("", "cfg") is None and load_one('{"a": [1]}', "cfg") == {"a": [1]}
    for text, needle in (("a: &x 1\nb: *x\n", "aliases"), ("a: 1\n---\nb: 2\n", "several YAML documents"),
                         ("a: " + "[" * 100 + "]" * 100, "deeper than 64")):
        with pytest.raises(InputError, match=needle):
            load_one(text, "cfg")

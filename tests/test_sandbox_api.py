"""API semantics through the official kubernetes client over HTTPS, as arc-top will use them."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from tests.conftest import api_client
from tests.waiting import wait_for


@pytest.fixture(scope="module")
def core(healthy):
    return client.CoreV1Api(api_client(healthy))


@pytest.fixture()
def ns(core):
    name = "api-" + uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": name}})
    return name


def cm(name: str, labels: dict | None = None, data: dict | None = None) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}}, "data": data or {"k": "v"}}


def test_list_then_watch_sees_every_later_change_exactly_once(core, ns):
    core.create_namespaced_config_map(ns, cm("before"))
    listing = core.list_namespaced_config_map(ns)
    assert [i.metadata.name for i in listing.items] == ["before"]
    rv = listing.metadata.resource_version
    seen: list[tuple[str, str, str]] = []
    done = threading.Event()

    def consume():
        w = watch.Watch()
        for ev in w.stream(core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=120,
                           _request_timeout=130):
            obj = ev["object"]
            seen.append((ev["type"], obj.metadata.name, (obj.data or {}).get("k", "")))
            if ev["type"] == "DELETED" and obj.metadata.name == "c":
                w.stop()
        done.set()

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    for name in "abc":
        core.create_namespaced_config_map(ns, cm(name))
    core.patch_namespaced_config_map("a", ns, {"data": {"k": "changed"}})
    core.delete_namespaced_config_map("b", ns)
    core.delete_namespaced_config_map("c", ns)
    wait_for(done.is_set, what="the DELETED of c")
    assert seen == [("ADDED", "a", "v"), ("ADDED", "b", "v"), ("ADDED", "c", "v"),
                    ("MODIFIED", "a", "changed"), ("DELETED", "b", "v"), ("DELETED", "c", "v")]


def test_watch_from_compacted_resource_version_gets_410(healthy, core, ns):
    core.create_namespaced_config_map(ns, cm("x"))
    old_rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, cm("y"))
    healthy.cluster.compact()
    with pytest.raises(ApiException) as info:
        for _ in watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=old_rv,
                                      timeout_seconds=5, _request_timeout=10):
            pass
    assert info.value.status == 410


def test_stale_update_gets_409_and_fresh_one_passes(core, ns):
    core.create_namespaced_config_map(ns, cm("obj"))
    first = core.read_namespaced_config_map("obj", ns)
    first.data = {"k": "one"}
    core.replace_namespaced_config_map("obj", ns, first)
    first.data = {"k": "two"}       # still carries the old resourceVersion
    with pytest.raises(ApiException) as info:
        core.replace_namespaced_config_map("obj", ns, first)
    assert info.value.status == 409
    assert "the object has been modified" in info.value.body
    fresh = core.read_namespaced_config_map("obj", ns)
    fresh.data = {"k": "two"}
    assert core.replace_namespaced_config_map("obj", ns, fresh).data == {"k": "two"}


def test_viewer_gets_403_on_secrets_and_on_every_write(healthy, ns):
    viewer = client.CoreV1Api(api_client(healthy, "viewer"))
    assert viewer.list_namespaced_pod(healthy.scenario.namespace).items is not None
    writes = [
        lambda: viewer.list_namespaced_secret(ns),
        lambda: viewer.create_namespaced_config_map(ns, cm("nope")),
        lambda: viewer.patch_namespace(ns, {"metadata": {"labels": {"a": "b"}}}),
        lambda: viewer.delete_namespace(ns),
    ]
    for call in writes:
        with pytest.raises(ApiException) as info:
            call()
        assert info.value.status == 403
        assert 'User "viewer"' in json.loads(info.value.body)["message"]


def test_selectors_and_paging(core, ns):
    for i in range(7):
        core.create_namespaced_config_map(ns, cm(f"c{i}", {"tier": "a" if i % 2 else "b", "n": str(i)}))
    names = lambda items: sorted(i.metadata.name for i in items)  # noqa: E731
    assert names(core.list_namespaced_config_map(ns, label_selector="tier=a").items) == ["c1", "c3", "c5"]
    assert names(core.list_namespaced_config_map(ns, label_selector="n in (1,2),tier!=a").items) == ["c2"]
    assert names(core.list_namespaced_config_map(ns, field_selector="metadata.name=c4").items) == ["c4"]
    page = core.list_namespaced_config_map(ns, limit=3)
    got = [i.metadata.name for i in page.items]
    while page.metadata._continue:
        page = core.list_namespaced_config_map(ns, limit=3, _continue=page.metadata._continue)
        got += [i.metadata.name for i in page.items]
    assert got == [f"c{i}" for i in range(7)]
    with pytest.raises(ApiException) as info:
        core.list_namespaced_config_map(ns, label_selector="tier in (a")
    assert info.value.status == 400


def test_finalizers_delay_deletion_until_cleared(core, ns):
    core.create_namespaced_config_map(ns, {"metadata": {"name": "fin", "finalizers": ["example.com/keep"]}})
    core.delete_namespaced_config_map("fin", ns)
    held = core.read_namespaced_config_map("fin", ns)
    assert held.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("fin", ns, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as info:
        core.read_namespaced_config_map("fin", ns)
    assert info.value.status == 404


def test_dry_run_writes_store_nothing(core, ns):
    made = core.create_namespaced_config_map(ns, cm("dry"), dry_run="All")
    assert made.metadata.name == "dry"
    assert core.list_namespaced_config_map(ns).items == []
    core.create_namespaced_config_map(ns, cm("real"))
    before = core.read_namespaced_config_map("real", ns)
    core.patch_namespaced_config_map("real", ns, {"data": {"k": "dry"}}, dry_run="All")
    core.delete_namespaced_config_map("real", ns, dry_run="All")
    after = core.read_namespaced_config_map("real", ns)
    assert after.data == {"k": "v"}
    assert after.metadata.resource_version == before.metadata.resource_version


def test_errors_are_status_objects_with_real_reasons(core, ns):
    with pytest.raises(ApiException) as info:
        core.read_namespaced_config_map("missing", ns)
    assert info.value.status == 404 and '"reason":"NotFound"' in info.value.body.replace(" ", "")
    core.create_namespaced_config_map(ns, cm("dup"))
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map(ns, cm("dup"))
    assert info.value.status == 409 and "AlreadyExists" in info.value.body
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map(ns, cm("Bad_Name"))
    assert info.value.status == 422 and "Invalid" in info.value.body


def test_json_patch_test_op_and_custom_resource_strategic_patch_415(healthy):
    custom = client.CustomObjectsApi(api_client(healthy))
    ns = healthy.scenario.namespace
    ars = custom.list_namespaced_custom_object("actions.github.com", "v1alpha1", ns, "autoscalingrunnersets")
    name = ars["items"][0]["metadata"]["name"]
    current = ars["items"][0]["spec"].get("maxRunners")

    def patch(body, ctype):
        return custom.patch_namespaced_custom_object("actions.github.com", "v1alpha1", ns, "autoscalingrunnersets",
                                                     name, body, _content_type=ctype)

    with pytest.raises(ApiException) as info:
        patch([{"op": "test", "path": "/spec/maxRunners", "value": -5}], "application/json-patch+json")
    assert info.value.status == 422
    out = patch([{"op": "test", "path": "/spec/maxRunners", "value": current},
                 {"op": "replace", "path": "/spec/maxRunners", "value": (current or 0) + 1}],
                "application/json-patch+json")
    assert out["spec"]["maxRunners"] == (current or 0) + 1
    with pytest.raises(ApiException) as info:
        patch({"spec": {"maxRunners": 3}}, "application/strategic-merge-patch+json")
    assert info.value.status == 415


def test_restart_drops_watches_and_the_client_recovers(healthy, core, ns):
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    seen: list[str] = []
    ended = threading.Event()

    def consume():
        try:                              # a 10 minute watch: within the wait below only a drop can end it
            for ev in watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=rv,
                                           timeout_seconds=600, _request_timeout=610):
                seen.append(ev["object"].metadata.name)
        except Exception:  # any transport error is what a drop looks like
            pass
        ended.set()

    threading.Thread(target=consume, daemon=True).start()
    core.create_namespaced_config_map(ns, cm("marker"))
    wait_for(lambda: "marker" in seen, what="the watch to be live")    # so the server holds it now
    healthy.cluster.restart(down_seconds=0.5)
    wait_for(ended.is_set, what="the restart to end the watch")

    def listed():
        try:
            return core.list_namespaced_config_map(ns).metadata.resource_version
        except Exception:  # still down
            return None

    assert wait_for(listed, what="the server back")


def test_added_latency_slows_every_request(healthy, core, ns):
    healthy.cluster.latency_s = 0.2
    try:
        start = time.monotonic()
        core.list_namespaced_config_map(ns)
        assert time.monotonic() - start >= 0.2
    finally:
        healthy.cluster.latency_s = 0.0


def test_unknown_token_is_401(healthy):
    from kubernetes import config
    api = config.new_client_from_config(config_file=healthy.kubeconfig_path)
    api.configuration.refresh_api_key_hook = None     # else the kubeconfig token comes back
    api.configuration.api_key["BearerToken"] = "Bearer not-a-token"
    with pytest.raises(ApiException) as info:
        client.CoreV1Api(api).list_namespace()
    assert info.value.status == 401


def test_log_parameters_previous_since_and_limit(healthy, core, ns):
    core.create_namespaced_pod(ns, {"metadata": {"name": "logger"},
                                    "spec": {"containers": [{"name": "main", "image": "busybox"}]}})
    logs = healthy.cluster.logs
    logs.write(ns, "logger", "main", ["old line 1", "old line 2"], ts=time.time() - 600)
    logs.restart(ns, "logger", "main")           # a new container instance: the old log is "previous"
    logs.write(ns, "logger", "main", ["new line 1"], ts=time.time() - 300)
    logs.write(ns, "logger", "main", ["new line 2"])
    assert core.read_namespaced_pod_log("logger", ns, previous=True) == "old line 1\nold line 2\n"
    assert core.read_namespaced_pod_log("logger", ns) == "new line 1\nnew line 2\n"
    assert core.read_namespaced_pod_log("logger", ns, since_seconds=60) == "new line 2\n"
    assert core.read_namespaced_pod_log("logger", ns, limit_bytes=5) == "new l"
    assert core.read_namespaced_pod_log("logger", ns, tail_lines=1, timestamps=True).endswith("Z new line 2\n")
    with pytest.raises(ApiException) as info:
        core.read_namespaced_pod_log("logger", ns, container="nope")
    assert info.value.status == 400 and "container nope is not valid for pod logger" in info.value.body


def test_fault_endpoints_need_cluster_admin(healthy):
    admin, viewer = api_client(healthy), api_client(healthy, "viewer")

    def post(api, path):
        return api.call_api(*api.param_serialize("POST", path, auth_settings=["BearerToken"])).status

    assert post(admin, "/sandbox/latency?ms=0") == 200
    assert post(viewer, "/sandbox/compact") == 403
    assert post(viewer, "/sandbox/restart") == 403


def test_pause_stops_the_simulation_until_resumed(healthy):
    """POST /sandbox/pause: the controller, kubelet and job stream stand still (benchmarks measure idle CPU
    with it); ?on=0 resumes."""
    admin = api_client(healthy)

    def post(path):
        return admin.call_api(*admin.param_serialize("POST", path, auth_settings=["BearerToken"])).status

    store = healthy.cluster.store
    try:
        assert post("/sandbox/pause") == 200              # answers once a pass that was running has finished
        before = store.resource_version
        time.sleep(1.5)
        assert store.resource_version == before
    finally:
        assert post("/sandbox/pause?on=0") == 200
    wait_for(lambda: store.resource_version != before, what="the simulation to resume")

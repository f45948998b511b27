"""The API server's request log: every HTTP request answered, with method, path, query, user and status;
`mutating_since` keeps the Kubernetes writes (dry runs and access reviews included) and leaves out the fake
GitHub (/api/v3), the /sandbox/ control endpoints, and the simulated controller (in-process, never HTTP)."""

from __future__ import annotations

import threading
import uuid

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from arc_top.sandbox.requestlog import RequestLog, RequestRecord
from tests.conftest import Kubectl, api_client


@pytest.fixture(scope="module")
def admin(healthy):
    return api_client(healthy)


@pytest.fixture(scope="module")
def core(admin):
    return client.CoreV1Api(admin)


@pytest.fixture(scope="module")
def kubectl(healthy, tmp_path_factory) -> Kubectl:
    return Kubectl(healthy, str(tmp_path_factory.mktemp("kubectl-cache")))


def raw(api, method: str, path: str, query: list | None = None):
    """A request to any path through the official client; returns the status without raising."""
    return api.call_api(*api.param_serialize(method, path, query_params=query or [],
                                             auth_settings=["BearerToken"])).status


def test_reads_writes_dry_runs_and_reviews_are_recorded_with_user_and_status(healthy, admin, core, kubectl):
    ns = "reqlog-" + uuid.uuid4().hex[:6]
    core.create_namespace({"metadata": {"name": ns}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "cm"}, "data": {"k": "v"}})
    mark = healthy.mark()
    core.list_namespaced_pod(healthy.scenario.namespace)
    core.patch_namespaced_config_map("cm", ns, {"data": {"k": "dry"}}, dry_run="All")
    assert "(server dry run)" in kubectl("delete", "configmap", "cm", "-n", ns, "--dry-run=server").stdout
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("missing", ns)
    assert kubectl("auth", "can-i", "list", "pods", "-n", ns).stdout.strip() == "yes"
    raw(admin, "POST", "/api/v3/orgs/arc-org/actions/runners/registration-token")  # the fake GitHub
    assert raw(admin, "POST", "/sandbox/latency", [("ms", "0")]) == 200

    seen = healthy.requests_since(mark)
    assert [r.seq for r in seen] == sorted(r.seq for r in seen) and all(r.seq >= mark for r in seen)
    pods = f"/api/v1/namespaces/{healthy.scenario.namespace}/pods"
    listing = next(r for r in seen if r.method == "GET" and r.path == pods)
    assert (listing.user, listing.status, listing.mutating) == ("admin", 200, False)
    missing = next(r for r in seen if r.path.endswith("/configmaps/missing"))
    assert (missing.method, missing.status) == ("GET", 404)
    github = next(r for r in seen if r.path.startswith("/api/v3/"))
    assert github.api == "github" and not github.mutating
    control = next(r for r in seen if r.path == "/sandbox/latency")
    assert (control.api, control.query, control.mutating) == ("sandbox", "ms=0", False)

    writes = healthy.mutating_since(mark)
    assert [(r.method, r.path) for r in writes] == [
        ("PATCH", f"/api/v1/namespaces/{ns}/configmaps/cm"),
        ("DELETE", f"/api/v1/namespaces/{ns}/configmaps/cm"),
        ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"),
    ]
    patch, delete, review = writes
    assert patch.dry_run and "dryRun=All" in patch.query and patch.status == 200 and patch.user == "admin"
    assert delete.dry_run and delete.query == "" and delete.status == 200   # kubectl says so in the body
    assert review.status == 201 and review.user == "admin"
    assert core.read_namespaced_config_map("cm", ns).data == {"k": "v"}     # the dry run changed nothing


def test_the_simulated_controller_is_not_in_the_log(healthy):
    """The simulation writes all the time (status, events, logs) but in-process: no HTTP, no records."""
    store = healthy.cluster.store
    mark, rv = healthy.mark(), store.resource_version
    assert healthy.cluster.wait(lambda: store.resource_version > rv + 5, 30), "the simulation stood still"
    assert healthy.mutating_since(mark) == []


def test_unauthenticated_anonymous_and_impersonated_users(healthy, admin):
    def client_with(token: str | None) -> client.ApiClient:
        cfg = client.Configuration()
        cfg.host, cfg.ssl_ca_cert = healthy.url, admin.configuration.ssl_ca_cert
        if token is not None:
            cfg.api_key = {"authorization": f"Bearer {token}"}
        return client.ApiClient(cfg)

    mark = healthy.mark()
    assert raw(client_with("not-a-token"), "GET", "/api/v1/namespaces") == 401
    raw(client_with(None), "GET", "/version")
    admin.set_default_header("Impersonate-User", "viewer")
    try:
        raw(admin, "GET", "/api/v1/namespaces")
    finally:
        admin.default_headers.pop("Impersonate-User", None)
    records = healthy.requests_since(mark)
    assert [(r.path, r.user, r.impersonated_user, r.status) for r in records] == [
        ("/api/v1/namespaces", "", "", 401),
        ("/version", "system:anonymous", "", 200),
        ("/api/v1/namespaces", "admin", "viewer", 403),     # viewer without its group: no rights
    ]


def test_api_v1_is_kubernetes_and_api_v3_is_github():
    def rec(method: str, path: str, query: str = "") -> RequestRecord:
        return RequestRecord(0, 0.0, method, path, query, "admin", 200)

    assert rec("DELETE", "/api/v1/namespaces/a/pods/p").mutating
    assert rec("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews").mutating
    log = RequestLog()
    assert log.record("PATCH", "/apis/actions.github.com/v1alpha1/namespaces/a/autoscalingrunnersets/x",
                      "dryRun=All&fieldManager=kubectl-patch", "admin", 200).dry_run
    assert not log.record("PATCH", "/api/v1/namespaces/a/pods/p", "fieldManager=kubectl-patch", "admin", 200).dry_run
    assert not rec("POST", "/api/v3/app/installations/1/access_tokens").mutating
    assert rec("POST", "/api/v3/app/installations/1/access_tokens").api == "github"
    assert not rec("POST", "/sandbox/pause", "on=1").mutating
    assert not rec("GET", "/api/v1/pods").mutating
    assert not rec("POST", "/version").mutating


def test_the_log_is_bounded_and_thread_safe():
    log = RequestLog(maxlen=100)
    mark = log.mark()

    def hammer():
        for _ in range(500):
            log.record("GET", "/api/v1/pods", "", "admin", 200)
    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.mark() == mark + 2000 and len(log) == 100
    assert [r.seq for r in log.since(mark)] == list(range(1900, 2000))
    assert [r.seq for r in log.since(1990)] == list(range(1990, 2000))
    assert log.since(log.mark()) == []

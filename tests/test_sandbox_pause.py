"""Pausing the simulation from Python: `Sandbox.pause()` returns once a controller pass in progress has
finished, and from then on nothing simulated changes — no object, no log line — until `resume()`."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes import client

from arc_top.sandbox.cluster import Cluster
from arc_top.sandbox.controller.lograte import RATE_ANNOTATION
from arc_top.sandbox.run import start_sandbox
from tests.conftest import api_client

STILL_SECONDS = 2.0


@pytest.fixture(params=["incident", "kube-permissions"])
def churning(request, tmp_path):
    sb = start_sandbox(request.param, kubeconfig_path=str(tmp_path / "config"), speed=10.0)
    yield sb
    sb.stop()


def _log_seqs(sb) -> dict:
    logs = sb.cluster.logs
    with logs.cond:
        return {key: log.seq for key, log in logs._logs.items()}


def test_paused_sandbox_stands_still_and_resumes(churning):
    sb = churning
    store = sb.cluster.store
    ns = sb.scenario.namespace
    core = client.CoreV1Api(api_client(sb))
    core.create_namespaced_pod(ns, {                  # a log writer thread of its own (the log-rate knob)
        "metadata": {"name": "chatty", "annotations": {RATE_ANNOTATION: "200"}},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}})
    assert sb.cluster.wait(lambda: sb.cluster.logs.snapshot(ns, "chatty", "main")[1] > 0, 60)
    start = store.resource_version
    assert sb.cluster.wait(lambda: store.resource_version > start + 20, 60), "the scenario does not churn"

    sb.pause()
    try:
        rv, changes, seqs = store.resource_version, sb.controller.changes, _log_seqs(sb)
        time.sleep(STILL_SECONDS)
        assert store.resource_version == rv
        assert sb.controller.changes == changes
        assert _log_seqs(sb) == seqs
        # The API still serves while paused; a write lands, and waits to be reconciled.
        core.create_namespaced_config_map(ns, {"metadata": {"name": "while-paused"}})
        assert store.resource_version == rv + 1
        time.sleep(0.5)
        assert store.resource_version == rv + 1
    finally:
        sb.resume()
    assert sb.cluster.wait(lambda: store.resource_version > rv + 5, 60), "the simulation did not resume"
    assert sb.cluster.wait(lambda: _log_seqs(sb).get((ns, "chatty", "main"), 0) > seqs[(ns, "chatty", "main")],
                           60), "the log writer did not resume"


def test_paused_context_manager_restores_the_previous_state(healthy):
    with healthy.paused() as sb:
        assert sb.cluster.paused
        with healthy.paused():
            assert healthy.cluster.paused
        assert healthy.cluster.paused, "an inner paused() must not resume an outer pause"
    assert not healthy.cluster.paused


def test_pause_waits_for_the_unit_of_work_in_progress():
    """A pass that was running when pause() came finishes first; no new one starts until resume()."""
    cluster = Cluster()
    inside, release, paused = threading.Event(), threading.Event(), threading.Event()

    def a_pass():
        with cluster.simulating() as live:
            assert live
            inside.set()
            release.wait(30)
            with cluster.simulating() as nested:      # the running pass finishes whole, nested units too
                assert nested

    worker = threading.Thread(target=a_pass)
    worker.start()
    assert inside.wait(30)
    pauser = threading.Thread(target=lambda: (cluster.pause(), paused.set()))
    pauser.start()
    assert cluster.wait(lambda: cluster.paused, 30)
    assert not paused.is_set()                        # still waiting: the pass holds its unit
    with cluster.simulating() as live:
        assert not live                               # nothing new starts meanwhile
    release.set()
    assert paused.wait(30)
    worker.join(30)
    pauser.join(30)
    assert cluster.pause(timeout=0)                  # nothing in progress: at once
    cluster.resume()
    with cluster.simulating() as live:
        assert live


def test_http_pause_endpoint_waits_and_resumes(healthy):
    admin = api_client(healthy)

    def post(query):
        return admin.call_api(*admin.param_serialize("POST", "/sandbox/pause", query_params=query,
                                                     auth_settings=["BearerToken"])).status

    store = healthy.cluster.store
    try:
        assert post([("on", "1")]) == 200
        rv = store.resource_version
        time.sleep(1.0)
        assert store.resource_version == rv
    finally:
        assert post([("on", "0")]) == 200
    assert healthy.cluster.wait(lambda: store.resource_version != rv, 60), "the simulation did not resume"

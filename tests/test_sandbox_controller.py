"""The ARC controller simulation in process: each scenario's symptom appears, its documented fix heals it."""

from __future__ import annotations

import base64
import copy
import json
import logging
import time
from contextlib import AbstractContextManager

import pytest

from arc_top.sandbox.cluster import Cluster
from arc_top.sandbox.controller import Controller
from arc_top.sandbox.controller.common import ARS, ER, ERS, LISTENER
from arc_top.sandbox.scenario import load_scenario
from tests import waiting
from tests.waiting import wait_for

SPEED = 10.0


class Harness:
    """A cluster with a scenario loaded, the controller running fast, and a tee of every log line."""

    def __init__(self, scenario: str, **params):
        self.cluster = Cluster()
        self.cluster.base_url = "https://127.0.0.1:1"
        self.scenario = load_scenario(self.cluster, scenario, params or None)
        self.lines: list[tuple[str, str, str, str]] = []  # (ns, pod, container, line)
        write = self.cluster.logs.write

        def tee(ns, pod, container, lines, ts=None):
            for line in [lines] if isinstance(lines, str) else lines:
                self.lines.append((ns, pod, container, line))
            write(ns, pod, container, lines, ts)

        self.cluster.logs.write = tee
        self.finished: list[tuple[str, int]] = []  # (pod, runner exit code) seen in the store
        self.cluster.store.on_change(self._watch_pods)
        self.controller = Controller(self.cluster, tick=0.02, speed=SPEED).start()

    def _watch_pods(self, change) -> None:
        if change.key != "pods":
            return
        for status in (change.obj.get("status") or {}).get("containerStatuses") or ():
            done = status.get("state", {}).get("terminated")
            if (
                status["name"] == "runner"
                and done
                and (change.obj["metadata"]["name"], done["exitCode"]) not in self.finished
            ):
                self.finished.append((change.obj["metadata"]["name"], done["exitCode"]))

    def wait(self, predicate, timeout: float = 30.0):
        """tests.waiting.wait_for (raises on timeout; returns the truthy value, so `assert h.wait(…)` reads well)."""
        return wait_for(predicate, timeout, step=0.02)

    def pods(self, ns: str, **labels) -> list[dict]:
        return self.cluster.list(
            "pods",
            ns,
            match=lambda p: all((p["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items()),
        )

    def runner_pods(self, ns: str, scale_set: str) -> list[dict]:
        return self.pods(
            ns, **{"actions.github.com/scale-set-name": scale_set, "actions-ephemeral-runner": "True"}
        )

    def logged(self, pod: str, needle: str, container: str | None = None) -> bool:
        return any(
            p == pod and needle in line and (container is None or c == container)
            for _, p, c, line in list(self.lines)
        )

    def events(self, ns: str, name: str | None = None) -> list[dict]:
        return self.cluster.list(
            "events", ns, match=lambda e: name is None or e["involvedObject"]["name"] == name
        )

    def listener_pods(self, scale_set: str) -> list[dict]:
        return self.pods(
            "arc-systems",
            **{
                "app.kubernetes.io/component": "runner-scale-set-listener",
                "actions.github.com/scale-set-name": scale_set,
            },
        )

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def harness(caplog):
    made: list[Harness] = []

    def make(scenario: str, **params) -> Harness:
        made.append(Harness(scenario, **params))
        return made[-1]

    with caplog.at_level(logging.ERROR, logger="sandbox.controller"):
        yield make
    for h in made:
        h.stop()
    assert not [r for r in caplog.records if r.name == "sandbox.controller"], "a reconcile raised"


def _running(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running"


def held(h: Harness, predicate, timeout: float = 30.0) -> AbstractContextManager:
    """Wait until `predicate` holds, then keep it holding: the simulation is paused for the block, so the
    objects it found cannot be churned away while the test looks at them (tests.waiting.held)."""
    return waiting.held(h.cluster, predicate, timeout)


def _patch_ars(cluster: Cluster, ns: str, name: str, fn) -> None:
    cluster.mutate(ARS, ns, name, fn)


# ---- healthy ------------------------------------------------------------------------------------------
def test_healthy_runners_listen_and_take_jobs(harness):
    h = harness("healthy")
    ns = "arc-runners"
    assert h.wait(
        lambda: (
            sum(
                _running(p) and h.logged(p["metadata"]["name"], "Listening for Jobs")
                for p in h.runner_pods(ns, "arc-runner-set")
            )
            >= 2
        )
    )
    assert h.wait(lambda: any(_running(p) for p in h.listener_pods("arc-runner-set")))
    # a job arrives, lands on a runner, and in kube mode the hook makes the workflow pod on the runner's node
    assert h.wait(lambda: any((er.get("status") or {}).get("jobRequestId") for er in h.cluster.list(ER, ns)))
    def workflow_on_runner() -> bool:
        return any(p["metadata"]["name"].endswith("-workflow") and h.cluster.get(
            "pods", ns, p["metadata"]["labels"]["runner-pod"]) is not None for p in h.cluster.list("pods", ns))

    with held(h, workflow_on_runner):
        workflow = next(p for p in h.cluster.list("pods", ns) if p["metadata"]["name"].endswith("-workflow")
                        and h.cluster.get("pods", ns, p["metadata"]["labels"]["runner-pod"]) is not None)
        runner = h.cluster.get("pods", ns, workflow["metadata"]["labels"]["runner-pod"])
        assert workflow["spec"]["nodeName"] == runner["spec"]["nodeName"]
        assert not workflow["metadata"].get("ownerReferences")

    # runner pods carry ARC's labels, the JIT config env, and a bound work volume
    def bound_runner() -> bool:
        return any(_running(p) and (h.cluster.get("persistentvolumeclaims", ns, p["metadata"]["name"] + "-work")
                                    or {}).get("status", {}).get("phase") == "Bound"
                   for p in h.runner_pods(ns, "arc-runner-set"))

    with held(h, bound_runner):
        pod = next(p for p in h.runner_pods(ns, "arc-runner-set") if _running(p) and (h.cluster.get(
            "persistentvolumeclaims", ns, p["metadata"]["name"] + "-work") or {}).get("status", {}).get(
            "phase") == "Bound")
        labels = pod["metadata"]["labels"]
        assert labels["app.kubernetes.io/component"] == "runner" and labels["actions-ephemeral-runner"] == "True"
        env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
        assert (
            env["ACTIONS_RUNNER_INPUT_JITCONFIG"]["valueFrom"]["secretKeyRef"]["name"] == pod["metadata"]["name"]
        )
        assert h.cluster.get("secrets", ns, pod["metadata"]["name"]) is not None
        pvc = h.cluster.get("persistentvolumeclaims", ns, pod["metadata"]["name"] + "-work")
        assert pvc["metadata"]["ownerReferences"][0]["kind"] == "Pod"
        reasons = {e["reason"] for e in h.events(ns, pod["metadata"]["name"])}
        assert {"Scheduled", "Pulling", "Pulled", "Created", "Started"} <= reasons
    ars = h.cluster.get(ARS, ns, "arc-runner-set")
    assert h.wait(
        lambda: (h.cluster.get(ARS, ns, "arc-runner-set").get("status") or {}).get("currentRunners", 0) >= 2
    )
    assert ars["metadata"]["annotations"]["actions.github.com/runner-spec-hash"]


def test_a_job_ends_with_exit_0_and_a_replacement_runner(harness):
    h = harness("healthy")
    assert h.wait(lambda: any(code == 0 for _, code in h.finished))
    pod, _ = next(f for f in h.finished if f[1] == 0)
    assert h.logged(pod, "completed with result: Succeeded")
    assert h.wait(lambda: h.cluster.get(ER, "arc-runners", pod) is None)
    assert h.wait(lambda: sum(_running(p) for p in h.runner_pods("arc-runners", "arc-runner-set")) >= 2)


# ---- kube-permissions ------------------------------------------------------------------------------------
def test_kube_mode_without_fs_group_churns_and_fs_group_heals(harness):
    h = harness("kube-permissions")
    ns = "arc-runners"
    assert h.wait(lambda: any(code == 0 and "arc-runner-set" in p for p, code in h.finished))
    churned = next(p for p, code in h.finished if code == 0 and "arc-runner-set" in p)
    assert h.logged(churned, "Access to the path '/home/runner/_work/_tool' is denied")
    assert h.logged(churned, "Fail to create and validate runner's work directory")
    assert not h.logged(churned, "Listening for Jobs")
    assert h.wait(lambda: h.cluster.get(ER, ns, churned) is None)  # exit 0: ARC deletes the ER
    before = {p["metadata"]["name"] for p in h.runner_pods(ns, "arc-runner-set")} | {p for p, _ in h.finished}

    def add_fs_group(ars: dict) -> None:
        ars["spec"]["template"]["spec"]["securityContext"] = {"fsGroup": 123}

    _patch_ars(h.cluster, ns, "arc-runner-set", add_fs_group)

    def healed() -> bool:
        fresh = [p for p in h.runner_pods(ns, "arc-runner-set") if p["metadata"]["name"] not in before]
        return sum(_running(p) and h.logged(p["metadata"]["name"], "Listening for Jobs") for p in fresh) >= 2

    assert h.wait(healed)
    fresh = [p for p in h.runner_pods(ns, "arc-runner-set") if p["metadata"]["name"] not in before]
    assert all(p["spec"]["securityContext"]["fsGroup"] == 123 for p in fresh)


def test_fs_group_is_ignored_on_local_path_but_a_root_chown_init_container_works(harness):
    h = harness("kube-permissions")
    ns = "arc-runners"
    assert h.wait(lambda: any(code == 0 and "arc-local-path" in p for p, code in h.finished))
    churned = next(p for p, code in h.finished if "arc-local-path" in p)
    assert h.logged(churned, "Access to the path '/home/runner/_work/_tool' is denied")
    before = {p["metadata"]["name"] for p in h.runner_pods(ns, "arc-local-path")} | {p for p, _ in h.finished}

    def add_init(ars: dict) -> None:
        ars["spec"]["template"]["spec"]["initContainers"] = [
            {
                "name": "fix-work-owner",
                "image": "ghcr.io/actions/actions-runner:latest",
                "command": ["sudo", "chown", "-R", "1001:123", "/home/runner/_work"],
                "volumeMounts": [{"name": "work", "mountPath": "/home/runner/_work"}],
            }
        ]

    _patch_ars(h.cluster, ns, "arc-local-path", add_init)
    assert h.wait(
        lambda: any(
            _running(p)
            and p["metadata"]["name"] not in before
            and h.logged(p["metadata"]["name"], "Listening for Jobs")
            for p in h.runner_pods(ns, "arc-local-path")
        ),
    )


# ---- pvc-pending ------------------------------------------------------------------------------------------
def test_missing_storage_class_leaves_pvcs_pending_until_the_claim_is_fixed(harness):
    h = harness("pvc-pending")
    ns = "arc-runners"
    assert h.wait(lambda: len(h.cluster.list("persistentvolumeclaims", ns)) >= 2)
    pvc = h.cluster.list("persistentvolumeclaims", ns)[0]
    assert pvc["status"]["phase"] == "Pending"
    assert h.wait(
        lambda: any(
            e["reason"] == "ProvisioningFailed"
            and e["message"] == 'storageclass.storage.k8s.io "fast-ssd" not found'
            for e in h.events(ns, pvc["metadata"]["name"])
        )
    )
    pod_name = pvc["metadata"]["name"][: -len("-work")]
    assert h.wait(
        lambda: any(
            e["reason"] == "FailedScheduling"
            and "pod has unbound immediate PersistentVolumeClaims" in e["message"]
            for e in h.events(ns, pod_name)
        )
    )
    assert h.cluster.get("pods", ns, pod_name)["status"]["phase"] == "Pending"
    stuck = {p["metadata"]["name"] for p in h.cluster.list("persistentvolumeclaims", ns)}

    def fix(ars: dict) -> None:
        claim = ars["spec"]["template"]["spec"]["volumes"][0]["ephemeral"]["volumeClaimTemplate"]["spec"]
        claim["storageClassName"] = "gp3"

    _patch_ars(h.cluster, ns, "arc-runner-set", fix)
    assert h.wait(
        lambda: (
            sum(
                p["status"].get("phase") == "Bound" and p["metadata"]["name"] not in stuck
                for p in h.cluster.list("persistentvolumeclaims", ns)
            )
            >= 2
        ),
    )
    assert h.wait(lambda: sum(_running(p) for p in h.runner_pods(ns, "arc-runner-set")) >= 2)


# ---- bad-credentials ---------------------------------------------------------------------------------
def test_each_bad_credential_fails_its_listener_with_its_own_error(harness):
    h = harness("bad-credentials")
    expected = {
        "newline-token-set": "invalid header field value",
        "expired-token-set": '401 - {"message":"Bad credentials"',
        "revoked-token-set": '401 - {"message":"Bad credentials"',
        "missing-scope-set": "403 - ",
    }
    uids: dict[str, set[str]] = {name: set() for name in expected}

    def seen_all() -> bool:
        for name in expected:
            for pod in h.listener_pods(name):
                uids[name].add(pod["metadata"]["uid"])
        return all(len(u) >= 2 for u in uids.values()) and all(
            any(h.logged(pod, text, "listener") for _, pod, _, _ in h.lines if pod.startswith(name))
            for name, text in expected.items()
        )

    assert h.wait(seen_all), uids
    for name in expected:
        for pod in h.listener_pods(name):
            for status in (pod.get("status") or {}).get("containerStatuses") or ():
                assert status["restartCount"] == 0
                assert (
                    "waiting" not in status["state"]
                    or status["state"]["waiting"]["reason"] != "CrashLoopBackOff"
                )
        ers = h.cluster.list(ERS, "arc-runners", match=lambda e, n=name: e["metadata"]["name"].startswith(n))
        assert ers and all(e["spec"]["replicas"] == 0 for e in ers)
        assert not h.runner_pods("arc-runners", name)
    failed = [
        p for p in h.cluster.list("pods", "arc-systems") if (p.get("status") or {}).get("phase") == "Failed"
    ]
    if failed:
        state = failed[0]["status"]["containerStatuses"][0]["state"]["terminated"]
        assert state["exitCode"] == 1 and state["reason"] == "Error"
    _assert_no_secret_leaks(h)


def _assert_no_secret_leaks(h: Harness) -> None:
    values = set()
    for secret in h.cluster.list("secrets"):
        for raw in (secret.get("data") or {}).values():
            text = base64.b64decode(raw).decode("utf-8", "replace").strip()
            if text.startswith(("ghp_", "github_pat_")) and len(text) > 12:
                values.add(text)
    assert values
    texts = [line for *_, line in h.lines] + [e["message"] for e in h.cluster.list("events")]
    for value in values:
        assert not any(value in t for t in texts)


def test_fixing_the_secret_heals_the_listener_and_runners_appear(harness):
    h = harness("bad-credentials")
    ns = "arc-runners"
    assert h.wait(
        lambda: any(h.logged(p, "Bad credentials") for _, p, _, _ in h.lines if p.startswith("expired"))
    )
    good = h.cluster.get("secrets", ns, "arc-github-token")["data"]
    h.cluster.mutate("secrets", ns, "expired-token", lambda s: s.__setitem__("data", dict(good)))
    assert h.wait(lambda: any(_running(p) for p in h.runner_pods(ns, "expired-token-set")))
    assert any(
        _running(p) and h.logged(p["metadata"]["name"], "Starting listener")
        for p in h.listener_pods("expired-token-set")
    )


def test_missing_secret_means_no_listener_pod_and_a_warning(harness):
    h = harness("bad-credentials")
    ns = "arc-runners"
    h.cluster.pause()                   # the failing listener's pod is replaced again and again: hold it
    try:
        h.cluster.delete("secrets", ns, "revoked-token")
        for pod in h.listener_pods("revoked-token-set"):
            h.cluster.delete("pods", "arc-systems", pod["metadata"]["name"])
    finally:
        h.cluster.resume()
    assert h.wait(
        lambda: any(
            e["type"] == "Warning" and 'secrets "revoked-token" not found' in e["message"]
            for e in h.events(ns, "revoked-token-set")
        )
    )
    time.sleep(0.5)
    assert not [p for p in h.listener_pods("revoked-token-set") if _running(p)]


# ---- network-policy -------------------------------------------------------------------------------------
def test_blocked_egress_times_out_until_a_policy_allows_443_and_53(harness):
    h = harness("network-policy")
    assert h.wait(
        lambda: any(
            h.logged(p, "i/o timeout", "listener") for _, p, _, _ in h.lines if p.startswith("arc-runner-set")
        )
    )
    assert h.wait(lambda: len({p["metadata"]["uid"] for p in h.listener_pods("arc-runner-set")}) >= 1)
    assert not h.runner_pods("arc-runners", "arc-runner-set")
    h.cluster.create(
        "networkpolicies",
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "allow-listener-egress", "namespace": "arc-systems"},
            "spec": {
                "podSelector": {"matchLabels": {"app.kubernetes.io/component": "runner-scale-set-listener"}},
                "policyTypes": ["Egress"],
                "egress": [
                    {"ports": [{"protocol": "TCP", "port": 443}], "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]},
                    {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
                ],
            },
        },
    )
    assert h.wait(
        lambda: (
            sum(
                _running(p) and h.logged(p["metadata"]["name"], "Listening for Jobs")
                for p in h.runner_pods("arc-runners", "arc-runner-set")
            )
            >= 2
        ),
    )


# ---- failed-runners --------------------------------------------------------------------------------------
def test_pod_security_rejection_marks_runners_failed_invalid_pod(harness):
    h = harness("failed-runners")
    ns = "team-a"

    def failed() -> list[dict]:
        return [er for er in h.cluster.list(ER, ns) if (er.get("status") or {}).get("reason") == "InvalidPod"]

    assert h.wait(lambda: len(failed()) >= 3)
    status = failed()[0]["status"]
    assert status["phase"] == "Failed"
    assert status["message"].startswith("Failed to create the pod: ")
    assert 'violates PodSecurity "baseline:latest"' in status["message"]
    assert not h.runner_pods(ns, "dind-set")
    assert h.wait(
        lambda: (h.cluster.get(ARS, ns, "dind-set").get("status") or {}).get("failedEphemeralRunners") == 3
    )
    time.sleep(0.5)
    assert len(h.cluster.list(ER, ns)) == 3  # failed runners count toward replicas: no new ones


def test_failed_runners_recover_after_relabel_and_delete(harness):
    h = harness("failed-runners")
    ns = "team-a"
    assert h.wait(
        lambda: (
            len(
                [
                    er
                    for er in h.cluster.list(ER, ns)
                    if (er.get("status") or {}).get("reason") == "InvalidPod"
                ]
            )
            >= 3
        )
    )
    h.cluster.mutate(
        "namespaces",
        None,
        ns,
        lambda n: n["metadata"]["labels"].update({"pod-security.kubernetes.io/enforce": "privileged"}),
    )
    with held(h, lambda: True):
        for er in h.cluster.list(ER, ns):
            h.cluster.delete(ER, ns, er["metadata"]["name"])
    assert h.wait(
        lambda: (
            sum(
                _running(p) and h.logged(p["metadata"]["name"], "Listening for Jobs")
                for p in h.runner_pods(ns, "dind-set")
            )
            >= 3
        ),
    )
    pod = h.runner_pods(ns, "dind-set")[0]
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["init-dind-externals", "dind"]


def test_unpullable_image_shows_err_image_pull_then_back_off(harness):
    h = harness("failed-runners")
    ns = "arc-runners"

    def backing_off() -> list[dict]:
        return [
            pod
            for pod in h.runner_pods(ns, "broken-image-set")
            for status in (pod.get("status") or {}).get("containerStatuses") or ()
            if status["state"].get("waiting", {}).get("reason") == "ImagePullBackOff"
        ]

    assert h.wait(lambda: backing_off())
    pod = backing_off()[0]
    assert pod["status"]["phase"] == "Pending"
    messages = [e["message"] for e in h.events(ns, pod["metadata"]["name"]) if e["reason"] == "Failed"]
    assert any("Failed to pull image" in m and "not found" in m for m in messages)
    assert "Error: ImagePullBackOff" in messages


# ---- kube-mode RBAC and job containers ---------------------------------------------------------------
def test_runner_account_without_kube_mode_rights_fails_jobs(harness):
    h = harness("incident")
    assert h.wait(
        lambda: any(
            h.logged(p, "The Service account needs the following permissions")
            for _, p, _, _ in h.lines
            if p.startswith("team-a-custom-sa")
        ),
    )
    assert any(
        h.logged(
            p,
            'pods is forbidden: User "system:serviceaccount:team-a:ci-runner" cannot create resource "pods"',
        )
        for _, p, _, _ in h.lines
        if p.startswith("team-a-custom-sa")
    )


def test_job_without_container_is_refused_in_kube_mode(harness):
    h = harness("healthy")
    ns = "arc-runners"
    ars = copy.deepcopy(h.cluster.get(ARS, ns, "arc-runner-set"))
    assert ars
    h.cluster.mutate(
        ARS,
        ns,
        "arc-runner-set",
        lambda o: o["metadata"]["annotations"].update(
            {
                "sandbox.arc-top.dev/job-stream": json.dumps(
                    {"every_seconds": 3, "duration_seconds": 5, "without_container_every": 1}
                )
            }
        ),
    )
    assert h.wait(
        lambda: any(
            h.logged(p, "Jobs without a job container are forbidden on this runner")
            for _, p, _, _ in h.lines
            if p.startswith("arc-runner-set")
        ),
    )


# ---- large ------------------------------------------------------------------------------------------------
def test_large_populates_at_once_and_churns(harness):
    # At once: the runners are there, running, when the scenario has loaded (no waiting). How long loading takes
    # is a figure (bench/sandbox.py: startup_s; a pass's controller.last_pass_seconds has no bench yet), not a test.
    h = harness("large", scale_sets=3, runners_per_set=20, churn_events_per_second=150)
    running = [
        p
        for p in h.cluster.list("pods")
        if (p["metadata"].get("labels") or {}).get("actions-ephemeral-runner") == "True" and _running(p)
    ]
    assert len(running) == 60
    changes = h.controller.changes
    assert h.wait(lambda: h.controller.jobs.completed >= 5, timeout=30)
    assert h.controller.changes - changes > 100
    assert h.wait(lambda: len(h.cluster.list(LISTENER)) == 3)


def test_runner_egress_blocked_fails_with_backoff(harness):
    h = harness("healthy")
    ns = "arc-runners"
    h.cluster.create(
        "networkpolicies",
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "deny-egress", "namespace": ns},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"]},
        },
    )
    assert h.wait(lambda: any(code == 1 for _, code in h.finished))
    pod, _ = next(f for f in h.finished if f[1] == 1)
    assert h.logged(pod, "Runner connect error") and h.logged(pod, "i/o timeout")
    with held(h, lambda: len(((h.cluster.get(ER, ns, pod) or {}).get("status") or {}).get("failures") or {}) >= 2):
        assert h.cluster.get(ER, ns, pod)["status"]["phase"] in ("Pending", "Running", "Failed")

"""kube/logstream.py against a live sandbox: follow, the end of a container, previous logs, a dropped
connection resumed without repeats, errors; plus the timestamp parsing and the resume dedup."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes import client

from arc_top.kube.logstream import (
    Dedup,
    LogFollower,
    LogLines,
    LogRequest,
    LogStatus,
    container_end,
    split_stamp,
    ts_key,
)
from arc_top.sandbox.controller.lograte import RATE_ANNOTATION
from tests.conftest import api_client
from tests.waiting import wait_for

NS = "arc-runners"


class Collector:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.statuses: list[LogStatus] = []
        self.lock = threading.Lock()

    def __call__(self, event) -> None:
        with self.lock:
            if isinstance(event, LogLines):
                self.lines.extend(event.lines)
            else:
                self.statuses.append(event)

    def texts(self) -> list[str]:
        with self.lock:
            return [text for _, text in self.lines]

    def states(self) -> list[str]:
        with self.lock:
            return [s.state for s in self.statuses]


def make_pod(sandbox, name: str, annotations: dict | None = None, containers: tuple[str, ...] = ("main",)) -> None:
    core = client.CoreV1Api(api_client(sandbox))
    core.create_namespaced_pod(NS, {"metadata": {"name": name, "annotations": annotations or {}},
                                    "spec": {"containers": [{"name": c, "image": "busybox"} for c in containers]}})
    wait_for(lambda: (sandbox.cluster.get("pods", NS, name).get("status") or {}).get("phase") == "Running")


def follow(sandbox, request: LogRequest, **kwargs) -> tuple[LogFollower, Collector]:
    sink = Collector()
    follower = LogFollower(api_client(sandbox), request, sink, **kwargs)
    follower.start()
    return follower, sink


# ---- pure pieces -----------------------------------------------------------------------------------------
def test_ts_key_orders_trimmed_fractions():
    assert ts_key("2025-01-01T00:00:00.1Z") > ts_key("2025-01-01T00:00:00.099999999Z")
    assert ts_key("2025-01-01T00:00:01Z") == (1735689601, 0)
    assert ts_key("2025-01-01T02:00:00+02:00") == ts_key("2025-01-01T00:00:00Z")
    assert ts_key("not a time") is None
    assert split_stamp("2025-01-01T00:00:00.5Z hello world") == ("2025-01-01T00:00:00.5Z", "hello world")
    assert split_stamp("plain line") == ("", "plain line")
    assert split_stamp("2025-01-01T00:00:00Z") == ("2025-01-01T00:00:00Z", "")


def test_dedup_drops_what_was_seen_counting_shared_stamps():
    dedup = Dedup()
    for key in [(1, 0), (2, 0), (2, 0)]:
        assert dedup.accept(key)
    dedup.resume()
    assert not dedup.accept((1, 0))          # older
    assert not dedup.accept((2, 0))          # the two lines sharing the last stamp, already shown
    assert not dedup.accept((2, 0))
    assert dedup.accept((2, 0))              # a third line with that stamp is new
    assert dedup.accept((3, 0))
    assert dedup.accept((1, 0))              # outside a resume nothing is dropped


def test_container_end_reasons():
    running = {"status": {"phase": "Running", "containerStatuses": [{"name": "runner", "state": {"running": {}}}]}}
    assert container_end(running, "runner") == ""
    done = {"status": {"phase": "Running", "containerStatuses": [
        {"name": "runner", "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]}}
    assert "terminated (Completed, exit code 0)" in container_end(done, "runner")
    assert "Succeeded" in container_end({"status": {"phase": "Succeeded"}}, "runner")


# ---- live ------------------------------------------------------------------------------------------------
def test_follow_then_the_container_ends(healthy):
    make_pod(healthy, "ls-follow")
    healthy.cluster.logs.write(NS, "ls-follow", "main", ["first", "second"])
    follower, sink = follow(healthy, LogRequest(NS, "ls-follow"))
    try:
        wait_for(lambda: sink.texts() == ["first", "second"])
        healthy.cluster.logs.write(NS, "ls-follow", "main", ["third"])
        wait_for(lambda: sink.texts() == ["first", "second", "third"])
        assert all(ts_key(stamp) for stamp, _ in sink.lines)
        # The container terminates: the kubelet ends its log and reports it terminated.
        kubelet = healthy.controller.kubelet
        kubelet.finish(healthy.cluster.get("pods", NS, "ls-follow"), "main", 3)
        wait_for(lambda: "ended" in sink.states())
        assert "exit code 3" in sink.statuses[-1].message
        assert "reconnecting" not in sink.states()
        wait_for(lambda: not follower.is_alive(), what="the follower to end")
    finally:
        follower.stop()


def test_previous_container_log(healthy):
    make_pod(healthy, "ls-previous")
    logs = healthy.cluster.logs
    logs.write(NS, "ls-previous", "main", ["before the restart"])
    logs.restart(NS, "ls-previous", "main")
    logs.write(NS, "ls-previous", "main", ["after the restart"])
    follower, sink = follow(healthy, LogRequest(NS, "ls-previous", previous=True))
    wait_for(lambda: "ended" in sink.states())
    assert sink.texts() == ["before the restart"]
    follower, sink = follow(healthy, LogRequest(NS, "ls-previous", follow=False))
    wait_for(lambda: "ended" in sink.states())
    assert sink.texts() == ["after the restart"]


def test_tail_and_window(healthy):
    make_pod(healthy, "ls-tail")
    healthy.cluster.logs.write(NS, "ls-tail", "main", [f"line {i}" for i in range(10)])
    follower, sink = follow(healthy, LogRequest(NS, "ls-tail", follow=False, tail_lines=3))
    wait_for(lambda: "ended" in sink.states())
    assert sink.texts() == ["line 7", "line 8", "line 9"]


def test_dropped_connection_resumes_without_repeats(healthy):
    make_pod(healthy, "ls-drop", annotations={RATE_ANNOTATION: "400"})
    follower, sink = follow(healthy, LogRequest(NS, "ls-drop", tail_lines=None), backoff=(0.2, 1.0))
    try:
        wait_for(lambda: len(sink.lines) > 200)
        healthy.cluster.restart(down_seconds=1.0)
        wait_for(lambda: "reconnecting" in sink.states())
        wait_for(lambda: any(s.message.startswith("reconnected") for s in sink.statuses), timeout=20)
        count = len(sink.lines)
        wait_for(lambda: len(sink.lines) > count + 400)
    finally:
        follower.stop()
    numbers = [int(text.split()[0]) for text in sink.texts()]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "a line was lost or repeated"
    assert numbers[0] == 0
    assert follower.reconnects >= 1


def test_missing_pod_and_waiting_container(healthy):
    follower, sink = follow(healthy, LogRequest(NS, "no-such-pod"))
    wait_for(lambda: "error" in sink.states())
    assert "404" in sink.statuses[-1].message and "no-such-pod" in sink.statuses[-1].message
    wait_for(lambda: not follower.is_alive(), what="the follower to end")

    core = client.CoreV1Api(api_client(healthy))
    # An image that never pulls: the container stays waiting, the follower keeps asking.
    core.create_namespaced_pod(NS, {"metadata": {"name": "ls-waiting"}, "spec": {
        "containers": [{"name": "main", "image": "registry.invalid/nope:1"}]}})
    follower, sink = follow(healthy, LogRequest(NS, "ls-waiting"))
    try:
        wait_for(lambda: "waiting" in sink.states())
        assert "is waiting to start" in sink.statuses[-1].message
    finally:
        follower.stop()
    wait_for(lambda: not follower.is_alive(), what="the follower to end")


@pytest.mark.parametrize("rate", [2000])
def test_fast_log_keeps_every_line(healthy, rate):
    make_pod(healthy, "ls-fast", annotations={RATE_ANNOTATION: str(rate)})
    follower, sink = follow(healthy, LogRequest(NS, "ls-fast", tail_lines=None))
    try:
        wait_for(lambda: len(sink.lines) > rate * 2)
    finally:
        follower.stop()
    numbers = [int(text.split()[0]) for text in sink.texts()]
    assert numbers == list(range(len(numbers)))


def test_undecodable_bytes_pass_through_and_are_replaced(healthy):
    make_pod(healthy, "ls-bytes")
    raw = b"before \xff\xfe after".decode("utf-8", errors="surrogateescape")
    healthy.cluster.logs.write(NS, "ls-bytes", "main", [raw])
    resp = client.CoreV1Api(api_client(healthy)).read_namespaced_pod_log("ls-bytes", NS, _preload_content=False)
    assert resp.data == b"before \xff\xfe after\n"                  # the sandbox serves the bytes as written
    follower, sink = follow(healthy, LogRequest(NS, "ls-bytes", follow=False))
    wait_for(lambda: "ended" in sink.states())
    assert sink.texts() == ["before \ufffd\ufffd after"]


def test_log_rate_knob_parsing_and_stop(healthy):
    from arc_top.sandbox.controller.lograte import rate_of

    assert rate_of({"metadata": {"annotations": {RATE_ANNOTATION: "250"}}}) == 250.0
    assert rate_of({"metadata": {"annotations": {RATE_ANNOTATION: "fast"}}}) == 0.0
    assert rate_of({"metadata": {}}) == 0.0
    make_pod(healthy, "ls-rate-stop", annotations={RATE_ANNOTATION: "100"})
    logs = healthy.cluster.logs
    wait_for(lambda: logs.snapshot(NS, "ls-rate-stop", "main")[1] > 20)
    client.CoreV1Api(api_client(healthy)).delete_namespaced_pod("ls-rate-stop", NS)
    wait_for(lambda: healthy.cluster.get("pods", NS, "ls-rate-stop") is None)
    time.sleep(0.3)
    assert logs.snapshot(NS, "ls-rate-stop", "main") == ([], 0)      # the writer stopped with its pod

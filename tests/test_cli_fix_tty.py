"""`arc-top fix` at a terminal (a real pseudo-terminal): the question names the object, the context and the
server; `n` (or anything but y) writes nothing; `y` applies; and when the object changes while the question is
open, the new diff is shown and nothing is written (the Fixer's conflict discipline, seen from the CLI).

The sandboxes are paused, so that only this test and arc-top change the scale set.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from arc_top.sandbox.run import start_sandbox
from tests.conftest import Kubectl, api_client

ARC_TOP = [sys.executable, "-m", "arc_top.cli.main"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SET = "arc-runners/arc-runner-set"
QUESTION = "[y/N]"
BOUND_S = 180.0            # a safety bound for a hung child, not a speed requirement


@pytest.fixture
def sb(tmp_path):
    sandbox = start_sandbox("kube-permissions", kubeconfig_path=str(tmp_path / "config"))
    sandbox.pause()
    yield sandbox
    sandbox.stop()


class Terminal:
    """arc-top with stdin, stdout and stderr on a pseudo-terminal."""

    def __init__(self, state: str, *args: str) -> None:
        master, slave = pty.openpty()
        env = dict(os.environ, XDG_STATE_HOME=state, TERM="xterm-256color", COLUMNS="200")
        env.pop("NO_COLOR", None)
        self.proc = subprocess.Popen(ARC_TOP + list(args), stdin=slave, stdout=slave, stderr=slave, cwd=ROOT,
                                     env=env, close_fds=True)
        os.close(slave)
        self.master = master
        self.text = ""

    def read_until(self, needle: str | None) -> str:
        """Read until `needle` shows (None: until the program closes the terminal)."""
        end = time.monotonic() + BOUND_S
        data = b""
        while needle is None or needle.encode() not in data:
            ready, _, _ = select.select([self.master], [], [], max(0.0, end - time.monotonic()))
            if not ready:
                raise AssertionError(f"waited for {needle!r}; got: {data[-3000:]!r}")
            try:
                chunk = os.read(self.master, 65536)
            except OSError:          # EIO: the child closed its side
                break
            if not chunk:
                break
            data += chunk
        self.text += data.decode("utf-8", "replace")
        return self.text

    def answer(self, line: str) -> int:
        os.write(self.master, line.encode() + b"\n")
        self.read_until(None)
        code = self.proc.wait(BOUND_S)
        os.close(self.master)
        return code


def read_ars(sandbox) -> dict:
    from kubernetes import client

    return client.CustomObjectsApi(api_client(sandbox)).get_namespaced_custom_object(
        "actions.github.com", "v1alpha1", "arc-runners", "autoscalingrunnersets", "arc-runner-set")


def security_context(ars: dict) -> dict:
    return ars["spec"]["template"]["spec"].get("securityContext") or {}


def test_the_question_names_object_context_and_server_and_no_writes_nothing(sb, tmp_path):
    before = read_ars(sb)
    term = Terminal(str(tmp_path), "fix", "ARC501", "--scale-set", SET, "--kubeconfig", sb.kubeconfig_path)
    shown = term.read_until(QUESTION)
    question = shown[shown.rindex("Apply"):]
    for part in ("AutoscalingRunnerSet arc-runners/arc-runner-set", "arc-sandbox", sb.url):
        assert part in question, question
    assert "\x1b[32m" in shown                          # the diff is coloured on a terminal
    assert term.answer("n") == 2
    assert "not confirmed" in term.text
    after = read_ars(sb)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert not os.path.exists(tmp_path / "arc-top" / "audit.jsonl")


def test_yes_at_the_terminal_applies(sb, tmp_path):
    term = Terminal(str(tmp_path), "fix", "ARC501", "--scale-set", SET, "--no-wait",
                    "--kubeconfig", sb.kubeconfig_path)
    term.read_until(QUESTION)
    assert term.answer("y") == 0, term.text[-3000:]
    assert "applied ARC501 fs-group" in term.text
    assert security_context(read_ars(sb)).get("fsGroup") == 123


def test_a_change_while_asking_shows_the_new_diff_and_writes_nothing(sb, tmp_path):
    term = Terminal(str(tmp_path), "fix", "ARC501", "--scale-set", SET, "--no-wait",
                    "--kubeconfig", sb.kubeconfig_path)
    term.read_until(QUESTION)
    # Someone else sets a securityContext meanwhile: the fix would now add a field to it, not the whole object.
    Kubectl(sb, str(tmp_path / "kubectl-cache"))(
        "patch", "autoscalingrunnerset", "arc-runner-set", "-n", "arc-runners", "--type", "json", "-p",
        '[{"op":"add","path":"/spec/template/spec/securityContext","value":{"runAsNonRoot":true}}]')
    changed = read_ars(sb)
    assert term.answer("y") == 2, term.text[-3000:]
    assert "the object changed since the preview; nothing was written" in term.text
    assert "The object changed since the preview; the change would now be:" in term.text
    after = read_ars(sb)
    assert security_context(after) == {"runAsNonRoot": True}
    assert after["metadata"]["resourceVersion"] == changed["metadata"]["resourceVersion"]

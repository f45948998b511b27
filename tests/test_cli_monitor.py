"""`arc-top` and `arc-top demo` as a user runs them: one-line errors, and the real screen in tmux."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest
import yaml

from tests.waiting import wait_for

ARC_TOP = [sys.executable, "-m", "arc_top.cli.main"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(ARC_TOP + list(args), capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env=dict(os.environ, **(env or {})))


def assert_one_line(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("arc-top: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr


def test_missing_kubeconfig_is_one_line(tmp_path):
    assert_one_line(run("--kubeconfig", str(tmp_path / "nope")), "nope")


def test_unknown_context_lists_the_contexts(healthy):
    assert_one_line(run("--kubeconfig", healthy.kubeconfig_path, "--context", "prod"),
                    'context "prod" not found', "arc-sandbox")


def test_unreachable_cluster_suggests_the_demo(healthy, tmp_path):
    config = yaml.safe_load(open(healthy.kubeconfig_path))
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    path = tmp_path / "down.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    assert_one_line(run("--kubeconfig", str(path)), "127.0.0.1:1", "arc-top demo")


def test_rejected_token_is_one_line(healthy, tmp_path):
    config = yaml.safe_load(open(healthy.kubeconfig_path))
    config["users"][0]["user"]["token"] = "wrong"
    path = tmp_path / "bad.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    assert_one_line(run("--kubeconfig", str(path)), "401")


class Tmux:
    def __init__(self, width: int, height: int):
        self.name = "arc-top-" + uuid.uuid4().hex[:8]
        self.size = (width, height)

    def start(self, command: str) -> None:
        width, height = str(self.size[0]), str(self.size[1])
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", width, "-y", height, "-c", ROOT,
                        command], check=True)
        # A detached session can come up at the server's default size: pin it (the app follows SIGWINCH).
        subprocess.run(["tmux", "resize-window", "-t", self.name, "-x", width, "-y", height], check=True)

    def screen(self) -> str:
        out = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True)
        return out.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, predicate, timeout: float = 30) -> str:
        """The first screen `predicate` accepts (tests.waiting.wait_for on the captured pane)."""
        seen = [""]

        def matching() -> str | None:
            seen[0] = self.screen()
            return seen[0] if predicate(seen[0]) else None

        try:
            return wait_for(matching, timeout, step=0.2, what="the screen")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; screen never matched:\n{seen[0]}") from None

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture()
def tmux():
    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is not installed: .ci/run installs it; install it to run this test")
    sessions = []

    def make(width: int, height: int) -> Tmux:
        session = Tmux(width, height)
        sessions.append(session)
        return session
    yield make
    for session in sessions:
        session.kill()


def runners_part(screen: str) -> str:
    """The Runners panel's text: below its title, the left 80 columns (at 160x48 the panels are a grid, the Findings
    and Volumes panels on the right)."""
    lines = screen.split("Runners", 1)[-1].splitlines()
    return "\n".join(line[:80] for line in lines)


def test_demo_in_a_real_terminal(tmux, tmp_path):
    status = tmp_path / "status"
    term = tmux(160, 48)
    # COLUMNS/LINES leak from the test process into the tmux server's environment and would
    # override the pane's real size in Textual: the pane must be the terminal.
    term.start(f"env -u COLUMNS -u LINES {sys.executable} -m arc_top.cli.main demo; echo $? > {status}; sleep 30")
    wanted = ("Scale sets", "Runners", "Volumes", "Events",                 # the four panels
              "team-a-kube", "team-b-ssd", "team-b-dind", "legacy-set",      # the scenario's scale sets
              "https://127.0.0.1:")                                          # the header's server: 160 wide
    term.wait_for(lambda s: all(t in s for t in wanted))
    term.keys("2")
    term.keys("/")
    term.keys("t", "e", "a", "m", "-", "b")
    # Runners are grouped under their scale set's row (named without its prefix): the filter leaves team-b's sets.
    term.wait_for(lambda s: "team-b-" in runners_part(s) and "arc-runner-set" not in runners_part(s))
    term.keys("Escape")
    time.sleep(0.5)       # an ESC directly followed by "q" reads as alt+q in a terminal
    term.keys("q")
    wait_for(status.exists, step=0.2, what="arc-top to exit")
    assert status.read_text().strip() == "0"
    after = term.screen()
    assert "Scale sets" not in after        # the alternate screen is gone: the terminal is back

"""The drill-down in a real terminal: `arc-top demo`, `2` then `l` shows a runner's log, `esc` returns."""

from __future__ import annotations

import sys
import time

from tests.test_cli_monitor import tmux  # noqa: F401  (the fixture)
from tests.waiting import wait_for


def runners_part(screen: str) -> str:
    return screen.split("Runners", 1)[-1].split("Volumes", 1)[0]


def test_demo_runner_log_in_a_real_terminal(tmux, tmp_path):  # noqa: F811
    status = tmp_path / "status"
    term = tmux(120, 36)
    # COLUMNS/LINES from the test process would override the pane's size in Textual (see test_cli_monitor).
    term.start(f"env -u COLUMNS -u LINES {sys.executable} -m arc_top.cli.main demo; echo $? > {status}; sleep 30")
    term.wait_for(lambda s: "arc-runner-set" in s and "Runners" in s, timeout=45)
    term.keys("2")
    # Only the healthy set's runners (the incident's failed ones have no pod to follow): the filter keeps them.
    term.keys("/")
    time.sleep(0.3)
    term.keys("arc-runner-set-")
    time.sleep(0.3)
    term.keys("Enter")
    # One of the healthy set's runners is up (on a loaded machine the set may still be scaling up).
    term.wait_for(lambda s: "arc-runner-set-" in runners_part(s) and "Running" in runners_part(s), timeout=45)
    for _ in range(5):       # the first runner may be between pods (ephemeral): then `l` only says so; again
        term.keys("g")                                   # the scale set's row (runners are grouped under it)…
        time.sleep(0.3)
        term.keys("Down")                                # …and its first runner
        time.sleep(0.3)
        term.keys("l")
        try:
            term.wait_for(lambda s: "› log" in s.splitlines()[0], timeout=5)
            break
        except AssertionError:
            continue
    screen = term.wait_for(lambda s: "› log" in s.splitlines()[0] and
                           any(t in s for t in ("Connected to GitHub", "Listening for Jobs", "Running job")),
                           timeout=30)
    assert "following" in screen or "ended" in screen
    assert "Scale sets" not in screen                     # the log screen, not the main one
    term.keys("Escape")
    term.wait_for(lambda s: "Scale sets" in s and "Runners" in s and "› log" not in s, timeout=10)
    time.sleep(0.5)       # an ESC directly followed by "q" reads as alt+q in a terminal
    term.keys("q")
    wait_for(status.exists, step=0.2, what="arc-top to exit")
    assert status.read_text().strip() == "0"

"""Fixing in a real terminal at 80×24: `arc-top demo --scenario kube-permissions`, `5`, the ARC501 row, `f` (the diff
and the dry-run), `enter` (the confirmation), `y` → "ARC501 cleared" on the screen."""

from __future__ import annotations

import re
import sys
import time

from tests.test_cli_monitor import tmux  # noqa: F401  (the fixture)


def test_fix_arc501_in_a_real_terminal(tmux, tmp_path):  # noqa: F811
    status = tmp_path / "status"
    term = tmux(80, 24)
    # COLUMNS/LINES from the test process would override the pane's size in Textual (see test_cli_monitor); the
    # audit goes to this test's own directory.
    term.start(f"env -u COLUMNS -u LINES XDG_STATE_HOME={tmp_path / 'state'} {sys.executable} -m arc_top.cli.main demo "
               f"--scenario kube-permissions; echo $? > {status}; sleep 30")
    term.wait_for(lambda s: "Scale sets" in s and "runner-set" in s, timeout=45)     # names may be cut in the middle
    # The checks have run and the Findings panel has its rows (its title counts them): `5` can focus it …
    term.wait_for(lambda s: re.search(r"Findings \d", s) is not None, timeout=60)
    term.keys("5")
    # … the Findings panel, filtered to ARC501: arc-runner-set's row, then its ARC501 finding (the last row).
    term.wait_for(lambda s: "ARC501" in s, timeout=60)
    term.keys("/")
    time.sleep(0.3)
    term.keys("ARC501")
    time.sleep(0.3)
    term.keys("Enter")
    term.wait_for(lambda s: "/ARC501" in s and s.count("ARC501") >= 2, timeout=10)    # the title's filter, the row
    term.keys("G")
    time.sleep(0.3)
    term.keys("f")
    term.wait_for(lambda s: "Fix ARC501" in s and "dry-run:" in s, timeout=30)
    for _ in range(5):      # a busy scale set can move between the read and the dry-run: then `r` plans again
        screen = term.wait_for(lambda s: "dry-run: accepted" in s or "dry-run: rejected" in s, timeout=30)
        if "dry-run: accepted" in screen:
            break
        term.keys("r")
        time.sleep(1)
    assert "+        fsGroup: 123" in term.screen() or "securityContext" in term.screen()
    term.keys("Enter")
    screen = term.wait_for(lambda s: "Apply this fix?" in s, timeout=10)
    assert "arc-sandbox" in screen and "AutoscalingRunnerSet arc-runners/arc-runner-set" in screen
    term.keys("y")
    term.wait_for(lambda s: "applied ARC501 fs-group" in s, timeout=30)
    screen = term.wait_for(lambda s: "ARC501 cleared in" in s, timeout=90)
    assert "✔ ARC501 cleared in" in screen
    term.keys("Escape")
    term.wait_for(lambda s: "Scale sets" in s and "Fix ARC501" not in s, timeout=10)
    time.sleep(0.5)       # an ESC directly followed by "q" reads as alt+q in a terminal
    term.keys("q")
    end = time.monotonic() + 15
    while not status.exists() and time.monotonic() < end:
        time.sleep(0.2)
    assert status.read_text().strip() == "0"

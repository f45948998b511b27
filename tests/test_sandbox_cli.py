"""`arc-top sandbox` as a user runs it: a foreground server, kubectl against it, Ctrl-C stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from arc_top.sandbox.scenario import SCENARIO_DIR
from tests.conftest import Kubectl

ARC_TOP = [sys.executable, "-m", "arc_top.cli.main"]


def test_list_names_every_scenario_with_a_description():
    out = subprocess.run(ARC_TOP + ["sandbox", "--list"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    names = {line.split()[0]: line for line in out.stdout.splitlines()}
    files = sorted(path.stem for path in SCENARIO_DIR.glob("*.yaml"))
    assert {"healthy", "incident", "large"} <= set(files)
    for name in files:
        assert name in names
        assert len(names[name].split(maxsplit=1)) == 2, f"{name} has no description"


def test_unknown_scenario_is_one_line_and_exit_2():
    out = subprocess.run(ARC_TOP + ["sandbox", "--scenario", "nope"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "unknown scenario 'nope'" in out.stderr
    assert "Traceback" not in out.stderr


def test_foreground_sandbox_serves_kubectl_and_stops_on_ctrl_c(tmp_path):
    kubeconfig = tmp_path / "sandbox.kubeconfig"
    proc = subprocess.Popen(ARC_TOP + ["sandbox", "--scenario", "healthy", "--kubeconfig", str(kubeconfig)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = []
        end = time.monotonic() + 30
        while time.monotonic() < end:
            line = proc.stdout.readline()
            banner.append(line)
            if "Press Ctrl-C" in line or not line:
                break
        text = "".join(banner)
        assert "API server: https://127.0.0.1:" in text and str(kubeconfig) in text
        assert oct(os.stat(kubeconfig).st_mode & 0o777) == "0o600"

        class _Sb:
            kubeconfig_path = str(kubeconfig)
        kubectl = Kubectl(_Sb(), str(tmp_path / "cache"))
        assert "autoscalingrunnersets" in kubectl("api-resources").stdout
        assert kubectl("get", "namespaces").stdout.startswith("NAME")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "stopped" in out and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sandbox_runs_without_any_ui_code():
    code = ("import sys; from arc_top.sandbox.run import start_sandbox; sb = start_sandbox('healthy'); sb.stop(); "
            "bad = [m for m in sys.modules if m.split('.')[0] == 'textual' "
            "or m.startswith(('arc_top.tui', 'arc_top.widgets'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr

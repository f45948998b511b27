"""Shared by the benchmark scripts: a sandbox in its own process and an HTTPS client for it."""

from __future__ import annotations

import base64
import os
import ssl
import subprocess
import sys
import tempfile

import httpx
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_sandbox_process(scenario: str, kubeconfig: str, params: list[str] = ()) -> subprocess.Popen:
    """`arc-top sandbox` in a child process; returns once it serves."""
    argv = [sys.executable, "-m", "arc_top.cli.main", "sandbox", "--scenario", scenario, "--kubeconfig", kubeconfig]
    for p in params:
        argv += ["--set", p]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    for line in proc.stdout:
        if "Press Ctrl-C" in line:
            return proc
    raise SystemExit("sandbox did not start: " + proc.stderr.read())


def http_client(kubeconfig: str) -> httpx.Client:
    cfg = yaml.safe_load(open(kubeconfig))
    cluster = cfg["clusters"][0]["cluster"]
    token = cfg["users"][0]["user"]["token"]
    ca = tempfile.NamedTemporaryFile("wb", suffix=".crt", delete=False)
    ca.write(base64.b64decode(cluster["certificate-authority-data"]))
    ca.close()
    ctx = ssl.create_default_context(cafile=ca.name)
    os.unlink(ca.name)
    return httpx.Client(base_url=cluster["server"], verify=ctx, timeout=60,
                        headers={"Authorization": f"Bearer {token}"})


def machine() -> dict:
    import platform
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}

"""Shared fixtures: real sandbox servers over HTTPS, the official kubernetes client, the real kubectl."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from sandbox.run import Sandbox, start_sandbox


@pytest.fixture(scope="module")
def healthy(tmp_path_factory) -> Sandbox:
    sb = start_sandbox("healthy", kubeconfig_path=str(tmp_path_factory.mktemp("kc") / "config"), speed=4.0)
    yield sb
    sb.stop()


def api_client(sandbox: Sandbox, user: str = "admin"):
    """An official-client ApiClient for one of the scenario's users, from the sandbox's kubeconfig."""
    from kubernetes import config

    context = "arc-sandbox" if user == "admin" else f"arc-sandbox-{user}"
    return config.new_client_from_config(config_file=sandbox.kubeconfig_path, context=context)


class Kubectl:
    """Runs the real kubectl against a sandbox with its own discovery cache."""

    def __init__(self, sandbox: Sandbox, cache_dir: str):
        self.sandbox = sandbox
        self.cache_dir = cache_dir
        self.binary = shutil.which("kubectl")
        if self.binary is None:
            raise RuntimeError("kubectl is not installed: the sandbox compatibility tests need it")

    def env(self) -> dict:
        return dict(os.environ, KUBECONFIG=self.sandbox.kubeconfig_path)

    def argv(self, *args: str, context: str | None = None) -> list[str]:
        argv = [self.binary, "--cache-dir", self.cache_dir]
        if context:
            argv += ["--context", context]
        return argv + list(args)

    def __call__(self, *args: str, context: str | None = None, check: bool = True, timeout: float = 30,
                 input: str | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.argv(*args, context=context), env=self.env(), capture_output=True,
                              text=True, timeout=timeout, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    def popen(self, *args: str, context: str | None = None) -> subprocess.Popen:
        return subprocess.Popen(self.argv(*args, context=context), env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

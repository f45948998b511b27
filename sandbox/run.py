"""Start a whole sandbox cluster (API server, scenario, ARC controller simulation) in this process."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

from sandbox.cluster import Cluster
from sandbox.controller import Controller
from sandbox.kubeconfig import kubeconfig, write_kubeconfig
from sandbox.scenario import Scenario, load_scenario
from sandbox.server import SandboxServer


@dataclass
class Sandbox:
    cluster: Cluster
    server: SandboxServer
    controller: Controller
    scenario: Scenario
    kubeconfig_path: str

    @property
    def url(self) -> str:
        return self.server.url

    def token(self, user: str = "admin") -> str:
        return self.scenario.users[user]

    def kubeconfig_dict(self, current: str = "admin") -> dict:
        return kubeconfig(self.url, self.server.certificates.ca_pem, self.scenario.users,
                          self.scenario.namespace, current=current)

    def stop(self) -> None:
        self.controller.stop()
        self.server.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_sandbox(scenario: str = "healthy", port: int = 0, params: dict | None = None,
                  kubeconfig_path: str | None = None, verbose: bool = False,
                  speed: float = 1.0) -> Sandbox:
    """Everything up and serving; the kubeconfig (mode 0600) has context `arc-sandbox` (admin) and
    `arc-sandbox-<user>` for every other scenario user."""
    cluster = Cluster()
    server = SandboxServer(cluster, port=port, verbose=verbose)
    loaded = load_scenario(cluster, scenario, params)
    server.start()
    controller = Controller(cluster, speed=speed)
    controller.start()
    if kubeconfig_path is None:
        fd, kubeconfig_path = tempfile.mkstemp(prefix="arc-sandbox-", suffix=".kubeconfig")
        os.close(fd)
    sandbox = Sandbox(cluster, server, controller, loaded, kubeconfig_path)
    write_kubeconfig(kubeconfig_path, sandbox.kubeconfig_dict())
    return sandbox

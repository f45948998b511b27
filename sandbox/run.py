"""Start a whole sandbox cluster (API server, scenario, ARC controller simulation) in this process."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from arc_top.sandbox.cluster import Cluster
from arc_top.sandbox.controller import Controller
from arc_top.sandbox.kubeconfig import kubeconfig, write_kubeconfig
from arc_top.sandbox.replay import DumpFacts, load_replay
from arc_top.sandbox.requestlog import RequestRecord
from arc_top.sandbox.scenario import Scenario, load_scenario
from arc_top.sandbox.server import SandboxServer


@dataclass
class Sandbox:
    cluster: Cluster
    server: SandboxServer
    controller: Controller
    scenario: Scenario
    kubeconfig_path: str
    completions: tuple[str, ...] = ()         # replays: what the files lacked and the sandbox added
    reproduced: tuple[str, ...] = ()          # replays: what of the files' state the sandbox kept (CRDs, ages, …)

    @property
    def url(self) -> str:
        return self.server.url

    def token(self, user: str = "admin") -> str:
        return self.scenario.users[user]

    def kubeconfig_dict(self, current: str = "admin") -> dict:
        return kubeconfig(self.url, self.server.certificates.ca_pem, self.scenario.users,
                          self.scenario.namespace, current=current)

    # ---- what clients did (the API server's request log) ------------------------------------------
    def mark(self) -> int:
        """A position in the request log: pass it to `requests_since` / `mutating_since`."""
        return self.cluster.requests.mark()

    def requests_since(self, mark: int) -> list[RequestRecord]:
        """Every HTTP request answered since `mark` (Kubernetes API, the fake GitHub under /api/v3, and the
        /sandbox/ control endpoints), oldest first. The simulated controller acts in-process: never here."""
        return self.cluster.requests.since(mark)

    def mutating_since(self, mark: int) -> list[RequestRecord]:
        """POST/PUT/PATCH/DELETE requests to the Kubernetes API (/api/..., /apis/...) answered since `mark`,
        whatever their status: dry runs and SelfSubjectAccessReview/RulesReview POSTs included; the fake
        GitHub (/api/v3) and /sandbox/ control requests excluded."""
        return self.cluster.requests.mutating_since(mark)

    # ---- holding the simulation still --------------------------------------------------------------
    def pause(self) -> None:
        """Stop the simulated controller, kubelet, churn, jobs and log writers; returns once a pass in
        progress has finished, so nothing simulated changes until `resume()`. The API keeps serving."""
        if not self.cluster.pause(timeout=60):
            raise TimeoutError("the sandbox simulation did not come to rest within 60 s")

    def resume(self) -> None:
        self.cluster.resume()

    @contextmanager
    def paused(self) -> Iterator[Sandbox]:
        """`with sb.paused(): …` — paused inside; resumed after, unless it was already paused before."""
        was_paused = self.cluster.paused
        self.pause()
        try:
            yield self
        finally:
            if not was_paused:
                self.resume()

    def stop(self) -> None:
        self.controller.stop()
        self.server.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_sandbox(scenario: str = "healthy", port: int = 0, params: dict | None = None,
                  kubeconfig_path: str | None = None, verbose: bool = False,
                  speed: float = 1.0, replay: list[dict] | None = None, verdicts: dict | None = None,
                  facts: DumpFacts | None = None) -> Sandbox:
    """Everything up and serving; the kubeconfig (mode 0600) has context `arc-sandbox` (admin) and
    `arc-sandbox-<user>` for every other scenario user. `replay`: the objects of saved files (an `arc-top dump`,
    `kubectl get -o yaml`) to load instead of the scenario (sandbox.replay; raises ReplayError, a ValueError), with
    the GitHub `verdicts` the dump recorded and the `facts` the checks read in it (cli/replay_facts.py: the CRDs'
    version, failed registrations, the scale sets' ages; its verdicts when `verdicts` is None)."""
    cluster = Cluster()
    server = SandboxServer(cluster, port=port, verbose=verbose)
    completions: tuple[str, ...] = ()
    reproduced: tuple[str, ...] = ()
    if replay is not None:
        replayed = load_replay(cluster, replay, verdicts=verdicts, facts=facts)
        loaded, completions = replayed.scenario, tuple(replayed.completions)
        reproduced = tuple(replayed.reproduced)
    else:
        loaded = load_scenario(cluster, scenario, params)
    server.start()
    controller = Controller(cluster, speed=speed)
    controller.start()
    if kubeconfig_path is None:
        fd, kubeconfig_path = tempfile.mkstemp(prefix="arc-sandbox-", suffix=".kubeconfig")
        os.close(fd)
    sandbox = Sandbox(cluster, server, controller, loaded, kubeconfig_path, completions, reproduced)
    write_kubeconfig(kubeconfig_path, sandbox.kubeconfig_dict())
    return sandbox

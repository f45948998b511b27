"""Fix rehearsals against a real sandbox: the monitor's own watches and checks (kube.monitor.Monitor +
tui.findings.ChecksLoop, log tails and credential probes included) supply the findings, the real Fixer sends the
writes over HTTPS through the official client."""

from __future__ import annotations

import contextlib
import threading
import time

from arc_top.fixes.audit import AuditLog
from arc_top.fixes.session import Fixer
from arc_top.fixes.verify import CLEARED, Verification
from arc_top.kube.config import connect
from arc_top.kube.monitor import Monitor
from arc_top.sandbox.run import Sandbox
from arc_top.tui.findings import ChecksLoop
from tests.waiting import wait_for


class Diagnosis:
    """A running monitor + checks loop on a sandbox; the latest findings and snapshot on demand."""

    def __init__(self, sandbox: Sandbox, user: str = "admin") -> None:
        context = "arc-sandbox" if user == "admin" else f"arc-sandbox-{user}"
        self.conn = connect(sandbox.kubeconfig_path, context, (), True)
        self.monitor = Monitor(self.conn)
        self._lock = threading.Lock()
        self.findings: list = []
        self.runs = 0
        self.monitor.start()
        self.loop = ChecksLoop(self.monitor, self._deliver, github=True, recheck=2.0)
        self.loop.start()

    def _deliver(self, findings: list, version: int, error: str) -> None:
        if error:
            return
        with self._lock:
            self.findings = list(findings)
            self.runs += 1

    def latest(self) -> tuple[list, int]:
        with self._lock:
            return list(self.findings), self.runs

    def find(self, code: str, scale_set: str = "", timeout: float = 60.0):
        """The first finding `code` (of `scale_set`, when given) the checks report."""
        def hit():
            return next((f for f in self.latest()[0] if f.code == code and (not scale_set or f.scale_set == scale_set)),
                        None)
        return wait_for(hit, timeout, 0.2, f"{code} {scale_set}")

    def codes(self, scale_set: str) -> set[str]:
        return {f.code for f in self.latest()[0] if f.scale_set == scale_set}

    def fixer(self, tmp_path, read_only: bool = False) -> Fixer:
        return Fixer.for_connection(self.conn, read_only=read_only, audit=AuditLog(str(tmp_path / "audit.jsonl")))

    def verify(self, finding, started: float, wait: float = 90.0) -> Verification:
        """Follow the check runs after a fix until `finding` clears or `wait` passes."""
        v = Verification.of(finding, started, wait)
        seen = self.latest()[1]
        while True:
            findings, runs = self.latest()
            if runs != seen:
                seen = runs
                if v.update(findings, self.monitor.snapshot(), time.time()) != "waiting":
                    return v
            elif v.timed_out(time.time()):
                return v
            time.sleep(0.2)

    def cleared(self, finding, started: float, wait: float = 90.0) -> Verification:
        v = self.verify(finding, started, wait)
        assert v.state == CLEARED, f"{v.message()}; evidence: {v.evidence}"
        return v

    def stop(self) -> None:
        self.loop.stop()
        self.monitor.stop()


@contextlib.contextmanager
def diagnosed(scenario: str, tmp_path, speed: float = 4.0):
    """A sandbox of `scenario` with a Diagnosis on it, both stopped afterwards: (sandbox, diagnosis)."""
    from arc_top.sandbox.run import start_sandbox

    sb = start_sandbox(scenario, kubeconfig_path=str(tmp_path / f"{scenario}.kubeconfig"), speed=speed)
    try:
        diag = Diagnosis(sb)
        try:
            yield sb, diag
        finally:
            diag.stop()
    finally:
        sb.stop()

"""Diagnostics: pure checks over a kube.model.Snapshot (no textual, kubernetes or httpx imports).

Entry point: `run(snapshot, now=..., logs=..., probes=...) -> list[Finding]` (checks/engine.py); `probes` are
GitHub credential probe results (`ProbeResult`, checks/credentials.py). The codes, their wording and
docs links live in checks/catalogue.py (`CODES`); log lines are classified by `checks.logpatterns.match`.

Imports: `core` (text helpers), `kube` (its data types) and `probes` (probe results) only — never fixes, tui,
widgets, cli or sandbox (tests/test_layers.py)."""

from arc_top.checks.catalogue import CODES, Code
from arc_top.checks.credentials import ProbeProblem, ProbeResult, results_by_scale_set
from arc_top.checks.engine import run
from arc_top.checks.finding import ERROR, INFO, SEVERITIES, WARNING, Finding, LogTail, Subject, worst
from arc_top.checks.logpatterns import Pattern
from arc_top.checks.logpatterns import match as match_log_line

__all__ = ["CODES", "ERROR", "INFO", "SEVERITIES", "WARNING", "Code", "Finding", "LogTail", "Pattern",
           "ProbeProblem", "ProbeResult", "Subject", "match_log_line", "results_by_scale_set", "run", "worst"]

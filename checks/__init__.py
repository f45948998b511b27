"""Diagnostics: pure checks over a kube.model.Snapshot (no textual, kubernetes or httpx imports).

Entry point: `run(snapshot, now=..., logs=..., probes=...) -> list[Finding]` (checks/engine.py); `probes` are
GitHub credential probe results (`ProbeResult`, checks/credentials.py). The codes, their wording and
docs links live in checks/catalogue.py (`CODES`); log lines are classified by `checks.logpatterns.match`.

Imports: `core` (text helpers), `kube` (its data types) and `probes` (probe results) only — never fixes, tui,
widgets, cli or sandbox (tests/test_layers.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arc_top.checks.catalogue import CODES, Code
    from arc_top.checks.credentials import ProbeProblem, ProbeResult, results_by_scale_set
    from arc_top.checks.engine import run
    from arc_top.checks.finding import ERROR, INFO, SEVERITIES, WARNING, Finding, LogTail, Subject, worst
    from arc_top.checks.logpatterns import Pattern
    from arc_top.checks.logpatterns import match as match_log_line

__all__ = ["CODES", "ERROR", "INFO", "SEVERITIES", "WARNING", "Code", "Finding", "LogTail", "Pattern",
           "ProbeProblem", "ProbeResult", "Subject", "match_log_line", "results_by_scale_set", "run", "worst"]


def __getattr__(name: str) -> object:
    """The names above, imported at their first use: a module of the package (the silence rules the config
    file reads, a finding's type) does not load every check (the monitor's first screen needs none; the checks
    thread loads them once the panels have their rows)."""
    if name in ("CODES", "Code"):
        from arc_top.checks import catalogue as module
    elif name in ("ProbeProblem", "ProbeResult", "results_by_scale_set"):
        from arc_top.checks import credentials as module
    elif name == "run":
        from arc_top.checks import engine as module
    elif name in ("ERROR", "INFO", "SEVERITIES", "WARNING", "Finding", "LogTail", "Subject", "worst"):
        from arc_top.checks import finding as module
    elif name in ("Pattern", "match_log_line"):
        from arc_top.checks import logpatterns as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, "match" if name == "match_log_line" else name)
    globals()[name] = value
    return value

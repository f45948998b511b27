"""GitHub credential probes over plain HTTPS (httpx): is the token or GitHub App of a scale set's Secret accepted
by GitHub, with the scope or permission its githubConfigUrl's level needs? Textual-free and kubernetes-free: the
kube layer (kube/credentials.py) reads the Secrets and hands `Credentials` in; `ProbeResult`s come out, which
`checks.run(..., probes=...)` turns into ARC104–ARC107 findings.

Read-only: only GETs (`/user`, `/app`, `…/installation`, `…/actions/runners`); nothing is minted or changed.
`probe()` never raises for an expected failure: GitHub unreachable, rate limited or answering oddly gives a result
that is not evaluated (ARC000), never a false error.

Imports: no other arc-top package but `core` (plain text helpers) (tests/test_layers.py); `probes.model` and
`probes.urls` are plain data the checks read, so this package loads httpx only when a probe runs."""

from __future__ import annotations

from importlib import import_module

# What `probes.X` offers, and the module it lives in. Loaded on first use (PEP 562): `probes.model` and
# `probes.urls` are plain data that the checks read, and importing them must not load httpx or cryptography.
_LAZY = {"not_evaluated": "probing", "probe": "probing", "ProbeCache": "cache", "cache_key": "cache",
         "ClientPool": "client", "GitHubClient": "client", "ProbeError": "client", "RateLimited": "client",
         "Unreachable": "client", "UntrustedCertificate": "client", "Credentials": "model", "ProbeProblem": "model",
         "ProbeResult": "model", "mask_token": "model", "Target": "urls", "parse": "urls"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'probes' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)


__all__ = sorted(_LAZY)

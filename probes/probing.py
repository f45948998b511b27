"""Probing one credential: the PAT and GitHub App probes behind one call, cached per Secret version."""


from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

from arc_top.probes.cache import ProbeCache, cache_key
from arc_top.probes.client import ClientPool, GitHubClient, ProbeError, RateLimited, Unreachable, UntrustedCertificate
from arc_top.probes.model import Credentials, ProbeProblem, ProbeResult, mask_token
from arc_top.probes.urls import Target, parse


def not_evaluated(namespace: str, secret: str, config_url: str, reason: str, *, resource_version: str = "",
                  scale_sets: Sequence[str] = (), identity: str = "", kind: str = "",
                  clock: Callable[[], float] = time.time) -> ProbeResult:
    """A result for a credential that could not be probed (ARC000 with `reason`)."""
    target = parse(config_url)
    return ProbeResult(namespace=namespace, secret=secret, config_url=config_url, resource_version=resource_version,
                       scale_sets=tuple(scale_sets), kind=kind, identity=identity,
                       level=target.level if target else "", target=target.name if target else "",
                       api_base=target.api_base if target else "", probed_at=clock(), evaluated=False, reason=reason)


def probe(creds: Credentials, config_url: str, *, pool: ClientPool | None = None, timeout: float = 5.0,
          ca_pems: Sequence[bytes | str] = (), scale_sets: Sequence[str] = (), ca_note: str = "",
          clock: Callable[[], float] = time.time) -> ProbeResult:
    """Probe one Secret's credential against the target of `config_url`. `ca_pems`: extra CAs for this host (the
    scale set's githubServerTLS); `ca_note`: why such a CA could not be read, quoted when TLS then fails."""
    from arc_top.probes.app import probe_app
    from arc_top.probes.pat import probe_token

    started = clock()

    def skipped(reason: str) -> ProbeResult:
        result = not_evaluated(creds.namespace, creds.secret, config_url, reason,
                               resource_version=creds.resource_version, scale_sets=scale_sets,
                               identity=creds.identity, kind="app" if creds.kind == "app" else "", clock=clock)
        return dataclasses.replace(result, probed_at=started, elapsed=round(clock() - started, 3))

    target = parse(config_url)
    if target is None:
        return skipped("need a valid githubConfigUrl (see ARC108)")
    kind = creds.kind
    if kind not in ("token", "app"):
        words = {"both": "both a token and GitHub App keys", "incomplete-app": "incomplete GitHub App keys",
                 "none": "no credential"}
        return skipped(f"need one credential in Secret {creds.namespace}/{creds.secret}, which holds "
                       f"{words.get(kind, kind)} (see ARC102)")
    own_pool = pool is None
    pool = pool or ClientPool(timeout=timeout, clock=clock)
    try:
        client = pool.client(target.api_base, ca_pems)
        run = probe_token if kind == "token" else probe_app
        result = run(creds, target, client, clock)
    except UntrustedCertificate as exc:
        hint = ca_note or "pass --github-ca FILE, or set the scale set's githubServerTLS"
        return skipped(f"need GitHub: {target.api_base} unreachable, {exc} ({hint})")
    except Unreachable as exc:
        return skipped(f"need GitHub: {target.api_base} unreachable from this machine ({exc})")
    except RateLimited as exc:
        return skipped(f"need GitHub: {exc}")
    except ProbeError as exc:
        return skipped(f"need GitHub: {exc}")
    except Exception as exc:  # a bug must not become a false finding; its text may quote a value: type only
        return skipped(f"the probe failed ({type(exc).__name__}): please report this")
    finally:
        if own_pool:
            pool.close()
    return _with(result, scale_sets, clock() - started)


def _with(result: ProbeResult, scale_sets: Sequence[str], elapsed: float) -> ProbeResult:
    return dataclasses.replace(result, scale_sets=tuple(scale_sets), elapsed=round(elapsed, 3))


__all__ = ["ClientPool", "Credentials", "GitHubClient", "ProbeCache", "ProbeError", "ProbeProblem", "ProbeResult",
           "RateLimited", "Target", "Unreachable", "UntrustedCertificate", "cache_key", "mask_token",
           "not_evaluated", "parse", "probe"]

"""A rotated credential is probed with GitHub before a plan may write it (ARC104–ARC107).

The operator's new token or GitHub App key (`checks.fixplan.Pasted`) is asked about exactly as the checks ask about
the Secret's current one (probes.probe: GET /user or the App and its installation, the runners of the scale set's
githubConfigUrl, the scopes or permissions its level needs, the expiry), trusting the scale set's githubServerTLS
CA. Only a credential without a problem passes; anything else — rejected, under-scoped, expiring, or GitHub not
reachable to say — refuses the fix before anything is written, with the probe's own words (masked).
"""

from __future__ import annotations

from arc_top import probes
from arc_top.checks.credentials import summary
from arc_top.checks.fixplan import Facts, Pasted
from arc_top.checks.remedy_credentials import config_url
from arc_top.kube.credentials import CA_KEY_DEFAULT, ServerTls, read_ca


class NotAccepted(Exception):
    """The new credential did not pass its probe (one line: why). Nothing was written."""


def server_ca(api_client, facts: Facts, timeout: float) -> tuple[tuple[str, ...], str]:
    """The scale set's githubServerTLS CA (PEM), and why it could not be read."""
    spec = (facts.scale_set or {}).get("spec") or {}
    tls = spec.get("githubServerTLS") if isinstance(spec.get("githubServerTLS"), dict) else {}
    source = tls.get("certificateFrom") if isinstance(tls.get("certificateFrom"), dict) else {}
    ref = source.get("configMapKeyRef") if isinstance(source.get("configMapKeyRef"), dict) else {}
    if not isinstance(ref.get("name"), str) or not ref["name"]:
        return (), ""
    namespace = str(((facts.scale_set or {}).get("metadata") or {}).get("namespace") or "")
    pem, note = read_ca(api_client, namespace, ServerTls(ref["name"], str(ref.get("key") or CA_KEY_DEFAULT)), timeout)
    return ((pem,) if pem else ()), note


def probe_pasted(api_client, facts: Facts, pasted: Pasted, *, timeout: float = 5.0,
                 extra_ca: bytes | str | None = None) -> str:
    """The probe's verdict on `pasted` (one masked line), or NotAccepted."""
    url = config_url(facts)
    if not url:
        raise NotAccepted("the scale set has no githubConfigUrl to check the new credential against")
    meta = (facts.target or {}).get("metadata") or {}
    creds = probes.Credentials(str(meta.get("namespace") or ""), str(meta.get("name") or ""), "",
                               pasted.values_for_plan())
    ca_pems, note = server_ca(api_client, facts, timeout)
    pool = probes.ClientPool(timeout=timeout, extra_ca=(extra_ca,) if extra_ca else ())
    try:
        result = probes.probe(creds, url, pool=pool, timeout=timeout, ca_pems=ca_pems, ca_note=note)
    finally:
        pool.close()
        del creds
    if not result.evaluated:
        raise NotAccepted(f"the new credential could not be checked with GitHub, so nothing was written: "
                          f"{result.reason}")
    verdict = summary(result)
    if result.problems:
        raise NotAccepted(f"GitHub does not accept the new credential for {url}; nothing was written: {verdict}")
    return verdict

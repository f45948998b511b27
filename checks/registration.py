"""Is each scale set registered with GitHub (ARC409)?

ARC registers an AutoscalingRunnerSet by creating a runner scale set through GitHub's Actions service and writing
its numeric id into the annotation `runner-scale-set-id` (the id also goes into the listener's and the runners'
`spec.runnerScaleSetId`); only then does it make the EphemeralRunnerSet and the listener. The controller retries a
failed registration with back-off, so a scale set still without a valid id some minutes after it was created —
or after its spec last changed — is stuck: it cannot run a job whatever else is right. The evidence dates it
(creation, last spec change, the controller's last events and log line about it) and names the likely causes
found elsewhere: the controller's error lines (checks/controllerlog.py, attached by `settle`), the credential
and network findings of the same scale set (`link_causes`), and the TLS and proxy settings of githubConfigUrl.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

from arc_top.checks import controllerlog
from arc_top.checks.catalogue import finding
from arc_top.checks.context import Context, set_key
from arc_top.checks.finding import Finding
from arc_top.checks.registry import check
from arc_top.checks.text import age, quote
from arc_top.kube import model

A_SET_ID = "runner-scale-set-id"
REGISTER_GRACE = 180.0          # seconds ARC has to register a new or changed scale set
# Findings of the same scale set that explain a failed registration.
CAUSES = ("ARC101", "ARC102", "ARC103", "ARC104", "ARC105", "ARC107", "ARC108", "ARC301", "ARC302", "ARC304")
PUBLIC_HOSTS = ("github.com", "www.github.com")


def set_id(annotations) -> int | None:
    """The registered id, or None when the annotation is missing, not a number, or <= 0 (ARC then registers)."""
    raw = str(annotations.get(A_SET_ID, "")).strip()
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value > 0 else None


def _stamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _tls_and_proxy(ars, tls_failed: bool) -> list[str]:
    """What of githubConfigUrl's TLS and proxy settings can make registration fail (`tls_failed`: the controller
    logged a certificate error for this set)."""
    out = []
    host = (urlsplit(ars.config_url).hostname or "") if "://" in ars.config_url else ""
    if host and host not in PUBLIC_HOSTS:
        if ars.tls_configmap and tls_failed:
            out.append(f"GitHub Enterprise Server {host}: spec.githubServerTLS trusts the CA in ConfigMap "
                       f"{ars.namespace}/{ars.tls_configmap.split('/', 1)[0]}, which does not hold the CA of its "
                       "certificate")
        elif not ars.tls_configmap:
            out.append(f"GitHub Enterprise Server {host} and no spec.githubServerTLS: a certificate from a private CA "
                       "fails with \"x509: certificate signed by unknown authority\"")
    if ars.proxy:
        out.append(f"spec.proxy sends the controller's GitHub requests through {quote(ars.proxy)}")
    return out


@check("ARC409")
def unregistered(ctx: Context) -> Iterator[Finding]:
    if not any(p.phase == "Running" for p in ctx.controller_pods) and not getattr(ctx.arc, "controllers", ()):
        return                         # no controller: ARC406 says so, and nobody would register the set
    for ars in ctx.scale_sets:
        raw = ars.annotations.get(A_SET_ID)
        if set_id(ars.annotations) is not None:
            continue
        since = max(ars.created or 0.0, ars.spec_changed or 0.0)
        if not since or ctx.now - since <= REGISTER_GRACE:
            continue
        # ARC makes the EphemeralRunnerSet right after registering: a set that has one was registered (its id
        # annotation removed since, to re-register, or an object without its annotations)
        if raw is None and ctx.runner_sets_by_set.get((ars.namespace, ars.name)):
            continue
        state = "no runner-scale-set-id annotation" if raw is None else f"runner-scale-set-id {quote(raw)} is not an id"
        evidence = [f"{state} {age(ctx.now - ars.created)} after creation (created {_stamp(ars.created)})"
                    if ars.created else f"{state} (creation time unknown)"]
        if ars.spec_changed and ars.spec_changed > ars.created + 1:
            evidence.append(f"spec last changed {_stamp(ars.spec_changed)} ({age(ctx.now - ars.spec_changed)} ago)")
        unread = ctx.blocked(model.RUNNER_SETS, ars.namespace)
        if unread:
            evidence.append(f"EphemeralRunnerSets not seen ({unread}): ARC makes one once it is registered")
        elif not ctx.runner_sets_by_set.get((ars.namespace, ars.name)):
            evidence.append("no EphemeralRunnerSet and no AutoscalingListener: ARC makes them once it is registered")
        events = ctx.events_for("AutoscalingRunnerSet", ars)[:2]
        evidence += [f"event {e.reason} ({age(ctx.now - e.last_seen) if e.last_seen else '?'} ago): {e.message}"
                     for e in events]
        last = controllerlog.last_line_for(ctx, "AutoscalingRunnerSet", ars.namespace, ars.name)
        if last and not controllerlog.lines_for(ctx, set_key(ars)):   # its error lines come with `settle`
            evidence.append(f"last {last}")
        elif not controllerlog.controller_tails(ctx):
            evidence.append("the controller's log was not read: its error lines would name the cause")
        tls_failed = any(a.key == set_key(ars) and a.what is not None and a.what.id == "C1"
                         for a in controllerlog.errors(ctx))
        evidence += _tls_and_proxy(ars, tls_failed)
        yield finding("ARC409", ctx.ars_subject(ars), scale_set=set_key(ars), evidence=evidence)


def link_causes(findings: list[Finding]) -> list[Finding]:
    """An unregistered scale set (ARC409) names the credential and network findings of the same set as likely
    causes, and its missing listener (ARC403) says why there is none."""
    causes: dict[str, list[Finding]] = {}
    unregistered = {f.scale_set for f in findings if f.code == "ARC409"}
    for f in findings:
        if f.code in CAUSES and f.scale_set:
            causes.setdefault(f.scale_set, []).append(f)
    if not unregistered:
        return findings
    out = []
    for f in findings:
        if f.code == "ARC403" and f.scale_set in unregistered:
            f = dataclasses.replace(f, evidence=f.evidence + (
                "the scale set is not registered with GitHub (ARC409): ARC makes no listener before it is",))
        found = causes.get(f.scale_set) if f.code == "ARC409" else None
        if found:
            lines = tuple(f"likely cause: {c.code} {c.title} ({c.subject.kind} {c.subject.namespace}/"
                          f"{c.subject.name})" for c in found[:3])
            f = dataclasses.replace(f, evidence=f.evidence + lines,
                                    related=f.related + tuple(c.subject for c in found[:3]
                                                              if c.subject not in f.related and c.subject != f.subject))
        out.append(f)
    return out

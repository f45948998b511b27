"""What `sandbox --from` needs to know of saved files beyond their objects, read the way the checks read it.

The sandbox layer imports nothing of kube or checks; this module reads the loaded files (kube.offline) with the
checks' own tables and attribution and hands the replay plain data (sandbox.replay.DumpFacts):
- the GitHub verdicts a dump recorded (expired, revoked, under-scoped credentials);
- the ARC chart version whose CRDs the files' CRDs match best (checks.crd_facts' per-version field table against
  the CRDs' schema outline, kube.discovery.crd_fields);
- the scale sets the files show unregistered (no valid runner-scale-set-id) whose registration failed for a reason
  the controller's log attributed to them (checks.controllerlog: C1 untrusted TLS certificate, C4 credential
  rejected with 401);
- when each scale set was created and its spec last changed, as seconds before the files were saved.
"""

from __future__ import annotations

from arc_top.checks import controllerlog, crd_facts
from arc_top.checks.context import Context
from arc_top.checks.registration import set_id
from arc_top.kube import model
from arc_top.kube.discovery import crd_fields
from arc_top.sandbox.replay import DumpFacts

# controllerlog's classification (logpatterns.CONTROLLER_ERRORS) -> what the replay keeps failing
REGISTRATION_FAILURES = {"C1": "tls", "C4": "credentials"}


def _versions() -> list[tuple[int, int]]:
    found = {crd_facts.OLDEST} | {f.since for f in crd_facts.FIELDS} | {f.until for f in crd_facts.FIELDS if f.until}
    return sorted(found)


def crds_version(raw: list[dict]) -> tuple[str, str]:
    """(chart version "0.11.0", why) of the ARC CRDs the files hold, the one whose fields match best; ("", "") when
    the files hold no ARC CRD with a schema."""
    dumped: set[tuple[str, str, str]] = set()
    kinds: set[str] = set()
    for obj in raw:
        if isinstance(obj, dict) and obj.get("kind") == "CustomResourceDefinition":
            kind, fields = crd_fields(obj)
            if kind in crd_facts.KINDS and fields:
                kinds.add(kind)
                dumped |= set(fields)
    if not kinds:
        return "", ""
    known = {(f.kind, f.path) for f in crd_facts.FIELDS}
    dumped = {f for f in dumped if (f[0], f[1]) in known}
    best: tuple[int, tuple[int, int]] | None = None
    for version in _versions():
        wanted = {(f.kind, f.path, f.type) for f in crd_facts.expected(version) if f.kind in kinds}
        misses = len(wanted ^ dumped)
        if best is None or misses <= best[0]:            # a tie goes to the newer version
            best = (misses, version)
    assert best is not None
    misses, version = best
    name = f"{version[0]}.{version[1]}.0"
    how = "exactly" if misses == 0 else f"best ({misses} field{'s' if misses != 1 else ''} differ)"
    return name, f"the schemas of the files' {len(kinds)} ARC CRD{'s' if len(kinds) != 1 else ''} match {how}"


def unregistered(ctx: Context) -> dict[tuple[str, str], tuple[str, str]]:
    """(namespace, scale set) -> ("tls" | "credentials", the controller's line) of the unregistered scale sets whose
    registration the controller's log shows failing for that reason (its newest such line)."""
    sets = {f"{ars.namespace}/{ars.name}": ars for ars in ctx.scale_sets if set_id(ars.annotations) is None}
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for item in controllerlog.errors(ctx):                # oldest first: the newest reason wins
        ars = sets.get(item.key)
        reason = REGISTRATION_FAILURES.get(item.what.id) if item.what is not None else None
        if ars is not None and reason:
            out[(ars.namespace, ars.name)] = (reason, item.what.label)
    return out


def ages(snapshot, as_of: float) -> dict[tuple[str, str], tuple[float, float]]:
    """(namespace, scale set) -> (seconds it was created before `as_of`, seconds its spec last changed before it or
    0.0 when unknown)."""
    out = {}
    for ars in snapshot.of(model.SCALE_SETS).values():
        if ars.created and as_of:
            changed = as_of - ars.spec_changed if ars.spec_changed > ars.created + 1 else 0.0
            out[(ars.namespace, ars.name)] = (max(0.0, as_of - ars.created), max(0.0, changed))
    return out


def facts(offline) -> DumpFacts:
    """Everything above of loaded files (kube.offline.Offline, loaded with keep_raw)."""
    verdicts: dict = {}
    for result in offline.probes or ():
        for problem in result.problems if result.evaluated else ():
            verdicts.setdefault((result.namespace, result.secret), []).append(
                {"kind": problem.kind, "detail": problem.detail, "value": problem.value})
    version, why = crds_version(offline.raw)
    as_of = offline.saved_at
    failed = unregistered(Context(offline.snapshot, now=as_of, logs=offline.tails)) if as_of else {}
    return DumpFacts(verdicts=verdicts, crds_version=version, crds_why=why, unregistered=failed,
                     ages=ages(offline.snapshot, as_of))


__all__ = ["REGISTRATION_FAILURES", "ages", "crds_version", "facts", "unregistered"]

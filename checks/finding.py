"""What a check reports: a `Finding`, with the object it is about (`Subject`) and how bad it is.

Pure data: no textual, kubernetes or httpx here or anywhere in `checks/` (a test enforces it).
Codes are a contract (users grep, filter and silence them): see checks/catalogue.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from arc_top.kube.model import LogTail  # noqa: F401  (the kube layer reads tails; the checks quote them)

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)          # worst first
RANK = {ERROR: 0, WARNING: 1, INFO: 2}


@dataclass(frozen=True, slots=True)
class Subject:
    """The object a finding is about, as kubectl names it: kind (`Pod`, `AutoscalingRunnerSet`,
    `PersistentVolumeClaim`, `EphemeralRunner`, `NetworkPolicy`, `Secret`, `Namespace`…), namespace
    ("" for cluster objects), name, and the uid when known (the monitor finds its row by uid)."""
    kind: str
    namespace: str
    name: str
    uid: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    code: str                                # "ARC501"; "ARC000" = a check that could not be evaluated
    severity: str                            # error | warning | info
    title: str                               # one short line, shown in the Problem column
    subject: Subject
    scale_set: str = ""                      # "namespace/name" of the scale set it belongs to ("" = none)
    evidence: tuple[str, ...] = ()           # field values, event messages, log lines; secrets masked
    explanation: str = ""                    # the cause in plain words
    docs: str = ""                           # a link
    fix: str = ""                            # what to change (applied by a later issue)
    related: tuple[Subject, ...] = field(default=())   # other objects involved (e.g. the NetworkPolicy)

    @property
    def rank(self) -> int:
        return RANK.get(self.severity, 3)

    def sort_key(self) -> tuple:
        s = self.subject
        return (self.rank, self.scale_set, self.code, s.kind, s.namespace, s.name)

    def to_json(self) -> dict:
        """The `findings[]` item of `arc-top check -o json` (schema: checks/findings.schema.json)."""
        s = self.subject
        return {"code": self.code, "severity": self.severity, "title": self.title,
                "subject": {"kind": s.kind, "namespace": s.namespace, "name": s.name},
                "scale_set": self.scale_set, "evidence": list(self.evidence), "explanation": self.explanation,
                "docs": self.docs, "fix": self.fix}


def worst(severities) -> str | None:
    """The worst of some severities (None for none)."""
    best = None
    for severity in severities:
        if best is None or RANK.get(severity, 3) < RANK.get(best, 3):
            best = severity
    return best

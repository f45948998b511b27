"""Silenced findings (the operator's config file `silence:` and `arc-top check --ignore CODE`), like popeye's
exclusions: a rule names a code and, optionally, globs on the scale set, the namespace and the object's name; a
finding that a rule matches is counted but not shown. Pure: matching only filters findings (no I/O here).

Globs are shell-style (fnmatch, case-sensitive: Kubernetes names are): `*`, `?`, `[abc]`, `[!abc]`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from arc_top.checks.finding import Finding


@dataclass(frozen=True, slots=True)
class Silence:
    """Findings of `code` (on a scale set / in a namespace / on an object whose name matches the globs; an empty
    glob matches anything) are silenced, for `reason` (required in the config file; `--ignore` gives its own)."""
    code: str
    reason: str = ""
    scale_set: str = ""       # glob on the scale set's name, or on "namespace/name" when it holds a "/"
    namespace: str = ""       # glob on the object's namespace (the scale set's for a cluster-wide object)
    name: str = ""            # glob on the object's name

    def matches(self, finding: Finding) -> bool:
        if finding.code != self.code:
            return False
        subject = finding.subject
        set_namespace, _, set_name = finding.scale_set.partition("/")
        if self.scale_set:
            target = finding.scale_set if "/" in self.scale_set else set_name
            if not finding.scale_set or not fnmatch.fnmatchcase(target, self.scale_set):
                return False
        if self.namespace and not fnmatch.fnmatchcase(subject.namespace or set_namespace, self.namespace):
            return False
        return not self.name or fnmatch.fnmatchcase(subject.name, self.name)

    def describe(self) -> str:
        """`ARC203 scale_set=team-* name=runner-*`: the rule in one line (without its reason)."""
        parts = [self.code] + [f"{key}={value}" for key, value in (("scale_set", self.scale_set),
                                                                  ("namespace", self.namespace),
                                                                  ("name", self.name)) if value]
        return " ".join(parts)


def split(findings: Iterable[Finding], rules: Sequence[Silence]) -> tuple[list[Finding], list[Finding]]:
    """(shown, silenced): the findings no rule matches, and those one does; order kept."""
    shown: list[Finding] = []
    silenced: list[Finding] = []
    for f in findings:
        (silenced if rules and any(rule.matches(f) for rule in rules) else shown).append(f)
    return shown, silenced


def glob_problem(pattern: object, *, slash: bool = False) -> str:
    """What is wrong with a glob ("" when nothing): not a string, empty, control characters, an unclosed `[`,
    a "/" where names cannot hold one (`slash`: allowed once, as in "namespace/name")."""
    if not isinstance(pattern, str):
        return f"expected a glob (a string), got {type(pattern).__name__}"
    if not pattern:
        return "empty glob (leave the key out to match anything)"
    if any(ord(c) < 32 or ord(c) == 127 for c in pattern):
        return "control characters in the glob"
    if pattern.count("/") > (1 if slash else 0):
        return "a '/' in a glob on names (only the scale set takes one, as namespace/name)"
    i = 0
    while i < len(pattern):
        if pattern[i] == "[":
            end = pattern.find("]", i + 2 if i + 1 < len(pattern) and pattern[i + 1] in "!]" else i + 1)
            if end < 0:
                return f"unclosed '[' at character {i + 1}"
            i = end
        i += 1
    return ""


__all__ = ["Silence", "glob_problem", "split"]

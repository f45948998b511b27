"""What `arc-top check` prints: a plain-text table, JSON (schema: checks/findings.schema.json) or JUnit XML,
and the exit code. Pure (no textual, kubernetes or httpx; no Rich): CI logs and pipes get plain text.

Every string that reaches the output goes through `clean`: escape sequences and control characters are
removed (a pod log line must not retitle a terminal or break an XML parser) and anything shaped like a
credential (GitHub tokens, bearer tokens, JWTs, PEM private keys) is masked to its prefix and last four
characters (core.text.redact), whatever a check put in its evidence.
"""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence

from arc_top.checks.finding import ERROR, INFO, RANK, SEVERITIES, WARNING, Finding
from arc_top.core.text import clean_line, plural, redact, strip_escapes

SCHEMA_VERSION = 1
FORMATS = ("table", "json", "junit")
NEVER = "never"
FAIL_ON = (ERROR, WARNING, INFO, NEVER)
CLUSTER_WIDE = ""                                   # the scale_set of findings that belong to no scale set
MARKERS = {ERROR: "✖", WARNING: "⚠", INFO: "●"}
ASCII_MARKERS = {ERROR: "x", WARNING: "!", INFO: "i"}
MAX_EVIDENCE = 10                                   # evidence items per finding in the table
EVIDENCE_LINES = 3                                  # table lines per evidence item

# ---- sanitising -----------------------------------------------------------------------------------------------
def clean(value: object, *, single_line: bool = True) -> str:
    """A cluster string made safe to print: no escapes or controls (core.text's one set, which also drops what XML
    cannot carry), credentials masked, one line by default. Never shortened: the table cuts to its width, JSON
    and JUnit keep everything."""
    return redact(clean_line(value) if single_line else strip_escapes(value))


# ---- severities and the exit code -----------------------------------------------------------------------------
def fails(finding: Finding, fail_on: str) -> bool:
    """Whether a finding reaches `--fail-on` (never: nothing does)."""
    return fail_on != NEVER and finding.rank <= RANK.get(fail_on, 0)


def exit_code(findings: Iterable[Finding], fail_on: str = ERROR) -> int:
    """1 when a finding reaches `fail_on`, else 0."""
    return 1 if any(fails(f, fail_on) for f in findings) else 0


def summary(findings: Iterable[Finding]) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        if f.severity in counts:
            counts[f.severity] += 1
    return counts


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=Finding.sort_key)


# ---- JSON -----------------------------------------------------------------------------------------------------
def _clean_json(value: object, single_line: bool = True) -> object:
    if isinstance(value, str):
        return clean(value, single_line=single_line)
    if isinstance(value, Mapping):
        return {clean(k): _clean_json(v, single_line) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_json(v, single_line) for v in value]
    return value


def finding_json(finding: Finding) -> dict:
    item = finding.to_json()
    out = _clean_json(item)
    for key in ("explanation", "fix"):           # prose may keep its paragraphs
        if isinstance(item.get(key), str):
            out[key] = clean(item[key], single_line=False)
    return out


def silenced_json(silenced: Iterable[Finding]) -> dict:
    """How many findings the config file's `silence:` rules and --ignore left out: in all, per severity, per code."""
    items = list(silenced)
    by_code: dict[str, int] = {}
    for f in items:
        by_code[clean(f.code)] = by_code.get(clean(f.code), 0) + 1
    return {"total": len(items), "summary": summary(items), "by_code": dict(sorted(by_code.items()))}


def document(findings: Iterable[Finding], source: Mapping, silenced: Iterable[Finding] = ()) -> dict:
    """The `-o json` document: version, source, summary, findings (worst first), silenced (counts only)."""
    items = ordered(findings)
    return {"version": SCHEMA_VERSION, "source": _clean_json(dict(source)), "summary": summary(items),
            "findings": [finding_json(f) for f in items], "silenced": silenced_json(silenced)}


def render_json(findings: Iterable[Finding], source: Mapping, silenced: Iterable[Finding] = ()) -> str:
    return json.dumps(document(findings, source, silenced), indent=2, ensure_ascii=False) + "\n"


# ---- the table ------------------------------------------------------------------------------------------------
def describe_source(source: Mapping) -> str:
    """One line: where the findings come from."""
    mode = source.get("mode")
    if mode == "demo":
        text = f"demo sandbox, scenario {source.get('scenario', '')}"
    elif mode == "files":
        files = ", ".join(str(f) for f in source.get("files") or ())
        text = f"saved files {files}"
        if source.get("as_of"):
            text += f" (as of {source['as_of']})"
    else:
        namespaces = source.get("namespaces") or []
        scope = "all namespaces" if not namespaces else "namespace" + ("s " if len(namespaces) > 1 else " ") + \
            ", ".join(str(n) for n in namespaces)
        text = f"context {source.get('context', '')} ({source.get('server', '')}), {scope}"
    if source.get("arc_version"):
        text += f" · ARC {source['arc_version']}"
    return clean(text)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(0, width - 1)] + "…"


def _cut_middle(text: str, width: int) -> str:
    """Names differ at the end (`arc-runner-set-h8ff4-runner-668fh`): keep both ends."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head):]


def _subject(f: Finding) -> str:
    s = f.subject
    where = f"{s.namespace}/{s.name}" if s.namespace else s.name
    return clean(f"{s.kind} {where}".strip())


def _group_name(scale_set: str) -> str:
    return clean(scale_set) if scale_set else "cluster-wide (no scale set)"


def _counts(findings: Sequence[Finding]) -> str:
    counts = summary(findings)
    return ", ".join(plural(counts[s], s, s if s == INFO else "") for s in SEVERITIES if counts[s]) or "no findings"


def groups(findings: Iterable[Finding]) -> list[tuple[str, list[Finding]]]:
    """(scale set, its findings worst first), the group with the worst finding first; at equal worst
    severity cluster-wide findings come first (they affect every set)."""
    by_set: dict[str, list[Finding]] = {}
    for f in ordered(findings):
        by_set.setdefault(f.scale_set or CLUSTER_WIDE, []).append(f)
    return sorted(by_set.items(), key=lambda kv: (min(f.rank for f in kv[1]), kv[0] != CLUSTER_WIDE, kv[0]))


def render_table(findings: Iterable[Finding], source: Mapping, *, fail_on: str = ERROR, width: int = 80,
                 ascii_only: bool = False, notes: Sequence[str] = ()) -> str:
    """Plain text, no line longer than `width` (at least 40): a header, the findings grouped by scale set
    (worst first; evidence and fix indented below each; docs links only in JSON and JUnit: a URL cut to the
    width is useless), and a summary line that says what the exit code is."""
    width = max(40, width)
    markers = ASCII_MARKERS if ascii_only else MARKERS
    ellipsis_ok = not ascii_only
    cut = _cut if ellipsis_ok else (lambda t, w: t if len(t) <= w else t[:max(0, w - 3)] + "...")
    items = ordered(findings)
    lines = textwrap.wrap(f"arc-top check: {describe_source(source)}", width, subsequent_indent="  ",
                          break_on_hyphens=False) + [""]
    indent = " " * 20
    for name, members in groups(items):
        worst = members[0].severity
        head = f"{markers.get(worst, '?')} {_group_name(name)}"
        tally = f"  {_counts(members)}"
        lines.append(cut(head, width - len(tally)) + tally)
        for f in members:
            marker = markers.get(f.severity, "?")
            prefix = f"  {marker} {f.severity.upper():<7} {clean(f.code):<7}"
            subject = _subject(f)
            lines.append(prefix + " " + (_cut_middle(subject, width - len(prefix) - 1) if ellipsis_ok
                                         else cut(subject, width - len(prefix) - 1)))
            body = width - len(indent)
            for part in textwrap.wrap(clean(f.title), body) or [""]:
                lines.append(indent + part)
            evidence = [clean(e) for e in f.evidence]
            for e in evidence[:MAX_EVIDENCE]:
                parts = textwrap.wrap(e, body - 2, break_on_hyphens=False) or [""]
                if len(parts) > EVIDENCE_LINES:        # log lines: the cause is often at the end; keep 3 lines
                    parts = parts[:EVIDENCE_LINES - 1] + [cut(" ".join(parts[EVIDENCE_LINES - 1:]), body - 2)]
                lines.extend(indent + ("> " if i == 0 else "  ") + part for i, part in enumerate(parts))
            if len(evidence) > MAX_EVIDENCE:
                lines.append(indent + f"> ({len(evidence) - MAX_EVIDENCE} more lines: see -o json)")
            if f.fix:
                fix = textwrap.wrap("fix: " + clean(f.fix), body)
                lines.extend(indent + part for part in fix[:4])
        lines.append("")
    if not items:
        lines += ["No findings.", ""]
    for note in notes:
        lines.extend(textwrap.wrap(clean(note), width) or [""])
    failing = sum(1 for f in items if fails(f, fail_on))
    if fail_on == NEVER:
        verdict = "--fail-on never: exit 0"
    elif failing:
        verdict = f"{failing} at or above {fail_on}: exit 1"
    else:
        verdict = f"nothing at or above {fail_on}: exit 0"
    total = plural(len(items), "finding")
    lines.extend(textwrap.wrap(f"{total} ({_counts(items)}); {verdict}" if items else f"{total}; {verdict}",
                               width))
    if ascii_only:                          # masks and cuts use "…"
        lines = [cut(line.replace("…", "..."), width) for line in lines]
    return "\n".join(lines) + "\n"


# ---- JUnit ----------------------------------------------------------------------------------------------------
def _failure_body(members: Sequence[Finding]) -> str:
    out: list[str] = []
    for f in members:
        out.append(f"{f.severity.upper()} {clean(f.code)}: {clean(f.title)}")
        out.append(f"subject: {_subject(f)}")
        out.extend(f"  {clean(e)}" for e in f.evidence)
        if f.explanation:
            out.append(clean(f.explanation))
        if f.fix:
            out.append("fix: " + clean(f.fix))
        if f.docs:
            out.append("docs: " + clean(f.docs))
    return "\n".join(out)


def render_junit(findings: Iterable[Finding], source: Mapping, *, fail_on: str = ERROR,
                 scale_sets: Iterable[str] = ()) -> str:
    """One testsuite per scale set (every set in `scale_sets` too, with a passing case when it has no
    findings) plus one for cluster-wide findings; one testcase per code × subject; a `<failure>` when a
    finding reaches `fail_on`, `<skipped>` for ARC000 (not evaluated) below it, else the text as
    `<system-out>`."""
    items = ordered(findings)
    by_set: dict[str, list[Finding]] = {clean(s): [] for s in scale_sets if s}
    for f in items:
        by_set.setdefault(f.scale_set and clean(f.scale_set) or CLUSTER_WIDE, []).append(f)
    by_set.setdefault(CLUSTER_WIDE, [])
    root = ET.Element("testsuites", name="arc-top check")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    order = sorted(by_set, key=lambda s: (s != CLUSTER_WIDE, s))
    for set_name in order:
        members = by_set[set_name]
        suite_name = set_name or "cluster-wide"
        suite = ET.SubElement(root, "testsuite", name=suite_name)
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="source", value=describe_source(source))
        cases: dict[tuple, list[Finding]] = {}
        for f in members:
            s = f.subject
            cases.setdefault((f.code, s.kind, s.namespace, s.name), []).append(f)
        classname = "arc-top." + (suite_name.replace("/", ".") if set_name else "cluster")
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        if not cases:
            ET.SubElement(suite, "testcase", name="no findings", classname=classname)
            counts["tests"] += 1
        for (code, *_), case_findings in cases.items():
            f0 = case_findings[0]
            case = ET.SubElement(suite, "testcase", name=clean(f"{code} {_subject(f0)}"), classname=classname)
            counts["tests"] += 1
            worst = min(case_findings, key=lambda f: f.rank)
            body = _failure_body(case_findings)
            if fails(worst, fail_on):
                failure = ET.SubElement(case, "failure", message=clean(worst.title),
                                        type=f"{clean(code)} {worst.severity}")
                failure.text = body
                counts["failures"] += 1
            elif code == "ARC000":
                ET.SubElement(case, "skipped", message=clean(worst.title))
                counts["skipped"] += 1
            else:
                ET.SubElement(case, "system-out").text = body
        for key, n in counts.items():
            suite.set(key, str(n))
            totals[key] += n
        suite.set("errors", "0")
    for key, n in totals.items():
        root.set(key, str(n))
    root.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def silenced_note(silenced: Iterable[Finding]) -> str:
    """The table's line on silenced findings ("" when none)."""
    counts = silenced_json(silenced)
    if not counts["total"]:
        return ""
    codes = ", ".join(f"{code} x{n}" if n > 1 else code for code, n in counts["by_code"].items())
    return (f"Silenced (config file silence: rules, --ignore): {plural(counts['total'], 'finding')} not shown "
            f"({codes}).")


def render(fmt: str, findings: Iterable[Finding], source: Mapping, *, fail_on: str = ERROR, width: int = 80,
           ascii_only: bool = False, notes: Sequence[str] = (), scale_sets: Iterable[str] = (),
           silenced: Iterable[Finding] = ()) -> str:
    items = list(findings)
    silenced = list(silenced)
    if fmt == "json":
        return render_json(items, source, silenced)
    note = silenced_note(silenced)
    if note:
        notes = [*notes, note]
    if fmt == "junit":
        return render_junit(items, source, fail_on=fail_on, scale_sets=scale_sets)
    return render_table(items, source, fail_on=fail_on, width=width, ascii_only=ascii_only, notes=notes)

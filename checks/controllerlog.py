"""The ARC controller's own log: its error lines, attributed to the scale sets they are about (ARC410 and evidence
on the findings they explain).

The controller (gha-runner-scale-set-controller, zap through controller-runtime) logs one line per event, in its
"text" format `<RFC 3339>\\t<LEVEL>\\t<logger>\\t<message>\\t{"autoscalingrunnerset": {"name": …, "namespace": …},
"error": "…"}` (or one JSON object per line with --log-format json), and controller-runtime follows a failed
reconcile with `<time>\\tERROR\\tReconciler error\\t{"controller": …, "controllerKind": "AutoscalingRunnerSet",
"namespace": …, "name": …, "error": "…"}`. The object named in the fields leads to its scale set (an
EphemeralRunner by its name, a listener by its spec); the error text is classified by
logpatterns.CONTROLLER_ERRORS. After all checks ran, `settle` puts every line on the finding it explains (the first
of its codes found for the same scale set) and reports the rest under ARC410, quoting them.

Only lines of the last WINDOW seconds count, an error of an object is dropped once the controller logged a
success for that object after it ("Created …", "Successfully …"): a controller log tail spans hours; and the
errors a healthy controller logs too (conflicts, objects deleted meanwhile: logpatterns.CONTROLLER_TRANSIENT) are
left out unless a pattern names them.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

from arc_top.checks import logpatterns
from arc_top.checks.catalogue import finding, not_evaluated
from arc_top.checks.context import Context, set_key, subject_of
from arc_top.checks.finding import Finding, LogTail, Subject
from arc_top.checks.registry import check
from arc_top.checks.text import clean
from arc_top.kube.fields import epoch

WINDOW = 900.0                 # seconds of controller log that count (relative to the check's clock)
PER_FINDING = 3                # controller lines added to one finding
LEVELS = frozenset({"DEBUG", "INFO", "WARN", "WARNING", "ERROR", "DPANIC", "PANIC", "FATAL"})
_OBJECT_KEYS = {"autoscalingrunnerset": "AutoscalingRunnerSet", "ephemeralrunnerset": "EphemeralRunnerSet",
                "ephemeralrunner": "EphemeralRunner", "autoscalinglistener": "AutoscalingListener"}
_SUCCESS = ("Created", "Successfully", "Reused", "Updated runner scale set")
PREFIX = "controller log"
QUOTE_LIMIT = 240              # checks.text.LIMIT: what a finding keeps of an evidence line


@dataclass(frozen=True, slots=True)
class Line:
    """One parsed controller log line."""
    when: float                    # epoch seconds (0.0: no time stamp)
    level: str                     # ERROR, INFO…
    logger: str                    # AutoscalingRunnerSet, EphemeralRunner… ("" for controller-runtime's lines)
    message: str
    kind: str                      # the object's kind ("" when the line names none)
    namespace: str
    name: str
    error: str


@dataclass(frozen=True, slots=True)
class Attributed:
    """A controller error line with the scale set it is about and what it shows."""
    line: Line
    key: str                       # "namespace/name" of the scale set ("" = none found)
    subject: Subject               # the scale set, else the object, else the controller pod
    what: logpatterns.ControllerError | None
    pod: Subject

    @property
    def explains(self) -> tuple[str, ...]:
        codes = self.what.explains if self.what is not None else ()
        if self.line.kind == "EphemeralRunner" and self.what is not None and self.what.id == "C12":
            codes = ("ARC407", "ARC506")              # a runner pod refused at admission
        elif self.line.kind == "AutoscalingListener" and self.what is not None and self.what.id == "C12":
            codes = ("ARC403",)                        # the listener pod refused
        elif self.what is None and self.line.kind in ("AutoscalingRunnerSet", ""):
            codes = ("ARC409",)                        # an unclassified error while the set is unregistered
        if self.line.kind == "AutoscalingRunnerSet" and "ARC409" in codes:
            codes = ("ARC409", *(c for c in codes if c != "ARC409"))   # the registration is what failed
        return (*codes, "ARC406")

    def evidence(self) -> str:
        return quote_line(self.line)


def quote_line(line: Line) -> str:
    """The line as evidence: time, message, object, error (finding() strips escapes and masks credentials)."""
    stamp = " " + time.strftime("%H:%M:%SZ", time.gmtime(line.when)) if line.when else ""
    obj = f" {line.kind} {line.namespace}/{line.name}" if line.kind and line.name else ""
    head = f"{PREFIX}{stamp}: {line.level}{obj}: {line.message[:120]}"
    error = " ".join(line.error.split())
    room = QUOTE_LIMIT - len(head) - 2
    if len(error) > room:               # Go error chains put the root cause last: keep the end
        error = "…" + error[len(error) - max(40, room - 1):]
    return f"{head}: {error}" if error else head


def _object(fields: dict) -> tuple[str, str, str]:
    for key, value in fields.items():
        kind = _OBJECT_KEYS.get(str(key).lower())
        if kind and isinstance(value, dict):
            return kind, str(value.get("namespace") or ""), str(value.get("name") or "")
    kind = str(fields.get("controllerKind") or "")
    if kind in _OBJECT_KEYS.values():
        return kind, str(fields.get("namespace") or ""), str(fields.get("name") or "")
    return "", "", ""


def _fields(text: str) -> dict:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def parse(raw: object) -> Line | None:
    """A controller log line in the text (tab-separated) or JSON format, or None for anything else."""
    if type(raw) is not str or not raw:
        return None
    if raw.startswith("{"):
        fields = _fields(raw)
        level = str(fields.get("level") or "").upper()
        if level not in LEVELS:
            return None
        stamp = fields.get("ts")
        when = float(stamp) if isinstance(stamp, int | float) and not isinstance(stamp, bool) else epoch(stamp)
        kind, ns, name = _object(fields)
        return Line(when, level, str(fields.get("logger") or ""), str(fields.get("msg") or ""), kind, ns, name,
                    str(fields.get("error") or ""))
    parts = raw.split("\t")
    if len(parts) < 3 or parts[1] not in LEVELS:
        return None
    rest = parts[2:]
    fields = {}
    if len(rest) >= 2 and rest[-1].startswith("{"):
        fields = _fields(rest[-1])
        rest = rest[:-1]
    logger, message = (rest[0], "\t".join(rest[1:])) if len(rest) >= 2 else ("", rest[0])
    kind, ns, name = _object(fields)
    return Line(epoch(parts[0]), parts[1], logger, message, kind, ns, name, str(fields.get("error") or ""))


_PARSED: dict[tuple, tuple[Line, ...]] = {}
_PARSED_LIMIT = 256


def parsed(lines) -> tuple[Line, ...]:
    """The error and success lines of one tail, parsed; remembered per tail (the checks run every second over the
    same tails: a pure function of the lines, the cache only a shortcut)."""
    key = lines if type(lines) is tuple else None
    found = _PARSED.get(key) if key is not None else None
    if found is None:
        out = []
        for raw in lines:
            if type(raw) is str and ("ERROR" in raw or "error" in raw or "Created" in raw or "Successfully" in raw
                                     or "Reused" in raw):
                line = parse(raw)
                if line is not None and (line.level == "ERROR" or line.message.startswith(_SUCCESS)):
                    out.append(line)
        found = tuple(out)
        if key is not None:
            if len(_PARSED) >= _PARSED_LIMIT:
                _PARSED.clear()
            _PARSED[key] = found
    return found


@functools.lru_cache(maxsize=4096)
def classify(line: Line) -> logpatterns.ControllerError | None:
    """What an error line shows (logpatterns.CONTROLLER_ERRORS, most specific first), or None."""
    text = f"{line.message} {line.error}"
    for what in logpatterns.CONTROLLER_ERRORS:
        if what.regex.search(text):
            return what
    return None


# ---- which scale set ------------------------------------------------------------------------------------------
def _by_prefix(ctx: Context, namespace: str, name: str, any_namespace: bool = False):
    best = None
    for ars in ctx.scale_sets:
        if name.startswith(ars.name + "-") and (any_namespace or ars.namespace == namespace):
            if best is None or len(ars.name) > len(best.name):
                best = ars
    return best


def _runner_keys(ctx: Context) -> dict[tuple[str, str], tuple[str, str]]:
    """(namespace, EphemeralRunner name) → its scale set's key, built once per Context."""
    found = ctx.__dict__.get("_runner_keys")
    if found is None:
        found = ctx.__dict__["_runner_keys"] = {(er.namespace, er.name): key for key, runners in
                                                ctx.runners_by_set.items() for er in runners}
    return found


def scale_set_of(ctx: Context, line: Line):
    """The ARS a controller line is about, or None."""
    if not line.kind or not line.name:
        return None
    if line.kind == "AutoscalingRunnerSet":
        return ctx.scale_set_by_key.get((line.namespace, line.name))
    if line.kind == "EphemeralRunner":
        key = _runner_keys(ctx).get((line.namespace, line.name))
        if key is not None:
            return ctx.scale_set_by_key.get(key)
    if line.kind == "AutoscalingListener":
        for key, listeners in ctx.listeners_by_set.items():
            if any(lis.name == line.name and lis.namespace == line.namespace for lis in listeners):
                return ctx.scale_set_by_key.get(key)
        return _by_prefix(ctx, line.namespace, line.name, any_namespace=True)
    if line.kind == "EphemeralRunnerSet":
        for key, sets in ctx.runner_sets_by_set.items():
            if any(rs.name == line.name and rs.namespace == line.namespace for rs in sets):
                return ctx.scale_set_by_key.get(key)
    return _by_prefix(ctx, line.namespace, line.name)


# ---- the controller's tails ---------------------------------------------------------------------------------
def controller_tails(ctx: Context) -> list[LogTail]:
    out = []
    for tail in ctx.logs:
        pod = ctx.log_pod(tail)
        role = pod.role if pod is not None else ctx.scale_set_of_log(tail)[1]
        if role == "controller" or (pod is None and tail.container == "manager"):
            out.append(tail)
    return out


def _pod_subject(ctx: Context, tail: LogTail) -> Subject:
    pod = ctx.log_pod(tail)
    return subject_of("Pod", pod) if pod is not None else Subject("Pod", tail.namespace, tail.pod, tail.pod_uid)


def errors(ctx: Context) -> list[Attributed]:
    """The controller's error lines that still stand, attributed, oldest first (computed once per Context)."""
    cached = ctx.__dict__.get("_controller_errors")
    if cached is not None:
        return cached
    found: dict[tuple, Attributed] = {}
    succeeded: dict[tuple[str, str, str], float] = {}
    for tail in controller_tails(ctx):
        pod = _pod_subject(ctx, tail)
        for line in parsed(tail.lines):
            if line.when and ctx.now - line.when > WINDOW:
                continue
            obj = (line.kind, line.namespace, line.name)
            if line.level != "ERROR":
                if line.kind and line.message.startswith(_SUCCESS):
                    succeeded[obj] = max(succeeded.get(obj, 0.0), line.when)
                continue
            ars = scale_set_of(ctx, line)
            if ars is not None:
                subject, key = ctx.ars_subject(ars), set_key(ars)
            elif line.kind and line.name:
                subject, key = Subject(line.kind, line.namespace, line.name), ""
            else:
                subject, key = pod, ""
            what = classify(line)
            if what is None and logpatterns.CONTROLLER_TRANSIENT.search(f"{line.message} {line.error}"):
                continue            # a conflict or a vanished object: controller-runtime retries, nothing to say
            item = Attributed(line, key, subject, what, pod)
            dedupe = (key, obj, line.error or line.message)
            old = found.get(dedupe)
            if old is not None and old.line.logger and not line.logger:
                continue        # controller-runtime repeats ARC's error as "Reconciler error": keep ARC's line
            found[dedupe] = item
    out = [a for a in found.values()
           if not (a.line.when and succeeded.get((a.line.kind, a.line.namespace, a.line.name), 0.0) > a.line.when)]
    out.sort(key=lambda a: a.line.when)
    ctx.__dict__["_controller_errors"] = out
    return out


def lines_for(ctx: Context, key: str, codes=()) -> list[str]:
    """Evidence lines of the controller errors about scale set `key` (optionally only those explaining `codes`)."""
    wanted = frozenset(codes)
    return [a.evidence() for a in errors(ctx) if a.key == key and (not wanted or wanted & set(a.explains))]


def last_line_for(ctx: Context, kind: str, namespace: str, name: str) -> str:
    """The newest controller line (any level) about one object, quoted ("" when the log does not name it)."""
    best: Line | None = None
    for tail in controller_tails(ctx):
        for raw in reversed(tail.lines):
            if type(raw) is not str or name not in raw:
                continue
            line = parse(raw)
            if line is not None and (line.kind, line.namespace, line.name) == (kind, namespace, name):
                if best is None or line.when > best.when:
                    best = line
                break
    return quote_line(best) if best is not None else ""


# ---- ARC410 ---------------------------------------------------------------------------------------------------
@check("ARC410")
def controller_errors(ctx: Context) -> Iterator[Finding]:
    """Every attributed error line, grouped per scale set (or object); `settle` keeps only the unexplained."""
    yield from _grouped(errors(ctx))


def _grouped(items: list[Attributed]) -> Iterator[Finding]:
    groups: dict[tuple, list[Attributed]] = {}
    for a in items:
        groups.setdefault((a.key, a.subject), []).append(a)
    for (key, subject), group in groups.items():
        lines = list(dict.fromkeys(a.evidence() for a in reversed(group)))     # newest first
        evidence = lines[:PER_FINDING]
        if len(lines) > PER_FINDING:
            evidence.append(f"and {len(lines) - PER_FINDING} more controller error lines")
        labels = sorted({a.what.label for a in group if a.what is not None})
        more = ("The lines show: " + "; ".join(labels) + ".") if labels else ""
        yield finding("ARC410", subject, scale_set=key, evidence=evidence, more=more,
                      related=(group[0].pod,) if group[0].pod != subject else ())


def not_read(ctx: Context, why: str) -> list[Finding]:
    """ARC000 for ARC410 when the controller's log is missing (`why`), if there is a controller to read."""
    if not why or controller_tails(ctx) or not ctx.scale_sets:
        return []
    pods = ctx.controller_pods
    subject = subject_of("Pod", pods[0]) if pods else Subject("Deployment", "", "gha-rs-controller")
    return [not_evaluated("ARC410", f"needs the controller's log ({why})", subject)]


def settle(findings: list[Finding], ctx: Context) -> list[Finding]:
    """Each controller error line becomes evidence on the first finding it explains (same scale set; the
    scale-set-less ARC605/ARC603 findings by code alone); ARC410 keeps only the lines nothing else explains."""
    items = errors(ctx)
    kept = [f for f in findings if f.code != "ARC410"]
    if not items:
        return kept
    by_code: dict[tuple[str, str], int] = {}
    for i, f in enumerate(kept):
        by_code.setdefault((f.code, f.scale_set), i)
    added: dict[int, list[str]] = {}
    left: list[Attributed] = []
    for a in items:
        target = None
        for code in a.explains:
            target = by_code.get((code, a.key))
            if target is None and code in ("ARC605", "ARC603", "ARC406"):
                target = next((i for (c, _), i in by_code.items() if c == code), None)
            if target is not None:
                break
        if target is None:
            left.append(a)
            continue
        lines = added.setdefault(target, [])
        text = a.evidence()
        cause = clean(a.line.error)[-48:]          # the finding may quote the raw line already (ARC605's F21)
        if text not in lines and not (cause and any(cause in e for e in kept[target].evidence)):
            lines.append(text)
    for i, lines in added.items():
        f = kept[i]
        extra = tuple(lines[-PER_FINDING:])
        kept[i] = dataclasses.replace(f, evidence=f.evidence + tuple(finding(f.code, f.subject, evidence=extra)
                                                                     .evidence))
    return kept + list(_grouped(left))

"""`d`: a readable summary of a live object, as lines of rich Text (every cluster string literal).

Per kind: status and conditions; for pods the container states with exit codes and reasons, volumes with
their claim's state, security contexts and the env that matters to ARC (secret values are masked before
they get here, see kube.objects); for EphemeralRunners the phase, reason, message, job fields and the
`failures` timeline; for scale sets the replicas asked of the EphemeralRunnerSet against the runners that
exist; then the object's recent events.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from arc_top.core.data import d, dicts, lst
from arc_top.core.text import age
from arc_top.kube.fields import epoch
from arc_top.kube.model import PODS, RUNNER_SETS, RUNNERS, VOLUMES, Snapshot
from arc_top.kube.pods import pod_status
from arc_top.widgets.text import ERROR, MUTED, OK, WARN, Palette, clean_line, status_text

ARC_ENV = ("ACTIONS_", "RUNNER_", "GITHUB_", "DOCKER_")
LABEL_W = 18
ARC_ANNOTATIONS = ("runner-scale-set-id", "actions.github.com/runner-group-name",
                   "actions.github.com/runner-scale-set-name", "kubectl.kubernetes.io/default-container")
POD_SEVERITY = {"Running": OK, "Completed": MUTED, "Succeeded": MUTED, "Pending": WARN, "ContainerCreating": WARN}
PHASE_SEVERITY = {"Running": OK, "Succeeded": MUTED, "Pending": WARN, "Failed": ERROR, "Outdated": WARN,
                  "Bound": OK, "Lost": ERROR}


class Builder:
    """Collects the lines of one description, each with its hanging indent for wrapping."""

    def __init__(self, palette: Palette, now: float) -> None:
        self.palette = palette
        self.now = now
        self.lines: list[Text] = []
        self.hangs: list[int] = []

    def add(self, line: Text, hang: int) -> None:
        self.lines.append(line)
        self.hangs.append(hang)

    def heading(self, title: str) -> None:
        if self.lines:
            self.add(Text(""), 0)
        self.add(Text(title, style="bold underline"), 0)

    def field(self, label: str, value: object, severity: str | None = None, indent: int = 1) -> None:
        if value is None or value == "":
            return
        line = Text("  " * indent, end="")
        line.append(f"{label}:".ljust(LABEL_W), style="bold")
        line.append(" ")
        if severity is not None:
            line.append_text(status_text(value, severity, self.palette))
        else:
            line.append(clean_line(value))
        self.add(line, 2 * indent + LABEL_W + 1)

    def text(self, value: object, style: str = "", indent: int = 1) -> None:
        self.add(Text("  " * indent + clean_line(value), style=style), 2 * indent + 2)

    def when(self, stamp: object) -> str:
        seconds = epoch(stamp)
        if not seconds:
            return ""
        return f"{clean_line(stamp)} ({age(self.now - seconds)} ago)"


def severity_of(status: str) -> str:
    if status in POD_SEVERITY:
        return POD_SEVERITY[status]
    if status in PHASE_SEVERITY:
        return PHASE_SEVERITY[status]
    return ERROR if status else WARN


# ---- kinds ------------------------------------------------------------------------------------------------
def _metadata(b: Builder, obj: dict) -> None:
    meta = d(obj.get("metadata"))
    b.field("Kind", f"{obj.get('kind', '')} ({obj.get('apiVersion', '')})")
    b.field("Namespace", meta.get("namespace"))
    b.field("Name", meta.get("name"))
    b.field("Created", b.when(meta.get("creationTimestamp")))
    if meta.get("deletionTimestamp"):
        b.field("Deleting since", b.when(meta.get("deletionTimestamp")), WARN)
    if meta.get("finalizers"):
        b.field("Finalizers", ", ".join(map(str, lst(meta.get("finalizers")))))
    labels = d(meta.get("labels"))
    if labels:
        b.field("Labels", ", ".join(f"{k}={v}" for k, v in sorted(labels.items())))
    annotations = d(meta.get("annotations"))
    shown = [k for k in sorted(annotations) if k in ARC_ANNOTATIONS]
    for key in shown:
        b.field("Annotation", f"{key}={annotations[key]}")
    if len(annotations) > len(shown):
        b.field("Annotations", f"{len(annotations) - len(shown)} more (see YAML: y)")


def _conditions(b: Builder, status: dict) -> None:
    conditions = list(dicts(status.get("conditions")))
    if not conditions:
        return
    b.heading("Conditions")
    for c in conditions:
        ok = c.get("status") == "True"
        line = Text("  ")
        line.append_text(status_text(f"{c.get('type', '?')}={c.get('status', '?')}", OK if ok else WARN, b.palette))
        extra = " ".join(clean_line(x) for x in (c.get("reason"), c.get("message")) if x)
        if extra:
            line.append("  " + extra)
        b.add(line, 4)


def _container_state(b: Builder, spec: dict, cs: dict, init: bool) -> None:
    name = spec.get("name") or cs.get("name") or "?"
    kind = "init container" if init else "container"
    if init and spec.get("restartPolicy") == "Always":
        kind = "sidecar"
    b.text(f"{name} ({kind})", style="bold")
    b.field("Image", spec.get("image") or cs.get("image"), indent=2)
    state = d(cs.get("state"))
    if "running" in state:
        b.field("State", "Running", OK, indent=2)
        b.field("Started", b.when(d(state["running"]).get("startedAt")), indent=2)
    elif "terminated" in state:
        term = d(state["terminated"])
        code = term.get("exitCode")
        b.field("State", f"Terminated {term.get('reason') or ''} exit code {code}".replace("  ", " "),
                OK if code == 0 else ERROR, indent=2)
        b.field("Message", term.get("message"), indent=2)
        b.field("Finished", b.when(term.get("finishedAt")), indent=2)
    elif "waiting" in state:
        waiting = d(state["waiting"])
        reason = waiting.get("reason") or "Waiting"
        b.field("State", f"Waiting {reason}", ERROR if reason.endswith(("BackOff", "Error", "ErrImagePull")) else WARN,
                indent=2)
        b.field("Message", waiting.get("message"), indent=2)
    else:
        b.field("State", "not started", WARN, indent=2)
    last = d(d(cs.get("lastState")).get("terminated"))
    if last:
        b.field("Last state", f"Terminated {last.get('reason') or ''} exit code {last.get('exitCode')}"
                .replace("  ", " "), MUTED, indent=2)
    if cs:
        b.field("Ready", str(bool(cs.get("ready"))).lower(), indent=2)
        b.field("Restarts", str(cs.get("restartCount", 0)), WARN if cs.get("restartCount") else None, indent=2)
    _security(b, d(spec.get("securityContext")), indent=2)
    _env(b, spec, indent=2)


def _security(b: Builder, sc: dict, indent: int = 1) -> None:
    keys = ("runAsUser", "runAsGroup", "fsGroup", "runAsNonRoot", "privileged", "allowPrivilegeEscalation",
            "readOnlyRootFilesystem", "fsGroupChangePolicy")
    parts = [f"{k}={str(sc[k]).lower() if isinstance(sc[k], bool) else sc[k]}" for k in keys if k in sc]
    caps = d(sc.get("capabilities"))
    if caps.get("add"):
        parts.append("add=" + ",".join(map(str, lst(caps["add"]))))
    if caps.get("drop"):
        parts.append("drop=" + ",".join(map(str, lst(caps["drop"]))))
    seccomp = d(sc.get("seccompProfile")).get("type")
    if seccomp:
        parts.append(f"seccomp={seccomp}")
    b.field("Security context", ", ".join(parts) if parts else "none", indent=indent)


def _env(b: Builder, spec: dict, indent: int = 2) -> None:
    for entry in dicts(spec.get("env")):
        if not str(entry.get("name", "")).startswith(ARC_ENV):
            continue
        value = entry.get("value")
        source = d(entry.get("valueFrom"))
        if source:
            secret, field_ref = d(source.get("secretKeyRef")), d(source.get("fieldRef"))
            if secret:
                value = f"(from secret {secret.get('name')} key {secret.get('key')})"
            elif field_ref:
                value = f"(from field {field_ref.get('fieldPath')})"
            else:
                value = "(from " + ", ".join(source) + ")"
        b.field(f"env {entry.get('name')}", value if value not in (None, "") else '""', indent=indent)


def _pod(b: Builder, obj: dict, snapshot: Snapshot | None) -> None:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    shown, ready, total, restarts = pod_status(obj)
    b.heading("Status")
    b.field("Status", shown, severity_of(shown))
    b.field("Ready", f"{ready}/{total}")
    b.field("Restarts", str(restarts), WARN if restarts else None)
    b.field("Node", spec.get("nodeName") or "not scheduled")
    b.field("Pod IP", status.get("podIP"))
    b.field("Service account", spec.get("serviceAccountName") or "default")
    b.field("Restart policy", spec.get("restartPolicy"))
    b.field("Reason", status.get("reason"))
    b.field("Message", status.get("message"))
    _conditions(b, status)
    states = {c.get("name"): c for key in ("containerStatuses", "initContainerStatuses")
              for c in dicts(status.get(key))}
    b.heading("Containers")
    for init, key in ((True, "initContainers"), (False, "containers")):
        for c in dicts(spec.get(key)):
            _container_state(b, c, d(states.get(c.get("name"))), init)
    b.heading("Security context (pod)")
    _security(b, d(spec.get("securityContext")))
    _volumes(b, obj, snapshot)


def _claim_state(snapshot: Snapshot | None, namespace: str, claim: str) -> tuple[str, str]:
    if snapshot is None:
        return "", ""
    for volume in snapshot.of(VOLUMES).values():
        if volume.namespace == namespace and volume.name == claim:
            detail = " ".join(x for x in (volume.storage_class, volume.capacity or volume.requested) if x)
            return volume.phase or "Pending", detail
    return "not found", ""


def _volumes(b: Builder, obj: dict, snapshot: Snapshot | None) -> None:
    meta, spec = d(obj.get("metadata")), d(obj.get("spec"))
    volumes = list(dicts(spec.get("volumes")))
    if not volumes:
        return
    b.heading("Volumes")
    for v in volumes:
        name = str(v.get("name", "?"))
        claim = ""
        if "ephemeral" in v:
            claim = f"{meta.get('name')}-{name}"
            what = f"ephemeral claim {claim}"
            template = d(d(d(v["ephemeral"]).get("volumeClaimTemplate")).get("spec"))
            if template.get("storageClassName"):
                what += f" (class {template['storageClassName']})"
        elif "persistentVolumeClaim" in v:
            claim = str(d(v["persistentVolumeClaim"]).get("claimName", ""))
            what = f"claim {claim}"
        else:
            kind = next((k for k in v if k != "name"), "?")
            source = d(v.get(kind))
            ref = source.get("secretName") or source.get("name") or source.get("path") or ""
            what = f"{kind} {ref}".strip()
        if claim:
            phase, detail = _claim_state(snapshot, str(meta.get("namespace", "")), claim)
            line = Text(f"  {clean_line(name)}:".ljust(LABEL_W + 3), style="bold")
            line.append(clean_line(what) + "  ")
            if phase:
                line.append_text(status_text(phase, severity_of(phase) if phase != "not found" else WARN, b.palette,
                                             detail))
            b.add(line, LABEL_W + 3)
        else:
            b.field(name, what)


def _runner(b: Builder, obj: dict, snapshot: Snapshot | None) -> None:
    status = d(obj.get("status"))
    meta = d(obj.get("metadata"))
    phase = status.get("phase") or "Pending"
    b.heading("Runner")
    b.field("Phase", phase, PHASE_SEVERITY.get(phase, WARN))
    b.field("Reason", status.get("reason"))
    b.field("Message", status.get("message"))
    b.field("Ready", str(bool(status.get("ready"))).lower())
    b.field("Runner id", status.get("runnerId"))
    b.field("Runner name", status.get("runnerName"))
    b.field("Scale set id", d(obj.get("spec")).get("runnerScaleSetId"))
    b.heading("Job")
    job = [("Repository", "jobRepositoryName"), ("Workflow", "jobWorkflowRef"), ("Run id", "workflowRunId"),
           ("Job", "jobDisplayName"), ("Job id", "jobId"), ("Job request id", "jobRequestId")]
    if not any(status.get(key) for _, key in job):
        b.text("no job assigned", style="dim")
    for label, key in job:
        b.field(label, status.get(key))
    failures = d(status.get("failures"))
    b.heading(f"Failures ({len(failures)})")
    if not failures:
        b.text("none", style="dim")
    for uid, value in sorted(failures.items(), key=lambda item: str(item[1])):
        stamp = b.when(value) if isinstance(value, str) else str(value).lower()
        b.field(f"pod {str(uid)[:8]}", stamp or "(no time: ARC ≤0.11 records true)", ERROR)
    b.heading("Pod")
    pod = None
    if snapshot is not None:
        pod = next((p for p in snapshot.of(PODS).values()
                    if p.namespace == meta.get("namespace") and p.name == meta.get("name")), None)
    if pod is None:
        b.text("no pod", style="dim")
    else:
        b.field(pod.name, pod.status or pod.phase, severity_of(pod.status or pod.phase))


def _runner_set(b: Builder, obj: dict, snapshot: Snapshot | None) -> None:
    spec, status, meta = d(obj.get("spec")), d(obj.get("status")), d(obj.get("metadata"))
    b.heading("Replicas")
    replicas = spec.get("replicas", 0)
    current = status.get("currentReplicas", 0)
    b.field("Desired (spec)", str(replicas))
    b.field("Current (status)", str(current), OK if current == replicas else WARN)
    b.field("Pending", str(status.get("pendingEphemeralRunners", 0)))
    b.field("Running", str(status.get("runningEphemeralRunners", 0)))
    failed = status.get("failedEphemeralRunners", 0)
    b.field("Failed", str(failed), ERROR if failed else None)
    if failed:
        b.text("failed runners count toward the replicas: delete them once their cause is fixed", style="dim")
    if snapshot is not None:
        uid = meta.get("uid")
        runners = [r for r in snapshot.of(RUNNERS).values() if r.owner_uid == uid]
        b.field("Runners seen", str(len(runners)), OK if len(runners) == replicas else WARN)
    b.field("Phase", status.get("phase"))


def _scale_set(b: Builder, obj: dict, snapshot: Snapshot | None, listener: list[tuple[str, str]],
               credentials: tuple[str, str] | None = None) -> None:
    spec, status, meta = d(obj.get("spec")), d(obj.get("status")), d(obj.get("metadata"))
    b.heading("Scale set")
    b.field("GitHub config URL", spec.get("githubConfigUrl"))
    b.field("Config secret", spec.get("githubConfigSecret"))
    if credentials is not None:
        b.field("Credentials", credentials[0], credentials[1])
    b.field("Runner group", spec.get("runnerGroup") or "Default")
    b.field("Scale set name", spec.get("runnerScaleSetName"))
    maximum = spec.get("maxRunners")
    b.field("Min / max", f"{spec.get('minRunners', 0)} / {'unset' if maximum is None else maximum}")
    phase = status.get("phase") or status.get("state")
    b.field("Phase", phase or "none reported", PHASE_SEVERITY.get(phase, WARN) if phase else None)
    b.heading("Runners")
    b.field("Current", str(status.get("currentRunners", 0)))
    b.field("Pending", str(status.get("pendingEphemeralRunners", 0)))
    b.field("Running", str(status.get("runningEphemeralRunners", 0)))
    failed = status.get("failedEphemeralRunners", 0)
    b.field("Failed", str(failed), ERROR if failed else None)
    if snapshot is not None:
        uid = meta.get("uid")
        for ers in snapshot.of(RUNNER_SETS).values():
            if ers.owner_uid != uid:
                continue
            actual = sum(1 for r in snapshot.of(RUNNERS).values() if r.owner_uid == ers.uid)
            b.field(f"ERS {ers.name}", f"replicas {ers.replicas} · {actual} runners exist",
                    OK if actual == ers.replicas else WARN)
    b.heading("Listener")
    if not listener:
        b.field("Listener", "none found (no scaling without it)", ERROR)
    for label, state in listener:
        b.field(label, state, severity_of(state) if state else None)
    if any(label.startswith("pod") for label, _ in listener):
        b.text("press l for the listener pod's log", style="dim")
    template = d(d(spec.get("template")).get("spec"))
    if template:
        b.heading("Runner pod template")
        b.field("Service account", template.get("serviceAccountName") or "(chart default)")
        _security(b, d(template.get("securityContext")))
        for c in dicts(template.get("containers")):
            b.text(f"{c.get('name')} ({c.get('image')})", style="bold")
            _env(b, c)


def _seconds(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.1f} s" if value < 120 else age(value)


def _jobs(b: Builder, fig: object, trend: str) -> None:
    """The listener's figures: jobs waiting / running, runners busy / idle, start-up latency (metrics only), and
    where they came from or why there are none."""
    b.heading("Jobs")
    if fig is None:
        b.field("Source", "not read yet", MUTED)
        return
    source = getattr(fig, "source", "")
    why = getattr(fig, "why", "")
    if not source:
        b.field("Source", f"unknown: {why or 'no figures'}", WARN)
        return
    words = {"metrics": "listener metrics (pod proxy)", "log": "listener log (statistics lines)"}
    b.field("Source", words.get(source, source) + (f" — {why}" if why else ""))
    waiting = fig.waiting
    since = fig.waiting_since
    wait_text = "?" if waiting is None else str(waiting)
    if waiting and since:
        wait_text += f" (since {age(b.now - since)} ago)"
    b.field("Waiting", wait_text, WARN if waiting else None)
    b.field("Running", "?" if fig.running is None else str(fig.running))
    if trend.strip():
        b.field("Waiting trend", trend)
    busy, idle = fig.busy, fig.idle
    if busy is not None or idle is not None:
        b.field("Runners busy/idle", f"{'?' if busy is None else busy} / {'?' if idle is None else idle}"
                + (f" · {fig.registered} registered" if fig.registered is not None else ""))
    if fig.desired is not None:
        b.field("Desired runners", str(fig.desired))
    if fig.started_total is not None or fig.completed_total is not None:
        b.field("Jobs started/done", f"{fig.started_total or 0} / {fig.completed_total or 0}")
    if source == "metrics":
        if fig.startup_p50 is None:
            b.field("Start-up latency", "no job started yet", MUTED)
        else:
            b.field("Start-up latency", f"p50 {_seconds(fig.startup_p50)} · p95 {_seconds(fig.startup_p95)} "
                    f"({fig.startup_count} jobs)")


def _listener(b: Builder, obj: dict) -> None:
    spec = d(obj.get("spec"))
    b.heading("Listener")
    for label, key in (("GitHub config URL", "githubConfigUrl"), ("Config secret", "githubConfigSecret"),
                       ("Scale set", "autoscalingRunnerSetName"),
                       ("Scale set namespace", "autoscalingRunnerSetNamespace"),
                       ("Runner set", "ephemeralRunnerSetName"), ("Scale set id", "runnerScaleSetId"),
                       ("Min runners", "minRunners"), ("Max runners", "maxRunners"), ("Image", "image")):
        b.field(label, spec.get(key))


def _claim(b: Builder, obj: dict) -> None:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    phase = status.get("phase") or "Pending"
    b.heading("Claim")
    b.field("Phase", phase, PHASE_SEVERITY.get(phase, WARN))
    b.field("Storage class", spec.get("storageClassName") or "(default)")
    b.field("Access modes", ", ".join(map(str, lst(spec.get("accessModes")))))
    b.field("Requested", d(d(spec.get("resources")).get("requests")).get("storage"))
    b.field("Capacity", d(status.get("capacity")).get("storage"))
    b.field("Volume", spec.get("volumeName"))


def _secret(b: Builder, obj: dict) -> None:
    b.heading("Secret")
    b.field("Type", obj.get("type"))
    for key, value in sorted(d(obj.get("data")).items()):
        b.field(key, value)


def _generic(b: Builder, obj: dict) -> None:
    for section in ("spec", "status"):
        body = d(obj.get(section))
        if not body:
            continue
        b.heading(section.capitalize())
        for key, value in body.items():
            if isinstance(value, (dict, list)):
                value = f"({len(value)} {'entries' if isinstance(value, dict) else 'items'}: see YAML)"
            b.field(key, value)


def _events(b: Builder, events: Iterable[dict]) -> None:
    events = list(events)
    b.heading(f"Events ({len(events)})")
    if not events:
        b.text("none recent", style="dim")
    for e in events[-30:]:
        seen = epoch(e.get("lastTimestamp") or e.get("eventTime") or e.get("firstTimestamp"))
        line = Text("  " + (age(b.now - seen) if seen else "?").rjust(4) + "  ")
        warning = e.get("type") == "Warning"
        line.append_text(status_text(e.get("reason") or "?", WARN if warning else MUTED, b.palette))
        count = e.get("count") or 1
        if count > 1:
            line.append(f" ×{count}")
        line.append("  " + clean_line(e.get("message") or ""))
        b.add(line, 8)


def wrap(lines: list[Text], hangs: list[int], width: int) -> list[Text]:
    """Word-wrap to `width` cells, continuation lines indented by the line's hang (under its value)."""
    out: list[Text] = []
    width = max(width, 20)
    for line, hang in zip(lines, hangs, strict=True):
        plain = line.plain
        if len(plain) <= width:
            out.append(line)
            continue
        hang = min(hang, width // 2)
        cuts, pos, room = [], 0, width
        while len(plain) - pos > room:
            space = plain.rfind(" ", pos + 1, pos + room + 1)
            cut = space + 1 if space > pos + room // 3 else pos + room
            cuts.append(cut)
            pos, room = cut, width - hang
        parts = line.divide(cuts)
        out.append(parts[0])
        for part in parts[1:]:
            piece = Text(" " * hang, end="")
            piece.append_text(part)
            out.append(piece)
    return out


def describe_lines(obj: dict, events: Iterable[dict], snapshot: Snapshot | None, palette: Palette, now: float,
                   listener: list[tuple[str, str]] | None = None,
                   credentials: tuple[str, str] | None = None, jobs: object = None,
                   waiting_trend: str = "") -> tuple[list[Text], list[int]]:
    """`credentials`: for a scale set, the GitHub probe's one-line summary and its severity; `jobs`: its listener's
    job figures (kube.model.JobFigures, None: not read yet) and `waiting_trend` a sparkline of the jobs waiting."""
    """The whole description of `obj` (already masked): lines and their hanging indents (see `wrap`)."""
    b = Builder(palette, now)
    b.heading("Object")
    _metadata(b, obj)
    kind = obj.get("kind")
    if kind == "Pod":
        _pod(b, obj, snapshot)
    elif kind == "EphemeralRunner":
        _runner(b, obj, snapshot)
    elif kind == "EphemeralRunnerSet":
        _runner_set(b, obj, snapshot)
    elif kind == "AutoscalingRunnerSet":
        _scale_set(b, obj, snapshot, listener or [], credentials)
        _jobs(b, jobs, waiting_trend)
    elif kind == "AutoscalingListener":
        _listener(b, obj)
    elif kind == "PersistentVolumeClaim":
        _claim(b, obj)
    elif kind == "Secret":
        _secret(b, obj)
    else:
        _generic(b, obj)
    _events(b, events)
    return b.lines, b.hangs


"""The checks in the monitor: a daemon thread that runs them, and what the rows need from their findings.

`ChecksLoop` runs `checks.run` off the UI thread, at most every `interval` seconds and only when the snapshot
version, what the checks read of the log tails (checks.engine.log_facts: a failure line, not any new line) or
the listeners' job figures changed, or when an age can cross a check's threshold
(checks.deadlines), or `rerun` seconds passed. With a real connection it also reads log tails
(kube.logtail.LogTailer, within its budget), again every `recheck` seconds. It hands each result to a callback
(the app posts it as a message; the screen applies it like a change set). With nothing changing it costs next to
nothing: the job figures are read every `poll` seconds, the tails every `recheck`, everything else waits for a
deadline or `rerun`.

`FindingsView` is one result as the panels read it: findings by subject uid and by scale set, counts per
severity, and which uids show something different from the previous view (only their rows are rebuilt).

Neither `checks` nor the kubernetes client is imported here at module level: the first frame paints before.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from functools import cache, cached_property
from typing import TYPE_CHECKING, NamedTuple

from rich.style import Style
from rich.text import Text

from arc_top.kube.model import PODS, SCALE_SETS
from arc_top.widgets.text import DEFAULT_PALETTE, ERROR, INFO, MARKERS, OK, WARN, Palette, clean_line, status_text

if TYPE_CHECKING:
    from arc_top.checks.finding import Finding, LogTail

KIND_SHORT = {"Pod": "pod", "PersistentVolumeClaim": "pvc", "AutoscalingRunnerSet": "ars",
              "EphemeralRunnerSet": "ers", "EphemeralRunner": "er", "AutoscalingListener": "listener",
              "Namespace": "ns", "ServiceAccount": "sa", "NetworkPolicy": "netpol", "StorageClass": "sc",
              "Deployment": "deploy", "Secret": "secret", "Check": "check"}
DIM = Style(dim=True)
# While the operator types, a round of the checks steps aside (between two checks, two phases of a round): at
# 20,000 runners a round holds the interpreter for a third of a second, and a key handled meanwhile took twice
# as long to reach the screen. At most HOLD_MOST_S of waiting per round, so typing never stops the checks.
HOLD_MOST_S = 1.0
FIRST_RUN_WAIT = 10.0      # seconds after the panels synced: the longest the first check run waits for the rest

Signature = tuple[tuple[str, str, str], ...]        # what a row shows of its findings: (severity, code, title)…


class Look(NamedTuple):
    """How a panel shows a severity: its style (widgets.text: colour and marker), its word in a row's Problem cell
    ("⚠ warn"), its shortest word ("✖ 3 err": a scale set's cell, the compact header) and its plural ("2 errors")."""
    style: str
    word: str
    short: str
    many: str


@cache
def looks() -> dict[str, Look]:
    """checks.finding's severities, worst first → their look. The names, their order and their counts are the
    checks'; the styles and the words too long for a cell are kept here. Made at the first finding shown, not when
    this module loads: importing `checks` loads every check, and the first frame paints before."""
    from arc_top.checks import finding

    by_name = {finding.ERROR: Look(ERROR, finding.ERROR, "err", finding.ERROR + "s"),
               finding.WARNING: Look(WARN, "warn", "warn", finding.WARNING + "s"),
               finding.INFO: Look(INFO, finding.INFO, finding.INFO, finding.INFO)}    # "3 info", as checks.report
    return {severity: by_name[severity] for severity in finding.SEVERITIES}


def look_of(severity: str) -> Look:
    """A severity's look; one the checks do not name is shown as info, by its name."""
    return looks().get(severity) or Look(INFO, severity, severity, severity)


def style_of(severity: str) -> str:
    """widgets.text's style of a checks severity (ERROR, WARN, INFO)."""
    return look_of(severity).style


def finding_key(f: Finding) -> str:
    """A stable row key per finding (the engine deduplicates on the same fields)."""
    s = f.subject
    raw = "\x00".join((f.code, f.scale_set, s.kind, s.namespace, s.name, s.uid, f.title))
    return "fd-" + hashlib.sha1(raw.encode("utf-8", "replace")).hexdigest()[:20]


def group_key(scale_set: str) -> str:
    """The row key of a scale set's row in the Findings panel."""
    return "fg-" + hashlib.sha1(scale_set.encode("utf-8", "replace")).hexdigest()[:20]


def subject_label(f: Finding) -> str:
    s = f.subject
    return clean_line(f"{KIND_SHORT.get(s.kind, s.kind.lower())}/{s.name}")


class FindingsView:
    """One check run's findings (worst first), indexed for the rows. `ready` is False before the first run."""

    def __init__(self, findings: Iterable[Finding] = (), *, ready: bool = True, error: str = "",
                 silenced: int = 0, showing_silenced: bool = False) -> None:
        self.findings: tuple[Finding, ...] = tuple(sorted(findings, key=lambda f: f.sort_key()))
        self.ready = ready
        self.error = error
        self.silenced = silenced          # findings the config file's silence: rules hide…
        self.showing_silenced = showing_silenced      # …and whether `s` shows them anyway (in `findings`, marked)
        by_uid: dict[str, list[Finding]] = {}
        by_set: dict[str, list[Finding]] = {}
        for f in self.findings:
            if f.subject.uid:
                by_uid.setdefault(f.subject.uid, []).append(f)
            if f.scale_set:
                by_set.setdefault(f.scale_set, []).append(f)
        self.by_uid: dict[str, tuple[Finding, ...]] = {uid: tuple(fs) for uid, fs in by_uid.items()}
        self.by_set: dict[str, tuple[Finding, ...]] = {key: tuple(fs) for key, fs in by_set.items()}
        self.signatures: dict[str, Signature] = {uid: tuple((f.severity, f.code, f.title) for f in fs)
                                                 for uid, fs in self.by_uid.items()}

    @cached_property
    def counts(self) -> dict[str, int]:
        """Findings per severity, worst first (made when first shown: see `counts`)."""
        return counts(self.findings)

    @cached_property
    def by_key(self) -> dict[str, Finding]:
        """Findings by their row key (finding_key)."""
        return {finding_key(f): f for f in self.findings}

    @cached_property
    def groups(self) -> dict[str, str]:
        """The Findings panel's scale set rows: row key (group_key) → "namespace/name" ("" = no scale set)."""
        return {group_key(f.scale_set): f.scale_set for f in self.findings}

    def of(self, uid: str) -> tuple[Finding, ...]:
        return self.by_uid.get(uid, ())

    def of_set(self, namespace: str, name: str) -> tuple[Finding, ...]:
        return self.by_set.get(f"{namespace}/{name}", ())

    def changed_uids(self, previous: FindingsView | None) -> set[str]:
        """Subject uids whose rows show something else than with `previous`."""
        if previous is None:
            return set(self.signatures)
        old, new = previous.signatures, self.signatures
        return {uid for uid in old.keys() | new.keys() if old.get(uid) != new.get(uid)}

    def shows_same(self, previous: FindingsView | None) -> bool:
        """Nothing a panel shows differs from `previous` (evidence may have: it is read when a detail opens)."""
        return previous is not None and previous.ready == self.ready and previous.error == self.error and \
            (previous.silenced, previous.showing_silenced) == (self.silenced, self.showing_silenced) and \
            [_shown(f) for f in previous.findings] == [_shown(f) for f in self.findings]


def _shown(f: Finding) -> tuple:
    s = f.subject
    return f.severity, f.code, f.title, f.scale_set, s.kind, s.namespace, s.name, s.uid


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Findings per severity, worst first, as `arc-top check` counts them (checks.report.summary)."""
    from arc_top.checks.report import summary

    return summary(findings)


NO_FINDINGS = FindingsView(ready=False)


def worst_first(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: f.sort_key())


# ---------------------------------------------------------------- cells
def severity_text(severity: str, palette: Palette = DEFAULT_PALETTE) -> Text:
    """"✖ error", "⚠ warn", "● info": a marker and a word, never colour alone."""
    look = look_of(severity)
    return status_text(look.word, look.style, palette)


def problem_text(findings: Sequence[Finding], palette: Palette = DEFAULT_PALETTE, *, title: bool = True) -> Text:
    """A row's Problem cell: its worst finding's severity and (with `title`) its title, "+N" for more."""
    if not findings:
        return Text("", end="")
    top = min(findings, key=lambda f: f.sort_key())
    text = severity_text(top.severity, palette)
    if title:
        text.append(" " + clean_line(top.title))
    if len(findings) > 1:
        text.append(f" +{len(findings) - 1}", DIM)
    return text


def set_problem_text(findings: Sequence[Finding], palette: Palette = DEFAULT_PALETTE, *, title: bool = True) -> Text:
    """A scale set's Problem cell: the worst severity among its own and its children's findings and how many have
    it ("✖ 3"); with `title` also the word and the top finding's title ("✖ 3 err Runner pods stuck Pending +2")."""
    if not findings:
        return Text("", end="")
    top = min(findings, key=lambda f: f.sort_key())
    same = sum(1 for f in findings if f.severity == top.severity)
    look = look_of(top.severity)
    text = Text(end="")
    if not title:
        text.append(f"{MARKERS[look.style]} {same}", palette.style(look.style))
        return text
    text.append(f"{MARKERS[look.style]} {same} {look.short}", palette.style(look.style))
    text.append(" " + clean_line(top.title))
    if len(findings) > same:
        text.append(f" +{len(findings) - same}", DIM)
    return text


def summary_text(view: FindingsView, palette: Palette = DEFAULT_PALETTE, *, compact: bool = False,
                 findings: Sequence[Finding] | None = None) -> Text:
    """The header's "✖ 2 errors ⚠ 3 warnings ● 1 info" ("✔ no findings" when clean; empty before the first run)."""
    text = Text(end="")
    if view.error:
        return status_text(f"checks failed: {view.error}", ERROR, palette)
    if not view.ready:
        return text
    numbers = view.counts if findings is None else counts(findings)
    parts = [(severity, look, numbers.get(severity, 0)) for severity, look in looks().items()]
    parts = [part for part in parts if part[2]]
    if not parts:
        text = status_text("no findings", OK, palette)
    for i, (severity, look, n) in enumerate(parts):
        if i:
            text.append(" ")
        word = look.short if compact else severity if n == 1 else look.many
        text.append_text(status_text(f"{n} {word}", look.style, palette))
    if view.silenced:
        text.append(f" · {view.silenced} silenced" + (" (shown)" if view.showing_silenced else ""), DIM)
    return text


# ---------------------------------------------------------------- the thread
def tails_signature(tails: Sequence[LogTail]) -> tuple:
    """What the checks read of the log tails, cheaply: each tail's container, how many lines and its first and last
    (a log only grows: a tail that moved has another count, last line or first line, unless it repeats one line).
    Not when it was read: an empty log read again (a container that has just started) and still empty, or a tail
    read again unchanged, runs no check."""
    return tuple((t.pod_uid, t.container, t.previous, t.ended, len(t.lines), t.lines[0] if t.lines else "",
                  t.lines[-1] if t.lines else "") for t in tails)


def make_tailer(monitor: object):
    """A LogTailer when the monitor has a real connection (an ApiClient), else None (a fake monitor)."""
    api = getattr(getattr(monitor, "conn", None), "api_client", None)
    if api is None:
        return None
    from arc_top.kube.logtail import LogTailer

    return LogTailer(api)


def make_jobs_reader(monitor: object):
    """A JobsReader (the listeners' job figures) when the monitor has a real connection, else None."""
    api = getattr(getattr(monitor, "conn", None), "api_client", None)
    if api is None:
        return None
    from arc_top.kube.jobs import JobsReader

    return JobsReader(api)


def jobs_signature(jobs: dict) -> tuple:
    """Everything the rows show of the job figures (the JOBS and BUSY/IDLE columns, the describe screen)."""
    return tuple(sorted((k, v.source, v.why, v.assigned, v.running, v.busy, v.idle, v.waiting_since, v.startup_p50,
                         v.startup_p95) for k, v in jobs.items()))


def checks_jobs_signature(jobs: dict) -> tuple:
    """What the checks read of the job figures: ARC408 (checks/jobs.py) looks only at scale sets whose jobs wait
    (and since a known time), and reads their source, counts and since when. Figures that move while no job waits
    (a runner took a job, finished one) change the rows, never a finding: they need no check run."""
    return tuple(sorted((k, v.source, v.assigned, v.running, v.busy, v.idle, v.waiting_since)
                        for k, v in jobs.items() if v.source and v.waiting and v.waiting_since is not None))


class ChecksLoop:
    """Runs the checks on an app-owned daemon thread (an endless loop must not hold a slot of Textual's worker
    pool) and hands `(findings, snapshot version, error)` to `deliver` (called on that thread). At most every
    `interval` seconds (or twice as long as the checks took), and only when the snapshot version changed, or the
    listeners' job figures (read every `poll` seconds) changed, or an age crossed a check's threshold
    (checks.deadlines.next_change: pending for minutes, churn windows, jobs waiting), or `recheck` seconds passed
    (log tails and probes read again), or `rerun` seconds passed (whatever else time alone changes; by default
    `recheck`). A round that runs reads the log tails and probes too, and runs the checks only if something they
    read differs or `rerun` passed."""

    def __init__(self, monitor, deliver: Callable[[list, int, str], None], clock: Callable[[], float] = time.time,
                 *, interval: float = 1.0, recheck: float = 60.0, rerun: float | None = None, poll: float = 10.0,
                 tail_deadline: float = 5.0,
                 run: Callable[..., list] | None = None, tailer: object = None,
                 github: bool = True, github_timeout: float = 5.0) -> None:
        self.monitor = monitor
        self.github = github
        self.github_timeout = github_timeout
        self._prober = None
        self.probe_results: tuple = ()    # the last GitHub credential probes (kube.credentials), for the screens
        self.deliver = deliver
        self.clock = clock
        self.interval = interval
        self.recheck = recheck
        # Seconds after which the checks run again although nothing they read changed (what time alone changes and
        # checks.deadlines did not foresee); None: at every `recheck`. At `recheck` the log tails and probes are
        # read again either way, and a tail or probe that changed runs the checks.
        self.rerun = rerun
        self._ran_at = float("-inf")      # time.monotonic() of the last run of the checks
        self.poll = poll
        self._polled = float("-inf")      # time.monotonic() of the last read of the job figures alone
        self.due: float | None = None     # the checks' clock: an age crosses a threshold then (None: no age will)
        self._next_change: Callable[..., float | None] | None = None
        self._change_times = None       # checks.deadlines.ChangeTimes of the last run's objects
        self.tail_deadline = tail_deadline
        self._run_checks = run
        self._tailer = tailer
        self._jobs_reader = None
        # The listeners' job figures by (namespace, scale set) (kube.model.JobFigures); None: not read (no connection).
        self.jobs: dict | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0
        self.cost = 0.0                   # seconds the last run of the checks took
        self._findings: list = []         # the last run's findings…
        self._version = 0                 # …of this snapshot version
        self._jobs_shown: tuple = ()      # jobs_signature of the figures last delivered with findings
        self._failed = False              # the last round raised (its error was delivered): the next one runs
        self._hold_until = 0.0            # time.monotonic() until which a round waits at its pause points (hold)
        self._held = 0.0                  # seconds the current round has waited there
        self._engine_pauses = False       # the engine is checks.run, which takes `pause`
        self._ran_tails: Sequence = ()    # the log tails the last run read, and what the checks read of them
        self._ran_facts: tuple | None = None      # (checks.engine.log_facts; None: not worked out yet)

    @property
    def checked_version(self) -> int:
        """The snapshot version the last findings delivered are of (0: none yet)."""
        return self._version

    def listeners_read_since(self, since: float) -> bool:
        """Whether the listeners' job figures have all been read at or after `since` (time.monotonic()); True when
        nothing reads them (no connection, or before the checks' first run)."""
        reader = self._jobs_reader
        return reader is None or reader.read_since(since)

    def hold(self, seconds: float) -> None:
        """A key was pressed (the app, on its thread): for `seconds`, a round in progress waits at its next pause
        point, so the key is handled and painted with the interpreter to itself."""
        self._hold_until = max(self._hold_until, time.monotonic() + seconds)

    def _pause(self) -> None:
        """A pause point of a round: wait while held, at most HOLD_MOST_S per round (or until stopped)."""
        while self._held < HOLD_MOST_S:
            wait = min(self._hold_until - time.monotonic(), HOLD_MOST_S - self._held)
            if wait <= 0:
                return
            self._held += wait
            if self._stop.wait(wait):
                return

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="arc-top-checks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _loop(self) -> None:
        # Not while the first lists arrive: checks of half a cluster would be wrong and would slow the lists down.
        panels_synced = getattr(self.monitor, "panels_synced", None)
        while panels_synced is not None and not panels_synced():
            if self._stop.wait(0.1):
                return
        # Then the kinds only the checks read (secrets, RBAC, policies: the second wave), for up to
        # FIRST_RUN_WAIT seconds: a first run without them reports what it could not see, and it would compete
        # for the interpreter with the panels' first fill.
        synced = getattr(self.monitor, "synced", None)
        deadline = time.monotonic() + FIRST_RUN_WAIT
        while synced is not None and not synced() and time.monotonic() < deadline:
            if self._stop.wait(0.1):
                return
        # Only now the checks, the log tailer, the jobs reader and the probes (~0.1 s of imports): while the panels
        # are filled from their first lists, the interpreter is theirs.
        if self._run_checks is None:
            from arc_top import checks
            self._run_checks = checks.run
            self._engine_pauses = True
        if self._tailer is None:
            self._tailer = make_tailer(self.monitor)
        if self._jobs_reader is None:
            self._jobs_reader = make_jobs_reader(self.monitor)
        conn = getattr(self.monitor, "conn", None)
        if self.github and conn is not None and getattr(conn, "api_client", None) is not None:
            from arc_top.kube.credentials import CredentialProber

            self._prober = CredentialProber(conn.api_client, timeout=self.github_timeout)
        last: tuple | None = None
        last_run = float("-inf")
        while not self._stop.is_set():
            try:
                last, last_run = self.step(last, last_run)
            except Exception as exc:  # never let the thread die: report it, try again later
                self._failed = True
                self.deliver([], -1, one_line(exc))
            # A big cluster's checks take a while: wait at least twice that long, so they never take more than
            # about a third of a core (and of the GIL the screen needs).
            if self._stop.wait(max(self.interval, 2 * self.cost)):
                break
        if self._prober is not None:
            self._prober.close()

    def step(self, last: tuple | None, last_run: float) -> tuple[tuple | None, float]:
        """One round: read log tails, run the checks if anything changed. Returns the new (last, last_run)."""
        snapshot = self.monitor.snapshot()
        mono = time.monotonic()
        if last is not None and last[0] == snapshot.version and mono - last_run < self.recheck and \
                (self.due is None or self.clock() < self.due):
            # Nothing changed and no age crossed a threshold: no log tails, no probes, no checks (each walks every
            # pod) until `recheck`. Only the listeners' job figures are read, every `poll` seconds (the reader
            # paces each listener itself): jobs that start or stop waiting change no object.
            if self._jobs_reader is None or mono - self._polled < self.poll:
                return last, last_run
            self._polled = mono
            try:
                self.jobs = self._jobs_reader.read(snapshot, self.clock())
            except Exception:  # figures are best effort
                return last, last_run
            if checks_jobs_signature(self.jobs or {}) == last[3] and not self._failed:
                # Nothing a check reads changed: no run over every pod. The rows still get the new figures.
                self._deliver_jobs()
                return last, last_run
            if jobs_signature(self.jobs or {}) == self._jobs_shown:
                return last, last_run
        began = time.monotonic()          # the cost counts the log tails and probes too: same thread, same GIL
        self._held = 0.0                  # (…but not the waits for keys: see hold)
        self._pause()
        tails: Sequence = ()
        if self._tailer is not None:
            try:
                tails = tuple(self._tailer.fetch(snapshot, self.clock(), deadline_seconds=self.tail_deadline))
            except Exception:  # the tailer counts its own errors; the checks still run on the objects
                tails = ()
            self._pause()
        probes = None
        if self._prober is not None:
            try:
                # Cached per Secret resourceVersion: a request to GitHub only for a new or changed Secret (or
                # every 15 minutes); bounded by the prober's own budget.
                probes = self.probe_results = tuple(self._prober.probe(snapshot))
            except Exception:  # probes are best effort: the other checks still run
                probes = None
        options: dict = {}
        if self._jobs_reader is not None:
            try:      # each listener read at most every 15 s (the reader's own pace), a few requests per round
                self.jobs = self._jobs_reader.read(snapshot, self.clock())
                self._polled = time.monotonic()
                options["jobs"] = self.jobs
            except Exception:  # figures are best effort: the checks still run (no ARC408 without them)
                pass
            self._pause()
        key = (snapshot.version, tails_signature(tails),
               tuple((getattr(r, "probed_at", 0), tuple(getattr(r, "scale_sets", ()))) for r in probes or ()),
               checks_jobs_signature(self.jobs or {}))
        if last is not None and key[1] != last[1] and key[0] == last[0] and key[2:] == last[2:] and \
                self._same_log_facts(snapshot, tails):
            key = (key[0], last[1]) + key[2:]     # other tails, but what the checks read of them is the same
        now = time.monotonic()
        clock = self.clock()
        rerun = self.recheck if self.rerun is None else self.rerun
        if key == last and (self.due is None or clock < self.due) and not self._failed and \
                (now - last_run < self.recheck or now - self._ran_at < rerun):
            # Nothing the checks read changed. (Past `recheck`, the tails and probes were read again: the next
            # read is a `recheck` from now.)
            self.cost = time.monotonic() - began - self._held
            self._deliver_jobs()
            return last, (last_run if now - last_run < self.recheck else now)
        if self._engine_pauses:
            options["pause"] = self._pause
        if probes is None:
            findings = self._run_checks(snapshot, now=clock, logs=tails, **options)
        else:
            findings = self._run_checks(snapshot, now=clock, logs=tails, probes=probes, **options)
        from arc_top.checks.deadlines import ChangeTimes, next_change

        if self._next_change is None:
            self._next_change = next_change
        self._pause()
        try:
            # The times ages cross thresholds are worked out once per set of objects: an idle cluster keeps its
            # snapshot while the checks run again at each deadline.
            times = self._change_times
            if times is None or not times.holds_for(snapshot, clock):
                times = self._change_times = ChangeTimes(snapshot, clock)
            self.due = self._next_change(snapshot, clock, self.jobs, times=times)
        except Exception:  # a snapshot the deadlines cannot read: `recheck` alone paces the re-runs
            self.due = None
        self.cost = time.monotonic() - began - self._held
        self.runs += 1
        self._ran_at = now
        self._findings, self._version, self._failed = list(findings), snapshot.version, False
        self._ran_tails, self._ran_facts = tails, None
        self._jobs_shown = jobs_signature(self.jobs or {})
        if not self._stop.is_set():
            self.deliver(list(findings), snapshot.version, "")
        return key, now

    def _same_log_facts(self, snapshot, tails: Sequence) -> bool:
        """Whether the checks would read of `tails` what they read of the last run's (checks.engine.log_facts; the
        snapshot is the run's: same version). Worked out when a re-read finds other tails and nothing else
        changed, about once a `recheck` on an idle cluster; a failure is a difference."""
        try:
            from arc_top.checks.engine import log_facts

            if self._ran_facts is None:
                self._ran_facts = log_facts(snapshot, self._ran_tails)
            return log_facts(snapshot, tails) == self._ran_facts
        except Exception:  # a tail or snapshot the checks cannot read: they run, and say so themselves
            return False

    def _deliver_jobs(self) -> None:
        """The job figures changed where no check looks (see checks_jobs_signature): the last run's findings are
        what a run would find again, delivered with them so the rows show the new figures."""
        shown = jobs_signature(self.jobs or {})
        if shown == self._jobs_shown or self._stop.is_set():
            return
        self._jobs_shown = shown
        self.deliver(list(self._findings), self._version, "")


def one_line(error: BaseException) -> str:
    text = clean_line(f"{type(error).__name__}: {error}").strip()
    return text if len(text) <= 200 else text[:199] + "…"


def group_order(findings: Iterable[Finding]) -> list[tuple[str, list[Finding]]]:
    """(scale set key, its findings worst first), the worst group first; findings of no scale set last on ties."""
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.scale_set, []).append(f)
    out = [(key, worst_first(fs)) for key, fs in groups.items()]
    out.sort(key=lambda g: (min(f.rank for f in g[1]), g[0] == "", g[0]))
    return out


# ---------------------------------------------------------------- where a finding's object is shown
def scale_set_uid(snapshot, key: str) -> str | None:
    """The uid of the scale set "namespace/name"."""
    for ss in snapshot.of(SCALE_SETS).values():
        if f"{ss.namespace}/{ss.name}" == key:
            return ss.uid
    return None


def finding_targets(f: Finding, snapshot, index) -> list[tuple[str, str]]:
    """(panel id, row key) candidates for the row of a finding's subject, best first; its scale set's row last.
    Runner rows are keyed by the EphemeralRunner's uid, orphan runner pods, workflow pods and work volumes by
    their own; a listener pod is shown by its scale set's row."""
    s = f.subject
    out: list[tuple[str, str]] = []
    name = (s.namespace, s.name)
    if s.kind == "AutoscalingRunnerSet":
        uid = s.uid if s.uid in snapshot.of(SCALE_SETS) else scale_set_uid(snapshot, f"{s.namespace}/{s.name}")
        if uid:
            out.append(("scalesets", uid))
    elif s.kind == "EphemeralRunner":
        runner = index.runners_by_name.get(name)
        out += [("runners", uid) for uid in (s.uid, runner.uid if runner else "") if uid]
    elif s.kind == "Pod":
        pod = snapshot.of(PODS).get(s.uid) or index.pods_by_name.get(name)
        runner = index.runners_by_name.get(name)
        if pod is not None and pod.role == "listener":
            uid = scale_set_uid(snapshot, f"{pod.scale_set_namespace or pod.namespace}/{pod.scale_set}")
            if uid:
                out.append(("scalesets", uid))
        if runner is not None:
            out.append(("runners", runner.uid))
        if pod is not None:
            out.append(("runners", pod.uid))
    elif s.kind == "PersistentVolumeClaim":
        volume = index.volumes_by_name.get(name)
        uids = [uid for uid in (s.uid, volume.uid if volume else "") if uid]
        out += [(panel, uid) for panel in ("volumes", "runners") for uid in uids]
    if f.scale_set:
        uid = scale_set_uid(snapshot, f.scale_set)
        if uid:
            out.append(("scalesets", uid))
    return list(dict.fromkeys(out))

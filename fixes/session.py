"""Fixing a finding, safely: read the live objects → plan (pure, checks.remedies) → access review → server-side
dry-run → preview → (the operator confirms) → apply → audit; and undo through the same steps.

Used by the monitor's fix screen and by `arc-top fix` / `arc-top undo` alike. Blocking calls: run them off the
UI thread. `read_only` sends no mutating request at all — no dry-run, no access review (a POST) either.

Conflicts: every write carries preconditions. When the first write of a fix fails one (the object changed
between preview and apply), the plan is made again from the live object. If the change it would make is exactly
the one the operator saw (only server-owned fields such as status moved, as they do on a busy scale set), it is
dry-run and sent again, at most `RETRIES` times; otherwise nothing is written and `Stale` carries the new preview.
"""

from __future__ import annotations

import dataclasses
import getpass
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from arc_top.checks import remedies, remedy_kit
from arc_top.checks.finding import Finding
from arc_top.checks.fixplan import (
    Facts,
    FixPlan,
    Pasted,
    PatchFailed,
    PlanError,
    Variant,
    apply_patch,
    diff,
    inverse_patch,
    mask_ops,
    masked_object,
    predicted,
)
from arc_top.checks.remedy_credentials import ROTATION_CODES
from arc_top.fixes.audit import AuditLog, new_id
from arc_top.fixes.rotation import NotAccepted, probe_pasted
from arc_top.kube import remedy
from arc_top.kube.operations import CREATE, DELETE, PATCH, Operation, Target

RETRIES = 3
PREVIEW_ATTEMPTS = 6       # a busy scale set's status moves every few seconds; a preview is cheap (~15 ms)
LISTENER_SELECTOR = "app.kubernetes.io/component=runner-scale-set-listener"


class Refused(Exception):
    """The fix cannot be applied as asked (one line: why). Nothing was written."""


class Stale(Exception):
    """The object changed since the preview and the change differs now: nothing was written; review `preview`."""

    def __init__(self, preview: Preview, message: str) -> None:
        super().__init__(message)
        self.preview = preview


@dataclass
class Step:
    op: Operation
    # (not in the repr: a Secret's values would be, and a repr ends up in logs and crash files)
    before: dict | None = field(repr=False)   # the live object the write was planned against
    after: dict | None = field(repr=False)    # the server's dry-run answer, else the local prediction (None: deleted)
    diff: list[str]
    verdict: str = ""                 # "accepted", "rejected: <server message>", "" (not dry-run)


@dataclass
class Preview:
    plan: FixPlan
    variant: Variant
    steps: list[Step]
    context: str
    server: str
    read_only: bool
    denied: str = ""                  # "your account cannot patch autoscalingrunnersets in arc-runners"
    rejected: str = ""                # the first dry-run rejection, verbatim
    rebuild: Callable[[], Preview] | None = field(default=None, repr=False)
    undo_of: str = ""                 # the audit id this preview undoes

    @property
    def dry_run_verdict(self) -> str:
        if self.read_only:
            return "dry-run: not sent (read-only)"
        if not self.steps:
            return "dry-run: nothing to send (guidance only)"
        if self.denied:
            return f"dry-run: not sent ({self.denied})"
        if self.rejected:
            return f"dry-run: rejected: {self.rejected}"
        return "dry-run: accepted"

    @property
    def accepted(self) -> bool:
        return not (self.read_only or self.denied or self.rejected)

    @property
    def can_apply(self) -> bool:
        return self.accepted and bool(self.steps)

    def why_not(self) -> str:
        if self.read_only:
            return "read-only: arc-top sends no write (--read-only)"
        if not self.steps:
            return "guidance only: arc-top makes no live change for this; change it where it is managed (below)"
        if self.denied:
            return self.denied
        if self.rejected:
            return f"the server rejects the dry-run: {self.rejected}"
        return ""

    def diff_lines(self) -> list[str]:
        out = []
        stages = self.variant.stages()
        label = None
        for step in self.steps:
            if len(stages) > 1 and step.op.step != label:
                label = step.op.step
                k = next(i for i, (name, _ops) in enumerate(stages, 1) if name == label)
                out.append(f"## step {k} of {len(stages)}: {label or 'write'}")
            out.append(f"# {step.op.headline()}" + (f" — {step.op.note}" if step.op.note else ""))
            out += step.diff or ["  (no change to show)"]
        return out

    def signature(self) -> tuple:
        """What the operator reviewed: the writes and their diffs (not resourceVersions)."""
        return tuple((s.op.verb, s.op.target, tuple(s.diff)) for s in self.steps)


@dataclass(frozen=True)
class Reversal:
    """How to undo one write: the inverse patch of a patch, or the delete (by uid) of an object created."""
    target: Target
    patch: tuple[dict, ...] = ()
    secret: bool = False
    delete_uid: str = ""


# progress(index of the write, its Step, "sending" | "done" | "failed") — from the thread that applies
Progress = Callable[[int, Step, str], None]


@dataclass
class Applied:
    id: str
    preview: Preview
    outcome: str                       # applied | partial | failed
    done: list[Step]
    error: str = ""
    at: float = 0.0                    # wall clock of the first write
    undo: list[Reversal] = field(default_factory=list)

    def message(self) -> str:
        label = f"{self.preview.plan.code} {self.preview.variant.name}"
        if self.outcome == "applied":
            return f"applied {label} ({len(self.done)} write{'s' if len(self.done) != 1 else ''}), audit id {self.id}"
        if self.outcome == "partial":
            return f"partly applied {label}: {self.progress_text()}; {self.error}"
        return f"not applied {label}: {self.error}"

    def stage_states(self) -> list[tuple[str, int, int]]:
        """Per step of the fix: (label, writes done, writes in the step)."""
        done = {id(s.op) for s in self.done}
        return [(label, sum(1 for op in ops if id(op) in done), len(ops))
                for label, ops in self.preview.variant.stages()]

    def progress_text(self) -> str:
        """`2 of 3 writes` — or, for a multi-step fix, `step 1 (change the template) done; step 2 (replace the
        stuck runners) stopped after 1 of 3 writes`."""
        states = self.stage_states()
        if len(states) < 2:
            return f"{len(self.done)} of {len(self.preview.steps)} writes"
        parts = []
        for k, (label, done, total) in enumerate(states, 1):
            what = f"step {k} ({label or 'write'})"
            if done == total:
                parts.append(f"{what} done")
            elif done:
                parts.append(f"{what} stopped after {done} of {total} writes")
            else:
                parts.append(f"{what} not done")
        return "; ".join(parts)



class Fixer:
    def __init__(self, api_client, *, context: str = "", server: str = "", read_only: bool = False,
                 audit: AuditLog | None = None, github_timeout: float = 5.0,
                 github_ca: bytes | str | None = None) -> None:
        self.api = api_client
        self.context = context
        self.server = server
        self.read_only = read_only
        self.audit = audit or AuditLog()
        self.applied: list[Applied] = []       # this session's fixes, for `u`
        self.github_timeout = github_timeout   # for probing a rotated credential before it is written
        self.github_ca = github_ca

    @classmethod
    def for_connection(cls, conn, read_only: bool = False, audit: AuditLog | None = None, *,
                       github_timeout: float = 5.0, github_ca: bytes | str | None = None) -> Fixer:
        return cls(conn.api_client, context=conn.context, server=conn.server, read_only=read_only, audit=audit,
                   github_timeout=github_timeout, github_ca=github_ca)

    @staticmethod
    def needs_input(finding: Finding) -> bool:
        """The fix of `finding` needs new secret values from the operator (a rotated credential)."""
        return finding.code in ROTATION_CODES

    # ---- planning ---------------------------------------------------------------------------------------------
    def read(self, target: Target) -> dict:
        """The live object (kube.remedy.Gone when it does not exist). SavedFixer reads saved files instead."""
        return remedy.read(self.api, target)

    def list_objects(self, target: Target, label_selector: str = "") -> list[dict]:
        return remedy.list_objects(self.api, target, label_selector)

    def facts(self, finding: Finding, findings: Sequence[Finding] = ()) -> Facts:
        need = remedies.needs(finding)
        try:
            target = self.read(need.target)
        except remedy.Gone:
            raise PlanError(f"{need.target.label()} no longer exists") from None
        scale_set = None
        if need.scale_set is not None:
            try:
                scale_set = self.read(need.scale_set)
            except remedy.Gone:
                scale_set = None
        ars = need.scale_set or need.target
        selector = (f"actions.github.com/scale-set-name={ars.name},"
                    f"actions.github.com/scale-set-namespace={ars.namespace}")
        facts = Facts(target, scale_set, findings=tuple(findings))
        if need.listener_pods:
            facts.listener_pods = self.list_objects(remedy_kit.pod_target("", ""), f"{LISTENER_SELECTOR},{selector}")
        if need.listeners:
            facts.listeners = [x for x in self.list_objects(remedy_kit.listener_target("", ""))
                               if (x.get("spec") or {}).get("autoscalingRunnerSetName") == ars.name
                               and (x.get("spec") or {}).get("autoscalingRunnerSetNamespace") == ars.namespace]
        if need.runners:
            facts.runners = self.list_objects(remedy_kit.runner_target(ars.namespace, ""),
                                              f"actions.github.com/scale-set-name={ars.name}")
        for listing in need.lists:
            try:
                facts.lists[listing.key] = self.list_objects(listing.target, listing.label_selector)
            except (remedy.Forbidden, remedy.Gone) as exc:      # the remedy says what it can do without them
                facts.lists[listing.key] = []
                facts.unreadable[listing.key] = exc.message
        return facts

    def plan(self, finding: Finding, findings: Sequence[Finding] = (), pasted: Pasted | None = None) -> FixPlan:
        """The plan for `finding` from the live objects (raises PlanError, or the kube.remedy errors). `pasted`:
        new secret values the operator typed — probed with GitHub first (once), Refused when they do not pass;
        a rotation without them raises remedy_credentials.NeedsInput naming what to ask for."""
        if self.read_only and pasted is None and finding.code in ROTATION_CODES:
            raise Refused("read-only: rotating the credential would write it, so arc-top does not ask for it "
                          "(--read-only)")
        facts = self.facts(finding, findings)
        if pasted is not None:
            facts.pasted = pasted
            if not pasted.verdict and finding.code in ROTATION_CODES:
                try:
                    pasted.verdict = probe_pasted(self.api, facts, pasted, timeout=self.github_timeout,
                                                  extra_ca=self.github_ca)
                except NotAccepted as exc:
                    raise Refused(str(exc)) from None
        plan = remedies.plan(finding, facts)
        return dataclasses.replace(plan, findings=tuple(findings), objects=_by_path(facts.objects()),
                                   pasted=pasted)

    def preview(self, plan: FixPlan, variant: str | None = None, findings: Sequence[Finding] = ()) -> Preview:
        """Access review and server-side dry-run of every write of `variant` (none of it when read-only)."""
        name = plan.variant(variant).name
        finding = plan.finding
        findings = tuple(findings) or plan.findings

        def replan() -> tuple[FixPlan, Variant]:
            fresh = self.plan(finding, findings, plan.pasted)
            return fresh, fresh.variant(name)
        return self._preview(plan, plan.variant(name), replan)

    def _preview(self, plan: FixPlan, chosen: Variant, replan: Callable[[], tuple[FixPlan, Variant]],
                 undo_of: str = "") -> Preview:
        """A preview. When an object moved between its read and its dry-run (a busy scale set's status does), the
        plan is made again from the live object, at most PREVIEW_ATTEMPTS times. `replan` also serves `apply`."""
        def rebuild() -> Preview:
            fresh_plan, fresh_variant = replan()
            return self._preview(fresh_plan, fresh_variant, replan, undo_of)
        for attempt in range(PREVIEW_ATTEMPTS):
            try:
                return self._preview_once(plan, chosen, rebuild, undo_of, changed_ok=attempt == PREVIEW_ATTEMPTS - 1)
            except remedy.Changed:
                plan, chosen = replan()
        raise AssertionError("unreachable: the last attempt reports a change instead of raising")

    def _preview_once(self, plan: FixPlan, chosen: Variant, rebuild: Callable[[], Preview] | None,
                      undo_of: str = "", changed_ok: bool = False) -> Preview:
        befores = self._befores(chosen, plan.objects)
        out = Preview(plan, chosen, [], self.context, self.server, self.read_only, rebuild=rebuild, undo_of=undo_of)
        if not self.read_only:
            out.denied = self._access(chosen.operations)
        for op, before in zip(chosen.operations, befores, strict=True):
            try:
                after = predicted(before, op)
            except PatchFailed as exc:      # the object moved since the plan was made
                if not changed_ok:
                    raise remedy.Changed(409, f"{op.target.label()} changed since it was read") from None
                after, out.rejected = before, out.rejected or f"the plan does not fit the live object ({exc})"
            step = Step(op, before, after, [])
            if out.accepted:
                try:
                    answer = self._execute(op, dry_run=True)
                    step.verdict = "accepted"
                    if op.verb != DELETE and answer.get("metadata"):
                        step.after = answer
                except remedy.Changed as exc:
                    if not changed_ok:
                        raise
                    step.verdict = f"rejected: {exc.message}"
                    out.rejected = f"{exc.message} (it keeps changing: try again)"
                except remedy.WriteError as exc:
                    step.verdict = f"rejected: {exc.message}"
                    out.rejected = exc.message
            step.diff = diff(before, step.after, op)
            out.steps.append(step)
        return out

    def _befores(self, variant: Variant, read: dict) -> list[dict | None]:
        """The live object of each write: the one the plan was made from (read just before), else read now."""
        out: list[dict | None] = []
        cache: dict[str, dict | None] = dict(read)
        for op in variant.operations:
            key = op.target.path()
            if key not in cache:
                try:
                    cache[key] = remedy.read(self.api, op.target)
                except remedy.Gone:
                    cache[key] = None
            out.append(cache[key])
        return out

    def _access(self, ops: Sequence[Operation]) -> str:
        seen = set()
        for op in ops:
            key = op.access()[:4]
            if key in seen:
                continue
            seen.add(key)
            try:
                allowed, _reason = remedy.can_i(self.api, op)
            except remedy.WriteError:
                continue              # the review itself failed: the dry-run will say what the server thinks
            if not allowed:
                return remedy.denied_reason(op)
        return ""

    def _execute(self, op: Operation, dry_run: bool) -> dict:
        """Send one write. A JSON patch answered 422 is a `Changed` when the live object no longer passes the
        patch's own `test` ops (the server's 422 does not say which op failed), else the server's rejection."""
        try:
            return remedy.execute(self.api, op, dry_run=dry_run)
        except remedy.WriteError as exc:
            if op.verb != PATCH or exc.status != 422:
                raise
            try:
                apply_patch(remedy.read(self.api, op.target), [o for o in op.patch if o.get("op") == "test"])
            except PatchFailed:
                raise remedy.Changed(409, f"{op.target.label()} changed since it was read", "Conflict") from None
            except remedy.WriteError:
                pass
            raise

    # ---- applying ---------------------------------------------------------------------------------------------
    def apply(self, preview: Preview, progress: Progress | None = None) -> Applied:
        """Send the previewed writes, in order; the first that fails stops the rest. Raises Refused (read-only,
        forbidden, rejected, guidance only) or Stale (the object changed and so did the change: nothing written).
        A failure after a first write is an `Applied` with outcome `partial` that says which steps were done,
        audited like the rest. `progress` hears of each write as it is sent and answered."""
        if not preview.can_apply:
            raise Refused(preview.why_not())
        for _attempt in range(RETRIES + 1):
            try:
                return self._send(preview, progress)
            except remedy.Changed:
                fresh = preview.rebuild() if preview.rebuild else None
                if fresh is None:
                    raise Refused("the object changed since the preview; nothing was written") from None
                if fresh.signature() != preview.signature() or not fresh.can_apply:
                    raise Stale(fresh, "the object changed since the preview: nothing was written; review the new "
                                       "diff") from None
                preview = fresh
        raise Stale(preview, "the object keeps changing: nothing was written; try again")

    def _send(self, preview: Preview, progress: Progress | None = None) -> Applied:
        applied = Applied(new_id(), preview, "applied", [], at=time.time())
        tell = progress or (lambda _i, _step, _state: None)
        for i, step in enumerate(preview.steps):
            tell(i, step, "sending")
            answer: dict = {}
            try:
                if step.op.verb == DELETE:
                    self._delete(step.op)
                else:
                    answer = self._execute(step.op, dry_run=False)
            except remedy.Gone:
                if step.op.verb == DELETE:          # gone already: what the delete wanted
                    applied.done.append(step)
                    tell(i, step, "done")
                    continue
                applied.outcome, applied.error = ("partial" if i else "failed"), f"{step.op.target.label()} is gone"
                tell(i, step, "failed")
                break
            except remedy.Changed as exc:
                if i == 0:
                    raise
                applied.outcome, applied.error = "partial", (f"{step.op.target.label()} changed since the preview "
                                                             f"({exc.message})")
                tell(i, step, "failed")
                break
            except remedy.WriteError as exc:
                applied.outcome = "partial" if i else "failed"
                applied.error = f"{step.op.headline()}: {exc.message}"
                tell(i, step, "failed")
                break
            applied.done.append(step)
            tell(i, step, "done")
            if step.op.verb == PATCH and step.before is not None:
                inverse = inverse_patch(step.before, step.op.patch)
                if inverse:
                    applied.undo.append(Reversal(step.op.target, tuple(inverse), step.op.secret))
            elif step.op.verb == CREATE:
                uid = str((answer.get("metadata") or {}).get("uid") or "")
                if uid:
                    applied.undo.append(Reversal(step.op.target, secret=step.op.secret, delete_uid=uid))
        self._audit_apply(applied)
        if applied.done:
            self.applied.append(applied)
        return applied

    def _delete(self, op: Operation) -> None:
        """A delete whose resourceVersion precondition failed while the uid still matches: the same object
        moved on in its status (a pod's phase, a listener being recreated) — what the operator reviewed, the
        deletion of that object, is unchanged. Sent again with the current resourceVersion, at most RETRIES
        times; a different uid under the name means the reviewed object is gone already."""
        for attempt in range(RETRIES + 1):
            try:
                self._execute(op, dry_run=False)
                return
            except remedy.Changed:
                live = remedy.read(self.api, op.target)          # Gone propagates: deleted already
                meta = live.get("metadata") or {}
                if op.uid and meta.get("uid") != op.uid:
                    raise remedy.Gone(404, f"{op.target.label()} was replaced by a new object") from None
                if attempt == RETRIES:
                    raise
                op = dataclasses.replace(op, resource_version=str(meta.get("resourceVersion", "")))

    def last_undoable(self) -> Applied | None:
        """The newest fix of this session that wrote something and is not undone yet. An undo itself is not
        offered: undoing it would re-apply the fix."""
        undone = {a.preview.undo_of for a in self.applied if a.preview.undo_of and a.outcome == "applied"}
        return next((a for a in reversed(self.applied) if not a.preview.undo_of and a.id not in undone), None)

    # ---- undo -------------------------------------------------------------------------------------------------
    def undo_preview(self, fix: Applied | dict) -> Preview:
        """The preview of undoing `fix` (this session's Applied, or an audit record): the inverse patches,
        guarded by tests that the fields still hold what the fix wrote. Raises Refused when that is not so."""
        fix_id = fix.id if isinstance(fix, Applied) else str(fix.get("id"))

        def replan() -> tuple[FixPlan, Variant]:
            plan = self._undo_plan(fix)
            return plan, plan.variants[0]
        plan, variant = replan()
        return self._preview(plan, variant, replan, undo_of=fix_id)

    def _undo_plan(self, fix: Applied | dict) -> FixPlan:
        if isinstance(fix, Applied):
            fix_id, code, finding = fix.id, fix.preview.plan.code, fix.preview.plan.finding
            undo = fix.undo
            if not undo:
                raise Refused(f"fix {fix_id} made no change that can be undone (deleted objects are gone)")
        else:
            fix_id, code = str(fix.get("id")), str(fix.get("code"))
            finding = _record_finding(fix)
            if fix.get("undone"):
                raise Refused(f"fix {fix_id} was undone already ({fix['undone']})")
            if not fix.get("undo_available"):
                raise Refused(f"fix {fix_id} cannot be undone from the audit: "
                              + (fix.get("undo_note") or "it made no change that can be undone"))
            undo = [Reversal(Target(**u["target"]), tuple(u.get("patch") or ()), False, str(u.get("delete_uid") or ""))
                    for u in fix.get("undo") or ()]
        ops = []
        for rev in reversed(undo):                 # the last write first: a binding goes before its Role
            target = rev.target
            try:
                live = remedy.read(self.api, target)
            except remedy.Gone:
                if rev.delete_uid:
                    continue                       # what the fix created is gone already
                raise Refused(f"{target.label()} no longer exists: nothing to undo") from None
            meta = live.get("metadata") or {}
            rv = str(meta.get("resourceVersion", ""))
            if rev.delete_uid:
                if meta.get("uid") != rev.delete_uid:
                    raise Refused(f"{target.label()} is not the object fix {fix_id} created (it was replaced); "
                                  "undo refused (nothing was written)")
                ops.append(Operation(DELETE, target, uid=rev.delete_uid, resource_version=rv,
                                     note=f"undo fix {fix_id}: delete what it created"))
                continue
            try:
                apply_patch(live, list(rev.patch))
            except PatchFailed:
                raise Refused(f"{target.label()} changed since fix {fix_id}: the fields it wrote no longer hold "
                              "what it wrote; undo refused (nothing was written)") from None
            ops.append(Operation(PATCH, target, ({"op": "test", "path": "/metadata/resourceVersion", "value": rv},
                                                 *rev.patch), uid=str(meta.get("uid", "")),
                                 resource_version=rv, secret=rev.secret, note=f"undo fix {fix_id}"))
        if not ops:
            raise Refused(f"fix {fix_id}: what it created is gone already; nothing to undo")
        kubectl = tuple(remedy_kit.kubectl_patch(op.target, [o for o in op.patch
                                                           if o["path"] != "/metadata/resourceVersion"])
                        for op in ops if not op.secret and op.verb == PATCH)
        kubectl += tuple(remedy_kit.kubectl_delete([op for op in ops if op.verb == DELETE]))
        variant = Variant("undo", f"undo fix {fix_id} ({code}): restore the fields it changed", tuple(ops),
                          kubectl=kubectl,
                          helm="# if the fix's values snippet went into the chart's values, take it out again too\n")
        return FixPlan(code, finding, ops[0].target, (variant,))

    # ---- audit ------------------------------------------------------------------------------------------------
    def _audit_apply(self, applied: Applied) -> None:
        p = applied.preview
        secret_undo = any(r.secret and r.patch for r in applied.undo)
        record = {
            "id": applied.id, "event": "undo" if p.undo_of else "apply",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(applied.at)),
            "user": _local_user(), "context": self.context, "server": self.server,
            "code": p.plan.code, "finding": _finding_json(p.plan.finding),
            "target": _target_json(p.plan.target), "variant": p.variant.name, "summary": p.variant.summary,
            "operations": [_op_json(s.op) for s in p.steps],
            "dry_run": p.dry_run_verdict, "outcome": applied.outcome,
        }
        if applied.error:
            record["error"] = applied.error
        if p.undo_of:
            record["of"] = p.undo_of
        else:
            record["undo_available"] = bool(applied.undo) and not secret_undo
            if secret_undo:
                record["undo_note"] = ("the old Secret values are never recorded: only the arc-top session that "
                                       "applied it can undo it")
            elif not applied.undo:
                record["undo_note"] = "it deleted objects, which cannot be restored"
            else:
                record["undo"] = [{"target": _target_json(r.target), "patch": list(r.patch)} if r.patch else
                                  {"target": _target_json(r.target), "delete_uid": r.delete_uid}
                                  for r in applied.undo]
        try:
            self.audit.append(record)
        except OSError as exc:
            applied.error = (applied.error + "; " if applied.error else "") + f"not audited: {exc.strerror or exc}"

    def record_verification(self, applied: Applied, result: dict) -> None:
        try:
            self.audit.append({"id": applied.id, "event": "verify", "verification": result})
        except OSError:
            pass


def _by_path(objects: list[dict]) -> dict[str, dict]:
    """The objects a plan was made from, by the API path its writes name them with."""
    out = {}
    for obj in objects:
        meta = obj.get("metadata") or {}
        kind, version = str(obj.get("kind", "")), str(obj.get("apiVersion", ""))
        plural = remedy_kit.PLURALS.get(kind)
        if plural and meta.get("name"):
            out[Target(version, kind, plural, str(meta.get("namespace") or ""), str(meta["name"])).path()] = obj
    return out


def _local_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (containers): the uid says enough
        import os
        return str(os.getuid())


def _target_json(t: Target) -> dict:
    return {"api_version": t.api_version, "kind": t.kind, "plural": t.plural, "namespace": t.namespace,
            "name": t.name}


def _op_json(op: Operation) -> dict:
    out: dict = {"verb": op.verb, "target": _target_json(op.target)}
    if op.verb == PATCH:
        out["patch"] = mask_ops(op)
    elif op.verb == DELETE:
        out["preconditions"] = {"uid": op.uid, "resourceVersion": op.resource_version}
    elif op.verb == CREATE:
        out["object"] = masked_object(op.body, op.secret)
    if op.note:
        out["note"] = op.note
    if op.step:
        out["step"] = op.step
    return out


def _finding_json(f: Finding) -> dict:
    s = f.subject
    return {"code": f.code, "title": f.title, "scale_set": f.scale_set,
            "subject": {"kind": s.kind, "namespace": s.namespace, "name": s.name, "uid": s.uid}}


def _record_finding(record: dict) -> Finding:
    from arc_top.checks.finding import Subject

    f = record.get("finding") or {}
    s = f.get("subject") or {}
    return Finding(str(f.get("code", record.get("code", ""))), "info", str(f.get("title", "")),
                   Subject(str(s.get("kind", "")), str(s.get("namespace", "")), str(s.get("name", "")),
                           str(s.get("uid", ""))), scale_set=str(f.get("scale_set", "")))


def op_json(op: Operation) -> dict:
    """An operation as `-o json` and the audit show it (secret values masked)."""
    return _op_json(op)

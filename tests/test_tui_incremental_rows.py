"""The Scale sets and Volumes rows and the header's runner counts are kept between flushes and follow the change
sets: after any sequence of changes they must equal what a from-scratch build shows, and what did not change must
be the very same row object (the table skips those)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace

from arc_top.checks.finding import Finding, Subject
from arc_top.kube.model import EVENTS, LISTENERS, PODS, RUNNERS, SCALE_SETS, VOLUMES, JobFigures, Snapshot
from arc_top.kube.state import ClusterState
from arc_top.tui.findings import FindingsView
from arc_top.tui.rows import (
    SCALE_SET_COLUMNS,
    VOLUME_COLUMNS,
    RowCache,
    RowContext,
    Scope,
    scale_set_rows,
    volume_rows,
)
from arc_top.tui.rows.context import LISTENER_YOUNG
from arc_top.tui.rows.index import SnapshotIndex
from arc_top.tui.status import Counts, counts, header_text
from arc_top.tui.trends import TrendSampler
from arc_top.widgets.resource_table import ResourceTable
from arc_top.widgets.text import DEFAULT_PALETTE, Palette
from tests import tui_fixtures as fx

PALETTES = (DEFAULT_PALETTE, Palette(error="#ff0000", warning="#ffff00", success="#00ff00"))
SCALE_SET_AGE = next(i for i, column in enumerate(SCALE_SET_COLUMNS) if column.age)


def _cells(row, skip: int | None = None) -> list:
    """What a row shows: each cell's text, style and spans."""
    return [(c.plain, str(c.style), [(s.start, s.end, str(s.style)) for s in c.spans])
            for i, c in enumerate(row.cells) if i != skip]


def _shown(rows, skip: int | None = None) -> list:
    return [(r.key, r.parent, r.created, _cells(r, skip)) for r in rows]


def _state(objects: list) -> ClusterState:
    state = ClusterState()
    kinds: dict[str, dict] = {kind: {} for kind in (SCALE_SETS, LISTENERS, RUNNERS, PODS, VOLUMES, EVENTS)}
    for obj in objects:
        kinds[fx.KIND_OF[type(obj)]][obj.uid] = obj
    for kind, objs in kinds.items():
        state.replace(kind, objs)
    state.drain()
    return state


def _runners(rng: random.Random, count: int, start: int = 0) -> list:
    out: list = []
    for i in range(start, start + count):
        out += fx.kube_runner("ns", f"set-{i % 3}", f"set-{i % 3}-runner-{i:03}", age=rng.uniform(10, 5000),
                              status=rng.choice(["Running", "Pending"]), pvc=rng.choice(["Bound", "Pending"]))
    return out


# ------------------------------------------------------------------------------------------ volumes
def _claim_findings(rng: random.Random, snap: Snapshot, step: int) -> list[Finding]:
    claims = list(snap.of(VOLUMES).values())
    return [Finding(rng.choice(["ARC203", "ARC502"]), rng.choice(["error", "warning"]),
                    rng.choice(["stuck", f"t{step}"]), Subject("PersistentVolumeClaim", v.namespace, v.name, v.uid))
            for v in rng.sample(claims, min(len(claims), rng.randint(0, 5)))]


def test_incremental_volume_rows_equal_a_full_build_after_random_changes():
    """Claims added, removed, changing phase, warnings about them coming and going, findings, a relist, a new
    palette, a scope set and cleared: the kept rows always equal a from-scratch build."""
    rng = random.Random(7)
    state = _state(_runners(rng, 30))
    index, cache = SnapshotIndex(), RowCache()
    index.update(state.snapshot(), None)
    view, palette = FindingsView(), DEFAULT_PALETTE
    warnings: list[str] = []
    seen = {"warning": 0, "problem": 0, "scoped": 0, "kept": 0, "rebuilt": 0, "delta": 0}
    previous: dict[str, object] = {}
    by_delta, by_walk = ResourceTable(VOLUME_COLUMNS), ResourceTable(VOLUME_COLUMNS)
    for step in range(90):
        snap = state.snapshot()
        for v in rng.sample(list(snap.of(VOLUMES).values()), rng.randint(0, 4)):
            if rng.random() < 0.25:
                state.apply(VOLUMES, "DELETED", v.uid)
            else:
                phase = rng.choice(["Bound", "Pending", "Lost"])
                state.apply(VOLUMES, "MODIFIED", replace(v, phase=phase,
                                                         volume_name=f"pv-{v.name}" if phase == "Bound" else ""))
        if rng.random() < 0.5:       # a warning about a claim (or one just gone)
            name = rng.choice([v.name for v in snap.of(VOLUMES).values()])
            uid = f"warning-{step}"
            state.apply(EVENTS, "ADDED", fx.event("ns", "PersistentVolumeClaim", name, "ProvisioningFailed",
                                                   f"no capacity {step}", type_="Warning", ago=rng.uniform(0, 50),
                                                   uid=uid))
            warnings.append(uid)
        if warnings and rng.random() < 0.3:
            state.apply(EVENTS, "DELETED", warnings.pop(rng.randrange(len(warnings))))
        if rng.random() < 0.3:
            for obj in _runners(rng, 2, start=100 + 2 * step):
                state.apply(fx.KIND_OF[type(obj)], "ADDED", obj)
        if step % 23 == 11:          # a relist of the same claims: the index starts over, the rows are kept
            state.replace(VOLUMES, dict(state.snapshot().of(VOLUMES)))
        changes = state.drain()
        snap = state.snapshot()
        findings_first = rng.random() < 0.5
        if rng.random() < 0.4:
            view = FindingsView(_claim_findings(rng, snap, step))
            if findings_first:
                index.set_findings(view)
        index.update(snap, changes)
        if not findings_first:
            index.set_findings(view)
        if step % 13 == 6:
            palette = PALETTES[(step // 13) % 2]
        scope = Scope("x", "ns", "set-1") if step % 5 == 2 else None

        incremental = volume_rows(RowContext(snap, fx.NOW, palette, scope=scope, cache=cache, index=index))
        full = volume_rows(RowContext(snap, fx.NOW, palette, scope=scope, findings=view))
        assert _shown(incremental) == _shown(full), f"step {step}"
        # A table synced with the kept rows' deltas (only the changed rows measured) shows what one synced with
        # plain lists (every row measured) does.
        if getattr(incremental, "delta", None) is not None:
            seen["delta"] += 1
            base = {r.key: r for r in incremental.delta.base}
            assert all(base.get(r.key) is r for r in incremental if r.key not in incremental.delta.keys)
            assert base.keys() - {r.key for r in incremental} <= incremental.delta.keys
        by_delta.sync(incremental)
        by_walk.sync(list(full))
        assert by_delta.visible_keys() == by_walk.visible_keys()
        assert by_delta.ordered_columns == by_walk.ordered_columns, f"step {step}"
        assert by_delta.root_count == by_walk.root_count == len(full)
        seen["warning"] += any(r.cells[11].plain.startswith("ProvisioningFailed") for r in full)
        seen["problem"] += any(r.cells[10].plain for r in full)
        seen["scoped"] += scope is not None and 0 < len(full) < len(snap.of(VOLUMES))
        for row in incremental:
            if row.key in previous:
                seen["kept" if previous[row.key] is row else "rebuilt"] += 1
        previous = {row.key: row for row in incremental}
    assert min(seen.values()) > 5, seen          # every kind of change did reach the rows
    assert seen["kept"] > 3 * seen["rebuilt"], seen          # (a new palette rebuilds every row)


def test_a_claim_change_rebuilds_that_claim_only():
    rng = random.Random(3)
    state = _state(_runners(rng, 12))
    index, cache = SnapshotIndex(), RowCache()
    index.update(state.snapshot(), None)

    def rows() -> dict:
        return {r.key: r for r in volume_rows(RowContext(state.snapshot(), fx.NOW, cache=cache, index=index))}

    before = rows()
    claims = sorted(state.snapshot().of(VOLUMES).values(), key=lambda v: v.name)
    pending = replace(claims[4], phase="Pending", volume_name="")
    state.apply(VOLUMES, "MODIFIED", pending)
    state.apply(RUNNERS, "MODIFIED", replace(next(iter(state.snapshot().of(RUNNERS).values())), phase="Failed"))
    index.update(state.snapshot(), state.drain())
    after = rows()
    assert [key for key in before if after[key] is not before[key]] == [pending.uid]
    assert after[pending.uid].cells[3].plain.endswith("Pending")

    # A warning about it: its row again (its message column), nothing else.
    state.apply(EVENTS, "ADDED", fx.event("ns", "PersistentVolumeClaim", pending.name, "ProvisioningFailed",
                                           "[red]no[/] capacity", type_="Warning", uid="w1"))
    index.update(state.snapshot(), state.drain())
    warned = rows()
    assert [key for key in after if warned[key] is not after[key]] == [pending.uid]
    assert warned[pending.uid].cells[11].plain == "ProvisioningFailed: [red]no[/] capacity"

    # A finding about another claim: that one's row only.
    other = claims[7]
    view = FindingsView([Finding("ARC502", "error", "stuck", Subject("PersistentVolumeClaim", "ns", other.name,
                                                                    other.uid))])
    index.set_findings(view)
    found = rows()
    assert [key for key in warned if found[key] is not warned[key]] == [other.uid]
    assert "stuck" in found[other.uid].cells[10].plain

    # Gone: its row is gone, the order of the others unchanged.
    state.apply(VOLUMES, "DELETED", other.uid)
    index.update(state.snapshot(), state.drain())
    gone = volume_rows(RowContext(state.snapshot(), fx.NOW, cache=cache, index=index))
    assert [r.key for r in gone] == [v.uid for v in claims if v.uid != other.uid]
    assert all(r is found[r.key] for r in gone)


# ------------------------------------------------------------------------------------------ scale sets
def _listener_objects(sets: list) -> list:
    out = []
    for i, ss in enumerate(sets[:3]):
        listener, pod = fx.listener_for(ss, f"l{i}", age=30 + 100 * i, uid=f"lp-{i}-0")
        out += [listener, pod]
    return out


def test_incremental_scale_set_rows_equal_a_full_build_after_random_changes():
    """Scale sets' counts, trend samples, job figures, findings, listener pods recreated, the clock (a young
    listener's state), the palette: the kept rows (with the screen's SnapshotIndex, whose listener pods stand in for
    a walk of every pod) always equal a from-scratch build (but for the age cell, which the table keeps moving
    itself)."""
    rng = random.Random(5)
    sets = [fx.scale_set("ns", f"set-{i}", hi=[5, 1000, None, 3, 40][i]) for i in range(5)]
    state = _state([*sets, *_listener_objects(sets)])
    sampler, cache, index = TrendSampler(), RowCache(), SnapshotIndex()
    sampler.watch_pods(state.snapshot())
    index.update(state.snapshot(), None)
    view, palette, now = FindingsView(), DEFAULT_PALETTE, fx.NOW
    listeners: set[str] = set()
    seen = {"kept": 0, "rebuilt": 0, "jobs": 0, "problem": 0}
    previous: dict[str, object] = {}
    for step in range(80):
        snap = state.snapshot()
        for ss in rng.sample(list(snap.of(SCALE_SETS).values()), rng.randint(0, 2)):
            running, pending = rng.randint(0, 6), rng.randint(0, 3)
            state.apply(SCALE_SETS, "MODIFIED", replace(ss, running=running, pending=pending, current=running + pending,
                                                        failed=rng.choice([0, 0, 1]),
                                                        phase=rng.choice(["Running", "Running", "Pending", ""])))
        if rng.random() < 0.2:       # a listener pod recreated (a new uid under the same name), or failing
            old = rng.choice([p for p in snap.of(PODS).values() if p.role == "listener"])
            new = replace(old, uid=f"{old.uid}-{step}", status=rng.choice(["Running", "Error", "Completed"]),
                          created=now - rng.choice([5, 500]))
            state.apply(PODS, "DELETED", old.uid)
            state.apply(PODS, "ADDED", new)
            if rng.random() < 0.5:
                state.apply(EVENTS, "ADDED", fx.event(fx.CONTROLLER_NS, "Pod", new.name, "Started", "s",
                                                       uid=f"e-{step}", object_uid=f"other-{step}"))
        changes = state.drain()
        snap = state.snapshot()
        sampler.watch_pods(snap, changes.changed.get(PODS, {}).values())
        index.update(snap, changes)
        if rng.random() < 0.4:
            sampler.sample(snap)
        if rng.random() < 0.2:
            sampler.set_jobs({(ss.namespace, ss.name): JobFigures(ss.namespace, ss.name, "metrics",
                                                                  assigned=rng.randint(0, 4), running=rng.randint(0, 2),
                                                                  busy=rng.randint(0, 2), idle=1, read_at=step)
                              for ss in rng.sample(sets, 2)})
        if rng.random() < 0.3:
            view = FindingsView([Finding(rng.choice(["ARC408", "ARC203"]), rng.choice(["error", "warning", "info"]),
                                         f"title {rng.randint(0, 2)}", Subject("AutoscalingRunnerSet", ss.namespace,
                                                                               ss.name, ss.uid),
                                         scale_set=f"{ss.namespace}/{ss.name}")
                                 for ss in rng.sample(sets, rng.randint(0, 3))])
        now += rng.choice([0, 0, 1, 30, 90])
        if step % 17 == 8:
            palette = PALETTES[(step // 17) % 2]
        index.set_findings(view)
        incremental, full = (scale_set_rows(RowContext(snap, now, palette, trends=sampler.trends(),
                                                       listener_pod_uids=sampler.listener_pod_counts(), cache=c,
                                                       index=i, findings=None if i else view))
                             for c, i in ((cache, index), (RowCache(), None)))
        assert _shown(incremental, SCALE_SET_AGE) == _shown(full, SCALE_SET_AGE), f"step {step}"
        listeners.update(r.cells[10].plain for r in full)
        seen["jobs"] += any(r.cells[11].plain != "—" for r in full)
        seen["problem"] += any(r.cells[14].plain for r in full)
        for row in incremental:
            if row.key in previous:
                seen["kept" if previous[row.key] is row else "rebuilt"] += 1
        previous = {row.key: row for row in incremental}
    assert min(seen.values()) > 5, seen
    assert len(listeners) >= 4, listeners          # the listener states did move


def test_an_unchanged_scale_set_keeps_its_row_object():
    sets = [fx.scale_set("ns", f"set-{i}") for i in range(3)]
    state = _state(sets)
    cache = RowCache()
    trends = TrendSampler()
    trends.seed(sets[0].uid, [1, 2, 3], [0, 1, 0])

    def rows() -> list:
        return scale_set_rows(RowContext(state.snapshot(), fx.NOW, trends=trends.trends(), cache=cache))

    before = rows()
    assert rows() == before and all(a is b for a, b in zip(rows(), before, strict=True))
    state.apply(SCALE_SETS, "MODIFIED", replace(sets[1], running=3, current=3))
    state.drain()
    after = rows()
    assert [a is b for a, b in zip(after, before, strict=True)] == [True, False, True]
    assert after[1].cells[7].plain == "3"
    # A new trend sample of set-0 only: its row again (with the new sample), the others kept.
    trends.running[sets[0].uid].append(9)
    trends.pending[sets[0].uid].append(0)
    sampled = rows()
    assert [a is b for a, b in zip(sampled, after, strict=True)] == [False, True, True]
    assert sampled[0].cells[16].plain != after[0].cells[16].plain
    # …whose other cells are kept as they were (a trend sample builds the trend cells alone).
    assert [a is b for a, b in zip(sampled[0].cells, after[0].cells, strict=True)] == \
        [i not in (15, 16, 17, 18) for i in range(len(after[0].cells))]
    # Jobs waiting, sampled for set-2 while its running and pending trends stay flat: its WAITING trend moves.
    trends.seed(sets[2].uid, [2] * 48, [0] * 48)
    trends.seed_waiting(sets[2].uid, [0] * 48)
    flat = rows()
    trends.waiting[sets[2].uid].append(3)
    waited = rows()
    assert [a is b for a, b in zip(waited, flat, strict=True)] == [True, True, False]
    assert waited[2].cells[18].plain.strip() and not flat[2].cells[18].plain.strip()
    # Job figures read again (a new read time) showing the same: no row again; new figures for set-1: its row.
    trends.set_jobs({("ns", "set-1"): JobFigures("ns", "set-1", "metrics", assigned=3, running=1, read_at=1.0)})
    read = rows()
    trends.set_jobs({("ns", "set-1"): JobFigures("ns", "set-1", "metrics", assigned=3, running=1, read_at=2.0)})
    assert all(a is b for a, b in zip(rows(), read, strict=True))
    trends.set_jobs({("ns", "set-1"): JobFigures("ns", "set-1", "metrics", assigned=4, running=1, read_at=3.0)})
    moved = rows()
    assert [a is b for a, b in zip(moved, read, strict=True)] == [True, False, True]
    assert (read[1].cells[11].plain, moved[1].cells[11].plain) == ("2/1", "3/1")


def test_a_young_listener_row_changes_with_the_clock_alone():
    """A listener recreated twice and young reads as a warning; the same pod older reads as healthy: the row
    is built again though nothing but the clock moved."""
    ss = fx.scale_set("x", "flappy")
    listener, pod = fx.listener_for(ss, "def", age=10, uid="u3")
    events = [fx.event(fx.CONTROLLER_NS, "Pod", pod.name, "Started", "s", object_uid=f"u{i}", uid=f"e{i}")
              for i in (1, 2, 3)]
    snap = _state([ss, listener, pod, *events]).snapshot()
    cache = RowCache()
    young = scale_set_rows(RowContext(snap, fx.NOW, cache=cache))
    assert scale_set_rows(RowContext(snap, fx.NOW + 1, cache=cache))[0] is young[0]
    old = scale_set_rows(RowContext(snap, fx.NOW + LISTENER_YOUNG, cache=cache))
    assert old[0] is not young[0]
    assert young[0].cells[10].plain.startswith("⚠") and old[0].cells[10].plain.startswith("✔")


# ------------------------------------------------------------------------------------------ header counts
class _NoWalk(dict):
    """A runners map that refuses to be walked once `locked`."""
    locked = False

    def _check(self) -> None:
        assert not self.locked, "the runners were walked"

    def values(self):
        self._check()
        return super().values()

    def items(self):
        self._check()
        return super().items()

    def __iter__(self) -> Iterator:
        self._check()
        return super().__iter__()


def _expected(snap: Snapshot, scope: Scope | None = None) -> Counts:
    runners = [r for r in snap.of(RUNNERS).values() if scope is None or (r.namespace, r.scale_set) ==
               (scope.namespace, scope.name)]
    sets = [s for s in snap.of(SCALE_SETS).values() if scope is None or s.uid == scope.uid]
    return Counts(len(sets), len(runners), sum(1 for r in runners if (r.phase or "Pending") == "Pending"
                                               and not r.deleting), sum(1 for r in runners if r.phase == "Failed"))


def test_header_counts_follow_the_change_sets():
    rng = random.Random(9)
    sets = [fx.scale_set("ns", f"set-{i}") for i in range(3)]
    state = _state([*sets, *(o for o in _runners(rng, 20) if fx.KIND_OF[type(o)] == RUNNERS)])
    index = SnapshotIndex()
    index.update(state.snapshot(), None)
    scope = Scope(sets[1].uid, "ns", "set-1")
    for step in range(60):
        snap = state.snapshot()
        for r in rng.sample(list(snap.of(RUNNERS).values()), rng.randint(0, 4)):
            if rng.random() < 0.2:
                state.apply(RUNNERS, "DELETED", r.uid)
            else:
                state.apply(RUNNERS, "MODIFIED", replace(r, phase=rng.choice(["Running", "Pending", "Failed", ""]),
                                                         deleting=rng.random() < 0.2))
        if rng.random() < 0.3:
            for obj in _runners(rng, 2, start=100 + 2 * step):
                if fx.KIND_OF[type(obj)] == RUNNERS:
                    state.apply(RUNNERS, "ADDED", obj)
        if step % 19 == 10:
            state.replace(RUNNERS, dict(state.snapshot().of(RUNNERS)))
        changes = state.drain()
        snap = state.snapshot()
        index.update(snap, changes)
        assert counts(snap, None, index) == _expected(snap), f"step {step}"
        assert counts(snap, scope, index) == _expected(snap, scope), f"step {step}"
    assert _expected(snap).pending and _expected(snap).failed

    # Unscoped, the index's counts: not a walk of every runner.
    runners = _NoWalk(snap.of(RUNNERS))
    walled = Snapshot({**snap.objects, RUNNERS: runners}, snap.kinds, snap.version + 1)
    index.update(walled, None)
    runners.locked = True
    assert counts(walled, None, index) == _expected(snap)
    kinds = fx.live_kinds()
    with_index = header_text(context="c", server="s", namespaces=None, arc_version="0.14.2", kinds=kinds,
                             snapshot=walled, mono_now=fx.MONO, index=index)
    runners.locked = False
    assert with_index.plain == header_text(context="c", server="s", namespaces=None, arc_version="0.14.2",
                                           kinds=kinds, snapshot=walled, mono_now=fx.MONO).plain
    assert f"{_expected(snap).runners} runners" in with_index.plain

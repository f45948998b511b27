"""What keeps flushes cheap: partial repaints, batched row changes, column widths kept by counting, ages
painted live instead of rebuilt, Runners rows rebuilt only for what a change set touched."""

from __future__ import annotations

import random

import pytest
from rich.text import Text
from textual.app import App

from arc_top.tui.rows import RUNNER_COLUMNS
from arc_top.widgets.resource_table import ColumnSpec, ResourceTable, TableRow

COLUMNS = [ColumnSpec("name", "NAME"), ColumnSpec("value", "VALUE")]


def rows(values: list[str], prefix: str = "k") -> list[TableRow]:
    return [TableRow(f"{prefix}{i:03}", [Text(f"row{i}"), Text(v)]) for i, v in enumerate(values)]


class TableApp(App):
    def compose(self):
        yield ResourceTable(COLUMNS, id="t")


def screen_text(app: App) -> str:
    return app.export_screenshot()


@pytest.mark.asyncio
async def test_updates_repaint_changed_rows_on_and_off_screen():
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ResourceTable)
        values = [f"v{i}" for i in range(50)]
        table.sync(rows(values))
        await pilot.pause()
        for step in range(3):
            values[3], values[40] = f"CHANGED{step}", f"FAR{step}"
            table.sync(rows(values))
            await pilot.pause()
            shown = screen_text(app)
            assert f"CHANGED{step}" in shown and f"CHANGED{step - 1}" not in shown
        await pilot.press("end")
        await pilot.pause()
        assert "FAR2" in screen_text(app)
        await pilot.press("home")
        values[3] = "A_MUCH_LONGER_VALUE_THAN_BEFORE"
        table.sync(rows(values))
        await pilot.pause()
        assert "A_MUCH_LONGER_VALUE_THAN_BEFORE" in screen_text(app)     # the column grew


@pytest.mark.asyncio
async def test_batched_adds_and_removes_keep_order_cursor_and_widths():
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ResourceTable)
        wanted = rows([f"v{i}" for i in range(40)])
        table.sync(wanted)
        await pilot.pause()
        table.select_key("k020")
        rng = random.Random(7)
        for step in range(10):
            wanted = [r for r in wanted if r.key == "k020" or rng.random() > 0.1]
            extra = rows([("x" * rng.randint(1, 30)) for _ in range(3)], prefix=f"n{step}-")
            for new in extra:
                wanted.insert(rng.randint(0, len(wanted)), new)
            table.sync(wanted)
            await pilot.pause()
            assert table.visible_keys() == [r.key for r in wanted]
            assert table.cursor_key == "k020"
            widest = max(len(r.cells[1].plain) for r in wanted)
            assert table.ordered_columns[1].content_width == max(widest, len("VALUE"))
            assert table.virtual_size.height == len(wanted) + 1


AGE_COLUMNS = [ColumnSpec("name", "NAME"), ColumnSpec("age", "AGE", age=True)]


class AgeApp(App):
    def compose(self):
        yield ResourceTable(AGE_COLUMNS, id="t")


@pytest.mark.asyncio
async def test_ages_move_on_by_repainting_not_by_rebuilding_rows():
    app = AgeApp()
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.query_one(ResourceTable)
        wanted = [TableRow(f"k{i}", [Text(f"row{i}"), Text("built")], created=1000.0 - 60 * i) for i in range(3)]
        table.set_now(1030.0)
        table.sync(wanted)
        await pilot.pause()
        shown = screen_text(app)
        assert "30s" in shown and "90s" in shown and "built" not in shown
        before = dict(table._rows)
        table.set_now(1000.0 + 7200)
        await pilot.pause()
        shown = screen_text(app)
        assert "2h" in shown and "30s" not in shown
        assert table._rows == before                      # the rows were not touched, only painted again
        count = table.renders
        table.set_now(1000.0 + 7230)                      # every age still reads "2h": nothing to repaint
        await pilot.pause()
        assert table.renders == count
        table.set_now(1000.0 + 3 * 3600)
        await pilot.pause()
        assert table.renders == count + 3 and "3h" in screen_text(app)


def _random_objects(rng: random.Random, count: int, start: int = 0) -> dict[str, list]:
    from tests import tui_fixtures as fx
    out: dict[str, list] = {"runners": [], "pods": [], "volumes": [], "events": []}
    for i in range(start, start + count):
        name = f"set-{i % 3}-runner-{i:03}"
        for obj in fx.kube_runner("ns", f"set-{i % 3}", name, age=rng.uniform(10, 5000),
                                  status=rng.choice(["Running", "Pending", "Completed"]),
                                  workflow=rng.choice([None, "Running", "Pending"]),
                                  pvc=rng.choice(["Bound", "Pending"])):
            out[{"Runner": "runners", "Pod": "pods", "Volume": "volumes"}[type(obj).__name__]].append(obj)
        if rng.random() < 0.3:
            out["events"].append(fx.event("ns", rng.choice(["Pod", "PersistentVolumeClaim"]),
                                          rng.choice([name, f"{name}-work", f"{name[:54]}-workflow"]),
                                          "FailedScheduling", f"warning {i}", type_="Warning", ago=rng.uniform(1, 100)))
    return out


def _random_findings(rng: random.Random, snap, step: int) -> list:
    """Findings about random runners, runner and workflow pods, work volumes (and a few objects already gone)."""
    from arc_top.checks.finding import Finding, Subject

    kinds = {"runners": "EphemeralRunner", "pods": "Pod", "volumes": "PersistentVolumeClaim"}
    out = []
    for kind, subject_kind in kinds.items():
        items = list(snap.of(kind).values())
        for obj in rng.sample(items, min(len(items), rng.randint(0, 6))):
            for n in range(rng.choice([1, 1, 2])):
                out.append(Finding(rng.choice(["ARC203", "ARC405", "ARC407", "ARC502"]),
                                   rng.choice(["error", "warning", "info"]), rng.choice(["stuck", f"title {step}"]),
                                   Subject(subject_kind, obj.namespace, obj.name, obj.uid), scale_set=f"ns/x{n}"))
    if rng.random() < 0.3:
        out.append(Finding("ARC405", "error", "gone", Subject("Pod", "ns", "gone", f"gone-{step}")))
    return out


def test_incremental_runner_rows_equal_a_full_build_after_random_changes():
    """The Runners panel rebuilds only what a change set (or new check results) touched: after every random batch
    of adds, changes, deletes and findings its rows must equal those built from scratch from the same snapshot."""
    from dataclasses import replace

    from arc_top.kube.state import ClusterState
    from arc_top.tui.findings import FindingsView
    from arc_top.tui.rows import RowCache, RowContext, Scope, runner_rows
    from arc_top.tui.rows.index import SnapshotIndex
    from tests import tui_fixtures as fx

    rng = random.Random(11)
    state = ClusterState()
    for kind, objs in _random_objects(rng, 40).items():
        state.replace(kind, {o.uid: o for o in objs})
    state.drain()
    index, cache = SnapshotIndex(), RowCache()
    index.update(state.snapshot(), None)
    view = FindingsView()
    shown_problems = deltas = filtered = relists = 0
    # Two tables: one synced with the incremental lists (their deltas: only the changed rows measured), one with
    # plain lists (every row measured). They must show the same rows in the same columns and widths.
    by_delta, by_walk = ResourceTable(RUNNER_COLUMNS), ResourceTable(RUNNER_COLUMNS)
    previous = None
    for step in range(60):
        snap = older = state.snapshot()
        for kind in ("runners", "pods", "volumes", "events"):
            items = list(snap.of(kind).values())
            for obj in rng.sample(items, min(len(items), rng.randint(0, 4))):
                if rng.random() < 0.3:
                    state.apply(kind, "DELETED", obj.uid)
                elif kind == "pods":
                    state.apply(kind, "MODIFIED", replace(obj, status=rng.choice(["Running", "Error", "Completed"]),
                                                          runner_pod=obj.runner_pod and rng.choice(
                                                              [obj.runner_pod, "set-1-runner-001"])))
                elif kind == "events":
                    state.apply(kind, "MODIFIED", replace(obj, message=f"changed {step}", last_seen=obj.last_seen + 1))
                elif kind == "runners":
                    state.apply(kind, "MODIFIED", replace(obj, phase=rng.choice(["Running", "Failed", "Pending"])))
                else:
                    state.apply(kind, "MODIFIED", replace(obj, phase=rng.choice(["Bound", "Pending", "Lost"])))
        if rng.random() < 0.5:      # a new warning about an existing pod, workflow pod or claim
            target = rng.choice(list(snap.of("pods").values()) + list(snap.of("volumes").values()))
            kind = "Pod" if hasattr(target, "role") else "PersistentVolumeClaim"
            state.apply("events", "ADDED", fx.event("ns", kind, target.name, "BackOff", f"new warning {step}",
                                                     type_="Warning", ago=0.5, uid=f"new-{step}"))
        if rng.random() < 0.3:
            for kind, objs in _random_objects(rng, 3, start=100 + 3 * step).items():
                for obj in objs:
                    state.apply(kind, "ADDED", obj)
        if rng.random() < 0.2:          # a relist: one object gone, one changed, the rest the very same objects
            kind = rng.choice(["runners", "pods", "volumes", "events"])
            listed = dict(state.snapshot().of(kind))
            if len(listed) > 2:
                gone, changed_uid = rng.sample(sorted(listed), 2)
                del listed[gone]
                obj = listed[changed_uid]
                listed[changed_uid] = replace(obj, created=obj.created - 1) if kind != "events" else \
                    replace(obj, message=f"relisted {step}")
                state.replace(kind, listed)
                relists += 1
        changes = state.drain()
        snap = state.snapshot()
        scope = Scope("x", "ns", "set-1") if step % 7 == 3 else None
        findings_first = rng.random() < 0.5
        if rng.random() < 0.6:          # new check results: of this snapshot, or of the one before (they lag)
            view = FindingsView(_random_findings(rng, rng.choice([older, snap]), step))
            if findings_first:
                index.set_findings(view)
        index.update(snap, changes)
        if not findings_first:
            index.set_findings(view)
        incremental = runner_rows(RowContext(snap, 5000.0, scope=scope, cache=cache, index=index))
        full = runner_rows(RowContext(snap, 5000.0, scope=scope, findings=view))
        shown_problems += any(c.plain for r in full for c in (r.cells[3], r.cells[10]))
        assert [(r.key, [c.plain for c in r.cells], r.parent, r.created) for r in incremental] == \
            [(r.key, [c.plain for c in r.cells], r.parent, r.created) for r in full], f"step {step}"
        assert incremental.grouped_total == sum(1 for r in full if r.parent and r.parent.startswith("rg-"))
        delta = incremental.delta
        if delta is not None:           # every row it does not name is the very row of the list before
            deltas += 1
            assert delta.base is previous and scope is None
            before = {r.key: r for r in previous}
            assert all(before.get(r.key) is r for r in incremental if r.key not in delta.keys), f"step {step}"
            assert before.keys() - {r.key for r in incremental} <= delta.keys
            # …and the rows it carries are the list's rows at its keys (none for a key gone): the table takes them
            # into its key map without looking the whole list up.
            now_at = {r.key: r for r in incremental}
            assert delta.rows is not None
            carried = {k: r for k, r in delta.rows.items() if k in delta.keys}
            listed = {k: now_at[k] for k in delta.keys if k in now_at}
            assert carried.keys() == listed.keys(), (step, carried.keys() ^ listed.keys())
            assert all(carried[k] is listed[k] for k in listed), f"step {step}"
        previous = incremental if scope is None else None
        # A filter typed on and cleared now and then: the delta-synced table searches from its last match.
        needle = ["", "set-1", "set-1-runner-0", "pending", "work", ""][(step // 4) % 6][:4 + step % 4 * 4]
        by_delta.set_filter(needle)
        by_walk.set_filter(needle)
        by_delta.sync(incremental)
        by_walk.sync(list(full))
        assert by_delta.visible_keys() == by_walk.visible_keys(), f"step {step} /{needle}"
        assert by_delta.total_count == by_walk.total_count == len(full)
        assert all(by_delta._rows[r.key] is r for r in incremental)     # each key holds the list's very row
        if scope is None:
            assert incremental.row_keys == [r.key for r in incremental]    # the builder's keys: the rows' own
        if needle:
            by_delta.set_filter(needle + "0")       # a keystroke more on the same rows
            by_walk.set_filter(needle + "0")
            assert by_delta.visible_keys() == by_walk.visible_keys(), f"step {step} /{needle}0"
            filtered += by_delta.row_count < by_delta.total_count
        assert by_delta.ordered_columns == by_walk.ordered_columns, f"step {step}"
        assert by_delta.root_count == by_walk.root_count == sum(1 for r in full if r.parent is None)
    assert shown_problems > 20          # the findings did reach the rows
    assert deltas > 30                  # most steps were incremental
    assert filtered > 10                # and the filters did hide rows
    assert relists > 5


@pytest.mark.asyncio
async def test_rows_moved_by_churn_keep_clicks_on_the_right_row():
    """Rendered lines are reused when rows move (a row removed above them); a click on a line must still select
    the row shown there."""
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ResourceTable)
        wanted = rows([f"v{i}" for i in range(30)])
        table.sync(wanted)
        await pilot.pause()
        await pilot.click(ResourceTable, offset=(3, 4))       # header + 3 rows above: the 4th row
        assert table.cursor_key == "k003"
        table.sync(wanted[2:])                               # two rows gone above: everything moved up
        await pilot.pause()
        for y in (1, 2, 4, 7):                               # a click on each line selects the row shown there
            await pilot.click(ResourceTable, offset=(3, y))
            shown = "".join(segment.text for segment in table.render_line(y)).split()[0]
            assert table.cursor_key == f"k{y + 1:03}" and shown == f"row{y + 1}", f"line {y}"


@pytest.mark.asyncio
async def test_rows_coming_and_going_off_screen_repaint_nothing():
    """Thousands of churning runners mostly come and go below the fold: those flushes must not paint the
    table again; a row removed on screen must."""
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ResourceTable)
        wanted = rows([f"v{i}" for i in range(200)])
        table.sync(wanted)
        await pilot.pause()
        painted: list[int] = []
        original = table.render_line
        table.render_line = lambda y: (painted.append(y), original(y))[1]
        table.sync(wanted[:150] + rows(["new"] * 5, prefix="n") + wanted[160:])    # all far below the fold
        await pilot.pause()
        await pilot.pause()
        assert not painted
        assert table.virtual_size.height == 195 + 1
        table.sync(wanted[:2] + wanted[3:150])                                      # the third row goes
        await pilot.pause()
        assert len(painted) > 5, "a change on screen was not painted"
        assert "row3" in screen_text(app) and "row2<" not in screen_text(app)

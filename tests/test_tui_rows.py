"""Pure pieces of the UI: sanitising, sparklines, row builders, event folding, header words."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

from rich.console import Console
from rich.text import Text

from arc_top.kube.model import EVENTS, PODS, SECRETS, KindState, Snapshot
from arc_top.tui.panels import PANEL_BY_ID, panel_state
from arc_top.tui.rows import (
    RowContext,
    Scope,
    event_rows,
    fold_events,
    listener_status,
    runner_rows,
    scale_set_rows,
    volume_rows,
)
from arc_top.tui.status import connection_state, counts, header_text
from arc_top.widgets.sparkline import sparkline, trend_text
from arc_top.widgets.text import clean_line, safe_text, status_text, strip_escapes, truncate_middle
from tests.tui_fixtures import (
    CONTROLLER_NS,
    MONO,
    NOW,
    event,
    incident_monitor,
    incident_objects,
    kube_runner,
    listener_for,
    live_kinds,
    pod,
    runner,
    scale_set,
)

HOSTILE = ("[red]x[/] [link=https://evil.example]click[/link] \x1b[31mred\x1b[0m \x1b]0;pwned\x07 "
           "\x1b]8;;http://e\x1b\\l\x1b]8;;\x1b\\ \x9b2J\x07bell\x00nul\rcr\u202egnp")


def test_strip_escapes_removes_csi_osc_and_controls():
    out = strip_escapes(HOSTILE)
    assert "\x1b" not in out and "\x07" not in out and "\x00" not in out and "\x9b" not in out
    assert "\u202e" not in out
    assert "[red]x[/]" in out and "[link=https://evil.example]click[/link]" in out
    assert "red" in out and "pwned" not in out
    assert strip_escapes("a\tb") == "a\tb"
    assert strip_escapes("unterminated \x1b]0;title") == "unterminated "
    assert clean_line("two\nlines\r\nand\ttab") == "two lines and tab"


def test_safe_text_is_literal_never_markup():
    text = safe_text("[bold]not bold[/bold] [/x]")
    assert isinstance(text, Text)
    assert text.plain == "[bold]not bold[/bold] [/x]"
    assert not text.spans


def test_status_text_carries_a_marker():
    assert status_text("Failed", "error", detail="InvalidPod").plain == "✖ Failed InvalidPod"
    assert status_text("Pending", "warn").plain == "⚠ Pending"
    assert status_text("Running", "ok").plain == "✔ Running"


def test_truncate_middle_keeps_both_ends():
    assert truncate_middle(Text("arc-runner-set-h8ff4-runner-668fh"), 15).plain == "arc-run…r-668fh"
    assert truncate_middle(Text("short"), 10).plain == "short"


def test_sparkline_scales_and_pads():
    line = sparkline([0, 1, 2, 4], 6)
    assert len(line) == 6 and line.startswith("  ") and line.endswith("█")
    assert sparkline([1, 1], 2, maximum=8) == "▁▁"
    text = trend_text([1, 1, 1], [0, 2, 0], 3, "green", "yellow")
    assert len(text.plain) == 3
    assert any(span.style == "yellow" for span in text.spans)


def test_sparklines_and_trend_cells_read_each_call_own_samples():
    """The blocks are memoised by the samples shown: a shifting series, a maximum, a width each give their own."""
    from collections import deque

    def blocks(values, width, maximum=None):            # the rule, slot by slot
        tail = list(values)[-width:]
        top = max([maximum or 0, *tail, 0])
        return " " * (width - len(tail)) + "".join(
            " " if v <= 0 or top <= 0 else "▁▂▃▄▅▆▇█"[max(1, min(round(v / top * 8), 8)) - 1] for v in tail)

    series = deque(maxlen=48)
    for i in range(60):
        series.append((i * 7) % 11)
        for width, maximum in ((10, None), (16, None), (16, 20), (3, 4)):
            assert sparkline(series, width, maximum) == blocks(series, width, maximum), (i, width, maximum)
    running, pending = [1, 1, 2, 2, 0, 3], [0, 1, 1, 0, 0, 2]
    text = trend_text(running, pending, 8, "green", "yellow")
    assert text.plain == blocks([r + p for r, p in zip(running, pending, strict=True)], 8)
    styles = [text.get_style_at_offset(Console(), i) for i in range(2, 8)]
    assert [str(s) for s in styles] == ["green", "yellow", "yellow", "green", "green", "yellow"]
    # Series of unequal lengths are paired from the start; only the last `width` pairs are shown.
    running, pending = list(range(30)), [i % 3 for i in range(25)]
    text = trend_text(running, pending, 8, "green", "yellow")
    assert text.plain == blocks([r + p for r, p in zip(running, pending, strict=False)], 8)
    styles = [str(text.get_style_at_offset(Console(), i)) for i in range(8)]
    assert styles == ["yellow" if p > 0 else "green" for p in pending[-8:]]


def _ctx(items, scope=None, kinds=None):
    monitor = incident_monitor() if items is None else None
    snapshot = monitor.snapshot() if monitor else Snapshot(_group(items), kinds or live_kinds(), 1)
    return RowContext(snapshot, NOW, scope=scope)


def _group(items):
    from tests.tui_fixtures import KIND_OF

    out: dict = {}
    for item in items:
        out.setdefault(KIND_OF[type(item)], {})[item.uid] = item
    return out


def test_runner_rows_put_workflow_pod_and_work_volume_under_their_runner():
    ctx = _ctx(incident_objects())
    rows = runner_rows(ctx)
    keys = [row.key for row in rows]
    parent = "er-arc-runners-arc-runner-set-h8ff4-runner-668fh"
    index = keys.index(parent)
    assert rows[index + 1].parent == parent and rows[index + 1].cells[0].plain == "└ workflow pod"
    assert rows[index + 2].parent == parent and rows[index + 2].cells[0].plain == "└ work volume"
    assert "arc-runner-set-h8ff4-runner-668fh-work" in rows[index + 2].search
    failed = next(row for row in rows if row.key == "er-team-b-team-b-dind-x7k2p-runner-4vx8n")
    assert failed.cells[1].plain == "✖ Failed InvalidPod"          # no pod, still listed, with its reason
    assert failed.cells[-1].plain.startswith("Failed to create the pod")
    pending = next(row for row in rows if row.key == "pvc-team-b-team-b-ssd-n5m7p-runner-h2kqz-work")
    assert pending.cells[1].plain == "⚠ Pending"
    assert "fast-ssd" in pending.cells[-1].plain                     # the warning event beside it


def test_scope_narrows_runners_volumes_and_events():
    scope = Scope("ars-team-b-team-b-ssd", "team-b", "team-b-ssd")
    ctx = _ctx(incident_objects(), scope=scope)
    rows = runner_rows(ctx)
    assert [r.key for r in rows if r.parent is None] == ["rg-team-b/team-b-ssd"]      # the scoped set's row only
    assert {r.key for r in rows if r.parent == "rg-team-b/team-b-ssd"} == {
        "er-team-b-team-b-ssd-n5m7p-runner-h2kqz", "er-team-b-team-b-ssd-n5m7p-runner-t8wbn"}
    assert len(volume_rows(ctx)) == 2
    objects = {row.cells[4].plain for row in event_rows(ctx)}
    assert objects and all("team-b-ssd" in o for o in objects)


def test_listener_state_counts_recreated_young_pods():
    ctx = _ctx(incident_objects())
    legacy = next(s for s in ctx.snapshot.of("scalesets").values() if s.name == "legacy-set")
    label, severity, recreations = listener_status(ctx, legacy)
    assert (label, severity, recreations) == ("Error", "error", 5)
    healthy = next(s for s in ctx.snapshot.of("scalesets").values() if s.name == "arc-runner-set")
    assert listener_status(ctx, healthy)[:2] == ("Running", "ok")
    lonely = scale_set("x", "no-listener")
    assert listener_status(_ctx([lonely]), lonely)[:2] == ("no listener", "error")
    listener, _ = listener_for(lonely, "abc")
    assert listener_status(_ctx([lonely, listener]), lonely)[:2] == ("missing", "error")
    # a Running listener pod that is young and was recreated twice is not healthy yet
    ss = scale_set("x", "flappy")
    lst, lpod = listener_for(ss, "def", age=10, uid="u3")
    evs = [event(CONTROLLER_NS, "Pod", lpod.name, "Started", "s", object_uid=f"u{i}", uid=f"e{i}") for i in (1, 2, 3)]
    assert listener_status(_ctx([ss, lst, lpod, *evs]), ss)[1] == "warn"


def test_scale_set_rows_show_mode_counts_and_listener():
    rows = {row.key: row for row in scale_set_rows(_ctx(incident_objects()))}
    dind = rows["ars-team-b-team-b-dind"].cells
    plain = [cell.plain for cell in dind]
    assert "team-b/team-b-dind" in plain and "dind" in plain and "3/6" in plain and "0/0/3" in plain
    assert "✖ Error ↻5" in [c.plain for c in rows["ars-arc-runners-legacy-set"].cells]


def test_events_fold_repeats_newest_first():
    items = [event("ns", "Pod", "p", "BackOff", "boom", "Warning", count=2, ago=50, uid="a"),
             event("ns", "Pod", "p", "BackOff", "boom", "Warning", count=3, ago=10, uid="b"),
             event("ns", "Pod", "p", "BackOff", "other", "Warning", count=1, ago=30, uid="c"),
             event("ns", "Pod", "q", "Started", "fine", ago=5, uid="d")]
    folded = fold_events(items)
    assert [(f.object_name, f.message, f.count) for f in folded] == [("q", "fine", 1), ("p", "boom", 5),
                                                                       ("p", "other", 1)]
    rows = event_rows(_ctx(items))
    warning = rows[1].cells
    assert warning[3].plain == "×5"
    assert warning[2].plain == "⚠ Warning" and warning[1].plain == "⚠"
    assert rows[0].cells[2].plain == "· Normal"
    assert len({row.key for row in rows}) == 3


def test_hostile_strings_in_rows_stay_literal():
    name = "evil-[red]x[/]-\x1b[31mpod\x1b]0;title\x07"
    items = [scale_set("ns", "set-[bold]b[/]"), *kube_runner("ns", "set-[bold]b[/]", name),
             event("ns", "Pod", name, "[blink]Reason", "msg \x1b[2J[link=http://x]y[/link]", "Warning")]
    ctx = _ctx(items)
    for builder in (scale_set_rows, runner_rows, volume_rows, event_rows):
        for row in builder(ctx):
            for cell in row.cells:
                assert isinstance(cell, Text)
                assert "\x1b" not in cell.plain and "\x07" not in cell.plain
    group, runner = runner_rows(ctx)[:2]
    assert group.cells[0].plain == "set-[bold]b[/]" and runner.cells[0].plain == "evil-[red]x[/]-pod"
    assert event_rows(ctx)[0].cells[-1].plain == "msg [link=http://x]y[/link]"


def test_connection_state_words():
    kinds = live_kinds(last_event=MONO - 3)
    assert connection_state(kinds, MONO) == ("live · last event <10 s ago", "ok")
    kinds["pods"] = replace(kinds["pods"], state="reconnecting", attempt=2)
    assert connection_state(kinds, MONO) == ("reconnecting… attempt 2", "warn")
    kinds = live_kinds()
    kinds[EVENTS] = KindState(EVENTS, "syncing")
    assert connection_state(kinds, MONO)[0] == "syncing…"
    assert connection_state({}, MONO)[0] == "connecting…"


def test_header_names_context_counts_and_no_access():
    snapshot = incident_monitor(forbidden=(SECRETS,)).snapshot()
    text = header_text(context="ctx-[b]x[/]", server="https://k:6443", namespaces=["team-a"], arc_version="0.14.2",
                       kinds=dict(snapshot.kinds), snapshot=snapshot, mono_now=MONO)
    plain = text.plain
    assert "ctx-[b]x[/]" in plain and "live · last event <10 s ago" in plain and "0.14.2" in plain
    assert "6 scale sets" in plain and "12 runners" in plain and "4 pending" in plain and "3 failed" in plain
    assert "no access: secrets" in plain
    assert counts(snapshot, Scope("ars-team-b-team-b-dind", "team-b", "team-b-dind")).failed == 3


def test_panel_states():
    spec = PANEL_BY_ID["events"]
    assert panel_state(spec, live_kinds(), connected=True) is None
    assert panel_state(spec, live_kinds(forbidden=(EVENTS,)), connected=True)[0].startswith("no access: events")
    assert panel_state(spec, {}, connected=True) == ("syncing…", "info")
    assert panel_state(PANEL_BY_ID["runners"], live_kinds(forbidden=(PODS,)), True)[1] == "error"


def test_pods_without_runner_are_listed():
    orphan = pod("ns", "set-abc-runner-zzz", ss="set", status="Running")
    rows = runner_rows(_ctx([scale_set("ns", "set"), orphan]))
    assert rows[0].key == "rg-ns/set" and rows[0].cells[1].plain == "1 runner"
    assert rows[1].key == orphan.uid and "no runner" in rows[1].cells[2].plain and rows[1].parent == "rg-ns/set"
    assert rows[1].cells[0].plain == "abc-runner-zzz" and rows[1].search == "set-abc-runner-zzz"


def test_runner_without_pod_pending():
    r = runner("ns", "set", "set-abc-runner-yyy", phase="Pending")
    rows = runner_rows(_ctx([scale_set("ns", "set"), r]))
    assert rows[1].cells[1].plain == "⚠ Pending no pod yet" and rows[1].cells[0].plain == "abc-runner-yyy"


def test_ui_modules_do_not_import_the_kubernetes_client():
    code = ("import sys; import arc_top.tui.app, arc_top.tui.screens.main, arc_top.tui.palette, arc_top.tui.rows, "
            "arc_top.widgets.resource_table; "
            "bad = [m for m in sys.modules if m == 'kubernetes' or m.startswith('kubernetes.') "
            "or m == 'arc_top.kube.monitor' or m == 'arc_top.kube.config']; print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_plain_text_builds_what_the_text_constructor_builds():
    """widgets.text.plain_text skips Text's constructor (the hot path of a 5,000-runner table): it must make
    the very same object, so a Rich upgrade that changes Text's insides fails here, not on screen."""
    from rich.style import Style
    from rich.text import Text

    from arc_top.widgets.text import plain_text, safe_text
    for plain, style in (("", ""), ("✔ Running", "bold"), ("arc-runner-set-h8ff4-runner-668fh", Style(color="red"))):
        fast, slow = plain_text(plain, style), Text(plain, style=style, end="")
        assert {k: getattr(fast, k) for k in Text.__slots__} == {k: getattr(slow, k) for k in Text.__slots__}
        assert fast == slow and fast.cell_len == slow.cell_len
        fast.append("x")                                   # a normal Text in every way
        assert fast.plain == plain + "x"
    hostile = safe_text("[red]pod\x1b]8;;http://x\x07\x1b[31m\tname[/red]")
    assert hostile.plain == "[red]pod name[/red]" and not hostile.spans


def test_truncate_middle_fast_path_matches_the_text_slicing():
    name = "arc-runner-set-h8ff4-runner-668fh"
    plain = truncate_middle(Text(name, style="bold", end=""), 15)
    spanned = Text(name, end="")
    spanned.stylize("bold", 0, len(name))
    sliced = truncate_middle(spanned, 15)                       # spans: the Text slicing path
    assert plain.plain == sliced.plain == "arc-run…r-668fh"
    assert str(plain.style) == "bold" and plain.end == ""
    assert truncate_middle(Text("ab", end=""), 1).plain == "…"

"""The listeners' job figures in the monitor: the Scale sets panel's JOBS W/R and BUSY/IDLE columns and the
JOBS WAITING trend (snapshot from the deterministic `incident` fixture with figures seeded), and the scale set's
describe with its Jobs section (source, waiting since, start-up latency p50/p95, or why there are none)."""

from __future__ import annotations

import dataclasses

from rich.text import Text

from arc_top.kube.model import JobFigures
from arc_top.tui.app import ArcTopApp
from arc_top.tui.rows import RowContext, scale_set_rows
from arc_top.tui.screens.describe_text import describe_lines
from arc_top.tui.trends import TrendSampler
from arc_top.widgets.text import Palette
from tests.test_tui_snapshots import loaded
from tests.tui_fixtures import MONO, NOW, incident_monitor, seed_trends

FIGURES = {
    ("arc-runners", "arc-runner-set"): JobFigures("arc-runners", "arc-runner-set", "metrics", assigned=5, running=3,
                                                  registered=3, busy=3, idle=0, desired=5, startup_p50=4.2,
                                                  startup_p95=19.0, startup_count=40, waiting_since=NOW - 95),
    ("team-a", "team-a-kube"): JobFigures("team-a", "team-a-kube", "log", why="metrics off (no metrics port on the "
                                          "listener pod)", assigned=12, running=0, busy=0, idle=0,
                                          waiting_since=NOW - 720),
    ("team-b", "team-b-ssd"): JobFigures("team-b", "team-b-ssd", why="no pods/proxy right in arc-systems (metrics "
                                         "not read); no pods/log right in arc-systems (log not read)"),
}
WAITING = {"ars-arc-runners-arc-runner-set": [0, 0, 1, 2, 1, 0, 0, 2, 3, 2, 2, 1, 2, 2, 2],
           "ars-team-a-team-a-kube": [1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9, 9, 10, 11, 12]}


def jobs_sampler(monitor) -> TrendSampler:
    sampler = TrendSampler()
    seed_trends(sampler, monitor)
    sampler.set_jobs(FIGURES)
    for uid, values in WAITING.items():
        sampler.seed_waiting(uid, values)
    return sampler


def jobs_app() -> ArcTopApp:
    monitor = incident_monitor()
    app = ArcTopApp(monitor.factory, clock=lambda: NOW, monotonic=lambda: MONO, sampler=jobs_sampler(monitor),
                    flush_interval=0.05, sample_interval=3600, header_interval=3600, theme="textual-dark")
    app.animation_level = "none"
    return app


def test_jobs_columns_200x60(snap_compare):
    assert snap_compare(jobs_app(), terminal_size=(200, 60), run_before=loaded)


def _cells(sampler, monitor) -> dict[str, dict[str, str]]:
    from arc_top.tui.rows.columns import SCALE_SET_COLUMNS

    ctx = RowContext(monitor.snapshot(), NOW, trends=sampler.trends())
    keys = [c.key for c in SCALE_SET_COLUMNS]
    return {row.key: {k: cell.plain for k, cell in zip(keys, row.cells, strict=True)} for row in scale_set_rows(ctx)}


def test_the_cells_say_waiting_running_busy_idle_or_a_dash():
    monitor = incident_monitor()
    cells = _cells(jobs_sampler(monitor), monitor)
    assert cells["ars-arc-runners-arc-runner-set"]["jobs"] == "2/3"
    assert cells["ars-arc-runners-arc-runner-set"]["busy_idle"] == "3/0"
    assert cells["ars-team-a-team-a-kube"]["jobs"] == "12/0"
    assert cells["ars-team-b-team-b-ssd"]["jobs"] == "—" and cells["ars-team-b-team-b-ssd"]["busy_idle"] == "—"
    assert cells["ars-team-b-team-b-dind"]["jobs"] == "—"                     # no figures at all
    assert cells["ars-team-a-team-a-kube"]["trend_wait"].strip()               # the waiting trend
    assert not cells["ars-team-b-team-b-dind"]["trend_wait"].strip()


def test_new_figures_bump_the_version_the_rows_follow():
    sampler = TrendSampler()
    assert sampler.set_jobs(FIGURES) and sampler.jobs_version == 1
    assert not sampler.set_jobs(dict(FIGURES)) and sampler.jobs_version == 1
    reread = {key: dataclasses.replace(fig, read_at=fig.read_at + 30) for key, fig in FIGURES.items()}
    assert not sampler.set_jobs(reread) and sampler.jobs_version == 1          # the same figures, read again
    assert sampler.jobs == reread
    assert sampler.set_jobs({}) and sampler.jobs_version == 2


def _describe(fig) -> list[str]:
    obj = {"kind": "AutoscalingRunnerSet", "metadata": {"name": "s", "namespace": "n", "uid": "u"},
           "spec": {"githubConfigUrl": "https://github.com/o", "minRunners": 0, "maxRunners": 5}}
    lines, _ = describe_lines(obj, [], None, Palette(), NOW, [], None, fig, "▁▂▃")
    text = [line.plain if isinstance(line, Text) else str(line) for line in lines]
    return text[text.index("Jobs"):]


def test_describe_has_a_jobs_section_with_the_startup_latency():
    section = _describe(FIGURES[("arc-runners", "arc-runner-set")])
    joined = "\n".join(section)
    assert "listener metrics (pod proxy)" in joined
    assert "Waiting:" in joined and "2 (since 95s ago)" in joined and "Running:" in joined
    assert "p50 4.2 s · p95 19.0 s (40 jobs)" in joined and "3 / 0" in joined and "▁▂▃" in joined


def test_describe_says_where_figures_come_from_or_why_not():
    log = "\n".join(_describe(FIGURES[("team-a", "team-a-kube")]))
    assert "listener log (statistics lines) — metrics off" in log and "12 (since 12m ago)" in log
    assert "p50" not in log and "Start-up latency" not in log               # the log has no histogram
    none = "\n".join(_describe(FIGURES[("team-b", "team-b-ssd")]))
    assert "unknown: no pods/proxy right in arc-systems" in none and "no pods/log right" in none
    assert "not read yet" in "\n".join(_describe(None))
    hostile = JobFigures("n", "s", why="[red]x[/red] \x1b[31mred")
    assert "[red]x[/red]" in "\n".join(_describe(hostile)) and "\x1b" not in "\n".join(_describe(hostile))

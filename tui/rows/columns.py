"""The columns of each panel, wide and narrow variants; the table shows those that fit its width."""

from __future__ import annotations

from arc_top.widgets.resource_table import ColumnSpec

WIDE = 96           # a table at least this wide shows the wide column set
PROBLEM_WIDE = WIDE + 40    # …and this wide, the top finding's title in the Problem column
WIDE_TRENDS = 180           # scale sets: separate running and pending sparklines

SCALE_SET_COLUMNS = [
    ColumnSpec("namespace", "NAMESPACE", min_table_width=WIDE),
    ColumnSpec("qualified", "SCALE SET", flex=True, min_width=14, max_table_width=WIDE - 1),
    ColumnSpec("name", "SCALE SET", flex=True, min_width=14, min_table_width=WIDE),
    ColumnSpec("mode", "MODE"),
    ColumnSpec("minmax", "MIN/MAX"),
    ColumnSpec("current", "CUR"),
    ColumnSpec("rpf", "R/P/F", max_table_width=WIDE - 1),
    ColumnSpec("running", "RUN", min_table_width=WIDE),
    ColumnSpec("pending", "PEND", min_table_width=WIDE),
    ColumnSpec("failed", "FAIL", min_table_width=WIDE),
    ColumnSpec("listener", "LISTENER"),
    ColumnSpec("jobs", "JOBS", max_table_width=WIDE - 1),            # the listener's: waiting / running
    ColumnSpec("jobs_wr", "JOBS W/R", min_table_width=WIDE),
    ColumnSpec("busy_idle", "BUSY/IDLE", min_table_width=WIDE),      # its runners registered with GitHub
    ColumnSpec("problem_short", "PROB", max_table_width=PROBLEM_WIDE - 1),
    # Separate running / pending sparklines only when the top title of the PROBLEM column still has room.
    ColumnSpec("trend", "TREND", max_table_width=WIDE_TRENDS - 1),
    ColumnSpec("trend_run", "RUNNING", min_table_width=WIDE_TRENDS),
    ColumnSpec("trend_pend", "PENDING", min_table_width=WIDE_TRENDS),
    ColumnSpec("trend_wait", "JOBS WAITING", min_table_width=WIDE_TRENDS),
    ColumnSpec("phase", "PHASE", min_table_width=WIDE + 30),
    ColumnSpec("age", "AGE", min_table_width=WIDE + 30, age=True),
    ColumnSpec("problem", "PROBLEM", min_table_width=PROBLEM_WIDE, tail=True),
]
TREND_WIDTH = 10
WIDE_TREND_WIDTH = 16

RUNNER_COLUMNS = [
    ColumnSpec("name", "RUNNER", flex=True, min_width=18),
    ColumnSpec("state", "PHASE", max_table_width=WIDE - 1),
    ColumnSpec("phase", "RUNNER PHASE", min_table_width=WIDE),
    ColumnSpec("problem_short", "PROBLEM", max_table_width=PROBLEM_WIDE - 1),
    ColumnSpec("pod", "POD", min_table_width=WIDE),
    ColumnSpec("ready", "READY"),
    ColumnSpec("restarts", "RST"),
    ColumnSpec("age", "AGE", age=True),
    ColumnSpec("node", "NODE"),
    ColumnSpec("job", "JOB", min_table_width=WIDE + 20),
    ColumnSpec("problem", "PROBLEM", min_table_width=PROBLEM_WIDE),
    ColumnSpec("message", "MESSAGE", tail=True),
]

VOLUME_COLUMNS = [
    ColumnSpec("namespace", "NAMESPACE", min_table_width=WIDE),
    ColumnSpec("qualified", "VOLUME CLAIM", flex=True, min_width=16, max_table_width=WIDE - 1),
    ColumnSpec("name", "VOLUME CLAIM", flex=True, min_width=16, min_table_width=WIDE),
    ColumnSpec("status", "STATUS"),
    ColumnSpec("problem_short", "PROBLEM", max_table_width=PROBLEM_WIDE - 1),
    ColumnSpec("class", "CLASS"),
    ColumnSpec("access", "ACCESS"),
    ColumnSpec("size", "SIZE"),
    ColumnSpec("age", "AGE", age=True),
    ColumnSpec("owner", "OWNER POD", min_table_width=WIDE + 30),
    ColumnSpec("problem", "PROBLEM", min_table_width=PROBLEM_WIDE),
    ColumnSpec("pv", "VOLUME", tail=True),
]

EVENT_COLUMNS = [
    ColumnSpec("last", "LAST", age=True),
    ColumnSpec("type_short", "T", max_table_width=WIDE - 1),
    ColumnSpec("type", "TYPE", min_table_width=WIDE),
    ColumnSpec("count", "×N"),
    ColumnSpec("object", "OBJECT", flex=True, min_width=14, max_width=30),
    ColumnSpec("what", "REASON: MESSAGE", max_table_width=WIDE - 1, tail=True),
    ColumnSpec("reason", "REASON", min_table_width=WIDE),
    ColumnSpec("message", "MESSAGE", min_table_width=WIDE, tail=True),
]

FINDING_COLUMNS = [            # a scale set's row, then its findings (tui/rows/findings.py)
    ColumnSpec("severity", "SEVERITY"),
    ColumnSpec("code", "CODE"),
    ColumnSpec("subject", "SCALE SET / SUBJECT", flex=True, min_width=16, max_width=28),
    ColumnSpec("title", "PROBLEM", tail=True),
]

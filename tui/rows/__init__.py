"""Snapshot -> table rows, one pure function per panel; testable without Textual running.

Every cluster string goes through `safe_text`/`status_text`, so cells are `Text`, never markup.
Each panel's columns (tui/rows/columns.py) sit next to the builder that fills them; the table decides
which columns fit its width.
"""

from arc_top.tui.rows.columns import (
           EVENT_COLUMNS,
           FINDING_COLUMNS,
           RUNNER_COLUMNS,
           SCALE_SET_COLUMNS,
           VOLUME_COLUMNS,
           WIDE,
)
from arc_top.tui.rows.context import RowCache, RowContext, Scope, Trends, age, pod_severity
from arc_top.tui.rows.events import FoldedEvent, event_rows, fold_events
from arc_top.tui.rows.findings import finding_rows
from arc_top.tui.rows.runners import GROUP_PREFIX as RUNNER_GROUP_PREFIX
from arc_top.tui.rows.runners import pod_status_text, runner_rows, runner_state, runner_status
from arc_top.tui.rows.scale_sets import listener_status, scale_set_rows
from arc_top.tui.rows.volumes import volume_rows
from arc_top.widgets.resource_table import TableRow

__all__ = ["EVENT_COLUMNS", "FINDING_COLUMNS", "RUNNER_COLUMNS", "RUNNER_GROUP_PREFIX", "SCALE_SET_COLUMNS",
           "VOLUME_COLUMNS", "WIDE",
           "FoldedEvent", "RowCache", "RowContext", "Scope", "TableRow", "Trends", "age", "event_rows", "finding_rows",
           "fold_events", "listener_status", "pod_severity", "pod_status_text", "runner_rows", "runner_state",
           "runner_status", "scale_set_rows", "volume_rows"]

"""The audit trail of applied fixes: JSON lines at `$XDG_STATE_HOME/arc-top/audit.jsonl` (default
`~/.local/state/arc-top/audit.jsonl`), mode 0600, append-only.

One line per event: `apply` (the fix as sent, secret values masked, the dry-run verdict, the outcome), `verify`
(what followed) and `undo`. Lines with the same `id` belong to one fix; `records()` folds them together. Nothing
here ever holds a secret value: operations are written through checks.fixplan.mask_ops.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field

MAX_LINE = 256 * 1024           # a longer line is skipped when read (never a reason not to start)


def state_dir() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "arc-top")


def new_id() -> str:
    """Sortable and short: `20261206-011833-3f9a`."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


@dataclass
class AuditLog:
    path: str = field(default_factory=lambda: os.path.join(state_dir(), "audit.jsonl"))

    def append(self, record: dict) -> None:
        """Write one line (creating the file 0600 and its folder 0700). OSError propagates: the caller says
        the fix was applied but not audited."""
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)

    def lines(self) -> list[dict]:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                raw = [line for line in f if len(line) <= MAX_LINE]
        except FileNotFoundError:
            return []
        out = []
        for line in raw:
            try:
                item = json.loads(line)
            except (ValueError, RecursionError):     # a damaged or hostile line: skipped, never a crash
                continue
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                out.append(item)
        return out

    def records(self) -> list[dict]:
        """One dict per applied fix, oldest first: the `apply` line with `verification` and `undone` folded in."""
        by_id: dict[str, dict] = {}
        for item in self.lines():
            event = item.get("event")
            if event == "apply":
                by_id[item["id"]] = dict(item)
            elif event == "verify" and item["id"] in by_id:
                by_id[item["id"]]["verification"] = item.get("verification")
            elif event == "undo" and item.get("of") in by_id and item.get("outcome") == "applied":
                by_id[item["of"]]["undone"] = item["id"]
        return list(by_id.values())

    def find(self, fix_id: str | None) -> dict | None:
        """The record `fix_id`, or the newest applied and not undone one for None."""
        records = self.records()
        if fix_id:
            return next((r for r in records if r["id"] == fix_id), None)
        return next((r for r in reversed(records) if r.get("outcome") == "applied" and not r.get("undone")), None)

"""checks/ is pure: importing it (and running it) pulls in no UI, Kubernetes client or HTTP library."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
FORBIDDEN = ("textual", "kubernetes", "httpx", "rich")


def test_importing_and_running_checks_loads_no_ui_client_or_http_library():
    code = (
        "import sys, time\n"
        "from arc_top import checks\n"
        "from arc_top.kube.model import Snapshot, KINDS, KindState\n"
        "snap = Snapshot(objects={k: {} for k in KINDS}, kinds={k: KindState(k, 'live', synced=True) for k in KINDS},"
        " version=1)\n"
        "checks.run(snap, now=time.time())\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_no_module_in_checks_imports_them():
    for path in (ROOT / "checks").glob("*.py"):
        text = path.read_text()
        for name in FORBIDDEN:
            assert f"import {name}" not in text and f"from {name}" not in text, f"{path.name} imports {name}"

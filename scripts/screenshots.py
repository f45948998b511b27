"""Regenerate screenshots/ from sandbox scenarios: the real monitor on a real sandbox, headless.

    python scripts/screenshots.py            # every shot below
    python scripts/screenshots.py incident   # only this scenario's shots

Each shot starts the scenario's sandbox, opens arc-top on it at a fixed terminal size, waits until every
watched kind is synced and the simulation has settled for a few seconds, and saves an SVG.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

SHOTS = [  # (scenario, width, height, keys pressed before the shot)
    ("incident", 80, 24, ()),
    ("incident", 160, 48, ()),
    ("incident", 200, 60, ()),
    ("kube-permissions", 160, 48, ("2",)),
    ("kube-permissions", 80, 24, ("5",)),         # the Findings panel, focused, on a small terminal
    ("bad-credentials", 160, 48, ()),
]
SETTLE_S = 6.0


async def shoot(scenario: str, width: int, height: int, keys: tuple[str, ...], out_dir: str) -> str:
    from kube.config import check_reachable, connect
    from kube.monitor import Monitor
    from sandbox.run import start_sandbox
    from tui.app import ArcTopApp

    path = tempfile.NamedTemporaryFile(suffix=".kubeconfig", delete=False).name
    sandbox = start_sandbox(scenario, kubeconfig_path=path)
    try:
        conn = connect(path, all_namespaces=True)
        check_reachable(conn)
        app = ArcTopApp(lambda on_change: Monitor(conn, on_change), title=f"arc-top demo · {scenario}")
        async with app.run_test(size=(width, height)) as pilot:
            while not (app.monitor and app.monitor.synced()):
                await pilot.pause(0.05)
            await pilot.pause(SETTLE_S)
            for key in keys:
                await pilot.press(key)
            await pilot.pause(0.5)
            name = f"{scenario}-{width}x{height}.svg"
            app.save_screenshot(filename=name, path=out_dir)
            return os.path.join(out_dir, name)
    finally:
        sandbox.stop()
        os.unlink(path)


def main() -> None:
    wanted = set(sys.argv[1:])
    out_dir = os.path.join(ROOT, "screenshots")
    os.makedirs(out_dir, exist_ok=True)
    for scenario, width, height, keys in SHOTS:
        if wanted and scenario not in wanted:
            continue
        print(asyncio.run(shoot(scenario, width, height, keys, out_dir)), flush=True)


if __name__ == "__main__":
    main()

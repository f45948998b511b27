"""Regenerate screenshots/ from sandbox scenarios: the real monitor on a real sandbox, headless.

    python scripts/screenshots.py            # every shot below
    python scripts/screenshots.py incident   # only this scenario's shots
    python scripts/screenshots.py fix-arc501 # only the fix screen (`f` on kube-permissions' ARC501)
    python scripts/screenshots.py fix-arc201 # ARC201's two-step fix on pvc-pending, applied
    python scripts/screenshots.py jobs       # jobs-waiting: the listeners' figures, read a few times

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

SHOTS = [  # (scenario, width, height, keys pressed before the shot, or a coroutine given the pilot)
    ("incident", 80, 24, ()),
    ("incident", 160, 48, ()),
    ("incident", 200, 60, ()),
    ("kube-permissions", 160, 48, ("2",)),
    ("kube-permissions", 80, 24, ("5",)),         # the Findings panel, focused, on a small terminal
    ("bad-credentials", 160, 48, ()),
    ("kube-permissions", 160, 48, "fix-arc501"),  # `f` on ARC501: the diff and the dry-run, before `enter`
    ("pvc-pending", 160, 48, "fix-arc201"),       # `f` on ARC201, `enter`, `y`: both steps done, then verified
    ("jobs-waiting", 200, 60, "jobs"),            # JOBS W/R, BUSY/IDLE and the JOBS WAITING trend
    ("scaled-to-zero", 160, 48, ("5",)),          # no runner pod: ARC301/ARC501 predicted from the templates
    ("controller-errors", 160, 48, ("5",)),       # ARC409 unregistered sets, ARC605 old CRDs, the controller's log
]
SETTLE_S = 6.0
TIMEOUT_S = 60.0


async def fix_arc501(pilot) -> str:
    """The Findings panel, the cursor on arc-runner-set's ARC501, `f`, until the server accepted the dry-run."""
    await fix_screen(pilot, "ARC501")
    return "fix-arc501"


async def fix_arc201(pilot) -> str:
    """ARC201's fix applied: `f`, `enter`, `y`, until the outcome and the verification's verdict show."""
    screen = await fix_screen(pilot, "ARC201")
    await pilot.press("enter")
    await pilot.pause(0.3)
    await pilot.press("y")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT_S
    while not (screen.phase == "applied" and screen.watch is not None and screen.watch.ended):
        if loop.time() > deadline:
            raise SystemExit("fix-arc201: timed out")
        await pilot.pause(0.1)
    return "fix-arc201"


async def jobs(pilot) -> str:
    """The jobs-waiting sandbox once its listeners' figures have been read a few times (every 15 s): jobs queued
    on the broken scale sets, a runner busy on the healthy one."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT_S

    def fig(name: str):
        return app.sampler.jobs.get(("arc-runners", name))

    while not (all(fig(n) is not None and (fig(n).waiting or 0) >= 4 for n in ("arc-logs", "arc-metrics"))
               and len(app.sampler.waiting.get(next(iter(app.sampler.waiting), ""), ())) >= 3):
        if loop.time() > deadline:
            raise SystemExit("jobs: timed out")
        await pilot.pause(0.2)
    return "jobs-waiting"


async def fix_screen(pilot, code: str):
    """The Findings panel, the cursor on arc-runner-set's `code`, `f`, until the server accepted the dry-run."""
    from arc_top.tui.findings import finding_key
    from arc_top.tui.screens.fix import FixScreen

    app = pilot.app
    main = app.main_screen
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT_S

    async def until(condition) -> None:
        while not condition():
            if loop.time() > deadline:
                raise SystemExit(f"fix {code}: timed out")
            await pilot.pause(0.05)

    def found():
        return next((f for f in main.findings.findings
                     if f.code == code and f.scale_set == "arc-runners/arc-runner-set"), None)
    await until(lambda: found() is not None)
    await pilot.press("5")
    table = main.panel("findings").table
    await until(lambda: table.select_key(finding_key(found())))
    await pilot.press("f")
    await until(lambda: isinstance(app.screen, FixScreen))
    screen = app.screen
    for _ in range(5):        # a busy scale set can move between the read and the dry-run: plan again
        await until(lambda: screen.phase in ("ready", "failed"))
        if screen.preview is not None and screen.preview.accepted:
            break
        await pilot.press("r")
    return screen


async def shoot(scenario: str, width: int, height: int, keys: tuple[str, ...] | str, out_dir: str) -> str:
    from arc_top.kube.config import check_reachable, connect
    from arc_top.kube.monitor import Monitor
    from arc_top.sandbox.run import start_sandbox
    from arc_top.tui.app import ArcTopApp

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
            prefix = scenario
            if isinstance(keys, str):
                prefix = await {"fix-arc501": fix_arc501, "fix-arc201": fix_arc201, "jobs": jobs}[keys](pilot)
            else:
                for key in keys:
                    await pilot.press(key)
            await pilot.pause(0.5)
            name = f"{prefix}-{width}x{height}.svg"
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
        if wanted and scenario not in wanted and keys not in wanted:
            continue
        print(asyncio.run(shoot(scenario, width, height, keys, out_dir)), flush=True)


if __name__ == "__main__":
    main()

"""Remediation from the keyboard, on the sandboxes where the failures live (the real Monitor, checks and Fixer):
`pvc-pending`: `f` on ARC201, `enter`, `y` — the two steps run, shown as done, and the scale set ends with Bound
claims of the new class and Running runners; `network-policy`: `f` on ARC301, `enter`, `y` — the egress policy is
created and the listener is healthy again (it scales the runners up, ARC403 goes)."""

from __future__ import annotations

import contextlib

import pytest
from kubernetes import client

from arc_top.sandbox.run import start_sandbox
from tests.conftest import api_client
from tests.test_tui_drill import until
from tests.test_tui_fix import audit_home, confirm_and_apply, found, live_app, open_fix  # noqa: F401
from tests.waiting import wait_for

pytestmark = pytest.mark.asyncio
NS, SET = "arc-runners", "arc-runner-set"


def bound_and_running(sb, since: float) -> str:
    """A runner pod made after `since`, Running, whose work claim is Bound with class gp3 ("" while none is)."""
    api = client.CoreV1Api(api_client(sb))
    claims = {c.metadata.name: c for c in api.list_namespaced_persistent_volume_claim(NS).items}
    for pod in api.list_namespaced_pod(NS, label_selector=f"actions.github.com/scale-set-name={SET},"
                                                          "app.kubernetes.io/component=runner").items:
        claim = claims.get(f"{pod.metadata.name}-work")
        if (pod.metadata.creation_timestamp.timestamp() >= since - 1 and pod.status.phase == "Running"
                and claim is not None and claim.status.phase == "Bound" and claim.spec.storage_class_name == "gp3"):
            return pod.metadata.name
    return ""


def desired_replicas(sb) -> int:
    sets = client.CustomObjectsApi(api_client(sb)).list_namespaced_custom_object(
        "actions.github.com", "v1alpha1", NS, "ephemeralrunnersets")["items"]
    return max((int((s.get("spec") or {}).get("replicas") or 0) for s in sets), default=0)


@contextlib.asynccontextmanager
async def fixed_from_the_keyboard(tmp_path, scenario: str, code: str):
    """`scenario`'s sandbox and the monitor on it; `f` on arc-runner-set's `code`, `enter`, `y`. Yields (sandbox,
    pilot, fix screen, its text once applied); both are stopped afterwards."""
    sb = start_sandbox(scenario, kubeconfig_path=str(tmp_path / "kubeconfig"), speed=4.0)
    try:
        app = live_app(sb, verify_wait=120.0)
        async with app.run_test(size=(160, 48)) as pilot:
            screen = await open_fix(pilot, await found(pilot, code, f"{NS}/{SET}"))
            yield sb, pilot, screen, await confirm_and_apply(pilot, screen)
    finally:
        sb.stop()


async def test_arc201_from_the_keyboard_ends_with_bound_claims_and_running_runners(tmp_path, audit_home):  # noqa: F811
    async with fixed_from_the_keyboard(tmp_path, "pvc-pending", "ARC201") as (sb, pilot, screen, text):
        assert "applied ARC201 class=gp3" in text, text
        assert "step 1 of 2 change the template: done" in text and "step 2 of 2 replace the stuck runners: done" \
            in text, text
        await until(pilot, lambda: "cleared" in (screen.watch.verification.message() if screen.watch else ""),
                    timeout=120, what="ARC201 cleared")
        wait_for(lambda: bound_and_running(sb, screen.applied.at), 90, 0.5, "a runner Running on a Bound gp3 claim")


async def test_arc301_from_the_keyboard_ends_with_a_healthy_listener(tmp_path, audit_home):  # noqa: F811
    async with fixed_from_the_keyboard(tmp_path, "network-policy", "ARC301") as (sb, pilot, screen, text):
        assert "applied ARC301" in text, text
        main = pilot.app.main_screen

        def healthy() -> bool:
            codes = {f.code for f in main.findings.findings if f.scale_set == f"{NS}/{SET}"}
            return not codes & {"ARC301", "ARC302", "ARC403"}
        await until(pilot, healthy, timeout=120, what="ARC301, ARC302 and ARC403 gone")
        wait_for(lambda: desired_replicas(sb) >= 2, 90, 0.5, "the listener scaling the runners to minRunners")

"""Reading a scale set's runner pod template (spec.template, a raw read-only PodTemplateSpec) defensively."""

from __future__ import annotations

from collections.abc import Mapping

from arc_top.checks.context import d, dicts, lst, s
from arc_top.kube import model

HOOKS_ENV = "ACTIONS_RUNNER_CONTAINER_HOOKS"
POD_NAME_ENV = "ACTIONS_RUNNER_POD_NAME"
KUBE_SCHEDULER_ENV = "ACTIONS_RUNNER_USE_KUBE_SCHEDULER"
HOOK_TEMPLATE_ENV = "ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE"
WORK_PATH = "/home/runner/_work"
KUBE = "kubernetes"
NOVOLUME = "kubernetes-novolume"


def pod_spec(ars: model.ScaleSet) -> Mapping:
    return d(d(ars.template).get("spec"))


def containers(spec: Mapping, init: bool = False) -> list[Mapping]:
    return list(dicts(spec.get("initContainers" if init else "containers")))


def runner_container(spec: Mapping) -> Mapping | None:
    return next((c for c in containers(spec) if c.get("name") == "runner"), None)


def env(container: Mapping | None) -> dict[str, str]:
    """name → value ("" for valueFrom entries: they are set, but not to a literal)."""
    out: dict[str, str] = {}
    for e in dicts(d(container).get("env")):
        name = s(e.get("name"))
        if name:
            out[name] = s(e.get("value"))
    return out


def work_volume(spec: Mapping) -> Mapping | None:
    return next((v for v in dicts(spec.get("volumes")) if v.get("name") == "work"), None)


def claim_spec(volume: Mapping | None) -> Mapping | None:
    """The ephemeral work volume's claim spec (None when the volume is not an ephemeral claim)."""
    ephemeral = d(volume).get("ephemeral")
    if not isinstance(ephemeral, Mapping):
        return None
    return d(d(ephemeral.get("volumeClaimTemplate")).get("spec"))


def kube_mode(ars: model.ScaleSet) -> str:
    """"kubernetes", "kubernetes-novolume" or "": the projection's mode, plus templates whose hook env went
    missing but which still look like kube mode (a work claim template or the chart's kube-mode account)."""
    if ars.mode in (KUBE, NOVOLUME):
        return ars.mode
    if ars.mode == "dind":
        return ""
    spec = pod_spec(ars)
    if claim_spec(work_volume(spec)) is not None or s(spec.get("serviceAccountName")).endswith("-kube-mode"):
        return KUBE
    return ""


def mounts_work(container: Mapping) -> bool:
    return any(m.get("name") == "work" for m in dicts(container.get("volumeMounts")))


def command_text(container: Mapping) -> str:
    return " ".join(s(x) for x in list(lst(container.get("command"))) + list(lst(container.get("args"))))


def chown_inits(spec: Mapping) -> list[Mapping]:
    """Init containers meant to fix the work directory's owner."""
    return [c for c in containers(spec, init=True) if "chown" in command_text(c)]


def security(container: Mapping, spec: Mapping, key: str):
    """A securityContext field of the container, falling back to the pod's."""
    own = d(container.get("securityContext"))
    if key in own:
        return own[key]
    return d(spec.get("securityContext")).get(key)


def chown_problem(container: Mapping, spec: Mapping) -> str:
    """Why this chown init container cannot make the work volume the runner's ("" = it can)."""
    if not mounts_work(container):
        return f"init container {container.get('name')!r} does not mount the work volume"
    command = command_text(container)
    uid = security(container, spec, "runAsUser")
    if "sudo" in command:
        if uid == 0:
            return ""
        if d(container.get("securityContext")).get("allowPrivilegeEscalation") is False:
            return f"init container {container.get('name')!r} uses sudo with allowPrivilegeEscalation: false"
        if security(container, spec, "runAsNonRoot") is True:
            return f"init container {container.get('name')!r} uses sudo with runAsNonRoot: true"
        return ""
    image = s(container.get("image"))
    if uid not in (None, 0) or (uid is None and "actions-runner" in image):
        return f"init container {container.get('name')!r} runs chown as a non-root user without sudo"
    return ""


def working_chown(spec: Mapping) -> bool:
    return any(not chown_problem(c, spec) for c in chown_inits(spec))


def runs_as_root(spec: Mapping) -> bool:
    runner = runner_container(spec)
    return runner is not None and security(runner, spec, "runAsUser") == 0


def fs_group(spec: Mapping):
    return d(spec.get("securityContext")).get("fsGroup")

"""The runner pod an AutoscalingRunnerSet would get, rendered as ARC renders it, for the checks that judge runner
pods while none exists (`minRunners: 0`, the chart's default: no runner pod until a job arrives).

ARC (resourcebuilder.go, newEphemeralRunnerPod) makes a runner pod from the ARS's `spec.template` unchanged but
for: the template's labels plus the EphemeralRunner's (`app.kubernetes.io/component=runner`,
`app.kubernetes.io/part-of=gha-runner-scale-set`, the version, the scale-set name/namespace and the
`actions.github.com/{enterprise,organization,repository}` labels of the config URL) and
`actions-ephemeral-runner=True`; the JIT config env on the `runner` container; the scale set's namespace. What
a container mode adds (the hook env, the `work` ephemeral claim, the `-kube-mode` service account, dind's
sidecar) the chart has already written into the template, so the template carries it. The sandbox's controller
(sandbox/controller/runnerset.py new_ers/new_er, runners.py build_pod) renders the same labels and spec.

A finding judged on the rendered pod says so in its first evidence line (`PREDICTED`); a live runner pod, when
there is one, stays the evidence instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from arc_top.core.arc import (
    L_COMPONENT,
    L_EPHEMERAL,
    L_PART_OF,
    L_SET_NAME,
    L_SET_NS,
    L_VERSION,
    github_url_labels,
)
from arc_top.core.data import d, dicts, s
from arc_top.kube import model
from arc_top.kube.projections import project

PREDICTED = "predicted from the runner template (no runner pod yet)"
RUNNER_COMPONENT = "runner"
RUNNER_PART_OF = "gha-runner-scale-set"
JIT_ENV = "ACTIONS_RUNNER_INPUT_JITCONFIG"


def runner_labels(name: str, namespace: str, template_labels: Mapping | None = None, config_url: str = "",
                  version: str = "") -> dict[str, str]:
    """The labels of a runner pod of scale set `namespace/name`: the template's, then ARC's (which win)."""
    labels = {str(k): s(v) for k, v in d(template_labels).items()}
    labels.update({L_PART_OF: RUNNER_PART_OF, L_COMPONENT: RUNNER_COMPONENT, L_VERSION: s(version),
                   L_SET_NAME: s(name), L_SET_NS: s(namespace), **github_url_labels(s(config_url)),
                   L_EPHEMERAL: "True"})
    return labels


def _plain(value):
    """A deep, writable copy of a read-only sub-document."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def render_runner_pod(ars: model.ScaleSet) -> dict:
    """The runner pod manifest ARC would create for `ars` (as submitted: before admission adds defaults)."""
    template = d(ars.template)
    meta = d(template.get("metadata"))
    spec = _plain(d(template.get("spec")))
    for container in dicts(spec.get("containers")):
        if container.get("name") == "runner":
            env = [e for e in dicts(container.get("env")) if e.get("name") != JIT_ENV]
            container["env"] = [*env, {"name": JIT_ENV, "valueFrom": {"secretKeyRef": {
                "name": f"{ars.name}-runner", "key": "jitToken"}}}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"generateName": f"{ars.name}-runner-", "namespace": ars.namespace,
                         "labels": runner_labels(ars.name, ars.namespace, meta.get("labels"), ars.config_url,
                                                 ars.version),
                         "annotations": _plain(d(meta.get("annotations")))},
            "spec": spec}


def predicted_pod(ars: model.ScaleSet) -> model.Pod:
    """`render_runner_pod` as the slim Pod the checks read (role runner, name `<scale set>-runner-(predicted)`)."""
    raw = render_runner_pod(ars)
    raw["metadata"]["name"] = f"{ars.name}-runner-(predicted)"
    raw["metadata"]["uid"] = f"predicted:{ars.uid}"
    return project(model.PODS, raw)

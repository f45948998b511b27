"""Guidance-only remedies (ARC406, ARC602–ARC605): the change belongs to the Helm releases or the cluster's set-up,
not to a live object arc-top could patch — a patched listener image or CRD is reverted by the next `helm upgrade`,
or is not arc-top's to make (installing a controller). The fix screen shows the exact commands and values
instead; Apply stays disabled and says why.

Pure: versions come from the finding's evidence and the scale set's labels.
"""

from __future__ import annotations

import re
import shlex

from arc_top.checks.context import d, s
from arc_top.checks.finding import Finding
from arc_top.checks.fixplan import Facts, FixPlan, Variant
from arc_top.checks.remedy_kit import (
    ars_needs,
    helm_values,
    meta_of,
    register,
    release_of,
    scale_set_target,
    target_of,
)

CHARTS = "oci://ghcr.io/actions/actions-runner-controller-charts"
SCALE_SET_CHART = f"{CHARTS}/gha-runner-scale-set"
CONTROLLER_CHART = f"{CHARTS}/gha-runner-scale-set-controller"
RUNNER_IMAGE = "ghcr.io/actions/actions-runner"
_VERSION = re.compile(r"controller(?: version| is| image:?)?\s+(?:\S*:)?v?(\d+\.\d+\.\d+)")


def controller_version(f: Finding) -> str:
    """The controller's version the evidence names ("" when it names none)."""
    for line in f.evidence:
        m = _VERSION.search(line)
        if m:
            return m.group(1)
    return ""


def _release(ars: dict) -> tuple[str, str]:
    """(release, namespace) of the scale set's Helm release: the annotation, else the scale set's name."""
    meta = meta_of(ars)
    return (release_of(ars) or s(meta.get("name")) or "RELEASE",
            s(d(meta.get("annotations")).get("meta.helm.sh/release-namespace")) or s(meta.get("namespace")))


def _plan(f: Finding, facts: Facts, summary: str, commands: list[str], helm: str = "",
          risks: tuple[str, ...] = ()) -> FixPlan:
    ars = facts.target
    target = target_of(ars, scale_set_target("", ""))
    variant = Variant("guidance", summary, (), kubectl=tuple(commands), helm=helm, risks=risks)
    return FixPlan(f.code, f, target, (variant,), release_of(ars),
                   notes=("guidance only: arc-top writes nothing for this finding",))


def _version_flag(version: str) -> str:
    return f" --version {version}" if version else " --version CONTROLLER_VERSION"


@register("ARC406", summary="guidance: install or start the ARC controller for these scale sets",
          variants=("guidance",), needs=ars_needs)
def no_controller(f: Finding, facts: Facts) -> FixPlan:
    version = s(d(meta_of(facts.target).get("labels")).get("app.kubernetes.io/version"))
    return _plan(f, facts, "install the gha-runner-scale-set-controller chart (at the scale set's chart version), "
                           "or find why its pod does not run",
                 ["kubectl get deployments,pods -A -l app.kubernetes.io/part-of=gha-rs-controller",
                  "helm install arc --namespace arc-systems --create-namespace " + CONTROLLER_CHART
                  + _version_flag(version)],
                 risks=("A controller installed with flags.watchSingleNamespace manages only that namespace's "
                        "scale sets.",))


@register("ARC602", summary="guidance: pin the runner image to a version in the chart's values",
          variants=("guidance",), needs=ars_needs)
def unpinned_image(f: Finding, facts: Facts) -> FixPlan:
    release, ns = _release(facts.target)
    snippet = ("template:\n  spec:\n    containers:\n      - name: runner\n"
               f"        image: {RUNNER_IMAGE}:RUNNER_VERSION   # e.g. the newest from "
               "github.com/actions/runner/releases\n        command: [\"/home/runner/run.sh\"]")
    return _plan(f, facts, "pin the runner image to a released version (a moving tag changes runners under you)",
                 [f"helm upgrade {shlex.quote(release)} {SCALE_SET_CHART} -n {shlex.quote(ns)} --reuse-values "
                  "-f pinned-runner.yaml   # pinned-runner.yaml: the values below"],
                 helm=helm_values(release, snippet))


@register("ARC603", "ARC604", summary="guidance: upgrade the scale set's release to the controller's version",
          variants=("guidance",), needs=ars_needs)
def version_skew(f: Finding, facts: Facts) -> FixPlan:
    release, ns = _release(facts.target)
    version = controller_version(f)
    commands = [f"helm upgrade {shlex.quote(release)} {SCALE_SET_CHART} -n {shlex.quote(ns)} --reuse-values"
                + _version_flag(version)]
    if f.code == "ARC604":
        commands.append("# the listener is made by the controller: after the upgrade, the controller recreates it "
                        "with its own image")
    return _plan(f, facts, f"upgrade Helm release {release} to the controller's version"
                           + (f" {version}" if version else ""), commands,
                 risks=("ARC supports a scale set chart only at its controller's version; upgrade the controller "
                        "first when it is the older one.",))


@register("ARC605", summary="guidance: apply the CRDs of the controller's chart version (Helm never upgrades them)",
          variants=("guidance",), needs=ars_needs)
def stale_crds(f: Finding, facts: Facts) -> FixPlan:
    version = controller_version(f)
    flag = _version_flag(version)
    return _plan(f, facts, "replace the ARC CRDs with the ones of the controller's chart"
                           + (f" {version}" if version else ""),
                 [f"helm pull {CONTROLLER_CHART}{flag} --untar --untardir arc-chart",
                  "kubectl apply --server-side --force-conflicts -f arc-chart/gha-runner-scale-set-controller/crds/"],
                 risks=("CRDs are cluster-wide: every ARC installation in the cluster uses them.",))

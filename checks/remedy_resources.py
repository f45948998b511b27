"""Fix for ARC601: cpu/memory requests and limits for the runner container.

A picker, one variant each: the values other scale sets of the cluster give their runner container
(`values-of=NAMESPACE/NAME`, the values most healthy sets use first, one variant per distinct set of values), then
three sizes (`small`, `medium`, `large`). The default is what most healthy sets use, else `medium`.

The sizes request cpu and memory and limit memory only: a CPU limit throttles builds (compilers, test runners) even
on an idle node, while a memory limit keeps one job from exhausting the node. The patch adds `resources` to the
runner container (found by name, its name tested at its index), or only the requests/limits keys it lacks: values
it finds are kept, never replaced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from arc_top.checks import template as tpl
from arc_top.checks.context import d, s
from arc_top.checks.finding import ERROR, WARNING, Finding
from arc_top.checks.fixplan import Facts, FixPlan, PlanError, Variant, apply_patch, pointer
from arc_top.checks.remedy_kit import (
    ARC_API,
    RUNNER_IMAGE,
    Listing,
    Needs,
    helm_values,
    kubectl_patch,
    meta_of,
    patch_op,
    pod_spec_of,
    register,
    release_of,
    scale_set_key,
    scale_set_target,
    target_of,
)
from arc_top.kube.operations import Target

KEYS = ("cpu", "memory")
PARTS = ("requests", "limits")
RUN_SH = "/home/runner/run.sh"
PRACTICES = "ARC6"                   # practice and version codes: not a sign of unhealthy runners


@dataclass(frozen=True)
class Values:
    """cpu/memory requests and limits, as the API writes them (quantity strings)."""
    requests: tuple[tuple[str, str], ...] = ()
    limits: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, resources: object) -> Values:
        res = d(resources)
        return cls(*(tuple((k, s(d(res.get(p)).get(k))) for k in KEYS if s(d(res.get(p)).get(k))) for p in PARTS))

    def part(self, name: str) -> dict[str, str]:
        return dict(self.requests if name == "requests" else self.limits)

    def __bool__(self) -> bool:
        return bool(self.requests or self.limits)

    def as_dict(self) -> dict:
        return {p: self.part(p) for p in PARTS if self.part(p)}

    def describe(self) -> str:
        """`requests cpu 1, memory 2Gi; limits memory 4Gi`."""
        return "; ".join(f"{p} " + ", ".join(f"{k} {v}" for k, v in self.part(p).items()) for p in PARTS
                         if self.part(p)) or "nothing"


PRESETS: dict[str, Values] = {
    "small": Values((("cpu", "500m"), ("memory", "1Gi")), (("memory", "2Gi"),)),
    "medium": Values((("cpu", "1"), ("memory", "2Gi")), (("memory", "4Gi"),)),
    "large": Values((("cpu", "2"), ("memory", "4Gi")), (("memory", "8Gi"),)),
}
DEFAULT_PRESET = "medium"


def _needs(f: Finding) -> Needs:
    key = scale_set_key(f)
    return Needs(scale_set_target(*key),
                 lists=(Listing("scale_sets", Target(ARC_API, "AutoscalingRunnerSet", "autoscalingrunnersets",
                                                     "", "")),))


def runner_index(ars: Mapping) -> int | None:
    """The index of the container named `runner` in the scale set's pod template (None when there is none)."""
    containers = pod_spec_of(ars).get("containers")
    if not isinstance(containers, list):
        return None
    return next((i for i, c in enumerate(containers) if isinstance(c, Mapping) and c.get("name") == "runner"), None)


def _runner(ars: Mapping) -> Mapping | None:
    index = runner_index(ars)
    return None if index is None else pod_spec_of(ars)["containers"][index]


# ---- quantities (only to keep a limit from going below a request) -------------------------------------------
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_SUFFIX = {"": 1.0, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
           "E": 1e18, "Ki": 2.0 ** 10, "Mi": 2.0 ** 20, "Gi": 2.0 ** 30, "Ti": 2.0 ** 40, "Pi": 2.0 ** 50,
           "Ei": 2.0 ** 60}


def quantity(text: str) -> float | None:
    """The value of a Kubernetes quantity ("500m" → 0.5, "2Gi" → 2147483648.0); None when it is not one."""
    m = _QUANTITY.match(s(text).strip())
    if not m:
        return None
    return float(m.group(1)) * _SUFFIX[m.group(2) or ""]


def _below(limit: str, request: str) -> bool:
    a, b = quantity(limit), quantity(request)
    return a is not None and b is not None and a < b


# ---- the patch ------------------------------------------------------------------------------------------------
def resource_ops(ars: Mapping, values: Values) -> tuple[list[dict], list[str]]:
    """(JSON patch ops that give the runner container `values`, notes on what was kept). With `resources` already
    there, only the missing requests/limits keys are added: the values found are kept, and a new limit below a
    kept request (or a new request above a kept limit) is left out. Raises PlanError without a runner container."""
    index = runner_index(ars)
    if index is None:
        raise PlanError("the scale set's pod template has no container named `runner`")
    runner = pod_spec_of(ars)["containers"][index]
    base = pointer("spec", "template", "spec", "containers", index)
    ops: list[dict] = [{"op": "test", "path": base + "/name", "value": "runner"}]
    current = runner.get("resources")
    if not isinstance(current, Mapping):
        if "resources" in runner:              # null (or junk): tested, then replaced
            ops += [{"op": "test", "path": base + "/resources", "value": current},
                    {"op": "replace", "path": base + "/resources", "value": values.as_dict()}]
        else:
            ops.append({"op": "add", "path": base + "/resources", "value": values.as_dict()})
        return ops, []
    kept: list[str] = []
    have = {p: d(current.get(p)) for p in PARTS}
    add: dict[str, dict[str, str]] = {}
    for part in PARTS:
        other = "limits" if part == "requests" else "requests"
        for key, value in values.part(part).items():
            if key in have[part]:
                kept.append(f"{part}.{key} {s(have[part][key])} kept")
                continue
            mine = s(have[other].get(key)) or s(add.get(other, {}).get(key))
            if mine and (_below(value, mine) if part == "limits" else _below(mine, value)):
                kept.append(f"{part}.{key} {value} left out: {other}.{key} is {mine}")
                continue
            add.setdefault(part, {})[key] = value
    at = base + "/resources"
    for part, new in add.items():
        existing = current.get(part)
        if isinstance(existing, Mapping):
            ops += [{"op": "add", "path": f"{at}/{part}/{key}", "value": value} for key, value in new.items()]
        elif part in current:                   # null: tested, then replaced
            ops += [{"op": "test", "path": f"{at}/{part}", "value": existing},
                    {"op": "replace", "path": f"{at}/{part}", "value": new}]
        else:
            ops.append({"op": "add", "path": f"{at}/{part}", "value": new})
    return ops, kept


def _helm(release: str, ars: Mapping, resources: Mapping) -> str:
    """The chart values for the runner container with `resources` (all of them, as they will be)."""
    runner = d(_runner(ars))
    container = {"name": "runner", "image": s(runner.get("image")) or RUNNER_IMAGE,
                 "command": [s(x) for x in runner.get("command") or [RUN_SH]]
                 if isinstance(runner.get("command"), list) else [RUN_SH],
                 "resources": dict(resources)}
    body = yaml.safe_dump({"template": {"spec": {"containers": [container]}}}, sort_keys=False,
                          default_flow_style=False, allow_unicode=True, width=1000)
    return helm_values(release, "# template.spec.containers is a list: a values list replaces the chart's whole "
                                "list, so keep\n# the runner's image and command (and any other container) as "
                                "they are\n" + body)


# ---- the picker -----------------------------------------------------------------------------------------------
@dataclass
class ValuesInUse:
    """One set of runner values and the other scale sets that use it (how many of them healthy)."""
    values: Values
    sets: list[str]
    healthy: int = 0


def cluster_values(facts: Facts, ars: Mapping) -> list[ValuesInUse]:
    """The runner values other scale sets use, one entry per distinct set of values: the values most healthy sets
    use first, then the most used. A set is healthy without an error or warning finding (practices and versions,
    ARC6xx, say nothing about how its runners fare)."""
    me = (s(meta_of(ars).get("namespace")), s(meta_of(ars).get("name")))
    troubled = {f.scale_set for f in facts.findings if f.severity in (ERROR, WARNING) and not f.code.startswith(
        PRACTICES)}
    groups: dict[Values, ValuesInUse] = {}
    for x in facts.lists.get("scale_sets", ()):
        if not isinstance(x, Mapping):
            continue
        key = (s(meta_of(x).get("namespace")), s(meta_of(x).get("name")))
        values = Values.of(d(_runner(x)).get("resources"))
        if key == me or not values:
            continue
        name = f"{key[0]}/{key[1]}"
        group = groups.setdefault(values, ValuesInUse(values, []))
        group.sets.append(name)
        group.healthy += name not in troubled
    for g in groups.values():
        g.sets.sort()
    return sorted(groups.values(), key=lambda g: (-g.healthy, -len(g.sets), g.sets[0]))


def _risks(values: Values, kube_mode: bool) -> tuple[str, ...]:
    requests, limits = values.part("requests"), values.part("limits")
    out = []
    if "cpu" in limits:
        out.append(f"These values limit CPU to {limits['cpu']}: builds (compilers, tests) are throttled at that "
                   "even when the node has idle CPU.")
    else:
        out.append("No CPU limit, on purpose: a CPU limit throttles builds even when the node has idle CPU; the "
                   "CPU request already gives each runner its share under contention.")
    if requests:
        asked = ", ".join(f"{k} {v}" for k, v in requests.items())
        out.append(f"Requests reserve node capacity ({asked} per runner, busy or idle): fewer runners fit per node, "
                   "and a runner whose request no node can hold stays Pending (the cluster autoscaler may add "
                   "nodes).")
    if "memory" in limits:
        out.append(f"A job that needs more than {limits['memory']} of memory in the runner container is OOM-killed "
                   "(exit code 137).")
    out.append("Runners that are busy keep their pods; the controller makes a new EphemeralRunnerSet from the "
               "changed template, so new runners get these values.")
    if kube_mode:
        out.append("Kubernetes mode: jobs run in their own workflow pods, which these values do not cover (set "
                   "theirs in the container hook template).")
    return tuple(out)


@register("ARC601", summary="give the runner container cpu/memory requests and a memory limit (the values other "
                            "sets use, or a small/medium/large size)",
          variants=("values-of=<set>", "medium", "small", "large"), needs=_needs)
def runner_resources(f: Finding, facts: Facts) -> FixPlan:
    ars = facts.target
    target = target_of(ars, scale_set_target("", ""))
    release = release_of(ars)
    if runner_index(ars) is None:
        raise PlanError(f"{target.label()}: the pod template has no container named `runner`")
    kube_mode = bool(tpl.env(_runner(ars)).get(tpl.HOOKS_ENV)) or tpl.claim_spec(
        tpl.work_volume(pod_spec_of(ars))) is not None
    groups = cluster_values(facts, ars)
    healthy = [g for g in groups if g.healthy]
    presets = (["medium", "small", "large"] if not healthy else ["small", "medium", "large"])
    choices: list[tuple[str, Values, str]] = []
    for g in healthy:
        choices.append(_group_choice(g))
    for name in presets:
        choices.append((name, PRESETS[name], f"{name}: {PRESETS[name].describe()}"))
    for g in groups:
        if not g.healthy:
            choices.append(_group_choice(g))
    variants = []
    notes: list[str] = []
    for name, values, detail in choices:
        ops, kept = resource_ops(ars, values)
        if not [o for o in ops if o["op"] != "test"]:
            continue                            # nothing left to add with these values
        resources = d(_runner(apply_patch(ars, ops))).get("resources")
        result = Values.of(resources)
        summary = f"give the runner container {result.describe()}"
        risks = _risks(result, kube_mode)
        if kept:
            risks = (f"Values already set are kept: {'; '.join(kept)}.", *risks)
        variants.append(Variant(
            name, summary, (patch_op(ars, target, ops, f"new runner pods get {result.describe()}"),),
            kubectl=(kubectl_patch(target, ops),), helm=_helm(release, ars, d(resources)), risks=risks, detail=detail))
    if not variants:
        raise PlanError(f"{target.label()}: the runner container already has cpu and memory requests and limits")
    if "scale_sets" in facts.unreadable:
        notes.append(f"the other scale sets could not be read ({facts.unreadable['scale_sets']}): sizes only")
    elif not groups:
        notes.append("no other scale set gives its runner container requests or limits: sizes only")
    return FixPlan(f.code, f, target, tuple(variants), release, notes=tuple(notes))


def _group_choice(g: ValuesInUse) -> tuple[str, Values, str]:
    more = f" and {len(g.sets) - 1} more" if len(g.sets) > 1 else ""
    return f"values-of={g.sets[0]}", g.values, f"like {g.sets[0]}{more}: {g.values.describe()}"

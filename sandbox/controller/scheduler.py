"""The default scheduler's node filter and its FailedScheduling wording."""

from __future__ import annotations

from collections import Counter

PREEMPTION = "preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling."


def unschedulable_message(total: int, reasons: str) -> str:
    if total == 0:
        return "no nodes available to schedule pods"
    return f"0/{total} nodes are available: {reasons}. " + PREEMPTION.format(n=total)


def fitting_nodes(pod: dict, nodes: list[dict], pinned: str | None) -> tuple[list[str], str]:
    """Nodes the pod may go to, and the scheduler's summary of why the others don't fit."""
    spec = pod["spec"]
    selector = spec.get("nodeSelector") or {}
    tolerations = spec.get("tolerations") or ()
    fit: list[str] = []
    reasons: Counter = Counter()
    for node in nodes:
        name = node["metadata"]["name"]
        node_labels = node["metadata"].get("labels") or {}
        taint = next((t for t in (node.get("spec") or {}).get("taints") or ()
                      if t.get("effect") in ("NoSchedule", "NoExecute") and not _tolerated(t, tolerations)),
                     None)
        ready = next((c.get("status") for c in (node.get("status") or {}).get("conditions") or ()
                      if c.get("type") == "Ready"), "True")
        if ready != "True":
            reasons["node(s) were not ready"] += 1
        elif (node.get("spec") or {}).get("unschedulable"):
            reasons["node(s) were unschedulable"] += 1
        elif taint is not None:
            reasons[f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"] += 1
        elif any(node_labels.get(k) != v for k, v in selector.items()):
            reasons["node(s) didn't match Pod's node affinity/selector"] += 1
        elif pinned and name != pinned:
            reasons["node(s) had volume node affinity conflict"] += 1
        else:
            fit.append(name)
    return fit, ", ".join(f"{count} {why}" for why, count in sorted(reasons.items()))


def _tolerated(taint: dict, tolerations) -> bool:
    for tol in tolerations:
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists" and (not tol.get("key") or tol.get("key") == taint.get("key")):
            return True
        if tol.get("key") == taint.get("key") and tol.get("value", "") == taint.get("value", ""):
            return True
    return False

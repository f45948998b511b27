"""Egress of listener and runner pods as NetworkPolicies allow it (ARC301–ARC303), and the logs' word on it
(ARC304).

Kubernetes semantics: a pod is isolated for egress once some policy in its namespace selects it and lists
`Egress` in its policyTypes (by default when it has egress rules); it may then reach what the union of those
policies' rules allows. A rule without `ports` allows every port, a rule without `to` every destination. GitHub is
outside the cluster, so only `ipBlock` peers reach it; DNS may be reached through any peer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit

from arc_top.checks import prediction
from arc_top.checks import template as tpl
from arc_top.checks.catalogue import finding, not_evaluated
from arc_top.checks.context import Context, d, dicts, lst, s, set_key, subject_of
from arc_top.checks.finding import Finding, Subject
from arc_top.checks.registry import check
from arc_top.checks.text import plural
from arc_top.kube import model

PUBLIC_HOSTS = ("github.com", "www.github.com")
API_PORTS = (443, 6443)


# ---- selectors and rules -------------------------------------------------------------------------------------
def selects(selector, labels: Mapping[str, str]) -> bool:
    """A LabelSelector against a pod's labels (an empty selector selects every pod)."""
    if not isinstance(selector, Mapping):
        return False
    for key, value in d(selector.get("matchLabels")).items():
        if labels.get(key) != value:
            return False
    for expr in dicts(selector.get("matchExpressions")):
        key, op, values = s(expr.get("key")), s(expr.get("operator")), [s(v) for v in lst(expr.get("values"))]
        if op == "In":
            ok = key in labels and labels[key] in values
        elif op == "NotIn":
            ok = key not in labels or labels[key] not in values
        elif op == "Exists":
            ok = key in labels
        elif op == "DoesNotExist":
            ok = key not in labels
        else:
            ok = False
        if not ok:
            return False
    return True


def policy_types(spec: Mapping) -> list[str]:
    types = [s(t) for t in lst(spec.get("policyTypes"))]
    if types:
        return types
    return ["Ingress", "Egress"] if lst(spec.get("egress")) else ["Ingress"]


def _port_matches(entry: Mapping, port: int, protocol: str, named_ok: bool) -> bool:
    if s(entry.get("protocol") or "TCP").upper() != protocol:
        return False
    value = entry.get("port")
    if value is None:
        return True
    try:
        first = int(value)
    except (TypeError, ValueError):
        return named_ok and "dns" in s(value).lower()   # a named port: only in-cluster pods (e.g. CoreDNS) have it
    try:
        last = int(entry.get("endPort") or first)
    except (TypeError, ValueError):
        last = first
    return first <= port <= last


_EVERYTHING = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def _outside_reach(block: Mapping, any_address: bool) -> bool:
    """Whether an ipBlock can cover an address outside the cluster: any block for a host we cannot place (GHES,
    the API server), a block reaching public addresses for github.com."""
    try:
        net = ipaddress.ip_network(s(block.get("cidr")), strict=False)
        excepts = [ipaddress.ip_network(s(c), strict=False) for c in lst(block.get("except"))]
    except ValueError:
        return False
    if any(e.prefixlen == 0 for e in excepts):
        return False
    return any_address or not (net.is_private or net.is_loopback or net.is_link_local)


def allows(rules: list[Mapping], port: int, protocols: tuple[str, ...], target: str) -> bool:
    """Whether some egress rule lets traffic to `port` reach `target`: "public" (github.com), "external" (a host
    outside the cluster we cannot place) or "any" (a peer in or out of the cluster, e.g. DNS)."""
    for rule in rules:
        ports = list(dicts(rule.get("ports")))
        if ports and not any(_port_matches(p, port, proto, target == "any") for p in ports for proto in protocols):
            continue
        if not lst(rule.get("to")):
            return True
        for peer in dicts(rule.get("to")):
            if target == "any":
                return True
            block = peer.get("ipBlock")
            if isinstance(block, Mapping) and _outside_reach(block, target == "external"):
                return True
    return False


def _github_target(ctx: Context, ars: model.ScaleSet | None) -> str:
    host = (urlsplit(ars.config_url).hostname or "") if ars is not None else ""
    host = host.lower()
    return "public" if host in PUBLIC_HOSTS or host.endswith(".ghe.com") or not host else "external"


# ---- ARC301–ARC303 ---------------------------------------------------------------------------------------------
_TARGETS = (("ARC301", "HTTPS (TCP 443) to GitHub"), ("ARC302", "DNS (UDP/TCP 53)"),
            ("ARC303", "the Kubernetes API server (TCP 443/6443)"))


def _blocked_targets(rules: list[Mapping], github: str, needs_api: bool) -> list[tuple[str, str]]:
    out = []
    if not allows(rules, 443, ("TCP",), github):
        out.append(_TARGETS[0])
    if not allows(rules, 53, ("UDP", "TCP"), "any"):
        out.append(_TARGETS[1])
    if needs_api and not any(allows(rules, port, ("TCP",), "external") for port in API_PORTS):
        out.append(_TARGETS[2])
    return out


def _rules_text(policy: model.Named) -> str:
    egress = lst(d(policy.body.get("spec")).get("egress"))
    return f"NetworkPolicy {policy.name}: {plural(len(egress), 'egress rule')}"


@check("ARC301", "ARC302", "ARC303")
def egress(ctx: Context) -> Iterator[Finding]:
    pods = [p for role in ("listener", "runner") for p in ctx.pods_by_role.get(role, ()) if not p.deleting]
    # A scale set with no live runner pod (minRunners: 0): the pod ARC would render from its template.
    predicted = {p.uid: ars for ars in ctx.scale_sets if (p := ctx.predicted_runner_pod(ars)) is not None}
    pods += [ctx.predicted_runner_pod(ars) for ars in predicted.values()]
    namespaces = sorted({p.namespace for p in pods})
    isolating: dict[str, list[model.Named]] = {}
    for ns in namespaces:
        why = ctx.blocked(model.NETWORK_POLICIES, ns)
        if why:
            yield not_evaluated("ARC301–ARC303", why, ctx.namespace_subject(ns))
            continue
        egress_policies = [p for p in ctx.network_policies_by_ns.get(ns, ())
                           if "Egress" in policy_types(d(p.body.get("spec")))]
        if egress_policies:
            isolating[ns] = egress_policies
    if not isolating:
        return
    seen: dict[tuple, list] = {}          # (ns, labels, scale set, role) → pods; labels maps are shared objects
    for p in pods:
        if p.namespace in isolating:
            ars = predicted.get(p.uid) or ctx.scale_set_of_pod(p)
            seen.setdefault((p.namespace, id(p.labels), set_key(ars) if ars else "", p.role), [p, ars, 0])[2] += 1
    reported: set[tuple[str, str, str]] = set()
    for (ns, _, key, role), (pod, ars, count) in seen.items():
        policies = [pol for pol in isolating[ns] if selects(d(pol.body.get("spec")).get("podSelector"), pod.labels)]
        if not policies:
            continue
        rules = [r for pol in policies for r in dicts(d(pol.body.get("spec")).get("egress"))]
        needs_api = role == "listener" or (ars is not None and bool(tpl.kube_mode(ars)))
        for code, what in _blocked_targets(rules, _github_target(ctx, ars), needs_api):
            if (code, key, role) in reported:
                continue
            reported.add((code, key, role))
            related: tuple[Subject, ...] = tuple(subject_of("NetworkPolicy", pol) for pol in policies[1:])
            if pod.uid in predicted:
                head = [prediction.PREDICTED, f"runner pod template of {ars.name} ({ns}), with ARC's runner labels"]
                related += (ctx.ars_subject(ars),)
            else:
                head = [f"{role} pod {pod.name} ({ns}) and {count - 1} like it" if count > 1
                        else f"{role} pod {pod.name} ({ns})"]
                related += (subject_of("Pod", pod),)
            evidence = [*head, *[_rules_text(pol) for pol in policies[:3]], f"no egress rule allows {what}"]
            yield finding(code, subject_of("NetworkPolicy", policies[0]), scale_set=key, evidence=evidence,
                          related=related)


# ---- ARC304 -------------------------------------------------------------------------------------------------------
@check("ARC304")
def timeouts_in_logs(ctx: Context) -> Iterator[Finding]:
    found: dict[tuple[str, str], list] = {}        # (scale set, role) → [pod subject, lines, pods]
    for hits in ctx.log_hits:
        lines = hits.lines(codes=("ARC304",)) if hits.role in ("listener", "runner") else []
        if not lines:
            continue
        entry = found.setdefault((hits.key, hits.role), [hits.pod, [], set()])
        entry[1].extend(lines[-2:])
        entry[2].add(hits.tail.pod)
    for (key, role), (subject, lines, pods) in found.items():
        evidence = [f"{role} log ({plural(len(pods), 'pod')}):", *lines[:3]]
        yield finding("ARC304", subject, scale_set=key, evidence=evidence)

"""Egress as NetworkPolicies allow it (F20): can this pod resolve names and reach GitHub on 443?

Semantics follow Kubernetes: a pod is isolated for egress when some policy in its namespace selects
it and lists `Egress` in its policyTypes; then the union of those policies' egress rules is what it
may reach. A rule without `ports` allows every port; a rule without `to` allows every destination.
GitHub is outside the cluster, so only `ipBlock` peers (or no `to`) can reach it; DNS may be reached
through any peer (usually the kube-system namespace).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from arc_top.sandbox.selectors import selector_from_label_selector_object

CLUSTER_DNS = "10.96.0.10"
GITHUB_IP = "140.82.112.3"  # what a public GitHub host resolves to, for ipBlock checks


def _types(policy: dict) -> list[str]:
    spec = policy.get("spec") or {}
    return spec.get("policyTypes") or (["Ingress", "Egress"] if spec.get("egress") else ["Ingress"])


def _port_matches(entry: dict, port: int, protocol: str) -> bool:
    if (entry.get("protocol") or "TCP") != protocol:
        return False
    value = entry.get("port")
    if value is None:
        return True
    try:
        first = int(value)
    except (TypeError, ValueError):
        return False  # a named port never matches a destination outside the cluster
    last = int(entry.get("endPort") or first)
    return first <= port <= last


def _peer_reaches(peer: dict, ip: str | None) -> bool:
    """Whether one `to` peer covers an address outside the cluster (ip None: any peer will do)."""
    if ip is None:
        return True
    block = peer.get("ipBlock")
    if not block:
        return False
    try:
        address = ipaddress.ip_address(ip)
        if address not in ipaddress.ip_network(block.get("cidr", ""), strict=False):
            return False
        return not any(address in ipaddress.ip_network(c, strict=False) for c in block.get("except") or ())
    except ValueError:
        return False


def _allows(rules: list[dict], port: int, protocols: tuple[str, ...], ip: str | None) -> bool:
    for rule in rules:
        ports = rule.get("ports") or []
        if ports and not any(_port_matches(p, port, proto) for p in ports for proto in protocols):
            continue
        peers = rule.get("to") or []
        if not peers or any(_peer_reaches(peer, ip) for peer in peers):
            return True
    return False


def egress_rules(cluster, pod: dict) -> list[dict] | None:
    """The egress rules that apply to the pod, or None when nothing isolates it."""
    meta = pod["metadata"]
    labels = meta.get("labels") or {}
    rules: list[dict] | None = None
    for policy in cluster.list("networkpolicies", meta["namespace"]):
        spec = policy.get("spec") or {}
        if "Egress" not in _types(policy):
            continue
        if not selector_from_label_selector_object(spec.get("podSelector", {})).matches(labels):
            continue
        rules = (rules or []) + list(spec.get("egress") or [])
    return rules


def dial_error(cluster, pod: dict, url: str) -> str | None:
    """Go's error for the pod's first HTTPS connection to `url`'s host, or None when egress allows it."""
    rules = egress_rules(cluster, pod)
    if rules is None:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or 443
    try:
        ipaddress.ip_address(host)
        literal = True
    except ValueError:
        literal = False
    pod_ip = (pod.get("status") or {}).get("podIP") or "10.244.0.7"
    if not literal and not _allows(rules, 53, ("UDP", "TCP"), None):
        return (
            f"dial tcp: lookup {host} on {CLUSTER_DNS}:53: read udp {pod_ip}:41235->{CLUSTER_DNS}:53: "
            "i/o timeout"
        )
    if not _allows(rules, 443, ("TCP",), host if literal else GITHUB_IP):
        return f"dial tcp {host if literal else GITHUB_IP}:{port}: i/o timeout"
    return None

"""Fixes for ARC301, ARC302, ARC303: an egress NetworkPolicy for the scale set's runner and listener pods.

NetworkPolicies are additive: once some policy with `Egress` in its policyTypes selects a pod, the pod may reach
what the union of the egress rules of every such policy allows. A deny-all policy is one that selects the pods and
allows nothing; a new policy that selects the same pods and allows DNS, HTTPS to GitHub and the API server opens
exactly that, without touching the policies that are there (they may be managed elsewhere, and they protect other
pods too).

The fix creates one NetworkPolicy `<scale set>-arc-egress` (another free name when that one is taken) in each
namespace where the scale set's pods are isolated for egress and something they need is blocked — the listener's
namespace (the controller's) and the runners' (the scale set's). Its podSelector picks the scale set's pods by ARC's
labels (`actions.github.com/scale-set-name`, `…/scale-set-namespace`, `app.kubernetes.io/component`); its egress:

- DNS, UDP and TCP 53 (and the DNS Service's target ports), to the cluster DNS pods: namespaceSelector
  `kubernetes.io/metadata.name: kube-system` and the `kube-dns`/`coredns` Service's own pod selector;
- HTTPS, TCP 443 (and the githubConfigUrl's port when it names one), to GitHub: an ipBlock of the host's address when
  the URL holds one, else 0.0.0.0/0 — NetworkPolicy filters addresses, not names, and GitHub's change;
- TCP to the Kubernetes API server (the listener patches the EphemeralRunnerSet; the kubernetes-mode hook creates
  pods): the `default/kubernetes` Endpoints' addresses and ports, else TCP 443 and 6443 anywhere.

A namespace whose pods no policy isolates gets nothing: a new egress policy there would isolate them, and runners
need more than these three (package registries, container images, …). Variants: `egress-policy` (all three rules,
the default) and, when less is blocked, `blocked-only` (just the rules for what is blocked now). Undo deletes the
created policies.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from arc_top.checks import prediction
from arc_top.checks import template as tpl
from arc_top.checks.context import d, dicts, lst, s
from arc_top.checks.finding import Finding
from arc_top.checks.fixplan import Facts, FixPlan, PlanError, Variant, yaml_text
from arc_top.checks.network import API_PORTS, PUBLIC_HOSTS, allows, policy_types, selects
from arc_top.checks.remedy_kit import (
    LISTENER_COMPONENT,
    Listing,
    Needs,
    create_op,
    meta_of,
    pod_target,
    register,
    scale_set_key,
    scale_set_target,
)
from arc_top.kube.operations import Target
from arc_top.kube.projections import scale_set as project_scale_set

NETPOL_API = "networking.k8s.io/v1"
SUFFIX = "-arc-egress"
CREATED_FOR = "arc-top/created-for"
L_SET_NAME = "actions.github.com/scale-set-name"
L_SET_NS = "actions.github.com/scale-set-namespace"
L_COMPONENT = "app.kubernetes.io/component"
RUNNER_COMPONENT = "runner"
NS_NAME = "kubernetes.io/metadata.name"      # every namespace carries it (Kubernetes ≥ 1.21)
DNS_NAMESPACE = "kube-system"
DNS_SERVICES = ("kube-dns", "coredns")
DEFAULT_DNS_LABELS = {"k8s-app": "kube-dns"}   # CoreDNS as kubeadm, EKS, GKE, AKS and k3s label it
ANYWHERE = "0.0.0.0/0"
META_API = "https://api.github.com/meta"
ALL_POLICIES = "policies:*"
DNS, GITHUB, API = "dns", "github", "api"
WHAT = {DNS: "DNS", GITHUB: "HTTPS to GitHub", API: "the API server"}
CODE_OF = {GITHUB: "ARC301", DNS: "ARC302", API: "ARC303"}
ROLE_WORDS = {"listener": "the listener", "runner": "the runners"}
NOTED_POLICIES = 12


def policy_target(namespace: str, name: str = "") -> Target:
    return Target(NETPOL_API, "NetworkPolicy", "networkpolicies", namespace, name)


def service_target(namespace: str) -> Target:
    return Target("v1", "Service", "services", namespace, "")


def endpoints_target(namespace: str) -> Target:
    return Target("v1", "Endpoints", "endpoints", namespace, "")


def policies_key(namespace: str) -> str:
    return f"policies:{namespace}"


def _needs(f: Finding) -> Needs:
    key = scale_set_key(f)
    ns, name = key
    spaces = [x for x in dict.fromkeys((ns, f.subject.namespace, *(r.namespace for r in f.related))) if x]
    return Needs(scale_set_target(*key), listener_pods=True, listeners=True, lists=(
        *(Listing(policies_key(x), policy_target(x)) for x in spaces),
        Listing(ALL_POLICIES, policy_target("")),            # the listener's namespace when the finding is elsewhere
        Listing("runner_pods", pod_target(ns, ""), f"{L_SET_NAME}={name},{L_COMPONENT}={RUNNER_COMPONENT}"),
        Listing("dns_services", service_target(DNS_NAMESPACE)),
        Listing("api_endpoints", endpoints_target("default"))))


# ---- which pods, which policies ------------------------------------------------------------------------------
@dataclass
class Space:
    """One namespace of the scale set's pods: which pods (role, labels), the egress policies that select them,
    what they block."""
    namespace: str
    pods: list[tuple[str, Mapping]] = field(default_factory=list)
    policies: list[Mapping] = field(default_factory=list)        # Egress policies selecting some of the pods
    roles: list[str] = field(default_factory=list)               # the roles of the isolated pods that lack some
    blocked: list[str] = field(default_factory=list)             # DNS, GITHUB, API that some isolated pod lacks


def _labels(obj: Mapping) -> dict:
    return {str(k): s(v) for k, v in d(meta_of(obj).get("labels")).items()}


def runner_labels(ars: Mapping) -> dict:
    """The labels ARC gives a runner pod of `ars` (for a scale set with no runner pod now)."""
    meta, spec = meta_of(ars), d(ars.get("spec"))
    return prediction.runner_labels(s(meta.get("name")), s(meta.get("namespace")),
                                    d(d(spec.get("template")).get("metadata")).get("labels"),
                                    s(spec.get("githubConfigUrl")), s(d(meta.get("labels")).get(prediction.L_VERSION)))


def _pods(ars: Mapping, facts: Facts) -> dict[str, list[tuple[str, Mapping]]]:
    """namespace → (role, labels) of the scale set's runner and listener pods, present and to come."""
    out: dict[str, list[tuple[str, Mapping]]] = {}
    ns = s(meta_of(ars).get("namespace"))
    for pod in facts.lists.get("runner_pods", ()):
        if not meta_of(pod).get("deletionTimestamp"):
            out.setdefault(s(meta_of(pod).get("namespace")) or ns, []).append(("runner", _labels(pod)))
    out.setdefault(ns, []).append(("runner", runner_labels(ars)))
    for obj in (*facts.listener_pods, *facts.listeners):   # a listener's pod carries the listener's labels
        where = s(meta_of(obj).get("namespace"))
        if where:
            out.setdefault(where, []).append(("listener", {**_labels(obj), L_COMPONENT: LISTENER_COMPONENT}))
    return out


def github_host(ars: Mapping) -> str:
    return (urlsplit(s(d(ars.get("spec")).get("githubConfigUrl"))).hostname or "").lower()


def public_github(host: str) -> bool:
    return not host or host in PUBLIC_HOSTS or host.endswith(".ghe.com")


def _blocked(rules: list[Mapping], role: str, ars: Mapping, kube_mode: bool) -> list[str]:
    """What a pod under `rules` cannot reach, as the ARC301–ARC303 check judges it."""
    host = github_host(ars)
    out = []
    if not allows(rules, 53, ("UDP", "TCP"), "any"):
        out.append(DNS)
    if not allows(rules, 443, ("TCP",), "public" if public_github(host) else "external"):
        out.append(GITHUB)
    if (role == "listener" or kube_mode) and not any(allows(rules, p, ("TCP",), "external") for p in API_PORTS):
        out.append(API)
    return out


def spaces(ars: Mapping, facts: Facts, kube_mode: bool) -> tuple[list[Space], list[str]]:
    """The namespaces the fix concerns (isolated pods that lack something), and notes on those it cannot read."""
    everywhere = ALL_POLICIES in facts.lists and ALL_POLICIES not in facts.unreadable
    out, notes = [], []
    for ns, pods in _pods(ars, facts).items():
        if everywhere or (policies_key(ns) in facts.lists and policies_key(ns) not in facts.unreadable):
            policies = _policies_in(facts, ns)
        else:
            why = facts.unreadable.get(policies_key(ns)) or facts.unreadable.get(ALL_POLICIES) or "not read"
            notes.append(f"NetworkPolicies in {ns} could not be read ({why}): "
                         f"{_who(sorted({role for role, _ in pods}))} there are left as they are")
            continue
        egress = [p for p in policies if "Egress" in policy_types(d(p.get("spec")))]
        space, lacking = Space(ns), set()
        for role, labels in pods:
            mine = [p for p in egress if selects(d(p.get("spec")).get("podSelector"), labels)]
            if not mine:
                continue
            space.pods.append((role, labels))
            space.policies += [p for p in mine if not any(p is q for q in space.policies)]
            rules = [r for p in mine for r in dicts(d(p.get("spec")).get("egress"))]
            blocked = _blocked(rules, role, ars, kube_mode)
            space.blocked += [b for b in blocked if b not in space.blocked]
            lacking.update([role] if blocked else [])
        if space.blocked:
            space.roles = sorted(lacking)
            space.blocked = [b for b in (DNS, GITHUB, API) if b in space.blocked]
            out.append(space)
    return sorted(out, key=lambda x: x.namespace), notes


# ---- the rules ------------------------------------------------------------------------------------------------
def _host_cidr(host: str) -> str:
    """`host/32` (`/128`) when the config URL names an address; "" for a name."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return ""
    return f"{address}/{address.max_prefixlen}"


def github_rule(ars: Mapping) -> tuple[dict, list[str]]:
    """(the HTTPS egress rule, its risks)."""
    url = urlsplit(s(d(ars.get("spec")).get("githubConfigUrl")))
    host = (url.hostname or "").lower()
    try:
        port = url.port
    except ValueError:
        port = None
    ports = [{"protocol": "TCP", "port": 443}]
    if port and port != 443:
        ports.append({"protocol": "TCP", "port": port})
    cidr = _host_cidr(host)
    if cidr:
        return {"ports": ports, "to": [{"ipBlock": {"cidr": cidr}}]}, []
    rule = {"ports": ports, "to": [{"ipBlock": {"cidr": ANYWHERE}}]}
    if public_github(host):
        meta = META_API if host in ("", *PUBLIC_HOSTS) else f"https://api.{host}/meta"
        return rule, [f"HTTPS is allowed to any address ({ANYWHERE}) on TCP 443: a NetworkPolicy matches addresses, "
                      "not host names, and GitHub's addresses change. To narrow it, use the ranges GitHub publishes "
                      f"in its meta API ({meta}: `api`, `web`, `actions`, `packages` …) and keep them current."]
    return rule, [f"HTTPS is allowed to any address ({ANYWHERE}): {host}'s address is not known here. Narrow the "
                  f"ipBlock to the address of {host} (and keep it current if it changes)."]


def dns_rule(facts: Facts) -> tuple[dict, list[str]]:
    """(the DNS egress rule, its risks): to the cluster DNS pods, by the DNS Service's own selector."""
    services = {s(meta_of(x).get("name")): x for x in facts.lists.get("dns_services", ())}
    svc = next((services[n] for n in DNS_SERVICES if n in services), None)
    if svc is None:
        svc = next((x for x in services.values() if _labels(x).get("k8s-app") == "kube-dns"), None)
    spec = d(d(svc).get("spec"))
    selector = {str(k): s(v) for k, v in d(spec.get("selector")).items()}
    ports = {("UDP", 53), ("TCP", 53)}
    for p in dicts(spec.get("ports")):
        target = p.get("targetPort", p.get("port"))
        if isinstance(target, int) and not isinstance(target, bool) and 0 < target < 65536:
            ports.add((s(p.get("protocol")) or "TCP", target))
    risks = []
    if not selector:
        selector = dict(DEFAULT_DNS_LABELS)
        why = facts.unreadable.get("dns_services") or f"no {' or '.join(DNS_SERVICES)} Service in {DNS_NAMESPACE}"
        risks.append(f"The cluster DNS Service could not be read ({why}): the DNS rule assumes DNS pods labelled "
                     "k8s-app=kube-dns in kube-system. With NodeLocal DNSCache, also allow its address "
                     "(169.254.20.10/32) on port 53.")
    rule = {"ports": [{"protocol": proto, "port": port} for proto, port in sorted(ports, key=lambda x: (x[1], x[0]))],
            "to": [{"namespaceSelector": {"matchLabels": {NS_NAME: DNS_NAMESPACE}},
                    "podSelector": {"matchLabels": selector}}]}
    return rule, risks


def api_rule(facts: Facts) -> tuple[dict, list[str]]:
    """(the API server egress rule, its risks): the `default/kubernetes` Endpoints' addresses and ports (what a
    policy sees once the Service address is translated), else TCP 443 and 6443 anywhere."""
    ep = next((x for x in facts.lists.get("api_endpoints", ()) if s(meta_of(x).get("name")) == "kubernetes"), None)
    cidrs: list[str] = []
    ports: list[int] = []
    for subset in dicts(d(ep).get("subsets")):
        for a in dicts(subset.get("addresses")):
            cidr = _host_cidr(s(a.get("ip")))
            if cidr and cidr not in cidrs:
                cidrs.append(cidr)
        for p in dicts(subset.get("ports")):
            port = p.get("port")
            if isinstance(port, int) and not isinstance(port, bool) and port not in ports and \
                    s(p.get("protocol") or "TCP") == "TCP":
                ports.append(port)
    if cidrs and ports:
        return {"ports": [{"protocol": "TCP", "port": p} for p in sorted(ports)],
                "to": [{"ipBlock": {"cidr": c}} for c in cidrs]}, []
    why = facts.unreadable.get("api_endpoints") or "no default/kubernetes Endpoints with an address"
    return ({"ports": [{"protocol": "TCP", "port": p} for p in API_PORTS], "to": [{"ipBlock": {"cidr": ANYWHERE}}]},
            [f"The API server's address could not be read ({why}): TCP {' and '.join(map(str, API_PORTS))} are "
             f"allowed to any address. Narrow the rule to the addresses of `kubectl get endpoints kubernetes -n "
             "default`."])


def pod_selector(ars: Mapping, roles: list[str]) -> dict:
    meta = meta_of(ars)
    labels = {L_SET_NAME: s(meta.get("name")), L_SET_NS: s(meta.get("namespace"))}
    components = [RUNNER_COMPONENT if r == "runner" else LISTENER_COMPONENT for r in roles]
    if len(components) == 1:
        return {"matchLabels": {**labels, L_COMPONENT: components[0]}}
    return {"matchLabels": labels,
            "matchExpressions": [{"key": L_COMPONENT, "operator": "In", "values": sorted(components)}]}


def free_name(base: str, taken: set[str]) -> str:
    name, i = base, 2
    while name in taken:
        name, i = f"{base}-{i}", i + 1
    return name


def policy_body(ns: str, name: str, ars: Mapping, roles: list[str], rules: list[dict], code: str) -> dict:
    meta = meta_of(ars)
    return {"apiVersion": NETPOL_API, "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns,
                         "annotations": {CREATED_FOR: f"{code} {s(meta.get('namespace'))}/{s(meta.get('name'))}"}},
            "spec": {"podSelector": pod_selector(ars, roles), "policyTypes": ["Egress"], "egress": rules}}


def kubectl_apply(body: dict) -> str:
    """`kubectl apply -f - <<'EOF'` with the policy's YAML: the quoted delimiter keeps the shell from expanding
    anything in it, and YAML quotes what needs it."""
    text = yaml_text(body)
    lines = set(text.splitlines())
    end = "EOF"
    while end in lines:
        end += "_"
    return f"kubectl apply -f - <<'{end}'\n{text}{end}"


# ---- describing the policies there are ------------------------------------------------------------------------
def _selector_text(sel: object) -> str:
    parts = [f"{k}={s(v)}" for k, v in d(d(sel).get("matchLabels")).items()]
    for e in dicts(d(sel).get("matchExpressions")):
        values = ",".join(s(v) for v in lst(e.get("values")))
        parts.append(f"{s(e.get('key'))} {s(e.get('operator'))}" + (f" ({values})" if values else ""))
    return ", ".join(parts)


def _peer_text(peer: Mapping) -> str:
    block = peer.get("ipBlock")
    if isinstance(block, Mapping):
        excepts = [s(c) for c in lst(block.get("except"))]
        return s(block.get("cidr")) + (f" except {', '.join(excepts)}" if excepts else "")
    pods, namespaces = peer.get("podSelector"), peer.get("namespaceSelector")
    who = f"pods {_selector_text(pods)}" if _selector_text(pods) else "every pod"
    if namespaces is None:
        return f"{who} in its namespace"
    where = _selector_text(namespaces)
    return f"{who} in namespaces {where}" if where else f"{who} in every namespace"


def _port_text(p: Mapping) -> str:
    port, end = p.get("port"), p.get("endPort")
    proto = s(p.get("protocol")) or "TCP"
    if port is None:
        return f"{proto} every port"
    return f"{proto} {s(port)}" + (f"-{s(end)}" if end else "")


def describe_rules(policy: Mapping) -> str:
    """What a policy's egress rules allow, in words: "no egress", "TCP 6443 to 10.0.0.0/8"."""
    rules = list(dicts(d(policy.get("spec")).get("egress")))
    if not rules:
        return "no egress"
    out = []
    for rule in rules:
        ports = ", ".join(_port_text(p) for p in dicts(rule.get("ports"))) or "every port"
        peers = list(dicts(rule.get("to")))
        out.append(f"{ports} to {'; '.join(_peer_text(p) for p in peers) if peers else 'anywhere'}")
    return " | ".join(out)


def _who(roles: list[str]) -> str:
    return " and ".join(ROLE_WORDS[r] for r in roles)


def _existing_notes(space: Space) -> list[str]:
    out = []
    for p in space.policies[:NOTED_POLICIES]:
        roles = sorted({role for role, labels in space.pods if selects(d(p.get("spec")).get("podSelector"), labels)})
        out.append(f"NetworkPolicy {space.namespace}/{s(meta_of(p).get('name'))} isolates {_who(roles)}: it allows "
                   f"{describe_rules(p)}")
    if len(space.policies) > NOTED_POLICIES:
        out.append(f"… and {len(space.policies) - NOTED_POLICIES} more egress policies in {space.namespace}")
    return out


# ---- the plan -------------------------------------------------------------------------------------------------
@register("ARC301", "ARC302", "ARC303",
          summary="create an egress NetworkPolicy for the scale set's listener and runner pods: DNS to the cluster "
                  "DNS, HTTPS to GitHub, TCP to the API server (policies are additive: the deny policies stay)",
          variants=("egress-policy", "blocked-only"), needs=_needs)
def egress_policy(f: Finding, facts: Facts) -> FixPlan:
    ars = facts.target
    set_ns, set_name = s(meta_of(ars).get("namespace")), s(meta_of(ars).get("name"))
    kube_mode = bool(tpl.kube_mode(project_scale_set(dict(ars))))
    concerned, unread = spaces(ars, facts, kube_mode)
    if not concerned:
        raise PlanError("; ".join(unread) if unread else
                        f"no egress NetworkPolicy blocks what {set_ns}/{set_name}'s listener and runner pods need "
                        "(DNS, HTTPS to GitHub, the API server) any more: nothing to add")
    dns, dns_risks = dns_rule(facts)
    github, github_risks = github_rule(ars)
    api, api_risks = api_rule(facts)
    by_target = {DNS: dns, GITHUB: github, API: api}

    def needed(space: Space) -> list[str]:
        return [DNS, GITHUB] + ([API] if "listener" in space.roles or kube_mode else [])

    def variant(name: str, pick) -> Variant:
        ops, kubectl, why, used = [], [], [], set()
        for space in concerned:
            taken = {s(meta_of(p).get("name")) for p in _policies_in(facts, space.namespace)}
            policy = free_name(f"{set_name}{SUFFIX}", taken)
            wanted = pick(space)
            used.update(wanted)
            body = policy_body(space.namespace, policy, ars, space.roles, [by_target[t] for t in wanted], f.code)
            names = words([s(meta_of(p).get("name")) for p in space.policies[:3]]) + \
                (" …" if len(space.policies) > 3 else "")
            blocked = ("all three" if len(space.blocked) == 3 else words([WHAT[t] for t in space.blocked]))
            verb = "blocks" if len(space.policies) == 1 else "block"
            ops.append(create_op(policy_target(space.namespace, policy), body,
                                 f"{_who(space.roles)} may reach {words([WHAT[t] for t in wanted])} ({names} "
                                 f"{verb} {blocked})"))
            kubectl.append(kubectl_apply(body))
            why.append(f"{space.namespace}/{policy}: {_who(space.roles)} may reach {words([WHAT[t] for t in wanted])}"
                       f" ({names} {verb} {blocked})")
        where = words([x.namespace for x in concerned])
        risks = [*(dns_risks if DNS in used else []), *(github_risks if GITHUB in used else []),
                 *(api_risks if API in used else []),
                 "The new policy isolates no pod that was not isolated already: it selects only the scale set's pods "
                 "that existing egress policies select, and only adds what they may reach; the existing policies "
                 "are not changed.",
                 "Not chart-managed (the gha-runner-scale-set chart renders no NetworkPolicy): keep this policy where "
                 f"the NetworkPolicies of {where} are managed (the manifests or GitOps repository the deny policies "
                 "come from), or the next sync may delete it."]
        if kube_mode and any("runner" in x.roles for x in concerned):
            risks.append("Kubernetes-mode workflow and step pods carry only `runner-pod=<runner pod>`: this policy "
                         "does not select them. If a deny policy isolates them, their jobs need their own egress.")
        detail = ("only what is blocked now: " if name == "blocked-only" else "all the pods need: ") + \
            ", ".join(f"{WHAT[t]} ({CODE_OF[t]})" for t in (DNS, GITHUB, API) if t in used)
        return Variant(name, f"create NetworkPolicy {'; '.join(why)}", tuple(ops), kubectl=tuple(kubectl),
                       risks=tuple(risks), detail=detail)

    variants = [variant("egress-policy", needed)]
    if any(space.blocked != needed(space) for space in concerned):
        variants.append(variant("blocked-only", lambda space: [t for t in needed(space) if t in space.blocked]))
    notes = [line for space in concerned for line in _existing_notes(space)]
    notes.append("NetworkPolicies are additive: an isolated pod may reach what any egress policy selecting it "
                 "allows, so a new allow-policy opens what the deny policies close, and leaves them as they are.")
    notes += unread
    return FixPlan(f.code, f, variants[0].operations[0].target, tuple(variants), "", notes=tuple(notes))


def _policies_in(facts: Facts, ns: str) -> list[Mapping]:
    if ALL_POLICIES in facts.lists and ALL_POLICIES not in facts.unreadable:
        return [p for p in facts.lists.get(ALL_POLICIES, ()) if s(meta_of(p).get("namespace")) == ns]
    return list(facts.lists.get(policies_key(ns), ()))


def words(items: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return " and ".join(items) if len(items) < 3 else ", ".join(items[:-1]) + " and " + items[-1]

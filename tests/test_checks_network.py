"""ARC301–ARC304: egress that NetworkPolicies leave to listener and runner pods, and timeouts in their logs."""

from __future__ import annotations

from arc_top.checks.network import allows, selects
from arc_top.kube import model
from tests.checks_fixtures import codes, fleet, network_policy, of, tail

LISTENER_SELECTOR = {"matchLabels": {"app.kubernetes.io/component": "runner-scale-set-listener"}}
GOOD_EGRESS = [
    {"ports": [{"protocol": "TCP", "port": 443}], "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]},
    {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
     "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}]},
    {"ports": [{"protocol": "TCP", "port": 6443}], "to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]},
]
NET = {"ARC301", "ARC302", "ARC303"}


def test_default_deny_in_the_controller_namespace_cuts_the_listener_off():
    raws = fleet() + [network_policy("default-deny-egress", "arc-systems")]
    found = [f for f in of(raws, "ARC301") + of(raws, "ARC302") + of(raws, "ARC303")]
    assert {f.code for f in found} == NET
    for f in found:
        assert f.subject.kind == "NetworkPolicy" and f.subject.name == "default-deny-egress" and f.subject.uid
        assert f.scale_set == "arc-runners/arc-runner-set"
        assert "listener pod arc-runner-set-754b578d-listener" in f.evidence[0]
    assert {f.code: f.severity for f in found} == {"ARC301": "error", "ARC302": "error", "ARC303": "warning"}


def test_a_policy_allowing_https_dns_and_the_api_server_is_fine():
    raws = fleet() + [network_policy("default-deny-egress", "arc-systems"),
                      network_policy("listener-egress", "arc-systems", LISTENER_SELECTOR, egress=GOOD_EGRESS)]
    assert not codes(raws) & NET


def test_runner_pods_need_the_api_server_only_in_kube_mode():
    dns_only = [GOOD_EGRESS[1]]
    assert codes(fleet() + [network_policy("runners", "arc-runners", egress=dns_only)]) & NET == {"ARC301", "ARC303"}
    assert codes(fleet(mode="dind", enforce="privileged")
                 + [network_policy("runners", "arc-runners", egress=dns_only)]) & NET == {"ARC301"}
    # an ipBlock on 443 may be the API server's address (public endpoints exist): not reported
    github = {"ports": [{"protocol": "TCP", "port": 443}], "to": [{"ipBlock": {"cidr": "140.82.112.0/20"}}]}
    assert not codes(fleet() + [network_policy("runners", "arc-runners", egress=[github, *dns_only])]) & NET


def test_private_ip_blocks_do_not_reach_github_com_but_may_reach_a_ghes_host():
    private = [{"ports": [{"port": 443}], "to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}, *GOOD_EGRESS[1:]]
    assert "ARC301" in codes(fleet() + [network_policy("p", "arc-runners", egress=private)])
    ghes = fleet(url="https://ghes.internal.example/arc-org") + [network_policy("p", "arc-runners", egress=private)]
    assert "ARC301" not in codes(ghes)


def test_policies_that_do_not_select_or_do_not_isolate_egress_are_ignored():
    other = {"matchLabels": {"app": "something-else"}}
    assert not codes(fleet() + [network_policy("other", "arc-systems", other)]) & NET
    assert not codes(fleet() + [network_policy("ingress-only", "arc-systems", types=("Ingress",))]) & NET
    expressions = {"matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "NotIn",
                                         "values": ["runner-scale-set-listener"]}]}
    assert not codes(fleet() + [network_policy("not-listeners", "arc-systems", expressions)]) & NET


def test_one_finding_per_code_and_scale_set_however_many_pods():
    raws = fleet(runners=30) + [network_policy("deny", "arc-runners")]
    assert len(of(raws, "ARC301")) == 1
    assert "and 29 like it" in of(raws, "ARC301")[0].evidence[0]


def test_network_policies_unreadable_give_arc000():
    found = of(fleet(), "ARC000", states={model.NETWORK_POLICIES: "forbidden"})
    assert {f.subject.name for f in found} == {"arc-runners", "arc-systems"}
    assert all("ARC301–ARC303" in f.title for f in found)


def test_selector_and_rule_semantics():
    labels = {"a": "1", "b": "2"}
    assert selects({}, labels) and selects({"matchLabels": {"a": "1"}}, labels)
    assert not selects({"matchLabels": {"a": "2"}}, labels) and not selects(None, labels)
    assert selects({"matchExpressions": [{"key": "c", "operator": "DoesNotExist"}]}, labels)
    assert not selects({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}, labels)
    assert allows([{}], 443, ("TCP",), "public")                         # no ports, no peers: everything
    assert allows([{"ports": [{"port": 400, "endPort": 500}]}], 443, ("TCP",), "public")
    assert not allows([{"ports": [{"port": "https"}]}], 443, ("TCP",), "public")   # named port: in-cluster only
    assert allows([{"ports": [{"port": "dns", "protocol": "UDP"}], "to": [{"podSelector": {}}]}], 53,
                  ("UDP", "TCP"), "any")
    assert not allows([{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["0.0.0.0/0"]}}]}], 443, ("TCP",),
                      "public")
    assert not allows([{"to": [{"ipBlock": {"cidr": "not-an-ip"}}]}], 443, ("TCP",), "external")


# ---- ARC304 ------------------------------------------------------------------------------------------------
TIMEOUT = ('2026/01/01 00:00:00 Application returned an error: failed to create actions message session client: '
           'failed to get runner registration token on refresh: Post "https://api.github.com/orgs/arc-org/actions/'
           'runners/registration-token": dial tcp: lookup api.github.com on 10.96.0.10:53: read udp '
           '10.244.0.7:41235->10.96.0.10:53: i/o timeout')


def test_arc304_listener_log_timeouts():
    logs = [tail("arc-runner-set-754b578d-listener", ["starting", TIMEOUT], ns="arc-systems", container="listener")]
    [f] = of(fleet(), "ARC304", logs=logs)
    assert f.subject.kind == "Pod" and f.subject.name == "arc-runner-set-754b578d-listener" and f.subject.uid
    assert f.scale_set == "arc-runners/arc-runner-set" and "i/o timeout" in f.evidence[1]


def test_arc304_runner_logs_of_several_pods_make_one_finding():
    line = "[RUNNER 2026-01-01 00:00:00Z ERR  GitHubActionsService] POST request timed out after 100 seconds"
    logs = [tail(f"arc-runner-set-h8ff4-runner-{i:05d}", [line]) for i in range(2)]
    [f] = of(fleet(), "ARC304", logs=logs)
    assert "2 pods" in f.evidence[0]


def test_arc304_needs_log_evidence():
    assert not of(fleet(), "ARC304")
    assert not of(fleet(), "ARC304", logs=[tail("arc-runner-set-h8ff4-runner-00000", ["Listening for Jobs"])])

"""The egress fixes (ARC301/ARC302/ARC303): one NetworkPolicy `<scale set>-arc-egress` per namespace where the scale
set's pods are isolated, allowing DNS to the cluster DNS pods, HTTPS to GitHub and TCP to the API server — policies
are additive, so it opens what the deny policies close without touching them. Rehearsed in the sandbox
(`network-policy`: a default-deny egress policy in arc-systems cuts the listener off): dry-run writes nothing, apply
heals (the listener scales the runners up again), the findings clear, undo deletes the policy and they come back.
The plan itself, pure: the pod selector, the rules, a free name, hostile names in the kubectl heredoc."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from kubernetes import client

from arc_top.checks.finding import Finding, Subject
from arc_top.checks.fixplan import Facts, PlanError
from arc_top.checks.remedies import needs as remedy_needs
from arc_top.checks.remedies import plan as make_plan
from arc_top.checks.remedy_network import ALL_POLICIES, kubectl_apply, policies_key, spaces
from tests.conftest import api_client
from tests.fix_fixtures import diagnosed
from tests.waiting import wait_for

GROUP, VERSION = "actions.github.com", "v1alpha1"
NS, SET, CTRL = "arc-runners", "arc-runner-set", "arc-systems"
KEY = f"{NS}/{SET}"
POLICY = f"{SET}-arc-egress"
L_NAME, L_NS, L_COMP = ("actions.github.com/scale-set-name", "actions.github.com/scale-set-namespace",
                        "app.kubernetes.io/component")


@pytest.fixture()
def network_policy(tmp_path):
    with diagnosed("network-policy", tmp_path) as running:
        yield running


def policies(sb, ns: str) -> dict[str, dict]:
    api = client.NetworkingV1Api(api_client(sb))
    return {p.metadata.name: api.api_client.sanitize_for_serialization(p)
            for p in api.list_namespaced_network_policy(ns).items}


def replicas(sb) -> int:
    ers = client.CustomObjectsApi(api_client(sb)).list_namespaced_custom_object(GROUP, VERSION, NS,
                                                                                 "ephemeralrunnersets")["items"]
    return max((int(e["spec"].get("replicas") or 0) for e in ers), default=0)


def running_runners(sb) -> list[str]:
    pods = client.CoreV1Api(api_client(sb)).list_namespaced_pod(
        NS, label_selector=f"{L_NAME}={SET},{L_COMP}=runner").items
    return [p.metadata.name for p in pods if p.status.phase == "Running"]


def test_arc301_egress_policy_dry_run_apply_heal_clear_and_undo(network_policy, tmp_path):
    sb, diag = network_policy
    f301 = diag.find("ARC301", KEY)
    f302 = diag.find("ARC302", KEY)
    diag.find("ARC403", KEY)                                     # the listener fails: dial tcp … i/o timeout
    fixer = diag.fixer(tmp_path)
    plan = fixer.plan(f301, diag.latest()[0])
    assert [v.name for v in plan.variants] == ["egress-policy"]  # the deny policy blocks all three: one variant
    variant = plan.variants[0]
    assert [(op.verb, op.target.label()) for op in variant.operations] == [
        ("create", f"NetworkPolicy {CTRL}/{POLICY}")]           # arc-runners is not isolated: nothing there
    assert any(n.startswith(f"NetworkPolicy {CTRL}/default-deny-egress isolates the listener: it allows no egress")
               for n in plan.notes), plan.notes
    assert not any("controller-to-apiserver" in n for n in plan.notes)   # it selects the controller only
    assert "default-deny-egress blocks all three" in variant.summary
    assert variant.kubectl[0].startswith("kubectl apply -f - <<'EOF'\n") and variant.kubectl[0].endswith("\nEOF")
    assert not variant.helm and any("Not chart-managed" in r for r in variant.risks)

    preview = fixer.preview(plan, None)
    assert preview.dry_run_verdict == "dry-run: accepted", preview.dry_run_verdict
    lines = preview.diff_lines()
    assert "+  - Egress" in lines and "+      app.kubernetes.io/component: runner-scale-set-listener" in lines
    assert POLICY not in policies(sb, CTRL)                      # the dry-run created nothing

    applied = fixer.apply(preview)
    assert applied.outcome == "applied", applied.message()
    created = policies(sb, CTRL)[POLICY]
    assert created["spec"]["podSelector"]["matchLabels"] == {L_NAME: SET, L_NS: NS,
                                                             L_COMP: "runner-scale-set-listener"}
    assert set(policies(sb, CTRL)) == {"default-deny-egress", "controller-to-apiserver", POLICY}  # left as they were
    diag.cleared(f301, applied.at)
    diag.cleared(f302, applied.at)
    wait_for(lambda: replicas(sb) >= 2 and "ARC403" not in diag.codes(KEY), 90, 0.5,
             "the listener healthy again: it scales the runner set to minRunners")
    assert not {"ARC301", "ARC302", "ARC303"} & diag.codes(KEY)

    undo = fixer.undo_preview(applied)
    assert [(op.verb, op.target.label()) for op in undo.variant.operations] == [
        ("delete", f"NetworkPolicy {CTRL}/{POLICY}")]
    assert undo.variant.operations[0].uid == created["metadata"]["uid"]     # by the uid the server gave it
    assert fixer.apply(undo).outcome == "applied"
    assert POLICY not in policies(sb, CTRL)
    diag.find("ARC301", KEY, timeout=90)                         # blocked again
    assert fixer.audit.records()[0]["undone"]


def test_a_runner_namespace_isolated_too_gets_its_own_policy_and_the_runners_run(network_policy, tmp_path):
    """A deny policy in the runners' namespace as well, and a cluster that has the `kubernetes` Endpoints and the
    kube-dns Service (as every real one does): two policies, the API rule names the API server's address, the
    runners the healed listener asks for start and reach GitHub."""
    sb, diag = network_policy
    admin = api_client(sb)
    client.NetworkingV1Api(admin).create_namespaced_network_policy(NS, {
        "metadata": {"name": "default-deny-egress"}, "spec": {"podSelector": {}, "policyTypes": ["Egress"]}})
    core = client.CoreV1Api(admin)
    core.create_namespaced_endpoints("default", {
        "metadata": {"name": "kubernetes"},
        "subsets": [{"addresses": [{"ip": "172.18.0.2"}], "ports": [{"name": "https", "port": 6443,
                                                                      "protocol": "TCP"}]}]})
    core.create_namespaced_service("kube-system", {
        "metadata": {"name": "kube-dns", "labels": {"k8s-app": "kube-dns"}},
        "spec": {"selector": {"k8s-app": "kube-dns"}, "clusterIP": "10.96.0.10",
                 "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                           {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}})
    f = diag.find("ARC303", KEY)
    fixer = diag.fixer(tmp_path)
    plan = fixer.plan(f, diag.latest()[0])
    ops = plan.variants[0].operations
    assert [op.target.label() for op in ops] == [f"NetworkPolicy {NS}/{POLICY}", f"NetworkPolicy {CTRL}/{POLICY}"]
    runners = ops[0].body["spec"]
    assert runners["podSelector"]["matchLabels"] == {L_NAME: SET, L_NS: NS, L_COMP: "runner"}
    api_rule = runners["egress"][2]                              # kube mode: the hook talks to the API server
    assert api_rule == {"ports": [{"protocol": "TCP", "port": 6443}], "to": [{"ipBlock": {"cidr": "172.18.0.2/32"}}]}
    assert not any("API server's address could not be read" in r for r in plan.variants[0].risks)
    assert any(n.startswith(f"NetworkPolicy {NS}/default-deny-egress isolates the runners") for n in plan.notes)

    preview = fixer.preview(plan, None)
    assert preview.dry_run_verdict == "dry-run: accepted", preview.dry_run_verdict
    applied = fixer.apply(preview)
    assert applied.outcome == "applied", applied.message()
    diag.cleared(f, applied.at)
    wait_for(lambda: len(running_runners(sb)) >= 2, 120, 0.5, "the runners Running (they reached the broker)")
    assert not {"ARC301", "ARC302", "ARC303"} & diag.codes(KEY)

    undo = fixer.undo_preview(applied)
    assert [op.target.label() for op in undo.variant.operations] == [f"NetworkPolicy {CTRL}/{POLICY}",
                                                                      f"NetworkPolicy {NS}/{POLICY}"]
    assert fixer.apply(undo).outcome == "applied"
    assert POLICY not in policies(sb, NS) and POLICY not in policies(sb, CTRL)


# ---- the plan, pure -------------------------------------------------------------------------------------------
def _ars(name: str = SET, ns: str = NS, url: str = "https://github.com/arc-org", kube: bool = True) -> dict:
    spec: dict = {"containers": [{"name": "runner", "image": "ghcr.io/actions/actions-runner:latest"}]}
    if kube:
        spec["volumes"] = [{"name": "work", "ephemeral": {"volumeClaimTemplate": {"spec": {
            "storageClassName": "gp3", "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}}}}}}]
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "AutoscalingRunnerSet",
            "metadata": {"name": name, "namespace": ns, "uid": "u1", "resourceVersion": "7"},
            "spec": {"githubConfigUrl": url, "template": {"spec": spec}}}


def _listener(name: str = SET, ns: str = NS, where: str = CTRL) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{name}-754b578d-listener", "namespace": where,
                         "labels": {L_NAME: name, L_NS: ns, L_COMP: "runner-scale-set-listener"}}}


def _policy(ns: str, name: str, selector: dict | None = None, egress: list | None = None) -> dict:
    spec: dict = {"podSelector": selector or {}, "policyTypes": ["Egress"]}
    if egress is not None:
        spec["egress"] = egress
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


DENY = _policy(CTRL, "default-deny-egress")


def _facts(ars: dict, found: list[dict], listener: dict | None = None, **lists) -> Facts:
    listener = listener or _listener(ars["metadata"]["name"], ars["metadata"]["namespace"])
    return Facts(ars, listener_pods=[listener], lists={ALL_POLICIES: found, "runner_pods": [], "dns_services": [],
                                                       "api_endpoints": [], **lists})


def _finding(code: str = "ARC301", key: str = KEY, where: str = CTRL) -> Finding:
    return Finding(code, "error", "t", Subject("NetworkPolicy", where, "default-deny-egress", "p1"), scale_set=key)


def test_needs_reads_the_policies_of_the_namespaces_concerned_and_the_dns_and_api_server_objects():
    need = remedy_needs(_finding())
    assert need.target.label() == f"AutoscalingRunnerSet {KEY}" and need.listener_pods and need.listeners
    keys = {x.key: x.target for x in need.lists}
    assert keys[policies_key(NS)].namespace == NS and keys[policies_key(CTRL)].namespace == CTRL
    assert keys[ALL_POLICIES].namespace == "" and keys["dns_services"].namespace == "kube-system"
    assert keys["api_endpoints"].namespace == "default" and keys["api_endpoints"].kind == "Endpoints"


def test_the_policy_selects_the_listener_by_arc_labels_and_allows_dns_github_and_the_api_server():
    plan = make_plan(_finding(), _facts(_ars(), [DENY]))
    (op,) = plan.variants[0].operations
    body = op.body
    assert (op.verb, op.target.namespace, op.target.name) == ("create", CTRL, POLICY)
    assert body["spec"]["podSelector"] == {"matchLabels": {L_NAME: SET, L_NS: NS,
                                                           L_COMP: "runner-scale-set-listener"}}
    assert body["spec"]["policyTypes"] == ["Egress"]
    dns, github, api = body["spec"]["egress"]
    assert dns == {"ports": [{"protocol": "TCP", "port": 53}, {"protocol": "UDP", "port": 53}],
                   "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]}
    assert github == {"ports": [{"protocol": "TCP", "port": 443}], "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}
    assert api == {"ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}],
                   "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}
    risks = " ".join(plan.variants[0].risks)
    assert "https://api.github.com/meta" in risks and "addresses change" in risks
    assert "could not be read" in risks                             # neither the DNS Service nor the Endpoints
    # with the new policy in place, nothing is blocked any more (the check's own semantics)
    after = _facts(_ars(), [DENY, body])
    assert spaces(_ars(), after, kube_mode=True) == ([], [])


def test_the_rules_follow_the_dns_service_the_api_endpoints_and_a_ghes_address():
    svc = {"metadata": {"name": "coredns", "namespace": "kube-system"},
           "spec": {"selector": {"k8s-app": "coredns", "tier": "dns"},
                    "ports": [{"port": 53, "protocol": "UDP", "targetPort": 1053},
                              {"port": 53, "protocol": "TCP", "targetPort": "dns-tcp"}]}}
    ep = {"metadata": {"name": "kubernetes", "namespace": "default"},
          "subsets": [{"addresses": [{"ip": "10.0.0.5"}, {"ip": "10.0.0.6"}], "ports": [{"port": 6443}]}]}
    ars = _ars(url="https://10.20.30.40:8443/arc-org")
    plan = make_plan(_finding(), _facts(ars, [DENY], dns_services=[svc], api_endpoints=[ep]))
    dns, github, api = plan.variants[0].operations[0].body["spec"]["egress"]
    assert dns["ports"] == [{"protocol": "TCP", "port": 53}, {"protocol": "UDP", "port": 53},
                            {"protocol": "UDP", "port": 1053}]
    assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "coredns", "tier": "dns"}}
    assert github == {"ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 8443}],
                      "to": [{"ipBlock": {"cidr": "10.20.30.40/32"}}]}
    assert api == {"ports": [{"protocol": "TCP", "port": 6443}],
                   "to": [{"ipBlock": {"cidr": "10.0.0.5/32"}}, {"ipBlock": {"cidr": "10.0.0.6/32"}}]}
    assert not any("could not be read" in r or "0.0.0.0/0" in r for r in plan.variants[0].risks)
    named = make_plan(_finding(), _facts(_ars(url="https://ghes.example.com/arc-org"), [DENY]))
    assert named.variants[0].operations[0].body["spec"]["egress"][1]["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
    assert any("ghes.example.com" in r for r in named.variants[0].risks)


def test_runners_and_listener_in_one_isolated_namespace_share_one_policy():
    ars = _ars()
    deny = _policy(NS, "deny-all")
    facts = _facts(ars, [deny], listener=_listener(where=NS))
    (op,) = make_plan(_finding(where=NS), facts).variants[0].operations
    assert op.target.namespace == NS
    assert op.body["spec"]["podSelector"] == {
        "matchLabels": {L_NAME: SET, L_NS: NS},
        "matchExpressions": [{"key": L_COMP, "operator": "In", "values": ["runner", "runner-scale-set-listener"]}]}


def test_a_namespace_no_policy_isolates_gets_nothing_and_dind_runners_get_no_api_rule():
    runner_deny = _policy(NS, "deny-all")
    ars = _ars(kube=False)
    plan = make_plan(_finding(), _facts(ars, [runner_deny]))        # the listener's namespace is not isolated
    (op,) = plan.variants[0].operations
    assert op.target.namespace == NS and op.body["spec"]["podSelector"]["matchLabels"][L_COMP] == "runner"
    assert len(op.body["spec"]["egress"]) == 2                      # DNS and GitHub; no API server for dind runners
    with pytest.raises(PlanError, match="nothing to add"):
        make_plan(_finding(), _facts(ars, []))


def test_the_name_never_collides():
    taken = [DENY, _policy(CTRL, POLICY, {"matchLabels": {"app": "other"}}),
             _policy(CTRL, f"{POLICY}-2", {"matchLabels": {"app": "other"}})]
    (op,) = make_plan(_finding(), _facts(_ars(), taken)).variants[0].operations
    assert op.target.name == op.body["metadata"]["name"] == f"{POLICY}-3"


def test_blocked_only_adds_just_what_is_blocked_and_notes_say_what_each_policy_allows():
    dns_only = _policy(CTRL, "allow-dns", {}, [{"ports": [{"protocol": "UDP", "port": 53}],
                                               "to": [{"namespaceSelector": {}}]}])
    plan = make_plan(_finding(), _facts(_ars(), [DENY, dns_only]))
    assert [v.name for v in plan.variants] == ["egress-policy", "blocked-only"]
    only = plan.variant("blocked-only")
    rules = only.operations[0].body["spec"]["egress"]
    assert [r["ports"][0]["port"] for r in rules] == [443, 443]     # GitHub and the API server, no DNS
    assert only.detail.startswith("only what is blocked now:") and "ARC302" not in only.detail
    assert f"NetworkPolicy {CTRL}/allow-dns isolates the listener: it allows UDP 53 to every pod in every namespace" \
        in plan.notes
    assert f"NetworkPolicy {CTRL}/default-deny-egress isolates the listener: it allows no egress" in plan.notes
    assert any("additive" in n for n in plan.notes)


def test_without_the_right_to_list_every_namespace_the_namespaces_named_are_read_and_the_rest_noted():
    facts = _facts(_ars(), [], **{policies_key(NS): []})
    facts.lists.pop(ALL_POLICIES)
    facts.unreadable[ALL_POLICIES] = "forbidden"
    with pytest.raises(PlanError, match=f"NetworkPolicies in {CTRL} could not be read \\(forbidden\\)"):
        make_plan(_finding(), facts)
    facts.lists[policies_key(CTRL)] = [DENY]
    assert make_plan(_finding(), facts).variants[0].operations[0].target.namespace == CTRL


HOSTILE = "x'; rm -rf ~ #[bold]$(id)`id`"


def test_hostile_names_stay_data_in_the_kubectl_heredoc():
    ars = _ars(name=HOSTILE, ns="ns\"[red]")
    deny = _policy(CTRL, "deny;[bold]EOF")
    plan = make_plan(_finding(key=f"ns\"[red]/{HOSTILE}"), _facts(ars, [deny]))
    (op,) = plan.variants[0].operations
    (command,) = plan.variants[0].kubectl
    assert command.startswith("kubectl apply -f - <<'EOF'\n")
    # what the shell hands kubectl on stdin is exactly the policy
    shown = subprocess.run(["bash", "-c", command.replace("kubectl apply -f -", "cat", 1)], capture_output=True,
                           text=True, check=True).stdout
    assert yaml.safe_load(shown) == op.body
    assert op.body["spec"]["podSelector"]["matchLabels"][L_NAME] == HOSTILE
    assert op.body["metadata"]["name"] == f"{HOSTILE}-arc-egress"


def test_a_line_equal_to_the_delimiter_changes_the_delimiter(monkeypatch):
    from arc_top.checks import remedy_network
    monkeypatch.setattr(remedy_network, "yaml_text", lambda _body: "note: |\nEOF\nEOF_\n")
    command = kubectl_apply({})
    assert command.startswith("kubectl apply -f - <<'EOF__'\n") and command.endswith("\nEOF__")

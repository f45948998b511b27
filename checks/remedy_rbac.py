"""Fix for ARC503: the Role and RoleBinding kube mode needs for the runner ServiceAccount.

The kubernetes-mode container hook acts with the runner pod's ServiceAccount: it reads its own pod, creates the
workflow pod, execs the job's steps in it, follows step logs, runs container steps as Jobs and passes their
environment in Secrets — and checks every one of those rights (SelfSubjectAccessReview) before each job. The chart
renders a Role with exactly those rules (`<fullname>-kube-mode`, ARC_REFERENCE §3) only when
`template.spec.serviceAccountName` is unset; a custom account must be given them by hand.

The fix, in two steps: (1) create the Role `<scale set>-kube-mode-fix` in the scale set's namespace with exactly the
chart's kube-mode rules (kubernetes-novolume: without batch/jobs) — or, when a Role of that name exists already (an
earlier fix), patch in the rules it lacks; (2) bind it to the runner template's ServiceAccount ("default" when the
template names none) with a RoleBinding of the same name (another name when that one binds something else). A
ServiceAccount the template names that does not exist is created first. Undo deletes what was created.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping

from arc_top.checks import rbac
from arc_top.checks import template as tpl
from arc_top.checks.context import d, dicts, s
from arc_top.checks.finding import Finding
from arc_top.checks.fixplan import Facts, FixPlan, PlanError, Variant, pointer
from arc_top.checks.remedy_kit import (
    Listing,
    Needs,
    create_op,
    kubectl_patch,
    meta_of,
    patch_op,
    pod_spec_of,
    register,
    release_of,
    scale_set_key,
    scale_set_target,
    staged,
    target_of,
)
from arc_top.kube.operations import Target
from arc_top.kube.projections import scale_set as project_scale_set

RBAC_API = "rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"
SUFFIX = "-kube-mode-fix"
ACCOUNT_STEP = "create the ServiceAccount"
ROLE_STEP = "create the Role"
BIND_STEP = "bind it to the runner ServiceAccount"
CREATED_FOR = "arc-top/created-for"
DEFAULT_ACCOUNT = "default"

# Why the hook needs each rule (runner-container-hooks, kubernetes mode), keyed by (apiGroup, resource).
PURPOSES: dict[tuple[str, str], str] = {
    ("", "pods"): "the hook reads its own runner pod (to learn its node), creates the workflow pod and the step "
                  "pods, finds them by label and deletes them after the job",
    ("", "pods/exec"): "the hook runs the job's steps in the workflow pod (exec)",
    ("", "pods/log"): "the hook follows the output of container steps",
    ("batch", "jobs"): "container steps (`uses: docker://…`, Dockerfile actions) run as Jobs",
    ("", "secrets"): "the hook hands a container step its environment in a Secret and deletes it afterwards",
}


def role_target(namespace: str, name: str = "") -> Target:
    return Target(RBAC_API, "Role", "roles", namespace, name)


def binding_target(namespace: str, name: str = "") -> Target:
    return Target(RBAC_API, "RoleBinding", "rolebindings", namespace, name)


def account_target(namespace: str, name: str = "") -> Target:
    return Target("v1", "ServiceAccount", "serviceaccounts", namespace, name)


def _needs(f: Finding) -> Needs:
    key = scale_set_key(f)
    ns, _name = key
    return Needs(scale_set_target(*key),
                 lists=(Listing("roles", role_target(ns)), Listing("role_bindings", binding_target(ns)),
                        Listing("service_accounts", account_target(ns))))


# ---- the rules ------------------------------------------------------------------------------------------------
def required_rules(mode: str) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(group, resource, verbs) of the chart's kube-mode Role for `mode` (novolume: no batch/jobs)."""
    return rbac.NOVOLUME_RULES if mode == tpl.NOVOLUME else rbac.KUBE_MODE_RULES


def rule_body(group: str, resource: str, verbs: tuple[str, ...]) -> dict:
    return {"apiGroups": [group], "resources": [resource], "verbs": list(verbs)}


def chart_rules(mode: str) -> list[dict]:
    """The rules exactly as the gha-runner-scale-set chart renders them (kube_mode_role.yaml, 0.4 … 0.14.2)."""
    return [rule_body(*r) for r in required_rules(mode)]


def rule_label(group: str, resource: str, verbs: tuple[str, ...] | list[str]) -> str:
    """`pods/exec get, create`, `batch jobs get, list, create, delete`."""
    return f"{group + ' ' if group else ''}{resource} {', '.join(verbs)}"


def purpose_notes(mode: str) -> list[str]:
    """`pods/exec get, create: the hook runs the job's steps in the workflow pod (exec)`, one per rule."""
    return [f"{rule_label(group, resource, verbs)}: {PURPOSES[(group, resource)]}"
            for group, resource, verbs in required_rules(mode)]


def mode_of(ars: Mapping) -> str:
    """"kubernetes", "kubernetes-novolume" or "" — as the ARC503 check reads the scale set."""
    return tpl.kube_mode(project_scale_set(dict(ars)))


def runner_account(ars: Mapping) -> str:
    """The ServiceAccount runner pods run as: the template's, else the namespace's `default`."""
    return s(pod_spec_of(ars).get("serviceAccountName")) or DEFAULT_ACCOUNT


def finding_account(f: Finding) -> str:
    """The account the finding's evidence names (`service account ns/name lacks …`), "" when none."""
    for line in f.evidence:
        if line.startswith("service account "):
            return line[len("service account "):].split(" ", 1)[0].split("/", 1)[-1]
    return ""


# ---- the writes -----------------------------------------------------------------------------------------------
def _by_name(items: list[dict]) -> dict[str, dict]:
    return {s(meta_of(o).get("name")): o for o in items if s(meta_of(o).get("name"))}


def role_ops(role: Mapping, mode: str) -> list[dict]:
    """JSON patch ops adding to `role` the chart's rules (whole) for the resources it lacks a right on."""
    have = role.get("rules")
    existing = list(dicts(have)) if isinstance(have, list) else []
    lacking = {(g, r) for g, r, _v in rbac.missing(existing, required_rules(mode))}
    add = [rule_body(*x) for x in required_rules(mode) if (x[0], x[1]) in lacking]
    if not add:
        return []
    if isinstance(have, list):
        return [{"op": "add", "path": pointer("rules", len(have) + i), "value": r} for i, r in enumerate(add)]
    if "rules" in role:
        return [{"op": "test", "path": "/rules", "value": have}, {"op": "replace", "path": "/rules", "value": add}]
    return [{"op": "add", "path": "/rules", "value": add}]


def _binds(binding: Mapping, namespace: str, account: str) -> bool:
    return any(rbac.subject_matches(sub, namespace, account, namespace) and s(sub.get("kind")) == "ServiceAccount"
               for sub in dicts(binding.get("subjects")))


def _refers_to(binding: Mapping, role: str) -> bool:
    ref = d(binding.get("roleRef"))
    return s(ref.get("kind")) == "Role" and s(ref.get("name")) == role and s(ref.get("apiGroup")) in ("", RBAC_GROUP)


def binding_name(bindings: dict[str, dict], base: str, role: str) -> str:
    """`base`, unless a RoleBinding of that name refers to another role (roleRef cannot change): `base-2`, …"""
    name, n = base, 1
    while name in bindings and not _refers_to(bindings[name], role):
        n += 1
        name = f"{base}-{n}"
    return name


def _subject(namespace: str, account: str) -> dict:
    return {"kind": "ServiceAccount", "name": account, "namespace": namespace}


def _binding_ops(binding: Mapping, namespace: str, account: str) -> list[dict]:
    subjects = binding.get("subjects")
    if isinstance(subjects, list):
        return [{"op": "add", "path": pointer("subjects", len(subjects)), "value": _subject(namespace, account)}]
    if "subjects" in binding:
        return [{"op": "test", "path": "/subjects", "value": subjects},
                {"op": "replace", "path": "/subjects", "value": [_subject(namespace, account)]}]
    return [{"op": "add", "path": "/subjects", "value": [_subject(namespace, account)]}]


# ---- kubectl and Helm -----------------------------------------------------------------------------------------
def kubectl_create_role(namespace: str, name: str, rules: list[dict]) -> list[str]:
    """`kubectl create role` with the rules that share the first rule's verbs (kubectl gives every resource of
    one command the same verbs), then a JSON patch adding the others: together exactly the chart's rights."""
    verbs = rules[0]["verbs"]
    first = [r for r in rules if r["verbs"] == verbs]
    rest = [r for r in rules if r["verbs"] != verbs]
    resources = ",".join(r["resources"][0] + (f".{r['apiGroups'][0]}" if r["apiGroups"][0] else "") for r in first)
    out = [f"kubectl create role {shlex.quote(name)} -n {shlex.quote(namespace)} "
           f"--verb={shlex.quote(','.join(verbs))} --resource={shlex.quote(resources)}"]
    if rest:
        ops = [{"op": "add", "path": "/rules/-", "value": r} for r in rest]
        out.append(f"kubectl patch role {shlex.quote(name)} -n {shlex.quote(namespace)} --type json -p "
                   + shlex.quote(json.dumps(ops, separators=(",", ":"))))
    return out


def kubectl_create_binding(namespace: str, name: str, role: str, account: str) -> str:
    return (f"kubectl create rolebinding {shlex.quote(name)} -n {shlex.quote(namespace)} "
            f"--role={shlex.quote(role)} --serviceaccount={shlex.quote(f'{namespace}:{account}')}")


def _helm(release: str, mode: str, account: str) -> str:
    where = f"the values of Helm release {release}" if release else "the gha-runner-scale-set chart's values"
    return (
        "# The Role and RoleBinding this fix creates are not chart-managed: helm upgrade leaves them as they are\n"
        "# and helm uninstall does not remove them (delete them, or undo this fix, once the chart renders its own).\n"
        f"# To have the chart render its kube-mode ServiceAccount, Role and RoleBinding (<fullname>-kube-mode), in\n"
        f"# {where}:\n"
        f"containerMode:\n  type: {mode or tpl.KUBE}\n"
        + (f"# and remove template.spec.serviceAccountName ({account}): the chart renders its role only when it is "
           "unset\n" if account != DEFAULT_ACCOUNT else "")
        + "# (chart ≥0.13.1: containerMode.kubernetesModeAdditionalRoleRules adds rules of your own to that role)\n")


# ---- the plan -------------------------------------------------------------------------------------------------
@register("ARC503",
          summary="create a Role with the chart's kube-mode rules and bind it to the runner pods' ServiceAccount",
          variants=("kube-mode-role",), needs=_needs)
def kube_mode_role(f: Finding, facts: Facts) -> FixPlan:
    ars = facts.target
    target = target_of(ars, scale_set_target("", ""))
    ns, set_name = target.namespace, target.name
    release = release_of(ars)
    if not pod_spec_of(ars):
        raise PlanError(f"{target.label()} has no spec.template.spec")
    mode = mode_of(ars)
    if not mode:
        raise PlanError(f"{target.label()} is not in kubernetes mode: its runners need no kube-mode Role")
    for key, what in (("roles", "Roles"), ("role_bindings", "RoleBindings")):
        if key in facts.unreadable:
            raise PlanError(f"cannot list the {what} in {ns}: {facts.unreadable[key]}")
    account = runner_account(ars)
    rules = chart_rules(mode)
    roles, bindings = _by_name(facts.lists.get("roles", [])), _by_name(facts.lists.get("role_bindings", []))
    role_name = f"{set_name}{SUFFIX}"
    name = binding_name(bindings, role_name, role_name)
    ops, kubectl = [], []
    notes = [f"runner pods run as ServiceAccount {ns}/{account}"
             + ("" if s(pod_spec_of(ars).get("serviceAccountName")) else " (the template names none)")]

    accounts = _by_name(facts.lists.get("service_accounts", []))
    if "service_accounts" in facts.unreadable:
        notes.append(f"cannot list the ServiceAccounts in {ns} ({facts.unreadable['service_accounts']}): "
                     f"{account} is assumed to exist")
    elif account != DEFAULT_ACCOUNT and account not in accounts:
        body = {"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": account, "namespace": ns, "annotations": {CREATED_FOR: f"ARC503 {ns}/{set_name}"}}}
        ops.append(staged(create_op(account_target(ns, account), body,
                                    f"the scale set's runner pods run as {account}, which does not exist"),
                          ACCOUNT_STEP))
        kubectl.append(f"kubectl create serviceaccount {shlex.quote(account)} -n {shlex.quote(ns)}")

    role = roles.get(role_name)
    if role is None:
        body = {"apiVersion": RBAC_API, "kind": "Role",
                "metadata": {"name": role_name, "namespace": ns,
                             "annotations": {CREATED_FOR: f"ARC503 {ns}/{set_name}"}},
                "rules": rules}
        ops.append(staged(create_op(role_target(ns, role_name), body,
                                    "the rights the kubernetes-mode hook checks before every job"), ROLE_STEP))
        kubectl += kubectl_create_role(ns, role_name, rules)
        role_change = f"create Role {role_name} with the chart's kube-mode rules"
    else:
        patch = role_ops(role, mode)
        if patch:
            rt = target_of(role, role_target("", ""))
            ops.append(staged(patch_op(role, rt, patch, "add the kube-mode rules it lacks"), ROLE_STEP))
            kubectl.append(kubectl_patch(rt, patch))
            role_change = f"add the kube-mode rules Role {role_name} lacks"
        else:
            role_change = f"Role {role_name} has the kube-mode rules already"

    binding = bindings.get(name)
    if binding is None:
        body = {"apiVersion": RBAC_API, "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": ns, "annotations": {CREATED_FOR: f"ARC503 {ns}/{set_name}"}},
                "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": role_name},
                "subjects": [_subject(ns, account)]}
        ops.append(staged(create_op(binding_target(ns, name), body, f"grant Role {role_name} to {account}"),
                          BIND_STEP))
        kubectl.append(kubectl_create_binding(ns, name, role_name, account))
        bind_change = f"bind it to ServiceAccount {ns}/{account}"
    elif not _binds(binding, ns, account):
        patch = _binding_ops(binding, ns, account)
        bt = target_of(binding, binding_target("", ""))
        ops.append(staged(patch_op(binding, bt, patch, f"grant Role {role_name} to {account} too"), BIND_STEP))
        kubectl.append(kubectl_patch(bt, patch))
        bind_change = f"add ServiceAccount {ns}/{account} to RoleBinding {name}"
    else:
        bind_change = f"RoleBinding {name} binds it to {account} already"

    if not any(op.step != ACCOUNT_STEP for op in ops):
        raise PlanError(f"Role {role_name} grants the kube-mode rules to {ns}/{account} already "
                        f"({role_change.lower()}; {bind_change.lower()}): nothing to create")
    named = finding_account(f)
    if named and named != account:
        notes.append(f"the finding was about ServiceAccount {named}, the template's runner pods run as {account}")
    notes += [f"rule {n}" for n in purpose_notes(mode)]
    risks = (
        f"secrets get, list: any job on these runners can read every Secret in {ns} — as with the chart's own "
        "role; keep other Secrets out of the runner namespace.",
        "Steps that run on the runner itself (ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER=false, jobs without "
        "`container:`) act with these rights through the runner's token.",
        "Creating a Role takes the rights it grants (or `escalate`), binding it too (or `bind`): an account "
        "without them is refused at the dry-run.",
        "Not chart-managed: helm upgrade and uninstall leave the Role and RoleBinding; undo deletes them.",
    )
    summary = f"{role_change}, then {bind_change}"
    variant = Variant("kube-mode-role", summary, tuple(ops), kubectl=tuple(kubectl), helm=_helm(release, mode, account),
                      risks=risks, detail=f"Role {role_name} → ServiceAccount {ns}/{account}")
    return FixPlan(f.code, f, ops[0].target, (variant,), release, notes=tuple(notes))

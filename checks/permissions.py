"""The runner pod's rights and the work directory: fsGroup and chown fixes (ARC501, ARC507, ARC508), the log's word
on the work directory and job containers (ARC502, ARC504), kube-mode RBAC (ARC503), the runner container's shape
(ARC505) and PodSecurity levels (ARC506)."""

from __future__ import annotations

from collections.abc import Iterator

from arc_top.checks import rbac
from arc_top.checks import template as tpl
from arc_top.checks.catalogue import finding, not_evaluated
from arc_top.checks.context import Context, s, set_key, subject_of
from arc_top.checks.finding import WARNING, Finding, Subject
from arc_top.checks.registry import check
from arc_top.checks.text import plural, quote
from arc_top.kube import model

HOSTPATH_PROVISIONERS = frozenset({"rancher.io/local-path", "microk8s.io/hostpath", "k8s.io/minikube-hostpath",
                                   "docker.io/hostpath", "kubernetes.io/host-path", "hostpath.csi.k8s.io",
                                   "openebs.io/local"})
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"


def _log_hits(ctx: Context, fid: str) -> dict[str, tuple[list[str], list[Subject]]]:
    """Scale set key → (matching runner log lines, pods they came from) for failure `fid`."""
    out: dict[str, tuple[list[str], list[Subject]]] = {}
    for hits in ctx.log_hits:
        lines = hits.lines(ids=(fid,)) if hits.role in ("runner", "workflow", "other") else []
        if not lines:
            continue
        found, pods = out.setdefault(hits.key, ([], []))
        found.extend(line for line in lines[:2] if line not in found)
        pods.append(hits.pod)
    return out


def _log_finding(code: str, key: str, lines: list[str], pods: list[Subject]) -> Finding:
    names = sorted({p.name for p in pods})
    evidence = [*lines[:3], f"seen in {plural(len(names), 'pod')}: {', '.join(names[:3])}"
                + (" …" if len(names) > 3 else "")]
    return finding(code, pods[0], scale_set=key, evidence=evidence, related=tuple(pods[1:3]))


# ---- the work directory ----------------------------------------------------------------------------------------
def _work_writable(spec) -> bool:
    return tpl.fs_group(spec) is not None or tpl.working_chown(spec) or tpl.runs_as_root(spec)


@check("ARC501")
def fs_group(ctx: Context) -> Iterator[Finding]:
    hits = _log_hits(ctx, "F1")
    for ars in ctx.scale_sets:
        if tpl.kube_mode(ars) != tpl.KUBE:
            continue
        spec = tpl.pod_spec(ars)
        if _work_writable(spec):
            continue
        if tpl.claim_spec(tpl.work_volume(spec)) is None:
            continue                  # no PVC work volume: ARC204's business
        live = ctx.live_runner_pods(ars)
        if live and all(_work_writable(p.spec) for p in live):
            continue                  # the live pods answer: admission (e.g. an OpenShift SCC) set their fsGroup
        lines = hits.get(set_key(ars), ([], []))[0]
        bare = [p for p in live if not _work_writable(p.spec)]
        evidence = [*ctx.predicted_evidence(ars, live_evidence=bool(lines)),
                    "spec.template.spec.securityContext.fsGroup is not set",
                    "no init container chowns /home/runner/_work (with the work volume mounted)",
                    *([f"runner pod {bare[0].name} ({bare[0].namespace}) runs without them"
                       + (f", and {len(bare) - 1} like it" if len(bare) > 1 else "")] if bare else []), *lines[:2]]
        yield finding("ARC501", ctx.ars_subject(ars), scale_set=set_key(ars), evidence=evidence,
                      severity="" if lines else WARNING,
                      more="" if lines else "No runner log confirms it yet.")


@check("ARC502")
def work_dir_denied(ctx: Context) -> Iterator[Finding]:
    for key, (lines, pods) in sorted(_log_hits(ctx, "F1").items()):
        yield _log_finding("ARC502", key, lines, pods)


@check("ARC504")
def job_container_required(ctx: Context) -> Iterator[Finding]:
    for key, (lines, pods) in sorted(_log_hits(ctx, "F3").items()):
        yield _log_finding("ARC504", key, lines, pods)


@check("ARC507")
def chown_init(ctx: Context) -> Iterator[Finding]:
    for ars in ctx.scale_sets:
        spec = tpl.pod_spec(ars)
        problems = [p for p in (tpl.chown_problem(c, spec) for c in tpl.chown_inits(spec)) if p]
        if problems and not tpl.working_chown(spec) and not tpl.runs_as_root(spec):
            yield finding("ARC507", ctx.ars_subject(ars), scale_set=set_key(ars),
                          evidence=[*ctx.predicted_evidence(ars), *problems])


@check("ARC508")
def fs_group_ignored(ctx: Context) -> Iterator[Finding]:
    for ars in ctx.scale_sets:
        if tpl.kube_mode(ars) != tpl.KUBE:
            continue
        spec = tpl.pod_spec(ars)
        claim = tpl.claim_spec(tpl.work_volume(spec))
        if claim is None or tpl.fs_group(spec) is None or tpl.working_chown(spec) or tpl.runs_as_root(spec):
            continue
        why = ctx.blocked(model.STORAGE_CLASSES)
        if why:
            yield not_evaluated("ARC508", why, ctx.ars_subject(ars), set_key(ars))
            continue
        name = s(claim.get("storageClassName")) if claim.get("storageClassName") is not None else None
        if name is None:
            name = ctx.default_classes[0].name if ctx.default_classes else ""
        sc = ctx.storage_classes.get(name)
        provisioner = s(sc.body.get("provisioner")) if sc is not None else ""
        if provisioner not in HOSTPATH_PROVISIONERS:
            continue
        yield finding("ARC508", ctx.ars_subject(ars), scale_set=set_key(ars),
                      evidence=[*ctx.predicted_evidence(ars), f"securityContext.fsGroup: {tpl.fs_group(spec)}",
                                f"StorageClass {name}: provisioner {provisioner} (hostPath volumes ignore fsGroup)"],
                      related=(subject_of("StorageClass", sc),))


# ---- kube-mode RBAC --------------------------------------------------------------------------------------------
def runner_account(ctx: Context, ars: model.ScaleSet) -> str:
    """The account runner pods run as: the template's; else a live runner pod's; else (the pod ARC would render
    names none) the namespace's `default`, which Kubernetes gives a pod without one."""
    account = s(tpl.pod_spec(ars).get("serviceAccountName"))
    if account:
        return account
    pod = next(iter(ctx.runner_pods_by_set.get((ars.namespace, ars.name), ())), None)
    return (pod.service_account if pod is not None else "") or "default"


def _rbac_fully_visible(ctx: Context) -> bool:
    return all(ctx.snapshot.kinds.get(k) is not None and ctx.snapshot.kinds[k].state in ("live", "reconnecting")
               and ctx.snapshot.kinds[k].synced for k in (model.ROLES, model.ROLE_BINDINGS))


@check("ARC503")
def kube_mode_rbac(ctx: Context) -> Iterator[Finding]:
    hits = _log_hits(ctx, "F4")
    for ars in ctx.scale_sets:
        mode = tpl.kube_mode(ars)
        if not mode:
            continue
        key = set_key(ars)
        account = runner_account(ctx, ars)
        logged = hits.get(key, ([], []))[0]
        why = ctx.blocked(model.ROLE_BINDINGS, ars.namespace) or ctx.blocked(model.ROLES, ars.namespace)
        required = rbac.NOVOLUME_RULES if mode == tpl.NOVOLUME else rbac.KUBE_MODE_RULES
        if why:
            if logged:
                yield finding("ARC503", ctx.ars_subject(ars), scale_set=key,
                              evidence=[f"service account {ars.namespace}/{account}", *logged[:2]])
            else:
                yield not_evaluated("ARC503", why, ctx.namespace_subject(ars.namespace))
            continue
        grants = rbac.grants_for(ctx, ars.namespace, account)
        lacking = rbac.missing(grants.rules, required)
        if not lacking:
            continue
        if not logged and not _rbac_fully_visible(ctx):
            missing_what = ", ".join(grants.unresolved) or "cluster roles or cluster role bindings"
            yield not_evaluated("ARC503", f"cannot see all of {missing_what} for {ars.namespace}/{account}",
                                ctx.ars_subject(ars), key)
            continue
        evidence = [*ctx.predicted_evidence(ars, live_evidence=bool(logged)),
                    f"service account {ars.namespace}/{account} lacks {rbac.describe(lacking)}",
                    "bound: " + ("; ".join(grants.sources) or "nothing")]
        evidence += [f"{label}: the role does not exist" for label in grants.unresolved]
        sa = ctx.service_accounts.get((ars.namespace, account))
        if sa is None and not ctx.blocked(model.SERVICE_ACCOUNTS, ars.namespace):
            evidence.append(f"ServiceAccount {account} does not exist in {ars.namespace}")
        related = (subject_of("ServiceAccount", sa),) if sa is not None else ()
        yield finding("ARC503", ctx.ars_subject(ars), scale_set=key, evidence=[*evidence, *logged[:2]],
                      related=related)


# ---- the runner container and PodSecurity ----------------------------------------------------------------------
@check("ARC505")
def runner_container(ctx: Context) -> Iterator[Finding]:
    for ars in ctx.scale_sets:
        if not tpl.kube_mode(ars):
            continue
        spec = tpl.pod_spec(ars)
        runner = tpl.runner_container(spec)
        if runner is None:
            names = ", ".join(quote(c.get("name"), 40) for c in tpl.containers(spec)) or "none"
            evidence = [f"no container named \"runner\" (containers: {names})"]
        else:
            env = tpl.env(runner)
            lacking = [n for n in (tpl.HOOKS_ENV, tpl.POD_NAME_ENV) if n not in env]
            if not lacking:
                continue
            evidence = [f"runner container lacks {', '.join(lacking)}"]
        yield finding("ARC505", ctx.ars_subject(ars), scale_set=set_key(ars),
                      evidence=[*ctx.predicted_evidence(ars), *evidence])


@check("ARC506")
def pod_security(ctx: Context) -> Iterator[Finding]:
    why = ctx.blocked(model.NAMESPACES)
    for ars in ctx.scale_sets:
        mode = tpl.kube_mode(ars) or ars.mode
        if mode not in ("dind", tpl.KUBE, tpl.NOVOLUME):
            continue
        if why:
            yield not_evaluated("ARC506 and ARC606", why, ctx.namespace_subject(ars.namespace))
            continue
        ns = ctx.namespaces.get(ars.namespace)
        if ns is None:
            continue
        level = ns.labels.get(PSA_ENFORCE, "")
        evidence = [f"namespace {ns.name}: {PSA_ENFORCE}={level}"]
        rejected: list[str] = []
        if mode == "dind" and level in ("baseline", "restricted"):
            evidence.append("dind mode runs the `dind` container privileged")
            rejected = [er.message for er in ctx.runners_by_set.get((ars.namespace, ars.name), ())
                        if er.reason == "InvalidPod" and "PodSecurity" in er.message]
            evidence += rejected[:1]
        elif mode in (tpl.KUBE, tpl.NOVOLUME) and level == "restricted":
            if tpl.HOOK_TEMPLATE_ENV in tpl.env(tpl.runner_container(tpl.pod_spec(ars))):
                continue
            evidence.append(f"no {tpl.HOOK_TEMPLATE_ENV}: the hook's workflow pods get no securityContext")
        else:
            continue
        evidence = [*ctx.predicted_evidence(ars, live_evidence=bool(rejected)), *evidence]
        yield finding("ARC506", ctx.namespace_subject(ns.name), scale_set=set_key(ars), evidence=evidence,
                      related=(ctx.ars_subject(ars),))

"""The finding codes: severity, title, docs link, explanation and fix, as data. The single source of that wording.

Codes are a contract: users grep, filter and silence them, and the JSON output carries them. Never renumber;
retire a code by leaving it out of use. ARC104–ARC107 come from the GitHub credential probes (checks/credentials.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from arc_top.checks.finding import ERROR, INFO, WARNING, Finding, Subject
from arc_top.checks.text import clean

_GH = "https://docs.github.com/en/actions/hosting-your-own-runners/managing-self-hosted-runners-with-actions-runner-controller/"
TROUBLESHOOTING = _GH + "troubleshooting-actions-runner-controller-errors"
AUTHENTICATING = _GH + "authenticating-to-the-github-api"
DEPLOYING = _GH + "deploying-runner-scale-sets-with-actions-runner-controller"
ABOUT_ARC = _GH + "about-actions-runner-controller"
K8S_STORAGE_CLASSES = "https://kubernetes.io/docs/concepts/storage/storage-classes/"
K8S_PVC = "https://kubernetes.io/docs/concepts/storage/persistent-volumes/"
K8S_EPHEMERAL = "https://kubernetes.io/docs/concepts/storage/ephemeral-volumes/"
K8S_NETPOL = "https://kubernetes.io/docs/concepts/services-networking/network-policies/"
K8S_PSA = "https://kubernetes.io/docs/concepts/security/pod-security-admission/"
K8S_RBAC = "https://kubernetes.io/docs/reference/access-authn-authz/rbac/"
K8S_RESOURCES = "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/"
K8S_SECURITY_CONTEXT = "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/"
K8S_DEBUG_PODS = "https://kubernetes.io/docs/tasks/debug/debug-application/debug-pods/"
HOOKS = "https://github.com/actions/runner-container-hooks/blob/main/packages/k8s/README.md"


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    severity: str
    title: str
    docs: str
    explanation: str
    fix: str


def _c(code: str, severity: str, title: str, docs: str, explanation: str, fix: str) -> Code:
    return Code(code, severity, title, docs, explanation, fix)


CODES: dict[str, Code] = {c.code: c for c in (
    _c("ARC000", INFO, "Check not evaluated", ABOUT_ARC,
       "arc-top could not evaluate a check: it may not read what the check needs, the data has not arrived yet, "
       "or the check itself failed. It does not guess.",
       "Grant read access to the named kind (or wait for the first sync), then look again."),
    # ---- credentials and GitHub configuration -------------------------------------------------------------
    _c("ARC101", ERROR, "GitHub credentials Secret not found", AUTHENTICATING,
       "spec.githubConfigSecret names a Secret that does not exist in the scale set's namespace. The controller "
       "cannot create the listener, so nothing scales.",
       "Create the Secret in the scale set's namespace (github_token, or the three GitHub App keys), or point "
       "githubConfigSecret at an existing one."),
    _c("ARC102", ERROR, "GitHub credentials Secret has the wrong keys", AUTHENTICATING,
       "ARC reads either github_token, or all three of github_app_id, github_app_installation_id and "
       "github_app_private_key. With neither it fails with \"no credentials provided\"; with both it fails with "
       "\"both PAT and GitHub App credentials provided\".",
       "Keep exactly one kind of credential in the Secret: github_token alone, or the three GitHub App keys."),
    _c("ARC103", ERROR, "Whitespace or newline in a GitHub credential", TROUBLESHOOTING,
       "ARC uses Secret values as they are, never trimmed. A token with a trailing newline makes Go refuse the "
       "Authorization header (\"invalid header field value\"); an app or installation id with one fails to parse. "
       "This usually comes from `echo` instead of `echo -n`, or a value read from a file.",
       "Rewrite the Secret with trimmed values (kubectl create secret generic … --from-literal, or echo -n), then "
       "delete the listener pod so it reloads. A PEM private key may keep its final newline."),
    _c("ARC104", ERROR, "GitHub rejects the credential (401 Bad credentials)", TROUBLESHOOTING,
       "arc-top asked GitHub's API with the Secret's token and GitHub answered 401 Bad credentials: the token is "
       "wrong, expired or revoked, or it belongs to another GitHub host. The listener fails the same way and is "
       "recreated again and again.",
       "Create a new token (classic PAT: repo for a repository, admin:org for an organization, "
       "manage_runners:enterprise for an enterprise), write it into the Secret's github_token, then delete the "
       "listener pod so it reloads."),
    _c("ARC105", ERROR, "Credential lacks the scope or permission the scale set's level needs", AUTHENTICATING,
       "GitHub refused to list the self-hosted runners of the githubConfigUrl's enterprise, organization or "
       "repository with this token (403, or 404 where the token cannot see the target). ARC needs a classic PAT "
       "with repo (repository), admin:org (organization) or manage_runners:enterprise (enterprise), or a "
       "fine-grained token with Administration (repository) or Self-hosted runners (organization) read and write. "
       "Enterprise scale sets work only with a classic PAT.",
       "Give the token the scope or permission named in the title, or store a token that has it in the Secret, "
       "then delete the listener pod."),
    _c("ARC106", WARNING, "The GitHub token expires soon", AUTHENTICATING,
       "GitHub reports an expiry date for this token (github-authentication-token-expiration) within 7 days. "
       "When it passes, GitHub answers 401 and the listener stops scaling.",
       "Rotate the token before it expires (or use a GitHub App, which does not expire), write it into the "
       "Secret's github_token, then delete the listener pod."),
    _c("ARC107", ERROR, "The GitHub App cannot act for this scale set", AUTHENTICATING,
       "arc-top signed a JWT with the Secret's private key, as the listener does, and asked GitHub about the App "
       "and its installation. The key does not match the app id, the App is not installed on the target, it lacks "
       "the Self-hosted runners (organization) or Administration (repository) permission, or the clocks differ "
       "by more than a minute (GitHub refuses JWTs from the future or too far ahead).",
       "Fix what the title names: the key or app id, the installation (and github_app_installation_id), the "
       "App's permissions, or the clock (NTP); then delete the listener pod."),
    _c("ARC108", ERROR, "githubConfigUrl is not an enterprise, org or repository URL", DEPLOYING,
       "githubConfigUrl must be the web URL of what the runners register to: https://<host>/<org>, "
       "https://<host>/<owner>/<repo> or https://<host>/enterprises/<slug>. API URLs (api.github.com, /api/v3) "
       "and extra path parts are rejected (\"invalid config URL\") or end in 404s.",
       "Set githubConfigUrl to the web URL of the enterprise, organization or repository."),
    _c("ARC109", INFO, "A personal access token is used where a GitHub App would do", AUTHENTICATING,
       "A PAT acts as the person who made it, expires with them and usually carries more rights than ARC needs. "
       "A GitHub App (Self-hosted runners read/write) is the recommended credential for organization and "
       "repository scale sets; only enterprise-level scale sets need a classic PAT.",
       "Create a GitHub App with the Self-hosted runners permission, install it, and store github_app_id, "
       "github_app_installation_id and github_app_private_key in the Secret instead of github_token."),
    # ---- work volumes (kubernetes mode) -----------------------------------------------------------------
    _c("ARC201", ERROR, "Work volume asks for a StorageClass that does not exist", K8S_STORAGE_CLASSES,
       "In kubernetes mode every runner pod gets an ephemeral work volume from the claim template. Its "
       "storageClassName names a class the cluster does not have, so the claims stay Pending and the runner "
       "pods never schedule.",
       "Set spec.template.spec.volumes[work].ephemeral.volumeClaimTemplate.spec.storageClassName "
       "(chart value containerMode.kubernetesModeWorkVolumeClaim.storageClassName) to an existing class."),
    _c("ARC202", ERROR, "Work volume has no StorageClass and the cluster has no default", K8S_STORAGE_CLASSES,
       "The work volume claim template sets no storageClassName and no StorageClass is marked default, so no "
       "provisioner picks the claims up (\"no persistent volumes available for this claim and no storage class "
       "is set\").",
       "Set storageClassName in the work volume claim template, or mark a class default "
       "(annotation storageclass.kubernetes.io/is-default-class=\"true\")."),
    _c("ARC203", ERROR, "Work volume claim stuck Pending", K8S_PVC,
       "A runner's work PersistentVolumeClaim has been Pending for a while (or its provisioner reported a "
       "failure), so its runner pod cannot start. Pending is normal with WaitForFirstConsumer only until the "
       "pod is scheduled.",
       "Read the claim's events: fix the storage class or provisioner they name, then delete the stuck runner "
       "pods (ARC makes new ones)."),
    _c("ARC204", ERROR, "Kubernetes mode work volume claim template is missing or incomplete", DEPLOYING,
       "Kubernetes mode needs a `work` ephemeral volume whose claim template has accessModes and a size. The "
       "chart renders an empty claim when containerMode.kubernetesModeWorkVolumeClaim is unset, and the API "
       "server rejects such pods.",
       "Set containerMode.kubernetesModeWorkVolumeClaim to accessModes [ReadWriteOnce], a storageClassName and "
       "resources.requests.storage (e.g. 1Gi)."),
    _c("ARC205", WARNING, "Workflow pods may not attach the ReadWriteOnce work volume", HOOKS,
       "The kube-mode hook mounts the runner's work volume into the workflow pod. With "
       "ACTIONS_RUNNER_USE_KUBE_SCHEDULER=true that pod may land on another node, where a ReadWriteOnce volume "
       "cannot attach (Multi-Attach error).",
       "Drop ACTIONS_RUNNER_USE_KUBE_SCHEDULER (the hook then pins the workflow pod to the runner's node), use a "
       "ReadWriteMany class, or use kubernetes-novolume mode."),
    _c("ARC206", INFO, "Work volumes use the cluster's default storage class", K8S_STORAGE_CLASSES,
       "Every runner pod creates and deletes a work volume. On the default class they share quota, IOPS and "
       "provisioner load with everything else in the cluster.",
       "Consider a dedicated StorageClass for runner work volumes (reclaimPolicy Delete, "
       "volumeBindingMode WaitForFirstConsumer)."),
    # ---- network ------------------------------------------------------------------------------------------
    _c("ARC301", ERROR, "NetworkPolicy blocks egress to HTTPS (443)", K8S_NETPOL,
       "NetworkPolicies select these listener or runner pods for egress but no rule lets them reach TCP 443 "
       "outside the cluster. The listener cannot talk to GitHub and runners cannot register or download actions.",
       "Allow egress on TCP 443 to GitHub (github.com, api.github.com, *.actions.githubusercontent.com; your "
       "GHES host), e.g. an ipBlock rule for 0.0.0.0/0 port 443 in a policy selecting these pods."),
    _c("ARC302", ERROR, "NetworkPolicy blocks DNS", K8S_NETPOL,
       "NetworkPolicies select these pods for egress but allow no traffic to port 53, so no host name resolves "
       "(\"dial tcp: lookup … i/o timeout\").",
       "Allow egress to the cluster DNS on UDP and TCP 53 (usually kube-system, k8s-app=kube-dns)."),
    _c("ARC303", WARNING, "NetworkPolicy blocks the Kubernetes API server", K8S_NETPOL,
       "The listener patches its EphemeralRunnerSet through the Kubernetes API, and in kubernetes mode the runner's "
       "hook creates the workflow pods through it. No egress rule reaches the API server (TCP 443/6443).",
       "Allow egress to the API server's addresses on TCP 443 and 6443 (kubectl get endpoints kubernetes)."),
    _c("ARC304", ERROR, "Logs show GitHub connection timeouts or DNS failures", TROUBLESHOOTING,
       "The listener or runner logs show connections to GitHub timing out or names not resolving. A NetworkPolicy, "
       "firewall, proxy or DNS problem keeps the pods from reaching GitHub.",
       "Allow egress to DNS and to GitHub on 443 (or configure spec.proxy), then delete the listener pod."),
    # ---- scaling and runner lifecycle ------------------------------------------------------------------
    _c("ARC401", ERROR, "Fewer runners than minRunners", TROUBLESHOOTING,
       "Fewer runner pods are running than minRunners asks for. Failed EphemeralRunners count toward the replicas, "
       "a dead listener scales nothing, and Pending pods do not run jobs.",
       "Fix the cause named in the evidence; then delete the Failed EphemeralRunners so ARC makes new ones."),
    _c("ARC402", ERROR, "Failed EphemeralRunners hold replica slots", TROUBLESHOOTING,
       "A Failed EphemeralRunner stays until deleted and counts toward the runner set's replicas, so it takes the "
       "place of a working runner.",
       "Fix the cause in the runner's message, then delete the Failed EphemeralRunners "
       "(kubectl delete ephemeralrunner -n <ns> <name>)."),
    _c("ARC403", ERROR, "Listener missing or failing", TROUBLESHOOTING,
       "The listener applies minRunners and scales the runners; without a healthy listener nothing scales. A "
       "failing listener shows as a young pod in Error, recreated again and again (not CrashLoopBackOff).",
       "Read the listener log (the evidence quotes it): fix the credentials, permissions, runner group or "
       "network it names, then delete the listener pod so it starts over."),
    _c("ARC404", ERROR, "Runner pods exit 0 without taking a job (start-up churn)", TROUBLESHOOTING,
       "run.sh turns a runner start-up failure into exit code 0, so ARC deletes the runner and makes another: "
       "pods complete quickly, take no job, and are replaced again and again.",
       "Read a runner pod's log for the start-up error (often the work directory, see ARC501/ARC502) and fix it."),
    _c("ARC405", ERROR, "Runner pods stuck Pending", K8S_DEBUG_PODS,
       "Runner pods are not starting: they cannot be scheduled, their image cannot be pulled, or a quota or "
       "volume holds them back. ARC never fails these runners; they just wait.",
       "Fix what the pod's events name: the image or imagePullSecrets, node capacity or selectors, the quota, or "
       "the work volume."),
    _c("ARC406", ERROR, "No running ARC controller for these scale sets", DEPLOYING,
       "No gha-runner-scale-set-controller pod is running, so nobody reconciles the scale sets: no listeners, no "
       "runners, no clean-up.",
       "Install or repair the gha-runner-scale-set-controller release (same chart version as the scale sets)."),
    _c("ARC407", ERROR, "Runner pod rejected at creation (InvalidPod)", TROUBLESHOOTING,
       "The API server refused the runner pod (admission, PodSecurity, a webhook or an invalid template). ARC marks "
       "the EphemeralRunner Failed with reason InvalidPod; it counts toward replicas and is not retried.",
       "Fix the template or the namespace policy named in the message, then delete the Failed EphemeralRunners."),
    _c("ARC408", ERROR, "Jobs waiting: no runner can take them", TROUBLESHOOTING,
       "The listener reports jobs assigned to this scale set that no runner has started for minutes, and no "
       "runner is idle to take them, while the scale set is below maxRunners: the runners it makes fail. The "
       "evidence names the findings that keep them from starting.",
       "Fix the findings named in the title (each has its own fix); the waiting jobs start once a runner comes up."),
    _c("ARC409", ERROR, "Scale set not registered with GitHub", TROUBLESHOOTING,
       "ARC registers a scale set by creating it on GitHub's Actions service and writing its id into the annotation "
       "runner-scale-set-id; only then does it make the listener and the runner set. This one still has no valid id "
       "minutes after it was created or last changed: the controller cannot reach GitHub, or GitHub refuses it "
       "(credentials, the TLS certificate or proxy of githubConfigUrl, the URL or runner group). It runs no job.",
       "Fix the cause the evidence names (the Secret, githubServerTLS or proxy, githubConfigUrl, the runner group); "
       "the controller retries by itself. Read its log for the exact error: kubectl logs -n <controller namespace> "
       "deploy/<controller> | grep <scale set>."),
    _c("ARC410", ERROR, "The ARC controller logs an error no other check explains", TROUBLESHOOTING,
       "The gha-runner-scale-set controller logged an error about this scale set (or one of its objects) that arc-top "
       "cannot tie to another finding. Errors that another finding explains are quoted there instead.",
       "Read the quoted line: it names the object and the error. Fix what it names, then check that the controller "
       "logs no new error for the object."),
    # ---- permissions and pod security -------------------------------------------------------------------
    _c("ARC501", ERROR, "Kube mode work volume is not writable by the runner", TROUBLESHOOTING,
       "The work volume is mounted root-owned and the runner runs as UID 1001. Without "
       "securityContext.fsGroup (or an init container that chowns _work) the runner cannot create its work "
       "directory; the chart does not set fsGroup.",
       "Set spec.template.spec.securityContext.fsGroup: 123 in the scale set."),
    _c("ARC502", ERROR, "Runner cannot write its work directory", TROUBLESHOOTING,
       "The runner log shows it cannot create or use /home/runner/_work: the work volume is not writable by "
       "UID 1001 (no fsGroup, or a volume type that ignores fsGroup).",
       "Set spec.template.spec.securityContext.fsGroup: 123; where the volume ignores fsGroup, add an init "
       "container that runs `sudo chown -R 1001:123 /home/runner/_work` with the work volume mounted."),
    _c("ARC503", ERROR, "Runner service account lacks kube-mode permissions", K8S_RBAC,
       "In kubernetes mode the runner's hook creates workflow pods, exec's into them, reads their logs and manages "
       "secrets (and jobs) with the runner pod's service account. It checks these rights before every job and "
       "fails the job when one is missing.",
       "Grant the runner pod's service account the kube-mode Role: pods get/list/create/delete, pods/exec "
       "get/create, pods/log get/list/watch, batch jobs get/list/create/delete, secrets get/list/create/delete."),
    _c("ARC504", WARNING, "Jobs without a job container are refused", HOOKS,
       "Kubernetes mode sets ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER=true: a job without `container:` fails with "
       "\"Jobs without a job container are forbidden on this runner\".",
       "Add `container:` to the workflow job, or set ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER=\"false\" on the runner "
       "container (steps then run in the runner pod with its service account's rights)."),
    _c("ARC505", ERROR, "Kube mode runner container is misconfigured", DEPLOYING,
       "ARC and the kube-mode hook need the runner container to be named `runner` and to carry "
       "ACTIONS_RUNNER_CONTAINER_HOOKS and ACTIONS_RUNNER_POD_NAME.",
       "Name the container `runner` and keep the env the chart adds (ACTIONS_RUNNER_CONTAINER_HOOKS="
       "/home/runner/k8s/index.js, ACTIONS_RUNNER_POD_NAME from metadata.name)."),
    _c("ARC506", ERROR, "Namespace PodSecurity level rejects this container mode", K8S_PSA,
       "The namespace's pod-security.kubernetes.io/enforce level refuses what the mode needs: dind runs a "
       "privileged container; kube mode's workflow pods get no securityContext unless a hook template adds one.",
       "Label the namespace with a level the mode needs (privileged for dind, baseline for kube mode), or use a "
       "mode/hook template whose pods comply."),
    _c("ARC507", WARNING, "The chown init container cannot fix the work directory", TROUBLESHOOTING,
       "An init container meant to chown /home/runner/_work cannot work: it does not mount the work volume "
       "(GitHub's doc example mis-indents the mount), or it runs sudo where privilege escalation is forbidden.",
       "Mount the `work` volume at /home/runner/_work in the init container, and run it as root "
       "(securityContext.runAsUser: 0) instead of sudo when allowPrivilegeEscalation is false."),
    _c("ARC508", WARNING, "fsGroup is ignored by this volume type", K8S_SECURITY_CONTEXT,
       "fsGroup is set, but the work volume's StorageClass uses a hostPath-style provisioner that ignores it, so "
       "the work directory stays root-owned.",
       "Add an init container (runner image) running `sudo chown -R 1001:123 /home/runner/_work` with the work "
       "volume mounted, or use a StorageClass whose volumes honour fsGroup."),
    # ---- practices and versions -------------------------------------------------------------------------
    _c("ARC601", WARNING, "Runner container has no resource requests or limits", K8S_RESOURCES,
       "Without CPU/memory requests the scheduler packs runners blindly and jobs starve each other; without "
       "limits one job can exhaust a node.",
       "Set resources.requests (and limits) for cpu and memory on the runner container."),
    _c("ARC602", INFO, "Runner image is not pinned", DEPLOYING,
       "The runner image uses `latest` or no tag, so runner versions change under you and differ between pods.",
       "Pin the runner image to a version tag (or digest) and upgrade deliberately."),
    _c("ARC603", ERROR, "Scale set and controller versions differ", TROUBLESHOOTING,
       "The controller deletes scale sets whose chart version does not match its own (major.minor from 0.12, "
       "exactly before): \"Autoscaling runner set version doesn't match the build version\".",
       "Install the same chart version for gha-runner-scale-set-controller and every gha-runner-scale-set."),
    _c("ARC604", WARNING, "Listener image differs from the controller image", TROUBLESHOOTING,
       "The listener's image is stamped when the AutoscalingListener is created; after a controller upgrade old "
       "listeners keep the old image.",
       "Delete the AutoscalingListener (the controller recreates it with its own image)."),
    _c("ARC605", ERROR, "ARC CRDs are older than the controller", TROUBLESHOOTING,
       "Helm never upgrades CRDs. With old CRDs the API server drops fields the controller writes (for example "
       "AutoscalingRunnerSet status.phase from 0.14) or the controller cannot read the objects.",
       "Delete and reinstall the ARC CRDs of the controller's version, as the upgrade guide describes."),
    _c("ARC606", INFO, "Runner namespace has no PodSecurity labels", K8S_PSA,
       "Without pod-security.kubernetes.io/enforce the cluster default applies (often privileged), so nothing "
       "limits what runner and workflow pods may do.",
       "Label the namespace with the strictest level the container mode allows (baseline for kube mode, "
       "privileged only for dind)."),
)}


def finding(code: str, subject: Subject, *, scale_set: str = "", evidence=(), severity: str = "",
            title: str = "", more: str = "", fix: str = "", related=()) -> Finding:
    """A finding worded from the catalogue: `more` is appended to the explanation, `fix` replaces the generic fix
    when the check knows the concrete change. Evidence lines are cleaned (escapes, credentials, length)."""
    entry = CODES[code]
    explanation = f"{entry.explanation} {more}".strip() if more else entry.explanation
    lines = tuple(line for line in (clean(e) for e in evidence) if line)
    return Finding(code=code, severity=severity or entry.severity, title=title or entry.title, subject=subject,
                   scale_set=scale_set, evidence=lines, explanation=explanation, docs=entry.docs,
                   fix=fix or entry.fix, related=tuple(related))


def not_evaluated(codes: str, what: str, subject: Subject, scale_set: str = "", evidence=()) -> Finding:
    """ARC000: `codes` ("ARC101–ARC103") could not be evaluated; `what` says what is missing."""
    return finding("ARC000", subject, scale_set=scale_set, evidence=evidence,
                   title=clean(f"not evaluated: {codes} {what}", 200))

"""API-server validation (400/422) and Pod Security Admission (403) with the real apiserver wording."""

from __future__ import annotations

import copy
import itertools

import pytest

from arc_top.sandbox import admission
from arc_top.sandbox.errors import ApiError
from arc_top.sandbox.resources import lookup

PODS = lookup("pods")
RUNNER_IMAGE = "ghcr.io/actions/actions-runner:latest"
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                 "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
                 "regex used for validation is "
                 r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
             "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
             "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


def namespace(level: str | None = None, version: str | None = None) -> dict:
    labels = {"kubernetes.io/metadata.name": "arc-runners"}
    if level:
        labels["pod-security.kubernetes.io/enforce"] = level
    if version:
        labels["pod-security.kubernetes.io/enforce-version"] = version
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "arc-runners", "labels": labels}}


def kube_mode_pod(claim_spec: dict | None = None) -> dict:
    """The runner pod ARC renders for containerMode kubernetes (no securityContext at all)."""
    if claim_spec is None:
        claim_spec = {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                      "resources": {"requests": {"storage": "1Gi"}}}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "arc-runner-set-h8ff4-runner-668fh", "namespace": "arc-runners"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{
                "name": "runner", "image": RUNNER_IMAGE, "command": ["/home/runner/run.sh"],
                "env": [{"name": "ACTIONS_RUNNER_CONTAINER_HOOKS", "value": "/home/runner/k8s/index.js"}],
                "volumeMounts": [{"name": "work", "mountPath": "/home/runner/_work"}],
            }],
            "volumes": [{"name": "work", "ephemeral": {"volumeClaimTemplate": {"spec": claim_spec}}}],
        },
    }


def dind_pod() -> dict:
    """The runner pod ARC renders for containerMode dind."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "arc-runner-set-h8ff4-runner-9xk2p", "namespace": "arc-runners"},
        "spec": {
            "initContainers": [{
                "name": "init-dind-externals", "image": RUNNER_IMAGE,
                "command": ["cp", "-r", "/home/runner/externals/.", "/home/runner/tmpDir/"],
                "volumeMounts": [{"name": "dind-externals", "mountPath": "/home/runner/tmpDir"}],
            }],
            "containers": [
                {"name": "runner", "image": RUNNER_IMAGE,
                 "env": [{"name": "DOCKER_HOST", "value": "unix:///var/run/docker.sock"}],
                 "volumeMounts": [{"name": "work", "mountPath": "/home/runner/_work"},
                                  {"name": "dind-sock", "mountPath": "/var/run"}]},
                {"name": "dind", "image": "docker:dind", "securityContext": {"privileged": True},
                 "volumeMounts": [{"name": "work", "mountPath": "/home/runner/_work"},
                                  {"name": "dind-sock", "mountPath": "/var/run"},
                                  {"name": "dind-externals", "mountPath": "/home/runner/externals"}]},
            ],
            "volumes": [{"name": "work", "emptyDir": {}}, {"name": "dind-sock", "emptyDir": {}},
                        {"name": "dind-externals", "emptyDir": {}}],
        },
    }


def restricted_pod() -> dict:
    pod = kube_mode_pod()
    pod["spec"]["securityContext"] = {"runAsNonRoot": True, "runAsUser": 1001, "fsGroup": 123,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    pod["spec"]["containers"][0]["securityContext"] = {"allowPrivilegeEscalation": False,
                                                       "capabilities": {"drop": ["ALL"]}}
    return pod


def psa_message(pod: dict, ns: dict) -> str:
    with pytest.raises(ApiError) as err:
        admission.pod_security(pod, ns)
    assert (err.value.code, err.value.reason) == (403, "Forbidden")
    return err.value.message


def invalid_message(resource: str, obj: dict, op: str = "create") -> str:
    with pytest.raises(ApiError) as err:
        admission.validate(lookup(resource), obj, op)
    assert (err.value.code, err.value.reason) == (422, "Invalid")
    return err.value.message


# --- Pod Security Admission -----------------------------------------------------------------------------

def test_dind_under_baseline_is_refused_for_privileged():
    assert psa_message(dind_pod(), namespace("baseline")) == (
        'pods "arc-runner-set-h8ff4-runner-9xk2p" is forbidden: violates PodSecurity "baseline:latest": '
        'privileged (container "dind" must not set securityContext.privileged=true)')


def test_kube_mode_runner_under_restricted_lists_the_four_checks():
    assert psa_message(kube_mode_pod(), namespace("restricted")) == (
        'pods "arc-runner-set-h8ff4-runner-668fh" is forbidden: violates PodSecurity "restricted:latest": '
        'allowPrivilegeEscalation != false (container "runner" must set '
        'securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (container "runner" must set securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or container "runner" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "runner" must set securityContext.seccompProfile.type to '
        '"RuntimeDefault" or "Localhost")')


def test_dind_under_restricted_names_every_container_in_visit_order():
    message = psa_message(dind_pod(), namespace("restricted"))
    assert message.startswith(
        'pods "arc-runner-set-h8ff4-runner-9xk2p" is forbidden: violates PodSecurity "restricted:latest": '
        'privileged (container "dind" must not set securityContext.privileged=true), '
        'allowPrivilegeEscalation != false (containers "init-dind-externals", "runner", "dind" must set '
        'securityContext.allowPrivilegeEscalation=false), ')


def test_compliant_pod_passes_restricted_and_privileged_namespaces_allow_all():
    admission.pod_security(restricted_pod(), namespace("restricted"))
    for ns in (namespace("privileged"), namespace(), None, {"metadata": "junk"}):
        admission.pod_security(dind_pod(), ns)


def test_pod_level_settings_cover_containers_but_explicit_bad_values_do_not():
    pod = restricted_pod()
    pod["spec"]["containers"][0]["securityContext"].update(
        runAsNonRoot=False, seccompProfile={"type": "Unconfined"}, runAsUser=0)
    assert psa_message(pod, namespace("restricted")).endswith(
        'runAsNonRoot != true (container "runner" must not set securityContext.runAsNonRoot=false), '
        'runAsUser=0 (container "runner" must not set runAsUser=0), '
        'seccompProfile (container "runner" must not set securityContext.seccompProfile.type to '
        '"Unconfined")')


def test_baseline_host_checks_in_upstream_order():
    pod = dind_pod()
    spec = pod["spec"]
    spec.update(hostNetwork=True, hostPID=True)
    spec["volumes"].append({"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}})
    spec["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080},
                                      {"containerPort": 9, "hostPort": 443}]
    spec["containers"][0]["securityContext"] = {"capabilities": {"add": ["SYS_ADMIN", "NET_ADMIN", "CHOWN"]}}
    spec["securityContext"] = {"sysctls": [{"name": "kernel.msgmax", "value": "1"},
                                           {"name": "net.ipv4.tcp_syncookies", "value": "1"}]}
    assert psa_message(pod, namespace("baseline")) == (
        'pods "arc-runner-set-h8ff4-runner-9xk2p" is forbidden: violates PodSecurity "baseline:latest": '
        'non-default capabilities (container "runner" must not include "NET_ADMIN", "SYS_ADMIN" in '
        'securityContext.capabilities.add), '
        'host namespaces (hostNetwork=true, hostPID=true), '
        'hostPath volumes (volume "docker"), '
        'hostPort (container "runner" uses hostPorts 443, 8080), '
        'privileged (container "dind" must not set securityContext.privileged=true), '
        'forbidden sysctls (kernel.msgmax)')


def test_restricted_replaces_host_path_and_capability_checks():
    pod = restricted_pod()
    pod["spec"]["volumes"].append({"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}})
    pod["spec"]["volumes"].append({"name": "data", "nfs": {"server": "x", "path": "/"}})
    pod["spec"]["containers"][0]["securityContext"]["capabilities"]["add"] = ["NET_BIND_SERVICE", "SYS_TIME"]
    assert psa_message(pod, namespace("restricted")).split('"restricted:latest": ')[1] == (
        'unrestricted capabilities (container "runner" must not include "SYS_TIME" in '
        'securityContext.capabilities.add), '
        'restricted volume types (volumes "docker", "data" use restricted volume types "hostPath", "nfs")')


def test_other_baseline_checks_wording():
    pod = restricted_pod()
    ctr = pod["spec"]["containers"][0]["securityContext"]
    ctr.update(procMount="Unmasked", seLinuxOptions={"type": "spc_t", "user": "root"},
               appArmorProfile={"type": "Unconfined"}, windowsOptions={"hostProcess": True})
    pod["metadata"]["annotations"] = {"container.apparmor.security.beta.kubernetes.io/runner": "unconfined"}
    assert psa_message(pod, namespace("baseline")).split('"baseline:latest": ')[1] == (
        'forbidden AppArmor profiles (container "runner" and annotation must not set AppArmor profile '
        'type to "Unconfined", "container.apparmor.security.beta.kubernetes.io/runner="unconfined""), '
        'procMount (container "runner" must not set securityContext.procMount to "Unmasked"), '
        'seLinuxOptions (container "runner" set forbidden securityContext.seLinuxOptions: type "spc_t"; '
        'user may not be set), '
        'hostProcess (container "runner" must not set securityContext.windowsOptions.hostProcess=true)')


def test_enforce_version_is_shown_and_gates_newer_checks():
    pod = restricted_pod()
    pod["spec"]["securityContext"]["runAsUser"] = 0
    assert 'runAsUser=0 (pod must not set runAsUser=0)' in psa_message(pod, namespace("restricted", "v1.28"))
    assert '"restricted:v1.28"' in psa_message(pod, namespace("restricted", "v1.28"))
    admission.pod_security(pod, namespace("restricted", "v1.22"))  # runAsUser is checked from v1.23


def test_bad_enforce_label_fails_closed_to_restricted():
    assert '"restricted:latest"' in psa_message(kube_mode_pod(), namespace("strict", "v2"))


def test_generated_name_is_used_in_the_message():
    pod = dind_pod()
    pod["metadata"] = {"generateName": "arc-runner-set-", "namespace": "arc-runners"}
    assert psa_message(pod, namespace("baseline")).startswith('pods "arc-runner-set-" is forbidden')
    pod["metadata"]["name"] = "arc-runner-set-x7k2q"
    assert psa_message(pod, namespace("baseline")).startswith('pods "arc-runner-set-x7k2q" is forbidden')


# --- validation -----------------------------------------------------------------------------------------

def test_empty_ephemeral_claim_spec_is_invalid_with_field_paths():
    with pytest.raises(ApiError) as err:
        admission.validate(PODS, kube_mode_pod(claim_spec={}), "create")
    assert err.value.code == 422 and err.value.reason == "Invalid"
    assert err.value.message == (
        'Pod "arc-runner-set-h8ff4-runner-668fh" is invalid: ['
        'spec.volumes[0].ephemeral.volumeClaimTemplate.spec.accessModes: Required value: '
        'at least 1 access mode is required, '
        'spec.volumes[0].ephemeral.volumeClaimTemplate.spec.resources[storage]: Required value, '
        'spec.containers[0].volumeMounts[0].name: Not found: "work"]')
    assert err.value.details["causes"][0] == {
        "reason": "FieldValueRequired", "message": "Required value: at least 1 access mode is required",
        "field": "spec.volumes[0].ephemeral.volumeClaimTemplate.spec.accessModes"}
    assert err.value.details["kind"] == "Pod"


def test_valid_pods_pass():
    for pod in (kube_mode_pod(), dind_pod(), restricted_pod()):
        admission.validate(PODS, pod, "create")
        admission.validate(PODS, pod, "update")


def test_bad_names():
    pod = kube_mode_pod()
    pod["metadata"]["name"] = "Bad_Name"
    assert invalid_message("pods", pod) == (
        f'Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": {SUBDOMAIN_MSG}')
    ns = {"metadata": {"name": "arc.runners"}}
    assert invalid_message("namespaces", ns) == (
        f'Namespace "arc.runners" is invalid: metadata.name: Invalid value: "arc.runners": {LABEL_MSG}')
    svc = {"metadata": {"name": "1svc", "namespace": "x"}}
    assert "a DNS-1035 label must consist of lower case alphanumeric" in invalid_message("services", svc)
    long_name = {"metadata": {"name": "a" * 254, "namespace": "x"}}
    assert "metadata.name: Invalid value: \"" + "a" * 254 + "\": must be no more than 253 characters" in (
        invalid_message("configmaps", long_name))
    role = {"metadata": {"name": "system:kube/mode"}}
    assert invalid_message("clusterroles", role) == (
        'ClusterRole.rbac.authorization.k8s.io "system:kube/mode" is invalid: metadata.name: '
        "Invalid value: \"system:kube/mode\": may not contain '/'")
    admission.validate(lookup("clusterroles"), {"metadata": {"name": "system:discovery"}}, "create")


def test_name_or_generate_name_required():
    assert invalid_message("secrets", {"metadata": {"namespace": "x"}}) == (
        'Secret "" is invalid: metadata.name: Required value: name or generateName is required')
    generated = {"metadata": {"generateName": "arc-runner-set-h8ff4-runner-"}}
    admission.validate(lookup("ephemeralrunners"), generated, "create")
    assert "metadata.generateName: Invalid value" in invalid_message("pods", {
        "metadata": {"generateName": "Arc-"}, "spec": kube_mode_pod()["spec"]})
    assert "name or generateName is required" in invalid_message(
        "configmaps", {"metadata": {"generateName": "x-"}}, op="update")


def test_containers_required_and_names_unique():
    assert invalid_message("pods", {"metadata": {"name": "p"}, "spec": {}}) == (
        'Pod "p" is invalid: spec.containers: Required value')
    pod = dind_pod()
    spec = pod["spec"]
    spec["initContainers"][0]["name"] = "dind"
    spec["containers"].append({"name": "runner", "image": ""})
    spec["containers"].append({})
    assert invalid_message("pods", pod) == (
        'Pod "arc-runner-set-h8ff4-runner-9xk2p" is invalid: ['
        'spec.containers[2].image: Required value, '
        'spec.containers[2].name: Duplicate value: "runner", '
        'spec.containers[3].name: Required value, '
        'spec.containers[3].image: Required value, '
        'spec.initContainers[0].name: Duplicate value: "dind"]')


def test_volume_mount_must_name_a_volume():
    pod = dind_pod()
    pod["spec"]["volumes"].pop()  # dind-externals
    message = invalid_message("pods", pod)
    assert message == ('Pod "arc-runner-set-h8ff4-runner-9xk2p" is invalid: ['
                       'spec.containers[1].volumeMounts[2].name: Not found: "dind-externals", '
                       'spec.initContainers[0].volumeMounts[0].name: Not found: "dind-externals"]')


def test_pvc_needs_access_modes_and_positive_storage():
    pvc = {"metadata": {"name": "r-work", "namespace": "x"}, "spec": {"storageClassName": "standard"}}
    assert invalid_message("persistentvolumeclaims", pvc) == (
        'PersistentVolumeClaim "r-work" is invalid: [spec.accessModes: Required value: at least 1 access '
        'mode is required, spec.resources[storage]: Required value]')
    pvc["spec"] = {"accessModes": ["RWO"], "resources": {"requests": {"storage": "0"}}}
    assert invalid_message("persistentvolumeclaims", pvc) == (
        'PersistentVolumeClaim "r-work" is invalid: [spec.accessModes: Unsupported value: "RWO": supported '
        'values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod", '
        'spec.resources[storage]: Invalid value: "0": must be greater than zero]')


def test_arc_runner_counts():
    ars = {"apiVersion": "actions.github.com/v1alpha1", "kind": "AutoscalingRunnerSet",
           "metadata": {"name": "arc-runner-set", "namespace": "arc-runners"},
           "spec": {"githubConfigUrl": "https://github.com/org", "minRunners": -1, "maxRunners": 5}}
    assert invalid_message("autoscalingrunnersets", ars) == (
        'AutoscalingRunnerSet.actions.github.com "arc-runner-set" is invalid: spec.minRunners: '
        'Invalid value: -1: spec.minRunners in body should be greater than or equal to 0')
    ars["spec"].update(minRunners=10, maxRunners=2)  # ARC's webhook would object; the API server does not
    admission.validate(lookup("autoscalingrunnersets"), ars, "create")
    ars["spec"]["maxRunners"] = "5"
    assert invalid_message("autoscalingrunnersets", ars).endswith(
        'spec.maxRunners: Invalid value: "string": spec.maxRunners in body must be of type integer: "string"')
    ars["spec"] = ["not", "an", "object"]
    assert invalid_message("autoscalingrunnersets", ars).endswith(
        'spec: Invalid value: "array": spec in body must be of type object: "array"')


def test_bad_pod_security_labels_on_a_namespace():
    ns = namespace("strict", "1.28")
    assert invalid_message("namespaces", ns) == (
        'Namespace "arc-runners" is invalid: ['
        'metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of '
        'privileged, baseline, restricted, '
        'metadata.labels[pod-security.kubernetes.io/enforce-version]: Invalid value: "1.28": must be '
        '"latest" or "v1.x"]')
    admission.validate(lookup("namespaces"), namespace("restricted", "v1.30"), "update")


# --- wrongly typed fields ------------------------------------------------------------------------------

@pytest.mark.parametrize("mutate, expected", [
    (lambda p: p["spec"].update(containers="runner"),
     "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container"),
    (lambda p: p["spec"].update(containers=["runner"]),
     "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type v1.Container"),
    (lambda p: p["spec"]["containers"][0].update(securityContext={"runAsUser": "0"}),
     "json: cannot unmarshal string into Go struct field SecurityContext.spec.containers.securityContext."
     "runAsUser of type int64"),
    (lambda p: p["spec"]["containers"][0].update(securityContext={"privileged": "true"}),
     "json: cannot unmarshal string into Go struct field SecurityContext.spec.containers.securityContext."
     "privileged of type bool"),
    (lambda p: p["metadata"].update(labels="app=runner"),
     "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels "
     "of type map[string]string"),
    (lambda p: p["metadata"].update(labels={"n": 1}),
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"),
    (lambda p: p.update(spec=[]),
     "json: cannot unmarshal array into Go struct field Pod.spec of type v1.PodSpec"),
    (lambda p: p["spec"]["volumes"][0]["ephemeral"]["volumeClaimTemplate"].update(spec="1Gi"),
     "json: cannot unmarshal string into Go struct field PersistentVolumeClaimTemplate.spec.volumes."
     "ephemeral.volumeClaimTemplate.spec of type v1.PersistentVolumeClaimSpec"),
    (lambda p: p["spec"]["volumes"][0]["ephemeral"]["volumeClaimTemplate"]["spec"].update(accessModes="RWO"),
     "json: cannot unmarshal string into Go struct field PersistentVolumeClaimSpec.spec.volumes.ephemeral."
     "volumeClaimTemplate.spec.accessModes of type []v1.PersistentVolumeAccessMode"),
    (lambda p: p["spec"]["volumes"][0]["ephemeral"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]
     .update(storage="lots"),
     "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
])
def test_wrongly_typed_fields_are_decode_errors(mutate, expected):
    pod = kube_mode_pod()
    mutate(pod)
    with pytest.raises(ApiError) as err:
        admission.validate(PODS, pod, "create")
    assert (err.value.code, err.value.reason) == (400, "BadRequest")
    assert err.value.message == f'Pod in version "v1" cannot be handled as a Pod: {expected}'


def _paths(obj: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out += _paths(value, (*prefix, i))
    return out


def _api_errors_only(fn, *args) -> None:
    try:
        fn(*args)
    except ApiError:
        pass


@pytest.mark.parametrize("make", [kube_mode_pod, dind_pod, restricted_pod])
def test_any_wrongly_typed_field_gives_api_errors_only(make):
    base = make()
    junk_values = ["x", 7, -1, 1.5, True, None, [], ["x"], {}, {"a": 1}]
    for path, junk in itertools.product(_paths(base)[1:], junk_values):
        pod = copy.deepcopy(base)
        target = pod
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = junk
        _api_errors_only(admission.validate, PODS, pod, "create")
        _api_errors_only(admission.pod_security, pod, namespace("restricted"))
        _api_errors_only(admission.pod_security, pod, namespace("baseline"))


def test_odd_namespaces_and_objects_never_crash_pod_security():
    for ns in ({"metadata": {"labels": {"pod-security.kubernetes.io/enforce": ["restricted"]}}},
               {"metadata": {"labels": "restricted"}}, "restricted", 5):
        for pod in ({}, {"spec": "x"}, {"metadata": [], "spec": {"containers": "x", "volumes": [1, None]}}):
            try:
                admission.pod_security(pod, ns)
            except ApiError as err:
                assert err.code == 403


def test_reviews_are_not_validated():
    admission.validate(lookup("selfsubjectaccessreviews"), {"spec": {"resourceAttributes": {}}}, "create")

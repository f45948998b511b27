"""What the API server checks before it stores an object, worded like k8s.io/kubernetes.

Three answers, in the apiserver's order: a wrongly typed field fails JSON decoding (400 BadRequest,
`Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal ...`; custom resources get
the CRD schema's 422 instead), field validation fails with 422 Invalid, and Pod Security Admission
refuses with 403 Forbidden. The ARC simulation copies these messages into EphemeralRunner InvalidPod
failures, so they must read like a real cluster's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from arc_top.sandbox.errors import ApiError, bad_request
from arc_top.sandbox.pod_security import LATEST, enforced_policy, label_problems, violations
from arc_top.sandbox.resources import REVIEWS, Resource

# --- names ------------------------------------------------------------------------------------------------

_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_NAME_FORMATS = {  # style → (max length, regex, message, examples)
    "subdomain": (253, _LABEL_FMT + r"(\." + _LABEL_FMT + ")*",
                  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                  "'-' or '.', and must start and end with an alphanumeric character", ("example.com",)),
    "label": (63, _LABEL_FMT, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                              "or '-', and must start and end with an alphanumeric character",
              ("my-name", "123-abc")),
    "dns1035": (63, "[a-z]([-a-z0-9]*[a-z0-9])?",
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                "alphabetic character, and end with an alphanumeric character", ("my-name", "abc-123")),
}


def _name_problems(style: str, value: str) -> list[str]:
    """apimachinery's IsDNS1123Subdomain / IsDNS1123Label / IsDNS1035Label / IsValidPathSegmentName."""
    if style == "segment":
        if value in (".", ".."):
            return [f"may not be '{value}'"]
        return [f"may not contain '{c}'" for c in ("/", "%") if c in value]
    max_len, fmt, msg, examples = _NAME_FORMATS[style]
    problems = [f"must be no more than {max_len} characters"] if len(value) > max_len else []
    if not re.fullmatch(fmt, value):
        shown = "".join((" or " if i else "") + f"'{e}', " for i, e in enumerate(examples))
        problems.append(f"{msg} (e.g. {shown}regex used for validation is '{fmt}')")
    return problems


def _name_style(resource: Resource) -> str:
    if resource.plural == "namespaces":
        return "label"
    if resource.plural == "services":
        return "dns1035"
    return "segment" if resource.group == "rbac.authorization.k8s.io" else "subdomain"


# --- field errors -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str  # the Status cause type
    body: str    # field.Error.ErrorBody(): `Required value`, `Invalid value: "x": detail`, ...


def _go_value(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _required(path: str, detail: str = "") -> FieldError:
    return FieldError(path, "FieldValueRequired", "Required value" + (f": {detail}" if detail else ""))


def _invalid(path: str, value: object, detail: str) -> FieldError:
    return FieldError(path, "FieldValueInvalid", f"Invalid value: {_go_value(value)}: {detail}")


def _not_found(path: str, value: object) -> FieldError:
    return FieldError(path, "FieldValueNotFound", f"Not found: {_go_value(value)}")


def _duplicate(path: str, value: object) -> FieldError:
    return FieldError(path, "FieldValueDuplicate", f"Duplicate value: {_go_value(value)}")


def _unsupported(path: str, value: object, supported: list[str]) -> FieldError:
    listed = ", ".join(json.dumps(s) for s in supported)
    return FieldError(path, "FieldValueNotSupported",
                      f"Unsupported value: {_go_value(value)}: supported values: {listed}")


def invalid_error(resource: Resource, name: str, errors: list[FieldError]) -> ApiError:
    """apierrors.NewInvalid: one error bare, several in brackets, duplicates dropped."""
    texts = list(dict.fromkeys(f"{e.field}: {e.body}" for e in errors))
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    qualified = f"{resource.kind}.{resource.group}" if resource.group else resource.kind
    return ApiError(422, "Invalid", f"{qualified} {_go_value(name)} is invalid: {joined}",
                    {"name": name, "group": resource.group, "kind": resource.kind,
                     "causes": [{"reason": e.reason, "message": e.body, "field": e.field} for e in errors]})


# --- JSON decoding of typed kinds --------------------------------------------------------------------------

_QUANTITY = "resource.Quantity"
_QUANTITY_RE = re.compile(r"([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)")
_QUANTITY_SUFFIXES = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"}


class _Struct:
    def __init__(self, go: str, **fields: object):
        self.go, self.name, self.fields = go, go.split(".")[-1], fields


class _List:
    def __init__(self, elem: object):
        self.elem = elem
        self.go = "[]" + (elem.go if isinstance(elem, _Struct) else str(elem))


class _Map:
    def __init__(self, go: str, value: object):
        self.go, self.value = go, value


_META = _Struct("v1.ObjectMeta", name="string", generateName="string", namespace="string",
                labels=_Map("map[string]string", "string"), annotations=_Map("map[string]string", "string"))
_SECCOMP = _Struct("v1.SeccompProfile", type="v1.SeccompProfileType", localhostProfile="string")
_APPARMOR = _Struct("v1.AppArmorProfile", type="v1.AppArmorProfileType", localhostProfile="string")
_SELINUX = _Struct("v1.SELinuxOptions", user="string", role="string", type="string", level="string")
_WINDOWS = _Struct("v1.WindowsSecurityContextOptions", hostProcess="bool")
_CONTAINER_SC = _Struct(
    "v1.SecurityContext", privileged="bool", allowPrivilegeEscalation="bool", runAsNonRoot="bool",
    runAsUser="int64", runAsGroup="int64", procMount="v1.ProcMountType", seccompProfile=_SECCOMP,
    appArmorProfile=_APPARMOR, seLinuxOptions=_SELINUX, windowsOptions=_WINDOWS,
    capabilities=_Struct("v1.Capabilities", add=_List("v1.Capability"), drop=_List("v1.Capability")))
_POD_SC = _Struct(
    "v1.PodSecurityContext", runAsNonRoot="bool", runAsUser="int64", runAsGroup="int64", fsGroup="int64",
    seccompProfile=_SECCOMP, appArmorProfile=_APPARMOR, seLinuxOptions=_SELINUX, windowsOptions=_WINDOWS,
    sysctls=_List(_Struct("v1.Sysctl", name="string", value="string")))


def _container(go: str) -> _Struct:
    return _Struct(go, name="string", image="string", securityContext=_CONTAINER_SC,
                   ports=_List(_Struct("v1.ContainerPort", containerPort="int32", hostPort="int32")),
                   volumeMounts=_List(_Struct("v1.VolumeMount", name="string", mountPath="string")))


_RESOURCES = _Struct("v1.VolumeResourceRequirements", requests=_Map("v1.ResourceList", _QUANTITY),
                     limits=_Map("v1.ResourceList", _QUANTITY))
_CLAIM_SPEC = _Struct("v1.PersistentVolumeClaimSpec", accessModes=_List("v1.PersistentVolumeAccessMode"),
                      storageClassName="string", volumeName="string", resources=_RESOURCES)
_VOLUME = _Struct(
    "v1.Volume", name="string",
    ephemeral=_Struct("v1.EphemeralVolumeSource", volumeClaimTemplate=_Struct(
        "v1.PersistentVolumeClaimTemplate", metadata=_META, spec=_CLAIM_SPEC)),
    hostPath=_Struct("v1.HostPathVolumeSource", path="string"), emptyDir=_Struct("v1.EmptyDirVolumeSource"),
    configMap=_Struct("v1.ConfigMapVolumeSource"), secret=_Struct("v1.SecretVolumeSource"),
    persistentVolumeClaim=_Struct("v1.PersistentVolumeClaimVolumeSource", claimName="string"))
_POD_SPEC = _Struct(
    "v1.PodSpec", volumes=_List(_VOLUME), initContainers=_List(_container("v1.Container")),
    containers=_List(_container("v1.Container")),
    ephemeralContainers=_List(_container("v1.EphemeralContainer")),
    hostNetwork="bool", hostPID="bool", hostIPC="bool", hostUsers="bool", securityContext=_POD_SC)
_SPECS = {"pods": _POD_SPEC, "persistentvolumeclaims": _CLAIM_SPEC}


class _DecodeError(Exception):
    pass


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "value")


def _type_error(value: object, go: str, struct: str, path: str) -> _DecodeError:
    kind = _json_kind(value)
    if kind == "number" and go.startswith("int"):
        kind = f"number {value}"  # a fraction into an integer field
    where = f"Go struct field {struct}.{path}" if struct else "Go value"
    return _DecodeError(f"json: cannot unmarshal {kind} into {where} of type {go}")


def _quantity_value(value: object) -> float:
    """Parse like resource.ParseQuantity, raising its errors; the number is only used for sign checks."""
    text = str(value).strip() if isinstance(value, (str, int, float)) and not isinstance(value, bool) else ""
    match = _QUANTITY_RE.fullmatch(text)
    if not match:
        raise _DecodeError("quantities must match the regular expression "
                           "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    number, suffix = match.groups()
    if suffix not in _QUANTITY_SUFFIXES and not re.fullmatch(r"[eE][-+]?[0-9]+", suffix):
        raise _DecodeError("unable to parse quantity's suffix")
    try:
        return float(number)
    except ValueError:
        raise _DecodeError("unable to parse numeric part of quantity") from None


def _walk(value: object, spec: object, struct: str, path: str) -> None:
    """Decode-check `value` the way encoding/json would into the Go type `spec` (first error wins)."""
    if value is None:
        return
    if isinstance(spec, _Struct):
        if not isinstance(value, dict):
            raise _type_error(value, spec.go, struct, path)
        for key, item in value.items():
            if key in spec.fields:
                _walk(item, spec.fields[key], spec.name, f"{path}.{key}" if path else key)
    elif isinstance(spec, _List):
        if not isinstance(value, list):
            raise _type_error(value, spec.go, struct, path)
        for item in value:
            _walk(item, spec.elem, struct, path)
    elif isinstance(spec, _Map):
        if not isinstance(value, dict):
            raise _type_error(value, spec.go, struct, path)
        for item in value.values():
            _walk(item, spec.value, struct, path)
    elif spec == _QUANTITY:
        _quantity_value(value)
    elif spec == "bool":
        if not isinstance(value, bool):
            raise _type_error(value, spec, struct, path)
    elif str(spec).startswith("int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(value, str(spec), struct, path)
    elif not isinstance(value, str):
        raise _type_error(value, str(spec), struct, path)


def _decode(resource: Resource, obj: object) -> None:
    top = _Struct(f"v1.{resource.kind}", metadata=_META)
    if resource.plural in _SPECS:
        top.fields["spec"] = _SPECS[resource.plural]
    try:
        _walk(obj, top, "", "")
    except _DecodeError as err:
        raise bad_request(f'{resource.kind} in version "{resource.version}" cannot be handled as a '
                          f"{resource.kind}: {err}") from None


# --- validation -------------------------------------------------------------------------------------------

_ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]


def validate(resource: Resource, obj: dict, op: str) -> None:
    """Raise the apiserver's 400/422 for `obj` about to be created or updated (op "create" | "update")."""
    if op not in ("create", "update"):
        raise ValueError(f"unknown operation {op!r}")
    if resource.plural in REVIEWS:
        return
    _decode(resource, obj)
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    errors = _meta_errors(resource, meta, op)
    spec = obj.get("spec")
    if resource.custom:
        errors += _custom_errors(spec)
    elif resource.plural == "pods":
        errors += _pod_errors(spec or {})
    elif resource.plural == "persistentvolumeclaims":
        errors += _claim_spec_errors(spec or {}, "spec")
    if not errors and resource.plural == "namespaces":  # PSA refuses bad policy labels
        errors = [_invalid(*problem) for problem in label_problems(meta.get("labels") or {})]
    if errors:
        raise invalid_error(resource, name, errors)


def _meta_errors(resource: Resource, meta: dict, op: str) -> list[FieldError]:
    style = _name_style(resource)
    errors: list[FieldError] = []
    generate = meta.get("generateName") or ""
    if generate and op == "create":
        masked = generate[:-1] + "a" if generate.endswith("-") else generate
        errors += [_invalid("metadata.generateName", generate, p) for p in _name_problems(style, masked)]
    name = meta.get("name") or ""
    if name:
        errors += [_invalid("metadata.name", name, p) for p in _name_problems(style, name)]
    elif not (generate and op == "create"):
        errors.append(_required("metadata.name", "name or generateName is required"))
    return errors


def _custom_errors(spec: object) -> list[FieldError]:
    """The structural-schema checks of the ARC CRDs that the sandbox enforces (min/maxRunners ≥ 0)."""
    if spec is None:
        return []
    if not isinstance(spec, dict):
        return [_schema_type("spec", spec, "object")]
    errors = []
    for key in ("minRunners", "maxRunners"):
        value, path = spec.get(key), f"spec.{key}"
        if value is None:
            continue
        whole = isinstance(value, int) or isinstance(value, float) and value.is_integer()
        if isinstance(value, bool) or not whole:
            errors.append(_schema_type(path, value, "integer"))
        elif value < 0:
            errors.append(_invalid(path, int(value), f"{path} in body should be greater than or equal to 0"))
    return errors


def _schema_type(path: str, value: object, expected: str) -> FieldError:
    if isinstance(value, bool):
        actual = "boolean"
    elif isinstance(value, int):
        actual = "integer"
    else:
        actual = _json_kind(value)
    return _invalid(path, actual, f'{path} in body must be of type {expected}: "{actual}"')


def _pod_errors(spec: dict) -> list[FieldError]:
    errors: list[FieldError] = []
    volumes: set[str] = set()  # only volumes without errors can be mounted, as in ValidateVolumes
    for i, vol in enumerate(spec.get("volumes") or []):
        vol, path = vol or {}, f"spec.volumes[{i}]"
        problems = []
        ephemeral = vol.get("ephemeral")
        if ephemeral is not None:
            template = ephemeral.get("volumeClaimTemplate")
            if template is None:
                problems.append(_required(f"{path}.ephemeral.volumeClaimTemplate"))
            else:
                problems += _claim_spec_errors(template.get("spec") or {},
                                               f"{path}.ephemeral.volumeClaimTemplate.spec")
        name = vol.get("name") or ""
        if name:
            problems += [_invalid(f"{path}.name", name, p) for p in _name_problems("label", name)]
        else:
            problems.append(_required(f"{path}.name"))
        if name in volumes:
            problems.append(_duplicate(f"{path}.name", name))
        if problems:
            errors += problems
        else:
            volumes.add(name)
    containers = spec.get("containers") or []
    if not containers:
        errors.append(_required("spec.containers"))
    names: set[str] = set()
    for i, ctr in enumerate(containers):
        ctr = ctr or {}
        errors += _container_errors(ctr, f"spec.containers[{i}]", volumes)
        if (ctr.get("name") or "") in names:
            errors.append(_duplicate(f"spec.containers[{i}].name", ctr.get("name") or ""))
        names.add(ctr.get("name") or "")
    for i, ctr in enumerate(spec.get("initContainers") or []):
        ctr = ctr or {}
        errors += _container_errors(ctr, f"spec.initContainers[{i}]", volumes)
        name = ctr.get("name") or ""
        if name in names:
            errors.append(_duplicate(f"spec.initContainers[{i}].name", name))
        elif name:
            names.add(name)
    return errors


def _container_errors(ctr: dict, path: str, volumes: set[str]) -> list[FieldError]:
    name = ctr.get("name") or ""
    errors = [_invalid(f"{path}.name", name, p) for p in _name_problems("label", name)] if name else [
        _required(f"{path}.name")]
    if not ctr.get("image"):
        errors.append(_required(f"{path}.image"))
    mount_points: set[str] = set()
    for j, mount in enumerate(ctr.get("volumeMounts") or []):
        mount, mpath = mount or {}, f"{path}.volumeMounts[{j}]"
        mname, target = mount.get("name") or "", mount.get("mountPath") or ""
        if not mname:
            errors.append(_required(f"{mpath}.name"))
        if mname not in volumes:
            errors.append(_not_found(f"{mpath}.name", mname))
        if not target:
            errors.append(_required(f"{mpath}.mountPath"))
        if target in mount_points:
            errors.append(_invalid(f"{mpath}.mountPath", target, "must be unique"))
        mount_points.add(target)
    return errors


def _claim_spec_errors(spec: dict, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    modes = spec.get("accessModes") or []
    if not modes:
        errors.append(_required(f"{path}.accessModes", "at least 1 access mode is required"))
    errors += [_unsupported(f"{path}.accessModes", m, _ACCESS_MODES) for m in modes if m not in _ACCESS_MODES]
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    key = f"{path}.resources[storage]"
    if storage is None:
        errors.append(_required(key))
    elif _quantity_value(storage) <= 0:
        errors.append(_invalid(key, str(storage), "must be greater than zero"))
    return errors


# --- Pod Security Admission -------------------------------------------------------------------------------

def pod_security(pod: dict, namespace: dict | None) -> None:
    """Enforce the namespace's `pod-security.kubernetes.io/enforce` level on a pod being created (403)."""
    level, minor = enforced_policy(namespace)
    detail = violations(pod, level, minor)
    if not detail:
        return
    meta = pod.get("metadata") if isinstance(pod, dict) and isinstance(pod.get("metadata"), dict) else {}
    name = meta.get("name") or meta.get("generateName") or ""
    name = name if isinstance(name, str) else ""
    version = "latest" if minor == LATEST else f"v1.{minor}"
    raise ApiError(403, "Forbidden",
                   f'pods {_go_value(name)} is forbidden: violates PodSecurity "{level}:{version}": {detail}',
                   {"name": name, "group": "", "kind": "pods"})

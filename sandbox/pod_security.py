"""Pod Security Admission's checks (k8s.io/pod-security-admission/policy), as pure functions over pod dicts.

Reasons and details copy the upstream wording, and results come in upstream's order (baseline check
ids sorted, then restricted ones), because users paste these messages into searches. Wrongly typed
fields count as unset: validation has already refused them, and this must never crash a request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from arc_top.core.data import d, lst

LEVELS = ("privileged", "baseline", "restricted")
LABEL_PREFIX = "pod-security.kubernetes.io/"
LATEST = 10**6  # the minor version that stands for "latest"
VERSION_RE = re.compile(r"v1\.(0|[1-9][0-9]*)")


def parse_version(value: object) -> int | None:
    """`latest` → LATEST, `v1.28` → 28, anything else → None."""
    if value == "latest":
        return LATEST
    match = VERSION_RE.fullmatch(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def label_problems(labels: dict) -> list[tuple[str, object, str]]:
    """(field, value, detail) for each invalid policy label, as PSA reports them on namespace writes."""
    problems = []
    for mode in ("enforce", "audit", "warn"):
        key = LABEL_PREFIX + mode
        if key in labels and labels[key] not in LEVELS:
            problems.append((f"metadata.labels[{key}]", labels[key], "must be one of " + ", ".join(LEVELS)))
        if key + "-version" in labels and parse_version(labels[key + "-version"]) is None:
            problems.append((f"metadata.labels[{key}-version]", labels[key + "-version"],
                             'must be "latest" or "v1.x"'))
    return problems


def _s(value: object) -> str:
    return value if isinstance(value, str) else ""


def _quote(items: list[str]) -> str:
    return '"' + '", "'.join(items) + '"' if items else ""


def _n(count: int, singular: str, plural: str) -> str:
    return singular if count == 1 else plural


def _who(names: list[str]) -> str:
    return f"{_n(len(names), 'container', 'containers')} {_quote(names)}"


class _Pod:
    """The parts of a pod the checks read."""

    def __init__(self, pod: object):
        pod = d(pod)
        meta, self.spec = d(pod.get("metadata")), d(pod.get("spec"))
        self.annotations = d(meta.get("annotations"))
        self.sc = d(self.spec.get("securityContext"))
        self.volumes = [d(v) for v in lst(self.spec.get("volumes"))]
        self.containers = [d(c) for key in ("initContainers", "containers", "ephemeralContainers")
                           for c in lst(self.spec.get(key))]


def _csc(container: dict) -> dict:
    return d(container.get("securityContext"))


Result = tuple[str, str] | None  # (forbidden reason, detail)


def _privileged(p: _Pod, minor: int) -> Result:
    bad = [_s(c.get("name")) for c in p.containers if _csc(c).get("privileged") is True]
    return ("privileged", f"{_who(bad)} must not set securityContext.privileged=true") if bad else None


def _host_namespaces(p: _Pod, minor: int) -> Result:
    used = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if p.spec.get(k) is True]
    return ("host namespaces", ", ".join(used)) if used else None


def _host_path_volumes(p: _Pod, minor: int) -> Result:
    bad = [_s(v.get("name")) for v in p.volumes if v.get("hostPath") is not None]
    return ("hostPath volumes", f"{_n(len(bad), 'volume', 'volumes')} {_quote(bad)}") if bad else None


def _host_ports(p: _Pod, minor: int) -> Result:
    bad, ports = [], set()
    for c in p.containers:
        used = [pt["hostPort"] for pt in map(d, lst(c.get("ports"))) if type(pt.get("hostPort")) is int
                and pt["hostPort"]]
        if used:
            bad.append(_s(c.get("name")))
            ports.update(str(port) for port in used)
    if not bad:
        return None
    return "hostPort", (f"{_who(bad)} {_n(len(bad), 'uses', 'use')} "
                        f"{_n(len(ports), 'hostPort', 'hostPorts')} {', '.join(sorted(ports))}")


_BASELINE_CAPS = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                  "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}


def _capabilities_baseline(p: _Pod, minor: int) -> Result:
    bad, caps = [], set()
    for c in p.containers:
        extra = {_s(a) for a in lst(d(_csc(c).get("capabilities")).get("add"))} - _BASELINE_CAPS
        if extra:
            bad.append(_s(c.get("name")))
            caps |= extra
    if not bad:
        return None
    return "non-default capabilities", (f"{_who(bad)} must not include {_quote(sorted(caps))} "
                                        "in securityContext.capabilities.add")


_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def _app_armor(p: _Pod, minor: int) -> Result:
    setters, values = [], set()

    def bad(sc: dict) -> bool:
        profile = sc.get("appArmorProfile")
        if profile is None or d(profile).get("type") in ("RuntimeDefault", "Localhost"):
            return False
        values.add(_s(d(profile).get("type")))
        return True

    if bad(p.sc):
        setters.append("pod")
    containers = [_s(c.get("name")) for c in p.containers if bad(_csc(c))]
    if containers:
        setters.append(_who(containers))
    annotations = sorted(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in p.annotations.items()
                         if isinstance(k, str) and k.startswith(_APPARMOR_ANNOTATION) and isinstance(v, str)
                         and v and v != "runtime/default" and not v.startswith("localhost/"))
    if annotations:
        setters.append(_n(len(annotations), "annotation", "annotations"))
    if not setters:
        return None
    listed = sorted(values) + annotations
    return (_n(len(listed), "forbidden AppArmor profile", "forbidden AppArmor profiles"),
            f"{' and '.join(setters)} must not set AppArmor profile type to {_quote(listed)}")


def _se_linux(p: _Pod, minor: int) -> Result:
    allowed = {"", "container_t", "container_init_t", "container_kvm_t"}
    if minor >= 31:
        allowed.add("container_engine_t")
    types, flags = set(), set()

    def bad(sc: dict) -> bool:
        opts = sc.get("seLinuxOptions")
        if opts is None:
            return False
        opts, wrong = d(opts), False
        if _s(opts.get("type")) not in allowed:
            types.add(_s(opts.get("type")))
            wrong = True
        for key in ("user", "role"):
            if _s(opts.get(key)):
                flags.add(key)
                wrong = True
        return wrong

    setters = ["pod"] if bad(p.sc) else []
    containers = [_s(c.get("name")) for c in p.containers if bad(_csc(c))]
    if containers:
        setters.append(_who(containers))
    if not setters:
        return None
    data = [f"{_n(len(types), 'type', 'types')} {_quote(sorted(types))}"] if types else []
    data += [f"{key} may not be set" for key in ("user", "role") if key in flags]
    return "seLinuxOptions", (f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: "
                              f"{'; '.join(data)}")


def _proc_mount(p: _Pod, minor: int) -> Result:
    bad, types = [], set()
    for c in p.containers:
        mount = _csc(c).get("procMount")
        if mount is not None and mount != "Default":
            bad.append(_s(c.get("name")))
            types.add(_s(mount))
    if not bad:
        return None
    return "procMount", f"{_who(bad)} must not set securityContext.procMount to {_quote(sorted(types))}"


def _seccomp_type(sc: dict) -> object:
    profile = sc.get("seccompProfile")
    return None if profile is None else d(profile).get("type")


def _seccomp_baseline(p: _Pod, minor: int) -> Result:
    setters = ["pod"] if _seccomp_type(p.sc) == "Unconfined" else []
    bad = [_s(c.get("name")) for c in p.containers if _seccomp_type(_csc(c)) == "Unconfined"]
    if bad:
        setters.append(_who(bad))
    if not setters:
        return None
    return "seccompProfile", (f"{' and '.join(setters)} must not set securityContext.seccompProfile.type "
                              'to "Unconfined"')


_SYSCTLS = [  # (since minor, names)
    (0, {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
         "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"}),
    (27, {"net.ipv4.ip_local_reserved_ports"}),
    (29, {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
          "net.ipv4.tcp_keepalive_probes"}),
    (32, {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}),
]


def _sysctls(p: _Pod, minor: int) -> Result:
    allowed = set().union(*(names for since, names in _SYSCTLS if minor >= since))
    bad = [_s(d(s).get("name")) for s in lst(p.sc.get("sysctls")) if _s(d(s).get("name")) not in allowed]
    return ("forbidden sysctls", ", ".join(bad)) if bad else None


def _host_process(p: _Pod, minor: int) -> Result:
    def on(sc: dict) -> bool:
        return d(sc.get("windowsOptions")).get("hostProcess") is True

    setters = ["pod"] if on(p.sc) else []
    bad = [_s(c.get("name")) for c in p.containers if on(_csc(c))]
    if bad:
        setters.append(_who(bad))
    if not setters:
        return None
    return "hostProcess", (f"{' and '.join(setters)} must not set "
                           "securityContext.windowsOptions.hostProcess=true")


def _allow_privilege_escalation(p: _Pod, minor: int) -> Result:
    bad = [_s(c.get("name")) for c in p.containers if _csc(c).get("allowPrivilegeEscalation") is not False]
    if not bad:
        return None
    return "allowPrivilegeEscalation != false", (f"{_who(bad)} must set "
                                                 "securityContext.allowPrivilegeEscalation=false")


def _capabilities_restricted(p: _Pod, minor: int) -> Result:
    missing_drop, adding, caps = [], [], set()
    for c in p.containers:
        name, capabilities = _s(c.get("name")), _csc(c).get("capabilities")
        if capabilities is None:
            missing_drop.append(name)
            continue
        capabilities = d(capabilities)
        if "ALL" not in lst(capabilities.get("drop")):
            missing_drop.append(name)
        extra = {_s(a) for a in lst(capabilities.get("add")) if a != "NET_BIND_SERVICE"}
        if extra:
            adding.append(name)
            caps |= extra
    details = []
    if missing_drop:
        details.append(f'{_who(missing_drop)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{_who(adding)} must not include {_quote(sorted(caps))} "
                       "in securityContext.capabilities.add")
    return ("unrestricted capabilities", "; ".join(details)) if details else None


_ALLOWED_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                    "projected", "secret")
_RESTRICTED_VOLUMES = ("hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi",
                       "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile",
                       "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume",
                       "scaleIO", "storageos")


def _restricted_volumes(p: _Pod, minor: int) -> Result:
    bad, types = [], set()
    for vol in p.volumes:
        sources = [k for k, v in vol.items() if k != "name" and v is not None]
        if not sources or any(k in _ALLOWED_VOLUMES for k in sources):
            continue  # no source at all is defaulted to emptyDir
        bad.append(_s(vol.get("name")))
        types.add(next((k for k in _RESTRICTED_VOLUMES if k in sources), "unknown"))
    if not bad:
        return None
    return "restricted volume types", (
        f"{_n(len(bad), 'volume', 'volumes')} {_quote(bad)} {_n(len(bad), 'uses', 'use')} "
        f"{_n(len(types), 'restricted volume type', 'restricted volume types')} {_quote(sorted(types))}")


def _opt_in(p: _Pod, verdict: Callable[[dict], bool | None]) -> tuple[list[str], list[str]]:
    """runAsNonRoot and seccompProfile: a good pod-level value covers containers that leave it unset.
    `verdict` answers True (good), False (explicitly bad) or None (unset). Returns (bad setters,
    containers left unset without a good pod-level value)."""
    pod = verdict(p.sc)
    setters = ["pod"] if pod is False else []
    explicit, implicit = [], []
    for c in p.containers:
        own = verdict(_csc(c))
        if own is False:
            explicit.append(_s(c.get("name")))
        elif own is None and pod is not True:
            implicit.append(_s(c.get("name")))
    if explicit:
        setters.append(_who(explicit))
    return setters, implicit


def _run_as_non_root(p: _Pod, minor: int) -> Result:
    def verdict(sc: dict) -> bool | None:
        value = sc.get("runAsNonRoot")
        return None if value is None else value is True

    setters, implicit = _opt_in(p, verdict)
    if setters:
        return "runAsNonRoot != true", (f"{' and '.join(setters)} must not set "
                                        "securityContext.runAsNonRoot=false")
    if implicit:
        return "runAsNonRoot != true", f"pod or {_who(implicit)} must set securityContext.runAsNonRoot=true"
    return None


def _seccomp_restricted(p: _Pod, minor: int) -> Result:
    values = set()

    def verdict(sc: dict) -> bool | None:
        if sc.get("seccompProfile") is None:
            return None
        kind = _seccomp_type(sc)
        if kind in ("RuntimeDefault", "Localhost"):
            return True
        values.add(_s(kind))
        return False

    setters, implicit = _opt_in(p, verdict)
    if setters:
        return "seccompProfile", (f"{' and '.join(setters)} must not set securityContext.seccompProfile.type "
                                  f"to {_quote(sorted(values))}")
    if implicit:
        return "seccompProfile", (f"pod or {_who(implicit)} must set securityContext.seccompProfile.type "
                                  'to "RuntimeDefault" or "Localhost"')
    return None


def _run_as_user(p: _Pod, minor: int) -> Result:
    def root(sc: dict) -> bool:
        uid = sc.get("runAsUser")
        return isinstance(uid, int) and not isinstance(uid, bool) and uid == 0

    setters = ["pod"] if root(p.sc) else []
    bad = [_s(c.get("name")) for c in p.containers if root(_csc(c))]
    if bad:
        setters.append(_who(bad))
    return ("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0") if setters else None


Check = Callable[[_Pod, int], Result]
# (id, level, first policy minor version, check, baseline ids it replaces); ids sorted within each level
_CHECKS: list[tuple[str, str, int, Check, tuple[str, ...]]] = [
    ("appArmorProfile", "baseline", 0, _app_armor, ()),
    ("capabilities_baseline", "baseline", 0, _capabilities_baseline, ()),
    ("hostNamespaces", "baseline", 0, _host_namespaces, ()),
    ("hostPathVolumes", "baseline", 0, _host_path_volumes, ()),
    ("hostPorts", "baseline", 0, _host_ports, ()),
    ("privileged", "baseline", 0, _privileged, ()),
    ("procMount", "baseline", 0, _proc_mount, ()),
    ("seLinuxOptions", "baseline", 0, _se_linux, ()),
    ("seccompProfile_baseline", "baseline", 0, _seccomp_baseline, ()),
    ("sysctls", "baseline", 0, _sysctls, ()),
    ("windowsHostProcess", "baseline", 0, _host_process, ()),
    ("allowPrivilegeEscalation", "restricted", 8, _allow_privilege_escalation, ()),
    ("capabilities_restricted", "restricted", 22, _capabilities_restricted, ("capabilities_baseline",)),
    ("restrictedVolumes", "restricted", 0, _restricted_volumes, ("hostPathVolumes",)),
    ("runAsNonRoot", "restricted", 0, _run_as_non_root, ()),
    ("runAsUser", "restricted", 23, _run_as_user, ()),
    ("seccompProfile_restricted", "restricted", 0, _seccomp_restricted, ("seccompProfile_baseline",)),
]


def enforced_policy(namespace: dict | None) -> tuple[str, int]:
    """(level, minor) from the namespace's enforce labels; bad values fail closed like PSA does."""
    labels = d(d(d(namespace).get("metadata")).get("labels"))
    level = labels.get(LABEL_PREFIX + "enforce", "privileged")
    minor = parse_version(labels.get(LABEL_PREFIX + "enforce-version", "latest"))
    return (level if level in LEVELS else "restricted"), (LATEST if minor is None else minor)


def violations(pod: dict, level: str, minor: int) -> str:
    """ForbiddenDetail of every failing check, "" when the pod is allowed at level:version."""
    if level == "privileged":
        return ""
    active = [c for c in _CHECKS if minor >= c[2] and (level == "restricted" or c[1] == "baseline")]
    replaced = {rid for c in active for rid in c[4]}
    view = _Pod(pod)
    results = [check(view, minor) for cid, _, _, check, _ in active if cid not in replaced]
    return ", ".join(f"{reason} ({detail})" if detail else reason for reason, detail in filter(None, results))

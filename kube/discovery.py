"""Find ARC: its controller(s), their namespace(s) (where the listeners live), the version, the CRD versions
served, and legacy summerwind ARC (named, never managed). Runs on a worker thread; a 403 anywhere narrows
what is known (and says so in `problems`) instead of failing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from arc_top.kube import apis
from arc_top.kube.projections import CONTROLLER_NAMES

VERSION_RE = re.compile(r"^v?\d+\.\d+(\.\d+)?([-+.][0-9A-Za-z.-]+)?$")
_CHART_RE = re.compile(r"-(v?\d+\.\d+\.\d+[0-9A-Za-z.+-]*)$")
CONTROLLER_SELECTORS = (
    f"app.kubernetes.io/part-of in ({','.join(CONTROLLER_NAMES)})",
    f"app.kubernetes.io/name in ({','.join(CONTROLLER_NAMES)})",
)
# The chart puts the controller's namespace on every scale set (the ARS → controller relationship).
A_MANAGER_NAMESPACE = "actions.github.com/cleanup-manager-namespace"


@dataclass(frozen=True)
class ControllerInfo:
    namespace: str
    name: str
    image: str
    version: str                    # image tag, else label app.kubernetes.io/version
    chart_version: str = ""         # from label helm.sh/chart (gha-rs-controller-<version>)
    phase: str = ""


@dataclass(frozen=True)
class ArcInfo:
    controllers: tuple[ControllerInfo, ...] = ()
    controller_namespaces: tuple[str, ...] = ()
    arc_version: str = ""
    chart_version: str = ""
    legacy_summerwind: bool = False
    crd_versions: tuple[str, ...] = ()           # versions of actions.github.com the server serves
    problems: tuple[str, ...] = ()               # one line each: what could not be found out, and why
    server_version: str = ""
    controllers_listed: bool = False             # False: listing controller pods was forbidden or failed
    done: bool = True
    # The served ARC CRD schemas, flattened to (kind, "spec.x"|"status.x", type) for the top-level fields of
    # spec and status (crd_fields below); `crd_kinds` are the kinds whose CRD was read. `crd_schema_problem`:
    # why they could not be read ("" = read, or never tried: then crd_kinds is empty too).
    crd_fields: tuple[tuple[str, str, str], ...] = ()
    crd_kinds: tuple[str, ...] = ()
    crd_schema_problem: str = ""

    @property
    def installed(self) -> bool:
        return bool(self.crd_versions)


def image_tag(image: str) -> str:
    """`ghcr.io/actions/gha-runner-scale-set-controller:0.14.2@sha256:…` → `0.14.2` ("" without a tag)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else ""


def chart_version(chart_label: str) -> str:
    m = _CHART_RE.search(chart_label or "")
    return m.group(1) if m else ""


def controller_info(pod: dict) -> ControllerInfo:
    meta = pod.get("metadata") if isinstance(pod.get("metadata"), dict) else {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)] or [{}]
    manager = next((c for c in containers if c.get("name") == "manager"), containers[0])
    image = str(manager.get("image") or "")
    tag = image_tag(image)
    version = tag if VERSION_RE.match(tag) else str(labels.get("app.kubernetes.io/version") or tag)
    return ControllerInfo(namespace=str(meta.get("namespace") or ""), name=str(meta.get("name") or ""),
                          image=image, version=version.lstrip("v") if VERSION_RE.match(version) else version,
                          chart_version=chart_version(str(labels.get("helm.sh/chart") or "")),
                          phase=str((pod.get("status") if isinstance(pod.get("status"), dict) else {}).get("phase")
                                    or ""))


ARC_CRD_PLURALS = ("autoscalingrunnersets", "ephemeralrunnersets", "ephemeralrunners", "autoscalinglisteners")
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"


def _schema_type(node: dict) -> str:
    kind = str(node.get("type") or "")
    extra = node.get("additionalProperties")
    if kind == "object" and isinstance(extra, dict) and extra.get("type"):
        return f"map[{extra['type']}]"
    if not kind and node.get("x-kubernetes-preserve-unknown-fields"):
        return "object"
    return kind


def crd_fields(crd: dict) -> tuple[str, tuple[tuple[str, str, str], ...]]:
    """(kind, fields) of one ARC CRD: the top-level properties of spec and status of its first served version
    (storage version first), each (kind, "spec.name", type). ("", ()) for anything else."""
    spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
    if spec.get("group") != apis.ARC_GROUP:
        return "", ()
    kind = str((spec.get("names") if isinstance(spec.get("names"), dict) else {}).get("kind") or "")
    versions = [v for v in spec.get("versions") or () if isinstance(v, dict) and v.get("served", True)]
    versions.sort(key=lambda v: not v.get("storage"))
    if not kind or not versions:
        return "", ()
    schema = ((versions[0].get("schema") or {}).get("openAPIV3Schema") or {}) if isinstance(
        versions[0].get("schema"), dict) else {}
    props = schema.get("properties") if isinstance(schema, dict) and isinstance(schema.get("properties"), dict) else {}
    out = []
    for part in ("spec", "status"):
        node = props.get(part) if isinstance(props.get(part), dict) else {}
        fields = node.get("properties") if isinstance(node.get("properties"), dict) else {}
        for name, sub in list(fields.items())[:200]:
            if isinstance(sub, dict):
                out.append((kind, f"{part}.{name}", _schema_type(sub)))
    return kind, tuple(out)


def read_crd_schemas(api) -> tuple[tuple[tuple[str, str, str], ...], tuple[str, ...], str]:
    """(fields, kinds read, problem) of the served ARC CRDs (four small GETs). A 403 is a problem, never an
    error; a CRD that is not there is left out."""
    from kubernetes.client.exceptions import ApiException

    fields: list[tuple[str, str, str]] = []
    kinds: list[str] = []
    for plural in ARC_CRD_PLURALS:
        try:
            doc = apis.read_json(apis.request(api, "GET", f"{CRD_PATH}{plural}.{apis.ARC_GROUP}", timeout=(5, 10)))
        except ApiException as exc:
            if exc.status == 404:
                continue
            if exc.status in (401, 403):
                return (), (), "may not read customresourcedefinitions (403): the CRD schemas were not compared"
            return (), (), f"cannot read the ARC CRDs: {_error_line(exc)}"
        except Exception as exc:
            return (), (), f"cannot read the ARC CRDs: {_error_line(exc)}"
        kind, found = crd_fields(doc)
        if kind:
            kinds.append(kind)
            fields.extend(found)
    return tuple(fields), tuple(kinds), ""


def version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.+-]", version.lstrip("v"))[:3])


def _error_line(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    if status:
        return f"{status} {apis.status_message(exc)}"[:200]
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]


def discover(conn) -> ArcInfo:
    """Blocking (a handful of small requests): call it from a worker thread."""
    from kubernetes.client.exceptions import ApiException

    api = conn.api_client
    problems: list[str] = []
    server_version, crd_versions, legacy = "", (), False
    try:
        doc = apis.read_json(apis.request(api, "GET", "/version/", timeout=(5, 10)))
        server_version = str(doc.get("gitVersion") or "")
    except Exception as exc:
        problems.append(f"cannot read the server version: {_error_line(exc)}")
    try:
        groups = apis.read_json(apis.request(api, "GET", "/apis/", timeout=(5, 10))).get("groups") or []
        for group in groups:
            if not isinstance(group, dict):
                continue
            if group.get("name") == apis.ARC_GROUP:
                crd_versions = tuple(str(v.get("version")) for v in group.get("versions") or [] if isinstance(v, dict))
            elif group.get("name") == apis.LEGACY_GROUP:
                legacy = True
    except Exception as exc:
        problems.append(f"cannot read the API groups: {_error_line(exc)}")
    if not crd_versions and not problems:
        problems.append(f"the ARC CRDs ({apis.ARC_GROUP}) are not installed in this cluster")
    schema_fields, schema_kinds, schema_problem = read_crd_schemas(api) if crd_versions else ((), (), "")
    if legacy:
        problems.append(f"legacy ARC ({apis.LEGACY_GROUP}, summerwind) is installed: arc-top shows runner scale "
                        "sets only and does not manage it")

    pods: dict[str, dict] = {}
    listed = True
    scopes: list[str | None] = [None]
    hinted: set[str] = set()
    listener_tags: set[str] = set()
    for scope in scopes:
        for selector in CONTROLLER_SELECTORS:
            try:
                doc = apis.list_raw(api, apis.PODS, scope, label_selector=selector, timeout=10)
                for item in doc.get("items") or []:
                    if isinstance(item, dict):
                        pods[str((item.get("metadata") or {}).get("uid"))] = item
            except ApiException as exc:
                if exc.status == 403 and scope is None:
                    listed = False
                    scopes.extend(conn.namespaces)      # try where we may look instead
                    break
                problems.append(f"cannot list controller pods: {_error_line(exc)}")
                break
            except Exception as exc:
                problems.append(f"cannot list controller pods: {_error_line(exc)}")
                break
    controller_namespaces = {str((p.get("metadata") or {}).get("namespace") or "") for p in pods.values()}
    if crd_versions:
        # Listeners live in the controller namespace: ask them (cluster-wide), then the scale sets' annotation.
        try:
            doc = apis.list_raw(api, apis.LISTENERS, None, timeout=10)
            for item in doc.get("items") or []:
                if isinstance(item, dict):
                    controller_namespaces.add(str((item.get("metadata") or {}).get("namespace") or ""))
                    listener_tags.add(image_tag(str((item.get("spec") or {}).get("image") or "")))
        except Exception:
            pass
        for ns in conn.namespaces or (None,):
            try:
                doc = apis.list_raw(api, apis.SCALE_SETS, ns, timeout=10)
            except Exception:
                continue
            for item in doc.get("items") or []:
                hint = ((item.get("metadata") or {}).get("annotations") or {}).get(A_MANAGER_NAMESPACE)
                if isinstance(hint, str) and hint:
                    hinted.add(hint)
        controller_namespaces |= hinted
    controller_namespaces.discard("")
    controllers = tuple(sorted((controller_info(p) for p in pods.values()), key=lambda c: (c.namespace, c.name)))
    if not listed and not controllers:
        where = ", ".join(sorted(controller_namespaces)) or "unknown"
        problems.append("may not list pods cluster-wide to find the ARC controller (403); controller namespace: "
                        f"{where}: add it with -n or ask for cluster-wide read access to pods")
    elif crd_versions and not controllers and listed:
        problems.append("no ARC controller pod found (labels app.kubernetes.io/part-of=gha-rs-controller or "
                        "gha-runner-scale-set-controller): is the gha-runner-scale-set-controller chart installed?")
    versions = sorted({c.version for c in controllers if c.version}, key=version_key)
    if not versions:        # the listeners run the controller's image: a version even without the pods
        versions = sorted({t.lstrip("v") for t in listener_tags if VERSION_RE.match(t)}, key=version_key)
    charts = sorted({c.chart_version for c in controllers if c.chart_version}, key=version_key)
    if len(versions) > 1:
        problems.append(f"several ARC controller versions run at once: {', '.join(versions)}")
    return ArcInfo(controllers=controllers, controller_namespaces=tuple(sorted(controller_namespaces)),
                   arc_version=versions[-1] if versions else "", chart_version=charts[-1] if charts else "",
                   legacy_summerwind=legacy, crd_versions=crd_versions, problems=tuple(problems),
                   server_version=server_version, controllers_listed=listed, crd_fields=schema_fields,
                   crd_kinds=schema_kinds, crd_schema_problem=schema_problem)

"""Scenarios: a cluster state to learn from and rehearse fixes on, one YAML file each in `scenarios/`.

A scenario file has a one-line `description`, `users` (bearer tokens are generated at load), a
`github:` section for the fake GitHub (see `sandbox.github.state`), `nodes`, the controller release
(`controller:`), `crds_version` (serve the ARC CRDs of an older chart, as after a Helm upgrade that left them),
raw Kubernetes `objects`, and `scale_sets` rendered as the 0.14.2 chart would
(`sandbox.scenario_chart`). `generator: large` builds the benchmark fleet in Python instead.

Strings may use placeholders, filled at load so that no real-looking secret is ever committed:
`{{github_url}}` (the sandbox's own fake GitHub Enterprise Server), `{{token:<name>}}` (a fresh random
PAT per name: `ghp_…`, or `github_pat_…` when `github.tokens` declares that name fine-grained),
`{{app_private_key:<slug>}}` / `{{app_public_key:<slug>}}` (a generated RSA pair), `{{wrong_private_key}}`.
Secrets may be written with `stringData`; they are stored as base64 `data`, byte for byte.
"""

from __future__ import annotations

import base64
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from arc_top.sandbox import crds, rbac, scenario_large
from arc_top.sandbox.github import FakeGitHub, generate_rsa_key
from arc_top.sandbox.rbac import UserInfo
from arc_top.sandbox.scenario_chart import namespace, node, render_controller, render_scale_set

SCENARIO_DIR = Path(__file__).with_name("scenarios")
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)(?::([A-Za-z0-9_.-]+))?\s*\}\}")
_ALNUM = string.ascii_letters + string.digits
_KEYS = {"description", "namespace", "controller_namespace", "users", "github", "nodes", "controller",
         "objects", "scale_sets", "generator", "params", "crds_version"}


@dataclass
class Scenario:
    name: str
    description: str
    users: dict[str, str]                       # user name -> bearer token
    namespace: str = "arc-runners"              # kubectl's default namespace for this scenario
    controller_namespace: str = "arc-systems"
    params: dict = field(default_factory=dict)


def list_scenarios() -> list[tuple[str, str]]:
    out = []
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text()) or {}
        out.append((path.stem, str(doc.get("description", "")).strip()))
    return out


def load_scenario(cluster, name: str, params: dict | None = None) -> Scenario:
    """Fill `cluster` with the scenario's objects, fake GitHub and users."""
    path = SCENARIO_DIR / f"{name}.yaml"
    if not re.fullmatch(r"[a-z0-9-]+", name or "") or not path.is_file():
        known = ", ".join(n for n, _ in list_scenarios())
        raise ValueError(f"unknown scenario {name!r}; choose one of: {known}")
    doc = yaml.safe_load(path.read_text()) or {}
    unknown = set(doc) - _KEYS
    if unknown:
        raise ValueError(f"scenario {name!r}: unknown keys {sorted(unknown)}")
    params = dict(params or {})
    base_url = str(params.pop("base_url", "") or cluster.base_url or "https://127.0.0.1").rstrip("/")
    allowed = dict(doc.get("params") or {})
    bad = set(params) - set(allowed)
    if bad:
        raise ValueError(f"scenario {name!r} takes no parameter {', '.join(sorted(bad))}"
                         + (f" (it takes {', '.join(sorted(allowed))})" if allowed else ""))
    values = {**allowed, **params}
    filler = _Filler(base_url, doc.get("github") or {})
    large = doc.get("generator") == "large"
    if large:
        doc = {**doc, **scenario_large.generate(values)}
    doc = _trust_github_ca(filler.fill(doc), base_url, getattr(cluster, "ca_pem", b""))
    return install(cluster, name, doc, values, large)


def install(cluster, name: str, doc: dict, values: dict | None = None, large: bool = False) -> Scenario:
    """Fill `cluster` from a scenario document whose placeholders are filled: the fake GitHub, the users, the
    objects (sandbox.replay builds such a document from a dump)."""
    values = dict(values or {})
    cluster.github = FakeGitHub(doc.get("github") or {})
    users = {}
    for user, spec in (doc.get("users") or {"admin": {"groups": ["system:masters"]}}).items():
        token = secrets.token_urlsafe(32)
        groups = [str(g) for g in (spec or {}).get("groups") or ()]    # + what the apiserver adds
        cluster.tokens[token] = UserInfo(str(user), tuple(groups + ["system:authenticated"]))
        users[str(user)] = token
    controller_ns = doc.get("controller_namespace", "arc-systems")
    objects = _objects(doc, controller_ns, str(doc.get("crds_version") or ""))
    cluster.apply_objects(objects)
    backdate(cluster, doc.get("scale_sets") or ())
    if large:
        scenario_large.seed(cluster, values)
    return Scenario(name=name, description=str(doc.get("description", "")).strip(), users=users,
                    namespace=doc.get("namespace", "arc-runners"), controller_namespace=controller_ns,
                    params=values)


GITHUB_CA_CONFIGMAP = "arc-sandbox-github-ca"


def backdate(cluster, entries) -> None:
    """Scale sets with `created_seconds_ago` were installed that long before the scenario starts; with
    `spec_changed_seconds_ago` too, their spec was last written that long before (a managedFields entry, as the API
    server records an update of spec)."""
    now = time.time()
    for entry in entries:
        seconds = float(entry.get("created_seconds_ago") or 0)
        if seconds <= 0:
            continue
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - seconds))
        changed = float(entry.get("spec_changed_seconds_ago") or 0)
        fields = [{"manager": "kubectl-edit", "operation": "Update", "apiVersion": "actions.github.com/v1alpha1",
                   "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - changed)), "fieldsType": "FieldsV1",
                   "fieldsV1": {"f:spec": {}}}] if 0 < changed < seconds else None

        def edit(o, s=stamp, f=fields):
            o["metadata"]["creationTimestamp"] = s
            if f:
                o["metadata"]["managedFields"] = f
        cluster.mutate("autoscalingrunnersets.actions.github.com", entry.get("namespace", "arc-runners"),
                       entry["name"], edit)


def _trust_github_ca(doc: dict, base_url: str, ca_pem: bytes) -> dict:
    """The fake GHES serves HTTPS with the sandbox's own CA. As for a real GHES with a private CA, every scale set
    pointing at it names that CA in githubServerTLS (a ConfigMap `arc-sandbox-github-ca`, key `ca.crt`, in its
    namespace): what the listener would need, and what arc-top's credential probes read."""
    if not ca_pem or not base_url:
        return doc
    sets, namespaces = [], set()
    for entry in doc.get("scale_sets") or ():
        url = str(entry.get("github_config_url", ""))
        if "github_server_tls" not in entry and url.startswith(base_url + "/"):
            entry = {**entry, "github_server_tls": {"configmap": GITHUB_CA_CONFIGMAP, "key": "ca.crt"}}
            namespaces.add(entry.get("namespace", "arc-runners"))
        sets.append(entry)
    if not namespaces:
        return doc
    pem = ca_pem.decode() if isinstance(ca_pem, bytes) else str(ca_pem)
    configmaps = [{"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": GITHUB_CA_CONFIGMAP, "namespace": ns,
                                "labels": {"app.kubernetes.io/part-of": "arc-top-sandbox"}},
                   "data": {"ca.crt": pem}} for ns in sorted(namespaces)]
    return {**doc, "scale_sets": sets, "objects": list(doc.get("objects") or ()) + configmaps}


def _objects(doc: dict, controller_ns: str, crds_version: str = "") -> list[dict]:
    """`crds_version`: serve the ARC CRDs of that chart version (e.g. "0.11.0": Helm never upgraded them) instead
    of the controller's 0.14.2 ones."""
    served = crds.arc_crds()
    if crds_version:
        phase = tuple(int(p) for p in crds_version.split(".")[:2] if p.isdigit()) >= (0, 14)
        served = crds.arc_crds(with_status_phase=phase, controller_version=crds_version)
    objects: list[dict] = rbac.bootstrap_objects() + served
    for index, name in enumerate(doc.get("nodes") or ()):
        objects.append(node(name, index, control_plane=name.startswith("control-plane")))
    controller = doc.get("controller")
    if controller is not None:
        objects += render_controller(controller_ns, annotations=(controller or {}).get("annotations"))
    objects += [_stored_form(o) for o in doc.get("objects") or ()]
    for index, entry in enumerate(doc.get("scale_sets") or (), start=1):
        entry = {"controller_namespace": controller_ns, **entry}
        objects += [_stored_form(o) for o in render_scale_set(entry, index)]
    declared = {o["metadata"]["name"] for o in objects if o.get("kind") == "Namespace"}
    needed = {"default", "kube-system", controller_ns, doc.get("namespace", "arc-runners")}
    needed |= {o["metadata"].get("namespace") for o in objects if o["metadata"].get("namespace")}
    return [namespace(ns) for ns in sorted(needed - declared)] + objects


def _stored_form(obj: dict) -> dict:
    """What the apiserver stores: Secret `stringData` folded into base64 `data`."""
    if obj.get("kind") == "Secret" and "stringData" in obj:
        obj = dict(obj)
        data = dict(obj.get("data") or {})
        for key, value in (obj.pop("stringData") or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data
    return obj


class _Filler:
    """Substitutes the placeholders; a name maps to the same generated value everywhere in one load."""

    def __init__(self, base_url: str, github: dict):
        self.base_url = base_url
        self.values: dict[tuple[str, str], str] = {}
        self.fine_grained = {m.group(2) for t in github.get("tokens") or () if t.get("type") == "fine-grained"
                             for m in [_PLACEHOLDER.search(str(t.get("value", "")))] if m}

    def fill(self, value):
        if isinstance(value, str):
            return _PLACEHOLDER.sub(self._one, value)
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value

    def _one(self, match: re.Match) -> str:
        kind, arg = match.group(1), match.group(2) or ""
        if kind == "github_url":
            return self.base_url
        key = (kind, arg)
        if key in self.values:
            return self.values[key]
        if kind == "token":
            fine = arg in self.fine_grained
            value = f"github_pat_{_random(22)}_{_random(59)}" if fine else f"ghp_{_random(36)}"
        elif kind in ("app_private_key", "app_public_key"):
            private, public = generate_rsa_key(slot=f"scenario-app-{arg}")
            value = private if kind == "app_private_key" else public
        elif kind == "wrong_private_key":
            value = generate_rsa_key(slot="scenario-wrong-key")[0]
        else:
            raise ValueError(f"unknown placeholder {match.group(0)!r}")
        self.values[key] = value
        return value


def _random(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))

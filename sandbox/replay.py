"""A dump replayed: the objects of an `arc-top dump` (or of `kubectl get … -o yaml`) as a sandbox scenario.

What the operator declared is kept — names, namespaces, labels, annotations, specs of the scale sets, Secrets,
ConfigMaps, service accounts, RBAC, NetworkPolicies, StorageClasses, namespaces, claims nobody owns. What ARC and
Kubernetes derive from it is dropped and made again by the simulated controller and kubelet: EphemeralRunnerSets,
EphemeralRunners, AutoscalingListeners, pods, events, objects with an owner, every `status`, uids and
resourceVersions. So a kube-mode scale set without fsGroup fails on `_work` again, a Secret with a trailing newline
breaks its listener again.

Credentials never reach the sandbox: every github_token and GitHub App key (redacted placeholders or, in a file
that was not redacted, the real values) becomes a fake-GitHub credential of the same shape — the same token prefix
and length, the same leading/trailing/inner whitespace, a PEM key stays a PEM key — that the fake GitHub knows and
accepts; so a trailing newline still breaks the listener and a valid-looking token works. Every githubConfigUrl
points at the sandbox's fake GitHub (its path, so its org, repository or enterprise, is kept).

What the dump lacks is completed with defaults, one summary line each (`Replay.completions`): nodes, the
controller release, StorageClasses named by claims when the dump holds no StorageClass at all (a dump that lists
StorageClasses and misses one shows a real failure), namespaces objects live in, the fake GitHub's CA.
"""

from __future__ import annotations

import copy
import re
import secrets
import string
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from arc_top.core.text import age, clean_line
from arc_top.sandbox.github import generate_rsa_key
from arc_top.sandbox.resources import resource_for
from arc_top.sandbox.scenario import GITHUB_CA_CONFIGMAP, Scenario, backdate, install
from arc_top.sandbox.scenario_chart import CHART_VERSION, b64

ARC_GROUP = "actions.github.com"
DERIVED_KINDS = frozenset({"EphemeralRunnerSet", "EphemeralRunner", "AutoscalingListener", "Pod", "Event",
                           "ReplicaSet", "Deployment", "CustomResourceDefinition", "Node", "PersistentVolume",
                           "Lease", "EndpointSlice", "Endpoints", "ControllerRevision"})
DEFAULT_NODES = ("control-plane", "worker-1", "worker-2", "worker-3")
REPLAY_PROVISIONER = "sandbox.arc-top.dev/hostpath"
CONTROLLER_NAMESPACE = "arc-systems"
_DROP_META = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "ownerReferences",
              "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "generateName")
_ALNUM = string.ascii_letters + string.digits
_DNS_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
_A_MANAGER_NAMESPACE = "actions.github.com/cleanup-manager-namespace"


class ReplayError(ValueError):
    """The objects cannot be replayed; str() is one line."""


@dataclass
class DumpFacts:
    """What saved files show beyond their objects, as the checks read it (cli/replay_facts.py finds it; the sandbox
    layer takes it as plain data)."""
    verdicts: dict = field(default_factory=dict)       # (namespace, Secret) -> [{kind, detail, value}] GitHub said
    crds_version: str = ""       # the ARC chart version whose CRDs the files' CRDs match best ("": the files hold none)
    crds_why: str = ""           # how they match, one phrase
    unregistered: dict = field(default_factory=dict)   # (namespace, ARS) -> ("tls" | "credentials", what the log shows)
    ages: dict = field(default_factory=dict)           # (namespace, ARS) -> (created, spec changed: seconds before
                                                       #   the files were saved; 0.0 unknown)


@dataclass
class Replay:
    scenario: Scenario
    completions: list[str] = field(default_factory=list)   # one line per default added
    reproduced: list[str] = field(default_factory=list)    # one line per state of the files kept (CRDs, ages, …)
    kept: dict[str, int] = field(default_factory=dict)     # kind -> objects loaded from the files
    dropped: int = 0                                        # derived objects left to the simulation


def _meta(obj: dict) -> dict:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _str(value) -> str:
    return value if isinstance(value, str) else ""


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _valid_name(kind: str, meta: dict) -> None:
    """A name and namespace Kubernetes would accept (RBAC names may hold `:` and more, never `/` or controls)."""
    name, ns = _str(meta.get("name")), meta.get("namespace")
    if ns is not None and (not isinstance(ns, str) or (ns and not _DNS_LABEL.fullmatch(ns))):
        shown = clean_line(ns)[:60] if isinstance(ns, str) else type(ns).__name__
        raise ReplayError(f"{kind} {clean_line(name)[:60]!r}: namespace {shown!r} is not a valid Kubernetes "
                          "namespace: the files were not saved from a cluster")
    if kind in _RBAC_KINDS:
        ok = len(name) <= 253 and name not in (".", "..") and "/" not in name and "%" not in name \
            and name.isprintable() and not any(c.isspace() for c in name)
    else:
        ok = bool(_DNS_NAME.fullmatch(name))
    if not ok:
        raise ReplayError(f"{kind} {clean_line(name)[:60]!r} is not a valid Kubernetes name: the files were not "
                          "saved from a cluster")


def _clean(obj: dict) -> dict:
    """The object as a user would apply it: no status, no server-set metadata, no arc-top annotation."""
    out = {k: copy.deepcopy(v) for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in _meta(obj).items() if k not in _DROP_META}
    notes = {k: v for k, v in _dict(meta.get("annotations")).items()
             if isinstance(k, str) and not k.startswith("arc-top.dev/")
             and k != "kubectl.kubernetes.io/last-applied-configuration"}
    meta.pop("annotations", None)
    if notes:
        meta["annotations"] = notes
    out["metadata"] = copy.deepcopy(meta)
    return out


def _shaped(core: str, keep: str = "_") -> str:
    """Random letters and digits where `core` has any character but whitespace and `keep`."""
    return "".join(ch if ch.isspace() or ch in keep else secrets.choice(_ALNUM) for ch in core)


def _edges(value: str) -> tuple[str, str, str]:
    core = value.strip()
    if not core:
        return value, "", ""
    return value[: len(value) - len(value.lstrip())], core, value[len(value.rstrip()):]


class _Builder:
    def __init__(self, base_url: str, ca_pem: bytes | str, verdicts: dict | None = None,
                 facts: DumpFacts | None = None) -> None:
        self.facts = facts or DumpFacts()
        self.verdicts = verdicts or self.facts.verdicts or {}  # (namespace, Secret) -> [{kind, detail, value}]
        self.reproduced: list[str] = []                       # one line per state of the files kept
        self.revoked: set[tuple[str, str]] = set()            # (namespace, Secret) the controller's log shows rejected
        self.untrusted: set[tuple[str, str]] = set()          # (namespace, ARS) whose GitHub certificate it distrusts
        self.replayed: list[str] = []                         # "ns/secret: kind" of the verdicts replayed
        self.base_url = base_url.rstrip("/")
        self.ca_pem = ca_pem.decode() if isinstance(ca_pem, bytes) else str(ca_pem or "")
        self.objects: list[dict] = []
        self.completions: list[str] = []
        self.kept: dict[str, int] = {}
        self.dropped = 0
        self.github: dict = {"version": "3.14.0", "orgs": {}, "enterprises": {}, "repos": [], "tokens": [],
                             "apps": []}
        self.owners: dict[tuple[str, str], str] = {}          # (namespace, Secret) -> org/enterprise it serves

    # ---- what to keep ------------------------------------------------------------------------------------
    def keep(self, raw: list[dict]) -> None:
        seen: set[tuple] = set()
        for obj in raw:
            if not isinstance(obj, dict):
                continue
            kind, api_version = _str(obj.get("kind")), _str(obj.get("apiVersion"))
            meta = _meta(obj)
            if kind in DERIVED_KINDS or kind.endswith("List") or meta.get("ownerReferences"):
                self.dropped += 1
                continue
            if resource_for(api_version, kind) is None or not _str(meta.get("name")):
                self.dropped += 1
                continue
            _valid_name(kind, meta)
            key = (api_version, kind, _str(meta.get("namespace")), meta["name"])
            if key in seen:
                continue
            seen.add(key)
            self.objects.append(_clean(obj))
            self.kept[kind] = self.kept.get(kind, 0) + 1

    def of(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o.get("kind") == kind]

    # ---- GitHub -------------------------------------------------------------------------------------------
    def registration_failures(self) -> None:
        """Scale sets the files show unregistered, their registration failing for a reason the controller's log
        shows, stay so: an untrusted certificate keeps its githubServerTLS as saved (the sandbox's CA is not added),
        a rejected credential becomes one GitHub rejects."""
        shown = []
        for ars in self.of("AutoscalingRunnerSet"):
            meta, spec = _meta(ars), _dict(ars.get("spec"))
            key = (_str(meta.get("namespace")), _str(meta.get("name")))
            entry = self.facts.unregistered.get(key)
            if not isinstance(entry, (tuple, list)) or not entry:
                continue
            reason, why = _str(entry[0]), _str(entry[1]) if len(entry) > 1 else ""
            if reason == "tls":
                self.untrusted.add(key)
            elif reason == "credentials":
                self.revoked.add((key[0], _str(spec.get("githubConfigSecret"))))
            else:
                continue
            shown.append(f"{key[0]}/{key[1]} ({clean_line(why)[:80] or reason})")
        if shown:
            self.reproduced.append(f"registration: {len(shown)} scale set{'s' if len(shown) != 1 else ''} stay "
                                   "unregistered for the reason the controller's log shows: " + ", ".join(shown))

    def point_at_fake_github(self) -> None:
        sets = self.of("AutoscalingRunnerSet")
        tls_namespaces: set[str] = set()
        for ars in sets:
            spec = _dict(ars.get("spec"))
            ars["spec"] = spec
            key = (_str(_meta(ars).get("namespace")), _str(_meta(ars).get("name")))
            url = _str(spec.get("githubConfigUrl"))
            try:
                parts = urlsplit(url)
            except ValueError:
                continue
            if not parts.scheme or not parts.netloc or any(c.isspace() for c in url):
                continue                                     # a broken URL stays broken
            spec["githubConfigUrl"] = self.base_url + parts.path
            names = [p for p in parts.path.split("/") if p]
            group = _str(spec.get("runnerGroup")) or "Default"
            owner = ""
            if len(names) == 2 and names[0].lower() == "enterprises":
                owner = names[1]
                self._groups(self.github["enterprises"], owner, group)
            elif names:
                owner = names[0]
                self._groups(self.github["orgs"], owner, group)
                if len(names) == 2:
                    self.github["repos"].append(f"{names[0]}/{names[1]}")
            ns = _str(_meta(ars).get("namespace"))
            self.owners[(ns, _str(spec.get("githubConfigSecret")))] = owner
            if key in self.untrusted:       # its own TLS settings, as saved: they do not hold the sandbox's CA
                ref = _dict(_dict(_dict(spec.get("githubServerTLS")).get("certificateFrom")).get("configMapKeyRef"))
                if ref.get("name") == GITHUB_CA_CONFIGMAP:
                    spec.pop("githubServerTLS", None)
                continue
            if self.ca_pem:
                spec["githubServerTLS"] = {"certificateFrom": {"configMapKeyRef": {"name": GITHUB_CA_CONFIGMAP,
                                                                                     "key": "ca.crt"}}}
                tls_namespaces.add(ns)
        for ns in sorted(tls_namespaces):
            self.objects.append({"apiVersion": "v1", "kind": "ConfigMap",
                                 "metadata": {"name": GITHUB_CA_CONFIGMAP, "namespace": ns,
                                              "labels": {"app.kubernetes.io/part-of": "arc-top-sandbox"}},
                                 "data": {"ca.crt": self.ca_pem}})
        if sets:
            self.completions.append(f"GitHub: {len(sets)} scale set{'s' if len(sets) != 1 else ''} point at the "
                                    f"sandbox's fake GitHub {self.base_url} (their org/repository/enterprise path "
                                    "kept, its CA in ConfigMap arc-sandbox-github-ca)")

    @staticmethod
    def _groups(table: dict, name: str, group: str) -> None:
        entry = table.setdefault(name, {"runner_groups": ["Default"]})
        if group not in entry["runner_groups"]:
            entry["runner_groups"].append(group)

    def fake_credentials(self) -> None:
        tokens = apps = 0
        for secret in self.of("Secret"):
            values = self._values(secret)
            changed = False
            owner = self.owners.get((_str(_meta(secret).get("namespace")), _str(_meta(secret).get("name"))), "")
            where = (_str(_meta(secret).get("namespace")), _str(_meta(secret).get("name")))
            if "github_token" in values:
                values["github_token"] = self._token(values["github_token"], owner, where)
                changed, tokens = True, tokens + 1
            if "github_app_private_key" in values or "github_app_id" in values:
                self._app(values, owner, where)
                changed, apps = True, apps + 1
            if changed:
                secret.pop("stringData", None)
                secret["data"] = {k: b64(v) for k, v in values.items()}
        if self.replayed:
            self.completions.append("GitHub verdicts the dump recorded, replayed: " + ", ".join(self.replayed))
        if tokens or apps:
            what = ", ".join(x for x in (f"{tokens} token{'s' if tokens != 1 else ''}" if tokens else "",
                                        f"{apps} GitHub App key{'s' if apps != 1 else ''}" if apps else "") if x)
            self.completions.append(f"credentials: {what} replaced by fake-GitHub credentials of the same shape "
                                    "(prefix, length, whitespace kept)")

    @staticmethod
    def _values(secret: dict) -> dict[str, str]:
        import base64

        out: dict[str, str] = {}
        for key, encoded in _dict(secret.get("data")).items():
            try:
                out[str(key)] = base64.b64decode(_str(encoded), validate=False).decode("utf-8", "replace")
            except (ValueError, TypeError):
                out[str(key)] = ""
        for key, plain in _dict(secret.get("stringData")).items():
            out[str(key)] = _str(plain)
        return out

    def _verdicts(self, where: tuple[str, str]) -> list[dict]:
        found = [v for v in self.verdicts.get(where, ()) if isinstance(v, dict)]
        self.replayed += [f"{where[0]}/{where[1]} {_str(v.get('kind'))}" for v in found if _str(v.get("kind"))]
        return found

    def _token(self, value: str, owner: str, where: tuple[str, str] = ("", "")) -> str:
        lead, core, trail = _edges(value)
        if not core:
            return value
        prefix = "github_pat_" if core.startswith("github_pat_") else (core[:4] if core[3:4] == "_" else "")
        fake = prefix + _shaped(core[len(prefix):])
        stripped = fake.strip()
        if stripped and not any(c.isspace() for c in stripped):
            if prefix == "github_pat_":
                token = {"value": stripped, "type": "fine-grained", "login": "arc-admin", "owner": owner or "arc-org",
                         "expires_in_days": 60, "permissions": {"organization_self_hosted_runners": "write",
                                                                "administration": "write", "metadata": "read"}}
            else:
                token = {"value": stripped, "type": "classic", "login": "arc-admin", "expires_in_days": 60,
                         "scopes": ["repo", "admin:org", "manage_runners:enterprise"]}
            if where in self.revoked:
                token["revoked"] = True
            for verdict in self._verdicts(where):
                kind, detail, days = _str(verdict.get("kind")), _str(verdict.get("detail")), verdict.get("value")
                if kind == "bad-credentials":
                    token["revoked"] = True
                elif kind in ("expired", "expiring"):
                    ok = isinstance(days, (int, float)) and not isinstance(days, bool) and -3650 < days < 3650
                    token["expires_in_days"] = float(days) if ok else (-3 if kind == "expired" else 5)
                elif kind == "missing-scope" and "scopes" in token:
                    token["scopes"] = [x for x in token["scopes"] if x != detail]
                elif kind == "missing-permission" and "permissions" in token:
                    token["permissions"].pop(detail, None)
            self.github["tokens"].append(token)
        return lead + fake + trail

    def _app(self, values: dict[str, str], owner: str, where: tuple[str, str] = ("", "")) -> None:
        index = len(self.github["apps"]) + 1
        app_id, installation_id = 4000 + index, 77000 + index
        for key, number in (("github_app_id", app_id), ("github_app_installation_id", installation_id)):
            if key in values:
                lead, core, trail = _edges(values[key])
                if core.isdigit():
                    values[key] = f"{lead}{number}{trail}"
        private, _public = generate_rsa_key(slot=f"replay-app-{index}")
        if "github_app_private_key" in values:
            lead, core, trail = _edges(values["github_app_private_key"])
            if "-----BEGIN" in core and "PRIVATE KEY-----" in core:
                values["github_app_private_key"] = lead + private.strip() + (trail or "\n")
        app = {"id": app_id, "slug": f"replay-app-{index}", "private_key_pem": private,
               "installations": [{"id": installation_id, "account": owner or "arc-org",
                                  "permissions": {"organization_self_hosted_runners": "write",
                                                  "administration": "write", "metadata": "read"}}]}
        verdicts = self._verdicts(where)
        if where in self.revoked and not any(_str(v.get("kind")) == "wrong-key" for v in verdicts):
            verdicts.append({"kind": "wrong-key"})      # GitHub rejects the app's JWT (401)
        for verdict in verdicts:
            kind, detail, value = _str(verdict.get("kind")), _str(verdict.get("detail")), verdict.get("value")
            if kind == "wrong-key":               # GitHub knows another key for this app id
                app.pop("private_key_pem")
                app["public_key_pem"] = generate_rsa_key(slot="replay-wrong-key")[1]
            elif kind == "not-installed":
                app["installations"] = []
            elif kind == "app-missing-permission":
                for installation in app["installations"]:
                    installation["permissions"].pop(detail, None)
            elif kind == "clock-skew" and isinstance(value, (int, float)) and abs(value) < 1e6:
                app["clock_skew_seconds"] = float(value)
        self.github["apps"].append(app)

    # ---- the files' own state --------------------------------------------------------------------------------
    def crds(self) -> str:
        """The chart version whose ARC CRDs to serve ("": the controller's own, the files hold none)."""
        version = _str(self.facts.crds_version)
        if not re.fullmatch(r"\d{1,3}\.\d{1,3}\.\d{1,3}", version):
            return ""
        why = clean_line(_str(self.facts.crds_why))[:100] or "as the files hold them"
        self.reproduced.append(f"CRDs: the ARC CRDs of chart {version} are served ({why})")
        return version

    def ages(self) -> list[dict]:
        """Scale sets as old as in the files: (name, namespace, created_seconds_ago, spec_changed_seconds_ago)."""
        entries = []
        for ars in self.of("AutoscalingRunnerSet"):
            meta = _meta(ars)
            key = (_str(meta.get("namespace")), _str(meta.get("name")))
            found = self.facts.ages.get(key)
            if not isinstance(found, (tuple, list)) or len(found) != 2:
                continue
            created, changed = (float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else 0.0
                                for x in found)
            if 0 < created < 10 * 365 * 86400:
                entries.append({"name": key[1], "namespace": key[0], "created_seconds_ago": created,
                                "spec_changed_seconds_ago": changed if 0 < changed < created else 0.0})
        if entries:
            oldest = max(e["created_seconds_ago"] for e in entries)
            self.reproduced.append(f"ages: {len(entries)} scale set{'s' if len(entries) != 1 else ''} created as long "
                                   f"before now as before the files were saved (the oldest {age(oldest)})")
        return entries

    # ---- defaults --------------------------------------------------------------------------------------------
    def controller_namespace(self, raw: list[dict]) -> str:
        for obj in raw:
            if isinstance(obj, dict) and obj.get("kind") == "Pod":
                labels = _dict(_meta(obj).get("labels"))
                if labels.get("app.kubernetes.io/component") == "controller-manager":
                    return _str(_meta(obj).get("namespace")) or CONTROLLER_NAMESPACE
        for ars in self.of("AutoscalingRunnerSet"):
            hint = _str(_dict(_meta(ars).get("annotations")).get(_A_MANAGER_NAMESPACE))
            if hint:
                return hint
        return CONTROLLER_NAMESPACE

    def storage_classes(self) -> None:
        if self.of("StorageClass"):
            return
        named: set[str] = set()
        for pvc in self.of("PersistentVolumeClaim"):
            named.add(_str(_dict(pvc.get("spec")).get("storageClassName")))
        for ars in self.of("AutoscalingRunnerSet"):
            pod = _dict(_dict(_dict(ars.get("spec")).get("template")).get("spec"))
            for volume in pod.get("volumes") or ():
                claim = _dict(_dict(_dict(_dict(volume).get("ephemeral")).get("volumeClaimTemplate")).get("spec"))
                if claim:
                    named.add(_str(claim.get("storageClassName")))
        default = "" in named
        named.discard("")
        for name in sorted(named):
            self.objects.append(_storage_class(name, default=False))
            self.completions.append(f"StorageClass {name}: named by a claim, not in the files; added "
                                    f"(provisioner {REPLAY_PROVISIONER})")
        if default:
            self.objects.append(_storage_class("standard", default=True))
            self.completions.append("StorageClass standard: claims name no class and the files hold none; added as "
                                    "the default class")


def _storage_class(name: str, default: bool) -> dict:
    meta: dict = {"name": name}
    if default:
        meta["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": meta,
            "provisioner": REPLAY_PROVISIONER, "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"}


def replay_document(raw: list[dict], base_url: str, ca_pem: bytes | str = b"",
                    verdicts: dict | None = None, facts: DumpFacts | None = None) -> tuple[dict, _Builder]:
    """The scenario document (for scenario.install) of the objects of a dump, and what was done to build it.
    `verdicts`: (namespace, Secret) -> the GitHub probe problems the dump recorded ({kind, detail, value}), so
    that an expired, revoked or under-scoped credential is one again (default: those of `facts`). `facts`: what the
    checks read in the files beyond their objects (the CRDs' version, failed registrations, the scale sets' ages)."""
    b = _Builder(base_url, ca_pem, verdicts, facts)
    b.keep(raw)
    if not b.of("AutoscalingRunnerSet"):
        raise ReplayError("the files hold no AutoscalingRunnerSet: save them with arc-top dump, or kubectl get "
                          "autoscalingrunnersets,secrets,… -A -o yaml")
    crds_version = b.crds()
    b.registration_failures()
    b.point_at_fake_github()
    b.fake_credentials()
    b.storage_classes()
    controller_ns = b.controller_namespace(raw)
    b.completions.insert(0, f"nodes: {len(DEFAULT_NODES)} default nodes ({', '.join(DEFAULT_NODES)}): a dump holds "
                            "no nodes")
    b.completions.insert(1, f"controller: the gha-rs-controller {CHART_VERSION} release in {controller_ns} "
                            "(Deployment, pod, service account, RBAC), simulated")
    declared = {_meta(o).get("name") for o in b.of("Namespace")}
    needed = {_str(_meta(o).get("namespace")) for o in b.objects} - {""}
    missing = sorted(needed - declared - {"default", "kube-system", controller_ns})
    if missing:
        b.completions.append(f"namespaces: {', '.join(missing)} (objects live there, the files do not hold them)")
    first = b.of("AutoscalingRunnerSet")[0]
    doc = {"description": f"replay of {sum(b.kept.values())} objects from saved files",
           "namespace": _str(_meta(first).get("namespace")) or "default", "controller_namespace": controller_ns,
           "users": {"admin": {"groups": ["system:masters"]}}, "github": b.github, "nodes": list(DEFAULT_NODES),
           "controller": {}, "objects": b.objects}
    if crds_version:
        doc["crds_version"] = crds_version
    return doc, b


def load_replay(cluster, raw: list[dict], name: str = "replay", verdicts: dict | None = None,
                facts: DumpFacts | None = None) -> Replay:
    """Fill `cluster` with the replay of `raw` (the objects of one or several saved files)."""
    base_url = str(getattr(cluster, "base_url", "") or "https://127.0.0.1")
    doc, b = replay_document(raw, base_url, getattr(cluster, "ca_pem", b""), verdicts, facts)
    ages = b.ages()
    try:
        scenario = install(cluster, name, doc)
        backdate(cluster, ages)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ReplayError(f"an object of the files cannot be loaded ({type(exc).__name__}: {str(exc)[:120]})") from None
    scenario.description = doc["description"]
    return Replay(scenario=scenario, completions=b.completions, reproduced=b.reproduced, kept=b.kept,
                  dropped=b.dropped)


__all__ = ["DERIVED_KINDS", "DumpFacts", "Replay", "ReplayError", "load_replay", "replay_document"]

"""Legacy discovery documents (/api, /api/v1, /apis, /apis/<g>/<v>) built from the resource registry."""

from __future__ import annotations

from arc_top.sandbox.resources import RESOURCES, Resource, groups

VERSION_INFO = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.4",
    "gitCommit": "4cb5f07a4f6b9a4ebd4d27a7d8a1dc9cdd1d8e6d",
    "gitTreeState": "clean",
    "buildDate": "2026-04-15T00:00:00Z",
    "goVersion": "go1.23.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions(server_address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_entry(name: str, version: str) -> dict:
    gv = {"groupVersion": f"{name}/{version}", "version": version}
    return {"name": name, "versions": [gv], "preferredVersion": gv}


def _crd_groups(crds: list[dict]) -> dict[str, str]:
    """The groups (and first served version) of stored CRDs. A CRD of a group the sandbox has no built-in
    kinds for (e.g. legacy summerwind ARC's actions.summerwind.dev) is discovered, as a real server would
    after installing it; its objects are not served."""
    out: dict[str, str] = {}
    for crd in crds:
        spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
        group = spec.get("group")
        versions = [v.get("name") for v in spec.get("versions") or () if isinstance(v, dict) and v.get("served", True)]
        if isinstance(group, str) and group and versions and isinstance(versions[0], str):
            out.setdefault(group, versions[0])
    return out


def api_group_list(crds: list[dict] = ()) -> dict:
    seen: dict[str, str] = {}
    for r in RESOURCES:
        if r.group and r.group not in seen:
            seen[r.group] = r.version
    for group, version in _crd_groups(list(crds)).items():
        seen.setdefault(group, version)
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group_entry(g, v) for g, v in seen.items()]}


def api_group(name: str, crds: list[dict] = ()) -> dict | None:
    for r in RESOURCES:
        if r.group == name:
            return dict(_group_entry(name, r.version), kind="APIGroup", apiVersion="v1")
    version = _crd_groups(list(crds)).get(name)
    if version:
        return dict(_group_entry(name, version), kind="APIGroup", apiVersion="v1")
    return None


def _entry(r: Resource) -> dict:
    entry = {"name": r.plural, "singularName": r.singular_name, "namespaced": r.namespaced,
             "kind": r.kind, "verbs": list(r.verbs)}
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.group == "actions.github.com":
        entry["categories"] = ["all"] if r.kind == "EphemeralRunner" else []
    return entry


def resource_list(group_version: str) -> dict | None:
    resources = groups().get(group_version)
    if resources is None:
        return None
    out = []
    for r in resources:
        out.append(_entry(r))
        for sub in r.subresources:
            verbs = ["get"] if sub == "log" else ["get", "patch", "update"]
            out.append({"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced,
                        "kind": r.kind if sub != "log" else "Pod", "verbs": verbs})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": out}

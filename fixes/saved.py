"""Planning a fix from saved files (`arc-top fix --from`): the same plans as against a cluster, made from the objects
of a dump or of `kubectl get … -o yaml`, with nothing sent anywhere. The operations come out as kubectl commands or
as the changed objects, for a change review, a GitOps repository or a cluster arc-top cannot reach.

A saved object's resourceVersion is not the live one: the JSON patches printed here keep every `test` of a value
they replace but not the resourceVersion test, and deletes keep the uid precondition only.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Iterable

import yaml

from arc_top.checks.fixplan import FixPlan, Variant, apply_patch, masked_object
from arc_top.fixes.session import Fixer
from arc_top.kube import remedy
from arc_top.kube.operations import CREATE, DELETE, PATCH, Operation, Target

RV_TEST = "/metadata/resourceVersion"
_SERVER_META = ("resourceVersion", "uid", "generation", "managedFields", "creationTimestamp", "selfLink")


def _meta(obj: dict) -> dict:
    return obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}


def _selected(obj: dict, selector: str) -> bool:
    labels = _meta(obj).get("labels") if isinstance(_meta(obj).get("labels"), dict) else {}
    for term in filter(None, (t.strip() for t in selector.split(","))):
        key, _, value = term.partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


class SavedFixer(Fixer):
    """A Fixer whose reads come from saved objects; read-only (it never has a client to write with)."""

    def __init__(self, objects: Iterable[dict]) -> None:
        super().__init__(None, context="saved files", read_only=True)
        self.objects = [o for o in objects if isinstance(o, dict)]

    def _matches(self, obj: dict, target: Target) -> bool:
        meta = _meta(obj)
        return (obj.get("kind") == target.kind and str(obj.get("apiVersion", "")).split("/")[0] ==
                target.api_version.split("/")[0] and (not target.namespace or meta.get("namespace") ==
                                                       target.namespace))

    def read(self, target: Target) -> dict:
        for obj in self.objects:
            if self._matches(obj, target) and _meta(obj).get("name") == target.name:
                return obj
        raise remedy.Gone(404, f"{target.label()} is not in the saved files")

    def list_objects(self, target: Target, label_selector: str = "") -> list[dict]:
        return [o for o in self.objects if self._matches(o, target) and _selected(o, label_selector)]


def portable(op: Operation) -> Operation:
    """`op` without the saved resourceVersion (the live one differs); value tests and the uid stay."""
    if op.verb == PATCH:
        return dataclasses.replace(op, patch=tuple(o for o in op.patch if o.get("path") != RV_TEST))
    if op.verb == DELETE:
        return dataclasses.replace(op, resource_version="")
    return op


def as_patch_text(plan: FixPlan, variant: Variant) -> str:
    """The variant as commands: `kubectl patch --type json` per patch, `kubectl apply` per create, `kubectl delete`
    with the uid checked per delete. A write of secret values is never printed: its kubectl equivalent (which reads
    the value from a file) is, instead."""
    out = [f"# {plan.title} — {variant.name}: {variant.summary}",
           "# from saved files: review, then run against the cluster (kubectl context!)"]
    for op in map(portable, variant.operations):
        t = op.target
        where = f" -n {shlex.quote(t.namespace)}" if t.namespace else ""
        out.append(f"# {op.headline()}" + (f" — {op.note}" if op.note else ""))
        if op.secret:
            out.append("#   (secret values are not printed; the kubectl equivalent below writes them from a file)")
            continue
        if op.verb == PATCH:
            out.append(f"kubectl patch {t.resource()} {shlex.quote(t.name)}{where} --type json -p "
                       + shlex.quote(json.dumps(list(op.patch), separators=(",", ":"))))
        elif op.verb == CREATE:
            out.append("kubectl apply -f - <<'ARC_TOP_EOF'\n" + yaml.safe_dump(op.body, sort_keys=False).rstrip()
                       + "\nARC_TOP_EOF")
        elif op.verb == DELETE:
            out.append(f"kubectl delete {t.resource()} {shlex.quote(t.name)}{where}"
                       + (f"   # the object saved had uid {op.uid}: check it is still that one" if op.uid else ""))
    if any(op.secret for op in variant.operations):
        out += ["# the kubectl equivalent of the whole fix:", *variant.kubectl]
    return "\n".join(out) + "\n"


def as_yaml_text(plan: FixPlan, variant: Variant) -> str:
    """The objects the variant changes or creates, as they would be after it (server-owned fields out), one YAML
    List for `kubectl apply` or a GitOps repository; deleted objects are named in comments."""
    items, deleted = [], []
    results: dict[str, dict] = {}
    for op in map(portable, variant.operations):
        key = op.target.path()
        if op.verb == DELETE:
            deleted.append(f"# deleted: {op.target.label()}" + (f" (uid {op.uid})" if op.uid else ""))
            results.pop(key, None)
            continue
        if op.verb == CREATE:
            results[key] = dict(op.body or {})
            continue
        base = results.get(key) or plan.objects.get(key)
        if base is None:
            continue
        results[key] = apply_patch(base, list(op.patch))
    for key, obj in results.items():
        secret = any(op.secret for op in variant.operations if op.target.path() == key)
        shown = masked_object(obj, secret)
        meta = shown.get("metadata") if isinstance(shown.get("metadata"), dict) else {}
        for field in _SERVER_META:
            meta.pop(field, None)
        items.append(shown)
    head = [f"# {plan.title} — {variant.name}: {variant.summary}",
            "# from saved files: the objects after the fix (server-owned fields left out; Secret values masked)"]
    doc = {"apiVersion": "v1", "kind": "List", "items": items}
    return "\n".join([*head, *deleted, yaml.safe_dump(doc, sort_keys=False).rstrip()]) + "\n"

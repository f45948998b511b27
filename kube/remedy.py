"""Sending a fix's writes (kube.operations.Operation) through the official client: read, access review,
server-side dry-run, apply. Textual-free; the caller decides what to show.

Errors come back as `WriteError` with the server's own Status message, verbatim on one line (admission, PodSecurity
and validation messages are what the operator needs to read). A failed precondition — 409 Conflict, or 422 from a
JSON patch `test` op — means the object moved since the plan was made, nothing was written. A 409 is a `Changed`
here; a 422 does not say which op failed (the API server keeps only "the server rejected our request due to an error
in our request"), so fixes.session tells a failed `test` from a real rejection by re-reading the object.
"""

from __future__ import annotations

import json

from arc_top.kube.apis import read_json, request, status_message
from arc_top.kube.operations import CREATE, DELETE, JSON_PATCH, PATCH, Operation, Target

REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
TIMEOUT = (5.0, 20.0)


class WriteError(Exception):
    """A request the server refused (status, one-line message)."""

    def __init__(self, status: int, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason


class Changed(WriteError):
    """A precondition failed: the object changed since it was read. Nothing was written."""


class Forbidden(WriteError):
    pass


class Gone(WriteError):
    pass


class Unreachable(WriteError):
    """No answer (connection refused, reset, timed out): whether a write landed is unknown."""


def _error(exc: BaseException) -> WriteError:
    status = int(getattr(exc, "status", 0) or 0)
    message = status_message(exc)
    reason = ""
    body = getattr(exc, "body", None)
    if body:
        try:
            reason = str(json.loads(body).get("reason", ""))
        except (ValueError, TypeError, AttributeError):
            reason = ""
    if status == 409:
        return Changed(status, message, reason)
    if status == 403:
        return Forbidden(status, message, reason)
    if status == 404:
        return Gone(status, message, reason)
    return WriteError(status, message, reason)


def _call(api_client, method: str, path: str, params: dict | None = None, body=None, headers=None) -> dict:
    from kubernetes.client.exceptions import ApiException

    try:
        return read_json(request(api_client, method, path, params, body=body, headers=headers, timeout=TIMEOUT))
    except ApiException as exc:
        raise _error(exc) from None
    except Exception as exc:  # transport: refused, reset, TLS, timeout (urllib3 wraps them all)
        raise Unreachable(0, f"the API server did not answer {method} {path}: {_transport(exc)}") from None


def _transport(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    text = " ".join(str(reason).split())
    return text if len(text) <= 160 else text[:159] + "…"


def read(api_client, target: Target) -> dict:
    """The live object (raises Gone when it does not exist)."""
    return _call(api_client, "GET", target.path())


def list_objects(api_client, target: Target, label_selector: str = "") -> list[dict]:
    """The objects of `target`'s kind in its namespace ("" = every namespace) matching `label_selector`."""
    params = {"label_selector": label_selector} if label_selector else None
    doc = _call(api_client, "GET", target.collection_path(), params)
    items = doc.get("items")
    out = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    for item in out:        # list items carry no kind (the API server leaves it to the list)
        item.setdefault("kind", target.kind)
        item.setdefault("apiVersion", target.api_version)
    return out


def can_i(api_client, op: Operation) -> tuple[bool, str]:
    """(allowed, reason) from a SelfSubjectAccessReview of `op` — the question `kubectl auth can-i` asks."""
    verb, group, resource, namespace, name = op.access()
    attrs = {"verb": verb, "group": group, "resource": resource}
    if namespace:
        attrs["namespace"] = namespace
    if name:
        attrs["name"] = name
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": attrs}}
    out = _call(api_client, "POST", REVIEWS, body=review)
    status = out.get("status") if isinstance(out.get("status"), dict) else {}
    return bool(status.get("allowed")), str(status.get("reason") or "")


def denied_reason(op: Operation) -> str:
    """"your account cannot patch autoscalingrunnersets in arc-runners"."""
    t = op.target
    where = f" in {t.namespace}" if t.namespace else ""
    return f"your account cannot {op.verb} {t.resource()}{where}"


def execute(api_client, op: Operation, dry_run: bool) -> dict:
    """Send `op` (with `dryRun=All` when `dry_run`); the server's answer object. Raises WriteError."""
    params = {"dry_run": "All"} if dry_run else None
    t = op.target
    if op.verb == PATCH:
        return _call(api_client, "PATCH", t.path(), params, body=list(op.patch),
                     headers={"Content-Type": JSON_PATCH})
    if op.verb == CREATE:
        return _call(api_client, "POST", t.collection_path(), params, body=op.body)
    if op.verb == DELETE:
        options: dict = {"apiVersion": "v1", "kind": "DeleteOptions",
                         "preconditions": {k: v for k, v in (("uid", op.uid),
                                                              ("resourceVersion", op.resource_version)) if v}}
        if dry_run:
            options["dryRun"] = ["All"]
        return _call(api_client, "DELETE", t.path(), params, body=options)
    raise ValueError(f"unknown verb {op.verb!r}")

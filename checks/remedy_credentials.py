"""Rotate a scale set's GitHub credential (ARC104, ARC105, ARC106, ARC107): the operator gives the new token, or
the new GitHub App id, installation id and private key; it is written to the Secret, then the listener is restarted
(it reads the Secret only when it starts).

Pure, like every plan: the new values arrive in `Facts.pasted` (a `Pasted`, which never shows its values). That the
new credential works — GitHub accepts it, with the scopes or App permissions the scale set's level needs, and it
does not expire within days — is probed before planning by the caller (fixes/session.py), with the same probes the
checks use: a credential that fails is never written. Every value in the diff, the kubectl equivalent and the audit
is masked (`ghp_…a1b2`); the kubectl equivalent reads the value from a file, never from the command line.
"""

from __future__ import annotations

import shlex

from arc_top.checks.context import d
from arc_top.checks.finding import Finding
from arc_top.checks.fixplan import Facts, FixPlan, PlanError, Variant, encode, pointer
from arc_top.checks.remedy_kit import (
    kubectl_delete,
    patch_op,
    register,
    release_of,
    restart_listener_ops,
    secret_needs,
    secret_target,
    staged,
    target_of,
)

TOKEN_KEY = "github_token"
APP_KEYS = ("github_app_id", "github_app_installation_id", "github_app_private_key")
ROTATION_CODES = ("ARC104", "ARC105", "ARC106", "ARC107")
WRITE_STEP = "write the new credential"
RESTART_STEP = "restart the listener"


class NeedsInput(PlanError):
    """The plan needs the new credential: `fields` names what to ask for (`github_token`, or the App's three)."""

    def __init__(self, message: str, fields: tuple[str, ...]) -> None:
        super().__init__(message)
        self.fields = fields


def fields_for(code: str, secret: dict | None) -> tuple[str, ...]:
    """What to ask for: the App's three values for an App Secret (or ARC107), else a token."""
    data = d((secret or {}).get("data"))
    if code == "ARC107" or (TOKEN_KEY not in data and any(k in data for k in APP_KEYS)):
        return APP_KEYS
    return (TOKEN_KEY,)


def config_url(facts: Facts) -> str:
    """The githubConfigUrl the new credential must work for (the scale set's)."""
    return str(d(d(facts.scale_set).get("spec")).get("githubConfigUrl") or "")


def _ops(secret: dict, values: dict[str, str]) -> tuple[list[dict], list[str]]:
    data = d(secret.get("data"))
    ops: list[dict] = []
    changed = []
    for key, value in values.items():
        path = pointer("data", key)
        new = encode(value)
        if key in data:
            if data[key] == new:
                continue
            ops += [{"op": "test", "path": path, "value": data[key]}, {"op": "replace", "path": path, "value": new}]
        elif isinstance(secret.get("data"), dict):
            ops.append({"op": "add", "path": path, "value": new})
        else:
            ops.append({"op": "add", "path": "/data", "value": {key: new}})
            secret = {**secret, "data": {key: new}}
        changed.append(key)
    stale = [k for k in ((TOKEN_KEY,) if TOKEN_KEY not in values else APP_KEYS) if k in data]
    for key in stale:          # switching kind: the other kind's keys go (ARC reads a token first)
        path = pointer("data", key)
        ops += [{"op": "test", "path": path, "value": data[key]}, {"op": "remove", "path": path}]
        changed.append(f"-{key}")
    return ops, changed


@register(*ROTATION_CODES, summary="rotate the credential: the new token (or GitHub App key), probed with GitHub "
                                   "before it is written, then restart the listener",
          variants=("rotate",), needs=secret_needs)
def rotate(f: Finding, facts: Facts) -> FixPlan:
    secret = facts.target
    target = target_of(secret, secret_target("", ""))
    wanted = fields_for(f.code, secret)
    pasted = facts.pasted
    if pasted is None or not pasted.keys():
        what = "a new token" if wanted == (TOKEN_KEY,) else "the GitHub App id, installation id and private key"
        raise NeedsInput(f"rotating {target.label()} needs {what}", wanted)
    values = pasted.values_for_plan()
    if TOKEN_KEY in values and any(k in values for k in APP_KEYS):
        raise PlanError("give either a token or a GitHub App's three values, not both")
    if TOKEN_KEY not in values and not all(values.get(k) for k in APP_KEYS):
        raise PlanError("a GitHub App needs all three: github_app_id, github_app_installation_id, "
                        "github_app_private_key")
    ops, changed = _ops(secret, values)
    if not ops:
        raise PlanError(f"{target.label()} holds this credential already")
    write = staged(patch_op(secret, target, ops, f"write {', '.join(k for k in changed if not k.startswith('-'))}",
                            secret=True), WRITE_STEP)
    restarts = [staged(op, RESTART_STEP)
                for op in restart_listener_ops(facts, "the listener reads the Secret only when it starts")]
    shown = ", ".join(f"{k} = {pasted.masked(k)}" for k in values)
    ns, name = shlex.quote(target.namespace), shlex.quote(target.name)
    if TOKEN_KEY in values:
        create = (f"kubectl create secret generic {name} -n {ns} --from-file=github_token=token.txt "
                  "--dry-run=client -o yaml | kubectl apply -f -   # token.txt: the token, no newline (printf %s)")
    else:
        create = (f"kubectl create secret generic {name} -n {ns} --from-literal=github_app_id="
                  f"{shlex.quote(values['github_app_id'])} --from-literal=github_app_installation_id="
                  f"{shlex.quote(values['github_app_installation_id'])} "
                  "--from-file=github_app_private_key=app.pem --dry-run=client -o yaml | kubectl apply -f -")
    helm = ("# githubConfigSecret names a Secret you manage: keep the new value where it is managed (a secret "
            "store, sealed secrets, …),\n# or the next sync writes the old one back. Values passed inline "
            "(githubConfigSecret.github_token) go through helm upgrade --set-file, without a newline.\n")
    variant = Variant(
        "rotate", f"write {shown} into Secret {target.namespace}/{target.name}"
                  + (", then restart the listener (delete its pod; the AutoscalingListener makes a new one)"
                     if restarts else ""),
        (write, *restarts), kubectl=(create, *kubectl_delete(restarts)), helm=helm,
        risks=("GitHub accepted the new credential just now (probed before this plan); the old one stays valid "
               "at GitHub until you revoke it there.",
               "Undo writes the old value back: only this arc-top session can (the old value is never recorded).",
               "Runners already registered keep running; new runners register with the new credential."))
    return FixPlan(f.code, f, target, (variant,), release_of(facts.scale_set),
                   notes=(f"probed with GitHub before planning: {pasted.verdict}",) if pasted.verdict else ())

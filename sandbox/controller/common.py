"""ARC's names, labels and small helpers shared by the controller simulation's modules."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from arc_top.core.arc import (  # noqa: F401 (the controller's modules import them from here)
    L_COMPONENT,
    L_EPHEMERAL,
    L_PART_OF,
    L_SET_NAME,
    L_SET_NS,
    L_VERSION,
    github_url_labels,
)

ARS = "autoscalingrunnersets.actions.github.com"
ERS = "ephemeralrunnersets.actions.github.com"
ER = "ephemeralrunners.actions.github.com"
LISTENER = "autoscalinglisteners.actions.github.com"
ARC_API = "actions.github.com/v1alpha1"

CONTROLLER_VERSION = "0.14.2"
CONTROLLER_IMAGE = f"ghcr.io/actions/gha-runner-scale-set-controller:{CONTROLLER_VERSION}"
RUNNER_VERSION = "2.329.0"

L_RUNNER_POD = "runner-pod"
A_SPEC_HASH = "actions.github.com/runner-spec-hash"
A_SET_ID = "runner-scale-set-id"

F_ARS = "autoscalingrunnerset.actions.github.com/finalizer"
F_ERS = "ephemeralrunnerset.actions.github.com/finalizer"
F_ER = "ephemeralrunner.actions.github.com/finalizer"
F_REGISTRATION = "ephemeralrunner.actions.github.com/runner-registration-finalizer"
F_LISTENER = "autoscalinglistener.actions.github.com/finalizer"

JOB_STREAM_ANNOTATION = "sandbox.arc-top.dev/job-stream"


@dataclass(frozen=True)
class Timing:
    """Simulated durations in seconds of sandbox time; `speed` > 1 makes everything happen sooner
    (tests run at 10-20×, the demo at 1×)."""

    speed: float = 1.0

    def real(self, seconds: float) -> float:
        return seconds / self.speed


def fnv32a(text: str) -> str:
    """ARC names a listener `<ars>-<FNV hash of the namespace>-listener`; this is that hash."""
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{h:x}"[:8]


def listener_name(ars: dict) -> str:
    meta = ars["metadata"]
    return f"{meta['name']}-{fnv32a(meta['namespace'])}-listener"


def short_hash(value: object, length: int = 10) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:length]


def owner_ref(obj: dict, controller: bool = True) -> dict:
    meta = obj["metadata"]
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def labels(obj: dict) -> dict:
    return obj["metadata"].get("labels") or {}


def set_key(obj: dict) -> tuple[str, str] | None:
    """The (namespace, name) of the scale set an ARC object or runner pod belongs to, from its labels."""
    lab = labels(obj)
    name, ns = lab.get(L_SET_NAME), lab.get(L_SET_NS)
    return (ns, name) if name and ns else None


def decode_secret(secret: dict | None) -> dict[str, str] | None:
    """A Secret's values as the listener reads them: base64 `data` plus `stringData`, never trimmed."""
    if secret is None:
        return None
    out: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(str(value)).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            out[key] = ""
    for key, value in (secret.get("stringData") or {}).items():
        out[key] = str(value)
    return out


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def rfc3339(ts: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if ts is None else ts))


def runner_stamp(ts: float | None = None) -> str:
    """The runner's own timestamp format: `2026-05-12 10:14:03Z`."""
    return datetime.fromtimestamp(time.time() if ts is None else ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def container(pod: dict, name: str, init: bool = False) -> dict | None:
    key = "initContainers" if init else "containers"
    return next((c for c in pod.get("spec", {}).get(key) or () if c.get("name") == name), None)


def env_map(cont: dict | None) -> dict[str, str]:
    """Literal env values of a container (valueFrom entries map to "")."""
    return {e.get("name", ""): str(e.get("value", "")) for e in (cont or {}).get("env") or ()}


def container_state(pod: dict, name: str) -> dict:
    for status in (pod.get("status") or {}).get("containerStatuses") or ():
        if status.get("name") == name:
            return status.get("state") or {}
    return {}

"""The kubeconfig the sandbox hands out: one context per scenario user, CA embedded."""

from __future__ import annotations

import base64
import os

import yaml


def kubeconfig(server: str, ca_pem: bytes, users: dict[str, str], namespace: str,
               current: str = "admin", cluster: str = "arc-sandbox") -> dict:
    """`users` maps a user name to its bearer token; contexts are `arc-sandbox` (for `current`)
    and `arc-sandbox-<user>` for every user."""
    contexts = []
    for user in users:
        name = cluster if user == current else f"{cluster}-{user}"
        contexts.append({"name": name, "context": {"cluster": cluster, "user": f"{cluster}-{user}",
                                                   "namespace": namespace}})
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": cluster, "cluster": {
            "server": server,
            "certificate-authority-data": base64.b64encode(ca_pem).decode(),
        }}],
        "users": [{"name": f"{cluster}-{user}", "user": {"token": token}} for user, token in users.items()],
        "contexts": contexts,
        "current-context": cluster,
    }


def write_kubeconfig(path: str, config: dict) -> str:
    """Write with mode 0600 (it holds tokens), creating parent directories."""
    path = os.path.abspath(os.path.expanduser(path))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    return path

"""ARC's naming rules that both the checks (predicting a runner pod) and the sandbox's controller (making one) follow:
one copy, so that a predicted pod and a simulated one carry the same labels."""

from __future__ import annotations

L_COMPONENT = "app.kubernetes.io/component"
L_PART_OF = "app.kubernetes.io/part-of"
L_VERSION = "app.kubernetes.io/version"
L_SET_NAME = "actions.github.com/scale-set-name"
L_SET_NS = "actions.github.com/scale-set-namespace"
L_EPHEMERAL = "actions-ephemeral-runner"


def github_url_labels(url: str) -> dict[str, str]:
    """ARC's `actions.github.com/{enterprise,organization,repository}` labels for a config URL."""
    path = url.split("://", 1)[-1].split("/", 1)[1:] if "://" in url else []
    parts = [p for p in (path[0].split("/") if path else []) if p]
    if len(parts) == 2 and parts[0].lower() == "enterprises":
        return {"actions.github.com/enterprise": parts[1]}
    if len(parts) == 1:
        return {"actions.github.com/organization": parts[0]}
    if len(parts) == 2:
        return {"actions.github.com/organization": parts[0], "actions.github.com/repository": parts[1]}
    return {}

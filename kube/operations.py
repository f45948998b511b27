"""A fix's writes as data: which object, which verb, which exact change.

Pure data, no client import: `checks/` builds these (kube → checks is the one way data flows, so the type lives
here, below both), `kube.remedy` sends them. Only JSON patches (RFC 6902, with `test` ops) for changes — never a
strategic-merge patch, which custom resources do not support — creates with the full object, and deletes with
uid + resourceVersion preconditions, so that a write made against an object that changed since it was shown to
the operator fails instead of clobbering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

PATCH = "patch"
CREATE = "create"
DELETE = "delete"

JSON_PATCH = "application/json-patch+json"


@dataclass(frozen=True, slots=True)
class Target:
    """One API object: enough to build its path and to name it as kubectl does."""
    api_version: str            # "v1", "actions.github.com/v1alpha1"
    kind: str                   # "AutoscalingRunnerSet"
    plural: str                 # "autoscalingrunnersets"
    namespace: str              # "" for cluster-scoped objects
    name: str

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    def collection_path(self) -> str:
        base = f"/apis/{self.api_version}" if self.group else f"/api/{self.api_version}"
        if self.namespace:
            base += f"/namespaces/{quote(self.namespace, safe='')}"
        return f"{base}/{self.plural}"

    def path(self) -> str:
        return f"{self.collection_path()}/{quote(self.name, safe='')}"

    def resource(self) -> str:
        """kubectl's resource name: `autoscalingrunnersets.actions.github.com`, `pods`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def label(self) -> str:
        """`AutoscalingRunnerSet arc-runners/arc-runner-set`, `Namespace arc-runners`."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


@dataclass(frozen=True, slots=True)
class Operation:
    """One write. `patch`: RFC 6902 ops; `body`: the object to create; `uid`/`resource_version`: the delete's
    preconditions (and what the patch's first `test` op checks). `secret`: the object holds secret values, which
    every display, log and audit record masks. `step`: writes with the same step label form one step of a
    multi-step fix; the steps run in order and the first that fails stops the rest."""
    verb: str
    target: Target
    patch: tuple[dict, ...] = ()
    body: dict | None = None
    uid: str = ""
    resource_version: str = ""
    secret: bool = False
    note: str = ""              # why this write, in one line ("restart the listener: …")
    step: str = ""              # the step of a multi-step fix it belongs to ("replace the stuck runners")
    extra: dict = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        """As the dataclass would, except that an operation on secret values shows none of them (a repr ends up in
        logs, crash files and test failures)."""
        patch = f"<{len(self.patch)} ops: secret values not shown>" if self.secret else repr(self.patch)
        body = "<secret object not shown>" if self.secret and self.body is not None else repr(self.body)
        return (f"Operation(verb={self.verb!r}, target={self.target!r}, patch={patch}, body={body}, uid={self.uid!r}, "
                f"resource_version={self.resource_version!r}, secret={self.secret!r}, note={self.note!r}, "
                f"step={self.step!r})")

    def headline(self) -> str:
        """`patch AutoscalingRunnerSet arc-runners/arc-runner-set`."""
        return f"{self.verb} {self.target.label()}"

    def access(self) -> tuple[str, str, str, str, str]:
        """(verb, group, resource, namespace, name) for a SelfSubjectAccessReview."""
        t = self.target
        return self.verb, t.group, t.plural, t.namespace, "" if self.verb == CREATE else t.name

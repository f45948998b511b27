"""Work volumes: the ephemeral volume controller (pod → `<pod>-work` PVC), the PV controller and the
storage provisioners (binding, WaitForFirstConsumer, ProvisioningFailed), and PV reclaim.

StorageClass knobs a scenario can set (annotations, sandbox-only):
- `sandbox.arc-top.dev/provisioning-error: "<text>"` — the provisioner is broken: every claim gets
  `ProvisioningFailed … failed to provision volume with StorageClass "<sc>": <text>`.
- `sandbox.arc-top.dev/ignores-fsgroup: "true"` — volumes of this class ignore `fsGroup` (like
  hostPath-style provisioners; `rancher.io/local-path` and friends do so without the annotation).
"""

from __future__ import annotations

from arc_top.sandbox.controller.common import owner_ref
from arc_top.sandbox.errors import ApiError

A_PROVISIONING_ERROR = "sandbox.arc-top.dev/provisioning-error"
A_IGNORES_FSGROUP = "sandbox.arc-top.dev/ignores-fsgroup"
A_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
A_SELECTED_NODE = "volume.kubernetes.io/selected-node"
HOSTPATH_PROVISIONERS = {
    "rancher.io/local-path",
    "microk8s.io/hostpath",
    "k8s.io/minikube-hostpath",
    "docker.io/hostpath",
    "kubernetes.io/host-path",
}
NO_PROVISIONER = "kubernetes.io/no-provisioner"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
RESYNC_SECONDS = 15.0
PV_CONTROLLER = "persistentvolume-controller"


class Volumes:
    def __init__(self, ctl):
        self.ctl = ctl
        self.cluster = ctl.cluster

    # ---- storage classes ---------------------------------------------------------------------
    def default_class(self) -> str | None:
        for sc in self.cluster.list("storageclasses"):
            if (sc["metadata"].get("annotations") or {}).get(A_DEFAULT_CLASS) == "true":
                return sc["metadata"]["name"]
        return None

    def class_of(self, pvc: dict) -> dict | None:
        name = (pvc.get("spec") or {}).get("storageClassName")
        return self.cluster.get("storageclasses", None, name) if name else None

    def honours_fs_group(self, namespace: str, claim: str) -> bool:
        """Whether the kubelet applies `fsGroup` to this claim's volume (hostPath-style ones don't)."""
        pvc = self.cluster.get("persistentvolumeclaims", namespace, claim)
        sc = self.class_of(pvc) if pvc else None
        if sc is None:
            return True
        ignores = (sc["metadata"].get("annotations") or {}).get(A_IGNORES_FSGROUP) == "true"
        return not ignores and sc.get("provisioner") not in HOSTPATH_PROVISIONERS

    # ---- ephemeral volumes -------------------------------------------------------------------
    @staticmethod
    def claim_names(pod: dict) -> list[str]:
        name = pod["metadata"]["name"]
        out = []
        for vol in pod.get("spec", {}).get("volumes") or ():
            if "ephemeral" in vol:
                out.append(f"{name}-{vol.get('name')}")
            elif (vol.get("persistentVolumeClaim") or {}).get("claimName"):
                out.append(vol["persistentVolumeClaim"]["claimName"])
        return out

    def ensure_ephemeral(self, pod: dict) -> tuple[list[str], str | None]:
        """Create the pod's ephemeral claims: (claims made now, a claim that could not be made)."""
        meta, created = pod["metadata"], []
        for vol in pod.get("spec", {}).get("volumes") or ():
            template = (vol.get("ephemeral") or {}).get("volumeClaimTemplate")
            claim = f"{meta['name']}-{vol.get('name')}"
            if template is None or self.cluster.get("persistentvolumeclaims", meta["namespace"], claim):
                continue
            try:
                self.cluster.create("persistentvolumeclaims", ephemeral_claim(pod, vol["name"], template,
                                                                              self.default_class()))
            except ApiError:
                return created, claim
            created.append(claim)
        return created, None

    # ---- scheduling ----------------------------------------------------------------------------
    def scheduling_view(self, pod: dict) -> tuple[str | None, str | None, list[str]]:
        """For the scheduler: (why no node fits, node a bound volume pins the pod to, claims to provision
        once a node is chosen)."""
        ns = pod["metadata"]["namespace"]
        pinned, to_provision = None, []
        for claim in self.claim_names(pod):
            pvc = self.cluster.get("persistentvolumeclaims", ns, claim)
            if pvc is None:
                return f'persistentvolumeclaim "{claim}" not found', None, []
            if (pvc.get("status") or {}).get("phase") == "Bound":
                pinned = self._pinned_node(pvc) or pinned
                continue
            sc = self.class_of(pvc)
            if sc is None or sc.get("volumeBindingMode", "Immediate") != "WaitForFirstConsumer":
                return UNBOUND_IMMEDIATE, None, []
            if sc.get("provisioner") == NO_PROVISIONER:
                count = len(self.cluster.list("nodes"))
                return f"{count} node(s) didn't find available persistent volumes to bind", None, []
            to_provision.append(claim)
        return None, pinned, to_provision

    def _pinned_node(self, pvc: dict) -> str | None:
        pv = self.cluster.get("persistentvolumes", None, pvc["spec"].get("volumeName", ""))
        terms = ((((pv or {}).get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}).get(
            "nodeSelectorTerms"
        ) or ()
        for term in terms:
            for expr in term.get("matchExpressions") or ():
                if expr.get("key") == "kubernetes.io/hostname" and expr.get("values"):
                    return expr["values"][0]
        return None

    # ---- the PV controller and the provisioners ------------------------------------------------
    def reconcile_claim(self, ns: str, name: str) -> None:
        pvc = self.cluster.get("persistentvolumeclaims", ns, name)
        if pvc is None or (pvc.get("status") or {}).get("phase") == "Bound":
            return
        class_name = (pvc.get("spec") or {}).get("storageClassName")
        if not class_name:
            self.ctl.events.normal(
                pvc,
                "FailedBinding",
                "no persistent volumes available for this claim and no storage class is set",
                PV_CONTROLLER,
            )
            self.ctl.requeue("persistentvolumeclaims", ns, name, RESYNC_SECONDS)
            return
        sc = self.cluster.get("storageclasses", None, class_name)
        if sc is None:
            self.ctl.events.warning(
                pvc,
                "ProvisioningFailed",
                f'storageclass.storage.k8s.io "{class_name}" not found',
                PV_CONTROLLER,
            )
            self.ctl.requeue("persistentvolumeclaims", ns, name, RESYNC_SECONDS)
            return
        selected = (pvc["metadata"].get("annotations") or {}).get(A_SELECTED_NODE)
        if sc.get("volumeBindingMode") == "WaitForFirstConsumer" and not selected:
            self.ctl.events.normal(
                pvc,
                "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding",
                PV_CONTROLLER,
            )
            return
        if self.provision(ns, name, selected) is not None:
            self.ctl.requeue("persistentvolumeclaims", ns, name, RESYNC_SECONDS)

    def provision(self, ns: str, claim: str, node: str | None) -> str | None:
        """Dynamic provisioning of one claim; the scheduler's error text when it fails."""
        pvc = self.cluster.get("persistentvolumeclaims", ns, claim)
        if pvc is None:
            return f'persistentvolumeclaim "{claim}" not found'
        if (pvc.get("status") or {}).get("phase") == "Bound":
            return None
        sc = self.class_of(pvc)
        if sc is None:
            return f'storageclass.storage.k8s.io "{pvc["spec"].get("storageClassName")}" not found'
        provisioner = sc.get("provisioner") or ""
        component = f"{provisioner}_{node or 'provisioner'}"
        self.ctl.events.normal(
            pvc,
            "ExternalProvisioning",
            "Waiting for a volume to be created either by the "
            f"external provisioner '{provisioner}' or manually by the system administrator. If "
            "volume creation is delayed, please verify that the provisioner is running and "
            "correctly registered.",
            PV_CONTROLLER,
        )
        self.ctl.events.normal(
            pvc,
            "Provisioning",
            f'External provisioner is provisioning volume for claim "{ns}/{claim}"',
            component,
        )
        error = (sc["metadata"].get("annotations") or {}).get(A_PROVISIONING_ERROR)
        if error:
            self.ctl.events.warning(
                pvc,
                "ProvisioningFailed",
                f'failed to provision volume with StorageClass "{sc["metadata"]["name"]}": {error}',
                component,
            )
            return f'provisioning failed for PVC "{claim}"'
        pv_name = f"pvc-{pvc['metadata']['uid']}"
        try:
            self.cluster.create("persistentvolumes", provisioned_volume(pv_name, pvc, sc, node))
        except ApiError as exc:
            if exc.code != 409:
                return exc.message

        def bind(p: dict) -> None:
            bind_claim(p, pv_name, provisioner, node)

        self.cluster.mutate("persistentvolumeclaims", ns, claim, bind)
        self.ctl.events.normal(
            pvc, "ProvisioningSucceeded", f"Successfully provisioned volume {pv_name}", component
        )
        return None

    def reconcile_volume(self, _ns: str, name: str) -> None:
        """Reclaim: a dynamically provisioned volume goes when its claim goes (policy Delete)."""
        pv = self.cluster.get("persistentvolumes", None, name)
        if pv is None:
            return
        ref = (pv.get("spec") or {}).get("claimRef") or {}
        pvc = self.cluster.get("persistentvolumeclaims", ref.get("namespace"), ref.get("name", ""))
        if pvc is not None and pvc["metadata"]["uid"] == ref.get("uid"):
            return
        if pv["spec"].get("persistentVolumeReclaimPolicy", "Delete") == "Delete":
            try:
                self.cluster.delete("persistentvolumes", None, name)
            except ApiError:
                pass
        else:
            self.cluster.mutate(
                "persistentvolumes", None, name, lambda v: v.__setitem__("status", {"phase": "Released"})
            )

    def class_changed(self, _ns: str, _name: str) -> None:
        for pvc in self.cluster.list(
            "persistentvolumeclaims", match=lambda p: (p.get("status") or {}).get("phase") != "Bound"
        ):
            self.ctl.enqueue("persistentvolumeclaims", pvc["metadata"]["namespace"], pvc["metadata"]["name"])
        self.ctl.kubelet.nodes_changed()


def _size(pvc: dict) -> str:
    return (((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage") or "1Gi"


def provisioned_volume(name: str, pvc: dict, sc: dict, node: str | None) -> dict:
    """The PV a dynamic provisioner makes for a claim (hostPath-style ones pin it to the node)."""
    provisioner = sc.get("provisioner") or ""
    spec: dict = {
        "accessModes": pvc["spec"].get("accessModes") or ["ReadWriteOnce"],
        "capacity": {"storage": _size(pvc)},
        "claimRef": {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "name": pvc["metadata"]["name"],
            "namespace": pvc["metadata"]["namespace"],
            "uid": pvc["metadata"]["uid"],
        },
        "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
        "storageClassName": sc["metadata"]["name"],
        "volumeMode": "Filesystem",
    }
    if provisioner in HOSTPATH_PROVISIONERS and node:
        spec["hostPath"] = {
            "path": f"/var/lib/rancher/k3s/storage/{name}_{pvc['metadata']['namespace']}_"
            f"{pvc['metadata']['name']}",
            "type": "DirectoryOrCreate",
        }
        spec["nodeAffinity"] = {
            "required": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}
                        ]
                    }
                ]
            }
        }
    else:
        spec["csi"] = {"driver": provisioner, "volumeHandle": name, "fsType": "ext4"}
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": provisioner}},
        "spec": spec,
        "status": {"phase": "Bound"},
    }


def ephemeral_claim(pod: dict, volume: str, template: dict, default_class: str | None) -> dict:
    """The PVC `<pod>-<volume>` the ephemeral volume controller makes from a volumeClaimTemplate."""
    meta, tmeta = pod["metadata"], template.get("metadata") or {}
    spec = {"volumeMode": "Filesystem", **(template.get("spec") or {})}
    if "storageClassName" not in spec and default_class:
        spec["storageClassName"] = default_class          # what the DefaultStorageClass admission does
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": f"{meta['name']}-{volume}", "namespace": meta["namespace"],
                         "labels": tmeta.get("labels") or {}, "annotations": tmeta.get("annotations") or {},
                         "ownerReferences": [owner_ref(pod)]},
            "spec": spec, "status": {"phase": "Pending"}}


def bind_claim(pvc: dict, pv_name: str, provisioner: str, node: str | None) -> None:
    """Mark a claim (in place) bound to its provisioned volume, as the PV controller does."""
    notes = pvc["metadata"].setdefault("annotations", {})
    notes.update({"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
                  "volume.beta.kubernetes.io/storage-provisioner": provisioner,
                  "volume.kubernetes.io/storage-provisioner": provisioner})
    if node:
        notes[A_SELECTED_NODE] = node
    pvc["spec"]["volumeName"] = pv_name
    pvc["status"] = {"phase": "Bound", "accessModes": pvc["spec"].get("accessModes") or ["ReadWriteOnce"],
                     "capacity": {"storage": _size(pvc)}}

"""AutoscalingRunnerSet and EphemeralRunnerSet controllers.

ARS: register the scale set (annotations), keep one EphemeralRunnerSet per runner spec hash — a
changed template makes a new ERS and drains the old one, so new runners get the new template while
busy old ones finish — keep the listener, and roll the counts up into `status`.
ERS: make or remove EphemeralRunners until pending + running + failed = `spec.replicas` (failed ones
count: they block new runners, F10), delete finished ones, and report the counts.
"""

from __future__ import annotations

from arc_top.sandbox.controller.common import (
    A_SET_ID,
    A_SPEC_HASH,
    ARC_API,
    ARS,
    ER,
    ERS,
    F_ARS,
    F_ER,
    F_ERS,
    F_REGISTRATION,
    L_COMPONENT,
    L_PART_OF,
    L_SET_NAME,
    L_SET_NS,
    L_VERSION,
    decode_secret,
    github_url_labels,
    owner_ref,
    short_hash,
)
from arc_top.sandbox.errors import ApiError

CREATE_BATCH = 50            # ERs made per pass; the rest on the next pass keeps passes short
REGISTER_RETRY_SECONDS = 10.0
_HASHED = ("githubConfigUrl", "githubConfigSecret", "runnerGroup", "runnerScaleSetName", "proxy",
           "githubServerTLS", "template")


def spec_hash(ars: dict) -> str:
    """ARC's runner spec hash: what, when it changes, needs a new EphemeralRunnerSet."""
    spec = ars.get("spec") or {}
    return short_hash({k: spec.get(k) for k in _HASHED})


class RunnerSets:
    def __init__(self, ctl):
        self.ctl = ctl
        self.cluster = ctl.cluster

    # ---- AutoscalingRunnerSet ------------------------------------------------------------------
    def reconcile_ars(self, ns: str, name: str) -> None:
        ars = self.cluster.get(ARS, ns, name)
        key = (ns, name)
        if ars is None:
            self.ctl.jobs.forget(key)
            return
        sets = [s for s in (self.cluster.get(ERS, ns, n) for n in self.ctl.owned(ars["metadata"]["uid"], ERS))
                if s]
        if ars["metadata"].get("deletionTimestamp"):
            self._remove(ars, sets)
            return
        if not (ars["metadata"].get("annotations") or {}).get(A_SET_ID):
            if not self._register(ars):
                return
            ars = self.cluster.get(ARS, ns, name) or ars
        wanted = spec_hash(ars)
        if (ars["metadata"].get("annotations") or {}).get(A_SPEC_HASH) != wanted:
            ars = self.cluster.mutate(ARS, ns, name, lambda o: o["metadata"].setdefault(
                "annotations", {}).update({A_SPEC_HASH: wanted})) or ars
        live = [s for s in sets if not s["metadata"].get("deletionTimestamp")]
        current = [s for s in live if (s["metadata"].get("annotations") or {}).get(A_SPEC_HASH) == wanted]
        latest = current[0] if current else self._create_ers(ars, wanted)
        if latest is None:
            return
        for old in live:
            if old is not latest:
                _log(self.ctl, "INFO", "Runner set spec changed, draining the outdated EphemeralRunnerSet",
                     ars, ephemeralrunnerset=old["metadata"]["name"])
                self._delete(ERS, ns, old["metadata"]["name"])
        self.ctl.listeners.ensure(ars, latest)
        self.ctl.jobs.configure(ars)
        self.ctl.listener_process.scale(key)
        self._ars_status(ars, latest)

    def _register(self, ars: dict) -> bool:
        """Create the scale set on GitHub (needs working credentials, and trust in the GitHub server's certificate)
        and record its id. On failure ARC logs the error, controller-runtime its "Reconciler error" line, and the
        reconcile is retried."""
        meta, spec = ars["metadata"], ars["spec"]
        _log(self.ctl, "INFO", "Runner scale set id annotation does not exist. Creating a new runner scale set.",
             ars)
        github = self.cluster.github
        if github is not None:
            error = self._untrusted(ars)
            if not error:
                secret = self.cluster.get("secrets", meta["namespace"], spec.get("githubConfigSecret", ""))
                outcome = github.evaluate_listener(spec.get("githubConfigUrl", ""), decode_secret(secret),
                                                   spec.get("runnerGroup"))
                if not outcome.ok:
                    error = outcome.log_lines[-1].split("Application returned an error: ", 1)[-1]
            if error:
                _log(self.ctl, "ERROR", "Failed to get runner scale set from Actions service", ars,
                     runnerGroupName=spec.get("runnerGroup") or "Default",
                     runnerScaleSetName=spec.get("runnerScaleSetName") or meta["name"], error=error)
                self.ctl.manager.reconciler_error("AutoscalingRunnerSet", meta["namespace"], meta["name"], error)
                self.ctl.requeue(ARS, meta["namespace"], meta["name"], REGISTER_RETRY_SECONDS)
                return False
        set_id = 1 + max((int((a["metadata"].get("annotations") or {}).get(A_SET_ID) or 0)
                          for a in self.cluster.list(ARS)), default=0)
        notes = {A_SET_ID: str(set_id),
                 "actions.github.com/runner-group-name": spec.get("runnerGroup") or "Default",
                 "actions.github.com/runner-scale-set-name": spec.get("runnerScaleSetName") or meta["name"]}
        self.cluster.mutate(ARS, meta["namespace"], meta["name"],
                            lambda o: o["metadata"].setdefault("annotations", {}).update(notes))
        _log(self.ctl, "INFO", "Created a new runner scale set on the Actions service", ars,
             runnerScaleSetId=set_id)
        return True

    def _untrusted(self, ars: dict) -> str:
        """The TLS error of a request to the sandbox's own GitHub Enterprise Server, whose certificate comes from the
        sandbox's private CA: without spec.githubServerTLS naming a ConfigMap that holds that CA, Go refuses it."""
        base, url = self.cluster.base_url, str(ars["spec"].get("githubConfigUrl") or "")
        if not base or not self.cluster.ca_pem or not url.startswith(base.rstrip("/") + "/"):
            return ""                  # no private CA (an in-process cluster), or another GitHub
        ref = ((ars["spec"].get("githubServerTLS") or {}).get("certificateFrom") or {}).get("configMapKeyRef") or {}
        configmap = self.cluster.get("configmaps", ars["metadata"]["namespace"], ref.get("name") or "")
        pem = ((configmap or {}).get("data") or {}).get(ref.get("key") or "ca.crt", "")
        ca = self.cluster.ca_pem.decode() if isinstance(self.cluster.ca_pem, bytes) else str(self.cluster.ca_pem)
        if pem and (not ca or ca.strip() in pem):
            return ""
        org = url[len(base.rstrip("/")) + 1:].split("/", 1)[0]
        endpoint = f"{base.rstrip('/')}/api/v3/orgs/{org}/actions/runners/registration-token"
        return (f'failed to get runner registration token on refresh: Post "{endpoint}": tls: failed to verify '
                "certificate: x509: certificate signed by unknown authority")

    def _create_ers(self, ars: dict, wanted: str) -> dict | None:
        try:
            created = self.cluster.create(ERS, new_ers(ars, wanted))
        except ApiError as exc:
            _log(self.ctl, "ERROR", "Failed to create a new EphemeralRunnerSet", ars, error=exc.message)
            return None
        _log(self.ctl, "INFO", "Created a new EphemeralRunnerSet", ars,
             ephemeralrunnerset=created["metadata"]["name"])
        return created

    def _remove(self, ars: dict, sets: list[dict]) -> None:
        """Deleting the ARS: the listener and every ERS go first, then the finalizer."""
        listener_gone = self.ctl.listeners.remove(ars)
        for ers in sets:
            if not ers["metadata"].get("deletionTimestamp"):
                self._delete(ERS, ars["metadata"]["namespace"], ers["metadata"]["name"])
        if listener_gone and not sets:
            self.cluster.mutate(ARS, ars["metadata"]["namespace"], ars["metadata"]["name"], lambda o: o[
                "metadata"].__setitem__("finalizers", [f for f in o["metadata"].get("finalizers") or ()
                                                       if f != F_ARS]))

    def _ars_status(self, ars: dict, latest: dict) -> None:
        counts = latest.get("status") or {}
        want = {"currentRunners": counts.get("currentReplicas", 0), "phase": "Running",
                **{k: counts.get(k, 0) for k in ("pendingEphemeralRunners", "runningEphemeralRunners",
                                                 "failedEphemeralRunners")}}
        if (ars.get("status") or {}) != want:
            self.cluster.mutate(ARS, ars["metadata"]["namespace"], ars["metadata"]["name"],
                                lambda o: o.__setitem__("status", want))

    # ---- EphemeralRunnerSet --------------------------------------------------------------------
    def reconcile_ers(self, ns: str, name: str) -> None:
        ers = self.cluster.get(ERS, ns, name)
        if ers is None:
            return
        names = self.ctl.owned(ers["metadata"]["uid"], ER)
        runners = [r for r in (self.cluster.get(ER, ns, n) for n in names) if r]
        groups: dict[str, list[dict]] = {g: [] for g in ("pending", "running", "failed", "finished",
                                                         "deleting")}
        for er in runners:
            groups[_group(er)].append(er)
        for er in groups["finished"]:
            self._delete(ER, ns, er["metadata"]["name"])
        active = groups["pending"] + groups["running"] + groups["failed"]
        if ers["metadata"].get("deletionTimestamp"):          # draining: idle runners go, busy ones finish
            for er in active:
                if not (er.get("status") or {}).get("jobRequestId"):
                    self._delete(ER, ns, er["metadata"]["name"])
            if not runners:
                self.cluster.mutate(ERS, ns, name, lambda o: o["metadata"].__setitem__("finalizers", []))
                return
        else:
            desired = int(ers["spec"].get("replicas") or 0)
            if len(active) < desired:
                count = min(desired - len(active), CREATE_BATCH)
                for _ in range(count):
                    self._create_er(ers)
                if desired - len(active) > count:
                    self.ctl.enqueue(ERS, ns, name)
            elif len(active) > desired:
                idle = [er for er in groups["pending"] + groups["running"]
                        if not (er.get("status") or {}).get("jobRequestId")]
                for er in idle[:len(active) - desired]:
                    self._delete(ER, ns, er["metadata"]["name"])
        self._ers_status(ers, groups)

    def _create_er(self, ers: dict) -> None:
        try:
            self.cluster.create(ER, new_er(ers))
        except ApiError as exc:
            self.ctl.manager.write("ERROR", "EphemeralRunnerSet", "failed to create ephemeral runner",
                                   ephemeralrunnerset=_ref(ers), error=exc.message)

    def _ers_status(self, ers: dict, groups: dict[str, list[dict]]) -> None:
        pending, running, failed = len(groups["pending"]), len(groups["running"]), len(groups["failed"])
        want = {"currentReplicas": pending + running + failed, "pendingEphemeralRunners": pending,
                "runningEphemeralRunners": running, "failedEphemeralRunners": failed, "phase": "Running"}
        if (ers.get("status") or {}) != want:
            meta = ers["metadata"]
            self.cluster.mutate(ERS, meta["namespace"], meta["name"], lambda o: o.__setitem__("status", want))

    def _delete(self, key: str, ns: str, name: str) -> None:
        try:
            self.cluster.delete(key, ns, name)
        except ApiError:
            pass


def new_ers(ars: dict, wanted: str) -> dict:
    """The EphemeralRunnerSet ARC makes for an ARS whose runner spec hashes to `wanted`."""
    meta, spec = ars["metadata"], ars["spec"]
    template = spec.get("template") or {}
    notes = meta.get("annotations") or {}
    labels = {L_PART_OF: "gha-runner-scale-set", L_COMPONENT: "runner-set",
              L_VERSION: (meta.get("labels") or {}).get(L_VERSION, ""), L_SET_NAME: meta["name"],
              L_SET_NS: meta["namespace"], **github_url_labels(spec.get("githubConfigUrl", ""))}
    runner_spec = {"githubConfigUrl": spec.get("githubConfigUrl", ""),
                   "githubConfigSecret": spec.get("githubConfigSecret", ""),
                   "runnerScaleSetId": int(notes.get(A_SET_ID) or 0),
                   **{k: spec[k] for k in ("proxy", "githubServerTLS", "vaultConfig") if spec.get(k)},
                   "metadata": template.get("metadata") or {}, "spec": template.get("spec") or {}}
    copied = {k: v for k, v in notes.items() if k.startswith("actions.github.com/runner-")}
    return {"apiVersion": ARC_API, "kind": "EphemeralRunnerSet",
            "metadata": {"generateName": f"{meta['name']}-", "namespace": meta["namespace"], "labels": labels,
                         "annotations": {**copied, A_SPEC_HASH: wanted}, "ownerReferences": [owner_ref(ars)],
                         "finalizers": [F_ERS]},
            "spec": {"replicas": 0, "patchID": 0, "ephemeralRunnerSpec": runner_spec}}


def new_er(ers: dict) -> dict:
    """An EphemeralRunner of this ERS: its labels (component=runner), patch id, finalizers and spec."""
    meta = ers["metadata"]
    labels = {k: ("runner" if k == L_COMPONENT else v) for k, v in (meta.get("labels") or {}).items()}
    notes = {**(meta.get("annotations") or {}),
             "actions.github.com/patch-id": str(ers["spec"].get("patchID") or 0)}
    return {"apiVersion": ARC_API, "kind": "EphemeralRunner",
            "metadata": {"generateName": f"{meta['name']}-runner-", "namespace": meta["namespace"],
                         "labels": labels, "annotations": notes, "ownerReferences": [owner_ref(ers)],
                         "finalizers": [F_ER, F_REGISTRATION]},
            "spec": ers["spec"].get("ephemeralRunnerSpec") or {}}


def _group(er: dict) -> str:
    if er["metadata"].get("deletionTimestamp"):
        return "deleting"
    phase = (er.get("status") or {}).get("phase")
    if phase == "Succeeded":
        return "finished"
    if phase == "Failed":
        return "failed"
    return "running" if phase == "Running" else "pending"


def _ref(obj: dict) -> dict:
    return {"name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"]}


def _log(ctl, level: str, message: str, ars: dict, **fields: object) -> None:
    ctl.manager.write(level, "AutoscalingRunnerSet", message, autoscalingrunnerset=_ref(ars), **fields)

"""`arc-top check --from` on saved files: registration (ARC409), the controller's log saved as a pod annotation
(arc-top.io/log.<container>) attributed to its scale sets (ARC410 and evidence), and the CRD schemas saved with
`kubectl get crd` (ARC605); ARC000 naming what the files lack."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from arc_top.kube.offline import LOG_ANNOTATION, load_files
from arc_top.sandbox.crds import arc_crds
from tests.checks_fixtures import TOKEN, event, fleet, replace, ts
from tests.test_check_cli import SCHEMA, validate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
API = {"AutoscalingRunnerSet": "actions.github.com/v1alpha1", "EphemeralRunnerSet": "actions.github.com/v1alpha1",
       "EphemeralRunner": "actions.github.com/v1alpha1", "AutoscalingListener": "actions.github.com/v1alpha1",
       "StorageClass": "storage.k8s.io/v1", "Role": "rbac.authorization.k8s.io/v1",
       "RoleBinding": "rbac.authorization.k8s.io/v1"}
CONTROLLER = "arc-gha-rs-controller-6d4f9-x2x7p"
ERROR = ('failed to get runner registration token on refresh: Post "https://ghes.example.com/api/v3/orgs/acme/'
         'actions/runners/registration-token": tls: failed to verify certificate: x509: certificate signed by '
         'unknown authority')


def _saved(tmp_path, raws: list[dict], *, log: list[str] | None = None, crds: list[dict] = ()) -> str:
    items = []
    for raw in raws:
        raw = dict(raw, apiVersion=API.get(raw["kind"], "v1"))
        if log is not None and raw["kind"] == "Pod" and raw["metadata"]["name"] == CONTROLLER:
            raw["metadata"] = dict(raw["metadata"], annotations={f"{LOG_ANNOTATION}manager": "\n".join(log)})
        items.append(raw)
    path = tmp_path / "cluster.yaml"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items + list(crds)}))     # as -o json
    return str(path)


def _check(path: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "arc_top.cli.main", "check", "--from", path, "-o", "json",
                           "--fail-on", "never"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _unregistered() -> list[dict]:
    def change(ars):
        ars["metadata"]["annotations"].pop("runner-scale-set-id")
        ars["metadata"]["creationTimestamp"] = ts(900)
    raws = replace(fleet(url="https://ghes.example.com/acme"), "AutoscalingRunnerSet", "arc-runner-set", change)
    return [o for o in raws if o["kind"] not in ("AutoscalingListener", "EphemeralRunnerSet", "EphemeralRunner")
            and not (o["kind"] in ("Pod", "PersistentVolumeClaim")
                     and o["metadata"]["name"].startswith("arc-runner-set-"))]


def _line(seconds_ago: float, message: str, error: str, kind: str = "AutoscalingRunnerSet",
          name: str = "arc-runner-set") -> str:
    fields = json.dumps({kind.lower(): {"name": name, "namespace": "arc-runners"}, "error": error})
    return f"{ts(seconds_ago)}\tERROR\t{kind}\t{message}\t{fields}"


def test_saved_log_tails_are_read_from_pod_annotations(tmp_path):
    path = _saved(tmp_path, fleet(), log=["one", "", "three"])
    [tail] = load_files([path]).tails
    assert (tail.pod, tail.namespace, tail.container, tail.previous, tail.lines) == (
        CONTROLLER, "arc-systems", "manager", False, ("one", "", "three"))


def test_everything_from_saved_files(tmp_path):
    log = [_line(60, "Failed to get runner scale set from Actions service", ERROR),
           _line(30, "Failed to patch status", f"conflict writing token {TOKEN} \x1b[2J", "EphemeralRunnerSet",
                 "arc-runner-set-h8ff4")]
    path = _saved(tmp_path, _unregistered(), log=log, crds=arc_crds(with_status_phase=False,
                                                                     controller_version="0.11.0"))
    report = _check(path)
    by_code = {f["code"]: f for f in report["findings"]}
    assert {"ARC409", "ARC410", "ARC605"} <= set(by_code)
    registration = by_code["ARC409"]["evidence"]
    # the clock of saved files: their newest stamp, here the controller log's last line (30 s before NOW)
    assert registration[0] == f"no runner-scale-set-id annotation 14m after creation (created {ts(900)})"
    assert any(e.startswith("controller log") and e.endswith("x509: certificate signed by unknown authority")
               for e in registration)
    catch_all = by_code["ARC410"]["evidence"]
    assert len(catch_all) == 1 and "Failed to patch status" in catch_all[0]
    assert TOKEN not in json.dumps(report) and "\x1b" not in json.dumps(report)
    assert by_code["ARC605"]["evidence"][0].startswith("first gap: AutoscalingRunnerSet spec.vaultConfig is missing")
    assert not [f for f in report["findings"] if f["code"] == "ARC000" and "ARC410" in f["title"]]
    assert report["source"]["logs"] == {"tails": 1, "pods": 1, "saved": True}
    assert validate(report, SCHEMA) == []


def test_what_the_files_lack_is_arc000(tmp_path):
    # the files' clock is their newest stamp: here a node's event of a minute before they were saved
    seen = event("Node", "", "worker-1", "NodeReady", "Node worker-1 status is now: NodeReady", age=60)
    report = _check(_saved(tmp_path, _unregistered() + [seen]))
    titles = [f["title"] for f in report["findings"] if f["code"] == "ARC000"]
    assert any("ARC410" in t and "no log tails" in t for t in titles), titles
    assert any("ARC605" in t and "CustomResourceDefinitions" in t for t in titles), titles
    [registration] = [f for f in report["findings"] if f["code"] == "ARC409"]
    assert any("controller's log was not read" in e for e in registration["evidence"])

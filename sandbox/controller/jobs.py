"""The GitHub side of jobs: a scale set's job stream, assignment to idle runners, and what a job does on
the runner — in kubernetes mode through the container hook, which needs the runner's ServiceAccount
to hold the kube-mode Role (F4), refuses jobs without a container (F3), and creates the workflow pod
`<runner pod[:54]>-workflow` on the runner's node with the work PVC mounted.

A scale set's stream comes from its ARS annotation `sandbox.arc-top.dev/job-stream`, JSON such as
`{"every_seconds": 8, "duration_seconds": 15, "without_container_every": 4}` (absent: no jobs).
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections import deque
from dataclasses import dataclass

from arc_top.sandbox.controller import runner_program
from arc_top.sandbox.controller.common import (
    ER,
    JOB_STREAM_ANNOTATION,
    L_RUNNER_POD,
    container,
    env_map,
    github_url_labels,
    runner_stamp,
)
from arc_top.sandbox.controller.runners import RunnerProc
from arc_top.sandbox.errors import ApiError
from arc_top.sandbox.rbac import KUBE_MODE_RULES, NOVOLUME_RULES, Attributes, service_account_user

HOOK_SECONDS = 1.0  # the hook's checks before it fails a job
PREPARE_TIMEOUT_SECONDS = 120.0  # ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS is 600; the sandbox is impatient
MAX_QUEUED = 30
_WORKFLOWS = (
    ("build", "ci.yaml"),
    ("test (3.12)", "ci.yaml"),
    ("lint", "lint.yaml"),
    ("integration", "e2e.yaml"),
    ("deploy-staging", "deploy.yaml"),
    ("docs", "docs.yaml"),
)


@dataclass
class Job:
    request_id: int
    job_id: str
    run_id: int
    repository: str
    workflow_ref: str
    display_name: str
    container: bool
    duration: float
    queued_at: float = 0.0           # monotonic: when GitHub assigned it to the scale set


@dataclass
class Stream:
    raw: str
    every: float
    duration: float
    without_container_every: int
    repository: str
    generation: int


@dataclass
class RunningJob:
    key: tuple[str, str]
    job: Job
    proc: RunnerProc
    workflow_pod: str = ""
    done: bool = False
    started_at: float = 0.0          # monotonic


class Jobs:
    def __init__(self, ctl):
        self.ctl = ctl
        self.cluster = ctl.cluster
        self.streams: dict[tuple[str, str], Stream] = {}
        self.queued: dict[tuple[str, str], deque[Job]] = {}
        self.running: dict[str, RunningJob] = {}  # runner pod uid -> job
        self.running_count: dict[tuple[str, str], int] = {}
        self.by_workflow: dict[tuple[str, str], RunningJob] = {}  # workflow pod -> job
        self.completed = 0
        self._ids = itertools.count(1)
        self._generations = itertools.count(1)

    # ---- streams -----------------------------------------------------------------------------
    def configure(self, ars: dict) -> None:
        key = (ars["metadata"]["namespace"], ars["metadata"]["name"])
        raw = (ars["metadata"].get("annotations") or {}).get(JOB_STREAM_ANNOTATION, "")
        current = self.streams.get(key)
        if current is not None and current.raw == raw:
            return
        if not raw:
            self.streams.pop(key, None)
            return
        try:
            spec = json.loads(raw)
            every = float(spec.get("every_seconds", 10))
        except (ValueError, TypeError, AttributeError):
            return
        stream = Stream(
            raw,
            max(every, 0.1),
            float(spec.get("duration_seconds", 15)),
            int(spec.get("without_container_every", 0)),
            spec.get("repository") or repository_for(ars),
            next(self._generations),
        )
        self.streams[key] = stream
        self.ctl.after(random.uniform(0.2, 1.0) * stream.every, lambda: self._arrive(key, stream.generation))

    def forget(self, key: tuple[str, str]) -> None:
        self.streams.pop(key, None)
        self.queued.pop(key, None)

    def _arrive(self, key: tuple[str, str], generation: int) -> None:
        stream = self.streams.get(key)
        if stream is None or stream.generation != generation:
            return
        count = next(self._ids)
        no_container = stream.without_container_every and count % stream.without_container_every == 0
        self.submit(key, self.new_job(stream.repository, stream.duration, not no_container))
        self.ctl.after(stream.every * random.uniform(0.7, 1.3), lambda: self._arrive(key, generation))

    def new_job(self, repository: str, duration: float, with_container: bool = True) -> Job:
        n = next(self._ids)
        name, workflow = _WORKFLOWS[n % len(_WORKFLOWS)]
        return Job(
            request_id=1000 + n,
            job_id=f"{n:08x}-0000-4000-8000-{n:012x}",
            run_id=7_000_000 + n // 3,
            repository=repository,
            workflow_ref=f"{repository}/.github/workflows/{workflow}@refs/heads/main",
            display_name=name,
            container=with_container,
            duration=duration,
        )

    # ---- assignment --------------------------------------------------------------------------
    def assigned(self, key: tuple[str, str]) -> int:
        """Jobs GitHub has assigned to this scale set: queued for it plus running on it."""
        return len(self.queued.get(key) or ()) + self.running_count.get(key, 0)

    def submit(self, key: tuple[str, str], job: Job) -> None:
        queue = self.queued.setdefault(key, deque())
        if len(queue) >= MAX_QUEUED:
            return
        job.queued_at = job.queued_at or time.monotonic()
        queue.append(job)
        self.ctl.listener_process.scale(key)
        self.ctl.listener_process.message(key)
        self.dispatch(key)

    def dispatch(self, key: tuple[str, str]) -> None:
        """Hand queued jobs to idle runners — only through a living listener's session."""
        queue = self.queued.get(key)
        while queue and self.ctl.listener_process.healthy(key):
            proc = self.ctl.runners.take_idle(key)
            if proc is None:
                return
            self._start(key, proc, queue.popleft())

    # ---- a job on a runner ------------------------------------------------------------------------
    def _start(self, key: tuple[str, str], proc: RunnerProc, job: Job) -> None:
        pod = proc.pod
        uid, ns, name = pod["metadata"]["uid"], pod["metadata"]["namespace"], pod["metadata"]["name"]
        entry = self.running[uid] = RunningJob(key, job, proc, started_at=time.monotonic())
        self.running_count[key] = self.running_count.get(key, 0) + 1
        self.ctl.listener_process.job_started(key, job.display_name, entry.started_at - (job.queued_at or
                                                                                        entry.started_at))
        fields = {
            "jobRequestId": job.request_id,
            "jobId": job.job_id,
            "jobRepositoryName": job.repository,
            "jobWorkflowRef": job.workflow_ref,
            "workflowRunId": job.run_id,
            "jobDisplayName": job.display_name,
        }
        self.cluster.mutate(ER, ns, name, lambda o: o.setdefault("status", {}).update(fields))
        self.ctl.kubelet.log(pod, "runner", f"{runner_stamp()}: Running job: {job.display_name}")
        hooks = runner_program.hooks(pod)
        if not hooks:
            self.ctl.after(job.duration, lambda: self._complete(entry, "Succeeded"))
            return
        env = env_map(container(pod, "runner"))
        if env.get("ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER", "").lower() == "true" and not job.container:
            self._fail_later(
                entry,
                [
                    "##[error]Jobs without a job container are forbidden on this runner, please add "
                    "a 'container:' to your job or contact your self-hosted runner administrator."
                ],
            )
            return
        denied = self._missing_permissions(pod, "novolume" in hooks)
        if denied:
            self._fail_later(entry, denied)
            return
        try:
            workflow = self.cluster.create("pods", self._workflow_pod(pod, job))
        except ApiError as exc:
            self._fail_later(entry, [f"##[error]Error: failed to create job pod: {exc.message}"])
            return
        entry.workflow_pod = workflow["metadata"]["name"]
        self.by_workflow[(ns, entry.workflow_pod)] = entry
        self.ctl.after(
            PREPARE_TIMEOUT_SECONDS, lambda: self._prepare_timeout(entry, workflow["metadata"]["uid"])
        )

    def _missing_permissions(self, pod: dict, novolume: bool) -> list[str]:
        """The hook's permission check (SelfSubjectAccessReviews for the runner pod's ServiceAccount)."""
        ns = pod["metadata"]["namespace"]
        account = pod["spec"].get("serviceAccountName") or "default"
        user = service_account_user(ns, account)
        rules = NOVOLUME_RULES if novolume else KUBE_MODE_RULES
        first_denied = None
        for rule in rules:
            resource, _, sub = rule["resources"][0].partition("/")
            for verb in rule["verbs"]:
                attrs = Attributes(
                    verb=verb,
                    resource=resource,
                    subresource=sub,
                    api_group=rule["apiGroups"][0],
                    namespace=ns,
                )
                if not self.ctl.cluster.authorizer.authorize(user, attrs)[0] and first_denied is None:
                    first_denied = attrs
        if first_denied is None:
            return []
        needed = [
            {
                "group": r["apiGroups"][0],
                "verbs": r["verbs"],
                "resource": r["resources"][0].split("/")[0],
                "subresource": r["resources"][0].partition("/")[2],
            }
            for r in rules
        ]
        return [
            f"##[error]Error: The Service account needs the following permissions "
            f"{json.dumps(needed, separators=(',', ':'))} on the pod resource in the '{ns}' namespace. "
            "Please contact your self hosted runner administrator.",
            "##[error]Error: " + self.cluster.authorizer.forbidden_message(user, first_denied),
        ]

    @staticmethod
    def _workflow_pod(runner_pod: dict, job: Job) -> dict:
        meta = runner_pod["metadata"]
        mounts = [{"name": "work", "mountPath": "/__w"}]
        volumes = [{"name": "work", "persistentVolumeClaim": {"claimName": f"{meta['name']}-work"}}]
        if runner_program.work_claim(runner_pod) is None:
            mounts, volumes = [], []
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{meta['name'][:54]}-workflow",
                "namespace": meta["namespace"],
                "labels": {L_RUNNER_POD: meta["name"]},
            },
            "spec": {
                "nodeName": runner_pod["spec"].get("nodeName"),
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "job",
                        "image": "node:20-bookworm",
                        "command": ["tail"],
                        "args": ["-f", "/dev/null"],
                        "workingDir": f"/__w/{job.repository.split('/')[-1]}/{job.repository.split('/')[-1]}",
                        "volumeMounts": mounts,
                    }
                ],
                "volumes": volumes,
            },
        }

    def _fail_later(self, entry: RunningJob, lines: list[str]) -> None:
        def fail() -> None:
            self.ctl.kubelet.log(entry.proc.pod, "runner", lines)
            self._complete(entry, "Failed")

        self.ctl.after(HOOK_SECONDS, fail)

    def _prepare_timeout(self, entry: RunningJob, workflow_uid: str) -> None:
        pod = self.cluster.get("pods", entry.proc.pod["metadata"]["namespace"], entry.workflow_pod)
        if entry.done or pod is None or pod["metadata"]["uid"] != workflow_uid:
            return
        if (pod.get("status") or {}).get("phase") != "Running":
            phase = (pod.get("status") or {}).get("phase") or "Pending"
            self.ctl.kubelet.log(
                entry.proc.pod,
                "runner",
                [
                    "##[error]Error: pod failed to come online with error: Error: "
                    f"Pod {entry.workflow_pod} is unhealthy with phase status {phase}"
                ],
            )
            self._complete(entry, "Failed")

    # ---- the workflow pod (a kubelet program) -----------------------------------------------------
    def container_started(self, pod: dict, c: dict, _init: bool) -> None:
        entry = self.by_workflow.get((pod["metadata"]["namespace"], pod["metadata"]["name"]))
        if entry is None or c.get("name") != "job" or entry.done:
            return
        self.ctl.after(entry.job.duration, lambda: self._workflow_done(entry, pod))

    def _workflow_done(self, entry: RunningJob, pod: dict) -> None:
        if entry.done:
            return
        self.ctl.kubelet.finish(pod, "job", 0)
        self._complete(entry, "Succeeded")

    def adopted(self, _pod: dict) -> None:
        """A workflow pod from before the controller started: nobody drives it."""

    def pod_gone(self, ns: str, name: str, _uid: str) -> None:
        entry = self.by_workflow.pop((ns, name), None)
        if entry is not None and not entry.done:
            self.ctl.kubelet.log(
                entry.proc.pod,
                "runner",
                [f"##[error]Error: Pod {name} is unhealthy with phase status Failed"],
            )
            entry.workflow_pod = ""
            self._complete(entry, "Failed")

    def _complete(self, entry: RunningJob, result: str) -> None:
        if entry.done:
            return
        entry.done = True
        uid = entry.proc.pod["metadata"]["uid"]
        self.running.pop(uid, None)
        self.running_count[entry.key] = max(0, self.running_count.get(entry.key, 0) - 1)
        self.completed += 1
        if entry.workflow_pod:
            ns = entry.proc.pod["metadata"]["namespace"]
            self.ctl.after(0.5, lambda: self._delete_pod(ns, entry.workflow_pod))
        self.ctl.runners.exit(entry.proc, runner_program.job_end_lines(entry.job.display_name, result))
        self.ctl.listener_process.scale(entry.key)
        self.ctl.listener_process.job_completed(entry.key, entry.job.display_name, result.lower(),
                                                time.monotonic() - entry.started_at)

    def _delete_pod(self, ns: str, name: str) -> None:
        try:
            self.cluster.delete("pods", ns, name)
        except ApiError:
            pass

    def runner_gone(self, proc: RunnerProc) -> None:
        entry = self.running.get(proc.pod["metadata"]["uid"])
        if entry is not None and not entry.done:
            entry.done = True
            self.running.pop(proc.pod["metadata"]["uid"], None)
            self.running_count[entry.key] = max(0, self.running_count.get(entry.key, 0) - 1)
            if entry.workflow_pod:
                self._delete_pod(proc.pod["metadata"]["namespace"], entry.workflow_pod)
            self.ctl.listener_process.scale(entry.key)


def repository_for(ars: dict) -> str:
    """A repository the scale set's config URL covers, for job names."""
    labels = github_url_labels(ars["spec"].get("githubConfigUrl", ""))
    org = (
        labels.get("actions.github.com/organization")
        or labels.get("actions.github.com/enterprise")
        or "arc-org"
    )
    return f"{org}/{labels.get('actions.github.com/repository') or 'app-repo'}"

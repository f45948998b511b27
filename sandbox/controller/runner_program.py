"""What the runner image does when its containers start, decided from the pod and the cluster:
its init containers (the `chown` fix for F1 works only as root and with the `work` volume mounted),
the runner's start-up (work directory writable? GitHub reachable?) and the lines it logs.

`run.sh` turns a start-up failure into exit code 0, so a runner that cannot create its work
directory "succeeds": ARC deletes it and makes another — fast churn with no job.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass

from arc_top.sandbox.controller import network
from arc_top.sandbox.controller.common import RUNNER_VERSION, container, env_map, runner_stamp

RUNNER_UID = 1001
STARTUP_SECONDS = 1.5  # until `Listening for Jobs`
WORK_FAILURE_SECONDS = 2.5  # until the F1 failure ends the runner
EGRESS_FAILURE_SECONDS = 4.0
INIT_SECONDS = 1.0


@dataclass(frozen=True)
class Startup:
    lines: tuple[str, ...]
    exit_code: int | None  # None: the runner stays up, listening for jobs
    after: float


def runner_log(level: str, component: str, text: str) -> str:
    return f"[RUNNER {runner_stamp()} {level:<4} {component}] {text}"


def hooks(pod: dict) -> str:
    return env_map(container(pod, "runner")).get("ACTIONS_RUNNER_CONTAINER_HOOKS", "")


def work_claim(pod: dict) -> str | None:
    """The PVC behind the `work` volume (kube mode's ephemeral volume), if it is one."""
    for vol in pod.get("spec", {}).get("volumes") or ():
        if vol.get("name") != "work":
            continue
        if "ephemeral" in vol:
            return f"{pod['metadata']['name']}-work"
        return (vol.get("persistentVolumeClaim") or {}).get("claimName")
    return None


def kube_mode(pod: dict) -> bool:
    """Kubernetes container mode with a PVC work volume (novolume mode has no PVC)."""
    return bool(hooks(pod)) and "novolume" not in hooks(pod) and work_claim(pod) is not None


def _default_uid(image: str) -> int:
    return RUNNER_UID if "actions-runner" in image else 0


def init_outcome(pod: dict, c: dict) -> tuple[list[str], int, bool]:
    """An init container's lines, exit code, and whether it made the work volume the runner's: it must run
    `chown` as root (or through sudo) to user 1001/runner, on the mount point of the `work` volume *inside
    this init container* or a directory above it with -R. Without that mount it only changes its own
    filesystem (GitHub's mis-indented doc example), which the runner never sees."""
    command = " ".join(str(x) for x in (c.get("command") or []) + (c.get("args") or []))
    calls = chown_calls(command)
    if not calls:
        return [], 0, False
    own = c.get("securityContext") or {}
    pod_sc = pod["spec"].get("securityContext") or {}
    uid = own.get("runAsUser", pod_sc.get("runAsUser", _default_uid(c.get("image") or "")))
    if "sudo" in command.split() and uid != 0:
        if own.get("allowPrivilegeEscalation") is False or own.get(
            "runAsNonRoot", pod_sc.get("runAsNonRoot")
        ):
            return (
                [
                    "sudo: effective uid is not 0, is /usr/bin/sudo on a file system with the 'nosuid' "
                    "option set or an NFS file system without root privileges?"
                ],
                1,
                False,
            )
        uid = 0
    if uid != 0:
        target = next((p for _, _, paths in calls for p in paths), "/home/runner/_work")
        return [f"chown: changing ownership of '{target}': Operation not permitted"], 1, False
    mounts = [_clean(m.get("mountPath") or "") for m in c.get("volumeMounts") or () if m.get("name") == "work"]
    fixed = any(
        owner.split(":", 1)[0] in ("1001", "runner") and any(_covers(path, mount, recursive) for path in paths
                                                             for mount in mounts)
        for owner, recursive, paths in calls
    )
    return [], 0, fixed


def chown_calls(command: str) -> list[tuple[str, bool, list[str]]]:
    """The `chown` invocations in a shell command line: (owner, recursive, paths) each."""
    try:
        tokens = shlex.split(command.replace(";", " ; "))
    except ValueError:
        tokens = command.split()
    calls, i = [], 0
    while i < len(tokens):
        if tokens[i].rsplit("/", 1)[-1] != "chown":
            i += 1
            continue
        i += 1
        recursive, args = False, []
        while i < len(tokens) and tokens[i] not in ("&&", "||", ";", "|"):
            tok = tokens[i]
            if tok.startswith("--"):
                recursive = recursive or tok == "--recursive"
            elif tok.startswith("-") and len(tok) > 1:
                recursive = recursive or "R" in tok
            else:
                args.append(tok)
            i += 1
        if len(args) >= 2:
            calls.append((args[0], recursive, [_clean(a) for a in args[1:]]))
    return calls


def _clean(path: str) -> str:
    return "/" + "/".join(p for p in path.split("/") if p and p != ".")


def _covers(path: str, mount: str, recursive: bool) -> bool:
    """Whether chowning `path` changes the owner of the volume mounted at `mount` (its root directory)."""
    if path == mount:
        return True
    return recursive and (mount.startswith(path + "/") or path == "/")


def work_writable(ctl, pod: dict, chowned: bool) -> bool:
    """Can UID 1001 create `/home/runner/_work/_tool`? Only kube mode's PVC starts out root-owned."""
    if not kube_mode(pod) or chowned:
        return True
    runner = container(pod, "runner") or {}
    pod_sc = pod["spec"].get("securityContext") or {}
    if (runner.get("securityContext") or {}).get("runAsUser", pod_sc.get("runAsUser")) == 0:
        return True
    claim = work_claim(pod) or ""
    return pod_sc.get("fsGroup") is not None and ctl.volumes.honours_fs_group(
        pod["metadata"]["namespace"], claim
    )


def broker_url(config_url: str) -> str:
    host = config_url.split("://", 1)[-1].split("/", 1)[0].lower()
    if host in ("github.com", "www.github.com") or host.endswith(".ghe.com"):
        return "https://broker.actions.githubusercontent.com"
    return config_url.split("://", 1)[0] + "://" + host


def startup(ctl, pod: dict, config_url: str, chowned: bool) -> Startup:
    connected = ("", "√ Connected to GitHub", "", f"Current runner version: '{RUNNER_VERSION}'")
    broker = broker_url(config_url)
    error = network.dial_error(ctl.cluster, pod, broker)
    if error is not None:
        host = broker.split("://", 1)[-1]
        return Startup(
            (
                runner_log(
                    "ERR",
                    "GitHubActionsService",
                    f"POST request to {broker}/session failed. HTTP Status: RequestTimeout",
                ),
                runner_log(
                    "ERR", "BrokerServer", f"System.Net.Http.HttpRequestException: {error} ({host}:443)"
                ),
                " ---> System.Net.Sockets.SocketException (110): Connection timed out",
                f"{runner_stamp()}: Runner connect error: The HTTP request timed out after 00:01:40.. "
                "Retrying until reconnected.",
                "An error occurred: Failed to create session. Connection timed out",
                "Runner listener exited with error code 1",
            ),
            1,
            EGRESS_FAILURE_SECONDS,
        )
    if not work_writable(ctl, pod, chowned):
        return Startup(
            connected
            + (
                runner_log(
                    "ERR",
                    "Runner",
                    "Fail to create and validate runner's work directory '/home/runner/_work'.",
                ),
                runner_log(
                    "ERR",
                    "Runner",
                    "System.UnauthorizedAccessException: Access to the path "
                    "'/home/runner/_work/_tool' is denied.",
                ),
                " ---> System.IO.IOException: Permission denied",
                "   --- End of inner exception stack trace ---",
                "   at System.IO.FileSystem.CreateDirectory(String fullPath, Byte[] securityDescriptor)",
                "   at System.IO.Directory.CreateDirectory(String path)",
                "   at GitHub.Runner.Listener.Runner.ExecuteAsync(CommandSettings command)",
                "Runner listener exit with terminated error, stop the service, no retry needed.",
                "Exiting runner...",
            ),
            0,
            WORK_FAILURE_SECONDS,
        )
    return Startup(connected + (f"{runner_stamp()}: Listening for Jobs",), None, STARTUP_SECONDS)


def dind_lines() -> list[str]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())
    return [
        f'time="{stamp}" level=info msg="Starting up"',
        f'time="{stamp}" level=info msg="Loading containers: done."',
        f'time="{stamp}" level=info msg="Daemon has completed initialization"',
        f'time="{stamp}" level=info msg="API listen on /var/run/docker.sock"',
    ]


def job_end_lines(display_name: str, result: str) -> list[str]:
    return [
        f"{runner_stamp()}: Job {display_name} completed with result: {result}",
        "√ Removed .credentials",
        "√ Removed .runner",
    ]

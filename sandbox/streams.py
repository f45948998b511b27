"""Long-lived answers: watch event streams and pod logs (plain and followed)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

from arc_top.sandbox import errors
from arc_top.sandbox.logs import rfc3339nano
from arc_top.sandbox.resources import Resource, lookup
from arc_top.sandbox.responses import Response, Stream
from arc_top.sandbox.store import bookmark_rv

BOOKMARK_EVERY_S = 3.0
DEFAULT_WATCH_TIMEOUT_S = 1800.0
POLL_S = 0.5


def _line(kind: str, obj: dict) -> bytes:
    return json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"


def watch_stream(cluster, res: Resource, namespace: str | None, match: Callable[[dict], bool],
                 resource_version: str | None, timeout_s: float | None, bookmarks: bool,
                 table: Callable[[dict, bool], dict] | None) -> Iterator[bytes]:
    """Newline-delimited watch events. A too-old resourceVersion is an ERROR event carrying a 410
    Status (what the real server sends once the stream has started), then the end of the stream."""
    store = cluster.store
    try:
        watcher = store.watch(res.key, namespace, match, resource_version)
    except errors.ApiError as err:
        yield _line("ERROR", err.status())
        return
    deadline = time.monotonic() + (timeout_s or DEFAULT_WATCH_TIMEOUT_S)
    last_sent = time.monotonic()
    first = True
    try:
        while not cluster.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            events = watcher.take(min(POLL_S, remaining))
            if events:
                out = []
                for kind, obj in events:
                    if table is not None:
                        obj = table(obj, first)
                        first = False
                    out.append(_line(kind, obj))
                yield b"".join(out)
                last_sent = time.monotonic()
            elif watcher.closed:
                if watcher.overflow:
                    yield _line("ERROR", errors.ApiError(
                        500, "InternalError", "watch channel was closed: the client is too slow").status())
                return
            elif bookmarks and time.monotonic() - last_sent >= BOOKMARK_EVERY_S:
                rv = bookmark_rv(store, watcher)
                if rv is not None:
                    yield _line("BOOKMARK", {"kind": res.kind, "apiVersion": res.api_version,
                                             "metadata": {"resourceVersion": str(rv)}})
                    last_sent = time.monotonic()
    finally:
        store.unwatch(watcher)


def _int_param(query: dict[str, str], name: str) -> int | None:
    value = query.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise errors.bad_request(f"{name}: Invalid value: {value!r}: must be an integer") from None


def _pick_container(pod: dict, wanted: str | None) -> str:
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    containers = [c.get("name") for c in spec.get("containers") or [] if isinstance(c, dict)]
    inits = [c.get("name") for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    if wanted:
        if wanted not in containers and wanted not in inits:
            raise errors.bad_request(f"container {wanted} is not valid for pod {name}")
        return wanted
    default = (pod["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
    if default in containers:
        return default
    if len(containers) == 1:
        return containers[0]
    raise errors.bad_request(
        f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
        + (f" or one of the init containers: [{' '.join(inits)}]" if inits else ""))


def _encode(text: str) -> bytes:
    """A container's bytes as written: lines holding undecodable bytes (kept as surrogate escapes) go out
    as those raw bytes, as the kubelet passes them through."""
    try:
        return text.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="replace")


def _waiting_reason(pod: dict, container: str) -> str | None:
    status = pod.get("status") or {}
    for st in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if isinstance(st, dict) and st.get("name") == container:
            waiting = (st.get("state") or {}).get("waiting")
            return (waiting.get("reason") or "ContainerCreating") if isinstance(waiting, dict) else None
    return "ContainerCreating" if status.get("phase", "Pending") == "Pending" else None


def log_stream(cluster, namespace: str, pod_name: str, query: dict[str, str]):
    """GET …/pods/<p>/log with container, tailLines, previous, timestamps, sinceSeconds, limitBytes, follow."""
    pods = lookup("pods")
    pod = cluster.store.require(pods, namespace, pod_name)
    container = _pick_container(pod, query.get("container"))
    previous = query.get("previous", "").lower() in ("true", "1")
    follow = query.get("follow", "").lower() in ("true", "1") and not previous
    stamps = query.get("timestamps", "").lower() in ("true", "1")
    tail = _int_param(query, "tailLines")
    since_s = _int_param(query, "sinceSeconds")
    limit = _int_param(query, "limitBytes")
    logs = cluster.logs
    if previous and not logs.has_previous(namespace, pod_name, container):
        raise errors.bad_request(f'previous terminated container "{container}" in pod "{pod_name}" not found')
    lines, seq = logs.snapshot(namespace, pod_name, container, previous=previous, tail=tail,
                               since=time.time() - since_s if since_s is not None else None)
    if not previous and not lines:
        reason = _waiting_reason(pod, container)
        if reason:
            raise errors.bad_request(
                f'container "{container}" in pod "{pod_name}" is waiting to start: {reason}')

    def render(batch: list[tuple[float, str]]) -> bytes:
        if stamps:
            return _encode("".join(f"{rfc3339nano(ts)} {text}\n" for ts, text in batch))
        return _encode("".join(f"{text}\n" for _, text in batch))

    first = render(lines)
    if limit is not None:
        first = first[:limit]
    if not follow:
        return Response(200, first, "text/plain")

    def chunks() -> Iterator[bytes]:
        sent = len(first)
        if first:
            yield first
        cursor = seq
        while not cluster.stopping.is_set():
            batch, cursor, ended = logs.follow(namespace, pod_name, container, cursor, POLL_S)
            if batch:
                data = render(batch)
                if limit is not None:
                    data = data[:max(0, limit - sent)]
                if data:
                    yield data
                    sent += len(data)
            if ended or (limit is not None and sent >= limit):
                return
    return Stream(200, chunks(), "text/plain")

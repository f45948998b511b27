"""One app-owned daemon thread per watched (resource, namespace, selector): list, then watch from the list's
resourceVersion, forever, into a ClusterState.

- list in pages of 500 → `state.replace` (exactly this watcher's share; no ghosts, nothing missing); a first list
  starts with a page of 100 and publishes each page as it lands (`state.add_page`: the first screen shows the first
  runners while the rest is still listing);
- watch with bookmarks, `timeout_seconds` and `_request_timeout` always set; lines parsed here (no models);
- 410 Gone (as an ERROR event or an HTTP status) → relist; a dropped connection → backoff 0.5, 1, 2 … 10 s
  with KindState "reconnecting"/attempt n, then resume from the last resourceVersion (the server replays
  what was missed, deletions included; if that is too old it answers 410 and we relist);
- 403 → KindState "forbidden" with the server's one-line reason, the share is dropped, retried every 60 s;
- a stalled watch (the connection stays open but nothing arrives, not even a bookmark: a dead proxy, a hung API
  server) → after `stall_after` seconds the connection is dropped and the watch resumes from the last
  resourceVersion; the kind shows "reconnecting" ("no data for 95 s: reconnecting") until an event or a bookmark
  arrives again;
- stop() shuts the open response's socket, so the thread ends within a second even on a quiet stream.

The stall bound. We ask for bookmarks, and a real API server sends one on every watch about once a minute (the
watch cache's bookmark frequency, and 2 s before the watch's own timeout), the sandbox every 3 s. So a healthy
watch never goes 60 s without a line; STALL_AFTER_S = 90 s (1.5 bookmark intervals) leaves 30 s of slack for a
late bookmark and still notices a dead stream within a minute and a half. Tests shorten it with `stall_after=` or
the ARC_TOP_WATCH_STALL_S environment variable. A server that has never sent this watcher a bookmark may simply not
send them (a watch served without the watch cache): there silence can be a quiet kind, so the watch is renewed
without showing "reconnecting" (the header still shows how old the kind's data is).
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from arc_top.kube.apis import Resource, loads, status_message
from arc_top.kube.model import KindState
from arc_top.kube.projections import project, uid_of
from arc_top.kube.state import ClusterState

PAGE_SIZE = 500
FIRST_PAGE_SIZE = 100               # the first page of a first list: a screenful of runners, decoded at once
WATCH_SECONDS = (240, 300)          # server-side watch timeout, randomised so watchers do not re-watch in step
STALL_AFTER_S = 90.0                # no event and no bookmark for this long: a stalled watch (see above)
STALL_ENV = "ARC_TOP_WATCH_STALL_S"  # overrides STALL_AFTER_S (seconds), e.g. for tests and rehearsals
READ_TIMEOUT_S = STALL_AFTER_S      # (the old name)
CONNECT_TIMEOUT_S = 5.0
LIST_READ_TIMEOUT_S = 60.0
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.5, 10.0
FORBIDDEN_RETRY_S = 60.0


@dataclass(frozen=True)
class WatchSpec:
    resource: Resource
    namespace: str | None = None                  # None: all namespaces (or a cluster-scoped kind)
    label_selector: str = ""
    field_selector: str = ""
    accept: Callable[[object], bool] | None = None  # projections it rejects are treated as gone

    @property
    def source(self) -> str:
        """This watcher's name in the state: its share of the kind."""
        parts = [self.resource.plural, self.namespace or "*"]
        if self.label_selector:
            parts.append(self.label_selector)
        if self.field_selector:
            parts.append(self.field_selector)
        return "/".join(parts)

    def scope(self) -> str:
        if not self.resource.namespaced:
            return "cluster-wide"
        return f'in namespace "{self.namespace}"' if self.namespace else "in all namespaces"


class _Gone(Exception):
    """410: our resourceVersion is too old; relist."""


class _StreamError(Exception):
    """An ERROR event other than 410 (e.g. the server closed a too-slow watch): resume from the last version."""


class _Stalled(Exception):
    """Nothing (no event, no bookmark) for `stall_after` seconds on an open watch: drop it, resume."""

    def __init__(self, quiet: float):
        super().__init__(stall_line(quiet))
        self.quiet = quiet


def stall_after_default() -> float:
    """STALL_AFTER_S, or the ARC_TOP_WATCH_STALL_S environment variable when it holds a positive number."""
    try:
        value = float(os.environ.get(STALL_ENV, ""))
    except ValueError:
        return STALL_AFTER_S
    return value if value > 0 else STALL_AFTER_S


def stall_line(quiet: float) -> str:
    return f"no data for {max(0, round(quiet))} s: reconnecting"


class StreamThread(threading.Thread):
    """A daemon thread that blocks reading streaming responses (a watch, a followed log); `stop()` from another
    thread unblocks the read at once. Subclasses open a response, `_hold` it while reading, `_release` it after."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._stopping = threading.Event()
        self._resp = None
        self._resp_lock = threading.Lock()

    def stop(self) -> None:
        self._stopping.set()
        with self._resp_lock:
            resp = self._resp
        if resp is not None:
            _shutdown(resp)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _hold(self, resp):
        with self._resp_lock:
            self._resp = resp
        if self.stopping:               # stopped while the request was being made
            _shutdown(resp)
        return resp

    def _release(self, resp, complete: bool) -> None:
        with self._resp_lock:
            self._resp = None
        if not complete:
            resp.close()
        resp.release_conn()


class KindWatcher(StreamThread):
    def __init__(self, api_client, spec: WatchSpec, state: ClusterState, *, page_size: int = PAGE_SIZE,
                 watch_seconds: tuple[int, int] = WATCH_SECONDS, stall_after: float | None = None,
                 forbidden_retry: float = FORBIDDEN_RETRY_S):
        """`stall_after`: seconds without an event or a bookmark after which an open watch counts as stalled
        (default: stall_after_default())."""
        super().__init__(f"arc-top-watch {spec.source}")
        self.api_client = api_client
        self.spec = spec
        self.state = state
        self.kind = spec.resource.key
        self.source = spec.source
        self.page_size = page_size
        self.watch_seconds = watch_seconds
        self.stall_after = stall_after if stall_after and stall_after > 0 else stall_after_default()
        self.forbidden_retry = forbidden_retry
        self.resource_version = ""
        self.lists = 0                              # how many (re)lists were applied (tests, diagnostics)
        self.pages = 0                              # pages of a first list published before its end (add_page)
        self.stalls = 0                             # how many stalled watches were dropped (tests, diagnostics)
        self.last_data = time.monotonic()           # monotonic: the last list, event or bookmark
        self._heard_bookmark = False                # this server sends bookmarks: silence means a stall
        self._stalled = False                       # "reconnecting" after a stall, until data arrives again
        self._attempt = 0
        self._synced = False
        self._status = KindState(self.kind, "starting")
        state.set_state(self.kind, self._status, self.source)

    @property
    def state_of_kind(self) -> str:
        """This watch's own state: starting, syncing, live, reconnecting, forbidden, error."""
        return self._status.state

    @property
    def bookmarks_seen(self) -> bool:
        """The server has sent this watcher a bookmark: its silence counts as a stall."""
        return self._heard_bookmark

    # ---- control ---------------------------------------------------------------------------------------
    def _set(self, state: str, attempt: int = 0, message: str = "") -> None:
        new = KindState(self.kind, state, attempt=attempt, message=message, synced=self._synced)
        if new != self._status and not self.stopping:
            self._status = new
            self.state.set_state(self.kind, new, self.source)

    # ---- the loop ----------------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a bug must show as a state, not kill the app or print a traceback
            self._set("error", message=f"watch stopped: {type(exc).__name__}: {exc}"[:300])

    def _loop(self) -> None:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        need_list = True
        while not self.stopping:
            try:
                if need_list:
                    if not self._synced:
                        self._set("syncing")
                    self._list()
                    need_list, self._attempt, self._stalled = False, 0, False
                    self._set("live")
                if self.stopping:
                    return
                self._watch()
                if not self._stalled:
                    self._attempt = 0
            except _Gone:
                need_list = True
            except _Stalled as exc:
                if self.stopping:
                    return
                # No backoff: the stall itself took `stall_after`; watch again at once from the last version.
                self.stalls += 1
                self._attempt += 1
                self._stalled = True
                self._set("reconnecting", self._attempt, str(exc))
            except ApiException as exc:
                if self.stopping:
                    return
                status = exc.status or 0
                if status == 410:
                    need_list = True
                elif status in (403, 404):
                    self._synced = True
                    if status == 403:
                        self._set("forbidden", message=_forbidden_line(self.spec, exc))
                    else:
                        self._set("error", message=f"the server does not serve {self.spec.resource.plural}"
                                                   f"{_group(self.spec.resource)} ({status_message(exc)})")
                    self.state.drop_source(self.kind, self.source)
                    need_list = True
                    self._stopping.wait(self.forbidden_retry)
                else:
                    self._attempt += 1
                    attempt = self._attempt
                    if status == 0:      # TLS failure (the client reports it as status 0)
                        line = status_message(exc).replace("SSLError ", "")
                    elif status == 401:
                        line = "the server rejected the credentials (401 Unauthorized): refresh your token"
                    else:
                        line = f"{status} {status_message(exc)}"
                    self._set("error" if status in (0, 401) else "reconnecting", attempt, line[:300])
                    self._backoff(attempt)
            except (urllib3.exceptions.HTTPError, OSError, _StreamError, ValueError) as exc:
                if self.stopping:
                    return
                self._attempt += 1
                # A read timeout here: the server accepted the connection but never answered (a hung server).
                line = stall_line(time.monotonic() - self.last_data) if is_read_timeout(exc) else connection_line(exc)
                self._set("reconnecting", self._attempt, line)
                self._backoff(self._attempt)

    def _backoff(self, attempt: int) -> None:
        delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (attempt - 1)) * random.uniform(0.85, 1.15)
        self._stopping.wait(delay)

    def _call(self, **kwargs):
        spec = self.spec
        if spec.label_selector:
            kwargs["label_selector"] = spec.label_selector
        if spec.field_selector:
            kwargs["field_selector"] = spec.field_selector
        fn = spec.resource.list_function(self.api_client, spec.namespace)
        return self._hold(fn(_preload_content=False, **kwargs))

    def _list(self) -> None:
        from kubernetes.client.exceptions import ApiException

        kind, api_kind, accept = self.kind, self.spec.resource.kind, self.spec.accept
        objs: dict[str, object] = {}
        token, version = "", ""
        ahead: _Page | None = None
        while True:
            try:
                if ahead is not None and ahead.token == token:
                    body = ahead.body()
                else:
                    body = self._page(token)
            except ApiException as exc:
                if exc.status == 410 and token:     # the continue token expired: start the list again
                    objs, token = {}, ""
                    continue
                raise
            finally:
                ahead = None
            if self.stopping:
                return
            # The next page is asked for before this one is decoded: the server makes it while we decode (a
            # first list of 5,000 pods is 11 pages, each ~0.1 s of decoding and as long again of serving).
            hint = continue_hint(body)
            if hint:
                ahead = _Page(self, hint)
            doc = loads(body)
            page: dict[str, object] = {}
            for item in doc.get("items") or ():
                obj = project(kind, item, api_kind)
                if accept is None or accept(obj):
                    page[obj.uid] = obj  # type: ignore[attr-defined]
            objs.update(page)
            meta = doc.get("metadata") or {}
            version = str(meta.get("resourceVersion") or version)
            token = meta.get("continue") or ""
            if not token:
                break
            if not self._synced and page:
                # A first list of several pages: each page shows at once (the first screen), the list's end
                # settles the share (ClusterState.add_page). A relist stays one replace: no flicker, no ghosts.
                self.state.add_page(kind, page, self.source)
                self.pages += 1
        self.resource_version = version
        self._synced = True
        self.lists += 1
        self.last_data = time.monotonic()
        self.state.replace(kind, objs, self.source)

    def _page(self, token: str) -> bytes:
        """One page of the list: its body, whole."""
        limit = self.page_size if token or self._synced else min(self.page_size, FIRST_PAGE_SIZE)
        kwargs = {"limit": limit, "_request_timeout": (CONNECT_TIMEOUT_S, LIST_READ_TIMEOUT_S)}
        if token:
            kwargs["_continue"] = token
        resp = self._call(**kwargs)
        complete = False
        try:
            body = resp.data
            complete = True
        finally:
            self._release(resp, complete)
        return body

    def _watch(self) -> None:
        """One watch request, read until the server ends it. The socket's read timeout is the stall bound: no
        byte for `stall_after` seconds ends the read; bytes that never make a whole event count as nothing."""
        seconds = random.randint(*self.watch_seconds)
        resp = self._call(watch=True, allow_watch_bookmarks=True, resource_version=self.resource_version or None,
                          timeout_seconds=seconds, _request_timeout=(CONNECT_TIMEOUT_S, self.stall_after))
        opened = time.monotonic()
        complete = False
        try:
            if self._status.state != "live" and not self._stalled:
                self._set("live")            # after a stall: "reconnecting" until something arrives (below)
            buffer = b""
            for chunk in read_chunks(resp):
                if self.stopping:
                    return
                buffer += chunk
                heard = 0
                if b"\n" in chunk:
                    lines = buffer.split(b"\n")
                    buffer = lines.pop()
                    heard = self._events(lines)
                now = time.monotonic()
                if heard:
                    self.last_data = now
                    if self._stalled:
                        self._stalled, self._attempt = False, 0
                        self._set("live")
                elif now - max(self.last_data, opened) >= self.stall_after:
                    raise _Stalled(now - self.last_data)
            complete = True
        except _Stalled:
            raise
        except Exception as exc:
            if self.stopping:
                return
            if is_read_timeout(exc):
                if self._heard_bookmark:
                    raise _Stalled(time.monotonic() - self.last_data) from None
                return                       # no bookmarks from this server: maybe just a quiet kind
            raise
        finally:
            self._release(resp, complete)

    def _events(self, lines: list[bytes]) -> int:
        """Apply whole event lines; returns how many events (bookmarks included) they held."""
        kind, api_kind, accept = self.kind, self.spec.resource.kind, self.spec.accept
        batch: list[tuple[str, object]] = []
        version = ""
        bookmark = False
        heard = 0
        try:
            for line in lines:
                if not line:
                    continue
                try:
                    event = loads(line)
                    kind_of_event, raw = event["type"], event["object"]
                except (ValueError, KeyError, TypeError):
                    continue                                    # a garbled line: skip it, keep the stream
                heard += 1
                if kind_of_event == "ERROR":
                    status = raw if isinstance(raw, dict) else {}
                    if status.get("code") == 410:
                        raise _Gone()
                    raise _StreamError(f"watch error {status.get('code')}: {status.get('message', '')}")
                meta = raw.get("metadata") if isinstance(raw, dict) else None
                rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
                if rv:
                    version = str(rv)
                if kind_of_event == "BOOKMARK":
                    bookmark = self._heard_bookmark = True
                elif kind_of_event == "DELETED":
                    batch.append(("DELETED", uid_of(raw)))
                elif kind_of_event in ("ADDED", "MODIFIED"):
                    obj = project(kind, raw, api_kind)
                    batch.append((kind_of_event, obj) if accept is None or accept(obj) else ("DELETED", obj.uid))
        finally:
            if batch:
                self.state.apply_many(kind, batch, self.source)
            elif bookmark:
                self.state.touch(kind, self.source)
            if version:
                self.resource_version = version
        return heard


# ---- helpers -----------------------------------------------------------------------------------------------
def read_chunks(resp):
    """The body as it arrives: whole HTTP chunks (what the API server flushes per event batch); without
    chunked encoding, whatever one socket read returns (never wait for a fixed amount on a live stream)."""
    if getattr(resp, "chunked", False):
        return resp.stream(amt=None, decode_content=True)
    if hasattr(resp, "read1"):
        return iter(lambda: resp.read1(65536), b"")
    return resp.stream(amt=65536, decode_content=True)


def _shutdown(resp) -> None:
    """Unblock a read in another thread: urllib3 ≥ 2.3 has shutdown(); else shut the socket itself."""
    import socket

    try:
        if hasattr(resp, "shutdown"):
            resp.shutdown()
            return
        sock = getattr(getattr(resp, "connection", None), "sock", None)
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except Exception:  # already closed: nothing to unblock
        pass


def is_read_timeout(exc: BaseException) -> bool:
    import socket

    import urllib3

    seen = exc
    for _ in range(5):
        if isinstance(seen, (urllib3.exceptions.ReadTimeoutError, socket.timeout, TimeoutError)):
            return True
        # `reason` is the wrapped exception of urllib3's errors, but a plain string on ssl.SSLError (a TLS
        # stream cut by a server restart: "UNEXPECTED_EOF_WHILE_READING") and on ApiException.
        reason = getattr(seen, "reason", None)
        nxt = reason if isinstance(reason, BaseException) else seen.__cause__ or seen.__context__
        if nxt is None or nxt is seen:
            break
        seen = nxt
    return False


def _group(res: Resource) -> str:
    return f".{res.group}" if res.group else ""


def _forbidden_line(spec: WatchSpec, exc: BaseException) -> str:
    return f"no access to {spec.resource.plural}{_group(spec.resource)} {spec.scope()}: {status_message(exc)}"[:300]


def connection_line(exc: BaseException) -> str:
    text = " ".join(str(getattr(exc, "reason", None) or exc).split())
    if "Connection refused" in text or "ConnectionRefused" in text:
        text = "connection refused"
    elif "RemoteDisconnected" in text or "Connection aborted" in text or "closed connection" in text:
        text = "the server closed the connection"
    elif "Connection broken" in text or "IncompleteRead" in text or "InvalidChunkLength" in text:
        text = "the connection broke"
    return f"connection lost ({text[:200]}): reconnecting"


_CONTINUE = re.compile(rb'"continue"\s*:\s*"([A-Za-z0-9_=.+/-]*)"')


def continue_hint(body: bytes) -> str:
    """The continue token of a list page, read before the page is decoded: from the list's metadata when it comes
    before the items (as the API server writes it); "" when it does not, or there is none (then nothing is asked
    for ahead). Only a hint: the decoded page's token is the one that counts."""
    start = body.find(b'"items"')
    match = _CONTINUE.search(body, 0, start if start >= 0 else 0)
    return match.group(1).decode() if match else ""


class _Page:
    """The next page of a list, fetched on a thread of its own while the current page is decoded. (A daemon thread,
    not a ThreadPoolExecutor's future: the interpreter waits for an executor's workers at exit, and one blocked on a
    page read would hold the quit up to LIST_READ_TIMEOUT_S.)"""

    def __init__(self, watcher: KindWatcher, token: str) -> None:
        self.token = token
        self._watcher = watcher
        self._body: bytes | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        threading.Thread(target=self._fetch, name=f"{watcher.name} page", daemon=True).start()

    def _fetch(self) -> None:
        try:
            self._body = self._watcher._page(self.token)
        except BaseException as exc:      # (given to the list's thread, which raises it)
            self._error = exc
        finally:
            self._done.set()

    def body(self) -> bytes:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._body  # type: ignore[return-value]

"""Which cluster, as whom, which namespaces: kubeconfig resolution the way kubectl does it.

`--kubeconfig` (one file) else `KUBECONFIG` (os.pathsep-separated; missing files skipped; the first file to
define a cluster/context/user name or current-context wins) else ~/.kube/config, else in-cluster config.
Credentials (tokens, client certificates, exec plugins) are handled by the official client's loader.
Every expected failure is a ConnectError with one line: what failed and what to do.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

_NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DEMO_HINT = "is the cluster up? try 'arc-top demo'"


class ConnectError(Exception):
    """An expected failure to connect; str() is one line for the user."""


@dataclass
class Connection:
    context: str
    server: str
    user: str
    namespaces: tuple[str, ...]          # empty = all namespaces
    api_client: object
    kubeconfig: str = ""                 # the file(s) used, os.pathsep-joined; "" in-cluster
    in_cluster: bool = False

    @property
    def all_namespaces(self) -> bool:
        return not self.namespaces

    def describe(self) -> str:
        scope = "all namespaces" if self.all_namespaces else ", ".join(self.namespaces)
        return f"{self.context} ({self.server}) as {self.user or 'anonymous'}: {scope}"


def kubeconfig_paths(kubeconfig: str | None = None) -> tuple[list[str], bool]:
    """The candidate files, and whether the user named them explicitly with --kubeconfig."""
    if kubeconfig:
        return [os.path.expanduser(kubeconfig)], True
    env = os.environ.get("KUBECONFIG", "")
    if env.strip():
        return [os.path.expanduser(p) for p in env.split(os.pathsep) if p.strip()], False
    return [os.path.expanduser("~/.kube/config")], False


def _read(path: str) -> dict | None:
    """A kubeconfig file, within the limits of any outside input (size, depth, no YAML aliases)."""
    from arc_top.kube.untrusted import InputError, decode, load_one, read_limited

    try:
        with open(path, "rb") as f:
            doc = load_one(decode(read_limited(f, f"kubeconfig {path}", limit=16 * 1024 * 1024), f"kubeconfig {path}"),
                           f"kubeconfig {path}")
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConnectError(f"kubeconfig {path} is a directory: pass the file with --kubeconfig") from None
    except OSError as exc:
        raise ConnectError(f"cannot read kubeconfig {path} ({exc.strerror or exc}): check the file's permissions "
                           "or pass another one with --kubeconfig") from None
    except InputError as exc:
        raise ConnectError(f"{exc}: fix the file or pass another one with --kubeconfig") from None
    if doc is None:
        return {}                        # an empty file is an empty config, as for kubectl
    if not isinstance(doc, dict):
        raise ConnectError(f"kubeconfig {path} is not a kubeconfig (expected a mapping at the top): fix the file "
                           "or pass another one with --kubeconfig")
    return doc


def load_merged(paths: Sequence[str], explicit: bool):
    """Merge as kubectl does: for clusters, contexts and users the first file defining a name wins; so does
    the first non-empty current-context. Returns (ConfigNode for the client's loader, files used)."""
    from kubernetes.config.kube_config import ConfigNode

    used: list[str] = []
    merged: dict = {"clusters": [], "contexts": [], "users": [], "current-context": ""}
    seen: dict[str, set[str]] = {"clusters": set(), "contexts": set(), "users": set()}
    for path in paths:
        doc = _read(path)
        if doc is None:
            if explicit:
                raise ConnectError(f"kubeconfig {path} does not exist: check the --kubeconfig path")
            continue
        used.append(path)
        for section in ("clusters", "contexts", "users"):
            entries = doc.get(section) or []
            for entry in entries if isinstance(entries, list) else []:
                name = entry.get("name") if isinstance(entry, dict) else None
                if isinstance(name, str) and name not in seen[section]:
                    seen[section].add(name)
                    # Each entry remembers its own file: relative certificate/token/command paths resolve there.
                    merged[section].append(ConfigNode(f"{path}/{name}", entry, os.path.abspath(path)))
        if not merged["current-context"] and isinstance(doc.get("current-context"), str):
            merged["current-context"] = doc["current-context"]
    root = used[0] if used else ""
    return ConfigNode(root or "kubeconfig", merged, os.path.abspath(root) if root else None), used


def _in_cluster_available() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.isfile(os.path.join(SA_DIR, "token"))


def _select_namespaces(namespaces: Sequence[str], all_namespaces: bool, default: str) -> tuple[str, ...]:
    if all_namespaces:
        return ()
    out: list[str] = []
    for ns in namespaces:
        for part in str(ns).split(","):
            part = part.strip()
            if not part:
                continue
            if not _NAMESPACE_RE.match(part) or len(part) > 63:
                raise ConnectError(f'"{part}" is not a valid namespace name: use lower-case letters, digits and "-"')
            if part not in out:
                out.append(part)
    return tuple(out) or (default or "default",)


def _pool_size(namespaces: tuple[str, ...]) -> int:
    return max(32, 14 * max(1, len(namespaces)) + 16)   # one connection per watch thread, plus short calls


def _prepare(cfg, namespaces: tuple[str, ...]) -> None:
    """Pool and retry settings for many long-lived watches; exec-plugin refresh made thread-safe."""
    import urllib3

    cfg.connection_pool_maxsize = _pool_size(namespaces)
    # urllib3 logs each retried request at WARNING: with no logging set up that reaches stderr and would draw
    # over the terminal UI. Our KindStates say what the connection is doing instead.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    # No blind connect retries (we back off ourselves, and a dead server must fail fast); one read retry
    # so a pooled keep-alive connection the server closed while idle is simply replaced.
    cfg.retries = urllib3.Retry(total=2, connect=0, read=1, status=0, redirect=2, other=0)
    hook = getattr(cfg, "refresh_api_key_hook", None)
    if hook is not None:
        lock = threading.Lock()

        def locked(configuration, _hook=hook):
            with lock:
                _hook(configuration)
        cfg.refresh_api_key_hook = locked


class _Capture(logging.Handler):
    """The client's loader logs exec-plugin failures (logging.error) instead of raising: catch them."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(" ".join(record.getMessage().split()))


def connect(kubeconfig: str | None = None, context: str | None = None, namespaces: Sequence[str] = (),
            all_namespaces: bool = False) -> Connection:
    """Resolve the kubeconfig and build an ApiClient (no request is made: see check_reachable)."""
    from kubernetes import client
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KubeConfigLoader

    paths, explicit = kubeconfig_paths(kubeconfig)
    config, used = load_merged(paths, explicit)
    where = os.pathsep.join(used) or os.pathsep.join(paths)
    contexts = [c["name"] for c in config["contexts"].value] if used else []
    if not used or (not contexts and not context):
        if _in_cluster_available() and not context:
            return _connect_in_cluster(namespaces, all_namespaces)
        if not used:
            looked = ", ".join(paths)
            raise ConnectError(f"no kubeconfig found (looked in {looked}): pass --kubeconfig, set KUBECONFIG, "
                               "or try 'arc-top demo'")
    name = context or config.value.get("current-context") or ""
    if not name:
        raise ConnectError(f"{where} sets no current-context: pass --context"
                           + (f" (contexts: {', '.join(contexts)})" if contexts else ""))
    entry = next((c for c in config["contexts"].value if c["name"] == name), None)
    if entry is None:
        listing = ", ".join(contexts) if contexts else "none"
        raise ConnectError(f'context "{name}" not found in {where}; contexts: {listing}')
    ctx = entry.value.get("context") if isinstance(entry.value.get("context"), dict) else {}
    cluster, user = str(ctx.get("cluster") or ""), str(ctx.get("user") or "")
    if not any(c["name"] == cluster for c in config["clusters"].value):
        raise ConnectError(f'context "{name}" refers to cluster "{cluster}", which {where} does not define: '
                           "fix the kubeconfig")
    cfg = client.Configuration()
    capture = _Capture()
    root = logging.getLogger()
    root.addHandler(capture)
    try:
        loader = KubeConfigLoader(config_dict=config, active_context=name, config_base_path=None)
        loader.load_and_set(cfg)
    except ConfigException as exc:
        raise ConnectError(f'cannot use context "{name}" from {where}: {" ".join(str(exc).split())}: '
                           "fix the kubeconfig") from None
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise ConnectError(f'cannot use context "{name}" from {where} ({type(exc).__name__}: {exc}): '
                           "fix the kubeconfig") from None
    finally:
        root.removeHandler(capture)
    if "expiry" not in vars(loader):
        # The loader's hook runs before every request and loads the credential again only once it expires: a
        # credential without an expiry (a static token, a client certificate, an exec plugin that gives none) is
        # never loaded again, and the hook only set the same host, token and certificates again, re-reading the
        # proxy environment each time: a quarter of a short request's CPU (the listeners' job figures, read every
        # few seconds).
        cfg.refresh_api_key_hook = None
    if capture.messages and not cfg.api_key.get("BearerToken") and not cfg.cert_file:
        raise ConnectError(f'the credential plugin of user "{user}" failed: {capture.messages[-1][:300]}: '
                           "run it by hand to see why (is it installed and logged in?)")
    if not cfg.host or cfg.host == "http://localhost":
        raise ConnectError(f'cluster "{cluster}" in {where} has no server address: fix the kubeconfig')
    selected = _select_namespaces(namespaces, all_namespaces, str(ctx.get("namespace") or ""))
    _prepare(cfg, selected)
    return Connection(context=name, server=cfg.host, user=user, namespaces=selected,
                      api_client=client.ApiClient(configuration=cfg), kubeconfig=where)


def _connect_in_cluster(namespaces: Sequence[str], all_namespaces: bool) -> Connection:
    from kubernetes import client
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.incluster_config import load_incluster_config

    cfg = client.Configuration()
    try:
        load_incluster_config(client_configuration=cfg)
    except ConfigException as exc:
        raise ConnectError(f"in-cluster configuration is unusable ({exc}): pass --kubeconfig") from None
    try:
        with open(os.path.join(SA_DIR, "namespace"), encoding="utf-8") as f:
            own = f.read().strip()
    except OSError:
        own = "default"
    selected = _select_namespaces(namespaces, all_namespaces, own)
    _prepare(cfg, selected)
    return Connection(context="in-cluster", server=cfg.host, user=f"serviceaccount ({own})", namespaces=selected,
                      api_client=client.ApiClient(configuration=cfg), in_cluster=True)


# ---- is it there, and will it talk to us? ------------------------------------------------------------------
def check_reachable(conn: Connection, timeout: float = 5.0) -> None:
    """GET /version, then one cheap authorized read (list one pod in the first selected namespace, or
    cluster-wide with -A). Raises ConnectError with one line; returns None when both work."""
    from kubernetes.client.exceptions import ApiException

    from arc_top.kube import apis

    api = conn.api_client
    limit = (timeout, timeout)
    try:
        apis.request(api, "GET", "/version/", timeout=limit).release_conn()
    except ApiException as exc:
        raise ConnectError(_api_error_line(conn, exc, "GET /version")) from None
    except Exception as exc:
        raise ConnectError(_transport_error_line(conn, exc, timeout)) from None
    try:
        namespace = conn.namespaces[0] if conn.namespaces else None
        apis.PODS.list_function(api, namespace)(limit=1, _request_timeout=limit).release_conn()
    except ApiException as exc:
        where = f'in namespace "{conn.namespaces[0]}"' if conn.namespaces else "in all namespaces"
        raise ConnectError(_api_error_line(conn, exc, f"list pods {where}")) from None
    except Exception as exc:
        raise ConnectError(_transport_error_line(conn, exc, timeout)) from None


def _api_error_line(conn: Connection, exc, what: str) -> str:
    from arc_top.kube.apis import status_message

    status = exc.status or 0
    if status == 401:
        return (f'the server rejected the credentials of context "{conn.context}" (401 Unauthorized): '
                "refresh your token or log in again")
    if status == 403:
        hint = ("ask for read access (e.g. the \"view\" ClusterRole) or choose a namespace you may read with -n"
                if "pods" in what else "ask your cluster admin for access")
        return f'user "{conn.user or "anonymous"}" of context "{conn.context}" may not {what} (403 Forbidden): {hint}'
    if status == 0:
        return _tls_line(conn, status_message(exc))
    return f"{conn.server} answered {what} with {status} {status_message(exc)[:200]}: is this a Kubernetes API server?"


def _tls_line(conn: Connection, detail: str) -> str:
    detail = " ".join(re.sub(r"\s*\(_ssl\.c:\d+\)", "", detail.replace("SSLError", "")).split())
    if "CERTIFICATE_VERIFY_FAILED" in detail or "certificate verify failed" in detail:
        why = detail.split("certificate verify failed:")[-1].split(")")[0].strip(" '\"") or "not trusted"
        return (f"cannot verify the TLS certificate of {conn.server} ({why}): check certificate-authority of the "
                f'cluster of context "{conn.context}"')
    if "WRONG_VERSION_NUMBER" in detail or "wrong version number" in detail:
        return f"TLS handshake with {conn.server} failed (the server does not speak TLS): check the server address"
    return f"TLS connection to {conn.server} failed ({detail[:200]}): check the server address and certificates"


def _transport_error_line(conn: Connection, exc: BaseException, timeout: float) -> str:
    import socket
    import ssl

    import urllib3

    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 8:
        chain.append(seen)
        reason = getattr(seen, "reason", None)
        seen = reason if isinstance(reason, BaseException) else seen.__cause__ or seen.__context__
    server = conn.server
    for e in chain:
        if isinstance(e, (ssl.SSLError, urllib3.exceptions.SSLError)):
            return _tls_line(conn, str(e))
    for e in chain:
        if isinstance(e, ConnectionRefusedError):
            return f"cannot reach {server} (connection refused): {DEMO_HINT}"
        if isinstance(e, socket.gaierror) or type(e).__name__ == "NameResolutionError":
            return f'cannot reach {server} (host name not resolved): check the server of context "{conn.context}"'
        if isinstance(e, urllib3.exceptions.ConnectTimeoutError) and "timed out" in str(e):
            return f"cannot reach {server} (no answer within {timeout:g} s): {DEMO_HINT} (or is a VPN needed?)"
        if isinstance(e, urllib3.exceptions.ReadTimeoutError):
            return (f"{server} accepted the connection but did not answer within {timeout:g} s: "
                    "is the API server healthy?")
    for e in chain:
        if isinstance(e, (ConnectionResetError, ConnectionAbortedError, urllib3.exceptions.ProtocolError)):
            return f"cannot reach {server} (the connection was closed): {DEMO_HINT}"
        if isinstance(e, OSError) and e.strerror:
            return f"cannot reach {server} ({e.strerror.lower()}): {DEMO_HINT}"
    text = " ".join(str(exc).split())[:200]
    return f"cannot reach {server} ({type(exc).__name__}: {text}): {DEMO_HINT}"

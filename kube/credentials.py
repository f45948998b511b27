"""GitHub credential probes for a snapshot: the kube side. Reads each scale set's credentials Secret (and the CA of
its githubServerTLS ConfigMap) through the official client, hands the values to `probes`, keeps only the results.

Values are read with `_preload_content=False` (the client logs no body), decoded into a `probes.Credentials` that
lives for one probe, and never stored, logged or put in a result: the cache keeps `ProbeResult`s, keyed by the
Secret's resourceVersion, so an unchanged Secret is not even read again while its result is fresh. A Secret that
cannot be read (403, 404) or a GitHub that cannot be reached gives a result that is not evaluated (ARC000).

Blocking and Textual-free: call `CredentialProber.probe(snapshot)` from a worker thread. Probes run in parallel
(threads named `arc-top-probe-…`), each GitHub request bounded by `timeout`, the whole call by `budget`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ALL_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

from arc_top import probes
from arc_top.kube import apis, model
from arc_top.kube.model import Snapshot
from arc_top.probes.model import CREDENTIAL_KEYS, Credentials

CA_KEY_DEFAULT = "ca.crt"


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """One credential to probe: a Secret and the config URL it is used with, and the scale sets that use both."""
    namespace: str
    secret: str
    config_url: str
    scale_sets: tuple[str, ...]            # "namespace/name"
    resource_version: str = ""             # the Secret's, from the snapshot ("" when secrets are not watched)


@dataclass(frozen=True, slots=True)
class ServerTls:
    """spec.githubServerTLS.certificateFrom.configMapKeyRef of a scale set."""
    configmap: str
    key: str = CA_KEY_DEFAULT


def targets(snapshot: Snapshot) -> list[ProbeTarget]:
    """What to probe: one target per (namespace, Secret, githubConfigUrl). Scale sets whose Secret is known to be
    missing (ARC101 says so) or that name none are left out."""
    scale_sets = sorted((s for s in snapshot.of(model.SCALE_SETS).values() if isinstance(s, model.ScaleSet)),
                        key=lambda s: (s.namespace, s.name))
    state = snapshot.kinds.get(model.SECRETS) if isinstance(snapshot.kinds, Mapping) else None
    secrets_live = state is not None and state.synced and state.state not in ("forbidden", "error")
    secrets = {(o.namespace, o.name): o for o in snapshot.of(model.SECRETS).values() if isinstance(o, model.Named)}
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for ars in scale_sets:
        if not ars.config_secret:
            continue
        if secrets_live and (ars.namespace, ars.config_secret) not in secrets:
            continue
        grouped.setdefault((ars.namespace, ars.config_secret, ars.config_url), []).append(f"{ars.namespace}/{ars.name}")
    out = []
    for (ns, name, url), sets in grouped.items():
        found = secrets.get((ns, name))
        out.append(ProbeTarget(ns, name, url, tuple(sets), found.resource_version if found else ""))
    return out


def _status(exc: BaseException) -> int:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else 0


def read_credentials(api_client, namespace: str, name: str, timeout: float = 5.0) -> Credentials | str:
    """The credential values of Secret namespace/name, or why they cannot be read (a reason for ARC000)."""
    try:
        resp = apis.request(api_client, "GET", apis.SECRETS.path(namespace, name),
                            timeout=(min(timeout, 5.0), timeout))
    except Exception as exc:  # ApiException, transport errors: a reason, never a traceback (and never a value)
        status = _status(exc)
        if status == 403:
            return f"need read access to Secret {namespace}/{name} (get secrets is forbidden)"
        if status == 404:
            return f"need Secret {namespace}/{name}, which does not exist (see ARC101)"
        detail = apis.status_message(exc) if status else type(exc).__name__
        return f"need Secret {namespace}/{name}, which cannot be read ({detail[:120]})"
    doc = apis.read_json(resp)
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    data = doc.get("data") if isinstance(doc.get("data"), dict) else {}
    values: dict[str, str] = {}
    for key in CREDENTIAL_KEYS:
        encoded = data.get(key)
        if not isinstance(encoded, str):
            continue
        try:
            values[key] = base64.b64decode(encoded, validate=False).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            continue
    del doc, data
    return Credentials(namespace, name, str(meta.get("resourceVersion", "")), values)


def read_ca(api_client, namespace: str, tls: ServerTls, timeout: float = 5.0) -> tuple[str, str]:
    """(PEM, "") from the githubServerTLS ConfigMap, or ("", why not) — the probe then trusts the system CAs."""
    where = f"ConfigMap {namespace}/{tls.configmap}"
    try:
        resp = apis.request(api_client, "GET", apis.CONFIG_MAPS.path(namespace, tls.configmap),
                            timeout=(min(timeout, 5.0), timeout))
    except Exception as exc:  # ApiException, transport errors
        status = _status(exc)
        words = {403: "get configmaps is forbidden", 404: "it does not exist"}.get(status) or (
            apis.status_message(exc)[:120] if status else type(exc).__name__)
        return "", f"the githubServerTLS CA in {where} could not be read: {words}"
    data = apis.read_json(resp).get("data")
    pem = data.get(tls.key) if isinstance(data, dict) else None
    if not isinstance(pem, str) or "BEGIN CERTIFICATE" not in pem:
        return "", f"{where} has no PEM certificate under key {tls.key!r} (githubServerTLS)"
    return pem, ""


def server_tls(api_client, namespace: str, timeout: float = 5.0) -> dict[str, ServerTls]:
    """Scale set name → its githubServerTLS ConfigMap reference, for the scale sets of one namespace that set one
    (the snapshot's slim objects do not keep that field). {} when they cannot be listed."""
    try:
        doc = apis.list_raw(api_client, apis.SCALE_SETS, namespace, timeout=timeout)
    except Exception:  # ApiException, transport errors: no CA then, and the probe says so if TLS fails
        return {}
    out = {}
    for item in doc.get("items") or ():
        if not isinstance(item, dict):
            continue
        spec = item.get("spec") if isinstance(item.get("spec"), dict) else {}
        tls = spec.get("githubServerTLS") if isinstance(spec.get("githubServerTLS"), dict) else {}
        source = tls.get("certificateFrom") if isinstance(tls.get("certificateFrom"), dict) else {}
        ref = source.get("configMapKeyRef") if isinstance(source.get("configMapKeyRef"), dict) else {}
        name = (item.get("metadata") or {}).get("name") if isinstance(item.get("metadata"), dict) else None
        if isinstance(name, str) and isinstance(ref.get("name"), str) and ref["name"]:
            out[name] = ServerTls(ref["name"], str(ref.get("key") or CA_KEY_DEFAULT))
    return out


class CredentialProber:
    """Probes the GitHub credentials of a snapshot's scale sets; one per connection, kept across calls (results
    are cached per Secret resourceVersion, HTTP connections reused). Thread-safe."""

    def __init__(self, api_client, *, timeout: float = 5.0, extra_ca: bytes | str | None = None,
                 cache: probes.ProbeCache | None = None, max_workers: int = 4, transport=None,
                 clock: Callable[[], float] = time.time):
        """`timeout`: seconds per GitHub (and Kubernetes) request. `extra_ca`: PEM certificate(s) trusted besides
        the system's and the scale sets' githubServerTLS CA (--github-ca). `transport`: an httpx transport (tests)."""
        self._api = api_client
        self.timeout = float(timeout)
        self.cache = cache if cache is not None else probes.ProbeCache()
        self.max_workers = max(1, int(max_workers))
        self.clock = clock
        self._pool = probes.ClientPool(timeout=self.timeout, extra_ca=(extra_ca,) if extra_ca else (),
                                       transport=transport, clock=clock)
        self._lock = threading.Lock()
        self.last_elapsed = 0.0

    def probe(self, snapshot: Snapshot, *, budget: float | None = None) -> list[probes.ProbeResult]:
        """A result for every credential of the snapshot's scale sets, within `budget` seconds (default: three
        request timeouts); what has not finished by then is not evaluated."""
        started = time.monotonic()
        budget = 3 * self.timeout + 2 if budget is None else float(budget)
        wanted = targets(snapshot)
        results: dict[int, probes.ProbeResult] = {}
        todo: list[tuple[int, ProbeTarget]] = []
        for index, target in enumerate(wanted):
            cached = self.cache.get(probes.cache_key(target.namespace, target.secret, target.resource_version,
                                                     target.config_url))
            if cached is not None:
                results[index] = _for(cached, target)
            else:
                todo.append((index, target))
        if todo:
            tls_cache: dict[str, dict[str, ServerTls]] = {}
            tls_lock = threading.Lock()
            executor = ThreadPoolExecutor(min(self.max_workers, len(todo)), thread_name_prefix="arc-top-probe")
            try:
                futures = {executor.submit(self._one, t, tls_cache, tls_lock): (i, t) for i, t in todo}
                done, _ = wait(futures, timeout=max(0.1, budget - (time.monotonic() - started)),
                               return_when=ALL_COMPLETED)
                for future, (index, target) in futures.items():
                    if future in done and future.exception() is None:
                        results[index] = future.result()
                    else:
                        why = (f"need GitHub: the probe did not finish within {budget:g} s" if future not in done
                               else f"the probe failed ({type(future.exception()).__name__}): please report this")
                        results[index] = probes.not_evaluated(target.namespace, target.secret, target.config_url,
                                                              why, resource_version=target.resource_version,
                                                              scale_sets=target.scale_sets, clock=self.clock)
            finally:
                executor.shutdown(wait=False, cancel_futures=True)
        self.last_elapsed = time.monotonic() - started
        return [results[i] for i in range(len(wanted))]

    def _one(self, target: ProbeTarget, tls_cache: dict, tls_lock: threading.Lock) -> probes.ProbeResult:
        if probes.parse(target.config_url) is None:        # nothing to ask: the Secret is not even read
            creds: Credentials | str = "need a valid githubConfigUrl (see ARC108)"
        else:
            creds = read_credentials(self._api, target.namespace, target.secret, self.timeout)
        if isinstance(creds, str):
            result = probes.not_evaluated(target.namespace, target.secret, target.config_url, creds,
                                          resource_version=target.resource_version, scale_sets=target.scale_sets,
                                          clock=self.clock)
            self.cache.put(probes.cache_key(target.namespace, target.secret, target.resource_version,
                                            target.config_url), result)
            return result
        key = probes.cache_key(target.namespace, target.secret, creds.resource_version, target.config_url)
        cached = self.cache.get(key)
        if cached is not None:
            return _for(cached, target)
        ca_pems, note = self._ca(target, tls_cache, tls_lock)
        result = probes.probe(creds, target.config_url, pool=self._pool, timeout=self.timeout, ca_pems=ca_pems,
                              scale_sets=target.scale_sets, ca_note=note, clock=self.clock)
        self.cache.put(key, result)
        return result

    def _ca(self, target: ProbeTarget, tls_cache: dict, tls_lock: threading.Lock) -> tuple[tuple[str, ...], str]:
        """The githubServerTLS CA of the target's scale sets (the first that names one), and a note when it
        cannot be read."""
        with tls_lock:
            refs = tls_cache.get(target.namespace)
            if refs is None:
                refs = tls_cache[target.namespace] = server_tls(self._api, target.namespace, self.timeout)
        for key in target.scale_sets:
            ref = refs.get(key.split("/", 1)[1])
            if ref is not None:
                pem, note = read_ca(self._api, target.namespace, ref, self.timeout)
                return ((pem,) if pem else ()), note
        return (), ""

    def close(self) -> None:
        self._pool.close()


def _for(result: probes.ProbeResult, target: ProbeTarget) -> probes.ProbeResult:
    """A cached result for the scale sets that use it now."""
    if result.scale_sets == target.scale_sets:
        return result
    return dataclasses.replace(result, scale_sets=target.scale_sets)


def probe_snapshot(api_client, snapshot: Snapshot, *, timeout: float = 5.0, extra_ca: bytes | str | None = None,
                   budget: float | None = None) -> tuple[list[probes.ProbeResult], float]:
    """One-shot: (results, seconds taken), for `arc-top check`."""
    prober = CredentialProber(api_client, timeout=timeout, extra_ca=extra_ca)
    try:
        results = prober.probe(snapshot, budget=budget)
        return results, prober.last_elapsed
    finally:
        prober.close()


__all__ = ["CredentialProber", "ProbeTarget", "ServerTls", "probe_snapshot", "read_ca", "read_credentials",
           "server_tls", "targets"]

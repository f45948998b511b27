"""Kubernetes API semantics over a transport-neutral request: routing, authn/authz, CRUD, patch,
dry-run, Tables, reviews. Streams (watch, log follow) are handed back as generators."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import yaml

from arc_top.sandbox import discovery, errors, openapi, tables
from arc_top.sandbox.cluster import Cluster
from arc_top.sandbox.patch import patch_for_content_type
from arc_top.sandbox.proto_objects import decode_k8s_object
from arc_top.sandbox.rbac import Attributes, UserInfo
from arc_top.sandbox.resources import BY_PATH, REVIEWS, Resource
from arc_top.sandbox.responses import JSON, Response, Stream
from arc_top.sandbox.selectors import parse_field_selector, parse_label_selector
from arc_top.sandbox.ssar_proto import is_protobuf
from arc_top.sandbox.streams import log_stream, watch_stream

ANONYMOUS = UserInfo("system:anonymous", ("system:unauthenticated",))


@dataclass
class Request:
    method: str
    target: str                       # path and query as sent
    headers: dict[str, str]           # lower-cased names
    body: bytes = b""
    path: str = ""
    query: dict[str, str] = field(default_factory=dict)
    raw_query: str = ""
    user: str = ""                    # the authenticated user, once known (the request log's)
    impersonated_user: str = ""
    dry_run: bool = False             # ?dryRun=All, or DeleteOptions.dryRun [All] in a DELETE's body

    def __post_init__(self) -> None:
        parts = urlsplit(self.target)
        self.path = parts.path.rstrip("/") or "/"
        self.raw_query = parts.query
        self.query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.dry_run = self.query.get("dryRun") == "All"

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("true", "1")


def json_response(obj: dict, status: int = 200) -> Response:
    return Response(status, json.dumps(obj, separators=(",", ":")).encode())


def error_response(err: errors.ApiError) -> Response:
    return json_response(err.status(), err.code)


@dataclass
class Target:
    """A parsed resource URL: /api/v1/namespaces/ns/pods/name/log and friends."""
    res: Resource
    namespace: str | None
    name: str | None
    sub: str


def parse_resource_path(path: str) -> Target | None:
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces" and (group, version, rest[2]) in BY_PATH:
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    res = BY_PATH.get((group, version, rest[0]))
    if res is None:
        return None
    if namespace is not None and not res.namespaced:
        return None
    return Target(res, namespace, rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else "")


_POD_PROXY = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/:]+)(?::(\d{1,5}))?/proxy(?:/(.*))?$")


def _verb(req: Request, t: Target) -> str:
    if req.method == "GET":
        if t.name is None:
            return "watch" if req.flag("watch") else "list"
        return "get"
    return {"POST": "create", "PUT": "update", "PATCH": "patch",
            "DELETE": "delete" if t.name else "deletecollection"}.get(req.method, req.method.lower())


def wants_table(req: Request) -> bool:
    return "as=Table" in req.headers.get("accept", "")


class Api:
    def __init__(self, cluster: Cluster, server_address: str = "127.0.0.1"):
        self.cluster = cluster
        self.server_address = server_address
        self._stall_until = 0.0                 # fault injection: monotonic end of a watch stall (inf: until off)
        self._stall_changed = threading.Condition()

    # ---- entry -------------------------------------------------------------------------
    def handle(self, req: Request) -> Response | Stream:
        """Answer one request and record it in the cluster's request log (streams when they start)."""
        status = 500
        try:
            resp = self._handle(req)
            status = resp.status
            return resp
        finally:
            self.cluster.requests.record(req.method, req.path, req.raw_query, req.user, status,
                                         req.impersonated_user, req.dry_run)

    def _handle(self, req: Request) -> Response | Stream:
        try:
            if req.path.startswith("/api/v3") or req.path == "/api/v3":
                return self._github(req)
            user = self._authenticate(req)
            if self.cluster.latency_s:
                time.sleep(self.cluster.latency_s)
            proxy = _POD_PROXY.match(req.path)
            if proxy is not None:
                return self._pod_proxy(req, user, *proxy.groups())
            target = parse_resource_path(req.path)
            if target is None:
                return self._non_resource(req, user)
            return self._resource(req, user, target)
        except errors.ApiError as err:
            return error_response(err)

    def _github(self, req: Request) -> Response:
        gh = self.cluster.github
        if gh is None:
            return json_response({"message": "Not Found"}, 404)
        status, headers, body = gh.handle(req.method, req.target, req.headers, req.body)
        ctype = headers.pop("Content-Type", "application/json; charset=utf-8")
        return Response(status, body, ctype, headers)

    def _authenticate(self, req: Request) -> UserInfo:
        auth = req.headers.get("authorization", "")
        if not auth:
            req.user = ANONYMOUS.name
            return ANONYMOUS
        scheme, _, token = auth.partition(" ")
        user = self.cluster.authenticate(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise errors.ApiError(401, "Unauthorized", "Unauthorized")
        req.user = user.name
        impersonate = req.headers.get("impersonate-user")
        if impersonate:
            allowed, _ = self.cluster.authorizer.authorize(
                user, Attributes(verb="impersonate", resource="users", name=impersonate))
            if not allowed:
                raise errors.forbidden(
                    f'users "{impersonate}" is forbidden: User "{user.name}" cannot impersonate '
                    'resource "users" in API group "" at the cluster scope')
            groups = tuple(g.strip() for g in req.headers.get("impersonate-group", "").split(",") if g.strip())
            user = UserInfo(impersonate, groups + ("system:authenticated",))
            req.impersonated_user = impersonate
        return user

    def _authorize(self, user: UserInfo, attrs: Attributes) -> None:
        allowed, reason = self.cluster.authorizer.authorize(user, attrs)
        if not allowed:
            if user is ANONYMOUS:
                raise errors.ApiError(401, "Unauthorized", "Unauthorized")
            raise errors.forbidden(self.cluster.authorizer.forbidden_message(user, attrs, reason))

    # ---- non-resource URLs -------------------------------------------------------------------
    def _non_resource(self, req: Request, user: UserInfo) -> Response:
        path = req.path
        self._authorize(user, Attributes(verb=req.method.lower() if req.method != "GET" else "get",
                                         path=path, resource_request=False))
        if path.startswith("/sandbox/"):
            return self._fault(req)
        if req.method != "GET":
            raise errors.method_not_allowed("the server does not allow this method on the requested resource")
        if path == "/version":
            return json_response(discovery.VERSION_INFO)
        if path in ("/healthz", "/livez", "/readyz"):
            return Response(200, b"ok", "text/plain; charset=utf-8")
        if path == "/api":
            return json_response(discovery.api_versions(self.server_address))
        if path == "/apis":
            return json_response(discovery.api_group_list(self.cluster.crd_objects()))
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["api"] and len(parts) == 2:
            doc = discovery.resource_list(parts[1])
        elif parts[:1] == ["apis"] and len(parts) == 2:
            doc = discovery.api_group(parts[1], self.cluster.crd_objects())
        elif parts[:1] == ["apis"] and len(parts) == 3:
            doc = discovery.resource_list(f"{parts[1]}/{parts[2]}")
        elif path == "/openapi/v3":
            doc = openapi.openapi_index(self.cluster.crd_objects())
        elif parts[:2] == ["openapi", "v3"]:
            doc = openapi.openapi_document("/".join(parts[2:]), self.cluster.crd_objects())
        else:
            doc = None
        if doc is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        return json_response(doc)

    def _fault(self, req: Request) -> Response:
        """Fault injection for tests and rehearsals (cluster-admin only, by RBAC on the path):
        POST /sandbox/restart?down=SECONDS, /sandbox/compact, /sandbox/latency?ms=N, /sandbox/pause?on=1|0
        (pausing answers once a controller pass in progress has finished), /sandbox/stall?seconds=N|on=1|0
        (every open and new watch stream sends nothing, not even bookmarks, but stays open: a hung API server
        or a dead proxy; for N seconds, or until on=0)."""
        if req.method != "POST":
            raise errors.method_not_allowed("use POST")
        try:
            if req.path == "/sandbox/stall":
                if req.query.get("seconds"):
                    self.stall(float(req.query["seconds"]))
                else:
                    self.stall(float("inf") if req.query.get("on", "1") not in ("0", "false", "") else 0.0)
                remaining = self.stall_remaining()
                return json_response({"stalled": remaining > 0,
                                      "remainingSeconds": None if remaining == float("inf") else round(remaining, 3)})
            if req.path == "/sandbox/restart":
                down = float(req.query.get("down") or 1.0)
                threading.Timer(0.05, self.cluster.restart, (down,)).start()
                return json_response({"restarting": True, "downSeconds": down})
            if req.path == "/sandbox/compact":
                return json_response({"compactedResourceVersion": str(self.cluster.compact())})
            if req.path == "/sandbox/latency":
                self.cluster.latency_s = float(req.query.get("ms") or 0) / 1000.0
                return json_response({"latencyMs": self.cluster.latency_s * 1000})
            if req.path == "/sandbox/pause":
                if req.query.get("on", "1") not in ("0", "false", ""):
                    self.cluster.pause(timeout=30)
                else:
                    self.cluster.resume()
                return json_response({"paused": self.cluster.paused})
        except ValueError:
            raise errors.bad_request("parameters must be numbers") from None
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")

    def stall(self, seconds: float) -> None:
        """Stall every watch stream for `seconds` from now (inf: until `stall(0)`; 0 or less: end a stall)."""
        with self._stall_changed:
            self._stall_until = time.monotonic() + seconds if seconds > 0 else 0.0
            self._stall_changed.notify_all()

    def stall_remaining(self) -> float:
        return max(0.0, self._stall_until - time.monotonic())

    def _hold_while_stalled(self) -> None:
        with self._stall_changed:
            while not self.cluster.stopping.is_set():
                remaining = self._stall_until - time.monotonic()
                if remaining <= 0:
                    return
                self._stall_changed.wait(min(remaining, 0.5))

    def _stallable(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """A watch stream that the stall fault can hold: nothing goes out while it is on (a chunk made meanwhile
        waits too), the connection stays open, and what happened meanwhile follows once it ends (the store
        queues it for the watcher, or ends the stream with an error if too much piled up)."""
        try:
            while not self.cluster.stopping.is_set():
                self._hold_while_stalled()
                chunk = next(chunks, None)
                if chunk is None:
                    return
                self._hold_while_stalled()
                yield chunk
        finally:
            chunks.close()

    # ---- resources -------------------------------------------------------------------------
    def _resource(self, req: Request, user: UserInfo, t: Target) -> Response | Stream:
        verb = _verb(req, t)
        res = t.res
        if res.plural in REVIEWS:
            if req.method != "POST":
                raise errors.method_not_allowed("the server does not allow this method on the requested resource")
            self._authorize(user, Attributes(verb="create", resource=res.plural, api_group=res.group))
            return self._review(req, user, res)
        if t.sub == "log" and res.key == "pods":
            self._authorize(user, Attributes(verb="get", resource="pods", subresource="log",
                                             namespace=t.namespace or "", name=t.name or ""))
            return self._log(req, t)
        if t.sub and t.sub not in res.subresources:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        self._authorize(user, Attributes(verb=verb, resource=res.plural, api_group=res.group,
                                         subresource=t.sub, namespace=t.namespace or "", name=t.name or ""))
        if verb == "list":
            return self._list(req, t)
        if verb == "watch":
            return self._watch(req, t)
        if verb == "get":
            obj = self.cluster.store.require(res, t.namespace, t.name)
            if wants_table(req):
                return json_response(self._table(req, res, [obj], obj["metadata"]["resourceVersion"]))
            return Response(200, self.cluster.store.encoded(obj))
        dry_run = req.query.get("dryRun") == "All"
        if verb == "create":
            return self._create(req, t, dry_run)
        if verb == "update":
            body = self._body(req)
            self._check_identity(body, t)
            return json_response(self.cluster.update(res, body, dry_run=dry_run, subresource=t.sub))
        if verb == "patch":
            return self._patch(req, t, dry_run)
        if verb == "delete":
            return self._delete(req, t)
        if verb == "deletecollection":
            return self._delete_collection(req, t)
        raise errors.method_not_allowed("the server does not allow this method on the requested resource")

    def _body(self, req: Request) -> dict:
        ctype = req.headers.get("content-type", JSON).split(";")[0].strip()
        if is_protobuf(ctype):
            return decode_k8s_object(req.body)
        try:
            if ctype in ("application/yaml", "application/apply-patch+yaml"):
                body = yaml.safe_load(req.body.decode() or "{}")
            else:
                body = json.loads(req.body or b"{}")
        except (ValueError, yaml.YAMLError) as exc:
            raise errors.bad_request(f"error decoding request body: {str(exc)[:200]}") from None
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request is not a JSON object")
        return body

    def _check_identity(self, body: dict, t: Target) -> None:
        meta = body.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if t.name and meta.get("name") not in (None, t.name):
            raise errors.bad_request("the name of the object does not match the name on the URL")
        meta.setdefault("name", t.name)
        if t.res.namespaced:
            if meta.get("namespace") not in (None, "", t.namespace):
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = t.namespace

    def _matcher(self, req: Request, res: Resource):
        label = req.query.get("labelSelector", "")
        fields = req.query.get("fieldSelector", "")
        lsel = parse_label_selector(label) if label else None
        fsel = parse_field_selector(fields, res) if fields else None
        if lsel is None and fsel is None:
            return None
        return lambda o: ((lsel is None or lsel.matches(o["metadata"].get("labels")))
                          and (fsel is None or fsel.matches(o)))

    def _table(self, req: Request, res: Resource, objs: list[dict], rv: str, cont: str | None = None,
               with_headers: bool = True) -> dict:
        crd = self.cluster.crd_for(res) if res.custom else None
        return tables.table(res, objs, rv, include_object=req.query.get("includeObject", "Metadata"),
                            crd=crd, with_headers=with_headers, continue_token=cont)

    def _list(self, req: Request, t: Target) -> Response:
        res, store = t.res, self.cluster.store
        try:
            limit = int(req.query.get("limit") or 0) or None
        except ValueError:
            raise errors.bad_request("limit must be an integer") from None
        items, rv, cont, remaining = store.list_page(res.key, t.namespace, self._matcher(req, res), limit,
                                                    req.query.get("continue") or None)
        if wants_table(req):
            return json_response(self._table(req, res, items, str(rv), cont))
        meta = {"resourceVersion": str(rv)}
        if cont:
            meta["continue"] = cont
            if remaining is not None:
                meta["remainingItemCount"] = remaining
        head = json.dumps({"kind": res.list_kind, "apiVersion": res.api_version, "metadata": meta},
                          separators=(",", ":")).encode()
        body = head[:-1] + b',"items":[' + b",".join(store.encoded(o) for o in items) + b"]}"
        return Response(200, body)

    def _watch(self, req: Request, t: Target) -> Stream:
        match = self._matcher(req, t.res) or (lambda o: True)
        try:
            timeout = float(req.query.get("timeoutSeconds") or 0) or None
        except ValueError:
            raise errors.bad_request("timeoutSeconds must be a number") from None
        table = None
        if wants_table(req):
            def table(obj: dict, first: bool) -> dict:
                return self._table(req, t.res, [obj], obj["metadata"].get("resourceVersion", ""),
                                   with_headers=first)
        return Stream(200, self._stallable(watch_stream(self.cluster, t.res, t.namespace, match,
                                                        req.query.get("resourceVersion"), timeout,
                                                        req.flag("allowWatchBookmarks"), table)))

    def _create(self, req: Request, t: Target, dry_run: bool) -> Response:
        if t.name is not None:
            raise errors.method_not_allowed("the server does not allow this method on the requested resource")
        body = self._body(req)
        self._check_identity(body, t)
        if body.get("metadata", {}).get("name") is None:
            body["metadata"].pop("name", None)
        obj = self.cluster.create(t.res, body, dry_run=dry_run)
        return json_response(obj, 201)

    def _patch(self, req: Request, t: Target, dry_run: bool) -> Response:
        res, store = t.res, self.cluster.store
        old = store.require(res, t.namespace, t.name)
        ctype = req.headers.get("content-type", "")
        patched = patch_for_content_type(ctype, old, req.body, res.custom, f"{res.group_version}, Kind={res.kind}")
        if not isinstance(patched, dict):
            raise errors.bad_request("the patched object is not a JSON object")
        meta = patched.setdefault("metadata", {})
        if not isinstance(meta, dict) or meta.get("name") != t.name:
            raise errors.bad_request("the name of the object cannot be changed by a patch")
        # A resourceVersion inside the patch is a precondition (kubectl --resource-version).
        if meta.get("resourceVersion") in (None, ""):
            meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        out = self.cluster.update(res, patched, dry_run=dry_run, subresource=t.sub)
        return json_response(out)

    def _delete_options(self, req: Request) -> dict:
        if not req.body:
            return {}
        try:
            opts = json.loads(req.body)
        except ValueError:
            raise errors.bad_request("error decoding DeleteOptions") from None
        return opts if isinstance(opts, dict) else {}

    def _delete(self, req: Request, t: Target) -> Response:
        opts = self._delete_options(req)
        dry_run = req.dry_run = req.query.get("dryRun") == "All" or "All" in (opts.get("dryRun") or [])
        uid, rv = _preconditions(opts)
        return json_response(self.cluster.delete(t.res, t.namespace, t.name, dry_run=dry_run,
                                                 precondition_uid=uid, precondition_rv=rv))

    def _delete_collection(self, req: Request, t: Target) -> Response:
        opts = self._delete_options(req)
        dry_run = req.dry_run = req.query.get("dryRun") == "All" or "All" in (opts.get("dryRun") or [])
        items = self.cluster.store.list(t.res.key, t.namespace, self._matcher(req, t.res))
        for obj in items:
            meta = obj["metadata"]
            self.cluster.delete(t.res, meta.get("namespace"), meta["name"], dry_run=dry_run)
        return json_response({"kind": t.res.list_kind, "apiVersion": t.res.api_version,
                              "metadata": {"resourceVersion": str(self.cluster.store.resource_version)},
                              "items": items})

    # ---- logs and reviews -------------------------------------------------------------------------
    def _log(self, req: Request, t: Target) -> Response | Stream:
        return log_stream(self.cluster, t.namespace or "", t.name or "", req.query)

    def _pod_proxy(self, req: Request, user: UserInfo, namespace: str, name: str, port: str | None,
                   path: str | None) -> Response:
        """GET …/pods/NAME[:PORT]/proxy[/PATH]: RBAC `get pods/proxy`, then what the pod serves on that port
        (`Cluster.pod_servers`, registered by the simulated programs); nothing listening → 503 as a real API
        server answers when it cannot dial the pod."""
        verb = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete"}.get(req.method, req.method.lower())
        self._authorize(user, Attributes(verb=verb, resource="pods", subresource="proxy", namespace=namespace,
                                         name=name))
        pod = self.cluster.store.get("pods", namespace, name)
        if pod is None:
            raise errors.not_found("pods", "", name)
        if req.method != "GET":
            raise errors.method_not_allowed("the sandbox proxies GET requests only")
        number = int(port) if port else 80
        server = self.cluster.pod_servers.get((namespace, name, pod["metadata"].get("uid", ""), number))
        ip = (pod.get("status") or {}).get("podIP") or "10.244.0.1"
        if server is None:
            raise errors.ApiError(503, "ServiceUnavailable", f"error trying to reach service: dial tcp {ip}:{number}: "
                                  "connect: connection refused")
        status, content_type, body = server("/" + (path or ""))
        return Response(status, body, content_type)

    def _review(self, req: Request, user: UserInfo, res: Resource) -> Response:
        review = self._body(req)
        spec = review.get("spec") if isinstance(review.get("spec"), dict) else {}
        authz = self.cluster.authorizer
        if res.plural == "selfsubjectrulesreviews":
            rrules, nrules = authz.rules_for(user, spec.get("namespace", ""))
            status = {"resourceRules": rrules, "nonResourceRules": nrules, "incomplete": False}
        else:
            subject = user
            if res.plural == "subjectaccessreviews":
                subject = UserInfo(str(spec.get("user", "")), tuple(spec.get("groups") or ()))
            ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
            if isinstance(ra, dict):
                attrs = Attributes(verb=ra.get("verb", ""), resource=ra.get("resource", ""),
                                   api_group=ra.get("group", ""), subresource=ra.get("subresource", ""),
                                   namespace=ra.get("namespace", ""), name=ra.get("name", ""))
            elif isinstance(nra, dict):
                attrs = Attributes(verb=nra.get("verb", ""), path=nra.get("path", ""), resource_request=False)
            else:
                raise errors.invalid(res.kind, res.group, "", [
                    ("spec.resourceAttributes", ("Invalid value: null: exactly one of nonResourceAttributes "
                                                  "or resourceAttributes must be specified"))])
            allowed, reason = authz.authorize(subject, attrs)
            status = {"allowed": allowed}
            if reason:
                status["reason"] = reason
        out = {"kind": res.kind, "apiVersion": res.api_version, "metadata": {"creationTimestamp": None},
               "spec": spec, "status": status}
        return json_response(out, 201)


def _preconditions(opts: dict) -> tuple[str | None, str | None]:
    """DeleteOptions.preconditions: (uid, resourceVersion), None where not given. A given empty string is a
    precondition too (it never matches), as the API server's *string fields make it."""
    pre = opts.get("preconditions")
    if pre is None:
        return None, None
    if not isinstance(pre, dict):
        raise errors.bad_request("json: cannot unmarshal into Go struct field DeleteOptions.preconditions of "
                                 "type v1.Preconditions")
    out = []
    for key in ("uid", "resourceVersion"):
        value = pre.get(key)
        if value is not None and not isinstance(value, str):
            raise errors.bad_request(f"json: cannot unmarshal {_go_json_type(value)} into Go struct field "
                                     f"Preconditions.preconditions.{key} of type string")
        out.append(value)
    return out[0], out[1]


def _go_json_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array"}.get(type(value), "string")

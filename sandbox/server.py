"""HTTPS transport for the sandbox API: HTTP/1.1 keep-alive, chunked streams, TLS per connection
(handshakes happen on the connection's own thread, never on the accept loop)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from arc_top.sandbox.api import Api, Request
from arc_top.sandbox.cluster import Cluster
from arc_top.sandbox.responses import Response, Stream
from arc_top.sandbox.tls import Certificates, make_certificates

_QUIET_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, ssl.SSLError, TimeoutError,
                 OSError)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "arc-top-sandbox"
    sys_version = ""
    server: _HTTPSServer

    def log_message(self, format: str, *args) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        groups = self.headers.get_all("Impersonate-Group") or []
        if groups:
            headers["impersonate-group"] = ",".join(groups)
        req = Request(self.command, self.path, headers, self._read_body())
        resp = self.server.api.handle(req)
        if isinstance(resp, Stream):
            self._stream(resp)
        else:
            self._reply(resp)

    def _common_headers(self, content_type: str) -> None:
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache, private")

    def _reply(self, resp: Response) -> None:
        if "Date" in resp.headers:          # the fake GitHub's own clock (clock skew): the only Date sent
            self.log_request(resp.status)
            self.send_response_only(resp.status)
        else:
            self.send_response(resp.status)     # adds Server and Date
        self._common_headers(resp.content_type)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    def _stream(self, resp: Stream) -> None:
        self.send_response(resp.status)
        self._common_headers(resp.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        try:
            for chunk in resp.chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except _QUIET_ERRORS:
            self.close_connection = True
        finally:
            resp.chunks.close()

    def handle(self) -> None:
        try:
            super().handle()
        except _QUIET_ERRORS:
            pass


class _HTTPSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], api: Api, context: ssl.SSLContext, verbose: bool = False):
        self.api = api
        self.context = context
        self.verbose = verbose
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.down_until = 0.0
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address) -> None:
        if time.monotonic() < self.down_until:
            request.close()          # "restarting": the connection is dropped at once
            return
        try:
            # As the Go API server does: headers and body go out as separate writes, and with Nagle's algorithm the
            # second waits for the client's delayed ACK — a 40 ms stall on every small answer.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            request.settimeout(30)
            tls = self.context.wrap_socket(request, server_side=True)
            tls.settimeout(None)
        except _QUIET_ERRORS:
            request.close()
            return
        with self.lock:
            self.connections.add(tls)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            with self.lock:
                self.connections.discard(tls)

    def handle_error(self, request, client_address) -> None:
        if self.verbose:
            super().handle_error(request, client_address)

    def drop_connections(self, down_seconds: float) -> None:
        self.down_until = time.monotonic() + down_seconds
        with self.lock:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class SandboxServer:
    """The API server of one sandbox cluster, on 127.0.0.1 (port 0 = a free port)."""

    def __init__(self, cluster: Cluster, host: str = "127.0.0.1", port: int = 0,
                 certificates: Certificates | None = None, verbose: bool = False):
        self.cluster = cluster
        self.certificates = certificates or make_certificates((host, "localhost"))
        self.api = Api(cluster)
        self.httpd = _HTTPSServer((host, port), self.api, self.certificates.server_context(), verbose)
        self.host, self.port = self.httpd.server_address[:2]
        self.api.server_address = f"{self.host}:{self.port}"
        cluster.base_url = self.url
        cluster.ca_pem = self.certificates.ca_pem
        cluster.restart_hooks.append(self.httpd.drop_connections)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="sandbox-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.cluster.stopping.set()
        self.httpd.shutdown()
        self.httpd.drop_connections(0)
        self.httpd.server_close()

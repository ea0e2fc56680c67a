"""The HTTP side: one thread per connection (keep-alive), requests routed to `routes`, the
websocket upgrade at /app/{appId} handed to `engine_rpc`.

The stdlib server is enough here: loopback only, a handful of clients, and every request ends
in a short SQLite transaction. Bodies come with Content-Length or chunked (Go's client streams
uploads chunked).
"""

from __future__ import annotations

import http.server
import json
import os
import re
import tempfile
import threading
import urllib.parse

from qliksim.errors import REASONS, EngineError, HttpError, SimError, UsageError
from qliksim.server import model_call, routes, tus  # noqa: F401  (tus registers its routes)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_ENGINE_PATH = re.compile(r"^/app/([^/?]+)/?$")


class SimServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, state: str, port: int) -> None:
        # Loopback only, whatever the caller asks: the world's tokens are not secrets worth a network.
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"
        self.scratch = tempfile.TemporaryDirectory(prefix="qlik-sim-serve-")
        self.lock = threading.Lock()
        self.uploads: dict[str, str] = {}  # temp-content id -> file path
        self.tus_uploads: dict[str, Any] = {}  # resumable upload id -> tus.Upload (in progress or done)
        self.exports: dict[str, bytes] = {}  # QRS export token -> QVF bytes
        self.rpc_log = bool(os.environ.get("QLIK_SIM_RPC_LOG"))  # log every engine method (evidence)

    def server_close(self) -> None:
        super().server_close()
        self.scratch.cleanup()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SimServer

    def log_message(self, format: str, *args: Any) -> None:  # the call log records every request
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if self.command == "GET" and self.headers.get("Upgrade", "").lower() == "websocket" and _ENGINE_PATH.match(url.path):
            from qliksim.server import engine_rpc

            self.close_connection = True
            engine_rpc.serve(self, urllib.parse.unquote(_ENGINE_PATH.match(url.path).group(1)))  # type: ignore[union-attr]
            return
        body = self._body()
        req = routes.Request(self.server, self.command, url.path, urllib.parse.parse_qs(url.query, keep_blank_values=True), self.headers, body)
        try:
            response = routes.dispatch(req)
        except SimError as exc:
            response = error_response(exc)
        self._send(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def _send(self, response: routes.Response) -> None:
        self.send_response(response.status, REASONS.get(response.status))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)


def error_response(exc: SimError) -> routes.Response:
    """A simulator failure as the API's answer: status, Qlik's error body, Retry-After on a 429."""
    if isinstance(exc, HttpError):
        if exc.html:
            page = f"<html><head><title>{exc.status}</title></head><body>{exc.title}</body></html>\n".encode()
            return routes.Response(exc.status, page, "text/html")
        headers = {}
        if exc.status == 429:
            wait = model_call.retry_after(exc.detail)
            if wait is not None:
                headers["Retry-After"] = str(wait)
        return routes.Response(exc.status, _errors(exc.status, exc.title, exc.detail), headers=headers)
    if isinstance(exc, EngineError):
        return routes.Response(403, _errors(403, exc.name, exc.reason or exc.name))
    message = exc.message if isinstance(exc, UsageError) else str(exc)
    return routes.Response(400, _errors(400, "Bad Request", message))


def _errors(status: int, title: str, detail: str) -> bytes:
    error = {"code": f"HTTP-{status}", "title": title, "detail": detail, "status": str(status)}
    return json.dumps({"errors": [error], "traceId": "0000000000000000"}).encode()

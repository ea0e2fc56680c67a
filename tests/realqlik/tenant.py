"""A tiny loopback HTTP server that answers the real qlik-cli with fixed bodies.

Routes: `/api/v1/spaces` (6 spaces, pages of 3 or `?limit=`, with `links.next`), `/api/v1/apps/<id>` where the
id picks the answer: an HTTP error (`bad`, `unauthorized`, `forbidden`, `missing`, `conflict`,
`limited`, `boom`, `unavailable`), an HTML 502 (`html502`), 500 twice then 200 (`flaky`), or the
app. It binds 127.0.0.1 only and shuts itself down after `lifetime` seconds even if nobody stops it.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs
from urllib.parse import urlsplit

ERRORS = {
    "bad": (400, "Bad Request"),
    "unauthorized": (401, "Unauthorized"),
    "forbidden": (403, "Forbidden"),
    "missing": (404, "Not Found"),
    "conflict": (409, "Conflict"),
    "limited": (429, "Too Many Requests"),
    "boom": (500, "Internal Server Error"),
    "unavailable": (503, "Service Unavailable"),
}
PAGE = 3
SPACES = [{"id": f"s{i}", "name": f"Space {i}", "type": "shared", "meta": {"actions": ["create", "read"]}}
          for i in range(6)]
TRACE_ID = "0123456789abcdef"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.server.seen.append(self.path)
        if url.path == "/api/v1/spaces":
            self._spaces(parse_qs(url.query))
        elif url.path.startswith("/api/v1/apps/"):
            self._app(url.path.rsplit("/", 1)[1])
        else:
            self._json(404, {"errors": [{"title": "Not Found", "code": "HTTP-404", "status": "404"}]})

    def _spaces(self, query: dict[str, list[str]]) -> None:
        start = int(query.get("next", ["0"])[0])
        limit = int(query.get("limit", [str(PAGE)])[0])
        end = min(start + limit, len(SPACES))  # the API's page is 3 unless the caller asks for more
        base = f"http://{self.headers.get('Host')}/api/v1/spaces"
        links = {"self": {"href": base}}
        if end < len(SPACES):
            links["next"] = {"href": f"{base}?limit={PAGE}&next={end}"}
        self._json(200, {"data": SPACES[start:end], "links": links})

    def _app(self, app_id: str) -> None:
        if app_id in ERRORS:
            status, title = ERRORS[app_id]
            error = {"title": title, "code": f"HTTP-{status}", "detail": f"detail for {app_id}", "status": str(status)}
            self._json(status, {"errors": [error], "traceId": TRACE_ID})
        elif app_id == "html502":
            self._send(502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>")
        elif app_id == "flaky" and self.server.flaky_failures < 2:
            self.server.flaky_failures += 1
            self._json(500, {"errors": [{"title": "Internal Server Error", "code": "HTTP-500"}]})
        else:
            self._json(200, {"attributes": {"id": app_id, "name": f"App {app_id}", "ownerId": "u1", "spaceId": "s1"},
                             "privileges": ["read"]})

    def _json(self, status: int, body: object) -> None:
        self._send(status, "application/json", json.dumps(body).encode())

    def _send(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    seen: list[str]
    flaky_failures: int


class FakeTenant:
    """`with FakeTenant() as t:` serves on t.url until the block ends (or `lifetime` runs out)."""

    def __init__(self, lifetime: float = 300.0) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.seen = []
        self.server.flaky_failures = 0
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    @property
    def seen(self) -> list[str]:
        return self.server.seen

    def reset(self) -> None:
        self.server.flaky_failures = 0

    def __enter__(self) -> FakeTenant:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._timer.cancel()
        self.server.shutdown()
        self.server.server_close()

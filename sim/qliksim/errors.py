"""The failures a simulated `qlik` call can end with, and how each is printed.

Every failure exits 1 (qlik-cli's only failure code, reference §7.1); what differs is the text:
client-side errors are one `Error:` line, HTTP errors add the API error body, engine errors carry
the engine's numeric code.
"""

from __future__ import annotations

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class SimError(Exception):
    """Base: render() gives (stdout, stderr) bytes."""

    fault: str | None = None  # set when the failure was injected by a fault knob

    def render(self, json_mode: bool, trace_id: str) -> tuple[bytes, bytes]:
        raise NotImplementedError


class UsageError(SimError):
    """Client-side failures (argv, context, local files): a single `Error:` line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def render(self, json_mode: bool, trace_id: str) -> tuple[bytes, bytes]:
        return b"", f"Error: {self.message}\n".encode()


class HttpError(SimError):
    """An HTTP error from the API: `Error: <status> <reason>` then the API error body.

    `html` replaces the JSON body: a QSEoW proxy answers unknown /api/v1 paths with a web page.
    """

    def __init__(self, status: int, detail: str, title: str | None = None, html: bool = False) -> None:
        super().__init__(f"{status} {detail}")
        self.status = status
        self.detail = detail
        self.title = title or REASONS.get(status, "Error")
        self.html = html

    def render(self, json_mode: bool, trace_id: str) -> tuple[bytes, bytes]:
        from qliksim.output import dumps, dumps_compact

        head = f"Error: {self.status} {REASONS.get(self.status, 'Error')}\n".encode()
        if self.html:
            body = f"<html><head><title>{self.status}</title></head><body>{self.title}</body></html>\n".encode()
        else:
            error = {"code": f"HTTP-{self.status}", "title": self.title, "detail": self.detail, "status": str(self.status)}
            body = dumps_compact({"errors": [error], "traceId": trace_id}) + b"\n"
        out = dumps({"status": self.status, "title": self.title, "detail": self.detail}) if json_mode else b""
        return out, head + body


class EngineError(SimError):
    """A QIX engine error: `Error: 5 GENERIC ACCESS DENIED` (+ a short reason)."""

    ACCESS_DENIED = (5, "GENERIC ACCESS DENIED")
    NOT_FOUND = (9003, "PERSISTENCE NOT FOUND")

    def __init__(self, kind: tuple[int, str], reason: str = "") -> None:
        super().__init__(f"{kind[0]} {kind[1]}")
        self.code, self.name = kind
        self.reason = reason

    def render(self, json_mode: bool, trace_id: str) -> tuple[bytes, bytes]:
        tail = f": {self.reason}" if self.reason else ""
        return b"", f"Error: {self.code} {self.name}{tail}\n".encode()


def bad_request(detail: str) -> HttpError:
    return HttpError(400, detail)


def not_found(detail: str) -> HttpError:
    return HttpError(404, detail)


def forbidden(detail: str) -> HttpError:
    return HttpError(403, detail)

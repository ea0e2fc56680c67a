"""The failures a simulated `qlik` call can end with, and how each is printed.

Every failure exits 1 (qlik-cli's only failure code, reference §7.1); what differs is the text.
As the real qlik-cli 1.4.0 prints it (fixtures/qlik/real-1.4.0/): HTTP errors put nothing on stdout
and, on stderr, the status line (`403 Forbidden`; under `--json` `{"": "403 Forbidden"}` and a blank
line) then the API's error body as it came; usage errors are `Error: X`, the usage text and X again.
Engine errors (`Error: 5 GENERIC ACCESS DENIED`) follow public scripts (CODE), not a recording; the
`engine_wording` knob prints them as corectl did or in sentences nobody has recorded.
"""

from __future__ import annotations

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}


class SimError(Exception):
    """Base: render() gives (stdout, stderr) bytes."""

    fault: str | None = None  # set when the failure was injected by a fault knob

    def render(self, json_mode: bool, trace_id: str) -> tuple[bytes, bytes]:
        raise NotImplementedError


class UsageError(SimError):
    """Client-side failures (argv, context, local files): an `Error:` line; argv errors add the
    command's usage and repeat the message on the last line, as cobra does."""

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage

    def render(self, json_mode: bool, trace_id: str) -> tuple[bytes, bytes]:
        if self.usage:
            return b"", f"Error: {self.message}\n{self.usage}\n{self.message}\n".encode()
        return b"", f"Error: {self.message}\n".encode()


class NoServer(SimError):
    """A REST call through a context that does not exist: qlik-cli has no server URL (REAL, 1.4.0,
    under --json; the text-mode line is INFERRED)."""

    def render(self, json_mode: bool, trace_id: str) -> tuple[bytes, bytes]:
        from qliksim.output import dumps

        if json_mode:
            return b"", dumps({"error": "server URL not specified\n"}) + b"\n"
        return b"", b"Error: server URL not specified\n"


def status_line(status: int, json_mode: bool) -> bytes:
    """`403 Forbidden`, or under --json `{"": "403 Forbidden"}` and a blank line (REAL, 1.4.0)."""
    line = f"{status} {REASONS.get(status, 'Error')}"
    if json_mode:
        from qliksim.output import dumps

        return dumps({"": line}) + b"\n"
    return line.encode() + b"\n"


class HttpError(SimError):
    """An HTTP error from the API: the status line, then the API error body, all on stderr.

    `html` replaces the JSON body: a QSEoW proxy answers unknown /api/v1 paths with a web page.
    """

    def __init__(self, status: int, detail: str, title: str | None = None, html: bool = False) -> None:
        super().__init__(f"{status} {detail}")
        self.status = status
        self.detail = detail
        self.title = title or REASONS.get(status, "Error")
        self.html = html

    def render(self, json_mode: bool, trace_id: str) -> tuple[bytes, bytes]:
        from qliksim.output import dumps

        if self.html:
            body = f"<html><head><title>{self.status}</title></head><body>{self.title}</body></html>\n".encode()
        else:
            error = {"title": self.title, "code": f"HTTP-{self.status}", "detail": self.detail, "status": str(self.status)}
            body = dumps({"errors": [error], "traceId": trace_id})
        return b"", status_line(self.status, json_mode) + body


class EngineError(SimError):
    """A QIX engine error, printed in the wording the world's `engine_wording` knob picks:

    - `coded` (default): `Error: 5 GENERIC ACCESS DENIED` (+ `: reason`), as public scripts show (CODE);
    - `corectl`: as corectl, qlik-cli's ancestor, printed (facts from its source, never recorded from
      a 2.x/3.x qlik): an object the engine answers empty for is `no object by ID 'x'` with no code
      at all, and other engine errors sit in a sentence of its own with enigma-go's
      `param: message (5 GENERIC ACCESS DENIED)` at the end;
    - `novel`: sentences nobody has recorded, with no code: what a tool must survive when the
      wording changes again.
    """

    ACCESS_DENIED = (5, "GENERIC ACCESS DENIED")
    NOT_FOUND = (9003, "PERSISTENCE NOT FOUND")
    WORDINGS = ("coded", "corectl", "novel")

    def __init__(self, kind: tuple[int, str], reason: str = "", *, object_id: str = "", wording: str = "coded") -> None:
        super().__init__(f"{kind[0]} {kind[1]}")
        self.code, self.name = kind
        self.reason = reason
        self.object_id = object_id
        self.wording = wording

    def render(self, json_mode: bool, trace_id: str) -> tuple[bytes, bytes]:
        return b"", f"Error: {self.sentence()}\n".encode()

    def sentence(self) -> str:
        oid = self.object_id or "?"
        if self.wording == "corectl":
            if (self.code, self.name) == self.NOT_FOUND:
                return f"no object by ID '{oid}'"
            param = self.reason or oid
            return f"could not act on object '{oid}': {param}: Access denied ({self.code} {self.name})"
        if self.wording == "novel":
            if (self.code, self.name) == self.NOT_FOUND:
                return f"the app holds nothing called '{oid}' that this session may open"
            tail = f" ({self.reason})" if self.reason else ""
            return f"the engine turned the request for '{oid}' away{tail}"
        tail = f": {self.reason}" if self.reason else ""
        return f"{self.code} {self.name}{tail}"


def bad_request(detail: str) -> HttpError:
    return HttpError(400, detail)


def not_found(detail: str) -> HttpError:
    return HttpError(404, detail)


def forbidden(detail: str) -> HttpError:
    return HttpError(403, detail)


class ClientRefusal(SimError):
    """qlik-cli itself refuses after reading the engine (e.g. publishing a published object): a
    notice line, then the error (REAL, 1.4.0; under --json both as JSON objects)."""

    def __init__(self, message: str, notice: str) -> None:
        super().__init__(message)
        self.message, self.notice = message, notice

    def render(self, json_mode: bool, trace_id: str) -> tuple[bytes, bytes]:
        if not json_mode:
            return b"", f"{self.notice}\nError: {self.message}\n".encode()
        from qliksim.output import progress

        return b"", progress(True, self.notice) + progress(True, self.message, key="error")

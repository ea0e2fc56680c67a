"""Read what a failed `qlik` call printed and say what kind of failure it was.

qlik-cli has no exit-code mapping (every failure is exit 1), so the kind comes from the text. What
the real binary prints (1.4.0, fixtures/qlik/real-1.4.0/): nothing on stdout; on stderr the HTTP
status line (`403 Forbidden`, or under `--json` `{"": "403 Forbidden"}` and a blank line) and then
the API's error body as it came (JSON `{"errors": [{code, title, detail, status}]}` or an HTML page);
with `--retry` every attempt's status, body and `Retry N/M` line, the last status being the outcome.
Documented variants of later versions are read too: `Error: 403 ...` lines, and a `--json` error
object `{"status": N, "title": ...}` on stdout (2.15.0, stream INFERRED).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

from qlikcli_py.redact import redact_text
from qlikcli_py.vocabulary import FailureKind


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    status: int | None
    detail: str
    retry_after: float | None = None


_THREE_DIGITS = re.compile(r"[1-5][0-9]{2}")
_STATUS_LINE = re.compile(r"Error:\s*(?:[A-Za-z ]*?\bstatus\s*)?(\d{3})\b")
# `403 Forbidden` alone on a line (text mode), or the same inside `{"": "..."}` (--json)
_BARE_STATUS = re.compile(r"^([1-5][0-9]{2})(?: [A-Za-z][A-Za-z '-]*)?$")
_NOISE = re.compile(r"^(?:Retry \d+/\d+|[1-3][0-9]{2}(?: [A-Za-z][A-Za-z '-]*)?)$")
_HTML_TITLE = re.compile(r"(?is)<(title|h1)[^>]*>(.*?)</\1>")
_WAIT = re.compile(r"(?i)wait\s+(\d+(?:\.\d+)?)\s*seconds?")
_RETRY_AFTER = re.compile(r"(?i)retry-after:\s*(\d+(?:\.\d+)?)")
_ENGINE = re.compile(r"\b(\d{1,5})\s+([A-Z][A-Z_ ]{3,}[A-Z])\b")
_ENGINE_KIND = {5: FailureKind.FORBIDDEN, 9003: FailureKind.NOT_FOUND, 2: FailureKind.NOT_FOUND,
                1015: FailureKind.ENGINE_LIMIT}
_STATUS_KIND = {
    400: FailureKind.BAD_REQUEST,
    401: FailureKind.UNAUTHORIZED,
    403: FailureKind.FORBIDDEN,
    404: FailureKind.NOT_FOUND,
    409: FailureKind.CONFLICT,
    429: FailureKind.RATE_LIMITED,
}
_TEXT_KINDS = (
    (re.compile(r"(?i)context \S+ (does not exist|not found)|no current context|no context with name"
                r"|server URL not specified"), FailureKind.CONTEXT),
    (re.compile(r"(?i)unknown (flag|command|shorthand flag)|required flag\(s\)|accepts (at most )?\d+ arg\(s\)"
                r"|requires at least \d+ arg\(s\)|flag needs an argument|invalid argument"), FailureKind.USAGE),
    (re.compile(r"(?i)no space left on device|disk quota exceeded"), FailureKind.DISK_FULL),
    # qlik-cli's own words when the engine answers GetObject with a null handle (REAL 1.4.0; corectl,
    # its ancestor, printed the same): a refinement only, decisions rest on what the identity can list
    (re.compile(r"(?i)\bno object by ID\b"), FailureKind.NOT_FOUND),
    (re.compile(r"(?i)could not connect to engine|session closed|websocket"), FailureKind.ENGINE_CONNECT),
    (re.compile(r"(?i)connection (refused|reset)|no such host|i/o timeout|EOF\b|tls handshake|dial tcp"
                r"|context deadline exceeded|Client\.Timeout"), FailureKind.NETWORK),
    (re.compile(r"(?i)x509|certificate"), FailureKind.CERTIFICATE),
)


def classify(stdout: bytes, stderr: bytes) -> Failure:
    status: int | None = None
    title = ""
    text = redact_text(stderr.decode("utf-8", "replace"))
    # The `Error: <status>` line is the outcome qlik reports, and the detail shown is that line: the
    # kind is read from the same status, so a "404 Not Found" is never called forbidden because a
    # body elsewhere said 403. A status in a stdout error object counts when stderr names none.
    m = _STATUS_LINE.search(text)
    if m:
        status = int(m.group(1))
    body = _json_object(stdout)
    if body is not None:
        raw = body.get("status")
        if status is not None:
            pass
        elif isinstance(raw, int) and not isinstance(raw, bool) and 100 <= raw <= 599:
            status = raw
        elif isinstance(raw, str) and _THREE_DIGITS.fullmatch(raw):
            status = int(raw)
        title = redact_text(str(body.get("detail") or body.get("title") or ""))
    printed = _read_stderr(text)
    if status is None:
        status = printed.status or printed.body_status
    first = (_first_error_line(text) or title or printed.message
             or "qlik failed without a message")
    retry_after = _retry_after(text, stdout)
    if status is not None:
        kind = _STATUS_KIND.get(status, FailureKind.SERVER if status >= 500 else FailureKind.CLIENT)
        return Failure(kind, status, first, retry_after if kind == FailureKind.RATE_LIMITED else None)
    m = _ENGINE.search(text)
    if m and int(m.group(1)) in _ENGINE_KIND:
        return Failure(_ENGINE_KIND[int(m.group(1))], None, first)
    for pattern, kind in _TEXT_KINDS:
        if pattern.search(text):
            return Failure(kind, None, first)
    return Failure(FailureKind.OTHER, None, first)


@dataclass
class _Printed:
    """What stderr says beyond `Error:` lines: the last HTTP status line, the API error body."""

    status: int | None = None
    status_line: str = ""
    body_status: int | None = None
    api_message: str = ""  # "<title>: <detail> (<code>)" from errors[0], or an HTML page's title
    message: str = ""  # the best line to show when nothing better is printed


def _read_stderr(text: str) -> _Printed:
    out = _Printed()
    bodies: list[dict[str, Any]] = []
    html = ""
    loose: list[str] = []
    decoder = _decoder()
    i = 0
    while i < len(text):
        line_end = text.find("\n", i)
        line_end = len(text) if line_end < 0 else line_end
        line = text[i:line_end].strip()
        if line.startswith("{"):
            try:
                value, used = decoder.raw_decode(text[text.index("{", i):])
            except ValueError:
                value, used = None, 0
            if isinstance(value, dict):
                _take_json(value, out, bodies)
                i = text.index("{", i) + used
                continue
        if line:
            if _BARE_STATUS.match(line):
                _take_status(line, out)
            elif "<html" in line.lower() or html:
                html += line
            elif not (_NOISE.match(line) or line.startswith(("Warning", "A new version"))):
                loose.append(line)
        i = line_end + 1
    if bodies:
        out.api_message, out.body_status = _api_error(bodies[-1])
    elif html:
        m = _HTML_TITLE.search(html)
        page = f" ({m.group(2).strip()[:100]})" if m else ""
        out.api_message = f"the server answered with an HTML page{page}, not the API"
    lead = out.status_line or (loose[0][:300] if loose else "")
    out.message = f"{lead}: {out.api_message}" if lead and out.api_message else (lead or out.api_message)
    return out


def _take_json(value: dict[str, Any], out: _Printed, bodies: list[dict[str, Any]]) -> None:
    if list(value) == [""]:  # {"": "..."}: a status line, a Retry line, or a body escaped as text
        inner = str(value[""]).strip()
        if _BARE_STATUS.match(inner):
            _take_status(inner, out)
        elif inner.startswith("{"):
            nested = _json_object(inner.encode())
            if nested is not None:
                bodies.append(nested)
        return
    if "errors" in value or "error" in value or "title" in value:
        bodies.append(value)


def _take_status(line: str, out: _Printed) -> None:
    code = int(line[:3])
    # with --retry the last printed status is the outcome: a 200 OK after 500s is a success
    out.status, out.status_line = (code, line) if code >= 400 else (None, "")


def _api_error(body: dict[str, Any]) -> tuple[str, int | None]:
    errors = body.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else body
    if isinstance(first.get("error"), str):
        return first["error"].strip()[:300], None
    title = str(first.get("title") or "").strip()
    detail = str(first.get("detail") or "").strip()
    code = str(first.get("code") or "").strip()
    text = ": ".join(p for p in (title, detail) if p) or code
    if code and code not in text:
        text = f"{text} ({code})"
    raw = first.get("status")
    status = int(raw) if isinstance(raw, (int, str)) and _THREE_DIGITS.fullmatch(str(raw)) else None
    return text[:300], status


def _decoder() -> json.JSONDecoder:
    # the stdlib decoder, for raw_decode: several JSON values and text follow each other on stderr
    return json.JSONDecoder()


def _first_error_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Error:"):
            return line[len("Error:"):].strip()[:300]
    return ""


def help_command(stdout: bytes) -> str | None:
    """The command whose help this is (`app`, `app object`), when stdout is cobra's help text for
    a command group rather than an answer."""
    text = stdout[:8192].decode("utf-8", "replace")
    m = _HELP.search(text)
    return m.group(1) if m else None


_HELP = re.compile(r"(?m)^Usage:[ \t]*\n(?:[ \t]+qlik [^\n]*\n)*?[ \t]+qlik ((?:[\w-]+ )*[\w-]+) \[command\]")


def _retry_after(text: str, stdout: bytes) -> float | None:
    for source in (text, stdout.decode("utf-8", "replace")):
        for pattern in (_WAIT, _RETRY_AFTER):
            m = pattern.search(source)
            if m:
                return float(m.group(1))
    return None


def _json_object(data: bytes) -> dict[str, Any] | None:
    data = data.strip()
    if not data.startswith(b"{"):
        return None
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None

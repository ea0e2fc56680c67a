"""Read what a failed `qlik` call printed and say what kind of failure it was.

qlik-cli documents no exit-code mapping (every failure is exit 1), so the kind comes from the text:
with `--json` an object `{"status": N, "title": ...}` may be on stdout (2.15.0+, stream INFERRED);
otherwise stderr has `Error: <status> <reason>` and the API error body, or an engine error code.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from qlikcli_py.redact import redact_text


@dataclass(frozen=True)
class Failure:
    kind: str
    status: int | None
    detail: str
    retry_after: float | None = None


_THREE_DIGITS = re.compile(r"[1-5][0-9]{2}")
_STATUS_LINE = re.compile(r"Error:\s*(?:[A-Za-z ]*?\bstatus\s*)?(\d{3})\b")
_WAIT = re.compile(r"(?i)wait\s+(\d+(?:\.\d+)?)\s*seconds?")
_RETRY_AFTER = re.compile(r"(?i)retry-after:\s*(\d+(?:\.\d+)?)")
_ENGINE = re.compile(r"\b(\d{1,5})\s+([A-Z][A-Z_ ]{3,}[A-Z])\b")
_ENGINE_KIND = {5: "forbidden", 9003: "not_found", 2: "not_found", 1015: "engine_limit"}
_STATUS_KIND = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    429: "rate_limited",
}
_TEXT_KINDS = (
    (re.compile(r"(?i)context \S+ (does not exist|not found)|no current context"), "context"),
    (re.compile(r"(?i)unknown (flag|command|shorthand flag)|required flag\(s\)"), "usage"),
    (re.compile(r"(?i)no space left on device|disk quota exceeded"), "disk_full"),
    (re.compile(r"(?i)could not connect to engine|session closed|websocket"), "engine_connect"),
    (re.compile(r"(?i)connection (refused|reset)|no such host|i/o timeout|EOF\b|tls handshake"
                r"|context deadline exceeded|Client\.Timeout"), "network"),
    (re.compile(r"(?i)x509|certificate"), "certificate"),
)


def classify(stdout: bytes, stderr: bytes) -> Failure:
    status: int | None = None
    title = ""
    body = _json_object(stdout)
    if body is not None:
        raw = body.get("status")
        if isinstance(raw, int) and not isinstance(raw, bool) and 100 <= raw <= 599:
            status = raw
        elif isinstance(raw, str) and _THREE_DIGITS.fullmatch(raw):
            status = int(raw)
        title = redact_text(str(body.get("detail") or body.get("title") or ""))
    text = redact_text(stderr.decode("utf-8", "replace"))
    first = _first_error_line(text) or title or "qlik failed without a message"
    if status is None:
        m = _STATUS_LINE.search(text)
        if m:
            status = int(m.group(1))
    retry_after = _retry_after(text, stdout)
    if status is not None:
        kind = _STATUS_KIND.get(status, "server" if status >= 500 else "client")
        return Failure(kind, status, first, retry_after if kind == "rate_limited" else None)
    m = _ENGINE.search(text)
    if m and int(m.group(1)) in _ENGINE_KIND:
        return Failure(_ENGINE_KIND[int(m.group(1))], None, first)
    for pattern, kind in _TEXT_KINDS:
        if pattern.search(text):
            return Failure(kind, None, first)
    return Failure("other", None, first)


def _first_error_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Error:"):
            return line[len("Error:"):].strip()[:300]
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("Warning"):
            return line.strip()[:300]
    return ""


def _retry_after(text: str, stdout: bytes) -> float | None:
    for source in (text, stdout.decode("utf-8", "replace")):
        for pattern in (_WAIT, _RETRY_AFTER):
            m = pattern.search(source)
            if m:
                return float(m.group(1))
    return None


def _json_object(data: bytes) -> dict | None:
    data = data.strip()
    if not data.startswith(b"{"):
        return None
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None

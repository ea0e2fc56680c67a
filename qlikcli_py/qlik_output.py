"""Reading what qlik-cli prints: typed access to JSON fields, lists streamed from a file.

A field of the wrong type reads as empty (or, where the tool cannot go on without it, as
QlikBadOutput), never as a crash: the wrappers in source.py and target.py read every field here.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ijson
import structlog

from qlikcli_py.errors import QlikBadOutput
from qlikcli_py.redact import redact_text

log = structlog.get_logger("qlik")
_NOTED: set[str] = set()  # preamble texts already logged by this process (one run)


def json_start(data: bytes) -> int:
    """Where the JSON answer begins: the first line that starts with `[` or `{`. Lines before it are
    notices qlik-cli printed on stdout (3.x: `Warning: This command is being replaced by '...'`, on
    a stream nobody documents; update notices), not part of the answer. 0 when there are none, or
    when no line looks like JSON (the caller's parse then reports the output as it is)."""
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end + 1
        if data[pos:end].lstrip()[:1] in (b"[", b"{"):
            if pos:
                note_preamble(data[:pos])
            return pos
        pos = end
    return 0


def forget_notices() -> None:
    """A new command (a run) logs each notice once again."""
    _NOTED.clear()


def note_preamble(lines: bytes) -> None:
    """A warning, once per distinct text per run: nightly runs would repeat it on every call."""
    text = redact_text(lines.decode("utf-8", "replace").strip())[:500]
    if text and text not in _NOTED:
        _NOTED.add(text)
        log.warning("qlik.notice_on_stdout", printed=text,
                    hint="qlik-cli printed this before its JSON answer; it was skipped")


def text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def obj(value: Any) -> dict[str, Any]:
    """A nested object, or an empty one when the field is missing or of another type."""
    return value if isinstance(value, dict) else {}


def list_of(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in list_of(value) if isinstance(v, dict)]


def count(value: Any, argv: tuple[str, ...], key: str) -> int:
    if isinstance(value, dict):
        value = value.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        return int(value)
    raise QlikBadOutput(argv, b"", f"no count where `{key}` was expected")


def array(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    if isinstance(value, dict) and isinstance(value.get("data"), list):  # a --raw style envelope
        return [v for v in value["data"] if isinstance(v, dict)]
    raise QlikBadOutput((), b"", "JSON that is not a list")


def stream_array(path: Path, argv: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """The items of a JSON list (or of a `{"data": [...]}` envelope) without loading it whole.
    Anything else is bad output, never an empty list: an app must not look as if it had no objects."""
    with open(path, "rb") as fh:
        start = json_start(fh.read(64 * 1024))
        fh.seek(start)
        head = fh.read(200)
        fh.seek(start)
        first = head.lstrip()[:1]
        if first == b"[":
            prefix = "item"
        elif first == b"{":
            prefix = "data.item"
        else:
            raise QlikBadOutput(argv, head, "output that is not a JSON list")
        seen_data = prefix == "item"
        try:
            for key, event, _value in ijson.parse(fh, use_float=True):
                if key == "data" and event == "start_array":
                    seen_data = True
                    break
                if prefix == "item" or (key == "" and event == "end_map"):
                    break
            fh.seek(start)
            if not seen_data:
                raise QlikBadOutput(argv, head, "a JSON object that is not a list envelope")
            for item in ijson.items(fh, prefix, use_float=True):
                if isinstance(item, dict):
                    yield item
        except ijson.JSONError as e:
            raise QlikBadOutput(argv, head, "output that is not a JSON list") from e

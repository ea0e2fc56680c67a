"""Byte-level output helpers shared by every simulated command.

Start-up cost decides the encoder. Importing orjson pulls in dataclasses, uuid and json (~20 ms,
as much as the rest of a call), while the stdlib encoder costs ~3 ms to import but is ~10x slower
per byte. So small documents go through `json` and big ones (QRS listings of a 100,000-object
site) through orjson; both print the same bytes (indent 2, UTF-8, `": "` after keys), which
tests/sim/test_output.py checks.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


BIG_LIST = 200  # items in a top-level list beyond which orjson pays for its import


def dumps(obj: Any) -> bytes:
    """Pretty-printed JSON (indent 2) with a trailing newline, as qlik-cli prints it."""
    if isinstance(obj, list) and len(obj) > BIG_LIST:
        import orjson

        return orjson.dumps(obj, option=orjson.OPT_INDENT_2) + b"\n"
    import json

    return json.dumps(obj, indent=2, ensure_ascii=False).encode() + b"\n"


def dumps_compact(obj: Any) -> bytes:
    import json

    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises ValueError (json.JSONDecodeError) on malformed input."""
    if len(data) > 1_000_000:
        import orjson

        return orjson.loads(data)
    import json

    return json.loads(data)


# A tiny JSON encoder for the call log, so logging never forces the orjson import on the fast
# local paths. Handles the only types a log record holds: str, int, float, bool, None, list, dict.
_ESCAPES = {i: f"\\u{i:04x}" for i in range(32)}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", ord("\n"): "\\n", ord("\t"): "\\t"})


def json_line(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.translate(_ESCAPES) + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(json_line(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(json_line(str(k)) + ":" + json_line(v) for k, v in value.items()) + "}"
    return json_line(str(value))


def iso_now(now: float | None = None) -> str:
    """UTC timestamp with milliseconds, the form Qlik's APIs use: 2024-05-02T11:20:31.544Z."""
    if now is None:
        now = time.time()
    ms = int((now % 1) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{ms:03d}Z"


def iso_seconds(stamp: str) -> str:
    """Drop the milliseconds: the items API prints resourceCreatedAt as 2024-05-02T11:20:31Z."""
    if len(stamp) > 20 and stamp[19] == ".":
        return stamp[:19] + "Z"
    return stamp


def progress(json_mode: bool, message: str, key: str = "") -> bytes:
    """A qlik-cli message line on stderr: text, or under --json `{"<key>": "<message>\\n"}` pretty
    and a blank line (REAL, 1.4.0: `Saving app...`, `Publishing object X`, client refusals)."""
    if not json_mode:
        return f"{message}\n".encode()
    import json

    return (json.dumps({key: message + "\n"}, indent=2, ensure_ascii=False) + "\n\n").encode()

"""Control characters shown as escapes, so that a message stays one line whatever an app name,
title, owner name or qlik message contains. One set for every message the tool prints or raises."""
from __future__ import annotations

import re

# C0 controls and DEL, plus the characters other tools treat as line breaks (NEL, LS, PS)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def escape_controls(text: str) -> str:
    return _CONTROL.sub(_escape, text)


def _escape(m: re.Match[str]) -> str:
    n = ord(m.group())
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"

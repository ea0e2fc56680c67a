"""The export's file on disk: a safe name under the export dir, and its SHA-256."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)


def export_file_name(name: str, app_id: str) -> str:
    """A file name from an app name that cannot escape the export dir: no separators, no `..`,
    no control characters; the app id keeps it unique."""
    cleaned = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C")
    cleaned = _UNSAFE.sub("_", cleaned).strip(" ._")[:80] or "app"
    return f"{cleaned}-{app_id}.qvf"


def sha256(path: Path) -> str | None:
    """Blocking (seconds for a multi-GB QVF): callers run it with asyncio.to_thread."""
    try:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None

"""The export's file on disk: a safe name under the export dir, and its SHA-256."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)
# File systems limit a name in bytes (255 on ext4, xfs, NTFS-as-UTF-8): 120 bytes of UTF-8 for the
# app name leave room for "-<app id>.qvf" (41 bytes). A cut at 80 characters gave 281 bytes for a
# Japanese name, and the export failed on every run.
MAX_NAME_BYTES = 120


def _cut_bytes(text: str, limit: int) -> str:
    """The longest prefix of text whose UTF-8 is at most limit bytes (never half a character)."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def export_file_name(name: str, app_id: str) -> str:
    """A file name from an app name that cannot escape the export dir: no separators, no `..`,
    no control characters; the app id keeps it unique."""
    cleaned = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C")
    cleaned = _cut_bytes(_UNSAFE.sub("_", cleaned).strip(" ._"), MAX_NAME_BYTES).strip(" ._") or "app"
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

"""The export's file on disk: a safe name under the export dir, and its SHA-256."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from qlikcli_py.redact import redact_text

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


def not_a_qvf(path: Path) -> str | None:
    """What the file holds when it clearly is not a QVF, in one redacted line; None otherwise.

    A QVF's header has never been recorded here, so only what certainly is not one is refused: an
    empty file, JSON (an export ticket or an error object written to --output-file) or an HTML page
    (a proxy's error page). Anything else is left to the import to judge."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as e:
        return f"unreadable ({e.strerror})"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        return "nothing"
    lower = text[:256].lower()
    if text[:1] in (b"{", b"["):
        kind = "JSON"
    elif text[:1] == b"<" and (lower.startswith((b"<!doctype html", b"<html")) or b"<html" in lower):
        kind = "an HTML page"
    else:
        return None
    shown = " ".join(redact_text(text.decode("utf-8", "replace")).split())
    return f"{kind}: {shown[:200]}{'...' if len(shown) > 200 else ''}"


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

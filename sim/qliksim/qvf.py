"""The simulator's stand-in for a QVF file.

A real QVF is an opaque binary; what matters to a migration is what survives the round trip:
the app's name and description, and each object's engine id, type, title and published/approved
state (the importer becomes the owner of everything, so owners are not carried). Layout: a
magic line, then one JSON document. A truncated file (ENOSPC, SIGKILL) fails to parse, which the
import answers with a 400, as Qlik Cloud answers a corrupt upload.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAGIC = b"QSIM-QVF\x00 1\n"

SCOPES = ("all", "published", "approved")


def in_scope(scope: str, published: bool, approved: bool) -> bool:
    """QRS exportScope: all = everything; published = published or approved; approved = approved."""
    if scope == "all":
        return True
    if scope == "published":
        return published or approved
    return approved


def encode(app: dict[str, Any], objects: list[dict[str, Any]]) -> bytes:
    from qliksim.output import dumps_compact

    return MAGIC + dumps_compact({**app, "objects": objects}) + b"\n"


def decode(data: bytes) -> dict[str, Any]:
    """Raises ValueError for anything that is not a complete simulator QVF."""
    if not data.startswith(MAGIC):
        raise ValueError("not a QVF file")
    from qliksim.output import loads

    try:
        doc = loads(data[len(MAGIC):])
    except ValueError as exc:  # JSON (and UTF-8) decode errors are ValueErrors: a truncated file
        raise ValueError(f"damaged QVF file: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("objects"), list):
        raise ValueError("damaged QVF file")
    return doc

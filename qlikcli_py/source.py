"""The client-managed site, through `qlik qrs ...`: each command the migration uses as a typed
method, argv in, models out. The argv forms and output shapes are those of docs/qlik-surface.md;
the recorded replies in fixtures/qlik/ hold the shapes."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import structlog

from qlikcli_py import filters
from qlikcli_py.call_sizes import USER_IDS_PER_CALL
from qlikcli_py.errors import QlikBadOutput
from qlikcli_py.models import SourceApp
from qlikcli_py.models import SourceObject
from qlikcli_py.models import SourceOwner
from qlikcli_py.models import State
from qlikcli_py.qlik import TRANSFER_TIMEOUT
from qlikcli_py.qlik import Qlik
from qlikcli_py.qlik_output import array
from qlikcli_py.qlik_output import count
from qlikcli_py.qlik_output import dicts
from qlikcli_py.qlik_output import obj
from qlikcli_py.qlik_output import stream_array
from qlikcli_py.qlik_output import text
from qlikcli_py.vocabulary import Tier

log = structlog.get_logger("source")


class Source:
    """The client-managed site, through `qlik qrs ...`."""

    def __init__(self, qlik: Qlik, context: str, *, insecure: bool = False, scratch: Path) -> None:
        self.qlik = qlik
        self.context = context
        self._insecure = ("--insecure",) if insecure else ()
        self.scratch = scratch

    async def _json(self, *args: str, timeout: float | None = None) -> Any:
        return await self.qlik.json(*args, *self._insecure, context=self.context, tier=Tier.QRS,
                                    idempotent=True, timeout=timeout)

    async def app_count(self) -> int:
        return count(await self._json("qrs", "app", "count"), ("qrs", "app", "count"), "value")

    async def app(self, app_id: str) -> SourceApp:
        return _source_app(await self._json("qrs", "app", "get", app_id))

    async def apps(self, qrs_filter: str) -> list[SourceApp]:
        rows = await self._json("qrs", "app", "full", "--filter", qrs_filter)
        return [_source_app(r) for r in array(rows)]

    async def export(self, app_id: str, dest: Path, *, skip_data: bool) -> None:
        # --exportScope all: the QRS default `approved` silently drops private and community
        # objects. --skipdata=true as one token: a cobra bool does not take a separate value.
        args = ["qrs", "app", "export", "create", app_id, "--exportScope", "all", "--output-file", str(dest)]
        if skip_data:
            args.append("--skipdata=true")
        await self.qlik.run(*args, *self._insecure, context=self.context, tier=Tier.QRS,
                            idempotent=True, timeout=TRANSFER_TIMEOUT)

    async def objects(self, app_id: str) -> tuple[list[SourceObject], dict[str, SourceOwner]]:
        """Every object of the app with its owner. Streamed from a file: an app can hold 100,000."""
        owners: dict[str, SourceOwner] = {}
        objects: list[SourceObject] = []
        types: dict[str, str] = {}
        with self._scratch_file() as path:
            await self.qlik.run(
                "qrs", "app", "object", "full", "--filter", filters.qrs_id_eq("app.id", app_id),
                *self._insecure, context=self.context, tier=Tier.QRS, idempotent=True, stdout_path=path,
            )
            for row in stream_array(path, ("qrs", "app", "object", "full")):
                owner = obj(row.get("owner"))
                owner_id = text(owner.get("id"))
                if owner_id:
                    known = owners.get(owner_id)
                    if known is None:
                        known = owners[owner_id] = SourceOwner(
                            id=owner_id, user_id=text(owner.get("userId")),
                            directory=text(owner.get("userDirectory")), name=text(owner.get("name")),
                        )
                    # The parser makes new strings for every row: keep one copy per owner and per
                    # type, not one per object (~14 MB less for 100,000 objects).
                    owner_id = known.id
                object_type = text(row.get("objectType"))
                object_type = types.setdefault(object_type, object_type)
                objects.append(SourceObject(
                    object_id=text(row.get("engineObjectId")), type=object_type,
                    title=text(row.get("name")),
                    state=State.of(bool(row.get("published")), bool(row.get("approved"))),
                    owner_id=owner_id, note=object_note(object_type, row.get("attributes")),
                    modified=text(row.get("modifiedDate")),
                ))
        return objects, owners

    async def emails(self, user_ids: Iterable[str]) -> dict[str, str]:
        """QRS user id -> email attribute, batched into `id eq A or id eq B` filters."""
        ids = sorted({u for u in user_ids if filters.is_guid(u)})
        found: dict[str, str] = {}
        for i in range(0, len(ids), USER_IDS_PER_CALL):
            chunk = ids[i:i + USER_IDS_PER_CALL]
            rows = await self._json("qrs", "user", "full", "--filter", filters.qrs_any_id("id", chunk))
            for row in array(rows):
                for attr in dicts(row.get("attributes")):
                    if text(attr.get("attributeType")).lower() == "email" and attr.get("attributeValue"):
                        found[text(row.get("id"))] = text(attr["attributeValue"])
                        break
        return found

    @contextlib.contextmanager
    def _scratch_file(self) -> Iterator[Path]:
        self.scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, name = tempfile.mkstemp(dir=self.scratch, prefix="qrs-", suffix=".json")
        os.close(fd)
        try:
            yield Path(name)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(name)


def _source_app(row: Any) -> SourceApp:
    if not isinstance(row, dict) or not row.get("id"):
        raise QlikBadOutput(("qrs", "app"), b"", "an app without an id")
    owner = obj(row.get("owner"))
    stream = obj(row.get("stream"))
    return SourceApp(
        id=text(row["id"]), name=text(row.get("name")), modified=text(row.get("modifiedDate")),
        stream=text(stream.get("name")) or None,
        owner=f"{text(owner.get('userDirectory'))}\\{text(owner.get('userId'))}",
        file_size=_size(row.get("fileSize"), text(row["id"])),
    )


def _size(value: Any, app_id: str) -> int:
    """QRS `fileSize` (bytes): only the preflight's disk-room check reads it, so an odd value costs
    that check its figure (with a warning), never the run."""
    if value is None:
        return 0
    if isinstance(value, bool):
        pass
    elif isinstance(value, int) and value >= 0:
        return value
    elif isinstance(value, str):
        if value.strip().isdecimal() and value.strip().isascii():
            return int(value)
    elif isinstance(value, float) and 0 <= value < 1e18:
        return int(value)
    log.warning("qrs.field_ignored", field="fileSize", app_id=app_id, value=repr(value)[:80],
                why="not a byte count; the free-space check cannot use it")
    return 0


async def site_script(source: Source, app_id: str) -> str:
    """`app script get --app ID` through the site's engine (qlik-cli 2.25.0+ sends the CSRF token a
    client-managed proxy wants on the websocket)."""
    result = await source.qlik.run("app", "script", "get", "--app", app_id, *source._insecure,
                                   context=source.context, tier=Tier.ENGINE, idempotent=True)
    return result.stdout.decode("utf-8", "replace")


DEFAULT_BOOKMARK_KEY = "defaultBookmark"  # INFERRED: how QRS `attributes` marks the app's default bookmark
SHOW_CONDITION_KEY = "showCondition"  # INFERRED: a sheet's show condition in QRS `attributes`


def object_note(object_type: str, attributes: Any) -> str:
    """QRS AppObject `attributes` is a string (<= 1024 chars, REAL in the QRS spec); what it holds
    for a bookmark or sheet is INFERRED (docs/qlik-surface.md): JSON with the keys above."""
    if not isinstance(attributes, str) or not attributes.strip() or object_type not in ("bookmark", "sheet"):
        return ""
    try:
        doc = json.loads(attributes)
    except ValueError:
        return ""
    if not isinstance(doc, dict):
        return ""
    if object_type == "bookmark" and doc.get(DEFAULT_BOOKMARK_KEY) is True:
        return "default"
    condition = doc.get(SHOW_CONDITION_KEY)
    if object_type == "sheet" and isinstance(condition, str) and condition.strip():
        return "show-condition"
    return ""

"""Each qlik-cli command the migration uses, as a typed method: argv in, models out.

The argv forms and output shapes are those of docs/qlik-surface.md; the recorded replies in
fixtures/qlik/ hold the shapes. Field access lives here and nowhere else, so a recording that
corrects a field name changes one place.
"""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ijson
import structlog

from qlikcli_py import filters
from qlikcli_py.errors import QlikBadOutput
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.models import CloudApp
from qlikcli_py.models import CloudObject
from qlikcli_py.models import CloudUser
from qlikcli_py.models import SourceApp
from qlikcli_py.models import SourceObject
from qlikcli_py.models import SourceOwner
from qlikcli_py.models import Space
from qlikcli_py.models import State
from qlikcli_py.models import engine_group
from qlikcli_py.qlik import Qlik

log = structlog.get_logger("commands")
EXPORT_TIMEOUT = 3600.0  # a multi-GB QVF takes a while; one timeout for export and import
_USER_IDS_PER_CALL = 40  # keeps a QRS "id eq A or id eq B ..." filter well inside URL limits
_RM_IDS_PER_CALL = 100  # ids per `app object rm` argv
_LIST_FIELDS = "id,name,email,subject,status"


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


async def context_info(qlik: Qlik, name: str) -> dict[str, str]:
    """`qlik context get NAME`: `Key: value` lines. Keys are compared without regard to case,
    spaces, dashes or underscores (1.4.0 prints `Server:`; the server type's spelling in 2.x/3.x is
    unknown: `Server Type`, `server-type`, `serverType` all give `servertype`). 1.4.0 prints the API
    key under `Headers:`; secret-bearing keys are dropped here. `No context with name` comes with
    exit 0 (REAL, 1.4.0): an unknown context, not an empty one."""
    result = await qlik.run("context", "get", name, context=name, tier="local", json=False)
    text = result.stdout.decode("utf-8", "replace")
    if _NO_CONTEXT.search(text):
        raise QlikCommandFailed(result.argv, 0, result.stdout, result.stderr, kind="context", status=None,
                                detail=text.strip().splitlines()[0][:300])
    info: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            compact = context_key(key)
            if compact and compact not in _SECRET_KEYS:
                info.setdefault(compact, value.strip())
    return info


def context_key(key: str) -> str:
    return re.sub(r"[\s_-]+", "", key).lower()


_NO_CONTEXT = re.compile(r"(?i)no context with name|^\s*no current context")
_SECRET_KEYS = frozenset({"authorization", "apikey", "cookie", "oauthclientsecret", "headers"})


class Source:
    """The client-managed site, through `qlik qrs ...`."""

    def __init__(self, qlik: Qlik, context: str, *, insecure: bool = False, scratch: Path) -> None:
        self.qlik = qlik
        self.context = context
        self._insecure = ("--insecure",) if insecure else ()
        self.scratch = scratch

    async def _json(self, *args: str, timeout: float | None = None) -> Any:
        return await self.qlik.json(*args, *self._insecure, context=self.context, tier="qrs",
                                    idempotent=True, timeout=timeout)

    async def app_count(self) -> int:
        return _int(await self._json("qrs", "app", "count"), ("qrs", "app", "count"), "value")

    async def app(self, app_id: str) -> SourceApp:
        return _source_app(await self._json("qrs", "app", "get", app_id))

    async def apps(self, qrs_filter: str) -> list[SourceApp]:
        rows = await self._json("qrs", "app", "full", "--filter", qrs_filter)
        return [_source_app(r) for r in _array(rows)]

    async def export(self, app_id: str, dest: Path, *, skip_data: bool) -> None:
        # --exportScope all: the QRS default `approved` silently drops private and community
        # objects. --skipdata=true as one token: a cobra bool does not take a separate value.
        args = ["qrs", "app", "export", "create", app_id, "--exportScope", "all", "--output-file", str(dest)]
        if skip_data:
            args.append("--skipdata=true")
        await self.qlik.run(*args, *self._insecure, context=self.context, tier="qrs",
                            idempotent=True, timeout=EXPORT_TIMEOUT)

    async def objects(self, app_id: str) -> tuple[list[SourceObject], dict[str, SourceOwner]]:
        """Every object of the app with its owner. Streamed from a file: an app can hold 100,000."""
        owners: dict[str, SourceOwner] = {}
        objects: list[SourceObject] = []
        types: dict[str, str] = {}
        with self._scratch_file() as path:
            await self.qlik.run(
                "qrs", "app", "object", "full", "--filter", filters.qrs_id_eq("app.id", app_id),
                *self._insecure, context=self.context, tier="qrs", idempotent=True, stdout_path=path,
            )
            for row in _stream_array(path, ("qrs", "app", "object", "full")):
                owner = _obj(row.get("owner"))
                owner_id = _str(owner.get("id"))
                if owner_id:
                    known = owners.get(owner_id)
                    if known is None:
                        known = owners[owner_id] = SourceOwner(
                            id=owner_id, user_id=_str(owner.get("userId")),
                            directory=_str(owner.get("userDirectory")), name=_str(owner.get("name")),
                        )
                    # The parser makes new strings for every row: keep one copy per owner and per
                    # type, not one per object (~14 MB less for 100,000 objects).
                    owner_id = known.id
                object_type = _str(row.get("objectType"))
                object_type = types.setdefault(object_type, object_type)
                objects.append(SourceObject(
                    object_id=_str(row.get("engineObjectId")), type=object_type,
                    title=_str(row.get("name")),
                    state=State.of(bool(row.get("published")), bool(row.get("approved"))),
                    owner_id=owner_id,
                ))
        return objects, owners

    async def emails(self, user_ids: Iterable[str]) -> dict[str, str]:
        """QRS user id -> email attribute, batched into `id eq A or id eq B` filters."""
        ids = sorted({u for u in user_ids if filters.is_guid(u)})
        found: dict[str, str] = {}
        for i in range(0, len(ids), _USER_IDS_PER_CALL):
            chunk = ids[i:i + _USER_IDS_PER_CALL]
            rows = await self._json("qrs", "user", "full", "--filter", filters.qrs_any_id("id", chunk))
            for row in _array(rows):
                for attr in _dicts(row.get("attributes")):
                    if _str(attr.get("attributeType")).lower() == "email" and attr.get("attributeValue"):
                        found[_str(row.get("id"))] = _str(attr["attributeValue"])
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


class Target:
    """The Qlik Cloud tenant: REST commands (tiers read/write) and engine commands."""

    def __init__(self, qlik: Qlik, context: str, *, scratch: Path) -> None:
        self.qlik = qlik
        self.context = context
        self.scratch = scratch

    async def _read(self, *args: str) -> Any:
        return await self.qlik.json(*args, context=self.context, tier="read", idempotent=True)

    async def _write(self, *args: str, timeout: float | None = None) -> Any:
        # Writes are never retried blindly here: the caller reconciles an ambiguous outcome.
        return await self.qlik.json(*args, context=self.context, tier="write", timeout=timeout)

    # -- users and spaces -----------------------------------------------------------------------
    async def me(self) -> dict[str, Any]:
        value = await self._read("user", "me")
        if not isinstance(value, dict) or not value.get("id"):
            raise QlikBadOutput(("user", "me"), b"", "a user without an id")
        return value

    async def user_count(self) -> int:
        return _int(await self._read("user", "count"), ("user", "count"), "total")

    async def users_where(self, scim_filter: str, limit: int = 10) -> list[CloudUser]:
        rows = await self._read("user", "ls", "--filter", scim_filter, "--fields", _LIST_FIELDS,
                                "--limit", str(limit))
        return [_cloud_user(r) for r in _array(rows)]

    async def all_users(self) -> Iterator[CloudUser]:
        """Every user, in one paged listing. `--limit` must exceed the total, or only the first
        page comes back (https://qlik.dev/toolkits/qlik-cli/qlik-cli-pagination/)."""
        total = await self.user_count()
        self.scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, name = tempfile.mkstemp(dir=self.scratch, prefix="users-", suffix=".json")
        os.close(fd)
        path = Path(name)
        try:
            await self.qlik.run("user", "ls", "--fields", _LIST_FIELDS, "--limit", str(total + 100),
                                context=self.context, tier="read", idempotent=True, stdout_path=path)
            users = [_cloud_user(r) for r in _stream_array(path, ("user", "ls"))]
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
        return iter(users)

    async def spaces(self) -> list[Space]:
        rows = await self._read("space", "ls", "--limit", "10000")
        return [Space(id=_str(r.get("id")), name=_str(r.get("name")), type=_str(r.get("type")),
                      actions=tuple(_str(a) for a in _list(_obj(r.get("meta")).get("actions"))))
                for r in _array(rows)]

    # -- apps -----------------------------------------------------------------------------------
    async def import_app(self, qvf: Path, space_id: str, name: str) -> CloudApp:
        # --resumable: chunked upload; a 1.6 GB QVF otherwise needs >4 GB RAM (qlik-cli#36).
        value = await self._write("app", "import", "--file", str(qvf), "--spaceId", space_id,
                                  "--name", name, "--resumable", timeout=EXPORT_TIMEOUT)
        return _cloud_app(value, ("app", "import"))

    async def app(self, app_id: str) -> CloudApp:
        return _cloud_app(await self._read("app", "get", app_id), ("app", "get"))

    async def apps_in_space(self, space_id: str) -> list[CloudApp]:
        rows = await self._read("app", "ls", "--spaceId", space_id, "--limit", "100000")
        apps = []
        for r in _array(rows):
            attrs = _obj(r.get("resourceAttributes"))
            apps.append(CloudApp(
                id=_str(r.get("resourceId") or attrs.get("id")), name=_str(r.get("name")),
                space_id=_str(r.get("spaceId") or attrs.get("spaceId")),
                owner_id=_str(r.get("ownerId") or attrs.get("ownerId")),
                origin_app_id=_str(attrs.get("originAppId")), created=_str(r.get("resourceCreatedAt")),
            ))
        return apps

    async def copy_app(self, app_id: str, name: str, space_id: str) -> CloudApp:
        value = await self._write("app", "copy", app_id, "--attributes-name", name,
                                  "--attributes-spaceId", space_id)
        return _cloud_app(value, ("app", "copy"))

    async def change_owner(self, app_id: str, object_id: str, owner_id: str) -> str:
        value = await self._write("app", "object", "change-owner", "--appId", app_id,
                                  "--objectId", object_id, "--ownerId", owner_id)
        return _str(_obj(_obj(value).get("attributes")).get("ownerId"))

    async def move_to_managed(self, app_id: str, managed_space_id: str, origin_app_id: str) -> CloudApp:
        # A move, not a publish: the app keeps its id and every object's state and owner. A plain
        # publish would make a new app without private content.
        value = await self._write("app", "publish", "create", app_id, "--spaceId", managed_space_id,
                                  "--moveApp", "--originAppId", origin_app_id)
        return _cloud_app(value, ("app", "publish", "create"))

    # -- engine ---------------------------------------------------------------------------------
    def _engine(self, session: str | None) -> tuple[str, ...]:
        return ("--headers", f"X-Qlik-Session={session}") if session else ()

    async def list_objects(self, app_id: str, *, session: str | None = None) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
        for group in ("object", "bookmark", "dimension", "measure"):
            rows = await self.qlik.json("app", group, "ls", "--app", app_id, "--no-data",
                                        *self._engine(session), context=self.context,
                                        tier="engine", idempotent=True)
            out += [(_str(r.get("qId")), _str(r.get("qType")), _str(r.get("title"))) for r in _array(rows)]
        return out

    async def layout(self, app_id: str, object_id: str, object_type: str, *,
                     session: str | None = None) -> CloudObject:
        value = await self.qlik.json("app", engine_group(object_type), "layout", object_id, "--app", app_id,
                                     "--no-data", *self._engine(session), context=self.context,
                                     tier="engine", idempotent=True)
        if not isinstance(value, dict):
            raise QlikBadOutput(("app", "object", "layout"), b"", "a layout that is not a JSON object")
        info = _obj(value.get("qInfo"))
        meta = _obj(value.get("qMeta"))
        return CloudObject(
            object_id=_str(info.get("qId")) or object_id, type=_str(info.get("qType")) or object_type,
            title=_str(meta.get("title") or value.get("title")), owner_id=_str(meta.get("ownerId")),
            state=State.of(bool(meta.get("published")), bool(meta.get("approved"))),
        )

    async def unpublish(self, app_id: str, object_id: str, object_type: str, *,
                        session: str | None = None) -> None:
        # Idempotent: unpublishing twice, or removing an id already gone (answered "not found"
        # and taken as done by the caller), changes nothing.
        await self.qlik.run("app", engine_group(object_type), "unpublish", object_id, "--app", app_id,
                            "--no-data", *self._engine(session), context=self.context, tier="engine",
                            idempotent=True)

    async def remove(self, app_id: str, object_ids: list[str], object_type: str, *,
                     session: str | None = None) -> None:
        for i in range(0, len(object_ids), _RM_IDS_PER_CALL):
            chunk = object_ids[i:i + _RM_IDS_PER_CALL]
            await self.qlik.run("app", engine_group(object_type), "rm", *chunk, "--app", app_id,
                                "--no-save", "--no-data", *self._engine(session),
                                context=self.context, tier="engine", idempotent=True)

    async def save(self, app_id: str, *, session: str | None = None) -> None:
        await self.qlik.run("app", "build", "--app", app_id, "--no-reload", "--no-data",
                            *self._engine(session), context=self.context, tier="engine", idempotent=True)


# -- parsing helpers ------------------------------------------------------------------------------
def _obj(value: Any) -> dict[str, Any]:
    """A nested object, or an empty one when the field is missing or of another type."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in _list(value) if isinstance(v, dict)]


def _int(value: Any, argv: tuple[str, ...], key: str) -> int:
    if isinstance(value, dict):
        value = value.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        return int(value)
    raise QlikBadOutput(argv, b"", f"no count where `{key}` was expected")

def _array(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    if isinstance(value, dict) and isinstance(value.get("data"), list):  # a --raw style envelope
        return [v for v in value["data"] if isinstance(v, dict)]
    raise QlikBadOutput((), b"", "JSON that is not a list")


def _stream_array(path: Path, argv: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """The items of a JSON list (or of a `{"data": [...]}` envelope) without loading it whole.
    Anything else is bad output, never an empty list: an app must not look as if it had no objects."""
    with open(path, "rb") as fh:
        head = fh.read(200)
        fh.seek(0)
        first = head.lstrip()[:1]
        if first == b"[":
            prefix = "item"
        elif first == b"{":
            prefix = "data.item"
        else:
            raise QlikBadOutput(argv, head, "output that is not a JSON list")
        seen_data = prefix == "item"
        try:
            for key, event, value in ijson.parse(fh, use_float=True):
                if key == "data" and event == "start_array":
                    seen_data = True
                    break
                if prefix == "item" or (key == "" and event == "end_map"):
                    break
            fh.seek(0)
            if not seen_data:
                raise QlikBadOutput(argv, head, "a JSON object that is not a list envelope")
            for item in ijson.items(fh, prefix, use_float=True):
                if isinstance(item, dict):
                    yield item
        except ijson.JSONError as e:
            raise QlikBadOutput(argv, head, "output that is not a JSON list") from e


def _source_app(row: Any) -> SourceApp:
    if not isinstance(row, dict) or not row.get("id"):
        raise QlikBadOutput(("qrs", "app"), b"", "an app without an id")
    owner = _obj(row.get("owner"))
    stream = _obj(row.get("stream"))
    return SourceApp(
        id=_str(row["id"]), name=_str(row.get("name")), modified=_str(row.get("modifiedDate")),
        stream=_str(stream.get("name")) or None,
        owner=f"{_str(owner.get('userDirectory'))}\\{_str(owner.get('userId'))}",
        file_size=_size(row.get("fileSize"), _str(row["id"])),
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
    elif isinstance(value, float) and 0 <= value < 1e18:
        return int(value)
    elif isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        return int(value)
    log.warning("qrs.field_ignored", field="fileSize", app_id=app_id, value=repr(value)[:80],
                why="not a byte count; the free-space check cannot use it")
    return 0


_STATUSES: dict[str, str] = {}  # one string per status value, not one per user of a 50,000-user listing


def _cloud_user(row: dict[str, Any]) -> CloudUser:
    status = _str(row.get("status")) or "active"
    if len(_STATUSES) < 16:
        status = _STATUSES.setdefault(status, status)
    return CloudUser(id=_str(row.get("id")), name=_str(row.get("name")), subject=_str(row.get("subject")),
                     email=_str(row.get("email")), status=status)


def _cloud_app(value: Any, argv: tuple[str, ...]) -> CloudApp:
    attrs = value.get("attributes") if isinstance(value, dict) else None
    if not isinstance(attrs, dict) or not attrs.get("id"):
        raise QlikBadOutput(argv, b"", "an app without attributes.id")
    return CloudApp(
        id=_str(attrs["id"]), name=_str(attrs.get("name")), space_id=_str(attrs.get("spaceId")),
        owner_id=_str(attrs.get("ownerId")), origin_app_id=_str(attrs.get("originAppId")),
        created=_str(attrs.get("createdDate")),
    )

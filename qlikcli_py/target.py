"""The Qlik Cloud tenant: REST commands (tiers read/write) and engine commands, each as a typed
method, argv in, models out. Shapes as in docs/qlik-surface.md and fixtures/qlik/."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qlikcli_py.call_sizes import RM_IDS_PER_CALL
from qlikcli_py.errors import QlikBadOutput
from qlikcli_py.models import CloudApp
from qlikcli_py.models import CloudObject
from qlikcli_py.models import CloudUser
from qlikcli_py.models import Space
from qlikcli_py.models import State
from qlikcli_py.models import engine_group
from qlikcli_py.qlik import TRANSFER_TIMEOUT
from qlikcli_py.qlik import Qlik
from qlikcli_py.qlik_output import array
from qlikcli_py.qlik_output import count
from qlikcli_py.qlik_output import list_of
from qlikcli_py.qlik_output import obj
from qlikcli_py.qlik_output import stream_array
from qlikcli_py.qlik_output import text
from qlikcli_py.vocabulary import Tier

_LIST_FIELDS = "id,name,email,subject,status"


class Target:
    """The Qlik Cloud tenant: REST commands (tiers read/write) and engine commands."""

    def __init__(self, qlik: Qlik, context: str, *, scratch: Path) -> None:
        self.qlik = qlik
        self.context = context
        self.scratch = scratch

    async def _read(self, *args: str) -> Any:
        return await self.qlik.json(*args, context=self.context, tier=Tier.READ, idempotent=True)

    async def _write(self, *args: str, timeout: float | None = None) -> Any:
        # Writes are never retried blindly here: the caller reconciles an ambiguous outcome.
        return await self.qlik.json(*args, context=self.context, tier=Tier.WRITE, timeout=timeout)

    # -- users and spaces -----------------------------------------------------------------------
    async def me(self) -> dict[str, Any]:
        value = await self._read("user", "me")
        if not isinstance(value, dict) or not value.get("id"):
            raise QlikBadOutput(("user", "me"), b"", "a user without an id")
        return value

    async def user_count(self) -> int:
        return count(await self._read("user", "count"), ("user", "count"), "total")

    async def users_where(self, scim_filter: str, limit: int = 10) -> list[CloudUser]:
        rows = await self._read("user", "ls", "--filter", scim_filter, "--fields", _LIST_FIELDS,
                                "--limit", str(limit))
        return [_cloud_user(r) for r in array(rows)]

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
                                context=self.context, tier=Tier.READ, idempotent=True, stdout_path=path)
            # parsing 50,000 users takes a while: in a thread, so the other calls go on meanwhile
            users = await asyncio.to_thread(lambda: [_cloud_user(r) for r in stream_array(path, ("user", "ls"))])
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
        return iter(users)

    async def spaces(self) -> list[Space]:
        rows = await self._read("space", "ls", "--limit", "10000")
        return [Space(id=text(r.get("id")), name=text(r.get("name")), type=text(r.get("type")),
                      actions=tuple(text(a) for a in list_of(obj(r.get("meta")).get("actions"))))
                for r in array(rows)]

    # -- apps -----------------------------------------------------------------------------------
    async def import_app(self, qvf: Path, space_id: str, name: str) -> CloudApp:
        # --resumable: chunked upload; a 1.6 GB QVF otherwise needs >4 GB RAM (qlik-cli#36).
        value = await self._write("app", "import", "--file", str(qvf), "--spaceId", space_id,
                                  "--name", name, "--resumable", timeout=TRANSFER_TIMEOUT)
        return _cloud_app(value, ("app", "import"))

    async def app(self, app_id: str) -> CloudApp:
        return _cloud_app(await self._read("app", "get", app_id), ("app", "get"))

    async def apps_in_space(self, space_id: str) -> list[CloudApp]:
        rows = await self._read("app", "ls", "--spaceId", space_id, "--limit", "100000")
        apps = []
        for r in array(rows):
            attrs = obj(r.get("resourceAttributes"))
            apps.append(CloudApp(
                id=text(r.get("resourceId") or attrs.get("id")), name=text(r.get("name")),
                space_id=text(r.get("spaceId") or attrs.get("spaceId")),
                owner_id=text(r.get("ownerId") or attrs.get("ownerId")),
                origin_app_id=text(attrs.get("originAppId")), created=text(r.get("resourceCreatedAt")),
            ))
        return apps

    async def copy_app(self, app_id: str, name: str, space_id: str) -> CloudApp:
        value = await self._write("app", "copy", app_id, "--attributes-name", name,
                                  "--attributes-spaceId", space_id)
        return _cloud_app(value, ("app", "copy"))

    async def change_owner(self, app_id: str, object_id: str, owner_id: str) -> str:
        value = await self._write("app", "object", "change-owner", "--appId", app_id,
                                  "--objectId", object_id, "--ownerId", owner_id)
        return text(obj(obj(value).get("attributes")).get("ownerId"))

    async def move_to_managed(self, app_id: str, managed_space_id: str, origin_app_id: str) -> CloudApp:
        # A move, not a publish: the app keeps its id and every object's state and owner. A plain
        # publish would make a new app without private content.
        value = await self._write("app", "publish", "create", app_id, "--spaceId", managed_space_id,
                                  "--moveApp", "--originAppId", origin_app_id)
        return _cloud_app(value, ("app", "publish", "create"))

    # -- engine ---------------------------------------------------------------------------------
    def _engine(self, session: str | None) -> tuple[str, ...]:
        return ("--headers", f"X-Qlik-Session={session}") if session else ()

    async def list_objects(self, app_id: str, *, session: str | None = None,
                           groups: tuple[str, ...] = ("object", "bookmark", "dimension", "measure"),
                           ) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
        for group in groups:
            rows = await self.qlik.json("app", group, "ls", "--app", app_id, "--no-data",
                                        *self._engine(session), context=self.context,
                                        tier=Tier.ENGINE, idempotent=True)
            out += [(text(r.get("qId")), text(r.get("qType")), text(r.get("title"))) for r in array(rows)]
        return out

    async def listed_ids(self, app_id: str, object_type: str, *, session: str | None = None) -> set[str]:
        """The ids the identity can list in the engine group of `object_type`: the evidence of
        what it can see, whatever words the engine's errors use (docs/qlik-surface.md)."""
        rows = await self.qlik.json("app", engine_group(object_type), "ls", "--app", app_id, "--no-data",
                                    *self._engine(session), context=self.context, tier=Tier.ENGINE,
                                    idempotent=True)
        return {text(r.get("qId")) for r in array(rows)}

    async def layout(self, app_id: str, object_id: str, object_type: str, *,
                     session: str | None = None) -> CloudObject:
        value = await self.qlik.json("app", engine_group(object_type), "layout", object_id, "--app", app_id,
                                     "--no-data", *self._engine(session), context=self.context,
                                     tier=Tier.ENGINE, idempotent=True)
        if not isinstance(value, dict):
            raise QlikBadOutput(("app", "object", "layout"), b"", "a layout that is not a JSON object")
        info = obj(value.get("qInfo"))
        meta = obj(value.get("qMeta"))
        return CloudObject(
            object_id=text(info.get("qId")) or object_id, type=text(info.get("qType")) or object_type,
            title=text(meta.get("title") or value.get("title")), owner_id=text(meta.get("ownerId")),
            state=State.of(bool(meta.get("published")), bool(meta.get("approved"))),
        )

    async def unpublish(self, app_id: str, object_id: str, object_type: str, *,
                        session: str | None = None) -> None:
        # Idempotent: unpublishing twice, or removing an id already gone (answered "not found"
        # and taken as done by the caller), changes nothing.
        await self.qlik.run("app", engine_group(object_type), "unpublish", object_id, "--app", app_id,
                            "--no-data", *self._engine(session), context=self.context, tier=Tier.ENGINE,
                            idempotent=True)

    async def remove(self, app_id: str, object_ids: list[str], object_type: str, *,
                     session: str | None = None, save: bool = False) -> None:
        """`rm --no-save` (a later `save` applies it) or, with `save`, an `rm` that saves at once."""
        no_save = () if save else ("--no-save",)
        for i in range(0, len(object_ids), RM_IDS_PER_CALL):
            chunk = object_ids[i:i + RM_IDS_PER_CALL]
            await self.qlik.run("app", engine_group(object_type), "rm", *chunk, "--app", app_id,
                                *no_save, "--no-data", *self._engine(session),
                                context=self.context, tier=Tier.ENGINE, idempotent=True)

    async def save(self, app_id: str, *, session: str | None = None) -> None:
        await self.qlik.run("app", "build", "--app", app_id, "--no-reload", "--no-data",
                            *self._engine(session), context=self.context, tier=Tier.ENGINE, idempotent=True)

    # -- sync: property trees, object set, publish, app removal (fixtures app_object_*, app_rm) ---
    async def object_tree(self, app_id: str, object_id: str, *, session: str | None = None) -> dict[str, Any]:
        """GetFullPropertyTree: the GenericObjectEntry {qProperty, qChildren: [entries], qEmbeddedSnapshotRef}."""
        argv = ("app", "object", "properties")
        value = await self.qlik.json(*argv, object_id, "--app", app_id, "--full", "--no-data", *self._engine(session),
                                     context=self.context, tier=Tier.ENGINE, idempotent=True)
        if not isinstance(value, dict) or not isinstance(value.get("qProperty"), dict):
            raise QlikBadOutput(argv, b"", "a property tree without qProperty")
        if not isinstance(value.get("qChildren", []), list):
            raise QlikBadOutput(argv, b"", "a property tree whose qChildren is not a list")
        return value

    async def set_object(self, app_id: str, path: Path, *, save: bool = True, session: str | None = None) -> str:
        """`app object set FILE`: creates the object if its id is absent, then sets its whole tree
        (a GenericObjectEntry file) or its properties. Returns the id the file asks for.

        qlik-cli prints nothing, not even the id it created (REAL 1.4.0), and the engine gives a
        created object ANOTHER id when the asked one is in use (by an object the caller may not
        see): the caller must check what exists afterwards. Not idempotent: a blind retry may
        create a second object."""
        wanted = _asked_id(path)
        argv = ("app", "object", "set")
        result = await self.qlik.run(*argv, str(path), "--app", app_id, *(() if save else ("--no-save",)), "--no-data",
                                     *self._engine(session), context=self.context, tier=Tier.ENGINE)
        if b"No matches found for pattern" in result.stderr:
            raise QlikBadOutput(argv, result.stderr, "that the object file was not found")
        return wanted

    async def publish(self, app_id: str, object_id: str, object_type: str, *, session: str | None = None) -> None:
        """`app <group> publish ID`. qlik-cli 1.4.0 itself refuses an object already published
        (`cannot publish a published object`, exit 1): the caller settles that from the layout."""
        await self.qlik.run("app", engine_group(object_type), "publish", object_id, "--app", app_id, "--no-data",
                            *self._engine(session), context=self.context, tier=Tier.ENGINE)

    async def delete_app(self, app_id: str) -> None:
        """`app rm ID` (DELETE /api/v1/apps/ID); prints nothing on stdout. An unknown id fails with 404."""
        await self.qlik.run("app", "rm", app_id, context=self.context, tier=Tier.WRITE)


def _asked_id(path: Path) -> str:
    """The object id an `app object set` file asks for (GenericObjectEntry or GenericObjectProperties)."""
    if any(ch in str(path) for ch in "*?["):  # qlik-cli takes the argument as a glob pattern
        raise ValueError(f"object file path {path} has a glob character (*, ? or [): write it under another name")
    doc = json.loads(path.read_bytes())  # read first: for a missing file qlik-cli says nothing and exits 0
    prop = doc.get("qProperty", doc) if isinstance(doc, dict) else None
    wanted = text(obj(obj(prop).get("qInfo")).get("qId"))
    if not wanted:
        raise ValueError(f"object file {path} has no qInfo.qId")
    return wanted


_STATUSES: dict[str, str] = {}  # one string per status value, not one per user of a 50,000-user listing


def _cloud_user(row: dict[str, Any]) -> CloudUser:
    status = text(row.get("status")) or "active"
    if len(_STATUSES) < 16:
        status = _STATUSES.setdefault(status, status)
    return CloudUser(id=text(row.get("id")), name=text(row.get("name")), subject=text(row.get("subject")),
                     email=text(row.get("email")), status=status)


def _cloud_app(value: Any, argv: tuple[str, ...]) -> CloudApp:
    attrs = value.get("attributes") if isinstance(value, dict) else None
    if not isinstance(attrs, dict) or not attrs.get("id"):
        raise QlikBadOutput(argv, b"", "an app without attributes.id")
    return CloudApp(
        id=text(attrs["id"]), name=text(attrs.get("name")), space_id=text(attrs.get("spaceId")),
        owner_id=text(attrs.get("ownerId")), origin_app_id=text(attrs.get("originAppId")),
        created=text(attrs.get("createdDate")),
    )


# -- what decides whether a migrated app reloads (checks/reload.py) -------------------------------
async def app_script(target: Target, app_id: str) -> str:
    """`app script get`: the load script as text (REAL 1.4.0: printed as is, --json changes nothing)."""
    result = await target.qlik.run("app", "script", "get", "--app", app_id, context=target.context,
                                   tier=Tier.ENGINE, idempotent=True)
    return result.stdout.decode("utf-8", "replace")


async def set_app_script(target: Target, app_id: str, script_file: Path) -> None:
    """`app script set FILE`: replaces the script and saves the app; never reloads."""
    await target.qlik.run("app", "script", "set", str(script_file), "--app", app_id, context=target.context,
                          tier=Tier.ENGINE)


async def app_connections(target: Target, app_id: str) -> list[str]:
    """`app connection ls`: the connection names the app itself can resolve (engine GetConnections)."""
    rows = await target.qlik.json("app", "connection", "ls", "--app", app_id, context=target.context,
                                  tier=Tier.ENGINE, idempotent=True)
    return [text(r.get("qName")) for r in array(rows) if text(r.get("qName"))]


async def data_connections(target: Target, space_id: str) -> list[str]:
    """`data-connection ls --spaceId S` (DOC): the names of a space's data connections."""
    rows = await target._read("data-connection", "ls", "--spaceId", space_id, "--limit", "10000")
    return [text(r.get("qName")) for r in array(rows)
            if text(r.get("qName")) and text(r.get("space")) in ("", space_id)]


async def quotas(target: Target) -> dict[str, tuple[float, float | None]]:
    """`quota ls --reportUsage=true` (REAL flag in 1.4.0, a string there): id -> (quota, usage)."""
    rows = await target._read("quota", "ls", "--reportUsage=true")
    out: dict[str, tuple[float, float | None]] = {}
    for r in array(rows):
        attrs = obj(r.get("attributes"))
        quota, usage = attrs.get("quota"), attrs.get("usage")
        if isinstance(quota, int | float) and not isinstance(quota, bool):
            out[text(r.get("id"))] = (float(quota), float(usage) if isinstance(usage, int | float) else None)
    return out

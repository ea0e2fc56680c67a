"""`qlik app import|get|ls|copy|publish create` and `app object change-owner` (Cloud REST).

The rules that a migration depends on (docs/qlik-surface.md, "Semantics that matter"):
import always makes a NEW app owned, with all its objects, by the caller; copy keeps object ids
and hands the copied objects to the copier but leaves other users' private objects behind;
`publish create --moveApp` moves the app itself and touches no object, a plain publish makes a
new app with the base objects only; only an object's owner (or an admin.apps client) may change
its owner.
"""

from __future__ import annotations

from qliksim import cloud_shapes as shapes
from qliksim import qvf
from qliksim.call import Call
from qliksim.errors import HttpError, UsageError, bad_request, forbidden, not_found

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_OBJECT_INSERT = (
    "INSERT INTO cloud_objects (app_id, object_id, type, title, description, owner_id, published, approved, created, updated, published_at, tree)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_APP_INSERT = (
    "INSERT INTO cloud_apps (id, item_id, name, description, space_id, owner_id, creator_id, origin_app_id, published, publish_time,"
    " created, modified, last_reload, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)"
)


def _tree_text(obj: dict[str, Any]) -> str:
    """An exported object's property tree (with its children), kept as the world stores it."""
    from qliksim.output import dumps_compact

    return dumps_compact(obj["tree"]).decode() if obj.get("tree") else ""


def _app_row(call: Call, app_id: str) -> tuple[Any, ...] | None:
    return call.conn.execute(f"SELECT {shapes.APP_COLUMNS} FROM {shapes.APP_FROM} WHERE a.id = ?", (app_id,)).fetchone()  # type: ignore[no-any-return]


def _require_app(call: Call, app_id: str) -> tuple[Any, ...]:
    row = _app_row(call, app_id)
    if row is None:
        raise not_found("app not found")
    return row


def _require_space(call: Call, space_id: str) -> str:
    row = call.conn.execute("SELECT type FROM spaces WHERE id = ?", (space_id,)).fetchone()
    if row is None:
        raise not_found("space not found")
    if row[0] == "data":
        raise bad_request("apps cannot be placed in a data space")
    return str(row[0])


def _new_app(call: Call, *, name: str, description: str, space_id: str | None, origin: str, publish_time: str, reload: str, source: str) -> str:
    app_id = call.new_guid("cloud-app")
    stamp = call.stamp()
    call.conn.execute(
        _APP_INSERT,
        (app_id, call.new_hex24("item"), name, description, space_id, call.identity, call.identity, origin, publish_time, stamp, stamp, reload, source),
    )
    return app_id


def app_import(call: Call) -> dict[str, Any]:
    path, file_id = call.flag("file"), call.flag("fileId")
    if file_id and not path:
        raise not_found("temp content not found")
    if not path:
        raise UsageError("either --file or --fileId must be given")
    if call.flag("mode", "NEW").upper() != "NEW":
        raise bad_request(f"unsupported import mode {call.flag('mode')!r}")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise UsageError(f"open {path}: no such file or directory") from None
    except OSError as exc:
        raise UsageError(f"open {path}: {exc.strerror.lower() if exc.strerror else exc}") from None
    try:
        doc = qvf.decode(data)
    except ValueError:
        raise bad_request("invalid app file: the uploaded file is not a valid QVF") from None
    space_id = call.flag("spaceId") or None
    stamp = call.stamp()
    with call.write():
        if space_id:
            _require_space(call, space_id)
        app_id = _new_app(
            call,
            name=call.flag("name") or doc.get("name") or call.flag("fallbackName") or "Untitled",
            description=str(doc.get("description", "")),
            space_id=space_id,
            origin="",
            publish_time="",
            reload=str(doc.get("lastReloadTime", "")),
            source=f"import:{doc.get('qrsAppId', '')}",
        )
        call.conn.executemany(
            _OBJECT_INSERT,
            [
                (app_id, o["engineObjectId"], o["type"], o["title"], o.get("description", ""), call.identity,
                 int(o["published"]), int(o["approved"]), stamp, stamp, stamp if o["published"] else "", _tree_text(o))
                for o in doc["objects"]
            ],
        )
        if doc.get("script"):  # the load script travels in the QVF
            call.conn.execute("INSERT INTO app_scripts (app_id, script) VALUES (?, ?)", (app_id, str(doc["script"])))
        return shapes.nx_app(call, _require_app(call, app_id))


def app_get(call: Call) -> dict[str, Any]:
    with call.read():
        return shapes.nx_app(call, _require_app(call, call.args[0]))


_APP_SORT = {"name": "a.name", "createdAt": "a.created", "updatedAt": "a.modified"}


def app_ls(call: Call) -> Any:
    where = ["(a.space_id IS NOT NULL OR a.owner_id = ? OR ?)"]  # personal apps: owner (or admin) only
    params: list[Any] = [call.identity, int(call.admin)]
    for flag, sql in (
        ("spaceId", "a.space_id = ?"),
        ("ownerId", "a.owner_id = ?"),
        ("notOwnerId", "a.owner_id <> ?"),
        ("createdByUserId", "a.creator_id = ?"),
        ("notCreatedByUserId", "a.creator_id <> ?"),
        ("name", "a.name = ? COLLATE NOCASE"),
        ("query", "instr(lower(a.name), lower(?)) > 0"),
    ):
        if call.flag(flag):
            where.append(sql)
            params.append(call.flag(flag))
    sort = call.flag("sort") or "-createdAt"
    key = _APP_SORT.get(sort.lstrip("+-"))
    if key is None:
        raise bad_request(f"invalid sort {sort!r}")
    order = f"{key} {'DESC' if sort.startswith('-') else 'ASC'}, a.rowid {'DESC' if sort.startswith('-') else 'ASC'}"
    limit = shapes.limit_of(call)
    with call.read():
        rows = call.conn.execute(
            f"SELECT {shapes.APP_COLUMNS} FROM {shapes.APP_FROM} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?", (*params, limit + 1)
        ).fetchall()
        tenant = shapes.tenant_id(call)
    return shapes.page(call, [shapes.item(call, r, tenant) for r in rows[:limit]], len(rows) > limit, "items")


def app_copy(call: Call) -> dict[str, Any]:
    source_id = call.args[0]
    stamp = call.stamp()
    with call.write():
        src = _require_app(call, source_id)
        space_id = call.flag("attributes-spaceId") or src[4]
        if space_id:
            _require_space(call, space_id)
        app_id = _new_app(
            call,
            name=call.flag("attributes-name") or src[2],
            description=call.flag("attributes-description") or src[3],
            space_id=space_id,
            origin="",
            publish_time="",
            reload=src[12],
            source=f"copy:{source_id}",
        )
        # Copy works on the saved app: pending (unsaved) removals are still part of it. Private
        # objects travel only when the copier owns them; every copy belongs to the copier (INFERRED).
        call.conn.execute(
            "INSERT INTO cloud_objects (app_id, object_id, type, title, description, owner_id, published, approved, created, updated, published_at, tree)"
            " SELECT ?, object_id, type, title, description, ?, published, approved, ?, ?, published_at, tree FROM cloud_objects"
            " WHERE app_id = ? AND (approved = 1 OR published = 1 OR owner_id = ?) ORDER BY rowid",
            (app_id, call.identity, stamp, stamp, source_id, call.identity),
        )
        _copy_script(call, source_id, app_id)
        return shapes.nx_app(call, _require_app(call, app_id))


def app_publish(call: Call) -> dict[str, Any]:
    source_id = call.args[0]
    target_space = call.flag("spaceId")
    if not target_space:
        raise bad_request("spaceId is required")
    stamp = call.stamp()
    with call.write():
        src = _require_app(call, source_id)
        if _require_space(call, target_space) != "managed":
            raise bad_request("apps can only be published to a managed space")
        if call.flag("moveApp"):
            origin = call.flag("originAppId")
            if not origin:
                raise bad_request("originAppId is required when moveApp is true")
            if _app_row(call, origin) is None:
                raise not_found("origin app not found")
            # "The original is moved instead of copied. The current published state of all
            # objects is kept." (apps API, PublishApp.moveApp): objects are not touched.
            call.conn.execute(
                "UPDATE cloud_apps SET space_id = ?, origin_app_id = ?, publish_time = ?, modified = ? WHERE id = ?",
                (target_space, origin, stamp, stamp, source_id),
            )
            return shapes.nx_app(call, _require_app(call, source_id))
        app_id = _new_app(
            call,
            name=call.flag("attributes-name") or src[2],
            description=call.flag("attributes-description") or src[3],
            space_id=target_space,
            origin=source_id,
            publish_time=stamp,
            reload=src[12],
            source=f"publish:{source_id}",
        )
        call.conn.execute(
            "INSERT INTO cloud_objects (app_id, object_id, type, title, description, owner_id, published, approved, created, updated, published_at, tree)"
            " SELECT ?, object_id, type, title, description, ?, 1, 1, ?, ?, ?, tree FROM cloud_objects"
            " WHERE app_id = ? AND approved = 1 ORDER BY rowid",
            (app_id, call.identity, stamp, stamp, stamp, source_id),
        )
        _copy_script(call, source_id, app_id)
        return shapes.nx_app(call, _require_app(call, app_id))


_OBJECT_COLUMNS = "object_id, type, title, description, owner_id, approved, created, updated, published_at"


def object_change_owner(call: Call) -> dict[str, Any]:
    app_id, object_id, owner_id = call.flag("appId"), call.flag("objectId"), call.flag("ownerId")
    with call.write():
        _require_app(call, app_id)
        row = call.conn.execute(f"SELECT {_OBJECT_COLUMNS} FROM cloud_objects WHERE app_id = ? AND object_id = ?", (app_id, object_id)).fetchone()
        if row is None:
            raise not_found("object not found")
        if row[4] != call.identity and not call.admin:
            raise forbidden("only the owner of the object can change its owner")
        if not owner_id:
            raise bad_request("ownerId is required")
        if call.conn.execute("SELECT 1 FROM cloud_users WHERE id = ?", (owner_id,)).fetchone() is None:
            raise HttpError(400, "invalid ownerId: user not found")
        call.conn.execute(
            "UPDATE cloud_objects SET owner_id = ?, updated = ? WHERE app_id = ? AND object_id = ?", (owner_id, call.stamp(), app_id, object_id)
        )
        row = call.conn.execute(f"SELECT {_OBJECT_COLUMNS} FROM cloud_objects WHERE app_id = ? AND object_id = ?", (app_id, object_id)).fetchone()
    return shapes.nx_app_object(call, row)


def _copy_script(call: Call, source_id: str, app_id: str) -> None:
    call.conn.execute("INSERT INTO app_scripts (app_id, script) SELECT ?, script FROM app_scripts WHERE app_id = ?", (app_id, source_id))


def app_rm(call: Call) -> None:
    """`app rm ID`: DELETE /api/v1/apps/{id}; the app and its objects are gone. Prints nothing.

    Who may: the app's owner or an admin.apps client (INFERRED; Qlik also lets space managers).
    """
    app_id = call.args[0]
    with call.write():
        row = call.conn.execute("SELECT owner_id FROM cloud_apps WHERE id = ?", (app_id,)).fetchone()
        if row is None:
            raise not_found("app not found")
        if row[0] != call.identity and not call.admin:
            raise forbidden("only the app's owner may delete it")
        call.conn.execute("DELETE FROM cloud_objects WHERE app_id = ?", (app_id,))
        call.conn.execute("DELETE FROM app_scripts WHERE app_id = ?", (app_id,))
        call.conn.execute("DELETE FROM cloud_apps WHERE id = ?", (app_id,))
    return None

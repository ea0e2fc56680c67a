"""Engine (websocket) commands: `app object|bookmark|dimension|measure ls|layout|publish|unpublish|rm`
and `app build`.

Visibility: identity X sees an object when it is approved (base), published (community), owned
by X, or X is an admin.apps client. Only the owner (or admin.apps) may publish, unpublish or
remove it, and a published object cannot be removed until it is unpublished. `rm --no-save`
marks removals pending; `app build` (the save) applies them. Until then the saved app still
holds the objects, so ls/layout still show them (each qlik call is a new engine session). Whether
an unsaved removal outlives the `qlik` process that made it is not documented: the world's
`unsaved_removals` knob keeps it (`kept`, pending until a later save) or drops it (`dropped`, as
an engine that forgets a closed session's changes would).
"""

from __future__ import annotations

from qliksim.call import Call
from qliksim.errors import ClientRefusal, EngineError, not_found

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Which engine command family handles which object types (docs/qlik-surface.md).
_FAMILY_TYPES = {"bookmark": ("bookmark", "snapshot"), "dimension": ("dimension",), "measure": ("measure",)}
# Not generic objects: they never show up under `app object`. The load script lives in the app,
# not in a generic object.
_NOT_GENERIC = ("bookmark", "snapshot", "dimension", "measure", "app_appscript")
_ENGINE_PRIVILEGES = ["read", "update", "delete", "publish", "exportdata"]
_OBJECT_COLUMNS = "object_id, type, title, owner_id, published, approved"


def _family(call: Call) -> str:
    return call.inv.cmd.path.split()[1]


def _in_family(family: str, object_type: str) -> bool:
    if family == "object":
        return object_type not in _NOT_GENERIC
    return object_type in _FAMILY_TYPES[family]


def _visible(call: Call, row: tuple[Any, ...]) -> bool:
    _oid, _otype, _title, owner, published, approved = row
    return bool(approved or published or owner == call.identity or call.admin)


def _open_app(call: Call) -> str:
    app_id = str(call.flag("app"))
    if call.conn.execute("SELECT 1 FROM cloud_apps WHERE id = ?", (app_id,)).fetchone() is None:
        raise not_found("app not found")  # the websocket upgrade to /app/<id> is refused
    return app_id


def _error(call: Call, kind: tuple[int, str], object_id: str, reason: str = "") -> EngineError:
    return EngineError(kind, reason, object_id=object_id, wording=str(call.knobs.get("engine_wording", "coded")))


def _object(call: Call, app_id: str, object_id: str) -> tuple[Any, ...]:
    row = call.conn.execute(f"SELECT {_OBJECT_COLUMNS} FROM cloud_objects WHERE app_id = ? AND object_id = ?", (app_id, object_id)).fetchone()
    if row is None or not _in_family(_family(call), row[1]):
        raise _error(call, EngineError.NOT_FOUND, object_id)
    if not _visible(call, row):
        hidden = call.knobs.get("hidden_answer")
        raise _error(call, EngineError.NOT_FOUND if hidden == "not_found" else EngineError.ACCESS_DENIED, object_id)
    return row  # type: ignore[no-any-return]


def _require_owner(call: Call, row: tuple[Any, ...]) -> None:
    if row[3] != call.identity and not call.admin:
        raise _error(call, EngineError.ACCESS_DENIED, row[0])


def ls(call: Call) -> Any:
    family = _family(call)
    with call.read():
        app_id = _open_app(call)
        rows = call.conn.execute(f"SELECT {_OBJECT_COLUMNS} FROM cloud_objects WHERE app_id = ? ORDER BY rowid", (app_id,)).fetchall()
    items = [{"qId": r[0], "qType": r[1], "title": r[2]} for r in rows if _in_family(family, r[1]) and _visible(call, r)]
    if call.flag("json") or call.flag("quiet"):
        return items
    lines = [f"{'ID':<40}{'Type':<16}Title"] + [f"{i['qId']:<40}{i['qType']:<16}{i['title']}" for i in items]
    return "\n".join(lines) + "\n"


def layout(call: Call) -> dict[str, Any]:
    with call.read():
        row = _object(call, _open_app(call), call.args[0])
    oid, otype, title, owner, published, approved = row
    mine = owner == call.identity or call.admin
    return {
        "qInfo": {"qId": oid, "qType": otype},
        "qMeta": {
            "title": title,
            "ownerId": owner,
            "published": bool(published),
            "approved": bool(approved),
            "privileges": list(_ENGINE_PRIVILEGES if mine else ["read", "exportdata"]),
        },
        "title": title,
    }


def _set_published(call: Call, published: bool) -> Any:
    object_id = call.args[0]
    with call.write():
        app_id = _open_app(call)
        row = _object(call, app_id, object_id)
        _require_owner(call, row)
        if published and row[4]:
            # qlik-cli 1.4.0 reads the layout first and refuses (REAL); its notice goes to stderr
            raise ClientRefusal(f"cannot publish a published object: {object_id}", f"{object_id} is already published.")
        call.conn.execute(
            "UPDATE cloud_objects SET published = ?, published_at = ?, updated = ? WHERE app_id = ? AND object_id = ?",
            (int(published), call.stamp() if published else "", call.stamp(), app_id, object_id),
        )
    verb = "Publishing" if published else "Unpublishing"
    if published:  # on stderr (REAL 1.4.0); unpublish keeps stdout until its callers are checked
        from qliksim.output import progress

        return b"", progress(bool(call.flag("json")), f"{verb} {_family(call)} {object_id}")
    return f"{verb} {_family(call)} {object_id}"


def publish(call: Call) -> str:
    return _set_published(call, True)


def unpublish(call: Call) -> str:
    return _set_published(call, False)


def rm(call: Call) -> str:
    """All ids or none: the first failure rolls the whole call back."""
    no_save = bool(call.flag("no-save"))
    lines = []
    with call.write():
        app_id = _open_app(call)
        for object_id in call.args:
            row = _object(call, app_id, object_id)
            _require_owner(call, row)
            if row[4]:
                raise _error(call, EngineError.ACCESS_DENIED, object_id, f"object {object_id} is published; unpublish it first")
            if no_save and call.knobs.get("unsaved_removals") == "dropped":
                pass  # checked as a removal is, then lost with this process's engine session
            elif no_save:
                call.conn.execute("UPDATE cloud_objects SET pending_rm = 1 WHERE app_id = ? AND object_id = ?", (app_id, object_id))
            else:
                call.conn.execute("DELETE FROM cloud_objects WHERE app_id = ? AND object_id = ?", (app_id, object_id))
            lines.append(f"Removed {_family(call)} {object_id}")
    return "\n".join(lines) + "\n"


def build(call: Call) -> str:
    """`app build --app A --no-reload --no-data`: here only the save matters (pending removals)."""
    with call.write():
        app_id = _open_app(call)
        if call.flag("no-save"):
            return f"App {app_id} built (not saved)"
        removed = call.conn.execute("DELETE FROM cloud_objects WHERE app_id = ? AND pending_rm = 1", (app_id,)).rowcount
        call.conn.execute("UPDATE cloud_apps SET modified = ? WHERE id = ?", (call.stamp(), app_id))
    return f"App {app_id} saved ({removed} pending removal(s) applied)"

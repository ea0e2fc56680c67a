"""`qlik qrs ...`: the client-managed Repository Service (QRS) side of the world.

Shapes follow the QRS 38.22.0 definitions App, AppCondensed, AppObject, AppObjectCondensed,
User and UserAttribute, with the field order of reference/qlik-cli.md §4.3-4.6.
"""

from __future__ import annotations

import re

from qliksim import qrs_filter, qvf
from qliksim.call import Call
from qliksim.errors import UsageError, bad_request, not_found
from qliksim.output import loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
PRODUCT_VERSION = "14.113.4"

_OWNER_PROPS = {
    "owner.id": ("u.id", "guid", False),
    "owner.userid": ("u.user_id", "str", False),
    "owner.userdirectory": ("u.user_directory", "str", False),
    "owner.name": ("u.name", "str", False),
}
APP_PROPS: qrs_filter.Props = {
    "id": ("a.id", "guid", False),
    "name": ("a.name", "str", False),
    "description": ("a.description", "str", False),
    "published": ("a.published", "bool", False),
    "publishtime": ("a.publish_time", "date", False),
    "createddate": ("a.created", "date", False),
    "modifieddate": ("a.modified", "date", False),
    "modifiedbyusername": ("a.modified_by", "str", False),
    "filesize": ("a.file_size", "int", False),
    "lastreloadtime": ("a.last_reload", "date", False),
    "stream": ("a.stream_id", "guid", True),
    "stream.id": ("a.stream_id", "guid", True),
    "stream.name": ("s.name", "str", True),
    **_OWNER_PROPS,
}
OBJECT_PROPS: qrs_filter.Props = {
    "id": ("o.id", "guid", False),
    "name": ("o.name", "str", False),
    "engineobjectid": ("o.engine_object_id", "str", False),
    "objecttype": ("o.object_type", "str", False),
    "engineobjecttype": ("o.object_type", "str", False),
    "description": ("o.description", "str", False),
    "published": ("o.published", "bool", False),
    "approved": ("o.approved", "bool", False),
    "publishtime": ("o.publish_time", "date", False),
    "createddate": ("o.created", "date", False),
    "modifieddate": ("o.modified", "date", False),
    "modifiedbyusername": ("o.modified_by", "str", False),
    "contenthash": ("o.content_hash", "str", False),
    "size": ("o.size", "int", False),
    # o.app_id (not a.id) so that `app.id eq X` uses the qrs_objects(app_id) index.
    "app": ("o.app_id", "guid", False),
    "app.id": ("o.app_id", "guid", False),
    "app.name": ("a.name", "str", False),
    "app.published": ("a.published", "bool", False),
    "app.stream.id": ("a.stream_id", "guid", True),
    "app.stream.name": ("s.name", "str", True),
    **_OWNER_PROPS,
}
USER_PROPS: qrs_filter.Props = {
    "id": ("u.id", "guid", False),
    "userid": ("u.user_id", "str", False),
    "userdirectory": ("u.user_directory", "str", False),
    "userdirectoryconnectorname": ("u.user_directory", "str", False),
    "name": ("u.name", "str", False),
    "inactive": ("u.inactive", "bool", False),
    "removedexternally": ("u.removed_externally", "bool", False),
    "blacklisted": ("u.blacklisted", "bool", False),
    "createddate": ("u.created", "date", False),
    "modifieddate": ("u.modified", "date", False),
}

_APP_SQL = (
    "SELECT a.id, a.name, a.description, a.published, a.publish_time, a.created, a.modified, a.modified_by,"
    " a.file_size, a.last_reload, a.migration_hash, a.stream_id, s.name, u.id, u.user_id, u.user_directory, u.name"
    " FROM qrs_apps a LEFT JOIN streams s ON s.id = a.stream_id LEFT JOIN qrs_users u ON u.id = a.owner_id"
)
_OBJECT_SQL = (
    "SELECT o.id, o.created, o.modified, o.modified_by, o.name, o.engine_object_id, o.content_hash, o.size,"
    " o.object_type, o.description, o.publish_time, o.published, o.approved,"
    " u.id, u.user_id, u.user_directory, u.name,"
    " a.id, a.name, a.publish_time, a.published, a.migration_hash, a.stream_id, s.name"
    " FROM qrs_objects o JOIN qrs_apps a ON a.id = o.app_id LEFT JOIN streams s ON s.id = a.stream_id"
    " LEFT JOIN qrs_users u ON u.id = o.owner_id"
)
_USER_SQL = (
    "SELECT u.id, u.created, u.modified, u.user_id, u.user_directory, u.name, u.email, u.email_attr_id,"
    " u.inactive, u.removed_externally, u.blacklisted FROM qrs_users u"
)


def _owner(uid: str | None, user_id: str | None, directory: str | None, name: str | None) -> dict[str, Any] | None:
    if uid is None:
        return None
    return {"id": uid, "userId": user_id, "userDirectory": directory, "userDirectoryConnectorName": directory, "name": name, "privileges": None}


def _stream(sid: str | None, name: str | None) -> dict[str, Any] | None:
    return {"id": sid, "name": name, "privileges": None} if sid else None


def _app_condensed(aid: str, name: str, publish_time: str, published: int, mhash: str, sid: str | None, sname: str | None) -> dict[str, Any]:
    return {
        "id": aid,
        "name": name,
        "appId": "",
        "publishTime": publish_time,
        "published": bool(published),
        "stream": _stream(sid, sname),
        "savedInProductVersion": PRODUCT_VERSION,
        "migrationHash": mhash,
        "availabilityStatus": 1,
        "privileges": None,
    }


def render_app(r: tuple[Any, ...]) -> dict[str, Any]:
    (aid, name, desc, published, ptime, created, modified, modified_by, size, reload, mhash, sid, sname, *owner) = r
    return {
        "id": aid,
        "createdDate": created,
        "modifiedDate": modified,
        "modifiedByUserName": modified_by,
        "customProperties": [],
        "owner": _owner(*owner),
        "name": name,
        "appId": "",
        "sourceAppId": ZERO_GUID,
        "targetAppId": ZERO_GUID,
        "publishTime": ptime,
        "published": bool(published),
        "tags": [],
        "description": desc,
        "stream": _stream(sid, sname),
        "fileSize": size,
        "lastReloadTime": reload,
        "thumbnail": "",
        "savedInProductVersion": PRODUCT_VERSION,
        "migrationHash": mhash,
        "dynamicColor": "",
        "availabilityStatus": 1,
        "privileges": None,
        "schemaPath": "App",
    }


def render_object(r: tuple[Any, ...]) -> dict[str, Any]:
    (oid, created, modified, modified_by, name, eid, chash, size, otype, desc, ptime, published, approved) = r[:13]
    owner, app = r[13:17], r[17:]
    return {
        "id": oid,
        "createdDate": created,
        "modifiedDate": modified,
        "modifiedByUserName": modified_by,
        "owner": _owner(*owner),
        "name": name,
        "engineObjectId": eid,
        "app": _app_condensed(*app),
        "contentHash": chash,
        "size": size,
        "engineObjectType": otype,
        "description": desc,
        "attributes": "",
        "objectType": otype,
        "publishTime": ptime,
        "published": bool(published),
        "approved": bool(approved),
        "tags": [],
        "sourceObject": "",
        "draftObject": "",
        "appObjectBlobId": ZERO_GUID,
        "privileges": None,
        "schemaPath": "App.Object",
    }


def render_user(r: tuple[Any, ...]) -> dict[str, Any]:
    uid, created, modified, user_id, directory, name, email, attr_id, inactive, removed, blacklisted = r
    attributes = []
    if email:
        attributes.append(
            {
                "id": attr_id,
                "createdDate": created,
                "modifiedDate": modified,
                "modifiedByUserName": "INTERNAL\\sa_repository",
                "attributeType": "email",
                "attributeValue": email,
                "externalId": email,
                "schemaPath": "UserAttribute",
            }
        )
    return {
        "id": uid,
        "createdDate": created,
        "modifiedDate": modified,
        "modifiedByUserName": "INTERNAL\\sa_repository",
        "customProperties": [],
        "userId": user_id,
        "userDirectory": directory,
        "userDirectoryConnectorName": directory,
        "name": name,
        "roles": [],
        "attributes": attributes,
        "inactive": bool(inactive),
        "removedExternally": bool(removed),
        "blacklisted": bool(blacklisted),
        "deleteProhibited": False,
        "tags": [],
        "privileges": None,
        "schemaPath": "User",
    }


def _query(call: Call, base: str, props: qrs_filter.Props, extra_where: str = "", extra_params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    where, params = [], list(extra_params)
    if extra_where:
        where.append(extra_where)
    text = call.flag("filter")
    if text:
        sql, fparams = qrs_filter.compile_filter(text, props)
        where.append(sql)
        params.extend(fparams)
        qrs_filter.register(call.conn)
    order = " ORDER BY " + _order_by(call.flag("orderby"), props) if call.flag("orderby") else ""
    sql = base + (" WHERE " + " AND ".join(where) if where else "") + order
    with call.read():
        return call.conn.execute(sql, params).fetchall()


def _order_by(text: str, props: qrs_filter.Props) -> str:
    prop, _, direction = text.strip().partition(" ")
    spec = props.get(prop.lower())
    if spec is None or direction.strip().lower() not in ("", "asc", "desc"):
        raise bad_request(f"invalid orderby: {text}")
    return f"{spec[0]} {direction.strip().upper() or 'ASC'}"


def _guid_arg(call: Call) -> str:
    value = call.args[0]
    if not _GUID.match(value):
        raise bad_request(f"{value!r} is not a valid GUID")
    return value.lower()


def app_count(call: Call) -> int:
    return len(_query(call, _APP_SQL, APP_PROPS))


def app_get(call: Call) -> dict[str, Any]:
    rows = _query(call, _APP_SQL, APP_PROPS, "a.id = ?", (_guid_arg(call),))
    if not rows:
        raise not_found("app not found")
    return render_app(rows[0])


def app_full(call: Call) -> list[dict[str, Any]]:
    return [render_app(r) for r in _query(call, _APP_SQL, APP_PROPS)]


def app_ls(call: Call) -> list[dict[str, Any]]:
    return [_app_condensed(r[0], r[1], r[4], r[3], r[10], r[11], r[12]) for r in _query(call, _APP_SQL, APP_PROPS)]


def object_full(call: Call) -> list[dict[str, Any]]:
    rows = [render_object(r) for r in _query(call, _OBJECT_SQL, OBJECT_PROPS)]
    with call.read():
        attrs = dict(call.conn.execute("SELECT object_id, attributes FROM qrs_object_attributes").fetchall())
    if attrs:
        for row in rows:
            row["attributes"] = attrs.get(row["id"], "")
    return rows


def object_ls(call: Call) -> list[dict[str, Any]]:
    out = []
    for r in _query(call, _OBJECT_SQL, OBJECT_PROPS):
        full = render_object(r)
        out.append({k: full[k] for k in ("id", "privileges", "name", "engineObjectId", "contentHash", "engineObjectType", "description", "objectType", "publishTime", "published")})
    return out


def user_full(call: Call) -> list[dict[str, Any]]:
    return [render_user(r) for r in _query(call, _USER_SQL, USER_PROPS)]


def user_get(call: Call) -> dict[str, Any]:
    rows = _query(call, _USER_SQL, USER_PROPS, "u.id = ?", (_guid_arg(call),))
    if not rows:
        raise not_found("user not found")
    return render_user(rows[0])


def _not_a_qvf(kind: str, app_id: str) -> bytes | None:
    """The export_writes knob: an HTML error page or the export ticket instead of the QVF (INFERRED
    shapes: a proxy's error page; QRS AppExportResponse with a token that looks like a secret)."""
    if kind == "html":
        return (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
                b"<body><h1>502 Bad Gateway</h1><p>The proxy could not reach the repository.</p></body></html>\n")
    if kind == "json":
        from qliksim.output import dumps

        return dumps({"exportToken": "d2b1c3e4-0000-4000-8000-00000000feed", "appId": app_id.lower(),
                      "downloadPath": f"/qrs/download/app/{app_id.lower()}/x/app.qvf?access_token=s3cr3tT0ken",
                      "schemaPath": "AppExportResponse", "cancelled": False})
    return None


def app_export(call: Call) -> bytes | None:
    """POST /qrs/app/{id}/export/{token} + GET downloadPath: write the QVF, print nothing."""
    app_id = _guid_arg(call)
    scope = call.flag("exportScope", "approved")
    if scope not in qvf.SCOPES:
        raise bad_request(f"invalid exportScope {scope!r}")
    with call.read():
        app = call.conn.execute("SELECT name, description, last_reload FROM qrs_apps WHERE id = ?", (app_id,)).fetchone()
        if app is None:
            raise not_found("app not found")
        rows = call.conn.execute(
            "SELECT engine_object_id, object_type, name, description, published, approved, tree FROM qrs_objects WHERE app_id = ? ORDER BY rowid",
            (app_id,),
        ).fetchall()
        script = call.conn.execute("SELECT script FROM app_scripts WHERE app_id = ?", (app_id,)).fetchone()
    objects = [
        {"engineObjectId": eid, "type": otype, "title": title, "description": desc, "published": bool(pub), "approved": bool(appr),
         **({"tree": loads(tree)} if tree else {})}
        for eid, otype, title, desc, pub, appr, tree in rows
        if qvf.in_scope(scope, bool(pub), bool(appr))
    ]
    data = qvf.encode(
        {"qrsAppId": app_id, "name": app[0], "description": app[1], "lastReloadTime": app[2], "exportScope": scope, "skipData": bool(call.flag("skipdata")),
         "script": script[0] if script else ""},
        objects,
    )
    data = _not_a_qvf(str(call.knobs.get("export_writes", "qvf")), app_id) or data
    target = call.flag("output-file")
    if not target:
        return data  # binary downloads go to stdout without --output-file (reference §1.3)
    enospc = call.dice is not None and call.dice.enospc < float(call.knobs["export_enospc"])
    try:
        with open(target, "wb") as fh:
            fh.write(data[: len(data) // 2] if enospc else data)
    except FileNotFoundError:
        raise UsageError(f"open {target}: no such file or directory") from None
    except IsADirectoryError:
        raise UsageError(f"open {target}: is a directory") from None
    except PermissionError:
        raise UsageError(f"open {target}: permission denied") from None
    if enospc:
        exc = UsageError(f"write {target}: no space left on device")
        exc.fault = "export_enospc"
        raise exc
    return None


"""`qlik user ...` and `qlik space ...` (Qlik Cloud users and spaces APIs, read tier)."""

from __future__ import annotations

from qliksim import cloud_shapes as shapes
from qliksim import scim_filter
from qliksim.call import Call
from qliksim.errors import UsageError, bad_request, not_found

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_USER_SORT = {"name": "name", "email": "email", "subject": "subject", "status": "status", "createdAt": "created", "lastUpdatedAt": "updated", "id": "id"}
_SPACE_SORT = {"name": "name", "type": "type", "createdAt": "created", "updatedAt": "updated"}


def _sort(text: str | None, columns: dict[str, str]) -> str:
    if not text:
        return "rowid"
    desc = text.startswith("-")
    key = text.lstrip("+-")
    if key not in columns:
        raise bad_request(f"invalid sort {text!r}")
    return f"{columns[key]} {'DESC' if desc else 'ASC'}"


def user_me(call: Call) -> dict[str, Any]:
    return _user_by_id(call, call.identity)


def user_get(call: Call) -> dict[str, Any]:
    return _user_by_id(call, call.args[0])


def _user_by_id(call: Call, uid: str) -> dict[str, Any]:
    with call.read():
        row = call.conn.execute(f"SELECT {shapes.USER_COLUMNS} FROM cloud_users WHERE id = ?", (uid,)).fetchone()
        tenant = shapes.tenant_id(call)
    if row is None:
        raise not_found("user not found")
    return shapes.user(call, row, tenant)


def user_count(call: Call) -> dict[str, int]:
    with call.read():
        return {"total": call.conn.execute("SELECT count(*) FROM cloud_users").fetchone()[0]}


def user_ls(call: Call) -> Any:
    where, params = [], []
    text, email = call.flag("filter"), call.flag("email")
    if text and email:
        raise UsageError("the deprecated flag --email cannot be combined with --filter")
    if text:
        sql, fparams = scim_filter.compile_filter(text, scim_filter.USER_ATTRS)
        scim_filter.register(call.conn)
        where.append(sql)
        params.extend(fparams)
    if email:
        where.append("email = ? COLLATE NOCASE")
        params.append(email)
    limit = shapes.limit_of(call)
    sql = f"SELECT {shapes.USER_COLUMNS} FROM cloud_users"
    sql += (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {_sort(call.flag('sort'), _USER_SORT)} LIMIT ?"
    with call.read():
        rows = call.conn.execute(sql, (*params, limit + 1)).fetchall()
        tenant = shapes.tenant_id(call)
    users = [shapes.user(call, r, tenant) for r in rows[:limit]]
    fields = [f.strip() for f in (call.flag("fields") or "").split(",") if f.strip()]
    if fields:
        users = [{k: u[k] for k in fields if k in u} for u in users]
    return shapes.page(call, users, len(rows) > limit, "users")


def space_get(call: Call) -> dict[str, Any]:
    with call.read():
        row = call.conn.execute(f"SELECT {shapes.SPACE_COLUMNS} FROM spaces WHERE id = ?", (call.args[0],)).fetchone()
        tenant = shapes.tenant_id(call)
    if row is None:
        raise not_found("space not found")
    return shapes.space(call, row, tenant)


def space_ls(call: Call) -> Any:
    where: list[str] = []
    params: list[Any] = []
    text = call.flag("filter")
    if text:
        sql, fparams = scim_filter.compile_filter(text, scim_filter.SPACE_ATTRS)
        where.append(sql)
        params.extend(fparams)
    if call.flag("name"):  # fuzzy: case-insensitive "contains" ("fin" matches "Griffin")
        where.append("sim_contains(name, ?)")
        params.append(call.flag("name"))
    if call.flag("type"):
        types = [t.strip() for t in call.flag("type").split(",") if t.strip()]
        where.append(f"type IN ({','.join('?' * len(types))})")
        params.extend(types)
    if call.flag("ownerId"):
        where.append("owner_id = ?")
        params.append(call.flag("ownerId"))
    if call.flag("action") == "publish":
        where.append("type = 'managed'")
    if call.knobs.get("hide_spaces_from") and call.context is not None and call.knobs["hide_spaces_from"] == call.context["name"]:
        where.append("type = 'data'")  # a helper the run's spaces were not shared with (identities.py)
    scim_filter.register(call.conn)
    limit = shapes.limit_of(call)
    sql = f"SELECT {shapes.SPACE_COLUMNS} FROM spaces"
    sql += (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {_sort(call.flag('sort'), _SPACE_SORT)} LIMIT ?"
    with call.read():
        rows = call.conn.execute(sql, (*params, limit + 1)).fetchall()
        tenant = shapes.tenant_id(call)
    return shapes.page(call, [shapes.space(call, r, tenant) for r in rows[:limit]], len(rows) > limit, "spaces")

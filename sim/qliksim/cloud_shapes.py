"""JSON shapes of the Qlik Cloud REST side: NxApp, item records, NxAppObject, User, Space.

Field names come from @qlik/api 2.19.0 (specs/qlik-cloud-types.json) and the JSON examples of
reference/qlik-cli.md §4.7-4.14; values are the world's.
"""

from __future__ import annotations

from qliksim.call import Call
from qliksim.output import iso_seconds

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_PAGE = 10  # what a Cloud list returns without --limit: the first page only

APP_COLUMNS = (
    "a.id, a.item_id, a.name, a.description, a.space_id, a.owner_id, a.creator_id, a.origin_app_id,"
    " a.published, a.publish_time, a.created, a.modified, a.last_reload, u.subject"
)
APP_FROM = "cloud_apps a LEFT JOIN cloud_users u ON u.id = a.owner_id"
APP_PRIVILEGES = ["read", "update", "delete", "reload", "export", "exportdata", "duplicate", "change_owner", "change_space"]
APP_PRIVILEGES_OTHER = ["read", "duplicate"]
OBJECT_PRIVILEGES = ["read", "update", "delete", "publish", "exportdata", "change_owner"]
ROLE_IDS = {"Professional": "605a1c2b3d4e5f6a7b8c9d0e", "Analyzer": "605a1c2b3d4e5f6a7b8c9d0f", "TenantAdmin": "605a1c2b3d4e5f6a7b8c9d10"}
SPACE_ROLES = {
    "shared": (["create", "read", "update", "delete"], ["producer"], ["codeveloper", "consumer", "dataconsumer", "facilitator", "producer"]),
    "managed": (
        ["create", "read", "update", "delete", "publish"],
        ["publisher"],
        ["basicconsumer", "consumer", "contributor", "dataconsumer", "facilitator", "publisher"],
    ),
    "data": (["create", "read", "update", "delete"], ["producer"], ["consumer", "dataconsumer", "facilitator", "operator", "producer"]),
}


def app_attributes(r: tuple[Any, ...]) -> dict[str, Any]:
    aid, _item, name, desc, space_id, owner_id, _creator, origin, published, ptime, created, modified, reload, subject = r
    attrs: dict[str, Any] = {
        "id": aid,
        "name": name,
        "description": desc,
        "thumbnail": "",
        "lastReloadTime": reload,
        "createdDate": created,
        "modifiedDate": modified,
        "owner": subject or "",
        "ownerId": owner_id,
        "dynamicColor": "",
        "published": bool(published),
        "publishTime": ptime,
        "custom": {},
        "hasSectionAccess": False,
        "encrypted": True,
        "originAppId": origin,
    }
    if space_id:  # present only when the app is in a space (Qlik's own scripts test for it)
        attrs["spaceId"] = space_id
    attrs.update({"_resourcetype": "app", "usage": "ANALYTICS", "isDirectQueryMode": False})
    return attrs


def nx_app(call: Call, r: tuple[Any, ...]) -> dict[str, Any]:
    mine = call.admin or r[5] == call.identity
    return {
        "attributes": app_attributes(r),
        "privileges": list(APP_PRIVILEGES if mine else APP_PRIVILEGES_OTHER),
        "create": [{"resource": "sheet", "canCreate": True}, {"resource": "bookmark", "canCreate": True}],
    }


def item(call: Call, r: tuple[Any, ...], tenant_id: str) -> dict[str, Any]:
    aid, item_id, name, desc, space_id, owner_id, creator_id = r[:7]
    created, modified = iso_seconds(r[10]), iso_seconds(r[11])
    full = app_attributes(r)
    resource = {k: full[k] for k in ("id", "name", "description", "spaceId", "ownerId", "published", "publishTime", "originAppId", "usage") if k in full}
    actions = ["read", "update"] if (call.admin or owner_id == call.identity) else ["read"]
    return {
        "id": item_id,
        "name": name,
        "resourceId": aid,
        "resourceType": "app",
        "resourceSubType": "",
        "resourceAttributes": resource,
        "resourceCustomAttributes": None,
        "resourceCreatedAt": created,
        "resourceUpdatedAt": modified,
        "resourceReloadEndTime": "",
        "resourceReloadStatus": "",
        **({"spaceId": space_id} if space_id else {}),  # optional: absent for a personal app
        "ownerId": owner_id,
        "creatorId": creator_id,
        "updaterId": owner_id,
        "tenantId": tenant_id,
        "collectionIds": [],
        "isFavorited": False,
        "actions": actions,
        "meta": {"actions": actions, "collections": [], "isFavorited": False, "tags": []},
        "links": {"self": {"href": f"{call.server}/api/v1/items/{item_id}"}},
        "createdAt": created,
        "updatedAt": modified,
    }


def generic_type(object_type: str) -> str:
    if object_type in ("bookmark", "snapshot"):
        return "genericBookmark"
    if object_type == "dimension":
        return "genericDimension"
    if object_type == "measure":
        return "genericMeasure"
    return "genericObject"


def nx_app_object(call: Call, r: tuple[Any, ...]) -> dict[str, Any]:
    """r = (object_id, type, title, description, owner_id, approved, created, updated, published_at)."""
    oid, otype, title, desc, owner_id, approved, created, updated, published_at = r
    mine = call.admin or owner_id == call.identity
    return {
        "attributes": {
            "id": oid,
            "name": title,
            "objectType": otype,
            "genericType": generic_type(otype),
            "ownerId": owner_id,
            "approved": bool(approved),
            "description": desc,
            "createdAt": iso_seconds(created),
            "updatedAt": iso_seconds(updated),
            "publishedAt": iso_seconds(published_at),
        },
        "privileges": list(OBJECT_PRIVILEGES if mine else ["read"]),
    }


USER_COLUMNS = "id, name, email, subject, status, created, updated, assigned_scopes, role"


def user(call: Call, r: tuple[Any, ...], tenant_id: str) -> dict[str, Any]:
    uid, name, email, subject, status, created, updated, scopes, role = r
    out: dict[str, Any] = {
        "id": uid,
        "tenantId": tenant_id,
        "name": name,
        "email": email,
        "subject": subject,
        "status": status,
        "createdAt": iso_seconds(created),
        "lastUpdatedAt": iso_seconds(updated),
        "assignedRoles": [{"id": ROLE_IDS.get(role, ROLE_IDS["Professional"]), "name": role, "type": "default", "level": "user"}],
        "assignedGroups": [],
    }
    if scopes:
        out["assignedScopes"] = scopes.split(",")
    out["links"] = {"self": {"href": f"{call.server}/api/v1/users/{uid}"}}
    return out


SPACE_COLUMNS = "id, type, name, description, owner_id, created, updated"


def space(call: Call, r: tuple[Any, ...], tenant_id: str) -> dict[str, Any]:
    sid, stype, name, desc, owner_id, created, updated = r
    actions, roles, assignable = SPACE_ROLES[stype]
    href = f"{call.server}/api/v1/spaces/{sid}"
    return {
        "id": sid,
        "type": stype,
        "name": name,
        "description": desc,
        "ownerId": owner_id,
        "tenantId": tenant_id,
        "createdAt": iso_seconds(created),
        "createdBy": owner_id,
        "updatedAt": iso_seconds(updated),
        "meta": {"actions": list(actions), "roles": list(roles), "assignableRoles": list(assignable)},
        "links": {"self": {"href": href}, "assignments": {"href": f"{href}/assignments"}},
    }


def limit_of(call: Call) -> int:
    limit = call.flag("limit")
    return int(limit) if limit and int(limit) > 0 else DEFAULT_PAGE


def page(call: Call, items: list[Any], more: bool, path: str) -> Any:
    """A list command's output: the bare array, or with --raw the API's first-page envelope."""
    if not call.flag("raw"):
        return items
    links: dict[str, Any] = {"self": {"href": f"{call.server}/api/v1/{path}"}}
    if more:
        links["next"] = {"href": f"{call.server}/api/v1/{path}?limit={len(items)}&next=page2"}
    return {"data": items, "links": links}


def tenant_id(call: Call) -> str:
    return str(call.conn.execute("SELECT value FROM meta WHERE key = 'tenant_id'").fetchone()[0])

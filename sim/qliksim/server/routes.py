"""The REST routes: Qlik Cloud under /api/v1 and QRS under /qrs, each turned into one command of
the simulator's model with the flags qlik-cli would have passed.

Shapes follow the Qlik Cloud OpenAPI specs (apps, items, spaces; users from @qlik/api) and the
QRS Swagger 38.22.0: list endpoints answer `{"data": [...], "links": {...}}` with cursor links,
QRS answers bare arrays and `{"value": n}` counts.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import urllib.parse

from qliksim.cloud_shapes import DEFAULT_PAGE
from qliksim.errors import HttpError, bad_request, not_found
from qliksim.server import model_call

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

MAX_LIMIT = 100  # every Cloud list this tool uses: `limit` between 1 and 100 (OpenAPI specs)
XRF_HEADER = "X-Qlik-Xrfkey"


class Response:
    __slots__ = ("status", "body", "content_type", "headers")

    def __init__(self, status: int, body: bytes = b"", content_type: str = "application/json", headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}


def ok(payload: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(payload, ensure_ascii=False).encode())


class Request:
    __slots__ = ("server", "method", "path", "query", "headers", "body", "caller", "match")

    def __init__(self, server: Any, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes) -> None:
        self.server = server
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.caller: model_call.Caller | None = None
        self.match: re.Match[str] | None = None

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def group(self, n: int) -> str:
        assert self.match is not None
        return urllib.parse.unquote(self.match.group(n))

    def json(self) -> dict[str, Any]:
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            raise bad_request("the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise bad_request("the request body must be a JSON object")
        return data

    def run(self, command: str, flags: dict[str, Any], args: list[str] | None = None) -> Any:
        assert self.caller is not None
        return model_call.run(self.server.state, self.server.base_url, self.caller, command, flags, args, via=f"{self.method} {self.path}")


_ROUTES: list[tuple[str, re.Pattern[str], Callable[[Request], Response]]] = []


def route(method: str, pattern: str) -> Callable[[Callable[[Request], Response]], Callable[[Request], Response]]:
    def register(func: Callable[[Request], Response]) -> Callable[[Request], Response]:
        _ROUTES.append((method, re.compile(f"^{pattern}/?$"), func))
        return func

    return register


def dispatch(req: Request) -> Response:
    known_path = False
    for method, pattern, func in _ROUTES:
        match = pattern.match(req.path)
        if match is None:
            continue
        known_path = True
        if method != req.method:
            continue
        req.match = match
        if req.path.startswith("/qrs/"):
            _check_xrfkey(req)
        req.caller = model_call.authenticate(req.server.state, req.headers.get("Authorization"))
        if req.caller is None:
            raise HttpError(401, "missing or invalid bearer token", title="Unauthorized")
        return func(req)
    if known_path:
        raise HttpError(405, f"method {req.method} not allowed on {req.path}", title="Method Not Allowed")
    raise not_found(f"no route for {req.path}")


# --- paging (Cloud lists) ---


def _limit(req: Request) -> int:
    text = req.q("limit")
    if text is None or text == "":
        return DEFAULT_PAGE
    try:
        limit = int(text)
    except ValueError:
        raise bad_request(f"limit must be an integer, got {text!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def _offset(req: Request) -> int:
    cursor = req.q("next") or req.q("prev")
    if not cursor:
        return 0
    if not (cursor.startswith("o") and cursor[1:].isdigit()):
        raise bad_request(f"invalid page cursor {cursor!r}")
    return int(cursor[1:])


def _paged(req: Request, command: str, flags: dict[str, Any], keep: Callable[[dict[str, Any]], bool] | None = None) -> Response:
    """One page of a model listing: the model lists up to offset+limit, the page is the tail."""
    limit, offset = _limit(req), _offset(req)
    result = req.run(command, {**flags, "limit": str(offset + limit), "raw": True})
    data = result["data"][offset:]
    if keep is not None:
        data = [d for d in data if keep(d)]
    links: dict[str, Any] = {"self": {"href": _href(req, {})}}
    if "next" in result["links"]:
        links["next"] = {"href": _href(req, {"limit": str(limit), "next": f"o{offset + limit}", "prev": None})}
    if offset:
        links["prev"] = {"href": _href(req, {"limit": str(limit), "prev": f"o{max(0, offset - limit)}", "next": None})}
    return ok({"data": data, "links": links})


def _href(req: Request, changes: dict[str, str | None]) -> str:
    query = {k: v[0] for k, v in req.query.items()}
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    tail = ("?" + urllib.parse.urlencode(query)) if query else ""
    return f"{req.server.base_url}{req.path}{tail}"


def _pick(req: Request, *names: str) -> dict[str, Any]:
    return {name: req.q(name) for name in names if req.q(name)}


def _scim_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- Qlik Cloud: spaces, users, items ---


@route("GET", "/api/v1/spaces")
def spaces_list(req: Request) -> Response:
    return _paged(req, "space ls", _pick(req, "filter", "name", "type", "ownerId", "action", "sort"))


@route("GET", "/api/v1/spaces/([^/]+)")
def space_get(req: Request) -> Response:
    return ok(req.run("space get", {}, [req.group(1)]))


@route("GET", "/api/v1/data-connections")
def data_connections_list(req: Request) -> Response:
    return _paged(req, "data-connection ls", _pick(req, "spaceId"))


@route("GET", "/api/v1/quotas")
def quotas_list(req: Request) -> Response:
    return ok({"data": req.run("quota ls", _pick(req, "reportUsage"))})


@route("GET", "/api/v1/users")
def users_list(req: Request) -> Response:
    flags = _pick(req, "filter", "email", "fields", "sort")
    subject = req.q("subject")  # the older users API (qlik-cli 1.x `user ls --subject`)
    if subject:
        exact = f"subject eq {_scim_string(subject)}"
        flags["filter"] = f"({flags['filter']}) and {exact}" if "filter" in flags else exact
    return _paged(req, "user ls", flags)


@route("GET", "/api/v1/users/me")
def users_me(req: Request) -> Response:
    return ok(req.run("user me", {}))


@route("GET", "/api/v1/users/actions/count")
def users_count(req: Request) -> Response:
    return ok(req.run("user count", {}))


@route("GET", "/api/v1/users/([^/]+)")
def user_get(req: Request) -> Response:
    return ok(req.run("user get", {}, [req.group(1)]))


@route("GET", "/api/v1/items")
def items_list(req: Request) -> Response:
    kinds = [k for k in (req.q("resourceType") or "app").split(",") if k]
    if "app" not in kinds:  # the world holds apps only
        return ok({"data": [], "links": {"self": {"href": _href(req, {})}}})
    flags = _pick(req, "spaceId", "name", "ownerId", "notOwnerId", "createdByUserId", "notCreatedByUserId", "query", "sort")
    resource_id = req.q("resourceId")
    return _paged(req, "app ls", flags, (lambda d: d["resourceId"] == resource_id) if resource_id else None)


@route("POST", "/api/v1/items")
def item_create(req: Request) -> Response:
    """qlik-cli 1.x registers an imported app as an item itself; the world made the item with the
    app, so this answers that item (and refuses an app it does not know)."""
    body = req.json()
    resource_id = str(body.get("resourceId") or "")
    if body.get("resourceType", "app") != "app" or not resource_id:
        raise bad_request("resourceType app and resourceId are required")
    name = body.get("name") or req.run("app get", {}, [resource_id])["attributes"]["name"]
    found = [d for d in req.run("app ls", {"name": name, "limit": str(MAX_LIMIT), "raw": True})["data"] if d["resourceId"] == resource_id]
    if not found:
        raise not_found("app not found")
    return ok(found[0], 201)


# --- Qlik Cloud: apps ---


@route("GET", "/api/v1/apps/([^/]+)")
def app_get(req: Request) -> Response:
    return ok(req.run("app get", {}, [req.group(1)]))


@route("DELETE", "/api/v1/apps/([^/]+)")
def app_rm(req: Request) -> Response:
    req.run("app rm", {}, [req.group(1)])
    return Response(200)


@route("POST", "/api/v1/apps/([^/]+)/copy")
def app_copy(req: Request) -> Response:
    attrs = req.json().get("attributes") or {}
    flags = {f"attributes-{k}": attrs[k] for k in ("name", "spaceId", "description") if attrs.get(k)}
    return ok(req.run("app copy", flags, [req.group(1)]), 201)


@route("POST", "/api/v1/apps/([^/]+)/publish")
def app_publish(req: Request) -> Response:
    body = req.json()
    attrs = body.get("attributes") or {}
    flags: dict[str, Any] = {k: body[k] for k in ("spaceId", "originAppId", "data") if body.get(k)}
    if body.get("moveApp"):
        flags["moveApp"] = True
    flags.update({f"attributes-{k}": attrs[k] for k in ("name", "description") if attrs.get(k)})
    return ok(req.run("app publish create", flags, [req.group(1)]))


@route("POST", "/api/v1/apps/([^/]+)/objects/([^/]+)/actions/change-owner")
def object_change_owner(req: Request) -> Response:
    flags = {"appId": req.group(1), "objectId": req.group(2), "ownerId": req.json().get("ownerId") or ""}
    return ok(req.run("app object change-owner", flags))


@route("POST", "/api/v1/apps/import")
def app_import(req: Request) -> Response:
    flags: dict[str, Any] = _pick(req, "spaceId", "name", "mode", "fallbackName", "appId")
    file_id = req.q("fileId")
    if file_id:
        flags["fileId"] = file_id
        path = req.server.uploads.get(file_id)
        if path:
            flags["file"] = path
    elif req.body:
        flags["file"] = _save(req, req.body)
    return ok(req.run("app import", flags), 201)


@route("POST", "/api/v1/temp-contents")
def temp_content_upload(req: Request) -> Response:
    file_id = _store_upload(req, req.body)
    return Response(201, b"", headers={"Location": f"{req.server.base_url}/api/v1/temp-contents/{file_id}"})


def _save(req: Request, data: bytes) -> str:
    path = os.path.join(req.server.scratch.name, secrets.token_hex(8) + ".qvf")
    with open(path, "wb") as fh:
        fh.write(data)
    return path


def _store_upload(req: Request, data: bytes) -> str:
    path = _save(req, data)
    file_id = os.path.basename(path)[:-4]
    with req.server.lock:
        req.server.uploads[file_id] = path
    return file_id


# --- QRS ---


def _check_xrfkey(req: Request) -> None:
    """QRS refuses a request whose xrfkey parameter is missing or differs from the header."""
    key = next((v[0] for k, v in req.query.items() if k.lower() == "xrfkey"), None)
    header = req.headers.get(XRF_HEADER)
    if not key or len(key) != 16 or key != header:
        raise HttpError(403, "XSRF prevention check failed. Possible XSRF discovered.", title="Forbidden")


def _qrs_flags(req: Request) -> dict[str, Any]:
    lower = {k.lower(): v[0] for k, v in req.query.items()}
    flags: dict[str, Any] = {k: lower[k] for k in ("filter", "orderby") if lower.get(k)}
    if lower.get("privileges", "").lower() == "true":
        flags["privileges"] = True
    return flags


@route("GET", "/qrs/about")
def qrs_about(req: Request) -> Response:
    assert req.caller is not None
    if req.caller.context["server_type"] != "windows":  # the model's rule for every QRS path
        raise HttpError(404, "page not found")
    return ok({"buildVersion": "38.22.0.0", "buildDate": "9/20/2013 10:09:00 AM", "databaseProvider": "Devart.Data.PostgreSql",
               "nodeType": 1, "sharedPersistence": True, "requiresBootstrap": False, "singleNodeOnly": False, "schemaPath": "About"})


@route("GET", "/qrs/app")
def qrs_app_list(req: Request) -> Response:
    return ok(req.run("qrs app ls", _qrs_flags(req)))


@route("GET", "/qrs/app/full")
def qrs_app_full(req: Request) -> Response:
    return ok(req.run("qrs app full", _qrs_flags(req)))


@route("GET", "/qrs/app/count")
def qrs_app_count(req: Request) -> Response:
    flags = {k: v for k, v in _qrs_flags(req).items() if k == "filter"}
    return ok({"value": req.run("qrs app count", flags)})


@route("GET", "/qrs/app/object")
def qrs_object_list(req: Request) -> Response:
    return ok(req.run("qrs app object ls", _qrs_flags(req)))


@route("GET", "/qrs/app/object/full")
def qrs_object_full(req: Request) -> Response:
    return ok(req.run("qrs app object full", _qrs_flags(req)))


@route("GET", "/qrs/user/full")
def qrs_user_full(req: Request) -> Response:
    return ok(req.run("qrs user full", _qrs_flags(req)))


@route("GET", "/qrs/user/([^/]+)")
def qrs_user_get(req: Request) -> Response:
    return ok(req.run("qrs user get", {}, [req.group(1)]))


@route("GET", "/qrs/app/([^/]+)")
def qrs_app_get(req: Request) -> Response:
    return ok(req.run("qrs app get", {}, [req.group(1)]))


@route("POST", "/qrs/app/([^/]+)/export/([^/]+)")
def qrs_app_export(req: Request) -> Response:
    """The export ticket: the QVF is made now and held until its download."""
    lower = {k.lower(): v[0] for k, v in req.query.items()}
    flags: dict[str, Any] = {"exportScope": lower.get("exportscope") or "approved"}
    if lower.get("skipdata", "").lower() == "true":
        flags["skipdata"] = True
    app_id, token = req.group(1), req.group(2)
    data = req.run("qrs app export create", flags, [app_id])
    with req.server.lock:
        req.server.exports[token] = data
    ticket = {"exportToken": token, "appId": app_id.lower(), "downloadPath": f"/qrs/download/app/{app_id.lower()}/{token}/{app_id.lower()}.qvf",
              "schemaPath": "AppExportResponse", "cancelled": False}
    return ok(ticket, 201)


@route("GET", "/qrs/download/app/([^/]+)/([^/]+)/([^/]+)")
def qrs_download(req: Request) -> Response:
    with req.server.lock:
        data = req.server.exports.pop(req.group(2), None)
    if data is None:
        raise not_found("export ticket not found")
    return Response(200, data, "application/octet-stream")

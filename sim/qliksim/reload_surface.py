"""What decides whether a migrated app will reload: its load script (`app script get/set`), the
connections it can resolve (`app connection ls`), the tenant's data connections per space
(`data-connection ls`) and quotas (`quota ls`).

Rules (INFERRED where docs/qlik-surface.md says so):
- `app script get` works on a Cloud app, and on a client-managed site for qlik-cli 2.25.0+ (the
  version that sends the CSRF token the QSEoW proxy wants on the engine websocket); an older
  version's websocket is refused there (engine connect error).
- `app script set FILE` replaces the script and saves the app (unless --no-save); never reloads.
- `app connection ls` (engine GetConnections): the connections of the app's space by their name,
  and those of the other spaces the caller sees as `Space:Name`.
- `data-connection ls [--spaceId S]` (REST, DOC): `{id, qName, qType, space}` items.
- `quota ls [--reportUsage true]` (REST, DOC): `{id, type: "quotas", attributes: {quota, unit,
  usage?}}`; refused with 403 when the world's `quota_access` knob is `forbidden`.
"""

from __future__ import annotations

from qliksim.call import Call
from qliksim.errors import EngineError, HttpError, UsageError, not_found

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CSRF_VERSION = (2, 25, 0)


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.lstrip("v").split("-")[0].split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def _app(call: Call) -> str:
    app_id = str(call.flag("app"))
    table = "qrs_apps" if _on_site(call) else "cloud_apps"
    if call.conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (app_id,)).fetchone() is None:
        raise not_found("app not found")
    return app_id


def _on_site(call: Call) -> bool:
    return bool(call.context and call.context["server_type"] == "windows")


def script_get(call: Call) -> str:
    if _on_site(call):
        version = str(call.knobs.get("version", ""))
        if version and _version(version) < CSRF_VERSION:
            # The proxy refuses the websocket without the CSRF token (INFERRED wording, as the
            # engine-connect failure qlik-cli prints: fixtures/qlik/engine_connect_failed.json)
            raise UsageError("could not connect to engine: websocket: bad handshake (403 Forbidden: missing CSRF token)")
    with call.read():
        app_id = _app(call)
        row = call.conn.execute("SELECT script FROM app_scripts WHERE app_id = ?", (app_id,)).fetchone()
    return "" if row is None else str(row[0])


def script_set(call: Call) -> str:
    path = call.args[0]
    try:
        with open(path, encoding="utf-8") as fh:
            script = fh.read()
    except FileNotFoundError:
        raise UsageError(f"open {path}: no such file or directory") from None
    with call.write():
        app_id = _app(call)
        owner = call.conn.execute("SELECT owner_id FROM cloud_apps WHERE id = ?", (app_id,)).fetchone()
        if owner is not None and owner[0] != call.identity and not call.admin:
            raise EngineError(EngineError.ACCESS_DENIED)
        call.conn.execute("INSERT INTO app_scripts (app_id, script) VALUES (?, ?) ON CONFLICT (app_id) DO UPDATE SET script = excluded.script",
                          (app_id, script))
    return "" if call.flag("no-save") else f"App {app_id} saved"


def connection_ls(call: Call) -> Any:
    with call.read():
        app_id = _app(call)
        row = call.conn.execute("SELECT space_id FROM cloud_apps WHERE id = ?", (app_id,)).fetchone()
        space_id = row[0] if row else None
        rows = call.conn.execute(
            "SELECT c.id, c.name, c.type, c.space_id, s.name FROM data_connections c LEFT JOIN spaces s ON s.id = c.space_id ORDER BY c.rowid"
        ).fetchall()
    out = []
    for cid, name, ctype, cspace, space_name in rows:
        if cspace == space_id:
            shown = name
        elif cspace is None or space_name is None:
            continue  # another user's personal space
        else:
            shown = f"{space_name}:{name}"
        out.append({"qId": cid, "qName": shown, "qConnectionString": "CUSTOM CONNECT TO \"provider=...\"", "qType": ctype})
    return out


def data_connection_ls(call: Call) -> Any:
    from qliksim import cloud_shapes as shapes

    space = call.flag("spaceId")
    limit = int(call.flag("limit") or 10)
    with call.read():
        sql = "SELECT id, name, type, space_id, owner_id, created FROM data_connections"
        params: tuple[str, ...] = ()
        if space:
            sql += " WHERE space_id = ?"
            params = (space,)
        rows = call.conn.execute(sql + " ORDER BY rowid", params).fetchall()
    items = [{"id": cid, "qName": name, "qType": ctype, "space": sid or "", "owner": owner, "created": created, "qArchitecture": 0}
             for cid, name, ctype, sid, owner, created in rows]
    return shapes.page(call, items[:limit], len(items) > limit, "data-connections")


def quota_ls(call: Call) -> Any:
    if call.knobs.get("quota_access") == "forbidden":
        raise HttpError(403, "forbidden: the identity may not read the tenant's quotas")
    usage = str(call.flag("reportUsage") or "false").lower() == "true"
    with call.read():
        rows = call.conn.execute("SELECT id, quota, usage, unit FROM quotas ORDER BY id").fetchall()
    out = []
    for qid, quota, used, unit in rows:
        attrs: dict[str, Any] = {"quota": _number(quota), "unit": unit, "warningThresholds": [0.9]}
        if usage:
            attrs["usage"] = _number(used)
        out.append({"id": qid, "type": "quotas", "attributes": attrs})
    return out


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value

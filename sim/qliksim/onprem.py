"""On-prem changes after a migration: users keep working on the client-managed site until their
group is switched over. `qlik-sim onprem add|change|delete|wave` (and these functions) write them
into a world's QRS side, so `qrs app object full` and `qrs app export create` see them.

- add: a new object of an owner, private or community (base too, for completeness), with a
  property tree (sheets and stories get children) that an export carries;
- change: a new title and a changed property; `modifiedDate` (and the app's) move forward;
- delete: the object is gone from the QRS (and from later exports).
"""

from __future__ import annotations

import json
import time

from qliksim import ids
from qliksim.output import iso_now
from qliksim.store import Tx, connect, meta, next_counter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

STATES = {"private": (0, 0), "community": (1, 0), "base": (1, 1)}
TYPES = ("sheet", "story", "bookmark", "snapshot", "masterobject", "dimension", "measure")
_SHORT_ID_TYPES = ("masterobject", "dimension", "measure")
_CHILD_TYPES = {"sheet": ("barchart", "kpi", "table"), "story": ("slide",)}
_UNPUBLISHED = "1753-01-01T00:00:00.000Z"  # QRS's "never published" sentinel


def _owner(conn: Any, owner: str) -> tuple[str, str]:
    """'DIR\\user' or 'user' -> (QRS user id, 'DIR\\user')."""
    directory, _, user = owner.rpartition("\\")
    sql = "SELECT id, user_directory, user_id FROM qrs_users WHERE user_id = ? COLLATE NOCASE"
    rows = conn.execute(sql + (" AND user_directory = ? COLLATE NOCASE" if directory else ""), (user, directory) if directory else (user,)).fetchall()
    if len(rows) != 1:
        raise ValueError(f"no single QRS user {owner!r} (give DIRECTORY\\userId)")
    return rows[0][0], f"{rows[0][1]}\\{rows[0][2]}"


def _tree(engine_id: str, otype: str, title: str, description: str, children: list[tuple[str, str]]) -> dict[str, Any]:
    cells = [{"name": cid, "type": ctype, "col": 12 * (i % 2), "row": 6 * (i // 2), "colspan": 12, "rowspan": 6} for i, (cid, ctype) in enumerate(children)]
    prop: dict[str, Any] = {"qInfo": {"qId": engine_id, "qType": otype}, "qMetaDef": {"title": title, "description": description}, "rank": 0}
    if otype == "sheet":
        prop.update(columns=24, rows=12, cells=cells)
    elif otype == "story":
        prop.update(qChildListDef={"qData": {"title": "/title"}})
    elif otype == "masterobject":
        prop.update(visualization="barchart", qHyperCubeDef={"qDimensions": [], "qMeasures": []})
    kids = [{"qProperty": {"qInfo": {"qId": cid, "qType": ctype}, "visualization": ctype, "title": f"{title} / {ctype} {i + 1}"},
             "qChildren": [], "qEmbeddedSnapshotRef": None} for i, (cid, ctype) in enumerate(children)]
    return {"qProperty": prop, "qChildren": kids, "qEmbeddedSnapshotRef": None}


def add(state: str, app_id: str, *, object_type: str, owner: str, visibility: str = "private", title: str = "",
        children: int | None = None, engine_id: str = "", now: float | None = None) -> dict[str, Any]:
    """A new on-prem object; returns {id (QRS), engineObjectId, type, state, owner, title}."""
    if object_type not in TYPES:
        raise ValueError(f"type must be one of {', '.join(TYPES)}")
    if visibility not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}")
    stamp = iso_now(now)
    conn = connect(state)
    try:
        with Tx(conn, write=True):
            if conn.execute("SELECT 1 FROM qrs_apps WHERE id = ?", (app_id,)).fetchone() is None:
                raise ValueError(f"no QRS app {app_id}")
            owner_id, label = _owner(conn, owner)
            seed = meta(conn, "seed")

            def new_id(kind: str, short: bool = False) -> str:
                n = next_counter(conn)
                if short:
                    return ids.guid(seed, kind, n).replace("-", "")[:5]
                return ids.guid(seed, kind, n)

            if not engine_id:
                engine_id = new_id("onprem-engine", object_type in _SHORT_ID_TYPES)
            if conn.execute("SELECT 1 FROM qrs_objects WHERE app_id = ? AND engine_object_id = ?", (app_id, engine_id)).fetchone():
                raise ValueError(f"engine object id {engine_id} is taken in app {app_id}")
            title = title or f"New {visibility} {object_type} of {label}"
            count = (2 if object_type == "sheet" else 1) if children is None else children
            kids = [(new_id("onprem-child"), _CHILD_TYPES[object_type][i % len(_CHILD_TYPES[object_type])]) for i in range(count)] \
                if object_type in _CHILD_TYPES else []
            tree = _tree(engine_id, object_type, title, "", kids) if object_type in ("sheet", "story", "masterobject") else None
            published, approved = STATES[visibility]
            qrs_id = new_id("onprem-qrs")
            conn.execute(
                "INSERT INTO qrs_objects (id, app_id, engine_object_id, object_type, name, description, owner_id, published, approved,"
                " publish_time, created, modified, modified_by, content_hash, size, tree) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (qrs_id, app_id, engine_id, object_type, title, "", owner_id, published, approved, stamp if published else _UNPUBLISHED,
                 stamp, stamp, label, f"{ids.hex24(seed, 'onprem-hash', next_counter(conn))}", 4213,
                 json.dumps(tree, ensure_ascii=False) if tree else ""),
            )
            _touch_app(conn, app_id, stamp, label)
    finally:
        conn.close()
    return {"id": qrs_id, "engineObjectId": engine_id, "type": object_type, "state": visibility, "owner": label, "title": title,
            "children": [cid for cid, _t in kids]}


def change(state: str, app_id: str, engine_id: str, *, title: str = "", now: float | None = None) -> dict[str, Any]:
    """A user edits an object on-prem: new title, a changed property, modifiedDate moves forward."""
    conn = connect(state)
    try:
        with Tx(conn, write=True):
            row = conn.execute("SELECT id, object_type, name, description, tree, modified, modified_by FROM qrs_objects"
                               " WHERE app_id = ? AND engine_object_id = ?", (app_id, engine_id)).fetchone()
            if row is None:
                raise ValueError(f"no object {engine_id} in QRS app {app_id}")
            qrs_id, otype, old_title, description, stored, modified, label = row
            stamp = max(iso_now(now), _after(modified))
            title = title or f"{old_title} (edited)"
            tree = json.loads(stored) if stored else _tree(engine_id, otype, old_title, description, [])
            tree["qProperty"].setdefault("qMetaDef", {})["title"] = title
            tree["qProperty"]["rank"] = int(tree["qProperty"].get("rank", 0)) + 1  # the "changed property"
            conn.execute("UPDATE qrs_objects SET name = ?, tree = ?, modified = ?, content_hash = ? WHERE id = ?",
                         (title, json.dumps(tree, ensure_ascii=False), stamp, f"{ids.hex24(meta(conn, 'seed'), 'onprem-hash', next_counter(conn))}", qrs_id))
            _touch_app(conn, app_id, stamp, label)
    finally:
        conn.close()
    return {"id": qrs_id, "engineObjectId": engine_id, "type": otype, "title": title, "modifiedDate": stamp}


def delete(state: str, app_id: str, engine_id: str, *, now: float | None = None) -> dict[str, Any]:
    conn = connect(state)
    try:
        with Tx(conn, write=True):
            row = conn.execute("SELECT id, object_type, modified_by FROM qrs_objects WHERE app_id = ? AND engine_object_id = ?", (app_id, engine_id)).fetchone()
            if row is None:
                raise ValueError(f"no object {engine_id} in QRS app {app_id}")
            conn.execute("DELETE FROM qrs_objects WHERE id = ?", (row[0],))
            _touch_app(conn, app_id, iso_now(now), row[2])
    finally:
        conn.close()
    return {"id": row[0], "engineObjectId": engine_id, "type": row[1], "deleted": True}


def wave(state: str, app_id: str, *, now: float | None = None) -> dict[str, Any]:
    """The demo's wave of on-prem work on one app: new private and community sheets and stories of
    several owners (one, tleft, without a Cloud account), a bookmark and a master item that sync
    cannot or may bring, one existing private sheet changed and one community story deleted."""
    stamp = now if now is not None else time.time()
    conn = connect(state)
    try:
        with Tx(conn):
            users = {r[0].lower() for r in conn.execute("SELECT user_id FROM qrs_users")}
            existing = conn.execute("SELECT engine_object_id, object_type, published, approved FROM qrs_objects WHERE app_id = ? ORDER BY rowid",
                                    (app_id,)).fetchall()
    finally:
        conn.close()
    plan = [("sheet", "jdoe", "private"), ("sheet", "asmith", "community"), ("story", "jmuller", "private"),
            ("story", "kwong", "community"), ("sheet", "tleft", "private"), ("bookmark", "jmuller", "private"),
            ("masterobject", "asmith", "private")]
    added = [add(state, app_id, object_type=t, owner=o, visibility=v, now=stamp) for t, o, v in plan if o in users]
    changed = [change(state, app_id, eid, now=stamp) for eid, t, p, a in existing if t == "sheet" and not p][:1]
    deleted = [delete(state, app_id, eid, now=stamp) for eid, t, p, a in existing if t == "story" and p and not a][:1]
    return {"app": app_id, "added": added, "changed": changed, "deleted": deleted}


def _after(stamp: str) -> str:
    """A stamp one millisecond after `stamp` (a change never keeps the old modifiedDate)."""
    import calendar

    secs = calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) + int(stamp[20:23] or 0) / 1000 + 0.001
    return iso_now(secs + 0.0001)


def _touch_app(conn: Any, app_id: str, stamp: str, label: str) -> None:
    conn.execute("UPDATE qrs_apps SET modified = ?, modified_by = ? WHERE id = ?", (stamp, label, app_id))

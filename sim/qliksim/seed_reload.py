"""What a world needs for the will-it-reload checks: load scripts, data connections per space,
tenant quotas. Written after a seed (seed.py) into its world; each helper is usable alone, so a
test builds the world it needs (a missing connection, a quota, ...)."""

from __future__ import annotations

import os

from qliksim import store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

T0 = "2023-03-01T09:00:00.000Z"

# The demo's scripts: Sales reads a connection the tenant knows under another name (the rename
# `--connection-map 'SQL_Prod=SQL Prod (cloud)'` fixes), Ventes one found in its spaces, HR one in
# a data space and an include nobody can check before the script runs.
DEMO_SCRIPTS = {
    "sales": (
        "///$tab Main\n"
        "SET ThousandSep=',';\n"
        "// the on-prem connection; in the cloud it is 'SQL Prod (cloud)'\n"
        "LIB CONNECT TO 'SQL_Prod';\n"
        "Sales: SQL SELECT * FROM dbo.Sales;\n"
        "Targets: LOAD * FROM [lib://SQL_Prod/exports/targets.qvd] (qvd);\n"
    ),
    "ventes": "Ventes: LOAD * FROM 'lib://DataFiles/ventes_ete.qvd' (qvd);\n",
    "hr": (
        "$(Must_Include=lib://DataFiles/common.qvs);\n"
        "Headcount: LOAD * FROM [lib://Finance Data:Warehouse/hr/headcount.qvd] (qvd);\n"
    ),
    "scratch": "Scratch: LOAD * INLINE [a, b\n1, 2];\n",
}
# (name, space name): what the demo tenant offers.
DEMO_CONNECTIONS = [
    ("SQL Prod (cloud)", "Finance Dev"), ("SQL Prod (cloud)", "Finance"),
    ("DataFiles", "Finance Dev"), ("DataFiles", "Finance"), ("Warehouse", "Finance Data"),
]
GIB = 1 << 30


def _conn(path: str | os.PathLike[str]) -> Any:
    return store.connect(os.fspath(path))


def set_script(path: str | os.PathLike[str], app_id: str, script: str) -> None:
    conn = _conn(path)
    try:
        with store.Tx(conn, write=True):
            conn.execute("INSERT INTO app_scripts (app_id, script) VALUES (?, ?) ON CONFLICT (app_id) DO UPDATE SET script = excluded.script",
                         (app_id, script))
    finally:
        conn.close()


def add_connection(path: str | os.PathLike[str], name: str, space_id: str | None, *, cid: str | None = None) -> str:
    conn = _conn(path)
    try:
        with store.Tx(conn, write=True):
            n = conn.execute("SELECT count(*) FROM data_connections").fetchone()[0]
            cid = cid or f"dc0{n:05d}-0000-4000-8000-00000000{n:04d}"
            conn.execute("INSERT INTO data_connections (id, name, space_id, created) VALUES (?, ?, ?, ?)", (cid, name, space_id, T0))
    finally:
        conn.close()
    return cid


def set_quota(path: str | os.PathLike[str], quota_id: str, quota: float, usage: float = 0, unit: str = "bytes") -> None:
    conn = _conn(path)
    try:
        with store.Tx(conn, write=True):
            conn.execute("INSERT INTO quotas (id, quota, usage, unit) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET quota = excluded.quota,"
                         " usage = excluded.usage, unit = excluded.unit", (quota_id, quota, usage, unit))
    finally:
        conn.close()


def demo(path: str | os.PathLike[str], info: dict[str, Any]) -> None:
    for key, script in DEMO_SCRIPTS.items():
        set_script(path, info["apps"][key], script)
    for name, space in DEMO_CONNECTIONS:
        add_connection(path, name, info["spaces"][space])
    set_quota(path, "app_upload_disk_size", 6 * GIB)
    set_quota(path, "app_mem_size", 5 * GIB, 1 * GIB)


def add_cloud_app(path: str | os.PathLike[str], name: str, space_id: str, owner_id: str, app_id: str = "0a0a0a0a-0000-4000-8000-000000000001") -> str:
    """An app already in the tenant (an earlier attempt, a namesake)."""
    conn = _conn(path)
    try:
        with store.Tx(conn, write=True):
            conn.execute("INSERT INTO cloud_apps (id, item_id, name, space_id, owner_id, creator_id, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (app_id, "f" * 24, name, space_id, owner_id, owner_id, T0, T0))
    finally:
        conn.close()
    return app_id


def set_user_status(path: str | os.PathLike[str], user_id: str, status: str) -> None:
    conn = _conn(path)
    try:
        with store.Tx(conn, write=True):
            conn.execute("UPDATE cloud_users SET status = ? WHERE id = ?", (status, user_id))
    finally:
        conn.close()


def set_object_attributes(path: str | os.PathLike[str], qrs_object_id: str, attributes: str) -> None:
    """QRS AppObject `attributes`, e.g. '{"defaultBookmark": true}' or '{"showCondition": "=1"}' (INFERRED keys)."""
    conn = _conn(path)
    try:
        with store.Tx(conn, write=True):
            conn.execute("INSERT INTO qrs_object_attributes (object_id, attributes) VALUES (?, ?) ON CONFLICT (object_id) DO UPDATE SET"
                         " attributes = excluded.attributes", (qrs_object_id, attributes))
    finally:
        conn.close()

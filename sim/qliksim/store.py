"""The simulated world: one SQLite file holding both sites (QRS and Qlik Cloud) and the knobs.

Why SQLite: every simulated call is a new process, calls run in parallel, and a kill sweep
SIGKILLs them mid-call. SQLite transactions give all three for free. We keep the default
rollback journal (not WAL) so that a read-only call never touches the file: tests assert the
world is byte-identical after reads. Writers use BEGIN IMMEDIATE so two writers never deadlock
upgrading a shared lock; readers use a deferred BEGIN for a consistent snapshot.

What changes on every call (call counter, rate-limit windows) lives in a separate
`<state>.runtime` file (see runtime.py), and the call log in `<state>.calls.jsonl`.
"""

from __future__ import annotations

import os
import sqlite3

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

BUSY_TIMEOUT_S = 120.0

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value);
CREATE TABLE knobs (key TEXT PRIMARY KEY, value);
CREATE TABLE contexts (
    name TEXT PRIMARY KEY,
    server TEXT NOT NULL,
    server_type TEXT NOT NULL CHECK (server_type IN ('windows', 'cloud')),
    comment TEXT NOT NULL DEFAULT '',
    token TEXT NOT NULL,            -- the Authorization secret: never printed
    identity TEXT NOT NULL,         -- QRS user id (windows) or cloud user id (cloud)
    admin_apps INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE qrs_users (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, user_directory TEXT NOT NULL, name TEXT NOT NULL,
    email TEXT, email_attr_id TEXT, created TEXT NOT NULL, modified TEXT NOT NULL,
    inactive INTEGER NOT NULL DEFAULT 0, removed_externally INTEGER NOT NULL DEFAULT 0,
    blacklisted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE streams (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, owner_id TEXT, created TEXT NOT NULL, modified TEXT NOT NULL
);
CREATE TABLE qrs_apps (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
    owner_id TEXT NOT NULL, stream_id TEXT, published INTEGER NOT NULL, publish_time TEXT NOT NULL,
    created TEXT NOT NULL, modified TEXT NOT NULL, modified_by TEXT NOT NULL,
    file_size INTEGER NOT NULL, last_reload TEXT NOT NULL, migration_hash TEXT NOT NULL
);
CREATE TABLE qrs_objects (
    id TEXT PRIMARY KEY, app_id TEXT NOT NULL, engine_object_id TEXT NOT NULL,
    object_type TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
    owner_id TEXT NOT NULL, published INTEGER NOT NULL, approved INTEGER NOT NULL,
    publish_time TEXT NOT NULL, created TEXT NOT NULL, modified TEXT NOT NULL,
    modified_by TEXT NOT NULL, content_hash TEXT NOT NULL, size INTEGER NOT NULL,
    tree TEXT NOT NULL DEFAULT ''   -- the full property tree (JSON) when it is more than the row says
);
CREATE INDEX qrs_objects_app ON qrs_objects (app_id);
CREATE TABLE cloud_users (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL DEFAULT '', subject TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active', created TEXT NOT NULL, updated TEXT NOT NULL,
    assigned_scopes TEXT NOT NULL DEFAULT '',   -- comma-separated, e.g. 'admin.apps,admin_classic'
    role TEXT NOT NULL DEFAULT 'Professional'
);
CREATE INDEX cloud_users_subject ON cloud_users (subject);
CREATE INDEX cloud_users_email ON cloud_users (email COLLATE NOCASE);
CREATE TABLE spaces (
    id TEXT PRIMARY KEY, name TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('shared', 'managed', 'data')),
    description TEXT NOT NULL DEFAULT '', owner_id TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL
);
CREATE TABLE cloud_apps (
    id TEXT PRIMARY KEY, item_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
    space_id TEXT, owner_id TEXT NOT NULL, creator_id TEXT NOT NULL,
    origin_app_id TEXT NOT NULL DEFAULT '', published INTEGER NOT NULL DEFAULT 0,
    publish_time TEXT NOT NULL DEFAULT '', created TEXT NOT NULL, modified TEXT NOT NULL,
    last_reload TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT ''   -- how it came to be: import:<qrs app id>, copy:<id>, publish:<id>
);
CREATE TABLE cloud_objects (
    app_id TEXT NOT NULL, object_id TEXT NOT NULL, type TEXT NOT NULL, title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '', owner_id TEXT NOT NULL,
    published INTEGER NOT NULL, approved INTEGER NOT NULL,
    created TEXT NOT NULL, updated TEXT NOT NULL, published_at TEXT NOT NULL DEFAULT '',
    pending_rm INTEGER NOT NULL DEFAULT 0,   -- removed with --no-save; applied by `app build`
    tree TEXT NOT NULL DEFAULT '',           -- the full property tree (JSON) when it is more than the row says
    PRIMARY KEY (app_id, object_id)
);
-- The load script of a QRS app or a Cloud app (by the app's id); no row: an empty script.
CREATE TABLE app_scripts (app_id TEXT PRIMARY KEY, script TEXT NOT NULL);
-- Qlik Cloud data connections: each lives in one space (NULL: the owner's personal space).
CREATE TABLE data_connections (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, space_id TEXT, type TEXT NOT NULL DEFAULT 'QvOdbcConnectorPackage.exe',
    owner_id TEXT NOT NULL DEFAULT '', created TEXT NOT NULL DEFAULT ''
);
-- QRS AppObject `attributes` (a string in QRS; its content for bookmarks and sheets INFERRED).
CREATE TABLE qrs_object_attributes (object_id TEXT PRIMARY KEY, attributes TEXT NOT NULL);
-- Tenant quotas (`quota ls`): id as Qlik names it (app_mem_size, app_upload_disk_size, ...).
CREATE TABLE quotas (id TEXT PRIMARY KEY, quota REAL NOT NULL, usage REAL NOT NULL DEFAULT 0, unit TEXT NOT NULL DEFAULT 'bytes');
"""


class StateMissing(Exception):
    pass


def connect(path: str) -> sqlite3.Connection:
    """Open an existing world. Never creates one: sqlite3.connect would make an empty file."""
    if not os.path.isfile(path):
        raise StateMissing(path)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    return conn


class Tx:
    """`with Tx(conn, write=True):` runs the block in BEGIN IMMEDIATE ... COMMIT (or ROLLBACK)."""

    __slots__ = ("conn", "write")

    def __init__(self, conn: sqlite3.Connection, write: bool = False) -> None:
        self.conn = conn
        self.write = write

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE" if self.write else "BEGIN")
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


def create(path: str, *, seed: int = 1, tenant_id: str = "Xk3pQ9vLm2RtY7wZ-aB4cD8eF1gH5jK0") -> sqlite3.Connection:
    """A new, empty world at `path` (replacing any previous one and its runtime/call log)."""
    for suffix in ("", "-journal", ".runtime", ".runtime-journal", ".calls.jsonl"):
        try:
            os.unlink(path + suffix)
        except FileNotFoundError:
            pass
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.executescript(SCHEMA)
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        [("seed", seed), ("tenant_id", tenant_id), ("id_counter", 0), ("current_context", "")],
    )
    return conn


def meta(conn: sqlite3.Connection, key: str) -> Any:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def next_counter(conn: sqlite3.Connection) -> int:
    """Bump the world's id counter (inside a write transaction): new ids are seed + counter."""
    return conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'id_counter' RETURNING value").fetchone()[0]  # type: ignore[no-any-return]


_BOOL_COLUMNS = {"published", "approved", "admin_apps", "pending_rm", "inactive", "removed_externally", "blacklisted"}


class World:
    """Read helpers for tests and reports: every method returns plain dicts (snake_case keys).

    Secrets are never returned: contexts() omits the token.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)

    def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[dict[str, Any]]:
        conn = connect(self.path)
        try:
            cur = conn.execute(sql, params)
            names = [d[0] for d in cur.description]
            out = []
            for row in cur.fetchall():
                item = dict(zip(names, row))
                for key in _BOOL_COLUMNS & item.keys():
                    item[key] = bool(item[key])
                out.append(item)
            return out
        finally:
            conn.close()

    def contexts(self) -> list[dict[str, Any]]:
        return self._rows("SELECT name, server, server_type, comment, identity, admin_apps FROM contexts ORDER BY name")

    def current_context(self) -> str:
        rows = self._rows("SELECT value FROM meta WHERE key = 'current_context'")
        return str(rows[0]["value"]) if rows else ""

    def knobs(self) -> dict[str, Any]:
        return {r["key"]: r["value"] for r in self._rows("SELECT key, value FROM knobs ORDER BY key")}

    def qrs_users(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM qrs_users ORDER BY rowid")

    def streams(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM streams ORDER BY rowid")

    def qrs_apps(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM qrs_apps ORDER BY rowid")

    def qrs_objects(self, app_id: str) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM qrs_objects WHERE app_id = ? ORDER BY rowid", (app_id,))

    def cloud_users(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM cloud_users ORDER BY rowid")

    def spaces(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM spaces ORDER BY rowid")

    def cloud_apps(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM cloud_apps ORDER BY rowid")

    def cloud_app(self, app_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM cloud_apps WHERE id = ?", (app_id,))
        return rows[0] if rows else None

    def cloud_objects(self, app_id: str) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM cloud_objects WHERE app_id = ? ORDER BY rowid", (app_id,))

    def script(self, app_id: str) -> str:
        rows = self._rows("SELECT script FROM app_scripts WHERE app_id = ?", (app_id,))
        return str(rows[0]["script"]) if rows else ""

    def data_connections(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM data_connections ORDER BY rowid")

    def calls(self) -> list[dict[str, Any]]:
        """The call log (`<state>.calls.jsonl`), one dict per simulated call."""
        import json

        try:
            with open(self.path + ".calls.jsonl", encoding="utf-8") as fh:
                return [json.loads(line) for line in fh if line.strip()]
        except FileNotFoundError:
            return []

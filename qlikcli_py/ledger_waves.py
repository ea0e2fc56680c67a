"""The ledger's tables for `sync` (format 3): waves of on-prem content brought into apps already
migrated, in the same SQLite file as the rest (one ledger, one lock).

- `object_dates`: each migrated object's on-prem `modifiedDate` when it came over (recorded at
  migration; objects migrated before format 3 get theirs at their first sync): a later date means
  it changed on-prem since.
- `waves`: one row per sync of an app that found something: when, its temporary app (name, the
  start of its import, its id, whether it is deleted), open until everything is settled.
- `wave_objects`: what the wave found, one row per object and kind: `new` objects go pending ->
  creating (the `app object set` was sent; what exists is read before anything else) -> created
  -> synced (published if community, in the `objects` table for the hand-over and verify);
  `changed`, `deleted` and `not-synced` ones are reported; `stray` is an object created under
  another id and removed.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    import sqlite3

    from qlikcli_py.ledger import Ledger

WAVES_SCHEMA = """
CREATE TABLE IF NOT EXISTS object_dates (
    source_app_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    modified TEXT NOT NULL,
    PRIMARY KEY (source_app_id, object_id)
);
CREATE TABLE IF NOT EXISTS waves (
    wave_id TEXT NOT NULL,           -- the run id of the sync that began it
    source_app_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,            -- open | done | failed
    temp_name TEXT NOT NULL,
    temp_started_at TEXT, temp_app_id TEXT, temp_deleted INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    PRIMARY KEY (wave_id, source_app_id)
);
CREATE TABLE IF NOT EXISTS wave_objects (
    source_app_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    kind TEXT NOT NULL,              -- new | changed | deleted | not-synced | stray
    wave_id TEXT NOT NULL,
    type TEXT NOT NULL,
    title TEXT NOT NULL,
    state TEXT NOT NULL,
    source_owner_id TEXT NOT NULL,
    source_owner TEXT NOT NULL,
    source_modified TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,            -- new: pending | creating | created | synced | failed-for-good; else reported
    detail TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (source_app_id, object_id, kind)
);
"""


def record_dates(ledger: Ledger, app_id: str, dates: Iterable[tuple[str, str]]) -> None:
    """(object_id, modifiedDate) of objects as they came over; a date already recorded stays."""
    with ledger.tx() as db:
        db.executemany("INSERT OR IGNORE INTO object_dates VALUES (?,?,?)",
                       ((app_id, oid, mod) for oid, mod in dates if mod))


def _read(ledger: Ledger, sql: str, args: tuple[Any, ...]) -> list[sqlite3.Row]:
    """A read of sync's tables; none in a format-2 ledger read as it is (a dry run, `status`)."""
    import sqlite3

    try:
        return ledger.db.execute(sql, args).fetchall()
    except sqlite3.OperationalError as e:
        if "no such table" in str(e):
            return []
        raise


def dates(ledger: Ledger, app_id: str) -> dict[str, str]:
    rows = _read(ledger, "SELECT object_id, modified FROM object_dates WHERE source_app_id=?", (app_id,))
    return {r[0]: r[1] for r in rows}


def open_wave(ledger: Ledger, app_id: str) -> sqlite3.Row | None:
    rows = _read(ledger, "SELECT * FROM waves WHERE source_app_id=? AND status='open' ORDER BY started_at DESC",
                 (app_id,))
    return rows[0] if rows else None


def begin_wave(ledger: Ledger, wave_id: str, app_id: str, temp_name: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """The wave and what it found, in one transaction. rows: (object_id, kind, type, title, state,
    source_owner_id, source_owner, source_modified, status, detail); a row already known (an
    object of an earlier wave) keeps its wave and status."""
    from qlikcli_py.ledger import now

    stamp = now()
    with ledger.tx() as db:
        db.execute("INSERT OR IGNORE INTO waves(wave_id, source_app_id, started_at, status, temp_name) "
                   "VALUES (?,?,?,?,?)", (wave_id, app_id, stamp, "open", temp_name))
        db.executemany("INSERT OR IGNORE INTO wave_objects VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       ((app_id, r[0], r[1], wave_id, *r[2:], stamp) for r in rows))


def update_wave(ledger: Ledger, wave_id: str, app_id: str, **fields: Any) -> None:
    cols = ", ".join(f"{k}=?" for k in fields)
    with ledger.tx() as db:
        db.execute(f"UPDATE waves SET {cols} WHERE wave_id=? AND source_app_id=?", (*fields.values(), wave_id, app_id))


def wave_objects(ledger: Ledger, app_id: str, *, wave_id: str | None = None,
                 kind: str | None = None) -> list[sqlite3.Row]:
    sql, args = "SELECT * FROM wave_objects WHERE source_app_id=?", [app_id]
    if wave_id is not None:
        sql, args = sql + " AND wave_id=?", [*args, wave_id]
    if kind is not None:
        sql, args = sql + " AND kind=?", [*args, kind]
    return _read(ledger, sql + " ORDER BY object_id", tuple(args))


def known(ledger: Ledger, app_id: str) -> set[tuple[str, str]]:
    return {(r[0], r[1]) for r in _read(ledger, "SELECT object_id, kind FROM wave_objects WHERE source_app_id=?",
                                         (app_id,))}


def set_wave_object(ledger: Ledger, app_id: str, object_id: str, kind: str, *, status: str,
                    detail: str | None = None) -> None:
    from qlikcli_py.ledger import now

    with ledger.tx() as db:
        db.execute("UPDATE wave_objects SET status=?, detail=COALESCE(?, detail), updated_at=? "
                   "WHERE source_app_id=? AND object_id=? AND kind=?", (status, detail, now(), app_id, object_id, kind))


def add_stray(ledger: Ledger, wave_id: str, app_id: str, row: tuple[Any, ...]) -> None:
    """A created object found under another id, removed: (object_id, type, title, detail)."""
    from qlikcli_py.ledger import now

    with ledger.tx() as db:
        db.execute("INSERT OR REPLACE INTO wave_objects VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (app_id, row[0], "stray", wave_id, row[1], row[2], "private", "", "", "", "removed", row[3], now()))


def reserve_temp_import(ledger: Ledger, app_id: str, wave_id: str, started: str, *, limit: int | None,
                        since: str) -> bool:
    """A temporary import counts against --max-imports like `run`'s (the tenant's quota does not
    tell them apart): reserved in `import_attempts` (as `sync:<app>`) with the wave's import start,
    in one transaction after the count. False when the quota is used up."""
    ledger.db.execute("BEGIN IMMEDIATE")
    try:
        if limit is not None and ledger.imports_since(since) >= limit:
            ledger.db.rollback()
            return False
        ledger.db.execute("INSERT INTO import_attempts VALUES (?,?,'reserved',NULL,NULL)", (f"sync:{app_id}", started))
        ledger.db.execute("UPDATE waves SET temp_started_at=? WHERE wave_id=? AND source_app_id=?",
                          (started, wave_id, app_id))
        ledger.db.commit()
    except BaseException:
        ledger.db.rollback()
        raise
    return True


def settle_temp_import(ledger: Ledger, app_id: str, wave_id: str, temp_app_id: str | None) -> None:
    """The temporary import's outcome: its app (counted as an import), or nothing (released, and
    the wave's import start cleared)."""
    with ledger.tx() as db:
        db.execute("UPDATE import_attempts SET status=?, imported_app_id=? WHERE source_app_id=? AND status='reserved'",
                   ("imported" if temp_app_id else "released", temp_app_id, f"sync:{app_id}"))
        db.execute("UPDATE waves SET temp_app_id=?, temp_started_at=CASE WHEN ? IS NULL THEN NULL ELSE temp_started_at "
                   "END WHERE wave_id=? AND source_app_id=?", (temp_app_id, temp_app_id, wave_id, app_id))


def forget_failed(ledger: Ledger, app_id: str) -> None:
    """--retry-failed: new objects that failed for good are found new again by the next delta."""
    with ledger.tx() as db:
        db.execute("DELETE FROM wave_objects WHERE source_app_id=? AND kind='new' AND status='failed-for-good'",
                   (app_id,))


def waves(ledger: Ledger, app_id: str | None = None) -> list[sqlite3.Row]:
    if app_id is None:
        return _read(ledger, "SELECT * FROM waves ORDER BY started_at, source_app_id", ())
    return _read(ledger, "SELECT * FROM waves WHERE source_app_id=? ORDER BY started_at", (app_id,))

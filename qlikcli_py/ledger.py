"""The ledger: what each run did, so the next run continues instead of starting again.

One SQLite file per state dir. Each step's outputs are committed before the next step starts; a
transaction is atomic on disk, so a run killed at any instant leaves either the step recorded or
not, never half. SQLite instead of a JSON file rewritten by temp-file-and-rename: a 100,000-object
app records one row per change-owner, and rewriting a whole file per object is quadratic.
`PRAGMA user_version` is the format version. An exclusive flock on `<state>/lock` for the whole
run keeps two cron runs from interleaving.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import enum
import fcntl
import os
import sqlite3
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from qlikcli_py.errors import LockHeld
from qlikcli_py.errors import UsageProblem
from qlikcli_py.ledger_waves import WAVES_SCHEMA
from qlikcli_py.vocabulary import STEPS
from qlikcli_py.vocabulary import AppStatus
from qlikcli_py.vocabulary import CleanupStatus
from qlikcli_py.vocabulary import ObjectStatus
from qlikcli_py.vocabulary import Step

LEDGER_VERSION = 4
LEDGER_FILE = "ledger.sqlite"
LOCK_FILE = "lock"

# Steps in the order they run. An app's `step` column holds the last one completed.

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS apps (
    source_app_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    source_modified TEXT NOT NULL,
    shared_space_id TEXT NOT NULL,
    managed_space_id TEXT NOT NULL,
    status TEXT NOT NULL,            -- pending | running | done | failed | changed
    step TEXT NOT NULL DEFAULT '',   -- last step completed
    identity_id TEXT NOT NULL DEFAULT '',
    export_path TEXT, export_size INTEGER, export_sha256 TEXT, export_skip_data INTEGER,
    import_started_at TEXT, imported_app_id TEXT,
    copy_started_at TEXT, copy_app_id TEXT,
    error TEXT,
    history TEXT NOT NULL DEFAULT '[]',  -- earlier imports superseded by --force
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    source_app_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    type TEXT NOT NULL,
    title TEXT NOT NULL,
    state TEXT NOT NULL,
    source_owner_id TEXT NOT NULL,
    source_owner TEXT NOT NULL,
    target_owner_id TEXT,
    rule TEXT,
    status TEXT NOT NULL,      -- pending | done | unmatched | failed | kept (base objects)
    result_owner_id TEXT,
    evidence TEXT,
    error TEXT,
    updated_at TEXT NOT NULL,
    sent_by TEXT,              -- the context (identity) that sent the last change-owner
    PRIMARY KEY (source_app_id, object_id)
);
CREATE TABLE IF NOT EXISTS cleanup (
    source_app_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    type TEXT NOT NULL,
    state TEXT NOT NULL,
    status TEXT NOT NULL,      -- pending | unpublished | removed
    PRIMARY KEY (source_app_id, object_id)
);
CREATE TABLE IF NOT EXISTS imports (
    source_app_id TEXT NOT NULL,
    imported_app_id TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (imported_app_id)
);
CREATE TABLE IF NOT EXISTS import_attempts (
    source_app_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    status TEXT NOT NULL,      -- reserved | imported | released (the --max-imports quota counts all but released)
    imported_app_id TEXT,
    export_sha256 TEXT         -- the export it imports: an app it created is adopted for that export only
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    command TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    exit_code INTEGER
);
""" + WAVES_SCHEMA


# Format 1 -> 2: import attempts, reserved before each import so --max-imports holds across apps
# imported at once and across runs. Earlier imports count as attempts; an open one stays reserved.
_UPGRADES = {
    1: """
CREATE TABLE IF NOT EXISTS import_attempts (
    source_app_id TEXT NOT NULL, started_at TEXT NOT NULL, status TEXT NOT NULL, imported_app_id TEXT,
    export_sha256 TEXT);
INSERT INTO import_attempts SELECT source_app_id, at, 'imported', imported_app_id, NULL FROM imports;
INSERT INTO import_attempts SELECT source_app_id, import_started_at, 'reserved', NULL, NULL FROM apps
    WHERE import_started_at IS NOT NULL AND imported_app_id IS NULL;
""",
    # Format 3 -> 4: `sync`'s waves (ledger_waves.py); objects migrated before it get their
    # on-prem modifiedDate at their first sync.
    3: WAVES_SCHEMA,
}
# Columns a format adds (table, column, type), added when missing. Format 2 -> 3: which identity
# (context) sent each hand-over (--helper-context); earlier ones were all sent by the target context.
_COLUMNS_ADDED = {
    2: (("objects", "sent_by", "TEXT"),),
}


class Attempt(enum.StrEnum):
    """An import attempt, for the --max-imports quota."""

    RESERVED = "reserved"  # counted before the import starts; a killed run's stays counted until settled
    IMPORTED = "imported"
    RELEASED = "released"  # certainly created nothing: not counted


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class AppRecord:
    source_app_id: str
    name: str
    source_modified: str
    shared_space_id: str
    managed_space_id: str
    status: str
    step: str
    identity_id: str
    export_path: str | None
    export_size: int | None
    export_sha256: str | None
    export_skip_data: int | None
    import_started_at: str | None
    imported_app_id: str | None
    copy_started_at: str | None
    copy_app_id: str | None
    error: str | None
    history: str
    updated_at: str

    def done(self, step: str) -> bool:
        return bool(self.step) and STEPS.index(self.step) >= STEPS.index(step)


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "qlik-migrate"


class Ledger:
    def __init__(self, state_dir: Path, *, readonly: bool = False) -> None:
        self.dir = state_dir
        self.path = state_dir / LEDGER_FILE
        self._lock_fd: int | None = None
        if readonly:
            if not self.path.exists():
                raise UsageProblem(f"no ledger in {state_dir}: nothing has been migrated with this --state-dir")
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        else:
            _make_private_dir(state_dir)
            old_umask = os.umask(0o077)  # ledger, journal and lock readable by the owner only
            try:
                self.db = sqlite3.connect(self.path, timeout=30)
            finally:
                os.umask(old_umask)
        self.db.row_factory = sqlite3.Row
        self._check_version(readonly)

    # -- lifecycle ------------------------------------------------------------------------------
    def _check_version(self, readonly: bool) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version == 0 and not readonly:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(_SCHEMA)
            self.db.execute(f"PRAGMA user_version={LEDGER_VERSION}")
            self.db.commit()
        elif 0 < version < LEDGER_VERSION and not readonly:
            for old in range(version, LEDGER_VERSION):
                added = "".join(f"ALTER TABLE {table} ADD COLUMN {column} {kind};"
                                for table, column, kind in _COLUMNS_ADDED.get(old, ())
                                if column not in self._columns(table))
                self.db.executescript(f"BEGIN; {_UPGRADES.get(old, '')} {added} "
                                      f"PRAGMA user_version={old + 1}; COMMIT;")
        elif 0 < version < LEDGER_VERSION and readonly:
            pass  # read as it is (`status` of a ledger no run of this version has written yet)
        elif version != LEDGER_VERSION:
            raise UsageProblem(
                f"{self.path} has ledger format {version}; this qlik-migrate reads format "
                f"{LEDGER_VERSION}: use the qlik-migrate version that wrote it or another --state-dir"
            )
        # NORMAL in WAL mode: a killed process loses nothing committed; only an OS crash could
        # lose the last transactions, which the reconciliation on resume covers anyway.
        self.db.execute("PRAGMA synchronous=NORMAL")

    def _columns(self, table: str) -> set[str]:
        return {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}

    def lock(self) -> None:
        path = self.dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise LockHeld(
                f"another qlik-migrate run holds {path} ({holder}); it will resume this work, "
                f"or run again when it has finished"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} since {now()}".encode())
        self._lock_fd = fd

    def run_in_progress(self) -> bool:
        """Whether a process holds the state dir's lock, without taking it: a shared lock, tried
        and dropped at once, is refused only while a run holds the exclusive one."""
        try:
            fd = os.open(self.dir / LOCK_FILE, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops the shared lock if it was taken
        return False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.db.close()
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._lock_fd, 0)
                os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self.db:
            yield self.db

    # -- runs -----------------------------------------------------------------------------------
    def start_run(self, run_id: str, command: str) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO runs(run_id, command, started_at) VALUES (?,?,?)", (run_id, command, now()))

    def finish_run(self, run_id: str, exit_code: int) -> None:
        with self.tx() as db:
            db.execute("UPDATE runs SET finished_at=?, exit_code=? WHERE run_id=?", (now(), exit_code, run_id))

    # -- apps -----------------------------------------------------------------------------------
    def app(self, source_app_id: str) -> AppRecord | None:
        row = self.db.execute("SELECT * FROM apps WHERE source_app_id=?", (source_app_id,)).fetchone()
        return AppRecord(**dict(row)) if row else None

    def apps(self) -> list[AppRecord]:
        return [AppRecord(**dict(r)) for r in self.db.execute("SELECT * FROM apps ORDER BY name, source_app_id")]

    def apps_named(self, name: str, shared_space_id: str) -> list[AppRecord]:
        """Apps migrated under one name into one shared space (their imports and copies look alike)."""
        rows = self.db.execute("SELECT * FROM apps WHERE name=? AND shared_space_id=? ORDER BY source_app_id",
                               (name, shared_space_id))
        return [AppRecord(**dict(r)) for r in rows]

    def begin_app(self, source_app_id: str, name: str, modified: str, shared: str, managed: str) -> AppRecord:
        with self.tx() as db:
            db.execute(
                """INSERT INTO apps(source_app_id, name, source_modified, shared_space_id, managed_space_id,
                                    status, updated_at) VALUES (?,?,?,?,?,?,?)
                   ON CONFLICT(source_app_id) DO NOTHING""",
                (source_app_id, name, modified, shared, managed, AppStatus.PENDING, now()),
            )
        record = self.app(source_app_id)
        assert record is not None
        return record

    def update_app(self, source_app_id: str, **fields: Any) -> None:
        fields["updated_at"] = now()
        cols = ", ".join(f"{k}=?" for k in fields)
        with self.tx() as db:
            db.execute(f"UPDATE apps SET {cols} WHERE source_app_id=?", (*fields.values(), source_app_id))

    def restart_app(self, source_app_id: str, modified: str, reason: str) -> None:
        """--force on a changed source: keep what the earlier import was, start the steps again."""
        record = self.app(source_app_id)
        if record is None:
            return
        history = orjson.loads(record.history)
        if record.imported_app_id:
            history.append({"imported_app_id": record.imported_app_id, "copy_app_id": record.copy_app_id,
                            "source_modified": record.source_modified, "step": record.step,
                            "superseded_at": now(), "reason": reason})
        with self.tx() as db:
            db.execute(
                """UPDATE apps SET status=?, step='', source_modified=?, export_path=NULL,
                   export_size=NULL, export_sha256=NULL, import_started_at=NULL, imported_app_id=NULL,
                   copy_started_at=NULL, copy_app_id=NULL, error=NULL, history=?, updated_at=?
                   WHERE source_app_id=?""",
                (AppStatus.PENDING, modified, orjson.dumps(history).decode(), now(), source_app_id),
            )
            db.execute("DELETE FROM objects WHERE source_app_id=?", (source_app_id,))
            db.execute("DELETE FROM cleanup WHERE source_app_id=?", (source_app_id,))
            for table in ("object_dates", "wave_objects"):  # its waves start anew (ledger_waves.py)
                db.execute(f"DELETE FROM {table} WHERE source_app_id=?", (source_app_id,))

    def record_import(self, source_app_id: str, imported_app_id: str) -> None:
        """The import's app, and its attempt counted as an import."""
        with self.tx() as db:
            db.execute("INSERT OR IGNORE INTO imports VALUES (?,?,?)", (source_app_id, imported_app_id, now()))
            db.execute("UPDATE apps SET imported_app_id=?, step=?, updated_at=? WHERE source_app_id=?",
                       (imported_app_id, Step.IMPORT, now(), source_app_id))
            done = db.execute("UPDATE import_attempts SET status=?, imported_app_id=? WHERE source_app_id=? AND "
                              "status=?", (Attempt.IMPORTED, imported_app_id, source_app_id, Attempt.RESERVED))
            if not done.rowcount:
                db.execute("INSERT INTO import_attempts VALUES (?,?,?,?,NULL)",
                           (source_app_id, now(), Attempt.IMPORTED, imported_app_id))

    def reserve_import(self, source_app_id: str, started_at: str, identity_id: str, export_sha256: str | None,
                       *, limit: int | None, since: str) -> bool:
        """Count an import against the quota before it starts, and open its adoption window
        (`import_started_at`), in one transaction: apps imported at once and runs one after the
        other cannot both take the last one. False when the quota is used up."""
        self.db.execute("BEGIN IMMEDIATE")  # a write lock from the count on: no other writer between
        try:
            if limit is not None and self.imports_since(since) >= limit:
                self.db.rollback()
                return False
            self.db.execute("INSERT INTO import_attempts VALUES (?,?,?,NULL,?)",
                            (source_app_id, started_at, Attempt.RESERVED, export_sha256))
            self.db.execute("UPDATE apps SET import_started_at=?, identity_id=?, updated_at=? WHERE source_app_id=?",
                            (started_at, identity_id, now(), source_app_id))
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise
        return True

    def open_import(self, source_app_id: str) -> sqlite3.Row | None:
        """The app's import attempt not settled yet (made by a run killed during the import)."""
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM import_attempts WHERE source_app_id=? AND status=? ORDER BY started_at DESC",
            (source_app_id, Attempt.RESERVED)).fetchone()
        return row

    def release_import(self, source_app_id: str) -> None:
        """The app's open import attempt certainly created nothing: no longer counted, and its
        adoption window closed."""
        with self.tx() as db:
            db.execute("UPDATE import_attempts SET status=? WHERE source_app_id=? AND status=?",
                       (Attempt.RELEASED, source_app_id, Attempt.RESERVED))
            db.execute("UPDATE apps SET import_started_at=NULL, updated_at=? WHERE source_app_id=?",
                       (now(), source_app_id))

    def supersede_import(self, source_app_id: str, stale_app_id: str, reason: str) -> None:
        """An interrupted import of an earlier version of the source created `stale_app_id`: it
        counted as an import, is never adopted (the app's history), and the window is closed."""
        record = self.app(source_app_id)
        assert record is not None
        history = orjson.loads(record.history)
        history.append({"imported_app_id": stale_app_id, "copy_app_id": None,
                        "source_modified": record.source_modified, "step": "", "superseded_at": now(),
                        "reason": reason})
        with self.tx() as db:
            db.execute("UPDATE import_attempts SET status=?, imported_app_id=? WHERE source_app_id=? AND status=?",
                       (Attempt.IMPORTED, stale_app_id, source_app_id, Attempt.RESERVED))
            db.execute("UPDATE apps SET import_started_at=NULL, history=?, updated_at=? WHERE source_app_id=?",
                       (orjson.dumps(history).decode(), now(), source_app_id))

    def imports_since(self, since_iso: str) -> int:
        """Import attempts counted by --max-imports: made or reserved (perhaps made by a killed run)."""
        return int(self.db.execute("SELECT count(*) FROM import_attempts WHERE started_at >= ? AND status != ?",
                                   (since_iso, Attempt.RELEASED)).fetchone()[0])

    def known_cloud_app_ids(self) -> set[str]:
        ids = {r[0] for r in self.db.execute("SELECT imported_app_id FROM imports")}
        ids |= {r[0] for r in self.db.execute("SELECT copy_app_id FROM apps WHERE copy_app_id IS NOT NULL")}
        return ids

    def superseded_cloud_app_ids(self) -> set[str]:
        """Imports and dev copies of migrations superseded by --force (the apps' history). They
        stay on the tenant under the same name and owner, the earlier dev copy in the very shared
        space a new import lands in: an interrupted re-migration must not adopt one of them."""
        ids: set[str] = set()
        for (history,) in self.db.execute("SELECT history FROM apps WHERE history != '[]'"):
            for entry in orjson.loads(history):
                ids |= {v for k in ("imported_app_id", "copy_app_id") if isinstance(v := entry.get(k), str) and v}
        return ids

    # -- objects --------------------------------------------------------------------------------
    def seed_objects(self, source_app_id: str, rows: Iterable[tuple[Any, ...]], *, retry_failed: bool = False) -> None:
        """rows: (object_id, type, title, state, source_owner_id, source_owner, target_owner_id,
        rule, status). A row already `done` keeps its result, and a row `sent` (outcome unknown)
        keeps its status so the next attempt reads the truth first. ?1 and ?2 are those statuses;
        ?14 is `failed-for-good`, kept with its reason unless retry_failed."""
        stamp = now()
        with self.tx() as db:
            db.executemany(
                """INSERT INTO objects(source_app_id, object_id, type, title, state, source_owner_id,
                       source_owner, target_owner_id, rule, status, updated_at)
                   VALUES (?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                   ON CONFLICT(source_app_id, object_id) DO UPDATE SET
                       target_owner_id = CASE WHEN objects.status IN (?1, ?2, ?14)
                                              THEN objects.target_owner_id ELSE excluded.target_owner_id END,
                       rule = CASE WHEN objects.status IN (?1, ?2, ?14) THEN objects.rule ELSE excluded.rule END,
                       status = CASE WHEN objects.status IN (?1, ?2, ?14) THEN objects.status
                                     ELSE excluded.status END,
                       updated_at = excluded.updated_at""",
                ((ObjectStatus.DONE, ObjectStatus.SENT, source_app_id, *r, stamp,
                  "" if retry_failed else ObjectStatus.FAILED_FOR_GOOD) for r in rows),
            )

    def objects(self, source_app_id: str, status: str | None = None) -> list[sqlite3.Row]:
        if status is None:
            return self.db.execute("SELECT * FROM objects WHERE source_app_id=? ORDER BY object_id",
                                   (source_app_id,)).fetchall()
        return self.db.execute("SELECT * FROM objects WHERE source_app_id=? AND status=? ORDER BY object_id",
                               (source_app_id, status)).fetchall()

    def set_object(self, source_app_id: str, object_id: str, *, status: str, result_owner_id: str | None = None,
                   evidence: str | None = None, error: str | None = None, sent_by: str | None = None) -> None:
        """`sent_by`: the context a change-owner is sent as (kept when None)."""
        with self.tx() as db:
            db.execute(
                """UPDATE objects SET status=?, result_owner_id=COALESCE(?, result_owner_id), evidence=?,
                   error=?, updated_at=?, sent_by=COALESCE(?, sent_by) WHERE source_app_id=? AND object_id=?""",
                (status, result_owner_id, evidence, error, now(), sent_by, source_app_id, object_id),
            )

    def object_counts(self, source_app_id: str) -> dict[str, int]:
        rows = self.db.execute("SELECT status, count(*) FROM objects WHERE source_app_id=? GROUP BY status",
                               (source_app_id,))
        return {r[0]: r[1] for r in rows}

    # -- clean-up of the development copy ---------------------------------------------------------
    def seed_cleanup(self, source_app_id: str, rows: Iterable[tuple[str, str, str]]) -> None:
        with self.tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO cleanup VALUES (?,?,?,?,?)",
                ((source_app_id, *r, CleanupStatus.PENDING) for r in rows),
            )

    def cleanup_rows(self, source_app_id: str) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM cleanup WHERE source_app_id=? ORDER BY object_id",
                               (source_app_id,)).fetchall()

    def set_cleanup(self, source_app_id: str, object_ids: Iterable[str], status: str) -> None:
        with self.tx() as db:
            db.executemany("UPDATE cleanup SET status=? WHERE source_app_id=? AND object_id=?",
                           ((status, source_app_id, o) for o in object_ids))


def _make_private_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe = path / ".write-test"
        probe.touch()
        probe.unlink()
    except OSError as e:
        raise UsageProblem(f"state dir {path} is not writable ({e.strerror}): pass --state-dir DIR") from e

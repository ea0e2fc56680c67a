"""Bookkeeping that changes on every call, kept out of the world file.

`<state>.runtime` (SQLite): the call counter that seeds each call's dice, and the sliding
windows of the rate limiter. `<state>.calls.jsonl`: one JSON line per call, appended with a
single O_APPEND write so parallel callers never interleave inside a line. `<state>.crashes`: the
traceback of every simulator crash.
"""

from __future__ import annotations

import math
import os
import sqlite3

# Created in one transaction: a caller that finds the table finds its row too (created statement by
# statement, a parallel first call could see the table without the row).
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO counter (id, n) VALUES (1, 0)",
    "CREATE TABLE IF NOT EXISTS hits (identity TEXT NOT NULL, tier TEXT NOT NULL, ts REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS hits_key ON hits (identity, tier, ts)",
)


def _create_schema(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA:
            conn.execute(statement)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _connect(state_path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(state_path + ".runtime", timeout=120.0, isolation_level=None)
    # Losing a counter bump on power loss is harmless; fsyncs on every call are not.
    conn.execute("PRAGMA synchronous = OFF")
    return conn


def tick(state_path: str, identity: str, tier: str, rate: tuple[int, float] | None, now: float,
         tenant: tuple[int, float] | None = None) -> tuple[int, int | None]:
    """Count this call; with a rate limit, also admit or refuse it.

    Returns (call counter, None) when admitted, or (counter, seconds to wait) when the identity has
    used up its `rate` = (calls, window_seconds) for this tier (sliding window; refused calls are
    not counted, as Qlik counts served requests).
    """
    conn = _connect(state_path)
    try:
        for attempt in (0, 1):
            try:
                conn.execute("BEGIN IMMEDIATE")
                counter = conn.execute("UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n").fetchone()[0]
                break
            except sqlite3.OperationalError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if "no such table" not in str(exc) or attempt:
                    raise
                _create_schema(conn)
        wait = None
        if rate is not None:
            calls, window = rate
            conn.execute("DELETE FROM hits WHERE identity = ? AND tier = ? AND ts <= ?", (identity, tier, now - window))
            used, oldest = conn.execute("SELECT count(*), min(ts) FROM hits WHERE identity = ? AND tier = ?", (identity, tier)).fetchone()
            if used >= calls:
                wait = max(1, math.ceil(oldest + window - now))
        if tenant is not None and wait is None:
            # The tenant's cap: every identity's calls of the tier in one window.
            calls, window = tenant
            used, oldest = conn.execute("SELECT count(*), min(ts) FROM hits WHERE tier = ? AND ts > ?", (tier, now - window)).fetchone()
            if used >= calls:
                wait = max(1, math.ceil(oldest + window - now))
        if wait is None and (rate is not None or tenant is not None):
            conn.execute("INSERT INTO hits (identity, tier, ts) VALUES (?, ?, ?)", (identity, tier, now))
        conn.execute("COMMIT")
        return counter, wait
    finally:
        conn.close()


def append_crash(state_path: str, text: str) -> None:
    """A simulator crash's whole traceback, kept beside the world (`<state>.crashes`)."""
    with open(state_path + ".crashes", "a", encoding="utf-8") as out:
        out.write(text.rstrip("\n") + "\n\n")


def append_log(state_path: str, line: str) -> None:
    fd = os.open(state_path + ".calls.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)

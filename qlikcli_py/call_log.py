"""Calls per (context, tier) of the last rate window, kept in `<state-dir>/calls.sqlite`.

Qlik counts an identity's calls over a rolling window that does not restart with our process: a
run started a minute after another must see the calls the first one made. Counts are kept per
second (one row per context, tier and second), written at most once a second and at exit, so a
burst of reads costs a handful of small writes rather than one per call. Several processes may
share one state dir (`plan` beside a `run`): rows are added to, never overwritten.
"""
from __future__ import annotations

import atexit
import math
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import structlog

log = structlog.get_logger("pacing")

FILE_NAME = "calls.sqlite"
_FLUSH_EVERY = 1.0  # seconds
_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    context TEXT NOT NULL, tier TEXT NOT NULL, second INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (context, tier, second)
) WITHOUT ROWID;
"""


class CallLog:
    """Written at most once a second and at interpreter exit (a kill loses at most that second)."""

    def __init__(self, path: Path, *, keep_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.keep_seconds = keep_seconds
        self._clock = clock
        self._pending: Counter[tuple[str, str, int]] = Counter()
        self._flushed_at = clock()
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # losing the last second on power loss is harmless
        self._db.executescript(_SCHEMA)
        path.chmod(0o600)
        atexit.register(self.close)

    @classmethod
    def open(cls, state_dir: Path | None, *, keep_seconds: float) -> CallLog | None:
        """The log of an existing state dir; None (with a warning) when there is none to keep it in.
        A state dir is never created here: `plan` stays a dry run on a machine that never ran."""
        if state_dir is None or not state_dir.is_dir():
            return None
        path = (state_dir / FILE_NAME).resolve()
        if path in _OPEN:  # a second command in one process (tests) shares the first one's counts
            return _OPEN[path]
        try:
            _OPEN[path] = cls(path, keep_seconds=keep_seconds)
            return _OPEN[path]
        except (OSError, sqlite3.Error) as e:
            log.warning("pacing.no_call_log", path=str(state_dir / FILE_NAME), error=str(e))
            return None

    def recent(self, context: str, tier: str, window: float) -> list[tuple[float, int]]:
        """(time, calls) of the last `window` seconds, oldest first. A second's calls are dated at
        its end, the latest they can have happened, so they never leave the window too early."""
        since = math.floor(self._clock() - window)
        rows = self._db.execute(
            "SELECT second, n FROM calls WHERE context = ? AND tier = ? AND second >= ? ORDER BY second",
            (context, tier, since)).fetchall()
        pending = [(s, n) for (c, t, s), n in self._pending.items() if c == context and t == tier and s >= since]
        merged: Counter[int] = Counter()
        for second, n in (*rows, *pending):
            merged[second] += n
        return [(float(second + 1), n) for second, n in sorted(merged.items())]

    def recent_all(self, tier: str, window: float) -> list[tuple[float, int]]:
        """The same over every context (identity): what the tenant's cap counts."""
        since = math.floor(self._clock() - window)
        rows = self._db.execute("SELECT second, n FROM calls WHERE tier = ? AND second >= ?", (tier, since)).fetchall()
        pending = [(s, n) for (_c, t, s), n in self._pending.items() if t == tier and s >= since]
        merged: Counter[int] = Counter()
        for second, n in (*rows, *pending):
            merged[second] += n
        return [(float(second + 1), n) for second, n in sorted(merged.items())]

    def add(self, context: str, tier: str, stamp: float) -> None:
        self._pending[(context, tier, math.floor(stamp))] += 1
        if stamp - self._flushed_at >= _FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        self._flushed_at = self._clock()
        if not self._pending or self._db is None:
            return
        rows = [(c, t, s, n) for (c, t, s), n in self._pending.items()]
        self._pending.clear()
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT INTO calls (context, tier, second, n) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (context, tier, second) DO UPDATE SET n = n + excluded.n", rows)
                self._db.execute("DELETE FROM calls WHERE second < ?",
                                 (math.floor(self._flushed_at - self.keep_seconds) - 1,))
        except sqlite3.Error as e:  # pacing still works from memory; only the next run sees less
            log.warning("pacing.call_log_write_failed", path=str(self.path), error=str(e))

    def close(self) -> None:
        if self._db is None:
            return
        self.flush()
        self._db.close()
        self._db = None  # type: ignore[assignment]
        atexit.unregister(self.close)
        if _OPEN.get(self.path) is self:
            del _OPEN[self.path]


_OPEN: dict[Path, CallLog] = {}

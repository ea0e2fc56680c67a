from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys

import pytest

from qlikcli_py.errors import LockHeld
from qlikcli_py.errors import UsageProblem
from qlikcli_py.ledger import LEDGER_VERSION
from qlikcli_py.ledger import Ledger


def _app(ledger: Ledger, app_id: str = "a1") -> None:
    ledger.begin_app(app_id, "Sales", "2024-01-01T00:00:00.000Z", "shared1", "managed1")


def test_ledger_and_dir_are_private(tmp_path):
    state = tmp_path / "state"
    with Ledger(state) as ledger:
        _app(ledger)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "ledger.sqlite").stat().st_mode) == 0o600


def test_second_lock_is_refused_with_the_holder(tmp_path):
    with Ledger(tmp_path) as first:
        first.lock()
        code = (
            "import sys; from qlikcli_py.ledger import Ledger\n"
            "from qlikcli_py.errors import LockHeld\n"
            f"l = Ledger(__import__('pathlib').Path({str(tmp_path)!r}))\n"
            "try:\n    l.lock()\nexcept LockHeld as e:\n    print(e); sys.exit(75)\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert proc.returncode == 75, proc.stderr
        assert f"pid {os.getpid()}" in proc.stdout
    # released on close: a new run can take it
    with Ledger(tmp_path) as again:
        again.lock()


def test_lock_in_same_process_twice_raises(tmp_path):
    a = Ledger(tmp_path)
    a.lock()
    b = Ledger(tmp_path)
    with pytest.raises(LockHeld):
        b.lock()
    a.close()
    b.close()


def test_unknown_format_version_is_refused(tmp_path):
    with Ledger(tmp_path):
        pass
    db = sqlite3.connect(tmp_path / "ledger.sqlite")
    db.execute(f"PRAGMA user_version={LEDGER_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(UsageProblem, match=f"ledger format {LEDGER_VERSION + 1}"):
        Ledger(tmp_path)


def test_a_format_1_ledger_is_upgraded_with_its_imports_and_open_attempt_counted(tmp_path):
    with Ledger(tmp_path) as ledger:
        _app(ledger, "a1")
        _app(ledger, "a2")
        ledger.record_import("a1", "c1")
        ledger.update_app("a2", import_started_at="2030-01-01T00:00:00.000Z")  # a run killed during the import
    db = sqlite3.connect(tmp_path / "ledger.sqlite")
    db.executescript("DROP TABLE import_attempts; PRAGMA user_version=1;")
    db.close()
    with Ledger(tmp_path) as ledger:
        assert ledger.imports_since("2000-01-01T00:00:00Z") == 2
        assert ledger.open_import("a2") is not None and ledger.open_import("a1") is None


def test_a_reservation_counts_until_released_and_the_quota_refuses_past_it(tmp_path):
    since = "2000-01-01T00:00:00Z"
    with Ledger(tmp_path) as ledger:
        for app_id in ("a1", "a2"):
            _app(ledger, app_id)
        assert ledger.reserve_import("a1", "2030-01-01T00:00:00.000Z", "me", "sha-1", limit=1, since=since)
        assert not ledger.reserve_import("a2", "2030-01-01T00:00:01.000Z", "me", "sha-2", limit=1, since=since)
        assert ledger.app("a1").import_started_at == "2030-01-01T00:00:00.000Z"
        assert ledger.app("a2").import_started_at is None  # refused: no window opened
        ledger.release_import("a1")  # certainly created nothing
        assert ledger.app("a1").import_started_at is None
        assert ledger.reserve_import("a2", "2030-01-01T00:00:02.000Z", "me", "sha-2", limit=1, since=since)
        ledger.record_import("a2", "c2")
        assert ledger.imports_since(since) == 1 and ledger.open_import("a2") is None


def test_readonly_without_ledger_says_so(tmp_path):
    with pytest.raises(UsageProblem, match="no ledger"):
        Ledger(tmp_path / "nothing", readonly=True)


def test_seed_objects_keeps_done_and_sent_rows(tmp_path):
    with Ledger(tmp_path) as ledger:
        _app(ledger)
        rows = [("o1", "sheet", "S1", "private", "u1", "D\\u1", "c1", "subject", "pending"),
                ("o2", "sheet", "S2", "private", "u1", "D\\u1", "c1", "subject", "pending"),
                ("o3", "sheet", "S3", "private", "u2", "D\\u2", None, None, "unmatched")]
        ledger.seed_objects("a1", rows)
        ledger.set_object("a1", "o1", status="done", result_owner_id="c1", evidence="change-owner")
        ledger.set_object("a1", "o2", status="sent")
        # a later run resolves u2 and proposes another target for o1: done/sent rows must not move
        rows2 = [("o1", "sheet", "S1", "private", "u1", "D\\u1", "cX", "email", "pending"),
                 ("o2", "sheet", "S2", "private", "u1", "D\\u1", "cX", "email", "pending"),
                 ("o3", "sheet", "S3", "private", "u2", "D\\u2", "c2", "email", "pending")]
        ledger.seed_objects("a1", rows2)
        got = {r["object_id"]: (r["status"], r["target_owner_id"]) for r in ledger.objects("a1")}
    assert got == {"o1": ("done", "c1"), "o2": ("sent", "c1"), "o3": ("pending", "c2")}


def test_restart_keeps_history_of_earlier_import(tmp_path):
    with Ledger(tmp_path) as ledger:
        _app(ledger)
        ledger.record_import("a1", "cloud-1")
        ledger.update_app("a1", copy_app_id="copy-1", step="done", status="done")
        ledger.restart_app("a1", "2025-01-01T00:00:00.000Z", "changed")
        rec = ledger.app("a1")
        assert rec is not None
        assert rec.imported_app_id is None and rec.step == "" and rec.status == "pending"
        assert '"imported_app_id":"cloud-1"' in rec.history
        assert ledger.known_cloud_app_ids() == {"cloud-1"}  # never adopted again as a "new" import


def test_imports_since_counts_for_quota(tmp_path):
    with Ledger(tmp_path) as ledger:
        _app(ledger, "a1")
        _app(ledger, "a2")
        ledger.record_import("a1", "c1")
        ledger.record_import("a2", "c2")
        assert ledger.imports_since("2000-01-01T00:00:00Z") == 2
        assert ledger.imports_since("2999-01-01T00:00:00Z") == 0


def test_a_format_2_ledger_is_upgraded_and_then_records_each_hand_overs_sender(tmp_path):
    with Ledger(tmp_path) as ledger:
        _app(ledger, "a1")
        ledger.seed_objects("a1", [("o1", "sheet", "t", "private", "u1", "D\\u1", "c1", "subject", "pending")])
        ledger.set_object("a1", "o1", status="sent")
    db = sqlite3.connect(tmp_path / "ledger.sqlite")
    db.executescript("ALTER TABLE objects DROP COLUMN sent_by; PRAGMA user_version=2;")
    db.close()
    with Ledger(tmp_path) as ledger:
        assert ledger.db.execute("PRAGMA user_version").fetchone()[0] == LEDGER_VERSION
        assert ledger.objects("a1")[0]["sent_by"] is None and ledger.objects("a1")[0]["status"] == "sent"
        ledger.set_object("a1", "o1", status="sent", sent_by="bot1")
        ledger.set_object("a1", "o1", status="done", result_owner_id="c1")  # the sender is kept
        row = ledger.objects("a1")[0]
        assert (row["status"], row["sent_by"], row["result_owner_id"]) == ("done", "bot1", "c1")

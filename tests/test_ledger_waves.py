"""Ledger format 4 (sync's waves): a format-3 ledger is upgraded by the first command that writes,
and `status` reads one that has not been upgraded yet."""
from __future__ import annotations

import sqlite3

from qlikcli_py import ledger_waves
from qlikcli_py.ledger import LEDGER_VERSION
from qlikcli_py.ledger import Ledger
from qlikcli_py.report import status_doc


def _format_3(state_dir):
    """A ledger as format 3 left it: the current schema without sync's tables."""
    with Ledger(state_dir) as ledger:
        ledger.begin_app("a1", "Sales", "2026-01-01T00:00:00.000Z", "s", "m")
    db = sqlite3.connect(state_dir / "ledger.sqlite")
    for table in ("object_dates", "waves", "wave_objects"):
        db.execute(f"DROP TABLE {table}")
    db.execute("PRAGMA user_version=3")
    db.commit()
    db.close()


def test_format_3_is_upgraded_with_the_wave_tables(tmp_path):
    _format_3(tmp_path)
    with Ledger(tmp_path) as ledger:
        assert ledger.db.execute("PRAGMA user_version").fetchone()[0] == LEDGER_VERSION == 4
        assert ledger.app("a1") is not None
        ledger_waves.record_dates(ledger, "a1", [("o1", "2026-02-01T00:00:00.000Z"), ("o2", "")])
        ledger_waves.record_dates(ledger, "a1", [("o1", "2026-03-01T00:00:00.000Z")])  # the first date stays
        assert ledger_waves.dates(ledger, "a1") == {"o1": "2026-02-01T00:00:00.000Z"}
        assert ledger_waves.waves(ledger) == []


def test_status_reads_a_format_3_ledger_as_it_is(tmp_path):
    _format_3(tmp_path)
    with Ledger(tmp_path, readonly=True) as ledger:
        doc = status_doc(ledger)
    assert [a["source_app_id"] for a in doc["apps"]] == ["a1"] and doc["waves"] == []
    db = sqlite3.connect(tmp_path / "ledger.sqlite")
    assert db.execute("PRAGMA user_version").fetchone()[0] == 3  # read only: not upgraded


def test_a_wave_keeps_what_earlier_waves_found(tmp_path):
    with Ledger(tmp_path) as ledger:
        row = ("o1", "new", "sheet", "S", "private", "u1", "DIR\\u1", "2026-02-01T00:00:00.000Z", "pending", None)
        ledger_waves.begin_wave(ledger, "w1", "a1", "Sales (qlik-migrate sync w1)", [row])
        ledger_waves.set_wave_object(ledger, "a1", "o1", "new", status="synced")
        ledger_waves.begin_wave(ledger, "w2", "a1", "Sales (qlik-migrate sync w2)", [row])  # found again
        [kept] = ledger_waves.wave_objects(ledger, "a1", kind="new")
        assert kept["wave_id"] == "w1" and kept["status"] == "synced"
        assert {w["wave_id"] for w in ledger_waves.waves(ledger, "a1")} == {"w1", "w2"}

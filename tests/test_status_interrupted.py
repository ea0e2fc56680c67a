"""Issue 14 point 8: `status` tells a killed run's apps (no process holds the lock) from a live one's."""
from __future__ import annotations

import orjson

from qlikcli_py.cli.main import main
from qlikcli_py.ledger import Ledger


def _seed(state_dir):
    with Ledger(state_dir) as ledger:
        ledger.begin_app("a1", "Sales", "2024-01-01", "shared", "managed")
        ledger.update_app("a1", status="running", step="import")
        ledger.begin_app("a2", "HR", "2024-01-01", "shared", "managed")
        ledger.update_app("a2", status="done", step="done")


def _status(state_dir, capsys, *extra):
    capsys.readouterr()
    assert main(["status", "--state-dir", str(state_dir), *extra]) == 0
    return capsys.readouterr().out


def test_running_apps_of_a_dead_run_show_as_interrupted(tmp_path, capsys):
    _seed(tmp_path)
    doc = orjson.loads(_status(tmp_path, capsys, "--json"))
    assert {a["source_app_id"]: a["status"] for a in doc["apps"]} == {"a1": "interrupted", "a2": "done"}
    assert doc["run_in_progress"] is False
    assert "interrupted" in _status(tmp_path, capsys)


def test_running_apps_of_a_live_run_stay_running(tmp_path, capsys):
    _seed(tmp_path)
    with Ledger(tmp_path) as live:
        live.lock()
        doc = orjson.loads(_status(tmp_path, capsys, "--json"))
    assert {a["source_app_id"]: a["status"] for a in doc["apps"]} == {"a1": "running", "a2": "done"}
    assert doc["run_in_progress"] is True
    # and the lock is free again afterwards: status did not take it
    with Ledger(tmp_path) as again:
        again.lock()

"""Issue 18 (3, 4, 16): decisions from what an identity can list, not from engine error words.

Each world is the demo's sales app only, through the plain migration identity (`cloud`, no
admin.apps), with the simulator's per-world knobs: how the engine answers another user's private
object (`hidden_answer`), how it words its errors (`engine_wording`), and whether a removal made
with `--no-save` outlives its `qlik` process (`unsaved_removals`).
"""
from __future__ import annotations

import json
import sqlite3

import pytest

from qlikcli_py.errors import ExitCode


def _ledger(sim):
    return sqlite3.connect(sim.state_dir / "ledger.sqlite")


def _copy_objects(sim):
    with _ledger(sim) as db:
        [copy] = db.execute("SELECT copy_app_id FROM apps").fetchone()
    return {o["object_id"]: o for o in sim.world.cloud_objects(copy)}


# -- 3. verify through the plain identity, whatever the engine answers for a hidden object ----------
@pytest.mark.parametrize("hidden", ["access_denied", "not_found"])
def test_verify_through_the_plain_identity_passes_after_a_clean_run(sim, hidden):
    sim.faults(hidden_answer=hidden)
    app = sim.app("sales")
    assert sim.migrate("run", app, *sim.common()).code == ExitCode.UNMATCHED  # ACME\tleft stays behind
    report = sim.tmp / "v.json"
    res = sim.migrate("verify", app, *sim.common(spaces=False), "--report", str(report))
    assert res.code == ExitCode.OK, res.out + res.err
    doc = json.loads(report.read_text(encoding="utf-8"))
    by_status = doc["apps"][0]["summary"]["by_status"]
    assert by_status.get("handed-over-hidden", 0) > 0 and "missing" not in by_status
    assert "run verify with an admin.apps identity to confirm" in res.out
    # owners as plan shows them: on-prem owner, then the cloud user's name and id
    jdoe = sim.info["cloud_users"]["jdoe"]
    [line] = [ln for ln in res.out.splitlines() if "ACME\\jdoe" in ln and "owner" in ln]
    assert jdoe in line and "(" in line.split(jdoe)[0]
    owners = {o["source_owner"]: o for o in doc["apps"][0]["summary"]["owners"]}
    assert owners["ACME\\jdoe"]["cloud_user_id"] == jdoe and owners["ACME\\jdoe"]["cloud_user"]

    # A hidden object the ledger never handed over to its owner is a mismatch, not handed-over-hidden.
    with _ledger(sim) as db:
        [oid] = db.execute("SELECT object_id FROM objects WHERE state = 'private' AND status = 'done' "
                           "AND type = 'sheet' AND target_owner_id != ? LIMIT 1",
                           (sim.info["cloud_identity"],)).fetchone()
        db.execute("UPDATE objects SET status = 'failed', result_owner_id = NULL WHERE object_id = ?", (oid,))
    res = sim.migrate("verify", app, *sim.common(spaces=False), "--report", str(report))
    assert res.code == ExitCode.MISMATCH, res.out
    [bad] = json.loads(report.read_text(encoding="utf-8"))["apps"][0]["mismatches"]
    assert (bad["object_id"], bad["status"]) == (oid, "missing")


# -- 4. settling and clean-up with engine errors nobody has recorded -------------------------------
def _lose_the_answer(sim):
    """As if every private change-owner had applied but answered 5xx: `sent` in the ledger."""
    with _ledger(sim) as db:
        rows = db.execute("SELECT object_id FROM objects WHERE state = 'private' AND status = 'done' "
                          "AND target_owner_id != ?", (sim.info["cloud_identity"],)).fetchall()
        db.execute("UPDATE objects SET status = 'sent', result_owner_id = NULL, evidence = NULL "
                   "WHERE state = 'private' AND status = 'done' AND target_owner_id != ?",
                   (sim.info["cloud_identity"],))
    return {r[0] for r in rows}


@pytest.mark.parametrize("wording,hidden", [("novel", "not_found"), ("corectl", "access_denied")])
def test_a_handed_over_object_is_settled_whatever_the_engine_says(sim, wording, hidden):
    sim.faults(hidden_answer=hidden, engine_wording=wording)
    app = sim.app("sales")
    assert sim.migrate("run", app, *sim.common()).code == ExitCode.UNMATCHED
    sent = _lose_the_answer(sim)
    res = sim.migrate("run", app, *sim.common())
    assert res.code == ExitCode.UNMATCHED, res.out + res.err  # converged in one run
    with _ledger(sim) as db:
        got = {r[0]: (r[1], r[2]) for r in db.execute("SELECT object_id, status, evidence FROM objects")}
    assert {got[o][0] for o in sent} == {"done"}
    assert all("no longer listed" in got[o][1] for o in sent), {got[o][1] for o in sent}
    assert sim.migrate("verify", app, *sim.common(spaces=False, target="cloud-bot")).code == ExitCode.OK


def test_clean_up_of_objects_already_gone_from_the_copy_is_done_whatever_the_engine_says(sim):
    sim.faults(engine_wording="novel")
    app = sim.app("sales")
    assert sim.migrate("run", app, *sim.common()).code == ExitCode.UNMATCHED
    with _ledger(sim) as db:  # as if a killed run had removed and saved, but not recorded it
        db.execute("UPDATE cleanup SET status = 'pending'")
        db.execute("UPDATE apps SET step = 'move', status = 'running'")
    calls = len(sim.calls())
    res = sim.migrate("run", app, *sim.common())
    assert res.code == ExitCode.UNMATCHED, res.out + res.err
    engine = [c["command"] for c in sim.calls()[calls:] if c["tier"] == "engine"]
    assert not [c for c in engine if c.endswith(("unpublish", " rm"))], engine  # gone: nothing to do
    with _ledger(sim) as db:
        assert {r[0] for r in db.execute("SELECT status FROM cleanup")} == {"removed"}


# -- 16. an engine that drops unsaved removals between processes -----------------------------------
def test_the_copy_holds_base_objects_only_when_unsaved_removals_do_not_last(sim):
    """Kept unsaved removals (the simulator's default) are what every other end-to-end test runs on."""
    sim.faults(unsaved_removals="dropped")
    app = sim.app("sales")
    assert sim.migrate("run", app, *sim.common()).code == ExitCode.UNMATCHED
    left = {oid for oid, o in _copy_objects(sim).items() if not o["approved"]}
    assert not left, left
    assert not [o for o in _copy_objects(sim).values() if o["pending_rm"]]
    assert sim.migrate("verify", app, *sim.common(spaces=False, target="cloud-bot")).code == ExitCode.OK

"""Issue 8 (faults): small seeded campaigns of each kind of fault the simulator injects; the long
version is scripts/fault-sweep. Final state checked with qliksim.sweeps.check_final_state."""
from __future__ import annotations

import json
import sqlite3
from collections import Counter

import pytest

from qlikcli_py.errors import ExitCode
from qliksim.sweeps import DONE_CODES
from qliksim.sweeps import check_final_state
from qliksim.sweeps import injected_faults

FAST = ("--lookup", "listing")  # one user listing instead of a lookup per owner: half the plan's calls


def _check(sim, app):
    return check_final_state(sim.path, [app], shared_space=sim.info["spaces"]["Finance Dev"],
                             managed_space=sim.info["spaces"]["Finance"], me=sim.info["cloud_identity"])


def _until_done(sim, app, *extra, runs=12):
    codes = []
    for _ in range(runs):
        res = sim.migrate("run", app, *sim.common(), *FAST, *extra)
        codes.append(res.code)
        if res.code in DONE_CODES:
            return codes, res
    raise AssertionError(f"not done after {runs} runs: exit codes {codes}; last: {res.err[-800:]}")


def _objects(sim) -> Counter[str]:
    db = sqlite3.connect(sim.state_dir / "ledger.sqlite")
    try:
        return Counter(r[0] for r in db.execute("SELECT status FROM objects"))
    finally:
        db.close()


@pytest.mark.slow
def test_429_storm_is_waited_out_and_fails_nothing(sim):
    app = sim.app("sales")
    sim.faults(rate_write="3/1", rate_read="4/1", seed=7)
    res = sim.migrate("run", app, *sim.common(), *FAST, "--report", str(sim.tmp / "r.json"))
    assert res.code == ExitCode.UNMATCHED, res.err  # the first run finishes: a 429 is never a failure
    report = json.loads((sim.tmp / "r.json").read_text())
    assert report["rate_limited"] > 0
    refused = [c for c in sim.calls() if c.get("exit") == 1]
    assert len(refused) >= report["rate_limited"] > 0  # every failed call was a 429, waited out
    assert set(_objects(sim)) == {"done", "unmatched", "kept"}  # no object failed, none left to do
    final = _check(sim, app)
    assert final.ok, final.problems


@pytest.mark.slow
def test_5xx_and_applied_but_failed_complete_after_reruns(sim):
    app = sim.app("sales")
    sim.faults(fail_5xx=0.1, applied_but_failed=0.15, hang_seconds=3, seed=3)
    codes, _ = _until_done(sim, app, "--call-timeout", "1.5")
    injected = injected_faults(str(sim.path) + ".calls.jsonl")
    assert injected["fail_5xx"] and injected["applied_but_failed"], injected
    final = _check(sim, app)
    assert final.ok, (codes, final.problems)


@pytest.mark.slow
def test_every_write_applied_then_failed_or_hung_is_reconciled_in_one_run(sim):
    """Every import, copy, change-owner and move commits and then answers 503, or hangs past
    --call-timeout and is killed: each outcome is settled by reading the tenant (the app by name,
    owner and creation time; the object's owner by its layout, or hidden after the handover), so
    one run finishes and nothing is done twice."""
    app = sim.app("sales")
    sim.faults(applied_but_failed=1.0, fault_tiers="write", hang_seconds=3, seed=1)
    # One run is enough; up to two more only for an unfaulted engine call that a loaded machine
    # slows past the short timeout.
    codes, res = _until_done(sim, app, "--call-timeout", "2", runs=3)
    calls = sim.calls()
    writes = [c for c in calls if c.get("tier") == "write"]
    assert writes and all(c["exit"] == 1 for c in writes)  # every write failed as far as the tool knew
    assert any(c.get("event") == "hang" for c in calls), "no call hung"
    assert "qlik.timeout" in res.err or len(codes) > 1  # and was killed by the per-call timeout
    assert Counter(c["command"] for c in writes)["app import"] == 1  # never sent twice
    db = sqlite3.connect(sim.state_dir / "ledger.sqlite")
    evidence = Counter(r[0] for r in db.execute("SELECT evidence FROM objects WHERE status = 'done' "
                                                "AND target_owner_id != ?", (sim.info["cloud_identity"],)))
    db.close()
    assert evidence and "change-owner" not in evidence, evidence  # settled from the tenant
    final = _check(sim, app)
    assert final.ok, (codes, final.problems)


@pytest.mark.slow
def test_hangs_time_out_and_the_run_completes_after_reruns(sim):
    app = sim.app("sales")
    sim.faults(hang=0.15, hang_seconds=3, seed=5)
    codes, _ = _until_done(sim, app, "--call-timeout", "1.5")
    injected = injected_faults(str(sim.path) + ".calls.jsonl")
    assert injected["hang"], injected
    final = _check(sim, app)
    assert final.ok, (codes, final.problems)

"""Issue 18.1: runs started back to back share one rate window through `<state-dir>/calls.sqlite`,
with pacing on at Qlik's documented write rate (100/min) over a window scaled down to 3 s."""
from __future__ import annotations

import sqlite3

import pytest

from qlikcli_py.errors import ExitCode

PACED = ("--lookup", "listing", "--write-rate", "100", "--read-rate", "0", "--rate-window", "3")


def _run(sim, app: str) -> int:
    proc = sim.spawn("run", app, *sim.common(), *PACED)
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode in (ExitCode.OK, ExitCode.UNMATCHED), err.decode()[-800:]
    return proc.returncode


def _logged_writes(sim) -> int:
    db = sqlite3.connect(sim.state_dir / "calls.sqlite")
    try:
        return int(db.execute("SELECT coalesce(sum(n), 0) FROM calls WHERE context = 'cloud' AND tier = 'write'")
                   .fetchone()[0])
    finally:
        db.close()


@pytest.mark.slow
def test_two_runs_back_to_back_share_one_window_and_meet_no_429(sim):
    # The simulator holds the same rule as the tool: 5 writes per 3 s per identity (100/min).
    sim.faults(rate_write="5/3")
    _run(sim, sim.app("sales"))
    writes = [c for c in sim.calls() if c.get("tier") == "write"]
    assert writes and _logged_writes(sim) == len(writes)  # `run` keeps the call log, not only plan/verify
    _run(sim, sim.app("hr"))  # at once: the first run's last writes are still in the window
    refused = [c for c in sim.calls() if c.get("tier") == "write" and c.get("exit") != 0]
    assert refused == []  # no 429: the second run knew what the first had spent
    assert _logged_writes(sim) == len([c for c in sim.calls() if c.get("tier") == "write"])

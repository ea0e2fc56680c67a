"""Issue 19.6: `sync` killed anywhere, then run again, creates nothing twice, loses nothing and leaves
no temporary app; the sync after it makes no write. Each chain: a demo world migrated by `run`,
a wave of on-prem work, `sync` SIGKILLed after a chosen simulated call (a watcher on the call log),
then run until it finishes (qliksim.sync_sweeps.check_sync_state). The long seeded version is
`scripts/kill-sweep --sync`."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from qliksim import admin
from qliksim import faults
from qliksim.sweeps import run_tool
from qliksim.sync_sweeps import SYNC_DONE_CODES
from qliksim.sync_sweeps import SyncWorld
from qliksim.sync_sweeps import check_sync_state


def _nth(command: str, n: int = 1):
    seen = [0]

    def when(call, _index):
        seen[0] += call.get("command") == command
        return seen[0] >= n
    return when


# name -> kills (command, n-th call of it, seconds after it, simulator latency during that run)
CHAINS = {
    # the temporary import applied, not recorded: found by name, owner and creation time; then the
    # first `object set` applied, not recorded (`creating`: the listing shows it created)
    "import-applied+set-applied": [("app import", 1, 0.0, 0.0), ("app object set", 1, 0.0, 0.0)],
    # killed inside the third set (latency): maybe applied; then inside a publish
    "set-in-flight+publish": [("app object set", 3, 0.05, 0.1), ("app object publish", 1, 0.0, 0.0)],
    # the temporary app's delete applied, not recorded (latency: the kill lands before the hand-over
    # ends): the rerun has only created objects to hand over, and must resolve their owners too
    "drop-applied": [("app rm", 1, 0.0, 0.3)],
    # a change-owner applied, not recorded (`sent`): settled from the layout
    "handover-applied": [("app object change-owner", 2, 0.0, 0.0)],
}


def _chain(root: Path, bin_dir: Path, kills):
    sw = SyncWorld.create(root, bin_dir, ["sales"])
    hit = []
    for command, n, delay, latency in kills:
        faults.configure(sw.demo.world_path, latency=latency)
        out = run_tool(sw.sync_args(), env=sw.demo.env, log_path=sw.demo.log_path, kill_when=_nth(command, n),
                       delay=delay, timeout=120)
        assert out.killed, f"sync was not killed at {command} (exit {out.code}): {out.err[-500:]}"
        hit.append(out.trigger["command"])
    faults.configure(sw.demo.world_path, latency=0)
    final = run_tool(sw.sync_args(), env=sw.demo.env, log_path=sw.demo.log_path, timeout=120)
    state = check_sync_state(sw)
    again = run_tool(sw.sync_args(), env=sw.demo.env, log_path=sw.demo.log_path, timeout=120)
    writes = [c["command"] for c in again.calls if c["tier"] in ("write", "engine")]
    return hit, final.code, state, writes, again.code


@pytest.mark.slow
def test_sync_killed_anywhere_then_rerun_creates_nothing_twice_and_leaves_no_temporary_app(tmp_path):
    bin_dir = admin.install_bin(tmp_path / "bin").parent
    with ThreadPoolExecutor(2) as pool:
        futures = {name: pool.submit(_chain, tmp_path / name, bin_dir, kills) for name, kills in CHAINS.items()}
    problems = []
    for name, fut in futures.items():
        hit, code, state, writes, again = fut.result()
        if code not in SYNC_DONE_CODES or not state.ok or writes or again not in SYNC_DONE_CODES:
            problems.append(f"{name}: killed after {hit}, final sync exit {code}, then {again} with writes "
                            f"{writes}: {state.problems[:5]}")
    assert not problems, "\n".join(problems)

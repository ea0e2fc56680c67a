"""Issue 4: kill it anywhere, run it again: nothing lost or doubled.

Each chain migrates the demo's sales app in its own world, SIGKILLs `python -m qlikcli_py` after a
chosen simulated call (a watcher on the simulator's call log), kills the rerun at a later point,
then lets a run finish and checks the final state (qliksim.sweeps.check_final_state). Fourteen
kill points cover every step, each both right after a call (applied, not yet recorded) and with the
next call in flight. The long seeded version is scripts/kill-sweep.
"""
from __future__ import annotations

import json
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from qlikcli_py.errors import ExitCode
from qliksim import admin
from qliksim import faults
from qliksim.sweeps import DONE_CODES
from qliksim.sweeps import STEPS
from qliksim.sweeps import TYPICAL_CALLS
from qliksim.sweeps import Demo
from qliksim.sweeps import check_final_state
from qliksim.sweeps import kill_at_step
from qliksim.sweeps import run_tool
from qliksim.sweeps import step_of


def _when(spec: str):
    """"step:k" = after the k-th call of that step (or the first of a later one); else a command."""
    step, _, k = spec.partition(":")
    if k:
        return kill_at_step(step, int(k))
    return lambda call, _index: call.get("command") == spec


FAST = ("--lookup", "listing")  # one user listing instead of a lookup per owner: half the plan's calls

# name -> two kills (where, seconds after that call, simulator latency during that run)
CHAINS = {
    "plan+export": [("plan:4", 0.0, 0.0), ("export:1", 0.0, 0.0)],
    # the import is killed inside the call (latency 0.2 s): started, never applied
    "export+import-in-flight": [("export:1", 0.08, 0.2), ("import:1", 0.0, 0.0)],
    # applied, not recorded: the rerun finds the app by name, owner and creation time
    "import+copy": [("import:1", 0.0, 0.0), ("copy:1", 0.0, 0.0)],
    "copy+reassign-first": [("copy:1", 0.03, 0.0), ("reassign:1", 0.0, 0.0)],
    "reassign-middle+move": [("reassign:6", 0.02, 0.0), ("app publish create", 0.0, 0.0)],
    "clean-first+clean-save": [("clean:1", 0.0, 0.0), ("app build", 0.0, 0.0)],
    # sales and its namesake `twin` (same name, another stream): their imports and copies look
    # alike, so an interrupted one must never be taken for the other's
    "namesakes:import+copy": [("import:1", 0.0, 0.0), ("copy:1", 0.0, 0.0)],
}


def _chain(root: Path, bin_dir: Path, kills, twin: bool = False) -> tuple[list[str], list[str], object]:
    demo = Demo.create(root, bin_dir, twin=twin)
    apps = ["sales", "twin"] if twin else ["sales"]
    args = demo.run_args(apps, *FAST)
    hit = []
    for where, delay, latency in kills:
        faults.configure(demo.world_path, latency=latency)
        out = run_tool(args, env=demo.env, log_path=demo.log_path, kill_when=_when(where), delay=delay,
                       timeout=120)
        assert out.killed, f"the run was not killed at {where} (exit {out.code}): {out.err[-500:]}"
        hit.append(step_of(out.trigger))
    faults.configure(demo.world_path, latency=0)
    final = run_tool(args, env=demo.env, log_path=demo.log_path, timeout=120)
    codes = [str(final.code)]
    if final.code not in DONE_CODES:  # never expected without faults: one more, to show the state
        codes.append(str(run_tool(args, env=demo.env, log_path=demo.log_path, timeout=120).code))
    return hit, codes, demo.check(apps)


@pytest.mark.slow
def test_kill_anywhere_then_rerun_leaves_one_import_and_every_owner(tmp_path):
    bin_dir = admin.install_bin(tmp_path / "bin").parent
    with ThreadPoolExecutor(3) as pool:
        futures = {name: pool.submit(_chain, tmp_path / name.replace(":", "-"), bin_dir, kills,
                                     name.startswith("namesakes"))
                   for name, kills in CHAINS.items()}
    problems, steps = [], set()
    for name, fut in futures.items():
        hit, codes, final = fut.result()
        steps |= set(hit)
        if codes != ["4"] or not final.ok:
            problems.append(f"{name}: killed in {hit}, final run exit {codes}: {final.problems[:5]}")
    assert not problems, "\n".join(problems)
    assert steps >= {"plan", "export", "import", "copy", "reassign", "move", "clean"}, steps


def test_second_run_exits_75_and_status_shows_the_step_after_a_kill(sim):
    app = sim.app("sales")
    second: list = []
    changed = [0]

    def when(call, index):
        if index == 0:  # the first qlik call: the run holds the lock (taken before preflight)
            started = time.monotonic()
            second.append((sim.migrate("run", app, *sim.common(), *FAST), time.monotonic() - started,
                           (sim.state_dir / "lock").read_text()))
        changed[0] += call["command"] == "app object change-owner"
        return changed[0] >= 3  # then kill it inside the reassign step

    out = run_tool(["--log-format", "json", "run", app, *sim.common(), *FAST], env=sim.env,
                   log_path=str(sim.path) + ".calls.jsonl", kill_when=when, timeout=120)
    assert out.killed
    [(res, seconds, holder)] = second
    assert res.code == ExitCode.LOCKED == 75
    assert seconds < 5  # at once, not after waiting for the lock
    assert "another qlik-migrate run holds" in res.err and holder.startswith("pid ") and holder in res.err
    status = sim.migrate("status", "--state-dir", str(sim.state_dir), "--json")
    assert status.code == 0, status.err
    [row] = json.loads(status.out)["apps"]
    # killed: no process holds the lock any more, so the app it was on shows as interrupted
    assert row["source_app_id"] == app and row["step"] == "copy" and row["status"] == "interrupted"
    assert row["imported_app_id"] and row["copy_app_id"]
    objects = row["objects"]  # 3 change-owner calls answered; the last may be unrecorded (`sent`)
    assert objects.get("done", 0) + objects.get("sent", 0) >= 3 and objects.get("unmatched") == 2, objects
    table = sim.migrate("status", "--state-dir", str(sim.state_dir))
    assert app in table.out and "copy" in table.out and row["imported_app_id"] in table.out
    assert sim.migrate("run", app, *sim.common(), *FAST).code == ExitCode.UNMATCHED
    [row] = json.loads(sim.migrate("status", "--state-dir", str(sim.state_dir), "--json").out)["apps"]
    assert row["step"] == "done" and row["status"] == "done"
    assert _check(sim, app).ok


def _check(sim, app, imports=1):
    return check_final_state(sim.path, [app], shared_space=sim.info["spaces"]["Finance Dev"],
                             managed_space=sim.info["spaces"]["Finance"], me=sim.info["cloud_identity"],
                             imports_per_app=imports)


@pytest.mark.slow
def test_changed_source_is_reported_not_reimported_and_force_migrates_anew(sim):
    app = sim.app("sales")
    assert sim.migrate("run", app, *sim.common(), *FAST).code == ExitCode.UNMATCHED
    [first] = [a for a in sim.world.cloud_apps() if a["space_id"] == sim.info["spaces"]["Finance"]]
    _touch(sim, app, "2031-01-01T00:00:00.000Z")
    apps_before, calls_before = len(sim.world.cloud_apps()), len(sim.calls())
    changed = sim.migrate("run", app, *sim.common(), *FAST, "--report", str(sim.tmp / "changed.json"))
    assert changed.code == ExitCode.CHANGED == 6, changed.err + changed.out
    assert len(sim.world.cloud_apps()) == apps_before
    assert not [c for c in sim.calls()[calls_before:] if c.get("tier") in ("write", "engine")]
    [doc] = json.loads((sim.tmp / "changed.json").read_text())["apps"]
    assert doc["status"] == "changed" and any(first["id"] in n and "--force" in n for n in doc["notes"])

    forced = sim.migrate("run", app, *sim.common(), *FAST, "--force", "--report", str(sim.tmp / "forced.json"))
    assert forced.code == ExitCode.UNMATCHED, forced.err + forced.out
    [doc] = json.loads((sim.tmp / "forced.json").read_text())["apps"]
    assert doc["status"] == "done" and any(first["id"] in n for n in doc["notes"]), doc["notes"]
    assert doc["imported_app_id"] != first["id"]
    # the earlier import stays where it was; the new one is complete
    final = _check(sim, app, imports=2)
    assert final.ok, final.problems
    [row] = json.loads(sim.migrate("status", "--state-dir", str(sim.state_dir), "--json").out)["apps"]
    assert [e["imported_app_id"] for e in row["earlier_imports"]] == [first["id"]]
    # Changed again, and the --force run is killed inside its import call (started, not applied):
    # the rerun must not take the earlier dev copy (same space, name and owner) for its import.
    _touch(sim, app, "2032-01-01T00:00:00.000Z")
    sim.faults(hang=1.0, hang_seconds=10, fault_tiers="write")  # the import sleeps before it is applied
    out = run_tool(["--log-format", "json", "run", app, *sim.common(), *FAST, "--force"], env=sim.env,
                   log_path=str(sim.path) + ".calls.jsonl", kill_when=kill_at_step("export", 1), delay=1.0,
                   timeout=120)
    assert out.killed
    sim.faults(hang=0)
    db = sqlite3.connect(sim.state_dir / "ledger.sqlite")
    started, imported = db.execute("SELECT import_started_at, imported_app_id FROM apps").fetchone()
    db.close()
    assert started and not imported and len(sim.world.cloud_apps()) == 4
    again = sim.migrate("run", app, *sim.common(), *FAST, "--force")
    assert again.code == ExitCode.UNMATCHED, again.err + again.out
    final = _check(sim, app, imports=3)
    assert final.ok, final.problems


def _touch(sim, app: str, modified: str) -> None:
    db = sqlite3.connect(sim.path)
    with db:
        db.execute("UPDATE qrs_apps SET modified = ? WHERE id = ?", (modified, app))
    db.close()


def test_the_kill_sweep_can_aim_at_every_step():
    """scripts/kill-sweep picks a step, then a call within it from the step's typical call count:
    a step without one (the script step once) stopped the sweep with a KeyError."""
    assert set(TYPICAL_CALLS) == set(STEPS)
    assert all(count >= 1 for count in TYPICAL_CALLS.values())

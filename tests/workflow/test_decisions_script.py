"""Decision table for the script step (migration/scripts.py): `app script set` with
--connection-map, against each outcome. Whatever happened, the imported app ends with the renamed
script exactly once, the copy is made after it (so it carries the new names), the original script
is kept once, and a rerun never writes the script again once it reads as renamed."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from .harness import World
from .harness import assert_converged
from .tenant import Outcome
from .tenant import answered
from .tenant import command_of
from .tenant import failed
from .tenant import killed
from .tenant import timed_out

MAP = {"SQL_Prod": "SQL Prod (cloud)"}
RENAMED = "LIB CONNECT TO 'SQL Prod (cloud)';\n"
SET_IS_IDEMPOTENT = ("a renamed script renames to itself (load_scripts.rename), so the truth is the script read "
                     "back: REAL 1.4.0 set = SetScript + DoSave")


@dataclass(frozen=True)
class Row:
    outcome: Outcome
    assumes: str
    sets: int  # `app script set` calls over the two runs


ROWS = {
    "answered": Row(answered(), SET_IS_IDEMPOTENT, 1),
    "failed-not-applied": Row(failed("503"), SET_IS_IDEMPOTENT, 2),
    "failed-but-applied": Row(failed("503", applied=True), SET_IS_IDEMPOTENT, 1),
    "timed-out-applied": Row(timed_out(applied=True), SET_IS_IDEMPOTENT, 1),
    "killed-applied": Row(killed(applied=True), SET_IS_IDEMPOTENT, 1),
    "killed-not-applied": Row(killed(applied=False), SET_IS_IDEMPOTENT, 2),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_script(tmp_path: Path, name: str) -> None:
    row = ROWS[name]
    world = World(tmp_path, connection_map=MAP)
    world.script("app script set", row.outcome)
    world.run()
    world.run()  # the rerun after whatever happened
    assert_converged(world)
    calls = [command_of(c) for c in world.tenant.calls]
    assert calls.count("app script set") == row.sets, (name, row.assumes)
    imported = world.app().imported_app_id
    copy = world.app().copy_app_id
    assert world.tenant.apps[imported].script == RENAMED == world.tenant.apps[copy].script
    first_copy = calls.index("app copy")
    assert max(i for i, c in enumerate(calls) if c == "app script set") < first_copy
    original = tmp_path / "state" / "scripts" / f"{world.app().source_app_id}.original.qvs"
    assert original.read_text(encoding="utf-8") == "LIB CONNECT TO 'SQL_Prod';\n"


def test_without_a_map_the_script_is_read_never_written(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.run()
    assert_converged(world)
    calls = [command_of(c) for c in world.tenant.calls]
    assert calls.count("app script get") == 1 and "app script set" not in calls

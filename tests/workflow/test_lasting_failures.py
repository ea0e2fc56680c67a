"""The rig made unkind: failures that last beyond one call (or for ever) and an import whose app shows
in `app ls` only after some reads. Each ends converged or in a stable, reported state: never a second
import, never a hand-over sent twice after it applied."""
from __future__ import annotations

from pathlib import Path

from .harness import PRIVATE
from .harness import SHARED
from .harness import TARGET_OWNER
from .harness import World
from .harness import assert_converged
from .tenant import command_of
from .tenant import failed
from .tenant import lasting
from .tenant import timed_out

CO, LAYOUT = "app object change-owner", "app object layout"


def _about(world: World, calls: list[tuple[str, ...]], object_id: str) -> list[str]:
    imported = world.app().imported_app_id
    return [command_of(c) for c in calls if object_id in c and imported in c]


def test_an_import_whose_app_is_listed_late_within_the_run_is_adopted_not_imported_again(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.tenant.listing_lag = 2  # out of the first two reads after it was created
    world.script("app import", timed_out(applied=True))
    first = world.run()
    assert first.outcome is not None and first.outcome.status == "done", first.outcome
    assert len(world.commands("app import")) == 1
    assert_converged(world)


def test_an_import_listed_later_than_the_run_looks_is_adopted_by_the_next_run(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.tenant.listing_lag = 5  # longer than one run's looks
    world.script("app import", timed_out(applied=True))
    first = world.run()
    assert first.outcome is not None and first.outcome.status == "failed"
    assert world.app().import_started_at and world.apps_in(SHARED)  # created, not yet listed: window kept open
    assert world.ledger.imports_since("2000-01-01T00:00:00Z") == 1  # and counted for --max-imports
    second = world.run()
    assert second.outcome is not None and second.outcome.status == "done", second.outcome
    assert len(world.commands("app import")) == 1
    assert_converged(world)


def test_a_5xx_lasting_past_the_sends_of_one_run_is_settled_by_the_next(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.script(CO, *lasting(failed("503"), 4), token=PRIVATE)  # 3 sends in run 1, the 4th in run 2
    first = world.run()
    assert first.outcome is not None and first.outcome.status == "failed"
    assert world.obj(PRIVATE)["status"] == "sent"
    assert _about(world, first.calls, PRIVATE) == [CO, LAYOUT] * 3
    second = world.run()
    assert second.outcome is not None and second.outcome.status == "done"
    assert _about(world, second.calls, PRIVATE) == [LAYOUT, CO, LAYOUT, CO]
    assert world.owner_on_tenant(PRIVATE) == TARGET_OWNER[PRIVATE]
    assert_converged(world)


def test_a_refusal_that_lasts_for_ever_is_sent_once_per_run_and_keeps_saying_run_again(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.script(CO, failed("403"), token=PRIVATE, forever=True)
    for _ in range(3):
        run = world.run()
        assert run.outcome is not None and run.outcome.status == "failed"
        assert _about(world, run.calls, PRIVATE) == [CO, LAYOUT]  # one send, its layout read: no loop
        assert world.obj(PRIVATE)["status"] == "failed"
    assert world.owner_on_tenant(PRIVATE) != TARGET_OWNER[PRIVATE]


def test_a_not_found_that_lasts_for_ever_is_failed_for_good_once_and_not_called_again(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.script(CO, failed("404"), token=PRIVATE, forever=True)
    calls = []
    for _ in range(3):
        run = world.run()
        assert run.outcome is not None and run.outcome.status == "done"
        calls.append(_about(world, run.calls, PRIVATE))
    assert calls == [[CO], [], []]
    run = world.run(retry_failed=True)
    assert _about(world, run.calls, PRIVATE) == [CO] and world.obj(PRIVATE)["status"] == "failed-for-good"

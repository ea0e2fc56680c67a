"""Issue 18.9: fan_out stops taking work at the first failure and raises only once the calls in
flight have settled, so nothing it started is still writing when its caller reports."""
from __future__ import annotations

import asyncio

import pytest

from qlikcli_py.concurrency import fan_out


class Boom(Exception):
    pass


def test_first_failure_stops_new_work_and_is_raised_after_the_calls_in_flight_settle() -> None:
    events: list[str] = []
    release = asyncio.Event()

    async def call(item: int) -> None:
        events.append(f"start {item}")
        if item == 0:
            await asyncio.sleep(0)  # both workers are in flight
            events.append("fail 0")
            release.set()
            raise Boom("item 0")
        await release.wait()
        for _ in range(3):  # still writing after the failure
            await asyncio.sleep(0)
        events.append(f"end {item}")

    async def caller() -> None:
        try:
            await fan_out([0, 1, 2, 3], call, workers=2)
        except Boom:
            events.append("raised")
            await asyncio.sleep(0.01)  # what a caller does next (the report) while anything would still run
            events.append("after")

    asyncio.run(caller())
    assert events == ["start 0", "start 1", "fail 0", "end 1", "raised", "after"]


def test_a_failure_of_the_last_item_in_flight_is_raised() -> None:
    async def call(item: int) -> None:
        if item == 2:
            raise Boom("item 2")

    with pytest.raises(Boom, match="item 2"):
        asyncio.run(fan_out([0, 1, 2], call, workers=2))


def test_without_failures_every_item_runs_once() -> None:
    seen: list[int] = []

    async def call(item: int) -> None:
        await asyncio.sleep(0)
        seen.append(item)

    asyncio.run(fan_out(list(range(10)), call, workers=3))
    assert sorted(seen) == list(range(10))


def test_an_app_that_fails_unexpectedly_starts_no_other_and_is_raised_after_the_apps_in_flight() -> None:
    """The same for the apps of a batch (Migration.run): a bug in one app is raised only once the
    other apps in flight have finished, and no app starts after it."""
    from types import SimpleNamespace
    from typing import Any

    from qlikcli_py.migration import Migration

    events: list[str] = []

    class Stub(Migration):
        async def migrate_app(self, plan: Any) -> Any:
            events.append(f"start {plan}")
            await asyncio.sleep(0)
            if plan == "a":
                events.append("bug a")
                raise RuntimeError("a bug")
            for _ in range(3):
                await asyncio.sleep(0)
            events.append(f"end {plan}")
            return plan

    session: Any = SimpleNamespace(qlik=SimpleNamespace(workers=4))  # two apps at once
    migration = Stub(session, None, None, None)  # type: ignore[arg-type]

    async def caller() -> None:
        try:
            await migration.run(["a", "b", "c", "d"])  # type: ignore[list-item]
        except RuntimeError:
            events.append("raised")

    asyncio.run(caller())
    assert events == ["start a", "start b", "bug a", "end b", "raised"]

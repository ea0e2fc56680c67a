"""Bounded concurrency shared by the write engine, `verify` and the preflight."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def fan_out(items: list[T], fn: Callable[[T], Awaitable[None]], workers: int) -> None:
    """Run fn over items with at most `workers` in flight; one coroutine per worker, not per item,
    so 100,000 objects cost 100,000 rows, not 100,000 pending tasks.

    At the first failure no new item is started, the calls in flight are let finish (or fail), and
    only then is the first failure raised: a caller that reports or exits next never does so while
    writes it started are still going (teardown would kill them mid-call, outcome unknown)."""
    it = iter(items)
    failures: list[Exception] = []

    async def worker() -> None:
        for item in it:
            if failures:
                return
            try:
                await fn(item)
            except Exception as e:  # kept, and raised once the others have settled
                failures.append(e)
                return

    await asyncio.gather(*(worker() for _ in range(max(1, min(workers, len(items))))))
    if failures:
        raise failures[0]


async def nothing() -> None:
    """A branch of an `asyncio.gather` that has nothing to do (a check skipped, a step done)."""
    return None

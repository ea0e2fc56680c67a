"""Bounded concurrency shared by the write engine, `verify` and the preflight."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def fan_out(items: list[T], fn: Callable[[T], Awaitable[None]], workers: int) -> None:
    """Run fn over items with at most `workers` in flight; one coroutine per worker, not per item,
    so 100,000 objects cost 100,000 rows, not 100,000 pending tasks."""
    it = iter(items)

    async def worker() -> None:
        for item in it:
            await fn(item)

    await asyncio.gather(*(worker() for _ in range(max(1, min(workers, len(items))))))


async def nothing() -> None:
    """A branch of an `asyncio.gather` that has nothing to do (a check skipped, a step done)."""
    return None

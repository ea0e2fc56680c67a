"""Virtual time for unit tests of code that waits on asyncio: nothing really sleeps.

`VirtualClock.run(coro)` runs a coroutine on an event loop whose clock is this object. When every
task waits and the next thing due is a timer, the loop jumps to it instead of blocking, so a
5-minute window passes at once and a test asserts *when* things happened on that clock, exactly,
however loaded the machine is. Pass the same clock (it is callable) to the code under test
(`WindowBudget(clock=...)`, `Pacer(clock=...)`, `CallLog(clock=...)`), so its decisions and its
waits read one time.
"""
from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any

# Waiting on I/O with no timer due only ends when a thread or a child writes to the loop. Virtual
# tests have neither; a loop that waits that long is deadlocked (a detector, not a speed bound).
_DEADLOCK_SECONDS = 30.0


class _JumpingSelector(selectors.DefaultSelector):
    """Polls without blocking; when nothing is ready, moves the clock on by the loop's timeout."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            ready = super().select(_DEADLOCK_SECONDS)
            if not ready:
                raise RuntimeError("virtual clock: every task waits and no timer is due (a deadlock)")
            return ready
        self._clock.waited(timeout)
        return []


class VirtualClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start  # far from 0: the pacer reads 0.0 as "no 429 yet"
        self.slept = 0.0  # virtual seconds the loops waited (jumped over), not those a test advanced

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Time passes outside any loop (between two runs, say)."""
        self.now += seconds

    def waited(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds

    def _loop(self) -> asyncio.AbstractEventLoop:
        clock = self

        class Loop(asyncio.SelectorEventLoop):
            def time(self) -> float:
                return clock.now

        return Loop(_JumpingSelector(self))

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=self._loop) as runner:
            return runner.run(coro)

"""Pacing per identity and rate-limit tier, so a run uses the burst Qlik allows and no more.

Qlik Cloud evaluates limits per tier, per user, per tenant (Tier 1 reads 1000/min, Tier 2 writes
100/min), each over a 5-minute window "to support bursts of requests"
(https://qlik.dev/apis/rest/rate-limiting/). So one identity may make rate x window calls (500
writes) at once, then as many as leave the window. The strictest reading of that rule is a
sliding window: at no moment may the last `window` seconds hold more than the budget. A client
that keeps it also keeps a token bucket or fixed windows of the same size, so that is what each
(context, tier) keeps here.

A call counts from its admission until the window has passed since it *ended*: Qlik counts it at
some point between the two, and dating it late means the window frees a slot only once the server
has freed it too, whatever the latency. A 429 means someone else is spending the same identity's
budget: the tier is blocked for the seconds asked and its budget lowered until a whole window
passes without another one. Calls of earlier runs come from the state dir's `CallLog`.
"""
from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator
from collections.abc import Callable

from qlikcli_py.call_log import CallLog

DEFAULT_READ_PER_MIN = 1000.0
DEFAULT_WRITE_PER_MIN = 100.0
DEFAULT_WINDOW = 300.0  # seconds: Qlik's documented evaluation window
_BACKOFF = 0.8  # budget multiplier after each 429
_FLOOR = 0.1  # the budget never drops below this share of the configured one


class WindowBudget:
    """The calls of one (context, tier) in the last `window` seconds, against its budget."""

    def __init__(self, per_min: float, window: float, *, clock: Callable[[], float] = time.time,
                 past: list[tuple[float, int]] | None = None) -> None:
        self.window = window
        self.limit = max(1, math.floor(per_min * window / 60.0 + 1e-9))
        self.factor = 1.0
        self._clock = clock
        self._ended: deque[tuple[float, int]] = deque(past or ())  # (end time, calls), oldest first
        self.used = sum(n for _, n in self._ended)
        self.in_flight = 0
        self.blocked_until = 0.0
        self.last_429 = 0.0
        self._changed: asyncio.Event | None = None

    def budget(self) -> int:
        return max(1, math.floor(self.limit * self.factor))

    def _expire(self, now: float) -> None:
        if self.last_429 and now - self.last_429 >= self.window:
            self.factor, self.last_429 = 1.0, 0.0
        while self._ended and self._ended[0][0] <= now - self.window:
            self.used -= self._ended.popleft()[1]

    async def acquire(self) -> None:
        while True:
            now = self._clock()
            self._expire(now)
            if now < self.blocked_until:
                delay: float | None = self.blocked_until - now
            elif self.in_flight + self.used < self.budget():
                self.in_flight += 1
                return
            elif self._ended:
                delay = self._ended[0][0] + self.window - now
            else:
                delay = None  # the whole budget is in flight: the next call to end frees a slot
            if self._changed is None:
                self._changed = asyncio.Event()
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), None if delay is None else max(delay, 0.001))

    def release(self, now: float | None = None) -> float:
        now = self._clock() if now is None else now
        if self._ended and now < self._ended[-1][0]:
            now = self._ended[-1][0]  # the wall clock stepped back: keep the deque in order
        self.in_flight = max(0, self.in_flight - 1)
        self._ended.append((now, 1))
        self.used += 1
        if self._changed is not None:
            self._changed.set()
            self._changed = None
        return now

    def free(self) -> int:
        """Calls that may start now without waiting (0 while blocked by a 429)."""
        now = self._clock()
        self._expire(now)
        if now < self.blocked_until:
            return 0
        return max(0, self.budget() - self.used - self.in_flight)

    def penalize(self, wait_seconds: float) -> None:
        now = self._clock()
        self.blocked_until = max(self.blocked_until, now + wait_seconds)
        self.factor = max(_FLOOR, self.factor * _BACKOFF)
        self.last_429 = now


class Pacer:
    """One `WindowBudget` per (context, tier). A rate of 0 turns pacing off for that tier.

    The context name stands for the identity: two contexts of one user are paced apart, and two
    state dirs driving one identity cannot see each other's calls (split the rates between them).
    `tenant_write_per_min` (0: none) is the tenant's cap over all identities (`--tenant-write-rate`):
    every write admits through its own identity's budget, then through this shared one.
    """

    def __init__(self, *, read_per_min: float = DEFAULT_READ_PER_MIN,
                 write_per_min: float = DEFAULT_WRITE_PER_MIN, window: float = DEFAULT_WINDOW,
                 call_log: CallLog | None = None, clock: Callable[[], float] = time.time,
                 tenant_write_per_min: float = 0.0) -> None:
        self._per_min = {"read": read_per_min, "write": write_per_min}
        self.tenant_write_per_min = tenant_write_per_min
        self._tenant: WindowBudget | None = None
        self.window = window
        self._log = call_log
        self._clock = clock
        self._budgets: dict[tuple[str, str], WindowBudget] = {}
        self._blocks: dict[tuple[str, str], float] = {}  # 429 blocks of tiers not paced (rate 0)
        self.rate_limited = 0  # 429 answers seen (each was waited out and retried)

    def _budget(self, context: str, tier: str) -> WindowBudget | None:
        per_min = self._per_min.get(tier, 0.0)
        if per_min <= 0:
            return None
        key = (context, tier)
        budget = self._budgets.get(key)
        if budget is None:
            past = self._log.recent(context, tier, self.window) if self._log is not None else None
            budget = self._budgets[key] = WindowBudget(per_min, self.window, clock=self._clock, past=past)
        return budget

    def tenant_budget(self, tier: str) -> WindowBudget | None:
        """The tenant's shared write budget (None without --tenant-write-rate, or for reads)."""
        if tier != "write" or self.tenant_write_per_min <= 0:
            return None
        if self._tenant is None:
            past = self._log.recent_all(tier, self.window) if self._log is not None else None
            self._tenant = WindowBudget(self.tenant_write_per_min, self.window, clock=self._clock, past=past)
        return self._tenant

    def free(self, context: str, tier: str) -> int | None:
        """Calls the identity may start now in this tier (None: not paced); the tenant's cap too."""
        budget = self._budget(context, tier)
        tenant = self.tenant_budget(tier)
        frees = [b.free() for b in (budget, tenant) if b is not None]
        return min(frees) if frees else None

    def blocked_until(self, context: str, tier: str) -> float:
        """When the identity's 429 block on this tier ends (0: not blocked)."""
        budget = self._budget(context, tier)
        return budget.blocked_until if budget is not None else self._blocks.get((context, tier), 0.0)

    async def acquire(self, context: str, tier: str) -> None:
        budget = self._budget(context, tier)
        if budget is not None:
            await budget.acquire()
        tenant = self.tenant_budget(tier)
        if tenant is not None:
            # After the identity's own: a call waiting out its identity's 429 holds no tenant slot.
            try:
                await tenant.acquire()
            except BaseException:
                if budget is not None:
                    budget.in_flight = max(0, budget.in_flight - 1)
                raise

    def release(self, context: str, tier: str) -> None:
        budget = self._budget(context, tier)
        if budget is not None:
            stamp = budget.release()
            if self._log is not None:
                self._log.add(context, tier, stamp)
        tenant = self.tenant_budget(tier)
        if tenant is not None:
            tenant.release()

    @contextlib.asynccontextmanager
    async def admit(self, context: str, tier: str) -> AsyncIterator[None]:
        """Hold one call's place in the window while it runs; it counts from its end."""
        await self.acquire(context, tier)
        try:
            yield
        finally:
            self.release(context, tier)

    def penalize(self, context: str, tier: str, wait_seconds: float) -> float:
        """Record a 429; returns how long the caller must wait before retrying."""
        self.rate_limited += 1
        budget = self._budget(context, tier)
        if budget is None:
            # Not paced, but a pool still sends its next work to the other identities meanwhile.
            key = (context, tier)
            self._blocks[key] = max(self._blocks.get(key, 0.0), self._clock() + wait_seconds)
            return wait_seconds
        budget.penalize(wait_seconds)
        return max(0.0, budget.blocked_until - self._clock())

    def limit(self, tier: str) -> int:
        """One identity's calls per window in this tier (0: not paced)."""
        per_min = self._per_min.get(tier, 0.0)
        return max(1, math.floor(per_min * self.window / 60.0 + 1e-9)) if per_min > 0 else 0

    def tenant_limit(self, tier: str) -> int:
        """The tenant's calls per window in this tier over all identities (0: no cap)."""
        if tier != "write" or self.tenant_write_per_min <= 0:
            return 0
        return max(1, math.floor(self.tenant_write_per_min * self.window / 60.0 + 1e-9))

    def minimum_seconds(self, tier: str, calls: int) -> float:
        """The least time `calls` calls of a tier can take from a fresh window: the budget goes at
        once, and each further budget's worth waits one window after the one before it."""
        per_min = self._per_min.get(tier, 0.0)
        if per_min <= 0 or calls <= 0:
            return 0.0
        limit = max(1, math.floor(per_min * self.window / 60.0 + 1e-9))
        return ((calls - 1) // limit) * self.window

    def close(self) -> None:
        if self._log is not None:
            self._log.close()

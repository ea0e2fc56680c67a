"""Pacing per identity and rate-limit tier, so a run stays just under Qlik's limits.

Qlik Cloud evaluates limits per tier, per user, per tenant (Tier 1 reads 1000/min, Tier 2 writes
100/min, over a 5-minute window: https://qlik.dev/apis/rest/rate-limiting/). One token bucket per
(context, tier) spaces calls at the configured rate; a 429 blocks that bucket for the seconds the
server asked for and lowers its rate, because another client is evidently sharing the identity.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

DEFAULT_READ_PER_MIN = 1000.0
DEFAULT_WRITE_PER_MIN = 100.0
PACED_TIERS = ("read", "write")
# No burst beyond one call: a limit measured over a window shorter than we assume (or shared with
# another client) trips on a burst at the start; steady spacing never does (scripts/bench, paced).
_BURST = 1.0
_BACKOFF = 0.8  # rate multiplier after each 429
_RECOVER_AFTER = 60.0  # seconds without a 429 before the configured rate is restored


@dataclass
class TokenBucket:
    per_second: float
    burst: float = _BURST
    tokens: float = _BURST
    stamp: float = field(default_factory=time.monotonic)
    blocked_until: float = 0.0
    configured: float = 0.0
    last_429: float = 0.0
    waited: float = 0.0

    def __post_init__(self) -> None:
        self.configured = self.per_second
        self.tokens = min(self.tokens, self.burst)

    def _refill(self, now: float) -> None:
        if self.last_429 and now - self.last_429 > _RECOVER_AFTER:
            self.per_second = self.configured
            self.last_429 = 0.0
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now

    async def acquire(self) -> None:
        while True:
            now = time.monotonic()
            self._refill(now)
            if now < self.blocked_until:
                delay = self.blocked_until - now
            elif self.tokens >= 1.0:
                self.tokens -= 1.0
                return
            else:
                delay = (1.0 - self.tokens) / self.per_second
            self.waited += delay
            await asyncio.sleep(delay)

    def penalize(self, wait_seconds: float) -> None:
        now = time.monotonic()
        self.blocked_until = max(self.blocked_until, now + wait_seconds)
        self.per_second = max(self.configured * 0.1, self.per_second * _BACKOFF)
        self.tokens = 0.0
        self.last_429 = now


class Pacer:
    """Holds one bucket per (context, tier). A rate of 0 turns pacing off for that tier."""

    def __init__(self, *, read_per_min: float = DEFAULT_READ_PER_MIN,
                 write_per_min: float = DEFAULT_WRITE_PER_MIN) -> None:
        self._per_min = {"read": read_per_min, "write": write_per_min}
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self.rate_limited = 0  # 429 answers seen (each was waited out and retried)

    def _bucket(self, context: str, tier: str) -> TokenBucket | None:
        per_min = self._per_min.get(tier, 0.0)
        if per_min <= 0:
            return None
        key = (context, tier)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(per_min / 60.0, burst=min(_BURST, per_min))
        return bucket

    async def acquire(self, context: str, tier: str) -> None:
        bucket = self._bucket(context, tier)
        if bucket is not None:
            await bucket.acquire()

    def penalize(self, context: str, tier: str, wait_seconds: float) -> float:
        """Record a 429; returns how long the caller must wait before retrying."""
        self.rate_limited += 1
        bucket = self._bucket(context, tier)
        if bucket is None:
            return wait_seconds
        bucket.penalize(wait_seconds)
        return max(0.0, bucket.blocked_until - time.monotonic())

    def minimum_seconds(self, tier: str, calls: int) -> float:
        per_min = self._per_min.get(tier, 0.0)
        if per_min <= 0 or calls <= 0:
            return 0.0
        return max(0.0, (calls - min(_BURST, per_min)) / (per_min / 60.0))

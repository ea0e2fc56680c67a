from __future__ import annotations

import asyncio
import time

from qlikcli_py.pacing import Pacer
from qlikcli_py.pacing import TokenBucket


def test_bucket_spaces_calls_at_the_rate():
    async def go() -> float:
        bucket = TokenBucket(per_second=50.0, burst=1.0, tokens=1.0)
        start = time.monotonic()
        for _ in range(11):
            await bucket.acquire()
        return time.monotonic() - start

    elapsed = asyncio.run(go())
    assert 0.18 <= elapsed < 0.5  # 10 waits of 20 ms after the first token


def test_penalize_blocks_for_the_wait_and_slows_down():
    async def go() -> tuple[float, float]:
        pacer = Pacer(read_per_min=0, write_per_min=6000)
        await pacer.acquire("ctx", "write")
        wait = pacer.penalize("ctx", "write", 0.3)
        start = time.monotonic()
        await pacer.acquire("ctx", "write")
        return wait, time.monotonic() - start

    wait, elapsed = asyncio.run(go())
    assert 0.25 < wait <= 0.3
    assert elapsed >= 0.28


def test_zero_rate_means_no_pacing_and_buckets_are_per_context():
    pacer = Pacer(read_per_min=0, write_per_min=60)
    assert pacer._bucket("a", "read") is None
    assert pacer._bucket("a", "write") is not pacer._bucket("b", "write")
    assert pacer.minimum_seconds("write", 61) == 60.0  # the first goes at once, 60 more at 1/s
    assert pacer.minimum_seconds("read", 1000) == 0.0

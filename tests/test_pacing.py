from __future__ import annotations

import asyncio
import time
from pathlib import Path

from qlikcli_py.call_log import CallLog
from qlikcli_py.pacing import Pacer
from qlikcli_py.pacing import WindowBudget


async def _calls(pacer: Pacer, n: int, context: str = "ctx", tier: str = "write") -> list[float]:
    """n calls of no duration, one after another; the admission time of each."""
    admitted = []
    for _ in range(n):
        async with pacer.admit(context, tier):
            admitted.append(time.monotonic())
    return admitted


def test_budget_goes_at_once_then_waits_for_the_window():
    # 600/min over 0.4 s = a budget of 4 calls per window
    pacer = Pacer(read_per_min=0, write_per_min=600, window=0.4)
    start = time.monotonic()
    admitted = asyncio.run(_calls(pacer, 9))
    offsets = [t - start for t in admitted]
    assert offsets[3] < 0.15  # the first 4 without waiting
    assert 0.38 <= offsets[4] < 0.7  # the 5th once the 1st has been out of the window
    assert offsets[8] >= 0.76  # the 9th only in the third window


def test_a_call_in_flight_holds_its_place_and_counts_from_its_end():
    async def go() -> tuple[float, float]:
        budget = WindowBudget(per_min=300, window=0.2)  # a budget of 1 call
        await budget.acquire()
        start = time.monotonic()
        waiter = asyncio.create_task(budget.acquire())
        await asyncio.sleep(0.3)  # longer than the window: the running call must still block
        assert not waiter.done()
        ended = time.monotonic()
        budget.release()
        await waiter
        return ended - start, time.monotonic() - ended

    held, after_end = asyncio.run(go())
    assert held >= 0.3
    assert after_end >= 0.19  # a whole window from the end of the call, not from its admission


def test_penalize_blocks_for_the_wait_and_lowers_the_budget_for_a_window():
    async def go() -> tuple[float, float, int]:
        pacer = Pacer(read_per_min=0, write_per_min=6000, window=60)  # budget 6000
        await _calls(pacer, 1)
        wait = pacer.penalize("ctx", "write", 0.3)
        start = time.monotonic()
        await _calls(pacer, 1)
        return wait, time.monotonic() - start, pacer._budget("ctx", "write").budget()

    wait, elapsed, budget = asyncio.run(go())
    assert 0.25 < wait <= 0.3
    assert elapsed >= 0.28
    assert budget == 4800


def test_zero_rate_means_no_pacing_and_budgets_are_per_context():
    pacer = Pacer(read_per_min=0, write_per_min=60, window=300)
    assert pacer._budget("a", "read") is None
    assert pacer._budget("a", "write") is not pacer._budget("b", "write")
    assert pacer._budget("a", "write").budget() == 300
    assert pacer.minimum_seconds("write", 300) == 0.0  # one window's budget goes at once
    assert pacer.minimum_seconds("write", 301) == 300.0
    qlik = Pacer(window=300)
    assert qlik.minimum_seconds("write", 1200) == 600.0  # 500 now, 500 after 300 s, 200 after 600 s
    assert qlik.minimum_seconds("read", 5000) == 0.0


def test_a_second_run_sees_the_first_runs_calls(tmp_path: Path):
    first = Pacer(read_per_min=0, write_per_min=120, window=1.0,  # a budget of 2 per second
                  call_log=CallLog(tmp_path / "calls.sqlite", keep_seconds=1.0))
    asyncio.run(_calls(first, 2))
    first.close()

    second = Pacer(read_per_min=0, write_per_min=120, window=1.0,
                   call_log=CallLog(tmp_path / "calls.sqlite", keep_seconds=1.0))
    start = time.monotonic()
    asyncio.run(_calls(second, 1, context="other"))  # another identity has its own budget
    assert time.monotonic() - start < 0.2
    asyncio.run(_calls(second, 1))
    assert time.monotonic() - start >= 0.5  # the window the first run filled had to pass
    second.close()


def test_call_log_counts_per_second_and_forgets_what_left_the_window(tmp_path: Path):
    now = [1000.2]
    log = CallLog(tmp_path / "calls.sqlite", keep_seconds=10, clock=lambda: now[0])
    for stamp in (1000.2, 1000.7, 1001.1):
        log.add("cloud", "write", stamp)  # the third is a second after the first: flushed
    log.add("cloud", "read", 1001.3)  # pending, not yet written
    assert log.recent("cloud", "write", 10) == [(1001.0, 2), (1002.0, 1)]
    assert log.recent("cloud", "read", 10) == [(1002.0, 1)]
    log.close()
    now[0] = 1011.5
    log = CallLog(tmp_path / "calls.sqlite", keep_seconds=10, clock=lambda: now[0])
    assert log.recent("cloud", "write", 10) == [(1002.0, 1)]  # second 1000 left the window
    assert log.recent("cloud", "read", 10) == [(1002.0, 1)]  # written at close
    log.close()


def test_no_call_log_without_a_state_dir(tmp_path: Path):
    assert CallLog.open(None, keep_seconds=300) is None
    assert CallLog.open(tmp_path / "missing", keep_seconds=300) is None
    assert not (tmp_path / "missing").exists()
    opened = CallLog.open(tmp_path, keep_seconds=300)
    assert opened is not None and (tmp_path / "calls.sqlite").stat().st_mode & 0o777 == 0o600
    opened.close()

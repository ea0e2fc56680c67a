from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
from virtual_clock import VirtualClock

from qlikcli_py.call_log import CallLog
from qlikcli_py.pacing import Pacer
from qlikcli_py.pacing import WindowBudget


async def _calls(pacer: Pacer, n: int, clock: VirtualClock, context: str = "ctx",
                 tier: str = "write") -> list[float]:
    """n calls of no duration, one after another; the admission time of each."""
    admitted = []
    for _ in range(n):
        async with pacer.admit(context, tier):
            admitted.append(clock())
    return admitted


def test_budget_goes_at_once_then_waits_for_the_window():
    clock = VirtualClock()
    # 600/min over 0.4 s = a budget of 4 calls per window
    pacer = Pacer(read_per_min=0, write_per_min=600, window=0.4, clock=clock)
    start = clock()
    offsets = [t - start for t in clock.run(_calls(pacer, 9, clock))]
    assert offsets[:4] == [0.0] * 4  # the first 4 without waiting
    assert offsets[4:8] == pytest.approx([0.4] * 4, abs=0.005)  # once the first 4 have left the window
    assert offsets[8] == pytest.approx(0.8, abs=0.005)  # the 9th only in the third window


def test_a_call_in_flight_holds_its_place_and_counts_from_its_end():
    clock = VirtualClock()

    async def go() -> tuple[float, float, float]:
        budget = WindowBudget(per_min=300, window=0.2, clock=clock)  # a budget of 1 call
        await budget.acquire()
        start = clock()
        waiter = asyncio.create_task(budget.acquire())
        await asyncio.sleep(0.3)  # longer than the window: the running call must still block
        assert not waiter.done()
        ended = clock()
        budget.release()
        await waiter
        return start, ended, clock()

    start, ended, admitted = clock.run(go())
    assert ended - start == pytest.approx(0.3)
    # a whole window from the end of the call, not from its admission
    assert admitted - ended == pytest.approx(0.2, abs=0.005)


def test_penalize_blocks_for_the_wait_and_lowers_the_budget_for_a_window():
    clock = VirtualClock()

    async def go() -> tuple[float, float, int]:
        pacer = Pacer(read_per_min=0, write_per_min=6000, window=60, clock=clock)  # budget 6000
        await _calls(pacer, 1, clock)
        wait = pacer.penalize("ctx", "write", 0.3)
        start = clock()
        [admitted] = await _calls(pacer, 1, clock)
        return wait, admitted - start, pacer._budget("ctx", "write").budget()

    wait, waited, budget = clock.run(go())
    assert wait == pytest.approx(0.3)
    assert waited == pytest.approx(0.3, abs=0.005)  # blocked for the seconds asked, no longer
    assert budget == 4800


def test_a_429_cuts_the_budget_until_a_whole_window_passes_without_another():
    clock = VirtualClock()
    budget = WindowBudget(per_min=100, window=300, clock=clock)  # Qlik's Tier 2: 500 per 5 minutes
    assert budget.budget() == 500
    budget.penalize(2.0)
    assert budget.factor < 1 and budget.budget() == 400
    clock.advance(299)  # still inside the window of that 429
    clock.run(budget.acquire())
    assert budget.budget() == 400
    budget.penalize(2.0)  # a second 429 inside the window cuts it further...
    assert budget.budget() == 320
    clock.advance(299)  # ...and the window starts again from it: 598 s after the first, still cut
    clock.run(budget.acquire())
    assert budget.budget() == 320
    clock.advance(1)  # a whole window since the last 429
    clock.run(budget.acquire())
    assert (budget.factor, budget.budget()) == (1.0, 500)
    assert clock.slept == 0.0  # no call waited: the budget was never spent


def test_a_429_cuts_a_paced_tier_and_the_full_budget_returns_after_a_window():
    """Through the Pacer, on one clock: after a 429 the tier admits fewer calls per window; a
    window later, with no other 429, it admits the full budget again."""
    clock = VirtualClock()
    pacer = Pacer(read_per_min=0, write_per_min=120, window=5, clock=clock)  # 10 calls per 5 s

    async def go() -> tuple[list[float], list[float], list[float]]:
        full = await _calls(pacer, 11, clock)
        pacer.penalize("ctx", "write", 0.0)
        cut = await _calls(pacer, 9, clock)
        await asyncio.sleep(5)  # a whole window without another 429
        restored = await _calls(pacer, 11, clock)
        return full, cut, restored

    full, cut, restored = clock.run(go())
    assert full[:10] == [full[0]] * 10 and full[10] == pytest.approx(full[0] + 5, abs=0.005)
    # cut to 8: the first 8 calls of the next window go at once, the 9th waits for another window
    assert cut[:7] == [cut[0]] * 7 and cut[0] == full[10]
    assert cut[8] == pytest.approx(full[10] + 5, abs=0.005)
    assert pacer._budget("ctx", "write").budget() == 10
    assert restored[:10] == [restored[0]] * 10
    assert clock.slept > 0  # waits were virtual, not real


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
    clock = VirtualClock(1_000_000.25)
    first = Pacer(read_per_min=0, write_per_min=120, window=1.0, clock=clock,  # a budget of 2 per second
                  call_log=CallLog(tmp_path / "calls.sqlite", keep_seconds=1.0, clock=clock))
    clock.run(_calls(first, 2, clock))
    ended = clock()
    first.close()

    second = Pacer(read_per_min=0, write_per_min=120, window=1.0, clock=clock,
                   call_log=CallLog(tmp_path / "calls.sqlite", keep_seconds=1.0, clock=clock))
    start = clock()
    [other] = clock.run(_calls(second, 1, clock, context="other"))  # another identity has its own budget
    assert other == start
    [same] = clock.run(_calls(second, 1, clock))
    # the window the first run filled had to pass: the calls left it a whole window after their
    # end, which the call log keeps rounded up to the second
    assert math.ceil(ended) + 1.0 <= same <= math.ceil(ended) + 1.01
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

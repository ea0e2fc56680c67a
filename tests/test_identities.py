"""The identity pool (identities.py) and the tenant's cap (pacing.py), on an injected clock."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from qlikcli_py.call_log import CallLog
from qlikcli_py.identities import Identity
from qlikcli_py.identities import IdentityPool
from qlikcli_py.identities import minimum_seconds
from qlikcli_py.pacing import Pacer
from qlikcli_py.target import Target


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _identity(name: str, *, admin: bool = True, helper: bool = True) -> Identity:
    return Identity(name, Target(None, name, scratch=Path(".")), {"id": f"id-{name}"}, admin, helper)  # type: ignore[arg-type]


def _pool(clock: Clock, *, write_per_min: float = 60.0, window: float = 60.0, tenant: float = 0.0,
          target_admin: bool = False) -> IdentityPool:
    pacer = Pacer(read_per_min=0, write_per_min=write_per_min, window=window, clock=clock,
                  tenant_write_per_min=tenant)
    ids = [_identity("cloud", admin=target_admin, helper=False), _identity("bot1"), _identity("bot2")]
    return IdentityPool(ids, pacer, clock=clock)


async def _send(pool: IdentityPool, n: int) -> list[str]:
    """n writes, each through the identity the pool picks, admitted and released at once."""
    sent = []
    for _ in range(n):
        who = pool.writer()
        await pool.pacer.acquire(who.context, "write")
        pool.pacer.release(who.context, "write")
        sent.append(who.context)
    return sent


def test_writes_spread_over_the_identities_by_free_room():
    clock = Clock()
    pool = _pool(clock)
    sent = asyncio.run(_send(pool, 9))
    assert {c: sent.count(c) for c in set(sent)} == {"cloud": 3, "bot1": 3, "bot2": 3}


def test_a_429_on_one_identity_sends_its_next_work_to_the_others_until_the_block_ends():
    clock = Clock()
    pool = _pool(clock)
    wait = pool.pacer.penalize("bot1", "write", 30.0)
    assert wait == 30.0
    sent = asyncio.run(_send(pool, 8))
    assert "bot1" not in sent and sent.count("cloud") == 4 and sent.count("bot2") == 4
    assert pool.pacer.rate_limited == 1
    clock.now += 31  # the block is over, its budget lowered for a window (pacing.py): work comes back
    assert pool.pacer.free("bot1", "write") == 48 and pool.pacer.free("cloud", "write") == 56
    # cloud and bot2 take 8 each until they are down to its room, then the three share it
    assert asyncio.run(_send(pool, 20)).count("bot1") == 2


def test_a_429_without_pacing_still_moves_the_work():
    clock = Clock()
    pool = _pool(clock, write_per_min=0)
    pool.pacer.penalize("bot2", "write", 10.0)
    sent = asyncio.run(_send(pool, 6))
    assert "bot2" not in sent and sent.count("cloud") == sent.count("bot1") == 3
    clock.now += 11
    assert "bot2" in asyncio.run(_send(pool, 3))


def test_when_every_identity_is_blocked_the_one_freed_first_is_chosen():
    clock = Clock()
    pool = _pool(clock)
    pool.pacer.penalize("cloud", "write", 50.0)
    pool.pacer.penalize("bot1", "write", 5.0)
    pool.pacer.penalize("bot2", "write", 20.0)
    assert pool.writer().context == "bot1"


def test_an_identity_whose_window_is_spent_gets_no_work_while_others_have_room():
    clock = Clock()
    pool = _pool(clock, write_per_min=2, window=60)  # 2 writes per window each

    async def fill() -> None:
        for _ in range(2):
            await pool.pacer.acquire("cloud", "write")
            pool.pacer.release("cloud", "write")

    asyncio.run(fill())
    assert asyncio.run(_send(pool, 4)).count("cloud") == 0


def test_reads_go_to_admin_apps_identities_in_turn_and_to_the_target_only_without_one():
    clock = Clock()
    pool = _pool(clock)
    assert [pool.reader().context for _ in range(4)] == ["bot1", "bot2", "bot1", "bot2"]
    assert pool.readers_see_all
    alone = IdentityPool([_identity("cloud", admin=False, helper=False)], pool.pacer)
    assert alone.reader().context == "cloud" and not alone.readers_see_all


def test_the_tenant_cap_bounds_the_sum_over_identities():
    clock = Clock()
    pool = _pool(clock, write_per_min=60, window=60, tenant=90)  # 60 each, 90 for the tenant

    async def go() -> int:
        done = 0
        for _ in range(200):
            who = pool.writer()
            try:
                await asyncio.wait_for(pool.pacer.acquire(who.context, "write"), 0.05)
            except TimeoutError:
                break
            pool.pacer.release(who.context, "write")
            done += 1
        return done

    assert asyncio.run(go()) == 90
    assert pool.pacer.free("bot1", "write") == 0  # its own room is there, the tenant's is not
    clock.now += 61
    assert pool.pacer.free("bot1", "write") == 60


def test_minimum_seconds_for_a_pool():
    pacer = Pacer(read_per_min=0, write_per_min=100, window=300)  # 500 writes per window
    assert minimum_seconds(pacer, 3000, target_only=3, identities=1) == 5 * 300
    assert minimum_seconds(pacer, 3000, target_only=3, identities=3) == 1 * 300
    assert minimum_seconds(pacer, 1000, target_only=600, identities=3) == 300  # the target's own writes
    capped = Pacer(read_per_min=0, write_per_min=100, window=300, tenant_write_per_min=150)  # 750 a window
    assert minimum_seconds(capped, 3000, target_only=3, identities=3) == 3 * 300
    assert minimum_seconds(Pacer(read_per_min=0, write_per_min=0), 3000, target_only=3, identities=3) == 0


def test_the_tenant_budget_starts_from_every_identitys_logged_calls(tmp_path):
    clock = Clock()
    log = CallLog(tmp_path / "calls.sqlite", keep_seconds=60, clock=clock)
    for context in ("cloud", "bot1", "bot2"):
        for _ in range(20):
            log.add(context, "write", clock.now - 5)
    log.flush()
    pacer = Pacer(read_per_min=0, write_per_min=60, window=60, call_log=log, clock=clock, tenant_write_per_min=90)
    assert pacer.free("bot1", "write") == 90 - 60  # the tenant saw 60 writes; bot1 itself 20
    assert pacer.free("other", "write") == 30
    log.close()


@pytest.mark.parametrize("given, manifest, expected", [
    (("bot1", "bot2"), None, ("bot1", "bot2")),
    ((), '[defaults]\nhelper_context = ["m1", "m2"]\nshared_space = "S"\n', ("m1", "m2")),
    (("bot1",), '[defaults]\nhelper_context = "m1"\n', ("bot1",)),
    ((), '[defaults]\nhelper_context = "m1"\n', ("m1",)),
])
def test_helper_contexts_from_flags_config_or_manifest(tmp_path, given, manifest, expected):
    from qlikcli_py.identity_options import helper_contexts

    p: dict[str, object] = {"helper_context": given}
    if manifest is not None:
        (tmp_path / "m.toml").write_text(manifest)
        p["manifest"] = tmp_path / "m.toml"
    assert helper_contexts(p) == expected


def test_a_helper_named_twice_is_refused():
    from qlikcli_py.errors import UsageProblem
    from qlikcli_py.identity_options import helper_contexts

    with pytest.raises(UsageProblem, match="given twice"):
        helper_contexts({"helper_context": ("bot1", "bot1")})

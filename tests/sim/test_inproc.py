"""The in-process tenant of the identities benchmark (qliksim/inproc.py): it keeps Qlik's rule
itself (per identity, at most N writes in any sliding window), answers 429 as the tool's classifier
reads it, and really changes owners, so the benchmark's figures can be trusted."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.vocabulary import FailureKind
from qliksim.inproc import InProcessTenant
from qliksim.inproc import SlidingWindow
from qliksim.inproc import run_handover


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_window_holds_at_most_its_limit_in_any_window_seconds():
    w = SlidingWindow(2, 10.0)
    for t in (0.0, 1.0):
        assert w.wait(t) is None
        w.count(t)
    assert w.wait(5.0) == 5.0  # the call of t=0 leaves the window at t=10
    assert w.wait(10.0) is None


def _change_owner(tenant: InProcessTenant, context: str, oid: str, owner: str) -> bytes:
    argv = ["app", "object", "change-owner", "--appId", "app-1", "--objectId", oid, "--ownerId", owner,
            "--json", "--context", context]
    result = asyncio.run(tenant._spawn(argv, tuple(argv), "write", 5.0, None))
    return result.stdout


def test_a_write_past_an_identitys_limit_is_a_rate_limited_failure_and_counted_per_identity():
    clock = Clock()
    tenant = InProcessTenant("app-1", {"a": "me", "b": "me", "c": "me"}, limit=2, window=10.0, clock=clock)
    _change_owner(tenant, "cloud", "a", "u1")
    _change_owner(tenant, "cloud", "b", "u2")
    with pytest.raises(QlikCommandFailed) as e:
        _change_owner(tenant, "cloud", "c", "u3")
    assert e.value.kind == FailureKind.RATE_LIMITED and e.value.retry_after == 10
    assert b'"ownerId": "u3"' not in e.value.stdout and tenant.owners["c"] == "me"  # refused: not applied
    _change_owner(tenant, "bot", "c", "u3")  # another identity has a window of its own
    assert tenant.owners == {"a": "u1", "b": "u2", "c": "u3"}
    assert tenant.stats.refused_429 == {"cloud": 1} and tenant.stats.accepted == {"cloud": 2, "bot": 1}
    clock.now += 10.0
    _change_owner(tenant, "cloud", "a", "u4")
    assert tenant.applied["a"] == ["cloud", "cloud"]


def test_the_tenant_cap_bounds_the_identities_together():
    clock = Clock()
    tenant = InProcessTenant("app-1", {"a": "me", "b": "me"}, limit=5, window=10.0, tenant_limit=1, clock=clock)
    _change_owner(tenant, "cloud", "a", "u1")
    with pytest.raises(QlikCommandFailed) as e:
        _change_owner(tenant, "bot", "b", "u2")
    assert e.value.kind == FailureKind.RATE_LIMITED and tenant.stats.refused_429 == {"bot": 1}


def test_a_tool_paced_past_the_tenants_limit_meets_429s_and_still_hands_every_object_over(tmp_path: Path):
    # The rig can fail: told a budget 4x the tenant's, the tool is answered 429s, which it waits out.
    r = run_handover(tmp_path, writes=12, identities=1, limit=3, window=1.0, owners=3, workers=4, tool_limit=12)
    assert r["refused_429"] > 0 and r["rate_limited_seen"] == r["refused_429"]
    assert r["accepted"] == 12 and r["ledger_counts"] == {"done": 12} and not r["error"]
    assert r["wrongly_owned"] == r["lost"] == r["applied_twice"] == 0


def test_the_hand_over_shares_the_writes_and_keeps_the_tenant_cap(tmp_path: Path):
    r = run_handover(tmp_path, writes=30, identities=3, limit=10, window=0.5, owners=4, workers=8, tenant_limit=15)
    assert r["refused_429"] == 0 and r["accepted"] == 30 and not r["error"]
    assert r["by_context"] == r["ledger_sent_by"] and set(r["by_context"]) == {"cloud", "cloud-bot", "bot2"}
    assert r["bound"] == 0.5  # 30 writes, 15 a window over all identities: one window to wait
    assert r["objects_after"] == 30 and r["wrongly_owned"] == r["lost"] == r["applied_twice"] == 0

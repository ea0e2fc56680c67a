"""The identities a migration speaks as: the target context, and its helpers (`--helper-context`).

Qlik evaluates rate limits per user per tenant, and each OAuth client is a user of its own: a bot
with admin.apps may change the owner of any object and read any object's layout. So the
hand-overs (change-owner) and the engine reads of settling and verify are shared between the
target identity and its helpers; the target alone imports, copies and moves (it owns what it
imports). Each identity has its own pacing window, 429 state and call log: `Pacer` keys budgets
by (context, tier) and `CallLog` persists per context, so an identity is its context name here.

`IdentityPool.writer()` picks, for each hand-over, the identity with the most free room in its
write window that no 429 blocks (ties go to the fewest calls sent); a 429 blocks only the identity
that met it (pacing.py), so its next work goes to the others. `reader()` picks an identity for an
engine read: one with admin.apps (it sees every object, handed over or not) in turn, else the target.
"""
from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qlikcli_py.pacing import Pacer
from qlikcli_py.target import Target
from qlikcli_py.vocabulary import Tier


@dataclass(frozen=True)
class Identity:
    """One context of the tenant and who it is (`user me`)."""

    context: str
    target: Target
    me: dict[str, Any]
    admin_apps: bool
    helper: bool = False

    @property
    def user_id(self) -> str:
        return str(self.me.get("id", ""))

    @property
    def label(self) -> str:
        return f"{self.context} ({self.me.get('name') or self.user_id})"


class IdentityPool:
    """The target identity first, then the helpers, and the choice of who sends each call."""

    def __init__(self, identities: Sequence[Identity], pacer: Pacer, *,
                 clock: Callable[[], float] = time.time) -> None:
        assert identities, "the target identity is always in the pool"
        self.identities = list(identities)
        self.pacer = pacer
        self._clock = clock
        self.sent: Counter[str] = Counter()  # calls handed to each identity (writes and reads)
        self._writes: Counter[str] = Counter()  # writes handed to each: the tie-break
        readers = [i for i in self.identities if i.admin_apps] or self.identities[:1]
        self._readers = itertools.cycle(readers)
        self.readers_see_all = readers[0].admin_apps

    @property
    def main(self) -> Identity:
        """The target identity: imports, copies and moves, and owns what it imported."""
        return self.identities[0]

    @property
    def helpers(self) -> list[Identity]:
        return [i for i in self.identities if i.helper]

    def writer(self) -> Identity:
        """The identity for the next hand-over: not blocked by a 429, the most free room in its
        write window; when every one is blocked, the one whose block ends first."""
        now = self._clock()

        def rank(identity: Identity) -> tuple[int, float, int, int]:
            blocked = self.pacer.blocked_until(identity.context, Tier.WRITE)
            free = self.pacer.free(identity.context, Tier.WRITE)
            room = free if free is not None else 1 << 30
            if blocked > now:
                return (0, -blocked, 0, 0)
            return (1, 0.0, room, -self._writes[identity.context])

        chosen = max(self.identities, key=rank)
        self.sent[chosen.context] += 1
        self._writes[chosen.context] += 1
        return chosen

    def reader(self) -> Identity:
        """The identity for the next engine read (settling, verify): admin.apps ones in turn."""
        chosen = next(self._readers)
        self.sent[chosen.context] += 1
        return chosen

    def by_context(self, context: str | None) -> Identity | None:
        return next((i for i in self.identities if i.context == context), None)

    def describe(self) -> list[dict[str, Any]]:
        """For the report: each identity, its role and how many calls it was handed."""
        return [{"context": i.context, "id": i.user_id, "name": i.me.get("name"), "admin_apps": i.admin_apps,
                 "role": "helper" if i.helper else "target", "calls": self.sent[i.context]}
                for i in self.identities]


def single(target: Target, me: dict[str, Any], pacer: Pacer, admin_apps: bool) -> IdentityPool:
    """The pool of a run without helpers: the target identity alone."""
    return IdentityPool([Identity(target.context, target, me, admin_apps)], pacer)


def minimum_seconds(pacer: Pacer, writes: int, *, target_only: int, identities: int) -> float:
    """The least time a run's `writes` take at the write window's bound when `identities` share
    the hand-overs and the target alone makes `target_only` of them (imports, copies, moves): each
    window lets every identity make its limit, capped by the tenant's (--tenant-write-rate)."""
    limit = pacer.limit(Tier.WRITE)
    if limit <= 0 or writes <= 0:
        return 0.0
    per_window = limit * max(1, identities)
    cap = pacer.tenant_limit(Tier.WRITE)
    if cap:
        per_window = min(per_window, cap)
    shared = ((writes - 1) // per_window) * pacer.window
    own = ((target_only - 1) // limit) * pacer.window if target_only > 0 else 0.0
    return float(max(shared, own))


def pool_bound(session: Any, writes: int, *, creates: int) -> dict[str, Any]:
    """`plan`'s figures for the pool given: how many identities, and the least time at the bound."""
    pool: IdentityPool = session.pool
    return {"identities": len(pool.identities),
            "pool_minimum_seconds": round(minimum_seconds(pool.pacer, writes, target_only=creates,
                                                          identities=len(pool.identities)), 1)}

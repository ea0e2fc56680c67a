"""OwnerMapper: each owner to the cloud user the first deciding match source finds, lookups shared
across a batch (see the package docstring for the rules)."""
from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from collections.abc import Iterable
from typing import TYPE_CHECKING
from typing import TypeVar

from qlikcli_py.errors import UsageProblem
from qlikcli_py.escapes import escape_controls as _show
from qlikcli_py.filters import scim_eq
from qlikcli_py.mapping.options import Lookup
from qlikcli_py.mapping.options import MappingOptions
from qlikcli_py.mapping.options import MatchSource
from qlikcli_py.mapping.options import UnmatchedMode
from qlikcli_py.mapping.options import compile_options
from qlikcli_py.mapping.outcomes import Outcome
from qlikcli_py.mapping.outcomes import Resolution
from qlikcli_py.mapping.outcomes import ambiguous
from qlikcli_py.mapping.outcomes import fail_if_unmatched
from qlikcli_py.mapping.outcomes import missing_target
from qlikcli_py.mapping.outcomes import outcome as _outcome
from qlikcli_py.mapping.outcomes import owner_label
from qlikcli_py.mapping.outcomes import reason
from qlikcli_py.mapping.users import UserIndex
from qlikcli_py.mapping.users import is_eligible
from qlikcli_py.mapping.users import unique
from qlikcli_py.mapping.users import who
from qlikcli_py.models import CloudUser
from qlikcli_py.models import SourceOwner

if TYPE_CHECKING:
    from qlikcli_py.target import Target


# A Qlik Cloud user id is an opaque token of letters, digits, `-` and `_`. Only values of that
# shape are looked up by id: an email or `DIR\user` never is one, so that call would be wasted.
_ID_SHAPE = re.compile(r"[A-Za-z0-9_-]+")
_T = TypeVar("_T")


class OwnerMapper:
    """Resolves owners to cloud users; one instance per run, so a batch of apps shares lookups.

    `lookups` counts Target calls (filtered lookups plus listings); `strategy` is "filter" or
    "listing" once chosen (a listing, once loaded, answers everything afterwards).
    """

    def __init__(self, target: Target, options: MappingOptions) -> None:
        self._target = target
        self._options = options
        self._compiled = compile_options(options)
        self.lookups = 0
        self.strategy: Lookup | None = None
        self._index: UserIndex | None = None
        self._found: dict[tuple[str, str], tuple[CloudUser, ...]] = {}
        self._pending: dict[tuple[str, str], asyncio.Task[tuple[CloudUser, ...]]] = {}
        self._resolved: dict[SourceOwner, Resolution] = {}
        self._fallback: CloudUser | None = None

    async def resolve(self, owners: Iterable[SourceOwner]) -> dict[str, Resolution]:
        """{SourceOwner.id: Resolution} for every owner (an ambiguous one is unmatched, with its
        candidates). Raises UsageProblem for an unresolvable assign:USER, MigrationError for
        unmatched owners under `fail`."""
        wanted = list(dict.fromkeys(owners))
        todo = [o for o in wanted if o not in self._resolved]
        # The fallback user is checked on the first call even when everyone matched: finding it
        # missing only when a later app has an unmatched owner would stop a run half done.
        need_fallback = self._options.on_unmatched.mode == UnmatchedMode.ASSIGN and self._fallback is None
        if todo or need_fallback:
            await self._choose_strategy(len(todo))
        if need_fallback:
            self._fallback = await self._find_fallback()
        decided = await _gather(self._decide(o) for o in todo)
        for resolution in decided:
            self._resolved[resolution.owner] = self._with_fallback(resolution)
        result = {o.id: self._resolved[o] for o in wanted}
        if self._options.on_unmatched.mode == UnmatchedMode.FAIL:
            fail_if_unmatched(result.values())
        return result

    # -- lookups ---------------------------------------------------------------------------------
    async def _choose_strategy(self, owners: int) -> None:
        if self._index is not None:
            return
        lookup = self._options.lookup
        listing = lookup == Lookup.LISTING or (lookup == Lookup.AUTO and owners > self._options.listing_threshold)
        if listing:
            self.strategy = Lookup.LISTING
            self.lookups += 1
            self._index = UserIndex(await self._target.all_users())
            self._found.clear()  # the index answers everything from now on
        else:
            self.strategy = Lookup.FILTER

    async def _query(self, attr: str, value: str) -> tuple[CloudUser, ...]:
        """Every user (any status) whose `attr` equals `value`, ignoring case."""
        if self._index is not None:
            return self._index.find(attr, value)
        key = (attr, value)
        if key in self._found:
            return self._found[key]
        task = self._pending.get(key)
        if task is not None:  # another owner asked the same a moment ago: share its call
            return await task
        task = asyncio.ensure_future(self._fetch(attr, value))
        self._pending[key] = task
        try:
            users = await task
        finally:
            del self._pending[key]
        self._found[key] = users
        return users

    async def _fetch(self, attr: str, value: str) -> tuple[CloudUser, ...]:
        self.lookups += 1
        users = await self._target.users_where(scim_eq(attr, value))
        # Keep only exact (case-insensitive) matches, as the listing index would: whatever the
        # server's `eq` does with case, both strategies then decide the same way.
        want = value.lower()
        return tuple(u for u in users if getattr(u, attr).lower() == want)

    async def _find_spec(self, spec: str) -> list[tuple[CloudUser, str]]:
        """A user named by id, subject or email (mapping targets, the fallback user): each
        distinct user found, with the attribute that found it."""
        attrs = (["id"] if _ID_SHAPE.fullmatch(spec) else []) + ["subject"] + (["email"] if "@" in spec else [])
        found: dict[str, tuple[CloudUser, str]] = {}
        for attr in attrs:
            for user in await self._query(attr, spec):
                found.setdefault(user.id, (user, attr))
        return list(found.values())

    async def _find_fallback(self) -> CloudUser:
        spec = self._options.on_unmatched.user or ""
        found = await self._find_spec(spec)
        eligible = [u for u, _ in found if is_eligible(u)]
        where = f"--on-unmatched assign:{_show(spec)}"
        if not eligible:
            why = "".join(f"; {who(u)} is {u.status}" for u, _ in found)
            raise UsageProblem(f"{where}: no cloud user has id, subject or email {_show(spec)}{why}")
        if len(eligible) > 1:
            raise UsageProblem(f"{where} matches {len(eligible)} cloud users: "
                               f"{', '.join(who(u) for u in eligible)}; name one by its id")
        return eligible[0]

    # -- deciding --------------------------------------------------------------------------------
    async def _decide(self, owner: SourceOwner) -> Resolution:
        looked_for: list[str] = []
        notes: list[str] = []
        for source in self._compiled.order:
            outcome = await self._evaluate(source, owner)
            distinct: dict[str, tuple[CloudUser, str]] = {}
            for user, how in outcome.matches:
                distinct.setdefault(user.id, (user, how))
            if len(distinct) == 1:
                user, how = outcome.matches[0]
                return Resolution(owner, user, source, how)
            if distinct:
                return ambiguous(owner, list(distinct.values()))
            if outcome.explicit:
                # the operator's row names nobody eligible: a guess must not overrule it
                return Resolution(owner, None, None, "; ".join(outcome.notes))
            looked_for += outcome.looked_for
            notes += outcome.notes
        return Resolution(owner, None, None, reason(looked_for, notes))

    def _evaluate(self, source: str, owner: SourceOwner) -> Awaitable[Outcome]:
        return {MatchSource.MAPPING: self._by_mapping, MatchSource.RULES: self._by_rules,
                MatchSource.SUBJECT: self._by_subject, MatchSource.EMAIL: self._by_email}[MatchSource(source)](owner)

    async def _by_mapping(self, owner: SourceOwner) -> Outcome:
        mapping = self._compiled.mapping
        rows = {mapping[k].line: mapping[k] for k in _owner_keys(owner) if k in mapping}
        if not rows:
            return Outcome(notes=["no mapping file row"] if self._options.mapping_file else [])
        outcome = Outcome(explicit=True)
        for row in sorted(rows.values(), key=lambda r: r.line):
            found = await self._find_spec(row.target)
            how = f"mapping file line {row.line} ({row.source} -> {row.target}"
            outcome.matches += [(u, f"{how}, by {attr})") for u, attr in found if is_eligible(u)]
            if not any(is_eligible(u) for u, _ in found):
                outcome.notes.append(missing_target(row, [u for u, _ in found]))
        return outcome

    async def _by_rules(self, owner: SourceOwner) -> Outcome:
        outcome = Outcome()
        applied = False
        for rule in self._compiled.rules:
            value = rule.apply(owner)
            if value is None:
                continue
            applied = True
            how = f"rule {rule.text} ({value})"
            users = await self._query("subject", value)
            if "@" in value:  # an email always has one; skip a lookup that cannot match
                users += await self._query("email", value)
            step = _outcome(unique(users), how, f"subject or email {value} (rule {rule.text})")
            if step.matches:
                return step  # first rule that finds someone wins
            outcome.looked_for += step.looked_for
            outcome.notes += step.notes
        if self._compiled.rules and not applied:
            outcome.notes.append(f"no rule matches {owner.key}")
        return outcome

    async def _by_subject(self, owner: SourceOwner) -> Outcome:
        if not owner.user_id:
            return Outcome(notes=["QRS has no userId for this owner"])
        what = f"subject {owner.key}"
        return _outcome(await self._query("subject", owner.key), what, what)

    async def _by_email(self, owner: SourceOwner) -> Outcome:
        if not owner.email:
            return Outcome(notes=["QRS has no email for this owner"])
        what = f"email {owner.email}"
        return _outcome(await self._query("email", owner.email), what, what)

    def _with_fallback(self, resolution: Resolution) -> Resolution:
        if resolution.matched or self._fallback is None:
            return resolution
        owner = resolution.owner
        return Resolution(owner, self._fallback, MatchSource.FALLBACK,
                          f"fallback user standing in for {owner_label(owner)}: {resolution.detail}")


def _owner_keys(owner: SourceOwner) -> list[str]:
    return [owner.key.lower()] + ([owner.email.lower()] if owner.email else [])


async def _gather(aws: Iterable[Awaitable[_T]]) -> list[_T]:
    # return_exceptions: every lookup finishes before the first error is raised, so no task is
    # left running unobserved.
    results = await asyncio.gather(*aws, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results  # type: ignore[return-value]

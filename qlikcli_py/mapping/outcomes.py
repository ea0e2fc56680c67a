"""What the mapper decided for an owner (Resolution), and the messages that say why."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field

from qlikcli_py.errors import ExitCode
from qlikcli_py.errors import MigrationError
from qlikcli_py.escapes import escape_controls as _show
from qlikcli_py.mapping.mapping_file import MappingRow
from qlikcli_py.mapping.users import is_eligible
from qlikcli_py.mapping.users import who
from qlikcli_py.models import CloudUser
from qlikcli_py.models import SourceOwner


class UnmatchedOwners(MigrationError):
    """--on-unmatched fail: nothing was changed (exit 9), unlike a run that completed with unmatched
    owners (exit 4): a cron wrapper must tell "done, some skipped" from "stopped before starting"."""

    exit_code = ExitCode.STOPPED_UNMATCHED



@dataclass(frozen=True)
class Resolution:
    owner: SourceOwner
    user: CloudUser | None  # None when unmatched
    rule: str | None  # a MatchSource (mapping.options), None when unmatched
    detail: str  # how it matched, or why not
    candidates: tuple[CloudUser, ...] = ()  # an ambiguous owner's eligible users, none chosen

    @property
    def matched(self) -> bool:
        return self.user is not None


@dataclass
class Outcome:
    """What one source found for one owner."""

    matches: list[tuple[CloudUser, str]] = field(default_factory=list)  # eligible users
    looked_for: list[str] = field(default_factory=list)  # "subject X" when nobody had it
    notes: list[str] = field(default_factory=list)  # other reasons it found nobody
    explicit: bool = False  # a mapping row applied: the operator decided


def outcome(users: Iterable[CloudUser], how: str, what: str) -> Outcome:
    """Split a lookup's users into eligible matches and the reasons nobody eligible was found."""
    users = list(users)
    eligible = [u for u in users if is_eligible(u)]
    if eligible:
        return Outcome(matches=[(u, how) for u in eligible])
    if not users:
        return Outcome(looked_for=[what])
    statuses = ", ".join(f"{who(u)} is {u.status}" for u in users)
    return Outcome(notes=[f"{what} matches no eligible cloud user: {statuses}"])


def missing_target(row: MappingRow, found: list[CloudUser]) -> str:
    where = f"(mapping file line {row.line})"
    if not found:
        return f"mapping target {row.target} has no cloud user {where}"
    statuses = ", ".join(f"{who(u)} is {u.status}" for u in found)
    return f"mapping target {row.target} has no eligible cloud user: {statuses} {where}"


def reason(looked_for: list[str], notes: list[str]) -> str:
    parts = ([f"no cloud user with {' or '.join(looked_for)}"] if looked_for else []) + notes
    return "; ".join(parts) or "no match source applies to this owner"


def owner_label(owner: SourceOwner) -> str:
    return f"{_show(owner.key)} ({_show(owner.name)})"



def ambiguous(owner: SourceOwner, found: list[tuple[CloudUser, str]]) -> Resolution:
    listed = ", ".join(f"{who(u)} by {how}" for u, how in found)
    return Resolution(owner, None, None,
                      f"ambiguous: {len(found)} eligible cloud users match ({listed}); add a --mapping-file "
                      f"row naming one by its id", candidates=tuple(u for u, _ in found))


def fail_if_unmatched(resolutions: Iterable[Resolution]) -> None:
    unmatched = sorted((r for r in resolutions if not r.matched), key=lambda r: r.owner.key.lower())
    if unmatched:
        listed = "; ".join(f"{owner_label(r.owner)}: {r.detail}" for r in unmatched)
        raise UnmatchedOwners(f"{len(unmatched)} owner(s) have no cloud user (--on-unmatched fail): {listed}; "
                              f"nothing was changed: add the users, a --mapping-file row or a --rewrite rule")

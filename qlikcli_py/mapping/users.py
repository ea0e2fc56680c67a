"""Cloud users as the mapper sees them: who is eligible, how one is named in messages, and the
index a single listing of every user is held in."""
from __future__ import annotations

from collections.abc import Iterable

from qlikcli_py.escapes import escape_controls as _show
from qlikcli_py.models import CloudUser

INELIGIBLE = frozenset({"disabled", "deleted"})


class UserIndex:
    """Every user once, in three dicts by lowercased id, subject and email. A value is the user,
    or a tuple on the rare collision (which the matcher reports as a conflict): for 50,000 users
    this holds the CloudUser objects and the keys, nothing else."""

    __slots__ = ("_by",)

    def __init__(self, users: Iterable[CloudUser]) -> None:
        self._by: dict[str, dict[str, CloudUser | tuple[CloudUser, ...]]] = {
            "id": {}, "subject": {}, "email": {},
        }
        for user in users:
            for attr, index in self._by.items():
                value = getattr(user, attr)
                if value:
                    key = value.lower()
                    # reuse the user's own string when already lowercase: one less copy per key
                    _index_add(index, value if key == value else key, user)

    def find(self, attr: str, value: str) -> tuple[CloudUser, ...]:
        hit = self._by[attr].get(value.lower())
        if hit is None:
            return ()
        return hit if isinstance(hit, tuple) else (hit,)


def _index_add(index: dict[str, CloudUser | tuple[CloudUser, ...]], key: str, user: CloudUser) -> None:
    seen = index.get(key)
    if seen is None:
        index[key] = user
    elif isinstance(seen, tuple):
        index[key] = (*seen, user)
    else:
        index[key] = (seen, user)


def is_eligible(user: CloudUser) -> bool:
    return user.status.lower() not in INELIGIBLE


def unique(users: Iterable[CloudUser]) -> list[CloudUser]:
    return list({u.id: u for u in users}.values())


def who(user: CloudUser) -> str:
    return f"{_show(user.name or user.email or user.subject)} (id {_show(user.id)})"

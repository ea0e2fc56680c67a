"""Plain data the workflow passes around. Built from qlik output by source.py and target.py only."""
from __future__ import annotations

import enum
from dataclasses import dataclass


class State(enum.StrEnum):
    PRIVATE = "private"  # published false, approved false: visible to its owner only
    COMMUNITY = "community"  # published true, approved false
    BASE = "base"  # approved: part of the app, belongs to the app owner

    @classmethod
    def of(cls, published: bool, approved: bool) -> State:
        if approved:
            return cls.BASE
        return cls.COMMUNITY if published else cls.PRIVATE


@dataclass(frozen=True, slots=True)
class SourceOwner:
    id: str  # QRS user id (GUID)
    user_id: str
    directory: str
    name: str
    email: str | None = None

    @property
    def key(self) -> str:
        """`DIRECTORY\\userId`: what a Qlik Cloud subject usually looks like for this user."""
        return f"{self.directory}\\{self.user_id}"


@dataclass(frozen=True, slots=True)
class SourceObject:
    object_id: str  # engineObjectId on QRS == objectId / qId in Qlik Cloud
    type: str
    title: str
    state: State
    owner_id: str  # QRS user id
    # what checks/traps.py needs from QRS `attributes` (INFERRED keys): "default" for the app's
    # default bookmark, "show-condition" for a sheet with a show condition, else ""
    note: str = ""
    modified: str = ""  # QRS modifiedDate: `sync` tells objects changed on-prem since their migration


@dataclass(frozen=True, slots=True)
class SourceApp:
    id: str
    name: str
    modified: str
    stream: str | None
    owner: str  # DIR\userId of the app owner
    file_size: int = 0


@dataclass(frozen=True, slots=True)
class CloudUser:
    id: str
    name: str
    subject: str
    email: str
    status: str = "active"


@dataclass(frozen=True, slots=True)
class Space:
    id: str
    name: str
    type: str  # shared | managed | data
    actions: tuple[str, ...] = ()  # what the caller may do here (meta.actions), e.g. create, publish


@dataclass(frozen=True, slots=True)
class CloudApp:
    id: str
    name: str
    space_id: str
    owner_id: str
    origin_app_id: str
    created: str


@dataclass(frozen=True, slots=True)
class CloudObject:
    object_id: str
    type: str
    title: str
    owner_id: str
    state: State


# Types that are part of the app itself rather than user content: never handed to a user.
NOT_REASSIGNABLE = frozenset({"app_appscript", "loadmodel", "appprops", "embeddedsnapshot"})


def reassignable(obj: SourceObject) -> bool:
    """Users' content: handed to its owner's cloud user, removed from the development copy. Base
    objects belong to the app owner; app structure is no user's."""
    return obj.state is not State.BASE and obj.type not in NOT_REASSIGNABLE

# Engine command group per object type (docs/qlik-surface.md).
_GROUPS = {"bookmark": "bookmark", "snapshot": "bookmark", "dimension": "dimension", "measure": "measure"}


def engine_group(object_type: str) -> str:
    return _GROUPS.get(object_type, "object")

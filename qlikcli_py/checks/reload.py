"""Will it reload? Each app's load script, the connections it names, and what the target offers.

`plan` reads the script from the source through the site's engine (qlik-cli 2.25.0+; before, or
when the read fails, the answer is "unknown until import") and looks the names up in the data
connections of the target spaces (`data-connection ls` per space). `run` reads it from the
imported app and asks the app itself (`app connection ls`). One resolution rule for both:
- `Name` (or `:Name`) resolves in the app's own space: the shared space for the development copy,
  the managed space for the migrated app, so it must be in both;
- `Space:Name` resolves in the space named `Space`.
A connection map (`--connection-map OLD=NEW`) is applied first: the names checked are those the
rewritten script will carry.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from qlikcli_py import load_scripts
from qlikcli_py import versions
from qlikcli_py.errors import QlikError
from qlikcli_py.models import Space
from qlikcli_py.session import Session
from qlikcli_py.source import site_script
from qlikcli_py.target import app_connections
from qlikcli_py.target import app_script
from qlikcli_py.target import data_connections

SITE_SCRIPT_VERSION = (2, 25, 0)  # qlik-cli sends the CSRF token a client-managed engine wants
UNKNOWN_UNTIL_IMPORT = "unknown until import"


class ConnStatus:
    FOUND = "found"
    MISSING = "missing"
    CANNOT_CHECK = "cannot-check"
    RENAMED = "renamed"


@dataclass
class ConnFinding:
    connection: str  # as the (rewritten) script names it
    status: str  # found | missing | cannot-check
    where: list[str] = field(default_factory=list)  # spaces it was found in
    missing_in: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    renamed_from: str | None = None
    detail: str = ""

    def fix(self) -> str:
        if self.status == ConnStatus.MISSING:
            return (f"create {self.connection!r} in {', '.join(self.missing_in)}, or rename it on the way: "
                    f"--connection-map '{self.connection}=NEW NAME'")
        if self.status == ConnStatus.CANNOT_CHECK:
            return "check it by hand after the migration (reload the development copy)"
        return ""

    def doc(self) -> dict[str, Any]:
        return {"connection": self.connection, "status": self.status, "where": self.where,
                "missing_in": self.missing_in, "lines": self.lines, "renamed_from": self.renamed_from,
                "detail": self.detail, "fix": self.fix()}


@dataclass
class ReloadCheck:
    """One app's script and its connections."""

    script: str  # "read from the source" | "read from the imported app" | UNKNOWN_UNTIL_IMPORT
    why_unknown: str = ""
    connections: list[ConnFinding] = field(default_factory=list)

    @property
    def missing(self) -> list[ConnFinding]:
        return [c for c in self.connections if c.status == ConnStatus.MISSING]

    def doc(self) -> dict[str, Any]:
        return {"script": self.script, "why_unknown": self.why_unknown or None,
                "connections": [c.doc() for c in self.connections]}


def can_read_site_scripts(version: str) -> bool:
    """2.25.0 or later; a build printing no number (2.27.0 did) is newer than 2.24.0: it is tried."""
    if version == versions.UNKNOWN_VERSION:
        return True
    found = versions.read_version(f"version: {version}")
    return bool(found and found.numbers is not None and found.numbers >= SITE_SCRIPT_VERSION)


def resolve(script: str, mapping: Mapping[str, str], offered: Callable[[str | None], tuple[str, set[str]] | None],
            own_spaces: list[str]) -> list[ConnFinding]:
    """Findings for `script` once `mapping` is applied. `offered(space_name)` gives (the space's
    label, the names it offers) or None when no such space is visible; `None` asks for the app's
    own spaces, given by label in `own_spaces`."""
    renamed = load_scripts.rename(script, mapping)
    before = {r.line: r.written for r in load_scripts.references(script) if r.checkable}
    out: dict[str, ConnFinding] = {}
    for ref in load_scripts.references(renamed):
        if not ref.checkable:
            key = f"{ref.kind}:{ref.line}:{ref.text}"
            out.setdefault(key, ConnFinding(ref.text, ConnStatus.CANNOT_CHECK, lines=[ref.line], detail=ref.why))
            continue
        finding = out.get(ref.written)
        if finding is not None:
            finding.lines.append(ref.line)
            continue
        old = before.get(ref.line)
        finding = ConnFinding(ref.written, ConnStatus.FOUND, lines=[ref.line],
                              renamed_from=old if old is not None and old != ref.written else None)
        if ref.space:  # Space:Name
            got = offered(ref.space)
            if got is None:
                finding.missing_in.append(f"space {ref.space!r} (not found or not visible)")
            elif ref.name in got[1]:
                finding.where.append(got[0])
            else:
                finding.missing_in.append(got[0])
        else:
            for label in own_spaces:
                got = offered(label)
                if got is not None and ref.name in got[1]:
                    finding.where.append(label)
                else:
                    finding.missing_in.append(label)
        if finding.missing_in:
            finding.status = ConnStatus.MISSING
        out[ref.written] = finding
    return list(out.values())


class TargetConnections:
    """The data connections of the target's spaces, each space listed once (`data-connection ls
    --spaceId`), shared by every app of a plan."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._lists: dict[str, asyncio.Task[list[str]]] = {}

    def names(self, space: Space) -> Awaitable[list[str]]:
        if space.id not in self._lists:
            self._lists[space.id] = asyncio.ensure_future(data_connections(self.session.target, space.id))
        return self._lists[space.id]

    def space_named(self, name: str) -> Space | None:
        if name == "":
            return None
        for space in self.session.spaces:
            if space.name == name:
                return space
        return None


async def plan_check(session: Session, connections: TargetConnections, source_app_id: str, shared: Space,
                     managed: Space, mapping: Mapping[str, str]) -> ReloadCheck:
    """The plan's answer for one app."""
    if not can_read_site_scripts(session.version):
        return ReloadCheck(UNKNOWN_UNTIL_IMPORT, f"qlik-cli {session.version} cannot read a client-managed app's "
                           "script (2.25.0 added the CSRF token its engine wants); run checks it after the import")
    try:
        script = await site_script(session.source, source_app_id)
    except QlikError as e:
        return ReloadCheck(UNKNOWN_UNTIL_IMPORT, f"the source's engine did not give the script: {e}")
    refs = load_scripts.references(load_scripts.rename(script, mapping))
    lists: dict[str, tuple[str, set[str]]] = {}
    wanted: dict[str, Space] = {shared.name: shared, managed.name: managed}
    for ref in refs:
        if ref.checkable and ref.space:
            space = connections.space_named(ref.space)
            if space is not None:
                wanted[ref.space] = space
    names = await asyncio.gather(*(connections.names(s) for s in wanted.values()))
    for label, got in zip(wanted, names, strict=True):
        lists[label] = (label, set(got))
    own = [shared.name] if shared.id == managed.id else [shared.name, managed.name]

    def offered(space: str | None) -> tuple[str, set[str]] | None:
        return lists.get(space) if space is not None else None

    return ReloadCheck("read from the source", connections=resolve(script, mapping, offered, own))


def imported_check(script: str, mapping: Mapping[str, str], app_names: list[str], app_space: str) -> ReloadCheck:
    """`run`'s answer, from the imported app's script and `app connection ls`: bare names resolve
    in the app's space, `Space:Name` as the engine lists them."""
    names = set(app_names)

    def offered(space: str | None) -> tuple[str, set[str]] | None:
        if space is None or space == app_space or space == "":
            return (app_space, {n for n in names if ":" not in n})
        return (space, {n.split(":", 1)[1] for n in names if n.startswith(space + ":")})

    return ReloadCheck("read from the imported app", connections=resolve(script, mapping, offered, [app_space]))


async def verify_check(session: Session, app_id: str, space_name: str) -> ReloadCheck:
    """`verify`: the migrated app's script against what it can resolve now; a read that fails is
    reported, never fatal (verify's subject is the objects)."""
    try:
        script, names = await asyncio.gather(app_script(session.target, app_id),
                                             app_connections(session.target, app_id))
    except QlikError as e:
        return ReloadCheck(UNKNOWN_UNTIL_IMPORT, f"the migrated app's script or connections could not be read: {e}")
    check = imported_check(script, {}, names, space_name)
    check.script = "read from the migrated app"
    return check

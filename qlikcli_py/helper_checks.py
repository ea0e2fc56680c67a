"""The checks of each `--helper-context` (doctor, run's preflight, and every command that connects).

A helper shares the target identity's hand-overs, so it must be: an existing Qlik Cloud context,
another user than the target identity and than every other helper (one user is one rate limit),
an OAuth client with admin.apps (it changes the owner of objects the target identity imported and
reads any object's layout), and able to see the spaces of the run. Each failure is one line with
its fix, and nothing is written.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from qlikcli_py.errors import MigrationError
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.errors import UsageProblem
from qlikcli_py.identities import Identity
from qlikcli_py.identities import IdentityPool
from qlikcli_py.models import Space
from qlikcli_py.qlik import Qlik
from qlikcli_py.session import Connection
from qlikcli_py.session import check_context
from qlikcli_py.session import explain
from qlikcli_py.session import has_admin_apps
from qlikcli_py.session import resolve_space
from qlikcli_py.target import Target
from qlikcli_py.vocabulary import PreflightStatus
from qlikcli_py.vocabulary import ServerType

FLAG = "--helper-context"
FIX_SCOPE = "give the helper's OAuth client the admin.apps scope, or leave it out of --helper-context"


@dataclass
class HelperFindings:
    """(check, status, detail, fix) rows in doctor's shape, and the helpers that passed."""

    rows: list[tuple[str, PreflightStatus, str, str]] = field(default_factory=list)
    helpers: list[Identity] = field(default_factory=list)

    def fail(self, name: str, detail: str, fix: str) -> None:
        self.rows.append((f"helper {name or '?'}", PreflightStatus.FAIL, detail, fix))

    @property
    def failures(self) -> list[tuple[str, PreflightStatus, str, str]]:
        return [r for r in self.rows if r[1] == PreflightStatus.FAIL]


async def check_helpers(qlik: Qlik, conn: Connection, target_me: dict[str, Any], target_spaces: list[Space],
                        wanted: list[tuple[str, str]]) -> HelperFindings:
    """Each helper, in the order given. `wanted`: the run's spaces as (name or id, shared|managed),
    resolved on the target's listing; a space the target cannot resolve is the target's check."""
    found = HelperFindings()
    names = list(conn.helper_contexts)
    ids = {s.id: s for ref, want in dict.fromkeys(wanted) if ref
           for s in _resolved(target_spaces, ref, want)}
    checked = await asyncio.gather(*(_one(qlik, conn, name) for name in names))
    seen: dict[str, str] = {str(target_me.get("id", "")): f"the target context {conn.target_context!r}"}
    for name, result in zip(names, checked, strict=True):
        if isinstance(result, str):
            found.fail(name, result, f"pass {FLAG} NAME of a Qlik Cloud context (see `qlik context ls`)")
            continue
        identity, visible = result
        if name == conn.target_context or identity.user_id in seen:
            other = f"the target context {conn.target_context!r}" if name == conn.target_context \
                else seen[identity.user_id]
            found.fail(name, f"helper context {name!r} is the same user ({identity.user_id}) as {other}: each "
                             f"identity needs its own user (its own OAuth client), or they share one rate limit",
                       "create an OAuth client with admin.apps for each helper and a context for it")
            continue
        seen[identity.user_id] = f"helper context {name!r}"
        if not identity.admin_apps:
            found.fail(name, f"helper context {name!r} ({identity.me.get('name') or identity.user_id}) lacks "
                             f"admin.apps: it cannot change the owner of objects the target identity imported",
                       FIX_SCOPE)
            continue
        hidden = [s for s in ids.values() if s.id not in visible]
        if hidden:
            shown = ", ".join(f"{s.name!r} ({s.id})" for s in hidden)
            found.fail(name, f"helper context {name!r} cannot see the space {shown}",
                       "add the helper's bot user to the space, or leave it out of --helper-context")
            continue
        sees = f", sees {', '.join(repr(s.name) for s in ids.values())}" if ids else ""
        found.rows.append((f"helper {name}", PreflightStatus.PASS,
                           f"{identity.label}, user {identity.user_id}, admin.apps{sees}", ""))
        found.helpers.append(identity)
    return found


def _resolved(spaces: list[Space], ref: str, want: str) -> list[Space]:
    try:
        return [resolve_space(spaces, ref, want=want, flag="")]
    except MigrationError:
        return []


async def _one(qlik: Qlik, conn: Connection, name: str) -> str | tuple[Identity, set[str]]:
    """The helper's identity and the ids of the spaces it sees, or why it cannot be used."""
    try:
        await check_context(qlik, name, want=ServerType.CLOUD, flag=FLAG, insecure=conn.insecure)
    except MigrationError as e:
        return str(e)
    target = Target(qlik, name, scratch=conn.scratch)
    try:
        me, spaces = await asyncio.gather(target.me(), target.spaces())
    except QlikCommandFailed as e:
        return explain(e, name)
    return Identity(name, target, me, has_admin_apps(me), helper=True), {s.id for s in spaces}


async def open_pool(qlik: Qlik, conn: Connection, target: Target, me: dict[str, Any],
                    spaces: list[Space], wanted: list[tuple[str, str]] | None = None) -> IdentityPool:
    """The pool for a command that connects without doctor's list (plan, verify): the first
    failing helper stops it in one line."""
    main = Identity(target.context, target, me, has_admin_apps(me))
    if not conn.helper_contexts:
        return IdentityPool([main], qlik.pacer)
    found = await check_helpers(qlik, conn, me, spaces, wanted or [])
    refuse(found)
    return IdentityPool([main, *found.helpers], qlik.pacer)


def refuse(found: HelperFindings) -> None:
    if found.failures:
        _name, _status, detail, fix = found.failures[0]
        raise UsageProblem(f"{detail}; fix: {fix}; nothing was exported or changed")


def pool_of(qlik: Qlik, target: Target, me: dict[str, Any], helpers: list[Identity]) -> IdentityPool:
    """The pool from what run's preflight learned (doctor's checks), without asking again."""
    return IdentityPool([Identity(target.context, target, me, has_admin_apps(me)), *helpers], qlik.pacer)


async def add_to_doctor(found: Any, conn: Connection, wanted: list[tuple[str, str]], result: Any) -> None:
    """doctor's hook: after the target's checks, one line per helper (`result` builds doctor's
    line type), and the helpers that passed kept on the findings for run's pool."""
    if not conn.helper_contexts:
        return
    if found.me is None or found.spaces is None:
        found.results.append(result("helpers", PreflightStatus.FAIL,
                                    "the helpers are not checked: the target context did not answer",
                                    "fix the target context first"))
        return
    helpers = await check_helpers(found.qlik, conn, found.me, found.spaces, wanted)
    found.results.extend(result(*row) for row in helpers.rows)
    found.helpers = helpers.helpers

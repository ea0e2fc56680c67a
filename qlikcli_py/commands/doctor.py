"""`qlik-migrate doctor`: every precondition of a migration, one line each, with the fix."""
from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from qlikcli_py import helper_checks
from qlikcli_py.checks import traps
from qlikcli_py.concurrency import nothing
from qlikcli_py.errors import MigrationError
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.errors import QlikError
from qlikcli_py.errors import QlikTooOld
from qlikcli_py.flagcheck import check_flags
from qlikcli_py.models import Space
from qlikcli_py.qlik import Qlik
from qlikcli_py.session import Connection
from qlikcli_py.session import check_context
from qlikcli_py.session import explain
from qlikcli_py.session import has_admin_apps
from qlikcli_py.session import make_qlik
from qlikcli_py.session import resolve_space
from qlikcli_py.source import Source
from qlikcli_py.target import Target
from qlikcli_py.versions import UNKNOWN_VERSION
from qlikcli_py.vocabulary import PreflightStatus
from qlikcli_py.vocabulary import ServerType
from qlikcli_py.vocabulary import SpaceType

PASS, FAIL, INFO = PreflightStatus.PASS, PreflightStatus.FAIL, PreflightStatus.INFO
MIN_FREE_BYTES = 1 << 30  # 1 GiB: room for a QVF or two without filling the disk


@dataclass
class Result:
    name: str
    status: PreflightStatus
    detail: str
    fix: str = ""

    def doc(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


@dataclass
class Findings:
    """The results, and what the checks learned on the way (the qlik runner, version, identity,
    spaces), so that `run` goes on from them without asking qlik again."""

    qlik: Qlik
    results: list[Result] = field(default_factory=list)
    version: str = ""
    me: dict[str, Any] | None = None
    spaces: list[Space] | None = None
    helpers: list[Any] = field(default_factory=list)  # helper identities that passed (identities.py)

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if r.status == PreflightStatus.FAIL]


async def doctor(conn: Connection, *, shared: str, managed: str, export_dir: Path) -> list[Result]:
    found = await checks(conn, spaces=[(shared, SpaceType.SHARED), (managed, SpaceType.MANAGED)], export_dir=export_dir)
    if not found.failures and found.spaces is not None:  # will it reload: checks/traps.py
        target = Target(found.qlik, conn.target_context, scratch=conn.scratch)
        pick = {ref: _find_space(found.spaces, ref) for ref in (shared, managed)}
        lines = await traps.doctor_lines(target, pick[shared], pick[managed], found.version)
        found.results += [Result(name, PreflightStatus(status), detail, fix) for name, status, detail, fix in lines]
    return found.results


def _find_space(spaces: list[Space], ref: str) -> Space | None:
    return next((s for s in spaces if ref and ref in (s.id, s.name)), None)


async def checks(conn: Connection, *, spaces: list[tuple[str, str]], export_dir: Path | None,
                 room: int = MIN_FREE_BYTES, explain_too_old: bool = True) -> Findings:
    """Every precondition of a migration, in order: `doctor` prints them all, `run` runs the same
    checks before its first export and stops at a failure (without `explain_too_old`: a qlik-cli too
    old is refused without reading its --help). `spaces` are (name or id, shared|managed);
    without an export dir that check is left to the caller (run knows the app sizes only later)."""
    found = Findings(make_qlik(conn))
    out, qlik = found.results, found.qlik
    try:
        found.version = await qlik.check_version()
        shown = found.version if found.version != UNKNOWN_VERSION else "unknown (it prints no version number; going on)"
        out.append(Result("qlik-cli", PASS, f"{qlik.resolve()} version {shown}"))
    except QlikTooOld as e:
        out.append(Result("qlik-cli", FAIL, str(e), "install qlik-cli 2.24.0+ or pass --qlik-bin"))
        if explain_too_old:  # doctor: also say which commands and flags it lacks
            out.append(await flag_check(qlik, conn.state_dir))
        return found
    except QlikError as e:
        out.append(Result("qlik-cli", FAIL, str(e), "install qlik-cli 2.24.0+ or pass --qlik-bin"))
        return found
    # The flag check reads ~30 --help texts (local, but a process each): while the site and tenant
    # answer the checks below; its line comes right after the version's.
    flags = asyncio.ensure_future(flag_check(qlik, conn.state_dir))
    try:
        await _connections(found, conn, spaces)
    finally:
        out.insert(1, await flags)
    if export_dir is not None:
        export_dir_check(out, export_dir, room)
    return found


async def _connections(found: Findings, conn: Connection, spaces: list[tuple[str, str]]) -> None:
    out, qlik = found.results, found.qlik
    source_ok = await _context(out, qlik, conn.source_context, ServerType.WINDOWS, "--source-context", conn.insecure)
    target_ok = await _context(out, qlik, conn.target_context, ServerType.CLOUD, "--target-context", conn.insecure)
    # The site's and the tenant's first answers are independent round trips: asked at once, listed
    # in a fixed order.
    source_results: list[Result] = []
    target_results: list[Result] = []
    await asyncio.gather(
        _source(source_results, Source(qlik, conn.source_context, insecure=conn.insecure, scratch=conn.scratch),
                conn) if source_ok else nothing(),
        _target(found, target_results, Target(qlik, conn.target_context, scratch=conn.scratch), conn, spaces)
        if target_ok else nothing())
    out += source_results + target_results
    await helper_checks.add_to_doctor(found, conn, spaces, Result)


async def _context(out: list[Result], qlik: Any, name: str, want: str, flag: str, insecure: bool) -> bool:
    try:
        info = await check_context(qlik, name, want=want, flag=flag, insecure=insecure)
    except MigrationError as e:
        out.append(Result(f"context {name or '?'}", FAIL, str(e), f"pass {flag} NAME (see `qlik context ls`)"))
        return False
    probed = " (probed)" if info.get("servertype-source") else ""
    out.append(Result(f"context {name}", PASS,
                      f"server-type {info.get('servertype')}{probed}, {info.get('server', '')}"))
    return True


async def _source(out: list[Result], source: Source, conn: Connection) -> None:
    try:
        out.append(Result("source answers", PASS, f"{await source.app_count()} apps visible through QRS"))
    except QlikCommandFailed as e:
        out.append(Result("source answers", FAIL, explain(e, conn.source_context),
                          "check the JWT virtual proxy and --insecure"))


async def _target(found: Findings, out: list[Result], target: Target, conn: Connection,
                  wanted: list[tuple[str, str]]) -> None:
    try:
        me, spaces = await asyncio.gather(target.me(), target.spaces())
    except QlikCommandFailed as e:
        out.append(Result("target answers", FAIL, explain(e, conn.target_context), "update the context's API key"))
        return
    found.me, found.spaces = me, spaces
    out.append(Result("target answers", PASS,
                      f"identity {me.get('name', '')} ({me.get('id')}), {len(spaces)} spaces"))
    if has_admin_apps(me):
        out.append(Result("ownership repair", INFO, "identity has admin.apps: it can change owners of objects "
                          "it does not own, so a rerun can repair any owner, and verify sees every object"))
    else:
        out.append(Result("ownership repair", INFO, "identity lacks admin.apps: once it hands an object over it "
                          "cannot change that owner again, and verify relies on the ledger for private objects",
                          "for repairs, use an OAuth client context with admin.apps and admin_classic"))
    for ref, want in dict.fromkeys(wanted):
        flag, action = ("--shared-space", "create") if want == SpaceType.SHARED else ("--managed-space", "publish")
        if not ref:
            continue
        try:
            space = resolve_space(spaces, ref, want=want, flag=flag)
        except MigrationError as e:
            out.append(Result(f"{want} space", FAIL, str(e), f"pass an existing {want} space to {flag}"))
            continue
        if space.actions and action not in space.actions:
            out.append(Result(f"{want} space", FAIL,
                              f"{space.name!r} ({space.id}) does not let this identity {action}",
                              f"give the identity a role that can {action} in {space.name!r}"))
        else:
            out.append(Result(f"{want} space", PASS, f"{space.name!r} ({space.id}), can {action}"))


async def flag_check(qlik: Qlik, state_dir: Path | None) -> Result:
    """`qlik COMMAND --help` for every command the migration runs (cached per binary and version in
    the state dir); `run`'s preflight calls this too."""
    report = await check_flags(qlik, state_dir)
    if report.ok:
        renamed = ", ".join(f"{a} as {b}" for a, b in report.spellings.items())
        detail = f"every command and flag the migration uses is accepted{'; using ' + renamed if renamed else ''}"
        return Result("qlik-cli flags", PASS, detail)
    fix = ("install qlik-cli 2.24.0 or later from https://qlik.dev/toolkits/qlik-cli/"
           if report.missing_commands or report.missing_flags else "run again (nothing was judged or cached)")
    return Result("qlik-cli flags", FAIL, f"qlik-cli {report.version}: " + "; ".join(report.lines()), fix)


def export_dir_check(out: list[Result], path: Path, room: int = MIN_FREE_BYTES, what: str = "") -> None:
    """Checked without creating anything: an existing dir must be writable; a missing one needs a
    writable existing ancestor (a run creates it). `room`: the bytes the exports need (`what`
    says whose); doctor, knowing no app, asks for a margin."""
    fix = "pass --export-dir DIR on a writable disk"
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        out.append(Result("export dir", FAIL,
                          f"--export-dir {path} cannot be created: {existing} is not a directory", fix))
        return
    if not os.access(existing, os.W_OK | os.X_OK):
        out.append(Result("export dir", FAIL, f"--export-dir {path}: {existing} is not writable", fix))
        return
    free = shutil.disk_usage(existing).free
    state = "writable" if existing == path else f"will be created in {existing}"
    if free < room:
        need = f", {what} need {_mib(room)} MiB" if what else ""
        out.append(Result("export dir", FAIL, f"--export-dir {path}: {state}, only {_mib(free)} MiB free{need}",
                          "free space or pass --export-dir on a larger disk"))
    else:
        out.append(Result("export dir", PASS, f"{path}: {state}, {free >> 30} GiB free"))


def _mib(n: int) -> int:
    return -(-n // (1 << 20))

"""`qlik-migrate doctor`: every precondition of a migration, one line each, with the fix."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qlikcli_py.commands import Source
from qlikcli_py.commands import Target
from qlikcli_py.errors import MigrationError
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.errors import QlikError
from qlikcli_py.errors import QlikNotFound
from qlikcli_py.flagcheck import check_flags
from qlikcli_py.qlik import Qlik
from qlikcli_py.session import Connection
from qlikcli_py.session import check_context
from qlikcli_py.session import explain
from qlikcli_py.session import make_qlik
from qlikcli_py.session import resolve_space

MIN_FREE_BYTES = 1 << 30  # 1 GiB: room for a QVF or two without filling the disk


@dataclass
class Result:
    name: str
    status: str  # pass | fail | info
    detail: str
    fix: str = ""

    def doc(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


async def doctor(conn: Connection, *, shared: str, managed: str, export_dir: Path,
                 state_dir: Path | None = None) -> list[Result]:
    out: list[Result] = []
    qlik = make_qlik(conn)
    try:
        version = await qlik.check_version()
        shown = version if version != "unknown" else "unknown (it prints no version number; going on)"
        out.append(Result("qlik-cli", "pass", f"{qlik.resolve()} version {shown}"))
    except QlikNotFound as e:
        out.append(Result("qlik-cli", "fail", str(e), "install qlik-cli 2.24.0+ or pass --qlik-bin"))
        if qlik.version != "unknown":  # too old: still say which commands and flags it lacks
            out.append(await flag_check(qlik, state_dir))
        return out
    except QlikError as e:
        out.append(Result("qlik-cli", "fail", str(e), "install qlik-cli 2.24.0+ or pass --qlik-bin"))
        return out
    out.append(await flag_check(qlik, state_dir))
    source_ok = await _context(out, qlik, conn.source_context, "windows", "--source-context", conn.insecure)
    target_ok = await _context(out, qlik, conn.target_context, "cloud", "--target-context", conn.insecure)
    if source_ok:
        source = Source(qlik, conn.source_context, insecure=conn.insecure, scratch=conn.scratch)
        try:
            out.append(Result("source answers", "pass", f"{await source.app_count()} apps visible through QRS"))
        except QlikCommandFailed as e:
            out.append(Result("source answers", "fail", explain(e, conn.source_context),
                              "check the JWT virtual proxy and --insecure"))
    if target_ok:
        await _target(out, Target(qlik, conn.target_context, scratch=conn.scratch), conn, shared, managed)
    _export_dir(out, export_dir)
    return out


async def _context(out: list[Result], qlik: Any, name: str, want: str, flag: str, insecure: bool) -> bool:
    try:
        info = await check_context(qlik, name, want=want, flag=flag, insecure=insecure)
    except MigrationError as e:
        out.append(Result(f"context {name or '?'}", "fail", str(e), f"pass {flag} NAME (see `qlik context ls`)"))
        return False
    out.append(Result(f"context {name}", "pass", f"server-type {info.get('servertype')}{' (probed)' if info.get('servertype-source') else ''}, {info.get('server', '')}"))
    return True


async def _target(out: list[Result], target: Target, conn: Connection, shared: str, managed: str) -> None:
    try:
        me = await target.me()
        spaces = await target.spaces()
    except QlikCommandFailed as e:
        out.append(Result("target answers", "fail", explain(e, conn.target_context), "update the context's API key"))
        return
    out.append(Result("target answers", "pass", f"identity {me.get('name', '')} ({me.get('id')}), {len(spaces)} spaces"))
    scopes = {s if isinstance(s, str) else str(s.get("name", "")) for s in me.get("assignedScopes") or []}
    if "admin.apps" in scopes:
        out.append(Result("ownership repair", "info", "identity has admin.apps: it can change owners of objects "
                          "it does not own, so a rerun can repair any owner, and verify sees every object"))
    else:
        out.append(Result("ownership repair", "info", "identity lacks admin.apps: once it hands an object over it "
                          "cannot change that owner again, and verify relies on the ledger for private objects",
                          "for repairs, use an OAuth client context with admin.apps and admin_classic"))
    for ref, want, flag, action in ((shared, "shared", "--shared-space", "create"),
                                    (managed, "managed", "--managed-space", "publish")):
        if not ref:
            continue
        try:
            space = resolve_space(spaces, ref, want=want, flag=flag)
        except MigrationError as e:
            out.append(Result(f"{want} space", "fail", str(e), f"pass an existing {want} space to {flag}"))
            continue
        if space.actions and action not in space.actions:
            out.append(Result(f"{want} space", "fail", f"{space.name!r} ({space.id}) does not let this identity {action}",
                              f"give the identity a role that can {action} in {space.name!r}"))
        else:
            out.append(Result(f"{want} space", "pass", f"{space.name!r} ({space.id}), can {action}"))


async def flag_check(qlik: Qlik, state_dir: Path | None) -> Result:
    """`qlik COMMAND --help` for every command the migration runs (cached per binary and version in
    the state dir); `run`'s preflight calls this too."""
    report = await check_flags(qlik, state_dir)
    if report.ok:
        renamed = ", ".join(f"{a} as {b}" for a, b in report.spellings.items())
        detail = f"every command and flag the migration uses is accepted{'; using ' + renamed if renamed else ''}"
        return Result("qlik-cli flags", "pass", detail)
    return Result("qlik-cli flags", "fail", f"qlik-cli {report.version}: " + "; ".join(report.lines()),
                  "install qlik-cli 2.24.0 or later from https://qlik.dev/toolkits/qlik-cli/")


def _export_dir(out: list[Result], path: Path) -> None:
    """Checked without creating anything: an existing dir must be writable; a missing one needs a
    writable existing ancestor (a run creates it)."""
    fix = "pass --export-dir DIR on a writable disk"
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        out.append(Result("export dir", "fail", f"--export-dir {path} cannot be created: {existing} is not a directory", fix))
        return
    if not os.access(existing, os.W_OK | os.X_OK):
        out.append(Result("export dir", "fail", f"--export-dir {path}: {existing} is not writable", fix))
        return
    free = shutil.disk_usage(existing).free
    state = "writable" if existing == path else f"will be created in {existing}"
    if free < MIN_FREE_BYTES:
        out.append(Result("export dir", "fail", f"{path}: {state}, only {free >> 20} MiB free",
                          "free space or pass --export-dir on a larger disk"))
    else:
        out.append(Result("export dir", "pass", f"{path}: {state}, {free >> 30} GiB free"))

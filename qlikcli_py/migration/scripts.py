"""The step between the import and the development copy: the imported app's load script.

Read from the imported app (`app script get`), kept as it came in the state dir (once: a rerun
never overwrites the original), rewritten with `--connection-map` (`app script set`, which saves
and never reloads) BEFORE the copy is made and before the move, so the migrated app and the copy
carry the same names; then checked against what the app can resolve (`app connection ls`).

Idempotent without a ledger row of its own: the renaming is a fixed point (a renamed script
renames to itself, load_scripts.check_map refuses chains), so a run killed between the `set` and
the ledger's step reads the script, finds nothing left to rename and goes on.
"""
from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import structlog

from qlikcli_py import load_scripts
from qlikcli_py.checks.reload import imported_check
from qlikcli_py.connection_maps import ConnectionPolicy
from qlikcli_py.errors import MigrationError
from qlikcli_py.ledger import AppRecord
from qlikcli_py.ledger import Ledger
from qlikcli_py.planning import AppPlan
from qlikcli_py.session import Session
from qlikcli_py.settings import RunOptions
from qlikcli_py.target import app_connections
from qlikcli_py.target import app_script
from qlikcli_py.target import set_app_script
from qlikcli_py.vocabulary import Step

log = structlog.get_logger("migrate")
SCRIPTS_DIR = "scripts"


def original_path(state_dir: Path, source_app_id: str) -> Path:
    return state_dir / SCRIPTS_DIR / f"{source_app_id}.original.qvs"


def findings_path(state_dir: Path, source_app_id: str) -> Path:
    return state_dir / SCRIPTS_DIR / f"{source_app_id}.json"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(part, path)


async def script_step(session: Session, ledger: Ledger, opts: RunOptions, plan: AppPlan, rec: AppRecord) -> None:
    app_id = rec.imported_app_id
    assert app_id is not None
    state_dir = ledger.dir
    # What the app can resolve does not depend on its script: both reads go at once (one round trip
    # less on the chain of calls that precede the copy).
    script, names = await asyncio.gather(app_script(session.target, app_id), app_connections(session.target, app_id))
    original = original_path(state_dir, plan.app.id)
    if not original.exists():
        _write_private(original, script)
    renamed = load_scripts.rename(script, opts.connection_map)
    if renamed != script:
        scratch = state_dir / SCRIPTS_DIR / f"{plan.app.id}.renamed.qvs"
        _write_private(scratch, renamed)
        await set_app_script(session.target, app_id, scratch)
        scratch.unlink(missing_ok=True)
        log.info("script.renamed", app=plan.app.id, imported=app_id)
    # checked from the script as imported, so each renamed connection says what it was called
    check = imported_check(original.read_text(encoding="utf-8"), opts.connection_map, names, plan.shared.name)
    doc = {**check.doc(), "original_script": str(original)}
    _write_private(findings_path(state_dir, plan.app.id), json.dumps(doc, indent=2) + "\n")
    if opts.connections == ConnectionPolicy.REQUIRE and check.missing:
        missing = ", ".join(repr(c.connection) for c in check.missing)
        raise MigrationError(f"{plan.app.name!r}: its load script names data connections the imported app cannot "
                             f"resolve: {missing} (--connections require); create them or pass --connection-map, "
                             f"then run again (the import stays in the shared space and is reused)")
    ledger.update_app(plan.app.id, step=Step.SCRIPT)


def read_findings(state_dir: Path, source_app_id: str) -> dict[str, object] | None:
    try:
        doc = json.loads(findings_path(state_dir, source_app_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None

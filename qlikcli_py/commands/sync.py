"""`qlik-migrate sync` (and `plan --sync` / `sync --dry-run`): bring users' new on-prem content
into apps the ledger has migrated. The delta is read first for every app (read-only); a dry run
stops there. The wave itself is migration/sync.py."""
from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import structlog

from qlikcli_py import ledger_waves
from qlikcli_py import report
from qlikcli_py import sync_report
from qlikcli_py.commands.common import app_specs
from qlikcli_py.commands.common import check_writable_dir
from qlikcli_py.commands.common import connect
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.errors import UsageProblem
from qlikcli_py.flagcheck import check_flags
from qlikcli_py.ledger import Ledger
from qlikcli_py.mapping import OwnerMapper
from qlikcli_py.migration.handover import Handover
from qlikcli_py.migration.settling import Settling
from qlikcli_py.migration.sync import Delta
from qlikcli_py.migration.sync import SyncOutcome
from qlikcli_py.migration.sync import Wave
from qlikcli_py.migration.sync import find_delta
from qlikcli_py.migration.sync import owner_ids
from qlikcli_py.models import Space
from qlikcli_py.planning import AppPlan
from qlikcli_py.planning import AppSpec
from qlikcli_py.progress import Progress
from qlikcli_py.session import Session
from qlikcli_py.settings import Settings
from qlikcli_py.vocabulary import AppStatus
from qlikcli_py.vocabulary import FailureKind
from qlikcli_py.vocabulary import SpaceType

log = structlog.get_logger("sync")


async def sync(settings: Settings, *, dry_run: bool = False) -> tuple[int, dict[str, Any]]:
    if dry_run and not (settings.state_dir / "ledger.sqlite").exists():
        raise UsageProblem(f"no ledger in {settings.state_dir}: nothing has been migrated with this --state-dir "
                           f"(sync brings new content into apps `run` has migrated)")
    with Ledger(settings.state_dir, readonly=dry_run) as ledger:
        if not dry_run:
            ledger.lock()
        session = await connect(settings)
        specs = await app_specs(settings, session)
        if settings.run.retry_failed and not dry_run:
            for spec in specs:
                ledger_waves.forget_failed(ledger, spec.source_app_id)
        plans, deltas, skipped = await delta_of(session, ledger, specs)
        await resolve(session, settings, plans, deltas)  # --on-unmatched fail stops here, before any change
        if dry_run:
            apps = [sync_report.dry_app(p, deltas[p.app.id], session.me_id) for p in plans] + skipped
            code = sync_report.dry_exit_code(apps)
            doc = report.envelope("sync", settings.run_id, code, {"dry_run": True, "apps": apps},
                                  identity={"id": session.me_id, "name": session.me.get("name")},
                                  calls=dict(session.qlik.calls))
        else:
            check_writable_dir(settings.run.export_dir, "--export-dir")
            await _flags_or_stop(session, settings)
            ledger.start_run(settings.run_id, "sync")
            progress = Progress(len(plans))
            settling = Settling(session, ledger)
            handover = Handover(session, ledger, settings.run, progress, settling)
            wave = Wave(session, ledger, settings.run, handover, settling, settings.run_id)
            outcomes: list[SyncOutcome] = []
            try:
                for plan in plans:  # one app at a time: a wave's calls are few, its order matters
                    outcomes.append(await wave.sync(plan, deltas[plan.app.id]))
                    progress.app_done()
            finally:
                progress.close()
            apps = [sync_report.wave_app(ledger, p, o, deltas[p.app.id]) for p, o in zip(plans, outcomes, strict=True)]
            apps += skipped
            code = sync_report.exit_code(apps)
            doc = report.envelope("sync", settings.run_id, code, {"dry_run": False, "apps": apps},
                                  source_context=settings.conn.source_context,
                                  target_context=settings.conn.target_context, qlik_version=session.version,
                                  identity={"id": session.me_id, "name": session.me.get("name")},
                                  calls=dict(session.qlik.calls), rate_limited=session.qlik.pacer.rate_limited,
                                  retries=session.qlik.retried)
            ledger.finish_run(settings.run_id, code)
        if settings.report:
            report.write_json(settings.report, doc)
        if settings.csv:
            report.write_csv(settings.csv, sync_report.csv_rows(doc), sync_report.CSV_COLUMNS)
        log.info("sync.done", exit_code=code, apps=len(doc["apps"]), dry_run=dry_run)
        return code, doc


async def delta_of(session: Session, ledger: Ledger,
                   specs: list[AppSpec]) -> tuple[list[AppPlan], dict[str, Delta], list[dict[str, Any]]]:
    """Each app the ledger has migrated, read from QRS and compared with the ledger. Apps not
    migrated (or not finished) are listed, not synced."""
    unique = list({s.source_app_id: s for s in reversed(specs)}.values())[::-1]
    skipped: list[dict[str, Any]] = []
    todo: list[AppSpec] = []
    for spec in unique:
        rec = ledger.app(spec.source_app_id)
        if rec is None or not rec.imported_app_id or rec.status != AppStatus.DONE:
            why = ("not migrated with this --state-dir: migrate it with `run` first" if rec is None
                   else f"its migration is not finished (status {rec.status}): run `run` again first")
            skipped.append(sync_report.skipped_app(spec.source_app_id, rec.name if rec else "", why))
        else:
            todo.append(spec)

    async def one(spec: AppSpec) -> AppPlan:
        rec = ledger.app(spec.source_app_id)
        assert rec is not None
        try:
            app, (objects, owners) = await asyncio.gather(session.source.app(spec.source_app_id),
                                                          session.source.objects(spec.source_app_id))
        except QlikCommandFailed as e:
            if e.kind == FailureKind.NOT_FOUND:
                raise UsageProblem(f"app {spec.source_app_id} no longer exists on the source "
                                   f"{session.source.context!r}: nothing to sync from") from e
            raise
        return AppPlan(spec=spec, app=app, shared=_space(session, rec.shared_space_id, SpaceType.SHARED),
                       managed=_space(session, rec.managed_space_id, SpaceType.MANAGED), objects=objects, owners=owners)

    plans = list(await asyncio.gather(*(one(s) for s in todo)))
    return plans, {p.app.id: find_delta(p, ledger) for p in plans}, skipped


async def resolve(session: Session, settings: Settings, plans: list[AppPlan], deltas: dict[str, Delta]) -> None:
    """Owners of what comes over, resolved as `run` resolves them (emails, mapping, --on-unmatched)."""
    needed: dict[str, Any] = {}
    for plan in plans:
        delta = deltas[plan.app.id]
        ids = owner_ids(delta) | {o.owner_id for o in plan.objects if o.object_id in set(delta.in_open_wave)}
        needed.update((k, v) for k, v in plan.owners.items() if k in ids)
    if not needed:
        return
    emails = await session.source.emails(needed)
    owners = {k: dataclasses.replace(v, email=emails.get(k)) for k, v in needed.items()}
    resolutions = await OwnerMapper(session.target, settings.mapping).resolve(owners.values())
    for plan in plans:
        plan.owners = {k: owners.get(k, v) for k, v in plan.owners.items()}
        plan.resolutions = {k: resolutions[k] for k in plan.owners if k in resolutions}


async def _flags_or_stop(session: Session, settings: Settings) -> None:
    """The binary must have every command and flag a sync passes (`app object properties --full`,
    `app object set`, `publish`, `app rm`...) before the temporary import, not after it."""
    found = await check_flags(session.qlik, settings.state_dir)
    if not found.ok:
        raise UsageProblem(f"this qlik-cli cannot run a sync: {'; '.join(found.lines())}; nothing was changed "
                           f"(`qlik-migrate doctor` shows every check)")


def _space(session: Session, space_id: str, kind: str) -> Space:
    for space in session.spaces:
        if space.id == space_id:
            return space
    return Space(id=space_id, name=space_id, type=kind)

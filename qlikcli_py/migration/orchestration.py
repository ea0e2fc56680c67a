"""One app's migration from start to end: the steps in order, each skipped when the ledger shows
it done, and the app's outcome for the report.

Every step records its outputs in the ledger before the next starts, and every step first asks
the ledger (and, after an ambiguous outcome, the tenant: settling.py) what is already done, so a
run killed at any point continues where it stopped: an app is imported once, an owner is changed
once.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import time
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

import structlog

from qlikcli_py import ledger_waves
from qlikcli_py.concurrency import nothing
from qlikcli_py.errors import MigrationError
from qlikcli_py.errors import QlikError
from qlikcli_py.errors import UsageProblem
from qlikcli_py.ledger import AppRecord
from qlikcli_py.ledger import Ledger
from qlikcli_py.migration.cleanup import Cleanup
from qlikcli_py.migration.context import app_record
from qlikcli_py.migration.creating import Creating
from qlikcli_py.migration.creating import QuotaReached
from qlikcli_py.migration.handover import Handover
from qlikcli_py.migration.scripts import script_step
from qlikcli_py.migration.settling import Settling
from qlikcli_py.planning import AppPlan
from qlikcli_py.progress import Progress
from qlikcli_py.session import Session
from qlikcli_py.settings import RunOptions
from qlikcli_py.vocabulary import AppStatus
from qlikcli_py.vocabulary import CleanupStatus
from qlikcli_py.vocabulary import Step

log = structlog.get_logger("migrate")


@dataclass
class AppOutcome:
    source_app_id: str
    name: str
    status: AppStatus = AppStatus.PENDING  # then done | failed | changed | deferred
    step: str = ""
    imported_app_id: str | None = None
    copy_app_id: str | None = None
    error: str | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


class Migration:
    """The steps, composed: each gets the session, ledger, options and progress it needs, so a
    command that wants only some of them (the hand-over and settling) builds only those."""

    def __init__(self, session: Session, ledger: Ledger, opts: RunOptions, progress: Progress) -> None:
        self.session = session
        self.ledger = ledger
        self.opts = opts
        self.progress = progress
        self.settling = Settling(session, ledger)
        self.creating = Creating(session, ledger, opts, self.settling)
        self.handover = Handover(session, ledger, opts, progress, self.settling)
        self.cleanup = Cleanup(session, ledger)

    async def run(self, plans: list[AppPlan]) -> list[AppOutcome]:
        """Every app, `--workers`/2 at once. A failure an app does not turn into its outcome (a bug)
        starts no further app and is raised once the apps in flight have finished: nothing is
        still writing while the caller reports or tears down."""
        parallel = asyncio.Semaphore(max(1, self.session.qlik.workers // 2))
        failures: list[Exception] = []

        async def one(plan: AppPlan) -> AppOutcome | None:
            async with parallel:
                if failures:
                    return None
                try:
                    return await self.migrate_app(plan)
                except Exception as e:
                    failures.append(e)
                    return None

        outcomes = await asyncio.gather(*(one(p) for p in plans))
        if failures:
            raise failures[0]
        return [o for o in outcomes if o is not None]

    async def migrate_app(self, plan: AppPlan) -> AppOutcome:
        started = time.monotonic()
        out = AppOutcome(plan.app.id, plan.app.name)
        with structlog.contextvars.bound_contextvars(app=plan.app.id):
            try:
                rec = self._prepare(plan, out)
                if rec is not None:
                    await self._steps(plan, out)
            except QuotaReached as e:
                out.status = AppStatus.DEFERRED
                out.notes.append(str(e))
            except (MigrationError, QlikError) as e:
                out.status = AppStatus.FAILED
                out.error = str(e)
                self.ledger.update_app(plan.app.id, status=AppStatus.FAILED, error=out.error)
                log.error("app.failed", error=out.error)
            rec = self.ledger.app(plan.app.id)
            if rec is not None:
                out.step = rec.step
                out.imported_app_id = rec.imported_app_id
                out.copy_app_id = rec.copy_app_id
            out.seconds = round(time.monotonic() - started, 2)
            self.progress.app_done()
            return out

    def _prepare(self, plan: AppPlan, out: AppOutcome) -> AppRecord | None:
        app = plan.app
        rec = self.ledger.app(app.id)
        if rec is not None and rec.imported_app_id and rec.source_modified != app.modified:
            if not self.opts.force:
                out.status = AppStatus.CHANGED
                out.notes.append(
                    f"source app changed since it was migrated (modified {app.modified}, migrated at "
                    f"{rec.source_modified}); the import {rec.imported_app_id} was left as it is: "
                    f"run again with --force to migrate it anew, or `qlik-migrate sync` to bring users' new "
                    f"content into the migrated app"
                )
                return None
            self.ledger.restart_app(app.id, app.modified, "source changed; re-migrated with --force")
            out.notes.append(f"source changed: migrated anew; the earlier import {rec.imported_app_id} "
                             f"is left in place")
        elif rec is not None and self.opts.force and rec.status == AppStatus.DONE:
            self.ledger.restart_app(app.id, app.modified, "re-migrated with --force")
            out.notes.append(f"re-migrated with --force; the earlier import {rec.imported_app_id} is left in place")
        elif rec is not None and rec.source_modified != app.modified:
            # Exported but not imported yet: the export is stale, export again.
            self.ledger.update_app(app.id, source_modified=app.modified, step="", export_sha256=None)
        rec = self.ledger.begin_app(app.id, app.name, app.modified, plan.shared.id, plan.managed.id)
        if rec.shared_space_id != plan.shared.id or rec.managed_space_id != plan.managed.id:
            if rec.imported_app_id:
                raise UsageProblem(
                    f"app {app.id} was migrated into other spaces ({rec.shared_space_id}, {rec.managed_space_id}); "
                    f"use those spaces, or --force to migrate it again"
                )
            self.ledger.update_app(app.id, shared_space_id=plan.shared.id, managed_space_id=plan.managed.id)
        self.ledger.update_app(app.id, status=AppStatus.RUNNING, error=None)
        return self.ledger.app(app.id)

    async def _steps(self, plan: AppPlan, out: AppOutcome) -> None:
        app_id = plan.app.id
        script = functools.partial(script_step, self.session, self.ledger, self.opts)  # migration/scripts.py
        for name, step in ((Step.EXPORT, self.creating.export), (Step.IMPORT, self.creating.import_app),
                           (Step.SCRIPT, script), (Step.COPY, self.creating.copy)):
            await self._step(plan, name, step)
        # The copy's clean-up does not depend on the hand-over of the imported app: both go at once
        # (an app's calls are mostly round trips, so this takes the clean-up off the critical path).
        # The ledger's step stays linear: only the hand-over advances it (reassign, move), and
        # clean-up progress lives in its own rows, so a resumed run redoes only what is missing.
        rows = self.ledger.cleanup_rows(app_id)
        cleaned = bool(rows) and all(r["status"] == CleanupStatus.REMOVED for r in rows)
        results = await asyncio.gather(self._handover(plan),
                                       nothing() if cleaned else self._step(plan, Step.CLEAN, self.cleanup.clean),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        self.ledger.update_app(app_id, step=Step.DONE, status=AppStatus.DONE, error=None)
        out.status = AppStatus.DONE

    async def _handover(self, plan: AppPlan) -> None:
        # what each object's on-prem date was when it came over: `sync` reports later changes
        ledger_waves.record_dates(self.ledger, plan.app.id, ((o.object_id, o.modified) for o in plan.objects))
        # reassign runs on every pass: objects left `sent`, failed or pending are tried again.
        await self._step(plan, Step.REASSIGN, self.handover.reassign, always=True)
        await self._step(plan, Step.MOVE, self.handover.move)
        if not self.opts.keep_exports:
            self._drop_export(plan.app.id)

    async def _step(self, plan: AppPlan, name: Step, step: Callable[[AppPlan, AppRecord], Awaitable[None]],
                    *, always: bool = False) -> None:
        rec = app_record(self.ledger, plan.app.id)
        if rec.done(name) and not always:
            return
        started = time.monotonic()
        with structlog.contextvars.bound_contextvars(step=name):
            await step(plan, rec)
            log.info("step.done", seconds=round(time.monotonic() - started, 3))

    def _drop_export(self, app_id: str) -> None:
        """Once the app is in the managed space its QVF is not needed again (a --force re-migration
        exports anew): a 300-app batch would otherwise leave hundreds of GB behind."""
        rec = app_record(self.ledger, app_id)
        if rec.export_path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(rec.export_path)
            self.ledger.update_app(app_id, export_path=None, export_sha256=None)

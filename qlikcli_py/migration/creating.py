"""The steps that create: export the QVF, import it into the shared space, take the development
copy; and the --max-imports quota the import counts against."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
from pathlib import Path

import structlog

from qlikcli_py.errors import MigrationError
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.errors import QlikTimeout
from qlikcli_py.ledger import AppRecord
from qlikcli_py.ledger import Ledger
from qlikcli_py.ledger import now
from qlikcli_py.migration.context import definite
from qlikcli_py.migration.export_files import export_file_name
from qlikcli_py.migration.export_files import not_a_qvf
from qlikcli_py.migration.export_files import sha256
from qlikcli_py.migration.settling import Settling
from qlikcli_py.migration.settling import recent
from qlikcli_py.planning import AppPlan
from qlikcli_py.session import Session
from qlikcli_py.settings import RunOptions
from qlikcli_py.vocabulary import FailureKind
from qlikcli_py.vocabulary import Step

log = structlog.get_logger("migrate")


class QuotaReached(Exception):
    pass


def utc_now() -> dt.datetime:
    """The clock the import quota counts by (a test moves it a day on)."""
    return dt.datetime.now(dt.UTC)


class Creating:
    """Export, import, copy: each creation recorded before the next, and settled if interrupted."""

    def __init__(self, session: Session, ledger: Ledger, opts: RunOptions, settling: Settling) -> None:
        self.session = session
        self.ledger = ledger
        self.opts = opts
        self.settling = settling
        self._stop_imports = False

    async def export(self, plan: AppPlan, rec: AppRecord) -> None:
        app = plan.app
        if rec.imported_app_id:
            return  # the QVF is no longer needed
        # Hashing a multi-GB QVF takes seconds: in a thread, so other apps' calls go on meanwhile.
        if rec.export_path and rec.export_sha256 and await asyncio.to_thread(
                sha256, Path(rec.export_path)) == rec.export_sha256:
            self.ledger.update_app(app.id, step=Step.EXPORT)
            return
        dest = self.opts.export_dir / export_file_name(app.name, app.id)
        part = dest.with_name(dest.name + ".part")
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        try:
            await self.session.source.export(app.id, part, skip_data=plan.spec.skip_data)
        except BaseException as e:  # a failure, a timeout or a cancelled run: no partial QVF stays behind
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
            if isinstance(e, QlikCommandFailed) and e.kind == FailureKind.DISK_FULL:
                raise MigrationError(
                    f"exporting {app.name!r}: the disk holding {self.opts.export_dir} is full; free space or "
                    f"point --export-dir at a larger disk, then run again"
                ) from e
            raise
        if not part.is_file() or part.stat().st_size == 0:
            raise MigrationError(f"exporting {app.name!r}: qlik reported success but wrote no file at {part}")
        held = await asyncio.to_thread(not_a_qvf, part)
        if held is not None:  # a ticket or an error page is not an app: importing it would only fail later
            part.unlink()
            raise MigrationError(f"exporting {app.name!r}: qlik reported success but wrote {held} (not a QVF); "
                                 f"run again, and check the site's proxy if it repeats")
        os.chmod(part, 0o600)
        digest = await asyncio.to_thread(sha256, part)
        size = part.stat().st_size
        os.replace(part, dest)
        self.ledger.update_app(app.id, step=Step.EXPORT, export_path=str(dest), export_size=size,
                               export_sha256=digest, export_skip_data=int(plan.spec.skip_data))

    async def import_app(self, plan: AppPlan, rec: AppRecord) -> None:
        async with self.settling.creating(plan) as rec:
            await self._import_unique(plan, rec)

    async def _import_unique(self, plan: AppPlan, rec: AppRecord) -> None:
        app = plan.app
        if rec.imported_app_id:
            return
        if rec.import_started_at:
            if self.settling.stale_import(rec):
                # An import of an earlier export (a run killed during it, then the source changed):
                # what it created holds the old content and is never adopted for this export.
                await self.settling.supersede_stale_import(rec)
            else:
                found = await self.settling.find_created(plan.shared.id, app.name, rec.import_started_at, "import",
                                                         wait=recent(rec.import_started_at))
                if found:
                    self.ledger.record_import(app.id, found.id)
                    log.info("import.adopted", imported_app_id=found.id)
                    return
                self.ledger.release_import(app.id)  # it created nothing
        started = self._reserve_import(plan, rec)
        assert rec.export_path
        try:
            cloud = await self.session.target.import_app(Path(rec.export_path), plan.shared.id, app.name)
        except (QlikCommandFailed, QlikTimeout) as e:
            if definite(e):
                self.ledger.release_import(app.id)
                raise MigrationError(f"import of {app.name!r} into {plan.shared.name!r} failed: {e}") from e
            found = await self.settling.find_created(plan.shared.id, app.name, started, "import", wait=True)
            if not found:
                # It may still show up late: the attempt stays counted and open for the next run.
                raise MigrationError(f"import of {app.name!r} failed and created no app: {e}") from e
            log.info("import.adopted", imported_app_id=found.id, after=str(e))
            cloud = found
        self.ledger.record_import(app.id, cloud.id)

    def _reserve_import(self, plan: AppPlan, rec: AppRecord) -> str:
        """Reserve the import in the ledger before it starts (with --max-imports, against the quota
        of the last 24 hours): apps imported at once and later runs see it at once. No await between
        the count and the reservation: the ledger does both in one transaction."""
        limit = self.opts.max_imports
        clock = utc_now()
        started = clock.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        since = (clock - dt.timedelta(days=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if self._stop_imports or not self.ledger.reserve_import(
                plan.app.id, started, self.session.me_id, rec.export_sha256, limit=limit, since=since):
            self._stop_imports = True  # apps after this one wait for the next run too
            raise QuotaReached(
                f"--max-imports {limit} reached (imports in the last 24 hours): the next run continues"
            )
        return started

    async def copy(self, plan: AppPlan, rec: AppRecord) -> None:
        async with self.settling.creating(plan) as rec:
            await self._copy_unique(plan, rec)

    async def _copy_unique(self, plan: AppPlan, rec: AppRecord) -> None:
        # The development copy is taken BEFORE any owner change: the importer still owns every
        # object, so the copy holds them all and the clean-up (as their owner) can remove them.
        app = plan.app
        assert rec.imported_app_id
        if rec.copy_app_id:
            self.ledger.update_app(app.id, step=Step.COPY)
            return
        if rec.copy_started_at:
            found = await self.settling.find_created(plan.shared.id, app.name, rec.copy_started_at, "copy",
                                             exclude={rec.imported_app_id}, wait=recent(rec.copy_started_at))
            if found:
                self.ledger.update_app(app.id, copy_app_id=found.id, step=Step.COPY)
                return
        started = now()
        self.ledger.update_app(app.id, copy_started_at=started)
        try:
            copy = await self.session.target.copy_app(rec.imported_app_id, app.name, plan.shared.id)
        except (QlikCommandFailed, QlikTimeout) as e:
            if definite(e):
                raise MigrationError(f"copying the imported app {rec.imported_app_id} failed: {e}") from e
            found = await self.settling.find_created(plan.shared.id, app.name, started, "copy", wait=True,
                                             exclude={rec.imported_app_id})
            if not found:
                raise MigrationError(f"copying the imported app {rec.imported_app_id} failed: {e}") from e
            copy = found
        if copy.space_id and copy.space_id != plan.shared.id:
            raise MigrationError(f"the copy {copy.id} landed in space {copy.space_id}, not {plan.shared.id}")
        self.ledger.update_app(app.id, copy_app_id=copy.id, step=Step.COPY)

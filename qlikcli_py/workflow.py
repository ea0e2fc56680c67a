"""The write half of a migration, per app: export, import, copy, reassign, move, clean.

Every step records its outputs in the ledger before the next starts, and every step first asks
the ledger (and, after an ambiguous outcome, the tenant) what is already done, so a run killed at
any point continues where it stopped: an app is imported once, an owner is changed once.

Ambiguous outcomes (timeout, 5xx, a killed run) are settled by reading the truth, never by
guessing: an imported app or copy is found in the shared space by its name, owner and creation
time after the recorded start of the call; an object's owner by its layout (`qMeta.ownerId`).
After the handover a private object is no longer visible to a migration identity without
admin.apps, and only the migration identity (which imported it and so owned it) could have handed
it over while this run held the lock: an object that has become hidden has been handed over.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import os
import re
import time
import unicodedata
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import TypeVar

import structlog

from qlikcli_py.errors import MigrationError
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.errors import QlikError
from qlikcli_py.errors import QlikTimeout
from qlikcli_py.errors import UsageProblem
from qlikcli_py.ledger import AppRecord
from qlikcli_py.ledger import Ledger
from qlikcli_py.ledger import now
from qlikcli_py.models import NOT_REASSIGNABLE
from qlikcli_py.models import CloudApp
from qlikcli_py.models import State
from qlikcli_py.models import engine_group
from qlikcli_py.planning import AppPlan
from qlikcli_py.progress import Progress
from qlikcli_py.session import Session
from qlikcli_py.vocabulary import DEFINITE_KINDS
from qlikcli_py.vocabulary import FailureKind

log = structlog.get_logger("migrate")
T = TypeVar("T")

_CLOCK_SLACK = dt.timedelta(minutes=10)  # tolerated skew between this machine and the tenant
_FIND_ATTEMPTS = 3  # the items index behind `app ls` is eventually consistent
_FIND_DELAY = 2.0
_LISTING_LAG = dt.timedelta(minutes=5)
_SEND_ATTEMPTS = 3  # change-owner sends per object in one run, each after the layout shows it unapplied
_SETTLED, _OURS, _UNKNOWN = "settled", "ours", "unknown"


class QuotaReached(Exception):
    pass


@dataclass
class RunOptions:
    export_dir: Path
    force: bool = False
    max_imports: int | None = None
    keep_exports: bool = False


@dataclass
class AppOutcome:
    source_app_id: str
    name: str
    status: str = "pending"  # done | failed | changed | deferred
    step: str = ""
    imported_app_id: str | None = None
    copy_app_id: str | None = None
    error: str | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


class Migration:
    def __init__(self, session: Session, ledger: Ledger, opts: RunOptions, progress: Progress) -> None:
        self.s = session
        self.ledger = ledger
        self.opts = opts
        self.progress = progress
        self._quota_lock = asyncio.Lock()
        self._creation_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._stop_imports = False

    async def run(self, plans: list[AppPlan]) -> list[AppOutcome]:
        parallel = asyncio.Semaphore(max(1, self.s.qlik.workers // 2))

        async def one(plan: AppPlan) -> AppOutcome:
            async with parallel:
                return await self.migrate_app(plan)

        return list(await asyncio.gather(*(one(p) for p in plans)))

    async def migrate_app(self, plan: AppPlan) -> AppOutcome:
        started = time.monotonic()
        out = AppOutcome(plan.app.id, plan.app.name)
        with structlog.contextvars.bound_contextvars(app=plan.app.id):
            try:
                rec = self._prepare(plan, out)
                if rec is not None:
                    await self._steps(plan, rec, out)
            except QuotaReached as e:
                out.status = "deferred"
                out.notes.append(str(e))
            except (MigrationError, QlikError) as e:
                out.status = "failed"
                out.error = str(e)
                self.ledger.update_app(plan.app.id, status="failed", error=out.error)
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
                out.status = "changed"
                out.notes.append(
                    f"source app changed since it was migrated (modified {app.modified}, migrated at "
                    f"{rec.source_modified}); the import {rec.imported_app_id} was left as it is: "
                    f"run again with --force to migrate it anew"
                )
                return None
            self.ledger.restart_app(app.id, app.modified, "source changed; re-migrated with --force")
            out.notes.append(f"source changed: migrated anew; the earlier import {rec.imported_app_id} is left in place")
        elif rec is not None and self.opts.force and rec.status == "done":
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
        self.ledger.update_app(app.id, status="running", error=None)
        return self.ledger.app(app.id)

    async def _steps(self, plan: AppPlan, rec: AppRecord, out: AppOutcome) -> None:
        app_id = plan.app.id
        for name, step in (("export", self._export), ("import", self._import), ("copy", self._copy),
                           ("reassign", self._reassign), ("move", self._move), ("clean", self._clean)):
            rec = self._record(app_id)
            if not (rec.done(name) and name != "reassign"):
                started = time.monotonic()
                with structlog.contextvars.bound_contextvars(step=name):
                    await step(plan, rec)
                    log.info("step.done", seconds=round(time.monotonic() - started, 3))
            if name == "move" and not self.opts.keep_exports:
                self._drop_export(app_id)
        self.ledger.update_app(app_id, step="done", status="done", error=None)
        out.status = "done"

    def _drop_export(self, app_id: str) -> None:
        """Once the app is in the managed space its QVF is not needed again (a --force re-migration
        exports anew): a 300-app batch would otherwise leave hundreds of GB behind."""
        rec = self._record(app_id)
        if rec.export_path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(rec.export_path)
            self.ledger.update_app(app_id, export_path=None, export_sha256=None)

    def _record(self, app_id: str) -> AppRecord:
        rec = self.ledger.app(app_id)
        assert rec is not None
        return rec

    # -- 1. export ------------------------------------------------------------------------------
    async def _export(self, plan: AppPlan, rec: AppRecord) -> None:
        app = plan.app
        if rec.imported_app_id:
            return  # the QVF is no longer needed
        # Hashing a multi-GB QVF takes seconds: in a thread, so other apps' calls go on meanwhile.
        if rec.export_path and rec.export_sha256 and await asyncio.to_thread(
                _sha256, Path(rec.export_path)) == rec.export_sha256:
            self.ledger.update_app(app.id, step="export")
            return
        dest = self.opts.export_dir / export_file_name(app.name, app.id)
        part = dest.with_name(dest.name + ".part")
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        try:
            await self.s.source.export(app.id, part, skip_data=plan.spec.skip_data)
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
        os.chmod(part, 0o600)
        digest = await asyncio.to_thread(_sha256, part)
        size = part.stat().st_size
        os.replace(part, dest)
        self.ledger.update_app(app.id, step="export", export_path=str(dest), export_size=size,
                               export_sha256=digest, export_skip_data=int(plan.spec.skip_data))

    # -- 2. import ------------------------------------------------------------------------------
    async def _import(self, plan: AppPlan, rec: AppRecord) -> None:
        async with self._creating(plan) as rec:
            await self._import_unique(plan, rec)

    async def _import_unique(self, plan: AppPlan, rec: AppRecord) -> None:
        app = plan.app
        if rec.imported_app_id:
            return
        if rec.import_started_at:
            found = await self._find_created(plan.shared.id, app.name, rec.import_started_at, "import",
                                             wait=_recent(rec.import_started_at))
            if found:
                self.ledger.record_import(app.id, found.id)
                log.info("import.adopted", imported_app_id=found.id)
                return
        await self._claim_import_quota()
        started = now()
        self.ledger.update_app(app.id, import_started_at=started, identity_id=self.s.me_id)
        assert rec.export_path
        try:
            cloud = await self.s.target.import_app(Path(rec.export_path), plan.shared.id, app.name)
        except (QlikCommandFailed, QlikTimeout) as e:
            if _definite(e):
                raise MigrationError(f"import of {app.name!r} into {plan.shared.name!r} failed: {e}") from e
            found = await self._find_created(plan.shared.id, app.name, started, "import", wait=True)
            if not found:
                raise MigrationError(f"import of {app.name!r} failed and created no app: {e}") from e
            log.info("import.adopted", imported_app_id=found.id, after=str(e))
            cloud = found
        self.ledger.record_import(app.id, cloud.id)

    async def _claim_import_quota(self) -> None:
        limit = self.opts.max_imports
        if limit is None:
            return
        async with self._quota_lock:
            since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")
            if self._stop_imports or self.ledger.imports_since(since) >= limit:
                self._stop_imports = True
                raise QuotaReached(
                    f"--max-imports {limit} reached (imports in the last 24 hours): the next run continues"
                )

    # -- 3. copy --------------------------------------------------------------------------------
    async def _copy(self, plan: AppPlan, rec: AppRecord) -> None:
        async with self._creating(plan) as rec:
            await self._copy_unique(plan, rec)

    async def _copy_unique(self, plan: AppPlan, rec: AppRecord) -> None:
        # The development copy is taken BEFORE any owner change: the importer still owns every
        # object, so the copy holds them all and the clean-up (as their owner) can remove them.
        app = plan.app
        assert rec.imported_app_id
        if rec.copy_app_id:
            self.ledger.update_app(app.id, step="copy")
            return
        if rec.copy_started_at:
            found = await self._find_created(plan.shared.id, app.name, rec.copy_started_at, "copy",
                                             exclude={rec.imported_app_id}, wait=_recent(rec.copy_started_at))
            if found:
                self.ledger.update_app(app.id, copy_app_id=found.id, step="copy")
                return
        started = now()
        self.ledger.update_app(app.id, copy_started_at=started)
        try:
            copy = await self.s.target.copy_app(rec.imported_app_id, app.name, plan.shared.id)
        except (QlikCommandFailed, QlikTimeout) as e:
            if _definite(e):
                raise MigrationError(f"copying the imported app {rec.imported_app_id} failed: {e}") from e
            found = await self._find_created(plan.shared.id, app.name, started, "copy", wait=True,
                                             exclude={rec.imported_app_id})
            if not found:
                raise MigrationError(f"copying the imported app {rec.imported_app_id} failed: {e}") from e
            copy = found
        if copy.space_id and copy.space_id != plan.shared.id:
            raise MigrationError(f"the copy {copy.id} landed in space {copy.space_id}, not {plan.shared.id}")
        self.ledger.update_app(app.id, copy_app_id=copy.id, step="copy")

    @contextlib.asynccontextmanager
    async def _creating(self, plan: AppPlan) -> AsyncIterator[AppRecord]:
        """Imports and copies land in the shared space under the source app's name, and an
        interrupted one is recognised by name, owner and creation time only: two apps of one name
        (the same name in two streams is common) with interrupted creations at once would each
        take the other's. So creations of one name into one space take turns, and each first
        settles any namesake's interrupted creation (left by a killed run, perhaps of other apps):
        there is never more than one unsettled per name, and what is found is surely its."""
        key = (plan.shared.id, plan.app.name)
        async with self._creation_locks.setdefault(key, asyncio.Lock()):
            for other in self.ledger.apps_named(plan.app.name, plan.shared.id):
                if other.source_app_id != plan.app.id:
                    await self._settle_creation(other)
            yield self._record(plan.app.id)  # fresh: a namesake may have settled this app's

    async def _settle_creation(self, rec: AppRecord) -> None:
        """Settle an app's interrupted import or copy from the tenant: adopt what it created, or
        forget the attempt when it created nothing."""
        if rec.import_started_at and not rec.imported_app_id:
            found = await self._find_created(rec.shared_space_id, rec.name, rec.import_started_at, "import")
            if found:
                self.ledger.record_import(rec.source_app_id, found.id)
                log.info("import.adopted", imported_app_id=found.id, for_app=rec.source_app_id)
            else:
                self.ledger.update_app(rec.source_app_id, import_started_at=None)
        elif rec.imported_app_id and rec.copy_started_at and not rec.copy_app_id:
            found = await self._find_created(rec.shared_space_id, rec.name, rec.copy_started_at, "copy",
                                             exclude={rec.imported_app_id})
            if found:
                self.ledger.update_app(rec.source_app_id, copy_app_id=found.id, step="copy")
            else:
                self.ledger.update_app(rec.source_app_id, copy_started_at=None)

    async def _find_created(self, space_id: str, name: str, since: str, what: str, *, wait: bool = False,
                            exclude: Iterable[str] = ()) -> CloudApp | None:
        """The app a call may have created: same space, name and owner (the migration identity),
        created after the call started, and not already known to the ledger (nor superseded)."""
        known = self.ledger.known_cloud_app_ids() | self.ledger.superseded_cloud_app_ids() | set(exclude)
        floor = _parse_ts(since) - _CLOCK_SLACK
        for attempt in range(_FIND_ATTEMPTS if wait else 1):
            if attempt:
                await asyncio.sleep(_FIND_DELAY)
            apps = await self.s.target.apps_in_space(space_id)
            found = [a for a in apps if a.name == name and a.owner_id == self.s.me_id and a.id not in known
                     and _parse_ts(a.created) >= floor]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                ids = ", ".join(a.id for a in found)
                raise MigrationError(
                    f"cannot tell which of the apps {ids} in space {space_id} is the {what} of {name!r} "
                    f"(an earlier attempt was interrupted); delete the extra ones and run again"
                )
        return None

    # -- 4. reassign ----------------------------------------------------------------------------
    async def _reassign(self, plan: AppPlan, rec: AppRecord) -> None:
        app = plan.app
        assert rec.imported_app_id
        me = self.s.me_id
        rows = []
        for obj in plan.objects:
            res = plan.resolutions.get(obj.owner_id)
            owner = plan.owners[obj.owner_id].key if obj.owner_id in plan.owners else ""
            if not plan.reassignable(obj):
                status, target, rule = "kept", None, None
            elif res is None or res.user is None:
                status, target, rule = "unmatched", None, None
            elif res.user.id == me:
                status, target, rule = "done", me, res.rule
            else:
                status, target, rule = "pending", res.user.id, res.rule
            rows.append((obj.object_id, obj.type, obj.title, obj.state.value, obj.owner_id, owner, target, rule, status))
        self.ledger.seed_objects(app.id, rows)
        todo = [r for r in self.ledger.objects(app.id) if r["status"] in ("pending", "failed", "sent")]
        self.progress.add_objects(len(todo))
        await fan_out(todo, lambda row: self._reassign_one(rec.imported_app_id or "", app.id, row),
                      self.s.qlik.workers)
        counts = self.ledger.object_counts(app.id)
        stuck = sum(counts.get(k, 0) for k in ("pending", "failed", "sent"))
        if stuck:
            raise MigrationError(f"{stuck} objects could not be given to their owners yet (see the report); run again")
        if not rec.done("reassign"):
            self.ledger.update_app(app.id, step="reassign")

    async def _reassign_one(self, cloud_app: str, app_id: str, row: Any) -> None:
        object_id, target = row["object_id"], row["target_owner_id"]
        try:
            if row["status"] == "sent":
                # An earlier attempt may have been applied: read the truth before trying again.
                if await self._settle(cloud_app, app_id, row) != _OURS:
                    return
            for attempt in range(_SEND_ATTEMPTS):
                self.ledger.set_object(app_id, object_id, status="sent")
                try:
                    new_owner = await self.s.target.change_owner(cloud_app, object_id, target)
                except (QlikCommandFailed, QlikTimeout) as e:
                    if isinstance(e, QlikCommandFailed) and e.kind == FailureKind.NOT_FOUND:
                        self.ledger.set_object(app_id, object_id, status="failed",
                                               error="not in the imported app (404)")
                        return
                    if isinstance(e, QlikCommandFailed) and e.kind == FailureKind.BAD_REQUEST:
                        self.ledger.set_object(app_id, object_id, status="failed", error=f"rejected: {e.detail}")
                        return
                    refused = isinstance(e, QlikCommandFailed) and e.kind == FailureKind.FORBIDDEN
                    verdict = await self._settle(cloud_app, app_id, row, refused=refused)
                    if verdict == _OURS and _definite(e):
                        # Refused (403 and the like) and still ours: sending again would be refused
                        # again. Failed for this run; the next run tries it anew.
                        self.ledger.set_object(app_id, object_id, status="failed", error=str(e))
                    elif verdict == _OURS and attempt + 1 < _SEND_ATTEMPTS:
                        continue  # an ambiguous failure the layout shows unapplied: safe to resend
                    elif verdict != _SETTLED:
                        self.ledger.set_object(app_id, object_id, status="sent", error=str(e))
                    return
                if new_owner and new_owner != target:
                    self.ledger.set_object(app_id, object_id, status="failed", result_owner_id=new_owner,
                                           error=f"change-owner answered owner {new_owner}, expected {target}")
                    return
                self.ledger.set_object(app_id, object_id, status="done", result_owner_id=new_owner or target,
                                       evidence="change-owner")
                return
        finally:
            self.progress.object_done()

    async def _settle(self, cloud_app: str, app_id: str, row: Any, *, refused: bool = False) -> str:
        """Decide from the object's layout whether an earlier change-owner took effect. Returns
        _SETTLED (recorded done or failed for good), _OURS (not applied: still the migration
        identity's, safe to send) or _UNKNOWN (could not tell: stays `sent` for the next run).

        `refused`: change-owner just answered 403. Which answer an engine gives for another user's
        private object is not documented ("access denied" or "not found"), so a refusal followed
        by an object the identity can no longer see, by either answer, means it was handed over
        (a call that applied but answered 5xx or timed out, earlier)."""
        object_id, target = row["object_id"], row["target_owner_id"]
        hideable = row["state"] == State.PRIVATE.value and not self.s.admin_apps
        try:
            obj = await self.s.target.layout(cloud_app, object_id, row["type"])
        except QlikCommandFailed as e:
            if hideable and (e.kind == FailureKind.FORBIDDEN or (refused and e.kind == FailureKind.NOT_FOUND)):
                why = "change-owner refused (403) and " if refused else ""
                self.ledger.set_object(app_id, object_id, status="done", result_owner_id=target,
                                       evidence=f"hidden: {why}private object no longer visible to the migration "
                                                f"identity ({e.kind})")
                return _SETTLED
            if e.kind == FailureKind.NOT_FOUND and hideable:
                # Not seen: handed over, or not in the app. change-owner tells which (403 or 404);
                # resending to an object already handed over changes nothing.
                return _OURS
            if e.kind == FailureKind.NOT_FOUND:
                self.ledger.set_object(app_id, object_id, status="failed", error="not in the imported app")
                return _SETTLED
            return _UNKNOWN
        except QlikError:
            return _UNKNOWN
        if obj.owner_id == target:
            self.ledger.set_object(app_id, object_id, status="done", result_owner_id=target, evidence="layout")
            return _SETTLED
        if obj.owner_id == self.s.me_id:
            return _OURS
        self.ledger.set_object(
            app_id, object_id, status="failed", result_owner_id=obj.owner_id,
            error=(f"owned by {obj.owner_id}, not the migration identity: only its owner or an OAuth client "
                   f"with admin.apps can change it"),
        )
        return _SETTLED

    # -- 5. move --------------------------------------------------------------------------------
    async def _move(self, plan: AppPlan, rec: AppRecord) -> None:
        assert rec.imported_app_id and rec.copy_app_id
        app = await self._cloud_app(rec.imported_app_id)
        if app.space_id == plan.managed.id:
            self.ledger.update_app(plan.app.id, step="move")
            return
        try:
            await self.s.target.move_to_managed(rec.imported_app_id, plan.managed.id, rec.copy_app_id)
        except (QlikCommandFailed, QlikTimeout) as e:
            if _definite(e):
                raise MigrationError(f"moving {rec.imported_app_id} into {plan.managed.name!r} failed: {e}") from e
            if (await self._cloud_app(rec.imported_app_id)).space_id != plan.managed.id:
                raise MigrationError(f"moving {rec.imported_app_id} into {plan.managed.name!r} failed: {e}") from e
        self.ledger.update_app(plan.app.id, step="move")

    async def _cloud_app(self, app_id: str) -> CloudApp:
        try:
            return await self.s.target.app(app_id)
        except QlikCommandFailed as e:
            if e.kind == FailureKind.NOT_FOUND:
                raise MigrationError(
                    f"the imported app {app_id} no longer exists on the tenant; run with --force to import again"
                ) from e
            raise

    # -- 6. clean the development copy ------------------------------------------------------------
    async def _clean(self, plan: AppPlan, rec: AppRecord) -> None:
        """Unpublish community objects, remove private and community objects, save once: the next
        publish from the copy must not promote users' content to base content."""
        assert rec.copy_app_id
        copy, app_id = rec.copy_app_id, plan.app.id
        # App structure (the script, the load model) is not user content and not an engine object
        # that rm can reach: it stays.
        self.ledger.seed_cleanup(app_id, ((o.object_id, o.type, o.state.value) for o in plan.objects
                                          if o.state is not State.BASE and o.type not in NOT_REASSIGNABLE))
        rows = [r for r in self.ledger.cleanup_rows(app_id) if r["status"] != "removed"]
        community = [r for r in rows if r["state"] == State.COMMUNITY.value and r["status"] == "pending"]

        async def unpublish(row: Any) -> None:
            await self._engine_write(self.s.target.unpublish(copy, row["object_id"], row["type"]))
            self.ledger.set_cleanup(app_id, [row["object_id"]], "unpublished")

        await fan_out(community, unpublish, self.s.qlik.workers)
        by_group: dict[str, list[Any]] = {}
        for row in rows:
            by_group.setdefault(engine_group(row["type"]), []).append(row)
        for group_rows in by_group.values():
            ids = [r["object_id"] for r in group_rows]
            try:
                await self.s.target.remove(copy, ids, group_rows[0]["type"])
            except QlikCommandFailed:
                for row in group_rows:  # one at a time, to learn which id was the problem
                    await self._remove_one(copy, row)
        await self.s.target.save(copy)
        # Marked removed only after the save: unsaved removals would be lost with the session.
        self.ledger.set_cleanup(app_id, (r["object_id"] for r in rows), "removed")
        self.ledger.update_app(app_id, step="clean")

    async def _remove_one(self, copy: str, row: Any) -> None:
        try:
            await self.s.target.remove(copy, [row["object_id"]], row["type"])
        except QlikCommandFailed as e:
            if e.kind == FailureKind.NOT_FOUND:
                return  # already gone
            await self._engine_write(self.s.target.unpublish(copy, row["object_id"], row["type"]))
            await self.s.target.remove(copy, [row["object_id"]], row["type"])

    async def _engine_write(self, call: Awaitable[None]) -> None:
        try:
            await call
        except QlikCommandFailed as e:
            if e.kind != FailureKind.NOT_FOUND:  # not in the copy: nothing to do
                raise


async def fan_out(items: list[T], fn: Callable[[T], Awaitable[None]], workers: int) -> None:
    """Run fn over items with at most `workers` in flight; one coroutine per worker, not per item,
    so 100,000 objects cost 100,000 rows, not 100,000 pending tasks."""
    it = iter(items)

    async def worker() -> None:
        for item in it:
            await fn(item)

    await asyncio.gather(*(worker() for _ in range(max(1, min(workers, len(items))))))


def _recent(started: str) -> bool:
    """An interrupted creation started moments ago may not be in the (eventually consistent)
    `app ls` listing yet: look again a few times before concluding it created nothing."""
    return dt.datetime.now(dt.UTC) - _parse_ts(started) < _LISTING_LAG


def _definite(exc: Exception) -> bool:
    """True when the failure means the call was certainly not applied."""
    return isinstance(exc, QlikCommandFailed) and exc.kind in DEFINITE_KINDS


def _sha256(path: Path) -> str | None:
    try:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None


def _parse_ts(value: str) -> dt.datetime:
    if not value:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)


def export_file_name(name: str, app_id: str) -> str:
    """A file name from an app name that cannot escape the export dir: no separators, no `..`,
    no control characters; the app id keeps it unique."""
    cleaned = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C")
    cleaned = _UNSAFE.sub("_", cleaned).strip(" ._")[:80] or "app"
    return f"{cleaned}-{app_id}.qvf"

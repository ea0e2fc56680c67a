"""A wave: users' new on-prem content brought into an app already migrated (`qlik-migrate sync`).

The delta (`find_delta`, read-only) compares the source app's objects (QRS) with the ledger: new
private and community objects, objects changed on-prem since they came over (`modifiedDate`),
objects deleted on-prem, and what sync cannot bring (bookmarks and snapshots, whose selections
qlik-cli cannot recreate; master dimensions and measures; new base content).

`Wave.sync` then, per app, each step in the ledger (ledger_waves.py) before the next:
1. the temporary app: the source exported again (`--exportScope all`, skip data) and imported into
   the shared space under a name of its own; an interrupted import is settled like `run`'s (found
   by name, owner and creation time: Settling.find_created);
2. per new object: its full property tree read from the temporary app, then `app object set` into
   the migrated app. The row is `creating` before the call, and what exists afterwards is read
   from a listing, never from the call's answer (qlik-cli prints no id): the object's id present
   means created; an object of the same type and title created under another id (the id was taken
   by an object the identity cannot see) is a stray, removed and reported;
3. community objects published (decided from the layout: qlik-cli refuses to publish twice);
4. the temporary app deleted, as soon as no object needs it;
5. the hand-over: the created objects join the ledger's `objects` and `Handover.reassign` gives
   them to their owners exactly as `run` does (same resolution, --on-unmatched, pacing, settling).
Nothing else in the migrated app is written: base content, the development copy, and whatever
users made or changed in the cloud are left alone; objects changed or deleted on-prem are reported.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import structlog

from qlikcli_py import ledger_waves
from qlikcli_py.errors import MigrationError
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.errors import QlikError
from qlikcli_py.errors import QlikTimeout
from qlikcli_py.ledger import Ledger
from qlikcli_py.ledger import now
from qlikcli_py.migration.context import definite
from qlikcli_py.migration.creating import QuotaReached
from qlikcli_py.migration.handover import Handover
from qlikcli_py.migration.settling import Settling
from qlikcli_py.migration.settling import parse_ts
from qlikcli_py.migration.settling import recent
from qlikcli_py.models import NOT_REASSIGNABLE
from qlikcli_py.models import SourceObject
from qlikcli_py.models import State
from qlikcli_py.models import reassignable
from qlikcli_py.planning import AppPlan
from qlikcli_py.session import Session
from qlikcli_py.settings import RunOptions
from qlikcli_py.vocabulary import FailureKind

log = structlog.get_logger("sync")

# Generic objects `app object set` creates with their whole tree (a GenericObjectEntry).
SYNCABLE_TYPES = frozenset({"sheet", "story", "masterobject"})
_WHY_NOT = {
    "bookmark": "bookmarks cannot be recreated with their selections through qlik-cli: not synced "
                "(no empty one created); its owner can make it again in the cloud",
    "snapshot": "snapshots cannot be recreated with their data through qlik-cli: not synced",
    "dimension": "master dimensions are not generic objects `app object set` creates: not synced",
    "measure": "master measures are not generic objects `app object set` creates: not synced",
}
_WHY_BASE = "new base content: part of the app itself; it comes over with a re-migration (run --force), not sync"


class Kind:
    NEW = "new"
    CHANGED = "changed"
    DELETED = "deleted"
    NOT_SYNCED = "not-synced"
    STRAY = "stray"


class Row:
    """A `new` row's life: pending -> creating -> created -> synced (or failed-for-good)."""

    PENDING = "pending"
    CREATING = "creating"  # `app object set` sent: what exists is read before anything else
    CREATED = "created"
    SYNCED = "synced"  # published if community; in the ledger's objects for the hand-over
    FAILED_FOR_GOOD = "failed-for-good"
    REPORTED = "reported"


@dataclass
class Delta:
    """What changed on-prem since an app was migrated (read-only)."""

    app_id: str
    new: list[SourceObject] = field(default_factory=list)  # to bring over
    not_synced: list[tuple[SourceObject, str]] = field(default_factory=list)
    changed: list[tuple[SourceObject, str]] = field(default_factory=list)  # (object, date it came over)
    deleted: list[dict[str, Any]] = field(default_factory=list)  # ledger rows
    undated: list[tuple[str, str]] = field(default_factory=list)  # migrated before dates were kept
    in_open_wave: list[str] = field(default_factory=list)  # new objects of an interrupted wave (to finish)

    def work(self) -> bool:
        return bool(self.new or self.in_open_wave)


def find_delta(plan: AppPlan, ledger: Ledger) -> Delta:
    app_id = plan.app.id
    d = Delta(app_id)
    migrated = {r["object_id"]: r for r in ledger.objects(app_id)}
    known = ledger_waves.known(ledger, app_id)
    dates = ledger_waves.dates(ledger, app_id)
    waved = {oid for oid, kind in known if kind == Kind.NEW}
    source = {o.object_id: o for o in plan.objects}
    for obj in plan.objects:
        if obj.object_id in migrated:
            came = dates.get(obj.object_id)
            if came is None:
                d.undated.append((obj.object_id, obj.modified))
            elif (obj.modified and parse_ts(obj.modified) > parse_ts(came)
                  and (obj.object_id, Kind.CHANGED) not in known):
                d.changed.append((obj, came))
            continue
        if obj.object_id in waved or obj.type in NOT_REASSIGNABLE:
            continue
        if not reassignable(obj):
            if (obj.object_id, Kind.NOT_SYNCED) not in known:
                d.not_synced.append((obj, _WHY_BASE))
        elif obj.type in SYNCABLE_TYPES:
            d.new.append(obj)
        elif (obj.object_id, Kind.NOT_SYNCED) not in known:
            d.not_synced.append((obj, _WHY_NOT.get(obj.type, f"{obj.type} objects are not synced")))
    for oid, row in migrated.items():
        if oid not in source and row["type"] not in NOT_REASSIGNABLE and (oid, Kind.DELETED) not in known:
            d.deleted.append(dict(row))
    open_wave = ledger_waves.open_wave(ledger, app_id)
    if open_wave is not None:
        # all of them, created or not: the hand-over of the created ones is still to come, and
        # needs their owners resolved as much as the others do
        rows = ledger_waves.wave_objects(ledger, app_id, wave_id=open_wave["wave_id"], kind=Kind.NEW)
        d.in_open_wave = [r["object_id"] for r in rows if r["status"] != Row.FAILED_FOR_GOOD]
    return d


def owner_ids(delta: Delta) -> set[str]:
    return {o.owner_id for o in delta.new} | {o.owner_id for o, _ in delta.not_synced}


@dataclass
class SyncOutcome:
    source_app_id: str
    name: str
    status: str = "done"  # done | nothing-new | failed | not-migrated
    wave_id: str | None = None
    error: str | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


class Wave:
    """One app's wave, resumable: every step recorded before the next, ambiguous outcomes read
    from the tenant."""

    def __init__(self, session: Session, ledger: Ledger, opts: RunOptions, handover: Handover,
                 settling: Settling, wave_id: str) -> None:
        self.session = session
        self.ledger = ledger
        self.opts = opts
        self.handover = handover
        self.settling = settling
        self.wave_id = wave_id

    async def sync(self, plan: AppPlan, delta: Delta) -> SyncOutcome:
        started = time.monotonic()
        app_id = plan.app.id
        out = SyncOutcome(app_id, plan.app.name)
        with structlog.contextvars.bound_contextvars(app=app_id, step="sync"):
            try:
                await self._sync(plan, delta, out)
            except QuotaReached as e:
                out.status = "deferred"
                out.notes.append(str(e))
            except (MigrationError, QlikError) as e:
                out.status, out.error = "failed", str(e)
                wave = ledger_waves.open_wave(self.ledger, app_id)
                if wave is not None:
                    ledger_waves.update_wave(self.ledger, wave["wave_id"], app_id, error=out.error)
                log.error("sync.failed", error=out.error)
        out.seconds = round(time.monotonic() - started, 2)
        return out

    async def _sync(self, plan: AppPlan, delta: Delta, out: SyncOutcome) -> None:
        app_id = plan.app.id
        rec = self.ledger.app(app_id)
        assert rec is not None and rec.imported_app_id
        ledger_waves.record_dates(self.ledger, app_id, delta.undated)  # their first sync: dated now
        wave = ledger_waves.open_wave(self.ledger, app_id)
        rows = _rows(plan, delta)
        if wave is None and not rows:
            out.status = "nothing-new"
            # objects of earlier waves (or of the run) not handed over yet: tried again, as run does
            await self._handover(plan, [])
            return
        wave_id = wave["wave_id"] if wave is not None else self.wave_id
        temp_name = wave["temp_name"] if wave is not None else f"{plan.app.name} (qlik-migrate sync {wave_id[:8]})"
        ledger_waves.begin_wave(self.ledger, wave_id, app_id, temp_name, rows)
        out.wave_id = wave_id
        source = {o.object_id: o for o in plan.objects}
        await self._settle_temp(plan, wave_id)
        todo = [r for r in ledger_waves.wave_objects(self.ledger, app_id, wave_id=wave_id, kind=Kind.NEW)
                if r["status"] in (Row.PENDING, Row.CREATING, Row.CREATED)]
        for row in todo:
            if row["object_id"] not in source and row["status"] == Row.PENDING:
                ledger_waves.set_wave_object(self.ledger, app_id, row["object_id"], Kind.NEW,
                                             status=Row.FAILED_FOR_GOOD, detail="deleted on-prem before it came over")
        failures: list[str] = []
        managed = rec.imported_app_id
        # what the migrated app holds: one listing for all, then one after each creation
        listing = await self._listing(managed) if any(r["status"] != Row.CREATED for r in todo) else {}
        for row in todo:
            obj = source.get(row["object_id"])
            if obj is None and row["status"] == Row.PENDING:
                continue
            try:
                listing = await self._bring(plan, wave_id, managed, dict(row), listing)
            except QuotaReached:
                raise  # no temporary app: none of the rest can come over in this run
            except (MigrationError, QlikError) as e:
                failures.append(f"{row['object_id']}: {e}")
                log.error("sync.object_failed", object_id=row["object_id"], error=str(e))
        await self._drop_temp(plan, wave_id)
        synced = [source[r["object_id"]] for r in ledger_waves.wave_objects(self.ledger, app_id, wave_id=wave_id,
                                                                             kind=Kind.NEW)
                  if r["status"] == Row.SYNCED and r["object_id"] in source]
        await self._handover(plan, synced)
        if failures:
            raise MigrationError(f"{len(failures)} new objects could not be brought over yet (run again): "
                                 f"{failures[0]}")
        ledger_waves.update_wave(self.ledger, wave_id, app_id, status="done", finished_at=now(), error=None)

    async def _handover(self, plan: AppPlan, synced: list[SourceObject]) -> None:
        rec = self.ledger.app(plan.app.id)
        assert rec is not None
        await self.handover.reassign(dataclasses.replace(plan, objects=synced), rec)

    # -- the temporary app ----------------------------------------------------------------------
    async def _settle_temp(self, plan: AppPlan, wave_id: str) -> None:
        """A killed import of the temporary app: adopt what it created, or forget the attempt."""
        wave = self._wave(plan.app.id, wave_id)
        if wave["temp_started_at"] and not wave["temp_app_id"]:
            found = await self.settling.find_created(plan.shared.id, wave["temp_name"], wave["temp_started_at"],
                                                     "temporary import", wait=recent(wave["temp_started_at"]))
            ledger_waves.settle_temp_import(self.ledger, plan.app.id, wave_id, found.id if found else None)

    async def _temp(self, plan: AppPlan, wave_id: str) -> str:
        wave = self._wave(plan.app.id, wave_id)
        if wave["temp_app_id"] and not wave["temp_deleted"]:
            return str(wave["temp_app_id"])
        app_id = plan.app.id
        if wave["temp_deleted"]:  # an open wave found more new objects after its temporary app went
            ledger_waves.update_wave(self.ledger, wave_id, app_id, temp_app_id=None, temp_started_at=None,
                                     temp_deleted=0)
        self.opts.export_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        qvf = self.opts.export_dir / f"sync-{app_id}.qvf"
        try:
            await self.session.source.export(app_id, qvf, skip_data=True)
            clock = dt.datetime.now(dt.UTC)
            started = clock.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            since = (clock - dt.timedelta(days=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            if not ledger_waves.reserve_temp_import(self.ledger, app_id, wave_id, started,
                                                    limit=self.opts.max_imports, since=since):
                raise QuotaReached(f"--max-imports {self.opts.max_imports} reached (imports in the last 24 hours, "
                                   f"temporary ones included): the next sync continues this wave")
            try:
                created = await self.session.target.import_app(qvf, plan.shared.id, wave["temp_name"])
                temp_id = created.id
            except (QlikCommandFailed, QlikTimeout) as e:
                found = None if definite(e) else await self.settling.find_created(
                    plan.shared.id, wave["temp_name"], started, "temporary import", wait=True)
                ledger_waves.settle_temp_import(self.ledger, app_id, wave_id, found.id if found else None)
                if found is None:
                    raise MigrationError(f"importing the temporary app of {plan.app.name!r} failed: {e}") from e
                temp_id = found.id
            ledger_waves.settle_temp_import(self.ledger, app_id, wave_id, temp_id)
            log.info("sync.temp_imported", temp_app_id=temp_id)
            return temp_id
        finally:
            if not self.opts.keep_exports:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(qvf)

    async def _drop_temp(self, plan: AppPlan, wave_id: str) -> None:
        """Deleted as soon as no object of the wave needs its tree."""
        app_id = plan.app.id
        wave = self._wave(app_id, wave_id)
        if not wave["temp_app_id"] or wave["temp_deleted"]:
            return
        if any(r["status"] in (Row.PENDING, Row.CREATING)
               for r in ledger_waves.wave_objects(self.ledger, app_id, wave_id=wave_id, kind=Kind.NEW)):
            return  # a later run still needs it; it is deleted then
        temp_id = str(wave["temp_app_id"])
        try:
            await self.session.target.delete_app(temp_id)
        except (QlikCommandFailed, QlikTimeout) as e:
            gone = isinstance(e, QlikCommandFailed) and e.kind == FailureKind.NOT_FOUND
            if not gone and await self._exists(temp_id):
                raise MigrationError(f"deleting the temporary app {temp_id} failed: {e}; run again") from e
        ledger_waves.update_wave(self.ledger, wave_id, app_id, temp_deleted=1)
        log.info("sync.temp_deleted", temp_app_id=temp_id)

    async def _exists(self, app_id: str) -> bool:
        try:
            await self.session.target.app(app_id)
        except QlikCommandFailed as e:
            if e.kind == FailureKind.NOT_FOUND:
                return False
            raise
        return True

    def _wave(self, app_id: str, wave_id: str) -> Any:
        row = self.ledger.db.execute("SELECT * FROM waves WHERE wave_id=? AND source_app_id=?",
                                     (wave_id, app_id)).fetchone()
        assert row is not None
        return row

    # -- one object -----------------------------------------------------------------------------
    async def _bring(self, plan: AppPlan, wave_id: str, managed: str, row: dict[str, Any],
                     listing: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
        """One new object, from where the ledger left it; returns the migrated app's listing."""
        app_id, oid = plan.app.id, row["object_id"]
        if row["status"] in (Row.PENDING, Row.CREATING):
            if row["status"] == Row.PENDING and oid in listing:
                # Never sent by us (the row goes `creating` before the call): a cloud object holds the id.
                ledger_waves.set_wave_object(self.ledger, app_id, oid, Kind.NEW, status=Row.FAILED_FOR_GOOD,
                                             detail="its id is taken in the migrated app by an object made in "
                                                    "the cloud: not overwritten")
                return listing
            if row["status"] == Row.CREATING:
                if oid in listing:
                    row["status"] = self._created(app_id, oid)
                else:
                    await self._remove_strays(plan, wave_id, managed, row, listing)
            if row["status"] != Row.CREATED:
                listing = await self._create(plan, wave_id, managed, row)
                if row["status"] != Row.CREATED:
                    return listing
        if row["state"] == State.COMMUNITY:
            await self._publish(managed, oid, row["type"])
        ledger_waves.record_dates(self.ledger, app_id, [(oid, row["source_modified"])])
        ledger_waves.set_wave_object(self.ledger, app_id, oid, Kind.NEW, status=Row.SYNCED)
        return listing

    def _created(self, app_id: str, oid: str) -> str:
        ledger_waves.set_wave_object(self.ledger, app_id, oid, Kind.NEW, status=Row.CREATED)
        return Row.CREATED

    async def _create(self, plan: AppPlan, wave_id: str, managed: str,
                      row: dict[str, Any]) -> dict[str, tuple[str, str]]:
        app_id, oid = plan.app.id, row["object_id"]
        temp = await self._temp(plan, wave_id)
        tree = await self.session.target.object_tree(temp, oid)
        path = self._tree_file(app_id, oid, tree)
        error: Exception | None = None
        try:
            ledger_waves.set_wave_object(self.ledger, app_id, oid, Kind.NEW, status=Row.CREATING)
            await self.session.target.set_object(managed, path)
        except ValueError as e:  # a path qlik-cli would take as a glob pattern: nothing was sent
            ledger_waves.set_wave_object(self.ledger, app_id, oid, Kind.NEW, status=Row.PENDING)
            raise MigrationError(f"{e} (choose a --state-dir without *, ? or [)") from e
        except (QlikCommandFailed, QlikTimeout) as e:
            error = e
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        # qlik-cli prints no id: the listing says what was created, whatever the call answered.
        listing = await self._listing(managed)
        if oid in listing:
            row["status"] = self._created(app_id, oid)
            return listing
        strays = await self._remove_strays(plan, wave_id, managed, row, listing)
        if strays:
            ledger_waves.set_wave_object(
                self.ledger, app_id, oid, Kind.NEW, status=Row.FAILED_FOR_GOOD,
                detail=f"its id is in use in the migrated app by an object the identity cannot see; the copy "
                       f"created under {', '.join(strays)} was removed")
            return {k: v for k, v in listing.items() if k not in strays}
        if error is not None and definite(error):
            ledger_waves.set_wave_object(self.ledger, app_id, oid, Kind.NEW, status=Row.FAILED_FOR_GOOD,
                                         detail=f"refused: {error}")
            return listing
        ledger_waves.set_wave_object(self.ledger, app_id, oid, Kind.NEW, status=Row.PENDING,
                                     detail=str(error) if error else "not created (no error shown)")
        raise MigrationError(f"creating {oid} in {managed} failed: {error or 'nothing was created'}")

    async def _remove_strays(self, plan: AppPlan, wave_id: str, managed: str, row: dict[str, Any],
                             listing: dict[str, tuple[str, str]]) -> list[str]:
        """Objects the identity created under another id: of the row's type, unknown to the ledger and
        the source, private and owned by the identity (a user's cloud content is never touched; the
        title is not compared, since the tree's title may differ from the QRS name)."""
        known = {r["object_id"] for r in self.ledger.objects(plan.app.id)} | {o.object_id for o in plan.objects}
        removed = []
        for cid, (ctype, title) in listing.items():
            if cid in known or ctype != row["type"]:
                continue
            layout = await self.session.target.layout(managed, cid, ctype)
            if layout.owner_id != self.session.me_id or layout.state is not State.PRIVATE:
                continue
            await self.session.target.remove(managed, [cid], ctype)
            ledger_waves.add_stray(self.ledger, wave_id, plan.app.id,
                                   (cid, ctype, title, f"created for {row['object_id']} under another id; removed"))
            log.warning("sync.stray_removed", stray=cid, wanted=row["object_id"])
            removed.append(cid)
        if removed:
            await self.session.target.save(managed)  # `rm` runs with --no-save: the removal lasts once saved
        return removed

    async def _publish(self, managed: str, oid: str, otype: str) -> None:
        """Decided from the layout: qlik-cli 1.4.0 refuses to publish a published object."""
        if (await self.session.target.layout(managed, oid, otype)).state is not State.PRIVATE:
            return
        try:
            await self.session.target.publish(managed, oid, otype)
        except (QlikCommandFailed, QlikTimeout) as e:
            if (await self.session.target.layout(managed, oid, otype)).state is State.PRIVATE:
                raise MigrationError(f"publishing {oid} failed: {e}") from e

    async def _listing(self, managed: str) -> dict[str, tuple[str, str]]:
        # sync creates generic objects only (sheets, stories, master items): `app object ls` lists them
        listed = await self.session.target.list_objects(managed, groups=("object",))
        return {oid: (otype, title) for oid, otype, title in listed}

    def _tree_file(self, app_id: str, oid: str, tree: dict[str, Any]) -> Path:
        self.session.target.scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.session.target.scratch / f"sync-{app_id}-{oid}.json"
        path.write_text(json.dumps(tree), encoding="utf-8")
        return path


def _rows(plan: AppPlan, delta: Delta) -> list[tuple[Any, ...]]:
    """The wave's rows: (object_id, kind, type, title, state, source_owner_id, source_owner,
    source_modified, status, detail)."""
    def owner(o: SourceObject) -> str:
        return plan.owners[o.owner_id].key if o.owner_id in plan.owners else ""

    rows: list[tuple[Any, ...]] = []
    for o in delta.new:
        rows.append((o.object_id, Kind.NEW, o.type, o.title, o.state.value, o.owner_id, owner(o), o.modified,
                     Row.PENDING, None))
    for o, why in delta.not_synced:
        rows.append((o.object_id, Kind.NOT_SYNCED, o.type, o.title, o.state.value, o.owner_id, owner(o), o.modified,
                     Row.REPORTED, why))
    for o, came in delta.changed:
        rows.append((o.object_id, Kind.CHANGED, o.type, o.title, o.state.value, o.owner_id, owner(o), o.modified,
                     Row.REPORTED, f"changed on-prem ({o.modified}) since it came over ({came}): the cloud copy "
                                   f"is left as it is (its owner may have edited it)"))
    for r in delta.deleted:
        rows.append((r["object_id"], Kind.DELETED, r["type"], r["title"], r["state"], r["source_owner_id"],
                     r["source_owner"], "", Row.REPORTED, "deleted on-prem: the cloud copy is left as it is"))
    return rows


"""Settling ambiguous outcomes (a timeout, a 5xx, a killed run) by reading the truth, never by
guessing.

An import or copy that may have happened is found in the shared space by its name, owner (the
migration identity) and creation time after the recorded start of the call. A change-owner that
may have happened is read from the object's layout (`qMeta.ownerId`). After the handover a private
object is no longer visible to a migration identity without admin.apps, and only the migration
identity (which imported it and so owned it) could have handed it over while this run held the
lock: an object that has become hidden has been handed over.

What the identity can see is decided by what it can LIST (`app <group> ls`), never by the words of
an engine error: no 2.x/3.x engine error has been recorded (corectl, qlik-cli's ancestor, printed
an empty answer as a sentence without a code), and Qlik does not document whether another user's
private object answers "access denied" or "not found". The words may refine a decision (an access
denial says the object exists), never make it alone.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
from collections.abc import AsyncIterator
from collections.abc import Iterable
from typing import Any

import structlog

from qlikcli_py.errors import MigrationError
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.errors import QlikError
from qlikcli_py.identities import Identity
from qlikcli_py.ledger import AppRecord
from qlikcli_py.ledger import Ledger
from qlikcli_py.migration.context import app_record
from qlikcli_py.models import CloudApp
from qlikcli_py.models import State
from qlikcli_py.planning import AppPlan
from qlikcli_py.session import Session
from qlikcli_py.vocabulary import TRANSIENT_KINDS
from qlikcli_py.vocabulary import FailureKind
from qlikcli_py.vocabulary import ObjectStatus
from qlikcli_py.vocabulary import Step

log = structlog.get_logger("migrate")

_CLOCK_SLACK = dt.timedelta(minutes=10)  # tolerated skew between this machine and the tenant
_FIND_ATTEMPTS = 3  # the items index behind `app ls` is eventually consistent
_FIND_DELAY = 2.0
_LISTING_LAG = dt.timedelta(minutes=5)


class Verdict(enum.Enum):
    """What the layout says about an earlier change-owner."""

    SETTLED = enum.auto()  # recorded done or failed for good
    OURS = enum.auto()  # not applied: still the migration identity's, safe to send
    UNKNOWN = enum.auto()  # could not tell: stays `sent` for the next run


class Settling:
    """Reads the tenant's truth after an outcome that may or may not have applied."""

    def __init__(self, session: Session, ledger: Ledger) -> None:
        self.session = session
        self.ledger = ledger
        self._creation_locks: dict[tuple[str, str], asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def creating(self, plan: AppPlan) -> AsyncIterator[AppRecord]:
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
                    await self.settle_creation(other)
            yield app_record(self.ledger, plan.app.id)  # fresh: a namesake may have settled this app's

    async def settle_creation(self, rec: AppRecord) -> None:
        """Settle an app's interrupted import or copy from the tenant: adopt what it created, or
        forget the attempt when it created nothing."""
        if rec.import_started_at and not rec.imported_app_id and self.stale_import(rec):
            await self.supersede_stale_import(rec)
        elif rec.import_started_at and not rec.imported_app_id:
            found = await self.find_created(rec.shared_space_id, rec.name, rec.import_started_at, "import")
            if found:
                self.ledger.record_import(rec.source_app_id, found.id)
                log.info("import.adopted", imported_app_id=found.id, for_app=rec.source_app_id)
            else:
                self.ledger.release_import(rec.source_app_id)
        elif rec.imported_app_id and rec.copy_started_at and not rec.copy_app_id:
            found = await self.find_created(rec.shared_space_id, rec.name, rec.copy_started_at, "copy",
                                             exclude={rec.imported_app_id})
            if found:
                self.ledger.update_app(rec.source_app_id, copy_app_id=found.id, step=Step.COPY)
            else:
                self.ledger.update_app(rec.source_app_id, copy_started_at=None)

    def stale_import(self, rec: AppRecord) -> bool:
        """Whether the app's open import attempt imported another export than the one it holds
        now (the source changed after a run was killed during the import)."""
        attempt = self.ledger.open_import(rec.source_app_id)
        return attempt is not None and attempt["export_sha256"] not in (None, rec.export_sha256)

    async def supersede_stale_import(self, rec: AppRecord) -> None:
        """What a stale import attempt created is recorded as superseded (never adopted, listed in
        the app's earlier imports); the attempt counts as an import if it created one."""
        assert rec.import_started_at
        found = await self.find_created(rec.shared_space_id, rec.name, rec.import_started_at, "import",
                                        wait=recent(rec.import_started_at))
        if found:
            self.ledger.supersede_import(rec.source_app_id, found.id,
                                         "imported from an earlier export by an interrupted run; the source "
                                         "changed since")
            log.info("import.superseded", stale_app_id=found.id, for_app=rec.source_app_id)
        else:
            self.ledger.release_import(rec.source_app_id)

    async def find_created(self, space_id: str, name: str, since: str, what: str, *, wait: bool = False,
                            exclude: Iterable[str] = ()) -> CloudApp | None:
        """The app a call may have created: same space, name and owner (the migration identity),
        created after the call started, and not already known to the ledger (nor superseded)."""
        known = self.ledger.known_cloud_app_ids() | self.ledger.superseded_cloud_app_ids() | set(exclude)
        floor = parse_ts(since) - _CLOCK_SLACK
        for attempt in range(_FIND_ATTEMPTS if wait else 1):
            if attempt:
                await asyncio.sleep(_FIND_DELAY)
            apps = await self.session.target.apps_in_space(space_id)
            found = [a for a in apps if a.name == name and a.owner_id == self.session.me_id and a.id not in known
                     and parse_ts(a.created) >= floor]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                ids = ", ".join(a.id for a in found)
                raise MigrationError(
                    f"cannot tell which of the apps {ids} in space {space_id} is the {what} of {name!r} "
                    f"(an earlier attempt was interrupted); delete the extra ones and run again"
                )
        return None

    async def settle(self, cloud_app: str, app_id: str, row: Any, *, refused: str = "") -> Verdict:
        """Decide from the object's layout, or when it cannot be read from the listing, whether an
        earlier change-owner took effect.

        `refused`: change-owner just answered a refusal (`403`, or `404` after an earlier send: Qlik
        does not document which a REST call gives for another user's private object). A refused
        private object the identity can no longer list has been handed over (a call that applied
        but answered 5xx or timed out, earlier).

        Read by whichever identity the pool gives (an admin.apps helper sees every object), whoever
        sent the change-owner: the layout is the truth either way."""
        object_id = row["object_id"]
        reader = self.session.pool.reader()
        try:
            obj = await reader.target.layout(cloud_app, object_id, row["type"])
        except QlikCommandFailed as e:
            if e.kind in TRANSIENT_KINDS:
                return Verdict.UNKNOWN
            return await self._settle_unseen(reader, cloud_app, app_id, row, e, refused)
        except QlikError:
            return Verdict.UNKNOWN
        target = row["target_owner_id"]
        if obj.owner_id == target:
            self.ledger.set_object(app_id, object_id, status=ObjectStatus.DONE, result_owner_id=target,
                                   evidence="layout")
            return Verdict.SETTLED
        if obj.owner_id == self.session.me_id:
            return Verdict.OURS
        self.ledger.set_object(
            app_id, object_id, status=ObjectStatus.FAILED_FOR_GOOD, result_owner_id=obj.owner_id,
            error=(f"owned by {obj.owner_id}, not the migration identity: only its owner or an OAuth client "
                   f"with admin.apps can change it"),
        )
        return Verdict.SETTLED

    async def _settle_unseen(self, reader: Identity, cloud_app: str, app_id: str, row: Any,
                             exc: QlikCommandFailed, refused: str) -> Verdict:
        """The layout was refused, in whatever words: the listing (by the same identity) says
        whether it still sees the object. The ledger says it was sent to its owner (this is a `sent` row, or a
        refused resend)."""
        object_id, target = row["object_id"], row["target_owner_id"]
        try:
            listed = await reader.target.listed_ids(cloud_app, row["type"])
        except QlikError:
            return Verdict.UNKNOWN
        if object_id in listed:
            return Verdict.UNKNOWN  # seen but unreadable: nothing to conclude; the next run reads again
        if row["state"] != State.PRIVATE or reader.admin_apps:
            # an identity that sees this object whoever owns it does not list it: not in the app
            self.ledger.set_object(app_id, object_id, status=ObjectStatus.FAILED_FOR_GOOD,
                                   error="not in the imported app (not listed)")
            return Verdict.SETTLED
        if refused or exc.kind == FailureKind.FORBIDDEN:
            # It exists (refused, or denied rather than unknown) and is no longer ours: handed over.
            why = f"change-owner refused ({refused}); " if refused else f"layout {exc.kind}; "
            self.ledger.set_object(app_id, object_id, status=ObjectStatus.DONE, result_owner_id=target,
                                   evidence=f"hidden: {why}private object sent to its owner and no longer "
                                            f"listed by the migration identity")
            return Verdict.SETTLED
        # Not listed: handed over, or never in the app. change-owner tells which (a refusal, or
        # 404 for an object that was never there); resending to an object already handed over is
        # refused and changes nothing.
        return Verdict.OURS


def recent(started: str) -> bool:
    """An interrupted creation started moments ago may not be in the (eventually consistent)
    `app ls` listing yet: look again a few times before concluding it created nothing."""
    return dt.datetime.now(dt.UTC) - parse_ts(started) < _LISTING_LAG


def parse_ts(value: str) -> dt.datetime:
    if not value:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)

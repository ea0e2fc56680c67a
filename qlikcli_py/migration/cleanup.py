"""The clean-up of the development copy: unpublish community objects, remove private and community
objects, save once, so the next publish from the copy cannot promote users' content to base content.

What is left in the copy is read from what the identity can list in it (it made the copy and owns
all of it), never from the words of an engine error: an id the copy no longer lists is gone. After
the save the copy is listed again: whether a removal made with `--no-save` in one `qlik` process
outlives it until the `app build` of another is not documented, so an id still there is removed
again with an `rm` that saves at once.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import structlog

from qlikcli_py.concurrency import fan_out
from qlikcli_py.errors import MigrationError
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.ledger import AppRecord
from qlikcli_py.ledger import Ledger
from qlikcli_py.models import State
from qlikcli_py.models import engine_group
from qlikcli_py.models import reassignable
from qlikcli_py.planning import AppPlan
from qlikcli_py.session import Session
from qlikcli_py.vocabulary import CleanupStatus
from qlikcli_py.vocabulary import FailureKind

log = structlog.get_logger("migrate")


class Cleanup:
    """Empties the development copy of users' content."""

    def __init__(self, session: Session, ledger: Ledger) -> None:
        self.session = session
        self.ledger = ledger

    async def clean(self, plan: AppPlan, rec: AppRecord) -> None:
        assert rec.copy_app_id
        copy, app_id = rec.copy_app_id, plan.app.id
        # What is removed is exactly what is handed over: users' content. App structure (the
        # script, the load model) is not user content and not an engine object that rm can reach.
        self.ledger.seed_cleanup(app_id, ((o.object_id, o.type, o.state.value) for o in plan.objects
                                          if reassignable(o)))
        rows = [r for r in self.ledger.cleanup_rows(app_id) if r["status"] != CleanupStatus.REMOVED]
        if not rows:
            return  # a resumed run: removed and saved already
        if rec.identity_id and rec.identity_id != self.session.me_id and not self.session.admin_apps:
            raise MigrationError(f"the development copy {copy} was made by identity {rec.identity_id}, whose "
                                 f"private objects this identity cannot see; run with that identity or one "
                                 f"with admin.apps")
        listed = await self._listed(copy, rows)
        present = [r for r in rows if r["object_id"] in listed]  # the others are gone already
        community = [r for r in present if r["state"] == State.COMMUNITY and r["status"] == CleanupStatus.PENDING]

        async def unpublish(row: Any) -> None:
            await self._engine_write(self.session.target.unpublish(copy, row["object_id"], row["type"]))
            self.ledger.set_cleanup(app_id, [row["object_id"]], CleanupStatus.UNPUBLISHED)

        await fan_out(community, unpublish, self.session.qlik.workers)
        # one `rm` per engine group (object, bookmark, dimension, measure), the groups at once
        await asyncio.gather(*(self._remove_group(copy, group_rows) for group_rows in _by_group(present)))
        # Saved even when nothing was left to remove: an earlier run's unsaved removals, if the
        # engine kept them, are saved now.
        await self.session.target.save(copy)
        listed = await self._listed(copy, rows)
        still = [r for r in rows if r["object_id"] in listed]
        if still:
            log.info("clean.removed_again", app=copy, objects=len(still),
                     why="still listed after the save: the engine did not keep the unsaved removals")
            await asyncio.gather(*(self._remove_group(copy, group_rows, save=True)
                                   for group_rows in _by_group(still)))
            listed = await self._listed(copy, still)
            left = sum(r["object_id"] in listed for r in still)
            if left:
                raise MigrationError(f"{left} private or community objects are still in the development copy "
                                     f"{copy} after their removal was saved; run again")
        # Marked removed only once the copy no longer lists them after a save.
        self.ledger.set_cleanup(app_id, (r["object_id"] for r in rows), CleanupStatus.REMOVED)

    async def _listed(self, copy: str, rows: list[Any]) -> set[str]:
        groups = {engine_group(r["type"]): r["type"] for r in rows}
        found = await asyncio.gather(*(self.session.target.listed_ids(copy, t) for t in groups.values()))
        return set().union(*found)

    async def _remove_group(self, copy: str, group_rows: list[Any], *, save: bool = False) -> None:
        ids = [r["object_id"] for r in group_rows]
        try:
            await self.session.target.remove(copy, ids, group_rows[0]["type"], save=save)
        except QlikCommandFailed:
            # Whatever the words: what the copy still lists is left to remove, one at a time, to
            # learn which id was the problem (a call that applied and then failed leaves none).
            listed = await self._listed(copy, group_rows)
            for row in group_rows:
                if row["object_id"] in listed:
                    await self._remove_one(copy, row, save=save)

    async def _remove_one(self, copy: str, row: Any, *, save: bool = False) -> None:
        try:
            await self.session.target.remove(copy, [row["object_id"]], row["type"], save=save)
        except QlikCommandFailed as e:
            if e.kind == FailureKind.NOT_FOUND:
                return  # already gone (the listing after the save confirms it)
            # Refused in whatever words: perhaps still published (an unpublish that was not kept)
            await self._engine_write(self.session.target.unpublish(copy, row["object_id"], row["type"]))
            await self.session.target.remove(copy, [row["object_id"]], row["type"], save=save)

    async def _engine_write(self, call: Awaitable[None]) -> None:
        try:
            await call
        except QlikCommandFailed as e:
            if e.kind != FailureKind.NOT_FOUND:  # not in the copy: nothing to do
                raise


def _by_group(rows: list[Any]) -> list[list[Any]]:
    by_group: dict[str, list[Any]] = {}
    for row in rows:
        by_group.setdefault(engine_group(row["type"]), []).append(row)
    return list(by_group.values())

"""The clean-up of the development copy: unpublish community objects, remove private and community
objects, save once, so the next publish from the copy cannot promote users' content to base content."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from qlikcli_py.concurrency import fan_out
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
        community = [r for r in rows if r["state"] == State.COMMUNITY and r["status"] == CleanupStatus.PENDING]

        async def unpublish(row: Any) -> None:
            await self._engine_write(self.session.target.unpublish(copy, row["object_id"], row["type"]))
            self.ledger.set_cleanup(app_id, [row["object_id"]], CleanupStatus.UNPUBLISHED)

        if not rows:
            return  # a resumed run: removed and saved already
        await fan_out(community, unpublish, self.session.qlik.workers)
        by_group: dict[str, list[Any]] = {}
        for row in rows:
            by_group.setdefault(engine_group(row["type"]), []).append(row)

        async def remove(group_rows: list[Any]) -> None:
            ids = [r["object_id"] for r in group_rows]
            try:
                await self.session.target.remove(copy, ids, group_rows[0]["type"])
            except QlikCommandFailed:
                for row in group_rows:  # one at a time, to learn which id was the problem
                    await self._remove_one(copy, row)

        # one `rm` per engine group (object, bookmark, dimension, measure), the groups at once
        await asyncio.gather(*(remove(group_rows) for group_rows in by_group.values()))
        await self.session.target.save(copy)
        # Marked removed only after the save: unsaved removals would be lost with the session.
        self.ledger.set_cleanup(app_id, (r["object_id"] for r in rows), CleanupStatus.REMOVED)

    async def _remove_one(self, copy: str, row: Any) -> None:
        try:
            await self.session.target.remove(copy, [row["object_id"]], row["type"])
        except QlikCommandFailed as e:
            if e.kind == FailureKind.NOT_FOUND:
                return  # already gone
            await self._engine_write(self.session.target.unpublish(copy, row["object_id"], row["type"]))
            await self.session.target.remove(copy, [row["object_id"]], row["type"])

    async def _engine_write(self, call: Awaitable[None]) -> None:
        try:
            await call
        except QlikCommandFailed as e:
            if e.kind != FailureKind.NOT_FOUND:  # not in the copy: nothing to do
                raise

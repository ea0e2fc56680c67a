"""Object-by-object proof that a migration landed: id, type, state and owner in the managed-space
app, and nothing but base objects in the development copy.

Cloud state is read through the engine (`app <group> ls`, then `layout` for `qMeta`), one engine
session per app (`X-Qlik-Session`). A migration identity without admin.apps cannot see private
objects it handed over: for those, `layout` answering "access denied" proves the object exists and
is owned by someone else, and the ledger's change-owner answer says by whom ("ok-hidden"). An
identity with admin.apps sees everything, so every object is checked directly.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from qlikcli_py.concurrency import fan_out
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.ledger import AppRecord
from qlikcli_py.ledger import Ledger
from qlikcli_py.models import NOT_REASSIGNABLE
from qlikcli_py.models import CloudObject
from qlikcli_py.models import SourceObject
from qlikcli_py.models import State
from qlikcli_py.models import reassignable
from qlikcli_py.planning import AppPlan
from qlikcli_py.session import Session
from qlikcli_py.vocabulary import CHECK_OK
from qlikcli_py.vocabulary import CheckStatus
from qlikcli_py.vocabulary import FailureKind
from qlikcli_py.vocabulary import Place


@dataclass
class Check:
    app_id: str
    app_name: str
    where: str  # managed | copy
    object_id: str
    type: str
    title: str
    state: str
    source_owner: str
    expected_owner: str
    found_state: str = ""
    found_owner: str = ""
    status: CheckStatus = CheckStatus.OK
    detail: str = ""

    def row(self) -> dict[str, Any]:
        return {"app_id": self.app_id, "app_name": self.app_name, "where": self.where, "object_id": self.object_id,
                "type": self.type, "title": self.title, "state": self.state, "source_owner": self.source_owner,
                "cloud_owner_id": self.found_owner or self.expected_owner, "expected_owner": self.expected_owner,
                "found_state": self.found_state, "status": self.status, "detail": self.detail}


class Verifier:
    def __init__(self, session: Session, ledger: Ledger) -> None:
        self.s = session
        self.ledger = ledger

    async def app(self, plan: AppPlan, rec: AppRecord) -> list[Check]:
        checks: list[Check] = []
        managed = rec.imported_app_id or ""
        session_name = f"qlik-migrate-verify-{managed}"
        visible = {oid: (otype, title) for oid, otype, title in
                   await self.s.pool.reader().target.list_objects(managed, session=session_name)}
        evidence = {r["object_id"]: r for r in self.ledger.objects(plan.app.id)}
        for obj in plan.objects:
            checks.append(self._check(plan, obj, Place.MANAGED, rec.identity_id))

        async def inspect(check: Check) -> None:
            await self._inspect(managed, check, evidence.get(check.object_id), session_name)

        await fan_out(checks, inspect, self.s.qlik.workers)
        known = {o.object_id for o in plan.objects}
        for oid, (otype, title) in sorted(visible.items()):
            if oid not in known:
                checks.append(Check(plan.app.id, plan.app.name, Place.MANAGED, oid, otype, title, "", "", "",
                                    status=CheckStatus.EXTRA, detail="in the cloud app but not in the source app"))
        checks += await self._copy(plan, rec)
        return checks

    def _check(self, plan: AppPlan, obj: SourceObject, where: str, ran_as: str = "") -> Check:
        owner = plan.owners.get(obj.owner_id)
        res = plan.resolutions.get(obj.owner_id)
        if not reassignable(obj):
            expected = ""  # base content belongs to the app owner: not compared
        elif res is not None and res.user is not None:
            expected = res.user.id
        else:
            # unmatched: left with the identity that ran the migration (the ledger knows which),
            # whoever verifies (the README recommends an admin.apps bot for verify)
            expected = ran_as or self.s.me_id
        return Check(plan.app.id, plan.app.name, where, obj.object_id, obj.type, obj.title, obj.state.value,
                     owner.key if owner else "", expected)

    async def _inspect(self, app_id: str, check: Check, ledger_row: Any, session: str) -> None:
        reader = self.s.pool.reader()  # the reads are shared by the identities (admin.apps ones first)
        try:
            found = await reader.target.layout(app_id, check.object_id, check.type, session=session)
        except QlikCommandFailed as e:
            self._unseen(check, e, ledger_row, sees_all=reader.admin_apps)
            return
        self._compare(check, found)

    def _unseen(self, check: Check, exc: QlikCommandFailed, ledger_row: Any, *, sees_all: bool = False) -> None:
        if exc.kind == FailureKind.NOT_FOUND:
            if check.type in NOT_REASSIGNABLE:
                check.status, check.detail = CheckStatus.NOT_CHECKED, "not an engine object in Qlik Cloud"
            else:
                check.status, check.detail = CheckStatus.MISSING, "not in the migrated app"
            return
        if exc.kind == FailureKind.FORBIDDEN and check.state == State.PRIVATE and not sees_all:
            proof = ledger_row["result_owner_id"] if ledger_row is not None else None
            if proof and proof == check.expected_owner:
                check.status, check.found_owner = CheckStatus.OK_HIDDEN, proof
                check.detail = "private and hidden from the migration identity; owner from the change-owner answer"
            else:
                check.status = CheckStatus.WRONG_OWNER
                check.detail = ("private, hidden from the migration identity, and the ledger has no change to the "
                                "expected owner")
            return
        check.status, check.detail = CheckStatus.UNREADABLE, exc.detail

    def _compare(self, check: Check, found: CloudObject) -> None:
        check.found_state, check.found_owner = found.state.value, found.owner_id
        problems: list[tuple[CheckStatus, str]] = []
        if found.type and found.type != check.type:
            problems.append((CheckStatus.WRONG_TYPE, f"type {found.type}, expected {check.type}"))
        if found.state.value != check.state:
            problems.append((CheckStatus.WRONG_STATE, f"state {found.state.value}, expected {check.state}"))
        if check.expected_owner and found.owner_id != check.expected_owner:
            problems.append((CheckStatus.WRONG_OWNER, f"owner {found.owner_id}, expected {check.expected_owner}"))
        if problems:
            check.status = problems[0][0]
            check.detail = "; ".join(p[1] for p in problems)

    async def _copy(self, plan: AppPlan, rec: AppRecord) -> list[Check]:
        """The development copy must hold base objects only, or the next publish promotes users'
        content to base content."""
        if not rec.copy_app_id:
            return []
        listed = {oid for oid, _t, _n in await self.s.target.list_objects(
            rec.copy_app_id, session=f"qlik-migrate-verify-{rec.copy_app_id}")}
        out = []
        for obj in plan.objects:
            check = self._check(plan, obj, Place.COPY)
            check.expected_owner = ""
            if obj.state is not State.BASE and obj.object_id in listed:
                check.status = CheckStatus.IN_COPY
                check.detail = "a private or community object is still in the development copy"
            elif obj.state is State.BASE and obj.object_id not in listed and obj.type not in NOT_REASSIGNABLE:
                check.status = CheckStatus.MISSING_IN_COPY
                check.detail = "a base object is missing from the development copy"
            else:
                continue
            out.append(check)
        return out


def summarize(checks: list[Check]) -> dict[str, Any]:
    by_status = Counter(c.status for c in checks)
    per_owner: dict[str, Counter[str]] = {}
    for c in checks:
        if c.where == Place.MANAGED and c.expected_owner:
            per_owner.setdefault(c.expected_owner, Counter())[c.status] += 1
    return {"by_status": dict(sorted(by_status.items())),
            "mismatches": sum(n for s, n in by_status.items() if s not in CHECK_OK),
            "per_owner": {k: dict(v) for k, v in sorted(per_owner.items())}}

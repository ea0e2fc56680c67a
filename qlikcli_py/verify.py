"""Object-by-object proof that a migration landed: id, type, state and owner in the managed-space
app, and nothing but base objects in the development copy.

Cloud state is read through the engine (`app <group> ls`, then `layout` of each listed object for
`qMeta`), one engine session per app (`X-Qlik-Session`). What the identity can list decides what it
sees, never the words of an engine error (Qlik does not document whether another user's private
object answers "access denied" or "not found"). A migration identity without admin.apps cannot see
private objects it handed over: an unlisted private object that the ledger shows handed over to
its expected owner is `handed-over-hidden` (not a mismatch; an admin.apps identity confirms the
owner), while one the ledger never handed over is `missing`. An identity with admin.apps sees
everything, so every object is checked directly.
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
from qlikcli_py.vocabulary import ObjectStatus
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
    expected_name: str = ""  # the expected cloud user's name, shown as `plan` shows owners
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
        self.session = session
        self.ledger = ledger

    async def app(self, plan: AppPlan, rec: AppRecord) -> list[Check]:
        checks: list[Check] = []
        managed = rec.imported_app_id or ""
        session_name = f"qlik-migrate-verify-{managed}"
        visible = {oid: (otype, title) for oid, otype, title in
                   await self.session.pool.reader().target.list_objects(managed, session=session_name)}
        evidence = {r["object_id"]: r for r in self.ledger.objects(plan.app.id)}
        for obj in plan.objects:
            checks.append(self._check(plan, obj, Place.MANAGED, rec.identity_id))

        async def inspect(check: Check) -> None:
            if check.object_id in visible:
                await self._inspect(managed, check, session_name)
            else:
                self._unlisted(check, evidence.get(check.object_id), rec.identity_id)

        await fan_out(checks, inspect, self.session.qlik.workers)
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
        name = ""
        if not reassignable(obj):
            expected = ""  # base content belongs to the app owner: not compared
        elif res is not None and res.user is not None:
            expected, name = res.user.id, res.user.name or res.user.subject
        else:
            # unmatched: left with the identity that ran the migration (the ledger knows which),
            # whoever verifies (the README recommends an admin.apps bot for verify)
            expected = ran_as or self.session.me_id
            if expected == self.session.me_id:
                name = str(self.session.me.get("name") or self.session.me.get("subject") or "")
        return Check(plan.app.id, plan.app.name, where, obj.object_id, obj.type, obj.title, obj.state.value,
                     owner.key if owner else "", expected, name)

    async def _inspect(self, app_id: str, check: Check, session: str) -> None:
        reader = self.session.pool.reader()  # the reads are shared by the identities (admin.apps ones first)
        try:
            found = await reader.target.layout(app_id, check.object_id, check.type, session=session)
        except QlikCommandFailed as e:
            # listed, yet unreadable: whatever the words, nothing is known of its owner or state
            check.status, check.detail = CheckStatus.UNREADABLE, e.detail
            return
        self._compare(check, found)

    def _unlisted(self, check: Check, ledger_row: Any, ran_as: str) -> None:
        """Not in the identity's listing of the migrated app: not an engine object, hidden from
        this identity after a hand-over the ledger recorded, or missing."""
        if check.type in NOT_REASSIGNABLE:
            check.status, check.detail = CheckStatus.NOT_CHECKED, "not an engine object in Qlik Cloud"
            return
        # the readers are all admin.apps identities (they see every object) or the target alone
        sees_all = self.session.pool.readers_see_all
        hideable = (check.state == State.PRIVATE and not sees_all and bool(check.expected_owner)
                    and check.expected_owner != self.session.me_id)
        if hideable and ledger_row is not None and _handed_over(ledger_row, check.expected_owner, ran_as):
            check.status = CheckStatus.HANDED_OVER_HIDDEN
            check.detail = (f"handed over to {check.expected_owner}, owner not visible to this identity: run verify "
                            f"with an admin.apps identity to confirm")
            return
        check.status = CheckStatus.MISSING
        check.detail = ("not listed by this identity, and the ledger shows no hand-over to its expected owner"
                        if hideable else "not in the migrated app")

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
        listed = {oid for oid, _t, _n in await self.session.target.list_objects(
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


def _handed_over(row: Any, expected: str, ran_as: str) -> bool:
    """The ledger shows the object with its expected owner: handed over to it (change-owner's
    answer, its layout, or a settled hand-over), or left with the run's identity (unmatched)."""
    if row["status"] == ObjectStatus.DONE:
        return bool(row["result_owner_id"] == expected)
    return bool(row["status"] == ObjectStatus.UNMATCHED and ran_as and expected == ran_as)


def summarize(checks: list[Check]) -> dict[str, Any]:
    by_status = Counter(c.status for c in checks)
    per_owner: dict[str, Counter[str]] = {}
    owners: dict[tuple[str, str], tuple[str, Counter[str]]] = {}
    for c in checks:
        if c.where == Place.MANAGED and c.expected_owner:
            per_owner.setdefault(c.expected_owner, Counter())[c.status] += 1
            _name, counts = owners.setdefault((c.source_owner, c.expected_owner), (c.expected_name, Counter()))
            counts[c.status] += 1
    return {"by_status": dict(sorted(by_status.items())),
            "mismatches": sum(n for s, n in by_status.items() if s not in CHECK_OK),
            "per_owner": {k: dict(v) for k, v in sorted(per_owner.items())},
            # as `plan` shows owners: the on-prem owner, then the cloud user's name and id
            "owners": [{"source_owner": src, "cloud_user": name, "cloud_user_id": cloud, "statuses": dict(counts)}
                       for (src, cloud), (name, counts) in sorted(owners.items(), key=lambda kv: kv[0][0].casefold())]}

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

After `sync`, the ledger's waves explain what differs from the source as it is now, and nothing
they explain is a mismatch: an object a wave reported as not brought over (a bookmark, a master
dimension, new base content) is `not-synced` with the wave's reason; a migrated object a wave
reported changed on-prem is compared with the state and owner the ledger recorded when it came
over (sync leaves the cloud copy as it was: its owner may have edited it) and is `changed-on-prem`
when it matches that; a migrated object no longer in the source is `deleted-on-prem` (sync never
deletes; whether the cloud copy is still there is shown, not judged). Objects sync brought over are
in the ledger's objects and are checked like migrated ones. What the ledger does not explain (an
object of the source no run or wave knows, a migrated object gone from the cloud) stays a mismatch.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from qlikcli_py import ledger_waves
from qlikcli_py.concurrency import fan_out
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.ledger import AppRecord
from qlikcli_py.ledger import Ledger
from qlikcli_py.migration.sync import Kind as WaveKind
from qlikcli_py.migration.sync import Row as WaveRow
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
    wave_id: str = ""  # the sync wave that brought the object, or reported it

    def row(self) -> dict[str, Any]:
        return {"app_id": self.app_id, "app_name": self.app_name, "where": self.where, "object_id": self.object_id,
                "type": self.type, "title": self.title, "state": self.state, "source_owner": self.source_owner,
                "cloud_owner_id": self.found_owner or self.expected_owner, "expected_owner": self.expected_owner,
                "found_state": self.found_state, "status": self.status, "detail": self.detail,
                "wave_id": self.wave_id}


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
        waves = _Waves(self.ledger, plan.app.id)
        source_ids = {o.object_id for o in plan.objects}
        todo: list[Check] = []  # what is read in the cloud app
        for obj in plan.objects:
            check = self._check(plan, obj, Place.MANAGED, rec.identity_id)
            checks.append(check)
            row = evidence.get(obj.object_id)
            came = waves.get(obj.object_id, WaveKind.NEW)
            check.wave_id = came["wave_id"] if came is not None else ""
            if row is None and (reported := waves.get(obj.object_id, WaveKind.NOT_SYNCED)) is not None:
                # never migrated, and a wave said why it did not bring it: nothing to read
                check.status, check.wave_id = CheckStatus.NOT_SYNCED, reported["wave_id"]
                check.detail = f"reported by sync: {reported['detail']}"
                continue
            if row is not None and (changed := waves.get(obj.object_id, WaveKind.CHANGED)) is not None:
                # sync leaves the cloud copy as it came over: compared with the ledger, not the source now
                self._as_migrated(plan, check, row, rec.identity_id)
                check.wave_id = changed["wave_id"]
            todo.append(check)
        deleted = {oid: row for oid, row in evidence.items()
                   if oid not in source_ids and row["type"] not in NOT_REASSIGNABLE}
        for oid, row in sorted(deleted.items()):
            check = Check(plan.app.id, plan.app.name, Place.MANAGED, oid, row["type"], row["title"], "", "", "")
            self._as_migrated(plan, check, row, rec.identity_id)
            reported = waves.get(oid, WaveKind.DELETED)
            check.wave_id = reported["wave_id"] if reported is not None else ""
            checks.append(check)
            todo.append(check)

        async def inspect(check: Check) -> None:
            if check.object_id in visible:
                await self._inspect(managed, check, session_name)
            else:
                self._unlisted(check, evidence.get(check.object_id), rec.identity_id)
            if check.object_id in deleted:
                self._deleted_on_prem(check, check.object_id in visible, bool(check.wave_id))
            elif check.object_id in evidence:
                if waves.get(check.object_id, WaveKind.CHANGED) is not None:
                    _changed_on_prem(check)
            else:
                _never_migrated(check, waves.get(check.object_id, WaveKind.NEW))

        await fan_out(todo, inspect, self.session.qlik.workers)
        known = source_ids | set(evidence)
        for oid, (otype, title) in sorted(visible.items()):
            if oid not in known:
                stray = waves.get(oid, WaveKind.STRAY)
                detail = "in the cloud app but not in the source app"
                if stray is not None:
                    detail += f" (sync {stray['detail']}, yet it is still listed)"
                checks.append(Check(plan.app.id, plan.app.name, Place.MANAGED, oid, otype, title, "", "", "",
                                    status=CheckStatus.EXTRA, detail=detail))
        checks += await self._copy(plan, rec, evidence)
        return checks

    def _as_migrated(self, plan: AppPlan, check: Check, row: Any, ran_as: str) -> None:
        """The state and owner the ledger recorded when the object came over (run or sync)."""
        check.state, check.source_owner = row["state"], row["source_owner"]
        if row["state"] == State.BASE or row["type"] in NOT_REASSIGNABLE:
            expected = ""
        elif row["status"] == ObjectStatus.UNMATCHED:
            expected = ran_as or self.session.me_id
        else:
            expected = row["result_owner_id"] or row["target_owner_id"] or ""
        check.expected_owner, check.expected_name = expected, self._name(plan, expected)

    def _name(self, plan: AppPlan, user_id: str) -> str:
        for res in plan.resolutions.values():
            if res.user is not None and res.user.id == user_id:
                return str(res.user.name or res.user.subject)
        if user_id and user_id == self.session.me_id:
            return str(self.session.me.get("name") or self.session.me.get("subject") or "")
        return ""

    def _deleted_on_prem(self, check: Check, listed: bool, reported: bool) -> None:
        """Migrated, since deleted on-prem: sync never deletes, and a user may have deleted the
        cloud copy too; what the cloud app holds is shown, never judged."""
        check.status = CheckStatus.DELETED_ON_PREM
        why = "reported by sync" if reported else "no sync has reported it yet"
        if listed:
            where = "still in the cloud app, left as it is (sync never deletes)"
        elif check.state == State.PRIVATE and not self.session.pool.readers_see_all:
            where = "not listed by this identity (deleted in the cloud too, or private and hidden from it)"
        else:
            where = "no longer in the cloud app either"
        check.detail = f"deleted on-prem after its migration ({why}); {where}"

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

    async def _copy(self, plan: AppPlan, rec: AppRecord, evidence: dict[str, Any]) -> list[Check]:
        """The development copy must hold base objects only, or the next publish promotes users'
        content to base content. It was made by `run`: its base objects are those the ledger
        migrated, in the state they came over (new base content on-prem is sync's not-synced)."""
        if not rec.copy_app_id:
            return []
        listed = {oid for oid, _t, _n in await self.session.target.list_objects(
            rec.copy_app_id, session=f"qlik-migrate-verify-{rec.copy_app_id}")}
        out = []
        for obj in plan.objects:
            check = self._check(plan, obj, Place.COPY)
            check.expected_owner = ""
            row = evidence.get(obj.object_id)
            state = State(row["state"]) if row is not None else obj.state
            migrated = row is not None or not evidence  # a ledger without object rows: the source decides
            if state is not State.BASE and obj.object_id in listed:
                check.status = CheckStatus.IN_COPY
                check.detail = "a private or community object is still in the development copy"
            elif (state is State.BASE and migrated and obj.object_id not in listed
                  and obj.type not in NOT_REASSIGNABLE):
                check.status = CheckStatus.MISSING_IN_COPY
                check.detail = "a base object is missing from the development copy"
            else:
                continue
            out.append(check)
        return out


class _Waves:
    """What `sync`'s waves recorded of an app (ledger_waves.py), by object and kind."""

    def __init__(self, ledger: Ledger, app_id: str) -> None:
        self.rows = {(r["object_id"], r["kind"]): r for r in ledger_waves.wave_objects(ledger, app_id)}

    def get(self, object_id: str, kind: str) -> Any:
        return self.rows.get((object_id, kind))


def _changed_on_prem(check: Check) -> None:
    """Changed on-prem since it came over, reported by a wave: compared as it was migrated."""
    why = "changed on-prem after its migration (reported by sync; the cloud copy is left as it came over)"
    if check.status == CheckStatus.OK:
        check.status = CheckStatus.CHANGED_ON_PREM
        check.detail = f"{why}: matches the state and owner it was migrated with"
    elif check.status == CheckStatus.HANDED_OVER_HIDDEN:
        check.status = CheckStatus.CHANGED_ON_PREM
        check.detail = f"{why}: {check.detail}"
    else:
        check.detail = f"{check.detail}; {why}: compared with the state and owner it was migrated with"


def _never_migrated(check: Check, came: Any) -> None:
    """In the source, not in the ledger's migrated objects: brought by an unfinished wave, or new
    on-prem content no sync has seen yet (a mismatch until a sync brings or reports it)."""
    if check.status in CHECK_OK:
        return
    if came is None:
        hint = "no sync has reported it (new on-prem since the last sync? `sync --dry-run` shows it)"
    elif came["status"] == WaveRow.FAILED_FOR_GOOD:
        hint = f"sync could not bring it over: {came['detail']}"
    else:
        hint = f"a sync has not finished bringing it over ({came['status']}): run sync again"
    check.detail = f"{check.detail}; {hint}"


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

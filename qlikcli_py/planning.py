"""The read-only half of a migration: what each app holds and whose content goes where.

`plan` prints this and stops; `run` builds the same plan first, so an owner that will not match is
known before the first change (and `--on-unmatched fail` stops there).
"""
from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import structlog

from qlikcli_py.call_sizes import RM_IDS_PER_CALL
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.errors import UsageProblem
from qlikcli_py.filters import is_guid
from qlikcli_py.mapping import OwnerMapper
from qlikcli_py.mapping import Resolution
from qlikcli_py.models import SourceApp
from qlikcli_py.models import SourceObject
from qlikcli_py.models import SourceOwner
from qlikcli_py.models import Space
from qlikcli_py.models import State
from qlikcli_py.models import engine_group
from qlikcli_py.models import reassignable
from qlikcli_py.pacing import Pacer
from qlikcli_py.session import Session
from qlikcli_py.session import resolve_space
from qlikcli_py.vocabulary import FailureKind
from qlikcli_py.vocabulary import SpaceType

SCRIPT_STEP_CALLS = 2  # app script get + app connection ls on the imported app


@dataclass(frozen=True)
class AppSpec:
    """One source app and where it goes: from the command line or a manifest row."""

    source_app_id: str
    shared_space: str
    managed_space: str
    skip_data: bool = False


@dataclass
class AppPlan:
    spec: AppSpec
    app: SourceApp
    shared: Space
    managed: Space
    objects: list[SourceObject]
    owners: dict[str, SourceOwner]
    resolutions: dict[str, Resolution] = dataclasses.field(default_factory=dict)

    def counts(self) -> dict[str, dict[str, int]]:
        table: dict[str, Counter[str]] = defaultdict(Counter)
        for obj in self.objects:
            table[obj.type][obj.state.value] += 1
        return {t: dict(c) for t, c in sorted(table.items())}

    def owner_rows(self) -> list[dict[str, Any]]:
        per_owner: Counter[str] = Counter(o.owner_id for o in self.objects if reassignable(o))
        rows = []
        for owner_id, count in sorted(per_owner.items(), key=lambda kv: self.owners[kv[0]].key.casefold()):
            owner = self.owners[owner_id]
            res = self.resolutions.get(owner_id)
            rows.append({
                "source_owner": owner.key, "name": owner.name, "objects": count,
                "matched": bool(res and res.matched), "rule": res.rule if res else None,
                "cloud_user_id": res.user.id if res and res.user else None,
                "cloud_user": (res.user.name or res.user.subject) if res and res.user else None,
                "detail": res.detail if res else "not resolved",
                "candidates": [{"id": u.id, "name": u.name, "subject": u.subject, "email": u.email}
                               for u in (res.candidates if res else ())],
            })
        return rows

    def change_owner_calls(self, me_id: str) -> int:
        n = 0
        for obj in self.objects:
            res = self.resolutions.get(obj.owner_id)
            if reassignable(obj) and res and res.user and res.user.id != me_id:
                n += 1
        return n

    def write_calls(self, me_id: str) -> int:
        return 3 + self.change_owner_calls(me_id)  # import + copy + move, then one per object

    def engine_calls(self) -> int:
        """What the clean-up of the development copy costs: one listing per engine group before and
        after the save, one unpublish per community object, one `rm` per engine group and chunk,
        one save (migration/cleanup.py); and the script step reads the script and the app's
        connections (migration/scripts.py; one more call, a `script set`, when --connection-map
        renames something)."""
        to_clean = [o for o in self.objects if reassignable(o)]
        community = sum(1 for o in to_clean if o.state is State.COMMUNITY)
        groups = Counter(engine_group(o.type) for o in to_clean)
        removals = sum(-(-n // RM_IDS_PER_CALL) for n in groups.values())
        return 2 * len(groups) + community + removals + 1 + SCRIPT_STEP_CALLS

    def unmatched(self) -> list[dict[str, Any]]:
        return [r for r in self.owner_rows() if not r["matched"]]

    def summary(self, me_id: str, pacer: Pacer) -> dict[str, Any]:
        writes = self.write_calls(me_id)
        return {
            "source_app_id": self.app.id, "name": self.app.name, "stream": self.app.stream,
            "shared_space": {"id": self.shared.id, "name": self.shared.name},
            "managed_space": {"id": self.managed.id, "name": self.managed.name},
            "objects": len(self.objects), "by_type_and_state": self.counts(),
            "owners": self.owner_rows(), "write_calls": writes, "engine_calls": self.engine_calls(),
            "minimum_seconds": round(pacer.minimum_seconds("write", writes), 1),
        }


async def plan_apps(session: Session, specs: list[AppSpec], mapper: OwnerMapper,
                    *, need_emails: bool = True) -> list[AppPlan]:
    unique = list({spec.source_app_id: spec for spec in reversed(specs)}.values())[::-1]  # first spec wins

    async def one(spec: AppSpec) -> AppPlan:
        with structlog.contextvars.bound_contextvars(app=spec.source_app_id, step="plan"):
            return await plan_app(session, spec)

    # Apps are read at once (the runner bounds how many calls are in flight): a batch of hundreds of
    # apps is planned in the time of a few QRS round trips each, not of all of them in a row.
    plans = list(await asyncio.gather(*(one(spec) for spec in unique)))
    owners: dict[str, SourceOwner] = {}
    for plan in plans:
        # Only owners of user content need a cloud user; base objects stay with the app owner.
        needed = {o.owner_id for o in plan.objects if reassignable(o)}
        owners.update((k, v) for k, v in plan.owners.items() if k in needed)
    if need_emails and owners:
        emails = await session.source.emails(owners)
        owners = {k: dataclasses.replace(v, email=emails.get(k)) for k, v in owners.items()}
    resolutions = await mapper.resolve(owners.values())
    for plan in plans:
        plan.owners = {k: owners.get(k, v) for k, v in plan.owners.items()}
        plan.resolutions = {k: resolutions[k] for k in plan.owners if k in resolutions}
    return plans


async def plan_app(session: Session, spec: AppSpec) -> AppPlan:
    if not is_guid(spec.source_app_id):
        raise UsageProblem(f"{spec.source_app_id!r} is not a QRS app id "
                           "(a GUID like 5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c)")
    shared = resolve_space(session.spaces, spec.shared_space, want=SpaceType.SHARED, flag="--shared-space")
    managed = resolve_space(session.spaces, spec.managed_space, want=SpaceType.MANAGED, flag="--managed-space")
    # the app and its objects in one round trip; the app's answer decides first
    got_app, got_objects = await asyncio.gather(session.source.app(spec.source_app_id),
                                                session.source.objects(spec.source_app_id), return_exceptions=True)
    if isinstance(got_app, QlikCommandFailed) and got_app.kind == FailureKind.NOT_FOUND:
        raise UsageProblem(
            f"app {spec.source_app_id} does not exist on the source context {session.source.context!r}: "
            f"check the id (`qlik qrs app get ID --context {session.source.context}`) or --source-context"
        ) from got_app
    for result in (got_app, got_objects):
        if isinstance(result, BaseException):
            raise result
    assert not isinstance(got_app, BaseException) and not isinstance(got_objects, BaseException)
    app = got_app
    objects, owners = got_objects
    return AppPlan(spec=spec, app=app, shared=shared, managed=managed, objects=objects, owners=owners)

"""One source app, a real ledger and a `FakeTenant`, driven through `Migration.migrate_app`.

The app holds three objects, enough for every decision: a base sheet (stays with the app owner),
a private sheet of Alice and a community story of Bob (both handed over). `World.run()` is one
`qlik-migrate run` of the app, made in a forked process; a run killed mid-call (`killed(...)`) is
SIGKILLed there, so the ledger holds exactly what the code committed before the call (no `finally`
or `except` of the tool runs), and the next `run()` resumes from there, as after a real kill.
"""
from __future__ import annotations

import asyncio
import dataclasses
import os
import pickle
import signal
import traceback
from pathlib import Path
from typing import Any

from qlikcli_py.ledger import Ledger
from qlikcli_py.mapping import Resolution
from qlikcli_py.migration import AppOutcome
from qlikcli_py.migration import Migration
from qlikcli_py.models import CloudUser
from qlikcli_py.models import SourceApp
from qlikcli_py.models import SourceObject
from qlikcli_py.models import SourceOwner
from qlikcli_py.models import Space
from qlikcli_py.models import State
from qlikcli_py.planning import AppPlan
from qlikcli_py.planning import AppSpec
from qlikcli_py.progress import Progress
from qlikcli_py.session import Session
from qlikcli_py.settings import RunOptions
from qlikcli_py.source import Source
from qlikcli_py.target import Target

from .tenant import ME
from .tenant import FakeTenant
from .tenant import Outcome
from .tenant import command_of

APP_ID = "5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c"
APP_NAME = "Sales Overview"
SHARED = Space("65b2c3d4e5f6a7b8c9d0e1f3", "Finance Dev", "shared", ("create",))
MANAGED = Space("65b2c3d4e5f6a7b8c9d0e1f4", "Finance", "managed", ("publish",))
ALICE = SourceOwner("a1111111-1111-4111-8111-111111111111", "alice", "ACME", "Alice")
BOB = SourceOwner("b2222222-2222-4222-8222-222222222222", "bob", "ACME", "Bob")
CLOUD_ALICE = CloudUser("64a1f0c2e3b4d5f6a7b8c9a1", "Alice", "ACME\\alice", "alice@acme.example")
CLOUD_BOB = CloudUser("64a1f0c2e3b4d5f6a7b8c9b2", "Bob", "ACME\\bob", "bob@acme.example")

BASE, PRIVATE, COMMUNITY = "base-sheet", "private-sheet", "community-story"
OBJECTS = [
    SourceObject(BASE, "sheet", "Overview", State.BASE, ALICE.id),
    SourceObject(PRIVATE, "sheet", "Alice's drill-down", State.PRIVATE, ALICE.id),
    SourceObject(COMMUNITY, "story", "Bob's Q4 story", State.COMMUNITY, BOB.id),
]
TARGET_OWNER = {PRIVATE: CLOUD_ALICE.id, COMMUNITY: CLOUD_BOB.id}
# What the export of the app holds, as the tenant's import reads it: id -> (type, published, approved).
QVF = {o.object_id: (o.type, o.state is not State.PRIVATE, o.state is State.BASE) for o in OBJECTS}


def plan(modified: str = "2024-05-01T10:00:00.000Z") -> AppPlan:
    app = SourceApp(APP_ID, APP_NAME, modified, "Finance", "ACME\\alice")
    return AppPlan(
        spec=AppSpec(APP_ID, SHARED.id, MANAGED.id), app=app, shared=SHARED, managed=MANAGED,
        objects=list(OBJECTS), owners={ALICE.id: ALICE, BOB.id: BOB},
        resolutions={ALICE.id: Resolution(ALICE, CLOUD_ALICE, "subject", "subject ACME\\alice"),
                     BOB.id: Resolution(BOB, CLOUD_BOB, "subject", "subject ACME\\bob")},
    )


@dataclasses.dataclass
class RunResult:
    outcome: AppOutcome | None  # None when the run was killed
    calls: list[tuple[str, ...]]  # argv of every qlik call this run made


class World:
    def __init__(self, tmp_path: Path, *, admin: bool = False, hidden_answer: str = "access_denied",
                 absent_answer: str = "engine_not_found", drop_unsaved: bool = False,
                 hidden_refusal: str = "403", connection_map: dict[str, str] | None = None) -> None:
        self.connection_map = connection_map or {}
        self.tenant = FakeTenant(QVF, admin=admin, hidden_answer=hidden_answer, absent_answer=absent_answer,
                                 drop_unsaved=drop_unsaved, hidden_refusal=hidden_refusal)
        self.ledger = Ledger(tmp_path / "state")
        self.export_dir = tmp_path / "exports"
        self.export_dir.mkdir()
        self.scratch = tmp_path / "scratch"
        me: dict[str, Any] = {"id": ME, "subject": "qlikbot\\migrate" if admin else "ACME\\svc_migrate"}
        if admin:
            me["assignedScopes"] = ["admin.apps", "admin_classic"]
        self.session = Session(
            qlik=self.tenant, source=Source(self.tenant, "qseow", scratch=self.scratch),
            target=Target(self.tenant, "acme-cloud", scratch=self.scratch), version="2.24.0", me=me,
            spaces=[SHARED, MANAGED],
        )
        self.runs: list[RunResult] = []
        self.modified = "2024-05-01T10:00:00.000Z"  # the source app's modifiedDate on-prem

    def change_source(self, modified: str) -> None:
        """Someone changes the app on-prem: a new modifiedDate, and its export holds new content."""
        self.modified = modified
        self.tenant.source_version += 1

    def script(self, command: str, *outcomes: Outcome, token: str | None = None, forever: bool = False) -> None:
        self.tenant.script(command, *outcomes, token=token, forever=forever)

    def run(self, *, retry_failed: bool = False) -> RunResult:
        """One run of the app, as `qlik-migrate run` makes it (a new Migration over the same ledger)."""
        before = len(self.tenant.calls)
        if not self.tenant.kill_scripted():  # nothing to kill: in this process, faster
            migration = Migration(self.session, self.ledger,
                                  RunOptions(export_dir=self.export_dir, retry_failed=retry_failed,
                                             connection_map=self.connection_map),
                                  Progress(1, enabled=False))
            result = RunResult(asyncio.run(migration.migrate_app(plan(self.modified))), self.tenant.calls[before:])
            self.runs.append(result)
            return result
        out = self.export_dir.parent / "run.pickle"
        out.unlink(missing_ok=True)
        pid = os.fork()
        if pid == 0:  # the run's own process: it ends here, by os._exit or by SIGKILL
            code = 0
            try:
                def die() -> None:
                    out.write_bytes(pickle.dumps((self.tenant.state(), None)))
                    os.kill(os.getpid(), signal.SIGKILL)

                self.tenant.on_kill = die
                migration = Migration(self.session, Ledger(self.ledger.dir),
                                      RunOptions(export_dir=self.export_dir, retry_failed=retry_failed,
                                                 connection_map=self.connection_map),
                                      Progress(1, enabled=False))
                done = asyncio.run(migration.migrate_app(plan(self.modified)))
                self.tenant.on_kill = None
                out.write_bytes(pickle.dumps((self.tenant.state(), done)))
            except BaseException:
                out.with_suffix(".error").write_text(traceback.format_exc())
                code = 3
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        error = out.with_suffix(".error")
        if error.exists():
            raise AssertionError(f"the run failed in its process:\n{error.read_text()}")
        state, outcome = pickle.loads(out.read_bytes())
        assert (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL) == (outcome is None), status
        self.tenant.restore(state)
        result = RunResult(outcome, self.tenant.calls[before:])
        self.runs.append(result)
        return result

    # -- what the ledger and the tenant hold ----------------------------------------------------
    def app(self) -> Any:
        return self.ledger.app(APP_ID)

    def obj(self, object_id: str) -> dict[str, Any]:
        return {r["object_id"]: dict(r) for r in self.ledger.objects(APP_ID)}[object_id]

    def cleanup(self) -> dict[str, str]:
        return {r["object_id"]: r["status"] for r in self.ledger.cleanup_rows(APP_ID)}

    def commands(self, command: str) -> list[tuple[str, ...]]:
        return [c for c in self.tenant.calls if command_of(c) == command]

    def apps_in(self, space: Space) -> list[str]:
        return sorted(a.id for a in self.tenant.in_space(space.id))

    def owner_on_tenant(self, object_id: str) -> str:
        imported = self.app().imported_app_id
        return self.tenant.apps[imported].objects[object_id].owner


def next_call(calls: list[tuple[str, ...]], after: str, *, token: str | None = None) -> str | None:
    """The command of the call that followed the first `after` call (about `token` if given)."""
    names = [command_of(c) for c in calls]
    for i, name in enumerate(names):
        if name == after and (token is None or token in calls[i]):
            rest = [n for n, c in zip(names[i + 1:], calls[i + 1:], strict=True) if token is None or token in c]
            return rest[0] if rest else None
    raise AssertionError(f"no {after!r} call in {names}")


def assert_converged(world: World, *, retry_failed: bool = False) -> None:
    """Whatever happened, a further healthy run ends with one import (moved into the managed space),
    one development copy in the shared space, every object with its owner and the copy cleaned."""
    final = world.run(retry_failed=retry_failed)
    assert final.outcome is not None and final.outcome.status == "done", final.outcome
    rec = world.app()
    assert world.apps_in(MANAGED) == [rec.imported_app_id]
    assert world.apps_in(SHARED) == [rec.copy_app_id]
    moved = world.tenant.apps[rec.imported_app_id]
    assert {oid: o.owner for oid, o in moved.objects.items()} == {BASE: ME, **TARGET_OWNER}
    assert set(world.tenant.apps[rec.copy_app_id].objects) == {BASE}

"""Decision tables for the move into the managed space and the clean-up of the development copy.

move: `qlik app publish create IMPORTED --spaceId MANAGED --moveApp --originAppId COPY`, preceded by
`app get IMPORTED` (already moved?). clean, on the copy: `app object unpublish` per community object,
`app object rm IDS --no-save` per engine group, then one `app build --no-reload --no-data`.
Each row: the situation, the Qlik behaviour relied on (REAL / DOC / INFERRED), the app's ledger state
after the run, the call made next (the resumed run's first, for a kill), and a converging rerun.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from .harness import COMMUNITY
from .harness import MANAGED
from .harness import PRIVATE
from .harness import World
from .harness import assert_converged
from .harness import next_call
from .tenant import Outcome
from .tenant import answered
from .tenant import command_of
from .tenant import failed
from .tenant import killed
from .tenant import timed_out

AMBIGUOUS = "a 5xx or a timeout says nothing about whether the write was applied (DOC: not idempotent)"
MOVE_KEEPS_ID = ("`publish create --moveApp` moves the app, same id, into the managed space; `app get` shows "
                 "its spaceId (DOC app-publish-create, apps spec PublishApp)")
DEFINITE_4XX = "a 4xx is a refusal: nothing was applied (DOC apps API error semantics)"
RM_GONE = ("`rm` of an id no longer in the app fails with an engine not-found error (INFERRED text "
           "`9003 PERSISTENCE NOT FOUND`, CODE Pupfish): already removed")
UNSAVED = "removals made with --no-save last only once `app build --no-reload` saves the app (DOC app-object-rm)"
LISTED = ("what the copy lists is what is left in it: the migration identity made the copy and sees all of it "
          "(DOC visibility rule); an id it no longer lists is gone, whatever an engine error says")
DROPPED = ("whether an unsaved removal outlives the `qlik` process that made it is not documented (INFERRED): "
           "after the save the copy is listed, and what is still there is removed by an `rm` that saves at once")
NOVEL = ("engine errors in words nobody has recorded, without a code (INFERRED: no 2.x/3.x engine error was ever "
         "recorded; corectl printed `no object by ID` without one, CODE)")


@dataclass(frozen=True)
class Row:
    command: str  # the call the situation happens to
    situation: Outcome
    qlik_behaviour: str
    status: str | None  # the app's ledger status after the run; None: the run was killed
    next_call: str | None
    sent: int = 1  # times sent in all, the converging run included: move `publish create`, clean `command`
    error: str = ""
    absent_answer: str = "engine_not_found"  # what the engine says of an id the app does not hold
    drop_unsaved: bool = False  # rm --no-save is lost with its process


PUBLISH, GET = "app publish create", "app get"
UNPUBLISH, RM, BUILD, LS = "app object unpublish", "app object rm", "app build", "app object ls"
MOVE = {
    "answered": Row(PUBLISH, answered(), MOVE_KEEPS_ID, "done", None),
    "failed-not-applied": Row(PUBLISH, failed("503"), f"{AMBIGUOUS}; {MOVE_KEEPS_ID}: still in the shared space",
                              "failed", GET, 2, "moving"),
    "failed-but-applied": Row(PUBLISH, failed("503", applied=True), f"{AMBIGUOUS}; {MOVE_KEEPS_ID}", "done", GET),
    "timed-out-not-applied": Row(PUBLISH, timed_out(applied=False), f"{AMBIGUOUS}; {MOVE_KEEPS_ID}", "failed", GET,
                                 2, "moving"),
    "timed-out-applied": Row(PUBLISH, timed_out(applied=True), f"{AMBIGUOUS}; {MOVE_KEEPS_ID}", "done", GET),
    "killed-before-answer-applied": Row(PUBLISH, killed(applied=True), f"{MOVE_KEEPS_ID}: the resumed run sees it "
                                        "moved and does not publish again", None, GET),
    "killed-before-answer-not-applied": Row(PUBLISH, killed(applied=False), MOVE_KEEPS_ID, None, GET, 2),
    "forbidden": Row(PUBLISH, failed("403"), f"{DEFINITE_4XX}: no publish permission in the managed space", "failed",
                     None, 2, "moving"),
    "not-found": Row(PUBLISH, failed("404"), f"{DEFINITE_4XX}: the managed space was deleted", "failed", None, 2,
                     "moving"),
    "imported-app-deleted": Row(GET, failed("404"), "`app get` answers 404 for a deleted app (DOC)", "failed", None,
                                1, "no longer exists"),
}
CLEAN = {
    "answered": Row(RM, answered(), UNSAVED, "done", BUILD),
    "unpublish-failed": Row(UNPUBLISH, failed("503"), "an engine call that still fails after the runner's retries "
                            "(INFERRED)", "failed", None, 2),
    "unpublish-not-found": Row(UNPUBLISH, failed("engine_not_found"), "unpublish of an id not in the copy: nothing "
                               "to do (INFERRED text)", "done", RM),
    "rm-failed-not-applied": Row(RM, failed("503"), "a failed batch is retried one id at a time to learn which one "
                                 "failed (INFERRED)", "done", LS, 3),
    "rm-failed-but-applied": Row(RM, failed("503", applied=True), f"{LISTED}: the batch applied, nothing to "
                                 "remove one at a time", "done", LS, 1),
    "rm-failed-but-applied-novel-wording": Row(RM, failed("engine_novel", applied=True), f"{NOVEL}; {LISTED}",
                                               "done", LS, 1, absent_answer="engine_novel"),
    "rm-failed-novel-wording": Row(RM, failed("engine_novel"), f"{NOVEL}; {LISTED}: still listed, so removed one "
                                   "at a time", "done", LS, 3, absent_answer="engine_novel"),
    "rm-timed-out": Row(RM, timed_out(applied=True), f"{LISTED}; a timeout after the runner's retries fails the "
                        "app, the rerun lists the copy and finds the ids gone", "failed", None, 1),
    "rm-not-found": Row(RM, failed("engine_not_found"), f"{RM_GONE}: e.g. private objects of others are not "
                        "copied (INFERRED copy rule)", "done", LS, 3),
    "rm-forbidden": Row(RM, failed("access_denied"), "a published object cannot be removed until unpublished "
                        "(DOC rule; INFERRED text)", "done", LS, 3),
    "build-failed": Row(BUILD, failed("503"), f"{UNSAVED}: not saved, so not marked removed", "failed", None, 2),
    "killed-during-build-applied": Row(BUILD, killed(applied=True), f"{UNSAVED}; {LISTED}: the resumed run "
                                       "lists the copy, finds the ids gone and only saves", None, LS, 2),
    "unpublish-failed-novel-wording": Row(UNPUBLISH, failed("engine_novel"), f"{NOVEL}: a refusal the tool cannot "
                                          "read fails the app; the rerun finds the object still listed and "
                                          "unpublishes it", "failed", None, 2, absent_answer="engine_novel"),
    "unsaved-removals-dropped": Row(RM, answered(), f"{UNSAVED}; {DROPPED}", "done", BUILD, 2, drop_unsaved=True),
}


def _run(world: World, row: Row, about: str) -> None:
    """`about`: "imported" or "copy", the app whose calls make the chain the row speaks of (the
    hand-over of the imported app and the clean-up of the copy run side by side)."""
    world.script(row.command, row.situation)
    first = world.run()
    rec = world.app()
    app = rec.imported_app_id if about == "imported" else rec.copy_app_id
    assert app

    def chain(calls: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
        # the copy's own calls name it with --app (publish names it only as --originAppId)
        return [c for c in calls if (app in c if about == "imported" else _app_of(c) == app)]

    if row.status is None:
        assert first.outcome is None
        resumed = world.run()
        assert command_of(chain(resumed.calls)[0]) == row.next_call
    else:
        assert (first.outcome.status if first.outcome else None, rec.status) == (row.status, row.status)
        assert next_call(chain(first.calls), row.command) == row.next_call
        assert row.error in (rec.error or "")


def _app_of(call: tuple[str, ...]) -> str | None:
    return call[call.index("--app") + 1] if "--app" in call else None


@pytest.mark.parametrize("row", [pytest.param(r, id=name) for name, r in MOVE.items()])
def test_move(tmp_path: Path, row: Row) -> None:
    world = World(tmp_path)
    _run(world, row, "imported")
    rec = world.app()
    assert world.apps_in(MANAGED) == ([rec.imported_app_id] if rec.status == "done" else [])
    assert_converged(world)
    assert len(world.commands(PUBLISH)) == row.sent
    assert world.tenant.apps[rec.imported_app_id].origin == rec.copy_app_id


@pytest.mark.parametrize("row", [pytest.param(r, id=name) for name, r in CLEAN.items()])
def test_clean(tmp_path: Path, row: Row) -> None:
    world = World(tmp_path, absent_answer=row.absent_answer, drop_unsaved=row.drop_unsaved)
    _run(world, row, "copy")
    done = world.app().status == "done"
    # Marked removed only once saved: a failed save leaves every row to be removed again.
    assert set(world.cleanup().values()) <= ({"removed"} if done else {"pending", "unpublished"})
    assert set(world.cleanup()) == {PRIVATE, COMMUNITY}
    assert_converged(world)
    assert len(world.commands(row.command)) == row.sent
    saving = [c for c in world.commands(RM) if "--no-save" not in c]  # removed again, saved at once
    assert len(saving) == (1 if row.drop_unsaved else 0)
    if row.drop_unsaved:
        assert next_call(world.runs[0].calls, BUILD) == LS  # the save is checked by listing the copy

"""Decision table for the hand-over: `qlik app object change-owner --appId A --objectId O --ownerId U`.

Each row: what the call did, the Qlik behaviour the decision relies on (REAL / DOC / INFERRED as in
docs/qlik-surface.md), the object's ledger state after the run, and the calls the workflow made
about that object in the imported app (the resumed run's, for a kill). Each row ends with a healthy
run that must converge: every object with its owner, nothing handed over twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pytest

from .harness import COMMUNITY
from .harness import PRIVATE
from .harness import TARGET_OWNER
from .harness import World
from .harness import assert_converged
from .tenant import Outcome
from .tenant import answered
from .tenant import command_of
from .tenant import failed
from .tenant import killed
from .tenant import timed_out

AMBIGUOUS = "a 5xx or a timeout says nothing about whether change-owner was applied (DOC: not idempotent)"
LAYOUT_IS_TRUTH = "`app object layout` shows the owner in qMeta.ownerId (DOC app-object-layout; CODE Pupfish)"
HIDDEN = ("a user's private object is invisible to anyone else without admin.apps: layout answers "
          "`5 GENERIC ACCESS DENIED` (DOC rule, private-content-bots; INFERRED text, CODE Pupfish)")
HIDDEN_AS_NOT_FOUND = ("the engine may answer an object the caller cannot see as not found "
                       "(`9003 PERSISTENCE NOT FOUND`) rather than access denied (INFERRED)")
NOVEL = ("engine errors in words nobody has recorded, without a code (INFERRED: no 2.x/3.x engine error was "
         "recorded; corectl printed `no object by ID` without one, CODE)")
LISTED = ("what the identity can list (`app object ls`) is what it sees (DOC visibility rule): a private object sent "
          "to its owner that it can no longer list has been handed over")
OWNER_ONLY = "only the owner, or an OAuth client with admin.apps, may change an owner; others get 403 (DOC)"
ADMIN_SEES = "an OAuth client with admin.apps sees every private object (DOC private-content-bots)"


@dataclass(frozen=True)
class Row:
    situation: tuple[Outcome, ...]  # the change-owner calls of this object, in order
    qlik_behaviour: str
    status: str  # the object's ledger status after the (resumed) run
    calls: list[str]  # the calls about the object in the imported app, in that run
    evidence: str = ""  # in the ledger's evidence (done) or error (failed)
    obj: str = PRIVATE
    admin: bool = False
    hidden_answer: str = "access_denied"
    hidden_refusal: str = "403"  # change-owner's answer for another user's private object
    layout: tuple[Outcome, ...] = field(default=())  # scripted layout answers, if any


CO, LAYOUT = "app object change-owner", "app object layout"
ROWS = {
    "answered": Row((answered(),), "change-owner answers the NxAppObject with the new ownerId (DOC)", "done",
                    [CO], "change-owner"),
    "failed-not-applied": Row((failed("503"),), f"{AMBIGUOUS}; {LAYOUT_IS_TRUTH}: still ours, so sent again",
                              "done", [CO, LAYOUT, CO], "change-owner"),
    "failed-but-applied-private-hidden": Row((failed("503", applied=True),), f"{AMBIGUOUS}; {HIDDEN}: hidden means "
                                             "handed over", "done", [CO, LAYOUT], "hidden"),
    "failed-but-applied-community": Row((failed("503", applied=True),), f"{AMBIGUOUS}; {LAYOUT_IS_TRUTH}", "done",
                                        [CO, LAYOUT], "layout", obj=COMMUNITY),
    "failed-but-applied-admin": Row((failed("503", applied=True),), f"{AMBIGUOUS}; {ADMIN_SEES}; {LAYOUT_IS_TRUTH}",
                                    "done", [CO, LAYOUT], "layout", admin=True),
    "timed-out-not-applied": Row((timed_out(applied=False),), f"{AMBIGUOUS}; {LAYOUT_IS_TRUTH}", "done",
                                 [CO, LAYOUT, CO], "change-owner"),
    "timed-out-applied": Row((timed_out(applied=True),), f"{AMBIGUOUS}; {HIDDEN}", "done", [CO, LAYOUT], "hidden"),
    "killed-before-answer-applied": Row((killed(applied=True),), f"{HIDDEN}: the resumed run reads the layout "
                                        "first and never sends again", "done", [LAYOUT], "hidden"),
    "killed-before-answer-not-applied": Row((killed(applied=False),), f"{LAYOUT_IS_TRUTH}: still ours, so the "
                                            "resumed run sends", "done", [LAYOUT, CO], "change-owner"),
    "killed-before-answer-applied-community": Row((killed(applied=True),), LAYOUT_IS_TRUTH, "done", [LAYOUT],
                                                  "layout", obj=COMMUNITY),
    "not-found": Row((failed("404"),), "404 for an object id not in the app (DOC apps spec: 404): failed for good, "
                     "the app moves on without it", "failed-for-good", [CO], "404"),
    "forbidden": Row((failed("403"),), f"{OWNER_ONLY}; {LAYOUT_IS_TRUTH}: refused and still ours, so not resent "
                     "in this run", "failed", [CO, LAYOUT], "Forbidden"),
    "bad-request": Row((failed("400"),), "400 is a refusal of the request itself (DOC apps spec: 400): failed for "
                       "good", "failed-for-good", [CO], "rejected"),
    "failed-but-applied-hidden-as-not-found": Row(
        (failed("503", applied=True),), f"{AMBIGUOUS}; {HIDDEN_AS_NOT_FOUND}; {OWNER_ONLY}: not found alone could be "
        "a removed object, so it is sent again: a 403 followed by an object still unseen is handed over (#14)",
        "done", [CO, LAYOUT, CO, LAYOUT], "hidden", hidden_answer="engine_not_found"),
    "failed-but-applied-layout-unreadable-then-hidden-as-not-found": Row(
        (failed("503", applied=True),), f"{AMBIGUOUS}; {OWNER_ONLY}; {HIDDEN_AS_NOT_FOUND}: a layout that failed "
        "leaves the object `sent`; the resumed run must not call the hidden object missing: its resend gets 403 and "
        "the object is still unseen, so it was handed over", "done", [LAYOUT, CO, LAYOUT],
        "hidden", hidden_answer="engine_not_found", layout=(failed("503"),)),
    "failed-but-applied-hidden-novel-wording": Row(
        (failed("503", applied=True),), f"{AMBIGUOUS}; {NOVEL}; {LISTED}; {OWNER_ONLY}: unlisted, so sent again; "
        "refused and still unlisted, so handed over", "done", [CO, LAYOUT, CO, LAYOUT], "no longer listed",
        hidden_answer="engine_novel"),
    "failed-but-applied-hidden-corectl-wording": Row(
        (failed("503", applied=True),), f"{AMBIGUOUS}; {NOVEL}; {LISTED}", "done", [CO, LAYOUT, CO, LAYOUT],
        "no longer listed", hidden_answer="engine_corectl_not_found"),
    "failed-but-applied-hidden-rest-404": Row(
        (failed("503", applied=True),), f"{AMBIGUOUS}; {NOVEL}; {LISTED}; a REST 404 for another user's private "
        "object (INFERRED, as the engine's not found) after an earlier send is not taken as absent", "done",
        [CO, LAYOUT, CO, LAYOUT], "change-owner refused (404)", hidden_answer="engine_novel", hidden_refusal="404"),
}


def _calls_about(world: World, calls: list[tuple[str, ...]], object_id: str) -> list[str]:
    imported = world.app().imported_app_id
    return [command_of(c) for c in calls if object_id in c and imported in c]


@pytest.mark.parametrize("row", [pytest.param(row, id=name) for name, row in ROWS.items()])
def test_change_owner(tmp_path: Path, row: Row) -> None:
    world = World(tmp_path, admin=row.admin, hidden_answer=row.hidden_answer, hidden_refusal=row.hidden_refusal)
    world.script(CO, *row.situation, token=row.obj)
    if row.layout:
        world.script(LAYOUT, *row.layout, token=row.obj)
    run = world.run()
    if row.situation[0].kind == "killed":
        assert run.outcome is None and world.obj(row.obj)["status"] == "sent"  # what the kill left
        run = world.run()
    elif row.layout:
        assert world.obj(row.obj)["status"] == "sent"  # could not tell: left for the next run
        run = world.run()
    got = world.obj(row.obj)
    assert (got["status"], _calls_about(world, run.calls, row.obj)) == (row.status, row.calls)
    assert row.evidence in (got["evidence"] or got["error"] or "")
    # an object failed for good does not hold its app back (issue 18.6); one that may succeed later does
    assert run.outcome is not None and run.outcome.status == ("failed" if row.status == "failed" else "done")
    if row.status == "done":
        assert got["result_owner_id"] == TARGET_OWNER[row.obj] == world.owner_on_tenant(row.obj)
    if row.status == "failed-for-good":
        later = world.run()  # a nightly run: not called again, still reported with its reason
        assert later.outcome is not None and later.outcome.status == "done"
        assert _calls_about(world, later.calls, row.obj) == []
        assert world.obj(row.obj)["status"] == "failed-for-good" and row.evidence in world.obj(row.obj)["error"]
    assert_converged(world, retry_failed=row.status == "failed-for-good")
    assert world.obj(row.obj)["status"] == "done"
    # Handed over once: the calls that reached the tenant applied it at most once (no second send after
    # an applied one would have succeeded: only the owner may change the owner).
    assert world.owner_on_tenant(row.obj) == TARGET_OWNER[row.obj]

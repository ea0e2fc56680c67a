"""Decision tables for the steps that create something: export (a QVF file), import (an app in the
shared space) and copy (the development copy).

Each row: what the qlik call did (the situation), the Qlik behaviour the expected decision relies
on (REAL / DOC / INFERRED as in docs/qlik-surface.md), the app's ledger state after that run, the
call the workflow made next, and how many times the creating call was sent in all. Every row ends
with a healthy run that must converge: one imported app (moved), one copy, no duplicate.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from .harness import MANAGED
from .harness import SHARED
from .harness import World
from .harness import assert_converged
from .harness import next_call
from .tenant import Outcome
from .tenant import answered
from .tenant import command_of
from .tenant import failed
from .tenant import killed
from .tenant import timed_out

WRITES_ARE_AMBIGUOUS = ("a 5xx or a timeout says nothing about whether a write was applied (DOC: Qlik "
                        "Cloud writes are not idempotent, reference §7.2)")
APP_LS_IS_TRUTH = ("`app ls --spaceId` lists the space's apps with ownerId and resourceCreatedAt (DOC "
                   "app-ls via the items API)")
IMPORT_IS_NEW = "every `app import` creates a NEW app owned by the importer (DOC app-import)"
COPY_IS_NEW = "`app copy` creates a new app owned by the copier in the given space (DOC app-copy)"
DEFINITE_4XX = "a 4xx (400/403/404) is a refusal: nothing was applied (DOC apps API error semantics)"


@dataclass(frozen=True)
class Row:
    situation: Outcome
    qlik_behaviour: str
    status: str | None  # the app's ledger status after the first run; None: the run was killed
    next_call: str | None  # the workflow's next call after the situation (for a kill: the resumed run's first)
    sent: int  # how many times the creating call was sent, including the converging run
    error: str = ""  # in the app's recorded error


def _rows(rows: dict[str, Row]) -> list[object]:
    return [pytest.param(row, id=name) for name, row in rows.items()]


def _first_run(world: World, command: str, row: Row) -> None:
    world.script(command, row.situation)
    first = world.run()
    rec = world.app()
    if row.status is None:
        assert first.outcome is None
        resumed = world.run()
        assert command_of(resumed.calls[0]) == row.next_call
    else:
        assert first.outcome is not None and first.outcome.status == row.status, first.outcome
        assert rec.status == row.status
        assert next_call(first.calls, command) == row.next_call
        assert row.error in (rec.error or "")


# -- export: `qlik qrs app export create ID --exportScope all --output-file X.part` ----------------
EXPORT = {
    "answered": Row(answered(), "export writes the QVF to --output-file and exits 0 (DOC qrs-app-export-create)",
                    "done", "app import", 1),
    "failed-not-applied": Row(failed("500"), "a QRS 500 after the runner's retries (INFERRED text, reference §7.2)",
                              "failed", None, 1, "500"),
    "failed-but-applied": Row(failed("500", applied=True), "a QRS 500 after the file was written (INFERRED): "
                              "the file cannot be trusted", "failed", None, 1, "500"),
    "timed-out": Row(timed_out(applied=True), "a download that outlives the export timeout (INFERRED)",
                     "failed", None, 1, "did not answer"),
    "killed-before-answer": Row(killed(applied=True), "a killed run leaves a partial .part file (REAL: the tool "
                                "writes to X.part and renames)", None, "qrs app export create", 1),
    "not-found": Row(failed("404"), "QRS 404 for an app deleted on the site (DOC)", "failed", None, 0, "Not Found"),
    "forbidden": Row(failed("403"), "QRS 403 for an identity without access to the app (DOC)", "failed", None, 0,
                     "403"),
    "disk-full": Row(failed("disk_full"), "qlik-cli prints the OS error `no space left on device` (INFERRED)",
                     "failed", None, 0, "--export-dir"),
}


@pytest.mark.parametrize("row", _rows(EXPORT))
def test_export(tmp_path: Path, row: Row) -> None:
    world = World(tmp_path)
    _first_run(world, "qrs app export create", row)
    if row.status == "failed":
        assert not world.commands("app import")  # nothing reaches the tenant from a failed export
        assert not list(world.export_dir.glob("*.part"))  # no partial file is left to be mistaken for one
        assert world.app().export_sha256 is None
    assert_converged(world)
    assert len(world.commands("app import")) == 1
    # the QVF was imported, then deleted once the app was in the managed space (no --keep-exports)
    assert world.app().export_path is None and not list(world.export_dir.iterdir())


def test_a_killed_export_leaves_its_part_file_and_the_next_run_starts_the_export_over(tmp_path: Path) -> None:
    """The kill is a real one (SIGKILL of the run's process): the tool's clean-up of a failed export
    does not run, so the partial file stays, and the resumed run must not mistake it for an export."""
    world = World(tmp_path)
    world.script("qrs app export create", killed(applied=True))
    assert world.run().outcome is None
    assert [p.name.endswith(".qvf.part") for p in world.export_dir.iterdir()] == [True]
    assert world.app().export_sha256 is None
    assert_converged(world)
    assert len(world.commands("qrs app export create")) == 2 and len(world.commands("app import")) == 1


# -- import: `qlik app import --file X --spaceId SHARED --name N --resumable` ----------------------
IMPORT = {
    "answered": Row(answered(), IMPORT_IS_NEW, "done", "app script get", 1),  # the script step, then the copy
    "failed-not-applied": Row(failed("503"), f"{WRITES_ARE_AMBIGUOUS}; {APP_LS_IS_TRUTH}: no new app, so none was "
                              "created", "failed", "app ls", 2, "created no app"),
    "failed-but-applied": Row(failed("503", applied=True), f"{WRITES_ARE_AMBIGUOUS}; {APP_LS_IS_TRUTH}: the new app "
                              "is adopted, never imported twice", "done", "app ls", 1),
    "timed-out-not-applied": Row(timed_out(applied=False), f"{WRITES_ARE_AMBIGUOUS}; {APP_LS_IS_TRUTH}", "failed",
                                 "app ls", 2, "created no app"),
    "timed-out-applied": Row(timed_out(applied=True), f"{WRITES_ARE_AMBIGUOUS}; {APP_LS_IS_TRUTH}", "done", "app ls",
                             1),
    "killed-before-answer-applied": Row(killed(applied=True), f"{IMPORT_IS_NEW}; {APP_LS_IS_TRUTH}: the resumed run "
                                        "adopts the app the killed one created", None, "app ls", 1),
    "killed-before-answer-not-applied": Row(killed(applied=False), f"{APP_LS_IS_TRUTH}: nothing created, so the "
                                            "resumed run imports", None, "app ls", 2),
    "not-found": Row(failed("404"), f"{DEFINITE_4XX}: a space deleted since the preflight", "failed", None, 2,
                     "failed"),
    "forbidden": Row(failed("403"), f"{DEFINITE_4XX}: no permission to create in the shared space", "failed", None,
                     2, "failed"),
    "bad-request": Row(failed("400"), f"{DEFINITE_4XX}: a QVF the tenant refuses", "failed", None, 2, "failed"),
}


@pytest.mark.parametrize("row", _rows(IMPORT))
def test_import(tmp_path: Path, row: Row) -> None:
    world = World(tmp_path)
    _first_run(world, "app import", row)
    assert len(world.apps_in(SHARED) + world.apps_in(MANAGED)) <= 2  # never a second import beside one that landed
    if row.status == "failed":
        assert world.app().imported_app_id is None and not world.commands("app copy")
    assert_converged(world)
    assert len(world.commands("app import")) == row.sent


# -- copy: `qlik app copy IMPORTED --attributes-name N --attributes-spaceId SHARED` ----------------
COPY = {
    "answered": Row(answered(), COPY_IS_NEW, "done", "app object change-owner", 1),
    "failed-not-applied": Row(failed("503"), f"{WRITES_ARE_AMBIGUOUS}; {APP_LS_IS_TRUTH}", "failed", "app ls", 2,
                              "copying the imported app"),
    "failed-but-applied": Row(failed("503", applied=True), f"{WRITES_ARE_AMBIGUOUS}; {APP_LS_IS_TRUTH}: the copy is "
                              "told from the import by its id", "done", "app ls", 1),
    "timed-out-not-applied": Row(timed_out(applied=False), f"{WRITES_ARE_AMBIGUOUS}; {APP_LS_IS_TRUTH}", "failed",
                                 "app ls", 2, "copying the imported app"),
    "timed-out-applied": Row(timed_out(applied=True), f"{WRITES_ARE_AMBIGUOUS}; {APP_LS_IS_TRUTH}", "done", "app ls",
                             1),
    "killed-before-answer-applied": Row(killed(applied=True), f"{COPY_IS_NEW}; {APP_LS_IS_TRUTH}", None, "app ls", 1),
    "killed-before-answer-not-applied": Row(killed(applied=False), APP_LS_IS_TRUTH, None, "app ls", 2),
    "not-found": Row(failed("404"), f"{DEFINITE_4XX}: the imported app was deleted", "failed", None, 2,
                     "copying the imported app"),
    "forbidden": Row(failed("403"), f"{DEFINITE_4XX}: no permission to create in the shared space", "failed", None,
                     2, "copying the imported app"),
}


@pytest.mark.parametrize("row", _rows(COPY))
def test_copy(tmp_path: Path, row: Row) -> None:
    world = World(tmp_path)
    _first_run(world, "app copy", row)
    rec = world.app()
    apps = world.apps_in(SHARED) + world.apps_in(MANAGED)
    assert rec.imported_app_id in apps and len(apps) <= 2  # the import and at most one copy
    if row.status == "failed":
        assert rec.copy_app_id is None and not world.commands("app object change-owner")
    if row.status == "done":
        assert rec.copy_app_id not in (None, rec.imported_app_id)
    assert_converged(world)
    assert len(world.commands("app copy")) == row.sent
    assert len(world.commands("app import")) == 1


# -- an interrupted import of an earlier export -----------------------------------------------------
@pytest.mark.parametrize("applied", [True, False], ids=["killed-import-created-an-app", "killed-import-created-none"])
def test_an_import_killed_before_the_source_changed_is_never_adopted_for_the_new_export(
        tmp_path: Path, applied: bool) -> None:
    """Issue 18.7: a run killed during the import, then the app changed on-prem. The next run
    exports again; only an app created from THAT export may be adopted: the killed import's app
    holds the old content, so it is recorded as superseded and the new export is imported."""
    world = World(tmp_path)
    world.script("app import", killed(applied=applied))
    assert world.run().outcome is None
    stale = world.apps_in(SHARED)
    world.change_source("2024-06-01T08:00:00.000Z")
    resumed = world.run()
    assert resumed.outcome is not None and resumed.outcome.status == "done", resumed.outcome
    rec = world.app()
    assert rec.imported_app_id not in stale and rec.source_modified == "2024-06-01T08:00:00.000Z"
    assert len(world.commands("qrs app export create")) == 2 and len(world.commands("app import")) == 2
    assert stale == [] or stale[0] in rec.history  # listed among the app's earlier imports, not adopted
    assert world.ledger.imports_since("2000-01-01T00:00:00Z") == (2 if applied else 1)
    final = world.run()  # converged: nothing more is created, the stale app is left where it was
    assert final.outcome is not None and final.outcome.status == "done"
    assert world.apps_in(MANAGED) == [rec.imported_app_id]
    assert world.apps_in(SHARED) == sorted([rec.copy_app_id, *stale])
    assert len(world.commands("app import")) == 2

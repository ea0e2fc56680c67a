"""Issue 18.6: an object that fails for good is recorded with its reason, lets its app move on, is
listed in the report (JSON, CSV, terminal) and gives exit 8 until fixed or --retry-failed; a
transient failure elsewhere still gives exit 1 ("run again")."""
from __future__ import annotations

import csv
from pathlib import Path

from qlikcli_py import report
from qlikcli_py.commands.run import exit_code
from qlikcli_py.errors import ExitCode

from .harness import COMMUNITY
from .harness import PRIVATE
from .harness import World
from .harness import plan
from .tenant import failed

CO = "app object change-owner"


def _report(world: World, tmp_path: Path) -> tuple[int, dict, str, list[dict[str, str]]]:
    outcome = world.runs[-1].outcome
    assert outcome is not None
    the_plan = plan(world.modified)
    apps = report.run_apps([outcome], {the_plan.app.id: the_plan}, world.ledger)
    doc = {"apps": apps}
    report.write_csv(tmp_path / "objects.csv", report.object_rows(world.ledger, [(the_plan.app.id, "Sales")]))
    with open(tmp_path / "objects.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return exit_code(apps), apps[0], report.render_run(doc), rows


def test_an_object_not_in_the_app_is_reported_for_good_and_the_exit_says_running_again_will_not_help(
        tmp_path: Path) -> None:
    world = World(tmp_path)
    world.script(CO, failed("404"), token=PRIVATE)
    world.run()
    code, app, text, rows = _report(world, tmp_path)
    assert (code, app["status"]) == (ExitCode.FAILED_FOR_GOOD, "done")
    assert [(f["object_id"], f["error"]) for f in app["failed_for_good"]] == [
        (PRIVATE, "not in the imported app (404)")]
    assert f"FAILED FOR GOOD  sheet {PRIVATE}" in text and "--retry-failed" in text
    assert {r["object_id"]: (r["status"], r["detail"]) for r in rows}[PRIVATE] == (
        "failed-for-good", "not in the imported app (404)")
    world.run()  # the next nightly run: the same verdict, without calling again
    assert _report(world, tmp_path)[0] == ExitCode.FAILED_FOR_GOOD


def test_a_transient_failure_beside_one_for_good_still_says_run_again(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.script(CO, failed("404"), token=PRIVATE)
    world.script(CO, failed("403"), token=COMMUNITY)  # refused in this run: may succeed on the next
    world.run()
    code, app, _text, _rows = _report(world, tmp_path)
    assert code == ExitCode.FAILED and app["status"] == "failed"
    assert [f["object_id"] for f in app["failed_for_good"]] == [PRIVATE]


def test_retry_failed_hands_it_over_once_the_cause_is_fixed(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.script(CO, failed("400"), token=PRIVATE)
    world.run()
    assert world.obj(PRIVATE)["status"] == "failed-for-good"
    world.run(retry_failed=True)
    code, app, _text, _rows = _report(world, tmp_path)
    assert code == ExitCode.OK and app["failed_for_good"] == [] and world.obj(PRIVATE)["status"] == "done"


def test_a_run_with_objects_failed_for_good_is_reported_partial_not_error(tmp_path: Path) -> None:
    # The apps moved on: the run finished with something left for a person, like exits 4, 6 and 7.
    doc = report.envelope("run", "r", ExitCode.FAILED_FOR_GOOD, {})
    assert doc["status"] == "partial"

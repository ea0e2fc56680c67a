"""Issue 20: will it reload? `plan` names the data connections a script needs and the target
lacks, `run --connection-map` renames them in the migrated app and the development copy before
the copy (never reloading), `--connections require` stops before the first export, and the other
traps (quotas, a namesake app, owners' cloud status) are each named where they apply and silent
where they do not."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from qlikcli_py.errors import ExitCode
from qlikcli_py.ledger import Ledger
from qlikcli_py.load_scripts import rename
from qlikcli_py.vocabulary import Step
from qliksim import seed_reload

MAP = ("--connection-map", "SQL_Prod=SQL Prod (cloud)")


def plan_doc(sim, *extra, app="sales"):
    report = sim.tmp / "plan.json"
    res = sim.migrate("plan", sim.app(app), *sim.common(), "--report", str(report), *extra)
    assert res.code in (ExitCode.OK, ExitCode.UNMATCHED), res.err
    return res, json.loads(report.read_text(encoding="utf-8"))["apps"][0]


def by_name(app):
    return {c["connection"]: c for c in app["findings"]["reload"]["connections"]}


def argvs(calls):
    """The argv of each call, leaving out the flag check's `--help` reads."""
    return [" ".join(c["argv"]) for c in calls if "--help" not in c["argv"]]


def test_plan_names_the_app_the_missing_connection_and_the_fix(sim):
    sim.faults(version="2.25.0")
    before = sim.path.read_bytes()
    csv_path = sim.tmp / "plan.csv"
    res, app = plan_doc(sim, "--csv", str(csv_path))
    assert sim.path.read_bytes() == before  # still a dry run
    missing = by_name(app)["SQL_Prod"]
    assert missing["status"] == "missing" and missing["missing_in"] == ["Finance Dev", "Finance"]
    assert missing["lines"] == [4, 6]
    assert "--connection-map 'SQL_Prod=NEW NAME'" in missing["fix"]
    assert "Sales Overview" in res.out and "MISS connection 'SQL_Prod': missing in Finance Dev, Finance" in res.out
    rows = [r for r in csv.DictReader(csv_path.open(encoding="utf-8")) if r["type"] == "finding:connection"]
    assert [(r["app_name"], r["title"], r["status"]) for r in rows] == [("Sales Overview", "SQL_Prod", "missing")]
    # the script was read from the source, through the site's engine
    assert any(c["argv"][:3] == ["app", "script", "get"] and "qseow" in c["argv"] for c in sim.calls())


def test_plan_with_the_map_finds_the_renamed_connection(sim):
    sim.faults(version="2.25.0")
    _res, app = plan_doc(sim, *MAP)
    found = by_name(app)["SQL Prod (cloud)"]
    assert (found["status"], found["where"], found["renamed_from"]) == ("found", ["Finance Dev", "Finance"], "SQL_Prod")
    assert "SQL_Prod" not in by_name(app)


def test_plan_resolves_space_names_and_cannot_check_what_only_the_run_decides(sim):
    sim.faults(version="2.25.0")
    _res, app = plan_doc(sim, app="hr")
    conns = by_name(app)
    assert conns["Finance Data:Warehouse"]["where"] == ["Finance Data"]
    assert conns["DataFiles"]["status"] == "found"
    [unknown] = [c for c in conns.values() if c["status"] == "cannot-check"]
    assert unknown["connection"].startswith("$(Must_Include=") and "included script" in unknown["detail"]


def test_plan_with_a_qlik_cli_before_2_25_says_unknown_until_import(sim):
    res, app = plan_doc(sim)  # the simulator answers as 2.24.0 by default
    assert app["findings"]["reload"]["script"] == "unknown until import"
    assert "2.25.0" in app["findings"]["reload"]["why_unknown"]
    assert not any(c["argv"][:3] == ["app", "script", "get"] for c in sim.calls())
    assert "load script: unknown until import" in res.out


def test_run_with_the_map_renames_both_apps_before_the_copy_and_never_reloads(sim):
    source_script = sim.world.script(sim.app())
    report = sim.tmp / "run.json"
    res = sim.migrate("run", sim.app(), *sim.common(), *MAP, "--report", str(report))
    assert res.code == ExitCode.UNMATCHED, res.err
    world = sim.world
    apps = {a["space_id"]: a for a in world.cloud_apps()}
    managed, copy = apps[sim.info["spaces"]["Finance"]], apps[sim.info["spaces"]["Finance Dev"]]
    expected = rename(source_script, {"SQL_Prod": "SQL Prod (cloud)"})
    assert expected != source_script and "lib://SQL Prod (cloud)/" in expected
    assert world.script(managed["id"]) == expected and world.script(copy["id"]) == expected
    source_reload = next(a["last_reload"] for a in world.qrs_apps() if a["id"] == sim.app())
    assert managed["last_reload"] == copy["last_reload"] == source_reload  # no reload
    calls = argvs(sim.calls())
    assert not any("reload" in c.replace("--no-reload", "") for c in calls)
    [set_call] = [i for i, c in enumerate(calls) if c.startswith("app script set")]
    [copy_call] = [i for i, c in enumerate(calls) if c.startswith("app copy")]
    assert set_call < copy_call  # the copy carries the new name because it is made after the rewrite
    doc = json.loads(report.read_text(encoding="utf-8"))["apps"][0]
    original = doc["findings"]["reload"]["original_script"]
    assert Path(original).read_text(encoding="utf-8") == source_script
    assert by_name(doc)["SQL Prod (cloud)"]["renamed_from"] == "SQL_Prod"
    # a rerun rewrites nothing
    before = len(sim.calls())
    assert sim.migrate("run", sim.app(), *sim.common(), *MAP).code == ExitCode.UNMATCHED
    assert not any(c.startswith("app script") for c in argvs(sim.calls()[before:]))


def test_a_run_stopped_between_the_rewrite_and_the_copy_is_settled_by_reading_the_script(sim, monkeypatch):
    real = Ledger.update_app

    def stop_at_script(self, app_id, **fields):
        if fields.get("step") == Step.SCRIPT:  # the rewrite is done, the ledger does not know yet
            raise KeyboardInterrupt
        return real(self, app_id, **fields)

    monkeypatch.setattr(Ledger, "update_app", stop_at_script)
    stopped = sim.migrate("run", sim.app(), *sim.common(), *MAP)  # main turns the interrupt into an exit code
    assert stopped.code not in (ExitCode.OK, ExitCode.UNMATCHED)
    monkeypatch.setattr(Ledger, "update_app", real)
    [imported] = sim.world.cloud_apps()
    renamed = sim.world.script(imported["id"])
    assert "SQL Prod (cloud)" in renamed
    before = len(sim.calls())
    assert sim.migrate("run", sim.app(), *sim.common(), *MAP).code == ExitCode.UNMATCHED
    again = argvs(sim.calls()[before:])
    assert any(c.startswith("app script get") for c in again)
    assert not any(c.startswith("app script set") for c in again)  # read, found renamed, not rewritten
    apps = sim.world.cloud_apps()
    assert len(apps) == 2 and all(sim.world.script(a["id"]) == renamed for a in apps)


def test_require_without_the_map_stops_before_the_first_export(sim):
    sim.faults(version="2.25.0")
    before = sim.path.read_bytes()
    res = sim.migrate("run", sim.app(), *sim.common(), "--connections", "require")
    assert res.code == ExitCode.USAGE
    assert "'Sales Overview'" in res.err and "'SQL_Prod' (missing in Finance Dev, Finance)" in res.err
    assert "nothing was exported or changed" in res.err and len(res.err.strip().splitlines()) == 1
    assert sim.path.read_bytes() == before
    assert not any(c.startswith("qrs app export create") for c in argvs(sim.calls()))


def test_require_with_the_map_migrates(sim):
    sim.faults(version="2.25.0")
    res = sim.migrate("run", sim.app(), *sim.common(), "--connections", "require", *MAP)
    assert res.code == ExitCode.UNMATCHED, res.err


def test_require_when_the_plan_could_not_read_the_script_fails_the_app_before_the_copy(sim):
    res = sim.migrate("run", sim.app(), *sim.common(), "--connections", "require")  # 2.24.0: unknown until import
    assert res.code == ExitCode.FAILED
    assert "'SQL_Prod'" in res.out
    [imported] = sim.world.cloud_apps()  # imported, never copied nor moved
    assert imported["space_id"] == sim.info["spaces"]["Finance Dev"]


@pytest.mark.parametrize("bad", [
    ["--connection-map", "SQL_Prod"],
    ["--connection-map", "A=B", "--connection-map", "B=C"],
    ["--connection-map", "A=B", "--connection-map", "A=C"],
    ["--connection-map", "=B"],
])
def test_a_wrong_connection_map_is_one_line_and_changes_nothing(sim, bad):
    res = sim.migrate("run", sim.app(), *sim.common(), *bad)
    assert res.code == ExitCode.USAGE and len(res.err.strip().splitlines()) == 1, res.err
    assert sim.world.cloud_apps() == []


def test_connection_map_file_is_read_strictly(sim):
    good = sim.tmp / "map.csv"
    good.write_text("old,new\nSQL_Prod,SQL Prod (cloud)\n", encoding="utf-8")
    sim.faults(version="2.25.0")
    _res, app = plan_doc(sim, "--connection-map-file", str(good))
    assert by_name(app)["SQL Prod (cloud)"]["status"] == "found"
    bad = sim.tmp / "bad.csv"
    bad.write_text("old,new\nSQL_Prod\n", encoding="utf-8")
    res = sim.migrate("plan", sim.app(), *sim.common(), "--connection-map-file", str(bad))
    assert res.code == ExitCode.USAGE and "line 2" in res.err


# -- the other traps: each named where it applies, silent where it does not -------------------------
def traps(app):
    return [t for t in app["findings"]["traps"]]


def test_no_trap_in_the_demo_world(sim):
    _res, app = plan_doc(sim)
    assert traps(app) == []


def test_app_larger_than_the_tenant_quota_is_named(sim):
    seed_reload.set_quota(sim.path, "app_upload_disk_size", 10 << 20)  # the app is ~18 MiB
    res, app = plan_doc(sim)
    [trap] = traps(app)
    assert trap["trap"] == "quota" and "app_upload_disk_size" in trap["detail"] and trap["fix"]
    assert "WARN quota:" in res.out


def test_unreadable_quotas_are_skipped_and_say_why(sim):
    sim.faults(quota_access="forbidden")
    _res, app = plan_doc(sim)
    [trap] = traps(app)
    assert trap["status"] == "skipped" and "403" in trap["detail"]


def test_an_app_of_the_same_name_in_the_managed_space_is_named(sim):
    seed_reload.add_cloud_app(sim.path, "Sales Overview", sim.info["spaces"]["Finance"], sim.info["cloud_identity"])
    _res, app = plan_doc(sim)
    [trap] = traps(app)
    assert trap["trap"] == "same-name" and "0a0a0a0a-0000-4000-8000-000000000001" in trap["detail"]
    # in the shared space it is no trap
    _res, other = plan_doc(sim, app="hr")
    assert traps(other) == []


def test_the_apps_a_run_made_are_not_namesakes(sim):
    assert sim.migrate("run", sim.app(), *sim.common()).code == ExitCode.UNMATCHED
    _res, app = plan_doc(sim)
    assert traps(app) == []


def test_an_owner_whose_cloud_user_is_invited_is_named(sim):
    seed_reload.set_user_status(sim.path, sim.info["cloud_users"]["asmith"], "invited")
    _res, app = plan_doc(sim)
    [trap] = traps(app)
    assert trap["trap"] == "owner" and "ACME\\asmith" in trap["detail"] and "invited" in trap["detail"]


def test_an_owner_whose_cloud_user_is_disabled_is_named(sim):
    seed_reload.set_user_status(sim.path, sim.info["cloud_users"]["jmuller"], "disabled")
    _res, app = plan_doc(sim)
    assert [t["trap"] for t in traps(app)] == ["owner"] and "disabled" in traps(app)[0]["detail"]


def test_verify_names_a_script_reference_that_still_misses_its_connection(sim):
    assert sim.migrate("run", sim.app(), *sim.common()).code == ExitCode.UNMATCHED  # no map: SQL_Prod stays
    report = sim.tmp / "verify.json"
    res = sim.migrate("verify", sim.app(), *sim.common(spaces=False), "--report", str(report))
    [app] = json.loads(report.read_text(encoding="utf-8"))["apps"]
    assert app["missing_connections"] == ["SQL_Prod"]
    assert "names 'SQL_Prod' (line 4), which the migrated app cannot resolve" in res.out


def test_verify_after_the_rename_finds_every_connection(sim):
    assert sim.migrate("run", sim.app(), *sim.common(), *MAP).code == ExitCode.UNMATCHED
    report = sim.tmp / "verify.json"
    sim.migrate("verify", sim.app(), *sim.common(spaces=False), "--report", str(report))
    [app] = json.loads(report.read_text(encoding="utf-8"))["apps"]
    assert app["missing_connections"] == []
    assert [c["status"] for c in app["reload"]["connections"]] == ["found"]


def test_doctor_says_whether_scripts_connections_and_quotas_can_be_read(sim):
    res = sim.migrate("doctor", *sim.common())
    lines = {line[6:26].strip(): line for line in res.out.splitlines()}
    assert lines["load scripts"].startswith("info") and "2.25.0" in lines["load scripts"]
    assert lines["data connections"].startswith("ok")
    assert "2 in 'Finance Dev', 2 in 'Finance'" in lines["data connections"]
    assert lines["quotas"].startswith("ok") and "app_upload_disk_size" in lines["quotas"]
    sim.faults(version="2.25.0", quota_access="forbidden")
    res = sim.migrate("doctor", *sim.common())
    lines = {line[6:26].strip(): line for line in res.out.splitlines()}
    assert lines["load scripts"].startswith("ok")
    assert lines["quotas"].startswith("info") and "403" in lines["quotas"] and "fix:" in lines["quotas"]


def _qrs_object(sim, otype, private):
    return next(o for o in sim.world.qrs_objects(sim.app()) if o["object_type"] == otype
                and (not o["published"] and not o["approved"]) == private)


def test_a_private_default_bookmark_is_named(sim):
    bookmark = _qrs_object(sim, "bookmark", private=True)
    seed_reload.set_object_attributes(sim.path, bookmark["id"], '{"defaultBookmark": true}')
    res, app = plan_doc(sim)
    [trap] = traps(app)
    assert trap["trap"] == "default-bookmark" and bookmark["engine_object_id"] in trap["detail"]
    assert "access denied" in trap["detail"] and trap["fix"]
    assert "WARN default-bookmark" in res.out


def test_a_public_default_bookmark_is_no_trap(sim):
    bookmark = _qrs_object(sim, "bookmark", private=False)
    seed_reload.set_object_attributes(sim.path, bookmark["id"], '{"defaultBookmark": true}')
    _res, app = plan_doc(sim)
    assert traps(app) == []


def test_sheets_with_show_conditions_are_named_only_with_skip_data(sim):
    sheet = _qrs_object(sim, "sheet", private=False)
    seed_reload.set_object_attributes(sim.path, sheet["id"], '{"showCondition": "=GetSelectedCount(Region) > 0"}')
    _res, app = plan_doc(sim)
    assert traps(app) == []  # with its data the condition is evaluated as on-prem
    _res, app = plan_doc(sim, "--skip-data")
    [trap] = traps(app)
    assert trap["trap"] == "show-conditions" and "1 sheet(s)" in trap["detail"]


def test_a_failed_read_of_the_source_script_is_unknown_until_import(sim):
    sim.faults(version="2.25.0", fault_tiers="engine", fail_5xx=1.0)  # only the engine fails
    _res, app = plan_doc(sim)
    reload = app["findings"]["reload"]
    assert reload["script"] == "unknown until import" and "did not give the script" in reload["why_unknown"]
    assert reload["connections"] == []


def test_require_on_a_rerun_judges_an_app_by_its_imported_script(sim):
    sim.faults(version="2.25.0")
    assert sim.migrate("run", sim.app(), *sim.common(), *MAP).code == ExitCode.UNMATCHED
    # the source still names SQL_Prod, but the migrated app was renamed and checked: nothing to refuse
    res = sim.migrate("run", sim.app(), *sim.common(), "--connections", "require")
    assert res.code == ExitCode.UNMATCHED, res.err

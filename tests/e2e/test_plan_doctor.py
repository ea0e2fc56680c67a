"""Issue 5: `plan` is a true dry run that says everything a run will do; `doctor` checks every
precondition, one line each with its fix."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from qlikcli_py.errors import ExitCode

READ_TIERS = {"local", "qrs", "read"}
SALES_OWNERS = {  # owner of the sales app's non-base objects -> (demo key, rule, objects)
    "ACME\\asmith": ("asmith", "subject", 3),
    "ACME\\jdoe": ("jdoe", "subject", 2),
    "ACME\\jmuller": ("jmuller", "subject", 3),
    "ACME\\kwong": ("kwong", "email", 2),
    "EMEA\\SALES\\o'brien": ("obrien", "subject", 2),
}
TYPES = {"sheet", "story", "bookmark", "snapshot", "masterobject", "dimension", "measure", "app_appscript"}


def args(sim, *extra, target="cloud"):
    """As an admin would type them: Qlik's documented rate limits (no --write-rate 0)."""
    return ["--source-context", "qseow", "--target-context", target, "--state-dir", str(sim.state_dir),
            "--shared-space", "Finance Dev", "--managed-space", "Finance", *extra]


def check_name(line):
    """`MARK  NAME(padded to 20) DETAIL[ -- fix: FIX]` -> NAME"""
    return line[6:26].strip()


def tiers(calls):
    return Counter(c["tier"] for c in calls)


# -- plan -----------------------------------------------------------------------------------------
def test_plan_changes_nothing_and_says_what_a_run_will_do(sim):
    before, calls = sim.path.read_bytes(), len(sim.calls())
    report = sim.tmp / "plan.json"
    # a 6 s window at 100 writes/min: a budget of 10 writes, so 15 need one window's wait
    res = sim.migrate("plan", sim.app(), *args(sim, "--report", str(report), "--rate-window", "6"))
    assert res.code == ExitCode.UNMATCHED, res.err  # ACME\tleft has no cloud account
    assert res.err == ""

    # provably read-only: the world is byte-identical and only read tiers were called
    assert sim.path.read_bytes() == before
    made = tiers(sim.calls()[calls:])
    assert made and set(made) <= READ_TIERS, made

    doc = json.loads(report.read_text(encoding="utf-8"))
    assert (doc["report_version"], doc["command"], doc["exit_code"], doc["status"]) == (1, "plan", 4, "partial")
    assert doc["run_id"] and doc["identity"]["id"] == sim.info["cloud_identity"]
    [app] = doc["apps"]
    assert app["source_app_id"] == sim.app() and app["name"] == "Sales Overview" and app["stream"] == "Finance"
    assert app["shared_space"]["id"] == sim.info["spaces"]["Finance Dev"]
    assert app["managed_space"]["id"] == sim.info["spaces"]["Finance"]
    # objects by type and state, as the source holds them
    source = Counter((o["object_type"], "base" if o["approved"] else "community" if o["published"] else "private")
                     for o in sim.world.qrs_objects(sim.app()))
    assert set(app["by_type_and_state"]) == TYPES
    assert {(t, s): n for t, states in app["by_type_and_state"].items() for s, n in states.items()} == dict(source)
    assert app["objects"] == sum(source.values()) == 22
    # every distinct owner once, with the rule and the cloud user, or why not
    owners = {o["source_owner"]: o for o in app["owners"]}
    assert len(owners) == len(app["owners"]) == 6
    for key, (who, rule, count) in SALES_OWNERS.items():
        row = owners[key]
        assert (row["matched"], row["rule"], row["objects"]) == (True, rule, count), row
        assert row["cloud_user_id"] == sim.info["cloud_users"][who] and row["cloud_user"]
    tleft = owners["ACME\\tleft"]
    assert (tleft["matched"], tleft["cloud_user_id"], tleft["objects"]) == (False, None, 2)
    assert "no cloud user with subject ACME\\tleft or email tom.left@acme.com" in tleft["detail"]
    # write calls: import, copy, move, and one change-owner per matched non-base object
    assert app["write_calls"] == 3 + sum(c for _, _, c in SALES_OWNERS.values()) == 15
    assert app["minimum_seconds"] == 6.0  # 10 at once, the other 5 a window later
    assert doc["totals"] == {"apps": 1, "objects": 22, "write_calls": 15, "engine_calls": app["engine_calls"],
                             "minimum_seconds": app["minimum_seconds"], "unmatched_owners": 1,
                             "missing_connections": 0, "traps": 0,  # 2.24.0: scripts unknown until import
                             "identities": 1, "pool_minimum_seconds": 6.0}

    out = res.out
    assert "Sales Overview (" in out and "22 objects" in out
    assert any(line.split()[:4] == ["sheet", "1", "1", "1"] for line in out.splitlines())
    assert "ACME\\kwong" in out and f"({sim.info['cloud_users']['kwong']}) by email" in out
    assert "MISS ACME\\tleft" in out and "tom.left@acme.com" in out
    assert "a run makes 15 write calls" in out and "at least 6s at the write rate limit" in out
    assert "1 unmatched owners" in out


@pytest.mark.slow
def test_plan_predicts_the_writes_of_the_run_and_assign_gives_unmatched_objects_to_the_fallback(sim):
    fallback = ["--on-unmatched", "assign:jane.doe@acme.com", "--write-rate", "0"]
    planned = sim.migrate("plan", sim.app(), *args(sim, *fallback, "--report", str(sim.tmp / "plan.json")))
    assert planned.code == ExitCode.OK, planned.err
    plan = json.loads((sim.tmp / "plan.json").read_text())["apps"][0]
    jane = sim.info["cloud_users"]["jdoe"]
    tleft = next(o for o in plan["owners"] if o["source_owner"] == "ACME\\tleft")
    assert (tleft["matched"], tleft["rule"], tleft["cloud_user_id"]) == (True, "fallback", jane)
    assert "fallback user standing in for ACME\\tleft" in tleft["detail"]
    assert plan["write_calls"] == 17

    calls = len(sim.calls())
    ran = sim.migrate("run", sim.app(), *args(sim, *fallback, "--report", str(sim.tmp / "run.json")))
    assert ran.code == ExitCode.OK, ran.out + ran.err
    made = tiers(sim.calls()[calls:])
    assert made["write"] == plan["write_calls"], made  # the plan's count, exactly
    # the copy listed per engine family (4) before and after the save, 7 community unpublished, rm per
    # engine family (4), one save; the script and its connections (2): the plan's count, exactly
    assert made["engine"] == plan["engine_calls"] == 22

    report = json.loads((sim.tmp / "run.json").read_text())["apps"][0]
    assert report["unmatched"] == []
    [given] = [r for r in report["reassigned"] if r["source_owner"] == "ACME\\tleft"]
    assert (given["cloud_user_id"], given["rule"], given["objects"]) == (jane, "fallback", 2)
    assert "fallback user standing in for ACME\\tleft" in given["detail"]
    assert f"ACME\\tleft -> {jane} (by fallback)" in ran.out
    managed = next(a for a in sim.world.cloud_apps() if a["space_id"] == sim.info["spaces"]["Finance"])
    theirs = {o["engine_object_id"] for o in sim.world.qrs_objects(sim.app())
              if o["owner_id"] == sim.info["qrs_users"]["tleft"] and not o["approved"]}
    assert len(theirs) == 2
    assert {o["owner_id"] for o in sim.world.cloud_objects(managed["id"]) if o["object_id"] in theirs} == {jane}


def test_plan_predicts_the_engine_calls_of_the_run(sim):
    sim.migrate("plan", sim.app(), *args(sim, "--report", str(sim.tmp / "plan.json")))
    # 8 listings + 12 clean-up + 2 script
    assert json.loads((sim.tmp / "plan.json").read_text())["apps"][0]["engine_calls"] == 22


def test_on_unmatched_fail_stops_before_the_first_change(sim):
    before, calls = sim.path.read_bytes(), len(sim.calls())
    res = sim.migrate("run", sim.app(), *args(sim, "--on-unmatched", "fail"))
    assert res.code == ExitCode.STOPPED_UNMATCHED == 9, res.out + res.err  # not 4: nothing was done
    [line] = res.err.splitlines()
    assert line.startswith("qlik-migrate: 1 owner(s) have no cloud user (--on-unmatched fail)")
    assert "ACME\\tleft (Tom Left)" in line and "Traceback" not in res.err
    assert sim.path.read_bytes() == before
    assert set(tiers(sim.calls()[calls:])) <= READ_TIERS
    assert not (sim.state_dir / "exports").exists() or not any((sim.state_dir / "exports").iterdir())


# -- doctor ---------------------------------------------------------------------------------------
CHECKS = ["qlik-cli", "qlik-cli flags", "context qseow", "context cloud", "source answers", "target answers",
          "ownership repair", "shared space", "managed space", "export dir", "load scripts", "data connections",
          "quotas"]


def test_doctor_passes_one_line_per_check_and_changes_nothing(sim):
    before, calls = sim.path.read_bytes(), len(sim.calls())
    res = sim.migrate("doctor", *args(sim))
    assert res.code == ExitCode.OK, res.out
    assert res.err == ""
    lines = res.out.splitlines()
    assert len(lines) == len(CHECKS)
    assert [check_name(line) for line in lines] == CHECKS
    assert all(line[:4] in ("ok  ", "info") for line in lines), res.out
    assert "'Finance Dev'" in res.out and "can create" in res.out and "can publish" in res.out
    assert "lacks admin.apps" in res.out and "fix: for repairs, use an OAuth client context" in res.out
    assert f"{sim.state_dir / 'exports'}: will be created in" in res.out
    assert not (sim.state_dir / "exports").exists()  # a check creates nothing
    assert sim.path.read_bytes() == before
    assert set(tiers(sim.calls()[calls:])) <= READ_TIERS

    assert "every command and flag the migration uses is accepted" in res.out
    helps = [c for c in sim.calls()[calls:] if "--help" in c["argv"]]
    assert len(helps) >= 20 and len(list(sim.state_dir.glob("qlik-flags-*.json"))) == 1

    calls = len(sim.calls())
    as_json = sim.migrate("doctor", *args(sim), "--json")
    assert not [c for c in sim.calls()[calls:] if "--help" in c["argv"]]  # cached per binary and version
    assert as_json.code == ExitCode.OK
    doc = json.loads(as_json.out)
    assert doc["ok"] is True and [c["check"] for c in doc["checks"]] == CHECKS
    assert {c["status"] for c in doc["checks"]} == {"pass", "info"}
    assert all(set(c) == {"check", "status", "detail", "fix"} for c in doc["checks"])


def test_doctor_says_an_admin_apps_bot_can_repair_ownership(sim):
    res = sim.migrate("doctor", *args(sim, target="cloud-bot"), "--json")
    assert res.code == ExitCode.OK, res.out
    repair = next(c for c in json.loads(res.out)["checks"] if c["check"] == "ownership repair")
    assert repair["status"] == "info" and "has admin.apps" in repair["detail"]
    assert "repair any owner" in repair["detail"] and repair["fix"] == ""


@pytest.mark.parametrize(("change", "check", "needles", "fix"), [
    ({"--source-context": "nope"}, "context nope", ["'nope' does not exist"], "pass --source-context NAME"),
    ({"--target-context": "qseow"}, "context qseow", ["is a client-managed context", "--target-context needs"],
     "pass --target-context NAME"),
    ({"--source-context": "cloud-bot"}, "context cloud-bot", ["is a Qlik Cloud context"], "pass --source-context"),
    ({"--shared-space": "Finance"}, "shared space", ["is a managed space"], "pass an existing shared space"),
    ({"--managed-space": "Financ"}, "managed space", ["no space named or with id 'Financ'"],
     "pass an existing managed space"),
    ({"version": "2.23.1"}, "qlik-cli", ["qlik-cli 2.23.1 is too old"], "install qlik-cli 2.24.0+"),
    ({"--qlik-bin": "/nonexistent/qlik"}, "qlik-cli", ["qlik-cli not found"], "install qlik-cli 2.24.0+"),
    ({"--export-dir": "{file}/exports"}, "export dir", ["a-file is not a directory"],
     "pass --export-dir DIR on a writable disk"),
])
def test_doctor_failures_name_the_fix(sim, change, check, needles, fix):
    argv = args(sim)
    (sim.tmp / "a-file").write_text("x")
    for key, value in change.items():
        value = value.replace("{file}", str(sim.tmp / "a-file"))
        if key.startswith("--"):
            if key in argv:
                argv[argv.index(key) + 1] = value
            else:
                argv += [key, value]
        else:
            sim.faults(**{key: value})
    before = sim.path.read_bytes()
    res = sim.migrate("doctor", *argv)
    assert res.code == ExitCode.USAGE, res.out
    assert res.err == "" and "Traceback" not in res.out
    [line] = [x for x in res.out.splitlines() if x.startswith("FAIL")]
    assert check_name(line) == check, line
    for needle in needles:
        assert needle in line, line
    assert f"-- fix: {fix}" in line
    assert sim.path.read_bytes() == before
    if check.startswith("context"):  # and the same as JSON
        doc = json.loads(sim.migrate("doctor", *argv, "--json").out)
        assert doc["ok"] is False
        [failed] = [c for c in doc["checks"] if c["status"] == "fail"]
        assert failed["check"] == check and failed["fix"].startswith(fix)


def test_plan_counts_its_reads_in_the_state_dir_for_the_next_run(sim):
    import sqlite3

    sim.state_dir.mkdir()
    calls = len(sim.calls())
    res = sim.migrate("plan", sim.app(), *args(sim))  # Qlik's documented rates: reads are paced
    assert res.code == ExitCode.UNMATCHED, res.err
    reads = tiers(sim.calls()[calls:])["read"]
    from qlikcli_py.call_log import CallLog

    CallLog.open(sim.state_dir, keep_seconds=300).flush()  # the process would flush at exit
    db = sqlite3.connect(sim.state_dir / "calls.sqlite")
    rows = db.execute("SELECT context, tier, sum(n) FROM calls GROUP BY 1, 2").fetchall()
    db.close()
    assert reads > 0 and rows == [("cloud", "read", reads)]

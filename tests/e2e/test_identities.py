"""Issue 21: helper identities (--helper-context) share the hand-overs and the engine reads.

The demo world's `cloud` is the target identity (no admin.apps); `cloud-bot` is an admin.apps bot;
more identities are added with qliksim.identities.add_identity."""
from __future__ import annotations

import json
import sqlite3
from collections import Counter

import pytest

from qlikcli_py import call_log
from qlikcli_py.errors import ExitCode
from qlikcli_py.ledger import LEDGER_FILE
from qliksim.identities import add_identity
from qliksim.sweeps import DONE_CODES
from qliksim.sweeps import Scenario
from qliksim.sweeps import check_final_state
from qliksim.sweeps import kill_at_step
from qliksim.sweeps import run_scenario
from qliksim.sweeps import run_tool
from tests.e2e.test_bad_input import one_line

HELPERS = ("--helper-context", "cloud-bot", "--helper-context", "bot2")


def _final(sim, *apps: str):
    return check_final_state(sim.path, [sim.app(a) for a in apps], shared_space=sim.info["spaces"]["Finance Dev"],
                             managed_space=sim.info["spaces"]["Finance"], me=sim.info["cloud_identity"])


def _ledger(sim, sql: str, *params):
    db = sqlite3.connect(f"file:{sim.state_dir / LEDGER_FILE}?mode=ro", uri=True)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def _by_context(calls, command: str) -> Counter[str]:
    return Counter(c["context"] for c in calls if c.get("command") == command and c.get("exit") == 0)


def test_two_helpers_share_the_hand_overs_each_sender_recorded_and_each_call_log_kept(sim):
    add_identity(sim.path, "bot2")
    res = sim.migrate("run", sim.app(), *sim.common(), "--write-rate", "100", "--read-rate", "1000", *HELPERS,
                      "--report", str(sim.tmp / "r.json"))
    assert res.code == ExitCode.UNMATCHED, res.err  # tleft has no cloud account
    assert _final(sim, "sales").ok, _final(sim, "sales").problems
    senders = dict(_ledger(sim, "SELECT object_id, sent_by FROM objects WHERE status = 'done' AND sent_by IS NOT NULL"))
    sent = _by_context(sim.calls(), "app object change-owner")
    assert set(sent) == {"cloud", "cloud-bot", "bot2"}, sent  # the target shares them too
    assert Counter(senders.values()) == sent  # the ledger names the sender of each hand-over
    # the target alone imports, copies and moves
    for command in ("app import", "app copy", "app publish create"):
        assert set(_by_context(sim.calls(), command)) == {"cloud"}, command
    # each identity's calls persist in the state dir for the next run's window (flushed once a
    # second and at exit; this run was in-process)
    for log in list(call_log._OPEN.values()):
        log.flush()
    db = sqlite3.connect(sim.state_dir / "calls.sqlite")
    logged = dict(db.execute("SELECT context, sum(n) FROM calls WHERE tier = 'write' GROUP BY context").fetchall())
    db.close()
    assert logged == {"cloud": sent["cloud"] + 3, "cloud-bot": sent["cloud-bot"], "bot2": sent["bot2"]}
    report = json.loads((sim.tmp / "r.json").read_text())
    assert [(i["context"], i["role"]) for i in report["identities"]] == \
        [("cloud", "target"), ("cloud-bot", "helper"), ("bot2", "helper")]


def test_a_helper_without_admin_apps_is_refused_by_doctor_and_by_run_in_one_line(sim):
    add_identity(sim.path, "plain", admin_apps=False)
    doctor = sim.migrate("doctor", *sim.common(), "--helper-context", "cloud-bot", "--helper-context", "plain")
    assert doctor.code == ExitCode.USAGE
    failed = [ln for ln in doctor.out.splitlines() if ln.startswith("FAIL")]
    assert len(failed) == 1 and "helper plain" in failed[0] and "lacks admin.apps" in failed[0], doctor.out
    assert any(ln.startswith("ok") and "helper cloud-bot" in ln for ln in doctor.out.splitlines())
    before = len(sim.calls())
    res = sim.migrate("run", sim.app(), *sim.common(), "--helper-context", "plain")
    one_line(res, ExitCode.USAGE, "'plain'", "lacks admin.apps", "admin.apps scope", "nothing was exported")
    assert sim.world.cloud_apps() == []
    assert {c["tier"] for c in sim.calls()[before:]} <= {"local", "read", "qrs"}  # nothing written
    assert not (sim.state_dir / "exports").exists() or not any((sim.state_dir / "exports").iterdir())


@pytest.mark.parametrize("helper, needle", [
    ("cloud", "same user"),  # the target's own context
    ("nope", "does not exist"),
    ("qseow", "client-managed"),
])
def test_doctor_refuses_a_helper_that_is_no_other_cloud_user(sim, helper, needle):
    res = sim.migrate("doctor", *sim.common(), "--helper-context", helper)
    assert res.code == ExitCode.USAGE
    failed = [ln for ln in res.out.splitlines() if ln.startswith("FAIL")]
    assert len(failed) == 1 and needle in failed[0], res.out


def test_two_helpers_of_one_user_and_a_helper_not_in_the_spaces_are_refused(sim):
    db = sqlite3.connect(sim.path)
    db.execute("INSERT INTO contexts SELECT 'bot-again', server, server_type, comment, token, identity, admin_apps "
               "FROM contexts WHERE name = 'cloud-bot'")
    db.commit()
    db.close()
    res = sim.migrate("doctor", *sim.common(), "--helper-context", "cloud-bot", "--helper-context", "bot-again")
    failed = [ln for ln in res.out.splitlines() if ln.startswith("FAIL")]
    assert res.code == ExitCode.USAGE and len(failed) == 1 and "same user" in failed[0] \
        and "'cloud-bot'" in failed[0], res.out
    sim.faults(hide_spaces_from="cloud-bot")
    res = sim.migrate("run", sim.app(), *sim.common(), "--helper-context", "cloud-bot")
    one_line(res, ExitCode.USAGE, "'cloud-bot' cannot see the space", "'Finance Dev'", "'Finance'")


def test_verify_through_a_helper_sees_every_object_directly(sim):
    assert sim.migrate("run", sim.app(), *sim.common()).code == ExitCode.UNMATCHED
    before = len(sim.calls())
    res = sim.migrate("verify", sim.app(), *sim.common(spaces=False), "--helper-context", "cloud-bot",
                      "--report", str(sim.tmp / "v.json"))
    assert res.code == ExitCode.OK, res.out + res.err
    doc = json.loads((sim.tmp / "v.json").read_text())
    assert doc["summary"]["direct_check"] is True
    statuses = doc["apps"][0]["summary"]["by_status"]
    assert "handed-over-hidden" not in statuses  # the target alone would see its handed-over private objects hidden
    layouts = Counter(c["context"] for c in sim.calls()[before:] if str(c.get("command", "")).endswith(" layout"))
    assert set(layouts) == {"cloud-bot"}, layouts
    alone = sim.migrate("verify", sim.app(), *sim.common(spaces=False), "--report", str(sim.tmp / "v1.json"))
    assert alone.code == ExitCode.OK
    assert "handed-over-hidden" in json.loads((sim.tmp / "v1.json").read_text())["apps"][0]["summary"]["by_status"]


def test_settling_reads_through_a_helper_whoever_sent_the_call(sim):
    """Every write applies and then fails (5xx or a hang then 504): each hand-over is settled from
    the layout, read by an admin.apps helper, which sees the object whoever owns it now."""
    add_identity(sim.path, "bot2")
    sim.faults(applied_but_failed=1.0, fault_tiers="write", hang_seconds=0.1)
    res = sim.migrate("run", sim.app(), *sim.common(), *HELPERS)
    assert res.code == ExitCode.UNMATCHED, res.err
    assert _final(sim, "sales").ok, _final(sim, "sales").problems
    evidence = Counter(e for (e,) in _ledger(sim, "SELECT evidence FROM objects WHERE status = 'done' "
                                                  "AND sent_by IS NOT NULL"))
    assert set(evidence) == {"layout"}, evidence  # never the 'hidden' rule: the helpers see everything
    layouts = Counter(c["context"] for c in sim.calls() if str(c.get("command", "")).endswith(" layout"))
    assert set(layouts) == {"cloud-bot", "bot2"}, layouts
    senders = {s for (s,) in _ledger(sim, "SELECT DISTINCT sent_by FROM objects WHERE sent_by IS NOT NULL")}
    assert "cloud" in senders and senders & {"cloud-bot", "bot2"}  # read by a helper, sent by the target too


def test_a_rerun_with_another_set_of_helpers_or_none_continues(sim):
    add_identity(sim.path, "bot2")
    add_identity(sim.path, "bot3")
    log = str(sim.path) + ".calls.jsonl"
    args = ["--log-format", "json", "run", sim.app(), *sim.common()]
    first = run_tool([*args, *HELPERS], env=sim.env, log_path=log, kill_when=kill_at_step("reassign", 5))
    assert first.killed
    left = _ledger(sim, "SELECT count(*) FROM objects WHERE status IN ('pending', 'sent')")[0][0]
    assert left > 0  # the hand-over was cut short
    second = run_tool([*args, "--helper-context", "bot3"], env=sim.env, log_path=log,
                      kill_when=lambda c, _i: c.get("command") == "app object change-owner" and c["context"] == "bot3")
    assert second.killed
    third = run_tool(args, env=sim.env, log_path=log)  # no helpers at all: the target alone finishes
    assert third.code in DONE_CODES, third.err[-2000:]
    assert _final(sim, "sales").ok, _final(sim, "sales").problems
    senders = {s for (s,) in _ledger(sim, "SELECT DISTINCT sent_by FROM objects WHERE sent_by IS NOT NULL")}
    assert "bot3" in senders and senders & {"cloud-bot", "bot2"}, senders


@pytest.mark.slow
def test_a_batch_with_two_helpers_converges_through_faults_and_a_throttled_helper(tmp_path):
    """5xx, applied-but-failed calls (5xx or a hang then 504), and bot2 answering 429 to every
    write for its first 4 seconds (a minute, scaled down): nothing lost, doubled or wrongly owned."""
    sc = Scenario(
        name="helpers", seed=21, apps=["sales", "ventes"], kills=1, expect_clean_runs=False,
        knobs={"fail_5xx": 0.08, "applied_but_failed": 0.1, "hang_seconds": 0.3, "throttle": "bot2:4"},
        args=["--lookup", "listing", "--call-timeout", "5"], helpers=[["cloud-bot", "bot2"]], run_timeout=240,
    )
    res = run_scenario(tmp_path, sc)
    assert res.ok, (res.final.problems, res.stuck, res.unexpected)
    assert (res.final.lost_objects, res.final.duplicate_imports, res.final.wrong_owner) == (0, 0, 0)
    assert res.faults["fail_5xx"] and res.faults["applied_but_failed"] + res.faults["applied_but_failed+hang"]
    calls = [json.loads(line) for line in (tmp_path / "world.db.calls.jsonl").read_text(encoding="utf-8").splitlines()]
    writes = [c for c in calls if c.get("command") == "app object change-owner"]
    refused = [c for c in writes if c["context"] == "bot2" and c["exit"] != 0]
    assert refused, "bot2 was never throttled"
    first_429, last_429 = min(c["start"] for c in refused), max(c["start"] for c in refused)
    during = Counter(c["context"] for c in writes if first_429 <= c["start"] <= last_429 and c["exit"] == 0)
    assert during["cloud"] + during["cloud-bot"] > 0 and during["bot2"] == 0, during  # the others took its work


@pytest.mark.parametrize("value", ['"plain"', '["cloud-bot", "plain"]'])
def test_helpers_from_the_config_file_one_name_or_a_list(sim, value):
    add_identity(sim.path, "plain", admin_apps=False)
    config = sim.tmp / "c.toml"
    config.write_text(f"helper-context = {value}\n")
    res = sim.migrate("doctor", "--config", str(config), *sim.common())
    assert res.code == ExitCode.USAGE, res.err  # a click usage error would not reach the checks
    assert any(ln.startswith("FAIL") and "helper plain" in ln for ln in res.out.splitlines()), res.out + res.err

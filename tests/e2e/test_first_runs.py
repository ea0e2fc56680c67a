"""Issue 14: what an admin's first real runs hit (plan as the dry run of run, exports, cron)."""
from __future__ import annotations

import json
import sqlite3
from collections import Counter

from qlikcli_py.cli.main import main
from qlikcli_py.errors import ExitCode

READ_TIERS = {"local", "qrs", "read"}


def run_args(sim, *extra):
    return [sim.app("sales"), *sim.common(), "--export-dir", str(sim.tmp / "exports"), "--report",
            str(sim.tmp / "r.json"), "--csv", str(sim.tmp / "o.csv"), "--keep-exports", "--force", "--retry-failed",
            "--max-imports", "5", *extra]


# -- 3. plan takes every option of run -------------------------------------------------------------
def test_plan_is_the_dry_run_of_the_same_command_line(sim):
    before, calls = sim.path.read_bytes(), len(sim.calls())
    res = sim.migrate("plan", *run_args(sim, "--quiet"))
    assert res.code == ExitCode.UNMATCHED, res.err
    assert sim.path.read_bytes() == before  # changed nothing
    assert set(Counter(c["tier"] for c in sim.calls()[calls:])) <= READ_TIERS
    assert not (sim.tmp / "exports").exists()
    doc = json.loads((sim.tmp / "r.json").read_text(encoding="utf-8"))
    assert doc["command"] == "plan" and doc["totals"]["unmatched_owners"] == 1
    rows = (sim.tmp / "o.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("app_id,app_name,object_id")
    statuses = Counter(r.split(",")[-2] for r in rows[1:])
    assert statuses["unmatched"] == 2 and statuses["to-reassign"] > 0 and statuses["kept"] > 0
    # the same line with `run` migrates
    assert sim.migrate("run", *run_args(sim)).code == ExitCode.UNMATCHED


# -- 6. exports are deleted once the app is moved ---------------------------------------------------
def test_export_is_deleted_after_the_move_and_made_again_when_needed(sim):
    exports = sim.tmp / "exports"
    common = [sim.app("sales"), *sim.common(), "--export-dir", str(exports)]
    assert sim.migrate("run", *common).code == ExitCode.UNMATCHED
    assert list(exports.iterdir()) == []
    # a re-migration (--force) needs the QVF again: it is exported anew, then deleted again
    def exports_made() -> int:
        return sum(1 for c in sim.calls()
                   if c["argv"][:4] == ["qrs", "app", "export", "create"] and "--help" not in c["argv"])

    exported = exports_made()
    assert sim.migrate("run", *common, "--force").code == ExitCode.UNMATCHED
    assert exports_made() == exported + 1
    assert list(exports.iterdir()) == []


def test_keep_exports_keeps_the_qvf(sim):
    exports = sim.tmp / "exports"
    res = sim.migrate("run", sim.app("sales"), *sim.common(), "--export-dir", str(exports), "--keep-exports")
    assert res.code == ExitCode.UNMATCHED, res.err
    [qvf] = list(exports.iterdir())
    assert qvf.suffix == ".qvf" and qvf.stat().st_size > 0


# -- 7. cron: --quiet, and stderr without a terminal -----------------------------------------------
def _main(sim, *args):
    sim.capsys.readouterr()
    code = main(list(args))
    out, err = sim.capsys.readouterr()
    return code, out, err


def test_quiet_prints_nothing_when_the_run_succeeds(sim):
    code, out, err = _main(sim, "run", sim.app("sales"), *sim.common(), "--quiet",
                           "--on-unmatched", "assign:jane.doe@acme.com")
    assert code == ExitCode.OK, err
    assert (out, err) == ("", "")


def test_quiet_prints_one_summary_of_what_did_not_succeed(sim):
    code, out, err = _main(sim, "run", sim.app("sales"), *sim.common(), "--quiet")
    assert code == ExitCode.UNMATCHED
    assert out == ""
    [line] = err.splitlines()
    assert "ACME\\tleft" in line and "Sales Overview" in line


def test_without_a_terminal_stderr_carries_warnings_and_errors_only(sim, tmp_path):
    code, _out, err = _main(sim, "run", sim.app("sales"), *sim.common())
    assert code == ExitCode.UNMATCHED
    levels = {json.loads(line)["level"] for line in err.splitlines() if line.startswith("{")}
    assert levels <= {"warning", "error"}, levels
    assert "step.done" not in err
    # a --log-file still gets every step
    log = tmp_path / "log.jsonl"
    code, _, err = _main(sim, "--log-file", str(log), "run", sim.app("hr"), *sim.common())
    assert "step.done" in log.read_text(encoding="utf-8") and "step.done" not in err


# -- 9. verify with another identity ----------------------------------------------------------------
def test_verify_with_the_admin_bot_expects_left_behind_objects_with_the_run_identity(sim):
    app = sim.app("sales")
    assert sim.migrate("run", app, *sim.common()).code == ExitCode.UNMATCHED  # ACME\tleft stays behind
    report = sim.tmp / "v.json"
    res = sim.migrate("verify", app, *sim.common(spaces=False, target="cloud-bot"), "--report", str(report))
    assert res.code == ExitCode.OK, res.out + res.err
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert doc["summary"]["direct_check"] is True  # the bot saw every object itself
    per_owner = doc["apps"][0]["summary"]["per_owner"]
    assert per_owner[sim.info["cloud_identity"]] == {"ok": 2}  # tleft's two objects, with the run's identity


# -- 1. owner precedence, and an ambiguous owner affects only its own objects -----------------------
def _two_cloud_users_with_toms_email(sim):
    """ACME\\tleft has no cloud user by subject; two active cloud users carry his e-mail."""
    with sqlite3.connect(sim.path) as db:
        for uid, name in (("c0ffee0000000000000000a1", "Tom Left"), ("c0ffee0000000000000000a2", "Tom Left (SSO)")):
            db.execute("INSERT INTO cloud_users(id, name, email, subject, status, created, updated) "
                       "VALUES (?, ?, 'tom.left@acme.com', ?, 'active', '2024-01-01T00:00:00Z', "
                       "'2024-01-01T00:00:00Z')", (uid, name, f"auth0|{uid}"))


def test_an_ambiguous_owner_is_reported_with_its_candidates_and_the_batch_runs(sim):
    _two_cloud_users_with_toms_email(sim)
    plan = sim.migrate("plan", sim.app("sales"), sim.app("hr"), *sim.common(), "--report", str(sim.tmp / "p.json"))
    assert plan.code == ExitCode.UNMATCHED, plan.err
    doc = json.loads((sim.tmp / "p.json").read_text(encoding="utf-8"))
    [tom] = [o for o in doc["apps"][0]["owners"] if o["source_owner"] == "ACME\\tleft"]
    assert not tom["matched"] and tom["detail"].startswith("ambiguous")
    assert {c["id"] for c in tom["candidates"]} == {"c0ffee0000000000000000a1", "c0ffee0000000000000000a2"}
    assert "Tom Left (SSO)" in plan.out
    matched = {o["source_owner"]: o["rule"] for o in doc["apps"][0]["owners"] if o["matched"]}
    assert matched["ACME\\jdoe"] == "subject" and matched["ACME\\kwong"] == "email"

    res = sim.migrate("run", sim.app("sales"), sim.app("hr"), *sim.common(), "--report", str(sim.tmp / "r.json"))
    assert res.code == ExitCode.UNMATCHED, res.err  # both apps migrated, not refused
    report = json.loads((sim.tmp / "r.json").read_text(encoding="utf-8"))
    assert [a["status"] for a in report["apps"]] == ["done", "done"]
    [unmatched] = report["apps"][0]["unmatched"]
    assert unmatched["source_owner"] == "ACME\\tleft" and "Tom Left (SSO)" in unmatched["detail"]
    # tom's objects stayed with the migration identity; nobody else's were held back
    managed = next(a for a in sim.world.cloud_apps() if a["space_id"] == sim.info["spaces"]["Finance"]
                   and a["name"] == "Sales Overview")
    tleft = sim.info["qrs_users"]["tleft"]
    toms = {o["engine_object_id"] for o in sim.world.qrs_objects(sim.app("sales"))
            if o["owner_id"] == tleft and not o["approved"]}
    owners = {o["object_id"]: o["owner_id"] for o in sim.world.cloud_objects(managed["id"])}
    assert toms and {owners[t] for t in toms} == {sim.info["cloud_identity"]}


# -- 10. an object handed over by a call that "failed" is settled -----------------------------------
def _lose_the_answer(sim, status):
    """As if change-owner had applied but answered 5xx (or the run died): the ledger has the private
    objects `sent` (or `failed`), the tenant has them with their owners."""
    with sqlite3.connect(sim.state_dir / "ledger.sqlite") as db:
        rows = db.execute("SELECT object_id FROM objects WHERE state = 'private' AND status = 'done' "
                          "AND target_owner_id != ?", (sim.info["cloud_identity"],)).fetchall()
        db.execute("UPDATE objects SET status = ?, result_owner_id = NULL, evidence = NULL "
                   "WHERE state = 'private' AND status = 'done' AND target_owner_id != ?",
                   (status, sim.info["cloud_identity"]))
    return {r[0] for r in rows}


def test_a_handed_over_private_object_is_settled_whatever_the_engine_answers(sim):
    sim.faults(hidden_answer="not_found")  # the engine says "not found" for another user's private object
    app = sim.app("sales")
    assert sim.migrate("run", app, *sim.common()).code == ExitCode.UNMATCHED
    sent = _lose_the_answer(sim, "sent")
    assert sent
    res = sim.migrate("run", app, *sim.common())
    assert res.code == ExitCode.UNMATCHED, res.out + res.err  # converged: only tleft is left
    with sqlite3.connect(sim.state_dir / "ledger.sqlite") as db:
        got = dict(db.execute("SELECT object_id, status FROM objects").fetchall())
        marks = ",".join("?" * len(sent))
        evidence = {r[0] for r in db.execute(f"SELECT evidence FROM objects WHERE object_id IN ({marks})",
                                             tuple(sent))}
    assert {got[o] for o in sent} == {"done"}
    assert all("change-owner refused (403)" in e for e in evidence), evidence
    # a row an older run marked failed converges too
    _lose_the_answer(sim, "failed")
    assert sim.migrate("run", app, *sim.common()).code == ExitCode.UNMATCHED
    # and the admin bot, which sees every object, confirms the owners
    res = sim.migrate("verify", app, *sim.common(spaces=False, target="cloud-bot"))
    assert res.code == ExitCode.OK, res.out

"""Issue 19: `sync` brings a wave of on-prem content into an app `run` migrated, against the simulator."""
from __future__ import annotations

import atexit
import csv
import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from qlikcli_py.errors import ExitCode
from qliksim import onprem

SYNCABLE = {"sheet", "story", "masterobject"}


def _state(o):
    return "base" if o["approved"] else "community" if o["published"] else "private"


_TEMPLATE: dict[str, Path] = {}  # app -> a world and state dir just migrated by `run`, copied per test


def _migrated(sim, app):
    """The demo world (deterministic ids) with `app` migrated by `run`: run once per session, then
    copied, so each test starts from a real migration without paying for it again."""
    template = _TEMPLATE.get(app)
    if template is None:
        assert sim.migrate("run", app, *sim.common()).code == ExitCode.UNMATCHED  # tleft, by design
        template = Path(tempfile.mkdtemp(prefix="sync-template-"))
        atexit.register(shutil.rmtree, template, True)
        shutil.copytree(sim.state_dir, template / "state")
        for f in sim.path.parent.glob(sim.path.name + "*"):
            if not f.name.endswith(".calls.jsonl"):
                shutil.copy2(f, template / f.name)
        _TEMPLATE[app] = template
    else:
        for f in sim.path.parent.glob(sim.path.name + "*"):
            if not f.name.endswith(".calls.jsonl"):
                f.unlink()
        for f in template.glob(sim.path.name + "*"):
            shutil.copy2(f, sim.path.parent / f.name)
        shutil.rmtree(sim.state_dir, ignore_errors=True)
        shutil.copytree(template / "state", sim.state_dir)
    apps = sim.world.cloud_apps()
    managed = next(a for a in apps if a["space_id"] == sim.info["spaces"]["Finance"])
    copy = next(a for a in apps if a["space_id"] == sim.info["spaces"]["Finance Dev"])
    return managed["id"], copy["id"]


def _objects(sim, app_id):
    return {o["object_id"]: o for o in sim.world.cloud_objects(app_id)}


def _writes(calls):
    tiers = Counter(c["tier"] for c in calls)
    return tiers["write"] + tiers["engine"]


def test_sync_brings_a_wave_over_with_ids_states_and_owners_and_reports_the_rest(sim):
    app = sim.app("sales")
    managed, copy = _migrated(sim, app)
    before_managed, before_copy = _objects(sim, managed), _objects(sim, copy)
    apps_before = {a["id"] for a in sim.world.cloud_apps()}
    wave = onprem.wave(str(sim.path), app)
    res = sim.migrate("sync", app, *sim.common(spaces=False), "--report", str(sim.tmp / "s.json"),
                      "--csv", str(sim.tmp / "s.csv"))
    # reported, not brought over: a bookmark, a sheet changed on-prem, a story deleted on-prem
    assert res.code == ExitCode.CHANGED, res.out + res.err
    after = _objects(sim, managed)
    me = sim.info["cloud_identity"]
    users = {u["subject"].lower(): u["id"] for u in sim.world.cloud_users()}
    by_email = {u["email"].lower(): u["id"] for u in sim.world.cloud_users()}
    qrs_users = {u["id"]: u for u in sim.world.qrs_users()}
    source = {o["engine_object_id"]: o for o in sim.world.qrs_objects(app)}
    added = [a for a in wave["added"] if a["type"] in SYNCABLE]
    assert {a["owner"] for a in added} >= {"ACME\\jdoe", "ACME\\asmith", "ACME\\jmuller", "ACME\\kwong", "ACME\\tleft"}
    for a in added:
        oid = a["engineObjectId"]
        got, src = after.get(oid), source[oid]
        assert got is not None, f"{oid} ({a['type']} of {a['owner']}) not in the managed app"
        assert got["type"] == src["object_type"] and _state(got) == _state(src) == a["state"]
        owner = qrs_users[src["owner_id"]]
        want = users.get(f"{owner['user_directory']}\\{owner['user_id']}".lower()) or by_email.get(
            (owner.get("email") or "").lower(), me)  # tleft: none, stays with the identity (--on-unmatched skip)
        assert got["owner_id"] == want, (oid, a["owner"])
    [bookmark] = [a for a in wave["added"] if a["type"] == "bookmark"]
    assert bookmark["engineObjectId"] not in after  # no empty bookmark created
    # nothing else created; base content and every migrated object as they were
    assert set(after) == set(before_managed) | {a["engineObjectId"] for a in added}
    assert all(after[k] == v for k, v in before_managed.items())
    assert _objects(sim, copy) == before_copy  # the development copy untouched
    assert {a["id"] for a in sim.world.cloud_apps()} == apps_before  # the temporary app is gone
    report = json.loads((sim.tmp / "s.json").read_text())
    [doc] = report["apps"]
    assert report["command"] == "sync" and report["exit_code"] == ExitCode.CHANGED and doc["wave_id"]
    assert {o["object_id"] for o in doc["came_over"]} == {a["engineObjectId"] for a in added}
    assert doc["unmatched"] == [{"source_owner": "ACME\\tleft", "objects": 1}]
    [group] = doc["not_synced"]
    assert group["source_owner"] == "ACME\\jmuller" and group["objects"][0]["object_id"] == bookmark["engineObjectId"]
    assert [o["object_id"] for o in doc["changed"]] == [c["engineObjectId"] for c in wave["changed"]]
    assert [o["object_id"] for o in doc["deleted"]] == [d["engineObjectId"] for d in wave["deleted"]]
    assert doc["temp_app"]["deleted"] and doc["temp_app"]["id"] not in apps_before
    assert "bookmarks cannot be recreated" in res.out and "changed on-prem" in res.out
    csv_text = (sim.tmp / "s.csv").read_text()
    assert bookmark["engineObjectId"] in csv_text and "not-synced" in csv_text
    # status names the wave
    status = json.loads(sim.migrate("status", "--state-dir", str(sim.state_dir), "--json").out)
    [w] = status["waves"]
    assert w["wave_id"] == doc["wave_id"] and w["status"] == "done" and w["temp_deleted"]
    assert w["objects"]["new:synced"] == len(added)
    # verify covers the synced objects: they are in the ledger's objects
    ver = sim.migrate("verify", app, "--source-context", "qseow", "--target-context", "cloud",
                      "--state-dir", str(sim.state_dir), "--csv", str(sim.tmp / "v.csv"))
    with open(sim.tmp / "v.csv", encoding="utf-8") as fh:
        checks = {c["object_id"]: c for c in csv.DictReader(fh) if c["where"] == "managed"}
    for a in added:
        got = checks[a["engineObjectId"]]
        assert got["status"] in ("ok", "handed-over-hidden") and got["wave_id"] == doc["wave_id"], (got, ver.out)

    # a second sync with nothing new makes no write
    calls_before = len(sim.calls())
    again = sim.migrate("sync", app, *sim.common(spaces=False))
    assert again.code == ExitCode.UNMATCHED, again.out + again.err  # tleft's synced sheet, as run reports it
    assert _writes(sim.calls()[calls_before:]) == 0
    assert _objects(sim, managed) == after


def test_dry_run_and_plan_sync_show_the_delta_and_write_nothing(sim):
    app = sim.app("sales")
    _managed, _copy = _migrated(sim, app)
    onprem.wave(str(sim.path), app)
    ledger = (sim.state_dir / "ledger.sqlite").read_bytes()
    calls_before = len(sim.calls())
    dry = sim.migrate("sync", app, *sim.common(spaces=False), "--dry-run", "--report", str(sim.tmp / "d.json"))
    plan = sim.migrate("plan", app, *sim.common(spaces=False), "--sync")
    assert dry.code == plan.code == ExitCode.UNMATCHED, dry.out + dry.err
    assert _writes(sim.calls()[calls_before:]) == 0
    assert (sim.state_dir / "ledger.sqlite").read_bytes() == ledger
    assert dry.out == plan.out and "6 new objects to bring over" in dry.out
    assert "ACME\\tleft: 1 UNMATCHED" in dry.out and "ACME\\kwong: 1 -> Kim Wong (email)" in dry.out
    [doc] = json.loads((sim.tmp / "d.json").read_text())["apps"]
    assert doc["to_sync"] == 6 and len(doc["changed"]) == 1 and len(doc["deleted"]) == 1
    assert {o["source_owner"] for o in doc["owners"]} == {"ACME\\jdoe", "ACME\\asmith", "ACME\\jmuller",
                                                         "ACME\\kwong", "ACME\\tleft"}


def test_unmatched_owner_follows_on_unmatched_assign(sim):
    app = sim.app("sales")
    managed, _copy = _migrated(sim, app)
    wave = onprem.wave(str(sim.path), app)
    res = sim.migrate("sync", app, *sim.common(spaces=False), "--on-unmatched", "assign:jane.doe@acme.com")
    assert res.code == ExitCode.CHANGED, res.out + res.err
    [tleft] = [a for a in wave["added"] if a["owner"] == "ACME\\tleft"]
    assert _objects(sim, managed)[tleft["engineObjectId"]]["owner_id"] == sim.info["cloud_users"]["jdoe"]


def test_on_unmatched_fail_stops_before_any_change(sim):
    app = sim.app("sales")
    _migrated(sim, app)
    onprem.wave(str(sim.path), app)
    calls_before = len(sim.calls())
    res = sim.migrate("sync", app, *sim.common(spaces=False), "--on-unmatched", "fail")
    assert res.code == ExitCode.STOPPED_UNMATCHED and "ACME\\tleft" in res.err
    assert _writes(sim.calls()[calls_before:]) == 0


def test_sync_of_an_app_never_migrated_says_so_and_changes_nothing(sim):
    _migrated(sim, sim.app("sales"))
    calls_before = len(sim.calls())
    res = sim.migrate("sync", sim.app("hr"), *sim.common(spaces=False))
    assert res.code == ExitCode.USAGE and "migrate it with `run` first" in res.out
    assert _writes(sim.calls()[calls_before:]) == 0


@pytest.mark.parametrize("answer", ["not_found", "access_denied"])
def test_an_id_held_by_a_hidden_cloud_object_is_not_overwritten_and_a_stray_is_removed(sim, answer):
    """A user made a private object in the cloud app under the very id a new on-prem sheet has. The
    engine either answers GetObject with a null handle (then CreateObject gives ANOTHER id: a stray
    the identity owns, removed) or access denied (the set fails): either way the user's object is
    left as it is and the sheet is reported as not brought over (exit 8)."""
    app = sim.app("sales")
    managed, _copy = _migrated(sim, app)
    added = onprem.add(str(sim.path), app, object_type="sheet", owner="ACME\\jdoe", visibility="private")
    someone = sim.info["cloud_users"]["asmith"]
    _put_cloud_object(sim.path, managed, added["engineObjectId"], "sheet", "Alex's own sheet", someone)
    sim.faults(hidden_answer=answer)
    before = _objects(sim, managed)
    res = sim.migrate("sync", app, *sim.common(spaces=False), "--report", str(sim.tmp / "s.json"))
    assert res.code == ExitCode.FAILED_FOR_GOOD, res.out + res.err
    after = _objects(sim, managed)
    assert after == before  # the user's object as it was, no copy under another id left
    [doc] = json.loads((sim.tmp / "s.json").read_text())["apps"]
    [ffg] = doc["failed_for_good"]
    assert ffg["object_id"] == added["engineObjectId"]
    if answer == "not_found":
        [stray] = doc["strays"]
        assert stray["object_id"] not in after and f"created under {stray['object_id']}" in ffg["reason"]
    else:
        assert doc["strays"] == [] and "refused" in ffg["reason"]
    calls_before = len(sim.calls())
    again = sim.migrate("sync", app, *sim.common(spaces=False))
    assert again.code == ExitCode.FAILED_FOR_GOOD, again.out  # still reported, as run reports them
    assert _writes(sim.calls()[calls_before:]) == 0  # not tried again
    retried = sim.migrate("sync", app, *sim.common(spaces=False), "--retry-failed")
    assert retried.code == ExitCode.FAILED_FOR_GOOD and _writes(sim.calls()[calls_before:]) > 0
    assert _objects(sim, managed) == before


def _put_cloud_object(path, app_id, object_id, otype, title, owner):
    import sqlite3

    db = sqlite3.connect(path)
    with db:
        db.execute("INSERT INTO cloud_objects (app_id, object_id, type, title, description, owner_id, published, "
                   "approved, created, updated) VALUES (?,?,?,?,'',?,0,0,"
                   "'2026-01-01T00:00:00.000Z','2026-01-01T00:00:00.000Z')",
                   (app_id, object_id, otype, title, owner))
    db.close()


def test_objects_migrated_without_a_date_get_it_at_their_first_sync(sim):
    """A ledger written before dates were kept: the first sync dates its objects (nothing reported
    as changed, since nobody can tell), a change after that is reported by the next sync."""
    import sqlite3

    app = sim.app("sales")
    _migrated(sim, app)
    db = sqlite3.connect(sim.state_dir / "ledger.sqlite")
    with db:
        db.execute("DELETE FROM object_dates")
    db.close()
    private_sheet = next(o["engine_object_id"] for o in sim.world.qrs_objects(app)
                         if o["object_type"] == "sheet" and not o["published"])
    onprem.change(str(sim.path), app, private_sheet)
    first = sim.migrate("sync", app, *sim.common(spaces=False), "--report", str(sim.tmp / "1.json"))
    assert first.code == ExitCode.OK, first.out + first.err  # nothing new: no wave
    assert json.loads((sim.tmp / "1.json").read_text())["apps"][0]["changed"] == []
    onprem.change(str(sim.path), app, private_sheet)
    second = sim.migrate("sync", app, *sim.common(spaces=False), "--report", str(sim.tmp / "2.json"))
    assert second.code == ExitCode.CHANGED
    [changed] = json.loads((sim.tmp / "2.json").read_text())["apps"][0]["changed"]
    assert changed["object_id"] == private_sheet and "left as it is" in changed["reason"]


@pytest.mark.slow
def test_sync_under_faults_ends_with_every_object_once_and_no_temporary_app(tmp_path):
    """5xx answers, calls applied but answered as failed, and hangs past --call-timeout, while a wave
    comes over: sync runs until done; every new object once, with its owner, nothing else touched."""
    from qliksim.sweeps import injected_faults
    from qliksim.sweeps import run_tool
    from qliksim.sync_sweeps import SYNC_DONE_CODES
    from qliksim.sync_sweeps import SyncWorld
    from qliksim.sync_sweeps import check_sync_state

    sw = SyncWorld.create(tmp_path / "w", None, ["sales"])
    from qliksim import faults

    faults.configure(sw.demo.world_path, seed=7, fail_5xx=0.08, applied_but_failed=0.1, hang=0.03, hang_seconds=3)
    codes = []
    for _ in range(12):
        out = run_tool(sw.sync_args("--call-timeout", "2"), env=sw.demo.env, log_path=sw.demo.log_path, timeout=300)
        codes.append(out.code)
        if out.code in SYNC_DONE_CODES:
            break
    faults.configure(sw.demo.world_path, fail_5xx=0, applied_but_failed=0, hang=0)
    state = check_sync_state(sw)
    assert codes[-1] in SYNC_DONE_CODES and state.ok, (codes, state.problems)
    assert sum(injected_faults(sw.demo.log_path).values()) > 0


def test_the_temporary_import_counts_against_max_imports(sim):
    app = sim.app("sales")
    managed, _copy = _migrated(sim, app)  # one import in the last 24 hours
    wave = onprem.wave(str(sim.path), app)
    apps_before = {a["id"] for a in sim.world.cloud_apps()}
    held = sim.migrate("sync", app, *sim.common(spaces=False), "--max-imports", "1")
    assert held.code == ExitCode.INCOMPLETE and "--max-imports 1 reached" in held.out, held.out + held.err
    assert {a["id"] for a in sim.world.cloud_apps()} == apps_before
    done = sim.migrate("sync", app, *sim.common(spaces=False), "--max-imports", "2")
    assert done.code == ExitCode.CHANGED, done.out + done.err
    assert {a["engineObjectId"] for a in wave["added"] if a["type"] in SYNCABLE} <= set(_objects(sim, managed))
    assert {a["id"] for a in sim.world.cloud_apps()} == apps_before
    refused = sim.migrate("sync", app, *sim.common(spaces=False), "--force")
    assert refused.code == ExitCode.USAGE and "sync takes no --force" in refused.err


def test_a_qlik_cli_without_a_command_sync_needs_stops_it_before_any_write(sim, monkeypatch):
    from qlikcli_py import flagcheck

    app = sim.app("sales")
    _migrated(sim, app)
    onprem.wave(str(sim.path), app)
    monkeypatch.setitem(flagcheck.USED, "app object frobnicate", ("--app",))  # a command no qlik-cli has
    calls_before = len(sim.calls())
    res = sim.migrate("sync", app, *sim.common(spaces=False))
    assert res.code == ExitCode.USAGE and "this qlik-cli cannot run a sync: no `app object frobnicate`" in res.err
    assert _writes(sim.calls()[calls_before:]) == 0


def test_dry_run_reads_a_ledger_of_the_previous_format_without_upgrading_it(sim):
    import sqlite3

    app = sim.app("sales")
    _migrated(sim, app)
    db = sqlite3.connect(sim.state_dir / "ledger.sqlite")
    for table in ("object_dates", "waves", "wave_objects"):
        db.execute(f"DROP TABLE {table}")
    db.execute("PRAGMA user_version=3")
    db.commit()
    db.close()
    onprem.wave(str(sim.path), app)
    ledger = (sim.state_dir / "ledger.sqlite").read_bytes()
    dry = sim.migrate("sync", app, *sim.common(spaces=False), "--dry-run")
    assert dry.code == ExitCode.UNMATCHED and "6 new objects to bring over" in dry.out, dry.out + dry.err
    assert "changed on-prem" not in dry.out  # no dates yet: nobody can tell
    assert (sim.state_dir / "ledger.sqlite").read_bytes() == ledger

"""`verify` after a wave: what `sync` brought over is checked like migrated objects, what its waves
reported (not synced, changed or deleted on-prem) is shown as such and is no mismatch, and anything
the ledger does not explain still is (exit 5)."""
from __future__ import annotations

import csv
import json
import subprocess

from qlikcli_py.errors import ExitCode
from qliksim import onprem
from tests.e2e.test_sync import SYNCABLE
from tests.e2e.test_sync import _migrated


def _synced(sim, app, *, publish_changed=False):
    """run (the session's template) + the demo's on-prem wave + sync: (managed app id, the wave).
    publish_changed: the sheet the wave changes is also published on-prem (made community)."""
    managed, _copy = _migrated(sim, app)
    wave = onprem.wave(str(sim.path), app)
    if publish_changed:
        _publish_on_prem(sim.path, app, wave["changed"][0]["engineObjectId"])
    res = sim.migrate("sync", app, *sim.common(spaces=False))
    assert res.code == ExitCode.CHANGED, res.out + res.err  # reported: a bookmark, a changed and a deleted object
    return managed, wave


def _verify(sim, app, *args, target="cloud"):
    res = sim.migrate("verify", app, *sim.common(spaces=False, target=target), "--csv", str(sim.tmp / "v.csv"),
                      "--report", str(sim.tmp / "v.json"), *args)
    with open(sim.tmp / "v.csv", encoding="utf-8") as fh:
        rows = {r["object_id"]: r for r in csv.DictReader(fh) if r["where"] == "managed"}
    return res, rows, json.loads((sim.tmp / "v.json").read_text())


def test_verify_after_a_good_sync_exits_0_and_names_what_the_wave_did_not_bring(sim):
    app = sim.app("sales")
    managed, wave = _synced(sim, app, publish_changed=True)
    res, rows, doc = _verify(sim, app)
    assert res.code == ExitCode.OK, res.out + res.err
    # what came over: checked like migrated objects (the identity has no admin.apps: a private
    # object handed over is hidden from it and vouched for by the ledger)
    for a in wave["added"]:
        if a["type"] in SYNCABLE:
            assert rows[a["engineObjectId"]]["status"] in ("ok", "handed-over-hidden"), rows[a["engineObjectId"]]
    [bookmark] = [a for a in wave["added"] if a["type"] == "bookmark"]
    got = rows[bookmark["engineObjectId"]]
    assert got["status"] == "not-synced" and "bookmarks cannot be recreated" in got["detail"], got
    # a private sheet when it came over, since edited and published on-prem: the cloud copy is left
    # as it came over (private, its owner's), hidden from the identity, handed over per the ledger
    [changed] = wave["changed"]
    got = rows[changed["engineObjectId"]]
    assert got["status"] == "changed-on-prem" and "admin.apps" in got["detail"], got
    [deleted] = wave["deleted"]
    got = rows[deleted["engineObjectId"]]
    assert got["status"] == "deleted-on-prem" and got["found_state"] == "community", got
    assert "still in the cloud app" in got["detail"]
    # the terminal summary and the report say it too
    [summary] = [a["summary"] for a in doc["apps"]]
    assert summary["mismatches"] == 0 and doc["exit_code"] == ExitCode.OK
    assert summary["by_status"]["not-synced"] == 1 and summary["by_status"]["deleted-on-prem"] == 1
    assert "not-synced 1" in res.out and "deleted-on-prem 1" in res.out and "everything matches" in res.out
    assert f"not-synced      managed bookmark {bookmark['engineObjectId']}" in res.out
    assert f"deleted-on-prem managed story {deleted['engineObjectId']}" in res.out
    # an admin.apps identity sees every object: the changed sheet read and matched as it was migrated
    res, rows, _doc = _verify(sim, app, target="cloud-bot")
    assert res.code == ExitCode.OK, res.out + res.err
    got = rows[changed["engineObjectId"]]
    assert got["status"] == "changed-on-prem" and got["found_state"] == got["state"] == "private", got
    cloud = {o["object_id"]: o for o in sim.world.cloud_objects(managed)}
    assert cloud[changed["engineObjectId"]]["owner_id"] == got["expected_owner"] != sim.info["cloud_identity"]
    assert all(rows[a["engineObjectId"]]["status"] == "ok" for a in wave["added"] if a["type"] in SYNCABLE)


def test_a_synced_object_given_to_another_user_in_the_cloud_is_a_mismatch(sim):
    app = sim.app("sales")
    managed, wave = _synced(sim, app)
    # a community sheet that came over (the identity lists it whoever owns it)
    [sheet] = [a for a in wave["added"] if a["type"] == "sheet" and a["state"] == "community"]
    owner = next(o["owner_id"] for o in sim.world.cloud_objects(managed) if o["object_id"] == sheet["engineObjectId"])
    wrong = next(uid for key, uid in sim.info["cloud_users"].items() if uid != owner)
    subprocess.run(["qlik", "app", "object", "change-owner", "--appId", managed, "--objectId",
                    sheet["engineObjectId"], "--ownerId", wrong, "--context", "cloud-bot"], env=sim.env, check=True,
                   capture_output=True)
    res, rows, _doc = _verify(sim, app)
    assert res.code == ExitCode.MISMATCH, res.out + res.err
    got = rows[sheet["engineObjectId"]]
    assert got["status"] == "wrong-owner" and got["expected_owner"] == owner and wrong in got["detail"], got
    assert "1 mismatches" in res.out


def test_an_object_no_wave_reported_that_goes_missing_is_still_a_mismatch(sim):
    app = sim.app("sales")
    managed, wave = _synced(sim, app)
    # on-prem after the sync: a new community sheet no sync has seen (never reported)
    new = onprem.add(str(sim.path), app, object_type="sheet", owner="ACME\\jdoe", visibility="community")
    res, rows, _doc = _verify(sim, app)
    assert res.code == ExitCode.MISMATCH, res.out + res.err
    got = rows[new["engineObjectId"]]
    assert got["status"] == "missing" and "no sync has reported it" in got["detail"], got
    assert "1 mismatches" in res.out
    # and a community story that came over, then removed from the cloud app
    [story] = [a for a in wave["added"] if a["type"] == "story" and a["state"] == "community"]
    _drop_cloud_object(sim.path, managed, story["engineObjectId"])
    res, rows, _doc = _verify(sim, app)
    assert res.code == ExitCode.MISMATCH and "2 mismatches" in res.out, res.out + res.err
    assert rows[story["engineObjectId"]]["status"] == "missing"
    # the wave's own reports stay explained
    [bookmark] = [a for a in wave["added"] if a["type"] == "bookmark"]
    assert rows[bookmark["engineObjectId"]]["status"] == "not-synced"


def _publish_on_prem(path, app_id, engine_id):
    import sqlite3

    db = sqlite3.connect(path)
    with db:
        assert db.execute("UPDATE qrs_objects SET published=1, publish_time=modified WHERE app_id=? AND "
                          "engine_object_id=?", (app_id, engine_id)).rowcount == 1
    db.close()


def _drop_cloud_object(path, app_id, object_id):
    import sqlite3

    db = sqlite3.connect(path)
    with db:
        assert db.execute("DELETE FROM cloud_objects WHERE app_id=? AND object_id=?", (app_id, object_id)).rowcount == 1
    db.close()

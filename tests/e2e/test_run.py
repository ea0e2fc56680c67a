"""Issue 3: a migration against the simulator leaves the tenant in the right state."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from qlikcli_py.errors import ExitCode

USER_TYPES = {"sheet", "story", "bookmark", "snapshot", "masterobject", "dimension", "measure"}


def _state(o):
    return "base" if o["approved"] else "community" if o["published"] else "private"


def test_run_leaves_every_object_with_its_owner_and_state(sim):
    app = sim.app("sales")
    res = sim.migrate("run", app, *sim.common(), "--report", str(sim.tmp / "r.json"))
    assert res.code == ExitCode.UNMATCHED, res.err  # ACME\tleft has no cloud account, by design
    world = sim.world
    source = {o["engine_object_id"]: o for o in world.qrs_objects(app)}
    imports = [a for a in world.cloud_apps() if a.get("source_app_id") == app or a["name"] == "Sales Overview"]
    managed = [a for a in imports if a["space_id"] == sim.info["spaces"]["Finance"]]
    shared = [a for a in imports if a["space_id"] == sim.info["spaces"]["Finance Dev"]]
    assert len(managed) == 1 and len(shared) == 1  # exactly one import, one development copy
    assert managed[0]["origin_app_id"] == shared[0]["id"]
    cloud = {o["object_id"]: o for o in world.cloud_objects(managed[0]["id"])}
    assert set(cloud) == set(source)  # every source object, by id
    users = {u["subject"].lower(): u["id"] for u in world.cloud_users()}
    by_email = {u["email"].lower(): u["id"] for u in world.cloud_users()}
    qrs_users = {u["id"]: u for u in world.qrs_users()}
    me = sim.info["cloud_identity"]
    for oid, src in source.items():
        got = cloud[oid]
        assert got["type"] == src["object_type"]
        assert _state(got) == _state(src), oid
        if _state(src) == "base" or src["object_type"] not in USER_TYPES:
            continue
        owner = qrs_users[src["owner_id"]]
        expected = users.get(f"{owner['user_directory']}\\{owner['user_id']}".lower()) or by_email.get(
            (owner.get("email") or "").lower(), me)
        assert got["owner_id"] == expected, (oid, owner["user_id"])
    copy = world.cloud_objects(shared[0]["id"])
    assert {_state(o) for o in copy} == {"base"}  # the development copy holds base objects only
    assert {o["object_id"] for o in copy} == {k for k, v in source.items() if _state(v) == "base"}
    report = json.loads((sim.tmp / "r.json").read_text())
    assert report["report_version"] == 1 and report["exit_code"] == ExitCode.UNMATCHED
    [unmatched] = report["apps"][0]["unmatched"]
    assert unmatched["source_owner"] == "ACME\\tleft" and unmatched["objects"] == 2
    assert "ACME\\tleft (Tom Left)" in res.out


def test_rerun_imports_nothing_and_writes_nothing(sim):
    app = sim.app("sales")
    assert sim.migrate("run", app, *sim.common()).code == ExitCode.UNMATCHED
    apps_before = len(sim.world.cloud_apps())
    calls_before = len(sim.calls())
    again = sim.migrate("run", app, *sim.common())
    assert again.code == ExitCode.UNMATCHED
    assert len(sim.world.cloud_apps()) == apps_before
    tiers = Counter(c["tier"] for c in sim.calls()[calls_before:])
    assert tiers["write"] == 0 and tiers["engine"] == 0, tiers


def test_unmatched_owner_is_handed_over_once_the_user_exists(sim):
    app = sim.app("sales")
    assert sim.migrate("run", app, *sim.common()).code == ExitCode.UNMATCHED
    mapping = sim.tmp / "map.csv"
    mapping.write_text("source,target\nACME\\tleft,jane.doe@acme.com\n", encoding="utf-8")
    res = sim.migrate("run", app, *sim.common(), "--mapping-file", str(mapping))
    assert res.code == ExitCode.OK, res.err + res.out
    jane = sim.info["cloud_users"]["jdoe"]
    tleft = sim.info["qrs_users"]["tleft"]
    managed = next(a for a in sim.world.cloud_apps() if a["space_id"] == sim.info["spaces"]["Finance"])
    theirs = {o["engine_object_id"] for o in sim.world.qrs_objects(app) if o["owner_id"] == tleft and not o["approved"]}
    assert theirs and all(o["owner_id"] == jane
                          for o in sim.world.cloud_objects(managed["id"]) if o["object_id"] in theirs)


def test_several_apps_with_awkward_names_in_one_run(sim):
    res = sim.migrate("run", sim.app("ventes"), sim.app("scratch"), *sim.common(), "--workers", "6",
                      "--keep-exports")
    assert res.code == ExitCode.UNMATCHED, res.err
    names = Counter(a["name"] for a in sim.world.cloud_apps())
    assert names == {"Ventes 'Été' / Q4 \"final\"": 2, "Kim's scratchpad": 2}
    exports = list((sim.state_dir / "exports").iterdir())
    assert len(exports) == 2 and all(p.parent == sim.state_dir / "exports" for p in exports)
    assert all((p.stat().st_mode & 0o077) == 0 for p in exports)  # owner-only


@pytest.mark.slow
def test_verify_passes_after_run_and_catches_a_wrong_owner(sim):
    app = sim.app("sales")
    sim.migrate("run", app, *sim.common())
    ok = sim.migrate("verify", app, *sim.common(spaces=False))
    assert ok.code == ExitCode.OK, ok.out + ok.err
    assert "everything matches" in ok.out
    # someone (an admin bot) gives a community sheet to the wrong user afterwards
    world = sim.world
    managed = next(a for a in world.cloud_apps() if a["space_id"] == sim.info["spaces"]["Finance"])
    community = next(o for o in world.cloud_objects(managed["id"]) if o["published"] and not o["approved"]
                     and o["owner_id"] != sim.info["cloud_identity"])
    import subprocess

    wrong = sim.info["cloud_users"]["kwong"] if community["owner_id"] != sim.info["cloud_users"]["kwong"] else \
        sim.info["cloud_users"]["jdoe"]
    subprocess.run(["qlik", "app", "object", "change-owner", "--appId", managed["id"], "--objectId",
                    community["object_id"], "--ownerId", wrong, "--context", "cloud-bot"], env=sim.env, check=True,
                   capture_output=True)
    bad = sim.migrate("verify", app, *sim.common(spaces=False), "--csv", str(sim.tmp / "v.csv"))
    assert bad.code == ExitCode.MISMATCH
    assert "wrong-owner" in bad.out and community["object_id"] in bad.out
    rows = (sim.tmp / "v.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("app_id,app_name,where,object_id")
    assert any(community["object_id"] in r and "wrong-owner" in r for r in rows)

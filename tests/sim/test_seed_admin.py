"""Seeds (demo completeness, generated sizes and speed) and the `qlik-sim` admin CLI."""

from __future__ import annotations

import collections
import json
import pathlib
from typing import Any

import pytest

from qliksim import admin
from qliksim import qlik
from qliksim import seed
from qliksim.store import World


def test_demo_has_every_type_in_every_state(demo: dict[str, Any]) -> None:
    world = World(demo["path"])
    for app in world.qrs_apps():
        objects = world.qrs_objects(app["id"])
        combos = {(o["object_type"], "base" if o["approved"] else "community" if o["published"] else "private")
                  for o in objects}
        # the load script is app structure: base only
        assert combos == {(t, s) for t in seed.OBJECT_TYPES for s in seed.STATES if t != "app_appscript"} | {
            ("app_appscript", "base")}
        assert len({o["engine_object_id"] for o in objects}) == len(objects)
    users = {u["id"]: u for u in world.qrs_users()}
    owners = {users[o["owner_id"]]["user_id"] for a in world.qrs_apps() for o in world.qrs_objects(a["id"])}
    assert {"jdoe", "kwong", "tleft", "o'brien"} <= owners
    subjects = {u["subject"] for u in world.cloud_users()}
    assert "ACME\\jdoe" in subjects and "ACME\\tleft" not in subjects and "ACME\\kwong" not in subjects
    assert {c["name"]: (c["server_type"], c["admin_apps"]) for c in world.contexts()} == {
        "qseow": ("windows", False),
        "cloud": ("cloud", False),
        "cloud-bot": ("cloud", True),
    }
    assert "token" not in world.contexts()[0]
    assert {s["name"]: s["type"] for s in world.spaces()} == {"Finance Dev": "shared", "Finance": "managed",
                                                              "Sandbox": "shared", "Finance Data": "data"}


def test_demo_is_deterministic(tmp_path: pathlib.Path) -> None:
    a, b = seed.demo(tmp_path / "a.db"), seed.demo(tmp_path / "b.db")
    assert a["apps"] == b["apps"] and a["objects"] == b["objects"]


def test_generate_small(tmp_path: pathlib.Path) -> None:
    info = seed.generate(tmp_path / "g.db", apps=5, objects_per_app=40, owners=20, cloud_users_extra=7,
                         share_subject=0.5, share_email=0.25, seed=3)
    world = World(info["path"])
    assert len(world.qrs_apps()) == 5 and info["objects"] == 200
    assert sum(info["owners"].values()) == 20
    assert len(world.cloud_users()) == 2 + info["owners"]["subject"] + info["owners"]["email"] + 7
    states = collections.Counter(
        "base" if o["approved"] else "community" if o["published"] else "private"
        for a in world.qrs_apps() for o in world.qrs_objects(a["id"])
    )
    assert set(states) == {"private", "community", "base"}


def test_generate_at_scale(tmp_path: pathlib.Path) -> None:
    # (how long it takes is a figure: scripts/scale prints "seeded in N s")
    info = seed.generate(tmp_path / "big.db", apps=1000, objects_per_app=100, owners=1500, cloud_users_extra=49000)
    assert info["objects"] == 100_000 and info["cloud_users"] >= 50_000


def test_admin_cli(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    state = str(tmp_path / "w.db")
    assert admin.main(["seed", "demo", "--state", state]) == 0
    assert json.loads(capsys.readouterr().out)["spaces"]["Finance"]
    assert admin.main(["faults", "--state", state, "--latency", "0.01", "--rate-write", "20/6",
                       "--fault-tiers", "write"]) == 0
    knobs = json.loads(capsys.readouterr().out)
    assert (knobs["latency"], knobs["rate_write"], knobs["fault_tiers"]) == (0.01, "20/6", "write")
    assert admin.main(["faults", "--state", state, "--reset"]) == 0
    assert json.loads(capsys.readouterr().out)["latency"] == 0.0
    with pytest.raises(SystemExit):
        admin.main(["faults", "--state", state, "--rate-read", "lots"])
    capsys.readouterr()
    monkeypatch.setenv("QLIK_SIM_STATE", state)
    qlik.main(["user", "me", "--json", "--context", "cloud"])
    qlik.main(["app", "get", "nope", "--json", "--context", "cloud"])
    capsys.readouterr()
    assert admin.main(["calls", "--state", state]) == 0
    summary = capsys.readouterr().out
    assert summary.startswith("2 calls") and "user me" in summary and "app get" in summary
    assert admin.main(["show", "--state", state]) == 0
    shown = capsys.readouterr().out
    assert "Sales Overview" in shown and "Qlik Cloud" in shown
    assert admin.main(["install-bin", str(tmp_path / "bin")]) == 0
    assert (tmp_path / "bin" / "qlik").stat().st_mode & 0o111


def test_show_describes_cloud_objects(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> None:
    qvf = tmp_path / "s.qvf"
    run("qrs", "app", "export", "create", demo["apps"]["sales"], "--exportScope", "all",
        "--output-file", str(qvf), context="qseow")
    run("app", "import", "--file", str(qvf), "--spaceId", demo["spaces"]["Finance Dev"], context="cloud")
    text = admin.show(demo["path"])
    assert ("space=Finance Dev (shared)" in text and "Migration Service <ACME\\svc_migrate>" in text
            and "private" in text)

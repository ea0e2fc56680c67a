"""`qlik-sim onprem`: on-prem work after a migration reaches the QRS, its export and an import of it."""

from __future__ import annotations

import pathlib
import subprocess
import sys
from typing import Any

import pytest

from qliksim import admin
from qliksim import onprem
from qliksim import qvf
from qliksim.store import World

from .conftest import object_by_state
from .test_cloud_apps import export_all
from .test_cloud_apps import import_app


def _qrs(run: Any, demo: dict[str, Any]) -> dict[str, dict[str, Any]]:
    r = run("qrs", "app", "object", "full", "--filter", f"app.id eq {demo['apps']['sales']}", context="qseow")
    assert r.code == 0, r
    return {o["engineObjectId"]: o for o in r.json()}


def test_added_objects_reach_the_qrs_the_export_and_an_import_with_their_children(
    demo: dict[str, Any], run: Any, tmp_path: pathlib.Path
) -> None:
    sales = demo["apps"]["sales"]
    sheet = onprem.add(
        demo["path"],
        sales,
        object_type="sheet",
        owner="ACME\\jmuller",
        visibility="community",
        title="Régions « nord »",
    )
    story = onprem.add(demo["path"], sales, object_type="story", owner="tleft")
    listed = _qrs(run, demo)
    assert listed[sheet["engineObjectId"]]["owner"]["userId"] == "jmuller"
    assert (listed[sheet["engineObjectId"]]["published"], listed[sheet["engineObjectId"]]["approved"]) == (True, False)
    assert (
        listed[story["engineObjectId"]]["owner"]["userId"] == "tleft"
        and not listed[story["engineObjectId"]]["published"]
    )
    assert len(sheet["children"]) == 2 and len(story["children"]) == 1
    exported = {o["engineObjectId"]: o for o in qvf.decode(export_all(run, demo, tmp_path).read_bytes())["objects"]}
    tree = exported[sheet["engineObjectId"]]["tree"]
    assert [c["qProperty"]["qInfo"]["qId"] for c in tree["qChildren"]] == sheet["children"]
    assert [c["name"] for c in tree["qProperty"]["cells"]] == sheet["children"]
    # approved-only exports leave them out
    assert sheet["engineObjectId"] not in {
        o["engineObjectId"]
        for o in qvf.decode(export_all(run, demo, tmp_path, scope="approved").read_bytes())["objects"]
    }
    app = import_app(run, demo, tmp_path / "sales-all.qvf", context="cloud-bot")["attributes"]["id"]
    full = run(
        "app", "object", "properties", sheet["engineObjectId"], "--app", app, "--full", context="cloud-bot"
    ).json()
    assert full["qChildren"] == tree["qChildren"] and full["qProperty"]["qMetaDef"]["title"] == "Régions « nord »"
    # a copy keeps the tree too
    copy = run("app", "copy", app, context="cloud-bot").json()["attributes"]["id"]
    assert (
        run("app", "object", "properties", sheet["engineObjectId"], "--app", copy, "--full", context="cloud-bot").json()
        == full
    )


def test_change_moves_modified_date_forward_and_changes_properties(
    demo: dict[str, Any], run: Any, tmp_path: pathlib.Path
) -> None:
    sales = demo["apps"]["sales"]
    target = object_by_state(demo, "sales", "sheet", "private")["engineObjectId"]
    before = _qrs(run, demo)[target]
    out = onprem.change(demo["path"], sales, target, now=0.0)  # a clock behind the seed: the date still moves forward
    after = _qrs(run, demo)[target]
    assert after["modifiedDate"] > before["modifiedDate"] and after["modifiedDate"] == out["modifiedDate"]
    assert after["name"] == before["name"] + " (edited)"
    exported = {o["engineObjectId"]: o for o in qvf.decode(export_all(run, demo, tmp_path).read_bytes())["objects"]}
    assert exported[target]["title"] == after["name"]
    assert exported[target]["tree"]["qProperty"]["rank"] == 1
    assert World(demo["path"]).qrs_apps()[0]["modified"] == out["modifiedDate"]


def test_delete_removes_the_object(demo: dict[str, Any], run: Any) -> None:
    target = object_by_state(demo, "sales", "story", "community")["engineObjectId"]
    onprem.delete(demo["path"], demo["apps"]["sales"], target)
    assert target not in _qrs(run, demo)
    with pytest.raises(ValueError, match="no object"):
        onprem.delete(demo["path"], demo["apps"]["sales"], target)


def test_wave_adds_for_several_owners_changes_one_and_deletes_one(demo: dict[str, Any], run: Any) -> None:
    before = _qrs(run, demo)
    out = onprem.wave(demo["path"], demo["apps"]["sales"])
    after = _qrs(run, demo)
    added = {o["engineObjectId"] for o in out["added"]}
    assert added <= set(after) and not added & set(before)
    assert {o["owner"] for o in out["added"]} >= {"ACME\\jdoe", "ACME\\asmith", "ACME\\tleft"}
    assert {o["state"] for o in out["added"] if o["type"] in ("sheet", "story")} == {"private", "community"}
    assert {o["type"] for o in out["added"]} == {"sheet", "story", "bookmark", "masterobject"}
    assert [c["engineObjectId"] for c in out["changed"]] and [d["engineObjectId"] for d in out["deleted"]]
    assert out["deleted"][0]["engineObjectId"] not in after


def test_the_command_line(demo: dict[str, Any], tmp_path: pathlib.Path) -> None:
    def sim(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "qliksim.admin", "onprem", *args, "--state", demo["path"]],
            capture_output=True,
            text=True,
            cwd=admin.PACKAGE_ROOT,
            timeout=60,
        )

    ok = sim("add", "--app", demo["apps"]["sales"], "--type", "masterobject", "--owner", "ACME\\kwong", "--id", "mYk1d")
    assert ok.returncode == 0, ok.stderr
    assert '"engineObjectId": "mYk1d"' in ok.stdout
    taken = sim("add", "--app", demo["apps"]["sales"], "--type", "sheet", "--owner", "ACME\\kwong", "--id", "mYk1d")
    assert (taken.returncode, taken.stderr) == (
        2,
        f"qlik-sim onprem: engine object id mYk1d is taken in app {demo['apps']['sales']}\n",
    )
    nobody = sim("add", "--app", demo["apps"]["sales"], "--type", "sheet", "--owner", "ACME\\nobody")
    assert nobody.returncode == 2 and nobody.stderr.count("\n") == 1 and "no single QRS user" in nobody.stderr

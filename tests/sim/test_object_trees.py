"""`app object properties [--full]`, `app object set FILE` and `app object publish` in the simulator:
trees with children, CreateObject's id rule, ownership and visibility, what 1.4.0 prints."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from qliksim import faults
from qliksim.store import World

from .conftest import object_by_state
from .test_cloud_apps import export_all
from .test_cloud_apps import import_app

ENTRY = {
    "qProperty": {
        "qInfo": {"qId": "sync-sheet-1", "qType": "sheet"},
        "qMetaDef": {"title": "Sheet from on-prem"},
        "cells": [{"name": "kid-1", "type": "barchart"}],
    },
    "qChildren": [
        {
            "qProperty": {"qInfo": {"qId": "kid-1", "qType": "barchart"}, "title": "Revenue"},
            "qChildren": [],
            "qEmbeddedSnapshotRef": None,
        }
    ],
    "qEmbeddedSnapshotRef": None,
}


@pytest.fixture
def managed(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> str:
    """The sales app published into the managed space (base objects, owned by the publisher)."""
    shared = import_app(run, demo, export_all(run, demo, tmp_path))["attributes"]["id"]
    r = run("app", "publish", "create", shared, "--spaceId", demo["spaces"]["Finance"], context="cloud")
    assert r.code == 0, r
    return str(r.json()["attributes"]["id"])


def _file(tmp_path: pathlib.Path, doc: dict[str, Any], name: str = "obj.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def _give(run: Any, app: str, oid: str, owner: str) -> Any:
    """Hand an object to another owner, as the admin.apps bot."""
    return run("app", "object", "change-owner", "--appId", app, "--objectId", oid, "--ownerId", owner,
               context="cloud-bot")


def _row(demo: dict[str, Any], app: str, oid: str) -> dict[str, Any] | None:
    return next((o for o in World(demo["path"]).cloud_objects(app) if o["object_id"] == oid), None)


def test_set_creates_the_object_with_its_id_and_tree_owned_by_the_caller(
    demo: dict[str, Any], run: Any, managed: str, tmp_path: pathlib.Path
) -> None:
    r = run("app", "object", "set", _file(tmp_path, ENTRY), "--app", managed, context="cloud-bot", json_flag=False)
    assert (r.code, r.out, r.err) == (0, "", "Saving app...\nApp successfully saved\n")
    row = _row(demo, managed, "sync-sheet-1")
    assert row is not None
    assert (row["owner_id"], row["published"], row["approved"], row["title"]) == (
        demo["bot_identity"],
        False,
        False,
        "Sheet from on-prem",
    )
    full = run("app", "object", "properties", "sync-sheet-1", "--app", managed, "--full", context="cloud-bot").json()
    assert full["qChildren"] == ENTRY["qChildren"]
    assert full["qProperty"]["cells"] == ENTRY["qProperty"]["cells"]
    assert full["qProperty"]["qInfo"] == {"qId": "sync-sheet-1", "qType": "sheet"}
    # without --full: GetProperties, the object's own properties only
    assert (
        run("app", "object", "properties", "sync-sheet-1", "--app", managed, context="cloud-bot").json()
        == full["qProperty"]
    )
    # then handed to its owner; a non-admin other than the owner cannot see it
    jdoe = demo["cloud_users"]["jdoe"]
    assert _give(run, managed, "sync-sheet-1", jdoe).code == 0
    hidden = run("app", "object", "properties", "sync-sheet-1", "--app", managed, "--full", context="cloud")
    assert hidden.code == 1 and "5 GENERIC ACCESS DENIED" in hidden.err


def test_set_again_updates_in_place_and_json_mode_wraps_the_messages(
    demo: dict[str, Any], run: Any, managed: str, tmp_path: pathlib.Path
) -> None:
    path = _file(tmp_path, ENTRY)
    assert run("app", "object", "set", path, "--app", managed, context="cloud").code == 0
    changed = json.loads(json.dumps(ENTRY))
    changed["qProperty"]["qMetaDef"]["title"] = "Renamed"
    changed["qChildren"] = []
    r = run("app", "object", "set", _file(tmp_path, changed), "--app", managed, context="cloud")
    assert r.code == 0 and r.out == ""
    assert r.err == '{\n  "": "Saving app...\\n"\n}\n\n{\n  "": "App successfully saved\\n"\n}\n\n'
    ids = [o["object_id"] for o in World(demo["path"]).cloud_objects(managed)]
    assert ids.count("sync-sheet-1") == 1
    full = run("app", "object", "properties", "sync-sheet-1", "--app", managed, "--full", context="cloud").json()
    assert (full["qProperty"]["qMetaDef"]["title"], full["qChildren"]) == ("Renamed", [])
    assert run("app", "object", "set", path, "--app", managed, "--no-save", context="cloud").err == ""


def test_a_plain_identity_creates_in_a_managed_app_and_owns_what_it_creates(
    demo: dict[str, Any], run: Any, managed: str, tmp_path: pathlib.Path
) -> None:
    assert run("app", "object", "set", _file(tmp_path, ENTRY), "--app", managed, context="cloud").code == 0
    assert _row(demo, managed, "sync-sheet-1")["owner_id"] == demo["cloud_identity"]  # type: ignore[index]


@pytest.mark.parametrize(("hidden_answer", "outcome"), [("not_found", "another id"), ("access_denied", "refused")])
def test_a_taken_id_gets_another_id_or_is_refused(
    demo: dict[str, Any], run: Any, managed: str, tmp_path: pathlib.Path, hidden_answer: str, outcome: str
) -> None:
    """The id belongs to someone else's private object the caller cannot see."""
    assert run("app", "object", "set", _file(tmp_path, ENTRY), "--app", managed, context="cloud-bot").code == 0
    jdoe = demo["cloud_users"]["jdoe"]
    assert _give(run, managed, "sync-sheet-1", jdoe).code == 0
    faults.configure(demo["path"], hidden_answer=hidden_answer)
    before = {o["object_id"] for o in World(demo["path"]).cloud_objects(managed)}
    mine = json.loads(json.dumps(ENTRY))
    mine["qProperty"]["qMetaDef"]["title"] = "Mine"
    r = run("app", "object", "set", _file(tmp_path, mine), "--app", managed, context="cloud")
    after = {o["object_id"]: o for o in World(demo["path"]).cloud_objects(managed)}
    assert after["sync-sheet-1"]["owner_id"] == jdoe and after["sync-sheet-1"]["title"] == "Sheet from on-prem"
    if outcome == "refused":
        assert r.code == 1 and "5 GENERIC ACCESS DENIED" in r.err
        assert set(after) == before
    else:
        assert r.code == 0 and r.out == ""  # 1.4.0 does not say which id it created
        (stray,) = set(after) - before
        assert stray != "sync-sheet-1"
        assert (after[stray]["title"], after[stray]["owner_id"]) == ("Mine", demo["cloud_identity"])


def test_set_of_a_visible_object_of_another_owner_is_refused(
    demo: dict[str, Any], run: Any, managed: str, tmp_path: pathlib.Path
) -> None:
    base = object_by_state(demo, "sales", "sheet", "base")["engineObjectId"]
    jdoe_entry = {
        "qProperty": {"qInfo": {"qId": base, "qType": "sheet"}, "qMetaDef": {"title": "hijack"}},
        "qChildren": [],
    }
    faults.configure(demo["path"], hidden_answer="not_found")
    r = run("app", "object", "set", _file(tmp_path, jdoe_entry), "--app", managed, context="cloud-bot")
    assert r.code == 0  # the bot (admin.apps) may
    assert _give(run, managed, base, demo["cloud_users"]["jdoe"]).code == 0
    r = run("app", "object", "set", _file(tmp_path, jdoe_entry), "--app", managed, context="cloud")
    assert r.code == 1 and "5 GENERIC ACCESS DENIED" in r.err


def test_a_properties_file_is_created_whole(
    demo: dict[str, Any], run: Any, managed: str, tmp_path: pathlib.Path
) -> None:
    props = {
        "qInfo": {"qId": "props-1", "qType": "masterobject"},
        "qMetaDef": {"title": "Master"},
        "visualization": "kpi",
    }
    assert run("app", "object", "set", _file(tmp_path, props), "--app", managed, context="cloud").code == 0
    got = run("app", "object", "properties", "props-1", "--app", managed, context="cloud").json()
    assert (got["visualization"], got["qMetaDef"]["title"], got["qInfo"]) == ("kpi", "Master", props["qInfo"])


def test_set_rejects_what_is_not_a_generic_object_and_a_glob_that_matches_nothing(
    demo: dict[str, Any], run: Any, managed: str, tmp_path: pathlib.Path
) -> None:
    bookmark = {"qProperty": {"qInfo": {"qId": "bm-1", "qType": "bookmark"}}, "qChildren": []}
    r = run("app", "object", "set", _file(tmp_path, bookmark), "--app", managed, context="cloud")
    assert r.code == 1 and "not a generic object type" in r.err and _row(demo, managed, "bm-1") is None
    none = run(
        "app", "object", "set", str(tmp_path / "nothing-*.json"), "--app", managed, context="cloud", json_flag=False
    )
    assert none.code == 0 and none.err.startswith(f"No matches found for pattern {tmp_path / 'nothing-*.json'}\n")


def test_properties_of_an_absent_object_and_the_default_tree(demo: dict[str, Any], run: Any, managed: str) -> None:
    r = run("app", "object", "properties", "nope", "--app", managed, "--full", context="cloud")
    assert r.code == 1 and r.err == "Error: no object by ID 'nope'\n"
    base = object_by_state(demo, "sales", "sheet", "base")
    full = run(
        "app", "object", "properties", base["engineObjectId"], "--app", managed, "--full", context="cloud"
    ).json()
    assert full == {
        "qProperty": {
            "qInfo": {"qId": base["engineObjectId"], "qType": "sheet"},
            "qMetaDef": {"title": base["title"], "description": ""},
            "title": base["title"],
        },
        "qChildren": [],
        "qEmbeddedSnapshotRef": None,
    }


def test_publish_prints_on_stderr_and_refuses_a_published_object(
    demo: dict[str, Any], run: Any, managed: str, tmp_path: pathlib.Path
) -> None:
    assert run("app", "object", "set", _file(tmp_path, ENTRY), "--app", managed, context="cloud").code == 0
    r = run("app", "object", "publish", "sync-sheet-1", "--app", managed, context="cloud", json_flag=False)
    assert (r.code, r.out, r.err) == (0, "", "Publishing object sync-sheet-1\n")
    assert _row(demo, managed, "sync-sheet-1")["published"] is True  # type: ignore[index]
    again = run("app", "object", "publish", "sync-sheet-1", "--app", managed, context="cloud", json_flag=False)
    assert (again.code, again.err) == (
        1,
        "sync-sheet-1 is already published.\nError: cannot publish a published object: sync-sheet-1\n",
    )
    as_json = run("app", "object", "publish", "sync-sheet-1", "--app", managed, context="cloud")
    assert as_json.code == 1
    assert as_json.err == (
        '{\n  "": "sync-sheet-1 is already published.\\n"\n}\n\n'
        '{\n  "error": "cannot publish a published object: sync-sheet-1\\n"\n}\n\n'
    )

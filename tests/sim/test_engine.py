"""Engine commands: visibility, layout errors, unpublish, rm (published, pending until build)."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from qliksim.store import World

from .conftest import object_by_state
from .test_cloud_apps import export_all
from .test_cloud_apps import import_app


@pytest.fixture
def app(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> str:
    """The sales app imported by the bot, then every object handed back to its QRS owner's
    cloud account (owners without one stay with the bot)."""
    app_id: str = import_app(run, demo, export_all(run, demo, tmp_path), context="cloud-bot")["attributes"]["id"]
    for obj in demo["objects"]["sales"]:
        owner = demo["cloud_users"].get(obj["owner"])
        if owner:
            r = run("app", "object", "change-owner", "--appId", app_id, "--objectId", obj["engineObjectId"],
                    "--ownerId", owner, context="cloud-bot")
            assert r.code == 0, r
    return app_id


def _ids(run: Any, app: str, family: str, context: str) -> set[str]:
    r = run("app", family, "ls", "--app", app, context=context)
    assert r.code == 0, r
    return {o["qId"] for o in r.json()}


def test_ls_families_and_visibility(demo: dict[str, Any], run: Any, app: str) -> None:
    objs = demo["objects"]["sales"]
    everything = _ids(run, app, "object", "cloud-bot") | _ids(run, app, "bookmark", "cloud-bot")
    everything |= _ids(run, app, "dimension", "cloud-bot") | _ids(run, app, "measure", "cloud-bot")
    assert everything == {o["engineObjectId"] for o in objs if o["type"] != "app_appscript"}
    generic = _ids(run, app, "object", "cloud-bot")
    assert {o["type"] for o in objs if o["engineObjectId"] in generic} == {"sheet", "story", "masterobject"}
    bookmarks = _ids(run, app, "bookmark", "cloud-bot")
    assert {o["type"] for o in objs if o["engineObjectId"] in bookmarks} == {"bookmark", "snapshot"}
    # The migration user owns nothing now: it sees base and community objects, no private ones.
    seen = _ids(run, app, "object", "cloud")
    assert {o["state"] for o in objs if o["engineObjectId"] in seen} == {"base", "community"}
    r = run("app", "object", "ls", "--app", app, context="cloud", json_flag=False)
    assert r.out.splitlines()[0].split() == ["ID", "Type", "Title"]
    assert set(run("app", "object", "ls", "--app", app, "-q", context="cloud").out.split()) == seen


def test_layout(demo: dict[str, Any], run: Any, app: str) -> None:
    private = object_by_state(demo, "sales", "sheet", "private")
    community = object_by_state(demo, "sales", "sheet", "community")
    layout = run("app", "object", "layout", community["engineObjectId"], "--app", app, context="cloud").json()
    assert layout["qInfo"] == {"qId": community["engineObjectId"], "qType": "sheet"}
    assert layout["qMeta"]["published"] is True and layout["qMeta"]["approved"] is False
    assert (layout["qMeta"]["ownerId"] == demo["cloud_users"][community["owner"]]
            and layout["title"] == community["title"])
    r = run("app", "object", "layout", private["engineObjectId"], "--app", app, context="cloud")
    assert (r.code, r.err) == (1, "Error: 5 GENERIC ACCESS DENIED\n")
    r = run("app", "object", "layout", "nope", "--app", app, context="cloud")
    assert (r.code, r.err) == (1, "Error: 9003 PERSISTENCE NOT FOUND\n")
    bookmark = object_by_state(demo, "sales", "bookmark", "base")["engineObjectId"]
    assert run("app", "object", "layout", bookmark, "--app", app, context="cloud").err.startswith("Error: 9003")
    assert run("app", "bookmark", "layout", bookmark, "--app", app, context="cloud").code == 0
    assert run("app", "object", "layout", "x", "--app", "nope", context="cloud").http.startswith("404 Not Found")


def test_unpublish_and_rm(demo: dict[str, Any], run: Any, app: str) -> None:
    world = World(demo["path"])
    community = object_by_state(demo, "sales", "sheet", "community")["engineObjectId"]
    # The migration user does not own it: no unpublish, no rm.
    assert run("app", "object", "unpublish", community, "--app", app,
               context="cloud").err.startswith("Error: 5 GENERIC ACCESS DENIED")
    r = run("app", "object", "rm", community, "--app", app, "--no-save", context="cloud-bot")
    assert r.code == 1 and r.err.startswith("Error: 5 GENERIC ACCESS DENIED") and "published" in r.err
    r = run("app", "object", "unpublish", community, "--app", app, context="cloud-bot")
    assert r.code == 0 and community in r.out
    row = next(o for o in world.cloud_objects(app) if o["object_id"] == community)
    assert row["published"] is False and row["approved"] is False
    # rm --no-save is pending until `app build`; a repeated rm is idempotent.
    assert run("app", "object", "rm", community, "--app", app, "--no-save", context="cloud-bot").code == 0
    assert run("app", "object", "rm", community, "--app", app, "--no-save", context="cloud-bot").code == 0
    assert [o["pending_rm"] for o in world.cloud_objects(app) if o["object_id"] == community] == [True]
    assert run("app", "build", "--app", app, "--no-reload", "--no-data", context="cloud-bot").code == 0
    assert community not in {o["object_id"] for o in world.cloud_objects(app)}
    assert run("app", "object", "rm", community, "--app", app, context="cloud-bot").err.startswith("Error: 9003")


def test_rm_is_all_or_nothing(demo: dict[str, Any], run: Any, app: str) -> None:
    private = [o["engineObjectId"] for o in demo["objects"]["sales"]
               if o["state"] == "private" and o["type"] in ("sheet", "story")]
    base = object_by_state(demo, "sales", "sheet", "base")["engineObjectId"]
    r = run("app", "object", "rm", *private, base, "--app", app, context="cloud-bot")
    assert r.code == 1
    assert set(private) <= {o["object_id"] for o in World(demo["path"]).cloud_objects(app)}
    r = run("app", "object", "rm", *private, "--app", app, context="cloud-bot")  # saves at once
    assert r.code == 0 and not set(private) & {o["object_id"] for o in World(demo["path"]).cloud_objects(app)}


def test_owner_may_unpublish_and_remove_own_objects(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> None:
    app = import_app(run, demo, export_all(run, demo, tmp_path))["attributes"]["id"]  # the importer owns all
    measure = object_by_state(demo, "sales", "measure", "community")["engineObjectId"]
    assert run("app", "measure", "unpublish", measure, "--app", app, context="cloud").code == 0
    assert run("app", "measure", "rm", measure, "--app", app, "--no-save", context="cloud").code == 0
    assert run("app", "build", "--app", app, "--no-save", context="cloud").code == 0  # not saved
    assert measure in {o["object_id"] for o in World(demo["path"]).cloud_objects(app)}
    run("app", "build", "--app", app, "--no-reload", "--no-data", context="cloud")
    assert measure not in {o["object_id"] for o in World(demo["path"]).cloud_objects(app)}


@pytest.mark.parametrize("wording,denied,absent", [
    ("coded", "Error: 5 GENERIC ACCESS DENIED\n", "Error: 9003 PERSISTENCE NOT FOUND\n"),
    ("corectl", "(5 GENERIC ACCESS DENIED)\n", "Error: no object by ID '{absent}'\n"),
    ("novel", "Error: the engine turned the request for '{hidden}' away\n",
     "Error: the app holds nothing called '{absent}' that this session may open\n"),
])
def test_engine_wording_knob(demo: dict[str, Any], run: Any, app: str, wording: str, denied: str, absent: str) -> None:
    from qliksim import faults

    faults.configure(demo["path"], engine_wording=wording)
    hidden = object_by_state(demo, "sales", "sheet", "private")["engineObjectId"]
    r = run("app", "object", "layout", hidden, "--app", app, context="cloud")
    assert r.code == 1 and r.err.endswith(denied.format(hidden=hidden))
    r = run("app", "object", "layout", "nope", "--app", app, context="cloud")
    assert (r.code, r.err) == (1, absent.format(absent="nope"))
    if wording == "novel":  # no code at all: nothing a parser of codes could read
        assert not any(ch.isdigit() for ch in r.err.replace("nope", ""))


def test_unsaved_removals_knob_drops_them_between_processes(demo: dict[str, Any], run: Any, app: str) -> None:
    from qliksim import faults

    faults.configure(demo["path"], unsaved_removals="dropped")
    private = object_by_state(demo, "sales", "sheet", "private")["engineObjectId"]
    assert run("app", "object", "rm", private, "--app", app, "--no-save", context="cloud-bot").code == 0
    assert run("app", "build", "--app", app, "--no-reload", "--no-data", context="cloud-bot").code == 0
    assert private in _ids(run, app, "object", "cloud-bot")  # the removal did not outlive its process
    assert run("app", "object", "rm", private, "--app", app, context="cloud-bot").code == 0  # saves at once
    assert private not in _ids(run, app, "object", "cloud-bot")

"""Cloud app semantics: import, get/ls, copy, publish (move vs plain), change-owner."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
from api_specs import cloud_types

from qliksim.store import World

from .conftest import object_by_state


def export_all(run: Any, demo: dict[str, Any], tmp_path: pathlib.Path, app: str = "sales",
               scope: str = "all") -> pathlib.Path:
    target = tmp_path / f"{app}-{scope}.qvf"
    r = run("qrs", "app", "export", "create", demo["apps"][app], "--exportScope", scope,
            "--output-file", str(target), context="qseow")
    assert r.code == 0, r
    return target


def import_app(run: Any, demo: dict[str, Any], qvf: pathlib.Path, context: str = "cloud",
               space: str = "Finance Dev") -> dict[str, Any]:
    r = run("app", "import", "--file", str(qvf), "--spaceId", demo["spaces"][space], "--name", "Sales Overview",
            "--resumable", context=context)
    assert r.code == 0, r
    return r.json()  # type: ignore[no-any-return]


def states(world: World, app_id: str) -> dict[str, tuple[str, bool, bool]]:
    return {o["object_id"]: (o["owner_id"], o["published"], o["approved"]) for o in world.cloud_objects(app_id)}


def test_nxapp_and_item_fields_are_in_the_spec(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> None:
    types = cloud_types()
    app = import_app(run, demo, export_all(run, demo, tmp_path))
    assert set(app) <= set(types["apps.NxApp"])
    # spaceId and _resourcetype are not in @qlik/api's NxAttributes but are in the reference's JSON.
    assert set(app["attributes"]) - set(types["apps.NxAttributes"]) == {"spaceId", "_resourcetype"}
    item = run("app", "ls", "--spaceId", demo["spaces"]["Finance Dev"], context="cloud").json()[0]
    assert set(item) <= set(types["items.ItemResultResponseBody"])
    user = run("user", "me", context="cloud").json()
    assert set(user) <= set(types["users.User"])
    space = run("space", "get", demo["spaces"]["Finance"], context="cloud").json()
    assert set(space) <= set(types["spaces.Space"])


def test_import_makes_a_new_app_owned_by_the_importer(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> None:
    qvf = export_all(run, demo, tmp_path)
    first, second = import_app(run, demo, qvf), import_app(run, demo, qvf)
    a1, a2 = first["attributes"], second["attributes"]
    assert a1["id"] != a2["id"]  # NEW every time, never a replace
    assert a1["ownerId"] == demo["cloud_identity"] and a1["spaceId"] == demo["spaces"]["Finance Dev"]
    assert (a1["published"], a1["publishTime"], a1["originAppId"]) == (False, "", "")
    world = World(demo["path"])
    objects = world.cloud_objects(a1["id"])
    assert {o["owner_id"] for o in objects} == {demo["cloud_identity"]}
    expected = {o["engineObjectId"]: o["state"] for o in demo["objects"]["sales"]}
    got = {o["object_id"]: ("base" if o["approved"] else "community" if o["published"] else "private") for o in objects}
    assert got == expected  # ids and states survive


def test_import_errors(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> None:
    junk = tmp_path / "junk.qvf"
    junk.write_bytes(b"PK\x03\x04 not a qvf")
    r = run("app", "import", "--file", str(junk), "--spaceId", demo["spaces"]["Finance Dev"], context="cloud")
    assert r.code == 1 and r.http.startswith("400 Bad Request") and r.status == 400
    r = run("app", "import", "--file", str(tmp_path / "missing.qvf"), context="cloud")
    assert r.err == f"Error: open {tmp_path / 'missing.qvf'}: no such file or directory\n"
    qvf = export_all(run, demo, tmp_path)
    r = run("app", "import", "--file", str(qvf), "--spaceId", "000000000000000000000000", context="cloud")
    assert r.code == 1 and r.http.startswith("404 Not Found")
    assert World(demo["path"]).cloud_apps() == []  # nothing half-made


def test_import_without_a_space_is_personal(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> None:
    r = run("app", "import", "--file", str(export_all(run, demo, tmp_path)), context="cloud")
    assert "spaceId" not in r.json()["attributes"]
    mine = run("app", "ls", context="cloud").json()
    assert [i["resourceId"] for i in mine] == [r.json()["attributes"]["id"]]
    assert run("app", "ls", context="cloud-bot").json()  # admin.apps sees personal apps too


def test_app_get_and_ls(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> None:
    qvf = export_all(run, demo, tmp_path)
    ids = [import_app(run, demo, qvf)["attributes"]["id"] for _ in range(12)]
    assert run("app", "get", ids[0], context="cloud").json()["attributes"]["id"] == ids[0]
    listed = run("app", "ls", "--spaceId", demo["spaces"]["Finance Dev"], context="cloud").json()
    assert len(listed) == 10  # the documented trap: first page only without --limit
    listed = run("app", "ls", "--spaceId", demo["spaces"]["Finance Dev"], "--limit", "100", context="cloud").json()
    assert sorted(i["resourceId"] for i in listed) == sorted(ids)
    item = listed[0]
    assert (item["resourceType"] == "app" and item["id"] != item["resourceId"]
            and item["resourceCreatedAt"].endswith("Z"))
    assert item["ownerId"] == item["creatorId"] == demo["cloud_identity"]
    assert run("app", "ls", "--spaceId", demo["spaces"]["Sandbox"], context="cloud").json() == []
    quiet = run("app", "ls", "--spaceId", demo["spaces"]["Finance Dev"], "--limit", "3", "-q",
                context="cloud").out.split()
    assert len(quiet) == 3 and set(quiet) <= set(ids)
    raw = run("app", "ls", "--raw", "--limit", "5", context="cloud").json()
    assert len(raw["data"]) == 5 and "next" in raw["links"]
    r = run("app", "get", "nope", context="cloud")
    assert r.code == 1 and r.http.startswith("404 Not Found")


def test_copy_keeps_ids_drops_others_private_objects(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> None:
    src = import_app(run, demo, export_all(run, demo, tmp_path))["attributes"]["id"]
    world = World(demo["path"])
    # Hand the source's private sheet to Jane: after that it is someone else's private object.
    private_sheet = object_by_state(demo, "sales", "sheet", "private")["engineObjectId"]
    jane = demo["cloud_users"]["jdoe"]
    assert run("app", "object", "change-owner", "--appId", src, "--objectId", private_sheet, "--ownerId", jane,
               context="cloud").code == 0
    r = run("app", "copy", src, "--attributes-name", "Sales Overview (dev)", context="cloud")
    assert r.code == 0, r
    copy = r.json()["attributes"]
    assert (copy["id"] != src and copy["name"] == "Sales Overview (dev)"
            and copy["spaceId"] == demo["spaces"]["Finance Dev"])
    copied = states(world, copy["id"])
    source = states(world, src)
    assert private_sheet not in copied and set(copied) == set(source) - {private_sheet}
    assert {owner for owner, _, _ in copied.values()} == {demo["cloud_identity"]}
    assert all(copied[o][1:] == source[o][1:] for o in copied)  # states kept
    other = run("app", "copy", src, "--attributes-spaceId", demo["spaces"]["Sandbox"],
                context="cloud").json()["attributes"]
    assert other["name"] == "Sales Overview" and other["spaceId"] == demo["spaces"]["Sandbox"]


def test_publish_move_keeps_id_and_objects(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> None:
    app = import_app(run, demo, export_all(run, demo, tmp_path))["attributes"]["id"]
    copy = run("app", "copy", app, context="cloud").json()["attributes"]["id"]
    world = World(demo["path"])
    jane = demo["cloud_users"]["jdoe"]
    community_sheet = object_by_state(demo, "sales", "sheet", "community")["engineObjectId"]
    run("app", "object", "change-owner", "--appId", app, "--objectId", community_sheet, "--ownerId", jane,
        context="cloud")
    before = states(world, app)
    managed = demo["spaces"]["Finance"]
    r = run("app", "publish", "create", app, "--spaceId", managed, "--moveApp", "--originAppId", copy, context="cloud")
    assert r.code == 0, r
    attrs = r.json()["attributes"]
    assert (attrs["id"], attrs["spaceId"], attrs["originAppId"]) == (app, managed, copy) and attrs["publishTime"]
    assert states(world, app) == before
    assert len([a for a in world.cloud_apps()]) == 2


def test_plain_publish_makes_a_new_app_with_base_objects(demo: dict[str, Any], run: Any,
                                                         tmp_path: pathlib.Path) -> None:
    app = import_app(run, demo, export_all(run, demo, tmp_path))["attributes"]["id"]
    r = run("app", "publish", "create", app, "--spaceId", demo["spaces"]["Finance"], context="cloud")
    assert r.code == 0, r
    attrs = r.json()["attributes"]
    assert attrs["id"] != app and attrs["originAppId"] == app and attrs["spaceId"] == demo["spaces"]["Finance"]
    objects = World(demo["path"]).cloud_objects(attrs["id"])
    base = {o["engineObjectId"] for o in demo["objects"]["sales"] if o["state"] == "base"}
    assert {o["object_id"] for o in objects} == base


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["--spaceId", "{shared}"], 400),  # not a managed space
        (["--spaceId", "{managed}", "--moveApp"], 400),  # moveApp needs originAppId
        (["--spaceId", "{managed}", "--moveApp", "--originAppId", "nope"], 404),
        (["--spaceId", "000000000000000000000000"], 404),
        ([], 400),
    ],
)
def test_publish_errors(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path, args: list[str], status: int) -> None:
    app = import_app(run, demo, export_all(run, demo, tmp_path, scope="approved"))["attributes"]["id"]
    spaces = {"shared": demo["spaces"]["Finance Dev"], "managed": demo["spaces"]["Finance"]}
    r = run("app", "publish", "create", app, *[a.format(**spaces) for a in args], context="cloud")
    assert r.code == 1 and r.status == status, r
    assert World(demo["path"]).cloud_app(app)["space_id"] == spaces["shared"]  # type: ignore[index]


def test_change_owner_rules(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> None:
    app = import_app(run, demo, export_all(run, demo, tmp_path))["attributes"]["id"]
    sheet = object_by_state(demo, "sales", "sheet", "private")["engineObjectId"]
    jane, alex = demo["cloud_users"]["jdoe"], demo["cloud_users"]["asmith"]

    def change(obj: str, owner: str, context: str = "cloud", app_id: str = app) -> Any:
        return run("app", "object", "change-owner", "--appId", app_id, "--objectId", obj, "--ownerId", owner,
                   context=context)

    r = change(sheet, jane)
    assert r.code == 0, r
    body = r.json()
    assert body["attributes"]["ownerId"] == jane and body["attributes"]["id"] == sheet
    assert body["attributes"]["genericType"] == "genericObject" and body["attributes"]["objectType"] == "sheet"
    assert body["privileges"] == ["read"]  # the caller no longer owns it
    r = change(sheet, alex)  # the importer is no longer the owner
    assert r.code == 1 and r.http.startswith("403 Forbidden") and r.status == 403
    r = change(sheet, alex, context="cloud-bot")  # admin.apps may
    assert r.code == 0 and r.json()["attributes"]["ownerId"] == alex
    bookmark = object_by_state(demo, "sales", "bookmark", "community")["engineObjectId"]
    assert change(bookmark, jane).json()["attributes"]["genericType"] == "genericBookmark"
    assert change("nope", jane).status == 404
    assert change(sheet, jane, app_id="nope").status == 404
    r = change(object_by_state(demo, "sales", "story", "base")["engineObjectId"], "000000000000000000000000")
    assert r.code == 1 and r.status == 400
    owners = states(World(demo["path"]), app)
    assert owners[sheet][0] == alex and owners[bookmark][0] == jane


def test_cloud_commands_on_a_windows_context_fail_like_the_proxy(demo: dict[str, Any], run: Any) -> None:
    r = run("user", "me", context="qseow")
    assert r.code == 1 and r.http.startswith("404 Not Found\n<html>")

"""`app rm ID`: the app and its objects are gone; only its owner or an admin.apps client may."""

from __future__ import annotations

import pathlib
from typing import Any

from qliksim.store import World

from .test_cloud_apps import export_all
from .test_cloud_apps import import_app


def test_app_rm_deletes_the_app_and_its_objects(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> None:
    app = import_app(run, demo, export_all(run, demo, tmp_path))["attributes"]["id"]
    other = import_app(run, demo, tmp_path / "sales-all.qvf", context="cloud-bot")["attributes"]["id"]
    r = run("app", "rm", app, context="cloud")
    assert (r.code, r.out, r.err) == (0, "", '{\n  "": "200 OK"\n}\n\n')
    world = World(demo["path"])
    assert world.cloud_app(app) is None and world.cloud_objects(app) == []
    assert world.cloud_app(other) is not None and world.cloud_objects(other)
    gone = run("app", "rm", app, context="cloud")
    assert gone.code == 1 and gone.status == 404
    # the plain identity does not own the bot's import; the bot may delete anything
    refused = run("app", "rm", other, context="cloud")
    assert refused.code == 1 and refused.status == 403 and World(demo["path"]).cloud_app(other) is not None
    assert run("app", "rm", other, context="cloud-bot").code == 0

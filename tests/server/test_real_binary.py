"""Qlik's real qlik-cli 1.4.0 against `qlik-sim serve`, answer for answer with the simulator's own
`qlik`. Two worlds seeded alike stay in step (ids come from the seed and a counter), so each
change is made through the server in one and through the simulator in the other, and the answers
must agree except for timestamps."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from served import Served
from served import without_times

from qliksim import faults
from qliksim import seed
from qliksim.store import World


class Pair:
    def __init__(self, served: Served, twin: Path, info: dict[str, Any], qvf: Path) -> None:
        self.served, self.twin, self.info, self.qvf = served, twin, info, qvf
        self.apps: dict[str, str] = {}

    def real(self, *args: str, context: str = "cloud") -> Any:
        return self.served.real_json(*args, context=context)

    def sim(self, *args: str, context: str = "cloud") -> Any:
        return self.served.sim_json(*args, context=context, world=self.twin)


@pytest.fixture(scope="module")
def pair(real_qlik_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("served")
    info = seed.demo(tmp / "served.db")
    seed.demo(tmp / "twin.db")
    served = Served(tmp / "served.db", real_qlik_bin, tmp)
    qvf = tmp / "sales.qvf"
    out = served.run_sim("qrs", "app", "export", "create", info["apps"]["sales"], "--exportScope", "all",
                         "--output-file", str(qvf), context="qseow", world=tmp / "twin.db")
    assert out.returncode == 0, out.stderr
    try:
        yield Pair(served, tmp / "twin.db", info, qvf)
    finally:
        err = served.stop()
        assert "not simulated" not in err, err


def _space(pair: Pair, name: str) -> str:
    return next(s["id"] for s in World(pair.twin).spaces() if s["name"] == name)


def test_space_ls_and_user_ls_answer_as_the_simulator(pair: Pair) -> None:
    assert without_times(pair.real("space", "ls")) == without_times(pair.sim("space", "ls"))
    assert len(pair.real("space", "ls", "--limit", "2")) == 2
    real = pair.real("user", "ls", "--subject", "ACME\\svc_migrate")
    assert [u["subject"] for u in real] == ["ACME\\svc_migrate"]
    assert without_times(real) == without_times(pair.sim("user", "ls", "--filter", 'subject eq "ACME\\\\svc_migrate"'))


def test_import_copy_get_and_items_answer_as_the_simulator(pair: Pair) -> None:
    shared = _space(pair, "Finance Dev")
    # 1.4.0 uploads the file to /api/v1/apps/import, then registers the app as an item itself.
    item = pair.real("app", "import", "--file", str(pair.qvf), "--spaceId", shared)
    app = pair.sim("app", "import", "--file", str(pair.qvf), "--spaceId", shared)
    assert item["resourceId"] == app["attributes"]["id"]
    pair.apps["imported"] = app_id = app["attributes"]["id"]
    assert without_times(pair.real("app", "get", app_id)) == without_times(pair.sim("app", "get", app_id))
    copy_real = pair.real("app", "copy", app_id, "--attributes-spaceId", shared)
    copy_sim = pair.sim("app", "copy", app_id, "--attributes-spaceId", shared)
    # 1.4.0 registers the copy as an item too, and prints that item
    assert copy_real["resourceId"] == copy_sim["attributes"]["id"]
    pair.apps["copy"] = copy = copy_sim["attributes"]["id"]
    assert without_times(pair.real("app", "get", copy)) == without_times(pair.sim("app", "get", copy))
    items = pair.real("item", "ls", "--spaceId", shared)
    assert {i["resourceId"] for i in items} == {app_id, pair.apps["copy"]}
    assert without_times(items) == without_times(pair.sim("app", "ls", "--spaceId", shared))
    assert ([o["object_id"] for o in World(pair.served.world).cloud_objects(app_id)]
            == [o["object_id"] for o in World(pair.twin).cloud_objects(app_id)])


def test_engine_object_ls_layout_and_build_answer_as_the_simulator(pair: Pair) -> None:
    app_id = pair.apps["imported"]
    listed = pair.real("app", "object", "ls", "--app", app_id)
    # qlik-cli sorts what the engine lists; the simulator keeps the world's order
    assert (sorted(listed, key=lambda o: o["qId"])
            == sorted(pair.sim("app", "object", "ls", "--app", app_id), key=lambda o: o["qId"]))
    assert len(listed) > 5
    bookmarks = pair.real("app", "bookmark", "ls", "--app", app_id)
    assert (sorted(b["qId"] for b in bookmarks)
            == sorted(b["qId"] for b in pair.sim("app", "bookmark", "ls", "--app", app_id)))
    oid = listed[0]["qId"]
    assert (pair.real("app", "object", "layout", oid, "--app", app_id)
            == pair.sim("app", "object", "layout", oid, "--app", app_id))
    # unpublish + remove without saving + build --no-reload: the same objects are gone in both worlds
    community = next(o["object_id"] for o in World(pair.twin).cloud_objects(app_id)
                     if o["published"] and not o["approved"] and o["type"] == "sheet")
    for binary in (pair.served.run_real, lambda *a: pair.served.run_sim(*a, world=pair.twin)):
        for args in (("app", "object", "unpublish", community, "--app", app_id),
                     ("app", "object", "rm", community, "--app", app_id),
                     ("app", "build", "--app", app_id, "--no-reload")):
            out = binary(*args)
            assert out.returncode == 0, out.stderr
    ids = [o["object_id"] for o in World(pair.served.world).cloud_objects(app_id)]
    assert community not in ids
    assert ids == [o["object_id"] for o in World(pair.twin).cloud_objects(app_id)]


_SHEET = {
    "qProperty": {"qInfo": {"qId": "wave-sheet-1", "qType": "sheet"}, "qMetaDef": {"title": "Nouvelle « feuille »"},
                  "cells": [{"name": "wave-kid-1", "type": "kpi"}]},
    "qChildren": [{"qProperty": {"qInfo": {"qId": "wave-kid-1", "qType": "kpi"}, "title": "KPI"}, "qChildren": [],
                   "qEmbeddedSnapshotRef": None}],
    "qEmbeddedSnapshotRef": None,
}


def _both(pair: Pair, *args: str) -> tuple[Any, Any]:
    """Run one command with the real 1.4.0 (served world) and the simulator's `qlik` (twin): (real, sim)."""
    return pair.served.run_real(*args, "--json"), pair.served.run_sim(*args, "--json", world=pair.twin)


def _rows(world: Path, app_id: str) -> list[tuple[Any, ...]]:
    return [(o["object_id"], o["type"], o["title"], o["owner_id"], o["published"], o["tree"])
            for o in World(world).cloud_objects(app_id)]


def test_object_properties_full_set_and_publish_answer_as_the_simulator(pair: Pair, tmp_path: Path) -> None:
    """1.4.0 sends GetObject + GetFullPropertyTree (properties --full); GetObject (null handle when absent)
    + CreateObject + SetFullPropertyTree + DoSave (set); GetObject + GetLayout + Publish (publish)."""
    app_id = pair.apps["imported"]
    community = next(o["object_id"] for o in World(pair.twin).cloud_objects(app_id)
                     if o["published"] and not o["approved"] and o["type"] == "story")
    assert pair.real("app", "object", "properties", community, "--app", app_id, "--full") == \
        pair.sim("app", "object", "properties", community, "--app", app_id, "--full")
    assert pair.real("app", "object", "properties", community, "--app", app_id) == \
        pair.sim("app", "object", "properties", community, "--app", app_id)
    # an on-prem sheet with a child, as a GenericObjectEntry file: created with its own id, then set whole
    entry = tmp_path / "entry.json"
    entry.write_text(json.dumps(_SHEET, ensure_ascii=False), encoding="utf-8")
    real, sim = _both(pair, "app", "object", "set", str(entry), "--app", app_id)
    assert real.returncode == sim.returncode == 0, real.stderr
    assert real.stdout == sim.stdout == ""  # no id printed
    assert real.stderr == sim.stderr == '{\n  "": "Saving app...\\n"\n}\n\n{\n  "": "App successfully saved\\n"\n}\n\n'
    full = pair.real("app", "object", "properties", "wave-sheet-1", "--app", app_id, "--full")
    assert full == pair.sim("app", "object", "properties", "wave-sheet-1", "--app", app_id, "--full")
    assert full["qChildren"] == _SHEET["qChildren"] and full["qProperty"]["cells"] == _SHEET["qProperty"]["cells"]
    # a GenericObjectProperties file: created from all of it
    props = tmp_path / "props.json"
    props.write_text(json.dumps({"qInfo": {"qId": "wave-master-1", "qType": "masterobject"},
                                 "qMetaDef": {"title": "M"}, "visualization": "kpi"}))
    real, sim = _both(pair, "app", "object", "set", str(props), "--app", app_id, "--no-save")
    assert (real.returncode, real.stdout, real.stderr) == (sim.returncode, sim.stdout, sim.stderr) == (0, "", "")
    # the id is someone else's private object and the engine says "not found": the object gets ANOTHER id
    jdoe = pair.info["cloud_users"]["jdoe"]
    for world in (None, pair.twin):
        assert pair.served.run_sim("app", "object", "change-owner", "--appId", app_id, "--objectId", "wave-sheet-1",
                                   "--ownerId", jdoe, context="cloud-bot", world=world).returncode == 0
        faults.configure(world or pair.served.world, hidden_answer="not_found")
    try:
        real, sim = _both(pair, "app", "object", "set", str(entry), "--app", app_id)
        assert real.returncode == sim.returncode == 0
    finally:
        for world in (pair.served.world, pair.twin):
            faults.configure(world, hidden_answer=None)
    served_rows, twin_rows = _rows(pair.served.world, app_id), _rows(pair.twin, app_id)
    assert served_rows == twin_rows
    strays = [r for r in served_rows if r[2] == _SHEET["qProperty"]["qMetaDef"]["title"] and r[0] != "wave-sheet-1"]
    assert len(strays) == 1 and json.loads(strays[0][5])["qChildren"] == _SHEET["qChildren"]
    # publish: the message on stderr; a second publish is refused by qlik-cli itself
    real, sim = _both(pair, "app", "object", "publish", "wave-master-1", "--app", app_id)
    assert (real.returncode, real.stdout, real.stderr) == (sim.returncode, sim.stdout, sim.stderr) == \
        (0, "", '{\n  "": "Publishing object wave-master-1\\n"\n}\n\n')
    real, sim = _both(pair, "app", "object", "publish", "wave-master-1", "--app", app_id)
    assert (real.returncode, real.stdout, real.stderr) == (sim.returncode, sim.stdout, sim.stderr)
    assert real.returncode == 1 and "cannot publish a published object: wave-master-1" in real.stderr
    assert _rows(pair.served.world, app_id) == _rows(pair.twin, app_id)


def test_app_rm_answers_as_the_simulator(pair: Pair) -> None:
    """1.4.0 sends DELETE /api/v1/apps/ID, then lists items to delete the app's item too."""
    copy = pair.sim("app", "copy", pair.apps["imported"])["attributes"]["id"]
    assert pair.served.run_sim("app", "copy", pair.apps["imported"], "--json").returncode == 0
    real, sim = _both(pair, "app", "rm", copy)
    assert (real.returncode, real.stdout, sim.returncode, sim.stdout) == (0, "", 0, "")
    assert World(pair.served.world).cloud_app(copy) is None and World(pair.twin).cloud_app(copy) is None
    real, sim = _both(pair, "app", "rm", copy)
    assert real.returncode == sim.returncode == 1 and "404" in real.stderr and "404" in sim.stderr


def test_http_errors_reach_the_real_binary(pair: Pair) -> None:
    missing = pair.served.run_real("app", "get", "00000000-0000-0000-0000-000000000000")
    assert missing.returncode == 1 and "404 Not Found" in missing.stderr and "app not found" in missing.stderr
    assert pair.served.run_sim("app", "get", "00000000-0000-0000-0000-000000000000", world=pair.twin).returncode == 1
    engine = pair.served.run_real("app", "object", "layout", "no-such-object", "--app", pair.apps["imported"])
    # the engine answers GetObject of an absent id with a null handle; 1.4.0 words that itself
    assert engine.returncode == 1 and "no object by ID 'no-such-object'" in engine.stderr
    # a token the world does not know
    req = urllib.request.Request(f"{pair.served.url}/api/v1/spaces", headers={"Authorization": "Bearer not-a-token"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 401


def test_rate_limit_answers_429_with_retry_after(pair: Pair) -> None:
    """Last in the module: it leaves the read tier limited."""
    faults.configure(pair.served.world, rate_read="1/60")
    assert pair.served.run_real("space", "ls").returncode == 0
    limited = pair.served.run_real("space", "ls")
    assert limited.returncode == 1 and "429" in limited.stderr
    req = urllib.request.Request(f"{pair.served.url}/api/v1/spaces",
                                 headers={"Authorization": "Bearer eyJhbGciOiJFUzM4NCJ9.sim-cloud.sig"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 429
    assert 1 <= int(info.value.headers["Retry-After"]) <= 60
    assert json.loads(info.value.read())["errors"][0]["title"] == "API rate limit reached."


def test_after_a_migration_the_real_binary_lists_the_migrated_objects(real_qlik_bin: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from qliksim import admin

    world = tmp_path / "world.db"
    info = seed.demo(world)
    bin_dir = admin.install_bin(tmp_path / "bin").parent
    env = {**os.environ, "QLIK_SIM_STATE": str(world), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run([sys.executable, "-m", "qlikcli_py", "--log-level", "warning", "run", info["apps"]["sales"],
                          "--source-context", "qseow", "--target-context", "cloud", "--shared-space", "Finance Dev",
                          "--managed-space", "Finance", "--state-dir", str(tmp_path / "state"),
                          "--write-rate", "0", "--read-rate", "0"],
                         env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode in (0, 4), run.stderr
    managed = next(s["id"] for s in World(world).spaces() if s["name"] == "Finance")
    migrated = next(a["id"] for a in World(world).cloud_apps() if a["space_id"] == managed)
    served = Served(world, real_qlik_bin, tmp_path)
    try:
        for context in ("cloud", "cloud-bot"):
            real = served.real_json("app", "object", "ls", "--app", migrated, context=context)
            sim = served.sim_json("app", "object", "ls", "--app", migrated, context=context)
            assert sorted(o["qId"] for o in real) == sorted(o["qId"] for o in sim)
            assert real
    finally:
        served.stop()

"""Issue 20: the vendored qlik-cli 1.4.0's `app script get`, `app script set`, `app connection ls`
and `quota ls` against `qlik-sim serve`, answer for answer with the simulator's own `qlik`: the
engine methods (GetScript, SetScript + DoSave, GetConnections) and the REST path (/api/v1/quotas)
a real binary uses are REAL evidence for the simulator and the fixtures."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from served import Served

from qliksim import seed
from qliksim.store import World


@pytest.fixture(scope="module")
def served(real_qlik_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path, str, Path]]:
    tmp = tmp_path_factory.mktemp("served-reload")
    info = seed.demo(tmp / "served.db")
    seed.demo(tmp / "twin.db")
    server = Served(tmp / "served.db", real_qlik_bin, tmp)
    qvf = tmp / "sales.qvf"
    out = server.run_sim("qrs", "app", "export", "create", info["apps"]["sales"], "--exportScope", "all",
                         "--output-file", str(qvf), context="qseow", world=tmp / "twin.db")
    assert out.returncode == 0, out.stderr
    shared = next(s["id"] for s in World(tmp / "twin.db").spaces() if s["name"] == "Finance Dev")
    for binary in (server.run_real, lambda *a: server.run_sim(*a, world=tmp / "twin.db")):
        imported = binary("app", "import", "--file", str(qvf), "--spaceId", shared, "--json")
        assert imported.returncode == 0, imported.stderr
    app_id = World(tmp / "twin.db").cloud_apps()[0]["id"]
    assert [a["id"] for a in World(tmp / "served.db").cloud_apps()] == [app_id]
    try:
        yield server, tmp / "twin.db", app_id, tmp
    finally:
        err = server.stop()
        assert "not simulated" not in err, err


def test_app_script_get_prints_the_script_as_the_simulator(served: tuple[Served, Path, str, Path]) -> None:
    server, twin, app_id, _tmp = served
    real = server.run_real("app", "script", "get", "--app", app_id)
    sim = server.run_sim("app", "script", "get", "--app", app_id, world=twin)
    assert real.returncode == sim.returncode == 0, real.stderr
    assert "LIB CONNECT TO 'SQL_Prod';" in real.stdout
    assert real.stdout.rstrip("\n") == sim.stdout.rstrip("\n")


def test_app_connection_ls_lists_what_the_app_resolves(served: tuple[Served, Path, str, Path]) -> None:
    server, twin, app_id, _tmp = served
    real = server.real_json("app", "connection", "ls", "--app", app_id)
    sim = server.sim_json("app", "connection", "ls", "--app", app_id, world=twin)
    names = sorted(c["qName"] for c in real)
    assert names == sorted(c["qName"] for c in sim)
    assert "SQL Prod (cloud)" in names and "Finance Data:Warehouse" in names


def test_app_script_set_replaces_the_script_and_saves(served: tuple[Served, Path, str, Path]) -> None:
    server, twin, app_id, tmp = served
    new = tmp / "renamed.qvs"
    new.write_text("LIB CONNECT TO 'SQL Prod (cloud)';\n", encoding="utf-8")
    real = server.run_real("app", "script", "set", str(new), "--app", app_id)
    sim = server.run_sim("app", "script", "set", str(new), "--app", app_id, world=twin)
    assert real.returncode == sim.returncode == 0, real.stderr
    assert World(server.world).script(app_id) == World(twin).script(app_id) == new.read_text(encoding="utf-8")
    # no reload
    assert World(server.world).cloud_app(app_id)["last_reload"] == World(twin).cloud_app(app_id)["last_reload"]


def test_quota_ls_reads_the_quotas_path(served: tuple[Served, Path, str, Path]) -> None:
    server, twin, _app, _tmp = served
    real = server.real_json("quota", "ls", "--reportUsage=true")
    assert real == server.sim_json("quota", "ls", "--reportUsage=true", world=twin)
    assert {q["id"] for q in real} == {"app_mem_size", "app_upload_disk_size"}
    assert all("usage" in q["attributes"] for q in real)

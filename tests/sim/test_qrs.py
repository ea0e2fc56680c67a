"""`qlik qrs ...`: shapes, filters, export scopes."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from api_specs import qrs_fields

from qliksim import faults
from qliksim import qvf


def test_shapes_use_only_spec_fields(demo: dict[str, Any], run: Any) -> None:
    app = run("qrs", "app", "get", demo["apps"]["sales"], context="qseow").json()
    assert set(app) <= qrs_fields("App")
    assert set(app["owner"]) <= qrs_fields("UserCondensed") and set(app["stream"]) <= qrs_fields("StreamCondensed")
    obj = run("qrs", "app", "object", "full", "--filter", f"app.id eq {demo['apps']['sales']}",
              context="qseow").json()[0]
    assert set(obj) <= qrs_fields("AppObject") and set(obj["app"]) <= qrs_fields("AppCondensed")
    user = run("qrs", "user", "full", context="qseow").json()[0]
    assert set(user) <= qrs_fields("User")
    assert set(user["attributes"][0]) <= qrs_fields("UserAttribute")
    for condensed, name in ((run("qrs", "app", "ls", context="qseow").json()[0], "AppCondensed"),):
        assert set(condensed) <= qrs_fields(name)


def test_app_get_count_full(demo: dict[str, Any], run: Any) -> None:
    assert run("qrs", "app", "count", context="qseow").out == "4\n"
    app = run("qrs", "app", "get", demo["apps"]["ventes"], context="qseow").json()
    assert app["name"] == "Ventes 'Été' / Q4 \"final\""
    assert app["owner"]["userId"] == "o'brien" and app["owner"]["userDirectory"] == "EMEA\\SALES"
    assert app["stream"]["name"] == "Sales & Marketing" and app["schemaPath"] == "App"
    scratch = run("qrs", "app", "get", demo["apps"]["scratch"].upper(), context="qseow").json()
    assert scratch["stream"] is None and scratch["published"] is False and scratch["publishTime"].startswith("1753")


def test_app_get_errors(demo: dict[str, Any], run: Any) -> None:
    r = run("qrs", "app", "get", "not-a-guid", context="qseow")
    assert r.code == 1 and r.http.startswith("400 Bad Request\n") and r.status == 400
    r = run("qrs", "app", "get", "00000000-0000-4000-8000-000000000000", context="qseow")
    assert r.code == 1 and r.http.startswith("404 Not Found\n")
    body = json.loads(r.http.split("\n", 1)[1])
    assert body["errors"][0]["code"] == "HTTP-404" and body["errors"][0]["status"] == "404" and body["traceId"]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("stream.name eq 'Finance'", {"sales", "hr"}),
        ("stream.name eq 'finance'", {"sales", "hr"}),  # case-insensitive strings
        ("stream eq null", {"scratch"}),
        ("stream ne null and published eq true", {"sales", "hr", "ventes"}),
        ("name eq 'Kim''s scratchpad'", {"scratch"}),
        ("name eq 'VENTES ''ÉTÉ'' / Q4 \"final\"'", {"ventes"}),
        ("owner.userId eq 'o''brien' and owner.userDirectory eq 'EMEA\\SALES'", {"ventes"}),
        ("name sw 'sales' or name ew 'headcount'", {"sales", "hr"}),
        ("name so 'Q4'", {"ventes"}),
        ("(name so 'a') and not (stream.name eq 'Finance')", {"ventes", "scratch"}),
    ],
)
def test_app_filters(demo: dict[str, Any], run: Any, flt: str, expected: set[str]) -> None:
    r = run("qrs", "app", "full", "--filter", flt, context="qseow")
    assert r.code == 0, r
    names = {key for key, app_id in demo["apps"].items() if app_id in {a["id"] for a in r.json()}}
    assert names == expected


def test_filter_by_guid(demo: dict[str, Any], run: Any) -> None:
    sales = demo["apps"]["sales"]
    assert [a["id"] for a in run("qrs", "app", "full", "--filter", f"id eq {sales}", context="qseow").json()] == [sales]
    objs = run("qrs", "app", "object", "full", "--filter", f"app.id eq {sales} and objectType eq 'sheet'",
               context="qseow").json()
    assert len(objs) == 3 and {o["objectType"] for o in objs} == {"sheet"}
    users = demo["qrs_users"]
    r = run("qrs", "user", "full", "--filter", f"id eq {users['jdoe']} or id eq {users['kwong']}",
            context="qseow").json()
    assert {u["userId"] for u in r} == {"jdoe", "kwong"}
    kwong = next(u for u in r if u["userId"] == "kwong")
    assert (kwong["attributes"][0]["attributeType"] == "email"
            and kwong["attributes"][0]["attributeValue"] == "Kim.Wong@ACME.com")


@pytest.mark.parametrize(
    "flt",
    [
        "name eq Sales",  # strings must be quoted
        "id eq 'bcfbb050-acab-4a6b-869d-4bd8b3fa7aa7'",  # GUIDs must not be
        "id eq 12345",
        "published eq 'true'",
        "nosuch eq 'x'",
        "name like 'x'",
        "name eq 'unterminated",
        "(name eq 'x'",
        "name eq 'x' and",
        "name eq null",
    ],
)
def test_invalid_filters_are_400(demo: dict[str, Any], run: Any, flt: str) -> None:
    r = run("qrs", "app", "full", "--filter", flt, context="qseow")
    assert r.code == 1 and r.http.startswith("400 Bad Request"), r


def test_orderby(demo: dict[str, Any], run: Any) -> None:
    names = [a["name"] for a in run("qrs", "app", "full", "--orderby", "name desc", context="qseow").json()]
    assert names == sorted(names, reverse=True)


def _export(run: Any, demo: dict[str, Any], tmp_path: pathlib.Path, *scope: str) -> dict[str, Any]:
    target = tmp_path / "out.qvf"
    r = run("qrs", "app", "export", "create", demo["apps"]["sales"], *scope, "--output-file", str(target),
            "--skipdata=true", context="qseow")
    assert (r.code, r.out) == (0, ""), r
    return qvf.decode(target.read_bytes())


def test_export_scope_default_is_approved(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> None:
    by_state = {o["engineObjectId"]: o["state"] for o in demo["objects"]["sales"]}
    default = _export(run, demo, tmp_path)
    assert {by_state[o["engineObjectId"]] for o in default["objects"]} == {"base"}
    published = _export(run, demo, tmp_path, "--exportScope", "published")
    assert {by_state[o["engineObjectId"]] for o in published["objects"]} == {"base", "community"}
    everything = _export(run, demo, tmp_path, "--exportscope", "all")
    assert len(everything["objects"]) == len(demo["objects"]["sales"]) == 22
    assert everything["name"] == "Sales Overview"
    assert ({(o["published"], o["approved"]) for o in everything["objects"]}
            == {(False, False), (True, False), (True, True)})


def test_export_errors(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> None:
    r = run("qrs", "app", "export", "create", "00000000-0000-4000-8000-000000000000",
            "--output-file", str(tmp_path / "x"), context="qseow")
    assert r.code == 1 and r.http.startswith("404 Not Found") and not (tmp_path / "x").exists()
    r = run("qrs", "app", "export", "create", "bad", "--output-file", str(tmp_path / "x"), context="qseow")
    assert r.code == 1 and r.http.startswith("400 Bad Request")
    r = run("qrs", "app", "export", "create", demo["apps"]["sales"], "--exportScope", "some", context="qseow")
    assert r.code == 1 and r.http.startswith("400 Bad Request")
    r = run("qrs", "app", "export", "create", demo["apps"]["sales"],
            "--output-file", str(tmp_path / "no" / "dir.qvf"), context="qseow")
    assert r.err == f"Error: open {tmp_path / 'no' / 'dir.qvf'}: no such file or directory\n"


def test_export_enospc_leaves_a_truncated_file(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> None:
    faults.configure(demo["path"], export_enospc=True)
    target = tmp_path / "full.qvf"
    r = run("qrs", "app", "export", "create", demo["apps"]["sales"], "--exportScope", "all",
            "--output-file", str(target), context="qseow")
    assert (r.code, r.err) == (1, f"Error: write {target}: no space left on device\n")
    with pytest.raises(ValueError):
        qvf.decode(target.read_bytes())
    r = run("app", "import", "--file", str(target), "--spaceId", demo["spaces"]["Finance Dev"], context="cloud")
    assert r.code == 1 and r.http.startswith("400 Bad Request")


def test_qrs_on_a_cloud_context_is_a_404(demo: dict[str, Any], run: Any) -> None:
    r = run("qrs", "app", "count", context="cloud")
    assert r.code == 1 and r.http.startswith("404 Not Found")

"""The resolution rule of checks/reload.py, the connection map's reading (connection_maps.py) and
the QRS attributes notes (source.object_note), without qlik."""
from __future__ import annotations

from pathlib import Path

import pytest

from qlikcli_py.checks.reload import can_read_site_scripts
from qlikcli_py.checks.reload import imported_check
from qlikcli_py.checks.reload import resolve
from qlikcli_py.connection_maps import load_map
from qlikcli_py.errors import UsageProblem
from qlikcli_py.source import object_note

SPACES = {"Finance Dev": {"SQL Prod (cloud)", "DataFiles"}, "Finance": {"SQL Prod (cloud)"},
          "Finance Data": {"Warehouse"}}


def offered(space):
    return (space, SPACES[space]) if space in SPACES else None


def statuses(script, mapping=None):
    return {f.connection: (f.status, f.where, f.missing_in)
            for f in resolve(script, mapping or {}, offered, ["Finance Dev", "Finance"])}


def test_a_bare_name_must_be_in_both_own_spaces():
    assert statuses("LOAD * FROM [lib://DataFiles/a.qvd];") == {
        "DataFiles": ("missing", ["Finance Dev"], ["Finance"])}
    assert statuses("LIB CONNECT TO 'SQL Prod (cloud)';") == {
        "SQL Prod (cloud)": ("found", ["Finance Dev", "Finance"], [])}


def test_space_name_resolves_in_that_space_only():
    assert statuses("LOAD * FROM [lib://Finance Data:Warehouse/a];") == {
        "Finance Data:Warehouse": ("found", ["Finance Data"], [])}
    assert statuses("LOAD * FROM [lib://Finance:DataFiles/a];") == {
        "Finance:DataFiles": ("missing", [], ["Finance"])}
    [(status, _where, missing)] = statuses("LIB CONNECT TO 'Nowhere:X';").values()
    assert status == "missing" and "not found or not visible" in missing[0]


def test_the_map_is_applied_before_checking_and_names_the_old_name():
    [f] = resolve("LIB CONNECT TO 'SQL_Prod';", {"SQL_Prod": "SQL Prod (cloud)"}, offered, ["Finance Dev", "Finance"])
    assert (f.connection, f.status, f.renamed_from) == ("SQL Prod (cloud)", "found", "SQL_Prod")


def test_cannot_check_is_never_found_nor_missing():
    found = resolve("LOAD * FROM [lib://$(vPath)/a.qvd];\n$(include=lib://DataFiles/x.qvs);", {}, offered,
                    ["Finance Dev", "Finance"])
    assert [f.status for f in found] == ["cannot-check", "cannot-check", "missing"]
    assert all(f.fix() for f in found)


def test_imported_check_reads_app_connection_ls_names():
    check = imported_check("LIB CONNECT TO 'A'; LOAD * FROM [lib://Other:B/x]; LOAD * FROM [lib://Other:C/y];",
                           {}, ["A", "Other:B"], "Finance Dev")
    assert [(c.connection, c.status) for c in check.connections] == [
        ("A", "found"), ("Other:B", "found"), ("Other:C", "missing")]


@pytest.mark.parametrize(("version", "ok"), [("2.24.0", False), ("2.25.0", True), ("3.1.0", True),
                                             ("unknown", True), ("1.4.0", False)])
def test_site_scripts_need_2_25(version, ok):
    assert can_read_site_scripts(version) is ok


def test_connection_map_from_flags_and_file(tmp_path: Path):
    f = tmp_path / "m.csv"
    f.write_text("Old,New\nA,B\n\nC,\"D, E\"\n", encoding="utf-8")
    assert load_map(["X=Y=Z"], f) == {"A": "B", "C": "D, E", "X": "Y=Z"}


@pytest.mark.parametrize(("pairs", "text", "message"), [
    (["A"], None, "write it as OLD=NEW"),
    (["A=B", "A=C"], None, "renamed twice"),
    (["A=B", "B=C"], None, "renamed again"),
    ([" =B"], None, "both names"),
    (["A=x/y"], None, "no '/'"),
    ([], "source,target\nA,B\n", "unknown column"),
    ([], "old,new\nA,B,C\n", "line 2"),
])
def test_a_wrong_map_is_refused(tmp_path: Path, pairs, text, message):
    path = None
    if text is not None:
        path = tmp_path / "m.csv"
        path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageProblem, match=message):
        load_map(pairs, path)


@pytest.mark.parametrize(("otype", "attributes", "note"), [
    ("bookmark", '{"defaultBookmark": true}', "default"),
    ("bookmark", '{"defaultBookmark": "true"}', ""),
    ("sheet", '{"showCondition": "=1"}', "show-condition"),
    ("sheet", '{"showCondition": "  "}', ""),
    ("sheet", "not json", ""),
    ("story", '{"showCondition": "=1"}', ""),
    ("bookmark", "", ""),
    ("bookmark", None, ""),
    ("bookmark", "[1]", ""),
])
def test_object_note(otype, attributes, note):
    assert object_note(otype, attributes) == note

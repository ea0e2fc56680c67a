"""Connection references in load scripts and their renaming (qlikcli_py/load_scripts.py)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from qlikcli_py.load_scripts import RefKind
from qlikcli_py.load_scripts import check_map
from qlikcli_py.load_scripts import references
from qlikcli_py.load_scripts import rename
from qlikcli_py.load_scripts import used_names


@pytest.mark.parametrize(("script", "expected"), [
    ("LOAD * FROM 'lib://SQL_Prod/a.qvd' (qvd);", ["SQL_Prod"]),
    ("LOAD * FROM [lib://Sales:Files/a.qvd];", ["Sales:Files"]),
    ("LOAD * FROM lib://SQL_Prod/a.qvd (qvd);", ["SQL_Prod"]),
    ('LOAD * FROM "lib://Dq/a.qvd";', ["Dq"]),
    ("LIB CONNECT TO 'SQL Prod (cloud)';", ["SQL Prod (cloud)"]),
    ("LIB CONNECT TO [Name with ]] bracket];", ["Name with ] bracket"]),
    ('lib connect to "Quoted";', ["Quoted"]),
    ("LIB CONNECT TO Bare;", ["Bare"]),
    ("LIB   CONNECT\n TO 'Finance:Oracle';", ["Finance:Oracle"]),
    ("LOAD * FROM [lib://:Own/a.qvd];", [":Own"]),
    ("LOAD * FROM 'lib://It''s/a.qvd';", ["It's"]),
    ("LOAD * FROM lib://Win\\path.qvd;", ["Win"]),
])
def test_references_found(script: str, expected: list[str]) -> None:
    assert used_names(script) == expected


@pytest.mark.parametrize("script", [
    "// LOAD * FROM 'lib://C1/a.qvd';",
    "/* LIB CONNECT TO 'C2'; \n lib://C3/x */",
    "REM LIB CONNECT TO 'C4';",
    "rem lib://C5/a.qvd;",
    "LOAD 'LIB CONNECT TO x' AS F AUTOGENERATE 1;",
    "LOAD '// lib connect' AS F AUTOGENERATE 1;",
    "LOAD * FROM https://example.com/a.csv;",
])
def test_no_reference_in_comments_or_strings(script: str) -> None:
    assert used_names(script) == []


def test_a_url_is_not_a_comment_and_rem_ends_at_the_semicolon() -> None:
    script = "LOAD * FROM https://x/a.csv; LOAD * FROM 'lib://After/a.qvd';\nREM skip this; LIB CONNECT TO 'Kept';"
    assert used_names(script) == ["After", "Kept"]


@pytest.mark.parametrize(("script", "kind"), [
    ("LOAD * FROM [lib://$(vPath)/a.qvd];", RefKind.LIB_PATH),
    ("LOAD * FROM 'lib://$(vSpace):Files/a.qvd';", RefKind.LIB_PATH),
    ("LIB CONNECT TO '$(vConn)';", RefKind.LIB_CONNECT),
    ("LIB CONNECT TO $(vConn);", RefKind.LIB_CONNECT),
    ("$(include=lib://Scripts/inc.qvs);", RefKind.INCLUDE),
    ("$(Must_Include=lib://Scripts/inc.qvs);", RefKind.INCLUDE),
    ("BINARY [lib://Apps/other.qvf];", RefKind.BINARY),
    ("binary lib://Apps/other.qvf;", RefKind.BINARY),
])
def test_what_only_the_run_decides_cannot_be_checked(script: str, kind: RefKind) -> None:
    refs = [r for r in references(script) if not r.checkable]
    assert [r.kind for r in refs] == [kind]
    assert refs[0].why
    assert refs[0].name == ""  # never guessed


def test_lines_are_counted() -> None:
    refs = references("SET a=1;\n\nLIB CONNECT TO 'X';\nLOAD * FROM [lib://Y/a];")
    assert [(r.written, r.line) for r in refs] == [("X", 3), ("Y", 4)]


def test_rename_changes_only_the_references() -> None:
    script = ("// lib://SQL_Prod/old.qvd stays in the comment\n"
              "LIB CONNECT TO 'SQL_Prod';\n"
              "T: LOAD 'SQL_Prod' AS Label, * FROM [lib://SQL_Prod/a.qvd];\n"
              "U: LOAD * FROM lib://SQL_Prod/b.qvd (qvd);\n"
              "V: LOAD * FROM 'lib://Other/c.qvd';\n")
    out = rename(script, {"SQL_Prod": "SQL Prod (cloud)"})
    assert out == ("// lib://SQL_Prod/old.qvd stays in the comment\n"
                   "LIB CONNECT TO 'SQL Prod (cloud)';\n"
                   "T: LOAD 'SQL_Prod' AS Label, * FROM [lib://SQL Prod (cloud)/a.qvd];\n"
                   "U: LOAD * FROM [lib://SQL Prod (cloud)/b.qvd] (qvd);\n"
                   "V: LOAD * FROM 'lib://Other/c.qvd';\n")
    assert used_names(out) == ["SQL Prod (cloud)", "Other"]
    assert rename(out, {"SQL_Prod": "SQL Prod (cloud)"}) == out  # a rerun changes nothing


def test_rename_quotes_the_new_name_for_its_place() -> None:
    assert rename("LIB CONNECT TO Bare;", {"Bare": "O'Neil x"}) == "LIB CONNECT TO 'O''Neil x';"
    assert rename("LIB CONNECT TO [A];", {"A": "B]C"}) == "LIB CONNECT TO [B]]C];"
    assert rename('LOAD * FROM "lib://A/x";', {"A": 'Say "hi"'}) == 'LOAD * FROM "lib://Say ""hi""/x";'
    assert rename("LOAD * FROM lib://A/x;", {"A": "Space:New"}) == "LOAD * FROM lib://Space:New/x;"


def test_rename_matches_the_written_form_and_leaves_variables() -> None:
    script = "LOAD * FROM [lib://Sales:A/x]; LOAD * FROM [lib://A/y]; LOAD * FROM [lib://$(v)/z];"
    assert rename(script, {"Sales:A": "Sales:B"}) == \
        "LOAD * FROM [lib://Sales:B/x]; LOAD * FROM [lib://A/y]; LOAD * FROM [lib://$(v)/z];"


def test_check_map_refuses_chains_and_paths() -> None:
    assert check_map({"A": "B"}) == []
    assert check_map({"A": "B", "B": "C"})
    assert check_map({"A": "x/y"})
    assert check_map({"A": ""})


_names = st.text(alphabet=st.sampled_from("abcXYZ _-()'\"]:é0"), min_size=1, max_size=12).filter(
    lambda s: s.strip() and ":" not in s and "/" not in s)
_filler = st.sampled_from([
    "LOAD * INLINE [a\n1];", "SET v = 'x // y';", "// comment with lib://Ghost/a\n", "/* LIB CONNECT TO 'Ghost' */",
    "REM lib://Ghost/x;", "T: LOAD 'it''s' AS f AUTOGENERATE 1;", "LOAD * FROM https://h/x.csv;", "\n", "  ",
])


def _quoted_ref(name: str, form: int) -> str:
    if form == 0:
        return "LIB CONNECT TO '" + name.replace("'", "''") + "';"
    if form == 1:
        return "LIB CONNECT TO [" + name.replace("]", "]]") + "];"
    if form == 2:
        return "LOAD * FROM 'lib://" + name.replace("'", "''") + "/a.qvd';"
    if form == 3:
        return 'LOAD * FROM "lib://' + name.replace('"', '""') + '/a.qvd";'
    return "LOAD * FROM [lib://" + name.replace("]", "]]") + "/a.qvd];"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_filler, _names, st.integers(0, 4)), max_size=6), _filler)
def test_property_every_written_reference_is_found_and_no_ghost(parts: list[tuple[str, str, int]], tail: str) -> None:
    script = "".join(f"{f}\n{_quoted_ref(n, form)}\n" for f, n, form in parts) + tail
    assert used_names(script) == list(dict.fromkeys(n for _f, n, _form in parts))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_filler, _names, st.integers(0, 4)), min_size=1, max_size=6), _names)
def test_property_rename_is_exact_and_idempotent(parts: list[tuple[str, str, int]], new: str) -> None:
    old = parts[0][1]
    if new in {n for _f, n, _x in parts} - {old}:
        return  # renaming onto another used name merges them: not what this property is about
    script = "".join(f"{f}\n{_quoted_ref(n, form)}\n" for f, n, form in parts)
    out = rename(script, {old: new})
    expected = [new if n == old else n for _f, n, _form in parts]
    assert used_names(out) == list(dict.fromkeys(expected))
    assert rename(out, {old: new}) == out
    # nothing outside the references changed: the fillers (comments included) are all still there
    for f, _n, _form in parts:
        assert f in out

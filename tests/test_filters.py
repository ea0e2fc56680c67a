"""qlikcli_py.filters: QRS and SCIM filter strings, each quoted its own way."""
from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from qlikcli_py import filters

GUID = "5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c"


def parse_qrs_literal(text: str) -> tuple[str, str]:
    """Read one QRS single-quoted string from the start of `text`: (value, rest)."""
    assert text[0] == "'"
    out, i = [], 1
    while True:
        if text[i] == "'":
            if text[i + 1:i + 2] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), text[i + 1:]
        out.append(text[i])
        i += 1


def parse_scim_literal(text: str) -> tuple[str, str]:
    """Read one SCIM (JSON-style) double-quoted string from the start of `text`: (value, rest)."""
    assert text[0] == '"'
    out, i = [], 1
    while True:
        c = text[i]
        if c == "\\":
            out.append(text[i + 1])
            i += 2
        elif c == '"':
            return "".join(out), text[i + 1:]
        else:
            out.append(c)
            i += 1


# -- QRS ----------------------------------------------------------------------------------------------
def test_qrs_string_doubles_single_quotes():
    assert filters.qrs_string("o'brien") == "'o''brien'"
    assert filters.qrs_string("''") == "''''''"
    assert filters.qrs_string("") == "''"


def test_qrs_string_keeps_backslashes_and_double_quotes():
    assert filters.qrs_string('ACME\\jdoe "x"') == "'ACME\\jdoe \"x\"'"


def test_qrs_eq():
    assert filters.qrs_eq("stream.name", "Finance") == "stream.name eq 'Finance'"
    assert filters.qrs_eq("owner.userId", "o'brien") == "owner.userId eq 'o''brien'"


def test_qrs_id_eq_is_bare_and_lowercased():
    assert filters.qrs_id_eq("app.id", GUID.upper()) == f"app.id eq {GUID}"


@pytest.mark.parametrize("bad", ["", "x", GUID[:-1], GUID + "0", f"{{{GUID}}}", GUID.replace("-", ""),
                                 f"{GUID} or name eq 'x'", "5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6g"])
def test_qrs_id_eq_rejects_what_is_not_a_guid(bad):
    with pytest.raises(ValueError, match="not a GUID"):
        filters.qrs_id_eq("app.id", bad)


def test_qrs_any_id_joins_with_or():
    ids = [GUID, "D9E8F7A6-1234-4BCD-9EF0-0A1B2C3D4E5F"]
    assert filters.qrs_any_id("id", ids) == f"id eq {GUID} or id eq d9e8f7a6-1234-4bcd-9ef0-0a1b2c3d4e5f"


def test_qrs_any_id_without_ids_raises():
    with pytest.raises(ValueError, match="no ids"):
        filters.qrs_any_id("id", [])


@pytest.mark.parametrize("prop", ["", "1name", "name eq 'x' or name", "name)", "a b", "owner['id']", "-x"])
def test_property_names_are_checked(prop):
    with pytest.raises(ValueError, match="not a property name"):
        filters.qrs_eq(prop, "x")
    with pytest.raises(ValueError, match="not a property name"):
        filters.scim_eq(prop, "x")


@given(st.text(max_size=40))
@settings(max_examples=150, deadline=None)
def test_qrs_literal_round_trips_and_ends_where_it_should(value):
    quoted = filters.qrs_string(value)
    assert parse_qrs_literal(quoted + " and published eq true") == (value, " and published eq true")


@given(prop=st.from_regex(r"[A-Za-z][A-Za-z0-9_.]{0,15}", fullmatch=True), value=st.text(max_size=30))
@settings(max_examples=100, deadline=None)
def test_qrs_eq_shape(prop, value):
    text = filters.qrs_eq(prop, value)
    head, _, literal = text.partition(" eq ")
    assert head == prop
    assert parse_qrs_literal(literal) == (value, "")


@given(st.uuids())
@settings(max_examples=50, deadline=None)
def test_any_uuid_is_a_guid(u: uuid.UUID):
    assert filters.is_guid(str(u)) and filters.is_guid(str(u).upper())
    assert filters.qrs_id_eq("id", str(u).upper()) == f"id eq {u}"


# -- SCIM ---------------------------------------------------------------------------------------------
def test_scim_string_escapes_backslash_and_double_quote():
    assert filters.scim_string("ACME\\jdoe") == '"ACME\\\\jdoe"'
    assert filters.scim_string('say "hi"') == '"say \\"hi\\""'
    assert filters.scim_string("o'brien") == '"o\'brien"'


def test_scim_eq_for_a_subject_as_qlik_dev_writes_it():
    # https://qlik.dev/toolkits/qlik-cli/qlik-cli-escaping/ : subject eq "qlikbot\\fbf6..."
    assert filters.scim_eq("subject", "ACME\\o'brien") == 'subject eq "ACME\\\\o\'brien"'


def test_scim_backslash_before_a_quote_cannot_end_the_string():
    value = 'x\\" or subject co "'
    text = filters.scim_eq("subject", value)
    assert parse_scim_literal(text.partition(" eq ")[2]) == (value, "")


@given(st.text(max_size=40))
@settings(max_examples=150, deadline=None)
def test_scim_literal_round_trips_and_ends_where_it_should(value):
    quoted = filters.scim_string(value)
    assert parse_scim_literal(quoted + " and status eq \"active\"") == (value, ' and status eq "active"')


# -- GUIDs --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "ok"), [
    (GUID, True), (GUID.upper(), True), ("00000000-0000-0000-0000-000000000000", True),
    ("", False), (GUID[:-1], False), (" " + GUID, False), (GUID + " ", False), (GUID.replace("-", "_"), False),
    ("64a1f0c2e3b4d5f6a7b8c9d0", False),  # a Qlik Cloud user id is not a GUID
])
def test_is_guid(value, ok):
    assert filters.is_guid(value) is ok


def test_a_guid_with_a_trailing_newline_is_rejected():
    """Regression: `re.match` with a pattern ending in `$` also matched before a trailing newline."""
    assert not filters.is_guid(GUID + "\n")
    with pytest.raises(ValueError):
        filters.qrs_id_eq("app.id", GUID + "\n")


def test_a_property_name_with_a_trailing_newline_is_rejected():
    with pytest.raises(ValueError):
        filters.qrs_eq("name\n", "x")

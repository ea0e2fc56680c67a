"""Cloud users and spaces: SCIM filters (escaping), fields, paging, fuzzy space names."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from qliksim import scim_filter
from qliksim.errors import HttpError


def scim_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_user_me_count_get(demo: dict[str, Any], run: Any) -> None:
    assert (run("user", "me", context="cloud-bot").json()["assignedScopes"]
            == ["admin.apps", "admin_classic", "user_default"])
    assert run("user", "me", "-q", context="cloud").out == demo["cloud_identity"] + "\n"
    total = run("user", "count", context="cloud").json()["total"]
    assert total == 16
    assert run("user", "get", demo["cloud_users"]["jdoe"], context="cloud").json()["subject"] == "ACME\\jdoe"


def test_user_ls_pages_and_fields(demo: dict[str, Any], run: Any) -> None:
    assert len(run("user", "ls", context="cloud").json()) == 10  # default page only
    users = run("user", "ls", "--limit", "1000", "--fields", "id,subject,email", context="cloud").json()
    assert len(users) == 16 and set(users[0]) == {"id", "subject", "email"}


@pytest.mark.parametrize(
    ("flt", "subjects"),
    [
        ('subject eq "ACME\\\\jdoe"', {"ACME\\jdoe"}),
        ("subject eq \"EMEA\\\\SALES\\\\o'brien\"", {"EMEA\\SALES\\o'brien"}),
        ('email eq "KIM.WONG@acme.com"', {"auth0|6b3e1f0c9d8a7b6c5d4e3f2a"}),  # e-mail is case-insensitive
        ('subject eq "acme\\\\jdoe"', set()),  # subject is exact
        ('subject co "jdoe"', {"ACME\\jdoe", "ACME\\jdoe.old"}),
        ('subject co "JDOE" and status eq "active"', {"ACME\\jdoe"}),
        ('(subject eq "ACME\\\\jdoe" or subject eq "ACME\\\\asmith") and not status eq "disabled"',
         {"ACME\\jdoe", "ACME\\asmith"}),
        ('subject eq "ACME\\\\nobody"', set()),
    ],
)
def test_user_filters(demo: dict[str, Any], run: Any, flt: str, subjects: set[str]) -> None:
    r = run("user", "ls", "--filter", flt, "--limit", "100", context="cloud")
    assert r.code == 0, r
    assert {u["subject"] for u in r.json()} == subjects


@pytest.mark.parametrize(
    "flt",
    [
        'subject eq "ACME\\jdoe"',  # a lone backslash before j: the classic escaping mistake
        'subject eq "ACME\\"',  # escaped quote, then unterminated
        "subject eq ACME",
        'subject sw "A"',
        'tenantId eq "x"',
        'status co "act"',
        'subject eq "x" and',
    ],
)
def test_invalid_user_filters(demo: dict[str, Any], run: Any, flt: str) -> None:
    r = run("user", "ls", "--filter", flt, context="cloud")
    assert r.code == 1 and r.http.startswith("400 Bad Request\n")
    assert r.out == "" and r.error() == {"title": "Bad Request", "code": "HTTP-400", "detail": "invalid filter",
                                         "status": "400"}


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=20))
def test_scim_quoting_round_trips(subject: str) -> None:
    conn = sqlite3.connect(":memory:")
    scim_filter.register(conn)
    conn.execute("CREATE TABLE cloud_users (id, name, email, subject, status)")
    conn.execute("INSERT INTO cloud_users VALUES ('1', 'n', 'e', ?, 'active')", (subject,))
    conn.execute("INSERT INTO cloud_users VALUES ('2', 'n', 'e', ?, 'active')", (subject + "x",))
    sql, params = scim_filter.compile_filter(f"subject eq {scim_quote(subject)}", scim_filter.USER_ATTRS)
    assert conn.execute(f"SELECT id FROM cloud_users WHERE {sql}", params).fetchall() == [("1",)]


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ab\\\"", min_size=1, max_size=8))
def test_unescaped_backslashes_are_rejected_or_exact(raw: str) -> None:
    """Whatever lands between the quotes either parses to a value or is a 400, never a crash."""
    try:
        scim_filter.compile_filter(f'subject eq "{raw}"', scim_filter.USER_ATTRS)
    except HttpError as exc:
        assert exc.status == 400


def test_space_ls_and_get(demo: dict[str, Any], run: Any) -> None:
    spaces = demo["spaces"]
    fuzzy = run("space", "ls", "--name", "fin", context="cloud").json()
    assert {s["name"] for s in fuzzy} == {"Finance Dev", "Finance", "Finance Data"}
    exact = run("space", "ls", "--filter", 'name eq "Finance"', context="cloud").json()
    assert [s["id"] for s in exact] == [spaces["Finance"]] and exact[0]["type"] == "managed"
    assert ({s["name"] for s in run("space", "ls", "--type", "shared", context="cloud").json()}
            == {"Finance Dev", "Sandbox"})
    assert len(run("space", "ls", "--limit", "2", context="cloud").json()) == 2
    space = run("space", "get", spaces["Finance Dev"], context="cloud").json()
    assert space["type"] == "shared" and space["links"]["self"]["href"].endswith(spaces["Finance Dev"])
    r = run("space", "get", "nope", context="cloud")
    assert r.code == 1 and r.status == 404

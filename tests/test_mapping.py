"""Owner -> cloud user matching: sources, order, conflicts, lookups, mapping file, rules, fallback."""
from __future__ import annotations

import asyncio
import re
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from qlikcli_py.errors import ExitCode
from qlikcli_py.errors import MigrationError
from qlikcli_py.errors import UsageProblem
from qlikcli_py.mapping import MappingOptions
from qlikcli_py.mapping import OnUnmatched
from qlikcli_py.mapping import OwnerMapper
from qlikcli_py.mapping import Resolution
from qlikcli_py.mapping import UserIndex
from qlikcli_py.mapping import load_options
from qlikcli_py.mapping import parse_on_unmatched
from qlikcli_py.mapping import parse_rule
from qlikcli_py.mapping import read_mapping_file
from qlikcli_py.models import CloudUser
from qlikcli_py.models import SourceOwner

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mapping"

# -- a fake tenant --------------------------------------------------------------------------------
_FILTER = re.compile(r'([A-Za-z]+) eq "((?:[^"\\]|\\.)*)"', re.DOTALL)


def unescape(scim_filter: str) -> tuple[str, str]:
    """`attr eq "value"` -> (attr, value) with the SCIM escaping undone; anything else fails."""
    m = _FILTER.fullmatch(scim_filter)
    assert m, f"not a single SCIM eq filter: {scim_filter!r}"
    return m[1], re.sub(r"\\(.)", r"\1", m[2], flags=re.DOTALL)


class FakeTarget:
    """Target's user methods over an in-memory tenant; `eq` ignores case, as the mapper assumes."""

    def __init__(self, *users: CloudUser) -> None:
        self.users = list(users)
        self.filters: list[str] = []
        self.listings = 0

    async def users_where(self, scim_filter: str, limit: int = 10) -> list[CloudUser]:
        self.filters.append(scim_filter)
        attr, value = unescape(scim_filter)
        return [u for u in self.users if getattr(u, attr).lower() == value.lower()][:limit]

    async def all_users(self) -> Iterator[CloudUser]:
        self.listings += 1
        return iter(list(self.users))

    async def user_count(self) -> int:
        return len(self.users)


def user(uid: str, subject: str = "", email: str = "", name: str = "", status: str = "active") -> CloudUser:
    return CloudUser(id=uid, name=name or uid.upper(), subject=subject, email=email, status=status)


def owner(user_id: str, directory: str = "ACME", email: str | None = None, oid: str | None = None,
          name: str | None = None) -> SourceOwner:
    return SourceOwner(id=oid or f"qrs-{directory}-{user_id}", user_id=user_id, directory=directory,
                       name=name or user_id.title(), email=email)


def resolve(target: FakeTarget, owners: list[SourceOwner], **options) -> dict[str, Resolution]:
    return asyncio.run(OwnerMapper(target, MappingOptions(**options)).resolve(owners))


def resolve_one(target: FakeTarget, one: SourceOwner, **options) -> Resolution:
    return resolve(target, [one], **options)[one.id]


def write(tmp_path: Path, data: bytes | str, name: str = "map.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


JANE = user("u-jane", subject="ACME\\jdoe", email="jdoe@acme.com", name="Jane Doe")
JANE_SSO = user("u-jane2", subject="auth0|77", email="jdoe@acme.com", name="Jane Two")
MARY = user("u-mary", subject="auth0|12", email="mary@acme.com", name="Mary Smith")
BOB = user("u-bob", subject="bob@acme.com", email="robert@acme.com", name="Bob Jones")


# -- the sources, one at a time --------------------------------------------------------------------
def test_subject_match_ignores_case_and_says_how() -> None:
    r = resolve_one(FakeTarget(user("u1", subject="acme\\JDOE")), owner("jdoe"))
    assert (r.matched, r.user.id, r.rule, r.detail) == (True, "u1", "subject", "subject ACME\\jdoe")


def test_email_match_when_no_subject_matches() -> None:
    r = resolve_one(FakeTarget(MARY), owner("msmith", email="MARY@acme.com"))
    assert (r.user, r.rule, r.detail) == (MARY, "email", "email MARY@acme.com")


def test_unmatched_reason_says_what_was_tried() -> None:
    r = resolve_one(FakeTarget(MARY), owner("jdoe", email="jdoe@acme.com"))
    assert (r.matched, r.user, r.rule) == (False, None, None)
    assert r.detail == "no cloud user with subject ACME\\jdoe or email jdoe@acme.com"


def test_unmatched_without_email_says_qrs_has_none() -> None:
    r = resolve_one(FakeTarget(MARY), owner("jdoe"))
    assert r.detail == "no cloud user with subject ACME\\jdoe; QRS has no email for this owner"


@pytest.mark.parametrize("status", ["disabled", "deleted", "DISABLED"])
def test_disabled_or_deleted_user_is_not_eligible(status: str) -> None:
    r = resolve_one(FakeTarget(user("u1", subject="ACME\\jdoe", name="Old Jane", status=status)), owner("jdoe"))
    assert not r.matched
    assert f"Old Jane (id u1) is {status}" in r.detail


def test_a_disabled_duplicate_does_not_conflict_with_an_active_user() -> None:
    target = FakeTarget(user("old", email="jdoe@acme.com", status="disabled"), JANE)
    r = resolve_one(target, owner("jdoe", email="jdoe@acme.com"))
    assert (r.user, r.rule) == (JANE, "subject")


def test_invited_user_is_eligible() -> None:
    r = resolve_one(FakeTarget(user("u1", subject="ACME\\jdoe", status="invited")), owner("jdoe"))
    assert r.user.id == "u1"


def test_subject_and_email_agreeing_on_one_user_is_no_conflict() -> None:
    r = resolve_one(FakeTarget(JANE), owner("jdoe", email="jdoe@acme.com"))
    assert (r.user, r.rule) == (JANE, "subject")


# -- order -----------------------------------------------------------------------------------------
def test_order_decides_which_source_is_credited() -> None:
    target, one = FakeTarget(JANE), owner("jdoe", email="jdoe@acme.com")
    assert resolve_one(target, one, order=("subject", "email")).rule == "subject"
    assert resolve_one(target, one, order=("email", "subject")).rule == "email"


def test_a_source_left_out_of_the_order_is_not_used() -> None:
    one = owner("msmith", email="mary@acme.com")
    assert resolve_one(FakeTarget(MARY), one, order=("subject", "email")).user == MARY
    target = FakeTarget(MARY)
    r = resolve_one(target, one, order=("subject",))
    assert not r.matched and r.detail == "no cloud user with subject ACME\\msmith"
    assert target.filters == ['subject eq "ACME\\\\msmith"']


def test_mapping_first_overrides_a_guess_and_a_guess_first_decides(tmp_path: Path) -> None:
    path = write(tmp_path, "source,target\nACME\\jdoe,u-mary\n")
    target, one = FakeTarget(JANE, MARY), owner("jdoe")
    first = resolve_one(target, one, mapping_file=path, order=("mapping", "subject"))
    assert (first.user, first.rule) == (MARY, "mapping")
    assert first.detail == "mapping file line 2 (ACME\\jdoe -> u-mary, by id)"
    later = resolve_one(target, one, mapping_file=path, order=("subject", "mapping"))
    assert (later.user, later.rule) == (JANE, "subject")  # the first source that finds one user decides


# -- precedence and ambiguity -----------------------------------------------------------------------
def test_two_accounts_sharing_an_email_each_keep_their_user_by_subject() -> None:
    # ACME\slindqvist and ACME\slindqvist2: one person, two on-prem accounts, one e-mail
    email = "sami.lindqvist@acme.com"
    first = user("c1", subject="ACME\\slindqvist", email=email, name="Sami")
    second = user("c2", subject="ACME\\slindqvist2", email=email, name="Sami (2)")
    target = FakeTarget(first, second)
    owners = [owner("slindqvist", email=email), owner("slindqvist2", email=email)]
    got = resolve(target, owners)
    assert [(got[o.id].user, got[o.id].rule) for o in owners] == [(first, "subject"), (second, "subject")]
    # e-mail is not even looked up once the subject has decided
    assert all(f.startswith("subject") for f in target.filters)


def test_two_users_with_the_same_email_leave_only_that_owner_unmatched_with_both_named() -> None:
    target = FakeTarget(JANE_SSO, user("u-x", email="JDOE@acme.com", name="Jane X"), MARY)
    jdoe, mary = owner("jdoe", email="jdoe@acme.com"), owner("msmith", email="mary@acme.com")
    got = resolve(target, [jdoe, mary])
    r = got[jdoe.id]
    assert not r.matched and r.rule is None
    assert {u.id for u in r.candidates} == {"u-jane2", "u-x"}
    assert r.detail.startswith("ambiguous: 2 eligible cloud users match")
    assert "Jane Two (id u-jane2) by email jdoe@acme.com" in r.detail
    assert "Jane X (id u-x) by email jdoe@acme.com" in r.detail and "\n" not in r.detail
    assert got[mary.id].user == MARY  # the rest is not affected


def test_subject_and_email_finding_different_users_subject_decides() -> None:
    target = FakeTarget(user("a", subject="ACME\\jdoe", name="Ann"), user("b", email="jdoe@acme.com", name="Ben"))
    r = resolve_one(target, owner("jdoe", email="jdoe@acme.com"))
    assert (r.user.id, r.rule) == ("a", "subject")
    r = resolve_one(target, owner("jdoe", email="jdoe@acme.com"), order=("email", "subject"))
    assert (r.user.id, r.rule) == ("b", "email")


def test_a_later_source_is_not_consulted_after_an_ambiguous_one() -> None:
    # two users by subject: ambiguous, even though e-mail would find exactly one
    target = FakeTarget(user("a", subject="ACME\\jdoe"), user("b", subject="acme\\JDOE"), MARY)
    r = resolve_one(target, owner("jdoe", email="mary@acme.com"))
    assert not r.matched and {u.id for u in r.candidates} == {"a", "b"}


def test_ambiguous_owner_is_handled_by_on_unmatched() -> None:
    target = FakeTarget(JANE_SSO, user("u-x", email="jdoe@acme.com"), MARY)
    jdoe = owner("jdoe", email="jdoe@acme.com")
    fallback = resolve_one(target, jdoe, on_unmatched=OnUnmatched("assign", "u-mary"))
    assert (fallback.user, fallback.rule) == (MARY, "fallback") and "ambiguous" in fallback.detail
    with pytest.raises(MigrationError) as e:
        resolve(target, [jdoe], on_unmatched=OnUnmatched("fail"))
    assert e.value.exit_code == ExitCode.STOPPED_UNMATCHED and "u-jane2" in str(e.value) and "u-x" in str(e.value)


def test_mapping_target_matching_two_users_is_ambiguous(tmp_path: Path) -> None:
    # u-mary is one user's id and, by accident, another user's subject
    path = write(tmp_path, "source,target\nACME\\jdoe,u-mary\n")
    target = FakeTarget(MARY, user("u-other", subject="u-mary", name="Other"), JANE)
    r = resolve_one(target, owner("jdoe"), mapping_file=path)
    assert not r.matched  # the row is ambiguous; the subject guess does not overrule it
    assert "Mary Smith (id u-mary) by mapping file line 2 (ACME\\jdoe -> u-mary, by id)" in r.detail
    assert "Other (id u-other) by mapping file line 2 (ACME\\jdoe -> u-mary, by subject)" in r.detail


# -- filters sent ------------------------------------------------------------------------------------
def test_subject_filter_has_two_backslashes_inside_the_quotes() -> None:
    target = FakeTarget(JANE)
    resolve(target, [owner("jdoe")])
    assert target.filters == ['subject eq "ACME\\\\jdoe"']
    assert target.filters[0] == r'subject eq "ACME\\jdoe"'


def test_a_double_quote_in_a_value_is_escaped() -> None:
    target = FakeTarget(user("q", email='a"b@acme.com'))
    r = resolve_one(target, owner('j"doe', email='a"b@acme.com'))
    assert target.filters == [r'subject eq "ACME\\j\"doe"', r'email eq "a\"b@acme.com"']
    assert r.user.id == "q"


@pytest.mark.parametrize("oid", ["it's", "with space", "back\\slash", "O'Brien \\ \"x\""])
def test_results_are_keyed_by_owner_id_whatever_it_contains(oid: str) -> None:
    one = owner("jdoe", oid=oid)
    result = resolve(FakeTarget(JANE), [one, owner("nobody")])
    assert result[oid].user == JANE
    assert list(result) == [oid, "qrs-ACME-nobody"]


# -- lookup strategy -------------------------------------------------------------------------------
def test_few_owners_use_filtered_lookups_and_no_listing() -> None:
    target = FakeTarget(JANE, MARY)
    mapper = OwnerMapper(target, MappingOptions())
    owners = [owner("jdoe", email="jdoe@acme.com"), owner("msmith", email="mary@acme.com"), owner("x")]
    result = asyncio.run(mapper.resolve(owners))
    assert target.listings == 0
    # 3 subjects, then e-mail only where the subject found no one (msmith; x has no e-mail)
    assert len(target.filters) == 4 == mapper.lookups
    assert mapper.strategy == "filter"
    assert [r.user.id if r.user else None for r in result.values()] == ["u-jane", "u-mary", None]


def test_many_owners_use_exactly_one_listing_and_no_filter() -> None:
    users = [user(f"u{i}", subject=f"ACME\\user{i}", email=f"user{i}@acme.com") for i in range(60)]
    target = FakeTarget(*users)
    mapper = OwnerMapper(target, MappingOptions())
    owners = [owner(f"user{i}", email=f"user{i}@acme.com") for i in range(50)]
    result = asyncio.run(mapper.resolve(owners))
    assert (target.listings, target.filters, mapper.lookups, mapper.strategy) == (1, [], 1, "listing")
    assert all(result[o.id].user.id == f"u{i}" and result[o.id].rule == "subject" for i, o in enumerate(owners))
    # later batches use the index too, even with a single new owner
    asyncio.run(mapper.resolve([owner("user55")]))
    assert (target.listings, target.filters) == (1, [])


@pytest.mark.parametrize(("count", "threshold", "listings"), [(20, 20, 0), (21, 20, 1), (3, 2, 1), (3, 0, 1)])
def test_listing_threshold(count: int, threshold: int, listings: int) -> None:
    target = FakeTarget(JANE)
    resolve(target, [owner(f"o{i}") for i in range(count)], listing_threshold=threshold)
    assert target.listings == listings
    assert (len(target.filters) == 0) == (listings == 1)


def test_lookup_option_forces_the_strategy() -> None:
    target = FakeTarget(JANE)
    resolve(target, [owner(f"o{i}") for i in range(30)], lookup="filter")
    assert (target.listings, len(target.filters)) == (0, 30)
    target = FakeTarget(JANE)
    assert resolve_one(target, owner("jdoe"), lookup="listing").user == JANE
    assert (target.listings, target.filters) == (1, [])


def test_listing_finds_the_same_ambiguity() -> None:
    target = FakeTarget(JANE_SSO, user("u-x", email="JDOE@ACME.COM"))
    r = resolve_one(target, owner("jdoe", email="jdoe@acme.com"), lookup="listing")
    assert not r.matched and {u.id for u in r.candidates} == {"u-jane2", "u-x"}


def test_cache_avoids_repeat_lookups_across_calls() -> None:
    target = FakeTarget(JANE, MARY)
    mapper = OwnerMapper(target, MappingOptions())
    jane, mary = owner("jdoe", email="jdoe@acme.com"), owner("msmith", email="mary@acme.com")
    first = asyncio.run(mapper.resolve([jane]))
    calls = mapper.lookups
    again = asyncio.run(mapper.resolve([jane]))
    assert mapper.lookups == calls == 1 and again == first  # the subject decided: no e-mail lookup
    asyncio.run(mapper.resolve([jane, mary]))
    assert mapper.lookups == 3  # only mary's subject and email
    assert target.filters.count('subject eq "ACME\\\\jdoe"') == 1


def test_a_value_looked_up_in_an_earlier_call_is_not_looked_up_again() -> None:
    target = FakeTarget(MARY)
    mapper = OwnerMapper(target, MappingOptions(order=("email",)))
    asyncio.run(mapper.resolve([owner("a", email="mary@acme.com")]))
    result = asyncio.run(mapper.resolve([owner("b", email="mary@acme.com")]))  # a new owner, same email
    assert target.filters == ['email eq "mary@acme.com"'] and mapper.lookups == 1
    assert result["qrs-ACME-b"].user == MARY


def test_owners_sharing_an_email_share_one_lookup() -> None:
    target = FakeTarget(MARY)
    mapper = OwnerMapper(target, MappingOptions(order=("email",)))
    result = asyncio.run(mapper.resolve([owner("a", email="mary@acme.com"), owner("b", email="mary@acme.com")]))
    assert target.filters == ['email eq "mary@acme.com"'] and mapper.lookups == 1
    assert {r.user.id for r in result.values()} == {"u-mary"}


def test_listing_index_stays_small() -> None:
    # 50,000 users must fit comfortably: the index may add only dict slots and lowercased keys.
    users = [CloudUser(id=f"6Ixu8sLuHw9b4f2L{i:010d}", name=f"User {i}", subject=f"ACME\\User{i}",
                       email=f"user{i}@acme.example.com") for i in range(20_000)]
    tracemalloc.start()
    try:
        index = UserIndex(iter(users))
        per_user = tracemalloc.get_traced_memory()[0] / len(users)
    finally:
        tracemalloc.stop()
    assert per_user < 400, per_user
    assert index.find("subject", "acme\\user7") == (users[7],)


# -- mapping file ----------------------------------------------------------------------------------
def test_mapping_file_fixture_parses() -> None:
    rows = read_mapping_file(FIXTURES / "example.csv")
    assert {k: (r.target, r.line) for k, r in rows.items()} == {
        "acme\\jdoe": ("u-jane", 2),
        "msmith@acme.com": ("mary.smith@acme.example", 3),
        "acme\\o'brien, pat": ("pat@acme.example", 4),
    }


def test_mapping_targets_by_id_subject_and_email(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffSource , TARGET\nacme\\JDOE,u-jane\nmsmith@ACME.com,Mary@Acme.com\n"
                           "ACME\\bob,bob@acme.com\n\n,\n")
    target = FakeTarget(JANE, MARY, BOB)
    owners = [owner("jdoe"), owner("msmith", email="msmith@acme.com"), owner("bob")]
    result = resolve(target, owners, mapping_file=path)
    got = {r.owner.user_id: (r.user.id, r.rule, r.detail) for r in result.values()}
    assert got == {
        "jdoe": ("u-jane", "mapping", "mapping file line 2 (acme\\JDOE -> u-jane, by id)"),
        "msmith": ("u-mary", "mapping", "mapping file line 3 (msmith@ACME.com -> Mary@Acme.com, by email)"),
        "bob": ("u-bob", "mapping", "mapping file line 4 (ACME\\bob -> bob@acme.com, by subject)"),
    }


def test_mapping_target_lookups_use_the_fitting_attributes(tmp_path: Path) -> None:
    path = write(tmp_path, "source,target\nACME\\a,u-jane\nACME\\b,x@acme.com\nACME\\c,ACME\\jdoe\n")
    target = FakeTarget(JANE)
    resolve(target, [owner("a"), owner("b"), owner("c")], mapping_file=path, order=("mapping",))
    # owners are looked up concurrently: compare the set of calls, not their interleaving
    assert sorted(target.filters) == sorted([
        'id eq "u-jane"', 'subject eq "u-jane"',  # id-shaped: id or subject, never email
        'subject eq "x@acme.com"', 'email eq "x@acme.com"',  # has @: no id lookup
        'subject eq "ACME\\\\jdoe"',  # DIR\\user: only a subject
    ])


def test_mapping_target_without_cloud_user_is_unmatched_even_if_subject_would_match(tmp_path: Path) -> None:
    path = write(tmp_path, "source,target\nACME\\jdoe,ghost@acme.com\n")
    r = resolve_one(FakeTarget(JANE), owner("jdoe"), mapping_file=path)
    assert not r.matched
    assert r.detail == "mapping target ghost@acme.com has no cloud user (mapping file line 2)"


def test_mapping_target_disabled_is_unmatched_with_that_reason(tmp_path: Path) -> None:
    path = write(tmp_path, "source,target\nACME\\jdoe,u-gone\n")
    target = FakeTarget(user("u-gone", name="Gone", status="deleted"), JANE)
    r = resolve_one(target, owner("jdoe"), mapping_file=path)
    assert not r.matched and "Gone (id u-gone) is deleted" in r.detail


def test_owner_without_a_row_falls_through_to_later_sources(tmp_path: Path) -> None:
    path = write(tmp_path, "source,target\nACME\\other,u-mary\n")
    r = resolve_one(FakeTarget(JANE, MARY), owner("jdoe"), mapping_file=path)
    assert (r.user, r.rule) == (JANE, "subject")
    r = resolve_one(FakeTarget(MARY), owner("nobody"), mapping_file=path)
    assert r.detail == ("no cloud user with subject ACME\\nobody; no mapping file row; "
                        "QRS has no email for this owner")


def test_same_source_twice_to_the_same_target_is_fine(tmp_path: Path) -> None:
    rows = read_mapping_file(write(tmp_path, "source,target\nACME\\jdoe,u-jane\nacme\\JDOE,U-JANE\n"))
    assert list(rows) == ["acme\\jdoe"]


@pytest.mark.parametrize(("data", "message"), [
    (b"source,target\nACME\\jdoe,u1\nACME\\ren\xe9,u2\n", r"line 3: byte 0xe9 is not UTF-8"),
    ("source,target\n".encode("utf-16"), r"line 1: the file is UTF-16"),
    (b"source,target,comment\n", r"line 1: unknown column comment"),
    (b"source;target\nACME\\a;u1\n", r"line 1: unknown column source;target"),
    (b"\n\nsource\nACME\\a\n", r"line 3: missing column target"),
    (b"source,target,source\n", r"line 1: column source appears twice"),
    (b"source,target\nACME\\a,u1\nACME\\b,\n", r"line 3: empty target"),
    (b"source,target\n ,u1\n", r"line 2: empty source"),
    (b"source,target\nACME\\a,u1,extra\n", r"line 2: 3 values, but the header has 2"),
    (b"source,target\njdoe,u1\n", r"line 2: source jdoe is neither DIRECTORY\\userId nor an email"),
    (b"source,target\nACME\\a,u1\nx@y.z,u2\nacme\\A,u3\n",
     r"lines 2 and 4 map acme\\A to different targets \(u1 and u3\)"),
    (b"source,target\n\"ACME\\a,u1\n", r"line 2: unexpected end of data"),
    (b"", r"is empty: it needs a header line source,target"),
])
def test_mapping_file_errors_name_the_line_on_one_line(tmp_path: Path, data: bytes, message: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(UsageProblem, match=message) as e:
        load_options(None, path, [], "auto", "skip")
    assert str(path) in str(e.value) and "\n" not in str(e.value)
    assert e.value.exit_code == ExitCode.USAGE


def test_missing_mapping_file_is_a_usage_problem(tmp_path: Path) -> None:
    with pytest.raises(UsageProblem, match=r"cannot read mapping file .*nope\.csv"):
        load_options(None, tmp_path / "nope.csv", [], "auto", "skip")


# -- rules -----------------------------------------------------------------------------------------
def test_rule_maps_a_directory_to_an_email_domain() -> None:
    rule = r"ACME\{userId}={userId}@acme.com"
    r = resolve_one(FakeTarget(JANE), owner("jdoe", directory="acme"), rules=(rule,), order=("rules",))
    assert (r.user, r.rule, r.detail) == (JANE, "rules", "rule ACME\\{userId}={userId}@acme.com (jdoe@acme.com)")


def test_rule_with_directory_placeholder_and_subject_target() -> None:
    target = FakeTarget(BOB, user("u-eu", subject="bob@eu.example.com", name="Bob EU"))
    rule = r"{directory}\{userId}={userId}@{directory}.example.com"
    r = resolve_one(target, owner("BOB", directory="EU"), rules=(rule,), order=("rules",))
    assert (r.user.id, r.rule) == ("u-eu", "rules")
    assert target.filters == ['subject eq "BOB@EU.example.com"', 'email eq "BOB@EU.example.com"']


def test_rule_capture_drops_literal_parts_of_the_user_id() -> None:
    r = resolve_one(FakeTarget(JANE), owner("adm_jdoe"), rules=(r"ACME\adm_{userId}={userId}@acme.com",),
                    order=("rules",))
    assert r.user == JANE


def test_first_rule_that_finds_a_user_wins() -> None:
    rules = (r"ACME\{userId}={userId}@nowhere.com", r"ACME\{userId}={userId}@acme.com",
             r"{directory}\{userId}=mary@acme.com")
    r = resolve_one(FakeTarget(JANE, MARY), owner("jdoe"), rules=rules, order=("rules",))
    assert r.user == JANE and "@acme.com" in r.detail


def test_rule_for_another_directory_does_not_apply() -> None:
    rules = (r"ACME\{userId}={userId}@acme.com",)
    r = resolve_one(FakeTarget(JANE), owner("jdoe", directory="OTHER"), rules=rules, order=("rules",))
    assert not r.matched and r.detail == "no rule matches OTHER\\jdoe"


def test_rule_needing_an_email_qrs_lacks_does_not_apply() -> None:
    r = resolve_one(FakeTarget(JANE), owner("jdoe"), rules=(r"{directory}\{userId}={email}",), order=("rules",))
    assert not r.matched


def test_rule_value_that_finds_nobody_is_in_the_reason() -> None:
    r = resolve_one(FakeTarget(), owner("jdoe"), rules=(r"ACME\{userId}={userId}@acme.com",), order=("rules",))
    assert r.detail == "no cloud user with subject or email jdoe@acme.com (rule ACME\\{userId}={userId}@acme.com)"


def test_rule_before_subject_decides_when_they_disagree() -> None:
    rule = r"ACME\{userId}={userId}@acme.com"
    target = FakeTarget(user("a", subject="ACME\\jdoe", name="Ann"), user("b", email="jdoe@acme.com", name="Ben"))
    r = resolve_one(target, owner("jdoe"), rules=(rule,))
    assert (r.user.id, r.rule) == ("b", "rules")


@pytest.mark.parametrize(("rule", "message"), [
    ("ACME\\{userId}", r"exactly one '='"),
    ("ACME\\{userId}=a=b", r"exactly one '='"),
    ("={userId}@acme.com", r"both sides"),
    ("ACME\\{userId}=", r"both sides"),
    ("{userId}={userId}@acme.com", r"one backslash"),
    ("A\\B\\{userId}=x", r"one backslash"),
    ("\\{userId}=x", r"needs both a directory and a userId"),
    ("ACME\\{user}={user}@acme.com", r"unknown placeholder \{user\}"),
    ("ACME\\{userId}={userid}@acme.com", r"unknown placeholder \{userid\}"),
    ("{userId}\\x=y", r"unknown placeholder \{userId\}"),
    ("ACME\\{userId}{userId}=x", r"\{userId\} may appear only once"),
    ("ACME\\{userId={userId}@acme.com", r"unbalanced '\{'"),
    ("ACME\\{userId}={userId}}@acme.com", r"unbalanced '\}'"),
    ("ACME\\{}=x", r"unknown placeholder \{\}"),
])
def test_rule_syntax_errors_name_the_rule(rule: str, message: str) -> None:
    with pytest.raises(UsageProblem, match=message) as e:
        load_options(None, None, [rule], "auto", "skip")
    assert str(e.value).startswith(f"rewrite rule {rule}:")


def test_rule_pattern_ignores_case_but_keeps_captured_case() -> None:
    rule = parse_rule(r"Acme\{userId}={userId}.{directory}@x.com")
    assert rule.apply(owner("JDoe", directory="ACME")) == "JDoe.ACME@x.com"
    assert rule.apply(owner("JDoe", directory="ACMEX")) is None


# -- options -----------------------------------------------------------------------------------------
def test_load_options_defaults(tmp_path: Path) -> None:
    options = load_options(None, None, [], "auto", "skip")
    assert options == MappingOptions()
    assert options.order == ("mapping", "rules", "subject", "email")
    assert options.on_unmatched == OnUnmatched("skip", None)
    custom = load_options(" Email , subject ", None, [], "LISTING", "assign:admin@acme.com")
    assert (custom.order, custom.lookup, custom.on_unmatched) == (
        ("email", "subject"), "listing", OnUnmatched("assign", "admin@acme.com"))


@pytest.mark.parametrize(("order", "lookup", "rules", "message"), [
    ("subject,nickname", "auto", [], r"--match-order: unknown source nickname"),
    ("subject,email,subject", "auto", [], r"names a source twice"),
    ("subject,,email", "auto", [], r"empty name"),
    ("", "auto", [], r"empty name"),
    (None, "sometimes", [], r"--lookup must be one of auto, filter, listing"),
    ("subject,email", "auto", [r"ACME\{userId}=x"],
     r"--rewrite was given but --match-order subject,email leaves out rules"),
])
def test_load_options_rejects_bad_input(order: str | None, lookup: str, rules: list[str], message: str) -> None:
    with pytest.raises(UsageProblem, match=message):
        load_options(order, None, rules, lookup, "skip")


def test_mapping_file_without_mapping_in_the_order_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "source,target\n")
    with pytest.raises(UsageProblem, match="--mapping-file was given but --match-order subject leaves out mapping"):
        load_options("subject", path, [], "auto", "skip")
    assert load_options("mapping,subject", path, [], "auto", "skip").mapping_file == path


# -- unmatched policy --------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("skip", OnUnmatched("skip", None)),
    (" FAIL ", OnUnmatched("fail", None)),
    ("assign:u-admin", OnUnmatched("assign", "u-admin")),
    ("assign: ACME\\admin ", OnUnmatched("assign", "ACME\\admin")),
    ("assign:a:b@x.com", OnUnmatched("assign", "a:b@x.com")),
])
def test_parse_on_unmatched(text: str, expected: OnUnmatched) -> None:
    assert parse_on_unmatched(text) == expected


@pytest.mark.parametrize("text", ["", "ignore", "assign", "assign:", "assign:  ", "skip:x", "fail:u1",
                                  "assignx:u"])
def test_parse_on_unmatched_rejects(text: str) -> None:
    with pytest.raises(UsageProblem, match="--on-unmatched must be skip, fail or assign:USER"):
        parse_on_unmatched(text)


def test_on_unmatched_default_is_skip() -> None:
    assert MappingOptions().on_unmatched.mode == "skip" and OnUnmatched().mode == "skip"


def test_skip_leaves_the_owner_unmatched() -> None:
    result = resolve(FakeTarget(JANE), [owner("jdoe"), owner("ghost")])
    assert [r.matched for r in result.values()] == [True, False]


def test_fail_raises_listing_every_unmatched_owner() -> None:
    owners = [owner("jdoe"), owner("ghost", name="Casper"), owner("zed", directory="EU", name="Zed")]
    with pytest.raises(MigrationError) as e:
        resolve(FakeTarget(JANE), owners, on_unmatched=OnUnmatched("fail"))
    message = str(e.value)
    # stopped, not "done with unmatched owners"
    assert not isinstance(e.value, UsageProblem) and e.value.exit_code == ExitCode.STOPPED_UNMATCHED
    assert message.startswith("2 owner(s) have no cloud user")
    assert "ACME\\ghost (Casper): no cloud user with subject ACME\\ghost" in message
    assert "EU\\zed (Zed)" in message and "jdoe" not in message


def test_fail_passes_when_everyone_matches() -> None:
    assert resolve(FakeTarget(JANE), [owner("jdoe")], on_unmatched=OnUnmatched("fail"))


def test_assign_gives_unmatched_owners_to_the_fallback_user() -> None:
    target = FakeTarget(JANE, MARY)
    result = resolve(target, [owner("jdoe"), owner("ghost", name="Casper")],
                     on_unmatched=parse_on_unmatched("assign:mary@acme.com"))
    jane, ghost = result.values()
    assert (jane.user, jane.rule) == (JANE, "subject")
    assert (ghost.user, ghost.rule, ghost.matched) == (MARY, "fallback", True)
    assert ghost.detail.startswith("fallback user standing in for ACME\\ghost (Casper): "
                                   "no cloud user with subject")


@pytest.mark.parametrize(("users", "message"), [
    ((JANE,), r"no cloud user has id, subject or email mary@acme.com"),
    ((JANE, user("m", email="mary@acme.com", name="M", status="disabled")), r"M \(id m\) is disabled"),
    ((JANE, MARY, user("m2", subject="mary@acme.com", name="M2")),
     r"matches 2 cloud users: M2 \(id m2\), Mary Smith \(id u-mary\); name one by its id"),
])
def test_unresolvable_fallback_is_a_usage_problem_even_if_all_match(users: tuple[CloudUser, ...],
                                                                     message: str) -> None:
    with pytest.raises(UsageProblem, match=message):
        resolve(FakeTarget(*users), [owner("jdoe")], on_unmatched=OnUnmatched("assign", "mary@acme.com"))


def test_fallback_is_looked_up_once() -> None:
    target = FakeTarget(MARY)
    mapper = OwnerMapper(target, MappingOptions(order=("subject",), on_unmatched=OnUnmatched("assign", "u-mary")))
    asyncio.run(mapper.resolve([owner("a")]))
    asyncio.run(mapper.resolve([owner("b")]))
    assert target.filters == ['id eq "u-mary"', 'subject eq "u-mary"', 'subject eq "ACME\\\\a"',
                              'subject eq "ACME\\\\b"']


# -- properties ------------------------------------------------------------------------------------
_names = st.text(min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(directory=_names.filter(lambda d: "\\" not in d), user_id=_names)
def test_subject_filter_round_trips_any_key(directory: str, user_id: str) -> None:
    one = SourceOwner(id="o", user_id=user_id, directory=directory, name="n")
    target = FakeTarget(user("u", subject=one.key))
    r = resolve_one(target, one, order=("subject",))
    assert len(target.filters) == 1
    assert unescape(target.filters[0]) == ("subject", one.key)
    assert r.user is not None and r.user.id == "u"


_small = st.sampled_from(["a", "b", "A"])
_cloud_users = st.lists(
    st.builds(lambda i, s, e, status: user(f"id{i}", subject=f"D\\{s}", email=f"{e}@x", status=status),
              st.integers(0, 5), _small, _small, st.sampled_from(["active", "disabled"])),
    max_size=5, unique_by=lambda u: u.id,
)
_owners = st.lists(
    st.builds(lambda u, e: SourceOwner(id=f"{u}{e}", user_id=u, directory="d", name=u, email=e and f"{e}@X"),
              _small, st.sampled_from([None, "a", "b"])),
    max_size=4, unique_by=lambda o: o.id,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(users=_cloud_users, owners=_owners)
def test_filter_and_listing_decide_the_same(users: list[CloudUser], owners: list[SourceOwner]) -> None:
    def run(lookup: str) -> object:
        try:
            return resolve(FakeTarget(*users), owners, lookup=lookup)
        except UsageProblem as e:
            return str(e)

    assert run("filter") == run("listing")


@given(text=st.text(max_size=40))
def test_rule_parser_fails_only_with_usage_problem(text: str) -> None:
    try:
        rule = parse_rule(text)
    except UsageProblem as e:
        assert "\n" not in str(e)
    else:  # whatever parses must apply without raising
        assert isinstance(rule.apply(owner("x", email="x@y")), (str, type(None)))

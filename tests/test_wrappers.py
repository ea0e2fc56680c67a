"""The qlik-cli wrappers (source.Source, target.Target, contexts.context_info) against recorded fixtures: the exact argv
each method sends and the values it parses out of the reply."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from fakeqlik import fixture_json
from fakeqlik import load_fixture
from fakeqlik import step

from qlikcli_py import filters
from qlikcli_py.contexts import context_info
from qlikcli_py.errors import QlikBadOutput
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.models import CloudApp
from qlikcli_py.models import CloudObject
from qlikcli_py.models import CloudUser
from qlikcli_py.models import SourceApp
from qlikcli_py.models import SourceObject
from qlikcli_py.models import SourceOwner
from qlikcli_py.models import State
from qlikcli_py.qlik import Qlik
from qlikcli_py.source import Source
from qlikcli_py.target import Target

S, T = "qseow-src", "acme-cloud"
APP = "5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c"
CLOUD_APP = "3c9f6e2a-7b1d-4e8f-a0c5-6d2b9e4f1a37"
COPY_APP = "8e1d4c7b-2a6f-4b3e-9d0c-1f2e3a4b5c6d"
SHARED, MANAGED = "65b2c3d4e5f6a7b8c9d0e1f3", "65b2c3d4e5f6a7b8c9d0e1f2"


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def source(fake_qlik, tmp_path):
    return Source(Qlik(), S, scratch=tmp_path / "scratch")


@pytest.fixture
def target(fake_qlik, tmp_path):
    return Target(Qlik(), T, scratch=tmp_path / "scratch")


def src_argv(*args):
    return [*args, "--json", "--context", S]


def tgt_argv(*args):
    return [*args, "--json", "--context", T]


# -- context ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["context_get_target", "context_get_source"])
def test_context_info_parses_key_value_lines(fake_qlik, fixture):
    fake_qlik.scenario([step(fixture)])
    name = load_fixture(fixture)["argv_example"][2]
    info = run(context_info(Qlik(), name))
    assert fake_qlik.calls() == [["context", "get", name, "--context", name]]
    pairs = (line.split(": ", 1) for line in load_fixture(fixture)["stdout"].splitlines())
    expected = {key.replace("-", ""): value for key, value in pairs}
    assert info == expected
    assert info["name"] == name and info["servertype"] in ("cloud", "windows")


def test_context_info_of_a_missing_context_fails_with_kind_context(fake_qlik):
    fake_qlik.scenario([step("context_missing", match=["context", "get"])])
    with pytest.raises(QlikCommandFailed) as info:
        run(context_info(Qlik(), "qseow-prod"))
    assert info.value.kind == "context"


# -- Source (QRS) -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["qrs_app_count", "qrs_app_count_object"])
def test_app_count_accepts_integer_and_value_object(fake_qlik, source, fixture):
    fake_qlik.scenario([step(fixture)])
    assert run(source.app_count()) == 12
    assert fake_qlik.calls() == [src_argv("qrs", "app", "count")]


def test_app_maps_the_qrs_app(fake_qlik, source):
    fake_qlik.scenario([step("qrs_app_get")])
    app = run(source.app(APP))
    raw = fixture_json("qrs_app_get")
    assert fake_qlik.calls() == [src_argv("qrs", "app", "get", APP)]
    assert app == SourceApp(id=raw["id"], name=raw["name"], modified=raw["modifiedDate"], stream=raw["stream"]["name"],
                            owner=f"{raw['owner']['userDirectory']}\\{raw['owner']['userId']}",
                            file_size=raw["fileSize"])
    assert app.owner == "ACME\\jdoe" and app.stream == "Finance"


def test_app_with_insecure_adds_the_flag_before_json(fake_qlik, tmp_path):
    fake_qlik.scenario([step("qrs_app_get")])
    run(Source(Qlik(), S, insecure=True, scratch=tmp_path).app(APP))
    assert fake_qlik.calls() == [["qrs", "app", "get", APP, "--insecure", "--json", "--context", S]]


def test_unpublished_app_has_no_stream(fake_qlik, source):
    raw = dict(fixture_json("qrs_app_get"), published=False, stream=None)
    fake_qlik.scenario([step(match=["qrs", "app", "get"], stdout=json.dumps(raw))])
    assert run(source.app(APP)).stream is None


def test_app_404_raises_not_found(fake_qlik, source):
    fake_qlik.scenario([step("qrs_app_get_404")])
    with pytest.raises(QlikCommandFailed) as info:
        run(source.app("00000000-0000-4000-8000-000000000404"))
    assert info.value.kind == "not_found" and info.value.status == 404


def test_app_that_is_html_raises_bad_output(fake_qlik, source):
    fake_qlik.scenario([step("malformed_json")])
    with pytest.raises(QlikBadOutput):
        run(source.app(APP))


def test_apps_sends_the_qrs_filter_quoted(fake_qlik, source):
    fake_qlik.scenario([step("qrs_app_full")])
    apps = run(source.apps(filters.qrs_eq("stream.name", "Finance")))
    assert fake_qlik.calls() == [src_argv("qrs", "app", "full", "--filter", "stream.name eq 'Finance'")]
    assert [a.id for a in apps] == [r["id"] for r in fixture_json("qrs_app_full")]
    assert [a.owner for a in apps] == ["ACME\\jdoe", "ACME\\asmith"]


def test_apps_filter_with_an_apostrophe_is_doubled(fake_qlik, source):
    fake_qlik.scenario([step(match=["qrs", "app", "full"], stdout="[]\n")])
    assert run(source.apps(filters.qrs_eq("owner.userId", "o'brien"))) == []
    assert fake_qlik.calls()[0][4] == "owner.userId eq 'o''brien'"


@pytest.mark.parametrize(("skip_data", "tail"), [(True, ["--skipdata=true"]), (False, [])])
def test_export_writes_the_qvf_with_scope_all(fake_qlik, source, tmp_path, skip_data, tail):
    fake_qlik.scenario([step("qrs_app_export_create")])
    dest = tmp_path / "out" / f"{APP}.qvf"
    dest.parent.mkdir()
    run(source.export(APP, dest, skip_data=skip_data))
    assert fake_qlik.calls() == [src_argv("qrs", "app", "export", "create", APP, "--exportScope", "all",
                                          "--output-file", str(dest), *tail)]
    assert dest.read_bytes() == b"QVF fake export\n"


def test_objects_streams_the_list_and_dedupes_owners(fake_qlik, source):
    fake_qlik.scenario([step("qrs_app_object_full")])
    objects, owners = run(source.objects(APP.upper()))
    assert fake_qlik.calls() == [src_argv("qrs", "app", "object", "full", "--filter", f"app.id eq {APP}")]
    rows = fixture_json("qrs_app_object_full")
    assert [o.object_id for o in objects] == [r["engineObjectId"] for r in rows]
    assert objects[0] == SourceObject(object_id="8f2c1e7a-3b4d-4a5e-9c6f-0d1e2f3a4b5c", type="sheet",
                                      title="Regional drill-down", state=State.PRIVATE,
                                      owner_id="7c6b5a49-3827-4615-a4b3-c2d1e0f9a8b7",
                                      modified="2023-02-27T13:45:10.004Z")
    assert [o.modified for o in objects] == [r["modifiedDate"] for r in rows]  # sync tells changes on-prem by it
    assert [o.state for o in objects] == [State.of(r["published"], r["approved"]) for r in rows]
    assert {o.state for o in objects} == {State.PRIVATE, State.COMMUNITY, State.BASE}
    assert len(rows) == 9 and len(owners) == 3
    assert list(owners) == ["7c6b5a49-3827-4615-a4b3-c2d1e0f9a8b7", "d9e8f7a6-1234-4bcd-9ef0-0a1b2c3d4e5f",
                            "3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b"]
    obrien = owners["3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b"]
    assert obrien == SourceOwner(id="3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b", user_id="o'brien", directory="ACME",
                                 name="Pat O'Brien")
    assert obrien.key == "ACME\\o'brien"


def test_objects_removes_its_scratch_file(fake_qlik, source):
    fake_qlik.scenario([step("qrs_app_object_full")])
    run(source.objects(APP))
    assert list(source.scratch.iterdir()) == []


def test_objects_of_an_empty_app(fake_qlik, source):
    fake_qlik.scenario([step(match=["qrs", "app", "object", "full"], stdout="[]\n")])
    assert run(source.objects(APP)) == ([], {})


def test_objects_truncated_listing_raises_bad_output(fake_qlik, source):
    fake_qlik.scenario([step("truncated_json")])
    with pytest.raises(QlikBadOutput) as info:
        run(source.objects(APP))
    assert "not a JSON list" in str(info.value)
    assert list(source.scratch.iterdir()) == []


# A reply that is not a list must never read as an empty list (an app with no objects).


@pytest.mark.parametrize("body", ["{}", '"oops"', "42", '{"status": 200, "title": "OK"}'])
def test_objects_reply_that_is_not_a_list_is_bad_output(fake_qlik, source, body):
    fake_qlik.scenario([step(match=["qrs", "app", "object", "full"], stdout=body)])
    try:
        result = run(source.objects(APP))
    except QlikBadOutput:
        return
    raise AssertionError(f"a non-list reply was read as {result!r}")


def test_objects_in_a_data_envelope_are_not_dropped(fake_qlik, source):
    body = json.dumps({"data": fixture_json("qrs_app_object_full"), "links": {}})
    fake_qlik.scenario([step(match=["qrs", "app", "object", "full"], stdout=body)])
    try:
        objects, _ = run(source.objects(APP))
    except QlikBadOutput:
        return
    assert len(objects) == 9, "the objects of a {data: [...]} reply were silently dropped"


def test_all_users_in_a_data_envelope_are_not_dropped(fake_qlik, target):
    body = json.dumps({"data": fixture_json("user_ls_all")})
    fake_qlik.scenario([step("user_count"), step(match=["user", "ls"], stdout=body)])
    try:
        users = list(run(target.all_users()))
    except QlikBadOutput:
        return
    assert len(users) == 5, "the users of a {data: [...]} reply were silently dropped"


def test_objects_rejects_a_non_guid_app_id_before_calling_qlik(fake_qlik, source):
    with pytest.raises(ValueError):
        run(source.objects("5f0c2b1e' or 1 eq 1"))
    assert fake_qlik.calls() == []


def test_emails_maps_user_ids_to_the_email_attribute(fake_qlik, source):
    fake_qlik.scenario([step("qrs_user_full")])
    users = fixture_json("qrs_user_full")
    ids = [u["id"] for u in users]
    found = run(source.emails([*ids, ids[0], "not-a-guid"]))
    assert fake_qlik.calls() == [src_argv("qrs", "user", "full", "--filter",
                                          " or ".join(f"id eq {i}" for i in sorted(ids)))]
    assert found == {"3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b": "pat.obrien@acme.example",
                     "d9e8f7a6-1234-4bcd-9ef0-0a1b2c3d4e5f": "jane.doe@acme.example"}  # asmith has no email


def test_emails_batches_ids_in_chunks_of_40(fake_qlik, source):
    ids = [f"00000000-0000-4000-8000-{n:012x}" for n in range(45)]
    fake_qlik.scenario([step(match=["qrs", "user", "full"], stdout="[]\n")])
    assert run(source.emails(reversed(ids))) == {}
    calls = fake_qlik.calls()
    assert len(calls) == 2
    assert calls[0][4] == " or ".join(f"id eq {i}" for i in ids[:40])
    assert calls[1][4] == " or ".join(f"id eq {i}" for i in ids[40:])


def test_emails_attribute_type_is_case_insensitive_and_empty_values_skipped(fake_qlik, source):
    users = fixture_json("qrs_user_full")
    users[0]["attributes"] = [{"attributeType": "Email", "attributeValue": ""},
                              {"attributeType": "EMAIL", "attributeValue": "alex.smith@acme.example"}]
    fake_qlik.scenario([step(match=["qrs", "user", "full"], stdout=json.dumps(users))])
    found = run(source.emails([users[0]["id"]]))
    assert found[users[0]["id"]] == "alex.smith@acme.example"


def test_emails_without_ids_makes_no_call(fake_qlik, source):
    assert run(source.emails(["", "nope"])) == {}
    assert fake_qlik.calls() == []


def test_source_reads_are_retried(fake_qlik, source, monkeypatch):
    import qlikcli_py.qlik as qlik_module
    monkeypatch.setattr(qlik_module, "_BACKOFF_BASE", 0.01)
    fake_qlik.scenario([step("qrs_server_500", match=["qrs", "app", "count"], times=1), step("qrs_app_count")])
    assert run(source.app_count()) == 12
    assert len(fake_qlik.calls()) == 2


# -- Target: users and spaces -----------------------------------------------------------------------
def test_me(fake_qlik, target):
    fake_qlik.scenario([step("user_me")])
    me = run(target.me())
    assert fake_qlik.calls() == [tgt_argv("user", "me")]
    assert me == fixture_json("user_me") and me["id"] == "64a1f0c2e3b4d5f6a7b8c9d0"


def test_me_without_an_id_is_bad_output(fake_qlik, target):
    fake_qlik.scenario([step(match=["user", "me"], stdout='{"name": "x"}')])
    with pytest.raises(QlikBadOutput):
        run(target.me())


def test_me_with_an_update_notice_on_stderr(fake_qlik, target):
    fake_qlik.scenario([step("user_me_update_notice")])
    assert run(target.me())["id"] == "64a1f0c2e3b4d5f6a7b8c9d0"


def test_user_count(fake_qlik, target):
    fake_qlik.scenario([step("user_count")])
    assert run(target.user_count()) == 1234
    assert fake_qlik.calls() == [tgt_argv("user", "count")]


def test_users_where_sends_a_scim_filter_with_the_backslash_escaped(fake_qlik, target):
    fake_qlik.scenario([step("user_ls_subject")])
    users = run(target.users_where(filters.scim_eq("subject", "ACME\\jdoe")))
    assert fake_qlik.calls() == [tgt_argv("user", "ls", "--filter", 'subject eq "ACME\\\\jdoe"',
                                          "--fields", "id,name,email,subject,status", "--limit", "10")]
    assert users == [CloudUser(id="64a1f0c2e3b4d5f6a7b8c9d1", name="Jane Doe", subject="ACME\\jdoe",
                               email="jane.doe@acme.example", status="active")]


def test_users_where_for_an_owner_with_an_apostrophe(fake_qlik, target):
    owner = SourceOwner(id="3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b", user_id="o'brien", directory="ACME",
                        name="Pat O'Brien")
    fake_qlik.scenario([step("user_ls_subject_apostrophe")])
    users = run(target.users_where(filters.scim_eq("subject", owner.key), limit=2))
    assert fake_qlik.calls()[0][2:4] == ["--filter", 'subject eq "ACME\\\\o\'brien"']
    assert fake_qlik.calls()[0][6:8] == ["--limit", "2"]
    assert [u.subject for u in users] == [owner.key]


def test_users_where_with_no_match(fake_qlik, target):
    fake_qlik.scenario([step("user_ls_empty")])
    assert run(target.users_where(filters.scim_eq("subject", "ACME\\left.company"))) == []


def test_users_where_with_a_bad_filter_is_a_bad_request(fake_qlik, target):
    fake_qlik.scenario([step("user_ls_bad_filter_400")])
    with pytest.raises(QlikCommandFailed) as info:
        run(target.users_where("subject eq ACME\\jdoe"))
    assert (info.value.kind, info.value.status) == ("bad_request", 400)
    assert len(fake_qlik.calls()) == 1  # not transient: no retry


def test_all_users_lists_past_the_total(fake_qlik, target):
    fake_qlik.scenario([step("user_count"), step("user_ls_all")])
    users = list(run(target.all_users()))
    assert fake_qlik.calls() == [tgt_argv("user", "count"),
                                 tgt_argv("user", "ls", "--fields", "id,name,email,subject,status", "--limit", "1334")]
    assert [u.id for u in users] == [r["id"] for r in fixture_json("user_ls_all")]
    assert users[-1].status == "disabled"
    assert list(target.scratch.iterdir()) == []


def test_spaces(fake_qlik, target):
    fake_qlik.scenario([step("space_ls")])
    spaces = run(target.spaces())
    assert fake_qlik.calls() == [tgt_argv("space", "ls", "--limit", "10000")]
    assert [(s.id, s.name, s.type) for s in spaces] == [(MANAGED, "Finance", "managed"),
                                                        (SHARED, "Finance dev", "shared"),
                                                        ("65b2c3d4e5f6a7b8c9d0e1f4", "Finance data", "data")]
    assert spaces[0].actions == ("create", "read", "update", "delete", "publish")
    assert spaces[2].actions == ("read",)


def test_spaces_accepts_a_raw_data_envelope(fake_qlik, target):
    body = {"data": fixture_json("space_ls"), "links": {"self": {"href": "x"}}}
    fake_qlik.scenario([step(match=["space", "ls"], stdout=json.dumps(body))])
    assert len(run(target.spaces())) == 3


def test_spaces_that_are_not_a_list_is_bad_output(fake_qlik, target):
    fake_qlik.scenario([step("space_get", match=["space", "ls"])])
    with pytest.raises(QlikBadOutput):
        run(target.spaces())


# -- Target: apps -----------------------------------------------------------------------------------
def test_import_app_reads_the_new_id_from_attributes(fake_qlik, target, tmp_path):
    qvf = tmp_path / "a.qvf"
    fake_qlik.scenario([step("app_import")])
    app = run(target.import_app(qvf, SHARED, "Sales Overview"))
    assert fake_qlik.calls() == [tgt_argv("app", "import", "--file", str(qvf), "--spaceId", SHARED, "--name",
                                          "Sales Overview", "--resumable")]
    attrs = fixture_json("app_import")["attributes"]
    assert app == CloudApp(id=attrs["id"], name="Sales Overview", space_id=SHARED, owner_id=attrs["ownerId"],
                           origin_app_id="", created=attrs["createdDate"])
    assert app.id == CLOUD_APP


def test_import_is_a_write_and_is_not_retried(fake_qlik, target, tmp_path):
    fake_qlik.scenario([step("server_503", times=1), step("app_import")])
    with pytest.raises(QlikCommandFailed) as info:
        run(target.import_app(tmp_path / "a.qvf", SHARED, "x"))
    assert info.value.status == 503
    assert len(fake_qlik.calls()) == 1


def test_import_reply_without_attributes_id_is_bad_output(fake_qlik, target, tmp_path):
    fake_qlik.scenario([step(match=["app", "import"], stdout='{"resourceId": "x"}')])  # pre-2.0 shape
    with pytest.raises(QlikBadOutput):
        run(target.import_app(tmp_path / "a.qvf", SHARED, "x"))


def test_app_get(fake_qlik, target):
    fake_qlik.scenario([step("app_get")])
    app = run(target.app(CLOUD_APP))
    assert fake_qlik.calls() == [tgt_argv("app", "get", CLOUD_APP)]
    assert (app.id, app.space_id) == (CLOUD_APP, SHARED)


def test_app_get_404_raises_not_found(fake_qlik, target):
    fake_qlik.scenario([step("app_get_404")])
    with pytest.raises(QlikCommandFailed) as info:
        run(target.app("00000000-0000-4000-8000-000000000404"))
    assert info.value.kind == "not_found"


def test_app_get_with_empty_stdout_is_bad_output(fake_qlik, target):
    fake_qlik.scenario([step("empty_stdout")])
    with pytest.raises(QlikBadOutput):
        run(target.app(CLOUD_APP))


@pytest.mark.parametrize("fixture", ["app_ls", "app_ls_replaced_warning"])
def test_apps_in_space_reads_item_records(fake_qlik, target, fixture):
    fake_qlik.scenario([step(fixture)])
    apps = run(target.apps_in_space(SHARED))
    assert fake_qlik.calls() == [tgt_argv("app", "ls", "--spaceId", SHARED, "--limit", "100000")]
    items = fixture_json(fixture)
    assert [a.id for a in apps] == [i["resourceId"] for i in items] == [CLOUD_APP, COPY_APP]
    assert [a.created for a in apps] == [i["resourceCreatedAt"] for i in items]
    assert all(a.space_id == SHARED and a.owner_id == "64a1f0c2e3b4d5f6a7b8c9d0" for a in apps)
    assert apps[0].name == "Sales Overview"


def test_apps_in_space_falls_back_to_resource_attributes(fake_qlik, target):
    items = fixture_json("app_ls")
    for item in items:
        del item["resourceId"], item["spaceId"], item["ownerId"]
    items[0]["resourceAttributes"]["originAppId"] = COPY_APP
    fake_qlik.scenario([step(match=["app", "ls"], stdout=json.dumps(items))])
    apps = run(target.apps_in_space(SHARED))
    assert [a.id for a in apps] == [CLOUD_APP, COPY_APP]
    assert apps[0].space_id == SHARED and apps[0].origin_app_id == COPY_APP


def test_copy_app(fake_qlik, target):
    fake_qlik.scenario([step("app_copy")])
    app = run(target.copy_app(CLOUD_APP, "Sales Overview (dev)", SHARED))
    assert fake_qlik.calls() == [tgt_argv("app", "copy", CLOUD_APP, "--attributes-name", "Sales Overview (dev)",
                                          "--attributes-spaceId", SHARED)]
    assert (app.id, app.name, app.space_id) == (COPY_APP, "Sales Overview (dev)", SHARED)


def test_change_owner_returns_the_new_owner_id(fake_qlik, target):
    fake_qlik.scenario([step("change_owner")])
    owner = run(target.change_owner(CLOUD_APP, "8f2c1e7a-3b4d-4a5e-9c6f-0d1e2f3a4b5c", "64a1f0c2e3b4d5f6a7b8c9d2"))
    assert fake_qlik.calls() == [tgt_argv("app", "object", "change-owner", "--appId", CLOUD_APP, "--objectId",
                                          "8f2c1e7a-3b4d-4a5e-9c6f-0d1e2f3a4b5c",
                                          "--ownerId", "64a1f0c2e3b4d5f6a7b8c9d2")]
    assert owner == fixture_json("change_owner")["attributes"]["ownerId"] == "64a1f0c2e3b4d5f6a7b8c9d2"


def test_change_owner_403_is_forbidden_and_not_retried(fake_qlik, target):
    fake_qlik.scenario([step("change_owner_403")])
    with pytest.raises(QlikCommandFailed) as info:
        run(target.change_owner(CLOUD_APP, "o", "u"))
    assert (info.value.kind, info.value.status) == ("forbidden", 403)
    assert len(fake_qlik.calls()) == 1


def test_change_owner_reply_without_attributes_gives_empty_owner(fake_qlik, target):
    fake_qlik.scenario([step(match=["app", "object", "change-owner"], stdout="{}")])
    assert run(target.change_owner(CLOUD_APP, "o", "u")) == ""


def test_move_to_managed_keeps_the_app_id_and_sets_the_origin(fake_qlik, target):
    fake_qlik.scenario([step("app_publish_create_move")])
    app = run(target.move_to_managed(CLOUD_APP, MANAGED, COPY_APP))
    assert fake_qlik.calls() == [tgt_argv("app", "publish", "create", CLOUD_APP, "--spaceId", MANAGED, "--moveApp",
                                          "--originAppId", COPY_APP)]
    assert (app.id, app.space_id, app.origin_app_id) == (CLOUD_APP, MANAGED, COPY_APP)


# -- Target: engine ---------------------------------------------------------------------------------
def test_list_objects_asks_each_engine_group(fake_qlik, target):
    fake_qlik.scenario([step("app_object_ls"), step("app_bookmark_ls"), step("app_dimension_ls"),
                        step("app_measure_ls")])
    rows = run(target.list_objects(CLOUD_APP, session="s1"))
    calls = fake_qlik.calls()
    assert calls == [tgt_argv("app", g, "ls", "--app", CLOUD_APP, "--no-data", "--headers", "X-Qlik-Session=s1")
                     for g in ("object", "bookmark", "dimension", "measure")]
    expected = [(r["qId"], r["qType"], r["title"]) for f in ("app_object_ls", "app_bookmark_ls", "app_dimension_ls",
                                                              "app_measure_ls") for r in fixture_json(f)]
    assert rows == expected
    assert ("c4d5e6f7-a8b9-4c0d-8e1f-2a3b4c5d6e7f", "snapshot", "Sep numbers") in rows


def test_list_objects_without_session_sends_no_headers(fake_qlik, target):
    fake_qlik.scenario([step(match=["app"], stdout="[]")])
    assert run(target.list_objects(CLOUD_APP)) == []
    assert all("--headers" not in c for c in fake_qlik.calls())


def test_list_objects_of_a_missing_app(fake_qlik, target):
    fake_qlik.scenario([step("engine_persistence_not_found")])
    with pytest.raises(QlikCommandFailed) as info:
        run(target.list_objects("00000000-0000-4000-8000-000000000000"))
    assert info.value.kind == "not_found"


def test_layout_of_a_community_story(fake_qlik, target):
    fake_qlik.scenario([step("app_object_layout")])
    obj = run(target.layout(CLOUD_APP, "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "story", session=f"migrate-{CLOUD_APP}"))
    assert fake_qlik.calls() == [load_fixture("app_object_layout")["argv_example"]]
    assert obj == CloudObject(object_id="0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", type="story", title="Q4 review",
                              owner_id="64a1f0c2e3b4d5f6a7b8c9d0", state=State.COMMUNITY)


def test_layout_of_a_bookmark_uses_the_bookmark_group(fake_qlik, target):
    fake_qlik.scenario([step("app_bookmark_layout")])
    obj = run(target.layout(CLOUD_APP, "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e", "bookmark"))
    assert fake_qlik.calls() == [load_fixture("app_bookmark_layout")["argv_example"]]
    assert (obj.type, obj.state, obj.title) == ("bookmark", State.PRIVATE, "Nordics only")


def test_layout_of_another_users_private_object_is_forbidden(fake_qlik, target):
    fake_qlik.scenario([step("engine_access_denied")])
    with pytest.raises(QlikCommandFailed) as info:
        run(target.layout(CLOUD_APP, "8f2c1e7a-3b4d-4a5e-9c6f-0d1e2f3a4b5c", "sheet"))
    assert info.value.kind == "forbidden"


@pytest.mark.parametrize(("otype", "group"), [("sheet", "object"), ("snapshot", "bookmark"), ("measure", "measure")])
def test_unpublish_uses_the_engine_group_of_the_type(fake_qlik, target, otype, group):
    fake_qlik.scenario([step("app_object_unpublish", match=["app", group, "unpublish"])])
    run(target.unpublish(COPY_APP, "obj1", otype))
    assert fake_qlik.calls() == [tgt_argv("app", group, "unpublish", "obj1", "--app", COPY_APP, "--no-data")]


def test_remove_chunks_ids_and_never_saves(fake_qlik, target):
    ids = [f"obj{i}" for i in range(150)]
    fake_qlik.scenario([step("app_object_rm")])
    run(target.remove(COPY_APP, ids, "sheet", session="s"))
    calls = fake_qlik.calls()
    assert len(calls) == 2
    assert calls[0] == tgt_argv("app", "object", "rm", *ids[:100], "--app", COPY_APP, "--no-save", "--no-data",
                                "--headers", "X-Qlik-Session=s")
    assert calls[1][3:53] == ids[100:]


def test_remove_of_nothing_makes_no_call(fake_qlik, target):
    run(target.remove(COPY_APP, [], "sheet"))
    assert fake_qlik.calls() == []


def test_save_builds_without_reload(fake_qlik, target):
    fake_qlik.scenario([step("app_build")])
    run(target.save(COPY_APP))
    assert fake_qlik.calls() == [load_fixture("app_build")["argv_example"]]


# -- every fixture's argv_example is what the tool would send ---------------------------------------
def _call_for(name: str, source: Source, target: Target, tmp: Path):
    """The tool's call that the fixture `name` records."""
    ex = load_fixture(name)["argv_example"]
    owner = SourceOwner(id="3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b", user_id="o'brien", directory="ACME", name="")
    return {
        "qrs_app_count": lambda: source.app_count(),
        "qrs_app_get": lambda: source.app(APP),
        "qrs_app_full": lambda: source.apps(filters.qrs_eq("stream.name", "Finance")),
        "qrs_app_export_create": lambda: source.export(APP, Path(ex[8]), skip_data=True),
        "qrs_app_object_full": lambda: source.objects(APP),
        "qrs_user_full": lambda: source.emails([u["id"] for u in fixture_json("qrs_user_full")]),
        "user_me": lambda: target.me(),
        "user_count": lambda: target.user_count(),
        "user_ls_subject": lambda: target.users_where(filters.scim_eq("subject", "ACME\\jdoe")),
        "user_ls_subject_apostrophe": lambda: target.users_where(filters.scim_eq("subject", owner.key)),
        "space_ls": lambda: target.spaces(),
        "app_import": lambda: target.import_app(Path(ex[3]), SHARED, "Sales Overview"),
        "app_get": lambda: target.app(CLOUD_APP),
        "app_ls": lambda: target.apps_in_space(SHARED),
        "app_copy": lambda: target.copy_app(CLOUD_APP, "Sales Overview (dev)", SHARED),
        "change_owner": lambda: target.change_owner(CLOUD_APP, ex[6], ex[8]),
        "app_publish_create_move": lambda: target.move_to_managed(CLOUD_APP, MANAGED, COPY_APP),
        "app_object_layout": lambda: target.layout(CLOUD_APP, ex[3], "story", session=f"migrate-{CLOUD_APP}"),
        "app_bookmark_layout": lambda: target.layout(CLOUD_APP, ex[3], "bookmark"),
        "app_object_unpublish": lambda: target.unpublish(COPY_APP, ex[3], "story"),
        "app_object_rm": lambda: target.remove(COPY_APP, ex[3:5], "sheet"),
        "app_build": lambda: target.save(COPY_APP),
    }[name]()


@pytest.mark.parametrize("name", [
    "qrs_app_count", "qrs_app_get", "qrs_app_full", "qrs_app_export_create", "qrs_app_object_full", "qrs_user_full",
    "user_me", "user_count", "user_ls_subject", "user_ls_subject_apostrophe", "space_ls", "app_import", "app_get",
    "app_ls", "app_copy", "change_owner", "app_publish_create_move", "app_object_layout", "app_bookmark_layout",
    "app_object_unpublish", "app_object_rm", "app_build",
])
def test_fixture_argv_example_is_what_the_tool_sends(fake_qlik, source, target, tmp_path, name):
    # the export fixture writes its --output-file; here the path is the example's, so don't
    fake_qlik.scenario([step(name, write_file_flag=None) if name == "qrs_app_export_create" else step(name)])
    run(_call_for(name, source, target, tmp_path))
    assert fake_qlik.calls() == [load_fixture(name)["argv_example"]]


# -- sync: property trees, object set, publish, app removal ------------------------------------------
SHEET = "7d2e9f4a-1c3b-4e5d-8f6a-0b1c2d3e4f5a"


def test_object_tree_sends_properties_full_and_returns_the_entry(fake_qlik, target):
    fake_qlik.scenario([step("app_object_properties_full")])
    tree = run(target.object_tree(CLOUD_APP, SHEET))
    assert fake_qlik.calls() == [
        tgt_argv("app", "object", "properties", SHEET, "--app", CLOUD_APP, "--full", "--no-data")]
    assert tree == fixture_json("app_object_properties_full")
    assert [c["qProperty"]["qInfo"]["qId"] for c in tree["qChildren"]] == ["kLmNp"]


@pytest.mark.parametrize("body", ['{"qInfo": {"qId": "x"}}', "[]", '{"qProperty": {}, "qChildren": {}}'])
def test_object_tree_without_an_entry_is_bad_output(fake_qlik, target, body):
    fake_qlik.scenario([step(match=["app", "object", "properties"], stdout=body)])
    with pytest.raises(QlikBadOutput):
        run(target.object_tree(CLOUD_APP, SHEET))


@pytest.mark.parametrize("entry", [True, False])
def test_set_object_sends_the_file_and_returns_the_id_it_asks_for(fake_qlik, target, tmp_path, entry):
    tree = fixture_json("app_object_properties_full")
    path = tmp_path / "obj.json"
    path.write_text(json.dumps(tree if entry else tree["qProperty"]), encoding="utf-8")
    fake_qlik.scenario([step("app_object_set")])
    assert run(target.set_object(CLOUD_APP, path, session="s1")) == SHEET
    assert fake_qlik.calls() == [tgt_argv("app", "object", "set", str(path), "--app", CLOUD_APP, "--no-data",
                                          "--headers", "X-Qlik-Session=s1")]


def test_set_object_without_saving(fake_qlik, target, tmp_path):
    path = tmp_path / "obj.json"
    path.write_text(json.dumps(fixture_json("app_object_properties_full")), encoding="utf-8")
    fake_qlik.scenario([step("app_object_set", stderr="")])
    run(target.set_object(CLOUD_APP, path, save=False))
    assert fake_qlik.calls() == [
        tgt_argv("app", "object", "set", str(path), "--app", CLOUD_APP, "--no-save", "--no-data")]


def test_set_object_refuses_a_glob_path_a_missing_file_and_a_file_without_id(fake_qlik, target, tmp_path):
    fake_qlik.scenario([step("app_object_set")])
    for name in ("a[1].json", "a*.json"):
        with pytest.raises(ValueError, match="glob character"):
            run(target.set_object(CLOUD_APP, tmp_path / name))
    with pytest.raises(FileNotFoundError):
        run(target.set_object(CLOUD_APP, tmp_path / "missing.json"))
    (tmp_path / "noid.json").write_text('{"qProperty": {"qInfo": {"qType": "sheet"}}}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"no qInfo\.qId"):
        run(target.set_object(CLOUD_APP, tmp_path / "noid.json"))
    assert fake_qlik.calls() == []


def test_set_object_that_matched_no_file_is_bad_output(fake_qlik, target, tmp_path):
    """1.4.0 exits 0 when the pattern matches nothing (the file vanished between the check and the call)."""
    path = tmp_path / "obj.json"
    path.write_text(json.dumps(fixture_json("app_object_properties_full")), encoding="utf-8")
    noise = f"No matches found for pattern {path}\nSaving app...\nApp successfully saved\n"
    fake_qlik.scenario([step("app_object_set", stderr=noise)])
    with pytest.raises(QlikBadOutput):
        run(target.set_object(CLOUD_APP, path))


@pytest.mark.parametrize(("otype", "group"),
                         [("sheet", "object"), ("masterobject", "object"), ("bookmark", "bookmark")])
def test_publish_uses_the_engine_group_of_the_type(fake_qlik, target, otype, group):
    fake_qlik.scenario([step("app_object_publish", match=["app", group, "publish"])])
    run(target.publish(CLOUD_APP, SHEET, otype))
    assert fake_qlik.calls() == [tgt_argv("app", group, "publish", SHEET, "--app", CLOUD_APP, "--no-data")]


def test_delete_app(fake_qlik, target):
    fake_qlik.scenario([step("app_rm")])
    run(target.delete_app("5b7c9d1e-2f3a-4b5c-8d6e-7f8a9b0c1d2e"))
    assert fake_qlik.calls() == [load_fixture("app_rm")["argv_example"]]

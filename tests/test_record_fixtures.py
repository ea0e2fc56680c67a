"""The fixtures themselves (format, provenance, coverage, shapes) and scripts/record-fixtures
(scrubbing, dry run, a recording against the fake)."""
from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import re
import sys

import pytest
from api_specs import cloud_types
from api_specs import qrs_definitions
from fakeqlik import FIXTURES_DIR
from fakeqlik import ROOT
from fakeqlik import command_words
from fakeqlik import fixture_json
from fakeqlik import fixture_names
from fakeqlik import load_fixture
from fakeqlik import step
from fakeqlik import validate_fixture

SCRIPT = ROOT / "scripts" / "record-fixtures"


def _load_recorder():
    loader = importlib.machinery.SourceFileLoader("record_fixtures", str(SCRIPT))
    spec = importlib.util.spec_from_loader("record_fixtures", loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["record_fixtures"] = module  # dataclasses look their module up
    loader.exec_module(module)
    return module


recorder = _load_recorder()


# == the fixtures ==================================================================================
@pytest.mark.parametrize("name", fixture_names())
def test_fixture_is_well_formed(name):
    data = load_fixture(name)
    assert validate_fixture(data) == []
    assert command_words(data["argv_example"])[:len(data["command"])] == data["command"]
    if data["exit_code"] == 0 and data["stdout"].lstrip().startswith(("{", "[")) and name != "truncated_json":
        json.loads(data["stdout"])
    if data["exit_code"] != 0:
        assert "Error:" in data["stderr"], "failures print `Error: ...` on stderr"


@pytest.mark.parametrize("name", fixture_names())
def test_fixture_argv_carries_context_last_and_json_for_api_commands(name):
    argv = load_fixture(name)["argv_example"]
    if argv == ["version"]:
        return
    assert argv[-2] == "--context"
    if argv[0] != "context":
        assert argv[-3] == "--json"


def test_validate_fixture_catches_problems():
    assert validate_fixture({"command": ["app"], "argv_example": ["user"], "exit_code": "1", "stdout": 3,
                             "stderr": "", "source": "guess", "extra": 1}) == [
        "unknown keys ['extra']", "argv_example must start with the command words", "exit_code must be an int",
        "stdout must be text", "source must start with one of ('DOC', 'CODE', 'INFERRED', 'RECORDED', 'REAL')"]
    assert validate_fixture({"command": [], "argv_example": [], "exit_code": 0, "stdout_b64": "", "stderr": "",
                             "source": "DOC x"}) == ["command must be a non-empty list of words"]


def test_readme_lists_every_fixture_and_nothing_else():
    readme = (FIXTURES_DIR / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"(?m)^\| `([a-z0-9_]+)` \|", readme))
    assert listed == set(fixture_names())
    assert "written by hand" in readme


def test_every_command_of_the_surface_has_a_success_fixture():
    surface = (ROOT / "docs" / "qlik-surface.md").read_text(encoding="utf-8")
    rows = re.findall(r"(?m)^\| \d+ \| `([^`]+)`", surface)
    assert len(rows) >= 20, "docs/qlik-surface.md command table not found"
    wanted = set()
    for argv in rows:
        words = [w for w in command_words(argv.split()) if not re.fullmatch(r"[A-Z_]+|\[.*", w)]
        wanted.add(tuple(words))
    wanted |= {("app", "bookmark", "layout"), ("app", "dimension", "ls"), ("app", "measure", "ls")}
    have = {tuple(load_fixture(n)["command"]) for n in fixture_names() if load_fixture(n)["exit_code"] == 0}
    assert sorted(wanted - have) == []


def test_required_failures_are_covered():
    names = set(fixture_names())
    assert {"context_missing", "qrs_app_get_404", "app_get_404", "change_owner_403", "user_ls_bad_filter_400",
            "rate_limited_429", "server_503", "malformed_json", "empty_stdout", "truncated_json",
            "app_ls_replaced_warning", "user_me_update_notice", "engine_access_denied",
            "engine_persistence_not_found", "unknown_flag", "required_flag_missing", "version_2_23_1",
            "version_3_2_0", "version_v2_15_1_dev", "user_ls_subject_apostrophe"} <= names
    assert "You need to wait" in load_fixture("rate_limited_429")["stderr"]
    assert load_fixture("rate_limited_429")["stderr"].startswith("Error: 429 ")


_ALLOWED_EMAIL = re.compile(r"@(example\.com|acme\.example)$")
_ALLOWED_HOST = re.compile(r"^(.*\.example(\.[a-z]+)?|.*\.example\.local|tenant\.example\.qlikcloud\.com|qlik\.dev|"
                           r"help\.qlik\.com|github\.com)$")


@pytest.mark.parametrize("name", fixture_names())
def test_fixture_holds_no_real_looking_secrets_emails_or_hosts(name):
    text = json.dumps(load_fixture(name))
    assert not re.search(r"eyJ[A-Za-z0-9_-]{8,}\.", text), "JWT-like token"
    assert not re.search(r"(?i)bearer\s+[A-Za-z0-9._~+/-]{6,}", text), "bearer token"
    assert not re.search(r"(?i)(api[-_]?key|secret|password)\"?\s*[:=]", text)
    for email in re.findall(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]+", text):
        assert _ALLOWED_EMAIL.search(email), email
    for host in re.findall(r"https?://([A-Za-z0-9.-]+)", text):
        assert _ALLOWED_HOST.match(host), host


@pytest.mark.parametrize("name", fixture_names())
def test_inferred_parts_are_marked(name):
    data = load_fixture(name)
    text_output = data["exit_code"] != 0 or not data["stdout"].strip().startswith(("{", "[")) or data["stderr"]
    if text_output and name not in {"version_2_24_0", "version_3_2_0", "version_2_23_1", "required_flag_missing",
                                    "engine_connect_failed"}:
        assert "INFERRED" in data["source"], "error text and text output are INFERRED unless documented"


# -- shapes against the specs ---------------------------------------------------------------------
def _spec_fields():
    qrs = qrs_definitions()
    cloud = cloud_types()
    return ({k: set(v.get("properties", {})) for k, v in qrs.items()}, {k: set(v) for k, v in cloud.items()})


def test_qrs_fixture_fields_are_spec_fields():
    qrs, _ = _spec_fields()
    app = fixture_json("qrs_app_get")
    assert set(app) <= qrs["App"]
    assert set(app["owner"]) <= qrs["UserCondensed"] and set(app["stream"]) <= qrs["StreamCondensed"]
    for row in fixture_json("qrs_app_full"):
        assert set(row) <= qrs["App"]
    for row in fixture_json("qrs_app_object_full"):
        assert set(row) <= qrs["AppObject"]
        assert set(row["app"]) <= qrs["AppCondensed"] and set(row["owner"]) <= qrs["UserCondensed"]
    for user in fixture_json("qrs_user_full"):
        assert set(user) <= qrs["User"]
        for attr in user["attributes"]:
            assert set(attr) <= qrs["UserAttribute"]


def test_cloud_fixture_fields_are_spec_fields():
    _, cloud = _spec_fields()
    extra_app_attrs = {"spaceId", "_resourcetype"}  # real replies carry these (reference §4.7)
    for name in ("app_import", "app_get", "app_copy", "app_publish_create_move"):
        app = fixture_json(name)
        assert set(app) <= cloud["apps.NxApp"]
        assert set(app["attributes"]) <= cloud["apps.NxAttributes"] | extra_app_attrs
    obj = fixture_json("change_owner")
    assert set(obj) <= cloud["apps.NxAppObject"] and set(obj["attributes"]) <= cloud["apps.NxObjectAttributes"]
    for name in ("user_ls_subject", "user_ls_subject_apostrophe", "user_ls_all"):
        for user in fixture_json(name):
            assert set(user) <= cloud["users.User"]
    assert set(fixture_json("user_me")) <= cloud["users.User"]
    for space in [*fixture_json("space_ls"), fixture_json("space_get")]:
        assert set(space) <= cloud["spaces.Space"]
    for item in fixture_json("app_ls"):
        assert set(item) <= cloud["items.ItemResultResponseBody"]
        assert set(item["meta"]) <= cloud["items.ItemMetaResponseBody"]


# == scrubbing =====================================================================================
SECRETS = [
    "jsmith", "John Smith", "CORP", "CORP\\jsmith", "John.Smith@Corp-Real.com", "john.smith@corp-real.com",
    "mary.major@corp-real.com", "o'neil", "Olive O'Neil", "6123456789abcdef01234567", "6123456789abcdef0123456a",
    "b7f3a2c1-1111-4222-8333-944455566677", "c8e4b3d2-2222-4333-9444-a55566677788", "AbCdEf123456-real-tenant-ID",
    "corp-real.eu.qlikcloud.com", "qlik.corp.internal", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqc21pdGgifQ.c2ln",
    "s3cr3t-api-key", "tok123456", "zzz-access", "kkk-apikey", "sess-cookie-value", "Finance Admins", "DC=corp",
    "Johns tenant", "corp-prod", "corp-qseow", "auth0|abcdef0123456789",
]


def _secret_recordings():
    owner = {"id": "b7f3a2c1-1111-4222-8333-944455566677", "userId": "jsmith", "userDirectory": "CORP",
             "userDirectoryConnectorName": "CORP", "name": "John Smith", "privileges": None}
    oneil = {"id": "c8e4b3d2-2222-4333-9444-a55566677788", "userId": "o'neil", "userDirectory": "CORP",
             "userDirectoryConnectorName": "CORP", "name": "Olive O'Neil", "privileges": None}
    objects = [{"id": "0b7e5c3a-2f1d-4e8c-9a6b-5d4c3b2a1f0e", "name": "Sheet A", "engineObjectId": "abc123",
                "owner": owner, "modifiedByUserName": "CORP\\jsmith", "objectType": "sheet"},
               {"id": "1b7e5c3a-2f1d-4e8c-9a6b-5d4c3b2a1f0e", "name": "Sheet B", "engineObjectId": "def456",
                "owner": oneil, "modifiedByUserName": "INTERNAL\\sa_repository", "objectType": "sheet"}]
    users = [dict(owner, attributes=[
        {"attributeType": "email", "attributeValue": "John.Smith@Corp-Real.com", "externalId": ""},
        {"attributeType": "group", "attributeValue": "Finance Admins",
         "externalId": "CN=Finance Admins,DC=corp,DC=real"}])]
    cloud = [{"id": "6123456789abcdef01234567", "tenantId": "AbCdEf123456-real-tenant-ID", "name": "John Smith",
              "email": "john.smith@corp-real.com", "subject": "CORP\\jsmith", "status": "active",
              "links": {"self": {"href": "https://corp-real.eu.qlikcloud.com/api/v1/users/6123456789abcdef01234567"}}}]
    app = {"attributes": {"id": "3c9f6e2a-7b1d-4e8f-a0c5-6d2b9e4f1a37", "name": "Sales",
                          "owner": "auth0|abcdef0123456789", "ownerId": "6123456789abcdef0123456a",
                          "spaceId": "65b2c3d4e5f6a7b8c9d0e1f3"}}
    pj = lambda v: json.dumps(v, indent=2)  # noqa: E731
    return [
        {"command": ["qrs", "app", "object", "full"], "exit_code": 0, "stdout": pj(objects), "stderr": "",
         "argv_example": ["qrs", "app", "object", "full", "--filter", "owner.userId eq 'o''neil'", "--json",
                          "--context", "corp-qseow"]},
        {"command": ["qrs", "user", "full"], "exit_code": 0, "stdout": pj(users), "stderr": "",
         "argv_example": ["qrs", "user", "full", "--json", "--context", "corp-qseow"]},
        {"command": ["user", "ls"], "exit_code": 0, "stdout": pj(cloud), "stderr": "",
         "argv_example": ["user", "ls", "--filter", 'subject eq "CORP\\\\jsmith"', "--headers",
                          "Authorization=Bearer tok123456", "--json", "--context", "corp-prod"]},
        {"command": ["context", "get"], "exit_code": 0, "stderr": "", "argv_example": ["context", "get", "corp-prod"],
         "stdout": "name: corp-prod\nserver: https://corp-real.eu.qlikcloud.com\nserver-type: cloud\n"
                   "comment: Johns tenant\n"},
        {"command": ["context", "get"], "exit_code": 0, "stderr": "", "argv_example": ["context", "get", "corp-qseow"],
         "stdout": "name: corp-qseow\nserver: https://qlik.corp.internal/jwt\nserver-type: windows\n"},
        {"command": ["app", "get"], "exit_code": 1, "argv_example": ["app", "get", "x", "--api-key", "s3cr3t-api-key"],
         "stdout": pj({"access_token": "zzz-access", "apiKey": "kkk-apikey", "app": app}),
         "stderr": "Error: 401 Unauthorized\n> Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqc21pdGgifQ.c2ln\n"
                   "> Cookie: X-Qlik-Session=sess-cookie-value\nuser mary.major@corp-real.com not found\n"
                   'Get "https://qlik.corp.internal/jwt/qrs/app": x509\n'},
    ]


def test_scrub_removes_every_secret_and_personal_value():
    out = recorder.scrub_recordings(_secret_recordings(), {"corp-qseow": "qseow-src", "corp-prod": "acme-cloud"})
    text = json.dumps(out)
    raw = "\n".join(r.get("stdout", "") + r.get("stderr", "") + " ".join(r["argv_example"]) for r in out)
    for secret in SECRETS:
        for form in (secret, json.dumps(secret)[1:-1], secret.replace("'", "''"), secret.replace("\\", "\\\\")):
            assert form.lower() not in text.lower(), f"{secret!r} survived as {form!r}"
            assert form.lower() not in raw.lower(), f"{secret!r} survived as {form!r}"


def test_scrub_is_consistent_across_files_and_keeps_structure():
    recs = _secret_recordings()
    out = recorder.scrub_recordings(recs, {"corp-qseow": "qseow-src", "corp-prod": "acme-cloud"})
    objects, users, cloud = (json.loads(out[i]["stdout"]) for i in range(3))
    owner = objects[0]["owner"]
    # same QRS user id in both QRS files; QRS owner key DIR\userId == the Cloud subject
    assert users[0]["id"] == owner["id"] and re.fullmatch(r"a0000000-0000-4000-8000-[0-9a-f]{12}", owner["id"])
    assert cloud[0]["subject"] == f"{owner['userDirectory']}\\{owner['userId']}" == objects[0]["modifiedByUserName"]
    # the QRS email attribute and the Cloud email (differently cased) map to one placeholder
    assert users[0]["attributes"][0]["attributeValue"] == cloud[0]["email"]
    assert re.fullmatch(r"user\d+@example\.com", cloud[0]["email"])
    # the SCIM filter in argv is escaped like the value it replaces
    assert out[2]["argv_example"][3] == 'subject eq "' + cloud[0]["subject"].replace("\\", "\\\\") + '"'
    assert out[0]["argv_example"][5] == "owner.userId eq '" + objects[1]["owner"]["userId"].replace("'", "''") + "'"
    # contexts, hosts, built-in accounts, app ids and object names
    assert out[0]["argv_example"][-1] == "qseow-src" and out[2]["argv_example"][-1] == "acme-cloud"
    assert "server: https://tenant.example.qlikcloud.com" in out[3]["stdout"]
    assert "server: https://qseow.example.local/jwt" in out[4]["stdout"]
    assert "https://qseow.example.local/jwt/qrs/app" in out[5]["stderr"]
    assert objects[1]["modifiedByUserName"] == "INTERNAL\\sa_repository"
    assert json.loads(out[5]["stdout"])["app"]["attributes"]["id"] == "3c9f6e2a-7b1d-4e8f-a0c5-6d2b9e4f1a37"
    assert [o["name"] for o in objects] == ["Sheet A", "Sheet B"]
    # same shape: every JSON document keeps its keys
    for before, after in zip(recs, out, strict=True):
        if before["stdout"].startswith(("[", "{")):
            assert _keys(json.loads(before["stdout"])) == _keys(json.loads(after["stdout"]))


def _keys(node):
    if isinstance(node, dict):
        return {k: _keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_keys(v) for v in node]
    return type(node).__name__


def test_scrub_of_already_clean_fixtures_changes_no_ids_of_apps_or_objects():
    rec = load_fixture("qrs_app_object_full")
    out = recorder.scrub_recordings([dict(rec)])[0]
    before, after = json.loads(rec["stdout"]), json.loads(out["stdout"])
    assert [r["engineObjectId"] for r in after] == [r["engineObjectId"] for r in before]
    assert "acme.example" not in out["stdout"] and "Jane Doe" not in out["stdout"]


# == the script ====================================================================================
BASE_ARGS = ["--source-context", "corp-qseow", "--target-context", "corp-prod",
             "--app-id", "5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c", "--shared-space", "65b2c3d4e5f6a7b8c9d0e1f3"]


def test_dry_run_lists_the_read_only_commands_and_runs_nothing(fake_qlik, tmp_path, capsys):
    out = tmp_path / "out"
    assert recorder.main([*BASE_ARGS, "--out", str(out), "--qlik-bin", str(fake_qlik.binary), "--dry-run"]) == 0
    listed = capsys.readouterr().out
    assert ("qlik qrs app object full --filter 'app.id eq 5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c' "
            "--json --context corp-qseow") in listed
    assert "qlik user me --json --context corp-prod" in listed
    for write in ("app import", "app copy", "publish create", " unpublish ", " rm ", "app build", "export create"):
        assert write not in listed
    assert fake_qlik.calls() == [] and not out.exists()


def test_dry_run_with_writes_names_the_throwaway_import(capsys):
    assert recorder.main([*BASE_ARGS, "--managed-space", "m1", "--include-writes", "--dry-run"]) == 0
    listed = capsys.readouterr().out
    assert "qlikcli-py fixture recording" in listed and "(safe to delete)" in listed
    assert "qlik app publish create '<id of the throwaway import>' --spaceId m1 --moveApp" in listed


def _recorder_scenario():
    dummy, no_app = recorder.DUMMY, recorder.NO_APP
    return [
        step("version_2_24_0"),
        step("context_get_source", args=["corp-qseow"]),
        step("context_get_target", args=["corp-prod"]),
        step("context_missing", args=[recorder.MISSING_CONTEXT]),
        step("user_me"),
        step("qrs_app_get_404", args=[no_app]), step("qrs_app_get"),
        step("qrs_app_count"), step("qrs_app_full"), step("qrs_app_object_full"), step("qrs_user_full"),
        step("user_count"),
        step("user_ls_bad_filter_400", args=["subject eq QLIKCLIPY\\no-such-user"]),
        step("user_ls_empty", args=['subject eq "QLIKCLIPY\\\\no-such-user"']),
        step("user_ls_subject"),
        step("space_ls"), step("space_get"), step("app_ls"),
        step("app_get_404", args=[no_app]), step("app_get"),
        step("engine_persistence_not_found", args=[dummy]), step("app_object_ls"), step("app_bookmark_ls"),
        step("app_dimension_ls"), step("app_measure_ls"), step("app_object_layout"), step("app_bookmark_layout"),
        step("unknown_flag", args=["--app"]), step("required_flag_missing"),
    ]


def test_recording_against_the_fake_writes_scrubbed_fixtures(fake_qlik, tmp_path):
    fake_qlik.scenario(_recorder_scenario())
    out = tmp_path / "out"
    assert recorder.main([*BASE_ARGS, "--out", str(out), "--qlik-bin", str(fake_qlik.binary)]) == 0
    names = sorted(p.stem for p in out.glob("*.json"))
    assert names == sorted([
        "version_2_24_0", "context_get_source", "context_get_target", "context_missing", "qrs_app_count",
        "qrs_app_get", "qrs_app_full", "qrs_app_get_404", "qrs_app_object_full", "qrs_user_full", "user_me",
        "user_count", "user_ls_subject", "user_ls_empty", "user_ls_bad_filter_400", "space_ls", "space_get", "app_ls",
        "app_get", "app_get_404", "app_object_ls", "app_bookmark_ls", "app_dimension_ls", "app_measure_ls",
        "app_object_layout", "app_bookmark_layout", "engine_persistence_not_found", "unknown_flag",
        "required_flag_missing"])
    # only reads (and client-side-rejected change-owner calls with dummy ids) were run
    for argv in fake_qlik.calls():
        assert command_words(argv)[:2] not in (["app", "import"], ["app", "copy"], ["app", "publish"], ["app", "build"])
        assert "rm" not in command_words(argv) and "unpublish" not in command_words(argv)
        if command_words(argv)[:3] == ["app", "object", "change-owner"]:
            assert "--appId" not in argv and recorder.DUMMY in argv
    personal = ["acme.example", "Jane Doe", "Alex Smith", "O'Brien", "ACME\\\\", "jdoe", "asmith", "corp-prod",
                "corp-qseow", "Xk3pQ9vLm2RtY7wZ-aB4cD8eF1gH5jK0", "64a1f0c2e3b4d5f6a7b8c9d", "d9e8f7a6-1234-4bcd"]
    for path in out.glob("*.json"):
        data = json.loads(path.read_text())
        assert validate_fixture(data) == [], path.name
        assert data["source"].startswith("RECORDED ") and "qlik-cli 2.24.0 by" in data["source"]
        text = path.read_text()
        for value in personal:
            assert value not in text, (path.name, value)
    # the recorded file keeps the fixture's shape and ids that are not personal
    app = json.loads(json.loads((out / "qrs_app_get.json").read_text())["stdout"])
    assert app["id"] == fixture_json("qrs_app_get")["id"] and app["owner"]["userId"].startswith("user")
    objects = json.loads(json.loads((out / "qrs_app_object_full.json").read_text())["stdout"])
    users = json.loads(json.loads((out / "qrs_user_full.json").read_text())["stdout"])
    assert {o["owner"]["id"] for o in objects} == {u["id"] for u in users}

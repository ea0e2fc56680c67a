"""Issue 2: a whole `run` against recorded qlik-cli replies, asserting every call and its arguments.

The fake `qlik` replays fixtures/qlik/*.json; steps override only what must agree across calls
(the cloud user each owner resolves to, and the owner change-owner answers with).
"""
from __future__ import annotations

import json

import pytest
from fakeqlik import fixture_json
from fakeqlik import help_calls
from fakeqlik import help_steps
from fakeqlik import step

from qlikcli_py.cli.main import main

APP = "5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c"
IMPORTED = "3c9f6e2a-7b1d-4e8f-a0c5-6d2b9e4f1a37"
COPY = "8e1d4c7b-2a6f-4b3e-9d0c-1f2e3a4b5c6d"
SHARED, MANAGED = "65b2c3d4e5f6a7b8c9d0e1f3", "65b2c3d4e5f6a7b8c9d0e1f2"
ASMITH, OBRIEN = "64a1f0c2e3b4d5f6a7b8c9d2", "64a1f0c2e3b4d5f6a7b8c9d3"
SRC, TGT = ["--json", "--context", "qseow-src"], ["--json", "--context", "acme-cloud"]


def _user(uid, name, subject, email):
    return json.dumps([{"id": uid, "name": name, "subject": subject, "email": email, "status": "active"}])


def _owned(object_id, owner):
    return json.dumps({"attributes": {"id": object_id, "ownerId": owner, "approved": False}, "privileges": []})


def _listing(*ids):
    return json.dumps([{"qId": i, "qType": "sheet", "title": i} for i in ids])


def _scenario():
    return [
        step("version_2_24_0"), *help_steps(), step("context_get_source", args=["qseow-src"]),
        step("context_get_target", args=["acme-cloud"]), step("qrs_app_count"), step("user_me"), step("space_ls"),
        step("qrs_app_get"), step("qrs_app_object_full"), step("qrs_user_full"),
        step(match=["user", "ls"], args=['subject eq "ACME\\\\asmith"'],
             stdout=_user(ASMITH, "Alex Smith", "ACME\\asmith", "alex.smith@acme.example")),
        step("user_ls_subject_apostrophe"),
        step("quota_ls"), step("app_ls"),  # the traps: app size vs quotas, a namesake in the managed space
        step("qrs_app_export_create"), step("app_import"),
        step("app_script_get"), step("app_connection_ls"),  # the imported app's script and its connections
        step("app_copy"),
        *[step(match=["app", "object", "change-owner"], args=["--objectId", oid], stdout=_owned(oid, owner))
          for oid, owner in (("8f2c1e7a-3b4d-4a5e-9c6f-0d1e2f3a4b5c", ASMITH),
                             ("0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", ASMITH),
                             ("b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e", OBRIEN),
                             ("c4d5e6f7-a8b9-4c0d-8e1f-2a3b4c5d6e7f", OBRIEN))],
        step("app_get"), step("app_publish_create_move"),
        # the copy, listed before the clean-up (what is left in it) and after the save (what is still there)
        step(match=["app", "object", "ls"], times=1, stdout=_listing("0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
                                                                     "8f2c1e7a-3b4d-4a5e-9c6f-0d1e2f3a4b5c")),
        step(match=["app", "bookmark", "ls"], times=1, stdout=_listing("b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e",
                                                                       "c4d5e6f7-a8b9-4c0d-8e1f-2a3b4c5d6e7f")),
        step(match=["app", "object", "ls"], stdout="[]"), step(match=["app", "bookmark", "ls"], stdout="[]"),
        step("app_object_unpublish"), step("app_object_rm"),
        step(match=["app", "bookmark", "rm"], stdout="Removed\n"), step("app_build"),
    ]


def test_run_makes_exactly_these_calls(fake_qlik, tmp_path, capsys):
    fake_qlik.scenario(_scenario())
    code = main(["--log-format", "json", "--log-level", "error", "run", APP, "--source-context", "qseow-src",
                 "--target-context", "acme-cloud", "--shared-space", "Finance dev", "--managed-space", "Finance",
                 "--state-dir", str(tmp_path / "state"), "--workers", "1", "--write-rate", "0", "--read-rate", "0",
                 "--report", str(tmp_path / "r.json")])
    out = capsys.readouterr()
    assert code == 0, out.err + out.out
    qvf = str(tmp_path / "state" / "exports" / f"Sales Overview-{APP}.qvf.part")
    calls = fake_qlik.calls()
    # the preflight's flag check reads each command's --help once (then it is cached in the state dir),
    # alongside the other preflight reads
    assert calls[0] == ["version"]
    assert sorted(c for c in calls if "--help" in c) == sorted(help_calls())
    calls = [c for c in calls[1:] if "--help" not in c]
    expected = [
        ["context", "get", "qseow-src", "--context", "qseow-src"],
        ["context", "get", "acme-cloud", "--context", "acme-cloud"],
        ["qrs", "app", "count", *SRC],  # doctor's checks run before the first export
        ["user", "me", *TGT],
        ["space", "ls", "--limit", "10000", *TGT],
        ["qrs", "app", "get", APP, *SRC],
        ["qrs", "app", "object", "full", "--filter", f"app.id eq {APP}", *SRC],
        ["qrs", "user", "full", "--filter",
         "id eq 3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b or id eq 7c6b5a49-3827-4615-a4b3-c2d1e0f9a8b7", *SRC],
    ]
    assert calls[:len(expected)] == expected
    lookups = sorted(c[c.index("--filter") + 1] for c in calls if c[:2] == ["user", "ls"])
    # one lookup per distinct owner and attribute, never per object; SCIM escaping doubles the backslash
    # (both owners are found by subject, which decides: no e-mail lookup follows)
    assert lookups == ['subject eq "ACME\\\\asmith"', 'subject eq "ACME\\\\o\'brien"']
    traps = [c for c in calls[len(expected):] if c[:2] in (["quota", "ls"], ["app", "ls"])]
    assert sorted(traps) == sorted([["app", "ls", "--spaceId", MANAGED, "--limit", "100000", *TGT],
                                    ["quota", "ls", "--reportUsage=true", *TGT]])
    writes = [c for c in calls[len(expected):] if c[:2] != ["user", "ls"] and c not in traps]
    assert writes[:5] == [
        ["qrs", "app", "export", "create", APP, "--exportScope", "all", "--output-file", qvf, *SRC],
        ["app", "import", "--file", qvf.removesuffix(".part"), "--spaceId", SHARED, "--name", "Sales Overview",
         "--resumable", *TGT],
        # a qlik-cli before 2.25.0 cannot read the site's script: it is read and checked after the import,
        # before the copy (no --connection-map: nothing is rewritten)
        ["app", "script", "get", "--app", IMPORTED, *TGT],
        ["app", "connection", "ls", "--app", IMPORTED, *TGT],
        ["app", "copy", IMPORTED, "--attributes-name", "Sales Overview", "--attributes-spaceId", SHARED, *TGT],
    ]
    # then the hand-over of the imported app and the clean-up of the copy, side by side: each in order
    handover = [c for c in writes[5:] if IMPORTED in c]
    cleanup = [c for c in writes[5:] if "--app" in c and c[c.index("--app") + 1] == COPY]
    assert sorted(handover + cleanup) == sorted(writes[5:])
    assert handover == [
        *[["app", "object", "change-owner", "--appId", IMPORTED, "--objectId", oid, "--ownerId", owner, *TGT]
          for oid, owner in (("0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", ASMITH),
                             ("8f2c1e7a-3b4d-4a5e-9c6f-0d1e2f3a4b5c", ASMITH),
                             ("b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e", OBRIEN),
                             ("c4d5e6f7-a8b9-4c0d-8e1f-2a3b4c5d6e7f", OBRIEN))],
        ["app", "get", IMPORTED, *TGT],
        ["app", "publish", "create", IMPORTED, "--spaceId", MANAGED, "--moveApp", "--originAppId", COPY, *TGT],
    ]
    listings = sorted([["app", "object", "ls", "--app", COPY, "--no-data", *TGT],
                       ["app", "bookmark", "ls", "--app", COPY, "--no-data", *TGT]])
    assert sorted(cleanup[:2]) == listings and sorted(cleanup[-2:]) == listings  # before, and after the save
    assert cleanup[2:-2] == [
        ["app", "object", "unpublish", "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "--app", COPY, "--no-data", *TGT],
        ["app", "object", "rm", "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "8f2c1e7a-3b4d-4a5e-9c6f-0d1e2f3a4b5c",
         "--app", COPY, "--no-save", "--no-data", *TGT],
        ["app", "bookmark", "rm", "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e", "c4d5e6f7-a8b9-4c0d-8e1f-2a3b4c5d6e7f",
         "--app", COPY, "--no-save", "--no-data", *TGT],
        ["app", "build", "--app", COPY, "--no-reload", "--no-data", *TGT],
    ]
    _every_flag_is_one_the_flag_check_asks_about(fake_qlik.calls())
    report = json.loads((tmp_path / "r.json").read_text())
    assert [(r["source_owner"], r["cloud_user_id"], r["objects"]) for r in report["apps"][0]["reassigned"]] == [
        ("ACME\\asmith", ASMITH, 2), ("ACME\\o'brien", OBRIEN, 2)]
    assert report["apps"][0]["imported_app_id"] == IMPORTED and report["apps"][0]["copy_app_id"] == COPY


def _every_flag_is_one_the_flag_check_asks_about(calls):
    """flagcheck.USED is what doctor verifies against the user's qlik-cli: a flag the run passes that
    is not listed there would go unchecked."""
    from qlikcli_py.flagcheck import GLOBAL
    from qlikcli_py.flagcheck import USED

    for argv in calls:
        if "--help" in argv or argv[:1] == ["version"] or argv[:2] == ["context", "get"]:
            continue
        command = max((c for c in USED if argv[:len(c.split())] == c.split()), key=len, default=None)
        assert command is not None, f"the flag check does not know `{' '.join(argv)}`"
        flags = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
        assert flags <= set(USED[command]) | set(GLOBAL), (command, flags - set(USED[command]) - set(GLOBAL))


def test_fixture_ids_agree_with_each_other():
    """The scenario relies on the recorded replies naming the same app and spaces."""
    assert fixture_json("app_import")["attributes"]["id"] == IMPORTED
    assert fixture_json("app_copy")["attributes"]["id"] == COPY
    assert {s["name"]: s["id"] for s in fixture_json("space_ls")}["Finance"] == MANAGED


@pytest.mark.parametrize(("fixture", "message"), [
    ("version_2_23_1", "qlik-cli 2.23.1 is too old"),
    ("context_missing", "does not exist"),
])
def test_preflight_failures_are_one_line_and_change_nothing(fake_qlik, tmp_path, capsys, fixture, message):
    steps = _scenario()
    if fixture.startswith("version"):
        steps[0] = step(fixture)
    else:
        steps[1 + len(help_steps())] = step(fixture, match=["context", "get"])
    fake_qlik.scenario(steps)
    code = main(["--log-level", "error", "run", APP, "--source-context", "qseow-src", "--target-context", "acme-cloud",
                 "--shared-space", "Finance dev", "--managed-space", "Finance", "--state-dir", str(tmp_path / "s")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not [c for c in fake_qlik.calls() if c[:2] in (["app", "import"], ["qrs", "app"]) and "--help" not in c]

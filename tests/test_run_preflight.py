"""Issue 14 point 2: before its first export, `run` checks what `doctor` checks (version, contexts,
spaces and rights, export dir with room for the app), and a refusal is one line, exit 2, no file."""
from __future__ import annotations

import json

from fakeqlik import fixture_json
from fakeqlik import step
from test_run_sequence import APP
from test_run_sequence import _scenario

from qlikcli_py.cli.main import main


def _run(tmp_path, capsys, *extra):
    exports = tmp_path / "exports"
    code = main(["--log-level", "error", "run", APP, "--source-context", "qseow-src", "--target-context",
                 "acme-cloud", "--shared-space", "Finance dev", "--managed-space", "Finance", "--state-dir",
                 str(tmp_path / "state"), "--export-dir", str(exports), "--write-rate", "0", "--read-rate", "0",
                 *extra])
    return code, capsys.readouterr().err.strip(), exports


def _replace(steps, name, new):
    return [new if s.get("fixture") == name else s for s in steps]


def _no_export(fake_qlik, exports):
    assert not [c for c in fake_qlik.calls()
                if c[:3] in (["qrs", "app", "export"], ["app", "import", "--file"]) and "--help" not in c]
    assert not exports.exists()


def test_a_shared_space_the_identity_cannot_create_in_is_refused_before_the_export(fake_qlik, tmp_path, capsys):
    spaces = fixture_json("space_ls")
    for space in spaces:
        if space["name"] == "Finance dev":
            space["meta"]["actions"] = ["read"]  # a consumer role: can read, cannot create
    fake_qlik.scenario(_replace(_scenario(), "space_ls", step(match=["space", "ls"], stdout=json.dumps(spaces))))
    code, err, exports = _run(tmp_path, capsys)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "'Finance dev'" in err and "does not let this identity create" in err and "give the identity a role" in err
    _no_export(fake_qlik, exports)


def test_an_app_larger_than_the_free_space_is_refused_before_the_export(fake_qlik, tmp_path, capsys):
    app = dict(fixture_json("qrs_app_get"), fileSize=1 << 60)  # an exabyte: no test disk has it
    fake_qlik.scenario(_replace(_scenario(), "qrs_app_get", step(match=["qrs", "app", "get"], stdout=json.dumps(app))))
    code, err, exports = _run(tmp_path, capsys)
    assert code == 2, err
    assert len(err.splitlines()) == 1
    assert f"--export-dir {exports}" in err and "MiB free" in err and "the app need 1099511627776 MiB" in err
    _no_export(fake_qlik, exports)


def test_a_context_of_the_wrong_type_is_refused_with_doctors_line(fake_qlik, tmp_path, capsys):
    steps = _replace(_scenario(), "context_get_target", step("context_get_source", args=["acme-cloud"]))
    fake_qlik.scenario(steps)
    code, err, exports = _run(tmp_path, capsys)
    assert code == 2 and "is a client-managed context" in err and "--target-context" in err
    _no_export(fake_qlik, exports)

"""The cobra-like parser: flag forms, error texts, required flags, argument counts."""

from __future__ import annotations

from typing import Any

import pytest

from qliksim.argv import Help
from qliksim.argv import parse
from qliksim.errors import UsageError


def test_flag_forms_are_equivalent() -> None:
    a = parse(["qrs", "app", "export", "create", "X", "--exportScope", "all", "--skipdata=true",
               "--output-file", "f.qvf", "--json", "--context", "s"])
    b = parse(["qrs", "app", "export", "create", "--exportscope=all", "--skipdata", "--output-file=f.qvf", "X",
               "--json=true", "--context=s"])
    assert a.cmd.path == b.cmd.path == "qrs app export create"
    assert a.flags == b.flags == {"exportScope": "all", "skipdata": True, "output-file": "f.qvf", "json": True,
                                  "context": "s"}
    assert a.args == b.args == ["X"]


def test_root_flags_before_the_command_and_shorthands() -> None:
    inv = parse(["--context", "cloud", "app", "object", "ls", "-a", "APP", "-q",
                 "--headers", "X-Qlik-Session=s1,Authorization=Bearer x"])
    assert inv.cmd.path == "app object ls"
    assert inv.flags["app"] == "APP" and inv.flags["quiet"] is True and inv.flags["context"] == "cloud"
    assert inv.flags["headers"] == {"X-Qlik-Session": "s1", "Authorization": "Bearer x"}
    assert parse(["app", "object", "ls", "-a=APP"]).flags["app"] == "APP"
    assert parse(["app", "object", "ls", "-aAPP"]).flags["app"] == "APP"


def test_bool_false_and_int_flags() -> None:
    inv = parse(["user", "ls", "--json=false", "--limit", "25"])
    assert inv.flags == {"json": False, "limit": 25}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope"], 'unknown command "nope" for "qlik"'),
        (["app", "ls", "--x"], "unknown flag: --x"),
        (["app", "ls", "-z"], "unknown shorthand flag: 'z' in -z"),
        (["app", "object", "change-owner", "--ownerId", "u"], 'required flag(s) "appId", "objectId" not set'),
        (["app", "object", "change-owner", "--objectId", "o"], 'required flag(s) "appId" not set'),
        (["app", "object", "ls"], 'required flag(s) "app" not set'),
        (["app", "get"], "accepts 1 arg(s), received 0"),
        (["app", "ls", "extra"], 'unknown command "extra" for "qlik app ls"'),
        (["app", "object", "rm", "--app", "A"], "requires at least 1 arg(s), only received 0"),
        (["app", "ls", "--limit", "ten"],
         'invalid argument "ten" for "--limit" flag: strconv.ParseInt: parsing "ten": invalid syntax'),
        (["app", "ls", "--json=yes"],
         'invalid argument "yes" for "--json" flag: strconv.ParseBool: parsing "yes": invalid syntax'),
        (["app", "ls", "--spaceId"], "flag needs an argument: --spaceId"),
        (["context", "get", "a", "b"], "accepts at most 1 arg(s), received 2"),
    ],
)
def test_usage_errors(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse(argv)
    assert info.value.message == message


def test_a_cobra_bool_does_not_take_a_separate_value() -> None:
    # `--skipdata true` leaves "true" as a second positional: the trap the contract warns about.
    with pytest.raises(UsageError, match=r"accepts 1 arg\(s\), received 2"):
        parse(["qrs", "app", "export", "create", "X", "--skipdata", "true"])


def test_help_and_bare_groups() -> None:
    with pytest.raises(Help) as info:
        parse(["app"])
    assert "object" in info.value.text()
    with pytest.raises(Help):
        parse(["app", "ls", "--help"])


def test_cli_errors_print_like_the_real_binary(demo: dict[str, Any], run: Any) -> None:
    # fixtures/qlik/real-1.4.0/: unknown_subcommand, help_qrs, rest_missing_context, unknown_flag
    r = run("app", "frob")
    assert (r.code, r.err) == (0, "") and r.out.startswith("Usage:\n  qlik app [flags]\n  qlik app [command]\n")
    r = run("frob")
    assert (r.code, r.out) == (1, "")
    assert r.err == ('Error: unknown command "frob" for "qlik"\n'
                     "Run 'qlik --help' for usage.\n"
                     'unknown command "frob" for "qlik"\n')
    r = run("app", "get", "x", context="nope")
    assert (r.code, r.out, r.err) == (1, "", '{\n  "error": "server URL not specified\\n"\n}\n\n')
    r = run("app", "get", "x", "--bogus", context="cloud")
    assert r.code == 1 and r.err.startswith("Error: unknown flag: --bogus\nUsage:\n  qlik app get [flags]\n")
    assert r.err.endswith("\nunknown flag: --bogus\n") and "      --bogus" not in r.err
    assert run("app").code == 0  # usage, like cobra


def test_missing_state_env(run: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.delenv("QLIK_SIM_STATE", raising=False)
    r = run("version")
    assert r.code == 1 and r.err.startswith("Error: QLIK_SIM_STATE is not set")
    monkeypatch.setenv("QLIK_SIM_STATE", str(tmp_path / "missing.db"))
    r = run("version")
    assert r.code == 1 and r.err.startswith("Error: QLIK_SIM_STATE ") and not (tmp_path / "missing.db").exists()


def test_missing_context_uses_the_current_one(demo: dict[str, Any], run: Any) -> None:
    assert run("user", "me", "--json").err == "Error: no current context: pass --context NAME\n"
    assert run("context", "use", "cloud").out == "Context: cloud\n"
    assert run("user", "me", "--json").json()["id"] == demo["cloud_identity"]

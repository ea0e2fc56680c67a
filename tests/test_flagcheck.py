"""The flag check (qlikcli_py/flagcheck.py) on the real qlik-cli 1.4.0's help texts, and doctor run
with the vendored 1.4.0 binary itself."""
from __future__ import annotations

import asyncio
import json

from fakeqlik import ROOT

from qlikcli_py.cli.main import main
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.errors import QlikTimeout
from qlikcli_py.flagcheck import FlagReport
from qlikcli_py.flagcheck import check_flags
from qlikcli_py.flagcheck import help_path
from qlikcli_py.flagcheck import judge
from qlikcli_py.flagcheck import listed_flags
from qlikcli_py.qlik import Qlik
from qlikcli_py.qlik import QlikResult
from qlikcli_py.vocabulary import FailureKind

REAL = ROOT / "fixtures" / "qlik" / "real-1.4.0"


def help_text(name: str) -> str:
    return json.loads((REAL / f"{name}.json").read_text(encoding="utf-8"))["stdout"]


def test_flags_listed_by_the_real_help():
    text = help_text("help_app_publish_create")
    assert help_path(text) == "app publish create"
    flags = listed_flags(text)
    assert {"--spaceId", "--json", "--context", "--insecure", "--quiet", "--help"} <= flags
    assert "--moveApp" not in flags and "--originAppId" not in flags


def test_judge_the_real_1_4_0():
    report = FlagReport("1.4.0")
    judge("app publish create", help_text("help_app_publish_create"), ("--spaceId", "--moveApp", "--originAppId"),
          report)
    judge("app import", help_text("help_app_import"), ("--file", "--spaceId", "--resumable"), report)
    judge("context create", help_text("help_context_create"), ("--server-type",), report)
    judge("user ls", help_text("help_user_ls"), ("--filter",), report)
    # a command 1.4.0 lacks: its group's help (exit 0), or an error (no help text at all)
    judge("app object change-owner", help_text("help_app_object"), ("--appId",), report)
    judge("qrs app get", None, (), report)
    assert report.missing_commands == {"app object change-owner": "2.20.0", "qrs app get": "1.5.0"}
    assert report.missing_flags == {
        "app publish create --moveApp": "2.24.0", "app publish create --originAppId": "2.24.0",
        "app import --resumable": "2.2.0", "context create --server-type": "1.5.0", "user ls --filter": "2.24.0",
    }
    assert not report.ok and report.spellings == {}
    assert "no `app object change-owner` (needs qlik-cli 2.20.0 or later)" in report.lines()


def test_another_spelling_of_a_flag_is_used_as_the_binary_lists_it():
    text = "Usage:\n  qlik qrs app export create <id> [flags]\n\nFlags:\n      --exportscope string\n      --skipdata\n"
    report = FlagReport("2.24.0")
    judge("qrs app export create", text + "      --json\n      --context string\n", ("--exportScope", "--skipdata"),
          report)
    assert report.ok and report.spellings == {"--exportScope": "--exportscope"}


HELP_2X = ROOT / "fixtures" / "qlik" / "help-2.x" / "help_texts.json"


def help_2x() -> dict[str, str]:
    """Hand-written 2.x-style help texts (fixtures/qlik/help-2.x/): not built from flagcheck.USED,
    so a flag the tool starts passing that no help lists is caught here, not agreed with."""
    return json.loads(HELP_2X.read_text(encoding="utf-8"))["texts"]


class HelpStub(Qlik):
    """Answers `X --help` with the written 2.x help text of X (None where there is none)."""

    def __init__(self, tmp, texts=None):
        super().__init__(str(tmp / "qlik"))
        if not (tmp / "qlik").exists():  # rewriting it would change its mtime: another binary
            (tmp / "qlik").write_text("#!/bin/sh\n")
            (tmp / "qlik").chmod(0o755)
        self.version = "2.24.0"
        self.texts = help_2x() if texts is None else texts
        self.helps: list[tuple[str, ...]] = []
        self.spawned: list[list[str]] = []

    async def help(self, *command: str) -> str:
        self.helps.append(command)
        return self.texts.get(" ".join(command), "")

    async def _spawn(self, argv, shown, tier, timeout, stdout_path):  # type: ignore[override]
        self.spawned.append(list(argv))
        return QlikResult(tuple(shown), b"", b"", 0.0)


def _lower_export_scope() -> dict[str, str]:
    texts = help_2x()
    texts["qrs app export create"] = texts["qrs app export create"].replace("--exportScope", "--exportscope")
    return texts


def test_check_flags_is_cached_and_respells_later_calls(tmp_path):
    qlik = HelpStub(tmp_path, _lower_export_scope())
    report = asyncio.run(check_flags(qlik, tmp_path / "state"))
    assert report.ok and report.spellings == {"--exportScope": "--exportscope"}
    first = len(qlik.helps)
    assert first >= 20
    again = HelpStub(tmp_path, _lower_export_scope())
    assert asyncio.run(check_flags(again, tmp_path / "state")).doc() == report.doc()
    assert again.helps == []  # cached per binary and version
    asyncio.run(again.run("qrs", "app", "export", "create", "A", "--exportScope", "all", context="src", tier="qrs"))
    assert again.spawned == [["qrs", "app", "export", "create", "A", "--exportscope", "all",
                              "--json", "--context", "src"]]
    other = HelpStub(tmp_path, _lower_export_scope())
    other.version = "3.0.0"
    asyncio.run(check_flags(other, tmp_path / "state"))
    assert len(other.helps) == first  # another version: asked again


def test_every_command_the_tool_runs_is_accepted_by_the_written_2x_help(tmp_path):
    from qlikcli_py.flagcheck import USED

    report = asyncio.run(check_flags(HelpStub(tmp_path), None))
    assert report.ok, report.lines()
    assert set(USED) <= set(help_2x())


def test_a_flag_the_written_help_does_not_list_is_reported(tmp_path):
    texts = help_2x()
    texts["app import"] = texts["app import"].replace("--resumable", "--resumeable")
    del texts["app build"]
    report = asyncio.run(check_flags(HelpStub(tmp_path, texts), None))
    assert report.missing_flags == {"app import --resumable": "2.2.0"}
    assert list(report.missing_commands) == ["app build"]


def test_doctor_with_the_vendored_1_4_0(real_qlik_bin, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("QLIK_CLI_USER_HOME_DIR", str(tmp_path))
    code = main(["--log-level", "warning", "doctor", "--source-context", "src", "--target-context", "tgt",
                 "--qlik-bin", str(real_qlik_bin), "--state-dir", str(tmp_path / "state")])
    out = capsys.readouterr().out
    assert code == 2
    assert "no version line" not in out
    first, flags = out.splitlines()[:2]
    assert first.startswith("FAIL  qlik-cli ") and "qlik-cli 1.4.0 is too old" in first and "2.24.0" in first
    assert flags.startswith("FAIL  qlik-cli flags ")
    for lacking in ("no `qrs app export create` (needs qlik-cli 1.5.0 or later)",
                    "no `app object change-owner` (needs qlik-cli 2.20.0 or later)",
                    "`app publish create --moveApp` not accepted", "`app import --resumable` not accepted"):
        assert lacking in flags
    assert len(out.splitlines()) == 2  # nothing is asked of contexts a too-old binary cannot use


def test_a_verdict_cached_for_other_commands_is_not_trusted(tmp_path, monkeypatch):
    """A cache written when the tool ran fewer commands (before `sync`) does not vouch for the new ones."""
    from qlikcli_py import flagcheck

    older = {k: v for k, v in flagcheck.USED.items() if k != "app object set"}
    monkeypatch.setattr(flagcheck, "USED", older)
    texts = help_2x()
    del texts["app object set"]  # a binary without the command sync needs
    assert asyncio.run(check_flags(HelpStub(tmp_path, texts), tmp_path / "state")).ok
    monkeypatch.undo()
    again = HelpStub(tmp_path, texts)
    report = asyncio.run(check_flags(again, tmp_path / "state"))
    assert again.helps and not report.ok and "app object set" in report.missing_commands


class FailingHelp(HelpStub):
    """Like HelpStub, but `X --help` of the commands in `fail` raises the error given."""

    def __init__(self, tmp, fail):
        super().__init__(tmp)
        self.fail = fail

    async def help(self, *command: str) -> str:
        error = self.fail.get(" ".join(command))
        if error is not None:
            self.helps.append(command)
            raise error
        return await super().help(*command)


def test_a_help_call_that_fails_is_no_verdict_and_is_not_cached(tmp_path):
    """A timed-out or crashed `--help` says nothing about the command: judged missing and cached, it
    refused every later run (seen under load with --call-timeout 1.5). Only an unknown-command usage
    error means the binary lacks it."""
    argv = ("app", "object", "change-owner", "--help")
    refused = QlikCommandFailed(("app", "build", "--help"), 1, b"", b'Error: unknown command "build"',
                                kind=FailureKind.USAGE, status=None, detail='unknown command "build" for "qlik app"')
    qlik = FailingHelp(tmp_path, {"app object change-owner": QlikTimeout(argv, 1.5), "app build": refused})
    report = asyncio.run(check_flags(qlik, tmp_path / "state"))
    assert not report.ok
    assert list(report.unread) == ["app object change-owner"] and "1.5" in report.unread["app object change-owner"]
    assert list(report.missing_commands) == ["app build"]
    assert "`qlik app object change-owner --help` could not be read (" in "; ".join(report.lines())
    assert not list((tmp_path / "state").glob("qlik-flags-*.json"))  # nothing kept
    again = HelpStub(tmp_path)
    assert asyncio.run(check_flags(again, tmp_path / "state")).ok  # the next run asks again
    assert again.helps

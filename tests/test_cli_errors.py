"""The entry point turns every failure into one stderr line `qlik-migrate: ...` and an exit code:
click's usage errors (no usage dump), the tool's own errors, qlik failures, interrupts, and bugs
(whose traceback goes to an owner-only file). No secret and no raw control character reaches the
line. None of these reaches `qlik` (the tripwire in conftest.py would fail the test)."""
from __future__ import annotations

import stat
import tempfile

import pytest
import structlog

from qlikcli_py.cli import plan as plan_cli
from qlikcli_py.cli.main import main
from qlikcli_py.errors import ExitCode
from qlikcli_py.errors import LockHeld
from qlikcli_py.errors import MigrationError
from qlikcli_py.errors import QlikBadOutput
from qlikcli_py.errors import UsageProblem
from qlikcli_py.redact import redact_text

APP = "5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c"
SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib3QifQ.c2VjcmV0LXNpZ25hdHVyZQ"


@pytest.fixture(autouse=True)
def _keep_structlog_config():
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def call(capsys, *argv):
    capsys.readouterr()
    code = main(["--log-format", "json", "--log-level", "warning", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def line_of(err):
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("qlik-migrate: ") and "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(("argv", "needles"), [
    (["run", "--bogus"], ["No such option '--bogus'", "(see `qlik-migrate run --help`)"]),
    (["bogus"], ["No such command 'bogus'", "(see `qlik-migrate --help`)"]),
    (["run", "--workers", "0", APP], ["'--workers'", "0 is not in the range 1<=x<=64"]),
    (["plan", "--lookup", "sometimes", APP], ["'--lookup'", "'sometimes' is not one of"]),
    (["--log-format", "xml", "run"], ["'--log-format'", "'xml' is not one of"]),
    (["run"], ["no apps given: pass APP_ID arguments or --manifest FILE"]),
    (["run", APP, "--on-unmatched", "maybe"], ["--on-unmatched must be skip, fail or assign:USER", "not maybe"]),
    (["run", APP, "--rewrite", "ACME\\{userId}"], ["rewrite rule", "PATTERN=VALUE"]),
    (["run", APP, "--match-order", "subject,guess"],
     ["unknown source guess", "choose from mapping,rules,subject,email"]),
    (["run", APP, "--mapping-file", "/nonexistent/map.csv"], ["cannot read mapping file", "No such file"]),
])
def test_usage_problems_are_one_line_exit_2(capsys, tmp_path, argv, needles):
    code, out, err = call(capsys, *argv, *(["--state-dir", str(tmp_path)] if argv[0] in ("run", "plan") else []))
    assert code == ExitCode.USAGE, err
    line = line_of(err)
    for needle in needles:
        assert needle in line, line
    assert "Usage:" not in out + err


def test_bare_command_prints_help(capsys):
    assert main([]) == ExitCode.USAGE
    assert capsys.readouterr().err.startswith("Usage: qlik-migrate")
    code, _out, err = call(capsys)  # log options but no command
    assert code == ExitCode.USAGE and "Missing command" in line_of(err)


@pytest.mark.parametrize(("exc", "code", "needles"), [
    (UsageProblem("space 'a\nb' is odd"), ExitCode.USAGE, ["space 'a\\x0ab' is odd"]),
    (MigrationError(f"refused: Authorization: Bearer {SECRET}"), ExitCode.FAILED, ["refused: Authorization=***"]),
    (LockHeld("another qlik-migrate run holds /x/lock"), ExitCode.LOCKED, ["another qlik-migrate run holds"]),
    (QlikBadOutput(("user", "me"), f'{{"token": "{SECRET}"'.encode(), "output that is not JSON"),
     ExitCode.FAILED, ["qlik printed output that is not JSON: user me", "***", "run again to resume"]),
    (KeyboardInterrupt(), ExitCode.INTERRUPTED, ["interrupted; run again to resume"]),
])
def test_each_failure_maps_to_its_exit_code_and_one_line(capsys, monkeypatch, tmp_path, exc, code, needles):
    async def failing(_settings):
        raise exc

    monkeypatch.setattr(plan_cli, "plan_job", failing)
    got, _out, err = call(capsys, "plan", APP, "--state-dir", str(tmp_path))
    assert got == code
    if isinstance(exc, KeyboardInterrupt):
        err = err.lstrip("\n")  # click ends the ^C line first
    line = line_of(err)
    for needle in needles:
        assert needle in line, line
    assert SECRET not in err and "c2VjcmV0" not in err


def test_a_bug_is_one_line_and_an_owner_only_crash_log_without_secrets(capsys, monkeypatch, tmp_path):
    async def broken(_settings):
        raise RuntimeError(f"boom with Authorization: Bearer {SECRET}\nand a second line")

    monkeypatch.setattr(plan_cli, "plan_job", broken)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    code, _out, err = call(capsys, "plan", APP, "--state-dir", str(tmp_path / "state"))
    assert code == ExitCode.BUG
    line = line_of(err)
    assert "unexpected error (RuntimeError: boom with Authorization=***\\x0aand a second line); " in line
    assert "this is a bug, the traceback is in" in line
    [crash] = list(tmp_path.glob("qlik-migrate-crash-*.log"))
    assert str(crash) in line
    assert stat.S_IMODE(crash.stat().st_mode) == 0o600
    text = crash.read_text()
    assert "Traceback" in text and "RuntimeError" in text and "broken" in text
    assert SECRET not in text and SECRET not in err


@pytest.mark.parametrize("text", [
    f"change-owner refused: Authorization: Bearer {SECRET}\nnext line, and more",
    f"api_key={SECRET}); the rest stays",
    "Cookie: _session=abc123; other=x\nsecond line",
])
def test_a_line_redacted_twice_keeps_what_follows_the_secret(capsys, monkeypatch, tmp_path, text):
    """Messages are redacted where they are made and again when printed; the second pass must not
    eat what follows a masked value."""
    async def failing(_settings):
        raise MigrationError(redact_text(text))  # as failures.classify stores qlik's stderr

    monkeypatch.setattr(plan_cli, "plan_job", failing)
    _code, _out, err = call(capsys, "plan", APP, "--state-dir", str(tmp_path))
    line = line_of(err)
    tail = text.split("\n")[-1] if "\n" in text else text.split(")")[-1]
    assert line.endswith(tail), line
    assert SECRET not in line and "abc123" not in line


@pytest.mark.parametrize("where", ["missing-dir/log.jsonl", "a-file/log.jsonl"])
def test_an_unwritable_log_file_is_a_usage_problem_not_a_bug(capsys, tmp_path, where):
    """Issue 18.12: the README's cron line logs to /var/log; a user who may not write there gets
    exit 2 and one line naming the file and the fix, not exit 3 "this is a bug"."""
    (tmp_path / "a-file").write_text("")
    path = tmp_path / where
    code, _out, err = call(capsys, "--log-file", str(path), "run", APP, "--state-dir", str(tmp_path / "state"))
    assert code == ExitCode.USAGE
    line = line_of(err)
    assert f"--log-file {path} cannot be opened for writing" in line and "leave --log-file out" in line
    assert "bug" not in line

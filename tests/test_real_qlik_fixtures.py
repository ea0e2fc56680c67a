"""The real qlik-cli 1.4.0's bytes (fixtures/qlik/real-1.4.0/) fed to the tool's parsers, and one
live run of the vendored binary against the loopback fake to prove the recordings still match."""
from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from fakeqlik import ROOT
from fakeqlik import validate_fixture

from qlikcli_py.contexts import context_info
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.failures import classify
from qlikcli_py.failures import help_command
from qlikcli_py.qlik import QlikResult
from qlikcli_py.versions import read_version

REAL = ROOT / "fixtures" / "qlik" / "real-1.4.0"
NAMES = sorted(p.stem for p in REAL.glob("*.json"))


def real(name: str) -> dict[str, Any]:
    return json.loads((REAL / f"{name}.json").read_text(encoding="utf-8"))


def failure(name: str):
    fx = real(name)
    assert fx["exit_code"] == 1
    return classify(fx["stdout"].encode(), fx["stderr"].encode())


def test_there_are_recordings_and_each_is_well_formed_and_marked_real():
    assert len(NAMES) >= 40
    for name in NAMES:
        fx = real(name)
        assert validate_fixture(fx) == [], name
        assert fx["source"].startswith("REAL qlik-cli 1.4.0"), name
        assert "SECRET-API-KEY" not in json.dumps(fx), name


# -- version ---------------------------------------------------------------------------------------
def test_version_line_of_the_real_binary():
    version = read_version(real("version")["stdout"])
    assert version is not None and version.numbers == (1, 4, 0) and version.text == "1.4.0"


@pytest.mark.parametrize(("printed", "numbers", "text"), [
    ("version: 1.4.0\tbranch: \tcommit: 660165b\n", (1, 4, 0), "1.4.0"),  # REAL 1.4.0
    ("qlik version: 2.24.0\n", (2, 24, 0), "2.24.0"),  # Homebrew formula test string
    ("version: v3.2.0\tcommit: abc\tdate: 2026-07-08\n", (3, 2, 0), "3.2.0"),  # a 3.x parser's guess
    ("qlik version: v2.15.1-dev\n", (2, 15, 1), "2.15.1-dev"),  # v prefix and a suffix
    ("version:  branch:  commit:\n", None, "unknown"),  # 2.27.0, qlik-cli issue #40
    ("version: \tbranch: \tcommit: \n", None, "unknown"),
])
def test_version_line_forms(printed, numbers, text):
    version = read_version(printed)
    assert version is not None and (version.numbers, version.text) == (numbers, text)


def test_no_version_line_at_all_is_not_a_version():
    assert read_version("Error: unknown command \"version\" for \"qlik\"\n") is None


class _Stub:
    """A Qlik whose `run` prints what a fixture printed."""

    def __init__(self, fx: dict[str, Any]) -> None:
        self.fx = fx
        self.version = "unknown"

    async def run(self, *args: str, **kw: Any) -> QlikResult:
        if self.fx["exit_code"]:
            stdout, stderr = self.fx["stdout"].encode(), self.fx["stderr"].encode()
            f = classify(stdout, stderr)
            raise QlikCommandFailed(args, 1, stdout, stderr, kind=f.kind, status=f.status, detail=f.detail)
        return QlikResult(args, self.fx["stdout"].encode(), self.fx["stderr"].encode(), 0.0)


def test_check_version_refuses_the_real_1_4_0_and_names_2_24_0():
    from qlikcli_py.errors import QlikTooOld
    from qlikcli_py.qlik import Qlik

    class Stubbed(Qlik):
        async def run(self, *args: str, **kw: Any) -> QlikResult:  # type: ignore[override]
            return QlikResult(args, real("version")["stdout"].encode(), b"", 0.0)

    with pytest.raises(QlikTooOld) as info:
        asyncio.run(Stubbed().check_version())
    assert "qlik-cli 1.4.0 is too old" in str(info.value) and "2.24.0" in str(info.value)


def test_check_version_of_a_build_without_a_number_goes_on_as_unknown():
    from qlikcli_py.qlik import Qlik

    class Stubbed(Qlik):
        async def run(self, *args: str, **kw: Any) -> QlikResult:  # type: ignore[override]
            return QlikResult(args, b"version:  branch:  commit:\n", b"", 0.0)

    qlik = Stubbed()
    assert asyncio.run(qlik.check_version()) == "unknown"
    assert qlik.version == "unknown"


# -- context get -----------------------------------------------------------------------------------
def test_context_get_of_the_real_binary():
    info = asyncio.run(context_info(_Stub(real("context_get")), "acme"))  # type: ignore[arg-type]
    assert info == {"name": "acme", "comment": "fake tenant", "server": "http://127.0.0.1:PORT"}
    assert "servertype" not in info  # 1.4.0 has no server type: check_context probes


def test_context_get_of_a_missing_context_exits_0_but_is_an_unknown_context():
    fx = real("context_get_missing")
    assert fx["exit_code"] == 0 and fx["stdout"].startswith("No context with name: 'nope'")
    with pytest.raises(QlikCommandFailed) as info:
        asyncio.run(context_info(_Stub(fx), "nope"))  # type: ignore[arg-type]
    assert info.value.kind == "context" and "No context with name: 'nope'" in info.value.detail


@pytest.mark.parametrize("line", ["Server Type: windows", "server-type: windows", "serverType: windows",
                                  "SERVER_TYPE: windows", "server type : windows"])
def test_context_get_server_type_key_spellings(line):
    fx = {"exit_code": 0, "stdout": f"Name: src\n{line}\nServer: https://q.local/jwt\n", "stderr": ""}
    info = asyncio.run(context_info(_Stub(fx), "src"))  # type: ignore[arg-type]
    assert info["servertype"] == "windows"


# -- failures --------------------------------------------------------------------------------------
HTTP = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict",
        429: "rate_limited", 500: "server", 503: "server"}
TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
          429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
DETAILS = {400: "bad", 401: "unauthorized", 403: "forbidden", 404: "missing", 409: "conflict", 429: "limited",
           500: "boom", 503: "unavailable"}


@pytest.mark.parametrize("mode", ["json", "text"])
@pytest.mark.parametrize("status", sorted(HTTP))
def test_http_errors_of_the_real_binary(status, mode):
    name = f"http_{status}_{mode}"
    assert real(name)["stdout"] == ""  # nothing on stdout: everything is on stderr
    f = failure(name)
    assert (f.kind, f.status, f.retry_after) == (HTTP[status], status, None)
    title = TITLES[status]
    assert f.detail == f"{status} {title}: {title}: detail for {DETAILS[status]} (HTTP-{status})"


def test_a_429_without_a_wait_time_has_no_retry_after_so_the_tool_backs_off_by_its_own_schedule():
    for name in ("http_429_json", "http_429_text", "http_429_retry"):
        f = failure(name)
        assert f.kind == "rate_limited" and f.retry_after is None


def test_html_error_body():
    f = failure("http_502_html")
    assert (f.kind, f.status) == ("server", 502)
    assert f.detail == "502 Bad Gateway: the server answered with an HTML page (502 Bad Gateway), not the API"


def test_connection_refused_is_a_network_failure():
    f = failure("connection_refused")
    assert (f.kind, f.status) == ("network", None)
    assert f.detail.endswith("dial tcp 127.0.0.1:1: connect: connection refused")


def test_rest_call_through_a_missing_context():
    f = failure("rest_missing_context")
    assert (f.kind, f.status, f.detail) == ("context", None, "server URL not specified")


@pytest.mark.parametrize(("name", "detail"), [
    ("unknown_flag", "unknown flag: --bogus"),
    ("wrong_arg_count", "accepts 1 arg(s), received 0"),
    ("context_create_server_type", "unknown flag: --server-type"),
])
def test_usage_errors(name, detail):
    f = failure(name)
    assert (f.kind, f.detail, f.status) == ("usage", detail, None)


def test_retry_noise_before_a_success_is_not_a_failure_line():
    fx = real("retry_5xx_then_ok")
    assert fx["exit_code"] == 0 and "Retry 1/3" in fx["stderr"]
    # were it to fail, the last status printed (200 OK is noise) is what counts
    f = classify(b"", fx["stderr"].encode())
    assert f.status is None and "Retry" not in f.detail


def test_retry_noise_then_a_final_5xx():
    noise = real("retry_5xx_then_ok")["stderr"].rsplit('{\n  "": "200 OK"', 1)[0]
    f = classify(b"", noise.encode())
    assert (f.kind, f.status) == ("server", 500)
    assert f.detail == "500 Internal Server Error: Internal Server Error (HTTP-500)"


@pytest.mark.parametrize("name", ["success_json", "success_text", "success_quiet", "success_raw", "success_limit",
                                  "app_get", "context_create", "context_ls", "context_get"])
def test_successes_are_not_read_as_help(name):
    fx = real(name)
    assert fx["exit_code"] == 0 and help_command(fx["stdout"].encode()) is None


@pytest.mark.parametrize(("name", "count"),
                         [("success_json", 3), ("success_text", 3), ("success_raw", 3), ("success_limit", 5)])
def test_list_output_is_the_data_array(name, count):
    from qlikcli_py.qlik import parse_json
    from qlikcli_py.qlik_output import array as _array

    rows = _array(parse_json(("space", "ls"), real(name)["stdout"].encode()))
    assert [r["id"] for r in rows] == [f"s{i}" for i in range(count)]


def test_engine_command_without_app():
    f = failure("engine_no_app")
    assert (f.kind, f.status, f.detail) == ("other", None, "No app specified")


# -- help text instead of an answer -----------------------------------------------------------------
@pytest.mark.parametrize(("name", "group"), [("unknown_subcommand", "app"), ("change_owner_missing", "app object")])
def test_help_text_on_exit_0_is_recognised(name, group):
    fx = real(name)
    assert fx["exit_code"] == 0 and help_command(fx["stdout"].encode()) == group


def test_a_command_this_qlik_cli_lacks_is_an_error_naming_it_and_the_version():
    from qlikcli_py.qlik import Qlik

    class Stubbed(Qlik):
        async def _spawn(self, argv, shown, tier, timeout, stdout_path):  # type: ignore[override]
            return QlikResult(tuple(shown), real("change_owner_missing")["stdout"].encode(), b"", 0.0)

    qlik = Stubbed()
    qlik.version = "1.4.0"
    with pytest.raises(QlikCommandFailed) as info:
        asyncio.run(qlik.run("app", "object", "change-owner", "--appId", "a", "--objectId", "o",
                             "--ownerId", "u", context="acme", tier="write"))
    assert info.value.kind == "unsupported"
    assert "this qlik-cli (1.4.0) has no `app object change-owner`" in info.value.detail
    assert "it needs 2.20.0 or later" in info.value.detail


# -- the recordings still match the binary ----------------------------------------------------------
@pytest.mark.slow
def test_the_vendored_binary_still_prints_what_was_recorded(real_qlik_bin, tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    from realqlik.cases import CASES
    from realqlik.cases import HELP_CASES
    from realqlik.cases import env_for
    from realqlik.cases import fixture
    from realqlik.cases import run_case
    from realqlik.tenant import FakeTenant

    home = tmp_path / "home"
    home.mkdir()
    env = env_for(home)
    with FakeTenant(lifetime=120) as tenant:
        for name, argv, shows in [*CASES, *((n, a, "") for n, a in HELP_CASES)]:
            tenant.reset()
            got = fixture(name, argv, shows, run_case(Path(real_qlik_bin), argv, tenant.url, env), tenant.url)
            want = real(name)
            assert (got["exit_code"], got["stdout"], got["stderr"]) == (
                want["exit_code"], want["stdout"], want["stderr"]), name
        assert all(path.startswith("/api/v1/") for path in tenant.seen)

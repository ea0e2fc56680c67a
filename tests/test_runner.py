"""qlikcli_py.qlik.Qlik against the fake `qlik` and against tiny real child processes."""
from __future__ import annotations

import asyncio
import json
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fakeqlik import fixture_json
from fakeqlik import load_fixture
from fakeqlik import step
from structlog.testing import capture_logs

import qlikcli_py.qlik as qlik_module
from qlikcli_py.errors import QlikBadOutput
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.errors import QlikNotFound
from qlikcli_py.errors import QlikTimeout
from qlikcli_py.errors import QlikTooOld
from qlikcli_py.qlik import INSTALL_HINT
from qlikcli_py.qlik import Qlik

APP = "5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c"
CLOUD_APP = "3c9f6e2a-7b1d-4e8f-a0c5-6d2b9e4f1a37"


def run(coro):
    return asyncio.run(coro)


def child(tmp_path: Path, body: str, name: str = "child") -> str:
    """A tiny real executable (the running interpreter) standing in for qlik."""
    path = tmp_path / name
    path.write_text(f"#!{sys.executable} -S\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return str(path)


# -- argv, tty, environment ------------------------------------------------------------------------
def test_argv_is_sent_exactly_with_json_then_context_last(fake_qlik):
    fake_qlik.scenario([step("qrs_app_get")])
    value = run(Qlik().json("qrs", "app", "get", APP, "--insecure", context="qseow-src", tier="qrs"))
    assert fake_qlik.calls() == [["qrs", "app", "get", APP, "--insecure", "--json", "--context", "qseow-src"]]
    assert value == fixture_json("qrs_app_get")


def test_argv_with_spaces_quotes_and_backslashes_is_one_token_each(fake_qlik):
    scim = 'subject eq "ACME\\\\o\'brien"'
    fake_qlik.scenario([step("user_ls_subject_apostrophe")])
    run(Qlik().json("user", "ls", "--filter", scim, context="acme-cloud", tier="read"))
    assert fake_qlik.calls() == [["user", "ls", "--filter", scim, "--json", "--context", "acme-cloud"]]


def test_local_call_without_json_or_context_flags(fake_qlik):
    fake_qlik.scenario([step("version_2_24_0")])
    result = run(Qlik().run("version", context=None, tier="local", json=False))
    assert fake_qlik.calls() == [["version"]]
    assert result.stdout.startswith(b"version: 2.24.0\t")
    assert result.argv == ("version",)


def test_child_stdout_and_stdin_are_not_a_tty(fake_qlik):
    fake_qlik.scenario([step("user_me")])
    run(Qlik().json("user", "me", context="acme-cloud", tier="read"))
    record = fake_qlik.records()[0]
    assert record["stdout_isatty"] is False
    assert record["stdin_isatty"] is False


def test_real_child_sees_pipes_not_a_pty(tmp_path):
    binary = child(tmp_path, """
        import json, os, sys
        print(json.dumps({"out": os.isatty(1), "err": os.isatty(2), "argv": sys.argv[1:]}), flush=True)
        os._exit(0)
    """)
    value = run(Qlik(binary).json("app", "get", "X", context="c", tier="read"))
    assert value == {"out": False, "err": False, "argv": ["app", "get", "X", "--json", "--context", "c"]}


def test_environment_is_passed_through_and_extended(fake_qlik, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.local:3128")
    monkeypatch.setenv("FAKEQLIK_RECORD_ENV", "HTTPS_PROXY,EXTRA_VAR")
    fake_qlik.scenario([step("user_me")])
    run(Qlik(env={"EXTRA_VAR": "from-overrides"}).json("user", "me", context="acme-cloud", tier="read"))
    env = fake_qlik.records()[0]["env"]
    assert env == {"QLIK_CLI_USER_HOME_DIR": str(fake_qlik.home), "HTTPS_PROXY": "http://proxy.example.local:3128",
                   "EXTRA_VAR": "from-overrides"}


# -- success with noise, failures ------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["app_ls_replaced_warning", "user_me_update_notice"])
def test_stderr_warnings_on_success_do_not_fail(fake_qlik, fixture):
    fake_qlik.scenario([step(fixture)])
    words = load_fixture(fixture)["command"]
    result = run(Qlik().run(*words, context="acme-cloud", tier="read"))
    assert result.stderr == load_fixture(fixture)["stderr"].encode()
    assert json.loads(result.stdout) == fixture_json(fixture)


def test_non_zero_exit_raises_command_failed_with_kind_status_and_redacted_argv(fake_qlik):
    fake_qlik.scenario([step("change_owner_403")])
    with pytest.raises(QlikCommandFailed) as info:
        run(Qlik().json("app", "object", "change-owner", "--appId", CLOUD_APP, "--objectId", "o1", "--ownerId", "u1",
                        "--headers", "Authorization=Bearer s3cr3tT0ken", context="acme-cloud", tier="write"))
    exc = info.value
    assert (exc.kind, exc.status, exc.returncode) == ("forbidden", 403, 1)
    assert exc.detail == "403 Forbidden"
    assert exc.argv[-5:] == ("--headers", "Authorization=***", "--json", "--context", "acme-cloud")
    assert "s3cr3tT0ken" not in str(exc)
    assert str(exc) == f"403 Forbidden (HTTP 403) [qlik {' '.join(exc.argv)}]"
    assert not exc.transient


def test_failure_keeps_raw_streams_for_diagnosis(fake_qlik):
    fake_qlik.scenario([step("app_get_404")])
    with pytest.raises(QlikCommandFailed) as info:
        run(Qlik().json("app", "get", "nope", context="acme-cloud", tier="read"))
    fixture = load_fixture("app_get_404")
    assert info.value.stdout == fixture["stdout"].encode()
    assert info.value.stderr == fixture["stderr"].encode()
    assert info.value.kind == "not_found"


# -- timeouts ---------------------------------------------------------------------------------------
def test_timeout_kills_a_hanging_fake_instead_of_waiting_it_out(fake_qlik, tmp_path):
    slept = tmp_path / "slept"  # the fake creates it once its 30 s are over
    fake_qlik.scenario([step("user_me", delay=30, slept_file=str(slept))])
    with pytest.raises(QlikTimeout) as info:
        run(Qlik().json("user", "me", context="acme-cloud", tier="read", timeout=0.3))
    assert not slept.exists(), "the call waited for the hanging child to end on its own"
    # (killed before it could log its start, it leaves no record: also ended)
    assert not [r["pid"] for r in fake_qlik.records() if _alive(r["pid"])], "the hanging child was left running"
    assert info.value.timeout == 0.3
    assert "user me --json --context acme-cloud" in str(info.value)


def test_a_failure_ends_the_calls_still_in_flight(fake_qlik, tmp_path):
    """Two reads at once; one fails: the run ends at once, killing the other child (not waiting its
    30 s out), and sh's reader threads finish before the event loop closes (pytest would report an
    unhandled thread exception otherwise)."""
    slept = tmp_path / "slept"  # the slow fake creates it once its 30 s are over
    fake_qlik.scenario([step("user_me", delay=30, slept_file=str(slept)),
                        step("unauthorized_401", match=["space", "ls"])])
    q = Qlik()

    async def both() -> None:
        await asyncio.gather(q.json("user", "me", context="acme-cloud", tier="read"),
                             q.json("space", "ls", context="acme-cloud", tier="read"))

    with pytest.raises(QlikCommandFailed):
        run(both())
    assert not slept.exists(), "the run waited for the call in flight to end on its own"
    # (killed before it could log its start, it leaves no record: also ended)
    slow = [r["pid"] for r in fake_qlik.records() if r["argv"][:2] == ["user", "me"]]
    assert not [pid for pid in slow if Path(f"/proc/{pid}").exists()], "the call still in flight was left running"


def test_timeout_escalates_to_sigkill_when_the_child_ignores_sigterm(tmp_path, monkeypatch):
    monkeypatch.setattr(qlik_module, "_KILL_GRACE", 0.3)
    binary = child(tmp_path, f"""
        import os, signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        open({str(tmp_path / "pid")!r}, "w").write(str(os.getpid()))
        print("ready", flush=True)
        time.sleep(30)
        open({str(tmp_path / "slept")!r}, "w").write("slept it out")
    """)
    with pytest.raises(QlikTimeout):
        run(Qlik(binary).run("x", context=None, tier="local", json=False, timeout=0.5))
    # SIGTERM was ignored (the pid is written after that): only the SIGKILL after the grace ends it
    # before its 30 s are over
    assert not (tmp_path / "slept").exists(), "the call waited for the child to end on its own"
    assert not _alive(int((tmp_path / "pid").read_text())), "the child survived the timeout"


def _alive(pid: int) -> bool:
    """Running or sleeping (a zombie waiting to be reaped has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.parametrize("ignores_sigterm", [False, True])
def test_a_timeout_ends_the_whole_process_group_and_never_stalls_the_loop(tmp_path, monkeypatch, ignores_sigterm):
    """Issue 18.8: --qlik-bin is a wrapper script whose `qlik` hangs holding stdout. A timeout must
    end the wrapper's qlik too (signals to the group, not the direct child), and the event loop
    must not wait for it: sh's readers wait for EOF on stdout, which the hanging qlik held, so a
    blocking wait froze the loop until it ended on its own (it marks that in `finished`)."""
    monkeypatch.setattr(qlik_module, "_KILL_GRACE", 0.3)
    inner = child(tmp_path, f"""
        import os, signal, sys, time
        if {ignores_sigterm}:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        open({str(tmp_path / "pid")!r}, "w").write(str(os.getpid()))
        print("working", flush=True)
        time.sleep(8)
        open({str(tmp_path / "finished")!r}, "w").write("slept it out")
    """, name="qlik")
    wrapper = tmp_path / "wrapper"
    wrapper.write_text(f'#!/bin/sh\n"{inner}" "$@"\n')
    wrapper.chmod(0o755)
    ticks: list[int] = []
    surfaced: list[int] = []

    async def ticker() -> None:
        while not surfaced:
            ticks.append(1)
            await asyncio.sleep(0.01)

    async def call() -> None:
        try:
            await Qlik(str(wrapper)).run("x", context=None, tier="local", json=False, timeout=0.5)
        finally:
            surfaced.append(len(ticks))

    async def both() -> None:
        await asyncio.gather(call(), ticker())

    with pytest.raises(QlikTimeout):
        run(both())
    assert not (tmp_path / "finished").exists(), "the loop waited for the wrapper's qlik to end on its own"
    pid = int((tmp_path / "pid").read_text())
    for _ in range(200):  # SIGKILL was sent; give the kernel its moment to end the process
        if not _alive(pid):
            break
        time.sleep(0.01)
    assert not _alive(pid), "the wrapper's qlik survived the timeout"
    assert surfaced and surfaced[0] > 0  # the other coroutine kept running while the call was in flight


def test_idempotent_timeout_is_retried_then_succeeds(fake_qlik, monkeypatch):
    monkeypatch.setattr(qlik_module, "_BACKOFF_BASE", 0.01)
    fake_qlik.scenario([step("space_get", delay=30, times=1), step("space_get")])
    q = Qlik()
    value = run(q.json("space", "get", "s", context="acme-cloud", tier="read", idempotent=True, timeout=0.8))
    assert value == fixture_json("space_get")
    assert q.retried == 1 and len(fake_qlik.calls()) == 2


def test_a_fast_call_returns_as_soon_as_the_child_exits(tmp_path, monkeypatch):
    """Regression: qlik.py used to wait for sh's _done callback only, which fires when one of sh's
    threads polls the child (once a second): a child whose pipes hit EOF before it could be reaped
    returned after ~1 s instead of ~50 ms. The call must end on the child's exit itself, so here
    sh's callback never comes: with only that to wait for, the call would never return."""
    # The child closes its output, then lingers 50 ms before it exits, as a process does between
    # closing its files and becoming reapable, only longer: this makes the race deterministic.
    binary = child(tmp_path, """
        import os, time
        os.write(1, b"{}")
        os.close(1)
        os.close(2)
        time.sleep(0.05)
    """)
    real_sh = qlik_module.sh

    class _ShWithoutDone:
        """sh, except that it never reports a finished command through _done."""

        def __getattr__(self, name):
            return getattr(real_sh, name)

        def Command(self, path):  # sh's name
            command = real_sh.Command(path)

            def call(*args, **kwargs):
                kwargs.pop("_done", None)
                return command(*args, **kwargs)

            return call

    monkeypatch.setattr(qlik_module, "sh", _ShWithoutDone())

    async def call() -> bytes:
        # a deadlock detector, not a speed bound: without it a regression would hang the suite
        result = await asyncio.wait_for(
            Qlik(binary).run("x", context=None, tier="local", json=False, timeout=10), 60)
        return result.stdout

    assert run(call()) == b"{}"


# -- missing or unusable binary ---------------------------------------------------------------------
def test_binary_missing_from_path_raises_not_found_with_install_hint(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(QlikNotFound) as info:
        run(Qlik().run("version", context=None, tier="local", json=False))
    assert INSTALL_HINT in str(info.value)
    assert "'qlik' is not on PATH" in str(info.value)


def test_explicit_binary_path_that_does_not_exist_raises_not_found(tmp_path):
    with pytest.raises(QlikNotFound) as info:
        run(Qlik(str(tmp_path / "nowhere" / "qlik")).run("version", context=None, tier="local", json=False))
    assert "https://qlik.dev/toolkits/qlik-cli/" in str(info.value)


# -- version ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("fixture", "version"), [("version_2_24_0", "2.24.0"), ("version_3_2_0", "3.2.0")])
def test_supported_versions_are_accepted(fake_qlik, fixture, version):
    fake_qlik.scenario([step(fixture)])
    assert run(Qlik().check_version()) == version
    assert fake_qlik.calls() == [["version"]]


@pytest.mark.parametrize(("fixture", "shown"), [("version_2_23_1", "2.23.1"), ("version_v2_15_1_dev", "2.15.1-dev")])
def test_old_versions_raise_too_old_with_the_version_and_hint(fake_qlik, fixture, shown):
    fake_qlik.scenario([step(fixture)])
    with pytest.raises(QlikTooOld) as info:  # its own name: the binary was found
        run(Qlik().check_version())
    assert f"qlik-cli {shown} is too old" in str(info.value)
    assert INSTALL_HINT in str(info.value)


def test_prerelease_of_a_supported_version_is_accepted(fake_qlik):
    fake_qlik.scenario([step(match=["version"], stdout="qlik version: v3.3.0-rc1\n")])
    assert run(Qlik().check_version()) == "3.3.0-rc1"


def test_unparseable_version_output_is_bad_output(fake_qlik):
    fake_qlik.scenario([step(match=["version"], stdout="qlik version 3.0.0\n")])  # no colon: not qlik-cli
    with pytest.raises(QlikBadOutput):
        run(Qlik().check_version())


# -- rate limits and retries ------------------------------------------------------------------------
def test_429_is_waited_out_retried_and_counted(fake_qlik):
    fake_qlik.scenario([step("rate_limited_429", times=1), step("change_owner")])
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    q = Qlik(sleep=sleep)
    value = run(q.json("app", "object", "change-owner", "--appId", CLOUD_APP, "--objectId", "o", "--ownerId", "u",
                       context="acme-cloud", tier="write"))
    assert value == fixture_json("change_owner")
    assert q.pacer.rate_limited == 1
    assert len(fake_qlik.calls()) == 2
    assert sleeps == [1.0]  # the body says "wait 1 seconds": waited out once, before the retry
    assert q.calls["write"] == 2


class _RecordingAsyncio:
    """Stands in for the asyncio module inside qlikcli_py.qlik: sleeps are recorded, not slept."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __getattr__(self, name):
        return getattr(asyncio, name)

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)


def test_429_with_a_zero_second_wait_is_retried_at_once(fake_qlik, monkeypatch):
    """Regression: `exc.retry_after or 5.0` turned a server-given wait of 0 seconds into 5 s."""
    fake = _RecordingAsyncio()
    monkeypatch.setattr(qlik_module, "asyncio", fake)
    stderr = load_fixture("rate_limited_429")["stderr"].replace("wait 1 seconds", "wait 0 seconds")
    fake_qlik.scenario([step("rate_limited_429", times=1, stderr=stderr), step("change_owner")])
    run(Qlik().json("app", "object", "change-owner", "--appId", CLOUD_APP, context="acme-cloud", tier="write"))
    assert fake.sleeps == [0.0]


def test_429_gives_up_after_the_retry_budget(fake_qlik, monkeypatch):
    monkeypatch.setattr(qlik_module, "_MAX_429_RETRIES", 0)
    fake_qlik.scenario([step("rate_limited_429")])
    with pytest.raises(QlikCommandFailed) as info:
        run(Qlik().json("app", "object", "change-owner", "--appId", CLOUD_APP, context="acme-cloud", tier="write"))
    assert (info.value.kind, info.value.status, info.value.retry_after) == ("rate_limited", 429, 1.0)
    assert len(fake_qlik.calls()) == 1


def test_idempotent_call_retries_a_transient_failure(fake_qlik, monkeypatch):
    monkeypatch.setattr(qlik_module, "_BACKOFF_BASE", 0.01)
    fake_qlik.scenario([step("qrs_server_500", times=2), step("qrs_app_get")])
    q = Qlik()
    value = run(q.json("qrs", "app", "get", APP, context="qseow-src", tier="qrs", idempotent=True))
    assert value == fixture_json("qrs_app_get")
    assert q.retried == 2
    assert len(fake_qlik.calls()) == 3


def test_idempotent_retries_stop_at_the_budget(fake_qlik, monkeypatch):
    monkeypatch.setattr(qlik_module, "_BACKOFF_BASE", 0.01)
    # (a 5xx: a refused engine session has its own, longer schedule, tested with the engine calls)
    fake_qlik.scenario([step("server_503")])
    q = Qlik(retries=2)
    with pytest.raises(QlikCommandFailed) as info:
        run(q.json("app", "import", "--file", "f.qvf", context="acme-cloud", tier="write", idempotent=True))
    assert info.value.kind == "server"
    assert len(fake_qlik.calls()) == 3


def test_non_idempotent_write_is_not_retried_on_a_transient_failure(fake_qlik):
    fake_qlik.scenario([step("server_503", times=1), step("app_import")])
    q = Qlik()
    with pytest.raises(QlikCommandFailed) as info:
        run(q.json("app", "import", "--file", "f.qvf", context="acme-cloud", tier="write"))
    assert info.value.kind == "server" and info.value.transient
    assert len(fake_qlik.calls()) == 1
    assert q.retried == 0


def test_idempotent_call_does_not_retry_a_permanent_failure(fake_qlik):
    fake_qlik.scenario([step("qrs_app_get_404")])
    with pytest.raises(QlikCommandFailed) as info:
        run(Qlik().json("qrs", "app", "get", "x", context="qseow-src", tier="qrs", idempotent=True))
    assert info.value.kind == "not_found"
    assert len(fake_qlik.calls()) == 1


# -- bad output -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("fixture", "why"), [
    ("malformed_json", "output that is not JSON"),
    ("truncated_json", "output that is not JSON"),
    ("empty_stdout", "nothing where JSON was expected"),
])
def test_bad_json_on_success_raises_bad_output(fake_qlik, fixture, why):
    fake_qlik.scenario([step(fixture)])
    words = load_fixture(fixture)["command"]
    with pytest.raises(QlikBadOutput) as info:
        run(Qlik().json(*words, context="c", tier="read"))
    assert why in str(info.value)
    assert info.value.head == load_fixture(fixture)["stdout"].encode()


# -- secrets ----------------------------------------------------------------------------------------
SECRETS = ["xyz", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", "k3y-Sup3rS3cret"]


def _secret_argv():
    return ["app", "get", CLOUD_APP, "--headers", "Authorization=Bearer xyz",
            "--api-key", "k3y-Sup3rS3cret",
            "--headers=Authorization=Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"]


def _assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into {text!r}"


def test_secrets_never_reach_exception_text_or_logs_on_failure(fake_qlik):
    fake_qlik.scenario([step("app_get_404")])
    with capture_logs() as logs, pytest.raises(QlikCommandFailed) as info:
        run(Qlik().json(*_secret_argv(), context="acme-cloud", tier="read"))
    _assert_no_secret(str(info.value))
    _assert_no_secret(repr(info.value))
    _assert_no_secret(" ".join(info.value.argv))
    assert any(e["event"] == "qlik.failed" for e in logs)
    _assert_no_secret(repr(logs))
    # the fake really got the secrets: redaction is of what we show, not of what we send
    assert "k3y-Sup3rS3cret" in fake_qlik.calls()[0]


def test_secrets_never_reach_logs_on_success_rate_limit_and_timeout(fake_qlik):
    fake_qlik.scenario([step("rate_limited_429", match=["app", "get"], times=1), step("app_get", times=1),
                        step("app_get", delay=30)])
    q = Qlik()
    with capture_logs() as logs:
        run(q.json(*_secret_argv(), context="acme-cloud", tier="read"))
        with pytest.raises(QlikTimeout) as info:
            run(q.json(*_secret_argv(), context="acme-cloud", tier="read", timeout=0.3))
    events = {e["event"] for e in logs}
    assert {"qlik.rate_limited", "qlik.ok", "qlik.timeout"} <= events
    _assert_no_secret(repr(logs))
    _assert_no_secret(str(info.value))


def test_secret_echoed_on_stderr_is_redacted_in_the_detail(fake_qlik):
    fake_qlik.scenario([step(match=["user", "me"], exit_code=1,
                             stderr="Error: 401 Unauthorized: Authorization: Bearer "
                                    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl\n")])
    with capture_logs() as logs, pytest.raises(QlikCommandFailed) as info:
        run(Qlik().json("user", "me", context="acme-cloud", tier="read"))
    assert info.value.kind == "unauthorized"
    _assert_no_secret(str(info.value))
    _assert_no_secret(repr(logs))


def test_secret_in_json_error_on_stdout_is_redacted_in_the_detail(fake_qlik):
    """Regression: classify took the detail from stdout's --json error object without redacting it."""
    body = '{"status": 401, "title": "Unauthorized", "detail": "token Bearer k3y-Sup3rS3cret is expired"}\n'
    fake_qlik.scenario([step(match=["user", "me"], exit_code=1, stdout=body)])
    with pytest.raises(QlikCommandFailed) as info:
        run(Qlik().json("user", "me", context="acme-cloud", tier="read"))
    assert info.value.status == 401
    _assert_no_secret(str(info.value))


# -- the fake itself --------------------------------------------------------------------------------
def test_unmatched_call_fails_loudly_with_exit_99(fake_qlik):
    fake_qlik.allow_unexpected = True
    fake_qlik.scenario([step("user_me")])
    with pytest.raises(QlikCommandFailed) as info:
        run(Qlik().json("space", "ls", context="acme-cloud", tier="read"))
    assert info.value.returncode == 99
    assert "fakeqlik: unexpected call: qlik space ls --json --context acme-cloud" in info.value.detail
    assert fake_qlik.unexpected() == [["space", "ls", "--json", "--context", "acme-cloud"]]


def test_fake_matches_args_subset_and_honours_times(fake_qlik):
    fake_qlik.scenario([
        step("user_ls_subject_apostrophe", args=['subject eq "ACME\\\\o\'brien"'], times=1),
        step("user_ls_empty"),
    ])
    q = Qlik()
    first = run(q.json("user", "ls", "--filter", 'subject eq "ACME\\\\o\'brien"', context="t", tier="read"))
    again = run(q.json("user", "ls", "--filter", 'subject eq "ACME\\\\o\'brien"', context="t", tier="read"))
    other = run(q.json("user", "ls", "--filter", 'subject eq "ACME\\\\jdoe"', context="t", tier="read"))
    assert first == fixture_json("user_ls_subject_apostrophe")
    assert again == [] and other == []
    assert ([r["fixture"] for r in fake_qlik.records()]
            == ["user_ls_subject_apostrophe", "user_ls_empty", "user_ls_empty"])


def test_fake_writes_the_export_file(fake_qlik, tmp_path):
    fake_qlik.scenario([step("qrs_app_export_create")])
    dest = tmp_path / "app.qvf"
    result = run(Qlik().run("qrs", "app", "export", "create", APP, "--output-file", str(dest), context="s", tier="qrs"))
    assert dest.read_bytes() == b"QVF fake export\n"
    assert result.stdout == b""


def test_concurrent_calls_share_one_scenario_state(fake_qlik):
    fake_qlik.scenario([step("server_503", match=["app", "get"], times=3), step("app_get")])
    q = Qlik(workers=6)

    async def many():
        return await asyncio.gather(*(q.run("app", "get", str(i), context="t", tier="read") for i in range(6)),
                                    return_exceptions=True)

    results = run(many())
    failures = [r for r in results if isinstance(r, QlikCommandFailed)]
    assert len(failures) == 3 and all(f.status == 503 for f in failures)
    assert len(fake_qlik.calls()) == 6


def test_guard_shadows_any_real_qlik_and_reports_the_call(_tripwire):
    _root, hits = _tripwire
    before = hits.stat().st_size
    with pytest.raises(QlikCommandFailed) as info:
        run(Qlik().run("app", "ls", context="acme-cloud", tier="read"))
    assert info.value.returncode == 99
    assert "without the fake_qlik fixture" in info.value.detail
    assert hits.read_text()[before:] == "app ls --json --context acme-cloud\n"
    with open(hits, "r+") as fh:  # undo, or the guard fails this test at teardown as it should
        fh.truncate(before)


def test_429_without_a_wait_is_backed_off_on_our_own_doubling_schedule(fake_qlik, monkeypatch):
    """qlik-cli 1.4.0 prints a 429 as status line + body, with no wait time (REAL): the tool waits
    5 s, then 10 s, ... (never counted against the object), not a fixed pace that meets the storm."""
    fake = _RecordingAsyncio()
    monkeypatch.setattr(qlik_module, "asyncio", fake)
    real = load_fixture("real-1.4.0/http_429_json")
    fake_qlik.scenario([step(stdout=real["stdout"], stderr=real["stderr"], exit_code=real["exit_code"], times=3,
                             match=["app", "object", "change-owner"]),
                        step("change_owner")])
    q = Qlik()  # no pacer: the sleeps are the 429 schedule alone
    run(q.json("app", "object", "change-owner", "--appId", CLOUD_APP, context="acme-cloud", tier="write"))
    assert fake.sleeps == [5.0, 10.0, 20.0]
    assert q.pacer.rate_limited == 3


def test_a_notice_before_the_json_on_stdout_is_skipped_and_logged_once(fake_qlik):
    """Issue 18.5: qlik-cli 3.x may print `Warning: This command is being replaced by '...'` on
    stdout before the answer; the call succeeds and the line is one warning per run, not per call."""
    import qlikcli_py.qlik_output as qlik_output

    qlik_output._NOTED.clear()
    fake_qlik.scenario([step("app_ls_warning_on_stdout"), step("app_ls_warning_on_stdout")])
    with capture_logs() as logs:
        first = run(Qlik().json("app", "ls", context="acme-cloud", tier="read"))
        second = run(Qlik().json("app", "ls", context="acme-cloud", tier="read"))
    assert first == second == fixture_json("app_ls_replaced_warning")
    notes = [e for e in logs if e["event"] == "qlik.notice_on_stdout"]
    assert [(e["log_level"], e["printed"]) for e in notes] == [
        ("warning", "Warning: This command is being replaced by 'qlik item ls --resourceType app'.")]


def test_a_listing_streamed_from_a_file_skips_the_notice_too(tmp_path):
    from qlikcli_py.qlik_output import stream_array

    path = tmp_path / "out.json"
    path.write_bytes(b"A new version of qlik-cli is available: 3.2.0\nSee https://qlik.dev to upgrade.\n"
                     b'[{"id": "a"}, {"id": "b"}]\n')
    assert [r["id"] for r in stream_array(path, ("user", "ls"))] == ["a", "b"]
    path.write_bytes(b'{"data": [{"id": "c"}]}')
    assert [r["id"] for r in stream_array(path, ("user", "ls"))] == ["c"]


def test_output_with_no_json_line_is_still_bad_output():
    from qlikcli_py.qlik import parse_json

    with pytest.raises(QlikBadOutput):
        parse_json(("app", "ls"), b"Warning: replaced\nnot json either\n")


# -- engine sessions (issue 18.15) -----------------------------------------------------------------
def test_engine_calls_have_their_own_concurrency_limit(monkeypatch):
    """--engine-workers bounds engine calls in flight, within --workers; REST calls beside them are
    not held back by it."""
    q = Qlik(workers=8, engine_workers=2)
    in_flight = {"engine": 0, "read": 0}
    most = {"engine": 0, "read": 0}

    async def fake_spawn(argv, shown, tier, timeout, stdout_path):
        in_flight[tier] += 1
        most[tier] = max(most[tier], in_flight[tier])
        for _ in range(5):
            await asyncio.sleep(0)
        in_flight[tier] -= 1
        return qlik_module.QlikResult(shown, b"[]", b"", 0.0)

    monkeypatch.setattr(q, "_spawn", fake_spawn)

    async def burst() -> None:
        await asyncio.gather(*[q.json("app", "object", "ls", "--app", "a", context="c", tier="engine")
                               for _ in range(6)],
                             *[q.json("space", "ls", context="c", tier="read") for _ in range(4)])

    run(burst())
    assert most == {"engine": 2, "read": 4}


def _recording_sleep(waits: list[float]):
    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return sleep


def test_a_refused_engine_session_is_retried_after_a_long_back_off(fake_qlik):
    fake_qlik.scenario([step("engine_connect_failed", times=3), step("app_object_ls")])
    waits: list[float] = []
    q = Qlik(sleep=_recording_sleep(waits))
    value = run(q.json("app", "object", "ls", "--app", CLOUD_APP, "--no-data", context="acme-cloud", tier="engine",
                       idempotent=True))
    assert value == fixture_json("app_object_ls")
    assert waits == [5.0, 10.0, 20.0]  # not 0.5/1/2: the throttle lasts longer than that
    assert len(fake_qlik.calls()) == 4 and q.retried == 3


def test_a_refused_engine_session_gives_up_after_a_few_tries(fake_qlik):
    fake_qlik.scenario([step("engine_connect_failed")])
    waits: list[float] = []
    with pytest.raises(QlikCommandFailed) as info:
        run(Qlik(sleep=_recording_sleep(waits)).json("app", "object", "ls", "--app", CLOUD_APP, "--no-data",
                                                     context="acme-cloud", tier="engine", idempotent=True))
    assert info.value.kind == "engine_connect"
    assert waits == [5.0, 10.0, 20.0, 40.0, 60.0]


def test_a_refused_engine_session_of_a_call_that_changes_something_is_not_retried(fake_qlik):
    fake_qlik.scenario([step("engine_connect_failed")])
    waits: list[float] = []
    with pytest.raises(QlikCommandFailed):
        run(Qlik(sleep=_recording_sleep(waits)).run("app", "object", "ls", "--app", CLOUD_APP, context="acme-cloud",
                                                    tier="engine"))
    assert waits == [] and len(fake_qlik.calls()) == 1

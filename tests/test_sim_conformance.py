"""The same cases through the vendored real qlik-cli 1.4.0 (against the loopback fake tenant) and
through the simulator's `qlik`: exit code, stdout and the shape of stderr must agree. Where the
simulator follows a newer version's documented behaviour instead, the case says so."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from realqlik.cases import API_KEY
from realqlik.cases import env_for
from realqlik.tenant import FakeTenant

from qlikcli_py.failures import help_command
from qliksim import faults
from qliksim import seed
from qliksim.admin import install_bin


class Pair:
    """Runs one argv through both binaries; `acme` is the real context, `cloud` the simulator's."""

    def __init__(self, real: Path, real_env: dict[str, str], sim: Path, sim_env: dict[str, str], world: str):
        self.real, self.real_env, self.sim, self.sim_env, self.world = real, real_env, sim, sim_env, world

    def both(self, *argv: str, sim_argv: tuple[str, ...] | None = None) -> tuple[Any, Any]:
        real = subprocess.run([str(self.real), *argv], capture_output=True, text=True, env=self.real_env, timeout=60)
        sim_args = sim_argv or tuple("cloud" if a == "acme" else a for a in argv)
        sim = subprocess.run([str(self.sim), *sim_args], capture_output=True, text=True, env=self.sim_env, timeout=60)
        return real, sim


@pytest.fixture(scope="module")
def pair(real_qlik_bin, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("conformance")
    world = str(tmp / "world.db")
    seed.demo(world)
    sim = install_bin(tmp / "simbin")
    home = tmp / "home"
    home.mkdir()
    with FakeTenant(lifetime=300) as tenant:
        real_env = env_for(home)
        subprocess.run([str(real_qlik_bin), "context", "create", "acme", "--server", tenant.url, "--api-key", API_KEY,
                        "--comment", "fake tenant"], check=True, capture_output=True, env=real_env)
        yield Pair(Path(real_qlik_bin), real_env, sim, {**os.environ, "QLIK_SIM_STATE": world}, world)


def stderr_shape(text: str) -> list[str]:
    """Blocks of stderr by kind: `json-status 404`, `text-status 404`, `body title,code,detail,status`,
    `error-line`, `usage`, `other`; the wording of details, trace ids and numbers is not compared."""
    shape: list[str] = []
    decoder = json.JSONDecoder()
    rest = text
    while rest.strip():
        rest = rest.lstrip("\n")
        if rest.startswith("{"):
            value, end = decoder.raw_decode(rest)
            rest = rest[end:]
            if list(value) == [""]:
                shape.append(f"json-status {value[''][:3]}")
            elif "errors" in value:
                shape.append("body " + ",".join(value["errors"][0]))
            else:
                shape.append("json " + ",".join(value))
            continue
        line, _, rest = rest.partition("\n")
        if re.fullmatch(r"[1-5][0-9]{2} [A-Za-z ]+", line):
            shape.append(f"text-status {line[:3]}")
        elif line.startswith("Error: "):
            shape.append("error-line")
        elif line == "Usage:":  # the usage block and the message repeated: compared by the callers
            shape.append("usage")
            break
        else:
            shape.append("other")
    return shape


def test_version_line(pair):
    real, sim = pair.both("version")
    pattern = r"version: [0-9.]*\tbranch: \S*\tcommit: [0-9a-f]+\n"
    assert (real.returncode, sim.returncode) == (0, 0)
    assert re.fullmatch(pattern, real.stdout) and re.fullmatch(pattern, sim.stdout)


def test_context_get(pair):
    real, sim = pair.both("context", "get", "acme")
    keys = [line.split(":")[0] for line in real.stdout.splitlines() if not line.startswith(" ")]
    sim_keys = [line.split(":")[0] for line in sim.stdout.splitlines()]
    assert (real.returncode, sim.returncode, real.stderr, sim.stderr) == (0, 0, "", "")
    # NEWER, documented: the simulator prints a server type (the flag exists since 1.5.0; its key's
    # spelling is a knob) and no Headers block (credentials are omitted since 2.16.0).
    assert keys == ["Name", "Comment", "Headers", "Server"]
    assert sim_keys == ["Name", "Comment", "Server", "Server Type"]


def test_context_get_of_a_missing_context(pair):
    real, sim = pair.both("context", "get", "nope")
    assert (real.returncode, real.stdout, real.stderr) == (sim.returncode, sim.stdout, sim.stderr) == (
        0, "No context with name: 'nope'\n", "")


def test_rest_call_through_a_missing_context(pair):
    real, sim = pair.both("app", "get", "a1", "--context", "nope", "--json")
    assert (real.returncode, real.stdout, real.stderr) == (sim.returncode, sim.stdout, sim.stderr)


@pytest.mark.parametrize("argv", [("app", "get", "a1", "--context", "acme", "--bogus"),
                                  ("app", "get", "--context", "acme")])
def test_usage_errors(pair, argv):
    real, sim = pair.both(*argv)
    assert (real.returncode, real.stdout) == (sim.returncode, sim.stdout) == (1, "")
    assert real.stderr.splitlines()[0] == sim.stderr.splitlines()[0]  # Error: ...
    assert real.stderr.splitlines()[-1] == sim.stderr.splitlines()[-1]  # the message again
    assert stderr_shape(real.stderr) == stderr_shape(sim.stderr) == ["error-line", "usage"]


def test_unknown_sub_command_prints_the_group_help_and_exits_0(pair):
    real, sim = pair.both("app", "frobnicate", "--context", "acme")
    assert (real.returncode, real.stderr) == (sim.returncode, sim.stderr) == (0, "")
    assert help_command(real.stdout.encode()) == help_command(sim.stdout.encode()) == "app"


def test_unknown_top_level_command(pair):
    real, sim = pair.both("frobnicate")
    assert (real.returncode, real.stdout, real.stderr) == (sim.returncode, sim.stdout, sim.stderr)


@pytest.mark.parametrize(("flag", "noise"), [("--json", '{\n  "": "200 OK"\n}\n\n'), (None, "200 OK\n"), ("-q", "")])
def test_success_noise_on_stderr(pair, flag, noise):
    argv = ("space", "ls", "--context", "acme", *((flag,) if flag else ()))
    real, sim = pair.both(*argv)
    assert (real.returncode, real.stderr) == (sim.returncode, sim.stderr) == (0, noise)
    if flag == "-q":
        assert all(re.fullmatch(r"\S+", line) for line in real.stdout.splitlines() + sim.stdout.splitlines())
    else:
        assert isinstance(json.loads(real.stdout), list) and isinstance(json.loads(sim.stdout), list)


@pytest.mark.parametrize("json_flag", [True, False])
def test_http_404(pair, json_flag):
    extra = ("--json",) if json_flag else ()
    real, sim = pair.both("app", "get", "missing", "--context", "acme", *extra)
    assert (real.returncode, real.stdout) == (sim.returncode, sim.stdout) == (1, "")
    status = "json-status 404" if json_flag else "text-status 404"
    assert stderr_shape(real.stderr) == stderr_shape(sim.stderr) == [status, "body title,code,detail,status"]


@pytest.mark.parametrize(("real_id", "knobs", "status"), [
    ("limited", {"rate_read": "1/60"}, 429),
    ("unavailable", {"fail_5xx": 1.0}, None),
])
def test_injected_429_and_5xx(pair, real_id, knobs, status):
    faults.configure(pair.world, **knobs)
    try:
        real, _ = pair.both("app", "get", real_id, "--context", "acme", "--json")
        pair.both("space", "ls", "--context", "acme", "--json")  # the simulator's first call may pass
        _, sim = pair.both("space", "ls", "--context", "acme", "--json")
    finally:
        faults.configure(pair.world, **{k: None for k in knobs})
    assert (real.returncode, real.stdout) == (sim.returncode, sim.stdout) == (1, "")
    real_shape, sim_shape = stderr_shape(real.stderr), stderr_shape(sim.stderr)
    if status is None:  # the simulator draws 500 or 503
        real_shape[0], sim_shape[0] = real_shape[0][:-2], sim_shape[0][:-2]
    assert real_shape == sim_shape
    # NEWER, documented: the simulator's 429 detail says how long to wait (qlik.dev rate limiting);
    # the fake tenant's does not. Both bodies have the same keys.

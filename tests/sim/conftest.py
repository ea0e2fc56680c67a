"""Fixtures for the simulator's tests: a fresh demo world per test, in-process and real-process runners."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
from typing import Any

import pytest

from qliksim import qlik
from qliksim import seed
from qliksim.admin import install_bin


class Result:
    def __init__(self, code: int, out: bytes, err: bytes) -> None:
        self.code = code
        self.out = out.decode()
        self.err = err.decode()

    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def http(self) -> str:
        """stderr in text form: an HTTP status printed as `{"": "404 Not Found"}` (--json) becomes
        `404 Not Found`, so one assertion holds for both of qlik-cli's forms."""
        m = re.match(r'\{\n  "": "([^"]*)"\n\}\n\n', self.err)
        return m.group(1) + "\n" + self.err[m.end():] if m else self.err

    @property
    def status(self) -> int | None:
        m = re.match(r"([1-5][0-9]{2}) ", self.http)
        return int(m.group(1)) if m else None

    def error(self) -> dict[str, Any]:
        """The first entry of the API error body printed after the status line."""
        return json.loads(self.http.split("\n", 1)[1])["errors"][0]

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out[:400]!r}, err={self.err[:400]!r})"


@pytest.fixture
def demo(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The demo world, with QLIK_SIM_STATE pointing at it."""
    info = seed.demo(tmp_path / "world.db")
    monkeypatch.setenv("QLIK_SIM_STATE", str(tmp_path / "world.db"))
    return info


@pytest.fixture
def run(capsysbinary: pytest.CaptureFixture[bytes]):  # type: ignore[no-untyped-def]
    """Run the simulator in-process: run("app", "get", ID, context="cloud") -> Result.

    `context=` appends `--json --context NAME`, the way the tool calls every API command.
    """

    def _run(*argv: str, context: str | None = None, json_flag: bool = True) -> Result:
        args = list(argv)
        if context is not None:
            args += (["--json"] if json_flag else []) + ["--context", context]
        capsysbinary.readouterr()
        code = qlik.main(args)
        captured = capsysbinary.readouterr()
        return Result(code, captured.out, captured.err)

    return _run


@pytest.fixture(scope="session")
def qlik_bin(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return install_bin(tmp_path_factory.mktemp("bin"))


@pytest.fixture
def proc(qlik_bin: pathlib.Path, demo: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Run the installed `qlik` as a real process against the demo world."""

    def _proc(*argv: str, context: str | None = None, timeout: float = 30, **kwargs: Any) -> Result:
        args = [str(qlik_bin), *argv]
        if context is not None:
            args += ["--json", "--context", context]
        env = {**os.environ, "QLIK_SIM_STATE": demo["path"]}
        done = subprocess.run(args, capture_output=True, timeout=timeout, env=env, **kwargs)
        return Result(done.returncode, done.stdout, done.stderr)

    return _proc


def object_by_state(demo: dict[str, Any], app: str, otype: str, state: str) -> dict[str, Any]:
    return next(o for o in demo["objects"][app] if o["type"] == otype and o["state"] == state)

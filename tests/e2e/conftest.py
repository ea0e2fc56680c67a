"""End-to-end worlds: the real qlik-migrate against the simulator, asserting the world it leaves."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from qlikcli_py.cli.main import main
from qliksim import admin
from qliksim import faults
from qliksim import seed
from qliksim.store import World

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Sim:
    tmp: Path
    path: Path
    info: dict[str, Any]
    env: dict[str, str]
    capsys: Any

    @property
    def world(self) -> World:
        return World(self.path)

    @property
    def state_dir(self) -> Path:
        return self.tmp / "state"

    def app(self, key: str = "sales") -> str:
        return self.info["apps"][key]

    def common(self, *, spaces: bool = True, target: str = "cloud") -> list[str]:
        args = ["--source-context", "qseow", "--target-context", target, "--state-dir", str(self.state_dir),
                "--write-rate", "0", "--read-rate", "0"]
        if spaces:
            args += ["--shared-space", "Finance Dev", "--managed-space", "Finance"]
        return args

    def migrate(self, *args: str) -> Result:
        """In-process, through the real entry point (fast: no interpreter start-up)."""
        self.capsys.readouterr()
        code = main(["--log-format", "json", "--log-level", "warning", *args])
        out, err = self.capsys.readouterr()
        return Result(code, out, err)

    def spawn(self, *args: str, **kw: Any) -> subprocess.Popen[bytes]:
        """As a separate process, for tests that kill it."""
        return subprocess.Popen([sys.executable, "-m", "qlikcli_py", "--log-format", "json", *args],
                                env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)

    def faults(self, **knobs: Any) -> None:
        faults.configure(self.path, **knobs)

    def calls(self) -> list[dict[str, Any]]:
        return self.world.calls()


@pytest.fixture
def sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Sim]:
    path = tmp_path / "world.db"
    info = seed.demo(path)
    bin_dir = admin.install_bin(tmp_path / "bin")
    env = {"QLIK_SIM_STATE": str(path), "PATH": f"{bin_dir.parent}{os.pathsep}{os.environ['PATH']}",
           "QLIK_CLI_USER_HOME_DIR": str(tmp_path / "home")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield Sim(tmp_path, path, info, {**os.environ, **env}, capsys)

"""A world served by `qlik-sim serve` in a child process, and the two binaries that can drive it:
Qlik's real qlik-cli (through the server) and the simulator's own `qlik` (on the world file)."""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from qliksim import admin
from qliksim.server.contexts import create_commands

ROOT = Path(__file__).resolve().parents[2]


class Served:
    def __init__(self, world: Path, real_qlik: Path, tmp: Path) -> None:
        self.world = world
        self.proc = subprocess.Popen([sys.executable, "-m", "qliksim.admin", "serve", "--state", str(world)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", self.url), self.url
        self.real = str(real_qlik)
        home = tmp / "qlik-home"
        home.mkdir()
        # qlik-cli keeps contexts under its home: a private one per test world, never a user's.
        self.real_env = {**os.environ, "HOME": str(home), "QLIK_CLI_USER_HOME_DIR": str(home)}
        for line in create_commands(str(world), self.url, self.real):
            if "--server-type" not in line:  # 1.4.0 has no --server-type (and no QRS commands)
                subprocess.run(shlex.split(line), env=self.real_env, check=True, capture_output=True)
        self.sim = str(admin.install_bin(tmp / "simbin"))
        self.sim_env = {**os.environ, "QLIK_SIM_STATE": str(world)}

    def stop(self) -> str:
        self.proc.terminate()
        _out, err = self.proc.communicate(timeout=10)
        return err

    def run_real(self, *args: str, context: str = "cloud") -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.real, *args, "--context", context], env=self.real_env,
                              capture_output=True, text=True, timeout=60)

    def run_sim(self, *args: str, context: str = "cloud",
                world: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = self.sim_env if world is None else {**self.sim_env, "QLIK_SIM_STATE": str(world)}
        return subprocess.run([self.sim, *args, "--context", context], env=env,
                              capture_output=True, text=True, timeout=60)

    def real_json(self, *args: str, context: str = "cloud") -> Any:
        out = self.run_real(*args, "--json", context=context)
        assert out.returncode == 0, out.stderr
        # Links name the server; the simulator's `qlik` names the context's tenant URL.
        return json.loads(out.stdout.replace(self.url, "https://acme.eu.qlikcloud.com"))

    def sim_json(self, *args: str, context: str = "cloud", world: Path | None = None) -> Any:
        out = self.run_sim(*args, "--json", context=context, world=world)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)


_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def without_times(value: Any) -> Any:
    """The same document with every timestamp blanked (two worlds in step differ only in when) and
    without HATEOAS `links` (qlik-cli 1.4.0 drops them from listed items, the simulator keeps them)."""
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if k != "links"}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    if isinstance(value, str) and _STAMP.match(value):
        return "<time>"
    return value

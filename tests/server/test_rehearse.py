"""scripts/rehearse: refuses a qlik-cli older than 2.24.0, passes with the simulator's `qlik` standing in."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from qliksim import admin

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "rehearse"


def test_refuses_the_real_1_4_0_with_one_clear_line(real_qlik_bin: Path) -> None:
    out = subprocess.run([sys.executable, str(SCRIPT), str(real_qlik_bin)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"rehearse: {real_qlik_bin} is qlik-cli 1.4.0; "
        "qlik-migrate needs 2.24.0 or later (https://qlik.dev/toolkits/qlik-cli/)"]


def test_passes_end_to_end_with_the_simulator_standing_in(tmp_path: Path) -> None:
    standin = admin.install_bin(tmp_path / "bin")
    out = subprocess.run([sys.executable, str(SCRIPT), str(standin)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert out.stdout.rstrip().endswith("rehearsal passed: your qlik-cli and qlik-migrate work together")
    assert "== final state of the simulated tenant" in out.stdout

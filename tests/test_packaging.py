"""The installed tool is the tool alone: its wheel holds no simulator, no sweep harness and no
`qlik-sim` command (those live in sim/, a package of their own for demo and tests)."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_tools_wheel_holds_the_tool_only(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("qlikcli_py-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    modules = [n for n in names if n.endswith(".py")]
    assert "qlikcli_py/cli/main.py" in modules and "qlikcli_py/qlik.py" in modules
    assert [n for n in modules if not n.startswith("qlikcli_py/")] == []
    assert [n for n in names if "sim" in Path(n).parts or "qliksim" in n or "sweeps" in n] == []
    (entry_points,) = [n for n in names if n.endswith("entry_points.txt")]
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "qlik-migrate = qlikcli_py.cli.main:main" in scripts
    assert "qlik-sim" not in scripts

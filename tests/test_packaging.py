"""Packaging: the installed tool is the tool alone (its wheel holds no simulator, no sweep harness
and no `qlik-sim` command: those live in sim/, a package of their own for demo and tests); building
it prints no setuptools deprecation warning; click's shell completion works."""
from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from qlikcli_py.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def test_the_tools_wheel_holds_the_tool_only_and_builds_without_warnings(tmp_path: Path) -> None:
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--verbose", "--no-deps", "--no-build-isolation",
                            "--wheel-dir", str(tmp_path), str(ROOT)], check=True, capture_output=True, text=True)
    assert "Deprecat" not in build.stdout + build.stderr
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


def test_license_is_an_spdx_string_with_a_setuptools_that_reads_it() -> None:
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    # a table (`{ text = "MIT" }`) makes setuptools>=77 print a deprecation warning on every install
    assert doc["project"]["license"] == "MIT"
    [setuptools] = [r for r in doc["build-system"]["requires"] if r.startswith("setuptools")]
    assert setuptools.replace(" ", "") == "setuptools>=77"


def test_bash_completion_script_is_printed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("_QLIK_MIGRATE_COMPLETE", "bash_source")
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "_qlik_migrate_completion" in out and "complete " in out

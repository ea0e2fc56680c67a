"""Installing prints no setuptools deprecation warning, and click's shell completion works."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from qlikcli_py.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def test_license_is_an_spdx_string_with_a_setuptools_that_reads_it():
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    # a table (`{ text = "MIT" }`) makes setuptools>=77 print a deprecation warning on every install
    assert doc["project"]["license"] == "MIT"
    [setuptools] = [r for r in doc["build-system"]["requires"] if r.startswith("setuptools")]
    assert setuptools.replace(" ", "") == "setuptools>=77"


def test_bash_completion_script_is_printed(monkeypatch, capsys):
    monkeypatch.setenv("_QLIK_MIGRATE_COMPLETE", "bash_source")
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "_qlik_migrate_completion" in out and "complete " in out


def test_readme_documents_completion():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "_QLIK_MIGRATE_COMPLETE=bash_source qlik-migrate" in readme

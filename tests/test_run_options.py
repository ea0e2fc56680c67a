"""`plan` takes every option of `run` (changing the verb gives the dry run), --retry-failed included."""
from __future__ import annotations

from click.testing import CliRunner

from qlikcli_py.cli.options import build_settings
from qlikcli_py.cli.plan import plan
from qlikcli_py.cli.run import run


def test_plan_accepts_every_run_option_including_retry_failed() -> None:
    assert "retry_failed" in {p.name for p in run.params}
    assert {p.name for p in run.params} <= {p.name for p in plan.params}
    assert "--retry-failed" in CliRunner().invoke(plan, ["--help"]).output


def test_retry_failed_reaches_the_write_engine(tmp_path) -> None:
    settings = build_settings({"state_dir": tmp_path}, retry_failed=True)
    assert settings.run.retry_failed and not build_settings({"state_dir": tmp_path}).run.retry_failed

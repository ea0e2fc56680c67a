from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from qlikcli_py import report
from qlikcli_py.cli.options import build_settings
from qlikcli_py.cli.options import connection_options
from qlikcli_py.cli.options import opt
from qlikcli_py.cli.output import bind_run
from qlikcli_py.cli.output import one_line
from qlikcli_py.commands.doctor import doctor as doctor_job
from qlikcli_py.errors import ExitCode
from qlikcli_py.vocabulary import PreflightStatus

_MARK = {PreflightStatus.PASS: "ok  ", PreflightStatus.FAIL: "FAIL", PreflightStatus.INFO: "info"}


@click.command()
@connection_options
@opt("--shared-space", default="", help="Check this shared space exists and takes imports.")
@opt("--managed-space", default="", help="Check this managed space exists and takes publishing.")
@opt("--export-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
     help="Check this export dir [default: STATE_DIR/exports].")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def doctor(shared_space: str, managed_space: str, export_dir: Path | None, as_json: bool, **params: Any) -> int:
    """Check everything a migration needs, one line per check with the fix. Exit 0 only when all
    pass, 2 (a configuration problem; nothing was changed) when one fails."""
    settings = build_settings(params)
    bind_run(settings.run_id, "doctor")
    results = asyncio.run(doctor_job(settings.conn, shared=shared_space, managed=managed_space,
                                     export_dir=export_dir or settings.state_dir / "exports"))
    failed = any(r.status == PreflightStatus.FAIL for r in results)
    if as_json:
        click.echo(report.to_json({"ok": not failed, "checks": [r.doc() for r in results]}).decode(), nl=False)
    else:
        for r in results:
            fix = f" -- fix: {r.fix}" if r.fix and r.status != PreflightStatus.PASS else ""
            click.echo(one_line(f"{_MARK[r.status]}  {r.name:<20} {r.detail}{fix}"))
    return ExitCode.USAGE if failed else ExitCode.OK

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from qlikcli_py import report
from qlikcli_py.cli.options import build_settings
from qlikcli_py.cli.options import connection_options
from qlikcli_py.cli.options import mapping_options
from qlikcli_py.cli.options import opt
from qlikcli_py.cli.options import report_options
from qlikcli_py.cli.options import require_apps
from qlikcli_py.cli.options import selection_options
from qlikcli_py.cli.output import bind_run
from qlikcli_py.cli.output import problem
from qlikcli_py.errors import ExitCode
from qlikcli_py.jobs.run import run as run_job
from qlikcli_py.redact import redact_text


@click.command()
@selection_options
@connection_options
@mapping_options
@report_options
@opt("--export-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
     help="Where QVF exports are written [default: STATE_DIR/exports].")
@opt("--force", is_flag=True, help="Migrate again apps already migrated (the earlier import is kept and reported).")
@opt("--max-imports", type=click.IntRange(1), default=None,
     help="Stop cleanly after this many imports in 24 hours (the tenant's daily import quota).")
def run(export_dir: Path | None, force: bool, max_imports: int | None, **params: Any) -> int:
    """Migrate APP_IDS (or a --manifest): export, import, copy, give objects back, move, clean."""
    require_apps(params)
    settings = build_settings(params, export_dir=export_dir, force=force, max_imports=max_imports)
    bind_run(settings.run_id, "run")
    code, doc = asyncio.run(run_job(settings))
    click.echo(report.render_run(doc))
    if code == ExitCode.FAILED:
        problem(failure_line(doc["apps"]))
    return code


def failure_line(apps: list[dict[str, Any]]) -> str:
    """stdout has the whole report; stderr gets one line a cron mail can show."""
    failed = [a for a in apps if a["status"] == "failed"]
    first = failed[0] if failed else {"name": "?", "error": "see the report"}
    more = f" (and {len(failed) - 1} more, see the report)" if len(failed) > 1 else ""
    return (f"{len(failed)} of {len(apps)} apps failed, everything done so far is kept, run again to resume: "
            f"{first['name']!r}: {redact_text(str(first['error'] or 'see the report'))[:400]}{more}")

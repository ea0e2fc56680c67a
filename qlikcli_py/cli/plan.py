from __future__ import annotations

import asyncio
from typing import Any

import click

from qlikcli_py import report
from qlikcli_py import sync_report
from qlikcli_py.cli.options import build_settings
from qlikcli_py.cli.options import migration_options
from qlikcli_py.cli.options import opt
from qlikcli_py.cli.options import require_apps
from qlikcli_py.cli.output import bind_run
from qlikcli_py.commands.plan import plan as plan_job
from qlikcli_py.commands.sync import sync as sync_job
from qlikcli_py.errors import ExitCode


@click.command()
@migration_options
@opt("--sync", "sync_delta", is_flag=True, help="Show what `sync` would bring into apps already migrated.")
def plan(sync_delta: bool, **params: Any) -> int:
    """Show what `run` would do, changing nothing: objects, owners and how each resolves, calls, time.
    Takes every option of `run` (turn a run into its dry run by changing the verb); --report and
    --csv get the plan, the options that only act on changes are accepted and change nothing."""
    require_apps(params)
    settings = build_settings(params, export_dir=params.get("export_dir"))
    bind_run(settings.run_id, "plan")
    if sync_delta:  # the same as `sync --dry-run`
        code, doc = asyncio.run(sync_job(settings, dry_run=True))
        if not params.get("quiet") or code != ExitCode.OK:
            click.echo(sync_report.render(doc))
        return code
    code, doc = asyncio.run(plan_job(settings))
    if not params.get("quiet") or code != ExitCode.OK:
        click.echo(report.render_plan(doc))
    return code

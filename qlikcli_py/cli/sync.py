from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from qlikcli_py import logs
from qlikcli_py import sync_report
from qlikcli_py.cli.options import build_settings
from qlikcli_py.cli.options import migration_options
from qlikcli_py.cli.options import opt
from qlikcli_py.cli.options import require_apps
from qlikcli_py.cli.output import bind_run
from qlikcli_py.cli.output import problem
from qlikcli_py.commands.sync import sync as sync_job
from qlikcli_py.errors import ExitCode
from qlikcli_py.errors import UsageProblem


@click.command()
@migration_options
@opt("--dry-run", is_flag=True, help="Show the delta per app and owner and how each owner resolves; change nothing.")
def sync(export_dir: Path | None, force: bool, max_imports: int | None, keep_exports: bool, retry_failed: bool,
         quiet: bool, dry_run: bool, **params: Any) -> int:
    """Bring users' new on-prem content (private and community sheets, stories, master items) into
    apps already migrated, each object with its id, state and owner; report what cannot come over."""
    require_apps(params)
    if force:
        raise UsageProblem("sync takes no --force: it never re-imports an app (`run --force` migrates one anew)")
    settings = build_settings(params, export_dir=export_dir, max_imports=max_imports, keep_exports=keep_exports,
                              retry_failed=retry_failed)
    bind_run(settings.run_id, "sync")
    if quiet:
        logs.quiet()
    code, doc = asyncio.run(sync_job(settings, dry_run=dry_run))
    if quiet:
        if code != ExitCode.OK:
            problem(f"exit {code}: see the report (`qlik-migrate sync --dry-run` shows the delta)")
        return code
    click.echo(sync_report.render(doc))
    return code

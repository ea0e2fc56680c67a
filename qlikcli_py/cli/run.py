from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from qlikcli_py import logs
from qlikcli_py import report
from qlikcli_py.cli.options import build_settings
from qlikcli_py.cli.options import migration_options
from qlikcli_py.cli.options import require_apps
from qlikcli_py.cli.output import bind_run
from qlikcli_py.cli.output import problem
from qlikcli_py.commands.run import run as run_job
from qlikcli_py.errors import ExitCode
from qlikcli_py.redact import redact_text
from qlikcli_py.vocabulary import AppStatus


@click.command()
@migration_options
def run(export_dir: Path | None, force: bool, max_imports: int | None, keep_exports: bool, retry_failed: bool,
        quiet: bool, **params: Any) -> int:
    """Migrate APP_IDS (or a --manifest): export, import, copy, give objects back, move, clean."""
    require_apps(params)
    settings = build_settings(params, export_dir=export_dir, force=force, max_imports=max_imports,
                              keep_exports=keep_exports, retry_failed=retry_failed)
    bind_run(settings.run_id, "run")
    if quiet:
        logs.quiet()
    code, doc = asyncio.run(run_job(settings))
    if quiet:
        if code != ExitCode.OK:
            problem(quiet_summary(code, doc["apps"]))
        return code
    click.echo(report.render_run(doc))
    if code == ExitCode.FAILED:
        problem(failure_line(doc["apps"]))
    return code


def quiet_summary(code: int, apps: list[dict[str, Any]]) -> str:
    """--quiet: the one line a cron mail needs, about what did not succeed."""
    if code == ExitCode.FAILED:
        return failure_line(apps)
    parts = []
    for app in apps:
        if app["status"] in (AppStatus.CHANGED, AppStatus.DEFERRED):
            parts.append(f"{app['name']!r} {app['status']}: {'; '.join(app['notes'])}")
        elif app.get("failed_for_good"):
            parts.append(f"{app['name']!r}: {len(app['failed_for_good'])} objects failed for good "
                         f"(fix the cause, or --retry-failed)")
        elif app["unmatched"]:
            owners = ", ".join(f"{u['source_owner']} ({u['objects']} objects)" for u in app["unmatched"])
            parts.append(f"{app['name']!r}: owners without a cloud user: {owners}")
    return f"exit {code}: " + " | ".join(parts or ["see the report"])


def failure_line(apps: list[dict[str, Any]]) -> str:
    """stdout has the whole report; stderr gets one line a cron mail can show."""
    failed = [a for a in apps if a["status"] == AppStatus.FAILED]
    first = failed[0] if failed else {"name": "?", "error": "see the report"}
    more = f" (and {len(failed) - 1} more, see the report)" if len(failed) > 1 else ""
    return (f"{len(failed)} of {len(apps)} apps failed, everything done so far is kept, run again to resume: "
            f"{first['name']!r}: {redact_text(str(first['error'] or 'see the report'))[:400]}{more}")

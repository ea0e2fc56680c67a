from __future__ import annotations

import asyncio
from typing import Any

import click

from qlikcli_py import report
from qlikcli_py.cli.options import build_settings
from qlikcli_py.cli.options import connection_options
from qlikcli_py.cli.options import mapping_options
from qlikcli_py.cli.options import opt
from qlikcli_py.cli.options import require_apps
from qlikcli_py.cli.options import selection_options
from qlikcli_py.cli.output import bind_run
from qlikcli_py.jobs.plan import plan as plan_job


@click.command()
@selection_options
@connection_options
@mapping_options
@opt("--report", type=click.Path(dir_okay=False), default=None, help="Write the plan as versioned JSON here.")
def plan(**params: Any) -> int:
    """Show what `run` would do, changing nothing: objects, owners and how each resolves, calls, time."""
    require_apps(params)
    from pathlib import Path

    if params.get("report"):
        params["report"] = Path(params["report"])
    settings = build_settings(params)
    bind_run(settings.run_id, "plan")
    code, doc = asyncio.run(plan_job(settings))
    click.echo(report.render_plan(doc))
    return code

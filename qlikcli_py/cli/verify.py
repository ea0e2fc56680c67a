from __future__ import annotations

import asyncio
from typing import Any

import click

from qlikcli_py import report
from qlikcli_py.cli.options import build_settings
from qlikcli_py.cli.options import connection_options
from qlikcli_py.cli.options import mapping_options
from qlikcli_py.cli.options import report_options
from qlikcli_py.cli.options import selection_options
from qlikcli_py.cli.output import bind_run
from qlikcli_py.commands.verify import verify as verify_job


@click.command()
@selection_options
@connection_options
@mapping_options
@report_options
def verify(**params: Any) -> int:
    """Compare every migrated object with its source (id, type, state, owner) and check that the
    development copy holds base objects only. With no APP_IDS, every app in the ledger. Exit 0
    only when everything matches."""
    settings = build_settings(params)
    bind_run(settings.run_id, "verify")
    code, doc = asyncio.run(verify_job(settings))
    click.echo(report.render_verify(doc))
    return code

from __future__ import annotations

from pathlib import Path

import click

from qlikcli_py import report
from qlikcli_py.cli.options import opt
from qlikcli_py.ledger import Ledger
from qlikcli_py.ledger import default_state_dir


@click.command()
@opt("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
     help="The state dir a run used [default: $XDG_STATE_HOME/qlik-migrate].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status(state_dir: Path | None, as_json: bool) -> int:
    """What the ledger knows, per app and step. Reads only; works while a run holds the lock."""
    with Ledger(state_dir or default_state_dir(), readonly=True) as ledger:
        doc = report.status_doc(ledger)
    if as_json:
        click.echo(report.to_json(doc).decode(), nl=False)
    else:
        click.echo(report.render_status(doc))
    return 0

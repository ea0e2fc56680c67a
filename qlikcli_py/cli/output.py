"""The one line a failed command prints on stderr: prefixed, redacted, and kept on one line
whatever an app name, title or qlik message contains."""
from __future__ import annotations

import click
import structlog

from qlikcli_py.escapes import escape_controls
from qlikcli_py.redact import redact_text

PREFIX = "qlik-migrate: "


def one_line(text: str) -> str:
    """Control characters (newlines included) shown as escapes, secrets masked."""
    return escape_controls(redact_text(text))


def problem(text: str) -> None:
    click.echo(PREFIX + one_line(text), err=True)


def bind_run(run_id: str, command: str) -> None:
    """Every log event of this invocation carries the run id and the command (structlog context)."""
    structlog.contextvars.bind_contextvars(run_id=run_id, command=command)

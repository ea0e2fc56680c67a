"""The one line a failed command prints on stderr: prefixed, redacted, and kept on one line
whatever an app name, title or qlik message contains."""
from __future__ import annotations

import re

import click
import structlog

from qlikcli_py.redact import redact_text

PREFIX = "qlik-migrate: "
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def one_line(text: str) -> str:
    """Control characters (newlines included) shown as escapes, secrets masked."""
    return _CONTROL.sub(_escape, redact_text(text))


def _escape(m: re.Match[str]) -> str:
    n = ord(m.group())
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def problem(text: str) -> None:
    click.echo(PREFIX + one_line(text), err=True)


def bind_run(run_id: str, command: str) -> None:
    """Every log event of this invocation carries the run id and the command (structlog context)."""
    structlog.contextvars.bind_contextvars(run_id=run_id, command=command)

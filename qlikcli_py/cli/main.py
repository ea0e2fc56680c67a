"""Entry point: configure logging once, dispatch, and map every exception to one line and an exit
code (the table is in errors.ExitCode and the README)."""
from __future__ import annotations

import os
import sys
import tempfile
import traceback
from typing import Any

import click
import structlog

from qlikcli_py import logs
from qlikcli_py import qlik_output
from qlikcli_py.cli.doctor import doctor
from qlikcli_py.cli.output import one_line
from qlikcli_py.cli.output import problem
from qlikcli_py.cli.plan import plan
from qlikcli_py.cli.run import run
from qlikcli_py.cli.status import status
from qlikcli_py.cli.sync import sync
from qlikcli_py.cli.verify import verify
from qlikcli_py.errors import ExitCode
from qlikcli_py.errors import MigrationError
from qlikcli_py.errors import QlikError
from qlikcli_py.redact import redact_text


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--log-format", type=click.Choice(["auto", "json", "console"]), default="auto",
              envvar="QLIK_MIGRATE_LOG_FORMAT", show_default=True,
              help="JSON lines, or readable text; auto picks text on a terminal.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default=None,
              envvar="QLIK_MIGRATE_LOG_LEVEL", help="[default: info for JSON, warning on a terminal]")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None, envvar="QLIK_MIGRATE_LOG_FILE",
              help="Append JSON log lines to this file instead of stderr.")
@click.version_option(package_name="qlikcli_py", prog_name="qlik-migrate")
@click.pass_context
def cli(ctx: click.Context, log_format: str, log_level: str | None, log_file: str | None) -> None:
    """Migrate Qlik Sense apps from client-managed sites to Qlik Cloud with every private,
    community and base object, each given back to its owner."""
    from pathlib import Path

    stream = logs.configure(log_format, log_level, Path(log_file) if log_file else None)
    if stream is not None:
        ctx.call_on_close(stream.close)


for command in (run, plan, sync, status, verify, doctor):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    # Everything we write (ledger, reports, exports written by qlik) is readable by the owner only.
    os.umask(0o077)
    structlog.contextvars.clear_contextvars()
    qlik_output.forget_notices()
    try:
        rv: Any = cli.main(args=argv, prog_name="qlik-migrate", standalone_mode=False)
        return int(rv or 0)
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.UsageError as e:  # bad flags or values: one line with where to look, not the usage text
        if type(e).__name__ == "NoArgsIsHelpError" and e.ctx is not None:  # bare `qlik-migrate`
            click.echo(e.ctx.get_help(), err=True)
            return ExitCode.USAGE
        where = f"`{e.ctx.command_path} --help`" if e.ctx is not None else "`qlik-migrate --help`"
        problem(f"{e.format_message()} (see {where})")
        return ExitCode.USAGE
    except click.ClickException as e:
        problem(e.format_message())
        return e.exit_code
    except click.exceptions.Abort:  # click's form of KeyboardInterrupt (after an empty line on stderr)
        problem("interrupted; run again to resume")
        return ExitCode.INTERRUPTED
    except MigrationError as e:
        problem(str(e))
        return e.exit_code
    except QlikError as e:
        problem(f"{e}; run again to resume")
        return ExitCode.FAILED
    except KeyboardInterrupt:
        problem("interrupted; run again to resume")
        return ExitCode.INTERRUPTED
    except Exception as e:  # a bug: one line here, the traceback in a file
        path = _crash_log(traceback.format_exc())
        problem(f"unexpected error ({type(e).__name__}: {one_line(str(e))[:300]}); "
                f"this is a bug, the traceback is in {path}")
        return ExitCode.BUG


def _crash_log(text: str) -> str:
    fd, path = tempfile.mkstemp(prefix="qlik-migrate-crash-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(redact_text(text))
    return path


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

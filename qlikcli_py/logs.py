"""structlog, configured once at the entry point: JSON lines for cron and files, readable text on a
terminal. Every event passes through the redactor, so a token can never reach a log line."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any
from typing import BinaryIO

import orjson
import structlog

from qlikcli_py.errors import UsageProblem
from qlikcli_py.redact import redact_text

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR,
           "critical": logging.CRITICAL}


def _redact(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact_text(value)
        elif isinstance(value, (tuple, list)):
            event[key] = [redact_text(v) if isinstance(v, str) else v for v in value]
    return event


_configured: dict[str, Any] = {}


def configure(fmt: str = "auto", level: str | None = None, log_file: Path | None = None) -> BinaryIO | None:
    """fmt: auto (console on a terminal, JSON otherwise), json or console. Returns the opened log
    file, if any, for the caller to close."""
    stream: BinaryIO | None = None
    if log_file is not None:
        old = os.umask(0o077)
        try:
            stream = open(log_file, "ab")  # noqa: SIM115 (closed by the caller at exit)
        except OSError as e:  # a usage problem (a cron line writing to /var/log as a plain user), not a bug
            raise UsageProblem(f"--log-file {log_file} cannot be opened for writing ({e.strerror}): "
                               f"choose a writable file, or leave --log-file out to log to stderr") from e
        finally:
            os.umask(old)
    _setup(fmt, level, stream)
    return stream


def _setup(fmt: str, level: str | None, stream: BinaryIO | None) -> None:
    as_json = fmt == "json" or stream is not None or (fmt == "auto" and not sys.stderr.isatty())
    # Every step's info line belongs in a log file; on stderr (a terminal, or the mail cron sends
    # of whatever a job prints) only warnings and errors.
    default = "info" if stream is not None else "warning"
    _configured.update(fmt=fmt, level=level, stream=stream)
    wanted = _LEVELS.get((level or default).lower(), logging.INFO)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    if as_json:
        processors = [*shared, structlog.processors.dict_tracebacks,
                      structlog.processors.JSONRenderer(serializer=orjson.dumps)]
        factory: Any = structlog.BytesLoggerFactory(stream or sys.stderr.buffer)
    else:
        colors = _colors()
        processors = [*shared, structlog.dev.ConsoleRenderer(colors=colors)]
        factory = structlog.PrintLoggerFactory(sys.stderr)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(wanted),
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )


def quiet() -> None:
    """--quiet: nothing on stderr but the command's own summary line, unless a log level was asked
    for. A --log-file keeps everything it was configured for."""
    if _configured.get("stream") is None and _configured.get("level") is None:
        _setup(str(_configured.get("fmt", "auto")), "critical", None)


def _colors() -> bool:
    # A ConsoleRenderer we build ourselves does not read NO_COLOR / FORCE_COLOR: do it here.
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stderr.isatty()

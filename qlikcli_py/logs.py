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

from qlikcli_py.redact import redact_text

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def _redact(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact_text(value)
        elif isinstance(value, (tuple, list)):
            event[key] = [redact_text(v) if isinstance(v, str) else v for v in value]
    return event


def configure(fmt: str = "auto", level: str | None = None, log_file: Path | None = None) -> BinaryIO | None:
    """fmt: auto (console on a terminal, JSON otherwise), json or console. Returns the opened log
    file, if any, for the caller to close."""
    stream: BinaryIO | None = None
    if log_file is not None:
        old = os.umask(0o077)
        try:
            stream = open(log_file, "ab")  # noqa: SIM115 (closed by the caller at exit)
        finally:
            os.umask(old)
    as_json = fmt == "json" or stream is not None or (fmt == "auto" and not sys.stderr.isatty())
    default = "info" if as_json else "warning"
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
    return stream


def _colors() -> bool:
    # A ConsoleRenderer we build ourselves does not read NO_COLOR / FORCE_COLOR: do it here.
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stderr.isatty()

"""Run one simulator command on behalf of an HTTP or engine request, and log it like `qlik` does."""

from __future__ import annotations

import re
import time

from qliksim import faults
from qliksim.argv import Invocation
from qliksim.call import Call
from qliksim.errors import SimError
from qliksim.qlik import _Record, apply_model, log_call
from qliksim.store import Tx, connect, meta
from qliksim.surface import COMMANDS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

BY_PATH = {cmd.path: cmd for cmd in COMMANDS}
_CONTEXT_COLUMNS = "name, server, server_type, comment, identity, admin_apps"


class Caller:
    """Who is calling: a context of the world, found by its bearer token."""

    __slots__ = ("context",)

    def __init__(self, context: dict[str, Any]) -> None:
        self.context = context

    @property
    def name(self) -> str:
        return str(self.context["name"])


def authenticate(state: str, authorization: str | None) -> Caller | None:
    """The context whose token is `authorization` ("Bearer X"), or None."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    conn = connect(state)
    try:
        cur = conn.execute(f"SELECT {_CONTEXT_COLUMNS} FROM contexts WHERE token = ?", ("Bearer " + authorization[7:].strip(),))
        row = cur.fetchone()
        return Caller(dict(zip([d[0] for d in cur.description], row))) if row else None
    finally:
        conn.close()


def run(state: str, base_url: str, caller: Caller, path: str, flags: dict[str, Any], args: list[str] | None = None, *, via: str = "") -> Any:
    """The handler's result for command `path`; raises SimError as the simulator's `qlik` would.

    The caller's context is served at this server's URL, so links in answers point back here.
    """
    cmd = BY_PATH[path]
    start = time.time()
    record = _Record()
    record.command, record.tier, record.context = cmd.path, cmd.tier, caller.name
    trace = [""]
    code = 1
    conn = connect(state)
    try:
        with Tx(conn):
            knobs = faults.load(conn)
            seed = meta(conn, "seed")
        call = Call(Invocation(cmd, dict(flags), list(args or [])), conn, dict(caller.context, server=base_url), knobs, seed, start, state)
        result, _noise = apply_model(call, knobs, record, trace)
        code = 0
        return result
    except SimError as exc:
        record.fault = record.fault or exc.fault
        raise
    finally:
        conn.close()
        log_call(state, ["serve", via or path], record, code, start)


_WAIT = re.compile(r"wait (\d+) seconds")


def retry_after(detail: str) -> int | None:
    """The seconds a 429 from the rate limiter asks for (its detail says them)."""
    found = _WAIT.search(detail)
    return int(found.group(1)) if found else None

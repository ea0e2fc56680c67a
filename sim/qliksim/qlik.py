"""`qlik` as the simulator answers it: parse, apply knobs, run the handler, print, log.

Start-up matters (every simulated call is a new process), so this module imports only the
stdlib, the parser and the store; handlers are imported by name when their command runs, and
orjson only when JSON is printed.
"""

from __future__ import annotations

import os
import sys
import time

from qliksim import faults, runtime
from qliksim.argv import Help, parse
from qliksim.call import Call
from qliksim.errors import HttpError, NoServer, SimError, UsageError, status_line
from qliksim.output import iso_now, json_line
from qliksim.store import StateMissing, Tx, connect

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

STATE_ENV = "QLIK_SIM_STATE"
EXIT_CRASH = 70  # EX_SOFTWARE: never produced by the real qlik-cli (0 or 1 only)
_SECRET_FLAGS = ("--api-key", "--oauth-client-secret")


class _Record:
    """What goes into the call log for this call."""

    __slots__ = ("command", "context", "tier", "fault")

    def __init__(self) -> None:
        self.command: str | None = None
        self.context: str | None = None
        self.tier: str | None = None
        self.fault: str | None = None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    start = time.time()
    state = os.environ.get(STATE_ENV, "")
    if not state or not os.path.isfile(state):
        what = "is not set" if not state else f"points to {state!r}, which does not exist"
        sys.stderr.write(f"Error: {STATE_ENV} {what} (the simulator's world file; create one with `qlik-sim seed demo --state FILE`)\n")
        return 1
    record = _Record()
    out, err, code = b"", b"", 0
    # From the raw argv: the error may come from parsing itself.
    json_mode = "--json" in argv or any(a in ("--json=true", "--json=1", "--json=t", "--json=True", "--json=TRUE", "--json=T") for a in argv)
    trace = [""]
    try:
        out, err = _run(argv, state, start, record, trace)
    except Help as help_:
        out = help_.text().encode()
        record.tier = record.tier or "local"  # help text costs the server nothing
    except SimError as exc:
        record.fault = record.fault or exc.fault
        out, err = exc.render(json_mode, trace[0] or "0000000000000000")
        code = 1
    except StateMissing:
        out, err, code = b"", f"Error: {STATE_ENV} points to a missing file\n".encode(), 1
    except Exception:  # a simulator bug: loud, and distinct from qlik-cli's exit 1
        import traceback

        out, err, code = b"", f"simulator crashed:\n{traceback.format_exc()}".encode(), EXIT_CRASH
        record.fault = "sim-crash"
        runtime.append_crash(state, err.decode())  # the caller may keep only the first line
    _write(sys.stdout, out)
    _write(sys.stderr, err)
    log_call(state, argv, record, code, start)
    return code


def log_call(state: str, argv: list[str], record: _Record, code: int, start: float) -> None:
    """One line of the world's call log (shared with `qlik-sim serve`, which logs each request)."""
    entry = {
        "ts": iso_now(start),
        "pid": os.getpid(),
        "argv": redact(argv),
        "command": record.command,
        "context": record.context,
        "tier": record.tier,
        "exit": code,
        "start": round(start, 6),
        "end": round(time.time(), 6),
        "fault": record.fault,
    }
    runtime.append_log(state, json_line(entry))


def _write(stream: Any, data: bytes) -> None:
    if not data:
        return
    stream.flush()
    buffer = getattr(stream, "buffer", None)
    if buffer is None:  # a text-only stream (e.g. io.StringIO when main() is called in-process)
        stream.write(data.decode("utf-8", "replace"))
        stream.flush()
        return
    buffer.write(data)
    buffer.flush()


def redact(argv: list[str]) -> list[str]:
    """The argv with secrets replaced: Authorization header values, API keys, client secrets."""
    out: list[str] = []
    hide_next = headers_next = False
    for token in argv:
        if hide_next:
            out.append("***")
        elif headers_next:
            out.append(_redact_headers(token))
        elif token.startswith("--headers="):
            out.append("--headers=" + _redact_headers(token[10:]))
        elif any(token.startswith(f + "=") for f in _SECRET_FLAGS):
            out.append(token.partition("=")[0] + "=***")
        else:
            out.append(token)
        hide_next = token in _SECRET_FLAGS
        headers_next = token == "--headers"
    return out


def _redact_headers(value: str) -> str:
    pairs = []
    for pair in value.split(","):
        key, sep, val = pair.partition("=")
        pairs.append(f"{key}=***" if sep and key.strip().lower() in ("authorization", "cookie") else pair)
    return ",".join(pairs)


def _run(argv: list[str], state: str, start: float, record: _Record, trace: list[str]) -> tuple[bytes, bytes]:
    inv = parse(argv)
    cmd = inv.cmd
    record.command, record.tier = cmd.path, cmd.tier
    conn = connect(state)
    try:
        with Tx(conn):
            knobs = faults.load(conn)
            seed = conn.execute("SELECT value FROM meta WHERE key = 'seed'").fetchone()[0]
            name = inv.flags.get("context") or conn.execute("SELECT value FROM meta WHERE key = 'current_context'").fetchone()[0]
            context = _context(conn, str(name)) if name else None
        record.context = str(name) if name else None
        call = Call(inv, conn, context, knobs, seed, start, state)
        if cmd.tier == "local":
            return _finish(call, _handler(cmd.handler)(call), b"")
        if context is None:
            if name:
                raise NoServer(f"no context {name}")
            raise UsageError("no current context: pass --context NAME")
        return _run_api(call, knobs, record, trace)
    finally:
        conn.close()


def _context(conn: Any, name: str) -> dict[str, Any] | None:
    cur = conn.execute("SELECT name, server, server_type, comment, identity, admin_apps FROM contexts WHERE name = ?", (name,))
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row)) if row else None


def _run_api(call: Call, knobs: dict[str, Any], record: _Record, trace: list[str]) -> tuple[bytes, bytes]:
    result, warning = apply_model(call, knobs, record, trace)
    # REST calls print their status on stderr even on success (REAL, 1.4.0: `{"": "200 OK"}`
    # under --json, `200 OK` in text; -q prints none); engine and QRS calls are not recorded.
    err = b""
    if call.inv.cmd.tier in ("read", "write") and not call.flag("quiet"):
        err = status_line(200, bool(call.flag("json")))
    if warning and knobs["warnings_stream"] == "stdout":
        out, err = _finish(call, result, err)
        return warning + out, err
    return _finish(call, result, err + warning)


def apply_model(call: Call, knobs: dict[str, Any], record: _Record, trace: list[str]) -> tuple[object, bytes]:
    """One API call through the world's rules (rate limits, faults, the handler): the handler's
    result and any stderr noise. Shared with `qlik-sim serve`, which prints nothing itself."""
    cmd = call.inv.cmd
    latency = float(knobs["latency"])
    if latency > 0:
        time.sleep(latency)  # outside any transaction: parallel callers overlap
    rate = faults.parse_rate(knobs.get(f"rate_{cmd.tier}")) if cmd.tier in ("read", "write") else None
    tenant = faults.parse_rate(knobs.get("rate_tenant_write")) if cmd.tier == "write" else None
    held = None
    if knobs.get("throttle") and cmd.tier == "write":
        from qliksim.identities import throttled

        held = throttled(call.state_path, knobs, call.context["name"] if call.context else None, time.time())
    call.counter, wait = runtime.tick(call.state_path, call.identity, cmd.tier, None if held else rate, time.time(),
                                      None if held else tenant)
    from qliksim.ids import trace_id

    trace[0] = trace_id(call.seed, call.counter)
    wait = held or wait
    if wait is not None:
        raise HttpError(429, f"You need to wait {wait} seconds until limit is lifted.", title="API rate limit reached.")
    _check_server_type(call)
    dice = call.dice = faults.Dice(call.seed, call.counter, knobs)
    faultable = cmd.tier in str(knobs["fault_tiers"]).split(",")
    if faultable and dice.fail < float(knobs["fail_5xx"]):
        exc = HttpError(503, "service unavailable") if dice.fail_kind < 0.7 else HttpError(500, "internal server error")
        exc.fault = "fail_5xx"
        raise exc
    if faultable and dice.hang < float(knobs["hang"]):
        record.fault = "hang"
        _hang(call, record, knobs)
    result = _handler(cmd.handler)(call)
    if faultable and cmd.mutating and dice.abf < float(knobs["applied_but_failed"]):
        # The change is committed; the caller only sees a failure (or a call that never returns).
        if dice.abf_kind < 0.5:
            exc = HttpError(503, "service unavailable")
            exc.fault = "applied_but_failed"
        else:
            record.fault = "applied_but_failed"
            _hang(call, record, knobs)
            exc = HttpError(504, "gateway timeout")
            exc.fault = "applied_but_failed+hang"
        raise exc
    err = b""
    if dice.warn < float(knobs["warnings"]):
        err = (faults.warning_text(knobs, dice.warn_kind) + "\n").encode()
    return result, err


def _hang(call: Call, record: _Record, knobs: dict[str, Any]) -> None:
    """Sleep hang_seconds; log first, so a call killed by the caller's timeout is still visible."""
    runtime.append_log(
        call.state_path,
        json_line({"ts": iso_now(), "pid": os.getpid(), "event": "hang", "command": record.command, "context": record.context, "fault": record.fault}),
    )
    time.sleep(float(knobs["hang_seconds"]))


def _check_server_type(call: Call) -> None:
    """A QRS path on a Cloud tenant, or an /api/v1 path on a QSEoW proxy, is simply not there."""
    server_type = call.context["server_type"] if call.context else ""
    tier = call.inv.cmd.tier
    if tier == "qrs" and server_type != "windows":
        raise HttpError(404, "page not found")
    if call.inv.cmd.path == "app script get" and server_type == "windows":
        return  # the engine of a client-managed site answers through its proxy (reload_surface.py)
    if tier in ("read", "write", "engine") and server_type != "cloud":
        raise HttpError(404, "page not found", html=True)


def _handler(ref: str) -> Any:
    module, _, func = ref.partition(":")
    mod = __import__(f"qliksim.{module}", fromlist=[func])
    return getattr(mod, func)


def _finish(call: Call, result: object, err: bytes) -> tuple[bytes, bytes]:
    if result is None:
        return b"", err
    if isinstance(result, bytes):
        return result, err
    if isinstance(result, tuple):  # (stdout, stderr) from a handler that talks on stderr too
        return result[0], result[1] + err
    if isinstance(result, str):
        return (result if result.endswith("\n") or not result else result + "\n").encode(), err
    key = call.inv.cmd.quiet_key
    if call.flag("quiet") and key:
        items = result if isinstance(result, list) else [result]
        return "".join(f"{_dig(item, key)}\n" for item in items).encode(), err
    from qliksim.output import dumps

    return dumps(result), err


def _dig(item: Any, key: str) -> Any:
    for part in key.split("."):
        item = item.get(part, "") if isinstance(item, dict) else ""
    return item


if __name__ == "__main__":
    raise SystemExit(main())

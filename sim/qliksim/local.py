"""Commands that need no server: `version` and `context get|ls|use`. Never print the token."""

from __future__ import annotations

from qliksim.call import Call
from qliksim.errors import UsageError


def version(call: Call) -> str:
    return f"qlik version: {call.knobs['version']}"


def _lookup(call: Call, name: str) -> tuple[str, str, str, str]:
    row = call.conn.execute("SELECT name, server, server_type, comment FROM contexts WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise UsageError(f'context "{name}" does not exist')
    return row  # type: ignore[no-any-return]


def _current(call: Call) -> str:
    return str(call.conn.execute("SELECT value FROM meta WHERE key = 'current_context'").fetchone()[0] or "")


def context_get(call: Call) -> str:
    name = call.args[0] if call.args else (call.flag("context") or _current(call))
    if not name:
        return "No current context"
    name, server, server_type, comment = _lookup(call, name)
    return f"name: {name}\nserver: {server}\nserver-type: {server_type}\ncomment: {comment}\n"


def context_ls(call: Call) -> str:
    current = _current(call)
    rows = call.conn.execute("SELECT name, server, comment FROM contexts ORDER BY name").fetchall()
    lines = [f"{'Name':<34}{'Server':<42}{'Current':<12}Comment"]
    for name, server, comment in rows:
        lines.append(f"{name:<34}{server:<42}{'*' if name == current else '':<12}{comment}".rstrip())
    return "\n".join(lines) + "\n"


def context_use(call: Call) -> str:
    name = call.args[0]
    with call.write():
        _lookup(call, name)
        call.conn.execute("UPDATE meta SET value = ? WHERE key = 'current_context'", (name,))
    return f"Context: {name}"

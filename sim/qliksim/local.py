"""Commands that need no server: `version` and `context get|ls|use`. Never print the token."""

from __future__ import annotations

from qliksim.call import Call
from qliksim.errors import UsageError


def version(call: Call) -> str:
    # The real layout (1.4.0): `version: 1.4.0<TAB>branch: <TAB>commit: <sha>`. An empty version
    # knob prints no number, as 2.27.0 did (qlik-cli issue #40).
    return f"version: {call.knobs['version']}\tbranch: \tcommit: {_COMMIT}"


_COMMIT = "51a7e0c0ffee5eed51a7e0c0ffee5eed51a7e0c0"


def _lookup(call: Call, name: str) -> tuple[str, str, str, str]:
    row = call.conn.execute("SELECT name, server, server_type, comment FROM contexts WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise UsageError(f'context "{name}" does not exist')
    return row


def _find(call: Call, name: str) -> tuple[str, str, str, str] | None:
    return call.conn.execute("SELECT name, server, server_type, comment FROM contexts WHERE name = ?", (name,)).fetchone()  # type: ignore[no-any-return]


def _current(call: Call) -> str:
    return str(call.conn.execute("SELECT value FROM meta WHERE key = 'current_context'").fetchone()[0] or "")


def context_get(call: Call) -> str:
    name = call.args[0] if call.args else (call.flag("context") or _current(call))
    if not name:
        return "No current context"
    row = _find(call, name)
    if row is None:  # exit 0 (REAL, 1.4.0)
        return f"No context with name: '{name}'"
    name, server, server_type, comment = row
    # 1.4.0's layout (`Name:`, `Comment:`, `Server:`; credentials omitted as 2.16.0+ does). How
    # 2.x spells the server type is unknown: the knob picks the key; "" prints none, like 1.4.0.
    key = str(call.knobs["context_type_key"])
    kind = f"{key}: {server_type}\n" if key else ""
    return f"Name: {name}\nComment: {comment}\nServer: {server}\n{kind}"


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

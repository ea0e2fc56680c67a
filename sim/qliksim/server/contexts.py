"""`qlik-sim contexts`: the `qlik context create` lines that point a real qlik-cli at the server."""

from __future__ import annotations

import shlex

from qliksim.store import connect


def create_commands(state: str, url: str, qlik: str = "qlik") -> list[str]:
    """One command per context of the world. The API key is the context's simulated token (the
    server knows the identity behind it); windows contexts say so with --server-type (qlik-cli
    1.5.0+), cloud ones need nothing."""
    conn = connect(state)
    try:
        rows = conn.execute("SELECT name, server_type, comment, token FROM contexts ORDER BY name").fetchall()
    finally:
        conn.close()
    lines = []
    for name, server_type, comment, token in rows:
        key = token[7:] if token.lower().startswith("bearer ") else token
        argv = [qlik, "context", "create", name, "--server", url.rstrip("/"), "--api-key", key]
        if server_type == "windows":
            argv += ["--server-type", "windows"]
        if comment:
            argv += ["--comment", comment]
        lines.append(shlex.join(argv))
    return lines

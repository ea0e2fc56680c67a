"""More identities on the tenant: admin.apps bots (helpers) or plain users, each with a context,
and the knobs that make one of them misbehave.

Qlik counts rate limits per user (each OAuth client is a user of its own) and caps the tenant as
a whole; the world models both (`runtime.tick`). `throttle = "CONTEXT:SECONDS"` makes one context
answer 429 to every write (Tier 2) for SECONDS from its first write (a helper whose budget someone
else spends), so a tool's pool can be seen moving work to the others.
"""

from __future__ import annotations

import math
import os
import sqlite3

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CLOUD_SERVER = "https://acme.eu.qlikcloud.com"


def add_identity(state_path: str | os.PathLike[str], context: str, *, name: str = "", admin_apps: bool = True) -> str:
    """A new cloud user (a bot `qlikbot\\<id>` with admin.apps, or a plain user) and its context
    `context`; returns the user's id. The token is made up, like every world token."""
    from qliksim.store import Tx, connect

    conn = connect(os.fspath(state_path))
    try:
        with Tx(conn, write=True):
            n = conn.execute("SELECT count(*) FROM cloud_users").fetchone()[0]
            uid = f"{0xB07 << 84 | (n + 1) << 8 | len(context):024x}"[-24:]
            scopes = "admin.apps,admin_classic,user_default" if admin_apps else "user_default"
            subject = f"qlikbot\\{uid}" if admin_apps else f"ACME\\{context}"
            stamp = "2024-01-19T16:40:02.077Z"
            conn.execute(
                "INSERT INTO cloud_users (id, name, email, subject, status, created, updated, assigned_scopes, role) VALUES (?,?,?,?,?,?,?,?,?)",
                (uid, name or f"Helper {context}", "", subject, "active", stamp, stamp, scopes, "Professional"),
            )
            conn.execute(
                "INSERT INTO contexts (name, server, server_type, comment, token, identity, admin_apps) VALUES (?,?,?,?,?,?,?)",
                (context, CLOUD_SERVER, "cloud", "helper bot (OAuth M2M, admin.apps)" if admin_apps else "plain user",
                 f"Bearer eyJhbGciOiJFUzM4NCJ9.sim-{context}.sig", uid, int(admin_apps)),
            )
        return uid
    finally:
        conn.close()


def parse_throttle(value: object) -> tuple[str, float] | None:
    """"CONTEXT:SECONDS" -> (context, seconds), "" -> None."""
    if not value:
        return None
    name, _, seconds = str(value).rpartition(":")
    if not name or not seconds:
        raise ValueError(f"throttle must look like CONTEXT:SECONDS, got {value!r}")
    number = float(seconds)
    if number <= 0:
        raise ValueError(f"throttle needs SECONDS > 0, got {value!r}")
    return name, number


def throttled(state_path: str, knobs: dict[str, Any], context: str | None, now: float) -> int | None:
    """Seconds to wait when `context` is the throttled one and its time is not over, else None.
    The time starts at the context's first write (kept in the runtime file)."""
    rule = parse_throttle(knobs.get("throttle"))
    if rule is None or context != rule[0]:
        return None
    conn = sqlite3.connect(state_path + ".runtime", timeout=120.0, isolation_level=None)
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS throttle (context TEXT PRIMARY KEY, since REAL NOT NULL)")
        conn.execute("INSERT OR IGNORE INTO throttle (context, since) VALUES (?, ?)", (context, now))
        since = conn.execute("SELECT since FROM throttle WHERE context = ?", (context,)).fetchone()[0]
    finally:
        conn.close()
    left = since + rule[1] - now
    return max(1, math.ceil(left)) if left > 0 else None

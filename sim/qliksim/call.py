"""What a command handler gets: the parsed call, the caller's identity and the world."""

from __future__ import annotations

import sqlite3

from qliksim import ids
from qliksim.argv import Invocation
from qliksim.output import iso_now
from qliksim.store import Tx, next_counter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Call:
    __slots__ = ("inv", "conn", "context", "knobs", "seed", "now", "state_path", "counter", "dice")

    def __init__(
        self,
        inv: Invocation,
        conn: sqlite3.Connection,
        context: dict[str, Any] | None,
        knobs: dict[str, Any],
        seed: object,
        now: float,
        state_path: str,
    ) -> None:
        self.inv = inv
        self.conn = conn
        self.context = context
        self.knobs = knobs
        self.seed = seed
        self.now = now
        self.state_path = state_path
        self.counter = 0  # the runtime call counter, set by main for API calls
        self.dice: Any = None  # faults.Dice for API calls (handlers read e.g. dice.enospc)

    # --- argv ---
    def flag(self, name: str, default: Any = None) -> Any:
        return self.inv.flags.get(name, default)

    @property
    def args(self) -> list[str]:
        return self.inv.args

    # --- identity ---
    @property
    def identity(self) -> str:
        assert self.context is not None
        return str(self.context["identity"])

    @property
    def admin(self) -> bool:
        """An OAuth client with the admin.apps scope (a "private content bot")."""
        return bool(self.context and self.context["admin_apps"])

    @property
    def server(self) -> str:
        assert self.context is not None
        return str(self.context["server"]).rstrip("/")

    # --- world ---
    def read(self) -> Tx:
        return Tx(self.conn)

    def write(self) -> Tx:
        return Tx(self.conn, write=True)

    def stamp(self) -> str:
        return iso_now(self.now)

    def new_guid(self, kind: str) -> str:
        """A fresh id; call inside a write transaction (it bumps the world's id counter)."""
        return ids.guid(self.seed, kind, next_counter(self.conn))

    def new_hex24(self, kind: str) -> str:
        return ids.hex24(self.seed, kind, next_counter(self.conn))

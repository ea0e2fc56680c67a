"""Fault and performance knobs: what they mean, how they are stored, and the per-call dice.

Knobs live in the world's `knobs` table (plain SQLite values, no JSON, so reading them costs no
import). Randomness is reproducible: every call draws its dice from `Random(f"{seed}:call:{n}")`
where n is the call counter kept in the runtime file, so a sequential run with the same seed
meets the same faults at the same calls.
"""

from __future__ import annotations

import os
import sqlite3

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULTS: dict[str, Any] = {
    "latency": 0.0,  # seconds added to every API call (slept outside any DB transaction)
    "rate_read": "",  # "calls/window_seconds" per identity for the read tier, "" = unlimited
    "rate_write": "",  # same for the write tier
    "fail_5xx": 0.0,  # probability of 503/500 before the call does anything
    "hang": 0.0,  # probability of sleeping hang_seconds before doing the work
    "hang_seconds": 30.0,
    "applied_but_failed": 0.0,  # probability that a mutating call commits, then fails (5xx or hang)
    "warnings": 0.0,  # probability of a Warning:/new-version notice on success
    # Where that notice goes: qlik-cli 3.x prints its "being replaced" warning on a stream nobody
    # documents; on stdout it comes before the JSON answer.
    "warnings_stream": "stderr",
    "export_enospc": 0.0,  # probability that `qrs app export create` writes part of F then fails
    # What `qrs app export create` writes: the QVF, or what a misbehaving proxy or qlik-cli might
    # put in --output-file instead: an HTML error page (`html`) or the export ticket (`json`).
    "export_writes": "qvf",
    "version": "2.24.0",  # what `qlik version` prints ("" prints no number, as 2.27.0 did)
    "context_type_key": "Server Type",  # how `context get` names the server type ("" omits it)
    "fault_tiers": "read,write,engine",  # tiers fail_5xx/hang/applied_but_failed may hit
    # What the engine answers for another user's private object. Qlik does not document it: a
    # real engine may say "access denied" or "not found", and the tool must settle either way.
    "hidden_answer": "access_denied",
    # How engine errors are worded: `coded` (`5 GENERIC ACCESS DENIED`), `corectl` (as qlik-cli's
    # ancestor printed them: `no object by ID 'x'` without a code) or `novel` (no code, new words).
    # No 2.x/3.x engine error has been recorded, so the tool may not depend on the words.
    "engine_wording": "coded",
    # Whether `rm --no-save` outlives the qlik process that made it (`kept`: pending until a later
    # `app build` saves) or is lost with its engine session (`dropped`). Not documented either way.
    "unsaved_removals": "kept",
    # Whether `quota ls` answers this tenant's identities or refuses them (403): a tool must say
    # the quota check was skipped, and why.
    "quota_access": "allowed",
    # The tenant's cap over all identities (Qlik: user limit x users x 0.5, per tier), "" = none.
    "rate_tenant_write": "",
    "throttle": "",  # "CONTEXT:SECONDS": that context answers 429 to writes for SECONDS from its first write
    "hide_spaces_from": "",  # a context whose `space ls` lists only data spaces (a helper not in the spaces)
}
_CHOICES = {"hidden_answer": ("access_denied", "not_found"), "engine_wording": ("coded", "corectl", "novel"),
            "unsaved_removals": ("kept", "dropped")}
# Qlik's documented limits (https://qlik.dev/apis/rest/rate-limiting/): 1000 reads and 100 writes per
# minute per user and tier, evaluated over a 5-minute window, modelled as a sliding window of
# rate x 5 min. `rate_read="documented"` / `rate_write="documented"` pick them.
DOCUMENTED = {"rate_read": "5000/300", "rate_write": "500/300"}
PROBABILITIES = ("fail_5xx", "hang", "applied_but_failed", "warnings", "export_enospc")
TIERS = ("read", "write", "engine", "qrs", "local")


def load(conn: sqlite3.Connection) -> dict[str, Any]:
    knobs = dict(DEFAULTS)
    knobs.update(conn.execute("SELECT key, value FROM knobs").fetchall())
    return knobs


def parse_rate(value: object) -> tuple[int, float] | None:
    """"20/6", (20, 6) or "" -> (calls, window_seconds) or None."""
    if value in (None, "", 0):
        return None
    if isinstance(value, (tuple, list)):
        calls, window = value
    else:
        calls, _, window = str(value).partition("/")
        if not window:
            raise ValueError(f"rate must look like CALLS/SECONDS, got {value!r}")
    calls, window = int(calls), float(window)
    if calls < 1 or window <= 0:
        raise ValueError(f"rate needs calls >= 1 and window > 0, got {value!r}")
    return calls, window


def _normalise(key: str, value: Any) -> Any:
    if key == "throttle":
        from qliksim.identities import parse_throttle

        parse_throttle(value)
        return str(value)
    if key == "hide_spaces_from":
        return str(value)
    if key == "rate_tenant_write":
        rate = parse_rate(value)
        return "" if rate is None else f"{rate[0]}/{rate[1]:g}"
    if key in ("rate_read", "rate_write"):
        rate = parse_rate(DOCUMENTED[key] if value == "documented" else value)
        return "" if rate is None else f"{rate[0]}/{rate[1]:g}"
    if key == "fault_tiers":
        tiers = value.split(",") if isinstance(value, str) else list(value)
        tiers = [t.strip() for t in tiers if t.strip()]
        unknown = set(tiers) - set(TIERS)
        if unknown:
            raise ValueError(f"unknown tiers {sorted(unknown)}; known: {', '.join(TIERS)}")
        return ",".join(tiers)
    if key == "export_writes":
        if value not in ("qvf", "html", "json"):
            raise ValueError(f"export_writes is qvf, html or json, got {value!r}")
        return value
    if key == "warnings_stream":
        if value not in ("stderr", "stdout"):
            raise ValueError(f"warnings_stream is stderr or stdout, got {value!r}")
        return value
    if key in ("version", "context_type_key"):
        return str(value)
    if key in _CHOICES:
        if value not in _CHOICES[key]:
            raise ValueError(f"{key} is one of {', '.join(_CHOICES[key])}, got {value!r}")
        return value
    if key == "quota_access":
        if value not in ("allowed", "forbidden"):
            raise ValueError(f"quota_access is allowed or forbidden, got {value!r}")
        return value
    number = float(value)  # bools become 1.0/0.0: export_enospc=True means "always"
    if key in PROBABILITIES and not 0.0 <= number <= 1.0:
        raise ValueError(f"{key} is a probability, got {value!r}")
    if number < 0:
        raise ValueError(f"{key} must be >= 0, got {value!r}")
    return number


def configure(state_path: str | os.PathLike[str], **knobs: Any) -> dict[str, Any]:
    """Set knobs in the world at `state_path`; a value of None restores the default.

    `seed=N` re-seeds the world's randomness (fault dice and new ids). Returns the effective knobs.
    """
    from qliksim.store import Tx, connect

    conn = connect(os.fspath(state_path))
    try:
        with Tx(conn, write=True):
            for key, value in knobs.items():
                if key == "seed":
                    conn.execute("UPDATE meta SET value = ? WHERE key = 'seed'", (int(value),))
                    continue
                if key not in DEFAULTS:
                    raise ValueError(f"unknown knob {key!r}; known: {', '.join(sorted(DEFAULTS))}, seed")
                if value is None:
                    conn.execute("DELETE FROM knobs WHERE key = ?", (key,))
                else:
                    conn.execute("INSERT OR REPLACE INTO knobs (key, value) VALUES (?, ?)", (key, _normalise(key, value)))
        return load(conn)
    finally:
        conn.close()


def reset(state_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Every knob back to its default."""
    return configure(state_path, **{key: None for key in DEFAULTS})


class Dice:
    """The fixed sequence of draws for one call. Drawing all of them up front, always in the same
    order, keeps the fault pattern independent of which knobs are on."""

    __slots__ = ("fail", "fail_kind", "hang", "abf", "abf_kind", "warn", "warn_kind", "enospc")

    def __init__(self, seed: object, counter: int, knobs: dict[str, Any]) -> None:
        if any(float(knobs[k]) > 0 for k in PROBABILITIES):
            import random

            rng = random.Random(f"{seed}:call:{counter}")
            draws = [rng.random() for _ in range(8)]
        else:
            draws = [1.0] * 8  # nothing can fire: skip importing random
        (self.fail, self.fail_kind, self.hang, self.abf, self.abf_kind, self.warn, self.warn_kind, self.enospc) = draws


WARNINGS = (
    "Warning: This command is being replaced by a newer command and may be removed in a future release.",
    "A new version of qlik-cli is available: {new}. You are running {current}.",
)


def warning_text(knobs: dict[str, Any], kind: float) -> str:
    current = str(knobs["version"])
    major, _, rest = current.partition(".")
    new = f"{int(major) + 1}.0.0" if major.isdigit() else current
    return WARNINGS[int(kind * len(WARNINGS)) % len(WARNINGS)].format(new=new, current=current)

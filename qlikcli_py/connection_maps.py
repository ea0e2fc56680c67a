"""`--connection-map OLD=NEW` (repeatable) and `--connection-map-file CSV` (columns old,new): the
data connection names a migrated app's load script is rewritten with. Checked before anything
runs: a wrong map would rewrite scripts in ways a person has to undo by hand."""
from __future__ import annotations

import enum
from collections.abc import Iterable
from pathlib import Path

from qlikcli_py.errors import UsageProblem
from qlikcli_py.escapes import escape_controls
from qlikcli_py.load_scripts import check_map
from qlikcli_py.user_files import read_csv
from qlikcli_py.user_files import read_text


class ConnectionPolicy(enum.StrEnum):
    WARN = "warn"  # report missing connections, migrate anyway
    REQUIRE = "require"  # stop before the first export when any connection is missing


DEFAULT_POLICY = ConnectionPolicy.WARN


def load_map(pairs: Iterable[str], path: Path | None) -> dict[str, str]:
    mapping: dict[str, str] = {}
    where: dict[str, str] = {}

    def add(old: str, new: str, origin: str) -> None:
        old, new = old.strip(), new.strip()
        if not old or not new:
            raise UsageProblem(f"{origin}: both names are needed (OLD=NEW)")
        if old in mapping and mapping[old] != new:
            raise UsageProblem(f"{origin}: {escape_controls(old)!r} is renamed twice ({where[old]} says "
                               f"{escape_controls(mapping[old])!r}): keep one")
        mapping[old], where[old] = new, origin

    if path is not None:
        text = read_text(path, "connection map file")
        for row in read_csv(path, "connection map file", text, allowed=("old", "new"), required=("old", "new"),
                            hint="the header must be old,new"):
            add(row.values["old"], row.values["new"], f"connection map file {path} line {row.line}")
    for pair in pairs:
        if "=" not in pair:
            raise UsageProblem(f"--connection-map {escape_controls(pair)!r}: write it as OLD=NEW")
        old, new = pair.split("=", 1)
        add(old, new, f"--connection-map {escape_controls(pair)!r}")
    problems = check_map(mapping)
    if problems:
        raise UsageProblem(f"connection map: {escape_controls(problems[0])}")
    return mapping

"""The mapping file: `source,target` rows, each the operator's decision for one owner."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from qlikcli_py.errors import UsageProblem
from qlikcli_py.escapes import escape_controls as _show
from qlikcli_py.user_files import read_csv
from qlikcli_py.user_files import read_text

COLUMNS = ("source", "target")
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+")


@dataclass(frozen=True)
class MappingRow:
    source: str
    target: str
    line: int


def read_mapping_file(path: Path) -> dict[str, MappingRow]:
    """`source,target` CSV -> {lowercased source: row}. Strict (user_files.read_csv), and a row must
    name its owner as DIRECTORY\\userId or an email."""
    what = "mapping file"
    table = read_csv(path, what, read_text(path, what), allowed=COLUMNS, required=COLUMNS,
                     hint="the header must be source,target")
    rows: dict[str, MappingRow] = {}
    for record in table:
        _add_row(path, rows, _row(f"{what} {path} line {record.line}", record.line, record.values))
    return rows


def _row(where: str, line: int, values: dict[str, str]) -> MappingRow:
    source, target = values["source"], values["target"]
    for name, value in (("source", source), ("target", target)):
        if not value:
            raise UsageProblem(f"{where}: empty {name}")
    directory, sep, user = source.partition("\\")
    if not (sep and directory and user) and not _EMAIL_SHAPE.fullmatch(source):
        raise UsageProblem(f"{where}: source {_show(source)} is neither DIRECTORY\\userId nor an email")
    return MappingRow(source, target, line)


def _add_row(path: Path, rows: dict[str, MappingRow], row: MappingRow) -> None:
    key = row.source.lower()
    seen = rows.get(key)
    if seen is None:
        rows[key] = row
    elif seen.target.lower() != row.target.lower():
        raise UsageProblem(
            f"mapping file {path} lines {seen.line} and {row.line} map {_show(row.source)} to different "
            f"targets ({_show(seen.target)} and {_show(row.target)})"
        )

"""Files the operator writes (mapping file, manifest): read as UTF-8, CSV tables read strictly.

One strictness for every CSV the tool reads: a wrong row in a mapping file gives someone else's
private sheets away, a wrong manifest row moves the wrong app, so any doubt is a UsageProblem
naming the file and the line, raised before anything changes.
"""
from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from qlikcli_py.errors import UsageProblem
from qlikcli_py.escapes import escape_controls


@dataclass(frozen=True)
class CsvRow:
    line: int  # where the row starts in the file, for messages
    values: dict[str, str]  # column -> value, stripped; every header column present


def read_text(path: Path, what: str) -> str:
    """The file as text. `what` names it in messages ("mapping file", "manifest")."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageProblem(f"cannot read {what} {path}: {e.strerror or e}") from e
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UsageProblem(f"{what} {path} line 1: the file is UTF-16; save it as UTF-8")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise UsageProblem(f"{what} {path} line {line}: byte 0x{data[e.start]:02x} is not UTF-8; "
                           "save it as UTF-8") from None


def read_csv(path: Path, what: str, text: str, *, allowed: Sequence[str],
             required: Sequence[str] = (), hint: str) -> list[CsvRow]:
    """Rows of a CSV whose first non-blank line is a header of `allowed` column names (any case,
    each once, `required` ones present). Blank rows (or the `,,` a spreadsheet writes for an empty
    row) are skipped; every other row has exactly as many values as the header. `hint` ends the
    header messages, e.g. "the header must be source,target"."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[CsvRow] = []
    columns: list[str] | None = None
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise UsageProblem(f"{what} {path} line {reader.line_num}: {e}") from e
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        where = f"{what} {path} line {line}"
        if columns is None:
            columns = _header(where, values, allowed, required, hint)
            continue
        if len(values) != len(columns):
            raise UsageProblem(f"{where}: {len(values)} values, but the header has {len(columns)}")
        rows.append(CsvRow(line, {name: value.strip() for name, value in zip(columns, values, strict=True)}))
    if columns is None:
        raise UsageProblem(f"{what} {path} is empty: it needs a header line {','.join(required or allowed)}")
    return rows


def _header(where: str, values: list[str], allowed: Sequence[str], required: Sequence[str],
            hint: str) -> list[str]:
    names = [v.strip().lower() for v in values]
    for name in names:
        if name not in allowed:
            raise UsageProblem(f"{where}: unknown column {escape_controls(name)} ({hint})")
        if names.count(name) > 1:
            raise UsageProblem(f"{where}: column {name} appears twice")
    for name in required:
        if name not in names:
            raise UsageProblem(f"{where}: missing column {name} ({hint})")
    return names

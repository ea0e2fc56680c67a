"""Batch manifests (TOML or CSV): which source apps go to which spaces.

A row names one app by id, or every app of a stream, or the apps a QRS filter selects; its spaces
and options fall back to the manifest's defaults, then to the command line.

TOML:
    [defaults]
    shared_space = "Finance Dev"
    managed_space = "Finance"
    [[app]]
    id = "5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c"
    [[app]]
    stream = "Sales"
    managed_space = "Sales"
CSV: a header row with any of app_id, stream, filter, shared_space, managed_space, skip_data.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qlikcli_py.errors import UsageProblem
from qlikcli_py.filters import is_guid
from qlikcli_py.filters import qrs_eq
from qlikcli_py.planning import AppSpec
from qlikcli_py.source import Source
from qlikcli_py.user_files import read_csv
from qlikcli_py.user_files import read_text

COLUMNS = ("app_id", "stream", "filter", "shared_space", "managed_space", "skip_data")
_TOML_KEYS = {"id": "app_id", "app_id": "app_id", "stream": "stream", "filter": "filter",
              "shared_space": "shared_space", "managed_space": "managed_space", "skip_data": "skip_data"}


@dataclass(frozen=True)
class Row:
    where: str  # "manifest.csv line 3" for messages
    app_id: str = ""
    stream: str = ""
    filter: str = ""
    shared_space: str = ""
    managed_space: str = ""
    skip_data: bool | None = None


def load(path: Path, *, shared: str, managed: str, skip_data: bool) -> list[Row]:
    text = read_text(path, "manifest")
    rows = _toml_rows(path, text) if path.suffix.lower() == ".toml" else _csv_rows(path, text)
    if not rows:
        raise UsageProblem(f"manifest {path} lists no apps")
    out = []
    seen: dict[tuple[str, str, str], str] = {}
    for row in rows:
        picks = [k for k in ("app_id", "stream", "filter") if getattr(row, k)]
        if len(picks) != 1:
            raise UsageProblem(f"{row.where}: give exactly one of app_id, stream or filter (found {picks or 'none'})")
        if row.app_id and not is_guid(row.app_id):
            raise UsageProblem(f"{row.where}: {row.app_id!r} is not a QRS app id (a GUID)")
        row = Row(row.where, row.app_id.lower(), row.stream, row.filter, row.shared_space or shared,
                  row.managed_space or managed, skip_data if row.skip_data is None else row.skip_data)
        if not row.shared_space or not row.managed_space:
            raise UsageProblem(f"{row.where}: no shared_space/managed_space here, in [defaults] or on the command line")
        key = (row.app_id, row.stream, row.filter)
        if key in seen:
            raise UsageProblem(f"{row.where} repeats {seen[key]}: remove one of them")
        seen[key] = row.where
        out.append(row)
    return out


def _toml_rows(path: Path, text: str) -> list[Row]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsageProblem(f"manifest {path} is not valid TOML: {e}") from e
    unknown = set(doc) - {"defaults", "app"}
    if unknown:
        raise UsageProblem(f"manifest {path}: unknown tables {sorted(unknown)} (expected [defaults] and [[app]])")
    given = doc.get("defaults", {})
    if isinstance(given, dict):  # its helper contexts are read by identity_options.py
        given = {k: v for k, v in given.items() if k != "helper_context"}
    defaults = _toml_fields(f"{path} [defaults]", given, allow=("shared_space", "managed_space", "skip_data"))
    rows = []
    for i, entry in enumerate(doc.get("app", []), 1):
        fields = {**defaults, **_toml_fields(f"{path} [[app]] #{i}", entry)}
        rows.append(Row(where=f"{path} [[app]] #{i}", **fields))
    return rows


def _toml_fields(where: str, table: Any, allow: tuple[str, ...] | None = None) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise UsageProblem(f"{where}: expected a table")
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = _TOML_KEYS.get(key)
        if name is None or (allow is not None and name not in allow):
            keys = ", ".join(allow or sorted(set(_TOML_KEYS) - {"app_id"}))
            raise UsageProblem(f"{where}: unknown key {key!r} (allowed here: {keys})")
        if name == "skip_data":
            if not isinstance(value, bool):
                raise UsageProblem(f"{where}: skip_data must be true or false")
        elif not isinstance(value, str):
            raise UsageProblem(f"{where}: {key} must be a string")
        out[name] = value
    return out


def _csv_rows(path: Path, text: str) -> list[Row]:
    rows = []
    for record in read_csv(path, "manifest", text, allowed=COLUMNS, hint=f"allowed: {', '.join(COLUMNS)}"):
        values = dict(record.values)
        where = f"{path} line {record.line}"
        skip = values.pop("skip_data", "")
        if skip.lower() not in ("", "true", "false", "yes", "no", "1", "0"):
            raise UsageProblem(f"{where}: skip_data must be true or false, not {skip!r}")
        rows.append(Row(where=where, skip_data=None if not skip else skip.lower() in ("true", "yes", "1"), **values))
    return rows


async def expand(rows: list[Row], source: Source) -> list[AppSpec]:
    """Rows to one AppSpec per app; an app reached by two rows must get the same spaces."""
    specs: dict[str, AppSpec] = {}
    origin: dict[str, str] = {}
    for row in rows:
        if row.app_id:
            ids = [row.app_id]
        else:
            qrs_filter = qrs_eq("stream.name", row.stream) if row.stream else row.filter
            ids = [a.id for a in await source.apps(qrs_filter)]
            if not ids:
                raise UsageProblem(f"{row.where}: selects no app on the source ({qrs_filter})")
        for app_id in ids:
            spec = AppSpec(app_id, row.shared_space, row.managed_space, bool(row.skip_data))
            if app_id in specs and specs[app_id] != spec:
                raise UsageProblem(f"app {app_id} is selected by {origin[app_id]} and {row.where} "
                                   "with different spaces or options")
            specs.setdefault(app_id, spec)
            origin.setdefault(app_id, row.where)
    return list(specs.values())

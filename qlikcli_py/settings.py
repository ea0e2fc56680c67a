"""What a command was asked to do, gathered from flags, environment and config file."""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from qlikcli_py.mapping import MappingOptions
from qlikcli_py.planning import AppSpec
from qlikcli_py.session import Connection


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


@dataclass
class RunOptions:
    """How the write engine runs: where exports go and what it may redo or skip."""

    export_dir: Path
    force: bool = False
    max_imports: int | None = None
    keep_exports: bool = False
    retry_failed: bool = False  # hand over again objects that failed for good in earlier runs
    connection_map: dict[str, str] = field(default_factory=dict)  # OLD -> NEW data connection names
    connections: str = "warn"  # ConnectionPolicy: warn | require


@dataclass
class Settings:
    conn: Connection
    state_dir: Path
    specs: list[AppSpec]
    mapping: MappingOptions
    run: RunOptions
    manifest: Path | None = None
    report: Path | None = None
    csv: Path | None = None
    run_id: str = field(default_factory=new_run_id)

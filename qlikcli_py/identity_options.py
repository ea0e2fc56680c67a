"""Where `--helper-context` comes from: the flag (repeatable) or QLIK_MIGRATE_HELPER_CONTEXT
(space-separated), the config file (`helper-context = ["bot1", "bot2"]` or one name), else the
TOML manifest's `[defaults] helper_context`. Checked for shape here; for what they are, by
helper_checks.py."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from qlikcli_py.errors import UsageProblem

MANIFEST_KEY = "helper_context"


def helper_contexts(p: dict[str, Any]) -> tuple[str, ...]:
    given = p.get("helper_context") or ()
    names = _names(given, "--helper-context")
    if not names and p.get("manifest") is not None:
        names = manifest_helpers(Path(p["manifest"]))
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageProblem(f"--helper-context {dupes[0]!r} is given twice: name each helper once")
    return tuple(names)


def manifest_helpers(path: Path) -> list[str]:
    """`[defaults] helper_context` of a TOML manifest (a CSV manifest has no defaults)."""
    if path.suffix.lower() != ".toml":
        return []
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []  # the manifest's own reader says what is wrong with it
    defaults = doc.get("defaults")
    if not isinstance(defaults, dict) or MANIFEST_KEY not in defaults:
        return []
    return _names(defaults[MANIFEST_KEY], f"manifest {path} [defaults] {MANIFEST_KEY}")


def _names(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
        raise UsageProblem(f"{where} must be context names (a list of strings)")
    return [v.strip() for v in value]

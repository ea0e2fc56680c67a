"""What `qlik version` prints, and which qlik-cli version added what the migration uses.

The real 1.4.0 prints `version: 1.4.0<TAB>branch: <TAB>commit: <sha>` (no `qlik ` prefix); 2.27.0
printed `version:  branch:  commit:` with no number (qlik-cli issue #40); a 3.x parser in the wild
expects `version: X.Y.Z<TAB>commit: ...`; the Homebrew formula's test says `qlik version: X`. All of
them are read here; a build that prints no number is `None` (the caller warns and goes on).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MIN_VERSION = (2, 24, 0)
MIN_VERSION_TEXT = "2.24.0"

_NUMBER = re.compile(r"(?im)^\s*(?:qlik\s+)?version:[ \t]*v?(\d+)\.(\d+)\.(\d+)(\S*)")
_EMPTY = re.compile(r"(?im)^\s*(?:qlik\s+)?version\s*:")


UNKNOWN_VERSION = "unknown"  # what a build that prints no version number is recorded as


@dataclass(frozen=True)
class Version:
    numbers: tuple[int, int, int] | None  # None: the build printed no number
    text: str  # as printed, with any suffix ("2.15.1-dev"), or "unknown"

    @property
    def known(self) -> bool:
        return self.numbers is not None


def read_version(stdout: str) -> Version | None:
    """The version in `qlik version`'s output; Version(None, "unknown") for a version line without
    a number; None when the output has no version line at all."""
    m = _NUMBER.search(stdout)
    if m:
        numbers = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return Version(numbers, ".".join(str(n) for n in numbers) + m.group(4))
    if _EMPTY.search(stdout):
        return Version(None, UNKNOWN_VERSION)
    return None


# The first qlik-cli version with each command / flag the migration passes (qlik-cli CHANGELOG,
# reference §4; `publish --moveApp` and `user ls --filter` have no CHANGELOG entry: the tutorial
# that uses them needs 2.24.0, so that is what is named).
COMMAND_ADDED = {
    "qrs": "1.5.0",
    "app object change-owner": "2.20.0",
}
FLAG_ADDED = {
    ("context create", "--server-type"): "1.5.0",
    ("app import", "--resumable"): "2.2.0",
    ("app publish create", "--moveApp"): MIN_VERSION_TEXT,
    ("app publish create", "--originAppId"): MIN_VERSION_TEXT,
    ("user ls", "--filter"): MIN_VERSION_TEXT,
}


def command_added_in(command: str) -> str:
    """The version that added `command` (a path such as "qrs app get"), or the minimum."""
    best = ""
    for prefix in COMMAND_ADDED:
        if (command == prefix or command.startswith(prefix + " ")) and len(prefix) > len(best):
            best = prefix
    return COMMAND_ADDED.get(best, MIN_VERSION_TEXT)


def flag_added_in(command: str, flag: str) -> str:
    return FLAG_ADDED.get((command, flag), command_added_in(command))

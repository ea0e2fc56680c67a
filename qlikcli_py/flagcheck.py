"""Ask the qlik binary what it accepts: `qlik COMMAND --help` for every command the migration runs,
and every flag the tool passes looked up in the flags it lists.

Flags are case-sensitive and the sources disagree (the QRS Swagger says `exportscope`/`skipdata`,
the tutorial writes `--exportScope`), so a flag listed under another spelling (case, dashes) is
used in that spelling; a missing command or flag is named with the qlik-cli version that added it.
A command this binary lacks shows up either as an error (`unknown command "qrs" for "qlik"`) or as
its group's help with exit 0 (REAL, 1.4.0). The answer is cached per binary path and version.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from qlikcli_py import versions
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.errors import QlikError
from qlikcli_py.failures import help_command
from qlikcli_py.qlik import Qlik
from qlikcli_py.vocabulary import FailureKind

# Every command the migration runs and the flags it passes (besides --json and --context, which
# every API command takes). Keep in step with source.py and target.py: tests/test_run_sequence.py
# checks a whole run's argv against it.
USED: dict[str, tuple[str, ...]] = {
    "qrs app count": ("--insecure",),
    "qrs app get": (),
    "qrs app full": ("--filter",),
    "qrs app export create": ("--exportScope", "--output-file", "--skipdata"),
    "qrs app object full": ("--filter",),
    "qrs user full": ("--filter",),
    "user me": (),
    "user count": (),
    "user ls": ("--filter", "--fields", "--limit"),
    "space ls": ("--limit",),
    "app import": ("--file", "--spaceId", "--name", "--resumable"),
    "app get": (),
    "app ls": ("--spaceId", "--limit"),
    "app copy": ("--attributes-name", "--attributes-spaceId"),
    "app object change-owner": ("--appId", "--objectId", "--ownerId"),
    "app publish create": ("--spaceId", "--moveApp", "--originAppId"),
    "app object ls": ("--app", "--no-data", "--headers"),
    "app object layout": ("--app", "--no-data"),
    "app object unpublish": ("--app", "--no-data"),
    "app object rm": ("--app", "--no-save", "--no-data"),
    # every group is listed (verify, settling, the copy's clean-up): what an identity sees is what it lists
    "app bookmark ls": ("--app", "--no-data", "--headers"),
    "app dimension ls": ("--app", "--no-data", "--headers"),
    "app measure ls": ("--app", "--no-data", "--headers"),
    # bookmarks, snapshots, master dimensions and measures have their own engine command groups
    **{f"app {group} {verb}": flags for group in ("bookmark", "dimension", "measure")
       for verb, flags in (("layout", ("--app", "--no-data")), ("unpublish", ("--app", "--no-data")),
                           ("rm", ("--app", "--no-save", "--no-data")))},
    "app build": ("--app", "--no-reload", "--no-data"),
    # will it reload (checks/reload.py, migration/scripts.py)
    "app script get": ("--app",),
    "app script set": ("--app",),
    "app connection ls": ("--app",),
    "data-connection ls": ("--spaceId", "--limit"),
    "quota ls": ("--reportUsage",),
    # sync (migration/sync.py): property trees from the temporary app, created in the migrated
    # app, community ones published, the temporary app deleted
    "app object properties": ("--app", "--full", "--no-data"),
    "app object set": ("--app", "--no-save", "--no-data"),
    "app object publish": ("--app", "--no-data"),
    "app rm": (),
}
GLOBAL = ("--json", "--context")
_FLAG_LINE = re.compile(r"^\s+(?:-\w, )?(--[A-Za-z0-9][\w-]*)")
_USAGE_PATH = re.compile(r"(?m)^Usage:[ \t]*\n[ \t]+qlik((?: [\w-]+)*)")
CACHE_FORMAT = 1


@dataclass
class FlagReport:
    version: str
    missing_commands: dict[str, str] = field(default_factory=dict)  # command -> version that added it
    missing_flags: dict[str, str] = field(default_factory=dict)  # "command --flag" -> version
    spellings: dict[str, str] = field(default_factory=dict)  # flag as the tool writes it -> as listed
    # command -> why its `--help` could not be read (timed out, crashed): no verdict, never cached
    unread: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.missing_commands or self.missing_flags or self.unread)

    def lines(self) -> list[str]:
        out = [f"no `{c}` (needs qlik-cli {v} or later)" for c, v in self.missing_commands.items()]
        out += [f"`{f}` not accepted (needs qlik-cli {v} or later)" for f, v in self.missing_flags.items()]
        out += [f"`qlik {c} --help` could not be read ({why}): run again" for c, why in self.unread.items()]
        return out

    def doc(self) -> dict[str, object]:
        return {"format": CACHE_FORMAT, "version": self.version, "missing_commands": self.missing_commands,
                "missing_flags": self.missing_flags, "spellings": self.spellings}


def listed_flags(help_text: str) -> set[str]:
    """The flags a `--help` text lists under Flags: and Global Flags:."""
    return {m.group(1) for line in help_text.splitlines() if (m := _FLAG_LINE.match(line))}


def help_path(help_text: str) -> str:
    """The command whose help this is, from its first Usage line (`qlik app get <appId> [flags]`)."""
    m = _USAGE_PATH.search(help_text)
    return m.group(1).strip() if m else ""


def judge(command: str, help_text: str | QlikError | None, flags: tuple[str, ...], report: FlagReport) -> None:
    """Record in `report` what `help_text` (None: the binary refused `COMMAND --help`; an error: the
    call failed another way, which says nothing about the command) says."""
    if isinstance(help_text, QlikError):
        report.unread[command] = help_text.detail if isinstance(help_text, QlikCommandFailed) else str(help_text)
        return
    if help_text is None or help_command(help_text.encode()) is not None or help_path(help_text) != command:
        report.missing_commands[command] = versions.command_added_in(command)
        return
    listed = listed_flags(help_text)
    by_shape = {_shape(f): f for f in listed}
    for flag in (*flags, *GLOBAL):
        if flag in listed:
            continue
        other = by_shape.get(_shape(flag))
        if other is not None:
            report.spellings[flag] = other
        else:
            report.missing_flags[f"{command} {flag}"] = versions.flag_added_in(command, flag)


def _shape(flag: str) -> str:
    return flag.lstrip("-").replace("-", "").replace("_", "").lower()


async def check_flags(qlik: Qlik, cache_dir: Path | None = None) -> FlagReport:
    """Every command and flag of USED against this binary; cached per binary path and version in
    `cache_dir` (the state dir). Sets qlik.spellings so later calls use the listed spellings."""
    version = qlik.version
    cache = _cache_path(cache_dir, qlik.resolve(), version) if cache_dir is not None else None
    report = _load(cache, version) if cache is not None else None
    if report is None:
        report = FlagReport(version)
        # read concurrently (the runner bounds how many at once), judged in USED's order
        texts = await asyncio.gather(*(_help(qlik, command) for command in USED))
        for (command, flags), text in zip(USED.items(), texts, strict=True):
            judge(command, text, flags, report)
        if cache is not None and not report.unread:  # a verdict drawn from a failed call is not kept
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(report.doc(), indent=2) + "\n", encoding="utf-8")
    qlik.spellings.update(report.spellings)
    return report


async def _help(qlik: Qlik, command: str) -> str | QlikError | None:
    """The help text; None when the binary refuses the command as unknown (a usage error); the
    error when the call failed some other way (a timeout, a crash)."""
    try:
        return await qlik.help(*command.split())
    except QlikCommandFailed as e:
        return None if e.kind == FailureKind.USAGE else e
    except QlikError as e:
        return e


def _cache_path(cache_dir: Path, binary: str, version: str) -> Path:
    # size and mtime too: a build that prints no version number may be replaced in place; and what
    # is checked (USED): a newer qlik-migrate running more commands must not trust an older verdict
    path = Path(binary).resolve()
    stat = path.stat()
    used = json.dumps(USED, sort_keys=True)
    ident = f"{path}\0{version}\0{stat.st_size}\0{stat.st_mtime_ns}\0{used}"
    key = hashlib.sha256(ident.encode()).hexdigest()[:16]
    return cache_dir / f"qlik-flags-{key}.json"


def _load(path: Path, version: str) -> FlagReport | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != CACHE_FORMAT or doc.get("version") != version:
        return None
    return FlagReport(version, dict(doc.get("missing_commands") or {}), dict(doc.get("missing_flags") or {}),
                      dict(doc.get("spellings") or {}))

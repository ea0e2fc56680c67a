"""Owner-mapping options: the match order, the lookup strategy, --on-unmatched, all checked (and
the mapping file and rules compiled) before anything changes."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from qlikcli_py.errors import UsageProblem
from qlikcli_py.escapes import escape_controls as _show
from qlikcli_py.mapping.mapping_file import MappingRow
from qlikcli_py.mapping.mapping_file import read_mapping_file
from qlikcli_py.mapping.rules import Rule
from qlikcli_py.mapping.rules import parse_rule


class MatchSource(StrEnum):
    """Where an owner's cloud user was found (Resolution.rule); FALLBACK is --on-unmatched assign,
    not a source --match-order can name."""

    MAPPING = "mapping"
    RULES = "rules"
    SUBJECT = "subject"
    EMAIL = "email"
    FALLBACK = "fallback"


class Lookup(StrEnum):
    AUTO = "auto"  # whichever costs fewer calls for the owners at hand
    FILTER = "filter"  # one filtered `user ls` per attribute value
    LISTING = "listing"  # one listing of every user


class UnmatchedMode(StrEnum):
    SKIP = "skip"
    FAIL = "fail"
    ASSIGN = "assign"


SOURCES = (MatchSource.MAPPING, MatchSource.RULES, MatchSource.SUBJECT, MatchSource.EMAIL)
LOOKUPS = tuple(Lookup)
DEFAULT_LOOKUP = Lookup.AUTO
DEFAULT_ON_UNMATCHED = UnmatchedMode.SKIP
DEFAULT_LISTING_THRESHOLD = 20
ON_UNMATCHED_HELP = "skip, fail or assign:USER (USER = a cloud user id, subject or email)"


@dataclass(frozen=True)
class OnUnmatched:
    """What happens to an owner no match source finds a cloud user for.

    - `skip` (default): the owner's objects stay with the migration identity and are reported
      (exit code UNMATCHED). Nothing is given to a wrong user, and a later run can still hand the
      objects over once the user exists in Qlik Cloud: the safest choice that still completes.
    - `fail`: stop before any change with a MigrationError listing the unmatched owners (exit code
      STOPPED_UNMATCHED).
    - `assign:USER`: give the objects to USER (a cloud user id, subject or email, found the same
      way as a mapping target). An unresolvable USER is a UsageProblem before anything changes.
    """

    mode: str = DEFAULT_ON_UNMATCHED
    user: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in tuple(UnmatchedMode):
            raise UsageProblem(f"--on-unmatched must be {ON_UNMATCHED_HELP}, not {_show(self.mode)}")
        if (self.mode == UnmatchedMode.ASSIGN) != bool(self.user):
            raise UsageProblem(f"--on-unmatched must be {ON_UNMATCHED_HELP}: only assign takes a user")


def parse_on_unmatched(text: str) -> OnUnmatched:
    """`skip` | `fail` | `assign:USER` -> OnUnmatched. See OnUnmatched for what each does."""
    value = (text or "").strip()
    mode, sep, user = value.partition(":")
    mode = mode.strip().lower()
    if not sep and mode in (UnmatchedMode.SKIP, UnmatchedMode.FAIL):
        return OnUnmatched(UnmatchedMode(mode), None)
    if sep and mode == UnmatchedMode.ASSIGN and user.strip():
        return OnUnmatched(UnmatchedMode.ASSIGN, user.strip())
    raise UsageProblem(f"--on-unmatched must be {ON_UNMATCHED_HELP}, not {_show(value)}")


@dataclass(frozen=True)
class MappingOptions:
    order: tuple[str, ...] = SOURCES
    mapping_file: Path | None = None
    rules: tuple[str, ...] = ()
    lookup: str = DEFAULT_LOOKUP
    listing_threshold: int = DEFAULT_LISTING_THRESHOLD
    on_unmatched: OnUnmatched = OnUnmatched(DEFAULT_ON_UNMATCHED, None)


def parse_order(text: str | None) -> tuple[str, ...]:
    if text is None:
        return SOURCES
    names = tuple(part.strip().lower() for part in text.split(","))
    _check_order(names)
    return tuple(MatchSource(name) for name in names)


def load_options(order: str | None, mapping_file: Path | None, rules: Sequence[str], lookup: str,
                 on_unmatched: str, *,
                 listing_threshold: int = DEFAULT_LISTING_THRESHOLD) -> MappingOptions:
    """Build and check every option now: the mapping file is read and parsed, every rule compiled,
    so bad input stops the run before anything is changed."""
    options = MappingOptions(
        order=parse_order(order), mapping_file=mapping_file, rules=tuple(rules),
        lookup=(lookup or "").strip().lower(), listing_threshold=listing_threshold,
        on_unmatched=parse_on_unmatched(on_unmatched),
    )
    compile_options(options)
    return options


def _check_order(names: Sequence[str]) -> None:
    choices = ",".join(SOURCES)
    if not names or any(not n for n in names):
        raise UsageProblem(f"--match-order {_show(','.join(names))} has an empty name (choose from {choices})")
    for name in names:
        if name not in SOURCES:
            raise UsageProblem(f"--match-order: unknown source {_show(name)} (choose from {choices})")
    if len(set(names)) != len(names):
        raise UsageProblem(f"--match-order {_show(','.join(names))} names a source twice")


@dataclass(frozen=True)
class Compiled:
    order: tuple[str, ...]
    mapping: dict[str, MappingRow]
    rules: tuple[Rule, ...]


def compile_options(options: MappingOptions) -> Compiled:
    _check_order(options.order)
    if options.lookup not in LOOKUPS:
        raise UsageProblem(f"--lookup must be one of {', '.join(LOOKUPS)}, not {_show(options.lookup)}")
    if options.listing_threshold < 0:
        raise UsageProblem(f"listing threshold must be 0 or more, not {options.listing_threshold}")
    # A file or rules the order leaves out would be silently ignored: say so instead.
    if options.mapping_file is not None and MatchSource.MAPPING not in options.order:
        raise UsageProblem(f"--mapping-file was given but --match-order {','.join(options.order)} "
                           "leaves out mapping")
    if options.rules and MatchSource.RULES not in options.order:
        raise UsageProblem(f"--rewrite was given but --match-order {','.join(options.order)} leaves out rules")
    mapping = read_mapping_file(options.mapping_file) if options.mapping_file is not None else {}
    return Compiled(options.order, mapping, tuple(parse_rule(r) for r in options.rules))

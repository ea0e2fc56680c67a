"""Which Qlik Cloud user each client-managed owner (`DIRECTORY\\userId`) becomes.

Match sources, tried in a configurable order (default `mapping,rules,subject,email`):

- `mapping`: an explicit CSV file (`source,target`); source is `DIR\\userId` or an email, target a
  cloud user id, subject or email. A row is the operator's decision: when it decides, later
  sources are not consulted, and when its target has no cloud user the owner stays unmatched
  (falling through to a guess would overrule the file).
- `rules`: rewrite rules `PATTERN=TEMPLATE`, e.g. `ACME\\{userId}={userId}@acme.com`. The pattern
  is matched case-insensitively against the owner key; the template's value is compared with cloud
  subject or email. The first rule that finds a user wins.
- `subject`: cloud subject equals `DIR\\userId`.
- `email`: cloud email equals the owner's email attribute in QRS.

All comparisons ignore case. Users whose status is `disabled` or `deleted` are not eligible.
The first source in the order that finds exactly one eligible user decides and later sources are
not consulted, as Qlik's own migration tools do (subject first, e-mail only when the subject finds
no one): two on-prem accounts sharing an e-mail each keep their own cloud user by subject. A guess
is never a coin toss: when the first source that finds anyone finds two or more eligible users,
the owner is ambiguous. It is then unmatched (handled by --on-unmatched like any unmatched owner)
and reported with every candidate; the other owners, and the rest of the batch, are not affected.

Lookups: for a handful of owners, one `user ls --filter` per attribute value (cached, so owners
sharing a value share the call); for many owners, one listing of every user, indexed by
lowercased id, subject and email.
"""
from __future__ import annotations

import asyncio
import codecs
import csv
import io
import re
from collections.abc import Awaitable
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import TypeVar

from qlikcli_py.errors import ExitCode
from qlikcli_py.errors import MigrationError
from qlikcli_py.errors import UsageProblem
from qlikcli_py.filters import scim_eq
from qlikcli_py.models import CloudUser
from qlikcli_py.models import SourceOwner

if TYPE_CHECKING:
    from qlikcli_py.target import Target

SOURCES = ("mapping", "rules", "subject", "email")
LOOKUPS = ("auto", "filter", "listing")
DEFAULT_LISTING_THRESHOLD = 20
INELIGIBLE = frozenset({"disabled", "deleted"})
ON_UNMATCHED_HELP = "skip, fail or assign:USER (USER = a cloud user id, subject or email)"

# A Qlik Cloud user id is an opaque token of letters, digits, `-` and `_`. Only values of that
# shape are looked up by id: an email or `DIR\user` never is one, so that call would be wasted.
_ID_SHAPE = re.compile(r"[A-Za-z0-9_-]+")
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_T = TypeVar("_T")


class UnmatchedOwners(MigrationError):
    """--on-unmatched fail: the same cron action as a run with unmatched owners (exit 4)."""

    exit_code = ExitCode.UNMATCHED


# -- options -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OnUnmatched:
    """What happens to an owner no match source finds a cloud user for.

    - `skip` (default): the owner's objects stay with the migration identity and are reported
      (exit code UNMATCHED). Nothing is given to a wrong user, and a later run can still hand the
      objects over once the user exists in Qlik Cloud: the safest choice that still completes.
    - `fail`: stop with a MigrationError listing the unmatched owners.
    - `assign:USER`: give the objects to USER (a cloud user id, subject or email, found the same
      way as a mapping target). An unresolvable USER is a UsageProblem before anything changes.
    """

    mode: str = "skip"
    user: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("skip", "fail", "assign"):
            raise UsageProblem(f"--on-unmatched must be {ON_UNMATCHED_HELP}, not {_show(self.mode)}")
        if (self.mode == "assign") != bool(self.user):
            raise UsageProblem(f"--on-unmatched must be {ON_UNMATCHED_HELP}: only assign takes a user")


def parse_on_unmatched(text: str) -> OnUnmatched:
    """`skip` | `fail` | `assign:USER` -> OnUnmatched. See OnUnmatched for what each does."""
    value = (text or "").strip()
    mode, sep, user = value.partition(":")
    mode = mode.strip().lower()
    if not sep and mode in ("skip", "fail"):
        return OnUnmatched(mode, None)
    if sep and mode == "assign" and user.strip():
        return OnUnmatched("assign", user.strip())
    raise UsageProblem(f"--on-unmatched must be {ON_UNMATCHED_HELP}, not {_show(value)}")


@dataclass(frozen=True)
class MappingOptions:
    order: tuple[str, ...] = SOURCES
    mapping_file: Path | None = None
    rules: tuple[str, ...] = ()
    lookup: str = "auto"
    listing_threshold: int = DEFAULT_LISTING_THRESHOLD
    on_unmatched: OnUnmatched = OnUnmatched("skip", None)


def parse_order(text: str | None) -> tuple[str, ...]:
    if text is None:
        return SOURCES
    names = tuple(part.strip().lower() for part in text.split(","))
    _check_order(names)
    return names


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
    _compile(options)
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
class _Compiled:
    order: tuple[str, ...]
    mapping: dict[str, _Row]
    rules: tuple[_Rule, ...]


def _compile(options: MappingOptions) -> _Compiled:
    _check_order(options.order)
    if options.lookup not in LOOKUPS:
        raise UsageProblem(f"--lookup must be one of {', '.join(LOOKUPS)}, not {_show(options.lookup)}")
    if options.listing_threshold < 0:
        raise UsageProblem(f"listing threshold must be 0 or more, not {options.listing_threshold}")
    # A file or rules the order leaves out would be silently ignored: say so instead.
    if options.mapping_file is not None and "mapping" not in options.order:
        raise UsageProblem(f"--mapping-file was given but --match-order {','.join(options.order)} "
                           "leaves out mapping")
    if options.rules and "rules" not in options.order:
        raise UsageProblem(f"--rewrite was given but --match-order {','.join(options.order)} leaves out rules")
    mapping = read_mapping_file(options.mapping_file) if options.mapping_file is not None else {}
    return _Compiled(options.order, mapping, tuple(parse_rule(r) for r in options.rules))


# -- mapping file --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Row:
    source: str
    target: str
    line: int


def read_mapping_file(path: Path) -> dict[str, _Row]:
    """`source,target` CSV -> {lowercased source: row}. Strict: any doubt is a UsageProblem naming
    the line, because a wrong row silently gives someone else's private sheets away."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageProblem(f"cannot read mapping file {path}: {e.strerror or e}") from e
    reader = csv.reader(io.StringIO(_decode(path, data), newline=""), strict=True)
    rows: dict[str, _Row] = {}
    columns: dict[str, int] | None = None
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise UsageProblem(f"mapping file {path} line {reader.line_num}: {e}") from e
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue  # a blank line, or the `,` a spreadsheet writes for an empty row
        if columns is None:
            columns = _header(path, line, values)
            continue
        _add_row(path, rows, _row(path, line, values, columns))
    if columns is None:
        raise UsageProblem(f"mapping file {path} is empty: it needs a header line source,target")
    return rows


def _decode(path: Path, data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UsageProblem(f"mapping file {path} line 1: the file is UTF-16; save it as UTF-8")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise UsageProblem(f"mapping file {path} line {line}: byte 0x{data[e.start]:02x} is not UTF-8; "
                           "save the file as UTF-8") from None


def _header(path: Path, line: int, values: list[str]) -> dict[str, int]:
    names = [v.strip().lower() for v in values]
    where = f"mapping file {path} line {line}"
    for name in names:
        if name not in ("source", "target"):
            raise UsageProblem(f"{where}: unknown column {_show(name)} (the header must be source,target)")
        if names.count(name) > 1:
            raise UsageProblem(f"{where}: column {name} appears twice")
    for name in ("source", "target"):
        if name not in names:
            raise UsageProblem(f"{where}: missing column {name} (the header must be source,target)")
    return {name: i for i, name in enumerate(names)}


def _row(path: Path, line: int, values: list[str], columns: dict[str, int]) -> _Row:
    where = f"mapping file {path} line {line}"
    if len(values) != len(columns):
        raise UsageProblem(f"{where}: {len(values)} values, but the header has {len(columns)}")
    source, target = (values[columns[c]].strip() for c in ("source", "target"))
    for name, value in (("source", source), ("target", target)):
        if not value:
            raise UsageProblem(f"{where}: empty {name}")
    directory, sep, user = source.partition("\\")
    if not (sep and directory and user) and not _EMAIL_SHAPE.fullmatch(source):
        raise UsageProblem(f"{where}: source {_show(source)} is neither DIRECTORY\\userId nor an email")
    return _Row(source, target, line)


def _add_row(path: Path, rows: dict[str, _Row], row: _Row) -> None:
    key = row.source.lower()
    seen = rows.get(key)
    if seen is None:
        rows[key] = row
    elif seen.target.lower() != row.target.lower():
        raise UsageProblem(
            f"mapping file {path} lines {seen.line} and {row.line} map {_show(row.source)} to different "
            f"targets ({_show(seen.target)} and {_show(row.target)})"
        )


# -- rewrite rules -------------------------------------------------------------------------------
_TOKEN = re.compile(r"\{([^{}]*)\}|([^{}]+)|([{}])")
_RULE_OWNER_FIELDS = ("userId", "directory", "name", "email")


@dataclass(frozen=True)
class _Rule:
    text: str
    pattern: re.Pattern[str]
    template: tuple[tuple[str, bool], ...]  # (literal text | placeholder name, is placeholder)

    def apply(self, owner: SourceOwner) -> str | None:
        """The value this rule gives the owner, or None when the pattern does not match (or the
        template needs an email QRS does not have)."""
        m = self.pattern.fullmatch(owner.key)
        if m is None:
            return None
        values = {"userId": owner.user_id, "directory": owner.directory, "name": owner.name,
                  "email": owner.email or ""}
        values.update(m.groupdict())  # captured parts win: `ACME\adm_{userId}` gives the bare id
        parts = []
        for text, placeholder in self.template:
            if placeholder and not values[text]:
                return None
            parts.append(values[text] if placeholder else text)
        return "".join(parts)


def parse_rule(text: str) -> _Rule:
    """`PATTERN=TEMPLATE`. PATTERN is `DIRECTORY\\userId` with `{directory}` and/or `{userId}`
    standing for any text; TEMPLATE may use `{userId}`, `{directory}`, `{name}` and `{email}`."""
    rule = text.strip()
    where = f"rewrite rule {_show(rule)}"
    if rule.count("=") != 1:
        raise UsageProblem(f"{where}: write PATTERN=VALUE with exactly one '=', "
                           "e.g. ACME\\{userId}={userId}@acme.com")
    left, right = (side.strip() for side in rule.split("="))
    if not left or not right:
        raise UsageProblem(f"{where}: both sides of '=' must be non-empty")
    return _Rule(rule, _pattern(where, left), _template(where, right))


def _tokens(where: str, text: str, allowed: Sequence[str]) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    for m in _TOKEN.finditer(text):
        name, literal, stray = m.groups()
        if stray is not None:
            raise UsageProblem(f"{where}: unbalanced {stray!r} at character {m.start() + 1}")
        if name is not None and name not in allowed:
            raise UsageProblem(f"{where}: unknown placeholder {{{name}}} here "
                               f"(use {', '.join('{' + a + '}' for a in allowed)})")
        out.append((name, True) if name is not None else (literal, False))
    return out


def _pattern(where: str, left: str) -> re.Pattern[str]:
    # Owner keys have exactly one backslash between directory and userId; so must the pattern,
    # or `{userId}` alone would silently swallow the directory too.
    if left.count("\\") != 1:
        raise UsageProblem(f"{where}: the left side must be DIRECTORY\\userId with one backslash, "
                           "e.g. ACME\\{userId} or {directory}\\{userId}")
    directory, user = left.split("\\")
    if not directory or not user:
        raise UsageProblem(f"{where}: the left side needs both a directory and a userId part")
    regex = []
    for part, name, capture in ((directory, "directory", r"[^\\]+"), (user, "userId", r".+")):
        tokens = _tokens(where, part, (name,))
        if sum(1 for _, placeholder in tokens if placeholder) > 1:
            raise UsageProblem(f"{where}: {{{name}}} may appear only once on the left side")
        regex += [f"(?P<{name}>{capture})" if p else re.escape(t) for t, p in tokens]
        regex.append(re.escape("\\"))
    return re.compile("".join(regex[:-1]), re.IGNORECASE | re.DOTALL)


def _template(where: str, right: str) -> tuple[tuple[str, bool], ...]:
    return tuple(_tokens(where, right, _RULE_OWNER_FIELDS))


# -- results -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Resolution:
    owner: SourceOwner
    user: CloudUser | None  # None when unmatched
    rule: str | None  # "mapping" | "rules" | "subject" | "email" | "fallback"
    detail: str  # how it matched, or why not
    candidates: tuple[CloudUser, ...] = ()  # an ambiguous owner's eligible users, none chosen

    @property
    def matched(self) -> bool:
        return self.user is not None


@dataclass
class _Outcome:
    """What one source found for one owner."""

    matches: list[tuple[CloudUser, str]] = field(default_factory=list)  # eligible users
    looked_for: list[str] = field(default_factory=list)  # "subject X" when nobody had it
    notes: list[str] = field(default_factory=list)  # other reasons it found nobody
    explicit: bool = False  # a mapping row applied: the operator decided


# -- user index (the listing strategy) ------------------------------------------------------------
class _UserIndex:
    """Every user once, in three dicts by lowercased id, subject and email. A value is the user,
    or a tuple on the rare collision (which the matcher reports as a conflict): for 50,000 users
    this holds the CloudUser objects and the keys, nothing else."""

    __slots__ = ("_by",)

    def __init__(self, users: Iterable[CloudUser]) -> None:
        self._by: dict[str, dict[str, CloudUser | tuple[CloudUser, ...]]] = {
            "id": {}, "subject": {}, "email": {},
        }
        for user in users:
            for attr, index in self._by.items():
                value = getattr(user, attr)
                if value:
                    key = value.lower()
                    # reuse the user's own string when already lowercase: one less copy per key
                    _index_add(index, value if key == value else key, user)

    def find(self, attr: str, value: str) -> tuple[CloudUser, ...]:
        hit = self._by[attr].get(value.lower())
        if hit is None:
            return ()
        return hit if isinstance(hit, tuple) else (hit,)


def _index_add(index: dict[str, CloudUser | tuple[CloudUser, ...]], key: str, user: CloudUser) -> None:
    seen = index.get(key)
    if seen is None:
        index[key] = user
    elif isinstance(seen, tuple):
        index[key] = (*seen, user)
    else:
        index[key] = (seen, user)


# -- the mapper ----------------------------------------------------------------------------------
class OwnerMapper:
    """Resolves owners to cloud users; one instance per run, so a batch of apps shares lookups.

    `lookups` counts Target calls (filtered lookups plus listings); `strategy` is "filter" or
    "listing" once chosen (a listing, once loaded, answers everything afterwards).
    """

    def __init__(self, target: Target, options: MappingOptions) -> None:
        self._target = target
        self._options = options
        self._compiled = _compile(options)
        self.lookups = 0
        self.strategy: str | None = None
        self._index: _UserIndex | None = None
        self._found: dict[tuple[str, str], tuple[CloudUser, ...]] = {}
        self._pending: dict[tuple[str, str], asyncio.Task[tuple[CloudUser, ...]]] = {}
        self._resolved: dict[SourceOwner, Resolution] = {}
        self._fallback: CloudUser | None = None

    async def resolve(self, owners: Iterable[SourceOwner]) -> dict[str, Resolution]:
        """{SourceOwner.id: Resolution} for every owner (an ambiguous one is unmatched, with its
        candidates). Raises UsageProblem for an unresolvable assign:USER, MigrationError for
        unmatched owners under `fail`."""
        wanted = list(dict.fromkeys(owners))
        todo = [o for o in wanted if o not in self._resolved]
        # The fallback user is checked on the first call even when everyone matched: finding it
        # missing only when a later app has an unmatched owner would stop a run half done.
        need_fallback = self._options.on_unmatched.mode == "assign" and self._fallback is None
        if todo or need_fallback:
            await self._choose_strategy(len(todo))
        if need_fallback:
            self._fallback = await self._find_fallback()
        decided = await _gather(self._decide(o) for o in todo)
        for resolution in decided:
            self._resolved[resolution.owner] = self._with_fallback(resolution)
        result = {o.id: self._resolved[o] for o in wanted}
        if self._options.on_unmatched.mode == "fail":
            _fail_if_unmatched(result.values())
        return result

    # -- lookups ---------------------------------------------------------------------------------
    async def _choose_strategy(self, owners: int) -> None:
        if self._index is not None:
            return
        lookup = self._options.lookup
        listing = lookup == "listing" or (lookup == "auto" and owners > self._options.listing_threshold)
        if listing:
            self.strategy = "listing"
            self.lookups += 1
            self._index = _UserIndex(await self._target.all_users())
            self._found.clear()  # the index answers everything from now on
        else:
            self.strategy = "filter"

    async def _query(self, attr: str, value: str) -> tuple[CloudUser, ...]:
        """Every user (any status) whose `attr` equals `value`, ignoring case."""
        if self._index is not None:
            return self._index.find(attr, value)
        key = (attr, value)
        if key in self._found:
            return self._found[key]
        task = self._pending.get(key)
        if task is not None:  # another owner asked the same a moment ago: share its call
            return await task
        task = asyncio.ensure_future(self._fetch(attr, value))
        self._pending[key] = task
        try:
            users = await task
        finally:
            del self._pending[key]
        self._found[key] = users
        return users

    async def _fetch(self, attr: str, value: str) -> tuple[CloudUser, ...]:
        self.lookups += 1
        users = await self._target.users_where(scim_eq(attr, value))
        # Keep only exact (case-insensitive) matches, as the listing index would: whatever the
        # server's `eq` does with case, both strategies then decide the same way.
        want = value.lower()
        return tuple(u for u in users if getattr(u, attr).lower() == want)

    async def _find_spec(self, spec: str) -> list[tuple[CloudUser, str]]:
        """A user named by id, subject or email (mapping targets, the fallback user): each
        distinct user found, with the attribute that found it."""
        attrs = (["id"] if _ID_SHAPE.fullmatch(spec) else []) + ["subject"] + (["email"] if "@" in spec else [])
        found: dict[str, tuple[CloudUser, str]] = {}
        for attr in attrs:
            for user in await self._query(attr, spec):
                found.setdefault(user.id, (user, attr))
        return list(found.values())

    async def _find_fallback(self) -> CloudUser:
        spec = self._options.on_unmatched.user or ""
        found = await self._find_spec(spec)
        eligible = [u for u, _ in found if _eligible(u)]
        where = f"--on-unmatched assign:{_show(spec)}"
        if not eligible:
            why = "".join(f"; {_who(u)} is {u.status}" for u, _ in found)
            raise UsageProblem(f"{where}: no cloud user has id, subject or email {_show(spec)}{why}")
        if len(eligible) > 1:
            raise UsageProblem(f"{where} matches {len(eligible)} cloud users: "
                               f"{', '.join(_who(u) for u in eligible)}; name one by its id")
        return eligible[0]

    # -- deciding --------------------------------------------------------------------------------
    async def _decide(self, owner: SourceOwner) -> Resolution:
        looked_for: list[str] = []
        notes: list[str] = []
        for source in self._compiled.order:
            outcome = await self._evaluate(source, owner)
            distinct: dict[str, tuple[CloudUser, str]] = {}
            for user, how in outcome.matches:
                distinct.setdefault(user.id, (user, how))
            if len(distinct) == 1:
                user, how = outcome.matches[0]
                return Resolution(owner, user, source, how)
            if distinct:
                return _ambiguous(owner, list(distinct.values()))
            if outcome.explicit:
                # the operator's row names nobody eligible: a guess must not overrule it
                return Resolution(owner, None, None, "; ".join(outcome.notes))
            looked_for += outcome.looked_for
            notes += outcome.notes
        return Resolution(owner, None, None, _reason(looked_for, notes))

    def _evaluate(self, source: str, owner: SourceOwner) -> Awaitable[_Outcome]:
        return {"mapping": self._by_mapping, "rules": self._by_rules,
                "subject": self._by_subject, "email": self._by_email}[source](owner)

    async def _by_mapping(self, owner: SourceOwner) -> _Outcome:
        mapping = self._compiled.mapping
        rows = {mapping[k].line: mapping[k] for k in _owner_keys(owner) if k in mapping}
        if not rows:
            return _Outcome(notes=["no mapping file row"] if self._options.mapping_file else [])
        outcome = _Outcome(explicit=True)
        for row in sorted(rows.values(), key=lambda r: r.line):
            found = await self._find_spec(row.target)
            how = f"mapping file line {row.line} ({row.source} -> {row.target}"
            outcome.matches += [(u, f"{how}, by {attr})") for u, attr in found if _eligible(u)]
            if not any(_eligible(u) for u, _ in found):
                outcome.notes.append(_missing_target(row, [u for u, _ in found]))
        return outcome

    async def _by_rules(self, owner: SourceOwner) -> _Outcome:
        outcome = _Outcome()
        applied = False
        for rule in self._compiled.rules:
            value = rule.apply(owner)
            if value is None:
                continue
            applied = True
            how = f"rule {rule.text} ({value})"
            users = await self._query("subject", value)
            if "@" in value:  # an email always has one; skip a lookup that cannot match
                users += await self._query("email", value)
            step = _outcome(_unique(users), how, f"subject or email {value} (rule {rule.text})")
            if step.matches:
                return step  # first rule that finds someone wins
            outcome.looked_for += step.looked_for
            outcome.notes += step.notes
        if self._compiled.rules and not applied:
            outcome.notes.append(f"no rule matches {owner.key}")
        return outcome

    async def _by_subject(self, owner: SourceOwner) -> _Outcome:
        if not owner.user_id:
            return _Outcome(notes=["QRS has no userId for this owner"])
        what = f"subject {owner.key}"
        return _outcome(await self._query("subject", owner.key), what, what)

    async def _by_email(self, owner: SourceOwner) -> _Outcome:
        if not owner.email:
            return _Outcome(notes=["QRS has no email for this owner"])
        what = f"email {owner.email}"
        return _outcome(await self._query("email", owner.email), what, what)

    def _with_fallback(self, resolution: Resolution) -> Resolution:
        if resolution.matched or self._fallback is None:
            return resolution
        owner = resolution.owner
        return Resolution(owner, self._fallback, "fallback",
                          f"fallback user standing in for {_owner(owner)}: {resolution.detail}")


# -- helpers ------------------------------------------------------------------------------------
def _outcome(users: Iterable[CloudUser], how: str, what: str) -> _Outcome:
    """Split a lookup's users into eligible matches and the reasons nobody eligible was found."""
    users = list(users)
    eligible = [u for u in users if _eligible(u)]
    if eligible:
        return _Outcome(matches=[(u, how) for u in eligible])
    if not users:
        return _Outcome(looked_for=[what])
    statuses = ", ".join(f"{_who(u)} is {u.status}" for u in users)
    return _Outcome(notes=[f"{what} matches no eligible cloud user: {statuses}"])


def _missing_target(row: _Row, found: list[CloudUser]) -> str:
    where = f"(mapping file line {row.line})"
    if not found:
        return f"mapping target {row.target} has no cloud user {where}"
    statuses = ", ".join(f"{_who(u)} is {u.status}" for u in found)
    return f"mapping target {row.target} has no eligible cloud user: {statuses} {where}"


def _reason(looked_for: list[str], notes: list[str]) -> str:
    parts = ([f"no cloud user with {' or '.join(looked_for)}"] if looked_for else []) + notes
    return "; ".join(parts) or "no match source applies to this owner"


def _owner_keys(owner: SourceOwner) -> list[str]:
    return [owner.key.lower()] + ([owner.email.lower()] if owner.email else [])


def _eligible(user: CloudUser) -> bool:
    return user.status.lower() not in INELIGIBLE


def _unique(users: Iterable[CloudUser]) -> list[CloudUser]:
    return list({u.id: u for u in users}.values())


def _who(user: CloudUser) -> str:
    return f"{_show(user.name or user.email or user.subject)} (id {_show(user.id)})"


def _owner(owner: SourceOwner) -> str:
    return f"{_show(owner.key)} ({_show(owner.name)})"


def _show(value: str) -> str:
    """Keep messages on one line whatever a name contains."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def _ambiguous(owner: SourceOwner, found: list[tuple[CloudUser, str]]) -> Resolution:
    listed = ", ".join(f"{_who(u)} by {how}" for u, how in found)
    return Resolution(owner, None, None,
                      f"ambiguous: {len(found)} eligible cloud users match ({listed}); add a --mapping-file "
                      f"row naming one by its id", candidates=tuple(u for u, _ in found))


def _fail_if_unmatched(resolutions: Iterable[Resolution]) -> None:
    unmatched = sorted((r for r in resolutions if not r.matched), key=lambda r: r.owner.key.lower())
    if unmatched:
        listed = "; ".join(f"{_owner(r.owner)}: {r.detail}" for r in unmatched)
        raise UnmatchedOwners(f"{len(unmatched)} owner(s) have no cloud user (--on-unmatched fail): {listed}; "
                              f"nothing was changed: add the users, a --mapping-file row or a --rewrite rule")


async def _gather(aws: Iterable[Awaitable[_T]]) -> list[_T]:
    # return_exceptions: every lookup finishes before the first error is raised, so no task is
    # left running unobserved.
    results = await asyncio.gather(*aws, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results  # type: ignore[return-value]

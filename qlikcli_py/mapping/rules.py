"""Rewrite rules `PATTERN=TEMPLATE`: an owner key pattern and the cloud subject or email it gives."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qlikcli_py.errors import UsageProblem
from qlikcli_py.escapes import escape_controls as _show
from qlikcli_py.models import SourceOwner

_TOKEN = re.compile(r"\{([^{}]*)\}|([^{}]+)|([{}])")
_RULE_OWNER_FIELDS = ("userId", "directory", "name", "email")


@dataclass(frozen=True)
class Rule:
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


def parse_rule(text: str) -> Rule:
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
    return Rule(rule, _pattern(where, left), _template(where, right))


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

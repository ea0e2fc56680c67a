r"""SCIM (RFC 7644) `--filter` expressions of the Cloud users and spaces APIs, compiled to SQL.

Supported: `attr eq "v"`, `attr co "v"`, `and`, `or`, `not`, parentheses. Values are double-quoted
strings in which `\\` is one backslash and `\"` is a quote; a lone backslash before any other
character is invalid (400 `invalid filter`), which is exactly the trap of writing
`subject eq "ACME\jdoe"` instead of `subject eq "ACME\\jdoe"` (qlik.dev escaping page).

Case: `email eq` is case-insensitive (e-mail addresses are); other `eq` are exact; `co` is
case-insensitive. INFERRED from SCIM's caseExact attributes, not observed on a tenant.
"""

from __future__ import annotations

import sqlite3

from qliksim.errors import HttpError

# attribute -> (SQL column, allowed ops, case-insensitive eq)
Attrs = dict[str, tuple[str, frozenset[str], bool]]

USER_ATTRS: Attrs = {
    "id": ("id", frozenset({"eq"}), False),
    "subject": ("subject", frozenset({"eq", "co"}), False),
    "name": ("name", frozenset({"eq", "co"}), False),
    "email": ("email", frozenset({"eq", "co"}), True),
    "status": ("status", frozenset({"eq"}), False),
}
SPACE_ATTRS: Attrs = {
    "id": ("id", frozenset({"eq"}), False),
    "name": ("name", frozenset({"eq", "co"}), False),
    "type": ("type", frozenset({"eq"}), False),
    "ownerId": ("owner_id", frozenset({"eq"}), False),
}


def _invalid() -> HttpError:
    return HttpError(400, "invalid filter")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append((ch, ch))
            i += 1
        elif ch == '"':
            value, i = _quoted(text, i + 1)
            out.append(("str", value))
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '()"':
                j += 1
            out.append(("word", text[i:j]))
            i = j
    return out


def _quoted(text: str, i: int) -> tuple[str, int]:
    chars: list[str] = []
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(chars), i + 1
        if ch == "\\":
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if nxt not in ('"', "\\"):
                raise _invalid()
            chars.append(nxt)
            i += 2
            continue
        chars.append(ch)
        i += 1
    raise _invalid()  # unterminated string


class _Parser:
    def __init__(self, text: str, attrs: Attrs) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.attrs = attrs
        self.params: list[str] = []

    def word(self) -> str:
        if self.i < len(self.toks) and self.toks[self.i][0] == "word":
            return self.toks[self.i][1].lower()
        return ""

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise _invalid()
        self.i += 1
        return self.toks[self.i - 1]

    def expr(self) -> str:
        parts = [self.term()]
        while self.word() == "or":
            self.i += 1
            parts.append(self.term())
        return "(" + " OR ".join(parts) + ")"

    def term(self) -> str:
        parts = [self.factor()]
        while self.word() == "and":
            self.i += 1
            parts.append(self.factor())
        return "(" + " AND ".join(parts) + ")"

    def factor(self) -> str:
        if self.word() == "not":
            self.i += 1
            return f"NOT {self.factor()}"
        kind, value = self.take()
        if kind == "(":
            inner = self.expr()
            if self.take()[0] != ")":
                raise _invalid()
            return inner
        if kind != "word" or value not in self.attrs:
            raise _invalid()
        column, ops, fold = self.attrs[value]
        op_kind, op = self.take()
        op = op.lower()
        if op_kind != "word" or op not in ops:
            raise _invalid()
        val_kind, val = self.take()
        if val_kind != "str":
            raise _invalid()
        self.params.append(val)
        if op == "co":
            return f"sim_contains({column}, ?)"
        return f"{column} = ? COLLATE NOCASE" if fold else f"{column} = ?"


def compile_filter(text: str, attrs: Attrs) -> tuple[str, list[str]]:
    parser = _Parser(text, attrs)
    if not parser.toks:
        raise _invalid()
    sql = parser.expr()
    if parser.i != len(parser.toks):
        raise _invalid()
    return sql, parser.params


def register(conn: sqlite3.Connection) -> None:
    conn.create_function(
        "sim_contains", 2, lambda value, needle: value is not None and needle.casefold() in value.casefold(), deterministic=True
    )

"""Data connections a Qlik load script uses, and their renaming: pure text functions, no qlik calls.

What is read as a reference (outside comments; `lib://` also inside quotes and brackets):
- `lib://Name/...` and `lib://Space:Name/...` (`lib://:Name/` is the app's own space);
- `LIB CONNECT TO 'Name'`, `"Name"`, `[Name]` or a bare `Name` (also with `Space:`).
What the script decides only when it runs is "cannot check", never guessed: a name holding a
dollar expansion (`lib://$(vConn)/`), `$(include=...)` / `$(must_include=...)` (the included
text is unknown), `BINARY` (the other app brings its own data model).

Comments: `// ...` to the end of the line (but `lib://` and any `scheme://` are not comments),
`/* ... */`, and a `REM` statement up to its `;`. Strings: `'...'` and `"..."` (a doubled quote
stays inside), `[...]` (a doubled `]` stays inside).
"""
from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass


class RefKind(enum.StrEnum):
    LIB_PATH = "lib"  # lib://Name/...
    LIB_CONNECT = "lib-connect"  # LIB CONNECT TO 'Name'
    INCLUDE = "include"  # $(include=...) / $(must_include=...)
    BINARY = "binary"


@dataclass(frozen=True)
class Reference:
    kind: RefKind
    name: str  # the connection name as written (no space prefix); "" when not checkable
    space: str | None  # the space named before ':' ("" = the app's own space by `:Name`), None = none
    line: int
    text: str  # the reference as written, for messages
    checkable: bool
    # where the written `Space:Name` (or `Name`) is, and how it is quoted ("'", '"', "[" or "")
    start: int = 0
    end: int = 0
    quote: str = ""
    token: tuple[int, int] = (0, 0)  # a bare reference's whole token (for quoting a new name)

    @property
    def written(self) -> str:
        """The connection as the script names it: `Space:Name` or `Name`."""
        return self.name if self.space is None else f"{self.space}:{self.name}"

    @property
    def why(self) -> str:
        if self.checkable:
            return ""
        return {RefKind.INCLUDE: "the included script is only known when the script runs",
                RefKind.BINARY: "BINARY loads another app, which brings its own data",
                }.get(self.kind, "the connection name is a variable, known only when the script runs")


_WORD = re.compile(r"[A-Za-z_]")
_LIB_CONNECT = re.compile(r"LIB\s+CONNECT\s+TO\s*", re.IGNORECASE)
_INCLUDE = re.compile(r"\$\(\s*(must_include|include)\s*=", re.IGNORECASE)
_BINARY = re.compile(r"BINARY\b", re.IGNORECASE)
_REM = re.compile(r"REM\b", re.IGNORECASE)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:$")


def references(script: str) -> list[Reference]:
    """Every connection reference of `script`, in order."""
    return list(_Scanner(script).scan())


def used_names(script: str) -> list[str]:
    """The checkable connections written in `script` (`Space:Name` or `Name`), once each, in order."""
    return list(dict.fromkeys(r.written for r in references(script) if r.checkable))


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.out: list[Reference] = []

    def line(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def scan(self) -> list[Reference]:
        s, n, i = self.text, self.n, 0
        statement_start = True  # at the start of a statement: REM, LIB CONNECT, BINARY may begin here
        while i < n:
            c = s[i]
            if c in " \t\r\n":
                i += 1
                continue
            if s.startswith("//", i) and not _SCHEME.search(s[max(0, i - 40):i]):
                j = s.find("\n", i)
                i = n if j < 0 else j + 1
                continue
            if s.startswith("/*", i):
                j = s.find("*/", i + 2)
                i = n if j < 0 else j + 2
                continue
            if statement_start and _REM.match(s, i):
                i = self._skip_to_semicolon(i)
                statement_start = True
                continue
            if statement_start and (m := _LIB_CONNECT.match(s, i)):
                i = self._lib_connect(m.end(), i)
                statement_start = False
                continue
            if statement_start and (m := _BINARY.match(s, i)):
                self.out.append(Reference(RefKind.BINARY, "", None, self.line(i), "BINARY", False))
                i = m.end()
                statement_start = False
                continue
            statement_start = False
            if c == ";":
                statement_start = True
                i += 1
                continue
            if c in "'\"[":
                i = self._quoted(i)
                continue
            if (m := _INCLUDE.match(s, i)):
                j = self._close_paren(m.end())
                self.out.append(Reference(RefKind.INCLUDE, "", None, self.line(i), s[i:j], False))
                self._libs(m.end(), j - 1 if j <= n and s[j - 1] == ")" else j, "")
                i = j
                continue
            if s[i:i + 6].lower() == "lib://":
                end = i
                while end < n and s[end] not in " \t\r\n;,)":
                    end += 1
                self._lib(i, end, "", (i, end))
                i = end
                continue
            if _WORD.match(c):
                while i < n and (s[i].isalnum() or s[i] in "_.#@"):
                    i += 1
                continue
            i += 1
        return self.out

    def _skip_to_semicolon(self, i: int) -> int:
        j = self.text.find(";", i)
        return self.n if j < 0 else j + 1

    def _close_paren(self, i: int) -> int:
        depth = 1
        while i < self.n and depth:
            if self.text[i] == "(":
                depth += 1
            elif self.text[i] == ")":
                depth -= 1
            elif self.text[i] == "\n":
                return i
            i += 1
        return i

    def _string_end(self, i: int) -> int:
        """The index just past the string opening at i (a doubled closing char stays inside)."""
        s, n = self.text, self.n
        close = "]" if s[i] == "[" else s[i]
        j = i + 1
        while j < n:
            if s[j] == close:
                if j + 1 < n and s[j + 1] == close:
                    j += 2
                    continue
                return j + 1
            j += 1
        return n

    def _quoted(self, i: int) -> int:
        end = self._string_end(i)
        inner_end = end - 1 if end <= self.n and end > i + 1 and self.text[end - 1] in "'\"]" else end
        self._libs(i + 1, inner_end, self.text[i])
        return end

    def _libs(self, start: int, end: int, quote: str) -> None:
        """`lib://` references inside a quoted or bracketed text."""
        s = self.text
        low = s.lower()
        pos = low.find("lib://", start, end)
        while pos >= 0:
            self._lib(pos, end, quote, (0, 0))
            pos = low.find("lib://", pos + 6, end)

    def _lib(self, pos: int, limit: int, quote: str, token: tuple[int, int]) -> None:
        s = self.text
        start = pos + 6
        end = start
        while end < limit and s[end] not in "/\\":
            if s.startswith("$(", end):  # a dollar expansion may hold a slash: skip to its end
                end = self._close_paren(end + 2)
                continue
            end += 1
        written = s[start:end]
        if quote and quote != "[":
            written = written.replace(quote * 2, quote)
        elif quote == "[":
            written = written.replace("]]", "]")
        self._add(RefKind.LIB_PATH, written, pos, start, end, quote, token, s[pos:min(end + 1, limit)])

    def _lib_connect(self, i: int, statement: int) -> int:
        s, n = self.text, self.n
        if i < n and s[i] in "'\"[":
            end = self._string_end(i)
            inner_end = end - 1 if s[end - 1:end] in ("'", '"', "]") and end > i + 1 else end
            written = s[i + 1:inner_end]
            quote = s[i]
            written = written.replace("]]", "]") if quote == "[" else written.replace(quote * 2, quote)
            self._add(RefKind.LIB_CONNECT, written, statement, i + 1, inner_end, quote, (0, 0), s[statement:end])
            return end
        end = i
        while end < n and s[end] not in " \t\r\n;":
            if s.startswith("$(", end):
                end = self._close_paren(end + 2)
                continue
            end += 1
        self._add(RefKind.LIB_CONNECT, s[i:end], statement, i, end, "", (i, end), s[statement:end])
        return end

    def _add(self, kind: RefKind, written: str, at: int, start: int, end: int, quote: str,
             token: tuple[int, int], text: str) -> None:
        if "$(" in written or not written.strip():
            self.out.append(Reference(kind, "", None, self.line(at), text, False, start, end, quote, token))
            return
        space: str | None = None
        name = written
        if ":" in written:
            space, name = written.split(":", 1)
        self.out.append(Reference(kind, name, space, self.line(at), text, bool(name), start, end, quote, token))


def check_map(mapping: Mapping[str, str]) -> list[str]:
    """What is wrong with a rename map (empty: nothing): a name renamed to a name that is itself
    renamed would be rewritten again by a rerun."""
    problems = []
    for old, new in mapping.items():
        if not old or not new:
            problems.append(f"{old!r}={new!r}: both names are needed")
        elif new in mapping and mapping[new] != new:
            problems.append(f"{old!r} is renamed to {new!r}, which is renamed again: rename to the final name")
        elif "$(" in old or "$(" in new or "/" in old or "/" in new:
            problems.append(f"{old!r}={new!r}: a connection name holds no '/' and no '$('")
    return problems


def rename(script: str, mapping: Mapping[str, str]) -> str:
    """`script` with every checkable reference whose written name (`Space:Name` or `Name`) is a
    key of `mapping` renamed; nothing else changes (comments keep the old names). A new name is
    quoted as its place needs: doubled quotes inside quotes, and a bare reference whose new name
    holds a space or other separator gets brackets (lib path) or single quotes (LIB CONNECT)."""
    edits: list[tuple[int, int, str]] = []
    for ref in references(script):
        if not ref.checkable or ref.written not in mapping:
            continue
        new = mapping[ref.written]
        if new == ref.written:
            continue
        if ref.quote == "[":
            edits.append((ref.start, ref.end, new.replace("]", "]]")))
        elif ref.quote:
            edits.append((ref.start, ref.end, new.replace(ref.quote, ref.quote * 2)))
        elif re.fullmatch(r"[^\s;,)'\"\[\]]+", new):
            edits.append((ref.start, ref.end, new))
        elif ref.kind == RefKind.LIB_CONNECT:
            edits.append((ref.start, ref.end, "'" + new.replace("'", "''") + "'"))
        else:
            t0, t1 = ref.token
            whole = script[t0:ref.start] + new + script[ref.end:t1]
            edits.append((t0, t1, "[" + whole.replace("]", "]]") + "]"))
    out = script
    for start, end, new in sorted(edits, reverse=True):
        out = out[:start] + new + out[end:]
    return out

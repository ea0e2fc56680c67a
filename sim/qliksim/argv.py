"""A cobra/pflag-like argv parser: find the command, then parse its flags and positionals.

The error texts are cobra's and pflag's, since that is what the real binary prints:
`unknown command "x" for "qlik app"`, `unknown flag: --x`, `required flag(s) "appId" not set`,
`accepts 1 arg(s), received 2`, `flag needs an argument: --app`.
"""

from __future__ import annotations

from qliksim.errors import UsageError
from qliksim.surface import TREE, VALUE_FLAGS, VALUE_SHORTS, Cmd


class Help(Exception):
    """`-h`/`--help`, or a command group run without a (known) sub-command: cobra prints the help
    on stdout and exits 0 (REAL, 1.4.0: `qlik app frobnicate` prints `qlik app`'s help)."""

    def __init__(self, path: str, node: object) -> None:
        super().__init__(path)
        self.path = path
        self.node = node

    def text(self) -> str:
        if isinstance(self.node, dict):
            subs = "\n".join(f"  {name}" for name in sorted(self.node))
            return (f"Usage:\n  {self.path} [flags]\n  {self.path} [command]\n\nAvailable Commands:\n{subs}\n\n"
                    f"Flags:\n  -h, --help   help for {self.path.rsplit(' ', 1)[-1]}\n\n"
                    f'Use "{self.path} [command] --help" for more information about a command.\n')
        return usage(self.path, self.node)  # type: ignore[arg-type]


def usage(path: str, cmd: Cmd) -> str:
    """cobra's usage block: one line per flag, `-s, --name type` (the flag check reads these)."""
    lines = []
    shorts = {name: short for short, name in cmd.shorts.items()}
    for name in sorted(cmd.flags):
        kind = cmd.flags[name]
        short = f"-{shorts[name]}, " if name in shorts else "    "
        value = "" if kind == "bool" else {"int": " int", "map": " stringToString"}.get(kind, " string")
        lines.append(f"  {short}--{name}{value}")
    return f"Usage:\n  {path} [flags]\n\nFlags:\n" + "\n".join(lines) + "\n"


class Invocation:
    __slots__ = ("cmd", "flags", "args")

    def __init__(self, cmd: Cmd, flags: dict[str, object], args: list[str]) -> None:
        self.cmd = cmd
        self.flags = flags
        self.args = args


_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


def parse(argv: list[str]) -> Invocation:
    cmd, path = _find_command(argv)
    try:
        flags, args = _parse_flags(cmd, argv, path)
        if flags.get("help"):
            raise Help(f"qlik {cmd.path}", cmd)
        _check_args(cmd, args)
    except UsageError as exc:
        exc.usage = usage(f"qlik {cmd.path}", cmd)
        raise
    missing = sorted(name for name in cmd.required if name not in flags)
    if missing:
        names = ", ".join(f'"{n}"' for n in missing)
        raise UsageError(f"required flag(s) {names} not set")
    return Invocation(cmd, flags, args)


def _find_command(argv: list[str]) -> tuple[Cmd, list[str]]:
    """Walk the positional words down the tree, skipping flags (and the values they take)."""
    node: object = TREE
    path: list[str] = []
    i = 0
    while isinstance(node, dict) and i < len(argv):
        token = argv[i]
        if token == "--":
            break
        if token.startswith("-") and token != "-":
            if token in ("-h", "--help"):
                raise Help(" ".join(["qlik", *path]), node)
            i += 2 if _takes_separate_value(token) else 1
            continue
        if token not in node:
            parent = " ".join(["qlik", *path])
            if path:  # a group's unknown sub-command: its help, exit 0 (REAL, 1.4.0)
                raise Help(parent, node)
            raise UsageError(f'unknown command "{token}" for "{parent}"', usage="Run 'qlik --help' for usage.")
        node = node[token]
        path.append(token)
        i += 1
    if isinstance(node, dict):
        raise Help(" ".join(["qlik", *path]), node)
    return node, path  # type: ignore[return-value]


def _takes_separate_value(token: str) -> bool:
    if token.startswith("--"):
        return "=" not in token and token[2:] in VALUE_FLAGS
    return len(token) == 2 and token[1] in VALUE_SHORTS


def _parse_flags(cmd: Cmd, argv: list[str], path: list[str]) -> tuple[dict[str, object], list[str]]:
    flags: dict[str, object] = {}
    args: list[str] = []
    words = list(path)
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if token == "--":
            args.extend(argv[i:])
            break
        if not token.startswith("-") or token == "-":
            if words and token == words[0]:
                words.pop(0)  # a command word, not a positional
            else:
                args.append(token)
            continue
        if token.startswith("--"):
            name, eq, value = token[2:].partition("=")
            name = cmd.aliases.get(name, name)
            if name not in cmd.flags:
                raise UsageError(f"unknown flag: --{name}")
            shown = f"--{name}"
        else:
            short, rest = token[1], token[2:]
            if short not in cmd.shorts:
                raise UsageError(f"unknown shorthand flag: '{short}' in {token}")
            name = cmd.shorts[short]
            eq = "=" if rest else ""
            value = rest[1:] if rest.startswith("=") else rest
            shown = f"-{short}, --{name}"
        kind = cmd.flags[name]
        if kind == "bool":
            flags[name] = _parse_bool(value, shown) if eq else True
            continue
        if not eq:
            if i >= len(argv):
                raise UsageError(f"flag needs an argument: {token}")
            value = argv[i]
            i += 1
        if kind == "int":
            flags[name] = _parse_int(value, shown)
        elif kind == "map":
            current = flags.setdefault(name, {})
            for pair in value.split(","):
                key, sep, val = pair.partition("=")
                if not sep:
                    raise UsageError(f'invalid argument "{value}" for "{shown}" flag: {pair} must be formatted as key=value')
                current[key] = val  # type: ignore[index]
        else:
            flags[name] = value
    return flags, args


def _parse_bool(value: str, shown: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise UsageError(f'invalid argument "{value}" for "{shown}" flag: strconv.ParseBool: parsing "{value}": invalid syntax')


def _parse_int(value: str, shown: str) -> int:
    try:
        return int(value, 10)
    except ValueError:
        raise UsageError(f'invalid argument "{value}" for "{shown}" flag: strconv.ParseInt: parsing "{value}": invalid syntax') from None


def _check_args(cmd: Cmd, args: list[str]) -> None:
    low, high = cmd.nargs
    n = len(args)
    if low == high and n != low:
        if low == 0:
            parent = "qlik " + cmd.path
            raise UsageError(f'unknown command "{args[0]}" for "{parent}"')
        raise UsageError(f"accepts {low} arg(s), received {n}")
    if n < low:
        raise UsageError(f"requires at least {low} arg(s), only received {n}")
    if high is not None and n > high:
        raise UsageError(f"accepts at most {high} arg(s), received {n}")

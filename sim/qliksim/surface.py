"""The command tree the simulator answers: docs/qlik-surface.md plus a few neighbours.

Each leaf names its handler as "module:function" (imported only when that command runs, to keep
start-up lean), its rate-limit tier, how many positional arguments it takes, its flags and which
of them cobra would insist on.
"""

from __future__ import annotations

# Flag kinds: "bool" (bare or =true/false), "str", "int", "map" (stringToString: k=v,k2=v2).
# A flag entry is name -> kind or name -> (kind, shorthand).
ROOT_FLAGS: dict[str, object] = {
    "context": "str",
    "json": "bool",
    "insecure": "bool",
    "headers": "map",
    "verbose": ("bool", "v"),
    "server": ("str", "s"),
    "server-type": "str",
    "config": ("str", "c"),
    "help": ("bool", "h"),
}
# Per-command flags of every REST-generated command (reference §1.1).
_REST = {"quiet": ("bool", "q"), "raw": "bool", "retry": "int", "interval": "int"}
_LIST = {**_REST, "limit": "int", "next": "str", "prev": "str", "sort": "str"}
# Inherited by the websocket (engine) commands.
_ENGINE = {"app": ("str", "a"), "no-data": "bool", "ttl": "str", "traffic": ("bool", "t")}
_QRS_LIST = {**_REST, "filter": "str", "orderby": "str", "privileges": "bool"}


class Cmd:
    __slots__ = ("path", "handler", "tier", "nargs", "flags", "shorts", "required", "mutating", "quiet_key", "aliases")

    def __init__(
        self,
        path: str,
        handler: str,
        tier: str,
        *,
        nargs: tuple[int, int | None] = (0, 0),
        flags: dict[str, object] | None = None,
        required: tuple[str, ...] = (),
        mutating: bool = False,
        quiet_key: str | None = None,
        aliases: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.handler = handler
        self.tier = tier
        self.nargs = nargs
        self.flags: dict[str, str] = {}
        self.shorts: dict[str, str] = {}
        for name, spec in {**ROOT_FLAGS, **(flags or {})}.items():
            kind, short = (spec, None) if isinstance(spec, str) else spec  # type: ignore[misc]
            self.flags[name] = kind  # type: ignore[assignment]
            if short:
                self.shorts[short] = name  # type: ignore[index]
        self.required = required
        self.mutating = mutating
        self.quiet_key = quiet_key
        self.aliases = aliases or {}


def _engine_group(kind: str) -> list[Cmd]:
    """ls/layout/publish/unpublish/rm for one engine object family (object, bookmark, ...)."""
    base = f"app {kind}"
    return [
        Cmd(f"{base} ls", "engine:ls", "engine", flags={**_ENGINE, "quiet": ("bool", "q")}, required=("app",), quiet_key="qId"),
        Cmd(f"{base} layout", "engine:layout", "engine", nargs=(1, 1), flags=_ENGINE, required=("app",)),
        Cmd(f"{base} publish", "engine:publish", "engine", nargs=(1, 1), flags=_ENGINE, required=("app",), mutating=True),
        Cmd(f"{base} unpublish", "engine:unpublish", "engine", nargs=(1, 1), flags=_ENGINE, required=("app",), mutating=True),
        Cmd(f"{base} rm", "engine:rm", "engine", nargs=(1, None), flags={**_ENGINE, "no-save": "bool"}, required=("app",), mutating=True),
    ]


COMMANDS: list[Cmd] = [
    Cmd("version", "local:version", "local"),
    Cmd("context get", "local:context_get", "local", nargs=(0, 1)),
    Cmd("context ls", "local:context_ls", "local"),
    Cmd("context use", "local:context_use", "local", nargs=(1, 1), mutating=True),
    # --- client-managed QRS ---
    Cmd("qrs app count", "qrs:app_count", "qrs", flags={**_REST, "filter": "str"}),
    Cmd("qrs app get", "qrs:app_get", "qrs", nargs=(1, 1), flags=_REST, quiet_key="id"),
    Cmd("qrs app full", "qrs:app_full", "qrs", flags=_QRS_LIST, quiet_key="id"),
    Cmd("qrs app ls", "qrs:app_ls", "qrs", flags=_QRS_LIST, quiet_key="id"),
    Cmd(
        "qrs app export create",
        "qrs:app_export",
        "qrs",
        nargs=(1, 1),
        flags={**_REST, "exportScope": "str", "skipdata": "bool", "output-file": "str"},
        # The QRS spec spells the query parameters in lower case; Qlik's docs use --exportScope.
        aliases={"exportscope": "exportScope"},
    ),
    Cmd("qrs app object full", "qrs:object_full", "qrs", flags=_QRS_LIST, quiet_key="id"),
    Cmd("qrs app object ls", "qrs:object_ls", "qrs", flags=_QRS_LIST, quiet_key="id"),
    Cmd("qrs user full", "qrs:user_full", "qrs", flags=_QRS_LIST, quiet_key="id"),
    Cmd("qrs user get", "qrs:user_get", "qrs", nargs=(1, 1), flags=_REST, quiet_key="id"),
    # --- Qlik Cloud REST: users and spaces ---
    Cmd("user me", "directory:user_me", "read", flags=_REST, quiet_key="id"),
    Cmd("user count", "directory:user_count", "read", flags=_REST),
    Cmd("user get", "directory:user_get", "read", nargs=(1, 1), flags=_REST, quiet_key="id"),
    Cmd(
        "user ls",
        "directory:user_ls",
        "read",
        flags={**_LIST, "filter": "str", "fields": "str", "totalResults": "bool", "email": "str"},
        quiet_key="id",
    ),
    Cmd(
        "space ls",
        "directory:space_ls",
        "read",
        flags={**_LIST, "filter": "str", "name": "str", "type": "str", "ownerId": "str", "action": "str"},
        quiet_key="id",
    ),
    Cmd("space get", "directory:space_get", "read", nargs=(1, 1), flags=_REST, quiet_key="id"),
    # --- Qlik Cloud REST: apps ---
    Cmd(
        "app import",
        "cloud_apps:app_import",
        "write",
        flags={
            **_REST,
            "file": ("str", "f"),
            "spaceId": "str",
            "name": "str",
            "mode": "str",
            "fallbackName": "str",
            "appId": "str",
            "NoData": "bool",
            "fileId": "str",
            "resumable": "bool",
        },
        mutating=True,
        quiet_key="attributes.id",
    ),
    Cmd("app get", "cloud_apps:app_get", "read", nargs=(1, 1), flags=_REST, quiet_key="attributes.id"),
    Cmd("app rm", "cloud_apps:app_rm", "write", nargs=(1, 1), flags=_REST, mutating=True),
    Cmd(
        "app ls",
        "cloud_apps:app_ls",
        "read",
        flags={
            **_LIST,
            **{f: "str" for f in ("spaceId", "name", "ownerId", "notOwnerId", "createdByUserId", "notCreatedByUserId", "collectionId", "query")},
            "noActions": "bool",
            "shared": "bool",
        },
        quiet_key="resourceId",
    ),
    Cmd(
        "app copy",
        "cloud_apps:app_copy",
        "write",
        nargs=(1, 1),
        flags={**_REST, "attributes-name": "str", "attributes-spaceId": "str", "attributes-description": "str", "file": ("str", "f")},
        mutating=True,
        quiet_key="attributes.id",
    ),
    Cmd(
        "app publish create",
        "cloud_apps:app_publish",
        "write",
        nargs=(1, 1),
        flags={
            **_REST,
            "spaceId": "str",
            "moveApp": "bool",
            "originAppId": "str",
            "data": "str",
            "attributes-name": "str",
            "attributes-description": "str",
            "file": ("str", "f"),
        },
        mutating=True,
        quiet_key="attributes.id",
    ),
    Cmd(
        "app object change-owner",
        "cloud_apps:object_change_owner",
        "write",
        flags={**_REST, "appId": "str", "objectId": "str", "ownerId": "str", "file": ("str", "f")},
        required=("appId", "objectId"),
        mutating=True,
        quiet_key="attributes.id",
    ),
    # --- engine (websocket) ---
    *_engine_group("object"),
    Cmd("app object properties", "object_trees:properties", "engine", nargs=(1, 1), flags={**_ENGINE, "full": "bool", "minimum": "bool"},
        required=("app",)),
    Cmd("app object set", "object_trees:object_set", "engine", nargs=(1, 1), flags={**_ENGINE, "no-save": "bool"}, required=("app",),
        mutating=True),
    *_engine_group("bookmark"),
    *_engine_group("dimension"),
    *_engine_group("measure"),
    # --- what decides whether a migrated app reloads (reload_surface.py) ---
    Cmd("app script get", "reload_surface:script_get", "engine", flags=_ENGINE, required=("app",)),
    Cmd("app script set", "reload_surface:script_set", "engine", nargs=(1, 1), flags={**_ENGINE, "no-save": "bool"},
        required=("app",), mutating=True),
    Cmd("app connection ls", "reload_surface:connection_ls", "engine", flags={**_ENGINE, "quiet": ("bool", "q")},
        required=("app",), quiet_key="qId"),
    Cmd("data-connection ls", "reload_surface:data_connection_ls", "read",
        flags={**_LIST, "spaceId": "str", "personal": "bool", "owner": "str", "userId": "str", "extended": "bool"}, quiet_key="id"),
    Cmd("quota ls", "reload_surface:quota_ls", "read", flags={**_REST, "reportUsage": "str"}, quiet_key="id"),
    Cmd(
        "app build",
        "engine:build",
        "engine",
        flags={**_ENGINE, "no-reload": "bool", "no-save": "bool", "silent": "bool"},
        required=("app",),
        mutating=True,
    ),
]


def _tree() -> dict[str, object]:
    root: dict[str, object] = {}
    for cmd in COMMANDS:
        node = root
        words = cmd.path.split()
        for word in words[:-1]:
            node = node.setdefault(word, {})  # type: ignore[assignment]
        node[words[-1]] = cmd
    return root


TREE = _tree()
# Every flag name that takes a value anywhere in the tree: lets the command-finding pass skip a
# flag's value before it knows which leaf the flags belong to (cobra's stripFlags does the same).
VALUE_FLAGS = {name for cmd in COMMANDS for name, kind in cmd.flags.items() if kind != "bool"}
VALUE_SHORTS = {short for cmd in COMMANDS for short, name in cmd.shorts.items() if cmd.flags[name] != "bool"}

"""Everything checked before the first change: binary, version, contexts, spaces, identity.

Each check turns a qlik failure a user can cause into one line that says what is wrong and how to
fix it (UsageProblem); nothing here writes anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from qlikcli_py.call_log import CallLog
from qlikcli_py.contexts import context_info
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.errors import QlikError
from qlikcli_py.errors import QlikUnusable
from qlikcli_py.errors import UsageProblem
from qlikcli_py.identities import IdentityPool
from qlikcli_py.identities import single
from qlikcli_py.models import Space
from qlikcli_py.pacing import DEFAULT_READ_PER_MIN
from qlikcli_py.pacing import DEFAULT_WINDOW
from qlikcli_py.pacing import DEFAULT_WRITE_PER_MIN
from qlikcli_py.pacing import Pacer
from qlikcli_py.qlik import DEFAULT_BINARY
from qlikcli_py.qlik import DEFAULT_CALL_TIMEOUT
from qlikcli_py.qlik import DEFAULT_ENGINE_WORKERS
from qlikcli_py.qlik import DEFAULT_WORKERS
from qlikcli_py.qlik import Qlik
from qlikcli_py.source import Source
from qlikcli_py.target import Target
from qlikcli_py.vocabulary import FailureKind
from qlikcli_py.vocabulary import ServerType
from qlikcli_py.vocabulary import Tier


@dataclass
class Connection:
    """What every command needs to talk to both sides."""

    source_context: str
    target_context: str
    qlik_bin: str = DEFAULT_BINARY
    insecure: bool = False
    workers: int = DEFAULT_WORKERS
    engine_workers: int = DEFAULT_ENGINE_WORKERS
    read_rate: float = DEFAULT_READ_PER_MIN
    write_rate: float = DEFAULT_WRITE_PER_MIN
    rate_window: float = DEFAULT_WINDOW
    timeout: float = DEFAULT_CALL_TIMEOUT
    scratch: Path = field(default_factory=lambda: Path("."))
    state_dir: Path | None = None  # where the calls of earlier runs are counted (call_log.py)
    helper_contexts: tuple[str, ...] = ()  # admin.apps bots sharing the hand-overs (identities.py)
    tenant_write_rate: float = 0.0  # the tenant's Tier 2 cap over all identities; 0: none


@dataclass
class Session:
    qlik: Qlik
    source: Source
    target: Target
    version: str
    me: dict[str, Any]
    spaces: list[Space]
    pool: IdentityPool = None  # type: ignore[assignment]  # the target alone unless helpers are given

    def __post_init__(self) -> None:
        if self.pool is None:
            self.pool = single(self.target, self.me, self.qlik.pacer, has_admin_apps(self.me))

    @property
    def me_id(self) -> str:
        return str(self.me.get("id", ""))

    @property
    def admin_apps(self) -> bool:
        return has_admin_apps(self.me)


def has_admin_apps(me: dict[str, Any]) -> bool:
    """An OAuth client with admin.apps may change owners of objects it does not own, and sees
    every private object (https://qlik.dev/manage/platform-operations/private-content-bots/).
    Read from `user me` (subject `qlikbot\\...`, assignedScopes): INFERRED, held in fixtures."""
    scopes = me.get("assignedScopes") or []
    names = {s if isinstance(s, str) else str(s.get("name", "")) for s in scopes}
    return "admin.apps" in names


def make_qlik(conn: Connection) -> Qlik:
    calls = CallLog.open(conn.state_dir, keep_seconds=max(conn.rate_window, DEFAULT_WINDOW))
    pacer = Pacer(read_per_min=conn.read_rate, write_per_min=conn.write_rate, window=conn.rate_window,
                  call_log=calls, tenant_write_per_min=conn.tenant_write_rate)
    return Qlik(conn.qlik_bin, pacer=pacer,
                workers=conn.workers, engine_workers=conn.engine_workers, timeout=conn.timeout)


async def open_session(conn: Connection, qlik: Qlik | None = None) -> Session:
    qlik = qlik or make_qlik(conn)
    try:
        version = await qlik.check_version()
    except QlikUnusable as e:
        raise UsageProblem(str(e)) from e
    await check_context(qlik, conn.source_context, want=ServerType.WINDOWS, flag="--source-context",
                        insecure=conn.insecure)
    await check_context(qlik, conn.target_context, want=ServerType.CLOUD, flag="--target-context",
                        insecure=conn.insecure)
    source = Source(qlik, conn.source_context, insecure=conn.insecure, scratch=conn.scratch)
    target = Target(qlik, conn.target_context, scratch=conn.scratch)
    try:
        me = await target.me()
        spaces = await target.spaces()
    except QlikCommandFailed as e:
        raise UsageProblem(explain(e, conn.target_context)) from e
    from qlikcli_py.helper_checks import open_pool  # checks helpers with session's own checks

    pool = await open_pool(qlik, conn, target, me, spaces)
    return Session(qlik=qlik, source=source, target=target, version=version, me=me, spaces=spaces, pool=pool)


async def check_context(qlik: Qlik, name: str, *, want: str, flag: str, insecure: bool = False) -> dict[str, str]:
    if not name:
        raise UsageProblem(f"{flag} is required: the name of a qlik-cli context (see `qlik context ls`)")
    try:
        info = await context_info(qlik, name)
    except QlikCommandFailed as e:
        raise UsageProblem(
            f"qlik-cli context {name!r} does not exist ({e.detail}): run `qlik context ls` to see the "
            f"names, or create it with `qlik context create`"
        ) from e
    except QlikError as e:
        raise UsageProblem(str(e)) from e
    kind = (info.get("servertype") or "").lower()
    if not kind:
        kind = await probe_server_type(qlik, name, insecure=insecure)
        info["servertype"] = kind
        info["servertype-source"] = "probed"
    if want == ServerType.WINDOWS and kind != ServerType.WINDOWS:
        raise UsageProblem(
            f"context {name!r} is a Qlik Cloud context (server-type {kind}); {flag} needs the "
            f"client-managed site's context (server-type windows)"
        )
    if want == ServerType.CLOUD and kind != ServerType.CLOUD:
        raise UsageProblem(
            f"context {name!r} is a client-managed context (server-type {kind}); {flag} needs a "
            f"Qlik Cloud tenant context (server-type cloud)"
        )
    return info


async def probe_server_type(qlik: Qlik, name: str, *, insecure: bool = False) -> str:
    """`context get` printed no server type we can read: ask the server. A QRS read answers only on
    a client-managed site; a tenant answers it 404 (or a proxy's HTML page). A context that cannot
    be reached is an error, never silently taken for cloud."""
    extra = ("--insecure",) if insecure else ()
    try:
        await qlik.run("qrs", "app", "count", *extra, context=name, tier=Tier.QRS, idempotent=True)
    except QlikCommandFailed as e:
        if e.kind in (FailureKind.NETWORK, FailureKind.CERTIFICATE, FailureKind.UNAUTHORIZED, FailureKind.CONTEXT,
                      FailureKind.SERVER, FailureKind.RATE_LIMITED):
            raise UsageProblem(
                f"cannot tell whether context {name!r} is client-managed or cloud: `qlik context get` "
                f"shows no server type and a QRS read failed ({e.detail}); {explain(e, name)}"
            ) from e
        return ServerType.CLOUD
    except QlikError as e:
        raise UsageProblem(f"cannot tell the server type of context {name!r}: {e}") from e
    return ServerType.WINDOWS


def resolve_space(spaces: list[Space], ref: str, *, want: str, flag: str) -> Space:
    """By id, else by exact name. `qlik space ls --name` is a fuzzy contains-match, so never use it."""
    if not ref:
        raise UsageProblem(f"{flag} is required: a {want} space name or id")
    by_id = [s for s in spaces if s.id == ref]
    matches = by_id or [s for s in spaces if s.name == ref]
    if not matches:
        near = [s.name for s in spaces if s.name.casefold() == ref.casefold()]
        hint = f" (did you mean {near[0]!r}? names are case-sensitive)" if near else ""
        raise UsageProblem(f"no space named or with id {ref!r} on the target tenant{hint}: check {flag}")
    if len(matches) > 1:
        ids = ", ".join(f"{s.id} ({s.type})" for s in matches)
        raise UsageProblem(f"two or more spaces are named {ref!r}: {ids}; pass the id to {flag} instead")
    space = matches[0]
    if space.type != want:
        raise UsageProblem(f"space {space.name!r} ({space.id}) is a {space.type} space; {flag} needs a {want} space")
    return space


def explain(exc: QlikCommandFailed, context: str) -> str:
    """One line for a qlik failure the user can fix."""
    if exc.kind == FailureKind.UNAUTHORIZED:
        return (f"context {context!r} was refused (401): its API key or token has expired; "
                "update it with `qlik context update`")
    if exc.kind == FailureKind.CERTIFICATE:
        return f"context {context!r}: the server certificate is not trusted; pass --insecure or install the certificate"
    if exc.kind == FailureKind.CONTEXT:
        return f"qlik-cli context {context!r} does not exist: run `qlik context ls` to see the names"
    if exc.kind == FailureKind.NETWORK:
        return f"context {context!r}: the server cannot be reached ({exc.detail})"
    if exc.kind == FailureKind.FORBIDDEN:
        return f"context {context!r} lacks permission for this call ({exc.detail})"
    return f"context {context!r}: {exc.detail}"

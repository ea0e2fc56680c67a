"""An in-process tenant for the hand-over, so a benchmark measures what the tool decides (which
identity sends each change-owner, each identity's window, the tenant's cap) without the cost of
a process per simulated `qlik` call.

`InProcessTenant` is the tool's own runner (`qlikcli_py.qlik.Qlik`) with its one process-starting
method, `_spawn`, answered in memory: `Qlik.run` above it is unchanged, so the pacer's admission,
the 429 handling (penalize, wait, retry) and the argv the wrappers build are the real ones. The
tenant keeps Qlik's rule itself, per identity (context): at most `limit` writes in any sliding
`window` seconds, counted when a call arrives; one more is answered 429 with the body the process
simulator prints (errors.HttpError), classified by the tool's own classifier (a QlikCommandFailed
of kind rate_limited), and counted. `tenant_limit` caps all identities' writes together the same
way. `app object change-owner` changes the owner in `owners`, so a run's result can be checked;
`app <group> layout` answers the object's owner (what settling reads after an ambiguous send).

`run_handover` builds what `qlik-migrate run` builds for one app (Session with an IdentityPool of
the target and its helpers over one Pacer with a CallLog, a Ledger, RunOptions, Migration) and
runs the real hand-over (`Migration.handover.reassign`) of one app of private objects.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections import deque
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from qlikcli_py.qlik import Qlik
from qlikcli_py.qlik import QlikResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

TARGET_CONTEXT = "cloud"
ME = "64a1f0c2e3b4d5f6a7b8c900"  # the target context's user


class SlidingWindow:
    """At most `limit` calls in any `window` seconds: the arrival times of the last window's calls."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float | None:
        """None when a call arriving now is within the limit (then it is counted); else the seconds
        until the oldest call of the window leaves it."""
        while self.times and self.times[0] <= now - self.window:
            self.times.popleft()
        if len(self.times) >= self.limit:
            return self.times[0] + self.window - now
        return None

    def count(self, now: float) -> None:
        self.times.append(now)


@dataclass
class Stats:
    accepted: Counter[str] = field(default_factory=Counter)  # writes answered, per context
    refused_429: Counter[str] = field(default_factory=Counter)  # writes answered 429, per context
    reads: int = 0
    first_write: float | None = None
    last_write: float | None = None


class InProcessTenant(Qlik):
    """The tool's runner with every `qlik` call answered in memory (see the module's docstring).
    `owners`: object id -> owner id of the one imported app `app_id`."""

    def __init__(self, app_id: str, owners: dict[str, str], *, limit: int, window: float,
                 tenant_limit: int = 0, latency: float = 0.0, clock: Callable[[], float] = time.monotonic,
                 **runner: Any) -> None:
        super().__init__("qlik", **runner)
        self.app_id = app_id
        self.owners = owners
        self.limit, self.window, self.latency = limit, window, latency
        self._clock = clock
        self._windows: dict[str, SlidingWindow] = {}
        self._tenant = SlidingWindow(tenant_limit, window) if tenant_limit else None
        self.stats = Stats()
        self.applied: dict[str, list[str]] = {}  # object id -> contexts whose change-owner applied

    def resolve(self) -> str:
        return "qlik (in process)"

    async def _spawn(self, argv: list[str], shown: tuple[str, ...], tier: str, timeout: float,
                     stdout_path: Path | None) -> QlikResult:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        async with self._slots:  # a call holds one of --workers slots, as a process does
            if self.latency:
                await asyncio.sleep(self.latency)  # the way there: the tenant counts the call on arrival
            return self._call(argv, shown, tier, stdout_path)

    def _call(self, argv: list[str], shown: tuple[str, ...], tier: str, stdout_path: Path | None) -> QlikResult:
        self.calls[tier] += 1
        started = self._clock()
        args = [a for a in argv if a != "--json"]
        context = ""
        if "--context" in args:
            i = args.index("--context")
            context = args[i + 1]
            del args[i:i + 2]
        stdout = self._answer(tuple(args), tuple(argv), context, started)
        if stdout_path is not None:
            stdout_path.write_bytes(stdout)
            stdout = b""
        return QlikResult(shown, stdout, b"", self._clock() - started)

    def _answer(self, args: tuple[str, ...], argv: tuple[str, ...], context: str, now: float) -> bytes:
        from qliksim.output import dumps

        if args[:3] == ("app", "object", "change-owner"):
            self._admit_write(argv, context, now)
            app, oid, owner = (_flag(args, f) for f in ("--appId", "--objectId", "--ownerId"))
            if app != self.app_id or oid not in self.owners:
                self._fail(argv, 404, f"object {oid} not found")
            self.owners[oid] = owner
            self.applied.setdefault(oid, []).append(context)
            return dumps({"attributes": {"id": oid, "objectType": "sheet", "ownerId": owner, "approved": False}})
        if len(args) >= 4 and args[0] == "app" and args[2] == "layout":
            self.stats.reads += 1
            oid = args[3]
            if _flag(args, "--app") != self.app_id or oid not in self.owners:
                self._fail(argv, 404, f"object {oid} not found")
            return dumps({"qInfo": {"qId": oid, "qType": "sheet"},
                          "qMeta": {"title": oid, "ownerId": self.owners[oid], "published": False, "approved": False}})
        raise AssertionError(f"the in-process tenant answers change-owner and layout only, not {args}")

    def _admit_write(self, argv: tuple[str, ...], context: str, now: float) -> None:
        mine = self._windows.setdefault(context, SlidingWindow(self.limit, self.window))
        waits = [w for w in (mine.wait(now), self._tenant.wait(now) if self._tenant else None) if w is not None]
        if waits:
            self.stats.refused_429[context] += 1
            self._fail(argv, 429, f"You need to wait {math.ceil(max(waits))} seconds until limit is lifted.",
                       title="API rate limit reached.")
        mine.count(now)
        if self._tenant is not None:
            self._tenant.count(now)
        self.stats.accepted[context] += 1
        if self.stats.first_write is None:
            self.stats.first_write = now
        self.stats.last_write = now

    @staticmethod
    def _fail(argv: tuple[str, ...], status: int, detail: str, title: str | None = None) -> None:
        """Raise what the runner raises for this answer: the simulator's text, the tool's classifier."""
        from qlikcli_py.errors import QlikCommandFailed
        from qlikcli_py.failures import classify
        from qliksim.errors import HttpError

        stdout, stderr = HttpError(status, detail, title=title).render(True, "0" * 16)
        f = classify(stdout, stderr)
        raise QlikCommandFailed(argv, 1, stdout, stderr, kind=f.kind, status=f.status, detail=f.detail,
                                retry_after=f.retry_after)


def _flag(args: tuple[str, ...], name: str) -> str:
    return args[args.index(name) + 1]


# -- one hand-over, as `qlik-migrate run` makes it ---------------------------------------------------
SOURCE_APP = "5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c"
IMPORTED_APP = "cloud-app-imported"
COPY_APP = "cloud-app-copy"


def _user_id(n: int) -> str:
    return f"{0xC10D << 80 | n:024x}"[-24:]


def _helper_id(n: int) -> str:
    return f"{0xB07 << 84 | n:024x}"[-24:]


def run_handover(work: Path, *, writes: int, identities: int, limit: int, window: float, owners: int = 10,
                 workers: int = 16, latency: float = 0.0, tenant_limit: int = 0,
                 tool_limit: int | None = None) -> dict[str, Any]:
    """One app of `writes` private objects of `owners` users, imported by the target (so it owns
    them all) and handed over by the target and `identities - 1` admin.apps helpers, with the tool's
    pacing at `limit` writes per `window` seconds per identity (--write-rate limit*60/window
    --rate-window window) and the tenant keeping the same rule. `tool_limit` paces the tool at
    another budget than the tenant's (a misconfigured --write-rate: the tenant answers 429s).
    `tenant_limit` (0: none) is the tenant's cap over all identities, given to the tool as
    --tenant-write-rate too. Returns the figures and the checks."""
    from qlikcli_py.call_log import CallLog
    from qlikcli_py.identities import Identity
    from qlikcli_py.identities import IdentityPool
    from qlikcli_py.identities import minimum_seconds
    from qlikcli_py.ledger import Ledger
    from qlikcli_py.mapping.outcomes import Resolution
    from qlikcli_py.migration import Migration
    from qlikcli_py.models import CloudUser
    from qlikcli_py.models import SourceApp
    from qlikcli_py.models import SourceObject
    from qlikcli_py.models import SourceOwner
    from qlikcli_py.models import Space
    from qlikcli_py.models import State
    from qlikcli_py.pacing import Pacer
    from qlikcli_py.planning import AppPlan
    from qlikcli_py.planning import AppSpec
    from qlikcli_py.progress import Progress
    from qlikcli_py.session import Session
    from qlikcli_py.settings import RunOptions
    from qlikcli_py.source import Source
    from qlikcli_py.target import Target

    state = work / "state"
    state.mkdir(parents=True, exist_ok=True)
    (work / "exports").mkdir(exist_ok=True)
    per_min = (limit if tool_limit is None else tool_limit) * 60.0 / window
    tenant_per_min = tenant_limit * 60.0 / window
    calls = CallLog.open(state, keep_seconds=window)
    pacer = Pacer(read_per_min=1000.0, write_per_min=per_min, window=window, call_log=calls,
                  tenant_write_per_min=tenant_per_min)
    source_owners = [SourceOwner(f"{n:08x}-1111-4111-8111-111111111111", f"user{n}", "ACME", f"User {n}")
                     for n in range(owners)]
    cloud_users = [CloudUser(_user_id(n), f"User {n}", f"ACME\\user{n}", f"user{n}@acme.example")
                   for n in range(owners)]
    objects = [SourceObject(f"obj-{i:06d}", "sheet", f"Sheet {i}", State.PRIVATE, source_owners[i % owners].id)
               for i in range(writes)]
    expected = {o.object_id: cloud_users[i % owners].id for i, o in enumerate(objects)}
    tenant = InProcessTenant(IMPORTED_APP, {o.object_id: ME for o in objects}, limit=limit, window=window,
                             tenant_limit=tenant_limit, latency=latency, pacer=pacer, workers=workers)
    scratch = work / "scratch"
    target = Target(tenant, TARGET_CONTEXT, scratch=scratch)
    me = {"id": ME, "subject": "qlikbot\\migrate", "assignedScopes": ["admin.apps"]}
    pool_ids = [Identity(TARGET_CONTEXT, target, me, True)]
    for n in range(1, identities):
        ctx = "cloud-bot" if n == 1 else f"bot{n}"
        pool_ids.append(Identity(ctx, Target(tenant, ctx, scratch=scratch),
                                 {"id": _helper_id(n), "subject": f"qlikbot\\{ctx}", "assignedScopes": ["admin.apps"]},
                                 True, helper=True))
    shared = Space("65b2c3d4e5f6a7b8c9d0e1f3", "Finance Dev", "shared", ("create",))
    managed = Space("65b2c3d4e5f6a7b8c9d0e1f4", "Finance", "managed", ("publish",))
    session = Session(qlik=tenant, source=Source(tenant, "qseow", scratch=scratch), target=target,
                      version="2.24.0", me=me, spaces=[shared, managed], pool=IdentityPool(pool_ids, pacer))
    app = SourceApp(SOURCE_APP, "Sales Overview", "2024-05-01T10:00:00.000Z", "Finance", "ACME\\user0")
    plan = AppPlan(spec=AppSpec(SOURCE_APP, shared.id, managed.id), app=app, shared=shared, managed=managed,
                   objects=objects, owners={o.id: o for o in source_owners},
                   resolutions={o.id: Resolution(o, u, "subject", f"subject {u.subject}")
                                for o, u in zip(source_owners, cloud_users, strict=True)})
    ledger = Ledger(state)
    migration = Migration(session, ledger, RunOptions(export_dir=work / "exports"), Progress(1, enabled=False))
    # Where `run` stands when the hand-over starts: exported, imported (the target owns every object), copied.
    ledger.begin_app(app.id, app.name, app.modified, shared.id, managed.id)
    ledger.update_app(app.id, imported_app_id=IMPORTED_APP, copy_app_id=COPY_APP)
    rec = ledger.app(app.id)
    assert rec is not None
    started = time.monotonic()
    error = ""
    try:
        asyncio.run(migration.handover.reassign(plan, rec))
    except Exception as e:  # a hand-over that could not finish is a figure too
        error = f"{type(e).__name__}: {e}"
    wall = time.monotonic() - started
    if calls is not None:
        calls.flush()
    s = tenant.stats
    span = (s.last_write - s.first_write) if s.first_write is not None and s.last_write is not None else 0.0
    wrong = sorted(oid for oid, owner in tenant.owners.items() if owner != expected.get(oid))
    lost = sorted(set(expected) - set(tenant.owners))
    twice = sorted(oid for oid, by in tenant.applied.items() if len(by) > 1)
    counts = ledger.object_counts(app.id)
    sent_by = Counter(r["sent_by"] for r in ledger.objects(app.id))
    ledger.close()
    # The tenant's rule, whatever the tool was told: the least time it allows (identities.minimum_seconds).
    rule = Pacer(read_per_min=0, write_per_min=limit * 60.0 / window, window=window,
                 tenant_write_per_min=tenant_per_min)
    bound = minimum_seconds(rule, writes, target_only=0, identities=identities)
    return {"writes": writes, "identities": identities, "limit": limit, "window": window,
            "tenant_limit": tenant_limit, "tool_limit": limit if tool_limit is None else tool_limit,
            "workers": workers, "latency": latency, "bound": bound,
            "span": span, "wall": wall, "ratio": span / bound if bound else None,
            "accepted": sum(s.accepted.values()), "refused_429": sum(s.refused_429.values()),
            "rate_limited_seen": pacer.rate_limited, "by_context": dict(s.accepted),
            "ledger_sent_by": {str(k): v for k, v in sent_by.items()}, "ledger_counts": counts,
            "objects_after": len(tenant.owners), "wrongly_owned": len(wrong), "lost": len(lost),
            "applied_twice": len(twice), "reads": s.reads,
            "error": error}

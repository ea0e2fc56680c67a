"""A stub of the qlik-cli layer for decision-table tests of the workflow.

`FakeTenant` replaces the runner (`qlik.Qlik.run`) one level below the `Source`/`Target` wrappers,
so the workflow is driven through its public entry with the real wrappers, the real parsers and the
real failure classifier, and every call it makes is recorded as the argv qlik-cli would get. The
tenant holds the little state a migration changes (apps per space, each app's objects with owner
and state) and answers with the shapes of `fixtures/qlik/`. Failures print the error text of the
recorded fixtures where there is one.

What a row assumes of Qlik is what this file does, so each rule below names its provenance
(REAL / DOC / INFERRED, as in docs/qlik-surface.md):
- `app import` creates a NEW app every time, owned by the importer, with every object of the QVF
  owned by the importer and its state kept (DOC);
- `app copy` creates a new app owned by the copier; objects keep their ids and belong to the copier
  (INFERRED);
- `app object change-owner` is refused with 403 unless the caller owns the object or has admin.apps
  (DOC), and answers 404 for an object that is not in the app (DOC status, INFERRED text);
- a private object of another user is invisible to the engine: `layout` answers
  `5 GENERIC ACCESS DENIED`, unless the caller has admin.apps (DOC rule, INFERRED text);
- `app publish create --moveApp` moves the app (same id) into the managed space (DOC);
- `app ls` lists the apps of a space with their owner and creation time (DOC).

A scripted outcome replaces the normal answer of the next matching call: `answered()`,
`failed(error, applied=...)`, `timed_out(applied=...)` or `killed(applied=...)` (the run dies while
the call is in flight, leaving the ledger as the code wrote it before the call). Failures can last:
`lasting(outcome, n)` for the next n calls, `script(..., forever=True)` for every call from then on.
`listing_lag = K` shows a new app in `app ls` only from its (K+1)th read on (the items index is
eventually consistent, DOC).
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from fakeqlik import load_fixture

from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.errors import QlikTimeout
from qlikcli_py.failures import classify
from qlikcli_py.qlik import Qlik
from qlikcli_py.qlik import QlikResult

ME = "64a1f0c2e3b4d5f6a7b8c900"  # the migration identity (the target context's user)


class Killed(BaseException):
    """The run died while a call was in flight, when the tenant is driven in-process (no `on_kill`).
    The harness runs each run in a process of its own and SIGKILLs it instead (`on_kill`), so no
    `finally` or `except BaseException` of the tool runs after a kill, as after a real one."""


_STATE = ("apps", "calls", "_scripts", "_ids", "_clock", "_unlisted", "source_version")


# -- errors as qlik-cli prints them: the recorded fixtures' text, so a re-recording updates them ----
def _fixture(name: str) -> tuple[bytes, bytes]:
    data = load_fixture(name)
    return data["stdout"].encode(), data["stderr"].encode()


ERRORS: dict[str, tuple[bytes, bytes]] = {
    "400": _fixture("user_ls_bad_filter_400"),
    "403": _fixture("change_owner_403"),  # REST refusal of a caller that does not own the object
    "404": _fixture("app_get_404"),
    "503": _fixture("server_503"),
    "500": _fixture("qrs_server_500"),
    "access_denied": _fixture("engine_access_denied"),  # engine 5: another user's private object
    "engine_not_found": _fixture("engine_persistence_not_found"),  # engine 9003
    # wording nobody has recorded, without a code (the simulator's `engine_wording=novel`)
    "engine_novel": (b"", b"Error: the engine turned the request for this object away\n"),
    "engine_corectl_not_found": (b"", b"Error: no object by ID 'x'\n"),  # corectl's words (CODE)
    "disk_full": (b"", b"Error: write /exports/app.qvf.part: no space left on device\n"),  # INFERRED wording
}


def qlik_failure(args: tuple[str, ...], error: str) -> QlikCommandFailed:
    stdout, stderr = ERRORS[error]
    f = classify(stdout, stderr)
    return QlikCommandFailed(args, 1, stdout, stderr, kind=f.kind, status=f.status, detail=f.detail,
                             retry_after=f.retry_after)


# -- scripted outcomes ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    kind: str  # answered | failed | timed_out | killed
    applied: bool = True
    error: str = ""

    def __str__(self) -> str:
        what = {"answered": "answered", "failed": f"failed {self.error}", "timed_out": "timed out",
                "killed": "killed"}[self.kind]
        return what if self.kind == "answered" else f"{what} ({'applied' if self.applied else 'not applied'})"


def answered() -> Outcome:
    return Outcome("answered")


def failed(error: str, *, applied: bool = False) -> Outcome:
    return Outcome("failed", applied, error)


def timed_out(*, applied: bool) -> Outcome:
    return Outcome("timed_out", applied)


def killed(*, applied: bool) -> Outcome:
    return Outcome("killed", applied)


def lasting(outcome: Outcome, calls: int) -> tuple[Outcome, ...]:
    """The same outcome for the next `calls` matching calls (a failure that lasts)."""
    return (outcome,) * calls


@dataclass
class _Script:
    words: tuple[str, ...]
    token: str | None  # only calls whose argv holds this token (an object id, say)
    outcomes: list[Outcome]
    forever: bool = False  # the last outcome answers every later matching call


# -- the tenant -----------------------------------------------------------------------------------
@dataclass
class CloudObj:
    type: str
    owner: str
    published: bool
    approved: bool

    @property
    def private(self) -> bool:
        return not self.published and not self.approved


@dataclass
class CloudAppRow:
    id: str
    name: str
    space: str
    owner: str
    created: str
    origin: str = ""
    objects: dict[str, CloudObj] = field(default_factory=dict)
    script: str = "LIB CONNECT TO 'SQL_Prod';\n"  # the load script (migration/scripts.py reads it)


_COMMANDS = (
    ("qrs", "app", "export", "create"), ("app", "import"), ("app", "ls"), ("app", "get"), ("app", "copy"),
    ("app", "object", "change-owner"), ("app", "publish", "create"), ("app", "build"),
    ("app", "script", "get"), ("app", "script", "set"), ("app", "connection", "ls"),
)
_ENGINE = ("layout", "unpublish", "rm", "ls")


def command_of(args: tuple[str, ...]) -> str:
    """The command words of an argv: `app object change-owner`, `app bookmark layout`, ..."""
    for words in _COMMANDS:
        if args[:len(words)] == words:
            return " ".join(words)
    if len(args) >= 3 and args[0] == "app" and args[2] in _ENGINE:
        return " ".join(args[:3])
    raise AssertionError(f"the workflow called a command the stub does not know: {args}")


def _flag(args: tuple[str, ...], name: str) -> str:
    return args[args.index(name) + 1]


class FakeTenant(Qlik):
    """The qlik runner over an in-memory tenant. `qvf` is what an export of the source app holds:
    object id -> (type, published, approved); `admin` gives the identity admin.apps."""

    def __init__(self, qvf: dict[str, tuple[str, bool, bool]], *, admin: bool = False,
                 hidden_answer: str = "access_denied", absent_answer: str = "engine_not_found",
                 drop_unsaved: bool = False, hidden_refusal: str = "403") -> None:
        super().__init__("qlik", workers=1, timeout=5.0)
        self.qvf = qvf
        self.admin = admin
        self.hidden_answer = hidden_answer  # what the engine says of an object the caller cannot see
        self.absent_answer = absent_answer  # what the engine says of an id the app does not hold
        self.hidden_refusal = hidden_refusal  # change-owner's answer for another user's private object
        self.drop_unsaved = drop_unsaved  # `rm --no-save` is lost with its process's engine session
        self.apps: dict[str, CloudAppRow] = {}
        self.calls: list[tuple[str, ...]] = []
        self._scripts: list[_Script] = []
        self._ids = itertools.count(1)
        self._clock = dt.datetime.now(dt.UTC)
        self.source_version = 1  # what an export holds: a new version after the source changed
        self.listing_lag = 0  # `app ls` reads a new app stays out of the listing
        self._unlisted: dict[str, int] = {}
        self.on_kill: Callable[[], None] | None = None

    def kill_scripted(self) -> bool:
        return any(o.kind == "killed" for s in self._scripts for o in s.outcomes)

    def state(self) -> dict[str, Any]:
        """What the tenant holds, to carry it out of the process a run was made in."""
        return {k: getattr(self, k) for k in _STATE}

    def restore(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            setattr(self, k, v)

    # -- scripting ------------------------------------------------------------------------------
    def script(self, command: str, *outcomes: Outcome, token: str | None = None, forever: bool = False) -> None:
        self._scripts.append(_Script(tuple(command.split()), token, list(outcomes), forever))

    def commands(self) -> list[str]:
        return [command_of(a) for a in self.calls]

    def in_space(self, space: str) -> list[CloudAppRow]:
        return [a for a in self.apps.values() if a.space == space]

    # -- the runner -----------------------------------------------------------------------------
    async def run(self, *args: str, context: str | None, tier: str, json: bool = True,
                  idempotent: bool = False, timeout: float | None = None,
                  stdout_path: Path | None = None) -> QlikResult:
        assert context, f"every call names its context: {args}"
        call = tuple(args)
        self.calls.append(call)
        outcome = self._next_outcome(call)
        stdout = b""
        if outcome.kind == "answered" or outcome.applied:
            stdout = self._answer(call)
        if outcome.kind == "failed":
            raise qlik_failure(call, outcome.error)
        if outcome.kind == "timed_out":
            raise QlikTimeout(call, timeout or self.timeout)
        if outcome.kind == "killed":
            if self.on_kill is not None:
                self.on_kill()  # does not return: the process is killed
            raise Killed(" ".join(call))
        if stdout_path is not None:
            # written without awaiting: a yield here would let concurrent apps' calls interleave
            # differently from run to run, and the scripted outcomes follow call order
            stdout_path.write_bytes(stdout)  # noqa: ASYNC240
            stdout = b""
        return QlikResult(call, stdout, b"", 0.0)

    def _next_outcome(self, call: tuple[str, ...]) -> Outcome:
        for s in self._scripts:
            if s.outcomes and call[:len(s.words)] == s.words and (s.token is None or s.token in call):
                return s.outcomes[0] if s.forever and len(s.outcomes) == 1 else s.outcomes.pop(0)
        return answered()

    def _now(self) -> str:
        self._clock += dt.timedelta(seconds=1)
        return self._clock.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _answer(self, args: tuple[str, ...]) -> bytes:
        cmd = command_of(args)
        if cmd == "qrs app export create":
            Path(_flag(args, "--output-file")).write_bytes(f"QVF {args[4]} v{self.source_version}".encode())
            return b""
        if cmd == "app import":
            objects = {oid: CloudObj(t, ME, pub, appr) for oid, (t, pub, appr) in self.qvf.items()}
            return self._nx(self._create(_flag(args, "--name"), _flag(args, "--spaceId"), objects))
        if cmd == "app ls":
            listed = []
            for a in self.in_space(_flag(args, "--spaceId")):
                if self._unlisted.get(a.id, 0) > 0:
                    self._unlisted[a.id] -= 1
                else:
                    listed.append(self._item(a))
            return _dump(listed)
        if cmd == "app get":
            return self._nx(self._app(args[2]))
        if cmd == "app copy":
            source = self._app(args[2])
            objects = {oid: CloudObj(o.type, ME, o.published, o.approved) for oid, o in source.objects.items()
                       if self._visible(o)}
            copy = self._create(_flag(args, "--attributes-name"), _flag(args, "--attributes-spaceId"), objects)
            copy.script = source.script
            return self._nx(copy)
        if cmd == "app object change-owner":
            app, oid = self._app(_flag(args, "--appId")), _flag(args, "--objectId")
            obj = app.objects.get(oid)
            if obj is None:
                raise qlik_failure(args, "404")
            if obj.owner != ME and not self.admin:
                raise qlik_failure(args, self.hidden_refusal if obj.private else "403")
            obj.owner = _flag(args, "--ownerId")
            return _dump({"attributes": {"id": oid, "objectType": obj.type, "ownerId": obj.owner,
                                         "approved": obj.approved}})
        if cmd == "app publish create":
            app = self._app(args[3])
            app.space, app.origin = _flag(args, "--spaceId"), _flag(args, "--originAppId")
            return self._nx(app)
        if cmd == "app build":
            self._app(_flag(args, "--app"))
            return b"Saving app... Done\n\n"
        if cmd == "app script get":
            return self._app(_flag(args, "--app")).script.encode()
        if cmd == "app script set":
            self._app(_flag(args, "--app")).script = Path(args[3]).read_text(encoding="utf-8")
            return b""
        if cmd == "app connection ls":
            self._app(_flag(args, "--app"))
            return _dump([{"qId": "c1", "qName": "SQL_Prod", "qType": "ODBC"}])
        app = self._app(_flag(args, "--app"))
        verb = args[2]
        if verb == "ls":
            families = {"bookmark": ("bookmark", "snapshot"), "dimension": ("dimension",), "measure": ("measure",)}
            wanted = families.get(args[1])
            return _dump([{"qId": oid, "qType": o.type, "title": oid} for oid, o in app.objects.items()
                          if self._visible(o) and (o.type in wanted if wanted else
                                                   o.type not in sum(families.values(), ()))])
        ids = [args[3]] if verb != "rm" else list(args[3:args.index("--app")])
        for oid in ids:
            obj = app.objects.get(oid)
            if obj is None:
                raise qlik_failure(args, self.absent_answer)
            if not self._visible(obj):
                raise qlik_failure(args, self.hidden_answer)
        if verb == "layout":
            obj = app.objects[ids[0]]
            return _dump({"qInfo": {"qId": ids[0], "qType": obj.type},
                          "qMeta": {"title": ids[0], "ownerId": obj.owner, "published": obj.published,
                                    "approved": obj.approved}})
        if verb == "unpublish":
            app.objects[ids[0]].published = False
            return b""
        if "--no-save" in args and self.drop_unsaved:
            return b""  # accepted, and lost when this process's engine session closes
        for oid in ids:
            del app.objects[oid]
        return b""

    def _visible(self, obj: CloudObj) -> bool:
        return not obj.private or obj.owner == ME or self.admin

    def _create(self, name: str, space: str, objects: dict[str, CloudObj]) -> CloudAppRow:
        app = CloudAppRow(f"cloud-app-{next(self._ids)}", name, space, ME, self._now(), objects=objects)
        self.apps[app.id] = app
        self._unlisted[app.id] = self.listing_lag
        return app

    def _app(self, app_id: str) -> CloudAppRow:
        app = self.apps.get(app_id)
        if app is None:
            raise qlik_failure(("app", "get", app_id), "404")
        return app

    @staticmethod
    def _nx(app: CloudAppRow) -> bytes:
        return _dump({"attributes": {"id": app.id, "name": app.name, "spaceId": app.space, "ownerId": app.owner,
                                     "originAppId": app.origin, "createdDate": app.created, "published": False,
                                     "_resourcetype": "app"}})

    @staticmethod
    def _item(app: CloudAppRow) -> dict[str, Any]:
        return {"name": app.name, "resourceId": app.id, "resourceType": "app", "spaceId": app.space,
                "ownerId": app.owner, "creatorId": app.owner, "resourceCreatedAt": app.created,
                "resourceAttributes": {"id": app.id, "name": app.name, "spaceId": app.space, "ownerId": app.owner,
                                       "originAppId": app.origin, "createdDate": app.created}}


def _dump(value: Any) -> bytes:
    return json.dumps(value, indent=2).encode()

"""The one module that runs `qlik`. Nothing else imports `sh` or builds a process.

Every call: explicit argv list (never a shell), `--context NAME` (never `qlik context use`, which
rewrites the user's global contexts.yml and breaks concurrent cron runs), no pty, an explicit
environment, a timeout, stdout kept as bytes for orjson. Success is the exit code: stderr often
carries warnings on success. Calls run as asyncio tasks on sh's async mode, bounded by `workers`
and paced per (context, tier): a call holds its place in the rate window while it runs.
"""
from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import shutil
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import sh
import structlog

from qlikcli_py import versions
from qlikcli_py.errors import QlikBadOutput
from qlikcli_py.errors import QlikCommandFailed
from qlikcli_py.errors import QlikNotFound
from qlikcli_py.errors import QlikTimeout
from qlikcli_py.errors import QlikTooOld
from qlikcli_py.failures import classify
from qlikcli_py.failures import help_command
from qlikcli_py.pacing import Pacer
from qlikcli_py.qlik_output import note_preamble
from qlikcli_py.redact import redact_argv
from qlikcli_py.vocabulary import FailureKind
from qlikcli_py.vocabulary import Tier

log = structlog.get_logger("qlik")

# The defaults every entry point shares (flags, Connection, this class): each defined here once.
DEFAULT_BINARY = "qlik"
DEFAULT_WORKERS = 8  # qlik processes in flight at once (`scripts/bench --only workers`: docs/performance.md)
# Engine sessions (websockets) in flight at once, within the workers: Qlik Cloud refuses new engine
# sessions after rapid bursts ("could not connect to engine"), which REST calls do not meet.
DEFAULT_ENGINE_WORKERS = 4
DEFAULT_CALL_TIMEOUT = 300.0  # seconds before one call is abandoned (export and import get longer)
TRANSFER_TIMEOUT = 3600.0  # a multi-GB QVF takes a while: one timeout for the export and the import

INSTALL_HINT = (
    "install qlik-cli 2.24.0 or later from https://qlik.dev/toolkits/qlik-cli/ "
    "(or pass --qlik-bin PATH)"
)
MIN_VERSION = versions.MIN_VERSION
_MAX_429_RETRIES = 30
# A 429 that names no wait (qlik-cli 1.4.0 prints only the body; Retry-After is not always shown):
# our own schedule, doubling from 5 s up to a minute, so a storm is not met at full pace.
_LIMIT_WAIT_FIRST, _LIMIT_WAIT_MAX = 5.0, 60.0
_BACKOFF_BASE = 0.5
# "could not connect to engine": the tenant throttles new engine sessions for a while after a
# burst, so retries at 0.5/1/2/4 s meet the throttle again. Idempotent engine calls wait longer:
# 5 s doubling up to a minute, a few times (about 2.5 minutes in all).
_ENGINE_WAIT_FIRST, _ENGINE_WAIT_MAX, _ENGINE_RETRIES = 5.0, 60.0, 5
_MAX_NOTICE_LINES = 10  # lines before the JSON answer that are skipped as notices
_KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL on a timeout


@dataclass(frozen=True)
class QlikResult:
    argv: tuple[str, ...]  # redacted
    stdout: bytes
    stderr: bytes
    seconds: float


def _die_with_parent(parent: int) -> None:  # pragma: no cover (runs in the forked child)
    # A qlik child must not outlive a killed migration run: an orphan that applied a change after
    # the run died would race the next run's reconciliation. PR_SET_PDEATHSIG = 1 (Linux only).
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died between fork and prctl: too late for the signal
        os._exit(1)


def child_env(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    # sh's _env replaces the environment instead of merging, so merge here. qlik-cli reads
    # QLIK_CLI_USER_HOME_DIR (contexts file) and proxy variables from it; keep them.
    env = dict(os.environ)
    if overrides:
        env.update(overrides)
    return env


class Qlik:
    def __init__(
        self,
        binary: str = DEFAULT_BINARY,
        *,
        pacer: Pacer | None = None,
        workers: int = DEFAULT_WORKERS,
        engine_workers: int = DEFAULT_ENGINE_WORKERS,
        timeout: float = DEFAULT_CALL_TIMEOUT,
        retries: int = 4,
        env: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.binary = binary
        self.pacer = pacer or Pacer(read_per_min=0, write_per_min=0)
        self.workers = max(1, workers)
        self.engine_workers = max(1, engine_workers)
        self._sleep = sleep or _sleep  # the back-offs' waits (tests inject their own)
        self._engine_slots: asyncio.Semaphore | None = None
        self.timeout = timeout
        self.retries = retries
        self._env = child_env(env)
        self._path: str | None = None
        self._slots: asyncio.Semaphore | None = None
        self.calls: Counter[str] = Counter()  # invocations per tier, retries included
        self.retried = 0
        self.version = versions.UNKNOWN_VERSION  # set by check_version; named when a command is missing
        # flags this binary lists under another spelling (flagcheck.py): "--exportScope" -> "--exportscope"
        self.spellings: dict[str, str] = {}

    # -- binary -------------------------------------------------------------------------------
    def resolve(self) -> str:
        if self._path is None:
            found = shutil.which(self.binary, path=self._env.get("PATH"))
            if found is None:
                raise QlikNotFound(f"qlik-cli not found ({self.binary!r} is not on PATH): {INSTALL_HINT}")
            self._path = found
        return self._path

    async def check_version(self) -> str:
        """The version as printed, or "unknown" for a build that prints no number (2.27.0 did,
        qlik-cli issue #40): that warns and goes on. Older than 2.24.0 is refused."""
        result = await self.run("version", context=None, tier=Tier.LOCAL, json=False)
        text = result.stdout.decode("utf-8", "replace")
        found = versions.read_version(text)
        if found is None:
            raise QlikBadOutput(result.argv, result.stdout, "no version line")
        if not found.known:
            log.warning("qlik.version_unknown", printed=text.strip()[:200],
                        hint="this qlik-cli prints no version number; going on as if it were recent enough")
        elif found.numbers is not None and found.numbers < MIN_VERSION:
            self.version = found.text
            raise QlikTooOld(f"qlik-cli {found.text} is too old: the migration needs {versions.MIN_VERSION_TEXT} "
                               f"or later; {INSTALL_HINT}")
        self.version = found.text
        return found.text

    # -- calls --------------------------------------------------------------------------------
    async def json(self, *args: str, context: str | None, tier: str, idempotent: bool = False,
                   timeout: float | None = None) -> Any:
        result = await self.run(*args, context=context, tier=tier, idempotent=idempotent, timeout=timeout)
        return parse_json(result.argv, result.stdout)

    async def run(
        self,
        *args: str,
        context: str | None,
        tier: str,
        json: bool = True,
        idempotent: bool = False,
        timeout: float | None = None,
        stdout_path: Path | None = None,
    ) -> QlikResult:
        argv = [self._spelled(a) for a in args] if self.spellings else [*args]
        if json:
            argv.append("--json")
        if context is not None:
            argv += ["--context", context]
        shown = redact_argv(argv)
        limit_hits = 0
        engine_refusals = 0
        attempt = 0
        while True:
            try:
                async with self._engine_slot(tier), self.pacer.admit(context or "", tier):
                    result = await self._spawn(argv, shown, tier, timeout or self.timeout, stdout_path)
                self._refuse_help(args, result)
                return result
            except QlikCommandFailed as exc:
                if exc.kind == FailureKind.RATE_LIMITED and limit_hits < _MAX_429_RETRIES:
                    limit_hits += 1
                    asked = exc.retry_after
                    if asked is None:
                        asked = min(_LIMIT_WAIT_MAX, _LIMIT_WAIT_FIRST * 2 ** (limit_hits - 1))
                    wait = self.pacer.penalize(context or "", tier, asked)
                    log.warning("qlik.rate_limited", argv=shown, wait=wait)
                    await self._sleep(wait)
                    continue
                if exc.kind == FailureKind.ENGINE_CONNECT and idempotent:
                    if engine_refusals >= _ENGINE_RETRIES:
                        raise  # not on to the short back-off below: the throttle outlasts it
                    engine_refusals += 1
                    self.retried += 1
                    wait = min(_ENGINE_WAIT_MAX, _ENGINE_WAIT_FIRST * 2 ** (engine_refusals - 1))
                    log.warning("qlik.engine_refused", argv=shown, attempt=engine_refusals, wait=wait)
                    await self._sleep(wait)
                    continue
                if not (idempotent and exc.transient and attempt < self.retries):
                    raise
            except QlikTimeout:
                if not (idempotent and attempt < self.retries):
                    raise
            attempt += 1
            self.retried += 1
            delay = _BACKOFF_BASE * 2 ** (attempt - 1)
            log.info("qlik.retry", argv=shown, attempt=attempt, delay=delay)
            await self._sleep(delay)

    @contextlib.asynccontextmanager
    async def _engine_slot(self, tier: str) -> AsyncIterator[None]:
        """Engine calls take one of --engine-workers slots first (then a worker slot), so a burst
        of engine sessions stays small while REST calls go on beside it."""
        if tier != Tier.ENGINE:
            yield
            return
        if self._engine_slots is None:
            self._engine_slots = asyncio.Semaphore(self.engine_workers)
        async with self._engine_slots:
            yield

    def _spelled(self, token: str) -> str:
        name, eq, value = token.partition("=")
        spelled = self.spellings.get(name) if name.startswith("--") else None
        return f"{spelled}{eq}{value}" if spelled else token

    async def help(self, *command: str) -> str:
        """`qlik COMMAND --help`: the usage text, which lists the flags this binary accepts."""
        result = await self.run(*command, "--help", context=None, tier=Tier.LOCAL, json=False)
        return result.stdout.decode("utf-8", "replace")

    def _refuse_help(self, args: tuple[str, ...], result: QlikResult) -> None:
        """An unknown sub-command of a group prints the group's help and exits 0 (REAL, 1.4.0): a
        command this qlik-cli lacks would otherwise "succeed"."""
        if "--help" in args or "-h" in args:
            return
        group = help_command(result.stdout)
        if group is None:
            return
        words = [a for a in args if not a.startswith("-")]
        command = " ".join(words[:len(group.split()) + 1]) if words else group
        added = versions.command_added_in(command)
        detail = (f"this qlik-cli ({self.version}) has no `{command}`: it printed the help of `qlik {group}`; "
                  f"it needs {added} or later")
        raise QlikCommandFailed(result.argv, 0, result.stdout[:4096], result.stderr, kind=FailureKind.UNSUPPORTED,
                                status=None, detail=detail)

    async def _spawn(self, argv: list[str], shown: tuple[str, ...], tier: str, timeout: float,
                     stdout_path: Path | None) -> QlikResult:
        path = self.resolve()
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        async with self._slots:
            self.calls[tier] += 1
            loop = asyncio.get_running_loop()
            finished: asyncio.Future[None] = loop.create_future()

            def done(_cmd: Any, _success: bool, _exit_code: int) -> None:
                # sh calls this from its own thread; hand the news to the event loop. A loop
                # already closed (the run is ending on an error) has no one left to tell.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_resolve, finished)

            started = time.monotonic()
            out_file = open(stdout_path, "wb") if stdout_path is not None else None  # noqa: SIM115, ASYNC230  # a local scratch file
            timer: asyncio.TimerHandle | None = None
            expired: list[bool] = []
            try:
                # _bg + _done instead of sh's _async/_timeout: both poll at 100 ms inside sh and
                # would add that latency to every call. The timeout is ours (SIGTERM, then SIGKILL).
                # _new_session: the child leads its own process group, so a timeout or a cancelled
                # run ends everything it started (a wrapper script given as --qlik-bin and its qlik).
                kwargs: dict[str, Any] = dict(
                    _bg=True, _bg_exc=False, _done=done, _return_cmd=True, _tty_out=False,
                    _env=self._env, _preexec_fn=functools.partial(_die_with_parent, os.getpid()),
                    _new_session=True,
                )
                if out_file is not None:
                    kwargs["_out"] = out_file
                proc = sh.Command(path)(*argv, **kwargs)
                timer = loop.call_later(timeout, _expire, proc, expired, loop)
                unwatch = _watch_exit(loop, proc.pid, finished)
                try:
                    await finished
                except asyncio.CancelledError:
                    # The run is ending while this call is in flight (another call failed): end it
                    # and its group too, and let sh's reader threads finish (in a thread: the loop
                    # keeps serving the other calls' endings) while the event loop they report to
                    # is still open.
                    _signal_group(proc.pid, signal.SIGKILL)
                    with contextlib.suppress(sh.ErrorReturnCode, sh.SignalException):
                        await asyncio.shield(asyncio.to_thread(proc.wait))
                    raise
                finally:
                    unwatch()
                # The leader has exited. Whatever it left in its group (a wrapper's background qlik)
                # would hold stdout open, and sh's readers, so this wait, until it ended: end it now.
                # The wait itself (reader threads draining) runs in a thread, never on the loop.
                _signal_group(proc.pid, signal.SIGKILL)
                await asyncio.to_thread(proc.wait)
            except sh.ErrorReturnCode as e:
                if expired:
                    log.warning("qlik.timeout", argv=shown, seconds=timeout)
                    raise QlikTimeout(shown, timeout) from e
                stdout = e.stdout if out_file is None else _head(stdout_path)
                failure = classify(stdout, e.stderr)
                log.info("qlik.failed", argv=shown, rc=e.exit_code, kind=failure.kind,
                         status=failure.status, seconds=round(time.monotonic() - started, 3))
                raise QlikCommandFailed(
                    shown, e.exit_code, stdout, e.stderr, kind=failure.kind, status=failure.status,
                    detail=failure.detail, retry_after=failure.retry_after,
                ) from e
            except sh.CommandNotFound as e:  # an AttributeError subclass: keep it narrow
                raise QlikNotFound(f"qlik-cli not found at {path}: {INSTALL_HINT}") from e
            except OSError as e:
                raise QlikNotFound(f"cannot run {path}: {e.strerror}; {INSTALL_HINT}") from e
            finally:
                if timer is not None:
                    timer.cancel()
                if out_file is not None:
                    out_file.close()
            if expired:  # killed by our timer but exited 0 (it caught SIGTERM): still a timeout
                raise QlikTimeout(shown, timeout)
            seconds = time.monotonic() - started
            log.debug("qlik.ok", argv=shown, tier=tier, seconds=round(seconds, 3))
            stdout = b"" if out_file is not None else proc.stdout
            return QlikResult(shown, stdout, proc.stderr, seconds)


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)  # looked up at each call, so a test may replace the module's asyncio


def _watch_exit(loop: asyncio.AbstractEventLoop, pid: int, fut: asyncio.Future[None]) -> Callable[[], None]:
    """Resolve fut the moment the child exits. sh's own _done callback comes from a thread that
    polls the child once a second, which would add up to a second to every call; a pidfd on the
    event loop (Linux 5.3+) says at once. Where there is none, the _done callback still fires."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:  # already exited and reaped
        _resolve(fut)
        return lambda: None
    except (AttributeError, OSError):
        return lambda: None

    def readable() -> None:
        _resolve(fut)

    loop.add_reader(fd, readable)

    def unwatch() -> None:
        loop.remove_reader(fd)
        os.close(fd)

    return unwatch


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def _expire(proc: Any, expired: list[bool], loop: asyncio.AbstractEventLoop) -> None:
    """The call's time is up: SIGTERM to its whole process group, SIGKILL to what is left of the
    group after a grace period. Scheduled on the loop, never waited for."""
    expired.append(True)
    _signal_group(proc.pid, signal.SIGTERM)
    loop.call_later(_KILL_GRACE, _signal_group, proc.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: int) -> None:
    """Signal every process of the group the child leads (it was started in its own session); a
    group already gone is no error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _head(path: Path | None) -> bytes:
    if path is None:
        return b""
    with contextlib.suppress(OSError), open(path, "rb") as fh:
        return fh.read(4096)
    return b""


def parse_json(argv: tuple[str, ...], data: bytes) -> Any:
    if not data.strip():
        raise QlikBadOutput(argv, data, "nothing where JSON was expected")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        error = e
    # Notices printed before the answer (qlik-cli 3.x's `Warning: This command is being replaced
    # by '...'`, update notices): the answer is what follows them, a list, an object or a bare
    # count. A few lines at most; they are logged once (qlik_output.note_preamble).
    pos = data.find(b"\n")
    for _ in range(_MAX_NOTICE_LINES):
        if pos < 0:
            break
        rest = data[pos + 1:]
        if rest.strip():
            try:
                value = orjson.loads(rest)
            except orjson.JSONDecodeError:
                pass
            else:
                note_preamble(data[:pos + 1])
                return value
        pos = data.find(b"\n", pos + 1)
    raise QlikBadOutput(argv, data, "output that is not JSON") from error

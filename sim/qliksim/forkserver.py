"""A fork server for the simulated `qlik`: the simulator imported once, a fresh process per call.

Every simulated call is a new process, and most of its cost is the interpreter importing the
simulator (sqlite3, json, the handlers: ~30 of ~45 ms). The `qlik` that `install_bin` writes is a
small client: it hands its argv, environment, working directory and its stdin/stdout/stderr (the
descriptors themselves, SCM_RIGHTS) to this server, which forks a worker from its already-imported
state; the worker runs `qliksim.qlik.main` exactly as the plain `qlik` would, writing straight to
the caller's streams, and its exit code is the client's.

What a call is stays the same: one process per call, nothing shared between calls (the server
itself never runs one), the call log's pid is the worker's. A client that dies (a timeout's
SIGTERM, a killed run) takes its worker with it: a monitor process per call kills the worker as
soon as the client's end of the socket closes.

The client starts the server when none answers (and runs that call itself); the server leaves after
IDLE_SECONDS without a call. `QLIK_SIM_FORK=0` turns it off.
"""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import struct
import sys

from qliksim.forkclient import CODE
from qliksim.forkclient import HEADER
from qliksim.forkclient import IDLE_SECONDS
from qliksim.forkclient import STREAMS
from qliksim.forkclient import decode
from qliksim.qlik import EXIT_CRASH


def serve(address: str, idle: float = IDLE_SECONDS) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(address)
    except OSError:
        return  # another client started one first
    listener.listen(256)  # clients that come during the preload wait in the backlog
    try:
        _preload()
    except Exception:  # noqa: BLE001  (a worker imports what it needs and fails as the plain `qlik` would)
        pass
    listener.settimeout(idle)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped by the kernel
    while True:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            return
        except InterruptedError:
            continue
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            status = 1
            try:
                status = _monitor(conn)
            finally:
                os._exit(status)
        conn.close()


def _preload() -> None:
    """Everything a call may import, imported once here (each worker then starts with it)."""
    import json  # noqa: F401  (output formatting)
    import sqlite3  # noqa: F401

    import orjson  # noqa: F401

    from qliksim import qlik
    from qliksim import surface

    for cmd in surface.COMMANDS:
        qlik._handler(cmd.handler)


def _monitor(conn: socket.socket) -> int:
    """One call: receive it, fork its worker, kill the worker if the client goes first, answer."""
    header, ancillary, _flags, _addr = conn.recvmsg(HEADER.size, socket.CMSG_SPACE(STREAMS * 4))
    fds: list[int] = []
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += struct.unpack(f"{len(data) // 4}i", data[: len(data) - len(data) % 4])
    if len(header) < HEADER.size or len(fds) != STREAMS:
        return 1
    (size,) = HEADER.unpack(header)
    payload = bytearray()
    while len(payload) < size:
        chunk = conn.recv(size - len(payload))
        if not chunk:
            return 1
        payload += chunk
    argv, env, cwd = decode(bytes(payload))
    pid = os.fork()
    if pid == 0:
        conn.close()
        _work(fds, argv, env, cwd)
    for fd in fds:
        os.close(fd)
    entry = _register(env.get("QLIK_SIM_STATE", ""), pid)
    try:
        _wait_or_kill(conn, pid)
    finally:
        if entry is not None:
            entry.unlink(missing_ok=True)
    return 0


def workers_dir(state: str) -> str:
    """Where a world's running workers are listed, one empty file per pid: a worker's
    /proc/PID/environ is the server's, so the sweeps' orphan check (sweeps.sim_processes) finds a
    world's workers here."""
    folder, name = os.path.split(state)
    return os.path.join(folder, f".{name}.workers")  # hidden: copies of `world.db*` pass it by


def _register(state: str, pid: int) -> pathlib.Path | None:
    if not state:
        return None
    folder = pathlib.Path(workers_dir(state))
    try:
        folder.mkdir(exist_ok=True)
        entry = folder / str(pid)
        entry.touch()
    except OSError:
        return None
    return entry


def _wait_or_kill(conn: socket.socket, pid: int) -> None:
    import select

    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(conn, select.POLLIN | select.POLLHUP)
    poller.register(pidfd, select.POLLIN)
    ready = {fd for fd, _ in poller.poll()}
    if pidfd not in ready:  # the client hung up (killed, timed out): so does its call
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:  # killed by a signal: as a shell reports it
        code = 128 - code
    try:
        conn.sendall(CODE.pack(code))
    except OSError:
        pass


def _work(fds: list[int], argv: list[str], env: dict[str, str], cwd: str) -> None:
    code = EXIT_CRASH
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        sys.argv = ["qlik", *argv]
        from qliksim.qlik import main

        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001  (as the plain `qlik` would: loud, exit 70)
        import traceback

        sys.stderr.write(f"simulator crashed:\n{traceback.format_exc()}")
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)

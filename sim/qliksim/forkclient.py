"""The simulated `qlik` as a client of the fork server (forkserver.py): it sends its argv,
environment, working directory and its three streams, and exits with the worker's code.

It runs in every simulated call, so it imports builtins only (no socket.py, no enum): the point
is to start faster than the simulator itself.
"""

from __future__ import annotations

import os
import struct
import sys

IDLE_SECONDS = 10.0  # a server outlives its last call by this long (a new one starts in ~50 ms)
DISABLE_ENV = "QLIK_SIM_FORK"
HEADER = struct.Struct("!I")
CODE = struct.Struct("!i")
STREAMS = 3  # stdin, stdout, stderr
EXIT_LOST = 70  # the server went away mid-call: a simulator failure, distinct from qlik-cli's 0/1


def name_for(key: str) -> str:
    """The server's abstract socket name (nothing on disk to clean up) for one simulator build."""
    return f"qliksim-{os.getuid()}-{key}"


def encode(argv: list[str], env: dict[str, str], cwd: str) -> bytes:
    """A request's fields (forkclient.c writes the same): NUL-terminated count, arguments, count,
    environment entries, working directory."""
    fields = [str(len(argv)), *argv, str(len(env)), *(f"{k}={v}" for k, v in env.items()), cwd]
    return b"".join(os.fsencode(field) + b"\0" for field in fields)


def decode(payload: bytes) -> tuple[list[str], dict[str, str], str]:
    fields = [os.fsdecode(field) for field in payload.split(b"\0")[:-1]]
    argc = int(fields[0])
    argv = fields[1:1 + argc]
    envc = int(fields[1 + argc])
    env = dict(entry.partition("=")[::2] for entry in fields[2 + argc:2 + argc + envc])
    return argv, env, fields[2 + argc + envc]


# Interpreter options read at start-up, which a worker forked from the server cannot take from its
# call: a call that sets one runs itself (forkclient.c keeps the same list), and the server is
# started without them.
INTERPRETER_ENV = ("PYTHONPROFILEIMPORTTIME", "PYTHONDEVMODE", "PYTHONTRACEMALLOC", "PYTHONWARNINGS",
                   "PYTHONFAULTHANDLER", "PYTHONMALLOC", "PYTHONVERBOSE", "PYTHONDEBUG", "PYTHONINSPECT")


def client_main(name: str) -> int:
    if os.environ.get(DISABLE_ENV) != "0" and not any(key in os.environ for key in INTERPRETER_ENV):
        code = _through_server("\0" + name)
        if code is not None:
            return code
    from qliksim.qlik import main

    return main()


def _through_server(address: str) -> int | None:
    """The call through the server; None when it cannot be sent (the caller then runs it itself)."""
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(address)
    except OSError:
        sock.close()
        _start_server(address)
        return None
    payload = encode(sys.argv[1:], dict(os.environ), os.getcwd())
    fds = struct.pack(f"{STREAMS}i", *range(STREAMS))
    try:
        sock.sendmsg([HEADER.pack(len(payload)), payload], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
    except OSError:  # a closed stdin, say: nothing was run yet
        sock.close()
        return None
    answer = b""
    while len(answer) < CODE.size:
        chunk = sock.recv(CODE.size - len(answer))
        if not chunk:
            sys.stderr.write("simulator fork server went away during the call\n")
            return EXIT_LOST
        answer += chunk
    return int(CODE.unpack(answer)[0])


def _start_server(address: str) -> None:
    """Start a server in its own session (out of reach of the caller's process-group kills), its
    streams on /dev/null (it must not hold the caller's pipes open)."""
    code = f"import sys; sys.path[:0] = {sys.path!r}; from qliksim.forkserver import serve; serve({address!r})"
    null = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in range(STREAMS)]
    # Without the world: the server (and every worker, whose /proc/PID/environ is the server's)
    # serves every world, and must not look like a process of the one that happened to start it.
    env = {key: value for key, value in os.environ.items() if key != "QLIK_SIM_STATE" and key not in INTERPRETER_ENV}
    try:
        os.posix_spawn(sys.executable, [sys.executable, "-S", "-c", code], env, file_actions=null, setsid=True)
    except OSError:
        pass  # no server: every call runs itself, as without one

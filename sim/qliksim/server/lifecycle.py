"""Run the server until SIGTERM/SIGINT, or until the process that started it is gone."""

from __future__ import annotations

import os
import signal
import sys
import threading

from qliksim.server.http import SimServer

PARENT_POLL_S = 0.5


def serve(state: str, port: int = 0) -> int:
    # Read before the URL is printed: a parent that reads it and dies at once would otherwise be
    # gone before we look, and its successor (init) taken for the parent.
    parent = os.getppid()
    stop = threading.Event()

    def _stop(_sig: int, _frame: object) -> None:
        stop.set()

    # Handlers first: whoever reads the URL may signal at once.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server = SimServer(state, port)
    # The first stdout line is the contract with scripts and tests: they read the URL from it.
    sys.stdout.write(server.base_url + "\n")
    sys.stdout.flush()
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    worker.start()
    try:
        # A parent that dies without a signal (SIGKILL, a crashed test run) re-parents us: then stop.
        while not stop.wait(PARENT_POLL_S):
            if os.getppid() != parent:
                break
    finally:
        server.shutdown()
        server.server_close()
    return 0

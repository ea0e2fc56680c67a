"""`qlik-sim serve` binds loopback only, stops on SIGTERM and when its parent dies; `qlik-sim contexts`."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from qliksim import admin
from qliksim import seed

ROOT = Path(__file__).resolve().parents[2]


def _gone(pid: int, seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":  # exited; only waiting for whoever adopted it to reap it
            return True
        time.sleep(0.1)
    return False


def test_stops_when_its_parent_is_killed(tmp_path: Path) -> None:
    seed.demo(tmp_path / "w.db")
    # The parent prints the server's pid and URL, then waits; SIGKILL gives it no chance to clean up.
    code = ("import subprocess,sys; "
            "p=subprocess.Popen([sys.executable,'-m','qliksim.admin','serve','--state',sys.argv[1]],"
            "stdout=subprocess.PIPE,text=True); print(p.pid, p.stdout.readline().strip(), flush=True); p.wait()")
    parent = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "w.db")],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert parent.stdout is not None
    pid, url = parent.stdout.readline().split()
    assert url.startswith("http://127.0.0.1:")
    parent.kill()
    parent.wait()
    assert _gone(int(pid), 10), "the server outlived its parent"


def test_stops_on_sigterm_and_refuses_a_missing_world(tmp_path: Path) -> None:
    seed.demo(tmp_path / "w.db")
    proc = subprocess.Popen([sys.executable, "-m", "qliksim.admin", "serve", "--state", str(tmp_path / "w.db")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None and proc.stdout.readline().startswith("http://127.0.0.1:")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    missing = subprocess.run([sys.executable, "-m", "qliksim.admin", "serve", "--state", str(tmp_path / "nope.db")],
                             capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "seed demo" in missing.stderr


def test_contexts_prints_one_create_command_per_context(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    seed.demo(tmp_path / "w.db")
    assert admin.main(["contexts", "--state", str(tmp_path / "w.db"), "--server", "http://127.0.0.1:9/"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[3] for line in lines] == ["cloud", "cloud-bot", "qseow"]
    assert all("--server http://127.0.0.1:9 " in line for line in lines)
    assert [("--server-type windows" in line) for line in lines] == [False, False, True]
    assert "--api-key eyJhbGciOiJSUzI1NiJ9.sim-qrs.sig" in lines[2]

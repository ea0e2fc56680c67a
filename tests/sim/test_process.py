"""The installed `qlik` as real processes: start-up, read-only calls, concurrency, SIGKILL."""

from __future__ import annotations

import hashlib
import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
import time
from typing import Any

import pytest

from qliksim import faults
from qliksim import forkclient
from qliksim import qlik as qlik_sim
from qliksim import sweeps
from qliksim.admin import install_bin
from qliksim.store import World

from .conftest import Result


def sha(path: str) -> str:
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def spawn(qlik_bin: pathlib.Path, demo: dict[str, Any], *argv: str, context: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "QLIK_SIM_STATE": demo["path"]}
    return subprocess.Popen([str(qlik_bin), *argv, "--json", "--context", context], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(p: subprocess.Popen[bytes]) -> Result:
    out, err = p.communicate(timeout=60)
    return Result(p.returncode, out, err)


def test_installed_bin_runs_without_the_package_on_the_path(qlik_bin: pathlib.Path, demo: dict[str, Any],
                                                            tmp_path: pathlib.Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"QLIK_SIM_STATE": demo["path"]}
    done = subprocess.run([str(qlik_bin), "version"], capture_output=True, env=env, cwd=tmp_path, timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (
        0, b"version: 2.24.0\tbranch: \tcommit: 51a7e0c0ffee5eed51a7e0c0ffee5eed51a7e0c0\n", b"")
    first_line = qlik_bin.with_name("qlik-py").read_text().splitlines()[0]
    assert first_line.startswith("#!/") and "python" in first_line


def _imported(qlik_bin: pathlib.Path, demo: dict[str, Any], *argv: str, fork: bool = False) -> set[str]:
    """The modules one call of the installed Python `qlik` imports (Python's own -X importtime report)."""
    env = {**os.environ, "QLIK_SIM_STATE": demo["path"], forkclient.DISABLE_ENV: "1" if fork else "0"}
    # -X importtime, not PYTHONPROFILEIMPORTTIME: that one sends a call past the server (a worker
    # cannot take an interpreter option from its call)
    script = qlik_bin.with_name("qlik-py")
    done = subprocess.run([sys.executable, "-S", "-X", "importtime", str(script), *argv], capture_output=True,
                          env=env, check=True, timeout=60)
    lines = [line for line in done.stderr.decode().splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines[1:]}  # (the first line is the header)


def _through_server(qlik_bin: pathlib.Path, demo: dict[str, Any]) -> set[str]:
    """The imports of a call once a fork server answers (the first call starts one and runs itself)."""
    for _ in range(100):
        modules = _imported(qlik_bin, demo, "version", fork=True)
        if "qliksim.qlik" not in modules:
            return modules
        time.sleep(0.05)
    raise AssertionError("no fork server answered")


@pytest.fixture(params=["compiled", "python"])
def client(request: pytest.FixtureRequest, tmp_path: pathlib.Path, demo: dict[str, Any]) -> pathlib.Path:
    """The `qlik` of either client of the fork server, with a server answering."""
    qlik = install_bin(tmp_path / "client", compiled=request.param == "compiled")
    is_elf = qlik.read_bytes()[:4] == b"\x7fELF"
    if request.param == "compiled":
        assert is_elf, "no C compiler: the compiled client was not built"
    else:
        assert not is_elf
    _through_server(qlik, demo)
    return qlik


def test_start_up_is_lean(qlik_bin: pathlib.Path, demo: dict[str, Any]) -> None:
    """What makes a call cheap (docs/simulator.md): no site.py (-S), the stdlib only (orjson only
    for long lists), and only the handler of the command that runs. The time it takes is a
    figure for a benchmark, not a test."""
    local = _imported(qlik_bin, demo, "version")
    api = _imported(qlik_bin, demo, "user", "me", "--json", "--context", "cloud")
    for modules in (local, api):
        assert {m.split(".")[0] for m in modules} - {"qliksim"} <= set(sys.stdlib_module_names), modules
        assert "site" not in modules and "orjson" not in modules
        assert not modules & {"qliksim.cloud_apps", "qliksim.qvf", "qliksim.seed", "qliksim.admin"}, modules
    assert "qliksim.directory" in api and "qliksim.directory" not in local  # `user me`'s handler, when it runs
    assert "json" not in local  # `version` prints text


def test_through_the_fork_server_a_python_call_imports_only_its_client(qlik_bin: pathlib.Path,
                                                                       demo: dict[str, Any]) -> None:
    modules = _through_server(qlik_bin, demo)
    assert "qliksim.forkclient" in modules
    assert not modules & {"qliksim.qlik", "sqlite3", "json", "socket", "enum", "site"}, modules


_SAME_EITHER_WAY = [
    ["version"],
    ["user", "me", "--json", "--context", "cloud"],
    ["qrs", "app", "count", "--json", "--context", "qseow"],
    ["app", "ls", "--limit", "5", "--json", "--context", "cloud"],
    ["app", "ls", "--nosuchflag", "--context", "cloud"],
    ["app", "ls", "--context", "nosuch"],
    ["space", "--help"],
]


def test_the_fork_server_answers_as_the_call_run_itself(client: pathlib.Path, demo: dict[str, Any],
                                                        tmp_path: pathlib.Path) -> None:
    answers: dict[str, list[tuple[int, bytes, bytes]]] = {"0": [], "1": []}
    for fork in ("0", "1"):
        env = {**os.environ, "QLIK_SIM_STATE": demo["path"], forkclient.DISABLE_ENV: fork}
        for argv in _SAME_EITHER_WAY:
            done = subprocess.run([str(client), *argv], capture_output=True, env=env, cwd=tmp_path, timeout=60)
            answers[fork].append((done.returncode, done.stdout, done.stderr))
    assert answers["1"] == answers["0"]
    assert [code for code, _, _ in answers["1"]] == [0, 0, 0, 0, 1, 1, 0]
    pids = [c["pid"] for c in World(demo["path"]).calls()]
    assert len(set(pids)) == len(pids), "every call is a process of its own"


def test_a_call_that_sets_an_interpreter_option_runs_itself(client: pathlib.Path, demo: dict[str, Any]) -> None:
    env = {**os.environ, "QLIK_SIM_STATE": demo["path"]}
    timed = subprocess.run([str(client), "version"], capture_output=True, timeout=60,
                           env={**env, "PYTHONPROFILEIMPORTTIME": "1"})
    assert timed.returncode == 0 and b"| qliksim.qlik" in timed.stderr  # this process imported the simulator
    plain = subprocess.run([str(client), "version"], capture_output=True, env=env, timeout=60)
    assert plain.returncode == 0 and plain.stderr == b""  # and the option did not reach the server


def test_a_client_killed_mid_call_takes_its_worker_with_it(client: pathlib.Path, demo: dict[str, Any]) -> None:
    faults.configure(demo["path"], hang=1.0, hang_seconds=60, fault_tiers="read", seed=3)
    caller = spawn(client, demo, "user", "me", context="cloud")
    deadline = time.monotonic() + 30
    hung: list[dict[str, Any]] = []
    while not hung and time.monotonic() < deadline:
        hung = [c for c in World(demo["path"]).calls() if c.get("event") == "hang"]
        time.sleep(0.02)
    assert hung, "the call never hung"
    worker = hung[0]["pid"]
    assert worker != caller.pid and pathlib.Path(f"/proc/{worker}").exists()
    # the sweeps' orphan check sees the worker as this world's (its environ is the server's)
    assert worker in sweeps.sim_processes(demo["path"])
    caller.send_signal(signal.SIGTERM)  # what the tool's timeout sends
    caller.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while pathlib.Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not pathlib.Path(f"/proc/{worker}").exists(), "the worker outlived its client"
    assert sweeps.sim_processes(demo["path"]) == []


def test_read_only_calls_leave_the_world_byte_identical(proc: Any, demo: dict[str, Any], run: Any,
                                                        tmp_path: pathlib.Path) -> None:
    # Set up some Cloud state first (writes), then fingerprint.
    qvf = tmp_path / "sales.qvf"
    assert run("qrs", "app", "export", "create", demo["apps"]["sales"], "--exportScope", "all",
               "--output-file", str(qvf), context="qseow").code == 0
    app = run("app", "import", "--file", str(qvf), "--spaceId", demo["spaces"]["Finance Dev"],
              context="cloud").json()["attributes"]["id"]
    private = next(o["engineObjectId"] for o in demo["objects"]["sales"] if o["state"] == "private")
    run("app", "object", "change-owner", "--appId", app, "--objectId", private,
        "--ownerId", demo["cloud_users"]["jdoe"], context="cloud")
    before = sha(demo["path"])
    calls = [
        (("version",), None),
        (("context", "get", "cloud"), None),
        (("context", "ls"), None),
        (("qrs", "app", "full", "--filter", "stream.name eq 'Finance'"), "qseow"),
        (("qrs", "app", "count"), "qseow"),
        (("qrs", "app", "object", "full", "--filter", f"app.id eq {demo['apps']['sales']}"), "qseow"),
        (("qrs", "user", "full"), "qseow"),
        (("qrs", "app", "export", "create", demo["apps"]["hr"], "--output-file", str(tmp_path / "hr.qvf")), "qseow"),
        (("user", "me"), "cloud"),
        (("user", "count"), "cloud"),
        (("user", "ls", "--filter", 'subject eq "ACME\\\\jdoe"'), "cloud"),
        (("space", "ls", "--limit", "100"), "cloud"),
        (("app", "get", app), "cloud"),
        (("app", "ls", "--spaceId", demo["spaces"]["Finance Dev"]), "cloud"),
        (("app", "object", "ls", "--app", app), "cloud"),
        (("app", "bookmark", "ls", "--app", app), "cloud"),
        (("app", "object", "layout", private, "--app", app), "cloud"),  # 5 GENERIC ACCESS DENIED
        (("app", "get", "missing"), "cloud"),  # 404
        (("user", "ls", "--filter", 'subject eq "A\\x"'), "cloud"),  # 400
        (("app", "object", "change-owner", "--appId", app, "--objectId", private,
          "--ownerId", demo["cloud_users"]["asmith"]), "cloud"),  # 403
        (("qrs", "app", "count"), "cloud"),  # wrong server type
    ]
    for argv, context in calls:
        proc(*argv, context=context)
    assert sha(demo["path"]) == before
    assert not pathlib.Path(demo["path"] + "-journal").exists()


def test_latency_overlaps_across_parallel_callers(proc: Any, demo: dict[str, Any], run: Any,
                                                   monkeypatch: Any) -> None:
    """The latency is slept outside any transaction and any lock, so parallel callers overlap:
    while one call sleeps its latency, the world takes an exclusive lock at once and another
    caller (a real process) writes and completes."""
    faults.configure(demo["path"], latency=0.6)
    sleeps: list[float] = []
    during: list[Any] = []

    class _Time:  # qliksim.qlik's `time`, with its sleeps recorded instead of slept
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        def sleep(self, seconds: float) -> None:
            sleeps.append(seconds)
            for path in (demo["path"], demo["path"] + ".runtime"):
                if os.path.exists(path):  # no lock of this call's may be held: EXCLUSIVE at once
                    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
                    conn.execute("BEGIN EXCLUSIVE")
                    conn.execute("ROLLBACK")
                    conn.close()
            faults.configure(demo["path"], latency=0)  # a write, then a whole call of another process
            during.append(proc("app", "ls", context="cloud"))

    monkeypatch.setattr(qlik_sim, "time", _Time())
    assert run("user", "me", context="cloud").code == 0
    assert sleeps == [0.6]
    [other] = during
    assert other.code == 0, other.err


def test_parallel_change_owner_processes_leave_a_consistent_world(qlik_bin: pathlib.Path, demo: dict[str, Any],
                                                                  run: Any, tmp_path: pathlib.Path) -> None:
    qvf = tmp_path / "sales.qvf"
    run("qrs", "app", "export", "create", demo["apps"]["sales"], "--exportScope", "all",
        "--output-file", str(qvf), context="qseow")
    app = run("app", "import", "--file", str(qvf), "--spaceId", demo["spaces"]["Finance Dev"],
              context="cloud-bot").json()["attributes"]["id"]
    users = list(demo["cloud_users"].values())
    targets = {o["engineObjectId"]: users[i % len(users)] for i, o in enumerate(demo["objects"]["sales"][:16])}
    procs = [
        spawn(qlik_bin, demo, "app", "object", "change-owner", "--appId", app, "--objectId", oid, "--ownerId", uid,
              context="cloud-bot")
        for oid, uid in targets.items()
    ]
    results = [finish(p) for p in procs]
    assert all(r.code == 0 for r in results), [r for r in results if r.code]
    owners = {o["object_id"]: o["owner_id"] for o in World(demo["path"]).cloud_objects(app)}
    assert all(owners[oid] == uid for oid, uid in targets.items())
    assert sqlite3.connect(demo["path"]).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert len([c for c in World(demo["path"]).calls() if c.get("command") == "app object change-owner"]) == 16


def test_sigkill_mid_call_leaves_the_world_consistent(qlik_bin: pathlib.Path, demo: dict[str, Any], run: Any,
                                                      tmp_path: pathlib.Path) -> None:
    qvf = tmp_path / "sales.qvf"
    run("qrs", "app", "export", "create", demo["apps"]["sales"], "--exportScope", "all",
        "--output-file", str(qvf), context="qseow")
    procs = []
    for delay in (0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.3):
        p = spawn(qlik_bin, demo, "app", "import", "--file", str(qvf), "--spaceId", demo["spaces"]["Finance Dev"],
                  context="cloud")
        procs.append((p, delay))
    start = time.monotonic()
    for p, delay in procs:
        time.sleep(max(0.0, start + delay - time.monotonic()))
        p.send_signal(signal.SIGKILL)
    for p, _ in procs:
        p.communicate(timeout=30)
    conn = sqlite3.connect(demo["path"])
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    world = World(demo["path"])
    for app in world.cloud_apps():  # every import is all or nothing
        assert len(world.cloud_objects(app["id"])) == 22  # 7 user types x 3 states + the base script
    assert run("app", "ls", "--limit", "100", context="cloud").code == 0  # still usable (hot journal rolled back)


def test_a_hang_is_killed_by_the_callers_timeout_after_committing(qlik_bin: pathlib.Path, demo: dict[str, Any],
                                                                  run: Any, tmp_path: pathlib.Path) -> None:
    qvf = tmp_path / "sales.qvf"
    run("qrs", "app", "export", "create", demo["apps"]["sales"], "--output-file", str(qvf), context="qseow")
    faults.configure(demo["path"], applied_but_failed=1.0, hang_seconds=60, fault_tiers="write", seed=3)
    env = {**os.environ, "QLIK_SIM_STATE": demo["path"]}
    # Which branch (5xx or hang) a call takes is seeded; try calls until one hangs.
    for _ in range(12):
        try:
            done = subprocess.run(
                [str(qlik_bin), "app", "import", "--file", str(qvf), "--json", "--context", "cloud"],
                capture_output=True, env=env, timeout=1.5,
            )
            assert done.returncode == 1 and done.stderr.startswith(b'{\n  "": "503 Service Unavailable"\n}\n\n')
        except subprocess.TimeoutExpired:
            break
    else:
        raise AssertionError("no call hung")
    apps = World(demo["path"]).cloud_apps()
    # approved scope: 8 base objects
    assert apps and all(len(World(demo["path"]).cloud_objects(a["id"])) == 8 for a in apps)


def _tick_many(state: str, rounds: int, out: Any) -> None:
    from qliksim import runtime

    out.put([runtime.tick(state, "bot", "read", None, time.time())[0] for _ in range(rounds)])


def test_parallel_first_calls_of_a_world_all_count(tmp_path: pathlib.Path) -> None:
    """Every call's first act is to count itself in `<state>.runtime`, which the first calls of a
    world create together: each must get a number of its own (none may find the counter table
    before its row)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    for attempt in range(30):
        state = str(tmp_path / f"world{attempt}.db")
        out = ctx.Queue()
        procs = [ctx.Process(target=_tick_many, args=(state, 3, out)) for _ in range(6)]
        for p in procs:  # started one after another: a later one may come while the first creates
            p.start()
        for p in procs:
            p.join(timeout=60)
        assert [p.exitcode for p in procs] == [0] * 6, f"a first call crashed (attempt {attempt})"
        counters = sorted(n for _ in procs for n in out.get(timeout=10))
        assert counters == list(range(1, 19))

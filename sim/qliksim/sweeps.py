"""Shared by the kill/fault sweeps (scripts/kill-sweep, scripts/fault-sweep) and their e2e tests:
the final-state check of a migration in a simulator world, and running `python -m qlikcli_py` as a
process that is SIGKILLed when the simulator's call log shows a chosen call.

Test and script support only: nothing in the tool imports this module.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from qliksim import forkserver
from qliksim.store import World

DONE_CODES = (0, 4)  # done, or done with unmatched owners
USER_TYPES = frozenset({"sheet", "story", "bookmark", "snapshot", "masterobject", "dimension", "measure"})
STEPS = ("plan", "export", "import", "script", "copy", "reassign", "move", "clean")

# Which migration step a simulated call belongs to (by the call log's `command`). `app ls` is the
# reconciliation of import or copy; `layout` is the reassign step settling an object.
_STEP_OF = {
    "qrs app export create": "export",
    "app import": "import",
    # (plan's reads, a site's script and the managed space's `app ls`, are labelled script and
    # import: a kill there lands before the export, which the final-state check covers the same)
    "app script get": "script",
    "app script set": "script",
    "app connection ls": "script",
    "app copy": "copy",
    "app object change-owner": "reassign",
    "app get": "move",
    "app publish create": "move",
}


def step_of(call: dict[str, Any]) -> str:
    command = call.get("command") or ""
    if command in _STEP_OF:
        return _STEP_OF[command]
    if command == "app ls":
        return "import"  # finding an app an interrupted import or copy may have created
    if command.endswith(" layout"):
        return "reassign"
    if command.endswith((" unpublish", " rm")) or command == "app build":
        return "clean"
    return "plan"


def _state(o: dict[str, Any]) -> str:
    return "base" if o["approved"] else "community" if o["published"] else "private"


# -- the final state ----------------------------------------------------------------------------
@dataclass
class FinalState:
    problems: list[str] = field(default_factory=list)
    duplicate_imports: int = 0  # imports beyond one per source app
    duplicate_copies: int = 0  # development copies beyond one per source app
    extra_apps: int = 0  # any other app the run left on the tenant
    lost_objects: int = 0  # source objects missing from the migrated app, or of another type/state
    wrong_owner: int = 0  # non-base objects not owned by their expected owner
    dirty_copy: int = 0  # non-base (or unsaved) objects left in the development copy

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, other: FinalState) -> None:
        self.problems += other.problems
        for name in ("duplicate_imports", "duplicate_copies", "extra_apps", "lost_objects", "wrong_owner",
                     "dirty_copy"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def expected_owners(world: World, me: str) -> dict[str, str]:
    """QRS user id -> the cloud user that should own that user's objects: subject `DIR\\userId`
    (case-insensitive), else e-mail (case-insensitive), among active users; else the migration
    identity `me` (unmatched owners' objects stay with it)."""
    active = [u for u in world.cloud_users() if str(u["status"]).lower() not in ("disabled", "deleted")]
    by_subject = {str(u["subject"]).lower(): u["id"] for u in active}
    by_email = {str(u["email"]).lower(): u["id"] for u in active if u["email"]}
    out = {}
    for q in world.qrs_users():
        subject = f"{q['user_directory']}\\{q['user_id']}".lower()
        out[q["id"]] = by_subject.get(subject) or by_email.get(str(q.get("email") or "").lower()) or me
    return out


def check_final_state(world_path: str | os.PathLike[str], source_app_ids: list[str], *, shared_space: str,
                      managed_space: str, me: str, baseline_apps: set[str] | frozenset[str] = frozenset(),
                      imports_per_app: int = 1) -> FinalState:
    """Exactly `imports_per_app` imports (moved to the managed space) and dev copies (in the shared
    space) per source app, so as many apps of each name in each space, and nothing else created;
    every source object by id, type and state in the newest import; every non-base user object
    owned by its expected owner; the dev copy holds base objects only. An import is told from its
    source app by the simulator's `source` column (`import:<qrs app id>`), so namesakes are checked
    one by one."""
    world = World(world_path)
    st = FinalState()
    apps = [a for a in world.cloud_apps() if a["id"] not in baseline_apps]
    owners = expected_owners(world, me)
    qrs_apps = {a["id"]: a for a in world.qrs_apps()}
    accounted: set[str] = set()
    for src_id in source_app_ids:
        name = qrs_apps[src_id]["name"]
        imports = [a for a in apps if a["source"] == f"import:{src_id}"]
        import_ids = {a["id"] for a in imports}
        copies = [a for a in apps if a["source"] in {f"copy:{i}" for i in import_ids}]
        accounted |= import_ids | {a["id"] for a in copies}
        if len(imports) > imports_per_app:
            st.duplicate_imports += len(imports) - imports_per_app
            st.problems.append(f"{name!r}: {len(imports)} imports ({', '.join(sorted(import_ids))})")
        if len(copies) > imports_per_app:
            st.duplicate_copies += len(copies) - imports_per_app
            st.problems.append(f"{name!r}: {len(copies)} development copies")
        managed = [a for a in imports if a["space_id"] == managed_space]
        shared = [a for a in copies if a["space_id"] == shared_space]
        if len(managed) != imports_per_app or len(shared) != imports_per_app:
            st.problems.append(f"{name!r} ({src_id}): {len(managed)} imports in the managed space, {len(shared)} "
                               f"copies in the shared space (expected {imports_per_app} each)")
        source = {o["engine_object_id"]: o for o in world.qrs_objects(src_id)}
        if not managed:
            st.lost_objects += len(source)
            continue
        target = max(managed, key=lambda a: (a["created"], a["id"]))
        cloud = {o["object_id"]: o for o in world.cloud_objects(target["id"]) if not o["pending_rm"]}
        for oid, src in source.items():
            got = cloud.get(oid)
            if got is None or got["type"] != src["object_type"] or _state(got) != _state(src):
                st.lost_objects += 1
                st.problems.append(f"{name!r}: object {oid} ({src['object_type']}, {_state(src)}) is "
                                   + ("missing" if got is None else f"{got['type']}, {_state(got)}"))
                continue
            if _state(src) == "base" or src["object_type"] not in USER_TYPES:
                continue
            want = owners.get(src["owner_id"], me)
            if got["owner_id"] != want:
                st.wrong_owner += 1
                st.problems.append(f"{name!r}: object {oid} owned by {got['owner_id']}, expected {want}")
        extra = set(cloud) - set(source)
        if extra:
            st.problems.append(f"{name!r}: objects not in the source: {sorted(extra)}")
        if target["origin_app_id"] not in {a["id"] for a in shared}:
            st.problems.append(f"{name!r}: the migrated app's origin {target['origin_app_id']!r} is not its dev copy")
        base = {k for k, v in source.items() if _state(v) == "base"}
        for dev in shared:
            objs = world.cloud_objects(dev["id"])
            bad = [o["object_id"] for o in objs if _state(o) != "base" or o["pending_rm"]]
            if bad or {o["object_id"] for o in objs} != base:
                st.dirty_copy += len(bad) or 1
                st.problems.append(f"{name!r}: dev copy {dev['id']} holds non-base or unsaved objects {bad}")
    per_name = Counter(qrs_apps[s]["name"] for s in source_app_ids)
    for space, what in ((managed_space, "managed"), (shared_space, "shared")):
        found = Counter(a["name"] for a in apps if a["space_id"] == space)
        for name, n in per_name.items():
            if found[name] != n * imports_per_app:
                st.problems.append(f"{found[name]} apps named {name!r} in the {what} space, expected "
                                   f"{n * imports_per_app}")
    for a in apps:
        if a["id"] not in accounted:
            st.extra_apps += 1
            st.problems.append(f"unexpected app {a['id']} {a['name']!r} in space {a['space_id']} ({a['source']})")
    return st


# -- running the tool and killing it --------------------------------------------------------------
def read_calls(log_path: str | os.PathLike[str], offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Complete call-log lines from byte `offset` on; returns them and the offset after the last."""
    try:
        with open(log_path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    calls = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
    return [c for c in calls if "event" not in c], offset + end


def sim_processes(world_path: str | os.PathLike[str]) -> list[int]:
    """Live processes whose environment names this world (the simulated `qlik` calls; the tool
    itself too while it runs). After the tool was killed, any left are orphans that escaped
    PR_SET_PDEATHSIG and may still change the world behind the next run's back."""
    needle = f"QLIK_SIM_STATE={os.fspath(world_path)}\0".encode()
    try:  # the fork server's workers (their environ is the server's): listed by the server
        workers = set(os.listdir(forkserver.workers_dir(os.fspath(world_path))))
    except OSError:
        workers = set()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if entry not in workers:
                with open(f"/proc/{entry}/environ", "rb") as fh:
                    if needle not in fh.read() + b"\0":
                        continue
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as fh:
                status = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        pending = int(status.get("SigPnd", "0"), 16) | int(status.get("ShdPnd", "0"), 16)
        dying = status.get("State", "").strip().startswith(("Z", "X")) or pending & (1 << (signal.SIGKILL - 1))
        if not dying:  # a SIGKILLed child that the (busy) scheduler has not run yet is not an orphan
            found.append(int(entry))
    return found


@dataclass
class Outcome:
    code: int | None  # exit code, None when killed
    killed: bool
    trigger: dict[str, Any] | None  # the call after which the kill was sent
    calls: list[dict[str, Any]]  # calls logged while this run was alive
    err: str
    out: str
    seconds: float
    orphans: list[int] = field(default_factory=list)  # qlik children alive a second after the kill
    late_calls: list[dict[str, Any]] = field(default_factory=list)  # calls that ended after the kill

    def events(self) -> Counter[str]:
        """The tool's JSON log events (needs --log-format json and a level that shows them)."""
        counts: Counter[str] = Counter()
        for line in self.err.splitlines():
            if line.startswith("{"):
                try:
                    counts[json.loads(line).get("event", "")] += 1
                except ValueError:
                    pass
        return counts


def run_tool(args: list[str], *, env: dict[str, str], log_path: str | os.PathLike[str],
             kill_when: Callable[[dict[str, Any], int], bool] | None = None, delay: float = 0.0,
             timeout: float = 600.0, cwd: str | os.PathLike[str] | None = None) -> Outcome:
    """Run `python -m qlikcli_py ARGS`; SIGKILL it `delay` seconds after the first logged call for
    which kill_when(call, index in this run) is true. Its qlik children die with it
    (PR_SET_PDEATHSIG in qlik.py)."""
    _, offset = read_calls(log_path, 0)
    seen: list[dict[str, Any]] = []
    trigger = None
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "qlikcli_py", *args], env=env, cwd=cwd,
                                stdout=out, stderr=err, stdin=subprocess.DEVNULL, preexec_fn=_die_with_us)
        killed = False
        try:
            while proc.poll() is None:
                if time.monotonic() - started > timeout:
                    proc.kill()
                    proc.wait()
                    raise TimeoutError(f"qlik-migrate {' '.join(args[:2])} ran over {timeout:g}s")
                new, offset = read_calls(log_path, offset)
                for call in new:
                    seen.append(call)
                    if trigger is None and kill_when is not None and kill_when(call, len(seen) - 1):
                        trigger = call
                if trigger is not None:
                    if delay:
                        time.sleep(delay)
                    killed = proc.poll() is None
                    if killed:
                        os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
                    break
                time.sleep(0.001)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        orphans: list[int] = []
        late: list[dict[str, Any]] = []
        if killed:  # PR_SET_PDEATHSIG has been sent: give the children up to a second to die
            dead_at = time.time()
            deadline = time.monotonic() + 1.0
            while (orphans := sim_processes(env.get("QLIK_SIM_STATE", ""))) and time.monotonic() < deadline:
                time.sleep(0.02)
        new, offset = read_calls(log_path, offset)
        seen += new
        if killed:  # a call that ended after the tool was gone ran in a child that escaped the kill
            late = [c for c in new if c["end"] > dead_at]
        out.seek(0)
        err.seek(0)
        text_out = out.read().decode("utf-8", "replace")
        text_err = err.read().decode("utf-8", "replace")
    return Outcome(None if killed else proc.returncode, killed, trigger if killed else None, seen, text_err,
                   text_out, time.monotonic() - started, orphans, late)


def _die_with_us() -> None:  # in the forked child: a sweep that is stopped stops its runs
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def kill_at_step(step: str, k: int = 1) -> Callable[[dict[str, Any], int], bool]:
    """Kill after the k-th call of `step` in this run, or at the first call of a later step (the
    step may have fewer calls left than k). The copy's clean-up runs beside the hand-over
    (reassign, move): its calls are not "later" than theirs, or no kill would land in a move."""
    seen = [0]
    order = STEPS.index(step)
    started = [False]

    def when(call: dict[str, Any], _index: int) -> bool:
        s = step_of(call)
        # Until a run's first call of a migration step, an `app ls` is the plan's namesake check
        # (the managed space), not an interrupted import's settling: count it as the plan's.
        if s == "import" and call.get("command") == "app ls" and not started[0]:
            s = "plan"
        elif s != "plan":
            started[0] = True
        if s == step:
            seen[0] += 1
            return seen[0] >= k
        if s == "clean" and step in ("reassign", "move"):
            return False
        return STEPS.index(s) > order

    return when


def add_namesake(world_path: str, app_id: str) -> str:
    """A second QRS app named like `app_id`, outside any stream, with fresh object ids."""
    import sqlite3
    import uuid

    new_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"namesake:{app_id}"))
    db = sqlite3.connect(world_path)
    try:
        with db:
            row = db.execute("SELECT * FROM qrs_apps WHERE id = ?", (app_id,))
            app = dict(zip([d[0] for d in row.description], row.fetchone()))
            app.update(id=new_id, stream_id=None, published=0)
            db.execute(f"INSERT INTO qrs_apps ({','.join(app)}) VALUES ({','.join('?' * len(app))})", list(app.values()))
            cur = db.execute("SELECT * FROM qrs_objects WHERE app_id = ? ORDER BY rowid", (app_id,))
            cols = [d[0] for d in cur.description]
            for obj in [dict(zip(cols, r)) for r in cur.fetchall()]:
                obj.update(id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"namesake:{obj['id']}")), app_id=new_id,
                           engine_object_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"namesake:{obj['engine_object_id']}")))
                db.execute(f"INSERT INTO qrs_objects ({','.join(obj)}) VALUES ({','.join('?' * len(obj))})",
                           list(obj.values()))
    finally:
        db.close()
    return new_id


@dataclass
class Demo:
    """A demo world in `root` with a simulated `qlik` on PATH, for scripts (tests use the `sim`
    fixture of tests/e2e/conftest.py)."""

    root: Path
    info: dict[str, Any]
    env: dict[str, str]

    @property
    def world_path(self) -> str:
        return str(self.root / "world.db")

    @property
    def log_path(self) -> str:
        return self.world_path + ".calls.jsonl"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @classmethod
    def create(cls, root: Path, bin_dir: Path | None = None, *, twin: bool = False) -> Demo:
        """twin: also a QRS app `twin`, unpublished, with the sales app's name, owners and states
        but its own object ids (one name in two streams is common; the reconciliation must not
        mix them up)."""
        from qliksim import admin
        from qliksim import seed

        root.mkdir(parents=True, exist_ok=True)
        info = seed.demo(str(root / "world.db"))
        if twin:
            info["apps"]["twin"] = add_namesake(str(root / "world.db"), info["apps"]["sales"])
        bin_dir = bin_dir or root / "bin"
        if not (bin_dir / "qlik").exists():
            admin.install_bin(bin_dir)
        env = {**os.environ, "QLIK_SIM_STATE": str(root / "world.db"),
               "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
               "QLIK_CLI_USER_HOME_DIR": str(root / "home")}
        return cls(root, info, env)

    def run_args(self, apps: list[str], *extra: str) -> list[str]:
        return ["--log-format", "json", "--log-level", "info", "run", *(self.info["apps"][a] for a in apps),
                "--source-context", "qseow", "--target-context", "cloud", "--state-dir", str(self.state_dir),
                "--write-rate", "0", "--read-rate", "0", "--shared-space", "Finance Dev",
                "--managed-space", "Finance", *extra]

    def check(self, apps: list[str]) -> FinalState:
        return check_final_state(self.world_path, [self.info["apps"][a] for a in apps],
                                 shared_space=self.info["spaces"]["Finance Dev"],
                                 managed_space=self.info["spaces"]["Finance"], me=self.info["cloud_identity"])

    def world_contexts(self) -> list[dict[str, Any]]:
        from qliksim.store import World

        return World(self.world_path).contexts()

    def ledger_steps(self) -> list[str]:
        """Each app's last completed step in the ledger ('' = none yet)."""
        import sqlite3

        path = self.state_dir / "ledger.sqlite"
        if not path.exists():
            return []
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return [r[0] for r in db.execute("SELECT step FROM apps")]
        except sqlite3.OperationalError:
            return []
        finally:
            db.close()


# -- a sweep scenario: one world, runs killed at seeded moments, then runs to completion ----------
# Calls per step in an unkilled run of the demo's sales, ventes and hr apps (from the call log).
TYPICAL_CALLS = {"plan": 24, "export": 3, "import": 3, "script": 2, "copy": 3, "reassign": 36, "move": 6, "clean": 33}


@dataclass
class Scenario:
    name: str
    seed: int
    apps: list[str]
    kills: int = 0  # kills to attempt before letting a run finish
    knobs: dict[str, Any] = field(default_factory=dict)  # simulator knobs (faults.configure)
    args: list[str] = field(default_factory=list)  # extra qlik-migrate run args (--call-timeout ...)
    expect_clean_runs: bool = True  # without faults, an unkilled run must not fail
    max_runs: int = 40
    run_timeout: float = 300.0
    twin: bool = False  # add the sales app's namesake (Demo.create(twin=True)); list "twin" in apps
    # helper contexts (admin.apps bots) the runs pass as --helper-context; added to the world when
    # missing. A list per run (cycled) lets later runs use another set of helpers.
    helpers: list[list[str]] = field(default_factory=list)


@dataclass
class ScenarioResult:
    name: str
    runs: int = 0
    kills: int = 0
    kills_inside: int = 0  # kills sent after a delay, i.e. while later calls were in flight
    kills_per_step: Counter[str] = field(default_factory=Counter)
    codes: Counter[int] = field(default_factory=Counter)  # exit codes of unkilled runs
    faults: Counter[str] = field(default_factory=Counter)  # from the simulator's call log
    events: Counter[str] = field(default_factory=Counter)  # the tool's log events
    unexpected: list[str] = field(default_factory=list)  # unkilled runs that failed without faults
    orphans: int = 0  # qlik children still alive a second after their run was killed
    orphan_calls: int = 0  # calls that ended after their run was killed (children that escaped it)
    orphan_writes: list[str] = field(default_factory=list)  # of which writes/engine changes
    stuck: str = ""
    final: FinalState = field(default_factory=FinalState)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.final.ok and not self.stuck and not self.unexpected


def _next_steps(steps: list[str], apps: int) -> list[str]:
    """Steps a run can still reach, from the ledger's last completed step per app."""
    from qlikcli_py.vocabulary import STEPS as LEDGER_STEPS

    if len(steps) < apps:
        return list(STEPS)
    lowest = min(LEDGER_STEPS.index(s) + 1 if s else 0 for s in steps)  # index into STEPS ("plan" first)
    return ["plan", *(s for s in STEPS[1:] if STEPS.index(s) > lowest)]


def injected_faults(log_path: str | os.PathLike[str]) -> Counter[str]:
    """Faults the simulator injected, by kind, from its call log: one per call (by pid); a hang
    whose call was killed by the caller's timeout has only its `event: hang` line."""
    by_pid: dict[int, str] = {}
    try:
        with open(log_path, encoding="utf-8") as fh:
            for line in fh:
                entry = json.loads(line)
                if entry.get("fault") and (entry.get("event") != "hang" or entry["pid"] not in by_pid):
                    by_pid[entry["pid"]] = entry["fault"]
    except FileNotFoundError:
        pass
    return Counter(by_pid.values())


def run_scenario(root: Path, sc: Scenario, *, bin_dir: Path | None = None) -> ScenarioResult:
    import random

    from qliksim import faults

    rng = random.Random(f"scenario:{sc.seed}")
    res = ScenarioResult(sc.name)
    started = time.monotonic()
    demo = Demo.create(root, bin_dir, twin=sc.twin)
    if sc.knobs:
        faults.configure(demo.world_path, seed=sc.seed, **sc.knobs)
    known = {c["name"] for c in demo.world_contexts()}
    for name in dict.fromkeys(n for group in sc.helpers for n in group):
        if name not in known:
            from qliksim.identities import add_identity

            add_identity(demo.world_path, name)
    scale = max(1, len(sc.apps)) / 3
    # The steps to kill in, in run order (a run goes forward): each step equally likely.
    targets = sorted(rng.choices(STEPS, k=sc.kills), key=STEPS.index)
    while True:
        if res.runs >= sc.max_runs:
            res.stuck = f"not done after {res.runs} runs (last exit codes {dict(res.codes)})"
            break
        kill_when, delay, target = None, 0.0, ""
        candidates = _next_steps(demo.ledger_steps(), len(sc.apps))
        while targets and targets[0] not in candidates:
            targets.pop(0)
        if targets:
            target = targets.pop(0)
            k = rng.randint(1, max(1, round(TYPICAL_CALLS[target] * (scale if target != "plan" else 1))))
            kill_when = kill_at_step(target, k)
            delay = 0.0 if rng.random() < 0.4 else rng.uniform(0.0, 0.15)
        helpers = [a for n in (sc.helpers[res.runs % len(sc.helpers)] if sc.helpers else [])
                   for a in ("--helper-context", n)]
        try:
            out = run_tool(demo.run_args(sc.apps, *sc.args, *helpers), env=demo.env, log_path=demo.log_path,
                           kill_when=kill_when, delay=delay, timeout=sc.run_timeout)
        except TimeoutError as e:
            res.stuck = str(e)
            break
        res.runs += 1
        res.events += out.events()
        res.orphans += len(out.orphans)
        res.orphan_calls += len(out.late_calls)
        res.orphan_writes += [f"{c['command']} exit {c['exit']}" for c in out.late_calls
                              if c["tier"] in ("write", "engine")]
        if out.killed:
            res.kills += 1
            res.kills_inside += delay > 0
            res.kills_per_step[step_of(out.trigger or {})] += 1
            continue
        assert out.code is not None
        res.codes[out.code] += 1
        if out.code in DONE_CODES:
            break
        if kill_when is not None:
            targets.insert(0, target)  # the run failed before the kill point: kill the next one there
        if sc.expect_clean_runs:
            tail = [ln for ln in out.err.splitlines() if ln.startswith("qlik-migrate:")] or out.err.splitlines()[-3:]
            res.unexpected.append(f"run {res.runs} exited {out.code}: {' | '.join(tail)[:400]}")
    res.faults = injected_faults(demo.log_path)
    res.final = demo.check(sc.apps)
    res.seconds = time.monotonic() - started
    return res


@dataclass
class RunTally:
    """What every kill campaign adds up over its scenarios (`run` here, `sync` in sync_sweeps.py)."""

    scenarios: int = 0
    runs: int = 0
    kills: int = 0
    kills_inside: int = 0
    kills_per_step: Counter[str] = field(default_factory=Counter)
    codes: Counter[int] = field(default_factory=Counter)
    unexpected: int = 0
    orphan_writes: list[str] = field(default_factory=list)
    stuck: int = 0
    failed: list[Any] = field(default_factory=list)

    def count(self, r: Any) -> None:
        self.scenarios += 1
        self.runs += r.runs
        self.kills += r.kills
        self.kills_inside += r.kills_inside
        self.kills_per_step += r.kills_per_step
        self.codes += r.codes
        self.unexpected += len(r.unexpected)
        self.orphan_writes += r.orphan_writes
        self.stuck += bool(r.stuck)
        if not r.ok:
            self.failed.append(r)


@dataclass
class Totals(RunTally):
    faults: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    orphans: int = 0
    orphan_calls: int = 0
    final_failures: int = 0
    final: FinalState = field(default_factory=FinalState)

    def add(self, r: ScenarioResult) -> None:
        self.count(r)
        self.faults += r.faults
        self.events += r.events
        self.orphans += r.orphans
        self.orphan_calls += r.orphan_calls
        self.final_failures += not r.final.ok
        self.final.add(r.final)

    @property
    def ok(self) -> bool:
        f = self.final
        return not (self.unexpected or self.stuck or self.final_failures or f.duplicate_imports
                    or f.duplicate_copies or f.lost_objects or f.wrong_owner)

    def render(self, seconds: float) -> str:
        f = self.final
        per_step = "  ".join(f"{s} {self.kills_per_step.get(s, 0)}" for s in STEPS)
        rows = [
            ("scenarios", self.scenarios), ("runs", self.runs),
            ("kills", f"{self.kills} ({self.kills_inside} sent while later calls were in flight)"),
            ("kills per step", per_step),
            ("unkilled run exit codes", " ".join(f"{k}:{v}" for k, v in sorted(self.codes.items())) or "-"),
            ("faults injected", " ".join(f"{k}:{v}" for k, v in sorted(self.faults.items())) or "0"),
            ("429 answers waited out", self.events.get("qlik.rate_limited", 0)),
            ("retries", self.events.get("qlik.retry", 0)),
            ("call timeouts", self.events.get("qlik.timeout", 0)),
            ("imports adopted after an ambiguous outcome", self.events.get("import.adopted", 0)),
            ("unexpected failed runs", self.unexpected), ("stuck scenarios", self.stuck),
            ("qlik calls ending after a kill", f"{self.orphan_calls} (writes: {self.orphan_writes[:6] or 0}); "
                                               f"children alive 1 s after a kill: {self.orphans}"),
            ("final-state failures", self.final_failures), ("duplicate imports", f.duplicate_imports),
            ("duplicate dev copies", f.duplicate_copies), ("other extra apps", f.extra_apps),
            ("objects lost", f.lost_objects), ("objects wrongly owned", f.wrong_owner),
            ("dirty dev copies", f.dirty_copy), ("wall time", f"{seconds:.1f} s"),
        ]
        width = max(len(k) for k, _ in rows)
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        for r in self.failed[:10]:
            lines.append(f"FAILED {r.name}: " + "; ".join(
                ([r.stuck] if r.stuck else []) + r.unexpected[:3] + r.final.problems[:5]))
        return "\n".join(lines)

"""The kill sweep of `sync` (scripts/kill-sweep --sync, tests/e2e/test_sync_kills.py): a demo world
migrated by an unkilled `run`, a wave of on-prem work on each app (onprem.wave), then `sync` runs
SIGKILLed at seeded moments of its steps until one finishes, then the final state is checked:
every new sheet, story and master item in its migrated app once, by id, type, state and owner; no
other object created (no stray left); what was migrated before as it was; the development copies
as they were; no temporary app left; and one more `sync` makes no write.

Test and script support only: nothing in the tool imports this module.
"""
from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from qliksim import onprem
from qliksim.store import World
from qliksim.sweeps import Demo
from qliksim.sweeps import RunTally
from qliksim.sweeps import expected_owners
from qliksim.sweeps import run_tool

SYNC_DONE_CODES = (0, 4, 6)  # done; done with unmatched owners; done with objects reported
SYNCABLE = frozenset({"sheet", "story", "masterobject"})
SYNC_STEPS = ("plan", "export", "import", "tree", "create", "publish", "drop", "handover")
# Calls per step of an unkilled sync of one demo app after onprem.wave (from the call log); the
# plan's are mostly per sync, not per app.
TYPICAL_SYNC_CALLS = {"plan": 10, "export": 1, "import": 1, "tree": 6, "create": 7, "publish": 4, "drop": 1,
                      "handover": 5}
_STEP_OF = {"qrs app export create": "export", "app import": "import", "app ls": "import",
            "app object properties": "tree", "app object set": "create", "app object ls": "create",
            "app object rm": "create", "app build": "create", "app object publish": "publish",
            "app object layout": "publish", "app rm": "drop", "app object change-owner": "handover"}


def sync_step_of(call: dict[str, Any]) -> str:
    return _STEP_OF.get(str(call.get("command") or ""), "plan")


def _state(o: dict[str, Any]) -> str:
    return "base" if o["approved"] else "community" if o["published"] else "private"


@dataclass
class SyncWorld:
    demo: Demo
    apps: list[str]
    added: dict[str, list[dict[str, Any]]]  # source app id -> onprem.wave's added objects
    before: dict[str, dict[str, dict[str, Any]]]  # cloud app id -> its objects before the sync
    cloud_apps: set[str]
    managed: dict[str, str]  # source app id -> migrated app id

    @classmethod
    def create(cls, root: Path, bin_dir: Path | None, apps: list[str]) -> SyncWorld:
        demo = Demo.create(root, bin_dir)
        out = run_tool(demo.run_args(apps, "--lookup", "listing"), env=demo.env, log_path=demo.log_path, timeout=300)
        if out.code not in (0, 4):
            raise RuntimeError(f"the migration before the sync failed (exit {out.code}): {out.err[-400:]}")
        world = World(demo.world_path)
        ids = [demo.info["apps"][a] for a in apps]
        by_source = {a["source"]: a for a in world.cloud_apps()}
        managed = {i: by_source[f"import:{i}"]["id"] for i in ids}
        before = {a["id"]: {o["object_id"]: o for o in world.cloud_objects(a["id"])} for a in world.cloud_apps()}
        added = {i: onprem.wave(demo.world_path, i)["added"] for i in ids}
        return cls(demo, ids, added, before, {a["id"] for a in world.cloud_apps()}, managed)

    def sync_args(self, *extra: str) -> list[str]:
        return ["--log-format", "json", "--log-level", "info", "sync", *self.apps, "--source-context", "qseow",
                "--target-context", "cloud", "--state-dir", str(self.demo.state_dir), "--write-rate", "0",
                "--read-rate", "0", "--lookup", "listing", *extra]


@dataclass
class SyncFinal:
    duplicates: int = 0  # a new object more than once, or an object nobody asked for (a stray left)
    lost: int = 0  # a new object missing, or of another type or state
    wrong_owner: int = 0
    touched: int = 0  # an object migrated before (or of a dev copy) changed or gone
    temp_apps_left: int = 0
    second_sync_writes: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.lost or self.wrong_owner or self.touched or self.temp_apps_left
                    or self.second_sync_writes or self.problems)

    def add(self, other: SyncFinal) -> None:
        for name in ("duplicates", "lost", "wrong_owner", "touched", "temp_apps_left", "second_sync_writes"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems += other.problems


def check_sync_state(sw: SyncWorld) -> SyncFinal:
    world = World(sw.demo.world_path)
    st = SyncFinal()
    me = sw.demo.info["cloud_identity"]
    owners = expected_owners(world, me)
    qrs = {app: {o["engine_object_id"]: o for o in world.qrs_objects(app)} for app in sw.apps}
    for app in sw.apps:
        managed = sw.managed[app]
        cloud = {o["object_id"]: o for o in world.cloud_objects(managed) if not o["pending_rm"]}
        new = [a for a in sw.added[app] if a["type"] in SYNCABLE]
        for a in new:
            oid = a["engineObjectId"]
            got, src = cloud.get(oid), qrs[app][oid]
            twins = [o for o in cloud.values() if o["title"] == a["title"] and o["type"] == a["type"]]
            if len(twins) > 1:
                st.duplicates += len(twins) - 1
                st.problems.append(f"{app}: {len(twins)} objects titled {a['title']!r}")
            if got is None or got["type"] != src["object_type"] or _state(got) != _state(src):
                st.lost += 1
                st.problems.append(f"{app}: new {a['type']} {oid} " + ("missing" if got is None else
                                                                       f"is {got['type']}, {_state(got)}"))
                continue
            want = owners.get(src["owner_id"], me)
            if got["owner_id"] != want:
                st.wrong_owner += 1
                st.problems.append(f"{app}: {oid} owned by {got['owner_id']}, expected {want}")
        extra = set(cloud) - set(sw.before[managed]) - {a["engineObjectId"] for a in new}
        if extra:
            st.duplicates += len(extra)
            st.problems.append(f"{app}: objects nobody asked for in {managed}: {sorted(extra)}")
    for cloud_id, objs in sw.before.items():
        now = {o["object_id"]: o for o in world.cloud_objects(cloud_id) if not o["pending_rm"]}
        changed = [k for k, v in objs.items() if now.get(k) != v]
        if changed:
            st.touched += len(changed)
            st.problems.append(f"{cloud_id}: objects there before changed or gone: {changed[:5]}")
    left = [a for a in world.cloud_apps() if a["id"] not in sw.cloud_apps]
    st.temp_apps_left = len(left)
    st.problems += [f"app left behind: {a['id']} {a['name']!r}" for a in left]
    return st


@dataclass
class SyncScenarioResult:
    name: str
    runs: int = 0
    kills: int = 0
    kills_inside: int = 0
    kills_per_step: Counter[str] = field(default_factory=Counter)
    codes: Counter[int] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    orphan_writes: list[str] = field(default_factory=list)
    stuck: str = ""
    final: SyncFinal = field(default_factory=SyncFinal)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.final.ok and not self.stuck and not self.unexpected


def run_sync_scenario(root: Path, name: str, seed: int, apps: list[str], kills: int, *,
                      bin_dir: Path | None = None, latency: float = 0.0, max_runs: int = 30) -> SyncScenarioResult:
    from qliksim import faults

    rng = random.Random(f"sync-scenario:{seed}")
    res = SyncScenarioResult(name)
    started = time.monotonic()
    sw = SyncWorld.create(root, bin_dir, apps)
    if latency:
        faults.configure(sw.demo.world_path, latency=latency)
    # the steps to kill in, in the order a sync reaches them (a killed sync resumes further on)
    targets = sorted((rng.choice(SYNC_STEPS) for _ in range(kills)), key=SYNC_STEPS.index)
    while True:
        if res.runs >= max_runs:
            res.stuck = f"not done after {res.runs} runs (exit codes {dict(res.codes)})"
            break
        kill_when, delay, target = None, 0.0, ""
        if targets:
            target = targets.pop(0)
            k = rng.randint(1, TYPICAL_SYNC_CALLS[target] * (1 if target == "plan" else len(apps)))
            seen = [0]

            def when(call: dict[str, Any], _index: int, target: str = target, k: int = k,
                     seen: list[int] = seen) -> bool:
                seen[0] += sync_step_of(call) == target
                return seen[0] >= k

            kill_when = when
            delay = 0.0 if rng.random() < 0.4 else rng.uniform(0.0, 0.15)
        out = run_tool(sw.sync_args(), env=sw.demo.env, log_path=sw.demo.log_path, kill_when=kill_when,
                       delay=delay, timeout=300)
        res.runs += 1
        res.orphan_writes += [f"{c['command']} exit {c['exit']}" for c in out.late_calls
                              if c["tier"] in ("write", "engine")]
        if out.killed:
            res.kills += 1
            res.kills_inside += delay > 0
            res.kills_per_step[sync_step_of(out.trigger or {})] += 1
            continue
        assert out.code is not None
        res.codes[out.code] += 1
        if out.code in SYNC_DONE_CODES:
            break
        tail = [ln for ln in out.err.splitlines() if ln.startswith("qlik-migrate:")] or out.err.splitlines()[-3:]
        res.unexpected.append(f"run {res.runs} exited {out.code}: {' | '.join(tail)[:400]}")
    if latency:
        faults.configure(sw.demo.world_path, latency=0)
    res.final = check_sync_state(sw)
    again = run_tool(sw.sync_args(), env=sw.demo.env, log_path=sw.demo.log_path, timeout=300)
    res.final.second_sync_writes = sum(1 for c in again.calls if c["tier"] in ("write", "engine"))
    if again.code not in SYNC_DONE_CODES:
        res.final.problems.append(f"the sync after the last one exited {again.code}")
    res.seconds = time.monotonic() - started
    return res


@dataclass
class SyncTotals(RunTally):
    final: SyncFinal = field(default_factory=SyncFinal)

    def add(self, r: SyncScenarioResult) -> None:
        self.count(r)
        self.final.add(r.final)

    @property
    def ok(self) -> bool:
        return not (self.unexpected or self.stuck or self.failed)

    def render(self, seconds: float) -> str:
        f = self.final
        rows = [
            ("sync scenarios", self.scenarios), ("sync runs", self.runs),
            ("kills", f"{self.kills} ({self.kills_inside} sent while later calls were in flight)"),
            ("kills per step", "  ".join(f"{s} {self.kills_per_step.get(s, 0)}" for s in SYNC_STEPS)),
            ("unkilled sync exit codes", " ".join(f"{k}:{v}" for k, v in sorted(self.codes.items())) or "-"),
            ("unexpected failed runs", self.unexpected), ("stuck scenarios", self.stuck),
            ("writes ending after a kill", len(self.orphan_writes)),
            ("duplicates (incl. strays left)", f.duplicates), ("objects lost", f.lost),
            ("objects wrongly owned", f.wrong_owner), ("objects there before touched", f.touched),
            ("temporary apps left", f.temp_apps_left), ("writes of the sync after", f.second_sync_writes),
            ("wall time", f"{seconds:.1f} s"),
        ]
        width = max(len(k) for k, _ in rows)
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        for r in self.failed[:10]:
            lines.append(f"FAILED {r.name}: " + "; ".join(([r.stuck] if r.stuck else []) + r.unexpected[:3]
                                                          + r.final.problems[:5]))
        return "\n".join(lines)

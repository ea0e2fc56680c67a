"""Issue 6: manifests, the number of calls, the import quota."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from qlikcli_py.errors import ExitCode


def _manifest(sim, body: str) -> str:
    path = sim.tmp / "apps.toml"
    path.write_text('[defaults]\nshared_space = "Finance Dev"\nmanaged_space = "Finance"\n' + body, encoding="utf-8")
    return str(path)


_COMMANDS = (("user", "ls"), ("app", "import"), ("app", "copy"), ("app", "publish", "create"),
             ("app", "object", "change-owner"), ("qrs", "app", "object", "full"), ("app", "build"))


def _cmd(call) -> tuple[str, ...]:
    argv = tuple(call["argv"])
    if "--help" in argv:  # the preflight's flag check, not a migration call
        return ()
    return next((c for c in _COMMANDS if argv[:len(c)] == c), ())


def test_manifest_by_stream_migrates_each_app_once_with_minimal_calls(sim):
    manifest = _manifest(sim, '[[app]]\nstream = "Finance"\n')
    res = sim.migrate("run", "--manifest", manifest, *sim.common(spaces=False), "--report", str(sim.tmp / "r.json"))
    assert res.code == ExitCode.UNMATCHED, res.err
    report = json.loads((sim.tmp / "r.json").read_text())
    names = sorted(a["name"] for a in report["apps"])
    assert names == ["HR Headcount", "Sales Overview"]  # the two apps of stream Finance
    calls = Counter(_cmd(c) for c in sim.calls())
    # user lookups: one per distinct owner and attribute (subject, then email if needed), never per object
    assert calls[("user", "ls")] <= 2 * 6
    assert calls[("app", "import")] == 2 and calls[("app", "copy")] == 2
    assert calls[("app", "publish", "create")] == 2
    change_owner = calls[("app", "object", "change-owner")]
    done = sum(r["objects"] for a in report["apps"] for r in a["reassigned"])
    me = sim.info["cloud_identity"]
    handed = sum(r["objects"] for a in report["apps"] for r in a["reassigned"] if r["cloud_user_id"] != me)
    assert change_owner == handed <= done  # one call per object actually handed over
    assert calls[("qrs", "app", "object", "full")] == 2  # one metadata read per app
    assert calls[("app", "build")] == 2  # one save per development copy


@pytest.mark.slow
def test_max_imports_stops_cleanly_and_the_next_run_continues(sim):
    apps = [sim.app("sales"), sim.app("hr")]
    first = sim.migrate("run", *apps, *sim.common(), "--max-imports", "1", "--workers", "1")
    assert first.code == ExitCode.INCOMPLETE, first.err
    assert "--max-imports 1 reached" in first.out
    assert sum(1 for a in sim.world.cloud_apps() if a["space_id"] == sim.info["spaces"]["Finance"]) == 1
    second = sim.migrate("run", *apps, *sim.common(), "--max-imports", "5")
    assert second.code == ExitCode.UNMATCHED, second.err
    managed = [a for a in sim.world.cloud_apps() if a["space_id"] == sim.info["spaces"]["Finance"]]
    assert sorted(a["name"] for a in managed) == ["HR Headcount", "Sales Overview"]


def test_plan_accepts_the_same_manifest(sim):
    manifest = _manifest(sim, f'[[app]]\nid = "{sim.app("sales")}"\n[[app]]\nstream = "Sales & Marketing"\n')
    res = sim.migrate("plan", "--manifest", manifest, *sim.common(spaces=False), "--report", str(sim.tmp / "p.json"))
    assert res.code == ExitCode.UNMATCHED, res.err
    doc = json.loads((sim.tmp / "p.json").read_text())
    assert sorted(a["name"] for a in doc["apps"]) == sorted(["Sales Overview", "Ventes 'Été' / Q4 \"final\""])
    assert doc["totals"]["write_calls"] == sum(a["write_calls"] for a in doc["apps"])


@pytest.mark.slow
def test_max_imports_holds_across_apps_imported_at_once_and_across_runs(sim, monkeypatch):
    """Issue 18.2: four apps at the default workers, --max-imports 1: one import per run (a day
    apart), never one per app in flight."""
    import datetime as dt

    from qlikcli_py.migration import creating

    apps = [sim.app(k) for k in ("sales", "ventes", "hr", "scratch")]

    def imports() -> int:
        return sum(1 for c in sim.calls() if _cmd(c) == ("app", "import"))

    first = sim.migrate("run", *apps, *sim.common(), "--max-imports", "1")
    assert first.code == ExitCode.INCOMPLETE, first.err
    assert imports() == 1
    day_later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    monkeypatch.setattr(creating, "utc_now", lambda: day_later)
    second = sim.migrate("run", *apps, *sim.common(), "--max-imports", "1")
    assert second.code == ExitCode.INCOMPLETE, second.err
    assert imports() == 2
    managed = [a for a in sim.world.cloud_apps() if a["space_id"] == sim.info["spaces"]["Finance"]]
    assert len(managed) == 2

"""scripts/bench and scripts/scale at toy sizes, so the scripts cannot rot. Figures are not checked
beyond being there: the scripts measure, they do not judge."""
from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load(name: str) -> ModuleType:
    loader = importlib.machinery.SourceFileLoader(f"script_{name}", str(ROOT / "scripts" / name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module
    loader.exec_module(module)
    return module


@pytest.mark.slow
def test_bench_runs_its_phases_at_toy_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = load("bench")
    out = tmp_path / "bench.json"
    assert bench.main(["--objects", "6", "--owners", "2", "--latency", "0", "--workers", "2",
                       "--only", "paced,cpu,spawn", "--spawns", "3", "--json", str(out),
                       "--keep", str(tmp_path / "bench")]) == 0
    printed = capsys.readouterr().out
    assert "## paced" in printed and "## cpu" in printed and "## spawn" in printed
    doc = json.loads(out.read_text())
    run = doc["cpu"]["run"]
    assert run["rc"] == 0 and run["tool_cpu"] > 0 and run["tool_maxrss_mb"] > 0
    assert run["calls"]["write"] >= 3 and "reassign" in run["steps"]
    # wait4 of the tool = the tool itself + the simulator processes it reaped
    assert run["wait4_cpu"] >= run["tool_cpu"] + run["children_cpu"] - 0.05
    assert doc["paced"]["objects_failed_429"] == 0 and doc["paced"]["run"]["rc"] == 0
    assert doc["spawn"]["sh_cpu_ms"] > 0


@pytest.mark.slow
def test_bench_runs_the_tutorial_order_and_the_window_phase_at_toy_size(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    bench = load("bench")
    out = tmp_path / "bench.json"
    assert bench.main(["--only", "tutorial,window", "--tutorial-objects", "8", "--tutorial-owners", "2",
                       "--tutorial-latency", "0", "--window-objects", "6", "--owners", "2", "--time-scale", "300",
                       "--workers", "2", "--json", str(out), "--keep", str(tmp_path / "bench")]) == 0
    printed = capsys.readouterr().out
    assert "## tutorial" in printed and "## window" in printed
    doc = json.loads(out.read_text())
    tutorial = doc["tutorial"]
    # the tutorial's order: per non-base object a user lookup and a change-owner, plus 3 app writes
    assert tutorial["tutorial_tiers"]["write"] == tutorial["run"]["calls"]["write"] >= 3
    assert tutorial["tutorial_tiers"]["read"] == tutorial["tutorial_tiers"]["write"] - 3
    assert tutorial["run"]["rc"] == 0 and tutorial["rate_limited"] == 0
    window = doc["window"]
    assert window["window"] == 1.0 and window["writes"] >= 3 and window["refused_429"] == 0
    assert window["run"]["rc"] == 0 and "--rate-window 1" in window["run"]["command"]


def test_scale_runs_a_complete_migration_at_toy_size(tmp_path: Path) -> None:
    scale = load("scale")
    out = tmp_path / "scale.json"
    assert scale.main(["--run-objects", "6", "--users", "20", "--owners", "2", "--only", "run",
                       "--json", str(out), "--keep", str(tmp_path / "scale")]) == 0
    doc = json.loads(out.read_text())
    assert doc["run"]["rc"] == 0 and doc["run"]["app_status"] == "done"
    assert doc["run"]["tool_maxrss_mb"] > 0
    assert [w["part"] for w in doc["run"]["windows"]][:2] == ["start, preflight, plan", "export"]


@pytest.mark.slow
def test_bench_runs_the_workers_sweep_and_the_identities_phase_at_toy_size(tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    bench = load("bench")
    out = tmp_path / "bench.json"
    assert bench.main(["--only", "workers,identities", "--tutorial-objects", "6", "--tutorial-owners", "2",
                       "--tutorial-latency", "0", "--workers-sweep", "2", "--identities-writes", "12",
                       "--identities-budget", "50", "--identities-window", "5", "--identities-workers", "2",
                       "--owners", "2", "--json", str(out), "--keep", str(tmp_path / "bench")]) == 0
    printed = capsys.readouterr().out
    assert "## workers" in printed and "## identities" in printed
    doc = json.loads(out.read_text())
    assert set(doc["workers"]["runs"]) == {"--workers 2", "default options"}
    assert all(r["run"]["rc"] == 0 for r in doc["workers"]["runs"].values())
    assert "--workers" not in doc["workers"]["runs"]["default options"]["run"]["command"]
    ids = doc["identities"]
    assert set(ids["3"]["by_context"]) == {"cloud", "cloud-bot", "bot2"} and set(ids["1"]["by_context"]) == {"cloud"}
    assert ids["3"]["refused_429"] == ids["1"]["refused_429"] == 0


def test_bench_runs_the_in_process_identities_phase_at_toy_size(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    bench = load("bench")
    out = tmp_path / "bench.json"
    assert bench.main(["--only", "identities-inproc", "--inproc-writes", "40", "--inproc-budget", "8",
                       "--inproc-window", "0.2", "--owners", "3", "--inproc-workers", "4",
                       "--json", str(out), "--keep", str(tmp_path / "bench")]) == 0
    printed = capsys.readouterr().out
    assert "## identities-inproc" in printed and "three identities vs one" in printed
    doc = json.loads(out.read_text())["identities-inproc"]
    three, one = doc["3"], doc["1"]
    # the window's bound of 40 writes at 8 a window: one identity waits 4 windows, three wait 1
    assert one["bound"] == 0.8 and three["bound"] == 0.2
    for r, contexts in ((three, {"cloud", "cloud-bot", "bot2"}), (one, {"cloud"})):
        assert not r["error"] and r["accepted"] == 40 and r["refused_429"] == r["rate_limited_seen"] == 0
        assert set(r["by_context"]) == contexts and r["by_context"] == r["ledger_sent_by"]
        assert r["ledger_counts"] == {"done": 40} and r["objects_after"] == 40
        assert r["wrongly_owned"] == r["lost"] == r["applied_twice"] == 0
        assert r["ratio"] == r["span"] / r["bound"]
    assert doc["speedup"] == one["span"] / three["span"]

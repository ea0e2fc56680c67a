"""Knobs: rate limits, 5xx, applied-but-failed, warnings, hangs, reproducibility."""

from __future__ import annotations

import pathlib
import time
from typing import Any

import pytest

from qliksim import faults
from qliksim import qlik as sim_qlik
from qliksim.store import World

from .conftest import object_by_state
from .test_cloud_apps import export_all
from .test_cloud_apps import import_app


class _SimTime:
    """Stands in for the `time` module inside qliksim.qlik: sleeps are recorded and move its
    clock on, instead of being slept."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.offset = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def time(self) -> float:
        return time.time() + self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds


@pytest.fixture
def sim_time(monkeypatch: pytest.MonkeyPatch) -> _SimTime:
    fake = _SimTime()
    monkeypatch.setattr(sim_qlik, "time", fake)
    return fake


def test_configure_validates_and_resets(demo: dict[str, Any]) -> None:
    knobs = faults.configure(demo["path"], latency=0.2, rate_write=(20, 6), fault_tiers=["write"], export_enospc=True)
    assert ((knobs["latency"], knobs["rate_write"], knobs["fault_tiers"], knobs["export_enospc"])
            == (0.2, "20/6", "write", 1.0))
    for bad in ({"nope": 1}, {"fail_5xx": 2}, {"rate_read": "20"}, {"fault_tiers": "cosmic"}):
        with pytest.raises(ValueError):
            faults.configure(demo["path"], **bad)
    assert faults.reset(demo["path"]) == faults.DEFAULTS


def test_documented_rates_are_a_five_minute_window_of_rate_x_5(demo: dict[str, Any]) -> None:
    knobs = faults.configure(demo["path"], rate_read="documented", rate_write="documented")
    assert (knobs["rate_read"], knobs["rate_write"]) == ("5000/300", "500/300")  # 1000/min, 100/min


def test_rate_limit_answers_429_with_the_wait(demo: dict[str, Any], run: Any, sim_time: _SimTime) -> None:
    faults.configure(demo["path"], rate_read="3/30")
    assert [run("user", "me", context="cloud").code for _ in range(3)] == [0, 0, 0]
    r = run("user", "me", context="cloud")
    assert r.code == 1 and r.http.startswith("429 Too Many Requests\n")
    body = r.error()
    assert body["title"] == "API rate limit reached."
    wait = int(body["detail"].split()[4])
    assert body["detail"] == f"You need to wait {wait} seconds until limit is lifted." and 28 <= wait <= 30
    assert run("user", "me", context="cloud-bot").code == 0  # per identity
    assert run("qrs", "app", "count", context="qseow").code == 0  # other tiers unaffected
    faults.configure(demo["path"], rate_read="3/0.3")
    sim_time.offset += 0.35
    assert run("user", "me", context="cloud").code == 0  # the window slid


def test_fail_5xx_is_reproducible(demo: dict[str, Any], run: Any) -> None:
    faults.configure(demo["path"], fail_5xx=0.5, seed=7)

    def pattern() -> list[int]:
        return [run("user", "me", context="cloud").code for _ in range(16)]

    first = pattern()
    assert 0 < sum(first) < 16
    errs = [run("space", "ls", context="cloud").http for _ in range(20)]
    assert any(e.startswith(("503 Service Unavailable", "500 Internal Server Error")) for e in errs)
    # Same seed, fresh runtime counter: the same calls fail.
    pathlib.Path(demo["path"] + ".runtime").unlink()
    assert pattern() == first
    faults.configure(demo["path"], fault_tiers="engine")
    assert all(run("user", "me", context="cloud").code == 0 for _ in range(8))


def test_applied_but_failed_applies_the_change(demo: dict[str, Any], run: Any, tmp_path: pathlib.Path) -> None:
    app = import_app(run, demo, export_all(run, demo, tmp_path))["attributes"]["id"]
    faults.configure(demo["path"], applied_but_failed=1.0, hang_seconds=0.01, fault_tiers="write")
    sheet = object_by_state(demo, "sales", "sheet", "private")["engineObjectId"]
    jane = demo["cloud_users"]["jdoe"]
    r = run("app", "object", "change-owner", "--appId", app, "--objectId", sheet, "--ownerId", jane, context="cloud")
    assert r.code == 1 and r.http.startswith(("503", "504"))
    assert next(o for o in World(demo["path"]).cloud_objects(app) if o["object_id"] == sheet)["owner_id"] == jane
    before = len(World(demo["path"]).cloud_apps())
    assert run("app", "copy", app, context="cloud").code == 1
    assert len(World(demo["path"]).cloud_apps()) == before + 1  # the copy exists anyway
    assert run("app", "get", app, context="cloud").code == 0  # reads are not mutating
    copy_faults = {c.get("fault") for c in World(demo["path"]).calls() if c.get("command") == "app copy"}
    assert copy_faults & {"applied_but_failed", "applied_but_failed+hang"}


def test_warnings_go_to_stderr_on_success(demo: dict[str, Any], run: Any) -> None:
    faults.configure(demo["path"], warnings=1.0)
    r = run("user", "me", context="cloud")
    assert r.code == 0 and r.json()["id"] == demo["cloud_identity"]
    noise, _, rest = r.err.partition("\n}\n\n")
    assert noise == '{\n  "": "200 OK"'  # REST success noise (REAL, 1.4.0), then the warning
    assert rest.startswith(("Warning: ", "A new version of qlik-cli is available"))


def test_hang_sleeps_then_proceeds(demo: dict[str, Any], run: Any, sim_time: _SimTime) -> None:
    faults.configure(demo["path"], hang=1.0, hang_seconds=0.3)
    r = run("user", "me", context="cloud")
    assert r.code == 0 and r.json()["id"] == demo["cloud_identity"]  # proceeds after its hang
    assert sim_time.sleeps == [0.3]
    assert [c["event"] for c in World(demo["path"]).calls() if "event" in c] == ["hang"]


def test_latency(demo: dict[str, Any], run: Any, sim_time: _SimTime) -> None:
    faults.configure(demo["path"], latency=0.2)
    assert run("user", "me", context="cloud").code == 0
    assert sim_time.sleeps == [0.2]
    assert run("version").code == 0  # local: no network, no latency
    assert sim_time.sleeps == [0.2]


def test_latency_is_really_slept_by_the_installed_qlik(proc: Any, demo: dict[str, Any]) -> None:
    """The knob reaches a real process (a lower bound: a real child's sleep cannot be faked)."""
    faults.configure(demo["path"], latency=0.2)
    start = time.monotonic()
    assert proc("user", "me", context="cloud").code == 0
    assert time.monotonic() - start >= 0.2

"""Shared test fixtures: the fake `qlik`, a guard against the real one, quiet structlog."""
from __future__ import annotations

import logging
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import fakeqlik`, whatever the rootdir

from fakeqlik import FakeQlik

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "msg": logging.INFO, "warning": logging.WARNING,
           "warn": logging.WARNING, "error": logging.ERROR, "exception": logging.ERROR,
           "critical": logging.CRITICAL, "fatal": logging.CRITICAL}


def _drop_below_warning(_logger: object, method: str, event: dict) -> dict:
    if _LEVELS.get(method, logging.WARNING) < logging.WARNING:
        raise structlog.DropEvent
    return event


def _quiet_structlog() -> None:
    # Quiet by a processor, not by the wrapper class: structlog.testing.capture_logs() swaps the
    # processors only, so it still sees debug and info events. stderr is looked up per call, so the
    # logger never writes to a capture stream pytest has closed.
    structlog.configure(
        processors=[_drop_below_warning, structlog.processors.add_log_level,
                    structlog.dev.ConsoleRenderer(colors=False)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.NOTSET),
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )


_quiet_structlog()


# xdist's worksteal hands each worker a contiguous share of the collected tests and lets idle
# workers steal the end of a busy one's queue, so a long test collected late can run alone at the
# end. Each share starts with its part of the `slow` tests (dealt in turn), the rest keep their
# order: the long ones start at once, on every worker.
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workers = int(getattr(config, "workerinput", {}).get("workercount", 0) or 0)
    if workers < 2:
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    rest = iter(item for item in items if item.get_closest_marker("slow") is None)
    shares: list[list[pytest.Item]] = [slow[k::workers] for k in range(workers)]
    for k, share in enumerate(shares):
        size = len(items) // workers + (1 if k < len(items) % workers else 0)
        share += [item for _, item in zip(range(size - len(share)), rest, strict=False)]
    shares[-1] += list(rest)
    items[:] = [item for share in shares for item in share]


@pytest.fixture(autouse=True)
def _structlog_reset() -> None:
    """Each test starts quiet, even after a test that ran the CLI's own logging set-up (which binds
    the stderr of that moment, a capture stream pytest closes afterwards)."""
    _quiet_structlog()


_TRIPWIRE = """#!/bin/sh
echo "Error: a test ran \\`qlik $*\\` without the fake_qlik fixture (a real qlik would have run)" >&2
echo "$*" >> "{hits}"
exit 99
"""


@pytest.fixture(scope="session")
def _tripwire(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("no-real-qlik")
    hits = root / "hits"
    hits.touch()
    script = root / "bin" / "qlik"
    script.parent.mkdir()
    script.write_text(_TRIPWIRE.format(hits=hits))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (root / "home").mkdir()
    return root, hits


@pytest.fixture(autouse=True)
def no_real_qlik(_tripwire: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Shadow any real `qlik` on PATH with a tripwire and point qlik-cli's home at a temp dir;
    a test that reaches the tripwire fails even if the code under test swallowed the error."""
    root, hits = _tripwire
    monkeypatch.setenv("PATH", f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("QLIK_CLI_USER_HOME_DIR", str(root / "home"))
    found = shutil.which("qlik")
    assert found == str(root / "bin" / "qlik"), f"PATH guard failed: qlik resolves to {found}"
    before = hits.stat().st_size
    yield
    if hits.stat().st_size != before:
        pytest.fail("this test ran `qlik` from PATH without the fake_qlik fixture: "
                    + hits.read_text()[before:].strip())


@pytest.fixture
def fake_qlik(no_real_qlik: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeQlik]:
    """The fake `qlik` first on PATH. `.scenario([step(...), ...])` sets its answers, `.calls()`
    returns the argv of each call. Build `Qlik()` after requesting this fixture: it copies the
    environment when constructed. Unexpected calls fail the test unless `.allow_unexpected`."""
    fake = FakeQlik(tmp_path / "fakeqlik").install()
    monkeypatch.setenv("PATH", f"{fake.bin_dir}{os.pathsep}{os.environ['PATH']}")
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    yield fake
    unexpected = fake.unexpected()
    if unexpected and not fake.allow_unexpected:
        pytest.fail(f"fake qlik got calls no scenario step matched: {unexpected}")


@pytest.fixture(scope="session")
def real_qlik_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Qlik's real qlik-cli 1.4.0 (vendored in tests/realqlik), extracted once per session."""
    from realqlik import extract

    return extract(tmp_path_factory.mktemp("real-qlik-cli"))

"""Helpers around the fake `qlik` (tests/fakeqlik/qlik): fixtures, scenarios, logged calls.

A test builds a scenario from steps (`step("qrs_app_get")`, `step(match=[...], stdout=...)`),
the fake answers each `qlik` call from the first matching step, and `calls()` returns the argv of
every call in order. See docs/fixtures.md.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXTURES_DIR = ROOT / "fixtures" / "qlik"
FAKE_SCRIPT = Path(__file__).resolve().with_name("qlik")
FIXTURE_KEYS = {"command", "argv_example", "exit_code", "stdout", "stderr", "source"}
OPTIONAL_KEYS = {"stdout_b64", "stderr_b64", "shows", "write_file_flag", "write_file_content"}
PROVENANCE = ("DOC", "CODE", "INFERRED", "RECORDED", "REAL")


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES_DIR.glob("*.json"))


def load_fixture(name: str) -> dict[str, Any]:
    with open(FIXTURES_DIR / f"{name}.json", encoding="utf-8") as fh:
        return json.load(fh)


def fixture_json(name: str) -> Any:
    """The parsed stdout of a fixture (for deriving expected values in tests)."""
    return json.loads(load_fixture(name)["stdout"])


def validate_fixture(data: dict[str, Any]) -> list[str]:
    """Problems with one fixture document; [] if it is well-formed."""
    problems = []
    present = set(data) | {k[:-len("_b64")] for k in data if k.endswith("_b64")}
    missing = FIXTURE_KEYS - present
    if missing:
        problems.append(f"missing keys {sorted(missing)}")
    unknown = set(data) - FIXTURE_KEYS - OPTIONAL_KEYS
    if unknown:
        problems.append(f"unknown keys {sorted(unknown)}")
    command = data.get("command")
    if not (isinstance(command, list) and command and all(isinstance(w, str) and w for w in command)):
        problems.append("command must be a non-empty list of words")
    argv = data.get("argv_example")
    if not (isinstance(argv, list) and all(isinstance(t, str) for t in argv)):
        problems.append("argv_example must be a list of strings")
    elif isinstance(command, list) and argv[:len(command)] != command:
        problems.append("argv_example must start with the command words")
    if not isinstance(data.get("exit_code"), int):
        problems.append("exit_code must be an int")
    for key in ("stdout", "stderr"):
        if key in data and not isinstance(data[key], str):
            problems.append(f"{key} must be text")
    source = data.get("source")
    if not (isinstance(source, str) and source.startswith(PROVENANCE)):
        problems.append(f"source must start with one of {PROVENANCE}")
    return problems


def step(fixture: str | None = None, *, match: list[str] | None = None, args: list[str] | None = None,
         times: int | None = None, **inline: Any) -> dict[str, Any]:
    """One scenario step. Without `match`, a fixture step matches on the fixture's command."""
    out: dict[str, Any] = {}
    if fixture is not None:
        if not (FIXTURES_DIR / f"{fixture}.json").is_file():
            raise FileNotFoundError(f"no fixture {fixture!r} in {FIXTURES_DIR}")
        out["fixture"] = fixture
        out["match"] = list(match) if match is not None else load_fixture(fixture)["command"]
    elif match is not None:
        out["match"] = list(match)
    else:
        raise ValueError("a step needs a fixture or a match")
    if args:
        out["args"] = list(args)
    if times is not None:
        out["times"] = times
    out.update(inline)
    return out


def written_help_texts() -> dict[str, str]:
    """`qlik COMMAND --help` of a 2.x qlik-cli, written by hand in the real 1.4.0's layout
    (fixtures/qlik/help-2.x/help_texts.json): never built from the flag table they are checked by."""
    with open(FIXTURES_DIR / "help-2.x" / "help_texts.json", encoding="utf-8") as fh:
        texts: dict[str, str] = json.load(fh)["texts"]
    return texts


def help_steps() -> list[dict[str, Any]]:
    """One step per command the preflight's flag check reads (`qlik COMMAND --help`), answered with
    the written 2.x help texts. Put them first: a step matches on the command words, so a later
    `app import` step would otherwise answer `app import --help`."""
    from qlikcli_py.flagcheck import USED

    texts = written_help_texts()
    return [step(match=command.split(), args=["--help"], stdout=texts.get(command, "")) for command in USED]


def help_calls() -> list[list[str]]:
    """The argv of each of those --help calls."""
    from qlikcli_py.flagcheck import USED

    return [[*command.split(), "--help"] for command in USED]


def command_words(argv: list[str]) -> list[str]:
    words = []
    for tok in argv:
        if tok.startswith("-"):
            break
        words.append(tok)
    return words


class FakeQlik:
    """The fake installed as `qlik` in `root/bin`, with its scenario, log and home under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin_dir = root / "bin"
        self.binary = self.bin_dir / "qlik"
        self.home = root / "qlik-home"
        self.scenario_path = root / "scenario.json"
        self.log_path = root / "calls.jsonl"
        self.allow_unexpected = False

    def install(self) -> FakeQlik:
        """Copy the fake into bin/ with the running interpreter (and -S: no site, fast start-up)
        as its interpreter, so no `python3` shim on PATH slows down or changes each call."""
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        body = FAKE_SCRIPT.read_text(encoding="utf-8").split("\n", 1)[1]
        self.binary.write_text(f"#!{sys.executable} -S\n{body}", encoding="utf-8")
        self.binary.chmod(self.binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        self.scenario([])
        return self

    def env(self) -> dict[str, str]:
        return {
            "FAKEQLIK_SCENARIO": str(self.scenario_path),
            "FAKEQLIK_LOG": str(self.log_path),
            "FAKEQLIK_FIXTURES": str(FIXTURES_DIR),
            "QLIK_CLI_USER_HOME_DIR": str(self.home),
        }

    def scenario(self, steps: list[dict[str, Any]]) -> FakeQlik:
        """Replace the scenario and forget how often each step was used (the log is kept)."""
        self.scenario_path.write_text(json.dumps({"fixtures_dir": str(FIXTURES_DIR), "steps": steps}, indent=1),
                                      encoding="utf-8")
        with contextlib.suppress(OSError):
            os.unlink(f"{self.scenario_path}.state")
        return self

    def records(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        with open(self.log_path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def calls(self, *words: str) -> list[list[str]]:
        """argv of every call (optionally only those whose command words start with `words`)."""
        return [r["argv"] for r in self.records() if command_words(r["argv"])[:len(words)] == list(words)]

    def unexpected(self) -> list[list[str]]:
        return [r["argv"] for r in self.records() if r["step"] is None]

    def reset_calls(self) -> None:
        with contextlib.suppress(OSError):
            self.log_path.unlink()

    def remove(self) -> None:
        shutil.rmtree(self.bin_dir, ignore_errors=True)


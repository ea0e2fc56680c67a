"""Options from a TOML file (`--config`) and from QLIK_MIGRATE_* variables, so a cron line stays
short; a flag wins over the environment, which wins over the file; a key no command knows stops
the command with one line (exit 2) before anything runs."""
from __future__ import annotations

import json

import pytest

from qlikcli_py.errors import ExitCode


def toml(path, **values) -> str:
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()), encoding="utf-8")
    return str(path)


def one_line(res, code, *needles):
    assert res.code == code, (res.code, res.out, res.err)
    [line] = res.err.splitlines()
    assert line.startswith("qlik-migrate: ") and "Traceback" not in res.err
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def settings(sim) -> dict:
    return {"source-context": "qseow", "target_context": "cloud", "state-dir": str(sim.state_dir),
            "shared-space": "Finance Dev", "managed-space": "Finance", "read-rate": 0, "write-rate": 0}


def test_every_option_from_a_config_file(sim):
    report = sim.tmp / "plan.json"
    # one file for every command: `export-dir` and `csv` are run options, skipped by plan
    config = toml(sim.tmp / "migrate.toml", **settings(sim), report=str(report), workers=2,
                  **{"export-dir": str(sim.tmp / "exports"), "csv": str(sim.tmp / "o.csv"), "on-unmatched": "skip"})
    res = sim.migrate("plan", sim.app(), "--config", config)
    assert res.code == ExitCode.UNMATCHED, res.err
    doc = json.loads(report.read_text())
    assert doc["apps"][0]["source_app_id"] == sim.app() and doc["totals"]["minimum_seconds"] == 0  # rates 0
    assert (sim.state_dir / "tmp").is_dir()  # the state dir came from the file too


def test_every_option_from_the_environment_keeps_a_cron_line_short(sim, monkeypatch):
    for key, value in settings(sim).items():
        monkeypatch.setenv("QLIK_MIGRATE_" + key.upper().replace("-", "_"), str(value))
    monkeypatch.setenv("QLIK_MIGRATE_REPORT", str(sim.tmp / "env.json"))
    res = sim.migrate("plan", sim.app())
    assert res.code == ExitCode.UNMATCHED, res.err
    assert json.loads((sim.tmp / "env.json").read_text())["command"] == "plan"
    # or only the config file's name in the environment
    for key in settings(sim):
        monkeypatch.delenv("QLIK_MIGRATE_" + key.upper().replace("-", "_"))
    monkeypatch.setenv("QLIK_MIGRATE_CONFIG", toml(sim.tmp / "cron.toml", **settings(sim)))
    doctor = sim.migrate("doctor")  # the cheapest command that needs them all
    assert doctor.code == ExitCode.OK, doctor.out
    assert "context qseow" in doctor.out and "'Finance Dev'" in doctor.out


def test_a_flag_wins_over_the_environment_which_wins_over_the_file(sim, monkeypatch):
    """The target context is checked early, so which value won shows in the error line."""
    config = toml(sim.tmp / "c.toml", **{**settings(sim), "target-context": "from-file"})
    monkeypatch.setenv("QLIK_MIGRATE_TARGET_CONTEXT", "from-env")
    one_line(sim.migrate("plan", sim.app(), "--config", config, "--target-context", "from-flag"),
             ExitCode.USAGE, "'from-flag' does not exist")
    one_line(sim.migrate("plan", sim.app(), "--config", config), ExitCode.USAGE, "'from-env' does not exist")
    monkeypatch.delenv("QLIK_MIGRATE_TARGET_CONTEXT")
    one_line(sim.migrate("plan", sim.app(), "--config", config), ExitCode.USAGE, "'from-file' does not exist")


@pytest.mark.parametrize(("content", "needles"), [
    ('target-contxt = "cloud"\n', ["unknown setting 'target-contxt'", "long option name"]),
    ('log-file = "/tmp/x.jsonl"\n', ["'log-file' is an option of qlik-migrate itself", "QLIK_MIGRATE_LOG_FILE"]),
    ('config = "other.toml"\n', ["cannot name another config file"]),
    ('target-context = "cloud\n', ["is not valid UTF-8 TOML"]),
    ("workers = 'many'\n", ["'--workers'", "'many' is not a valid integer"]),
    (None, ["cannot read", "No such file or directory"]),
])
def test_a_bad_config_file_is_one_line_and_runs_nothing(sim, content, needles):
    path = sim.tmp / "bad.toml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    before = sim.path.read_bytes()
    res = sim.migrate("run", sim.app(), "--config", str(path))
    one_line(res, ExitCode.USAGE, *needles, "(see `qlik-migrate run --help`)")
    assert sim.calls() == [] and sim.path.read_bytes() == before  # not even `qlik version`

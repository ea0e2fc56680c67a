"""Issue 18.5: a run completes when qlik prints a notice line before the JSON on stdout."""
from __future__ import annotations

import json

from qlikcli_py.errors import ExitCode


def test_a_run_completes_when_every_call_prints_a_warning_before_its_json(sim, tmp_path):
    sim.faults(warnings=1.0, warnings_stream="stdout", seed=2)
    log = tmp_path / "log.jsonl"
    res = sim.migrate("--log-file", str(log), "run", sim.app(), *sim.common(), "--lookup", "listing")
    assert res.code == ExitCode.UNMATCHED, res.err[-800:]  # done (one demo owner has no cloud user)
    noticed = [e for e in map(json.loads, log.read_text().splitlines()) if e["event"] == "qlik.notice_on_stdout"]
    printed = [e["printed"] for e in noticed]
    assert printed and len(printed) == len(set(printed)) <= 2  # each distinct text once, not once per call

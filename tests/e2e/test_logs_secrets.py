"""Issue 7: structured logs (run id, app, step, one `step.done` per step) and no secret anywhere.

Where a secret can come from: qlik-cli's own stderr (a `--verbose`-style request dump, or an error
that quotes the request), its stdout error body, the environment of the run, the contexts' tokens
(the simulator world keeps one per context), and an old qlik-cli printing the key in
`context get`. The redactor can only mask a secret it can recognise (a Bearer/Basic value, a JWT,
an Authorization/Cookie/X-Qlik-Xrfkey header, `api_key=`/`client_secret=`/`password=`/
`access_token=`): those are the shapes planted here. The tool must also never print its
environment or the contexts at all, which the plain tokens (not masked if printed) prove.
"""
from __future__ import annotations

import json
import os
import secrets
import shlex
import sqlite3
import tempfile
from collections import Counter
from pathlib import Path

from qlikcli_py.errors import ExitCode

STEPS = ("export", "import", "script", "copy", "reassign", "move", "clean")


def tokens() -> dict[str, str]:
    """name -> a recognisable secret core, planted inside a realistic secret."""
    return {name: f"{name}{secrets.token_hex(8)}" for name in
            ("bearer", "jwtsig", "apikey", "cookie", "xrf", "env", "proxy", "world")}


def leaky_qlik(sim, t: dict[str, str]) -> None:
    """`qlik` first on PATH: the simulator, plus a request dump with the token on stderr after every
    call, the API key in `context get`, and the first change-owner refused with the token quoted in
    its error (stderr line and the --json body on stdout)."""
    real = shlex.quote(str(sim.tmp / "bin" / "qlik"))
    once = shlex.quote(str(sim.tmp / "refused-once"))
    jwt = f"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdmNfbWlncmF0ZSJ9.{t['jwtsig']}"
    body = json.dumps({"status": 403, "title": "Forbidden", "detail": f"token {jwt} may not change owners"})
    error = (f"Error: 403 Forbidden: PATCH /api/v1/apps/x/objects/y/actions/change-owner with "
             f"Authorization: Bearer {t['bearer']}, api_key={t['apikey']} and Cookie: _session={t['cookie']}")
    debug = f"DEBUG request headers: Authorization: Bearer {t['bearer']}, X-Qlik-Xrfkey: {t['xrf']}"
    wrap = sim.tmp / "wrap"
    wrap.mkdir()
    (wrap / "qlik").write_text(f"""#!/bin/sh
case " $* " in
  *" --help "*) exec {real} "$@" ;;
  *" change-owner "*)
    if [ ! -e {once} ]; then
      : > {once}
      printf '%s\\n' {shlex.quote(body)}
      printf '%s\\n' {shlex.quote(error)} {shlex.quote('{"errors":[{"code":"HTTP-403","title":"Forbidden"}]}')} >&2
      exit 1
    fi ;;
  *" context get "*)
    {real} "$@"; rc=$?; printf 'api-key: %s\\n' {shlex.quote(jwt)}; exit $rc ;;
esac
{real} "$@"; rc=$?
printf '%s\\n' {shlex.quote(debug)} >&2
exit $rc
""")
    (wrap / "qlik").chmod(0o755)
    os.environ["PATH"] = f"{wrap}{os.pathsep}{os.environ['PATH']}"


def test_no_secret_reaches_any_output_and_logs_carry_run_app_and_step(sim, monkeypatch):
    t = tokens()
    monkeypatch.setenv("PATH", os.environ["PATH"])  # restored after the test
    leaky_qlik(sim, t)
    monkeypatch.setenv("QLIK_API_KEY", f"eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.{t['env']}")
    monkeypatch.setenv("QLIK_MIGRATE_API_KEY", t["env"])  # not an option: must be ignored, not echoed
    monkeypatch.setenv("HTTPS_PROXY", f"http://svc:{t['proxy']}@proxy.acme.local:3128")
    conn = sqlite3.connect(sim.path)
    with conn:
        conn.execute("UPDATE contexts SET token = ? || name", (t["world"],))  # bare: unmaskable if shown
    conn.close()
    crash_dir = sim.tmp / "tmp"  # where a crash log would go (tempfile), away from other processes
    crash_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(crash_dir))
    crashes: set[Path] = set()
    log = sim.tmp / "logs" / "migrate.jsonl"
    log.parent.mkdir()
    out = sim.tmp / "out"

    def run(n: int):
        return sim.migrate("--log-format", "auto", "--log-level", "info", "--log-file", str(log), "run",
                           sim.app(), *sim.common(), "--report", str(out / f"r{n}.json"),
                           "--csv", str(out / f"o{n}.csv"))

    first = run(1)
    assert first.code == ExitCode.FAILED, first.out + first.err
    [line] = first.err.splitlines()
    assert line.startswith("qlik-migrate: 1 of 1 apps failed") and "run again to resume" in line
    r1 = json.loads((out / "r1.json").read_text())
    [refused] = r1["apps"][0]["failed_objects"]
    assert "403 Forbidden" in refused["error"] and "Authorization=***" in refused["error"]  # kept, masked
    second = run(2)
    assert second.code == ExitCode.UNMATCHED, second.out + second.err
    assert second.err == ""
    r2 = json.loads((out / "r2.json").read_text())

    # -- secrets: every byte the tool wrote or printed ------------------------------------------
    texts = {"run 1 stdout": first.out, "run 1 stderr": first.err, "run 2 stdout": second.out,
             "run 2 stderr": second.err}
    files = [log, *out.iterdir(), *(p for p in sim.state_dir.rglob("*") if p.is_file())]
    files += [p for p in crash_dir.glob("qlik-migrate-crash-*") if p not in crashes]
    files.append(Path(f"{sim.path}.calls.jsonl"))  # the argv of every call the tool made
    assert any(p.name == "ledger.sqlite" for p in files) and len(list(out.iterdir())) == 4
    for path in files:
        texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
    leaks = [(name, where) for name, core in t.items() for where, text in texts.items() if core in text]
    assert leaks == []
    assert not [p for p in crash_dir.glob("qlik-migrate-crash-*") if p not in crashes]  # and no crash

    # -- logs: JSON lines, every event with the run id; app and step where they apply ------------
    events = [json.loads(x) for x in log.read_text().splitlines()]
    assert events and all({"event", "level", "timestamp", "run_id", "command"} <= set(e) for e in events)
    assert {e["command"] for e in events} == {"run"}
    assert [e["run_id"] for e in events if e["event"] == "run.done"] == [r1["run_id"], r2["run_id"]]
    assert {e["run_id"] for e in events} == {r1["run_id"], r2["run_id"]} and r1["run_id"] != r2["run_id"]
    assert all(e.get("app") == sim.app() for e in events if "step" in e or e["event"].startswith("app."))
    failed = [e for e in events if e["event"] == "app.failed"]
    assert len(failed) == 1 and failed[0]["run_id"] == r1["run_id"] and failed[0]["level"] == "error"
    done = [e for e in events if e["event"] == "step.done"]
    assert all(isinstance(e["seconds"], float) and e["seconds"] >= 0 for e in done)
    per_step = Counter((e["run_id"], e["step"]) for e in done)
    # the first run fails in the hand-over; the copy's clean-up, which runs beside it, completes
    first = (*STEPS[:4], "clean")
    assert per_step == Counter({(r1["run_id"], s): 1 for s in first} | {(r2["run_id"], s): 1 for s in STEPS[4:6]})
    assert (log.stat().st_mode & 0o077) == 0


def test_json_lines_on_stderr_when_not_on_a_terminal(sim):
    report = sim.tmp / "plan.json"
    res = sim.migrate("--log-format", "auto", "--log-level", "debug", "plan", sim.app(), *sim.common(),
                      "--report", str(report))
    assert res.code == ExitCode.UNMATCHED
    run_id = json.loads(report.read_text())["run_id"]
    events = [json.loads(line) for line in res.err.splitlines()]  # every stderr line is a JSON event
    calls = [e for e in events if e["event"] == "qlik.ok"]
    assert len(calls) >= 8 and all(e["tier"] in ("local", "qrs", "read") and e["argv"] for e in calls)
    assert {(e["run_id"], e["command"]) for e in events} == {(run_id, "plan")}
    readable = sim.migrate("--log-format", "console", "--log-level", "debug", "doctor", *sim.common())
    assert "qlik.ok" in readable.err and not readable.err.lstrip().startswith("{")
    assert "run_id=" in readable.err and "command=doctor" in readable.err

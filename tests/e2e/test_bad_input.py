"""Issue 8: bad input gets one clear line (what is wrong, how to fix it), no traceback, and nothing
changes: the simulator's world file is byte-identical and no write or engine call was made.

A failure during a run (disk full, garbage from qlik after a write) exits 1 ("failed, run again to
resume") and its one stderr line says so; everything else here is found before the first change.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shlex
import sqlite3
import stat
import unicodedata

import pytest

from qlikcli_py.errors import ExitCode

MUTATING_TIERS = {"write", "engine"}
MISSING_APP = "5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c"


# -- helpers --------------------------------------------------------------------------------------
class Frozen:
    """The world before a command, to prove afterwards that nothing changed."""

    def __init__(self, sim):
        self.sim = sim
        self.bytes = sim.path.read_bytes()
        self.calls = len(sim.calls())

    def assert_unchanged(self):
        assert self.sim.path.read_bytes() == self.bytes, "the world file changed"
        tiers = {c["tier"] for c in self.sim.calls()[self.calls:]}
        assert not tiers & MUTATING_TIERS, tiers


def one_line(res, code, *needles):
    """Exit code, exactly one stderr line `qlik-migrate: ...` holding every needle, no traceback."""
    assert res.code == code, (res.code, res.out, res.err)
    lines = res.err.splitlines()
    assert len(lines) == 1, res.err
    assert lines[0].startswith("qlik-migrate: "), lines[0]
    assert "Traceback" not in res.err + res.out
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def plan(sim, *args, **kw):
    return sim.migrate("plan", *(args or (sim.app(),)), *sim.common(**kw))


def qlik_wrapper(sim, monkeypatch, command: str, stdout: str) -> None:
    """A `qlik` first on PATH: the simulator for every call, except `command`, which still runs
    (its effects happen) but whose stdout is replaced."""
    real = shlex.quote(str(sim.tmp / "bin" / "qlik"))
    wrap = sim.tmp / "wrap"
    wrap.mkdir()
    script = wrap / "qlik"
    script.write_text(
        "#!/bin/sh\n"
        f"case \" $* \" in\n"
        f"  *' --help '*) exec {real} \"$@\" ;;\n"  # the preflight's flag check reads the help as it is
        f"  *{shlex.quote(' ' + command + ' ')}*) {real} \"$@\" >/dev/null; rc=$?; "
        f"printf '%s' {shlex.quote(stdout)}; exit $rc ;;\n"
        "esac\n"
        f"exec {real} \"$@\"\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrap}{os.pathsep}{os.environ['PATH']}")


def world_sql(sim, sql: str, params=()) -> None:
    conn = sqlite3.connect(sim.path)
    with conn:
        conn.execute(sql, params)
    conn.close()


# -- apps, contexts, spaces -----------------------------------------------------------------------
def test_app_that_does_not_exist(sim):
    frozen = Frozen(sim)
    one_line(plan(sim, MISSING_APP), ExitCode.USAGE, MISSING_APP, "does not exist", "'qseow'")
    one_line(sim.migrate("run", MISSING_APP, *sim.common()), ExitCode.USAGE, MISSING_APP, "does not exist")
    frozen.assert_unchanged()


def test_app_that_does_not_exist_says_how_to_fix(sim):
    line = one_line(plan(sim, MISSING_APP), ExitCode.USAGE)
    assert "check" in line or "--source-context" in line


@pytest.mark.parametrize("bad", ["not-a-guid", "5f0c2b1e-8a4d-4c6e-9b7a", "'; DROP TABLE apps; --"])
def test_malformed_app_id(sim, bad):
    one_line(sim.migrate("run", sim.app(), bad, *sim.common()), ExitCode.USAGE, repr(bad), "is not a QRS app id",
             "GUID like", "check the APP_ID arguments")
    assert sim.calls() == []  # found before anything ran


def test_unknown_context(sim):
    frozen = Frozen(sim)
    res = sim.migrate("run", sim.app(), *sim.common(target="acme-cloud"))
    one_line(res, ExitCode.USAGE, "'acme-cloud' does not exist", "qlik context ls", "qlik context create")
    args = sim.common()
    args[args.index("qseow")] = "qsEOW"
    one_line(sim.migrate("plan", sim.app(), *args), ExitCode.USAGE, "'qsEOW' does not exist")
    frozen.assert_unchanged()


def test_contexts_of_the_wrong_server_type(sim):
    frozen = Frozen(sim)
    args = sim.common()
    args[args.index("qseow")] = "cloud"
    one_line(sim.migrate("run", sim.app(), *args), ExitCode.USAGE,
             "'cloud' is a Qlik Cloud context", "--source-context needs", "server-type windows")
    one_line(sim.migrate("run", sim.app(), *sim.common(target="qseow")), ExitCode.USAGE,
             "'qseow' is a client-managed context", "--target-context needs", "server-type cloud")
    frozen.assert_unchanged()


def test_space_not_found(sim):
    frozen = Frozen(sim)
    base = sim.common(spaces=False)
    res = sim.migrate("run", sim.app(), *base, "--shared-space", "Finanse Dev", "--managed-space", "Finance")
    one_line(res, ExitCode.USAGE, "no space named or with id 'Finanse Dev'", "check --shared-space")
    res = sim.migrate("run", sim.app(), *base, "--shared-space", "Finance Dev", "--managed-space", "finance")
    one_line(res, ExitCode.USAGE, "'finance'", "did you mean 'Finance'?", "--managed-space")
    frozen.assert_unchanged()


def test_two_spaces_with_the_same_name(sim):
    world_sql(sim, "INSERT INTO spaces (id, name, type, description, owner_id, created, updated) "
                   "SELECT 'aaaaaaaaaaaaaaaaaaaaaaaa', name, type, '', owner_id, created, updated FROM spaces "
                   "WHERE name = 'Finance Dev'")
    frozen = Frozen(sim)
    first = sim.info["spaces"]["Finance Dev"]
    line = one_line(sim.migrate("run", sim.app(), *sim.common()), ExitCode.USAGE,
                    "two or more spaces are named 'Finance Dev'", "pass the id to --shared-space")
    assert first in line and "aaaaaaaaaaaaaaaaaaaaaaaa" in line
    frozen.assert_unchanged()


def test_space_of_the_wrong_type(sim):
    frozen = Frozen(sim)
    base = sim.common(spaces=False)
    res = sim.migrate("run", sim.app(), *base, "--shared-space", "Finance", "--managed-space", "Finance")
    one_line(res, ExitCode.USAGE, "'Finance'", "is a managed space", "--shared-space needs a shared space")
    res = sim.migrate("run", sim.app(), *base, "--shared-space", "Finance Dev", "--managed-space", "Finance Data")
    one_line(res, ExitCode.USAGE, "'Finance Data'", "is a data space", "--managed-space needs a managed space")
    frozen.assert_unchanged()


# -- the qlik binary ------------------------------------------------------------------------------
def test_qlik_not_installed(sim, monkeypatch, tmp_path):
    frozen = Frozen(sim)
    res = sim.migrate("run", sim.app(), *sim.common(), "--qlik-bin", "/nonexistent/qlik")
    one_line(res, ExitCode.USAGE, "qlik-cli not found", "/nonexistent/qlik", "install qlik-cli 2.24.0", "--qlik-bin")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", f"{empty}{os.pathsep}/usr/bin{os.pathsep}/bin")
    res = sim.migrate("run", sim.app(), *sim.common())
    one_line(res, ExitCode.USAGE, "qlik-cli not found", "'qlik' is not on PATH", "install qlik-cli 2.24.0")
    assert frozen.calls == len(sim.calls())  # not a single call reached the simulator
    frozen.assert_unchanged()


def test_qlik_too_old(sim):
    sim.faults(version="2.23.1")
    frozen = Frozen(sim)
    res = sim.migrate("run", sim.app(), *sim.common())
    one_line(res, ExitCode.USAGE, "qlik-cli 2.23.1 is too old", "2.24.0 or later", "https://qlik.dev")
    assert [c["command"] for c in sim.calls()[frozen.calls:]] == ["version"]
    frozen.assert_unchanged()


# -- local files ----------------------------------------------------------------------------------
def test_export_dir_not_writable(sim):
    """Tests run as root here, where a chmod 0500 directory is still writable; a path below a
    regular file cannot be created by anyone, root included, so that is what is used."""
    blocker = sim.tmp / "a-file"
    blocker.write_text("not a directory\n")
    frozen = Frozen(sim)
    res = sim.migrate("run", sim.app(), *sim.common(), "--export-dir", str(blocker / "exports"))
    one_line(res, ExitCode.USAGE, f"--export-dir {blocker / 'exports'} cannot be created",
             "pass --export-dir DIR on a writable disk")
    res = sim.migrate("run", sim.app(), *sim.common(), "--export-dir", str(blocker))
    one_line(res, ExitCode.USAGE, "'--export-dir'", "is a file", "qlik-migrate run --help")
    args = sim.common()
    args[args.index("--state-dir") + 1] = str(blocker / "state")
    one_line(sim.migrate("run", sim.app(), *args), ExitCode.USAGE, "state dir", "not writable", "--state-dir")
    assert blocker.read_text() == "not a directory\n"
    frozen.assert_unchanged()


def test_disk_full_while_exporting(sim):
    sim.faults(export_enospc=True)
    frozen = Frozen(sim)
    exports = sim.tmp / "exports"
    res = sim.migrate("--log-file", str(sim.tmp / "log.jsonl"), "run", sim.app(), *sim.common(),
                      "--export-dir", str(exports))
    one_line(res, ExitCode.FAILED, "1 of 1 apps failed", "run again to resume", "disk holding", "is full",
             "free space or point --export-dir at a larger disk")
    assert list(exports.iterdir()) == []  # the half-written .part is gone
    calls = sim.calls()[frozen.calls:]
    assert any(c["command"] == "qrs app export create" and c["exit"] == 1 for c in calls)
    frozen.assert_unchanged()


# -- what qlik prints -----------------------------------------------------------------------------
@pytest.mark.parametrize(("command", "stdout", "needle"), [
    ("space ls", "", "qlik printed nothing where JSON was expected: space ls"),
    ("user me", "<html><body>Sign in</body></html>", "qlik printed output that is not JSON: user me"),
    ("object full", '[{"id": "0f6b", "engineObjectId": "a1', "not a JSON list"),
])
def test_empty_truncated_or_non_json_output_before_any_change(sim, monkeypatch, command, stdout, needle):
    """qlik misbehaving is not the user's input: exit 1 (run again), found during preflight or
    planning, so nothing has changed."""
    qlik_wrapper(sim, monkeypatch, command, stdout)
    frozen = Frozen(sim)
    one_line(sim.migrate("run", sim.app(), *sim.common()), ExitCode.FAILED, needle, "run again")
    assert any(command in " ".join(c["argv"]) for c in sim.calls()[frozen.calls:])  # the wrapper was hit
    frozen.assert_unchanged()


def test_garbage_after_an_import_fails_the_run_and_the_rerun_adopts_the_import(sim, monkeypatch):
    """The import is applied, then qlik prints half an object: exit 1 and the line says to run again;
    the next run finds that import instead of importing a second time."""
    qlik_wrapper(sim, monkeypatch, "app import", '{"attributes": {"id": "5a1e')
    log = sim.tmp / "log.jsonl"
    res = sim.migrate("--log-file", str(log), "--log-level", "info", "run", sim.app("hr"), *sim.common())
    one_line(res, ExitCode.FAILED, "1 of 1 apps failed", "run again to resume", "qlik printed output that is not JSON")
    assert len(sim.world.cloud_apps()) == 1
    monkeypatch.setenv("PATH", os.environ["PATH"].split(os.pathsep, 1)[1])  # the wrapper off PATH
    again = sim.migrate("--log-file", str(log), "--log-level", "info", "run", sim.app("hr"), *sim.common())
    assert again.code == ExitCode.UNMATCHED, again.err
    assert len(sim.world.cloud_apps()) == 2  # the adopted import and its copy: nothing doubled
    assert sum(1 for c in sim.calls() if c["command"] == "app import") == 1
    assert "import.adopted" in log.read_text()


# -- manifests and mapping files ------------------------------------------------------------------
@pytest.mark.parametrize(("name", "data", "needles"), [
    ("apps.csv", "app_id,shared_sapce\n{app},Finance Dev\n",
     ["unknown column shared_sapce", "allowed: app_id, stream, filter"]),
    ("apps.csv", "app_id\n{app}\n{APP}\n", ["line 3 repeats", "line 2", "remove one"]),
    ("apps.csv", "app_id,stream\n,Ventes \xc9t\xe9\n", ["is not UTF-8", "save it as UTF-8"]),
    ("apps.toml", '[[app]]\nid = "{app}"\n[[app]]\nid = "{app}"\n', ["#2 repeats", "#1", "remove one"]),
    ("apps.toml", '[[app]]\nid = "{app}"\nspace = "x"\n', ["unknown key 'space'"]),
])
def test_bad_manifest(sim, name, data, needles):
    path = sim.tmp / name
    app = sim.app()
    path.write_bytes(data.format(app=app, APP=app.upper()).encode("latin-1"))
    frozen = Frozen(sim)
    one_line(sim.migrate("run", "--manifest", str(path), *sim.common()), ExitCode.USAGE, str(path), *needles)
    frozen.assert_unchanged()


def test_mapping_file_maps_one_owner_to_two_users(sim):
    frozen = Frozen(sim)
    twice = sim.tmp / "twice.csv"
    twice.write_text("source,target\nACME\\tleft,jane.doe@acme.com\nacme\\TLEFT,alex.smith@acme.com\n")
    res = sim.migrate("run", sim.app(), *sim.common(), "--mapping-file", str(twice))
    one_line(res, ExitCode.USAGE, "lines 2 and 3", "to different targets", "jane.doe@acme.com", "alex.smith@acme.com")
    frozen.assert_unchanged()
    # by owner key on one line and by the owner's e-mail on another: two users for one owner. An
    # ambiguity of that owner only: its objects are unmatched (--on-unmatched), the rest migrates.
    both = sim.tmp / "both.csv"
    both.write_text("source,target\nACME\\tleft,jane.doe@acme.com\ntom.left@acme.com,alex.smith@acme.com\n")
    res = sim.migrate("run", sim.app(), *sim.common(), "--mapping-file", str(both))
    assert res.code == ExitCode.UNMATCHED, res.err
    assert "ACME\\tleft (Tom Left): ambiguous: 2 eligible cloud users match" in res.out
    assert "jane.doe@acme.com" in res.out and "alex.smith@acme.com" in res.out


# -- awkward names, and no shell anywhere ---------------------------------------------------------
def test_hostile_names_titles_and_user_ids_are_passed_as_argv_and_stored_safely(sim):
    """App, stream and space names with `$(...)`, backticks, `;`, `/`, `..`, control characters and
    non-ASCII letters; titles with quotes, newlines and a leading `=`; a user id with an apostrophe,
    backslashes and a space. One run through a manifest (so the stream name goes into a QRS
    filter): no command ran, the names arrive intact, export files stay in the export dir with safe
    names, and everything written is readable by the owner only."""
    markers = [sim.tmp / f"pwned{i}" for i in range(5)]
    app_name = (f"--help ../../Ventes 'Été' / Q4 \"final\" $(touch {markers[0]}) `touch {markers[1]}`; "
                f"touch {markers[2]}\x07\n..")
    stream = f"Sales & Marketing '; $(touch {markers[3]})"
    space = f"Dev $(touch {markers[4]}); `id` | \"x\""
    title = "=HYPERLINK(\"http://x\") \"quoted\" 'single'\nsecond line\ttab"
    odd_user = "o'neil \\ mary ann"
    app = sim.app("ventes")
    objects = sim.world.qrs_objects(app)
    titled = next(o for o in objects if o["object_type"] == "sheet" and not o["approved"])
    odd_owned = [o for o in objects if not o["approved"] and o["object_type"] in ("bookmark", "measure")]
    world_sql(sim, "UPDATE qrs_apps SET name = ? WHERE id = ?", (app_name, app))
    world_sql(sim, "UPDATE streams SET name = ? WHERE name = 'Sales & Marketing'", (stream,))
    world_sql(sim, "INSERT INTO spaces (id, name, type, description, owner_id, created, updated) "
                   "SELECT 'bbbbbbbbbbbbbbbbbbbbbbbb', ?, 'shared', '', owner_id, created, updated FROM spaces "
                   "WHERE name = 'Finance Dev'", (space,))
    world_sql(sim, "UPDATE qrs_objects SET name = ? WHERE id = ?", (title, titled["id"]))
    world_sql(sim, "INSERT INTO qrs_users (id, user_id, user_directory, name, email, created, modified) "
                   "VALUES ('0d3c6a1e-0000-4000-8000-00000000abcd', ?, 'ACME', 'Mary O''Neil', NULL, 'x', 'x')",
              (odd_user,))
    world_sql(sim, "INSERT INTO cloud_users (id, name, email, subject, created, updated) "
                   "VALUES ('cccccccccccccccccccccccc', 'Mary O''Neil', 'mary@acme.com', ?, 'x', 'x')",
              (f"ACME\\{odd_user}",))
    for o in odd_owned:
        world_sql(sim, "UPDATE qrs_objects SET owner_id = '0d3c6a1e-0000-4000-8000-00000000abcd' WHERE id = ?",
                  (o["id"],))
    manifest = sim.tmp / "apps.toml"
    manifest.write_text(f"[[app]]\nstream = {json.dumps(stream)}\n", encoding="utf-8")
    exports = sim.tmp / "exports"
    report, rows = sim.tmp / "out" / "r.json", sim.tmp / "out" / "o.csv"
    umask = os.umask(0o022)  # whatever umask cron gives: the tool's files are owner-only anyway
    try:
        res = sim.migrate("run", "--manifest", str(manifest), *sim.common(spaces=False), "--shared-space", space,
                          "--managed-space", "Finance", "--export-dir", str(exports), "--report", str(report),
                          "--csv", str(rows), "--keep-exports")
    finally:
        os.umask(umask)
    assert res.code == ExitCode.UNMATCHED, res.out + res.err  # ACME\tleft, by design
    assert "Traceback" not in res.out + res.err

    assert not [m for m in markers if m.exists()], "a shell ran part of a name"
    assert {a["name"] for a in sim.world.cloud_apps()} == {app_name}  # import and copy, name intact
    assert any(a["space_id"] == "bbbbbbbbbbbbbbbbbbbbbbbb" for a in sim.world.cloud_apps())
    # the odd user's objects reached their cloud user (a SCIM filter with \\ and ' in it)
    managed = next(a for a in sim.world.cloud_apps() if a["space_id"] == sim.info["spaces"]["Finance"])
    cloud = {o["object_id"]: o for o in sim.world.cloud_objects(managed["id"])}
    assert all(cloud[o["engine_object_id"]]["owner_id"] == "cccccccccccccccccccccccc" for o in odd_owned)
    assert cloud[titled["engine_object_id"]]["title"] == title

    [export] = list(exports.iterdir())
    name = export.name
    assert export.resolve().parent == exports.resolve() and os.sep not in name
    assert name.endswith(f"-{app}.qvf") and not name.startswith(".")
    assert not any(unicodedata.category(c).startswith("C") for c in name)
    assert "Été" in unicodedata.normalize("NFC", name) and "$(" not in name and "`" not in name
    assert not [p for p in sim.tmp.rglob("pwned*") if p.name in {m.name for m in markers}]

    doc = json.loads(report.read_text(encoding="utf-8"))
    assert doc["apps"][0]["name"] == app_name
    assert any(r["source_owner"] == f"ACME\\{odd_user}" and r["cloud_user_id"] == "cccccccccccccccccccccccc"
               for r in doc["apps"][0]["reassigned"])
    table = list(csv.DictReader(io.StringIO(rows.read_text(encoding="utf-8"))))
    got = next(r for r in table if r["object_id"] == titled["engine_object_id"])
    assert got["title"] == "'" + title  # round-trips, and a leading = cannot run as a formula
    assert got["app_name"] == "'" + app_name  # a leading - is guarded the same way
    assert {r["source_owner"] for r in table} >= {f"ACME\\{odd_user}", "EMEA\\SALES\\o'brien"}

    state = sim.state_dir
    private = [state / "ledger.sqlite", report, rows, export]
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in (state, exports):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in state.rglob("*") if p.is_file())

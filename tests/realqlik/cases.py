"""The cases `scripts/record-real-qlik` runs through a real qlik binary (and the conformance test
through the simulator), and how one run becomes a fixture.

Each case: (fixture name, argv with `{server}` for the fake tenant's URL, what it shows). A
context `acme` pointing at the fake tenant is created first (the `context_create` case).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

PROVENANCE = "REAL qlik-cli 1.4.0"
API_KEY = "SECRET-API-KEY-123"  # a made-up key for the fake; scrubbed from every fixture
SCRUBBED_KEY = "<api-key>"

CASES: list[tuple[str, list[str], str]] = [
    ("version", ["version"], "the version line: no `qlik ` prefix, tab-separated fields"),
    ("context_create", ["context", "create", "acme", "--server", "{server}", "--api-key", API_KEY,
                        "--comment", "fake tenant"], "context create: silent success"),
    ("context_create_server_type", ["context", "create", "qseow", "--server", "https://qlik.acme.local/jwt",
                                    "--server-type", "windows", "--api-key", "JWT"],
     "--server-type is unknown to 1.4.0 (added 1.5.0): usage error"),
    ("context_get", ["context", "get", "acme"], "context get: `Key: value` lines, Headers block"),
    ("context_ls", ["context", "ls"], "context ls: a table"),
    ("context_get_missing", ["context", "get", "nope"], "a missing context: exit 0 and `No context with name`"),
    ("rest_missing_context", ["app", "get", "a1", "--context", "nope", "--json"],
     "a REST call through a context that does not exist"),
    ("unknown_flag", ["app", "get", "a1", "--context", "acme", "--bogus"], "unknown flag: usage, exit 1"),
    ("wrong_arg_count", ["app", "get", "--context", "acme"], "wrong argument count: usage, exit 1"),
    ("unknown_subcommand", ["app", "frobnicate", "--context", "acme"],
     "an unknown sub-command of a group: the group's help on stdout, exit 0"),
    ("change_owner_missing", ["app", "object", "change-owner", "--context", "acme"],
     "a command 1.4.0 lacks (app object change-owner, 2.20.0): help on stdout, exit 0"),
    ("engine_no_app", ["app", "object", "ls", "--context", "acme"], "an engine command without --app"),
    ("success_limit", ["space", "ls", "--context", "acme", "--limit", "5", "--json"],
     "--limit 5 is passed to the API as ?limit=5 (1.4.0 follows no next links)"),
    ("success_json", ["space", "ls", "--context", "acme", "--json"], "success --json: `{\"\": \"200 OK\"}` on stderr"),
    ("success_text", ["space", "ls", "--context", "acme"], "success, text: `200 OK` on stderr"),
    ("success_quiet", ["space", "ls", "--context", "acme", "-q"], "success -q: ids only"),
    ("success_raw", ["space", "ls", "--context", "acme", "--raw"], "success --raw: the whole body with links"),
    ("app_get", ["app", "get", "a1", "--context", "acme", "--json"], "one app"),
]
for _name, (_status, _title) in {
    "bad": (400, "Bad Request"), "unauthorized": (401, "Unauthorized"), "forbidden": (403, "Forbidden"),
    "missing": (404, "Not Found"), "conflict": (409, "Conflict"), "limited": (429, "Too Many Requests"),
    "boom": (500, "Internal Server Error"), "unavailable": (503, "Service Unavailable"),
}.items():
    CASES.append((f"http_{_status}_json", ["app", "get", _name, "--context", "acme", "--json"],
                  f"HTTP {_status} under --json: status line as {{\"\": ...}}, blank line, body, on stderr"))
    CASES.append((f"http_{_status}_text", ["app", "get", _name, "--context", "acme"],
                  f"HTTP {_status} in text mode: status line then body, on stderr"))
CASES += [
    ("http_502_html", ["app", "get", "html502", "--context", "acme", "--json"], "a non-JSON (HTML) error body"),
    ("http_429_retry", ["app", "get", "limited", "--context", "acme", "--json", "--retry", "2"],
     "a 429 is not retried by --retry"),
    ("retry_5xx_then_ok", ["app", "get", "flaky", "--context", "acme", "--json", "--retry", "3"],
     "--retry on 5xx: `Retry 1/3` lines on stderr, then success"),
    ("connection_refused", ["app", "get", "a1", "--server", "http://127.0.0.1:1", "--json"],
     "connection refused: Go's network error"),
]
# `qlik COMMAND --help` for the commands the migration uses: what the flag check reads.
HELP_CASES = [
    ("help_context_create", ["context", "create", "--help"]),
    ("help_app_import", ["app", "import", "--help"]),
    ("help_app_copy", ["app", "copy", "--help"]),
    ("help_app_publish_create", ["app", "publish", "create", "--help"]),
    ("help_app_object", ["app", "object", "--help"]),
    ("help_user_ls", ["user", "ls", "--help"]),
    ("help_qrs", ["qrs", "--help"]),
]


def env_for(home: Path) -> dict[str, str]:
    """A private HOME: qlik-cli keeps its contexts under it, never the user's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QLIK")}
    env.update(HOME=str(home), QLIK_CLI_USER_HOME_DIR=str(home))
    return env


def run_case(binary: Path, argv: list[str], server: str, env: dict[str, str]) -> dict[str, object]:
    filled = [a.replace("{server}", server) for a in argv]
    proc = subprocess.run([str(binary), *filled], capture_output=True, env=env, stdin=subprocess.DEVNULL,
                          timeout=60, check=False)
    return {"exit_code": proc.returncode, "stdout": proc.stdout.decode(), "stderr": proc.stderr.decode()}


def scrub(text: str, server: str) -> str:
    return text.replace(API_KEY, SCRUBBED_KEY).replace(server, "http://127.0.0.1:PORT")


def fixture(name: str, argv: list[str], shows: str, result: dict[str, object], server: str) -> dict[str, object]:
    words = [w for w in argv if not w.startswith("-")]
    command = words[:2] if words and words[0] != "version" else words[:1]
    shown = [scrub(a.replace("{server}", server), server) for a in argv]
    return {
        "command": command,
        "argv_example": [*command, *shown[len(command):]] if shown[:len(command)] == command else shown,
        "exit_code": result["exit_code"],
        "stdout": scrub(str(result["stdout"]), server),
        "stderr": scrub(str(result["stderr"]), server),
        "source": f"{PROVENANCE} (scripts/record-real-qlik against tests/realqlik/tenant.py)",
        "shows": shows,
    }

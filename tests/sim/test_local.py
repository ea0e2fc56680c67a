"""`version`, `context get|ls|use`, output encoding and the call log."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from qliksim import faults
from qliksim.output import dumps
from qliksim.output import json_line
from qliksim.qlik import redact
from qliksim.store import World


def test_version_knob(demo: dict[str, Any], run: Any) -> None:
    # the real layout (fixtures/qlik/real-1.4.0/version.json) with the knob's number
    assert run("version").out.startswith("version: 2.24.0\tbranch: \tcommit: ")
    faults.configure(demo["path"], version="3.2.0")
    assert run("version").out.startswith("version: 3.2.0\tbranch: \tcommit: ")
    faults.configure(demo["path"], version="")  # a build that prints no number (qlik-cli issue #40)
    assert run("version").out.startswith("version: \tbranch: \tcommit: ")


def test_context_get_never_prints_the_token(demo: dict[str, Any], run: Any) -> None:
    r = run("context", "get", "cloud-bot", "--context", "cloud-bot")
    assert r.code == 0
    assert r.out == (
        "Name: cloud-bot\nComment: private content bot (OAuth M2M, admin.apps)\n"
        "Server: https://acme.eu.qlikcloud.com\nServer Type: cloud\n"
    )
    assert "Bearer" not in r.out + run("context", "ls").out
    assert run("context", "get").out == "No current context\n"
    assert (run("context", "get", "zzz").code, run("context", "get", "zzz").out) == (0, "No context with name: 'zzz'\n")
    faults.configure(demo["path"], context_type_key="serverType")
    assert "\nserverType: cloud\n" in run("context", "get", "cloud-bot").out
    faults.configure(demo["path"], context_type_key="")
    assert "\nServer Type" not in run("context", "get", "cloud-bot").out


def test_stdlib_and_orjson_encoders_print_the_same_bytes(demo: dict[str, Any], run: Any) -> None:
    docs = [
        run("qrs", "app", "full", context="qseow").json(),
        run("qrs", "user", "full", context="qseow").json(),
        run("app", "ls", "--limit", "50", context="cloud").json(),
        run("space", "ls", context="cloud").json(),
        {"a": [], "b": {}, "c": None, "d": 'quote " back \\ tab \t é ✓', "e": [1, True]},
    ]
    for doc in docs:
        assert dumps(doc) == orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"
    big = run("qrs", "app", "object", "full", context="qseow").json() * 3  # > BIG_LIST: orjson path
    assert dumps(big) == json.dumps(big, indent=2, ensure_ascii=False).encode() + b"\n"


def test_json_line_matches_json() -> None:
    record = {"argv": ["a\\b", 'q"', "\x01", "é"], "n": 3, "f": 1.5, "ok": True, "none": None}
    assert json.loads(json_line(record)) == record


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--headers", "Authorization=Bearer abc,X-Qlik-Session=s"],
         ["--headers", "Authorization=***,X-Qlik-Session=s"]),
        (["--headers=authorization=Bearer abc"], ["--headers=authorization=***"]),
        (["--api-key", "k", "--oauth-client-secret=s"], ["--api-key", "***", "--oauth-client-secret=***"]),
    ],
)
def test_redact(argv: list[str], expected: list[str]) -> None:
    assert redact(argv) == expected


def test_call_log(demo: dict[str, Any], run: Any) -> None:
    run("user", "me", "--headers", "Authorization=Bearer SECRET", context="cloud")
    run("app", "get", "missing", context="cloud")
    run("nope")
    calls = World(demo["path"]).calls()
    assert [c["command"] for c in calls] == ["user me", "app get", None]
    assert [c["exit"] for c in calls] == [0, 1, 1]
    assert calls[0]["tier"] == "read" and calls[0]["context"] == "cloud"
    assert calls[0]["end"] >= calls[0]["start"]
    assert "SECRET" not in json.dumps(calls)

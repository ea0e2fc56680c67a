"""Issue 14 point 4: reports are always valid JSON; titles and names come out as they are, the
free-text fields that can carry a secret (errors, details, notes) are redacted."""
from __future__ import annotations

import csv
import io

import orjson

from qlikcli_py import report

TITLES = ["Cookie: sales by region", "Authorization: pending review", "password=quarterly targets",
          'api_key: "internal"', "Set-Cookie: x, y"]
SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib3QifQ.c2lnbmF0dXJl"


def test_json_report_is_valid_and_keeps_titles(tmp_path):
    doc = report.envelope("verify", "r1", 5, {"apps": [{
        "name": TITLES[0], "error": f"qlik failed: Authorization: Bearer {SECRET}",
        "notes": ["retried after password=hunter2x"],
        "mismatches": [{"title": t, "detail": f"cookie: session={SECRET}", "status": "wrong-owner"} for t in TITLES],
    }]})
    path = tmp_path / "r.json"
    report.write_json(path, doc)
    back = orjson.loads(path.read_bytes())  # valid JSON, whatever the titles hold
    [app] = back["apps"]
    assert app["name"] == TITLES[0]
    assert [m["title"] for m in app["mismatches"]] == TITLES
    text = path.read_text(encoding="utf-8")
    assert SECRET not in text and "hunter2x" not in text
    assert app["error"].startswith("qlik failed: Authorization") and "***" in app["error"]
    assert all("***" in m["detail"] for m in app["mismatches"])


def test_csv_keeps_titles_and_redacts_details(tmp_path):
    rows = [{"app_id": "a", "app_name": "Cookie: app", "object_id": str(i), "title": t,
             "detail": f"Authorization: Bearer {SECRET}"} for i, t in enumerate(TITLES)]
    path = tmp_path / "o.csv"
    report.write_csv(path, rows)
    got = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [r["title"] for r in got] == TITLES and got[0]["app_name"] == "Cookie: app"
    assert all(SECRET not in r["detail"] and "***" in r["detail"] for r in got)

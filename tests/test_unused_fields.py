"""Issue 14 point 5: a field of an odd type from QRS is parsed or ignored with a warning, never a crash."""
from __future__ import annotations

import asyncio
import json

import pytest
from fakeqlik import fixture_json
from fakeqlik import step
from structlog.testing import capture_logs

from qlikcli_py.qlik import Qlik
from qlikcli_py.source import Source

APP = "5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c"


@pytest.mark.parametrize("size", ["abc", [1, 2], {"bytes": 3}, -5, 1.5e9, True])
def test_odd_file_size_is_ignored_with_a_warning(fake_qlik, tmp_path, size):
    raw = dict(fixture_json("qrs_app_get"), fileSize=size)
    fake_qlik.scenario([step(match=["qrs", "app", "get"], stdout=json.dumps(raw))])
    with capture_logs() as logs:
        app = asyncio.run(Source(Qlik(), "src", scratch=tmp_path).app(APP))
    assert app.id == raw["id"] and app.name == raw["name"]
    warnings = [e for e in logs if e["log_level"] == "warning"]
    if isinstance(size, float):
        assert app.file_size == int(size) and not warnings
    else:
        assert app.file_size == 0
        [event] = warnings
        assert event["event"] == "qrs.field_ignored" and event["field"] == "fileSize" and event["app_id"] == APP


@pytest.mark.parametrize("size", [123456, "123456"])
def test_file_size_as_number_or_digits_is_read(fake_qlik, tmp_path, size):
    raw = dict(fixture_json("qrs_app_get"), fileSize=size)
    fake_qlik.scenario([step(match=["qrs", "app", "get"], stdout=json.dumps(raw))])
    assert asyncio.run(Source(Qlik(), "src", scratch=tmp_path).app(APP)).file_size == 123456


def test_odd_types_in_every_app_field_never_crash(fake_qlik, tmp_path):
    raw = dict(fixture_json("qrs_app_get"), name=["x"], modifiedDate=17, stream="Finance", owner="ACME\\jdoe",
               fileSize=None, lastReloadTime={"odd": True}, description=3)
    fake_qlik.scenario([step(match=["qrs", "app", "get"], stdout=json.dumps(raw))])
    app = asyncio.run(Source(Qlik(), "src", scratch=tmp_path).app(APP))
    assert app.id == raw["id"] and app.stream is None and app.file_size == 0

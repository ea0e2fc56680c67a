"""Every parser of qlik output, fed arbitrary JSON (or bytes): it returns a model or raises
QlikBadOutput, never a KeyError/TypeError/AttributeError that would surface as a crash."""
from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from qlikcli_py.contexts import context_info
from qlikcli_py.errors import QlikBadOutput
from qlikcli_py.errors import QlikNotFound
from qlikcli_py.errors import QlikTooOld
from qlikcli_py.qlik import QlikResult
from qlikcli_py.qlik import parse_json
from qlikcli_py.source import Source
from qlikcli_py.target import Target

APP = "5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c"
USER = "7c6b5a49-3827-4615-a4b3-c2d1e0f9a8b7"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "name", "attributes", "owner", "stream", "qInfo", "qMeta", "data", "ownerId",
                         "spaceId", "resourceId", "resourceAttributes", "engineObjectId", "objectType",
                         "published", "approved", "userId", "userDirectory", "attributeType",
                         "attributeValue", "meta", "actions", "total", "value", "email", "subject", "title"]),
        inner, max_size=6),
    max_leaves=25,
)
# Shapes close to the real ones, with every field replaced by anything: finds the deep bugs.
near_shapes = st.one_of(
    st.fixed_dictionaries({"attributes": json_values}),
    st.fixed_dictionaries({"id": st.text(min_size=1, max_size=8), "owner": json_values, "stream": json_values}),
    st.fixed_dictionaries({"qInfo": json_values, "qMeta": json_values}),
    st.lists(st.fixed_dictionaries({"id": json_values, "attributes": json_values, "meta": json_values,
                                    "resourceAttributes": json_values, "owner": json_values}), max_size=3),
)
anything = json_values | near_shapes


class StubQlik:
    """Stands in for qlikcli_py.qlik.Qlik: answers every call with one value."""

    def __init__(self, value: Any) -> None:
        self.data = orjson.dumps(value) if not isinstance(value, bytes) else value

    async def json(self, *args: str, **kw: Any) -> Any:
        return parse_json(args, self.data)

    async def run(self, *args: str, stdout_path: Path | None = None, **kw: Any) -> QlikResult:
        if stdout_path is not None:
            await asyncio.to_thread(stdout_path.write_bytes, self.data)
            return QlikResult(args, b"", b"", 0.0)
        return QlikResult(args, self.data, b"", 0.0)


def _calls(source: Source, target: Target) -> list[Any]:
    return [
        source.app(APP), source.apps("name eq 'x'"), source.objects(APP), source.emails([USER]), source.app_count(),
        target.me(), target.user_count(), target.users_where('subject eq "x"'), target.all_users(),
        target.spaces(), target.app(APP), target.apps_in_space("s"), target.copy_app(APP, "n", "s"),
        target.import_app(Path("f.qvf"), "s", "n"), target.change_owner(APP, "o", "u"),
        target.move_to_managed(APP, "m", "c"), target.list_objects(APP), target.layout(APP, "o", "sheet"),
    ]


def _check(value: Any, tmp: Path) -> None:
    stub = StubQlik(value)
    source = Source(stub, "s", scratch=tmp)  # type: ignore[arg-type]
    target = Target(stub, "t", scratch=tmp)  # type: ignore[arg-type]

    async def each() -> None:
        for call in _calls(source, target):
            try:
                result = await call
                if hasattr(result, "__next__"):
                    list(result)
            except QlikBadOutput:
                pass

    asyncio.run(each())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=anything)
def test_command_parsers_never_crash_on_any_json(value, tmp_path):
    _check(value, tmp_path)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200))
def test_command_parsers_never_crash_on_any_bytes(data, tmp_path):
    _check(data, tmp_path)


@given(text=st.text(max_size=200))
def test_context_get_parser_takes_any_text(text):
    async def go() -> dict[str, str]:
        return await context_info(StubQlik(text.encode()), "c")  # type: ignore[arg-type]

    info = asyncio.run(go())
    assert all(k == k.strip().lower() for k in info)


@given(text=st.text(max_size=80))
def test_version_parser_takes_any_text(text):
    from qlikcli_py.qlik import Qlik

    class VersionStub(Qlik):
        async def run(self, *args: str, **kw: Any) -> QlikResult:  # type: ignore[override]
            return QlikResult(args, text.encode(), b"", 0.0)

    with contextlib.suppress(QlikBadOutput, QlikNotFound, QlikTooOld):
        asyncio.run(VersionStub().check_version())


@pytest.mark.parametrize(("line", "ok"), [("qlik version: 2.24.0", True), ("qlik version: v3.2.0-dev", True),
                                          ("qlik version: 2.23.9", False), ("qlik version 3.0.0", False),
                                          ("version: 1.4.0\tbranch: \tcommit: 660165b", False),
                                          ("commit: 660165b", False)])
def test_version_examples(line, ok):
    from qlikcli_py.qlik import Qlik

    class VersionStub(Qlik):
        async def run(self, *args: str, **kw: Any) -> QlikResult:  # type: ignore[override]
            return QlikResult(args, line.encode(), b"", 0.0)

    if ok:
        assert asyncio.run(VersionStub().check_version())[0] in "23"
    else:
        with pytest.raises((QlikBadOutput, QlikNotFound, QlikTooOld)):
            asyncio.run(VersionStub().check_version())

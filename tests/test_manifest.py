from __future__ import annotations

import asyncio

import pytest

from qlikcli_py import manifest
from qlikcli_py.errors import UsageProblem
from qlikcli_py.models import SourceApp

A1 = "5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c"
A2 = "6a1d3c2f-9b5e-4d7f-8c8b-3e2f4a5b6c7d"


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_rows_take_defaults_from_the_command_line(tmp_path):
    path = _write(tmp_path, "m.csv", f"app_id,managed_space,skip_data\n{A1},Sales,true\n{A2},,\n")
    rows = manifest.load(path, shared="Dev", managed="Finance", skip_data=False)
    assert [(r.app_id, r.shared_space, r.managed_space, r.skip_data) for r in rows] == [
        (A1, "Dev", "Sales", True), (A2, "Dev", "Finance", False)]


def test_toml_defaults_and_stream_rows(tmp_path):
    path = _write(tmp_path, "m.toml", f'[defaults]\nshared_space = "Dev"\nmanaged_space = "Fin"\n'
                                      f'[[app]]\nid = "{A1}"\n[[app]]\nstream = "Sales \'EU\'"\n')
    rows = manifest.load(path, shared="", managed="", skip_data=False)
    assert rows[0].app_id == A1 and rows[1].stream == "Sales 'EU'" and rows[1].managed_space == "Fin"


@pytest.mark.parametrize(("name", "text", "message"), [
    ("m.csv", f"app_id,colour\n{A1},red\n", "unknown column colour"),
    ("m.csv", f"app_id\n{A1}\n{A1}\n", "line 3 repeats"),
    # the same strict reader as the mapping file (user_files.read_csv): no short row, no open quote
    ("m.csv", f"app_id,stream\n{A1}\n", "line 2: 1 values, but the header has 2"),
    ("m.csv", f"app_id,stream\n\"{A1},\n", "line 2: unexpected end of data"),
    ("m.csv", "app_id,app_id\n", "column app_id appears twice"),
    ("m.csv", "app_id\nnot-a-guid\n", "is not a QRS app id"),
    ("m.csv", "app_id,stream\n,\n", "lists no apps"),
    ("m.csv", f"app_id,stream\n{A1},Sales\n", "exactly one of app_id, stream or filter"),
    ("m.toml", "[[app]]\nname = 'x'\n", "unknown key 'name'"),
    ("m.toml", "[[app]\n", "not valid TOML"),
])
def test_bad_manifests_say_what_and_where(tmp_path, name, text, message):
    path = _write(tmp_path, name, text)
    with pytest.raises(UsageProblem) as info:
        manifest.load(path, shared="Dev", managed="Fin", skip_data=False)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_utf16_is_refused_naming_the_fix(tmp_path):
    path = _write(tmp_path, "m.csv", f"app_id\n{A1}\n", encoding="utf-16")
    with pytest.raises(UsageProblem, match="line 1: the file is UTF-16; save it as UTF-8"):
        manifest.load(path, shared="Dev", managed="Fin", skip_data=False)


def test_bad_encoding_is_one_line(tmp_path):
    path = tmp_path / "m.csv"
    path.write_bytes(b"app_id,stream\n,Ventes \xe9t\xe9\n")
    with pytest.raises(UsageProblem, match="is not UTF-8"):
        manifest.load(path, shared="Dev", managed="Fin", skip_data=False)


class _Source:
    def __init__(self):
        self.filters = []

    async def apps(self, qrs_filter):
        self.filters.append(qrs_filter)
        return [SourceApp(A1, "Sales", "", "Sales 'EU'", "D\\u"), SourceApp(A2, "Ops", "", "Sales 'EU'", "D\\u")]


def test_stream_rows_expand_with_a_quoted_qrs_filter(tmp_path):
    path = _write(tmp_path, "m.csv", f"app_id,stream\n{A1},\n,Sales 'EU'\n")
    rows = manifest.load(path, shared="Dev", managed="Fin", skip_data=False)
    source = _Source()
    specs = asyncio.run(manifest.expand(rows, source))
    assert source.filters == ["stream.name eq 'Sales ''EU'''"]
    assert [s.source_app_id for s in specs] == [A1, A2]


def test_same_app_with_different_spaces_is_refused(tmp_path):
    path = _write(tmp_path, "m.csv", f"app_id,stream,managed_space\n{A1},,Other\n,Sales 'EU',\n")
    rows = manifest.load(path, shared="Dev", managed="Fin", skip_data=False)
    with pytest.raises(UsageProblem, match="with different spaces"):
        asyncio.run(manifest.expand(rows, _Source()))

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from qlikcli_py.migration.export_files import export_file_name

APP = "5f0c2b1e-8a4d-4c6e-9b7a-2d1e3f4a5b6c"


def test_examples():
    assert export_file_name("Sales Overview", APP) == f"Sales Overview-{APP}.qvf"
    assert export_file_name("../../etc/passwd", APP) == f"etc_passwd-{APP}.qvf"
    assert export_file_name("Ventes 'Été' / Q4 \"final\"", APP) == f"Ventes _Été_ _ Q4 _final-{APP}.qvf"
    assert export_file_name("a\tb\nc\x7f", APP) == f"abc-{APP}.qvf"
    assert export_file_name("..", APP) == f"app-{APP}.qvf"


@given(st.text(max_size=200))
def test_never_escapes_the_export_dir(name):
    out = export_file_name(name, APP)
    assert "/" not in out and "\\" not in out and "\x00" not in out
    assert not out.startswith(".")
    assert out.endswith(f"-{APP}.qvf")
    assert len(out.encode()) < 255


def test_a_long_japanese_name_is_cut_in_bytes_not_characters(tmp_path):
    """Issue 18.10: '売上レポート' * 20 cut at 80 characters gave a 281-byte name (ENAMETOOLONG on
    every run). The cut is in UTF-8 bytes, whole characters only, and the file can be created."""
    out = export_file_name("売上レポート" * 20, APP)
    assert len(out.encode()) <= 255
    stem = out.removesuffix(f"-{APP}.qvf")
    assert stem and ("売上レポート" * 20).startswith(stem)  # a prefix of whole characters
    assert 120 - 3 < len(stem.encode()) <= 120  # as much of the name as fits
    (tmp_path / out).write_bytes(b"")


@given(st.text(alphabet=st.characters(min_codepoint=0x80, exclude_categories=("Cs",)), min_size=60, max_size=200))
def test_names_of_multi_byte_characters_stay_under_the_file_system_limit(name):
    out = export_file_name(name, APP)
    assert len(out.encode()) < 255
    out.encode("utf-8")  # never half a character


def test_not_a_qvf_refuses_only_what_clearly_is_json_html_or_empty(tmp_path):
    """Issue 18.14: conservative, since a real QVF header has never been recorded."""
    from qlikcli_py.migration.export_files import not_a_qvf
    from qliksim import qvf

    def held(data: bytes):
        path = tmp_path / "x.qvf"
        path.write_bytes(data)
        return not_a_qvf(path)

    assert held(qvf.encode({"name": "a"}, [])) is None  # the simulator's QVF
    assert held(bytes(range(256)) * 4) is None  # any binary header
    assert held(b"<binary-ish \x00\x01") is None  # a `<` alone is not HTML
    assert held(b"  \n") == "nothing"
    ticket = held(b'\xef\xbb\xbf{"exportToken": "t", "downloadPath": "/qrs/x?access_token=s3cr3t"}\n')
    assert ticket == 'JSON: {"exportToken": "***", "downloadPath": "/qrs/x?access_token=***"}'  # redacted
    page = held(b"<!DOCTYPE html>\n<html><title>502 Bad Gateway</title>\n" + b"x" * 5000)
    assert page.startswith("an HTML page: <!DOCTYPE html> <html><title>502 Bad Gateway")
    assert page.endswith("...") and "\n" not in page and len(page) < 240
    assert held(b"[1, 2]").startswith("JSON: ")

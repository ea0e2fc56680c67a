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

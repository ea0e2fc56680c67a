"""Every decision row names the Qlik behaviour it assumes and where that is known from."""
from __future__ import annotations

import re

import pytest

from . import test_decisions_change_owner as change_owner
from . import test_decisions_create as create
from . import test_decisions_move_clean as move_clean

TABLES = {"export": create.EXPORT, "import": create.IMPORT, "copy": create.COPY, "change-owner": change_owner.ROWS,
          "move": move_clean.MOVE, "clean": move_clean.CLEAN}
SITUATIONS = ("answered", "failed-not-applied", "failed-but-applied", "timed-out", "killed-before-answer",
              "not-found", "forbidden")


@pytest.mark.parametrize("table", TABLES)
def test_rows_name_their_qlik_behaviour_and_its_provenance(table: str) -> None:
    for name, row in TABLES[table].items():
        assert re.search(r"\b(REAL|DOC|CODE|INFERRED)\b", row.qlik_behaviour), f"{table}/{name}"


@pytest.mark.parametrize("table", ["import", "copy", "change-owner", "move"])
def test_write_tables_cover_every_situation(table: str) -> None:
    names = list(TABLES[table])
    missing = [s for s in SITUATIONS if not any(n.startswith(s) for n in names)]
    assert not missing, f"{table} lacks rows for {missing}"

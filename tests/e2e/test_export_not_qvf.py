"""Issue 18.14: an export that wrote an HTML error page or the export ticket instead of a QVF fails
the export with what the file holds; nothing is imported, and the next clean run completes."""
from __future__ import annotations

import pytest

from qlikcli_py.errors import ExitCode


@pytest.mark.parametrize(("kind", "shown"), [("html", "an HTML page: <!DOCTYPE html>"),
                                             ("json", 'JSON: { "exportToken": "***", "appId"')])
def test_an_export_that_is_not_a_qvf_fails_with_what_it_holds(sim, kind, shown):
    sim.faults(export_writes=kind)
    res = sim.migrate("run", sim.app(), *sim.common(), "--lookup", "listing")
    assert res.code == ExitCode.FAILED, res.err[-800:]
    assert shown in res.err.replace('\\"', '"') and "(not a QVF)" in res.err and "s3cr3t" not in res.out + res.err
    assert not [c for c in sim.calls() if c.get("command") == "app import"]
    assert not list((sim.state_dir / "exports").iterdir())  # neither the page nor a .part stays
    sim.faults(export_writes="qvf")
    again = sim.migrate("run", sim.app(), *sim.common(), "--lookup", "listing")
    assert again.code == ExitCode.UNMATCHED, again.err[-800:]  # done (one demo owner has no cloud user)

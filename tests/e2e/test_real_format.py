"""Issue 11: a whole migration against a simulator that prints what the real qlik-cli prints (no
version number, `Server Type: windows` or no server type at all, HTTP errors as status line + body on
stderr), with injected 429s and 5xx."""
from __future__ import annotations

from qliksim.sweeps import DONE_CODES
from qliksim.sweeps import check_final_state

FAST = ("--lookup", "listing")


def _done(sim, app, *extra, runs=12):
    codes = []
    for _ in range(runs):
        res = sim.migrate("run", app, *sim.common(), *FAST, *extra)
        codes.append(res.code)
        if res.code in DONE_CODES:
            return codes
    raise AssertionError(f"not done after {runs} runs: exit codes {codes}; last: {res.err[-800:]}")


def _check(sim, app):
    return check_final_state(sim.path, [app], shared_space=sim.info["spaces"]["Finance Dev"],
                             managed_space=sim.info["spaces"]["Finance"], me=sim.info["cloud_identity"])


def test_no_version_number_server_type_key_and_real_http_errors_with_429s_and_5xx(sim):
    app = sim.app("sales")
    sim.faults(version="", context_type_key="Server Type", rate_write="3/1", fail_5xx=0.1, seed=5)
    codes = _done(sim, app, "--call-timeout", "5")
    assert codes[0] in DONE_CODES or codes[0] == 1, codes
    assert any(c.get("exit") == 1 for c in sim.calls())  # faults were met, in the real binary's format
    final = _check(sim, app)
    assert final.ok, (codes, final.problems)


def test_a_context_get_without_server_type_is_probed_not_taken_for_cloud(sim):
    app = sim.app("sales")
    sim.faults(context_type_key="")
    assert _done(sim, app)[0] in DONE_CODES
    probes = [c for c in sim.calls() if c.get("command") == "qrs app count"]
    assert {c["context"] for c in probes} >= {"qseow", "cloud"}  # both sides asked, the answers differ
    assert _check(sim, app).ok
    # a cloud context given as the source is refused after its probe, changing nothing
    res = sim.migrate("run", app, "--source-context", "cloud", "--target-context", "cloud",
                      "--state-dir", str(sim.tmp / "state2"), "--shared-space", "Finance Dev",
                      "--managed-space", "Finance")
    assert res.code == 2 and "is a Qlik Cloud context" in res.err, res.err

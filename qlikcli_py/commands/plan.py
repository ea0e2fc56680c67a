"""`qlik-migrate plan`: a true dry run. Only read commands are invoked (tests assert it)."""
from __future__ import annotations

import itertools
from typing import Any

from qlikcli_py import report
from qlikcli_py.checks import findings as found
from qlikcli_py.commands.common import build_plans
from qlikcli_py.commands.common import connect
from qlikcli_py.errors import ExitCode
from qlikcli_py.identities import pool_bound
from qlikcli_py.ledger import LEDGER_FILE
from qlikcli_py.ledger import Ledger
from qlikcli_py.settings import Settings


async def plan(settings: Settings) -> tuple[int, dict[str, Any]]:
    session = await connect(settings)
    plans = await build_plans(settings, session)
    apps = [p.summary(session.me_id, session.qlik.pacer) for p in plans]
    known: set[str] = set()
    if (settings.state_dir / LEDGER_FILE).exists():  # the apps a run made are not "an app of the same name"
        with Ledger(settings.state_dir, readonly=True) as ledger:
            known = ledger.known_cloud_app_ids()
    findings = await found.plan_findings(session, plans, settings.run, known)
    for app in apps:
        app["findings"] = findings[app["source_app_id"]].doc()
    unmatched = {o["source_owner"] for a in apps for o in a["owners"] if not o["matched"]}
    writes = sum(a["write_calls"] for a in apps)
    totals = {
        "apps": len(apps), "objects": sum(a["objects"] for a in apps), "write_calls": writes,
        "engine_calls": sum(a["engine_calls"] for a in apps),
        "minimum_seconds": round(session.qlik.pacer.minimum_seconds("write", writes), 1),
        "unmatched_owners": len(unmatched),
        "missing_connections": sum(len(f.reload.missing) for f in findings.values()),
        "traps": sum(1 for f in findings.values() for t in f.traps if t.status == "warn"),
        **pool_bound(session, writes, creates=3 * len(apps)),
    }
    code = ExitCode.UNMATCHED if unmatched else ExitCode.OK
    doc = report.envelope("plan", settings.run_id, code, {"apps": apps, "totals": totals},
                          identity={"id": session.me_id, "name": session.me.get("name")},
                          calls=dict(session.qlik.calls))
    if settings.report:
        report.write_json(settings.report, doc)
    if settings.csv:
        report.write_csv(settings.csv, itertools.chain(
            report.plan_rows(plans, session.me_id),
            *(found.finding_rows(a["source_app_id"], a["name"], a["findings"]) for a in apps)))
    return code, doc

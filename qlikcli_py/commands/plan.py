"""`qlik-migrate plan`: a true dry run. Only read commands are invoked (tests assert it)."""
from __future__ import annotations

from typing import Any

from qlikcli_py import report
from qlikcli_py.commands.common import build_plans
from qlikcli_py.commands.common import connect
from qlikcli_py.errors import ExitCode
from qlikcli_py.identities import pool_bound
from qlikcli_py.settings import Settings


async def plan(settings: Settings) -> tuple[int, dict[str, Any]]:
    session = await connect(settings)
    plans = await build_plans(settings, session)
    apps = [p.summary(session.me_id, session.qlik.pacer) for p in plans]
    unmatched = {o["source_owner"] for a in apps for o in a["owners"] if not o["matched"]}
    writes = sum(a["write_calls"] for a in apps)
    totals = {
        "apps": len(apps), "objects": sum(a["objects"] for a in apps), "write_calls": writes,
        "engine_calls": sum(a["engine_calls"] for a in apps),
        "minimum_seconds": round(session.qlik.pacer.minimum_seconds("write", writes), 1),
        "unmatched_owners": len(unmatched),
        **pool_bound(session, writes, creates=3 * len(apps)),
    }
    code = ExitCode.UNMATCHED if unmatched else ExitCode.OK
    doc = report.envelope("plan", settings.run_id, code, {"apps": apps, "totals": totals},
                          identity={"id": session.me_id, "name": session.me.get("name")},
                          calls=dict(session.qlik.calls))
    if settings.report:
        report.write_json(settings.report, doc)
    if settings.csv:
        report.write_csv(settings.csv, report.plan_rows(plans, session.me_id))
    return code, doc

"""`qlik-migrate run`: plan every app (read-only), then migrate them, then report."""
from __future__ import annotations

from typing import Any

import structlog

from qlikcli_py import report
from qlikcli_py.errors import ExitCode
from qlikcli_py.jobs.common import build_plans
from qlikcli_py.jobs.common import check_writable_dir
from qlikcli_py.jobs.common import connect
from qlikcli_py.ledger import Ledger
from qlikcli_py.progress import Progress
from qlikcli_py.settings import Settings
from qlikcli_py.workflow import Migration

log = structlog.get_logger("run")


async def run(settings: Settings) -> tuple[int, dict[str, Any]]:
    with Ledger(settings.state_dir) as ledger:
        ledger.lock()
        check_writable_dir(settings.run.export_dir, "--export-dir")
        session = await connect(settings)
        plans = await build_plans(settings, session)  # every usage problem surfaces here, before any change
        ledger.start_run(settings.run_id, "run")
        progress = Progress(len(plans))
        try:
            outcomes = await Migration(session, ledger, settings.run, progress).run(plans)
        finally:
            progress.close()
        by_id = {p.app.id: p for p in plans}
        apps = report.run_apps(outcomes, by_id, ledger)
        code = exit_code(apps)
        doc = report.envelope(
            "run", settings.run_id, code, {"apps": apps},
            source_context=settings.conn.source_context, target_context=settings.conn.target_context,
            qlik_version=session.version, identity={"id": session.me_id, "name": session.me.get("name")},
            calls=dict(session.qlik.calls), rate_limited=session.qlik.pacer.rate_limited,
            retries=session.qlik.retried,
        )
        if settings.report:
            report.write_json(settings.report, doc)
        if settings.csv:
            report.write_csv(settings.csv, report.object_rows(ledger, ((p.app.id, p.app.name) for p in plans)))
        ledger.finish_run(settings.run_id, code)
        log.info("run.done", exit_code=code, apps=len(apps))
        return code, doc


def exit_code(apps: list[dict[str, Any]]) -> int:
    statuses = {a["status"] for a in apps}
    if "failed" in statuses:
        return ExitCode.FAILED
    if "deferred" in statuses:
        return ExitCode.INCOMPLETE
    if "changed" in statuses:
        return ExitCode.CHANGED
    if any(a["unmatched"] for a in apps):
        return ExitCode.UNMATCHED
    return ExitCode.OK

"""`qlik-migrate verify`: compare what landed with the source, object by object. Reads only."""
from __future__ import annotations

from typing import Any

from qlikcli_py import report
from qlikcli_py.checks.reload import verify_check
from qlikcli_py.commands.common import app_specs
from qlikcli_py.commands.common import connect
from qlikcli_py.errors import ExitCode
from qlikcli_py.errors import UsageProblem
from qlikcli_py.ledger import Ledger
from qlikcli_py.mapping import OwnerMapper
from qlikcli_py.planning import AppSpec
from qlikcli_py.planning import plan_apps
from qlikcli_py.settings import Settings
from qlikcli_py.verify import Verifier
from qlikcli_py.verify import summarize
from qlikcli_py.vocabulary import CHECK_OK
from qlikcli_py.vocabulary import CHECK_WAVES
from qlikcli_py.vocabulary import Place


async def verify(settings: Settings) -> tuple[int, dict[str, Any]]:
    with Ledger(settings.state_dir, readonly=True) as ledger:
        session = await connect(settings)
        records = {r.source_app_id: r for r in ledger.apps() if r.imported_app_id}
        if settings.specs or settings.manifest:
            wanted = [s.source_app_id.lower() for s in await app_specs(settings, session)]
            missing = [a for a in wanted if a not in records]
            if missing:
                raise UsageProblem(f"not migrated with this --state-dir: {', '.join(missing)}")
        else:
            wanted = list(records)
        if not wanted:
            raise UsageProblem(f"the ledger in {settings.state_dir} holds no imported app to verify")
        specs = [AppSpec(a, records[a].shared_space_id, records[a].managed_space_id) for a in wanted]
        plans = await plan_apps(session, specs, OwnerMapper(session.target, settings.mapping))
        verifier = Verifier(session, ledger)
        apps: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        for plan in plans:
            rec = records[plan.app.id]
            checks = await verifier.app(plan, rec)
            rows += [c.row() for c in checks]
            assert rec.imported_app_id is not None
            script = await verify_check(session, rec.imported_app_id, plan.managed.name)
            apps.append({
                "source_app_id": plan.app.id, "name": plan.app.name, "imported_app_id": rec.imported_app_id,
                "copy_app_id": rec.copy_app_id, "summary": summarize(checks),
                "mismatches": [c.row() for c in checks if c.status not in CHECK_OK],
                # what sync's waves explain (not mismatches): not synced, changed or deleted on-prem
                "reported": [c.row() for c in checks if c.status in CHECK_WAVES],
                "reload": script.doc(),
                "missing_connections": [c.connection for c in script.missing],
            })
        mismatches = sum(a["summary"]["mismatches"] for a in apps)
        code = ExitCode.OK if mismatches == 0 else ExitCode.MISMATCH
        doc = report.envelope(
            "verify", settings.run_id, code, {"apps": apps},
            summary={"apps": len(apps), "objects": sum(1 for r in rows if r["where"] == Place.MANAGED),
                     "mismatches": mismatches, "direct_check": session.pool.readers_see_all},
            calls=dict(session.qlik.calls),
        )
        if settings.report:
            report.write_json(settings.report, doc)
        if settings.csv:
            report.write_csv(settings.csv, rows, report.VERIFY_COLUMNS)
        return code, doc

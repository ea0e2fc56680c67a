"""`qlik-migrate run`: plan every app (read-only), then migrate them, then report."""
from __future__ import annotations

import itertools
from typing import Any

import structlog

from qlikcli_py import helper_checks
from qlikcli_py import manifest
from qlikcli_py import report
from qlikcli_py.checks import findings as found
from qlikcli_py.commands import doctor
from qlikcli_py.commands.common import build_plans
from qlikcli_py.commands.common import check_writable_dir
from qlikcli_py.connection_maps import ConnectionPolicy
from qlikcli_py.errors import ExitCode
from qlikcli_py.errors import UsageProblem
from qlikcli_py.ledger import Ledger
from qlikcli_py.migration import Migration
from qlikcli_py.migration.scripts import read_findings
from qlikcli_py.planning import AppPlan
from qlikcli_py.progress import Progress
from qlikcli_py.session import Session
from qlikcli_py.settings import Settings
from qlikcli_py.source import Source
from qlikcli_py.target import Target
from qlikcli_py.vocabulary import AppStatus
from qlikcli_py.vocabulary import PreflightStatus
from qlikcli_py.vocabulary import SpaceType
from qlikcli_py.vocabulary import Step

log = structlog.get_logger("run")


async def run(settings: Settings) -> tuple[int, dict[str, Any]]:
    with Ledger(settings.state_dir) as ledger:
        ledger.lock()
        session = await preflight(settings)
        plans = await build_plans(settings, session)  # every usage problem surfaces here, before any change
        room_for_exports(settings, ledger, plans)
        findings = await found.plan_findings(session, plans, settings.run, ledger.known_cloud_app_ids())
        # an app whose imported script was already checked (a rerun) is judged by that check, not the source's
        refuse_missing_connections(settings, [p for p in plans if not _script_checked(ledger, p.app.id)], findings)
        check_writable_dir(settings.run.export_dir, "--export-dir")
        ledger.start_run(settings.run_id, "run")
        progress = Progress(len(plans))
        try:
            outcomes = await Migration(session, ledger, settings.run, progress).run(plans)
        finally:
            progress.close()
        by_id = {p.app.id: p for p in plans}
        apps = report.run_apps(outcomes, by_id, ledger)
        for app in apps:  # the imported app's answer where the run got that far, else the plan's
            doc = findings[app["source_app_id"]].doc()
            after_import = read_findings(settings.state_dir, app["source_app_id"])
            if after_import is not None:
                doc["reload"] = after_import
            app["findings"] = doc
        code = exit_code(apps)
        doc = report.envelope(
            "run", settings.run_id, code, {"apps": apps},
            source_context=settings.conn.source_context, target_context=settings.conn.target_context,
            qlik_version=session.version, identity={"id": session.me_id, "name": session.me.get("name")},
            identities=session.pool.describe(),
            calls=dict(session.qlik.calls), rate_limited=session.qlik.pacer.rate_limited,
            retries=session.qlik.retried,
        )
        if settings.report:
            report.write_json(settings.report, doc)
        if settings.csv:
            report.write_csv(settings.csv, itertools.chain(
                report.object_rows(ledger, ((p.app.id, p.app.name) for p in plans)),
                *(found.finding_rows(a["source_app_id"], a["name"], a["findings"]) for a in apps)))
        ledger.finish_run(settings.run_id, code)
        log.info("run.done", exit_code=code, apps=len(apps))
        return code, doc


async def preflight(settings: Settings) -> Session:
    """doctor's checks, before the first export: a run that cannot finish (an identity that may not
    create in the shared space, a context of the wrong type) stops here, with nothing written,
    instead of failing at the import after a long export."""
    found = await doctor.checks(settings.conn, spaces=_space_refs(settings), export_dir=None, explain_too_old=False)
    _refuse(found.failures)
    assert found.me is not None and found.spaces is not None
    conn = settings.conn
    target = Target(found.qlik, conn.target_context, scratch=conn.scratch)
    return Session(qlik=found.qlik, version=found.version, me=found.me, spaces=found.spaces,
                   source=Source(found.qlik, conn.source_context, insecure=conn.insecure, scratch=conn.scratch),
                   target=target, pool=helper_checks.pool_of(found.qlik, target, found.me, found.helpers))


def refuse_missing_connections(settings: Settings, plans: list[AppPlan],
                               findings: dict[str, found.AppFindings]) -> None:
    """`--connections require`: stop before the first export, naming every missing connection."""
    if settings.run.connections != ConnectionPolicy.REQUIRE:
        return
    missing = found.missing_by_app(plans, findings)
    if missing:
        raise UsageProblem("--connections require: load scripts name data connections the target lacks: "
                           + " | ".join(missing) + "; create them or pass --connection-map OLD=NEW; "
                           "nothing was exported or changed")


def room_for_exports(settings: Settings, ledger: Ledger, plans: list[AppPlan]) -> None:
    """The export dir must hold the QVFs a run writes (QRS `fileSize` per app): one per app in
    flight, or all of them when they are kept."""
    sizes = sorted((p.app.file_size for p in plans if not _imported(ledger, p.app.id)), reverse=True)
    at_once = len(sizes) if settings.run.keep_exports else max(1, settings.conn.workers // 2)
    need = sum(sizes[:at_once])
    results: list[doctor.Result] = []
    what = "the app" if len(sizes) == 1 else f"the {min(at_once, len(sizes))} largest apps exported at once"
    doctor.export_dir_check(results, settings.run.export_dir, need, what)
    _refuse([r for r in results if r.status == PreflightStatus.FAIL])


def _script_checked(ledger: Ledger, app_id: str) -> bool:
    rec = ledger.app(app_id)
    return rec is not None and rec.done(Step.SCRIPT)


def _imported(ledger: Ledger, app_id: str) -> bool:
    rec = ledger.app(app_id)
    return rec is not None and bool(rec.imported_app_id)


def _space_refs(settings: Settings) -> list[tuple[str, str]]:
    specs: list[Any] = list(settings.specs)
    if settings.manifest is not None:
        default = specs[0] if specs else None
        specs += manifest.load(settings.manifest, shared=default.shared_space if default else "",
                               managed=default.managed_space if default else "",
                               skip_data=default.skip_data if default else False)
    refs: list[tuple[str, str]] = []
    for spec in specs:
        refs += [(spec.shared_space, SpaceType.SHARED), (spec.managed_space, SpaceType.MANAGED)]
    return refs


def _refuse(failures: list[doctor.Result]) -> None:
    if failures:
        first = failures[0]
        more = f" (and {len(failures) - 1} more: run `qlik-migrate doctor`)" if len(failures) > 1 else ""
        fix = f"; fix: {first.fix}" if first.fix else ""
        raise UsageProblem(f"{first.detail}{fix}{more}; nothing was exported or changed")


def exit_code(apps: list[dict[str, Any]]) -> int:
    statuses = {a["status"] for a in apps}
    if AppStatus.FAILED in statuses:
        return ExitCode.FAILED
    if AppStatus.DEFERRED in statuses:
        return ExitCode.INCOMPLETE  # the next run continues: a cron wrapper must not stop before it
    if any(a["failed_for_good"] for a in apps):
        return ExitCode.FAILED_FOR_GOOD
    if AppStatus.CHANGED in statuses:
        return ExitCode.CHANGED
    if any(a["unmatched"] for a in apps):
        return ExitCode.UNMATCHED
    return ExitCode.OK

"""Every finding of the will-it-reload checks for a batch, as `plan` and `run` show and act on
them: per app its script's connections (reload.py) and the other traps (traps.py)."""
from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from qlikcli_py.checks.reload import ConnStatus
from qlikcli_py.checks.reload import ReloadCheck
from qlikcli_py.checks.reload import TargetConnections
from qlikcli_py.checks.reload import plan_check
from qlikcli_py.checks.traps import Trap
from qlikcli_py.checks.traps import app_traps
from qlikcli_py.checks.traps import quota_line
from qlikcli_py.checks.traps import tenant_facts
from qlikcli_py.planning import AppPlan
from qlikcli_py.session import Session
from qlikcli_py.settings import RunOptions


@dataclass
class AppFindings:
    reload: ReloadCheck
    traps: list[Trap] = field(default_factory=list)

    def doc(self) -> dict[str, Any]:
        return {"reload": self.reload.doc(), "traps": [t.doc() for t in self.traps]}


async def plan_findings(session: Session, plans: list[AppPlan], opts: RunOptions,
                        known_ids: set[str]) -> dict[str, AppFindings]:
    connections = TargetConnections(session)
    facts = await tenant_facts(session, {p.managed.id for p in plans})
    checks = await asyncio.gather(*(plan_check(session, connections, p.app.id, p.shared, p.managed,
                                               opts.connection_map) for p in plans))
    skipped = quota_line(facts)
    out = {}
    for plan, check in zip(plans, checks, strict=True):
        traps = app_traps(plan, facts, known_ids, session.me_id)
        if skipped is not None:
            traps.insert(0, skipped)
        out[plan.app.id] = AppFindings(check, traps)
    return out


def missing_by_app(plans: Iterable[AppPlan], findings: dict[str, AppFindings]) -> list[str]:
    """`--connections require`: one clause per app naming every missing connection."""
    out = []
    for plan in plans:
        found = findings.get(plan.app.id)
        missing = found.reload.missing if found else []
        if missing:
            names = "; ".join(f"{c.connection!r} (missing in {', '.join(c.missing_in)})" for c in missing)
            out.append(f"{plan.app.name!r} ({plan.app.id}): {names}")
    return out


def finding_rows(app_id: str, app_name: str, doc: dict[str, Any] | None) -> Iterable[dict[str, Any]]:
    """The CSV rows of one app's findings, beside its object rows (`type` is `finding:<what>`)."""
    if not doc:
        return
    reload = doc.get("reload") or {}
    if reload.get("why_unknown"):
        yield {"app_id": app_id, "app_name": app_name, "type": "finding:script", "title": "load script",
               "status": reload.get("script"), "detail": reload["why_unknown"]}
    for c in reload.get("connections", []):
        where = f"found in {', '.join(c['where'])}" if c["where"] else ""
        detail = "; ".join(x for x in (where, c.get("detail") or "", c.get("fix") or "",
                                       f"renamed from {c['renamed_from']!r}" if c.get("renamed_from") else "") if x)
        yield {"app_id": app_id, "app_name": app_name, "type": "finding:connection", "title": c["connection"],
               "status": c["status"], "detail": detail}
    for t in doc.get("traps", []):
        yield {"app_id": app_id, "app_name": app_name, "type": f"finding:{t['trap']}", "title": "",
               "status": t["status"], "detail": f"{t['detail']}; fix: {t['fix']}" if t["fix"] else t["detail"]}


def render(doc: dict[str, Any] | None) -> list[str]:
    """The terminal lines of one app's findings (plan), each with its fix."""
    if not doc:
        return []
    lines = []
    reload = doc.get("reload") or {}
    if reload.get("why_unknown"):
        lines.append(f"  load script: {reload['script']} ({reload['why_unknown']})")
    for c in reload.get("connections", []):
        renamed = f" (renamed from {c['renamed_from']!r})" if c.get("renamed_from") else ""
        if c["status"] == ConnStatus.FOUND:
            lines.append(f"    ok   connection {c['connection']!r}{renamed}: found in {', '.join(c['where'])}")
        elif c["status"] == ConnStatus.MISSING:
            lines.append(f"    MISS connection {c['connection']!r}{renamed}: missing in {', '.join(c['missing_in'])}; "
                         f"fix: {c['fix']}")
        else:
            lines.append(f"    ?    {c['connection']} (line {c['lines'][0]}): cannot check, {c['detail']}; "
                         f"fix: {c['fix']}")
    if reload.get("connections"):
        lines.insert(1 if reload.get("why_unknown") else 0, "  data connections of the load script:")
    for t in doc.get("traps", []):
        fix = f"; fix: {t['fix']}" if t["fix"] else ""
        lines.append(f"  {'WARN' if t['status'] == 'warn' else 'skip'} {t['trap']}: {t['detail']}{fix}")
    return lines

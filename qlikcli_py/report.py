"""Reports: versioned JSON for machines, CSV (one row per object) for admins, tables for people.

The JSON schema is documented in docs/reports.md; `report_version` changes when a field changes
meaning or goes away (new fields may be added within a version).
"""
from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from qlikcli_py.checks.findings import render as render_findings
from qlikcli_py.errors import ExitCode
from qlikcli_py.ledger import Ledger
from qlikcli_py.migration import AppOutcome
from qlikcli_py.models import State
from qlikcli_py.models import reassignable
from qlikcli_py.planning import AppPlan
from qlikcli_py.redact import redact_text
from qlikcli_py.vocabulary import AppStatus
from qlikcli_py.vocabulary import CheckStatus
from qlikcli_py.vocabulary import ObjectStatus
from qlikcli_py.vocabulary import ReportStatus

REPORT_VERSION = 1
CSV_COLUMNS = ("app_id", "app_name", "object_id", "type", "title", "state", "source_owner", "cloud_owner_id",
               "status", "detail")
VERIFY_COLUMNS = ("app_id", "app_name", "where", "object_id", "type", "title", "state", "found_state",
                  "source_owner", "expected_owner", "cloud_owner_id", "status", "detail", "wave_id")


# Finished, with something left for a person: owners without a cloud user, changed sources, the
# quota, objects refused for good (their apps moved on).
_PARTIAL = frozenset({ExitCode.UNMATCHED, ExitCode.CHANGED, ExitCode.INCOMPLETE, ExitCode.FAILED_FOR_GOOD})


def envelope(command: str, run_id: str, exit_code: int, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    if exit_code == ExitCode.OK:
        status = ReportStatus.SUCCESS
    elif exit_code in _PARTIAL:
        status = ReportStatus.PARTIAL
    else:
        status = ReportStatus.ERROR
    return {"report_version": REPORT_VERSION, "command": command, "run_id": run_id, "status": status,
            "exit_code": exit_code, **extra, **data}


# Fields holding text from qlik's answers (stderr, error bodies) or built from them: the only ones
# that can carry a token. Titles and names are users' words and come out as they are; redacting
# the serialized document instead broke its JSON on a title like `Cookie: sales by region`.
_FREE_TEXT = frozenset({"error", "detail", "notes", "reason", "fix"})


def scrub(value: Any, key: str = "") -> Any:
    """A copy of a report document with its free-text fields redacted."""
    if isinstance(value, dict):
        return {k: scrub(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, key) for v in value]
    if isinstance(value, str) and key in _FREE_TEXT:
        return redact_text(value)
    return value


def to_json(doc: dict[str, Any]) -> bytes:
    """Indented JSON; keys may be the vocabulary's StrEnums (a tier, a status), written as their text."""
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS)


def write_json(path: Path, doc: dict[str, Any]) -> None:
    _write_private(path, to_json(scrub(doc)))


def write_csv(path: Path, rows: Iterable[dict[str, Any]], columns: tuple[str, ...] = CSV_COLUMNS) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(scrub(row.get(k), k)) for k in columns})
    _write_private(path, buf.getvalue().encode("utf-8"))


def _csv_cell(value: Any) -> Any:
    # A title starting with = + - @ would run as a formula when the CSV is opened in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


# -- run ------------------------------------------------------------------------------------------
def run_apps(outcomes: list[AppOutcome], plans: dict[str, AppPlan], ledger: Ledger) -> list[dict[str, Any]]:
    apps = []
    for out in outcomes:
        plan = plans[out.source_app_id]
        rows = ledger.objects(out.source_app_id)
        reassigned: Counter[tuple[str, str, str]] = Counter()
        unmatched: Counter[str] = Counter()
        failed = []
        for_good = []
        for r in rows:
            if r["status"] == ObjectStatus.DONE and r["target_owner_id"]:
                reassigned[(r["source_owner"], r["target_owner_id"], r["rule"] or "")] += 1
            elif r["status"] == ObjectStatus.UNMATCHED:
                unmatched[r["source_owner"]] += 1
            elif r["status"] in (ObjectStatus.FAILED, ObjectStatus.SENT, ObjectStatus.PENDING):
                failed.append({"object_id": r["object_id"], "type": r["type"], "status": r["status"],
                               "error": r["error"]})
            elif r["status"] == ObjectStatus.FAILED_FOR_GOOD:
                for_good.append({"object_id": r["object_id"], "type": r["type"], "title": r["title"],
                                 "source_owner": r["source_owner"], "error": r["error"]})
        reasons = {row["source_owner"]: row for row in plan.owner_rows()}
        apps.append({
            "source_app_id": out.source_app_id, "name": out.name, "status": out.status, "step": out.step,
            "imported_app_id": out.imported_app_id, "copy_app_id": out.copy_app_id,
            "shared_space": {"id": plan.shared.id, "name": plan.shared.name},
            "managed_space": {"id": plan.managed.id, "name": plan.managed.name},
            "seconds": out.seconds, "error": out.error, "notes": out.notes,
            "objects": {"total": len(plan.objects), "by_type_and_state": plan.counts()},
            "reassigned": [{"source_owner": k[0], "cloud_user_id": k[1], "rule": k[2] or None, "objects": n,
                            "detail": reasons.get(k[0], {}).get("detail")}
                           for k, n in sorted(reassigned.items())],
            "unmatched": [{"source_owner": k, "name": reasons.get(k, {}).get("name"), "objects": n,
                           "detail": reasons.get(k, {}).get("detail")} for k, n in sorted(unmatched.items())],
            "failed_objects": failed,
            "failed_for_good": for_good,
        })
    return apps


def object_rows(ledger: Ledger, apps: Iterable[tuple[str, str]]) -> Iterable[dict[str, Any]]:
    for app_id, name in apps:
        for r in ledger.objects(app_id):
            yield {"app_id": app_id, "app_name": name, "object_id": r["object_id"], "type": r["type"],
                   "title": r["title"], "state": r["state"], "source_owner": r["source_owner"],
                   "cloud_owner_id": r["result_owner_id"] or r["target_owner_id"] or "",
                   "status": r["status"], "detail": r["error"] or r["evidence"] or r["rule"] or ""}


def plan_rows(plans: Iterable[AppPlan], me_id: str) -> Iterable[dict[str, Any]]:
    """`plan --csv`: the rows a run's --csv would hold, with the status each object is headed for."""
    for plan in plans:
        for obj in plan.objects:
            res = plan.resolutions.get(obj.owner_id)
            owner = plan.owners.get(obj.owner_id)
            status: ObjectStatus
            if not reassignable(obj):
                status, user = ObjectStatus.KEPT, None
            elif res is None or res.user is None:
                status, user = ObjectStatus.UNMATCHED, None
            else:
                status, user = (ObjectStatus.KEPT if res.user.id == me_id else ObjectStatus.TO_REASSIGN), res.user
            yield {"app_id": plan.app.id, "app_name": plan.app.name, "object_id": obj.object_id,
                   "type": obj.type, "title": obj.title, "state": obj.state.value,
                   "source_owner": owner.key if owner else "", "cloud_owner_id": user.id if user else "",
                   "status": status, "detail": res.detail if res else ""}


def render_run(doc: dict[str, Any]) -> str:
    lines = []
    for app in doc["apps"]:
        lines.append(f"{app['name']} ({app['source_app_id']}): {app['status'].upper()} in {app['seconds']}s")
        if app["imported_app_id"]:
            lines.append(f"  migrated app  {app['imported_app_id']}  in managed space {app['managed_space']['name']!r}")
        if app["copy_app_id"]:
            lines.append(f"  dev copy      {app['copy_app_id']}  in shared space {app['shared_space']['name']!r}")
        lines += _counts_lines(app["objects"]["by_type_and_state"])
        for r in app["reassigned"]:
            how = f" (by {r['rule']})" if r.get("rule") else ""
            lines.append(f"  reassigned    {r['objects']:>5}  {r['source_owner']} -> {r['cloud_user_id']}{how}")
        for u in app["unmatched"]:
            lines.append(f"  UNMATCHED     {u['objects']:>5}  {u['source_owner']} ({u['name']}): {u['detail']}")
        for f in app["failed_objects"][:10]:
            lines.append(f"  failed        {f['type']} {f['object_id']}: {f['error']}")
        if len(app["failed_objects"]) > 10:
            lines.append(f"  ... and {len(app['failed_objects']) - 10} more failed objects (see --report)")
        for f in app["failed_for_good"][:10]:
            lines.append(f"  FAILED FOR GOOD  {f['type']} {f['object_id']} ({f['source_owner']}): {f['error']}")
        if len(app["failed_for_good"]) > 10:
            lines.append(f"  ... and {len(app['failed_for_good']) - 10} more failed for good (see --report / --csv)")
        if app["failed_for_good"]:
            lines.append("  not tried again by later runs: fix the cause, then run with --retry-failed")
        lines += render_findings(app.get("findings"))
        original = ((app.get("findings") or {}).get("reload") or {}).get("original_script")
        if original:
            lines.append(f"  load script as imported (before any rename) kept in {original}")
        lines += [f"  note: {n}" for n in app["notes"]]
        if app["error"]:
            lines.append(f"  error: {app['error']}")
    calls = doc.get("calls", {})
    lines.append(f"qlik calls: {', '.join(f'{k} {v}' for k, v in sorted(calls.items())) or 'none'}; "
                 f"429 answers waited out: {doc.get('rate_limited', 0)}")
    return "\n".join(lines)


def _counts_lines(table: dict[str, dict[str, int]]) -> list[str]:
    if not table:
        return ["  objects       none"]
    out = [f"  {'objects':<12}  {'private':>8} {'community':>9} {'base':>6}"]
    for kind, states in table.items():
        private, community, base = (states.get(s, 0) for s in (State.PRIVATE, State.COMMUNITY, State.BASE))
        out.append(f"  {kind:<12}  {private:>8} {community:>9} {base:>6}")
    return out


# -- plan -----------------------------------------------------------------------------------------
def render_plan(doc: dict[str, Any]) -> str:
    lines = []
    for app in doc["apps"]:
        lines.append(f"{app['name']} ({app['source_app_id']}), stream {app['stream'] or '-'}: {app['objects']} objects")
        lines.append(f"  into shared {app['shared_space']['name']!r}, then managed {app['managed_space']['name']!r}")
        lines += _counts_lines(app["by_type_and_state"])
        lines.append("  owners:")
        for o in app["owners"]:
            mark = "ok  " if o["matched"] else "MISS"
            target = f"-> {o['cloud_user']} ({o['cloud_user_id']}) by {o['rule']}" if o["matched"] else o["detail"]
            lines.append(f"    {mark} {o['source_owner']:<28} {o['objects']:>5} objects  {target}")
        lines += render_findings(app.get("findings"))
        lines.append(f"  a run makes {app['write_calls']} write calls and {app['engine_calls']} engine calls: "
                     f"at least {_duration(app['minimum_seconds'])} at the write rate limit")
    totals = doc["totals"]
    lines.append(f"total: {totals['apps']} apps, {totals['objects']} objects, {totals['write_calls']} write calls "
                 f"(at least {_duration(totals['minimum_seconds'])}), {totals['unmatched_owners']} unmatched owners")
    if totals.get("identities", 1) > 1:  # identities.py: the bound for the identities given
        lines.append(f"with {totals['identities']} identities sharing the hand-overs: at least "
                     f"{_duration(totals['pool_minimum_seconds'])} at the write window's bound")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{s:02d}s"
    hours, m = divmod(minutes, 60)
    return f"{hours}h{m:02d}m"


# -- status ---------------------------------------------------------------------------------------
def status_doc(ledger: Ledger) -> dict[str, Any]:
    from qlikcli_py import sync_report  # sync's waves (it imports the migration engine)

    live = ledger.run_in_progress()
    apps = []
    for rec in ledger.apps():
        # `running` is written when an app starts; a killed run never clears it.
        status = AppStatus.INTERRUPTED if rec.status == AppStatus.RUNNING and not live else rec.status
        counts = ledger.object_counts(rec.source_app_id)
        cleanup: Counter[str] = Counter(r["status"] for r in ledger.cleanup_rows(rec.source_app_id))
        apps.append({
            "source_app_id": rec.source_app_id, "name": rec.name, "status": status, "step": rec.step or "-",
            "imported_app_id": rec.imported_app_id, "copy_app_id": rec.copy_app_id,
            "source_modified": rec.source_modified, "updated_at": rec.updated_at,
            "objects": dict(counts), "cleanup": dict(cleanup), "error": rec.error,
            "earlier_imports": orjson.loads(rec.history),
        })
    return {"state_dir": str(ledger.dir), "run_in_progress": live, "apps": apps,
            "waves": sync_report.status_waves(ledger)}


def render_status(doc: dict[str, Any]) -> str:
    from qlikcli_py import sync_report

    if not doc["apps"]:
        return f"the ledger in {doc['state_dir']} holds no apps yet"
    head = f"{'app':<38} {'name':<24} {'status':<11} {'step':<9} {'objects done/unmatched/other':<30} imported app"
    lines = [head]
    for a in doc["apps"]:
        objs = a["objects"]
        shown = (ObjectStatus.DONE, ObjectStatus.UNMATCHED, ObjectStatus.KEPT)
        other = sum(v for k, v in objs.items() if k not in shown)
        summary = f"{objs.get(ObjectStatus.DONE, 0)}/{objs.get(ObjectStatus.UNMATCHED, 0)}/{other}"
        lines.append(f"{a['source_app_id']:<38} {a['name'][:24]:<24} {a['status']:<11} {a['step']:<9} "
                     f"{summary:<30} {a['imported_app_id'] or '-'}")
        if a["error"]:
            lines.append(f"    error: {a['error']}")
    if any(a["status"] == AppStatus.INTERRUPTED for a in doc["apps"]):
        lines.append("interrupted: the run that was migrating these apps ended without finishing them "
                     "(killed?); run the same command again to resume")
    lines += sync_report.render_waves(doc.get("waves", []))
    return "\n".join(lines)


# -- verify ---------------------------------------------------------------------------------------
def render_verify(doc: dict[str, Any]) -> str:
    lines = []
    for app in doc["apps"]:
        summary = app["summary"]
        counts = ", ".join(f"{k} {v}" for k, v in summary["by_status"].items())
        verdict = "OK" if summary["mismatches"] == 0 else f"{summary['mismatches']} MISMATCHES"
        lines.append(f"{app['name']} ({app['source_app_id']}) -> {app['imported_app_id']}: {verdict} ({counts})")
        for o in summary["owners"]:
            who = f"{o['cloud_user']} ({o['cloud_user_id']})" if o["cloud_user"] else o["cloud_user_id"]
            lines.append(f"  owner {o['source_owner'] or '-':<28} -> {who}: "
                         + ", ".join(f"{k} {v}" for k, v in sorted(o["statuses"].items())))
        hidden = summary["by_status"].get(CheckStatus.HANDED_OVER_HIDDEN, 0)
        if hidden:
            lines.append(f"  {hidden} private objects handed over, owner not visible to this identity: run verify "
                         f"with an admin.apps identity to confirm")
        for m in app["mismatches"][:20]:
            lines.append(f"  {m['status']:<15} {m['where']:<7} {m['type']} {m['object_id']} {m['title']!r}: "
                         f"{m['detail']}")
        if len(app["mismatches"]) > 20:
            lines.append(f"  ... and {len(app['mismatches']) - 20} more (see --report / --csv)")
        reported = app.get("reported") or []
        if reported:
            lines.append(f"  {len(reported)} objects as sync's waves reported them (not mismatches):")
        for m in reported[:20]:
            lines.append(f"  {m['status']:<15} {m['where']:<7} {m['type']} {m['object_id']} {m['title']!r}: "
                         f"{m['detail']}")
        if len(reported) > 20:
            lines.append(f"  ... and {len(reported) - 20} more (see --report / --csv)")
        for c in (app.get("reload") or {}).get("connections", []):
            if c["status"] == "missing":
                lines.append(f"  load script   names {c['connection']!r} (line {c['lines'][0]}), which the migrated "
                             f"app cannot resolve: its first reload will fail; fix: create it in "
                             f"{', '.join(c['missing_in'])} or correct the script")
    total = doc["summary"]
    lines.append(f"verified {total['objects']} objects in {total['apps']} apps: "
                 + ("everything matches" if total["mismatches"] == 0 else f"{total['mismatches']} mismatches"))
    return "\n".join(lines)

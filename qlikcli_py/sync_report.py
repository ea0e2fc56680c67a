"""`sync`'s reports: per app, the wave (what came over, what was reported and why), the dry run's
delta, the CSV rows, and the waves `status` shows. Schema in docs/reports.md."""
from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from qlikcli_py import ledger_waves
from qlikcli_py.errors import ExitCode
from qlikcli_py.ledger import Ledger
from qlikcli_py.migration.sync import Delta
from qlikcli_py.migration.sync import Kind
from qlikcli_py.migration.sync import Row
from qlikcli_py.migration.sync import SyncOutcome
from qlikcli_py.planning import AppPlan
from qlikcli_py.vocabulary import ObjectStatus

CSV_COLUMNS = ("app_id", "app_name", "wave_id", "kind", "object_id", "type", "title", "state", "source_owner",
               "cloud_owner_id", "status", "detail")


def skipped_app(app_id: str, name: str, why: str) -> dict[str, Any]:
    return {"source_app_id": app_id, "name": name, "status": "not-migrated", "wave_id": None, "error": None,
            "notes": [why], "came_over": [], "not_synced": [], "changed": [], "deleted": [], "strays": [],
            "failed_for_good": [], "unmatched": [], "temp_app": None, "seconds": 0.0}


def dry_app(plan: AppPlan, delta: Delta, me_id: str) -> dict[str, Any]:
    """The delta per app and per owner, and how each owner resolves (nothing is changed)."""
    def owner(owner_id: str) -> str:
        return plan.owners[owner_id].key if owner_id in plan.owners else ""

    per_owner: dict[str, dict[str, Any]] = {}
    for o in delta.new:
        res = plan.resolutions.get(o.owner_id)
        entry = per_owner.setdefault(o.owner_id, {
            "source_owner": owner(o.owner_id), "objects": 0, "matched": bool(res and res.user),
            "cloud_user_id": res.user.id if res and res.user else None,
            "cloud_user": (res.user.name or res.user.subject) if res and res.user else None,
            "rule": res.rule if res else None, "detail": res.detail if res else "not resolved", "to_sync": []})
        entry["objects"] += 1
        entry["to_sync"].append({"object_id": o.object_id, "type": o.type, "title": o.title, "state": o.state.value})
    return {
        "source_app_id": plan.app.id, "name": plan.app.name, "status": "dry-run",
        "managed_space": {"id": plan.managed.id, "name": plan.managed.name},
        "to_sync": len(delta.new), "resumes_open_wave": len(delta.in_open_wave),
        "owners": sorted(per_owner.values(), key=lambda e: str(e["source_owner"]).casefold()),
        "unmatched": [{"source_owner": e["source_owner"], "objects": e["objects"]}
                      for e in per_owner.values() if not e["matched"]],
        "not_synced": _per_owner([(owner(o.owner_id), o.object_id, o.type, o.title, why)
                                  for o, why in delta.not_synced]),
        "changed": [{"object_id": o.object_id, "type": o.type, "title": o.title, "source_owner": owner(o.owner_id),
                     "modified": o.modified, "came_over": came} for o, came in delta.changed],
        "deleted": [{"object_id": r["object_id"], "type": r["type"], "title": r["title"],
                     "source_owner": r["source_owner"]} for r in delta.deleted],
        "write_calls": 0 if not delta.new else 2 + sum(1 for e in per_owner.values()
                                                       if e["matched"] and e["cloud_user_id"] != me_id
                                                       for _ in e["to_sync"]),
    }


def wave_app(ledger: Ledger, plan: AppPlan, out: SyncOutcome, delta: Delta) -> dict[str, Any]:
    app_id = plan.app.id
    rows = ledger_waves.wave_objects(ledger, app_id, wave_id=out.wave_id) if out.wave_id else []
    objects = {r["object_id"]: r for r in ledger.objects(app_id)}
    all_synced = {r["object_id"] for r in ledger_waves.wave_objects(ledger, app_id, kind=Kind.NEW)
                  if r["status"] == Row.SYNCED}
    came_over = []
    failed_for_good = []
    for r in rows:
        o = objects.get(r["object_id"])
        if r["kind"] == Kind.NEW and r["status"] == Row.SYNCED:
            came_over.append({"object_id": r["object_id"], "type": r["type"], "title": r["title"], "state": r["state"],
                              "source_owner": r["source_owner"],
                              "cloud_owner_id": (o["result_owner_id"] or o["target_owner_id"]) if o else None,
                              "status": o["status"] if o else r["status"]})
    # Like run: what failed for good stays in every report (exit 8) until fixed or --retry-failed.
    for r in ledger_waves.wave_objects(ledger, app_id, kind=Kind.NEW):
        if r["status"] == Row.FAILED_FOR_GOOD:
            failed_for_good.append({"object_id": r["object_id"], "type": r["type"], "title": r["title"],
                                    "source_owner": r["source_owner"], "reason": r["detail"],
                                    "wave_id": r["wave_id"]})
    for oid in sorted(all_synced):
        o = objects.get(oid)
        if o is not None and o["status"] == ObjectStatus.FAILED_FOR_GOOD:
            failed_for_good.append({"object_id": oid, "type": o["type"], "title": o["title"],
                                    "source_owner": o["source_owner"], "reason": o["error"]})
    unmatched: dict[str, int] = defaultdict(int)
    for oid in all_synced:
        o = objects.get(oid)
        if o is not None and o["status"] == ObjectStatus.UNMATCHED:
            unmatched[o["source_owner"]] += 1
    wave = _wave(ledger, out.wave_id, app_id)
    return {
        "source_app_id": app_id, "name": plan.app.name, "status": out.status, "wave_id": out.wave_id,
        "managed_app_id": (rec.imported_app_id if (rec := ledger.app(app_id)) else None),
        "error": out.error, "notes": out.notes, "seconds": out.seconds,
        "came_over": came_over,
        "not_synced": _per_owner([(r["source_owner"], r["object_id"], r["type"], r["title"], r["detail"])
                                  for r in rows if r["kind"] == Kind.NOT_SYNCED]),
        "changed": _reported(rows, Kind.CHANGED), "deleted": _reported(rows, Kind.DELETED),
        "strays": _reported(rows, Kind.STRAY), "failed_for_good": failed_for_good,
        "unmatched": [{"source_owner": k, "objects": v} for k, v in sorted(unmatched.items())],
        "temp_app": {"id": wave["temp_app_id"], "name": wave["temp_name"], "deleted": bool(wave["temp_deleted"])}
        if wave is not None and (wave["temp_app_id"] or wave["temp_started_at"]) else None,
    }


def _wave(ledger: Ledger, wave_id: str | None, app_id: str) -> sqlite3.Row | None:
    if wave_id is None:
        return None
    row: sqlite3.Row | None = ledger.db.execute("SELECT * FROM waves WHERE wave_id=? AND source_app_id=?",
                                                (wave_id, app_id)).fetchone()
    return row


def _reported(rows: Iterable[sqlite3.Row], kind: str) -> list[dict[str, Any]]:
    return [{"object_id": r["object_id"], "type": r["type"], "title": r["title"], "state": r["state"],
             "source_owner": r["source_owner"], "reason": r["detail"]} for r in rows if r["kind"] == kind]


def _per_owner(items: Iterable[tuple[str, str, str, str, str | None]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for owner, oid, otype, title, why in items:
        groups[owner].append({"object_id": oid, "type": otype, "title": title, "reason": why})
    return [{"source_owner": k, "objects": v} for k, v in sorted(groups.items(), key=lambda kv: kv[0].casefold())]


def exit_code(apps: list[dict[str, Any]]) -> int:
    """The existing table: failed 1, stopped at --max-imports 7, failed for good 8, something reported
    and not brought over 6, an app not migrated 2, owners without a cloud user 4, else 0."""
    if any(a["status"] == "failed" for a in apps):
        return ExitCode.FAILED
    if any(a["status"] == "deferred" for a in apps):
        return ExitCode.INCOMPLETE  # --max-imports: the next sync continues the wave
    if any(a["failed_for_good"] for a in apps):
        return ExitCode.FAILED_FOR_GOOD
    if any(a["changed"] or a["deleted"] or a["not_synced"] or a["strays"] for a in apps):
        return ExitCode.CHANGED
    if any(a["status"] == "not-migrated" for a in apps):
        return ExitCode.USAGE
    if any(a["unmatched"] for a in apps):
        return ExitCode.UNMATCHED
    return ExitCode.OK


def dry_exit_code(apps: list[dict[str, Any]]) -> int:
    if any(a["status"] == "not-migrated" for a in apps):
        return ExitCode.USAGE
    return ExitCode.UNMATCHED if any(a["unmatched"] for a in apps) else ExitCode.OK


def csv_rows(doc: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for app in doc["apps"]:
        base = {"app_id": app["source_app_id"], "app_name": app["name"], "wave_id": app.get("wave_id") or ""}
        for o in app.get("came_over", []):
            yield {**base, "kind": Kind.NEW, **_cells(o), "cloud_owner_id": o.get("cloud_owner_id") or "",
                   "status": o["status"], "detail": ""}
        for owner in app.get("owners", []):  # a dry run: what would come over
            for o in owner["to_sync"]:
                yield {**base, "kind": Kind.NEW, **_cells({**o, "source_owner": owner["source_owner"]}),
                       "cloud_owner_id": owner["cloud_user_id"] or "", "status": "to-sync", "detail": owner["detail"]}
        for group in app.get("not_synced", []):
            for o in group["objects"]:
                yield {**base, "kind": Kind.NOT_SYNCED, **_cells({**o, "source_owner": group["source_owner"]}),
                       "cloud_owner_id": "", "status": "reported", "detail": o["reason"]}
        for kind, key in ((Kind.CHANGED, "changed"), (Kind.DELETED, "deleted"), (Kind.STRAY, "strays"),
                          ("failed", "failed_for_good")):
            for o in app.get(key, []):
                yield {**base, "kind": kind, **_cells(o), "cloud_owner_id": "",
                       "status": ObjectStatus.FAILED_FOR_GOOD if kind == "failed" else "reported",
                       "detail": o.get("reason") or ""}


def _cells(o: dict[str, Any]) -> dict[str, Any]:
    return {"object_id": o["object_id"], "type": o["type"], "title": o["title"], "state": o.get("state", ""),
            "source_owner": o.get("source_owner", "")}


def render(doc: dict[str, Any]) -> str:
    lines = []
    for a in doc["apps"]:
        if a["status"] == "not-migrated":
            lines.append(f"{a['source_app_id']}: NOT SYNCED: {'; '.join(a['notes'])}")
            continue
        if doc.get("dry_run"):
            lines.append(f"{a['name']} ({a['source_app_id']}): {a['to_sync']} new objects to bring over "
                         f"(dry run: nothing changed)")
            if a["resumes_open_wave"]:
                lines.append(f"  an interrupted wave ({a['resumes_open_wave']} objects) is not finished: sync "
                             f"continues it")
            for o in a["owners"]:
                to = (f"-> {o['cloud_user']} ({o['rule']})" if o["matched"] else f"UNMATCHED: {o['detail']}")
                lines.append(f"  {o['source_owner']}: {o['objects']} {to}")
        else:
            head = f"{a['name']} ({a['source_app_id']}): {a['status'].upper()}"
            lines.append(head + (f", wave {a['wave_id']}" if a["wave_id"] else "") + f" in {a['seconds']}s")
            for o in a["came_over"]:
                lines.append(f"  came over: {o['type']} {o['object_id']} {_q(o['title'])} ({o['state']}) of "
                             f"{o['source_owner']}: {o['status']}")
            for u in a["unmatched"]:
                lines.append(f"  owner without a cloud user: {u['source_owner']} ({u['objects']} synced objects "
                             f"stay per --on-unmatched)")
            for o in a["failed_for_good"]:
                lines.append(f"  not brought over: {o['object_id']} {_q(o['title'])}: {o['reason']}")
            for o in a["strays"]:
                lines.append(f"  stray removed: {o['object_id']}: {o['reason']}")
            if a["temp_app"]:
                t = a["temp_app"]
                lines.append(f"  temporary app {t['id'] or '(import interrupted)'}: "
                             f"{'deleted' if t['deleted'] else 'NOT deleted yet (the next sync deletes it)'}")
            if a["error"]:
                lines.append(f"  error: {a['error']}")
            lines += [f"  note: {n}" for n in a["notes"]]
        for group in a["not_synced"]:
            lines.append(f"  not synced, of {group['source_owner']}: " + ", ".join(
                f"{o['type']} {_q(o['title'])}" for o in group["objects"]) + f" ({group['objects'][0]['reason']})")
        for o in a["changed"]:
            lines.append(f"  changed on-prem, cloud copy left as it is: {o['type']} {o['object_id']} {_q(o['title'])}")
        for o in a["deleted"]:
            lines.append(f"  deleted on-prem, cloud copy left as it is: {o['type']} {o['object_id']} {_q(o['title'])}")
    lines.append(f"exit code {doc['exit_code']}")
    return "\n".join(lines)


# -- status ---------------------------------------------------------------------------------------
def status_waves(ledger: Ledger) -> list[dict[str, Any]]:
    try:
        waves = ledger_waves.waves(ledger)
    except sqlite3.OperationalError:  # a ledger of format 2, read as it is: no waves yet
        return []
    out = []
    for w in waves:
        rows = ledger_waves.wave_objects(ledger, w["source_app_id"], wave_id=w["wave_id"])
        counts: dict[str, int] = defaultdict(int)
        for r in rows:
            counts[f"{r['kind']}:{r['status']}"] += 1
        out.append({"wave_id": w["wave_id"], "source_app_id": w["source_app_id"], "started_at": w["started_at"],
                    "finished_at": w["finished_at"], "status": w["status"], "temp_app_id": w["temp_app_id"],
                    "temp_deleted": bool(w["temp_deleted"]), "objects": dict(counts), "error": w["error"]})
    return out


def render_waves(waves: list[dict[str, Any]]) -> list[str]:
    if not waves:
        return []
    lines = ["", "waves (sync):"]
    for w in waves:
        o = w["objects"]
        came = o.get(f"{Kind.NEW}:{Row.SYNCED}", 0)
        reported = sum(v for k, v in o.items() if not k.startswith(f"{Kind.NEW}:"))
        left = ("" if w["temp_deleted"] or not w["temp_app_id"]
                else f", temporary app {w['temp_app_id']} not deleted yet")
        lines.append(f"  {w['started_at']} {w['source_app_id']} {w['status']}: {came} came over, {reported} reported"
                     f"{left}" + (f"; error: {w['error']}" if w["error"] else ""))
    return lines


def _q(title: str) -> str:
    return f'"{title}"'

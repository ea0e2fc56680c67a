"""The traps besides data connections, one finding each with its fix (`plan` and `doctor` show
them, `run`'s report carries them):
- app size (QRS fileSize) against the tenant's quotas (`quota ls`: app_upload_disk_size,
  app_mem_size), or why the quotas could not be read;
- an app of the same name already in the managed space;
- a private default bookmark (qlik-cli issue #3: after publishing, "access denied" for everyone);
- with --skip-data, sheets with show conditions (hidden until a reload);
- owners whose cloud user is invited, disabled or deleted (their content becomes unreachable).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from qlikcli_py.errors import QlikError
from qlikcli_py.models import CloudApp
from qlikcli_py.models import Space
from qlikcli_py.models import State
from qlikcli_py.planning import AppPlan
from qlikcli_py.session import Session
from qlikcli_py.target import Target
from qlikcli_py.target import quotas

UPLOAD_QUOTA = "app_upload_disk_size"
MEMORY_QUOTA = "app_mem_size"
UNREACHABLE = ("invited", "disabled", "deleted")


@dataclass
class Trap:
    kind: str  # quota | same-name | owner
    status: str  # warn | skipped
    detail: str
    fix: str = ""

    def doc(self) -> dict[str, Any]:
        return {"trap": self.kind, "status": self.status, "detail": self.detail, "fix": self.fix}


@dataclass
class TenantFacts:
    """What every app's traps are checked against, read once per plan."""

    quotas: dict[str, tuple[float, float | None]] | None
    quota_problem: str
    managed_apps: dict[str, list[CloudApp]]


async def tenant_facts(session: Session, managed_space_ids: set[str]) -> TenantFacts:
    async def read_quotas() -> tuple[dict[str, tuple[float, float | None]] | None, str]:
        try:
            return await quotas(session.target), ""
        except QlikError as e:
            return None, str(e)

    (found, why), listings = await asyncio.gather(
        read_quotas(), asyncio.gather(*(session.target.apps_in_space(s) for s in sorted(managed_space_ids))))
    return TenantFacts(found, why, dict(zip(sorted(managed_space_ids), listings, strict=True)))


def _mib(n: float) -> str:
    return f"{n / (1 << 20):,.0f} MiB"


def quota_line(facts: TenantFacts) -> Trap | None:
    """doctor's and plan's one line when the quotas could not be read."""
    if facts.quotas is None:
        return Trap("quota", "skipped", f"tenant quotas not readable by this identity, size check skipped: "
                    f"{facts.quota_problem}", "read them with a tenant admin's context, or check app sizes by hand")
    return None


def app_traps(plan: AppPlan, facts: TenantFacts, known_ids: set[str], me_id: str) -> list[Trap]:
    out: list[Trap] = []
    size = plan.app.file_size
    if facts.quotas is not None and size:
        upload = facts.quotas.get(UPLOAD_QUOTA)
        if upload is not None and size > upload[0]:
            out.append(Trap("quota", "warn", f"{plan.app.name!r} is {_mib(size)}, above the tenant's "
                            f"{UPLOAD_QUOTA} of {_mib(upload[0])}: the import will be refused",
                            "reduce the app (--skip-data, or drop data) or raise the tenant's quota"))
        memory = facts.quotas.get(MEMORY_QUOTA)
        if memory is not None and size > memory[0]:
            out.append(Trap("quota", "warn", f"{plan.app.name!r} is {_mib(size)} on disk, above the tenant's "
                            f"{MEMORY_QUOTA} of {_mib(memory[0])}: it will not open or reload",
                            "reduce the app's data model, or move the tenant to a larger app size"))
    for o in plan.objects:
        if o.note == "default" and o.state == State.PRIVATE:
            out.append(Trap("default-bookmark", "warn", f"the app's default bookmark {o.title!r} ({o.object_id}) is "
                            "private: once published the app opens with 'access denied' for everyone, admins included "
                            "(qlik-cli issue #3)", "make the bookmark public, or remove it as the default on-prem, "
                            "before the migration"))
    hidden = [o for o in plan.objects if o.note == "show-condition" and o.type == "sheet"]
    if plan.spec.skip_data and hidden:
        out.append(Trap("show-conditions", "warn", f"{len(hidden)} sheet(s) have show conditions and --skip-data "
                        f"leaves the app without data: they may stay hidden until a reload ({hidden[0].title!r}, ...)",
                        "reload the app after the migration, or migrate it with its data"))
    for app in facts.managed_apps.get(plan.managed.id, []):
        if app.name == plan.app.name and app.id not in known_ids and app.space_id in ("", plan.managed.id):
            out.append(Trap("same-name", "warn", f"an app named {app.name!r} ({app.id}) is already in the managed "
                            f"space {plan.managed.name!r}: users will see two", "retire or rename it, or migrate "
                            "into another managed space"))
            break
    for res in plan.resolutions.values():
        user = res.user
        if user is not None and user.status.lower() in UNREACHABLE and user.id != me_id:
            out.append(Trap("owner", "warn", f"owner {res.owner.key}'s cloud user {user.name or user.subject} is "
                            f"{user.status}: the content handed over is unreachable until the user is active",
                            "activate the user, or map the owner to another with --mapping-file"))
        elif user is None and any(f" is {s}" in res.detail for s in UNREACHABLE):
            out.append(Trap("owner", "warn", f"owner {res.owner.key}: {res.detail}",
                            "enable the cloud user, or map the owner to another with --mapping-file"))
    return out


async def doctor_lines(target: Target, shared: Space | None, managed: Space | None,
                       version: str) -> list[tuple[str, str, str, str]]:
    """doctor's lines for what it can know without apps: whether the scripts can be read before
    the import, the target spaces' data connections, the tenant's quotas. (check, pass|info,
    detail, fix) each; the per-app traps are `plan`'s."""
    from qlikcli_py.checks.reload import can_read_site_scripts
    from qlikcli_py.target import data_connections

    out: list[tuple[str, str, str, str]] = []
    if can_read_site_scripts(version):
        out.append(("load scripts", "pass", "plan reads each app's load script from the source", ""))
    else:
        out.append(("load scripts", "info", f"qlik-cli {version} cannot read a client-managed app's script: plan "
                    "says 'unknown until import' and run checks it after the import",
                    "install qlik-cli 2.25.0 or later (it sends the CSRF token the site's engine wants)"))
    spaces = [s for s in (shared, managed) if s is not None]
    try:
        counts = await asyncio.gather(*(data_connections(target, s.id) for s in spaces))
        out.append(("data connections", "pass", ", ".join(f"{len(c)} in {s.name!r}" for s, c in
                                                        zip(spaces, counts, strict=True)) or "no space given", ""))
    except QlikError as e:
        out.append(("data connections", "info", f"cannot list the target spaces' data connections: {e}",
                    "give the identity a role that can see the spaces' connections"))
    try:
        found = await quotas(target)
        shown = ", ".join(f"{k} {_mib(v[0])}" for k, v in sorted(found.items()) if k in (UPLOAD_QUOTA, MEMORY_QUOTA))
        out.append(("quotas", "pass", shown or "no app size quota listed", ""))
    except QlikError as e:
        out.append(("quotas", "info", f"tenant quotas not readable, plan skips the size check: {e}",
                    "read them with a tenant admin's context, or check app sizes by hand"))
    return out

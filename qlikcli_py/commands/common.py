"""Steps shared by run, plan and verify: connect, pick the apps, resolve the owners."""
from __future__ import annotations

import os
from pathlib import Path

from qlikcli_py import manifest
from qlikcli_py.errors import UsageProblem
from qlikcli_py.mapping import OwnerMapper
from qlikcli_py.planning import AppPlan
from qlikcli_py.planning import AppSpec
from qlikcli_py.planning import plan_apps
from qlikcli_py.session import Session
from qlikcli_py.session import open_session
from qlikcli_py.settings import Settings


async def connect(settings: Settings) -> Session:
    return await open_session(settings.conn)


async def app_specs(settings: Settings, session: Session) -> list[AppSpec]:
    specs = list(settings.specs)
    if settings.manifest is not None:
        default = specs[0] if specs else None
        rows = manifest.load(settings.manifest, shared=default.shared_space if default else "",
                             managed=default.managed_space if default else "",
                             skip_data=default.skip_data if default else False)
        specs = [s for s in specs if s.source_app_id] + await manifest.expand(rows, session.source)
    specs = [s for s in specs if s.source_app_id]
    if not specs:
        raise UsageProblem("no apps given: pass APP_ID arguments or --manifest FILE")
    return specs


async def build_plans(settings: Settings, session: Session) -> list[AppPlan]:
    specs = await app_specs(settings, session)
    mapper = OwnerMapper(session.target, settings.mapping)
    return await plan_apps(session, specs, mapper)


def check_writable_dir(path: Path, flag: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as e:
        raise UsageProblem(f"{flag} {path} cannot be created ({e.strerror}): choose another directory") from e
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageProblem(f"{flag} {path} is not writable: choose another directory or fix its permissions")

"""More identities in a world: admin.apps bots and plain users, the tenant's cap, one throttled identity."""

from __future__ import annotations

from typing import Any

import pytest

from qliksim import faults
from qliksim.identities import add_identity


def _change_owner(run: Any, demo: dict[str, Any], context: str, app_id: str, obj: str, owner: str) -> Any:
    return run("app", "object", "change-owner", "--appId", app_id, "--objectId", obj, "--ownerId", owner,
               context=context)


def _imported(run: Any, demo: dict[str, Any], tmp_path: Any) -> tuple[str, list[str]]:
    qvf = tmp_path / "x.qvf"
    assert run("qrs", "app", "export", "create", demo["apps"]["sales"], "--exportScope", "all", "--output-file",
               str(qvf), context="qseow").code == 0
    app = run("app", "import", "--file", str(qvf), "--spaceId", demo["spaces"]["Finance Dev"], context="cloud").json()
    app_id = app["attributes"]["id"]
    objs = [o["engineObjectId"] for o in demo["objects"]["sales"] if o["type"] in ("sheet", "story")]
    return app_id, objs


def test_added_identities_are_users_with_contexts(demo: dict[str, Any], run: Any) -> None:
    bot = add_identity(demo["path"], "bot2")
    plain = add_identity(demo["path"], "plain", admin_apps=False)
    me = run("user", "me", context="bot2").json()
    assert me["id"] == bot and "admin.apps" in str(me.get("assignedScopes"))
    me = run("user", "me", context="plain").json()
    assert me["id"] == plain and "admin.apps" not in str(me.get("assignedScopes"))
    assert len({bot, plain, demo["bot_identity"], demo["cloud_identity"]}) == 4


def test_tenant_cap_counts_every_identitys_writes(demo: dict[str, Any], run: Any, tmp_path: Any) -> None:
    add_identity(demo["path"], "bot2")
    app_id, objs = _imported(run, demo, tmp_path)
    faults.configure(demo["path"], rate_write="10/60", rate_tenant_write="3/60")
    owner = demo["cloud_users"]["jdoe"]
    codes = [_change_owner(run, demo, ctx, app_id, objs[i % len(objs)], owner).code
             for i, ctx in enumerate(("cloud-bot", "bot2", "cloud-bot", "bot2"))]
    assert codes == [0, 0, 0, 1]  # 3 writes for the tenant, whoever sends them (the import came before the cap)


def test_a_throttled_identity_answers_429_to_writes_for_its_time_only(demo: dict[str, Any], run: Any,
                                                                      tmp_path: Any) -> None:
    add_identity(demo["path"], "bot2")
    app_id, objs = _imported(run, demo, tmp_path)
    faults.configure(demo["path"], throttle="bot2:0.5")
    owner = demo["cloud_users"]["jdoe"]
    r = _change_owner(run, demo, "bot2", app_id, objs[0], owner)
    assert r.code == 1 and r.http.startswith("429 ") and "wait 1 seconds" in r.error()["detail"]
    assert run("user", "me", context="bot2").code == 0  # reads are not throttled
    assert _change_owner(run, demo, "cloud-bot", app_id, objs[0], owner).code == 0  # others are not
    import time

    time.sleep(0.6)
    assert _change_owner(run, demo, "bot2", app_id, objs[1], owner).code == 0


def test_throttle_and_tenant_rate_are_checked(demo: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        faults.configure(demo["path"], throttle="bot2")
    with pytest.raises(ValueError):
        faults.configure(demo["path"], rate_tenant_write="x")
    assert faults.configure(demo["path"], throttle="bot2:60")["throttle"] == "bot2:60"

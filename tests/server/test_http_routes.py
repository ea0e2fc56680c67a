"""`qlik-sim serve` by plain HTTP, for what qlik-cli 1.4.0 cannot ask: QRS (with its xrfkey check),
change-owner, publish with moveApp, users me/count, temp-contents, paging and `limit` bounds.
Shapes are checked against the property names of the Swagger and OpenAPI specs (tests/specs)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import api_specs
import pytest
from served import Served

from qliksim import qvf
from qliksim import seed
from qliksim.store import World

CLOUD, BOT, QRS = ("eyJhbGciOiJFUzM4NCJ9.sim-cloud.sig", "eyJhbGciOiJFUzM4NCJ9.sim-bot.sig",
                   "eyJhbGciOiJSUzI1NiJ9.sim-qrs.sig")
XRF = "abcdefghij012345"


class Site:
    def __init__(self, served: Served, info: dict[str, Any]) -> None:
        self.served, self.info = served, info

    def call(self, method: str, path: str, token: str = CLOUD, body: bytes | dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        req = urllib.request.Request(self.served.url + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {token}", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw, status, hdrs = resp.read(), resp.status, dict(resp.headers)
        except urllib.error.HTTPError as exc:
            raw, status, hdrs = exc.read(), exc.code, dict(exc.headers)
        ctype = hdrs.get("Content-Type", "")
        return status, (json.loads(raw) if raw and ctype.startswith("application/json") else raw), hdrs

    def qrs(self, path: str, method: str = "GET") -> tuple[int, Any, dict[str, str]]:
        sep = "&" if "?" in path else "?"
        return self.call(method, f"/qrs{path}{sep}xrfkey={XRF}", QRS, headers={"X-Qlik-Xrfkey": XRF})


@pytest.fixture(scope="module")
def site(real_qlik_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("routes")
    info = seed.demo(tmp / "world.db")
    served = Served(tmp / "world.db", real_qlik_bin, tmp)
    try:
        yield Site(served, info)
    finally:
        served.stop()


def _fits(doc: dict[str, Any], shape: str, group: str = "qrs") -> None:
    fields = api_specs.qrs_fields(shape) if group == "qrs" else api_specs.cloud_apps_fields(shape)
    extra = set(doc) - fields
    assert not extra, f"{shape}: fields the spec does not define: {sorted(extra)}"


def test_qrs_needs_a_matching_xrfkey(site: Site) -> None:
    assert site.call("GET", "/qrs/about", QRS)[0] == 403
    assert site.call("GET", f"/qrs/about?xrfkey={XRF}", QRS, headers={"X-Qlik-Xrfkey": "0000000000000000"})[0] == 403
    status, about, _ = site.qrs("/about")
    assert status == 200
    _fits(about, "About")


def test_qrs_apps_objects_users_count_and_export(site: Site) -> None:
    status, apps, _ = site.qrs("/app/full")
    assert status == 200 and len(apps) == len(World(site.served.world).qrs_apps())
    for app in apps:
        _fits(app, "App")
    sales = site.info["apps"]["sales"]
    assert site.qrs(f"/app/{sales}")[1]["id"] == sales
    assert site.qrs("/app/count")[1] == {"value": len(apps)}
    status, objects, _ = site.qrs(f"/app/object/full?filter=app.id eq {sales}".replace(" ", "%20"))
    assert (status == 200 and {o["engineObjectId"] for o in objects}
            == {o["engine_object_id"] for o in World(site.served.world).qrs_objects(sales)})
    for obj in objects:
        _fits(obj, "AppObject")
    owners = site.qrs("/user/full")[1]
    for user in owners:
        _fits(user, "User")
    status, ticket, _ = site.qrs(f"/app/{sales}/export/tok-1?exportScope=all", method="POST")
    assert status == 201
    _fits(ticket, "AppExportResponse")
    status, data, _ = site.qrs(ticket["downloadPath"].removeprefix("/qrs"))
    doc = qvf.decode(data)
    assert len(doc["objects"]) == len(objects)  # scope all: private and community content too
    # a cloud token on QRS: the path is not there, as on a real tenant
    for path in ("/qrs/about", "/qrs/app/count"):
        assert site.call("GET", f"{path}?xrfkey={XRF}", CLOUD, headers={"X-Qlik-Xrfkey": XRF})[0] == 404


def test_users_me_count_paging_and_limit_bounds(site: Site) -> None:
    me = site.call("GET", "/api/v1/users/me")[1]
    assert me["subject"] == "ACME\\svc_migrate"
    total = site.call("GET", "/api/v1/users/actions/count")[1]["total"]
    assert total == len(World(site.served.world).cloud_users())
    seen, path = [], "/api/v1/users?limit=2"
    while path:
        status, page, _ = site.call("GET", path)
        assert status == 200 and len(page["data"]) <= 2
        seen += [u["id"] for u in page["data"]]
        nxt = page["links"].get("next")
        path = nxt["href"].removeprefix(site.served.url) if nxt else ""
    assert seen == [u["id"] for u in World(site.served.world).cloud_users()]
    for bad in ("0", "101", "x"):
        assert site.call("GET", f"/api/v1/spaces?limit={bad}")[0] == 400
    assert site.call("GET", "/api/v1/spaces")[1]["links"]["self"]["href"].startswith(site.served.url)


def test_temp_contents_import_change_owner_and_move(site: Site, tmp_path: Path) -> None:
    sales = site.info["apps"]["sales"]
    ticket = site.qrs(f"/app/{sales}/export/tok-2?exportScope=all", method="POST")[1]
    data = site.qrs(ticket["downloadPath"].removeprefix("/qrs"))[1]
    spaces = {s["name"]: s["id"] for s in World(site.served.world).spaces()}
    status, _, headers = site.call("POST", "/api/v1/temp-contents?filename=sales.qvf", body=data)
    assert status == 201
    file_id = headers["Location"].rsplit("/", 1)[1]
    status, app, _ = site.call("POST", f"/api/v1/apps/import?fileId={file_id}&spaceId={spaces['Finance Dev']}")
    assert status == 201
    _fits(app, "NxApp", "cloud_apps")
    app_id = app["attributes"]["id"]
    objects = World(site.served.world).cloud_objects(app_id)
    private = next(o for o in objects if not o["published"])
    alice = next(u for u in World(site.served.world).cloud_users()
                 if u["id"] not in (private["owner_id"],) and "svc" not in u["subject"]
                 and "qlikbot" not in u["subject"])
    path = f"/api/v1/apps/{app_id}/objects/{private['object_id']}/actions/change-owner"
    status, changed, _ = site.call("POST", path, body={"ownerId": alice["id"]})
    assert status == 200 and changed["attributes"]["ownerId"] == alice["id"]
    _fits(changed, "NxAppObject", "cloud_apps")
    # now alice's: the migration user may not take it back, the admin.apps bot may
    assert site.call("POST", path, body={"ownerId": private["owner_id"]})[0] == 403
    assert site.call("POST", path, BOT, body={"ownerId": private["owner_id"]})[0] == 200
    copy = site.call("POST", f"/api/v1/apps/{app_id}/copy",
                     body={"attributes": {"spaceId": spaces["Finance Dev"]}})[1]["attributes"]["id"]
    status, moved, _ = site.call("POST", f"/api/v1/apps/{app_id}/publish",
                                 body={"spaceId": spaces["Finance"], "moveApp": True, "originAppId": copy})
    assert status == 200 and moved["attributes"]["id"] == app_id and moved["attributes"]["originAppId"] == copy
    assert World(site.served.world).cloud_app(app_id)["space_id"] == spaces["Finance"]
    assert len(World(site.served.world).cloud_objects(app_id)) == len(objects)  # a move keeps every object


def test_resumable_upload_by_tus_then_import(site: Site) -> None:
    """`app import --resumable` (qlik-cli 2.x) uploads with tus 1.0.0 to /api/v1/temp-contents/files:
    create, append in pieces at the right offset, ask the offset after a break, import by fileId."""
    sales = site.info["apps"]["sales"]
    ticket = site.qrs(f"/app/{sales}/export/tok-3?exportScope=all", method="POST")[1]
    data = site.qrs(ticket["downloadPath"].removeprefix("/qrs"))[1]
    tus = {"Tus-Resumable": "1.0.0"}
    piece = {**tus, "Content-Type": "application/offset+octet-stream"}
    assert site.call("POST", "/api/v1/temp-contents/files", headers={"Upload-Length": str(len(data))})[0] == 412
    status, _, headers = site.call("POST", "/api/v1/temp-contents/files",
                                   headers={**tus, "Upload-Length": str(len(data))})
    assert status == 201 and headers["Upload-Offset"] == "0"
    upload = headers["Location"].removeprefix(site.served.url)
    half = len(data) // 2
    status, _, headers = site.call("PATCH", upload, body=data[:half], headers={**piece, "Upload-Offset": "0"})
    assert status == 204 and headers["Upload-Offset"] == str(half)
    # a resend of the first piece (its answer was lost) is refused, and HEAD says where to go on
    assert site.call("PATCH", upload, body=data[:half], headers={**piece, "Upload-Offset": "0"})[0] == 409
    status, _, headers = site.call("HEAD", upload, headers=tus)
    assert status == 200 and (headers["Upload-Offset"], headers["Upload-Length"]) == (str(half), str(len(data)))
    file_id = upload.rsplit("/", 1)[1]
    shared = next(s["id"] for s in World(site.served.world).spaces() if s["name"] == "Finance Dev")
    assert site.call("POST", f"/api/v1/apps/import?fileId={file_id}&spaceId={shared}")[0] == 404  # not finished
    status, _, headers = site.call("PATCH", upload, body=data[half:], headers={**piece, "Upload-Offset": str(half)})
    assert status == 204 and headers["Upload-Offset"] == str(len(data))
    status, app, _ = site.call("POST", f"/api/v1/apps/import?fileId={file_id}&spaceId={shared}")
    assert status == 201
    imported = World(site.served.world).cloud_objects(app["attributes"]["id"])
    assert {o["object_id"] for o in imported} >= {o["engineObjectId"] for o in site.qrs(
        f"/app/object/full?filter=app.id%20eq%20{sales}")[1]}
    assert site.call("OPTIONS", "/api/v1/temp-contents/files")[2]["Tus-Extension"] == "creation,creation-with-upload"

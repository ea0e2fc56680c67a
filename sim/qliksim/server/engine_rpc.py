"""The engine: JSON-RPC 2.0 over a websocket at /app/{appId}, as enigma-go (inside qlik-cli) speaks it.

Each method that reads or changes the world runs the matching simulator engine command
(`app object|bookmark|dimension|measure ls/layout/publish/unpublish/rm`, `app build`), so object
visibility, ownership and pending removals follow the simulator's rules. Handles are per
session: -1 the global object, 1 the opened app, 2.. the objects fetched.

The websocket framing is websockets' sans-I/O protocol, driven from the HTTP handler's thread.
"""

from __future__ import annotations

import json
import sys

from websockets.frames import Opcode
from websockets.server import ServerProtocol

from qliksim.errors import ClientRefusal, EngineError, HttpError, SimError
from qliksim.server import model_call
from qliksim.store import connect

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DOC_HANDLE = 1
# method on the app -> (family, model command verb)
_DESTROY = {"DestroyObject": "object", "DestroyBookmark": "bookmark", "DestroyDimension": "dimension", "DestroyMeasure": "measure"}
_GET = {"GetObject": ("object", "GenericObject"), "GetBookmark": ("bookmark", "GenericBookmark"),
        "GetDimension": ("dimension", "GenericDimension"), "GetMeasure": ("measure", "GenericMeasure")}
_FAMILIES = ("object", "bookmark", "dimension", "measure")
# family -> the key of its list in a session object's layout (the property is that key + "Def")
_LIST_DEFS = {"bookmark": "qBookmarkList", "dimension": "qDimensionList", "measure": "qMeasureList"}


class RpcError(Exception):
    def __init__(self, code: int, message: str, parameter: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.parameter = code, message, parameter


class Session:
    """One websocket connection to one app."""

    def __init__(self, server: Any, caller: model_call.Caller, app_id: str) -> None:
        self.server = server
        self.caller = caller
        self.app_id = app_id
        self.handles: dict[int, tuple[str, str]] = {}  # handle -> (family, qId)
        self.opened = False

    def _run(self, command: str, flags: dict[str, Any] | None = None, args: list[str] | None = None) -> Any:
        return model_call.run(self.server.state, self.server.base_url, self.caller, command, {"app": self.app_id, **(flags or {})}, args,
                              via=f"engine {command}")

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        method, handle = message.get("method", ""), message.get("handle", -1)
        params = message.get("params") or []
        if self.server.rpc_log:  # QLIK_SIM_RPC_LOG=1: which methods a client really sends (evidence)
            sys.stderr.write(f"qlik-sim serve: rpc {json.dumps({'handle': handle, 'method': method, 'params': params}, ensure_ascii=False)}\n")
            sys.stderr.flush()
        try:
            if handle == -1:
                result = self._global(method, params)
            elif handle == DOC_HANDLE and self.opened:
                result = self._doc(method, params)
            elif handle in self.handles:
                result = self._object(handle, method, params)
            else:
                raise RpcError(-32602, "Invalid handle", str(handle))
        except EngineError as exc:
            return {"jsonrpc": "2.0", "id": message.get("id"), "error": {"code": exc.code, "parameter": exc.reason, "message": exc.name}}
        except HttpError as exc:
            return {"jsonrpc": "2.0", "id": message.get("id"), "error": {"code": exc.status, "parameter": exc.detail, "message": exc.title}}
        except RpcError as exc:
            return {"jsonrpc": "2.0", "id": message.get("id"), "error": {"code": exc.code, "parameter": exc.parameter, "message": exc.message}}
        except SimError as exc:  # a client-side refusal of the simulator's `qlik` has no engine form: a generic error
            return {"jsonrpc": "2.0", "id": message.get("id"), "error": {"code": -1, "parameter": str(exc), "message": "Unknown error"}}
        return {"jsonrpc": "2.0", "id": message.get("id"), "result": result}

    def _of_another_family(self, family: str, object_id: str) -> bool:
        from qliksim.engine import _in_family

        conn = connect(self.server.state)
        try:
            row = conn.execute("SELECT type FROM cloud_objects WHERE app_id = ? AND object_id = ?", (self.app_id, object_id)).fetchone()
        finally:
            conn.close()
        return row is not None and not _in_family(family, row[0])

    def _new_handle(self, family: str, object_id: str) -> int:
        handle = max([DOC_HANDLE, *self.handles]) + 1
        self.handles[handle] = (family, object_id)
        return handle

    def _global(self, method: str, params: Any) -> dict[str, Any]:
        if method in ("OpenDoc", "GetActiveDoc"):
            self.opened = True
            return {"qReturn": {"qType": "Doc", "qHandle": DOC_HANDLE, "qGenericId": self.app_id}}
        if method == "EngineVersion":
            return {"qVersion": {"qComponentVersion": "12.1306.0"}}
        if method == "ProductVersion":
            return {"qReturn": "12.1306.0"}
        raise _unknown(method)

    def _doc(self, method: str, params: Any) -> dict[str, Any]:
        if method == "GetAllInfos":
            infos = []
            for family in _FAMILIES:
                infos += [{"qId": i["qId"], "qType": i["qType"]} for i in self._run(f"app {family} ls", {"json": True})]
            return {"qInfos": infos}
        if method in _GET:
            family, qtype = _GET[method]
            object_id = _param(params, "qId", 0)
            try:
                layout = self._run(f"app {family} layout", {}, [object_id])
            except EngineError as exc:
                # An id of another family (a bookmark asked for as an object) stays an error: 1.4.0's
                # `ls` asks GetObject for every id GetAllInfos gives and keeps those that answer.
                if exc.code != EngineError.NOT_FOUND[0] or self._of_another_family(family, object_id):
                    raise
                # The engine answers an absent object with a null handle, not an error: qlik-cli
                # 1.4.0 has a path for it (`no object by ID 'X'`; `app object set` then creates it).
                return {"qReturn": {"qType": qtype, "qHandle": None, "qGenericType": "", "qGenericId": ""}}
            return {"qReturn": {"qType": qtype, "qHandle": self._new_handle(family, object_id), "qGenericType": layout["qInfo"]["qType"],
                                "qGenericId": object_id}}
        if method == "CreateObject":
            created = self._run("app object set", {"create": _param(params, "qProp", 0) or {}})
            info = created["qInfo"]
            return {"qInfo": info, "qReturn": {"qType": "GenericObject", "qHandle": self._new_handle("object", info["qId"]),
                                               "qGenericType": info["qType"], "qGenericId": info["qId"]}}
        if method in _DESTROY:
            self._run(f"app {_DESTROY[method]} rm", {"no-save": True}, [_param(params, "qId", 0)])
            return {"qSuccess": True}
        if method == "DoSave":
            self._run("app build", {"no-reload": True})
            return {}
        if method == "CreateSessionObject":  # the bookmark/dimension/measure lists of `ls`
            prop = _param(params, "qProp", 0) or {}
            family = next((f for f, key in _LIST_DEFS.items() if key + "Def" in prop), None)
            if family is None:
                raise RpcError(-32602, "Invalid parameters", "only bookmark, dimension and measure lists are simulated")
            handle = max([DOC_HANDLE, *self.handles]) + 1
            self.handles[handle] = ("list", family)
            return {"qReturn": {"qType": "GenericObject", "qHandle": handle, "qGenericType": prop.get("qInfo", {}).get("qType", ""), "qGenericId": f"list-{handle}"}}
        if method == "DestroySessionObject":
            qid = str(_param(params, "qId", 0))
            gone = [h for h, (family, _oid) in self.handles.items() if family == "list" and f"list-{h}" == qid]
            for h in gone:
                del self.handles[h]
            return {"qSuccess": bool(gone)}
        if method == "GetConnections":  # `app connection ls`: what the app's space (and others) offer
            return {"qConnections": self._run("app connection ls", {"json": True})}
        if method == "GetAppProperties":
            return {"qProp": {"qTitle": self.app_id, "qThumbnail": {}}}
        if method == "GetScript":  # `app script get`
            return {"qScript": self._run("app script get", {})}
        if method == "SetScript":  # `app script set FILE`; the DoSave that follows saves
            return self._set_script(str(_param(params, "qScript", 0)))
        raise _unknown(method)

    def _set_script(self, script: str) -> dict[str, Any]:
        import os
        import tempfile

        fd, path = tempfile.mkstemp(suffix=".qvs")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(script)
            self._run("app script set", {"no-save": True}, [path])
        finally:
            os.unlink(path)
        return {}

    def _object(self, handle: int, method: str, params: Any) -> dict[str, Any]:
        family, object_id = self.handles[handle]
        if family == "list" and method == "GetLayout":
            items = [{"qInfo": {"qId": i["qId"], "qType": i["qType"]}, "qMeta": {"title": i["title"]}, "qData": {"title": i["title"]}}
                     for i in self._run(f"app {object_id} ls", {"json": True})]
            return {"qLayout": {"qInfo": {"qId": f"list-{handle}", "qType": f"{object_id}list"}, _LIST_DEFS[object_id]: {"qItems": items}}}
        if family == "list":
            raise _unknown(method)
        if method == "GetLayout":
            return {"qLayout": self._run(f"app {family} layout", {}, [object_id])}
        if method in ("GetProperties", "GetFullPropertyTree") and family == "object":
            full = method == "GetFullPropertyTree"
            tree = self._run("app object properties", {"full": full}, [object_id])
            return {"qPropEntry": tree} if full else {"qProp": tree}
        if method in ("GetProperties", "GetFullPropertyTree"):  # bookmarks, dimensions, measures: their layout's basics
            layout = self._run(f"app {family} layout", {}, [object_id])
            prop = {"qInfo": layout["qInfo"], "qMetaDef": {"title": layout["qMeta"]["title"]}, "title": layout.get("title", "")}
            return {"qProp": prop} if method == "GetProperties" else {"qPropEntry": {"qProperty": prop, "qChildren": [], "qEmbeddedSnapshotRef": None}}
        if method in ("SetFullPropertyTree", "SetProperties") and family == "object":
            key = "entry" if method == "SetFullPropertyTree" else "prop"
            self._run("app object set", {"object": object_id, key: _param(params, "qPropEntry" if key == "entry" else "qProp", 0) or {}})
            return {}
        if method in ("Publish", "UnPublish"):
            try:
                self._run(f"app {family} {method.lower()}", {}, [object_id])
            except ClientRefusal:
                pass  # publishing a published object: qlik-cli refuses itself; the engine has nothing to do
            return {}
        if method == "GetInfo":
            layout = self._run(f"app {family} layout", {}, [object_id])
            return {"qInfo": layout["qInfo"]}
        raise _unknown(method)


def _param(params: Any, name: str, position: int) -> Any:
    if isinstance(params, dict):
        return params.get(name)
    return params[position] if len(params) > position else None


def _unknown(method: str) -> RpcError:
    # Loud on the server's stderr: it tells which engine method a qlik-cli version needs next.
    sys.stderr.write(f"qlik-sim serve: engine method not simulated: {method}\n")
    return RpcError(-32601, "Method not found", method)


def serve(handler: Any, app_id: str) -> None:
    """Take over the HTTP connection of `handler` (a GET with Upgrade: websocket) for one session."""
    from qliksim.server.http import error_response

    server = handler.server
    caller = model_call.authenticate(server.state, handler.headers.get("Authorization"))
    refusal: SimError | None = None
    if caller is None:
        refusal = HttpError(401, "missing or invalid bearer token")
    elif caller.context["server_type"] != "cloud":
        refusal = HttpError(404, "page not found")
    elif not _app_exists(server.state, app_id):
        refusal = HttpError(404, "app not found")  # the engine refuses the upgrade for an unknown app
    if refusal is not None:
        handler._send(error_response(refusal))
        return
    assert caller is not None
    sock = handler.connection
    proto = ServerProtocol()
    head = f"GET {handler.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in handler.headers.items()) + "\r\n"
    proto.receive_data(head.encode("latin-1"))
    requests = proto.events_received()
    if not requests:
        return
    proto.send_response(proto.accept(requests[0]))  # type: ignore[arg-type]
    session = Session(server, caller, app_id)
    proto.send_text(json.dumps({"jsonrpc": "2.0", "method": "OnConnected", "params": {"qSessionState": "SESSION_CREATED"}}).encode())
    if not _flush(proto, sock):
        return
    while True:
        data = sock.recv(65536)
        if data:
            proto.receive_data(data)
        else:
            proto.receive_eof()
        for frame in proto.events_received():
            if frame.opcode is Opcode.TEXT:  # type: ignore[union-attr]
                reply = session.handle(json.loads(frame.data))  # type: ignore[union-attr]
                proto.send_text(json.dumps(reply, ensure_ascii=False).encode())
        if not _flush(proto, sock) or not data:
            return


def _flush(proto: ServerProtocol, sock: Any) -> bool:
    """Send what the protocol has queued; False once it asks for the TCP connection to close."""
    for chunk in proto.data_to_send():
        if chunk == b"":
            return False
        sock.sendall(chunk)
    return True


def _app_exists(state: str, app_id: str) -> bool:
    conn = connect(state)
    try:
        return conn.execute("SELECT 1 FROM cloud_apps WHERE id = ?", (app_id,)).fetchone() is not None
    finally:
        conn.close()

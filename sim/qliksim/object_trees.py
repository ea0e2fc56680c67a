"""Generic objects' property trees: `app object properties [--full]` and `app object set FILE`,
and the engine methods behind them (GetProperties, GetFullPropertyTree, CreateObject,
SetProperties, SetFullPropertyTree) for `qlik-sim serve`.

A tree is a GenericObjectEntry: {qProperty, qChildren: [entries], qEmbeddedSnapshotRef}. The
world keeps it in the object's `tree` column when it holds more than the row (children, extra
properties); otherwise it is made from the row. Children live inside their parent's tree, not as
rows of their own (INFERRED simplification: the QRS lists no chart objects either).

Rules (docs/simulator.md): CreateObject makes the caller the owner; an id already in use in the
app (even by an object the caller cannot see) gets ANOTHER id, as the Engine API does (NxInfo);
setting a tree needs ownership or admin.apps.
"""

from __future__ import annotations

from qliksim import engine
from qliksim.call import Call
from qliksim.errors import EngineError, UsageError
from qliksim.output import progress

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


# JSON-RPC's "invalid params", as the engine answers a malformed request (INFERRED wording)
_BAD_PARAMS = (-32602, "Invalid params")


def default_tree(object_id: str, object_type: str, title: str, description: str) -> dict[str, Any]:
    """The tree of an object whose world row carries no stored tree."""
    prop = {"qInfo": {"qId": object_id, "qType": object_type}, "qMetaDef": {"title": title, "description": description}, "title": title}
    return {"qProperty": prop, "qChildren": [], "qEmbeddedSnapshotRef": None}


def tree_of(object_id: str, object_type: str, title: str, description: str, stored: str) -> dict[str, Any]:
    """The object's GenericObjectEntry; the row's id, type and title win over a stored tree's."""
    if not stored:
        return default_tree(object_id, object_type, title, description)
    from qliksim.output import loads

    tree: dict[str, Any] = loads(stored)
    prop = tree.setdefault("qProperty", {})
    prop["qInfo"] = {**prop.get("qInfo", {}), "qId": object_id, "qType": object_type}
    prop["qMetaDef"] = {**prop.get("qMetaDef", {}), "title": title, "description": description}
    tree.setdefault("qChildren", [])
    tree.setdefault("qEmbeddedSnapshotRef", None)
    return tree


def _stored(call: Call, app_id: str, object_id: str) -> tuple[str, str]:
    row = call.conn.execute("SELECT description, tree FROM cloud_objects WHERE app_id = ? AND object_id = ?", (app_id, object_id)).fetchone()
    return (row[0], row[1]) if row else ("", "")


def properties(call: Call) -> dict[str, Any]:
    """`app object properties ID --app A [--full]`: GetProperties (qProp) or GetFullPropertyTree (entry)."""
    with call.read():
        app_id = engine._open_app(call)
        if not _usable(call, app_id, call.args[0]):
            raise UsageError(f"no object by ID '{call.args[0]}'")  # the engine's null handle, as 1.4.0 words it (REAL)
        oid, otype, title, *_rest = engine._object(call, app_id, call.args[0])
        description, stored = _stored(call, app_id, oid)
    tree = tree_of(oid, otype, title, description, stored)
    return tree if call.flag("full") else tree["qProperty"]  # type: ignore[no-any-return]


def object_set(call: Call) -> Any:
    """`app object set FILE --app A`: per file, GetObject; absent -> CreateObject; then SetFullPropertyTree
    (a GenericObjectEntry file) or SetProperties (a GenericObjectProperties file).

    Through `qlik-sim serve` the engine methods arrive one by one: flags `create` (CreateObject's
    qProp), or `object` with `entry`/`prop` (SetFullPropertyTree/SetProperties on that object).
    """
    if call.flag("create") is not None:
        with call.write():
            app_id = engine._open_app(call)
            return {"qInfo": _create(call, app_id, call.flag("create"))}
    if call.flag("object") is not None:
        with call.write():
            app_id = engine._open_app(call)
            _set(call, app_id, str(call.flag("object")), call.flag("entry"), call.flag("prop"))
        return {}
    pattern = str(call.args[0])
    docs = _read_files(pattern)
    err = b"" if docs else f"No matches found for pattern {pattern}\n".encode()  # and exit 0 (REAL 1.4.0)
    with call.write():
        app_id = engine._open_app(call)
        for doc in docs:
            # An entry (qProperty) is created from its qInfo, then set whole (SetFullPropertyTree); a
            # properties file is created from all of it, or set with SetProperties if it exists (REAL 1.4.0).
            entry = doc if "qProperty" in doc else None
            prop = entry["qProperty"] if entry else doc
            wanted = str((prop.get("qInfo") or {}).get("qId") or "")
            if wanted and _usable(call, app_id, wanted):
                _set(call, app_id, wanted, entry, None if entry else prop)
            elif entry is not None:
                _set(call, app_id, _create(call, app_id, {"qInfo": prop.get("qInfo") or {}})["qId"], entry, None)
            else:
                _create(call, app_id, prop)
    if not call.flag("no-save"):
        json_mode = bool(call.flag("json"))
        err += progress(json_mode, "Saving app...") + progress(json_mode, "App successfully saved")
    return b"", err  # nothing on stdout, not even the id of what was created (REAL 1.4.0)


def _read_files(pattern: str) -> list[dict[str, Any]]:
    import glob

    from qliksim.output import loads

    docs = []
    for path in sorted(glob.glob(pattern)):
        try:
            with open(path, "rb") as fh:
                doc = loads(fh.read())
        except ValueError as exc:
            raise UsageError(f"invalid JSON in {path}: {exc}") from None
        if not isinstance(doc, dict):
            raise UsageError(f"{path} holds no JSON object")
        docs.append(doc)
    return docs


def _usable(call: Call, app_id: str, object_id: str) -> bool:
    """GetObject: True if the caller gets a handle on the object; False if the engine answers a null handle.

    Another user's private object answers per the `hidden_answer` knob: `access_denied` is an
    error, `not_found` a null handle (then the file's object is created under another id).
    """
    try:
        engine._object(call, app_id, object_id)
    except EngineError as exc:
        if exc.code == EngineError.NOT_FOUND[0]:
            return False
        raise
    return True


def _create(call: Call, app_id: str, prop: Any) -> dict[str, str]:
    """CreateObject: the caller owns the new, private object; a taken id gets another one."""
    info = prop.get("qInfo") if isinstance(prop, dict) else None
    object_type = str((info or {}).get("qType") or "")
    if not object_type:
        raise EngineError(_BAD_PARAMS, "qInfo.qType is required")
    if object_type in engine._NOT_GENERIC:
        raise EngineError(_BAD_PARAMS, f"{object_type} is not a generic object type")
    object_id = str((info or {}).get("qId") or "")
    taken = object_id and call.conn.execute("SELECT 1 FROM cloud_objects WHERE app_id = ? AND object_id = ?", (app_id, object_id)).fetchone()
    if not object_id or taken:
        object_id = call.new_guid("engine-object")
    stamp = call.stamp()
    call.conn.execute(
        "INSERT INTO cloud_objects (app_id, object_id, type, title, description, owner_id, published, approved, created, updated)"
        " VALUES (?, ?, ?, '', '', ?, 0, 0, ?, ?)",
        (app_id, object_id, object_type, call.identity, stamp, stamp),
    )
    _store(call, app_id, (object_id, object_type, ""), "", {"qProperty": prop, "qChildren": [], "qEmbeddedSnapshotRef": None})
    return {"qId": object_id, "qType": object_type}


def _set(call: Call, app_id: str, object_id: str, entry: Any, prop: Any) -> None:
    """SetFullPropertyTree (entry) or SetProperties (prop): needs ownership or admin.apps; the
    object keeps its own id and type whatever the tree says."""
    row = engine._object(call, app_id, object_id)
    engine._require_owner(call, row)
    description, stored = _stored(call, app_id, object_id)
    current = tree_of(row[0], row[1], row[2], description, stored)
    if entry is not None:
        if not isinstance(entry, dict) or not isinstance(entry.get("qProperty"), dict):
            raise EngineError(_BAD_PARAMS, "qPropEntry.qProperty is required")
        tree = {"qProperty": entry["qProperty"], "qChildren": entry.get("qChildren") or [],
                "qEmbeddedSnapshotRef": entry.get("qEmbeddedSnapshotRef")}
    else:
        if not isinstance(prop, dict):
            raise EngineError(_BAD_PARAMS, "qProp is required")
        tree = {**current, "qProperty": prop}
    _store(call, app_id, row, description, tree)


def _store(call: Call, app_id: str, row: tuple[Any, ...], description: str, tree: dict[str, Any]) -> None:
    """Write the tree; the row's title and description follow its qMetaDef (or its `title`)."""
    from qliksim.output import dumps_compact

    prop = tree["qProperty"]
    meta = prop.get("qMetaDef") or {}
    title = str(meta.get("title") or prop.get("title") or row[2])
    description = str(meta.get("description", description))
    tree["qProperty"] = {**prop, "qInfo": {**(prop.get("qInfo") or {}), "qId": row[0], "qType": row[1]}}
    call.conn.execute(
        "UPDATE cloud_objects SET title = ?, description = ?, tree = ?, updated = ? WHERE app_id = ? AND object_id = ?",
        (title, description, dumps_compact(tree).decode(), call.stamp(), app_id, row[0]),
    )

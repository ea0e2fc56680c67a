"""Resumable uploads to temp-contents (`/api/v1/temp-contents/files`), the tus 1.0.0 protocol that
qlik-cli 2.x uses for `app import --resumable` (qlik.dev, Temporary contents: "Create a new upload
resource (tus protocol creation)"): POST creates an upload of `Upload-Length` bytes, PATCH appends
at `Upload-Offset`, HEAD says how far it got, so an interrupted upload continues where it stopped.
A finished upload is a temp content like a one-shot POST /api/v1/temp-contents: its id is the
`fileId` that `POST /api/v1/apps/import` takes.
"""

from __future__ import annotations

import os
import secrets
import threading

from qliksim.errors import HttpError, bad_request, not_found
from qliksim.server.routes import Request, Response, route

TUS_VERSION = "1.0.0"
MAX_SIZE = 1 << 40  # what OPTIONS announces; the simulator holds uploads on local disk
_OFFSET_TYPE = "application/offset+octet-stream"


class Upload:
    __slots__ = ("path", "length", "offset", "lock")

    def __init__(self, path: str, length: int) -> None:
        self.path, self.length, self.offset = path, length, 0
        self.lock = threading.Lock()  # PATCHes of one upload apply one at a time


def _headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


def _check_version(req: Request) -> None:
    if req.headers.get("Tus-Resumable") != TUS_VERSION:
        raise HttpError(412, f"Tus-Resumable must be {TUS_VERSION}", title="Precondition Failed")


def _int_header(req: Request, name: str) -> int:
    raw = (req.headers.get(name) or "").strip()
    if not raw.isdecimal():
        raise bad_request(f"{name} must be a non-negative integer")
    return int(raw)


def _upload(req: Request) -> Upload:
    with req.server.lock:
        upload = req.server.tus_uploads.get(req.group(1))
    if upload is None:
        raise not_found("upload not found")
    return upload


def _append(req: Request, upload: Upload) -> None:
    """Write the request body at the upload's offset; a finished upload becomes a temp content."""
    if upload.offset + len(req.body) > upload.length:
        raise HttpError(413, "the body goes past Upload-Length", title="Request Entity Too Large")
    with open(upload.path, "ab") as fh:
        fh.write(req.body)
    upload.offset += len(req.body)
    if upload.offset == upload.length:
        with req.server.lock:
            req.server.uploads[os.path.basename(upload.path)[:-4]] = upload.path


@route("POST", "/api/v1/temp-contents/files")
def create(req: Request) -> Response:
    _check_version(req)
    length = _int_header(req, "Upload-Length")
    if length > MAX_SIZE:
        raise HttpError(413, f"Upload-Length is over {MAX_SIZE}", title="Request Entity Too Large")
    file_id = secrets.token_hex(8)
    upload = Upload(os.path.join(req.server.scratch.name, file_id + ".qvf"), length)
    open(upload.path, "wb").close()
    with req.server.lock:
        req.server.tus_uploads[file_id] = upload
    if req.body:  # creation-with-upload: the first bytes come with the POST
        if req.headers.get("Content-Type") != _OFFSET_TYPE:
            raise HttpError(415, f"Content-Type must be {_OFFSET_TYPE}", title="Unsupported Media Type")
        _append(req, upload)
    elif length == 0:
        _append(req, upload)
    location = f"{req.server.base_url}/api/v1/temp-contents/files/{file_id}"
    return Response(201, b"", headers=_headers(Location=location, **{"Upload-Offset": str(upload.offset)}))


@route("HEAD", "/api/v1/temp-contents/files/([^/]+)")
def offset(req: Request) -> Response:
    _check_version(req)
    upload = _upload(req)
    with upload.lock:
        return Response(200, b"", headers=_headers(**{"Upload-Offset": str(upload.offset),
                                                       "Upload-Length": str(upload.length)}))


@route("PATCH", "/api/v1/temp-contents/files/([^/]+)")
def append(req: Request) -> Response:
    _check_version(req)
    if req.headers.get("Content-Type") != _OFFSET_TYPE:
        raise HttpError(415, f"Content-Type must be {_OFFSET_TYPE}", title="Unsupported Media Type")
    at = _int_header(req, "Upload-Offset")
    upload = _upload(req)
    with upload.lock:
        if at != upload.offset:
            raise HttpError(409, f"Upload-Offset {at} is not the upload's offset {upload.offset}", title="Conflict")
        _append(req, upload)
        return Response(204, b"", headers=_headers(**{"Upload-Offset": str(upload.offset)}))


@route("OPTIONS", "/api/v1/temp-contents/files")
def discover(req: Request) -> Response:
    return Response(204, b"", headers={"Tus-Resumable": TUS_VERSION, "Tus-Version": TUS_VERSION,
                                       "Tus-Extension": "creation,creation-with-upload",
                                       "Tus-Max-Size": str(MAX_SIZE)})

"""pages: the live page, the Swagger UI docs and their static files, served from WEB_DIR."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from tasks_api.config import get_settings
from tasks_api.errors import ApiError

router = APIRouter(tags=["pages"])

# concordance: pages
_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
HTML = "text/html; charset=utf-8"


class PageResponse(FileResponse):
    """FileResponse without validators: Starlette sends ETag and Last-Modified but never answers
    If-None-Match or If-Modified-Since with 304, and the spec wants no validator it would not honour
    (the pages are small). Dropped as the headers are sent, so Starlette's If-Range logic still works."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_without_validators(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                del headers["etag"]
                del headers["last-modified"]
            await send(message)

        await super().__call__(scope, receive, send_without_validators)


def _file(path: Path, media_type: str) -> FileResponse:
    # Sync endpoints (threadpool) for the stat; FileResponse then streams the file in chunks, also off the
    # event loop. A missing file is 404 not-found, like an unknown id.
    try:
        found = os.stat(path)
    except OSError:
        found = None
    if found is None or not stat.S_ISREG(found.st_mode):
        raise ApiError("not-found", "No page lives at this path.")
    return PageResponse(path, media_type=media_type, stat_result=found)


@router.api_route("/", methods=["GET", "HEAD"])
def get_home() -> FileResponse:
    """The live page (a small browser client of this API)"""
    return _file(get_settings().web_dir / "index.html", HTML)


# The repository's web/docs.html, the same page in every port: FastAPI's own /docs, /redoc and
# generated schema are disabled in this port (app.py).
@router.api_route("/docs", methods=["GET", "HEAD"])
def get_docs() -> FileResponse:
    """This document rendered by Swagger UI (served offline, no outside requests)"""
    return _file(get_settings().web_dir / "docs.html", HTML)


# {name:static_name} (routing.py): a name outside the pattern is no route at all, so nothing outside.
@router.api_route("/static/{name:static_name}", methods=["GET", "HEAD"])
def get_static_file(name: str) -> FileResponse:
    """A file of the pages (script, style sheet, Swagger UI)"""
    media_type = _MEDIA_TYPES.get(os.path.splitext(name)[1])
    if media_type is None:
        raise ApiError("not-found", f"No static file named {name!r}.")
    return _file(get_settings().web_dir / "static" / name, media_type)


# end concordance

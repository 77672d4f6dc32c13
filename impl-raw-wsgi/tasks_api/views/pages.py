"""Tag pages: the live page, /docs and /static/{name}, read from WEB_DIR byte for byte."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from tasks_api.errors import ApiError
from tasks_api.http import Request, Response


def get_home(request: Request) -> Response:
    """The live page (a small browser client of this API)"""
    return page(request.settings.web_dir, "index.html")


def get_docs(request: Request) -> Response:
    """This document rendered by Swagger UI (served offline, no outside requests)"""
    return page(request.settings.web_dir, "docs.html")


def get_static_file(request: Request, name: str) -> Response:
    """A file of the pages (script, style sheet, Swagger UI)"""
    return static_file(request.settings.web_dir, name)


# concordance: pages
HTML = "text/html; charset=utf-8"
# The route's regex for a static file's name (openapi.yaml: at most 128 characters). No "/" and no
# leading ".": a path such as /static/../index.html matches no route and is 404 before any file is read.
STATIC_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
# Only scripts and style sheets are served from static/: any other extension is 404, like a missing file.
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def page(web_dir: Path, filename: str) -> Response:
    """index.html or docs.html, byte for byte (read per request: editing web/ needs no restart)."""
    return Response.raw(200, (web_dir / filename).read_bytes(), HTML)


def static_file(web_dir: Path, name: str) -> Response:
    """web/static/<name>, for a name the route matched (STATIC_NAME): only a .js or .css file there."""
    media_type = STATIC_TYPES.get(PurePosixPath(name).suffix)
    if media_type is not None:
        try:
            return Response.raw(200, (web_dir / "static" / name).read_bytes(), media_type)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            pass
    raise ApiError("not-found", f"No static file named {name}.")


# end concordance

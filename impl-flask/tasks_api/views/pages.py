"""Tag pages: the live page, /docs and /static/<name>, served from WEB_DIR as spec/README.md "Pages" says."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, send_from_directory

from ..errors import ApiError

bp = Blueprint("pages", __name__)

# concordance: pages
# Werkzeug adds "; charset=utf-8" to these text/* types.
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css"}


def send_page(name: str, subdir: str = "", mimetype: str = "text/html") -> Response:
    """One file of WEB_DIR (or of a directory in it), or 404 not-found when it is missing."""
    directory: Path = current_app.config["WEB_DIR"] / subdir
    # conditional=False, etag=False: a plain 200 with Content-Length (Werkzeug would add ETag and Range
    # handling the spec does not ask for); send_from_directory still refuses any path outside directory.
    response = send_from_directory(directory, name, mimetype=mimetype, conditional=False, etag=False)
    # Pages carry no validators (spec): Werkzeug sets Last-Modified from the file's mtime in any case.
    response.headers.remove("Last-Modified")
    return response


def send_static(name: str) -> Response:
    """web/static/<name>: a .js or .css file, else 404 like an unknown id. The name's pattern (no "/", no
    leading dot) is the route's own (routing.StaticNameConverter): nothing outside static/ is reachable."""
    mimetype = STATIC_TYPES.get(Path(name).suffix)
    if mimetype is None:
        raise ApiError("not-found", f"No file {name!r} in /static.")
    return send_page(name, "static", mimetype)


@bp.get("/")
def get_home() -> Response:
    """The live page (a small browser client of this API)"""
    return send_page("index.html")


@bp.get("/docs")
def get_docs() -> Response:
    """This document rendered by Swagger UI (served offline, no outside requests)"""
    return send_page("docs.html")


@bp.get("/static/<static_name:name>")
def get_static_file(name: str) -> Response:
    """A file of the pages (script, style sheet, Swagger UI)"""
    return send_static(name)


# end concordance

"""The pages: /, /docs and /static/<name>, served from WEB_DIR exactly as spec/README.md "Pages" says."""

from __future__ import annotations

from pathlib import Path

from flask import Response, current_app, send_from_directory

from .errors import ApiProblem

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
    leading dot) is the route's own (http.StaticNameConverter): nothing outside static/ is reachable."""
    mimetype = STATIC_TYPES.get(Path(name).suffix)
    if mimetype is None:
        raise ApiProblem("not-found", f"No file {name!r} in /static.")
    return send_page(name, "static", mimetype)


# end concordance

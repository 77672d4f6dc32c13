"""GET /, /docs and /static/{name}: the same files from WEB_DIR as every port (spec/README.md, "Pages")."""

from pathlib import Path, PurePosixPath

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from ..errors import not_found

HTML = "text/html; charset=utf-8"
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


# concordance: pages
def _file(path: Path, content_type: str) -> HttpResponse:
    """A file of WEB_DIR as the response body."""
    # Read per request, like openapi.yaml: the repository's file, never a copy that could drift.
    return HttpResponse(path.read_bytes(), content_type=content_type)


def get_home(request: HttpRequest) -> HttpResponse:
    """The live page (a small browser client of this API)"""
    return _file(settings.WEB_DIR / "index.html", HTML)


def get_docs(request: HttpRequest) -> HttpResponse:
    """This document rendered by Swagger UI (served offline, no outside requests)"""
    return _file(settings.WEB_DIR / "docs.html", HTML)


def get_static_file(request: HttpRequest, name: str) -> HttpResponse:
    """A file of the pages (script, style sheet, Swagger UI)"""
    # Not django.contrib.staticfiles: the spec fixes the names, the media types and the 404 problem.
    content_type = STATIC_TYPES.get(PurePosixPath(name).suffix)
    path = settings.WEB_DIR / "static" / name
    if content_type is None or not path.is_file():  # the name's pattern is the route's (urls.py)
        raise not_found("file")
    return _file(path, content_type)


# end concordance

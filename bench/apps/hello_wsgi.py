"""The bare WSGI hello: what a WSGI server costs with no framework and no database behind it."""

from collections.abc import Callable, Iterable

BODY = b'{"status":"ok"}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """Answer every request with the same small JSON body."""
    start_response("200 OK", HEADERS)
    return [BODY]

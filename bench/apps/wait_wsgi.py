"""A WSGI endpoint that waits 50 ms on "I/O" (a sleep stands for a slow query or an upstream call)."""

import time
from collections.abc import Callable, Iterable

WAIT_SECONDS = 0.05
BODY = b'{"waited":true}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """Block this worker (or this thread) for 50 ms, then answer."""
    time.sleep(WAIT_SECONDS)
    start_response("200 OK", HEADERS)
    return [BODY]

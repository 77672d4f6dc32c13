"""The access log's writer: the event loop and request threads queue their line, one thread writes them."""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import queue
import sys
from typing import Any

access_log = logging.getLogger("tasks_api.access")
error_log = logging.getLogger("tasks_api")


def configure_logging() -> None:
    """One JSON object per line on stdout for the access log; tracebacks go to stderr."""
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        # Hot path: the event loop only puts the record on a queue (QueueHandler); a listener thread
        # per process writes the lines, so a slow stdout (a pipe, a full disk) never stalls the loop,
        # and the threadpool's threads never queue on the stream handler's lock.
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        listener = logging.handlers.QueueListener(records, handler)
        listener.start()
        queued = logging.handlers.QueueHandler(records)
        # Stopped by flush_access_log(): at lifespan shutdown, at exit at the latest.
        _LISTENERS.append((listener, queued))
        access_log.addHandler(queued)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
    if not error_log.handlers:
        error_log.addHandler(logging.StreamHandler(sys.stderr))
        error_log.setLevel(logging.INFO)


_LISTENERS: list[tuple[logging.handlers.QueueListener, logging.Handler]] = []


def flush_access_log() -> None:
    """Write out every queued access-log line and stop the listener thread; safe to call twice. stop()
    drains the queue first, so a worker that exits on SIGTERM loses no line."""
    while _LISTENERS:
        listener, queued = _LISTENERS.pop()
        access_log.removeHandler(queued)  # a later configure_logging (tests: a new app) starts anew
        listener.stop()


atexit.register(flush_access_log)


def write(entry: dict[str, Any]) -> None:
    """Queue one access log line: a JSON object (middleware.RequestContextMiddleware, once per request)."""
    access_log.info(json.dumps(entry))

"""Request ids, the JSON access log line and CORS, as app-wide before/after-request hooks."""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import logging.handlers
import queue
import random
import re
import sys
import time
import uuid

from flask import Flask, Response, current_app, g, request

REQUEST_ID_RE = re.compile(r"[\x21-\x7e]{1,128}")
EXPOSE_HEADERS = "ETag, Location, Link, X-Request-ID, Idempotent-Replayed"
ALLOW_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID"

access_log = logging.getLogger("tasks_api.access")


class _Enqueue(logging.handlers.QueueHandler):
    """Hands the record to the listener thread as it is: the message is already the final JSON text (no
    args, no exception), so the copy and formatting QueueHandler.prepare makes would be wasted work."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """The record unchanged."""
        return record

    def handle(self, record: logging.LogRecord) -> bool:
        """Enqueue without the handler's lock: SimpleQueue.put is thread-safe on its own, and Handler.handle
        would make the worker's threads queue up on one lock for each line (as a StreamHandler does)."""
        if self.filter(record):
            self.emit(record)
        return True


class _Stdout(logging.StreamHandler):
    """stdout, flushed by the listener once the queue is empty: a burst of lines is one write."""

    def flush(self) -> None:
        """Nothing per record (StreamHandler.emit flushes after every line); see flush_now."""

    def flush_now(self) -> None:
        """Write out what the stream buffers."""
        # stdout may be gone (closed at interpreter exit, a broken pipe): nowhere left to write then.
        with contextlib.suppress(OSError, ValueError):
            super().flush()


class _Listener(logging.handlers.QueueListener):
    """The thread that writes the access lines, flushing whenever it has caught up with the queue."""

    def handle(self, record: logging.LogRecord) -> None:
        """Write one line; flush when no other is waiting."""
        super().handle(record)
        if self.queue.empty():
            self.flush()

    def flush(self) -> None:
        """Write out every line written so far."""
        for handler in self.handlers:
            handler.flush_now()  # type: ignore[attr-defined]


_listener: _Listener | None = None


def _configure_access_log() -> None:
    # One JSON object per line on stdout, whatever gunicorn or Flask do with their own loggers.
    # Hot path: request threads only put the record on a queue; one listener thread per process writes the
    # lines. A StreamHandler would make every thread of the worker take turns on its lock around the write.
    global _listener
    if _listener is None:
        stdout = _Stdout(sys.stdout)
        stdout.setFormatter(logging.Formatter("%(message)s"))
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        access_log.addHandler(_Enqueue(records))
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
        _listener = _Listener(records, stdout)
        _listener.start()
        # Written out before the process ends (gunicorn's worker exits through sys.exit on SIGTERM and
        # SIGQUIT, which runs atexit): no access line is lost; gunicorn.conf.py's worker_exit calls it too.
        atexit.register(stop_access_log)


def stop_access_log() -> None:
    """Write every queued access line and stop the listener thread (idempotent)."""
    global _listener
    listener, _listener = _listener, None
    if listener is not None:
        listener.stop()  # handles every queued record, then joins the thread
        listener.flush()
        for handler in access_log.handlers[:]:
            access_log.removeHandler(handler)


def new_request_id() -> str:
    """A random UUID (version 4) for a request that brought no usable X-Request-ID.

    Hot path: from the random module (reseeded in every forked worker), not uuid4()'s os.urandom: an id
    needs uniqueness, not secrecy, and the system call made every request hand the GIL over once more.
    """
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


# concordance: request-id
def _start_request() -> None:
    # App-level (not blueprint) hooks, so they also run for requests that match no route.
    g.started = time.perf_counter()
    given = request.headers.get("X-Request-ID")
    g.request_id = given if given is not None and REQUEST_ID_RE.fullmatch(given) else new_request_id()


# end concordance


# concordance: cors
def _cors(response: Response) -> None:
    origins = current_app.config["CORS_ALLOW_ORIGINS"]
    if not origins:
        return
    response.vary.add("Origin")  # the answer depends on Origin, so caches must key on it
    origin = request.headers.get("Origin")
    if origin not in origins:
        return  # an origin not in the list gets no Access-Control-* header at all
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    if (
        request.method == "OPTIONS"
        and "Access-Control-Request-Method" in request.headers
        and "Allow" in response.headers
    ):
        response.headers["Access-Control-Allow-Methods"] = response.headers["Allow"]
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"


# end concordance


def _finish_request(response: Response) -> Response:
    request_id = g.get("request_id") or new_request_id()
    response.headers["X-Request-ID"] = request_id
    _cors(response)
    started = g.get("started", time.perf_counter())
    line = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "method": request.method,
        "path": request.path,  # the path only: query strings may carry cursors, never tokens or bodies
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "request_id": request_id,
    }
    access_log.info(json.dumps(line))
    return response


def init_app(app: Flask) -> None:
    """Register the hooks on the application (after_request also runs for error responses)."""
    _configure_access_log()
    app.before_request(_start_request)
    app.after_request(_finish_request)

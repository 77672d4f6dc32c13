"""gunicorn settings for the Flask port: every value explicit, each with the reason for it."""

import os
from email.utils import formatdate
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

MAX_BODY_BYTES = 1_048_576  # tasks_api.body.MAX_BODY_BYTES (not imported: the master never loads the app)


class _DatedSocket:
    """The client socket as gunicorn's error writer sees it: a Date field goes in after the status line."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock

    def sendall(self, data: bytes) -> None:
        """Insert Date (RFC 9110 6.6.1: every response has one) into gunicorn's fixed error head."""
        status_line, sep, rest = data.partition(b"\r\n")
        if sep and b"\r\ndate:" not in data.lower().split(b"\r\n\r\n", 1)[0]:
            date = formatdate(usegmt=True).encode("ascii")
            data = status_line + b"\r\nDate: " + date + b"\r\n" + rest
        self._sock.sendall(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)  # gettimeout, setblocking, ...: the real socket's


class DatedErrorsWorker(ThreadWorker):
    """gunicorn's gthread worker, whose own error answers (400, 414, 431, 501, 500) carry a Date.

    gunicorn writes them with a fixed head that has none (gunicorn.util.write_error); every response must
    have one (spec/README.md, "HTTP/1.1 framing"), so the socket handed to handle_error adds it.
    """

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """gunicorn's error answer, written through _DatedSocket."""
        super().handle_error(req, _DatedSocket(client), addr, exc)


# concordance: server-config
# Processes: the matrix may set WEB_CONCURRENCY; two by default so the suite sees more than one process
# sharing the database (nothing lives in process memory).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads in each process: the handlers mostly wait on the database or on argon2 (which releases the GIL).
# A live-events stream (GET /events) holds one thread for its whole life (up to EVENTS_STREAM_SECONDS), and a
# gthread worker accepts connections even when all its threads are taken (it queues them), so every worker
# needs spare threads beyond its streams: 8 threads = up to 4 streams + 4 for ordinary requests per worker.
worker_class = DatedErrorsWorker  # gthread, whose own error answers carry a Date (above); a class is accepted
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A worker that stops reporting for this long is stuck: the master kills and replaces it. A gthread worker
# reports from its main loop, not from the request threads, so a 300 s stream does not trip it.
timeout = 30
# SIGTERM: finish in-flight requests for at most 10 s, so the process exits well within the 15 s allowed.
# Open streams are cut then; their clients reconnect with Last-Event-ID and miss nothing.
graceful_timeout = 10
# Seconds an idle keep-alive connection is kept open, waiting for the client's next request.
keepalive = 5
# Request line (method, path, query) at most this long: a cursor is 512 characters, so 8 KiB is plenty.
limit_request_line = 8190
# At most this many header fields per request: a client needs a dozen; more is abuse.
limit_request_fields = 100
# At most this many bytes per header field (an Authorization or X-Request-ID is far shorter).
limit_request_field_size = 8190
# end concordance
# The app writes its own JSON access line (with the request id); gunicorn's would be a second, different one.
accesslog = None
# gunicorn's own messages (start, stop, worker deaths) go to stderr, apart from the access lines on stdout.
errorlog = "-"
loglevel = "info"
# The app is built in each worker after the fork (create_app() per worker): no pooled connection is shared.
preload_app = False
# gunicorn 25+ opens a control socket at one fixed default path: several servers on one machine (the four
# ports, replicas) would fight over it, and nothing here uses it.
control_socket_disable = True


def on_starting(server):
    """Apply spec/schema.sql once per server, in the master, before any worker serves a request."""
    from tasks_api.config import from_env
    from tasks_api.db import apply_schema, make_engine

    settings = from_env()
    engine = make_engine(settings["DATABASE_URL"])
    try:
        apply_schema(engine, settings["SPEC_DIR"])
    finally:
        engine.dispose()  # no connection may cross the fork into the workers
    server.log.info("schema applied to %s", engine.url.render_as_string(hide_password=True))


def pre_request(worker: Any, req: Any) -> None:
    """A declared body over the limit is refused unread (413), so the bytes after the head cannot be
    framed: the connection closes after the answer instead of reading them as the next request (gunicorn
    would otherwise keep it, and drain or misread the body)."""
    for name, value in req.headers:
        if name == "CONTENT-LENGTH" and value.isdigit() and int(value) > MAX_BODY_BYTES:
            req.force_close()


def worker_exit(server: Any, worker: Any) -> None:
    """Write out the access lines still queued (tasks_api.accesslog) before the worker
    process ends, so a SIGTERM loses none of them."""
    from tasks_api.accesslog import stop_access_log

    stop_access_log()

"""gunicorn settings for the raw-WSGI port: every setting that matters is written out, with the reason."""

import os
from collections.abc import Iterable
from email.utils import formatdate
from typing import Any

from gunicorn.arbiter import Arbiter
from gunicorn.workers.gthread import ThreadWorker


# concordance: server-config
class Worker(ThreadWorker):
    """gunicorn's gthread worker with two overrides for RFC 9112 framing (spec/README.md, "HTTP/1.1 framing").

    - gunicorn's own error answers (400 for a malformed head, 501, 414, 431) carry no Date, which RFC
      9110 6.6.1 requires of every response from a server with a clock: handle_error() adds it.
    - An application cannot ask for the connection to close (PEP 3333 forbids it hop-by-hop headers),
      yet after an error answered before the body was read (413, or 401/415 on `Expect: 100-continue`)
      the bytes that follow are no request to serve: the application marks the environ
      (`tasks_api.close_connection`, see tasks_api/framing.py) and the worker closes the connection.
    """

    def load_wsgi(self) -> None:
        super().load_wsgi()
        application = self.wsgi

        def closing(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            body = application(environ, start_response)
            if environ.get("tasks_api.close_connection"):
                # The gthread worker passes its Response's bound start_response: force_close() makes the
                # response say `Connection: close` and the worker close (gracefully: the answer arrives).
                start_response.__self__.force_close()
            return body

        self.wsgi = closing

    def handle_error(self, req: Any, client: Any, addr: Any, exc: Exception) -> None:
        super().handle_error(req, _Dated(client), addr, exc)


class _Dated:
    """A client socket whose first write, gunicorn's own error response, gets a Date header."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def sendall(self, data: bytes) -> None:
        date = f"Date: {formatdate(usegmt=True)}\r\n".encode("latin-1")
        status_line, separator, rest = data.partition(b"\r\n")
        self._sock.sendall(status_line + separator + date + rest if separator else data)


# Processes: one per core is the usual start; the matrix sets WEB_CONCURRENCY.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads inside each process: requests mostly wait on the database, and threads share one engine pool.
# A live-events stream (GET /events) holds its thread for its whole life (up to EVENTS_STREAM_SECONDS),
# and gthread queues a request when every thread is taken: 8 threads = up to 4 streams per worker with
# 4 threads left for ordinary requests. Waiting threads cost little (no database connection is held).
# A database that hangs holds a thread at most DATABASE_TIMEOUT_SECONDS (+1 s, the watchdog).
worker_class = Worker
threads = 8
# Kill and replace a worker that has not answered its master for 30 s. gthread's main loop answers it,
# not the request threads, so a 300 s stream does not trip this.
timeout = 30
# On SIGTERM, in-flight requests get 10 s to finish: under the 15 s the matrix allows for a clean exit.
graceful_timeout = 10
# Keep an idle connection open 5 s for the next request: clients reuse it without a new handshake.
keepalive = 5
# Request line (method, path, query) at most 8190 bytes (gunicorn's maximum, as in the other ports): a
# cursor of 512 characters, each up to 4 bytes of UTF-8 and so 12 once percent-encoded, still fits.
limit_request_line = 8190
# At most 100 header fields, each at most 8190 bytes: far above what this API needs, bounds memory.
limit_request_fields = 100
limit_request_field_size = 8190
# The application writes its own JSON access log to stdout; gunicorn's would be a second, different line.
accesslog = None
# gunicorn's own messages (start, stop, worker deaths, tracebacks) to stderr.
errorlog = "-"
loglevel = "info"
# No control socket: its default path is shared, and several servers run side by side in the matrix.
control_socket_disable = True
# Import the application in each worker after the fork, so no worker inherits the master's connections.
preload_app = False
# end concordance


def on_starting(server: Arbiter) -> None:
    """Apply spec/schema.sql once per server, in the master, before any worker serves a request."""
    from tasks_api.config import Settings
    from tasks_api.db import Database, apply_schema

    settings = Settings.from_env()
    database = Database(settings.database_url, settings.database_timeout_seconds)
    try:
        apply_schema(database, settings.spec_dir)
    finally:
        database.dispose()  # the master keeps no connection open for the workers to inherit
    server.log.info("schema applied to %s", database.engine.url.render_as_string(hide_password=True))


def worker_exit(server: Arbiter, worker: Any) -> None:
    """Write out the access-log lines still queued (tasks_api/accesslog.py) before the worker ends."""
    from tasks_api import accesslog

    accesslog.flush()

"""gunicorn settings for the Django port; the schema is applied once, in the master, before serving."""

import os
import socket
from typing import Any

from gunicorn import util
from gunicorn.arbiter import Arbiter
from gunicorn.workers.gthread import ThreadWorker


class _DatedSocket:
    """The client socket as handle_error sees it: a Date header goes in after the status line."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def sendall(self, data: bytes) -> None:
        status_line, _, rest = data.partition(b"\r\n")
        self._sock.sendall(status_line + b"\r\nDate: " + util.http_date().encode() + b"\r\n" + rest)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class DatedErrorsWorker(ThreadWorker):
    """gthread, whose own answers (400 for a request it cannot parse, 414, 431, 501) carry a Date too.

    gunicorn's util.write_error writes its small error page without Date, although RFC 9110 6.6.1 wants
    one on every response; handle_error is the worker's documented place for those answers.
    """

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: Exception) -> None:
        super().handle_error(req, _DatedSocket(client), addr, exc)  # type: ignore[arg-type]


# concordance: server-config
# Processes: one per core is the usual start; WEB_CONCURRENCY lets the deployment choose.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads: requests mostly wait on the database or on argon2 (which releases the GIL); gthread also
# gives keep-alive, which the sync worker does not. Each thread holds its own database connection.
# A live-events stream holds a thread (and its connection) for its whole life, and a gthread worker
# accepts connections even when all its threads are taken (it queues them), so every worker needs spare
# threads beyond its streams: 8 threads = up to 4 streams + 4 for ordinary requests per worker.
worker_class = DatedErrorsWorker  # gthread, with a Date on gunicorn's own error pages (above)
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A worker that stops heart-beating for 30 s is stuck: kill and replace it. A gthread worker beats from
# its main loop, not from the request threads, so a 300 s stream does not trip it.
timeout = 30
# On SIGTERM, in-flight requests get 10 s to finish, under the 15 s a supervisor waits before SIGKILL.
graceful_timeout = 10
# Idle keep-alive connections are closed after 5 s: reuse for a client's burst, no idle thread hoarding.
keepalive = 5
# The longest request line the spec allows must fit: a 512-character cursor of 4-byte UTF-8 characters is
# 6 KiB percent-encoded (it is then a 400 invalid-cursor, not a 414), plus the path and three filters.
# 8190 is gunicorn's largest bounded value (and the Flask and FastAPI ports' setting).
limit_request_line = 8190
# No request of this API needs more than a handful of headers; 100 bounds a header flood.
limit_request_fields = 100
# One header at most 8 KiB: far above any bearer token or entity-tag list we accept.
limit_request_field_size = 8190
# No control socket: gunicorn 25+ would create one at a shared default path ($HOME/.gunicorn/gunicorn.ctl)
# that every other gunicorn on this machine (the other ports) would fight over.
control_socket_disable = True
# The access log is ours (one JSON line per request, with the request id); gunicorn's would duplicate it.
accesslog = None
# gunicorn's own messages (start, worker exits, refused requests) go to stderr, apart from the access log.
errorlog = "-"
# end concordance


def on_starting(server: Arbiter) -> None:
    """Apply spec/schema.sql once per server, in the master, before any worker serves."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tasks_project.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections
    from tasks_api.db import apply_schema

    apply_schema(settings.SPEC_DIR)
    # Workers are forked from this process: they must open their own connections, not share this one.
    connections.close_all()


def worker_exit(server: Arbiter, worker: ThreadWorker) -> None:
    """Write out the access-log lines still queued before the worker ends (SIGTERM included)."""
    from tasks_api.accesslog import stop_listeners

    stop_listeners()

"""gunicorn settings for the FastAPI port: a master that applies the schema once, uvicorn workers."""

import os

# concordance: server-config
# Worker processes. Each has its own event loop, threadpool and connection pool; 2 matches the 2 cores
# of the reference machine (WEB_CONCURRENCY overrides, as everywhere).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# uvicorn inside gunicorn: gunicorn restarts crashed workers and handles signals, uvicorn speaks ASGI.
worker_class = "tasks_api.worker.Worker"
# Ignored by ASGI workers: concurrency is the event loop plus FastAPI's threadpool (THREADPOOL_SIZE).
threads = 1
# A worker that stops heart-beating this long (a blocked event loop) is killed and replaced.
timeout = 30
# On SIGTERM workers get this long to finish in-flight requests; the matrix wants exit within 15 s.
graceful_timeout = 10
# Seconds an idle keep-alive connection stays open (uvicorn's timeout_keep_alive); above typical
# client pools' idle time would leave half-closed sockets, below it costs reconnects.
keepalive = 5
# gunicorn's own parser limits (the master's, and documentation of intent); uvicorn workers enforce
# the equivalent 16 KiB head limit themselves (tasks_api/worker.py).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# Log errors to stderr; the access log is the app's own JSON line on stdout.
errorlog = "-"
accesslog = None
loglevel = "info"
# No control socket: its default path is per user, so two servers on one machine would fight over it.
control_socket_disable = True
# Workers import the app after the fork: each opens its own database connections.
preload_app = False
# end concordance


def on_starting(server):
    """Apply spec/schema.sql once per server, in the master, before any worker serves."""
    from tasks_api.db import apply_schema

    apply_schema()

"""gunicorn settings for the raw-WSGI port: every setting that matters is written out, with the reason."""

import os

from gunicorn.arbiter import Arbiter

# concordance: server-config
# Processes: one per core is the usual start; the matrix sets WEB_CONCURRENCY.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads inside each process: requests mostly wait on the database, and threads share one engine pool.
# A live-events stream (GET /events) holds its thread for its whole life (up to EVENTS_STREAM_SECONDS),
# and gthread queues a request when every thread is taken: 8 threads = up to 4 streams per worker with
# 4 threads left for ordinary requests. Waiting threads cost little (no database connection is held).
worker_class = "gthread"
threads = 8
# Kill and replace a worker that has not answered its master for 30 s. gthread's main loop answers it,
# not the request threads, so a 300 s stream does not trip this.
timeout = 30
# On SIGTERM, in-flight requests get 10 s to finish: under the 15 s the matrix allows for a clean exit.
graceful_timeout = 10
# Keep an idle connection open 5 s for the next request: clients reuse it without a new handshake.
keepalive = 5
# Request line (method, path, query) at most 4094 bytes: a cursor of 512 characters fits easily.
limit_request_line = 4094
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
    database = Database(settings.database_url)
    try:
        apply_schema(database, settings.spec_dir)
    finally:
        database.dispose()  # the master keeps no connection open for the workers to inherit
    server.log.info("schema applied to %s", database.engine.url.render_as_string(hide_password=True))

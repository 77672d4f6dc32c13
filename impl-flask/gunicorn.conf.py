"""gunicorn settings for the Flask port: every value explicit, each with the reason for it."""

import os

# concordance: server-config
# Processes: the matrix may set WEB_CONCURRENCY; two by default so the suite sees more than one process
# sharing the database (nothing lives in process memory).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads in each process: the handlers mostly wait on the database or on argon2 (which releases the GIL).
# A live-events stream (GET /events) holds one thread for its whole life (up to EVENTS_STREAM_SECONDS), and a
# gthread worker accepts connections even when all its threads are taken (it queues them), so every worker
# needs spare threads beyond its streams: 8 threads = up to 4 streams + 4 for ordinary requests per worker.
worker_class = "gthread"
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
